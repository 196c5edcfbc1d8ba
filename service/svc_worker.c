/* svc_worker.c: the worker side of the connection service — commands from the main side,
 * the timer heap, the per-step revisit of touched connections, events back (svc_int.h).
 * Everything here runs on one worker lcore/thread and touches only that worker's state. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "crypto.h"
#include "svc_int.h"

#define SVC_CMD_BURST 32
#define SVC_HDRS_MAX (16 * 1024) /* kept response header text per request */

/* The generated body of svc_req.synth_len: byte i is i % 251, served from this table. */
#define SVC_PAT_PERIOD 251
#define SVC_PAT_LEN (SVC_PAT_PERIOD * 64)
static uint8_t svc_pattern[SVC_PAT_LEN];

static void pattern_init(void)
{
    for (unsigned i = 0; i < SVC_PAT_LEN; i++)
        svc_pattern[i] = (uint8_t)(i % SVC_PAT_PERIOD);
}

/* Worker-side state of one request, from the worker's arena. */
struct svc_wreq {
    struct svc_timer t; /* deadline (timeout_ns) */
    struct svc_worker *w;
    struct svc_msg *msg; /* the REQUEST command, returned as REQ_DONE */
    struct svc_req *req;
    struct svc_conn *c;
    struct h3_req *hr;
    uint64_t t0, synth_off, synth_len;
    struct crypto_sha256 *hash;
    char *hdrs;
    size_t hdrs_len;
    bool keep;
    char retry_after[32]; /* see svc_req_result */
};

/* ---------------------------------------------------------------- timer heap */

static bool heap_less(const struct svc_timer *a, const struct svc_timer *b)
{
    return a->at < b->at;
}

static void heap_set(struct svc_worker *w, unsigned i, struct svc_timer *t)
{
    w->heap[i] = t;
    t->idx = i;
}

static void heap_up(struct svc_worker *w, unsigned i)
{
    struct svc_timer *t = w->heap[i];
    while (i > 0) {
        unsigned p = (i - 1) / 2;
        if (!heap_less(t, w->heap[p]))
            break;
        heap_set(w, i, w->heap[p]);
        i = p;
    }
    heap_set(w, i, t);
}

static void heap_down(struct svc_worker *w, unsigned i)
{
    struct svc_timer *t = w->heap[i];
    for (;;) {
        unsigned l = 2 * i + 1, m = i;
        const struct svc_timer *best = t;
        if (l < w->heap_n && heap_less(w->heap[l], best)) {
            m = l;
            best = w->heap[l];
        }
        if (l + 1 < w->heap_n && heap_less(w->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        heap_set(w, i, w->heap[m]);
        i = m;
    }
    heap_set(w, i, t);
}

static void heap_remove(struct svc_worker *w, struct svc_timer *t)
{
    unsigned i = t->idx;
    if (i == UINT_MAX)
        return;
    t->idx = UINT_MAX;
    struct svc_timer *last = w->heap[--w->heap_n];
    if (last == t)
        return;
    heap_set(w, i, last);
    heap_up(w, i);
    heap_down(w, last->idx);
}

/* Queues or moves |t| to |at| (UINT64_MAX: unqueue). Returns 0 or -ENOMEM. */
static int heap_schedule(struct svc_worker *w, struct svc_timer *t, uint64_t at)
{
    if (at == UINT64_MAX) {
        heap_remove(w, t);
        return 0;
    }
    if (t->idx != UINT_MAX) {
        uint64_t old = t->at;
        t->at = at;
        if (at < old)
            heap_up(w, t->idx);
        else
            heap_down(w, t->idx);
        return 0;
    }
    if (w->heap_n == w->heap_cap) {
        unsigned cap = w->heap_cap ? 2 * w->heap_cap : 256;
        struct svc_timer **h = svc_arena_realloc(w->arena, w->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        w->heap = h;
        w->heap_cap = cap;
    }
    t->at = at;
    heap_set(w, w->heap_n++, t);
    heap_up(w, t->idx);
    return 0;
}

uint64_t svc_worker_next_timer(const struct svc_worker *w)
{
    return w->heap_n ? w->heap[0]->at : UINT64_MAX;
}

/* ---------------------------------------------------------------- events */

/* Posts |m| to the main side, in order; what the full ring refuses waits in the overflow
 * queue (it can hold the whole pool, so nothing is ever lost). */
static void post(struct svc_worker *w, struct svc_msg *m)
{
    m->worker = (uint16_t)w->idx;
    if (w->ovf_n == 0 && svc_bus_post(w->s->bus, m) == 0)
        return;
    w->ovf[(w->ovf_head + w->ovf_n++) % w->ovf_cap] = m;
}

static unsigned flush_overflow(struct svc_worker *w)
{
    unsigned n = 0;
    while (w->ovf_n && svc_bus_post(w->s->bus, w->ovf[w->ovf_head]) == 0) {
        w->ovf_head = (w->ovf_head + 1) % w->ovf_cap;
        w->ovf_n--;
        n++;
    }
    return n;
}

void svc_worker_touch(struct svc_worker *w, struct svc_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = w->dirty;
    w->dirty = c;
}

/* ---------------------------------------------------------------- requests */

static void req_finish(struct svc_wreq *wr, const struct h3_req_outcome *o, int err)
{
    struct svc_worker *w = wr->w;
    struct svc_msg *m = wr->msg;
    struct svc_m_req_done *d = (struct svc_m_req_done *)m->arg;
    struct svc_conn *c = wr->c;

    heap_remove(w, &wr->t);
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->res.o = *o;
    d->res.err = err;
    d->res.rtt_ns = w->now > wr->t0 ? w->now - wr->t0 : 0;
    d->rtt_ns = c->h3 ? h3_conn_rtt(c->h3) : 0;
    memcpy(d->res.retry_after, wr->retry_after, sizeof(d->res.retry_after));
    if (wr->keep) {
        crypto_sha256_del(wr->hash, d->res.body_sha256);
        d->res.headers = wr->hdrs; /* freed by the main side after done() */
        d->res.headers_len = wr->hdrs_len;
    }
    m->type = SVC_EV_REQ_DONE;
    m->status = err;
    post(w, m);
    svc_arena_free(w->arena, wr);
    w->n_requests++;
    atomic_store_explicit(&w->ctr.requests, w->n_requests, memory_order_relaxed);
    if (c->h3)
        svc_worker_touch(w, c);
}

static void req_on_complete(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
{
    (void)r;
    req_finish(ud, o, 0);
}

static void req_on_header(struct h3_req *r, void *ud, const char *name, size_t nlen,
                          const char *value, size_t vlen)
{
    struct svc_wreq *wr = ud;
    static const char ra[] = "retry-after"; /* RFC 9110 §10.2.3: when to retry a 429/503 */
    (void)r;
    if (nlen == sizeof(ra) - 1 && memcmp(name, ra, nlen) == 0 && vlen < sizeof(wr->retry_after)) {
        memcpy(wr->retry_after, value, vlen);
        wr->retry_after[vlen] = '\0';
    }
    if (!wr->keep || !wr->hdrs || wr->hdrs_len + nlen + vlen + 4 > SVC_HDRS_MAX)
        return;
    char *p = wr->hdrs + wr->hdrs_len;
    memcpy(p, name, nlen);
    p += nlen;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vlen);
    p += vlen;
    *p++ = '\n';
    *p = '\0';
    wr->hdrs_len = (size_t)(p - wr->hdrs);
}

static void req_on_data(struct h3_req *r, void *ud, const uint8_t *data, size_t len)
{
    struct svc_wreq *wr = ud;
    (void)r;
    if (wr->keep)
        crypto_sha256_update(wr->hash, data, len);
}

static int req_produce(struct h3_req *r, void *ud, const uint8_t **data, size_t *len, bool *eof)
{
    struct svc_wreq *wr = ud;
    uint64_t left = wr->synth_len - wr->synth_off;
    size_t start = (size_t)(wr->synth_off % SVC_PAT_PERIOD);
    size_t n = SVC_PAT_LEN - start;
    (void)r;

    if (n > left)
        n = (size_t)left;
    *data = svc_pattern + start;
    *len = n;
    wr->synth_off += n;
    *eof = wr->synth_off == wr->synth_len;
    return 0;
}

/* Completes a request that never reached the driver. */
static void req_refuse(struct svc_worker *w, struct svc_msg *m, struct svc_conn *c, int err)
{
    struct h3_req_outcome o = { .stream_id = -1 };
    struct svc_m_req_done *d = (struct svc_m_req_done *)m->arg;

    o.result = (err == H3_ERR_SHUTDOWN || err == H3_ERR_CLOSED || err == H3_ERR_NOBUFS ||
                err == H3_ERR_STATE)
                   ? H3_REQ_NOT_PROCESSED
                   : H3_REQ_FAILED;
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->res.o = o;
    d->res.err = err;
    m->type = SVC_EV_REQ_DONE;
    m->status = err;
    post(w, m);
}

static void cmd_request(struct svc_worker *w, struct svc_msg *m, struct svc_conn *c)
{
    struct svc_req *rq = m->data;
    struct svc_wreq *wr;
    struct h3_req_params p = { 0 };
    int rv;

    if (!c->h3 || c->finished) {
        req_refuse(w, m, c, H3_ERR_CLOSED);
        return;
    }
    wr = svc_arena_calloc(w->arena, 1, sizeof(*wr));
    if (!wr) {
        req_refuse(w, m, c, H3_ERR_NOMEM);
        return;
    }
    wr->t.idx = UINT_MAX;
    wr->t.kind = SVC_T_REQ;
    wr->w = w;
    wr->msg = m;
    wr->req = rq;
    wr->c = c;
    wr->t0 = w->now;
    if (rq->keep_response) {
        /* Control-plane requests only (h3ctl request): header text and a digest. */
        wr->hdrs = malloc(SVC_HDRS_MAX);
        if (!wr->hdrs || crypto_sha256_new(&wr->hash) < 0) {
            free(wr->hdrs);
            svc_arena_free(w->arena, wr);
            req_refuse(w, m, c, H3_ERR_NOMEM);
            return;
        }
        wr->hdrs[0] = '\0';
        wr->keep = true;
    }
    p.method = rq->method;
    p.path = rq->path;
    p.headers = rq->headers;
    p.n_headers = rq->n_headers;
    if (rq->body) {
        p.body = H3_BODY_MEMORY;
        p.body_data = rq->body;
        p.body_len = rq->body_len;
        p.early = rq->early; /* svc_request refused early with a generated body */
    } else if (rq->synth_len) {
        p.body = H3_BODY_PRODUCER;
        p.produce = req_produce;
        p.body_len = (size_t)rq->synth_len; /* known: sent as content-length */
        wr->synth_len = rq->synth_len;
    }
    p.sink = wr->keep ? H3_SINK_CALLBACK : H3_SINK_COUNT;
    p.on_header = req_on_header;
    p.on_data = req_on_data;
    p.on_complete = req_on_complete;
    p.ud = wr;
    rv = h3_conn_request(c->h3, &p, w->now, &wr->hr);
    if (rv < 0) {
        if (wr->keep) {
            crypto_sha256_del(wr->hash, NULL);
            free(wr->hdrs);
        }
        svc_arena_free(w->arena, wr);
        req_refuse(w, m, c, rv);
        return;
    }
    if (rq->timeout_ns && heap_schedule(w, &wr->t, w->now + rq->timeout_ns) < 0)
        h3_req_cancel(wr->hr); /* no room to track the deadline: refuse to run unbounded */
    svc_worker_touch(w, c);
}

/* ---------------------------------------------------------------- connections */

static void conn_on_established(struct h3_conn *h, void *ud)
{
    struct svc_conn *c = ud;
    (void)h;
    svc_worker_touch(c->w, c);
}

static void conn_on_closed(struct h3_conn *h, const struct h3_outcome *o, void *ud)
{
    struct svc_conn *c = ud;
    (void)h;
    (void)o;
    svc_worker_touch(c->w, c);
}

/* Sends the CLOSED event (the CONNECT message) with |o|; the worker is done with |c|. */
static void conn_post_closed(struct svc_worker *w, struct svc_conn *c, const struct h3_outcome *o)
{
    struct svc_msg *m = c->connect_msg;
    struct svc_m_closed *d = (struct svc_m_closed *)m->arg;

    c->connect_msg = NULL;
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->goaway_recv_id = c->reported_goaway;
    c->final.outcome = *o;
    m->type = SVC_EV_CLOSED;
    post(w, m);
}

static void conn_fail(struct svc_worker *w, struct svc_conn *c, int err, const char *why)
{
    struct h3_outcome o = { .kind = H3_CLOSE_INTERNAL, .origin = H3_ORIGIN_LOCAL, .err = err };

    snprintf(o.reason, sizeof(o.reason), "%s", why);
    c->finished = true;
    c->final.state = H3_STATE_CLOSED;
    c->final.goaway_sent_id = c->final.goaway_recv_id = -1;
    c->final.outcome = o;
    conn_post_closed(w, c, &o);
}

static void cmd_connect(struct svc_worker *w, struct svc_msg *m, struct svc_conn *c)
{
    struct svc *s = w->s;
    struct h3_conn_params p;
    const struct h3_io_ops *io = NULL;
    void *io_ctx = NULL;
    char qlog[PATH_MAX + 64], why[H3_REASON_MAX];
    int rv;

    c->w = w;
    c->connect_msg = m;
    c->t.idx = UINT_MAX;
    c->t.kind = SVC_T_CONN;
    c->reported = H3_STATE_CONNECTING;
    c->reported_goaway = -1;
    rv = w->be->open(w, c, &io, &io_ctx);
    if (rv < 0) {
        snprintf(why, sizeof(why), "cannot open the UDP %s: %s",
                 s->conf.io == SVC_IO_DPDK ? "flow" : "socket", strerror(-rv));
        conn_fail(w, c, H3_ERR_IO, why);
        return;
    }
    h3_conn_params_default(&p);
    p.host = c->host;
    p.sni = c->sni[0] ? c->sni : NULL;
    p.port = ntohs(c->remote.ss_family == AF_INET6
                       ? ((const struct sockaddr_in6 *)&c->remote)->sin6_port
                       : ((const struct sockaddr_in *)&c->remote)->sin_port);
    p.ca_file = c->ca_file[0] ? c->ca_file : NULL;
    p.cert_file = c->cert_file[0] ? c->cert_file : NULL;
    p.key_file = c->key_file[0] ? c->key_file : NULL;
    p.insecure = c->insecure;
    p.keylog_file = s->keylog[0] ? s->keylog : NULL;
    if (s->qlog_dir[0]) {
        snprintf(qlog, sizeof(qlog), "%s/conn-%llu.qlog", s->qlog_dir, (unsigned long long)c->id);
        p.qlog_file = qlog;
    }
    if (s->conf.idle_timeout_ns)
        p.idle_timeout_ns = s->conf.idle_timeout_ns;
    if (s->conf.handshake_timeout_ns)
        p.handshake_timeout_ns = s->conf.handshake_timeout_ns;
    p.keepalive_ns = s->conf.keepalive_ns;
    p.max_streams = s->conf.max_streams;
    if (s->conf.initial_max_data)
        p.initial_max_data = s->conf.initial_max_data;
    if (s->conf.initial_max_stream_data)
        p.initial_max_stream_data = s->conf.initial_max_stream_data;
    if (s->conf.max_requests)
        p.max_requests = s->conf.max_requests;
    if (c->max_udp_payload)
        p.max_udp_payload = c->max_udp_payload;
    p.mem = w->mem;
    p.local = (const struct sockaddr *)&c->local;
    p.local_len = c->local_len;
    p.remote = (const struct sockaddr *)&c->remote;
    p.remote_len = c->remote_len;
    p.io = io;
    p.io_ctx = io_ctx;
    p.on_established = conn_on_established;
    p.on_closed = conn_on_closed;
    p.ud = c;
    p.session_cache = s->sessions; /* its mutex: here and when a ticket arrives */
    rv = h3_conn_new(&p, w->now, &c->h3);
    free(c->cparams); /* the driver copied what it keeps */
    c->cparams = NULL;
    c->host = c->sni = c->ca_file = c->cert_file = c->key_file = NULL;
    if (rv < 0) {
        c->h3 = NULL;
        w->be->close(w, c);
        snprintf(why, sizeof(why), "cannot start the connection: %s", h3_strerror(rv));
        conn_fail(w, c, rv, why);
        return;
    }
    if (w->be->attach)
        w->be->attach(w, c);
    w->n_conns++;
    atomic_store_explicit(&w->ctr.conns, w->n_conns, memory_order_relaxed);
    svc_worker_touch(w, c);
}

static void conn_finish(struct svc_worker *w, struct svc_conn *c)
{
    struct h3_outcome o;

    h3_conn_stats(c->h3, &c->final);
    h3_conn_outcome(c->h3, &o);
    heap_remove(w, &c->t);
    h3_conn_del(c->h3);
    c->h3 = NULL;
    w->be->close(w, c);
    c->finished = true;
    w->n_conns--;
    atomic_store_explicit(&w->ctr.conns, w->n_conns, memory_order_relaxed);
    conn_post_closed(w, c, &o);
}

void svc_worker_drop_conn(struct svc_worker *w, struct svc_conn *c)
{
    if (!c->h3)
        return;
    heap_remove(w, &c->t);
    h3_conn_del(c->h3);
    c->h3 = NULL;
    w->be->close(w, c);
    c->finished = true;
}

/* Revisits a touched connection: runs what is due, sends, reports state changes, re-arms
 * its timer or finishes it. */
static void conn_revisit(struct svc_worker *w, struct svc_conn *c)
{
    struct h3_conn *h = c->h3;

    if (!h)
        return;
    if (h3_conn_expiry(h) <= w->now)
        h3_conn_on_expiry(h, w->now);
    w->be->flush(w, c);
    enum h3_state st = h3_conn_state(h);
    /* Up for the daemon only once the server has accepted the handshake: with client
     * authentication it may still refuse our certificate after we are ESTABLISHED. */
    if (st == H3_STATE_ESTABLISHED && !h3_conn_confirmed(h))
        st = H3_STATE_CONNECTING;
    int64_t gid = h3_conn_goaway_recv_id(h);
    if (gid != c->reported_goaway) {
        struct svc_msg *m = svc_msg_alloc(w->s->bus);
        if (m) {
            struct svc_m_goaway *d = (struct svc_m_goaway *)m->arg;
            d->c = c;
            d->id = gid;
            m->type = SVC_EV_GOAWAY;
            post(w, m);
            c->reported_goaway = gid;
        }
    }
    if (st == H3_STATE_CLOSED) {
        conn_finish(w, c);
        return;
    }
    /* 0-RTT keys in place while connecting: the main side may submit early requests. */
    bool early_due = !c->reported_early && st == H3_STATE_CONNECTING && h3_conn_early_ready(h);
    if (early_due) {
        struct svc_msg *m = svc_msg_alloc(w->s->bus);
        if (m) {
            ((struct svc_m_conn *)m->arg)->c = c;
            m->type = SVC_EV_EARLY;
            post(w, m);
            c->reported_early = true;
            early_due = false;
        }
    }
    if (st != c->reported) {
        struct svc_msg *m = svc_msg_alloc(w->s->bus);
        if (m) {
            struct svc_m_state *d = (struct svc_m_state *)m->arg;
            struct h3_stats hs; /* a few state changes per connection: not per packet */
            h3_conn_stats(h, &hs);
            d->c = c;
            d->st = st;
            d->resumed = hs.resumed;
            d->early_data = hs.early_data;
            d->rtt_ns = h3_conn_rtt(h);
            m->type = SVC_EV_STATE;
            post(w, m);
            c->reported = st;
        }
    }
    if (gid != c->reported_goaway || st != c->reported || early_due) {
        /* The message pool is empty: report on the next step. */
        heap_schedule(w, &c->t, w->now);
        return;
    }
    if (heap_schedule(w, &c->t, h3_conn_expiry(h)) < 0)
        heap_schedule(w, &c->t, w->now); /* cannot grow: keep the one slot it has */
}

/* ---------------------------------------------------------------- commands */

static void handle_cmd(struct svc_worker *w, struct svc_msg *m)
{
    struct svc_conn *c = ((struct svc_m_conn *)m->arg)->c;

    switch (m->type) {
    case SVC_CMD_CONNECT:
        cmd_connect(w, m, c);
        return;
    case SVC_CMD_REQUEST:
        cmd_request(w, m, c);
        return;
    case SVC_CMD_STATS:
        if (c->h3)
            h3_conn_stats(c->h3, m->data);
        else
            *(struct h3_stats *)m->data = c->final;
        m->type = SVC_EV_STATS;
        m->status = 0;
        post(w, m);
        return;
    case SVC_CMD_SHUTDOWN: {
        const struct svc_m_shutdown *a = (const struct svc_m_shutdown *)m->arg;
        m->status = c->h3 ? h3_conn_shutdown(c->h3, a->max_push,
                                             a->timeout_ns ? w->now + a->timeout_ns : 0, w->now)
                          : H3_ERR_CLOSED;
        break;
    }
    case SVC_CMD_CLOSE: {
        struct svc_m_close *a = (struct svc_m_close *)m->arg;
        a->reason[sizeof(a->reason) - 1] = '\0';
        m->status = c->h3 ? h3_conn_close(c->h3, a->code, a->reason[0] ? a->reason : NULL, w->now)
                          : H3_ERR_CLOSED;
        break;
    }
    default:
        m->status = -EINVAL;
        break;
    }
    if (c->h3)
        svc_worker_touch(w, c);
    m->type = SVC_EV_ACK;
    post(w, m);
}

unsigned svc_worker_step(struct svc_worker *w, uint64_t now)
{
    struct svc_msg *msgs[SVC_CMD_BURST];
    unsigned work = 0, n;

    w->now = now;
    work += flush_overflow(w);
    n = svc_bus_worker_poll(w->s->bus, w->idx, msgs, SVC_CMD_BURST);
    for (unsigned i = 0; i < n; i++)
        handle_cmd(w, msgs[i]);
    work += n;
    while (w->heap_n && w->heap[0]->at <= now) {
        struct svc_timer *t = w->heap[0];
        heap_remove(w, t);
        work++;
        if (t->kind == SVC_T_CONN) {
            struct svc_conn *c = (struct svc_conn *)((char *)t - offsetof(struct svc_conn, t));
            svc_worker_touch(w, c);
        } else {
            struct svc_wreq *wr = (struct svc_wreq *)((char *)t - offsetof(struct svc_wreq, t));
            struct svc_conn *c = wr->c;
            h3_req_cancel(wr->hr); /* completes it: |wr| is gone */
            svc_worker_touch(w, c);
        }
    }
    /* Revisits can touch other conns (a request done, a close): a few rounds, the rest on
     * the next step. */
    for (int round = 0; w->dirty && round < 4; round++) {
        struct svc_conn *list = w->dirty;
        w->dirty = NULL;
        while (list) {
            struct svc_conn *c = list;
            list = c->dirty_next;
            c->dirty = false;
            conn_revisit(w, c);
            work++;
        }
    }
    struct svc_arena_stats as;
    svc_arena_stats(w->arena, &as);
    atomic_store_explicit(&w->ctr.arena_bytes, as.in_use, memory_order_relaxed);
    atomic_store_explicit(&w->ctr.arena_peak, as.peak, memory_order_relaxed);
    return work;
}

int svc_worker_init(struct svc *s, struct svc_worker *w, unsigned idx, unsigned lcore,
                    const struct svc_backend *be)
{
    static bool pattern_ready;

    if (!pattern_ready) { /* svc_new runs on the main thread before any worker */
        pattern_init();
        pattern_ready = true;
    }
    memset(w, 0, sizeof(*w));
    w->s = s;
    w->idx = idx;
    w->lcore = lcore;
    w->be = be;
    w->epfd = w->wakefd = -1;
    w->arena = svc_arena_new();
    if (!w->arena)
        return -ENOMEM;
    w->mem = svc_arena_mem(w->arena);
    w->ovf_cap = svc_bus_pool_free(s->bus) + 1;
    w->ovf = calloc(w->ovf_cap, sizeof(*w->ovf));
    if (!w->ovf) {
        svc_arena_del(w->arena);
        return -ENOMEM;
    }
    return 0;
}

void svc_worker_free(struct svc_worker *w)
{
    for (unsigned i = 0; i < w->ovf_n; i++)
        svc_msg_free(w->s->bus, w->ovf[(w->ovf_head + i) % w->ovf_cap]);
    free(w->ovf);
    svc_arena_free(w->arena, w->heap);
    svc_arena_del(w->arena);
}
