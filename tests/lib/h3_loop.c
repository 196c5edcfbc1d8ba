/* h3_loop.c: in-memory loopback with an injected clock (see h3_loop.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "h3_loop.h"

struct h3_loop_slot {
    uint64_t at;    /* delivery time */
    size_t len;
    uint8_t ecn;    /* the ECN codepoint it travels with */
};

struct h3_loop_ring {
    struct h3_loop_slot *meta;
    uint8_t *data;
    size_t head, count; /* FIFO: head = oldest */
};

struct h3_loop {
    struct h3_loop_params p;
    struct h3_loop_ring ring[2];
    uint64_t now;
    uint64_t rng;
    uint8_t *scratch; /* the datagram being delivered */
    struct h3_loop_stats st;
};

void h3_loop_params_default(struct h3_loop_params *p)
{
    memset(p, 0, sizeof(*p));
    p->seed = 1;
    p->delay_ns[0] = p->delay_ns[1] = 5000000;
    p->slots = 4096;
    p->slot_size = 2048;
    p->start_ns = 1000000000;
}

/* xorshift64*: small, seeded, good enough for loss decisions. */
static uint64_t rnd(struct h3_loop *l)
{
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return l->rng * 2685821657736338717ULL;
}

static bool chance(struct h3_loop *l, uint32_t ppm)
{
    return ppm && rnd(l) % 1000000 < ppm;
}

struct h3_loop *h3_loop_new(const struct h3_loop_params *p)
{
    if (!p || p->slots == 0 || p->slot_size < 1200 || p->loss_ppm[0] > 1000000 ||
        p->loss_ppm[1] > 1000000 || p->ce_ppm[0] > 1000000 || p->ce_ppm[1] > 1000000)
        return NULL;
    struct h3_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->p = *p;
    l->now = p->start_ns;
    l->rng = p->seed ? p->seed : 1;
    l->scratch = malloc(p->slot_size);
    for (int d = 0; d < 2; d++) {
        l->ring[d].meta = calloc(p->slots, sizeof(struct h3_loop_slot));
        l->ring[d].data = malloc(p->slots * p->slot_size);
        if (!l->ring[d].meta || !l->ring[d].data || !l->scratch) {
            h3_loop_del(l);
            return NULL;
        }
    }
    return l;
}

void h3_loop_del(struct h3_loop *l)
{
    if (!l)
        return;
    for (int d = 0; d < 2; d++) {
        free(l->ring[d].meta);
        free(l->ring[d].data);
    }
    free(l->scratch);
    free(l);
}

static size_t slot_at(const struct h3_loop *l, const struct h3_loop_ring *r, size_t i)
{
    return (r->head + i) % l->p.slots;
}

/* The slot a new datagram would go to, or NULL when the ring is full. */
static uint8_t *ring_tail(struct h3_loop *l, enum h3_loop_dir d, size_t *idx)
{
    struct h3_loop_ring *r = &l->ring[d];
    if (r->count == l->p.slots)
        return NULL;
    *idx = slot_at(l, r, r->count);
    return r->data + *idx * l->p.slot_size;
}

/* Commit the tail slot: loss, delay, maybe swap with its predecessor. */
static int ring_commit(struct h3_loop *l, enum h3_loop_dir d, size_t idx, size_t len,
                       uint8_t ecn)
{
    struct h3_loop_ring *r = &l->ring[d];

    l->st.sent[d]++;
    if (len > l->st.max_len[d])
        l->st.max_len[d] = len;
    if (chance(l, l->p.loss_ppm[d])) {
        l->st.lost[d]++;
        return 0;
    }
    ecn &= H3_LOOP_ECN_CE;
    l->st.ecn_sent[d][ecn]++;
    /* A congested router marks an ECN-capable datagram instead of dropping it (RFC 3168
     * §5); a not-ECT one it leaves alone. */
    if ((ecn == H3_LOOP_ECN_ECT0 || ecn == H3_LOOP_ECN_ECT1) && chance(l, l->p.ce_ppm[d])) {
        ecn = H3_LOOP_ECN_CE;
        l->st.ce_marked[d]++;
    }
    r->meta[idx].at = l->now + l->p.delay_ns[d];
    r->meta[idx].len = len;
    r->meta[idx].ecn = ecn;
    r->count++;
    if (r->count >= 2 && chance(l, l->p.reorder_ppm[d])) {
        /* Swap contents with the previous datagram, keep the delivery times in
         * order: the new one overtakes the old one. */
        size_t prev = slot_at(l, r, r->count - 2);
        uint8_t *a = r->data + prev * l->p.slot_size, *b = r->data + idx * l->p.slot_size;
        size_t la = r->meta[prev].len, lb = r->meta[idx].len;
        uint8_t ea = r->meta[prev].ecn;
        memcpy(l->scratch, a, la);
        memcpy(a, b, lb);
        memcpy(b, l->scratch, la);
        r->meta[prev].len = lb;
        r->meta[idx].len = la;
        r->meta[prev].ecn = r->meta[idx].ecn;
        r->meta[idx].ecn = ea;
        l->st.reordered[d]++;
    }
    return 0;
}

static uint8_t *cli_tx_get(void *io, size_t *cap, void **pkt)
{
    struct h3_loop *l = io;
    size_t idx;
    uint8_t *buf = ring_tail(l, H3_LOOP_C2S, &idx);
    if (!buf) {
        l->st.overflow[H3_LOOP_C2S]++;
        return NULL;
    }
    *cap = l->p.slot_size;
    *pkt = (void *)(uintptr_t)(idx + 1);
    return buf;
}

static int cli_tx_put(void *io, void *pkt, size_t len, uint8_t ecn)
{
    return ring_commit(io, H3_LOOP_C2S, (size_t)(uintptr_t)pkt - 1, len, ecn);
}

static void cli_tx_abort(void *io, void *pkt)
{
    (void)io;
    (void)pkt;
}

static void cli_progress(void *io, uint64_t now_ns)
{
    struct h3_loop *l = io;

    l->st.progress++;
    l->st.last_progress_ns = now_ns;
}

const struct h3_io_ops h3_loop_client_ops = {
    .tx_get = cli_tx_get,
    .tx_put = cli_tx_put,
    .tx_abort = cli_tx_abort,
    .progress = cli_progress,
};

int h3_loop_send(struct h3_loop *l, enum h3_loop_dir dir, const uint8_t *data, size_t len,
                 uint8_t ecn)
{
    size_t idx;

    if (len > l->p.slot_size)
        return -EMSGSIZE;
    uint8_t *buf = ring_tail(l, dir, &idx);
    if (!buf) {
        l->st.overflow[dir]++;
        return -ENOBUFS;
    }
    memcpy(buf, data, len);
    return ring_commit(l, dir, idx, len, ecn);
}

uint64_t h3_loop_now(const struct h3_loop *l)
{
    return l->now;
}

void h3_loop_advance(struct h3_loop *l, uint64_t to_ns)
{
    if (to_ns > l->now)
        l->now = to_ns;
}

void h3_loop_stats(const struct h3_loop *l, struct h3_loop_stats *st)
{
    *st = l->st;
}

void h3_loop_reset_max_len(struct h3_loop *l)
{
    l->st.max_len[0] = l->st.max_len[1] = 0;
}

void h3_loop_set_loss(struct h3_loop *l, uint32_t c2s_ppm, uint32_t s2c_ppm)
{
    l->p.loss_ppm[H3_LOOP_C2S] = c2s_ppm;
    l->p.loss_ppm[H3_LOOP_S2C] = s2c_ppm;
}

static uint64_t ring_next(const struct h3_loop *l, enum h3_loop_dir d)
{
    const struct h3_loop_ring *r = &l->ring[d];
    return r->count ? r->meta[r->head].at : UINT64_MAX;
}

/* Deliver every datagram due now in direction |d| to |ep|. The datagram is
 * copied out first: the receiver may send in the same direction's ring. */
static void deliver(struct h3_loop *l, enum h3_loop_dir d, const struct h3_loop_ep *ep)
{
    struct h3_loop_ring *r = &l->ring[d];

    while (r->count && r->meta[r->head].at <= l->now) {
        size_t len = r->meta[r->head].len;
        uint8_t ecn = r->meta[r->head].ecn;
        memcpy(l->scratch, r->data + r->head * l->p.slot_size, len);
        r->head = (r->head + 1) % l->p.slots;
        r->count--;
        l->st.delivered[d]++;
        ep->recv(ep->ctx, l->scratch, len, ecn, l->now);
    }
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t m = a < b ? a : b;
    return m < c ? m : c;
}

int h3_loop_run(struct h3_loop *l, const struct h3_loop_ep *client,
                const struct h3_loop_ep *server, bool (*done)(void *arg), void *arg,
                uint64_t until_ns)
{
    if (server->flush)
        server->flush(server->ctx, l->now);
    while (!done(arg)) {
        uint64_t t = min3(ring_next(l, H3_LOOP_C2S), ring_next(l, H3_LOOP_S2C),
                          client->expiry(client->ctx));
        uint64_t ts = server->expiry(server->ctx);
        if (ts < t)
            t = ts;
        if (t == UINT64_MAX)
            return -EDEADLK;
        if (t > until_ns)
            return -ETIMEDOUT;
        if (t > l->now)
            l->now = t;
        deliver(l, H3_LOOP_C2S, server);
        if (server->expiry(server->ctx) <= l->now)
            server->on_expiry(server->ctx, l->now);
        if (server->flush)
            server->flush(server->ctx, l->now);
        deliver(l, H3_LOOP_S2C, client);
        if (client->expiry(client->ctx) <= l->now)
            client->on_expiry(client->ctx, l->now);
        if (client->flush)
            client->flush(client->ctx, l->now);
    }
    return 0;
}
