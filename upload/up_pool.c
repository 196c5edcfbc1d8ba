/* up_pool.c: the connection pool — connections opened while there is work (least loaded
 * worker, back-off after failures, GOAWAY'd ones replaced), batches dispatched to the ready
 * connection with the fewest requests in flight, and what each outcome means: acknowledged,
 * retried (at once, after Retry-After, or after a back-off) or failed. Main thread only. */
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

    if (s < 0)
        return;
    u->conns[s].ready = st == H3_STATE_ESTABLISHED;
    if (st == H3_STATE_ESTABLISHED)
        u->connect_failures = 0;
}

static void c_closed(void *ud, uint64_t id, const struct h3_outcome *o)
{
    struct up *u = ud;
    int s = slot_of(u, id);

    if (s < 0)
        return;
    if (!u->conns[s].ready && u->conns[s].inflight == 0 && o->kind != H3_CLOSE_APPLICATION) {
        /* Never became usable (peer down?): back off before the next attempt. */
        u->connect_failures++;
        uint64_t d = u->retry_initial_ns << (u->connect_failures < 6 ? u->connect_failures : 6);
        u->next_connect = u->now + (d < u->retry_max_ns ? d : u->retry_max_ns);
    }
    u->conns[s] = (struct up_conn){ 0 };
}

static const struct svc_conn_cbs up_cbs = { .on_state = c_state, .on_closed = c_closed };

unsigned up_pool_upkeep(struct up *u, bool work)
{
    unsigned live = 0;

    if (!u->has_target)
        return 0;
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used)
            live += u->conns[i].ready || u->conns[i].inflight == 0; /* drainers do not count */
    if (!work || u->now < u->next_connect || live >= u->n_conns)
        return 0;
    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        if (u->conns[i].used)
            continue;
        struct svc_conn_params p = {
            .url = u->origin,
            .remote = (const struct sockaddr *)&u->remote,
            .remote_len = u->remote_len,
            .host = u->sni[0] ? u->sni : u->host,
            .sni = u->sni[0] ? u->sni : NULL,
            .insecure = -1,
            .lcore = -1,
        };
        uint64_t id;
        if (svc_connect(u->svc, &p, &up_cbs, u, &id) != 0)
            return 0;
        u->conns[i] = (struct up_conn){ .id = id, .used = true };
        return 1;
    }
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

    if (b->slot >= 0 && u->conns[b->slot].inflight)
        u->conns[b->slot].inflight--;
    b->last_slot = b->slot;
    b->slot = -1;
    if (res->o.result == H3_REQ_COMPLETED && st >= 200 && st < 300) {
        up_acct_acked(&u->acct, b, res->rtt_ns);
        if (b->src->ops->acked)
            b->src->ops->acked(b->src, b);
        up_batch_del(u, b);
        return;
    }
    if (res->o.result == H3_REQ_COMPLETED) {
        if (st >= 500)
            u->acct.status_5xx++;
        else if (st >= 400)
            u->acct.status_4xx++;
        if (st == 408 || st == 429 || st >= 500) {
            batch_retry(u, b, true, up_retry_after_ns(res->retry_after, time(NULL)));
            return;
        }
        /* Any other answer is final: the batch failed (counted, never retried). */
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

/* The ready connection with a free stream and the fewest requests in flight, avoiding the
 * one |b| last failed on when another is available; -1 when none. */
static int pick(const struct up *u, const struct up_batch *b)
{
    int best = -1;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        const struct up_conn *c = &u->conns[i];
        if (!c->used || !c->ready || c->inflight >= u->streams)
            continue;
        if (best < 0 || (best == b->last_slot && (int)i != b->last_slot) ||
            (c->inflight < u->conns[best].inflight && (int)i != b->last_slot))
            best = (int)i;
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
        int rv = svc_request(u->svc, u->conns[best].id, &b->r);
        if (rv == -ESHUTDOWN || rv == -ENOENT) {
            u->conns[best].ready = false;
            continue;
        }
        if (rv < 0)
            break; /* ring full: next poll */
        up_q_pop(&u->ready);
        u->conns[best].inflight++;
        b->slot = best;
        up_acct_sent(&u->acct, b);
        n++;
    }
    return n;
}
