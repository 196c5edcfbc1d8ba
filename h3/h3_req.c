/*
 * h3_req.c: requests. A pool of request slots per connection, made on demand up to
 * max_requests and reused (a slot is allocated only when more requests are outstanding
 * than ever before on this connection, so an idle connection holds none);
 * a FIFO of requests waiting for a stream; the active list; request bodies
 * (memory, mapped file, producer) fed to nghttp3 without copies; response
 * sinks (count, keep, callback); completion with a result.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h3_int.h"

#define H3_KEEP_MAX_DEFAULT (1u << 20)

int h3_req_pool_init(struct h3_conn *c, size_t n)
{
    if (n == 0)
        return H3_ERR_INVAL;
    c->pool_n = n;
    c->pool_made = 0;
    c->pool_all = NULL;
    c->free_list = NULL;
    return 0;
}

/* A free slot: from the free list, else a new one while under the limit; NULL if none. */
static struct h3_req *req_slot(struct h3_conn *c, int *err)
{
    struct h3_req *r = c->free_list;

    if (r) {
        c->free_list = r->next;
        return r;
    }
    if (c->pool_made >= c->pool_n) {
        *err = H3_ERR_NOBUFS;
        return NULL;
    }
    r = c->mem.calloc(1, sizeof(*r), c->mem.ud);
    if (!r) {
        *err = H3_ERR_NOMEM;
        return NULL;
    }
    r->conn = c;
    r->where = H3_REQ_FREE;
    r->all_next = c->pool_all;
    c->pool_all = r;
    c->pool_made++;
    return r;
}

static void req_release_resources(struct h3_req *r)
{
    struct h3_conn *c = r->conn;

    if (r->map) {
        munmap(r->map, r->map_len);
        r->map = NULL;
    }
    c->mem.free(r->keep, c->mem.ud);
    c->mem.free(r->hdrs, c->mem.ud);
    r->keep = NULL;
    r->hdrs = NULL;
}

/* Points the slot's field buffer at room for |need| bytes: inline, or the slot's grown
 * buffer. Returns 0, H3_ERR_TOO_LARGE or H3_ERR_NOMEM. */
static int req_buf(struct h3_req *r, size_t need)
{
    struct h3_conn *c = r->conn;

    if (need > H3_REQ_HEADER_MAX)
        return H3_ERR_TOO_LARGE;
    if (need <= sizeof(r->space)) {
        r->buf = r->space;
        r->buf_cap = sizeof(r->space);
        return 0;
    }
    if (r->big_cap < need) {
        size_t cap = r->big_cap ? r->big_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = c->mem.realloc(r->big, cap, c->mem.ud);
        if (!p)
            return H3_ERR_NOMEM;
        r->big = p;
        r->big_cap = cap;
    }
    r->buf = r->big;
    r->buf_cap = r->big_cap;
    return 0;
}

void h3_req_pool_free(struct h3_conn *c)
{
    while (c->pool_all) {
        struct h3_req *r = c->pool_all;
        c->pool_all = r->all_next;
        req_release_resources(r);
        c->mem.free(r->big, c->mem.ud);
        c->mem.free(r, c->mem.ud);
    }
    c->free_list = NULL;
    c->pool_made = 0;
}

void h3_req_list_push(struct h3_req_list *l, struct h3_req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

void h3_req_list_remove(struct h3_req_list *l, struct h3_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->next = r->prev = NULL;
    l->n--;
}

/* Copy |s| into |r|'s field buffer; returns its offset or -1 if full. */
static int req_store(struct h3_req *r, const char *s, size_t n)
{
    if (n > UINT16_MAX || (size_t)r->space_used + n > r->buf_cap)
        return -1;
    int off = r->space_used;
    memcpy(r->buf + off, s, n);
    r->space_used = (uint16_t)(r->space_used + n);
    return off;
}

static int req_add_field(struct h3_req *r, const char *name, size_t nlen, const char *value,
                         size_t vlen)
{
    if (r->n_fields >= sizeof(r->fields) / sizeof(r->fields[0]))
        return H3_ERR_TOO_LARGE;
    int no = req_store(r, name, nlen);
    int vo = req_store(r, value, vlen);
    if (no < 0 || vo < 0)
        return H3_ERR_TOO_LARGE;
    r->fields[r->n_fields++] = (struct h3_field){ (uint16_t)no, (uint16_t)nlen, (uint16_t)vo,
                                                  (uint16_t)vlen };
    return 0;
}

static bool has_field(const struct h3_req_params *p, const char *name)
{
    for (size_t i = 0; i < p->n_headers; i++)
        if (strcasecmp(p->headers[i].name, name) == 0)
            return true;
    return false;
}

static int req_setup_body(struct h3_req *r, const struct h3_req_params *p, uint64_t *len,
                          bool *len_known)
{
    *len_known = false;
    switch (p->body) {
    case H3_BODY_NONE:
        return 0;
    case H3_BODY_MEMORY:
        if (!p->body_data && p->body_len)
            return H3_ERR_INVAL;
        *len = p->body_len;
        *len_known = true;
        return 0;
    case H3_BODY_FILE: {
        struct stat st;
        if (p->body_fd < 0 || fstat(p->body_fd, &st) != 0 || !S_ISREG(st.st_mode))
            return H3_ERR_FILE;
        *len = (uint64_t)st.st_size;
        *len_known = true;
        if (st.st_size == 0)
            return 0;
        r->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, p->body_fd, 0);
        if (r->map == MAP_FAILED) {
            r->map = NULL;
            return H3_ERR_FILE;
        }
        r->map_len = (size_t)st.st_size;
        return 0;
    }
    case H3_BODY_PRODUCER:
        /* Some collectors (Caddy's proxy) take a body without content-length as empty. */
        *len = p->body_len;
        *len_known = p->body_len != 0;
        return p->produce ? 0 : H3_ERR_INVAL;
    }
    return H3_ERR_INVAL;
}

/* Connection-specific fields are forbidden in HTTP/3 (RFC 9114 §4.2). */
static bool connection_specific(const char *name, const char *value)
{
    static const char *const banned[] = { "connection", "keep-alive", "proxy-connection",
                                          "transfer-encoding", "upgrade" };
    for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
        if (strcmp(name, banned[i]) == 0)
            return true;
    return strcmp(name, "te") == 0 && strcmp(value, "trailers") != 0;
}

/* A field the caller asked for: lower-case token name, valid value, no
 * pseudo-header, nothing connection-specific (RFC 9114 §4.2, RFC 9110 §5). */
static bool valid_field(const char *name, const char *value)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            return false;
    return n > 0 && name[0] != ':' && nghttp3_check_header_name((const uint8_t *)name, n) &&
           nghttp3_check_header_value((const uint8_t *)value, strlen(value)) &&
           !connection_specific(name, value);
}

/* Method: a token (RFC 9110 §9.1). Path: origin-form or "*" (RFC 9114 §4.3.1). */
static bool valid_request_line(const char *method, const char *path)
{
    for (const char *m = method; *m; m++)
        if (*m <= ' ' || *m >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *m))
            return false;
    if (path[0] != '/' && strcmp(path, "*") != 0)
        return false;
    for (const char *q = path; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return false;
    return true;
}

static int req_fill(struct h3_req *r, const struct h3_req_params *p, const char *authority)
{
    uint64_t blen = 0;
    bool blen_known;
    int rv;

    if (!p->method || !*p->method || !p->path || !*p->path ||
        !valid_request_line(p->method, p->path))
        return H3_ERR_INVAL;
    if (p->n_headers > H3_REQ_MAX_HEADERS || (p->n_headers && !p->headers))
        return p->n_headers > H3_REQ_MAX_HEADERS ? H3_ERR_TOO_LARGE : H3_ERR_INVAL;
    if (p->sink == H3_SINK_CALLBACK && !p->on_data)
        return H3_ERR_INVAL;
    if (p->early && p->body == H3_BODY_PRODUCER) /* cannot be sent again after a rejection */
        return H3_ERR_INVAL;
    if ((rv = req_setup_body(r, p, &blen, &blen_known)) != 0)
        return rv;

    const char *auth = p->authority ? p->authority : authority;
    size_t need = strlen(":method:scheme:authority:pathhttps") + strlen(p->method) +
                  strlen(auth) + strlen(p->path) + strlen("content-length") + 20;
    for (size_t i = 0; i < p->n_headers; i++)
        need += (p->headers[i].name ? strlen(p->headers[i].name) : 0) +
                (p->headers[i].value ? strlen(p->headers[i].value) : 0);
    if ((rv = req_buf(r, need)) != 0)
        return rv;
    /* Pseudo-header fields first (RFC 9114 §4.3.1). */
    if ((rv = req_add_field(r, ":method", 7, p->method, strlen(p->method))) != 0 ||
        (rv = req_add_field(r, ":scheme", 7, "https", 5)) != 0 ||
        (rv = req_add_field(r, ":authority", 10, auth, strlen(auth))) != 0 ||
        (rv = req_add_field(r, ":path", 5, p->path, strlen(p->path))) != 0)
        return rv;
    for (size_t i = 0; i < p->n_headers; i++) {
        const struct h3_header *h = &p->headers[i];
        if (!h->name || !h->value || !valid_field(h->name, h->value))
            return H3_ERR_INVAL;
        if ((rv = req_add_field(r, h->name, strlen(h->name), h->value, strlen(h->value))) != 0)
            return rv;
    }
    if (blen_known && !has_field(p, "content-length")) {
        char num[24];
        int n = snprintf(num, sizeof(num), "%" PRIu64, blen);
        if ((rv = req_add_field(r, "content-length", 14, num, (size_t)n)) != 0)
            return rv;
    }
    r->p = *p;
    r->p.method = r->p.path = r->p.authority = NULL; /* only |fields| is kept */
    r->p.headers = NULL;
    r->p.n_headers = 0;
    if (r->p.body == H3_BODY_FILE) {
        r->p.body_data = r->map;
        r->p.body_len = r->map_len;
    }
    if (!r->p.keep_max)
        r->p.keep_max = H3_KEEP_MAX_DEFAULT;
    return 0;
}

int h3_conn_request(struct h3_conn *c, const struct h3_req_params *p, uint64_t now_ns,
                    struct h3_req **out)
{
    struct h3_req *r;
    int rv;

    if (out)
        *out = NULL;
    if (!c || !p)
        return H3_ERR_INVAL;
    if (c->state >= H3_STATE_CLOSING)
        return H3_ERR_CLOSED;
    if (c->shutdown_requested || c->goaway_recv_id >= 0)
        return H3_ERR_SHUTDOWN;
    if (!(r = req_slot(c, &rv)))
        return rv;

    struct h3_conn *owner = r->conn;
    memset(r, 0, offsetof(struct h3_req, space));
    r->conn = owner;
    r->stream_id = -1;
    if ((rv = req_fill(r, p, c->authority)) != 0) {
        req_release_resources(r);
        r->where = H3_REQ_FREE;
        r->next = c->free_list;
        c->free_list = r;
        return rv;
    }
    r->where = H3_REQ_QUEUED;
    h3_req_list_push(&c->queue, r);
    if (out)
        *out = r;
    (void)now_ns;
    /* Batched: the packets go out on the next flush or expiry run (expiry is
     * "now" while this is pending), so a burst of requests shares packets. */
    c->tx_pending = true;
    return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *hc, int64_t stream_id, nghttp3_vec *vec,
                               size_t veccnt, uint32_t *pflags, void *conn_ud, void *stream_ud)
{
    struct h3_req *r = stream_ud;
    (void)hc;
    (void)stream_id;
    (void)conn_ud;

    if (!r || r->body_eof || veccnt == 0) {
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
        return 0;
    }
    if (r->p.body == H3_BODY_PRODUCER) {
        const uint8_t *data = NULL;
        size_t len = 0;
        bool eof = false;
        int rv = r->p.produce(r, r->p.ud, &data, &len, &eof);
        if (rv == H3_PRODUCE_WOULDBLOCK) {
            r->blocked = true;
            return NGHTTP3_ERR_WOULDBLOCK;
        }
        if (rv < 0)
            return NGHTTP3_ERR_CALLBACK_FAILURE;
        r->body_off += len;
        if (r->p.body_len && (r->body_off > r->p.body_len || (eof && r->body_off != r->p.body_len)))
            return NGHTTP3_ERR_CALLBACK_FAILURE; /* the content-length sent would be a lie */
        if (eof) {
            r->body_eof = true;
            *pflags |= NGHTTP3_DATA_FLAG_EOF;
        }
        if (len == 0 && !eof) {
            r->blocked = true;
            return NGHTTP3_ERR_WOULDBLOCK;
        }
        vec[0].base = (uint8_t *)data;
        vec[0].len = len;
        return len ? 1 : 0;
    }
    /* MEMORY and FILE: hand over the rest in one vector; nghttp3 keeps a
     * reference until ngtcp2 has it acknowledged, and the caller (or our
     * mapping) keeps the bytes alive until completion. */
    size_t left = r->p.body_len - r->body_off;
    vec[0].base = (uint8_t *)r->p.body_data + r->body_off;
    vec[0].len = left;
    r->body_off += left;
    r->body_eof = true;
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return left ? 1 : 0;
}

/* Start |r| (queued) on a new stream. Returns 0, 1 when no stream is available, or a
 * fatal H3_ERR_*. */
static int req_start(struct h3_conn *c, struct h3_req *r)
{
    nghttp3_nv nva[sizeof(r->fields) / sizeof(r->fields[0])];
    int64_t sid;
    int rv;

    rv = ngtcp2_conn_open_bidi_stream(c->qc, &sid, r);
    if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
        return 1; /* stays queued: wait for MAX_STREAMS */
    if (rv != 0)
        return H3_ERR_QUIC;
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct h3_field *f = &r->fields[i];
        nva[i] = (nghttp3_nv){ .name = (uint8_t *)r->buf + f->name_off,
                               .value = (uint8_t *)r->buf + f->value_off,
                               .namelen = f->name_len, .valuelen = f->value_len,
                               .flags = NGHTTP3_NV_FLAG_NONE };
    }
    nghttp3_data_reader dr = { .read_data = read_body };
    bool has_body = r->p.body != H3_BODY_NONE;
    rv = nghttp3_conn_submit_request(c->hc, sid, nva, r->n_fields, has_body ? &dr : NULL, r);
    if (rv != 0) {
        ngtcp2_conn_shutdown_stream(c->qc, 0, sid, H3_H3_INTERNAL_ERROR);
        return H3_ERR_HTTP3;
    }
    r->stream_id = sid;
    h3_req_list_remove(&c->queue, r);
    r->where = H3_REQ_ACTIVE;
    h3_req_list_push(&c->active, r);
    c->req_started++;
    if (c->state == H3_STATE_CONNECTING) {
        r->sent_early = true;
        c->req_early++;
    }
    return 0;
}

int h3_req_pump(struct h3_conn *c)
{
    /* Before the handshake: only early requests, only with 0-RTT keys (RFC 9001 §4.6.1). */
    bool early = c->state == H3_STATE_CONNECTING && c->early_ok;

    if (c->state >= H3_STATE_CLOSING || c->goaway_recv_id >= 0)
        return 0;
    if (!early && (!c->hc || c->state < H3_STATE_ESTABLISHED))
        return 0;
    for (struct h3_req *r = c->queue.head, *next; r; r = next) {
        next = r->next;
        if (early && !r->p.early)
            continue; /* waits for the handshake */
        if (c->max_streams_cap && c->active.n >= c->max_streams_cap)
            return 0;
        if (ngtcp2_conn_get_streams_bidi_left(c->qc) == 0)
            return 0;
        if (early && !c->hc) {
            /* Our control and QPACK streams go first, in 0-RTT too. */
            if (h3_conn_setup_h3(c) != 0) {
                nghttp3_conn_del(c->hc);
                c->hc = NULL;
                c->ccerr_set = false;
                c->early_ok = false; /* the requests wait for the handshake */
                return 0;
            }
            c->early_state = H3_EARLY_PENDING;
        }
        int rv = req_start(c, r);
        if (rv == 1)
            return 0;
        if (rv < 0)
            return rv;
    }
    return 0;
}

void h3_req_requeue_early(struct h3_conn *c)
{
    /* Only requests started in 0-RTT can be active before the handshake completes.
     * Walk backwards, pushing each to the head of the queue: the order is kept. */
    while (c->active.tail) {
        struct h3_req *r = c->active.tail;
        h3_req_list_remove(&c->active, r);
        r->where = H3_REQ_QUEUED;
        r->next = c->queue.head;
        r->prev = NULL;
        if (c->queue.head)
            c->queue.head->prev = r;
        else
            c->queue.tail = r;
        c->queue.head = r;
        c->queue.n++;
        /* As if never sent: the body from its start, no response state. */
        r->stream_id = -1;
        r->status = 0;
        r->end_stream = false;
        r->body_eof = false;
        r->blocked = false;
        r->body_off = 0;
        r->body_sent = 0;
        r->body_recv = 0;
        r->keep_len = 0;
        r->hdrs_len = 0;
        c->req_started--;
        if (r->sent_early) {
            r->early_resent = true;
            c->req_early_resent++;
        }
    }
    c->tx_pending = true;
}

void h3_req_complete(struct h3_req *r, enum h3_req_result res, uint64_t code)
{
    struct h3_conn *c = r->conn;
    struct h3_req_outcome o = {
        .result = res,
        .status = r->status,
        .code = code,
        .stream_id = r->stream_id,
        .body_sent = r->body_sent,
        .body_recv = r->body_recv,
        .early = !r->sent_early ? H3_EARLY_NOT_ATTEMPTED
                 : r->early_resent ? H3_EARLY_REJECTED
                                   : c->early_state, /* ACCEPTED, or PENDING: no answer */
    };

    if (r->where == H3_REQ_QUEUED) {
        h3_req_list_remove(&c->queue, r);
    } else if (r->where == H3_REQ_ACTIVE) {
        h3_req_list_remove(&c->active, r);
        /* Later callbacks for this stream must not see the released slot. */
        if (c->hc && c->state < H3_STATE_CLOSING)
            nghttp3_conn_set_stream_user_data(c->hc, r->stream_id, NULL);
        if (c->qc && c->state < H3_STATE_CLOSING)
            ngtcp2_conn_set_stream_user_data(c->qc, r->stream_id, NULL);
    } else {
        return;
    }
    switch (res) {
    case H3_REQ_COMPLETED: c->req_completed++; break;
    case H3_REQ_FAILED: c->req_failed++; break;
    case H3_REQ_NOT_PROCESSED: c->req_not_processed++; break;
    case H3_REQ_CANCELLED: c->req_cancelled++; break;
    case H3_REQ_CONN_CLOSED: c->req_conn_closed++; break;
    }
    r->where = H3_REQ_FREE;
    if (r->p.on_complete)
        r->p.on_complete(r, r->p.ud, &o);
    req_release_resources(r);
    r->next = c->free_list;
    c->free_list = r;
}

void h3_req_complete_all(struct h3_conn *c, enum h3_req_result active_res, uint64_t code)
{
    while (c->active.head) {
        struct h3_req *r = c->active.head;
        bool np = c->goaway_recv_id >= 0 && r->stream_id >= c->goaway_recv_id;
        h3_req_complete(r, np ? H3_REQ_NOT_PROCESSED : active_res,
                        np ? 0 : code);
    }
    /* Never sent: always safe to retry elsewhere. */
    while (c->queue.head)
        h3_req_complete(c->queue.head, H3_REQ_NOT_PROCESSED, 0);
}

void h3_req_apply_goaway(struct h3_conn *c, int64_t id)
{
    struct h3_req *r = c->active.head;

    while (r) {
        struct h3_req *next = r->next;
        if (r->stream_id >= id) {
            /* The server will not process it (RFC 9114 §5.2): stop the stream. */
            ngtcp2_conn_shutdown_stream(c->qc, 0, r->stream_id, H3_H3_REQUEST_CANCELLED);
            nghttp3_conn_shutdown_stream_write(c->hc, r->stream_id);
            h3_req_complete(r, H3_REQ_NOT_PROCESSED, 0);
        }
        r = next;
    }
    while (c->queue.head)
        h3_req_complete(c->queue.head, H3_REQ_NOT_PROCESSED, 0);
}

int h3_req_resume(struct h3_req *r)
{
    if (!r || r->where != H3_REQ_ACTIVE) {
        if (r && r->where == H3_REQ_QUEUED) {
            r->blocked = false;
            return 0;
        }
        return H3_ERR_STATE;
    }
    if (!r->blocked)
        return 0;
    r->blocked = false;
    r->conn->tx_pending = true;
    return nghttp3_conn_resume_stream(r->conn->hc, r->stream_id) == 0 ? 0 : H3_ERR_STATE;
}

int h3_req_cancel(struct h3_req *r)
{
    struct h3_conn *c = r ? r->conn : NULL;

    if (!r || (r->where != H3_REQ_QUEUED && r->where != H3_REQ_ACTIVE))
        return H3_ERR_STATE;
    if (r->where == H3_REQ_ACTIVE) {
        if (c->state >= H3_STATE_CLOSING)
            return H3_ERR_STATE;
        ngtcp2_conn_shutdown_stream(c->qc, 0, r->stream_id, H3_H3_REQUEST_CANCELLED);
        nghttp3_conn_shutdown_stream_write(c->hc, r->stream_id);
        c->tx_pending = true;
    }
    h3_req_complete(r, H3_REQ_CANCELLED, H3_H3_REQUEST_CANCELLED);
    return 0;
}

const uint8_t *h3_req_body(const struct h3_req *r, size_t *len)
{
    *len = r->keep_len;
    return r->keep;
}

const char *h3_req_headers(const struct h3_req *r, size_t *len)
{
    *len = r->hdrs_len;
    return r->hdrs;
}

int h3_req_status(const struct h3_req *r)
{
    return r->status;
}

int64_t h3_req_stream_id(const struct h3_req *r)
{
    return r->stream_id;
}

struct h3_conn *h3_req_conn(const struct h3_req *r)
{
    return r->conn;
}

/* ------------------------------------------------------ nghttp3 callbacks */

/* Grow a KEEP buffer to hold |need| bytes, doubling. */
static int keep_grow(struct h3_conn *c, void *pbuf, size_t *cap, size_t need)
{
    uint8_t **buf = pbuf;
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need)
        ncap *= 2;
    uint8_t *n = c->mem.realloc(*buf, ncap, c->mem.ud);
    if (!n)
        return -1;
    *buf = n;
    *cap = ncap;
    return 0;
}

static int cb_acked(nghttp3_conn *hc, int64_t stream_id, uint64_t datalen, void *conn_ud,
                    void *stream_ud)
{
    struct h3_req *r = stream_ud;
    (void)hc;
    (void)stream_id;
    (void)conn_ud;
    if (r) {
        r->body_sent += datalen;
        r->conn->body_bytes_sent += datalen;
        if (r->p.acked)
            r->p.acked(r, r->p.ud, datalen);
    }
    return 0;
}

static int cb_stream_close(nghttp3_conn *hc, int64_t stream_id, uint64_t app_error_code,
                           void *conn_ud, void *stream_ud)
{
    struct h3_conn *c = conn_ud;
    struct h3_req *r = stream_ud;
    (void)hc;

    if (!r || r->where != H3_REQ_ACTIVE)
        return 0;
    if (r->end_stream && r->status > 0)
        h3_req_complete(r, H3_REQ_COMPLETED, 0);
    else if (app_error_code == H3_H3_REQUEST_REJECTED ||
             (c->goaway_recv_id >= 0 && stream_id >= c->goaway_recv_id))
        h3_req_complete(r, H3_REQ_NOT_PROCESSED, app_error_code);
    else
        h3_req_complete(r, H3_REQ_FAILED,
                        app_error_code == H3_H3_NO_ERROR ? H3_H3_REQUEST_INCOMPLETE
                                                         : app_error_code);
    return 0;
}

static void consume(struct h3_conn *c, int64_t stream_id, size_t n)
{
    ngtcp2_conn_extend_max_stream_offset(c->qc, stream_id, n);
    ngtcp2_conn_extend_max_offset(c->qc, n);
}

static int cb_recv_data(nghttp3_conn *hc, int64_t stream_id, const uint8_t *data,
                        size_t len, void *conn_ud, void *stream_ud)
{
    struct h3_conn *c = conn_ud;
    struct h3_req *r = stream_ud;
    (void)hc;

    consume(c, stream_id, len);
    if (!r)
        return 0;
    r->body_recv += len;
    c->body_bytes_recv += len;
    switch (r->p.sink) {
    case H3_SINK_COUNT:
        break;
    case H3_SINK_KEEP: {
        size_t room = r->p.keep_max > r->keep_len ? r->p.keep_max - r->keep_len : 0;
        size_t n = len < room ? len : room;
        if (n && keep_grow(c, &r->keep, &r->keep_cap, r->keep_len + n) == 0) {
            memcpy(r->keep + r->keep_len, data, n);
            r->keep_len += n;
        }
        break;
    }
    case H3_SINK_CALLBACK:
        r->p.on_data(r, r->p.ud, data, len);
        break;
    }
    return 0;
}

static int cb_deferred_consume(nghttp3_conn *hc, int64_t stream_id, size_t consumed,
                               void *conn_ud, void *stream_ud)
{
    (void)hc;
    (void)stream_ud;
    consume(conn_ud, stream_id, consumed);
    return 0;
}

static int cb_recv_header(nghttp3_conn *hc, int64_t stream_id, int32_t token,
                          nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
                          void *conn_ud, void *stream_ud)
{
    struct h3_conn *c = conn_ud;
    struct h3_req *r = stream_ud;
    (void)hc;
    (void)stream_id;
    (void)flags;

    if (!r)
        return 0;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
    nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
    if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
        /* nghttp3 has checked it is three digits (RFC 9114 §4.3.2). */
        int st = 0;
        for (size_t i = 0; i < v.len && i < 3; i++)
            st = st * 10 + (v.base[i] - '0');
        /* Interim (1xx) responses precede the final one (RFC 9114 §4.1). */
        if (st >= 200 || r->status == 0)
            r->status = st;
    }
    if (r->p.on_header)
        r->p.on_header(r, r->p.ud, (const char *)n.base, n.len, (const char *)v.base, v.len);
    if (r->p.sink == H3_SINK_KEEP) {
        size_t need = r->hdrs_len + n.len + v.len + 3;
        if (keep_grow(c, &r->hdrs, &r->hdrs_cap, need + 1) == 0) {
            char *p = r->hdrs + r->hdrs_len;
            memcpy(p, n.base, n.len);
            p += n.len;
            *p++ = ':';
            *p++ = ' ';
            memcpy(p, v.base, v.len);
            p += v.len;
            *p++ = '\n';
            *p = '\0';
            r->hdrs_len = need;
        }
    }
    return 0;
}

static int cb_end_stream(nghttp3_conn *hc, int64_t stream_id, void *conn_ud, void *stream_ud)
{
    struct h3_req *r = stream_ud;
    (void)hc;
    (void)stream_id;
    (void)conn_ud;
    if (r)
        r->end_stream = true;
    return 0;
}

/* nghttp3 asks us to send STOP_SENDING (it discards the rest of the response). */
static int cb_stop_sending(nghttp3_conn *hc, int64_t stream_id, uint64_t code, void *conn_ud,
                           void *stream_ud)
{
    struct h3_conn *c = conn_ud;
    (void)hc;
    (void)stream_ud;
    if (ngtcp2_conn_shutdown_stream_read(c->qc, 0, stream_id, code) != 0)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    return 0;
}

/* nghttp3 asks us to send RESET_STREAM. */
static int cb_reset_stream(nghttp3_conn *hc, int64_t stream_id, uint64_t code, void *conn_ud,
                           void *stream_ud)
{
    struct h3_conn *c = conn_ud;
    (void)hc;
    (void)stream_ud;
    if (ngtcp2_conn_shutdown_stream_write(c->qc, 0, stream_id, code) != 0)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    return 0;
}

/* Peer GOAWAY (RFC 9114 §5.2): |id| only ever decreases. */
static int cb_shutdown(nghttp3_conn *hc, int64_t id, void *conn_ud)
{
    struct h3_conn *c = conn_ud;
    (void)hc;
    if (c->goaway_recv_id < 0 || id < c->goaway_recv_id)
        c->goaway_recv_id = id;
    c->goaway_pending = true;
    return 0;
}

const nghttp3_callbacks h3_req_h3_callbacks = {
    .acked_stream_data = cb_acked,
    .stream_close = cb_stream_close,
    .recv_data = cb_recv_data,
    .deferred_consume = cb_deferred_consume,
    .recv_header = cb_recv_header,
    .end_stream = cb_end_stream,
    .stop_sending = cb_stop_sending,
    .reset_stream = cb_reset_stream,
    .shutdown = cb_shutdown,
};
