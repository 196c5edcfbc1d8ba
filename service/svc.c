/* svc.c: the main side of the connection service (svc.h): connection ids and infos,
 * commands to the workers, events back as callbacks. Main thread only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dp.h"
#include "svc_int.h"

RTE_LOG_REGISTER_DEFAULT(svc_logtype, INFO); /* user.h3dp.service (meson) */

#define SVC_RING 4096
#define SVC_POOL 16384
#define SVC_DRAIN_BURST 64
#define SVC_DRAIN_MAX 4096 /* events handled per svc_poll() */
#define SVC_SESSION_SAVE_NS 1000000000ull /* the session files at most once a second */
/* Lines about failed connections: 5 at once, then one per 2 s (log_closed). */
#define SVC_FAIL_LOG_BURST 5
#define SVC_FAIL_LOG_NS    2000000000ull

void svc_conf_defaults(struct svc_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->io = SVC_IO_KERNEL;
    c->n_workers = 1;
    c->idle_timeout_ns = 30000000000ull;
    c->handshake_timeout_ns = 10000000000ull;
    c->max_streams = 100;
    c->initial_max_data = 16u << 20;
    c->initial_max_stream_data = 4u << 20;
    c->max_requests = 256;
    c->max_conns = 4096;
    c->closed_keep = 64;
    c->resumption = true;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ---------------------------------------------------------------- session tickets */

/* The counters that change when the cache's content does. */
static uint64_t sessions_mark(struct svc *s)
{
    struct h3_session_cache_stats st;
    h3_session_cache_stats(s->sessions, &st);
    return st.stored + st.taken + st.evicted;
}

/* The cache, and what |dir| kept from the last run. Returns 0 or -ENOMEM; a directory that
 * cannot be read is said and the tickets are kept in memory only. */
static int sessions_open(struct svc *s, const char *dir)
{
    struct h3_session_cache_stats st;

    s->sessions = h3_session_cache_new(0);
    if (!s->sessions)
        return -ENOMEM;
    copy_str(s->session_dir, sizeof(s->session_dir), dir);
    if (!s->session_dir[0])
        return 0;
    int n = h3_session_cache_load(s->sessions, s->session_dir);
    h3_session_cache_stats(s->sessions, &st);
    if (n < 0)
        SVC_LOG(WARNING, "session_dir %s: %s: tickets kept in memory only", s->session_dir,
                h3_strerror(n));
    else
        SVC_LOG(INFO, "session_dir %s: %d ticket(s) loaded, %" PRIu64 " file(s) ignored",
                s->session_dir, n, st.load_rejected);
    s->session_mark = sessions_mark(s);
    return 0;
}

/* Writes the tickets to session_dir (main thread: file I/O, never on a worker). */
static void sessions_save(struct svc *s)
{
    int n = h3_session_cache_save(s->sessions, s->session_dir);
    if (n < 0)
        SVC_LOG(WARNING, "session_dir %s: cannot save the tickets: %s", s->session_dir,
                h3_strerror(n));
}

/* At most once a second: saves the tickets when the cache changed (a ticket arrived or was
 * used), so that a restart after a crash does not offer a used ticket again. */
static void sessions_upkeep(struct svc *s, uint64_t now)
{
    if (!s->sessions || !s->session_dir[0] || now < s->session_check_at)
        return;
    s->session_check_at = now + SVC_SESSION_SAVE_NS;
    uint64_t mark = sessions_mark(s);
    if (mark == s->session_mark)
        return;
    s->session_mark = mark;
    sessions_save(s);
}

bool svc_session_stats(const struct svc *s, struct h3_session_cache_stats *st)
{
    if (!s->sessions)
        return false;
    h3_session_cache_stats(s->sessions, st);
    return true;
}

void svc_del(struct svc *s);

struct svc *svc_new(const struct svc_conf *c, int *err)
{
    struct svc *s;
    int rv = -EINVAL;

    if (!c || c->n_workers == 0 || c->n_workers > SVC_MAX_WORKERS ||
        (c->io == SVC_IO_DPDK && !c->dp) || c->max_conns == 0)
        goto fail_early;
    if ((c->ca_file && strlen(c->ca_file) >= PATH_MAX) ||
        (c->cert_file && strlen(c->cert_file) >= PATH_MAX) ||
        (c->key_file && strlen(c->key_file) >= PATH_MAX) ||
        (c->keylog_file && strlen(c->keylog_file) >= PATH_MAX) ||
        (c->qlog_dir && strlen(c->qlog_dir) >= PATH_MAX) ||
        (c->session_dir && strlen(c->session_dir) >= PATH_MAX))
        goto fail_early;
    s = calloc(1, sizeof(*s));
    if (!s) {
        rv = -ENOMEM;
        goto fail_early;
    }
    s->conf = *c;
    ratelim_init(&s->fail_log, SVC_FAIL_LOG_BURST, SVC_FAIL_LOG_NS);
    copy_str(s->ca_file, sizeof(s->ca_file), c->ca_file);
    copy_str(s->cert_file, sizeof(s->cert_file), c->cert_file);
    copy_str(s->key_file, sizeof(s->key_file), c->key_file);
    copy_str(s->keylog, sizeof(s->keylog), c->keylog_file);
    copy_str(s->qlog_dir, sizeof(s->qlog_dir), c->qlog_dir);
    s->conf.ca_file = s->ca_file;
    s->conf.cert_file = s->cert_file;
    s->conf.key_file = s->key_file;
    s->conf.keylog_file = s->keylog;
    s->conf.qlog_dir = s->qlog_dir;
    s->next_id = 1;
    if (c->resumption && sessions_open(s, c->session_dir) < 0) {
        rv = -ENOMEM;
        goto fail_free;
    }
    s->bus = svc_bus_new(c->n_workers, SVC_RING, SVC_POOL, &rv);
    if (!s->bus)
        goto fail_free;
    s->workers = aligned_alloc(64, sizeof(*s->workers) * c->n_workers);
    if (!s->workers) {
        rv = -ENOMEM;
        goto fail_bus;
    }
    const struct svc_backend *be =
        c->io == SVC_IO_DPDK ? &svc_dpdk_backend : &svc_kernel_backend;
    for (unsigned i = 0; i < c->n_workers; i++) {
        rv = svc_worker_init(s, &s->workers[i], i, c->worker_lcores[i], be);
        if (rv < 0)
            goto fail;
        s->n_workers++;
        rv = c->io == SVC_IO_DPDK ? svc_dpdk_attach(&s->workers[i])
                                  : svc_kernel_start(&s->workers[i]);
        if (rv < 0)
            goto fail;
    }
    return s;
fail:
    svc_del(s); /* the workers started so far, the bus, the service */
    goto fail_early;
fail_bus:
    svc_bus_del(s->bus);
fail_free:
    h3_session_cache_del(s->sessions);
    free(s);
fail_early:
    if (err)
        *err = rv;
    return NULL;
}

static void free_conn(struct svc_conn *c)
{
    free(c->cparams);
    free(c);
}

/* Frees what an event message still owns, without callbacks (svc_del). */
static void drop_event(struct svc *s, struct svc_msg *m)
{
    if (m->type == SVC_EV_REQ_DONE)
        free((void *)((struct svc_m_req_done *)m->arg)->res.headers);
    else if (m->type == SVC_EV_STATS)
        free(m->data);
    else if (m->type == SVC_CMD_STATS)
        free(m->data);
    svc_msg_free(s->bus, m);
}

void svc_del(struct svc *s)
{
    struct svc_msg *msgs[SVC_DRAIN_BURST];
    unsigned n;

    if (!s)
        return;
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (s->conf.io == SVC_IO_KERNEL)
            svc_kernel_stop(&s->workers[i]);
        else
            dp_worker_hook_set(s->conf.dp, s->workers[i].lcore, NULL, NULL);
    }
    /* The workers are stopped: their state can be torn down from here. */
    for (unsigned i = 0; i < s->n_conns; i++) {
        struct svc_conn *c = s->conns[i];
        if (c->w)
            svc_worker_drop_conn(c->w, c);
    }
    while ((n = svc_bus_drain(s->bus, msgs, SVC_DRAIN_BURST)) > 0)
        for (unsigned i = 0; i < n; i++)
            drop_event(s, msgs[i]);
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct svc_msg *m;
        /* Commands never picked up (a STATS buffer is ours). */
        while (svc_bus_worker_poll(s->bus, i, &m, 1) == 1)
            drop_event(s, m);
    }
    for (unsigned i = 0; i < s->n_workers; i++)
        svc_worker_free(&s->workers[i]);
    for (unsigned i = 0; i < s->n_conns; i++) {
        struct svc_conn *c = s->conns[i];
        if (c->w && c->connect_msg)
            svc_msg_free(s->bus, c->connect_msg);
        free_conn(c);
    }
    free(s->conns);
    free(s->workers);
    svc_bus_del(s->bus);
    /* No connection is left to use the cache: the last tickets go to disk. */
    if (s->sessions && s->session_dir[0] && sessions_mark(s) != s->session_mark)
        sessions_save(s);
    h3_session_cache_del(s->sessions);
    free(s);
}

void svc_set_observer(struct svc *s, const struct svc_conn_cbs *cbs, void *ud)
{
    s->obs = cbs ? *cbs : (struct svc_conn_cbs){ 0 };
    s->obs_ud = ud;
}

int svc_eventfd(const struct svc *s)
{
    return svc_bus_eventfd(s->bus);
}

bool svc_arm(struct svc *s)
{
    return svc_bus_arm(s->bus);
}

/* ---------------------------------------------------------------- the table */

static int find_idx(const struct svc *s, uint64_t id)
{
    unsigned lo = 0, hi = s->n_conns;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (s->conns[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_conns && s->conns[lo]->id == id ? (int)lo : -1;
}

static struct svc_conn *find(const struct svc *s, uint64_t id)
{
    int i = find_idx(s, id);
    return i < 0 ? NULL : s->conns[i];
}

/* Forgets the oldest closed connections beyond closed_keep. */
static void evict_closed(struct svc *s)
{
    unsigned i = 0;
    while (s->n_closed > s->conf.closed_keep && i < s->n_conns) {
        struct svc_conn *c = s->conns[i];
        if (!c->info.closed) {
            i++;
            continue;
        }
        memmove(&s->conns[i], &s->conns[i + 1], (s->n_conns - i - 1) * sizeof(*s->conns));
        s->n_conns--;
        s->n_closed--;
        c->in_table = false;
        if (c->outstanding == 0)
            free_conn(c);
    }
}

static void release_if_done(struct svc_conn *c)
{
    if (!c->in_table && c->info.closed && c->outstanding == 0)
        free_conn(c);
}

/* ---------------------------------------------------------------- events */

/* A connection that failed is a collector or TLS failure an operator must see (WARNING):
 * a refused or timed-out handshake, a TLS alert, a reset, an error from the peer. What this
 * side asked for (svc_close) and an idle timeout are routine (INFO), a clean close DEBUG.
 * A server refusing every handshake makes such lines as fast as the pool retries: at most
 * SVC_FAIL_LOG_BURST, then one per SVC_FAIL_LOG_NS, saying how many were held back. */
static void log_closed(struct svc *s, const struct svc_conn *c)
{
    const struct h3_outcome *o = &c->info.outcome;
    char text[256];
    uint64_t held = 0;

    if (o->ok) {
        SVC_LOG(DEBUG, "connection %llu to %s closed", (unsigned long long)c->id, c->info.url);
        return;
    }
    h3_outcome_str(o, text, sizeof(text));
    if (c->close_asked || o->kind == H3_CLOSE_IDLE_TIMEOUT) {
        SVC_LOG(INFO, "connection %llu to %s closed: %s", (unsigned long long)c->id,
                c->info.url, text);
        return;
    }
    if (!ratelim_allow(&s->fail_log, s->now, &held))
        return;
    if (held)
        SVC_LOG(WARNING, "connection %llu to %s failed: %s (and %llu more failed connection(s) "
                         "not logged)",
                (unsigned long long)c->id, c->info.url, text, (unsigned long long)held);
    else
        SVC_LOG(WARNING, "connection %llu to %s failed: %s", (unsigned long long)c->id,
                c->info.url, text);
}

static void handle_event(struct svc *s, struct svc_msg *m)
{
    struct svc_conn *c = ((struct svc_m_conn *)m->arg)->c;

    switch (m->type) {
    case SVC_EV_STATE: {
        const struct svc_m_state *d = (const struct svc_m_state *)m->arg;
        enum h3_state st = d->st;
        if (!c->info.closed) {
            c->info.state = st;
            c->info.early_ready = false;
            c->info.resumed = d->resumed;
            c->info.early_data = d->early_data;
            if (d->rtt_ns)
                c->info.rtt_ns = d->rtt_ns;
            if (c->cbs.on_state)
                c->cbs.on_state(c->ud, c->id, st);
            if (s->obs.on_state)
                s->obs.on_state(s->obs_ud, c->id, st);
        }
        break;
    }
    case SVC_EV_EARLY:
        if (!c->info.closed && c->info.state == H3_STATE_CONNECTING) {
            c->info.early_ready = true;
            if (c->cbs.on_early)
                c->cbs.on_early(c->ud, c->id);
            if (s->obs.on_early)
                s->obs.on_early(s->obs_ud, c->id);
        }
        break;
    case SVC_EV_GOAWAY: {
        int64_t id = ((struct svc_m_goaway *)m->arg)->id;
        c->info.goaway_recv_id = id;
        if (c->cbs.on_goaway && !c->info.closed)
            c->cbs.on_goaway(c->ud, c->id, id);
        if (s->obs.on_goaway && !c->info.closed)
            s->obs.on_goaway(s->obs_ud, c->id, id);
        break;
    }
    case SVC_EV_REQ_DONE: {
        struct svc_m_req_done *d = (struct svc_m_req_done *)m->arg;
        struct svc_req *r = m->data;
        c->outstanding--;
        c->info.requests_active--;
        c->info.requests_done++;
        if (d->rtt_ns)
            c->info.rtt_ns = d->rtt_ns;
        r->done(r->ud, r, &d->res);
        free((void *)d->res.headers);
        break;
    }
    case SVC_EV_STATS: {
        struct svc_m_stats *d = (struct svc_m_stats *)m->arg;
        c->outstanding--;
        d->cb(d->ud, c->id, m->status, m->status == 0 ? m->data : NULL);
        free(m->data);
        break;
    }
    case SVC_EV_ACK:
        c->outstanding--;
        break;
    case SVC_EV_CLOSED: {
        struct svc_m_closed *d = (struct svc_m_closed *)m->arg;
        c->info.closed = true;
        c->info.state = H3_STATE_CLOSED;
        c->info.early_ready = false;
        c->info.outcome = c->final.outcome;
        c->info.resumed = c->final.resumed; /* written by the worker before CLOSED */
        c->info.early_data = c->final.early_data;
        if (d->goaway_recv_id >= 0)
            c->info.goaway_recv_id = d->goaway_recv_id;
        if (c->final.rtt_min_ns) /* a sample was taken */
            c->info.rtt_ns = c->final.rtt_smoothed_ns;
        s->n_active--;
        s->n_closed++;
        if (c->info.outcome.ok)
            s->totals.closed_ok++;
        else
            s->totals.closed_error++;
        log_closed(s, c);
        if (c->cbs.on_closed)
            c->cbs.on_closed(c->ud, c->id, &c->info.outcome);
        if (s->obs.on_closed)
            s->obs.on_closed(s->obs_ud, c->id, &c->info.outcome);
        svc_msg_free(s->bus, m);
        evict_closed(s);
        return;
    }
    default:
        break;
    }
    svc_msg_free(s->bus, m);
    release_if_done(c);
}

unsigned svc_poll(struct svc *s, uint64_t now_ns)
{
    struct svc_msg *msgs[SVC_DRAIN_BURST];
    unsigned total = 0, n;

    s->now = now_ns;
    while (total < SVC_DRAIN_MAX && (n = svc_bus_drain(s->bus, msgs, SVC_DRAIN_BURST)) > 0) {
        for (unsigned i = 0; i < n; i++)
            handle_event(s, msgs[i]);
        total += n;
    }
    if (s->conf.io == SVC_IO_KERNEL)
        svc_bus_ack(s->bus); /* the eventfd may have been written: do not spin on it */
    sessions_upkeep(s, now_ns);
    return total;
}

/* ---------------------------------------------------------------- commands */

static int send_cmd(struct svc *s, struct svc_conn *c, struct svc_msg *m)
{
    m->conn_id = c->id;
    ((struct svc_m_conn *)m->arg)->c = c;
    int rv = svc_bus_send(s->bus, c->widx, m);
    if (rv < 0)
        return rv;
    if (s->conf.io == SVC_IO_KERNEL)
        svc_kernel_wake(&s->workers[c->widx]);
    return 0;
}

static int pick_worker(const struct svc *s, int lcore)
{
    unsigned load[SVC_MAX_WORKERS] = { 0 };
    int best = 0;

    if (lcore >= 0) {
        for (unsigned i = 0; i < s->n_workers; i++)
            if (s->workers[i].lcore == (unsigned)lcore)
                return (int)i;
        return -EINVAL;
    }
    for (unsigned i = 0; i < s->n_conns; i++)
        if (!s->conns[i]->info.closed)
            load[s->conns[i]->widx]++;
    for (unsigned i = 1; i < s->n_workers; i++)
        if (load[i] < load[best])
            best = (int)i;
    return best;
}

int svc_connect(struct svc *s, const struct svc_conn_params *p, const struct svc_conn_cbs *cbs,
                void *ud, uint64_t *conn)
{
    struct svc_conn *c;
    struct svc_msg *m;
    int w, rv;

    const char *ca = p && p->ca_file ? p->ca_file : s->ca_file, *sni = p && p->sni ? p->sni : "";
    const char *cert = p && p->cert_file ? p->cert_file : s->cert_file;
    const char *key = p && p->key_file ? p->key_file : s->key_file;
    if (!p || !p->remote || !p->host || !p->host[0] || strlen(p->host) >= SVC_HOST_MAX ||
        strlen(sni) >= SVC_HOST_MAX || strlen(ca) >= PATH_MAX || strlen(cert) >= PATH_MAX ||
        strlen(key) >= PATH_MAX || !cert[0] != !key[0] ||
        p->remote_len > sizeof(c->remote) ||
        (p->remote->sa_family != AF_INET && p->remote->sa_family != AF_INET6))
        return -EINVAL;
    /* An IPv6 peer over DPDK needs an IPv6 address on the port. */
    if (s->conf.io == SVC_IO_DPDK && p->remote->sa_family == AF_INET6 && !dp_ipv6(s->conf.dp))
        return -EAFNOSUPPORT;
    if (s->n_active >= s->conf.max_conns)
        return -ENOSPC;
    w = pick_worker(s, p->lcore);
    if (w < 0)
        return w;
    if (s->n_conns == s->cap_conns) {
        unsigned cap = s->cap_conns ? 2 * s->cap_conns : 64;
        struct svc_conn **t = realloc(s->conns, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        s->conns = t;
        s->cap_conns = cap;
    }
    c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
    if (!c)
        return -ENOMEM;
    memset(c, 0, sizeof(*c));
    size_t hl = strlen(p->host) + 1, sl = strlen(sni) + 1, cl = strlen(ca) + 1;
    size_t el = strlen(cert) + 1, kl = strlen(key) + 1;
    if (!(c->cparams = malloc(hl + sl + cl + el + kl))) {
        free(c);
        return -ENOMEM;
    }
    c->host = memcpy(c->cparams, p->host, hl);
    c->sni = memcpy(c->cparams + hl, sni, sl);
    c->ca_file = memcpy(c->cparams + hl + sl, ca, cl);
    c->cert_file = memcpy(c->cparams + hl + sl + cl, cert, el);
    c->key_file = memcpy(c->cparams + hl + sl + cl + el, key, kl);
    m = svc_msg_alloc(s->bus);
    if (!m) {
        free_conn(c);
        return -ENOBUFS;
    }
    c->id = s->next_id;
    c->widx = (unsigned)w;
    c->cbs = cbs ? *cbs : (struct svc_conn_cbs){ 0 };
    c->ud = ud;
    memcpy(&c->remote, p->remote, p->remote_len);
    c->remote_len = p->remote_len;
    c->insecure = p->insecure < 0 ? s->conf.insecure : p->insecure != 0;
    c->info.id = c->id;
    copy_str(c->info.url, sizeof(c->info.url), p->url ? p->url : p->host);
    c->info.lcore = s->workers[w].lcore;
    c->info.state = H3_STATE_CONNECTING;
    c->info.goaway_recv_id = -1;
    c->info.started_ns = s->now;
    m->type = SVC_CMD_CONNECT;
    rv = send_cmd(s, c, m);
    if (rv < 0) {
        svc_msg_free(s->bus, m);
        free_conn(c);
        return rv;
    }
    s->next_id++;
    c->in_table = true;
    s->conns[s->n_conns++] = c; /* ids only grow: the table stays sorted */
    s->n_active++;
    s->totals.opened++;
    *conn = c->id;
    return 0;
}

int svc_conn_info(const struct svc *s, uint64_t conn, struct svc_conn_info *out)
{
    const struct svc_conn *c = find(s, conn);
    if (!c)
        return -ENOENT;
    *out = c->info;
    return 0;
}

uint64_t svc_conn_next(const struct svc *s, uint64_t prev)
{
    unsigned lo = 0, hi = s->n_conns;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (s->conns[mid]->id <= prev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_conns ? s->conns[lo]->id : 0;
}

unsigned svc_conns_active(const struct svc *s)
{
    return s->n_active;
}

void svc_totals(const struct svc *s, struct svc_totals *out)
{
    *out = s->totals;
}

int svc_conn_stats(struct svc *s, uint64_t conn,
                   void (*cb)(void *ud, uint64_t conn, int err, const struct h3_stats *st),
                   void *ud)
{
    struct svc_conn *c = find(s, conn);
    struct svc_msg *m;
    struct svc_m_stats *a;

    if (!c)
        return -ENOENT;
    if (!cb)
        return -EINVAL;
    m = svc_msg_alloc(s->bus);
    if (!m)
        return -ENOBUFS;
    m->data = malloc(sizeof(struct h3_stats));
    if (!m->data) {
        svc_msg_free(s->bus, m);
        return -ENOMEM;
    }
    m->type = SVC_CMD_STATS;
    a = (struct svc_m_stats *)m->arg;
    a->cb = cb;
    a->ud = ud;
    int rv = send_cmd(s, c, m);
    if (rv < 0) {
        free(m->data);
        svc_msg_free(s->bus, m);
        return rv;
    }
    c->outstanding++;
    return 0;
}

int svc_shutdown(struct svc *s, uint64_t conn, uint64_t max_push, uint64_t timeout_ns)
{
    struct svc_conn *c = find(s, conn);
    struct svc_msg *m;

    if (!c)
        return -ENOENT;
    if (c->info.closed || c->info.state >= H3_STATE_CLOSING)
        return -ESHUTDOWN;
    m = svc_msg_alloc(s->bus);
    if (!m)
        return -ENOBUFS;
    m->type = SVC_CMD_SHUTDOWN;
    struct svc_m_shutdown *a = (struct svc_m_shutdown *)m->arg;
    a->max_push = max_push;
    a->timeout_ns = timeout_ns;
    int rv = send_cmd(s, c, m);
    if (rv < 0) {
        svc_msg_free(s->bus, m);
        return rv;
    }
    c->outstanding++;
    return 0;
}

int svc_close(struct svc *s, uint64_t conn, uint64_t code, const char *reason)
{
    struct svc_conn *c = find(s, conn);
    struct svc_msg *m;

    if (!c)
        return -ENOENT;
    if (c->info.closed || c->info.state >= H3_STATE_CLOSING)
        return -ESHUTDOWN;
    m = svc_msg_alloc(s->bus);
    if (!m)
        return -ENOBUFS;
    m->type = SVC_CMD_CLOSE;
    struct svc_m_close *a = (struct svc_m_close *)m->arg;
    a->code = code;
    copy_str(a->reason, sizeof(a->reason), reason);
    int rv = send_cmd(s, c, m);
    if (rv < 0) {
        svc_msg_free(s->bus, m);
        return rv;
    }
    c->outstanding++;
    c->close_asked = true;
    return 0;
}

void svc_shutdown_all(struct svc *s, uint64_t timeout_ns)
{
    for (unsigned i = 0; i < s->n_conns; i++) {
        struct svc_conn *c = s->conns[i];
        if (!c->info.closed && c->info.state < H3_STATE_CLOSING)
            svc_shutdown(s, c->id, 0, timeout_ns);
    }
}

int svc_request(struct svc *s, uint64_t conn, struct svc_req *r)
{
    struct svc_conn *c = find(s, conn);
    struct svc_msg *m;

    if (!r || !r->method || !r->path || !r->done || (r->body && r->synth_len) ||
        (r->early && r->synth_len) || (r->n_headers && !r->headers))
        return -EINVAL;
    if (!c)
        return -ENOENT;
    if (c->info.closed || c->info.state >= H3_STATE_DRAINING)
        return -ESHUTDOWN;
    m = svc_msg_alloc(s->bus);
    if (!m)
        return -ENOBUFS;
    m->type = SVC_CMD_REQUEST;
    m->data = r;
    int rv = send_cmd(s, c, m);
    if (rv < 0) {
        svc_msg_free(s->bus, m);
        return rv;
    }
    c->outstanding++;
    c->info.requests_active++;
    return 0;
}

unsigned svc_worker_stats(const struct svc *s, struct svc_worker_stats *out, unsigned max)
{
    unsigned n = s->n_workers < max ? s->n_workers : max;

    for (unsigned i = 0; i < n; i++) {
        const struct svc_worker *w = &s->workers[i];
        struct svc_worker_stats *o = &out[i];
        memset(o, 0, sizeof(*o));
        o->lcore = w->lcore;
        o->conns = atomic_load_explicit(&w->ctr.conns, memory_order_relaxed);
        o->requests = atomic_load_explicit(&w->ctr.requests, memory_order_relaxed);
        o->arena_bytes = atomic_load_explicit(&w->ctr.arena_bytes, memory_order_relaxed);
        o->arena_peak = atomic_load_explicit(&w->ctr.arena_peak, memory_order_relaxed);
        o->cpu_ns = atomic_load_explicit(&w->ctr.cpu_ns, memory_order_relaxed);
        if (s->conf.io == SVC_IO_DPDK) {
            struct dp_lcore_counters lc;
            if (dp_lcore_counters(s->conf.dp, w->lcore, &lc) == 0) {
                o->busy_cycles = lc.busy_cycles;
                o->idle_cycles = lc.idle_cycles;
                o->pkts_rx = lc.flow_rx;
                o->pkts_tx = lc.flow_tx;
                /* The worker's thread CPU less its idle streaks: what the cycle counts
                 * would say without the time the thread was preempted. */
                o->cpu_ns = lc.cpu_ns > lc.idle_cpu_ns ? lc.cpu_ns - lc.idle_cpu_ns : 0;
            }
        }
    }
    return n;
}
