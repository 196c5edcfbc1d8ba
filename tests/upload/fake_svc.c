/* fake_svc.c: the connection service double (see fake_svc.h). */
#include "fake_svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? 2 * *cap : 16;
    p = realloc(p, *cap * size);
    if (!p) {
        fprintf(stderr, "fake_svc: out of memory\n");
        abort();
    }
    return p;
}

static char *dup_str(const char *s)
{
    char *d = strdup(s ? s : "");

    if (!d)
        abort();
    return d;
}

struct svc *fake_svc_new(void)
{
    struct svc *s = calloc(1, sizeof(*s));

    if (!s)
        abort();
    return s;
}

void fake_svc_del(struct svc *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct fake_req *q = &s->reqs[i];
        for (size_t h = 0; h < q->n_headers; h++) {
            free((void *)q->headers[h].name);
            free((void *)q->headers[h].value);
        }
        free(q->headers);
        free(q->method);
        free(q->path);
        free(q->body);
    }
    free(s->reqs);
    free(s->conns);
    free(s);
}

struct fake_conn *fake_conn(struct svc *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_conns; i++)
        if (s->conns[i].id == id)
            return &s->conns[i];
    return NULL;
}

struct fake_conn *fake_conn_nth(struct svc *s, size_t i)
{
    return i < s->n_conns ? &s->conns[i] : NULL;
}

unsigned fake_conns_open(const struct svc *s)
{
    unsigned n = 0;

    for (size_t i = 0; i < s->n_conns; i++)
        n += !s->conns[i].closed;
    return n;
}

/* ---------------------------------------------------------------- the service API */

int svc_connect(struct svc *s, const struct svc_conn_params *p, const struct svc_conn_cbs *cbs,
                void *ud, uint64_t *conn)
{
    struct fake_conn *c;

    s->connect_calls++;
    if (s->connect_rv)
        return s->connect_rv;
    if (!p || !p->remote || !p->remote_len || p->remote_len > sizeof(c->remote) || !conn)
        return -EINVAL;
    s->conns = grow(s->conns, &s->cap_conns, s->n_conns, sizeof(*s->conns));
    c = &s->conns[s->n_conns++];
    memset(c, 0, sizeof(*c));
    c->id = ++s->next_id;
    snprintf(c->url, sizeof(c->url), "%s", p->url ? p->url : "");
    snprintf(c->host, sizeof(c->host), "%s", p->host ? p->host : "");
    snprintf(c->sni, sizeof(c->sni), "%s", p->sni ? p->sni : "");
    c->has_sni = p->sni != NULL;
    c->insecure = p->insecure;
    c->lcore = p->lcore;
    memcpy(&c->remote, p->remote, p->remote_len);
    c->remote_len = p->remote_len;
    if (cbs)
        c->cbs = *cbs;
    c->ud = ud;
    c->state = H3_STATE_CONNECTING;
    s->connects++;
    *conn = c->id;
    return 0;
}

int svc_request(struct svc *s, uint64_t conn, struct svc_req *r)
{
    struct fake_conn *c = fake_conn(s, conn);
    struct fake_req *q;

    s->request_calls++;
    if (!r || !r->method || !r->path || !r->done || (r->body && r->synth_len) ||
        (r->early && r->synth_len) || (r->n_headers && !r->headers)) {
        s->invalid++;
        return -EINVAL;
    }
    if (!c)
        return -ENOENT;
    if (c->closed || c->state >= H3_STATE_DRAINING)
        return -ESHUTDOWN;
    if (c->request_rv)
        return c->request_rv;
    if (s->request_rv)
        return s->request_rv;
    s->reqs = grow(s->reqs, &s->cap_reqs, s->n_reqs, sizeof(*s->reqs));
    q = &s->reqs[s->n_reqs++];
    memset(q, 0, sizeof(*q));
    q->conn = conn;
    q->r = r;
    q->method = dup_str(r->method);
    q->path = dup_str(r->path);
    q->n_headers = r->n_headers;
    q->headers = calloc(r->n_headers ? r->n_headers : 1, sizeof(*q->headers));
    if (!q->headers)
        abort();
    for (size_t h = 0; h < r->n_headers; h++) {
        q->headers[h].name = dup_str(r->headers[h].name);
        q->headers[h].value = dup_str(r->headers[h].value);
    }
    q->has_body = r->body != NULL;
    q->body_len = r->body_len;
    if (r->body && r->body_len) {
        q->body = malloc(r->body_len);
        if (!q->body)
            abort();
        memcpy(q->body, r->body, r->body_len);
    }
    q->synth_len = r->synth_len;
    q->early = r->early;
    q->conn_state = c->state;
    q->ud = r->ud;
    c->requests++;
    c->active++;
    s->requests++;
    return 0;
}

int svc_shutdown(struct svc *s, uint64_t conn, uint64_t max_push, uint64_t timeout_ns)
{
    struct fake_conn *c = fake_conn(s, conn);

    (void)max_push;
    (void)timeout_ns;
    s->shutdown_calls++;
    if (!c)
        return -ENOENT;
    if (c->closed)
        return -ESHUTDOWN;
    c->shutdowns++;
    s->shutdowns++;
    return 0;
}

int svc_conn_info(const struct svc *s, uint64_t conn, struct svc_conn_info *out)
{
    const struct fake_conn *c = NULL;

    for (size_t i = 0; i < s->n_conns; i++)
        if (s->conns[i].id == conn)
            c = &s->conns[i];
    if (!c)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    out->id = c->id;
    snprintf(out->url, sizeof(out->url), "%s", c->url);
    out->state = c->state;
    out->requests_active = c->active;
    out->goaway_recv_id = -1;
    out->early_ready = c->early_ready;
    out->resumed = c->resumed;
    out->closed = c->closed;
    return 0;
}

/* ---------------------------------------------------------------- driving it */

void fake_early(struct svc *s, uint64_t id)
{
    struct fake_conn *c = fake_conn(s, id);

    if (!c || c->closed || c->state != H3_STATE_CONNECTING)
        return;
    c->early_ready = true;
    if (c->cbs.on_early)
        c->cbs.on_early(c->ud, id);
}

void fake_state(struct svc *s, uint64_t id, enum h3_state st)
{
    struct fake_conn *c = fake_conn(s, id);

    if (!c || c->closed)
        return;
    c->state = st;
    c->early_ready = false;
    if (c->cbs.on_state)
        c->cbs.on_state(c->ud, id, st);
}

unsigned fake_establish_all(struct svc *s)
{
    unsigned n = 0;

    for (size_t i = 0; i < s->n_conns; i++)
        if (!s->conns[i].closed && s->conns[i].state == H3_STATE_CONNECTING) {
            fake_state(s, s->conns[i].id, H3_STATE_ESTABLISHED);
            n++;
        }
    return n;
}

void fake_close(struct svc *s, uint64_t id, enum h3_close_kind kind, enum h3_req_result pending)
{
    struct fake_conn *c = fake_conn(s, id);
    struct h3_outcome o = {.kind = kind, .origin = H3_ORIGIN_REMOTE};

    if (!c || c->closed)
        return;
    for (size_t i = 0; i < s->n_reqs; i++)
        if (s->reqs[i].conn == id && !s->reqs[i].done)
            fake_fail(s, i, pending, pending == H3_REQ_NOT_PROCESSED ? -1 : (int64_t)(4 * i));
    c = fake_conn(s, id);
    c->closed = true;
    c->state = H3_STATE_CLOSED;
    o.ok = kind == H3_CLOSE_APPLICATION;
    o.code = kind == H3_CLOSE_APPLICATION ? 0x100 : 0;
    snprintf(o.reason, sizeof(o.reason), "fake close");
    if (c->cbs.on_closed)
        c->cbs.on_closed(c->ud, id, &o);
}

unsigned fake_pending(const struct svc *s, uint64_t conn)
{
    unsigned n = 0;

    for (size_t i = 0; i < s->n_reqs; i++)
        n += !s->reqs[i].done && (!conn || s->reqs[i].conn == conn);
    return n;
}

long fake_next(const struct svc *s, uint64_t conn)
{
    for (size_t i = 0; i < s->n_reqs; i++)
        if (!s->reqs[i].done && (!conn || s->reqs[i].conn == conn))
            return (long)i;
    return -1;
}

void fake_complete(struct svc *s, size_t i, const struct svc_req_result *res)
{
    struct fake_req *q;
    struct fake_conn *c;
    struct svc_req *r;

    if (i >= s->n_reqs || s->reqs[i].done) {
        fprintf(stderr, "fake_svc: request %zu is not pending\n", i);
        abort();
    }
    q = &s->reqs[i];
    r = q->r;
    /* The request's memory must still be what was submitted. */
    if (r->ud != q->ud || (r->body != NULL) != q->has_body || r->body_len != q->body_len ||
        r->synth_len != q->synth_len || (q->body && memcmp(r->body, q->body, q->body_len) != 0))
        s->corrupt++;
    q->done = true;
    c = fake_conn(s, q->conn);
    if (c && c->active)
        c->active--;
    r->done(r->ud, r, res);
}

void fake_reply(struct svc *s, size_t i, int status, const char *retry_after)
{
    struct svc_req_result res = {
        .o = {.result = H3_REQ_COMPLETED, .status = status, .stream_id = (int64_t)(4 * i)},
        .rtt_ns = 1000000,
    };

    if (retry_after)
        snprintf(res.retry_after, sizeof(res.retry_after), "%s", retry_after);
    fake_complete(s, i, &res);
}

void fake_reply_early(struct svc *s, size_t i, int status, bool rejected)
{
    struct svc_req_result res = {
        .o = {.result = H3_REQ_COMPLETED, .status = status, .stream_id = (int64_t)(4 * i),
              .early = rejected ? H3_EARLY_REJECTED : H3_EARLY_ACCEPTED},
        .rtt_ns = 1000000,
    };

    fake_complete(s, i, &res);
}

void fake_fail(struct svc *s, size_t i, enum h3_req_result result, int64_t stream_id)
{
    struct svc_req_result res = {
        .o = {.result = result, .stream_id = stream_id},
    };

    if (result == H3_REQ_FAILED || result == H3_REQ_CANCELLED)
        res.o.code = 0x10c; /* H3_REQUEST_CANCELLED */
    fake_complete(s, i, &res);
}

unsigned fake_reply_all(struct svc *s, int status)
{
    size_t end = s->n_reqs;
    unsigned n = 0;

    for (size_t i = 0; i < end; i++)
        if (!s->reqs[i].done) {
            fake_reply(s, i, status, NULL);
            n++;
        }
    return n;
}

const char *fake_header(const struct fake_req *q, const char *name)
{
    for (size_t h = 0; h < q->n_headers; h++)
        if (strcmp(q->headers[h].name, name) == 0)
            return q->headers[h].value;
    return NULL;
}

unsigned fake_header_count(const struct fake_req *q, const char *name)
{
    unsigned n = 0;

    for (size_t h = 0; h < q->n_headers; h++)
        n += strcmp(q->headers[h].name, name) == 0;
    return n;
}
