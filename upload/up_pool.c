/* up_pool.c: the connection pool — connections opened to the current endpoint while there
 * is work (least loaded worker; up_target.c picks the endpoint and backs off after
 * failures; GOAWAY'd connections replaced, connections to other endpoints retired once the
 * current one is up), batches dispatched to the ready connection with the fewest requests
 * in flight, and what each outcome means: acknowledged, retried (at once, after
 * Retry-After, or after a back-off) or failed. Main thread only. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "up_int.h"
#include "up_retry.h"

static int slot_of(struct up *u, uint64_t id)
{
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used && u->conns[i].id == id)
            return (int)i;
    return -1;
}

static void c_state(void *ud, uint64_t id, enum h3_state st)
{
    struct up *u = ud;
    int s = slot_of(u, id);
    struct svc_conn_info i;

    if (s < 0)
        return;
    u->conns[s].ready = st == H3_STATE_ESTABLISHED;
    u->conns[s].early = false; /* up, or going away */
    u->conns[s].draining = st >= H3_STATE_DRAINING;
    if (st == H3_STATE_ESTABLISHED) {
        u->conns[s].was_ready = true;
        u->acct.handshakes++;
        if (svc_conn_info(u->svc, id, &i) == 0 && i.resumed)
            u->acct.resumed++;
        up_targets_up(u, u->conns[s].url, &u->conns[s].addr);
    }
}

/* The connection resumed a session whose server allows early data: until it is up,
 * batches marked early may be sent on it, in 0-RTT. */
static void c_early(void *ud, uint64_t id)
{
    struct up *u = ud;
    int s = slot_of(u, id);

    if (s >= 0 && !u->conns[s].ready)
        u->conns[s].early = true;
}

static void c_closed(void *ud, uint64_t id, const struct h3_outcome *o)
{
    struct up *u = ud;
    int s = slot_of(u, id);
    char why[UP_ERR_MAX];

    if (s < 0)
        return;
    /* Never became usable (collector down, refused, TLS failure): the endpoint failed,
     * new connections go to the next one. */
    if (!u->conns[s].was_ready && u->conns[s].inflight == 0 && o->kind != H3_CLOSE_APPLICATION)
        up_targets_failed(u, u->conns[s].url, &u->conns[s].addr,
                          h3_outcome_str(o, why, sizeof(why)));
    u->conns[s] = (struct up_conn){ 0 };
}

static const struct svc_conn_cbs up_cbs = { .on_state = c_state, .on_closed = c_closed,
                                            .on_early = c_early };

/* Opens a connection to the current endpoint in free slot |i|. Returns 1 when opened. */
static unsigned open_conn(struct up *u, unsigned i)
{
    const struct up_url *t;
    struct sockaddr_storage ss;
    struct net_addr addr;
    unsigned url;
    uint64_t id;

    if (up_targets_pick(u, &url, &addr) <= 0)
        return 0;
    t = &u->urls[url];
    struct svc_conn_params p = {
        .url = t->origin,
        .remote = (const struct sockaddr *)&ss,
        .remote_len = net_addr_sockaddr(&addr, t->u.port, &ss),
        /* The certificate must match the URL's host (a name, or the literal address),
         * unless [tls] sni names the collector. */
        .host = u->sni[0] ? u->sni : t->u.host,
        .sni = u->sni[0] ? u->sni : NULL,
        .insecure = -1,
        .lcore = -1,
    };
    if (svc_connect(u->svc, &p, &up_cbs, u, &id) != 0)
        return 0;
    u->conns[i] = (struct up_conn){ .id = id, .used = true, .url = url, .addr = addr };
    return 1;
}

unsigned up_pool_upkeep(struct up *u, bool work)
{
    unsigned live = 0, live_cur = 0, ready_cur = 0;
    int other = -1;

    if (u->n_urls == 0)
        return 0;
    up_targets_tick(u);
    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        const struct up_conn *c = &u->conns[i];
        /* Drainers do not count, in flight or not: a connection the collector GOAWAY'd
         * is replaced at once, not after its closing period. */
        if (!c->used || c->draining)
            continue;
        live++;
        if (up_targets_is_current(u, c->url, &c->addr)) {
            live_cur++;
            ready_cur += c->ready;
        } else if (other < 0) {
            other = (int)i;
        }
    }
    /* The cursor moved (failover, failback, a name's new address) and the current endpoint
     * is up: retire the others one at a time, gracefully (their requests finish). */
    if (ready_cur && other >= 0) {
        svc_shutdown(u->svc, u->conns[other].id, 0, 0);
        u->conns[other].ready = false;
        u->conns[other].draining = true;
    }
    /* One connection beyond the pool may probe the current endpoint while the pool is
     * still full of connections to another one. */
    if (!work || u->now < u->next_connect || live_cur >= u->n_conns ||
        (live >= u->n_conns && live_cur > 0) || live > u->n_conns)
        return 0;
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (!u->conns[i].used)
            return open_conn(u, i);
    return 0;
}

void up_pool_release(struct up *u)
{
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used) {
            svc_shutdown(u->svc, u->conns[i].id, 0, 0);
            u->conns[i] = (struct up_conn){ 0 };
        }
    u->next_connect = 0;
    u->connect_failures = 0;
    u->cycle_failures = 0;
}

void up_batch_fail(struct up *u, struct up_batch *b)
{
    up_acct_failed(&u->acct, b);
    if (b->src->ops->failed)
        b->src->ops->failed(b->src, b);
    up_batch_del(u, b);
}

/* Retries: at once for a request the server did not process (|backoff| false), after the
 * collector's Retry-After when it gave one (|after_ns| >= 0), else after a back-off doubling
 * from retry_initial_ms to retry_max_ms with jitter (50..100%); beyond retry_limit attempts
 * (0 = no limit) the batch fails. */
static void batch_retry(struct up *u, struct up_batch *b, bool backoff, int64_t after_ns)
{
    uint64_t d;

    b->attempts++;
    if (u->retry_limit && b->attempts > u->retry_limit) {
        up_batch_fail(u, b);
        return;
    }
    up_acct_requeue(&u->acct, b);
    if (!backoff) {
        b->not_before = 0;
        up_q_push(&u->ready, b);
        return;
    }
    if (after_ns >= 0) {
        u->acct.retry_after_used++;
        b->not_before = u->now + (uint64_t)after_ns;
        up_q_push(&u->delayed, b);
        return;
    }
    d = u->retry_initial_ns;
    for (unsigned i = 1; i < b->attempts && d < u->retry_max_ns; i++)
        d *= 2;
    if (d > u->retry_max_ns)
        d = u->retry_max_ns;
    d = d / 2 + (uint64_t)((double)(d / 2) * ((double)rand() / RAND_MAX));
    b->not_before = u->now + d;
    up_q_push(&u->delayed, b);
}

static void batch_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct up_batch *b = ud;
    struct up *u = b->u;
    int st = res->o.status;
    (void)r;

    up_hset_release(u, b); /* the worker has copied the headers long since */
    if (res->o.early != H3_EARLY_NOT_ATTEMPTED) { /* the driver itself sent a refused one
                                                      again: one result, counted once */
        u->acct.early_sent++;
        u->acct.early_accepted += res->o.early == H3_EARLY_ACCEPTED;
        u->acct.early_rejected += res->o.early == H3_EARLY_REJECTED;
    }
    if (b->slot >= 0 && u->conns[b->slot].inflight)
        u->conns[b->slot].inflight--;
    b->last_conn = b->slot >= 0 ? u->conns[b->slot].id : 0;
    b->slot = -1;
    if (res->o.result == H3_REQ_COMPLETED && st >= 200 && st < 300) {
        up_acct_acked(&u->acct, b, res->rtt_ns);
        if (b->src->ops->acked)
            b->src->ops->acked(b->src, b);
        up_batch_del(u, b);
        return;
    }
    if (res->o.result == H3_REQ_COMPLETED) {
        const char *origin = b->url < u->n_urls ? u->urls[b->url].origin : "?";
        if (st >= 500)
            u->acct.status_5xx++;
        else if (st >= 400)
            u->acct.status_4xx++;
        if (st == 408 || st == 429 || st >= 500) {
            up_error(u, UP_ERR_5XX, "collector %s answered %d: batch %s retried", origin, st,
                     b->h_batch);
            batch_retry(u, b, true, up_retry_after_ns(res->retry_after, time(NULL)));
            return;
        }
        /* Any other answer is final: the batch failed (counted, never retried). */
        if (st == 401 || st == 403)
            up_error(u, UP_ERR_AUTH,
                     "collector %s answered %d (%s): batch %s failed, not retried; check the "
                     "credentials ([upload] headers_file, [tls] cert_file)",
                     origin, st, st == 401 ? "unauthorized" : "forbidden", b->h_batch);
        else
            up_error(u, UP_ERR_4XX, "collector %s answered %d: batch %s failed, not retried",
                     origin, st, b->h_batch);
        up_batch_fail(u, b);
        return;
    }
    if (res->o.result == H3_REQ_NOT_PROCESSED) {
        u->acct.not_processed++;
        batch_retry(u, b, false, -1);
        return;
    }
    /* Reset, cancelled, connection closed: the server may have processed it. */
    u->acct.conn_errors++;
    if (res->o.stream_id >= 0)
        u->acct.maybe_dup += b->records;
    batch_retry(u, b, true, -1);
}

/* Moves delayed batches whose time has come to the ready queue, in order. */
static void release_delayed(struct up *u)
{
    struct up_queue keep = { 0 };
    struct up_batch *b;

    if (!u->delayed.n)
        return;
    while ((b = up_q_pop(&u->delayed)))
        up_q_push(b->not_before <= u->now ? &u->ready : &keep, b);
    u->delayed = keep;
}

/* Lower is better: not the connection |b| last failed on (connection ids are never
 * reused: a new connection in its slot is not avoided), then one that is up before one
 * still handshaking in 0-RTT, then the fewest requests in flight. */
static uint64_t rank(const struct up_conn *c, const struct up_batch *b)
{
    return (uint64_t)(c->id == b->last_conn) << 33 | (uint64_t)!c->ready << 32 | c->inflight;
}

/* The usable connection with a free stream that ranks best for |b|: ready ones, and for an
 * early batch the ones that can send 0-RTT; -1 when none. */
static int pick(const struct up *u, const struct up_batch *b)
{
    int best = -1;
    uint64_t best_rank = UINT64_MAX;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        const struct up_conn *c = &u->conns[i];
        if (!c->used || c->inflight >= u->streams || !(c->ready || (c->early && b->r.early)))
            continue;
        uint64_t r = rank(c, b);
        if (r < best_rank) {
            best = (int)i;
            best_rank = r;
        }
    }
    return best;
}

unsigned up_pool_dispatch(struct up *u)
{
    unsigned n = 0;

    release_delayed(u);
    while (u->ready.head) {
        struct up_batch *b = u->ready.head;
        int best = pick(u, b);
        if (best < 0)
            break;
        b->r.done = batch_done;
        b->r.ud = b;
        /* The collector's path and the operator's current headers, added now (a reload
         * applies to queued and retried batches too; the service copies them). */
        b->url = u->conns[best].url;
        b->r.path = u->urls[b->url].u.path;
        b->r.n_headers = b->n_own;
        const struct up_headers *h = u->hset ? u->hset->h : NULL;
        for (size_t k = 0; h && k < up_headers_count(h); k++)
            up_batch_header(b, up_headers_name(h, k), up_headers_value(h, k));
        int rv = svc_request(u->svc, u->conns[best].id, &b->r);
        if (rv == -ESHUTDOWN || rv == -ENOENT) {
            u->conns[best].ready = u->conns[best].early = false; /* its state follows */
            continue;
        }
        if (rv < 0)
            break; /* ring full: next poll */
        up_q_pop(&u->ready);
        up_hset_hold(u, b);
        u->conns[best].inflight++;
        b->slot = best;
        up_acct_sent(&u->acct, b);
        n++;
    }
    return n;
}
