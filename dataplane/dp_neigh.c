/* dp_neigh.c: neighbour table: single writer (main lcore), lock-free readers (workers).
 *
 * Memory ordering (a per-slot seqlock, after H.-J. Boehm, "Can seqlocks get along with
 * programming language memory models?", MSPC 2012):
 *
 *   writer (one thread)                      reader (any thread)
 *   seq = s + 1              (relaxed)       s1 = seq                 (acquire)
 *   fence(release)                           if s1 odd: retry
 *   key, macst, hint = new   (relaxed)       key, macst, hint         (relaxed)
 *   seq = s + 2              (release)       fence(acquire)
 *                                            s2 = seq                 (relaxed)
 *                                            if s1 != s2: retry
 *
 * If the reader saw an even s1 written by the final release store, the data stores of that
 * update happen-before its loads, so it reads them (or newer ones). If any data load read a
 * value of a later update, that update's release fence synchronises with the reader's
 * acquire fence, so the reader's s2 load sees that update's odd seq (or later) and retries.
 * So a reader only accepts an (address, MAC, state) triple that was published as a whole:
 * never a torn MAC or a MAC paired with the wrong address. All shared fields are accessed
 * with atomics, so there is no data race in the C11 sense. On x86 the fences cost nothing
 * but compiler barriers.
 *
 * The reader never waits for the writer: after a few failed attempts (the writer was
 * mid-update, or was preempted there) it reports a miss, which is always safe.
 *
 * Slots are never moved and never become empty again once used: a dead entry keeps its
 * address as a tombstone and is reused by the same address or by an insert whose linear
 * probe passes through it. So a reader probing for a live entry cannot skip past it.
 *
 * Confirmations from readers (dp_neigh_confirm) go into the slot's hint word: a 16-bit
 * generation and a coarse timestamp. The writer bumps the generation, inside the seqlock,
 * whenever the slot's MAC is cleared or the slot changes address; a reader installs its
 * timestamp with a compare-and-swap against the hint value it read together with the
 * address and MAC, so a late confirmation can never land on a new address or a new MAC.
 * The writer reads the timestamps in dp_neigh_tick. Only the shared part of a slot (40
 * bytes) is in the array readers probe; the writer's bookkeeping is in a parallel array.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "dp_neigh.h"

#define NEIGH_MAX_CAPACITY  65536u
#define NEIGH_READ_ATTEMPTS 4
#define QUEUE_NIL           UINT32_MAX
#define MACST_STATE_SHIFT   48
/* Hint word: generation in the top 16 bits, time in 2^20 ns (~1 ms) units + 1 below
 * (0 = no confirmation under this generation). 48 bits of ms: thousands of years. */
#define HINT_GEN_SHIFT  48
#define HINT_TIME_MASK  ((1ull << HINT_GEN_SHIFT) - 1)
#define HINT_TIME_SHIFT 20

/* What readers see (atomics only). key all-zero = never used: ends a probe. */
struct neigh_slot {
    uint32_t seq;
    uint32_t pad;
    uint64_t k0, k1; /* struct dp_addr words */
    uint64_t macst;  /* MAC in the low 48 bits (wire order in memory), state above */
    uint64_t hint;   /* readers' confirmations: generation << 48 | time units */
};

/* The writer's own bookkeeping of a slot. */
struct neigh_priv {
    uint64_t deadline_ns;    /* next retry/probe, confirmation expiry, or FAILED hold end */
    uint64_t confirmed_ns;   /* last confirmation (answer or hint); 0 = never */
    uint64_t hint_seen_ns;   /* the latest reader timestamp already taken in */
    uint64_t probe_since_ns; /* PROBE began: only later confirmations end it */
    uint64_t updated_ns;
    uint32_t q_head;
    uint32_t q_tail;
    uint32_t confirmations, probes, conflicts;
    uint16_t q_len;
    uint8_t tries;
    uint8_t wanted; /* we asked for it (resolve/static): keep it fresh by probing */
};

struct dp_neigh {
    struct neigh_slot *slots;
    struct neigh_priv *priv;
    uint32_t mask;
    uint32_t shift; /* 32 - log2(slots): the hash's top bits index */
    uint32_t count; /* entries not FREE */
    struct dp_neigh_params p;
    struct dp_neigh_ops ops;
    struct dp_neigh_stats stats;
    /* Pool of queued packets: singly linked by index; free list through q_next. */
    void **q_pkt;
    uint32_t *q_next;
    uint32_t q_free;
};

static uint64_t macst_make(const struct rte_ether_addr *mac, enum dp_neigh_state st)
{
    uint64_t v = 0;

    if (mac != NULL)
        memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
    return v | (uint64_t)st << MACST_STATE_SHIFT;
}

static enum dp_neigh_state macst_state(uint64_t v)
{
    return (enum dp_neigh_state)(uint8_t)(v >> MACST_STATE_SHIFT);
}

static uint64_t macst_with_state(uint64_t v, enum dp_neigh_state st)
{
    return (v & ((1ull << MACST_STATE_SHIFT) - 1)) | (uint64_t)st << MACST_STATE_SHIFT;
}

static void macst_mac(uint64_t v, struct rte_ether_addr *mac)
{
    memcpy(mac->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
}

static bool state_usable(enum dp_neigh_state st)
{
    return st == DP_NEIGH_REACHABLE || st == DP_NEIGH_STALE || st == DP_NEIGH_PROBE ||
           st == DP_NEIGH_PERMANENT;
}

static uint64_t hint_time(uint64_t now_ns)
{
    return ((now_ns >> HINT_TIME_SHIFT) + 1) & HINT_TIME_MASK;
}

/* The reader timestamp of |hint| in ns (rounded up to its unit), 0 if none. */
static uint64_t hint_ns(uint64_t hint)
{
    uint64_t t = hint & HINT_TIME_MASK;

    return t == 0 ? 0 : t << HINT_TIME_SHIFT;
}

static uint32_t slot_index(const struct dp_neigh *t, const struct dp_addr *a)
{
    return dp_addr_hash(a) >> t->shift;
}

static bool slot_is(const struct neigh_slot *s, const struct dp_addr *a)
{
    return __atomic_load_n(&s->k0, __ATOMIC_RELAXED) == a->w64[0] &&
           __atomic_load_n(&s->k1, __ATOMIC_RELAXED) == a->w64[1];
}

/* Writer: publishes |macst| for |s| under its sequence counter, with the address |a| (NULL:
 * unchanged); |new_gen|: confirmations of readers that saw the old contents can no longer
 * land (the MAC was cleared or the address changed). */
static void slot_publish(struct neigh_slot *s, const struct dp_addr *a, uint64_t macst,
                         bool new_gen)
{
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (a != NULL) {
        __atomic_store_n(&s->k0, a->w64[0], __ATOMIC_RELAXED);
        __atomic_store_n(&s->k1, a->w64[1], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->macst, macst, __ATOMIC_RELAXED);
    if (new_gen) {
        uint64_t h = __atomic_load_n(&s->hint, __ATOMIC_RELAXED);

        /* A reader's CAS with the old value fails from here on (the time is dropped too:
         * no old confirmation may count for what comes next). */
        __atomic_store_n(&s->hint, ((h >> HINT_GEN_SHIFT) + 1) << HINT_GEN_SHIFT, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Writer: a new state for |s|, the MAC kept. */
static void slot_set_state(struct neigh_slot *s, enum dp_neigh_state st)
{
    slot_publish(s, NULL, macst_with_state(__atomic_load_n(&s->macst, __ATOMIC_RELAXED), st),
                 false);
}

/* Writer-side reads need no seqlock: only the writer changes the fields. */
static enum dp_neigh_state slot_state(const struct neigh_slot *s)
{
    return macst_state(__atomic_load_n(&s->macst, __ATOMIC_RELAXED));
}

static uint64_t slot_macst(const struct neigh_slot *s)
{
    return __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
}

static struct dp_addr slot_addr(const struct neigh_slot *s)
{
    struct dp_addr a;

    a.w64[0] = __atomic_load_n(&s->k0, __ATOMIC_RELAXED);
    a.w64[1] = __atomic_load_n(&s->k1, __ATOMIC_RELAXED);
    return a;
}

static struct neigh_priv *priv_of(const struct dp_neigh *t, const struct neigh_slot *s)
{
    return &t->priv[s - t->slots];
}

/* Writer: finds |a|'s slot. Returns it, or NULL with *|ins| = the slot an insert should
 * use (first tombstone on the probe path, else the first never-used slot; NULL if none). */
static struct neigh_slot *slot_find(struct dp_neigh *t, const struct dp_addr *a,
                                    struct neigh_slot **ins)
{
    uint32_t i = slot_index(t, a), n;
    struct neigh_slot *tomb = NULL;

    for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        struct neigh_slot *s = &t->slots[i];

        if (slot_is(s, a))
            return s;
        if (__atomic_load_n(&s->k0, __ATOMIC_RELAXED) == 0 &&
            __atomic_load_n(&s->k1, __ATOMIC_RELAXED) == 0) {
            *ins = tomb != NULL ? tomb : s;
            return NULL;
        }
        if (tomb == NULL && slot_state(s) == DP_NEIGH_FREE)
            tomb = s;
    }
    *ins = tomb;
    return NULL;
}

/* Reader: finds |a|'s slot and reads its macst (and |hint|, unless NULL) as one published
 * whole. Returns the slot, or NULL (no entry, or the writer is busy on a slot of the path:
 * a miss is safe). Inlined: it is the whole of every transmitted packet's lookup. */
static __rte_always_inline struct neigh_slot *
slot_read(const struct dp_neigh *t, const struct dp_addr *a, uint64_t *macst, uint64_t *hint)
{
    uint32_t i = slot_index(t, a), n;

    for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        struct neigh_slot *s = &t->slots[i];
        uint32_t s1, s2;
        uint64_t k0 = 0, k1 = 0, v = 0, h = 0;
        int att;

        for (att = 0; att < NEIGH_READ_ATTEMPTS; att++) {
            s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
            if (s1 & 1) {
                rte_pause();
                continue;
            }
            k0 = __atomic_load_n(&s->k0, __ATOMIC_RELAXED);
            k1 = __atomic_load_n(&s->k1, __ATOMIC_RELAXED);
            v = __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
            if (hint != NULL)
                h = __atomic_load_n(&s->hint, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            s2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
            if (s1 == s2)
                break;
        }
        if (att == NEIGH_READ_ATTEMPTS)
            return NULL; /* writer busy on this slot: let the slow path decide */
        if ((k0 | k1) == 0)
            return NULL;
        if (k0 != a->w64[0] || k1 != a->w64[1])
            continue;
        *macst = v;
        if (hint != NULL)
            *hint = h;
        return s;
    }
    return NULL;
}

int dp_neigh_lookup(const struct dp_neigh *t, const struct dp_addr *a, struct rte_ether_addr *mac)
{
    uint64_t v;

    if (slot_read(t, a, &v, NULL) == NULL || !state_usable(macst_state(v)))
        return -ENOENT;
    macst_mac(v, mac);
    return 0;
}

int dp_neigh_confirm(struct dp_neigh *t, const struct dp_addr *a, uint64_t now_ns)
{
    struct neigh_slot *s;
    uint64_t v, h, want;

    s = slot_read(t, a, &v, &h);
    if (s == NULL || !state_usable(macst_state(v)))
        return -ENOENT;
    if (macst_state(v) == DP_NEIGH_PERMANENT)
        return 0;
    want = (h & ~HINT_TIME_MASK) | hint_time(now_ns);
    if ((h & HINT_TIME_MASK) < (want & HINT_TIME_MASK))
        /* Fails if the writer moved to a new generation, or another reader was first
         * (then its newer-or-equal time stands): either way nothing to do. */
        (void)__atomic_compare_exchange_n(&s->hint, &h, want, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED);
    return 0;
}

static uint32_t queue_pop(struct dp_neigh *t, struct neigh_priv *p, void **pkt)
{
    uint32_t q = p->q_head;

    *pkt = t->q_pkt[q];
    p->q_head = t->q_next[q];
    if (p->q_head == QUEUE_NIL)
        p->q_tail = QUEUE_NIL;
    p->q_len--;
    t->q_pkt[q] = NULL;
    t->q_next[q] = t->q_free;
    t->q_free = q;
    return q;
}

/* Frees every queued packet of |p|; returns how many. */
static uint32_t queue_drop_all(struct dp_neigh *t, struct neigh_priv *p)
{
    uint32_t n = 0;
    void *pkt;

    while (p->q_len > 0) {
        queue_pop(t, p, &pkt);
        t->ops.free_pkt(t->ops.arg, pkt);
        n++;
    }
    return n;
}

static void queue_flush(struct dp_neigh *t, struct neigh_priv *p, const struct rte_ether_addr *mac)
{
    void *pkt;

    while (p->q_len > 0) {
        queue_pop(t, p, &pkt);
        t->stats.queue_sent++;
        t->ops.xmit(t->ops.arg, pkt, mac);
    }
}

static void queue_push(struct dp_neigh *t, struct neigh_priv *p, void *pkt)
{
    uint32_t q;
    void *old;

    if (p->q_len >= t->p.queue_per_entry || (t->q_free == QUEUE_NIL && p->q_len > 0)) {
        queue_pop(t, p, &old);
        t->stats.queue_overflow++;
        t->ops.free_pkt(t->ops.arg, old);
    }
    if (t->q_free == QUEUE_NIL) {
        /* The pool is held by other entries and this one has nothing to give back. */
        t->stats.queue_overflow++;
        t->ops.free_pkt(t->ops.arg, pkt);
        return;
    }
    q = t->q_free;
    t->q_free = t->q_next[q];
    t->q_pkt[q] = pkt;
    t->q_next[q] = QUEUE_NIL;
    if (p->q_tail == QUEUE_NIL)
        p->q_head = q;
    else
        t->q_next[p->q_tail] = q;
    p->q_tail = q;
    p->q_len++;
    t->stats.queued++;
}

/* Asks ops.solicit about |s|: broadcast when |dst| is NULL, else a unicast probe. */
static void solicit(struct dp_neigh *t, struct neigh_slot *s, const struct rte_ether_addr *dst)
{
    struct dp_addr a = slot_addr(s);

    if (dst == NULL)
        t->stats.solicits++;
    else
        t->stats.probes++;
    priv_of(t, s)->probes++;
    t->ops.solicit(t->ops.arg, &a, dst);
}

/* Broadcast resolution: INCOMPLETE (the MAC forgotten), the first solicitation now. */
static void slot_resolve(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);

    slot_publish(s, NULL, macst_make(NULL, DP_NEIGH_INCOMPLETE), true);
    p->tries = 1;
    p->updated_ns = now;
    p->deadline_ns = now + t->p.retry_ns;
    solicit(t, s, NULL);
}

/* Asks the MAC we have whether it is still there: PROBE, the first unicast now. */
static void slot_probe(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);
    struct rte_ether_addr mac;

    macst_mac(slot_macst(s), &mac);
    slot_set_state(s, DP_NEIGH_PROBE);
    p->tries = 1;
    p->updated_ns = now;
    p->probe_since_ns = now;
    p->deadline_ns = now + t->p.retry_ns;
    solicit(t, s, &mac);
}

/* The MAC we have is confirmed at |when| (an answer at |now|, or a reader's hint). */
static void slot_confirm(struct dp_neigh *t, struct neigh_slot *s, uint64_t when, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);

    if (slot_state(s) != DP_NEIGH_REACHABLE) {
        slot_set_state(s, DP_NEIGH_REACHABLE);
        p->updated_ns = now;
    }
    if (when > p->confirmed_ns)
        p->confirmed_ns = when;
    p->tries = 0;
    p->confirmations++;
    t->stats.confirmed++;
    p->deadline_ns = p->confirmed_ns + t->p.reachable_ns;
}

/* INCOMPLETE/FAILED gets a MAC: REACHABLE when it answered us, else STALE. */
static void slot_complete(struct dp_neigh *t, struct neigh_slot *s,
                          const struct rte_ether_addr *mac, bool answer, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);

    slot_publish(s, NULL, macst_make(mac, answer ? DP_NEIGH_REACHABLE : DP_NEIGH_STALE), false);
    t->stats.resolved++;
    p->tries = 0;
    p->updated_ns = now;
    if (answer) {
        p->confirmed_ns = now;
        p->confirmations++;
        p->deadline_ns = now + t->p.reachable_ns;
    } else {
        /* Unconfirmed: in use, probe soon unless the traffic confirms it first. */
        p->deadline_ns = now + (p->wanted ? t->p.retry_ns : t->p.reachable_ns);
    }
    queue_flush(t, p, mac);
}

/* INCOMPLETE/PROBE gave up: FAILED, queue freed, held for failed_hold_ns. */
static void slot_fail(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);

    slot_publish(s, NULL, macst_make(NULL, DP_NEIGH_FAILED), true);
    t->stats.queue_failed += queue_drop_all(t, p);
    t->stats.failed++;
    p->tries = 0;
    p->updated_ns = now;
    p->deadline_ns = now + t->p.failed_hold_ns;
}

/* Entry no longer exists; the slot stays a tombstone for its address. */
static void slot_kill(struct dp_neigh *t, struct neigh_slot *s)
{
    struct neigh_priv *p = priv_of(t, s);

    t->stats.queue_failed += queue_drop_all(t, p);
    slot_publish(s, NULL, macst_make(NULL, DP_NEIGH_FREE), true);
    p->tries = 0;
    t->count--;
}

/* Takes slot |s| (a tombstone, never-used slot, or |a|'s own FREE slot) for |a|. */
static void slot_claim(struct dp_neigh *t, struct neigh_slot *s, const struct dp_addr *a,
                       const struct rte_ether_addr *mac, enum dp_neigh_state st, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);

    memset(p, 0, sizeof(*p));
    p->q_head = QUEUE_NIL;
    p->q_tail = QUEUE_NIL;
    p->updated_ns = now;
    slot_publish(s, a, macst_make(mac, st), true);
    t->count++;
}

/* Writer: the slot for a new entry, or NULL (-ENOSPC) when the table is full. */
static struct neigh_slot *slot_new(struct dp_neigh *t, struct neigh_slot *found,
                                   struct neigh_slot *ins)
{
    if (t->count >= t->p.capacity) {
        t->stats.table_full++;
        return NULL;
    }
    return found != NULL ? found : ins;
}

struct dp_neigh *dp_neigh_new(const struct dp_neigh_params *p, const struct dp_neigh_ops *ops,
                              int *err)
{
    struct dp_neigh *t;
    uint32_t nslots, i;
    int e = -EINVAL;

    if (p == NULL || ops == NULL || ops->solicit == NULL || ops->xmit == NULL ||
        ops->free_pkt == NULL || p->capacity == 0 || p->capacity > NEIGH_MAX_CAPACITY ||
        p->queue_per_entry == 0 || p->queue_total == 0 || p->max_retries == 0 || p->retry_ns == 0 ||
        p->reachable_ns == 0)
        goto fail;
    e = -ENOMEM;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto fail;
    nslots = rte_align32pow2(p->capacity * 2);
    t->slots = aligned_alloc(RTE_CACHE_LINE_SIZE,
                             RTE_ALIGN_CEIL(nslots * sizeof(t->slots[0]), RTE_CACHE_LINE_SIZE));
    t->priv = calloc(nslots, sizeof(t->priv[0]));
    t->q_pkt = calloc(p->queue_total, sizeof(t->q_pkt[0]));
    t->q_next = calloc(p->queue_total, sizeof(t->q_next[0]));
    if (t->slots == NULL || t->priv == NULL || t->q_pkt == NULL || t->q_next == NULL)
        goto fail_free;
    memset(t->slots, 0, nslots * sizeof(t->slots[0]));
    for (i = 0; i < nslots; i++)
        t->priv[i].q_head = t->priv[i].q_tail = QUEUE_NIL;
    t->mask = nslots - 1;
    t->shift = 32 - rte_log2_u32(nslots);
    t->p = *p;
    t->ops = *ops;
    for (i = 0; i < p->queue_total; i++)
        t->q_next[i] = i + 1 < p->queue_total ? i + 1 : QUEUE_NIL;
    t->q_free = 0;
    return t;

fail_free:
    free(t->q_next);
    free(t->q_pkt);
    free(t->priv);
    free(t->slots);
    free(t);
fail:
    if (err != NULL)
        *err = e;
    return NULL;
}

void dp_neigh_del(struct dp_neigh *t)
{
    uint32_t i;

    if (t == NULL)
        return;
    for (i = 0; i <= t->mask; i++)
        queue_drop_all(t, &t->priv[i]);
    free(t->q_next);
    free(t->q_pkt);
    free(t->priv);
    free(t->slots);
    free(t);
}

int dp_neigh_resolve(struct dp_neigh *t, const struct dp_addr *a, void *pkt, uint64_t now_ns,
                     struct rte_ether_addr *mac)
{
    struct neigh_slot *s, *ins = NULL;
    struct neigh_priv *p;

    if (!dp_addr_is_unicast(a))
        return -EINVAL;
    s = slot_find(t, a, &ins);
    if (s != NULL) {
        p = priv_of(t, s);
        switch (slot_state(s)) {
        case DP_NEIGH_STALE:
            /* RFC 4861 DELAY: give the traffic a moment to confirm it before probing. */
            if (!p->wanted && p->deadline_ns > now_ns + t->p.retry_ns)
                p->deadline_ns = now_ns + t->p.retry_ns;
            /* fall through */
        case DP_NEIGH_REACHABLE:
        case DP_NEIGH_PROBE:
        case DP_NEIGH_PERMANENT:
            p->wanted = 1;
            macst_mac(slot_macst(s), mac);
            return DP_NEIGH_READY;
        case DP_NEIGH_INCOMPLETE:
            p->wanted = 1;
            if (pkt != NULL)
                queue_push(t, p, pkt);
            return DP_NEIGH_QUEUED;
        case DP_NEIGH_FAILED:
            if (now_ns < p->deadline_ns)
                return -EHOSTUNREACH;
            slot_kill(t, s); /* hold over: start again below */
            break;
        case DP_NEIGH_FREE:
            break;
        }
    }
    s = slot_new(t, s, ins);
    if (s == NULL)
        return -ENOSPC;
    slot_claim(t, s, a, NULL, DP_NEIGH_INCOMPLETE, now_ns);
    p = priv_of(t, s);
    p->wanted = 1;
    p->tries = 1;
    p->deadline_ns = now_ns + t->p.retry_ns;
    if (pkt != NULL)
        queue_push(t, p, pkt);
    solicit(t, s, NULL);
    return DP_NEIGH_QUEUED;
}

/* A message named another MAC than the one a usable entry has: keep it, count, and ask
 * the MAC we have (a REACHABLE or STALE entry goes to PROBE; one in PROBE already asks). */
static int conflict(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    enum dp_neigh_state st = slot_state(s);

    t->stats.conflicts++;
    priv_of(t, s)->conflicts++;
    if (st == DP_NEIGH_REACHABLE || st == DP_NEIGH_STALE)
        slot_probe(t, s, now);
    return DP_NEIGH_CONFLICT;
}

int dp_neigh_learn(struct dp_neigh *t, const struct dp_addr *a, const struct rte_ether_addr *mac,
                   enum dp_neigh_msg msg, uint64_t now_ns)
{
    struct neigh_slot *s, *ins = NULL;
    enum dp_neigh_state st = DP_NEIGH_FREE;
    struct rte_ether_addr have;

    if (!dp_addr_is_unicast(a) || mac == NULL || !rte_is_unicast_ether_addr(mac) ||
        rte_is_zero_ether_addr(mac) || msg > DP_NEIGH_MSG_REQUEST)
        return -EINVAL;
    s = slot_find(t, a, &ins);
    if (s != NULL)
        st = slot_state(s);
    switch (st) {
    case DP_NEIGH_FREE:
        if (msg != DP_NEIGH_MSG_REQUEST)
            return -ENOENT;
        s = slot_new(t, s, ins);
        if (s == NULL)
            return -ENOSPC;
        /* We are about to answer it: usable, unconfirmed, not ours to keep. */
        slot_claim(t, s, a, mac, DP_NEIGH_STALE, now_ns);
        priv_of(t, s)->deadline_ns = now_ns + t->p.reachable_ns;
        return 0;
    case DP_NEIGH_INCOMPLETE:
    case DP_NEIGH_FAILED:
        slot_complete(t, s, mac, msg == DP_NEIGH_MSG_REPLY, now_ns);
        return 0;
    default:
        break;
    }
    macst_mac(slot_macst(s), &have);
    if (!rte_is_same_ether_addr(&have, mac))
        return conflict(t, s, now_ns);
    if (st == DP_NEIGH_PERMANENT || msg != DP_NEIGH_MSG_REPLY)
        return 0; /* nothing new: the same MAC, not an answer to us */
    slot_confirm(t, s, now_ns, now_ns);
    return 0;
}

int dp_neigh_add_static(struct dp_neigh *t, const struct dp_addr *a,
                        const struct rte_ether_addr *mac)
{
    struct neigh_slot *s, *ins = NULL;
    struct neigh_priv *p;

    if (!dp_addr_is_unicast(a) || mac == NULL || !rte_is_unicast_ether_addr(mac) ||
        rte_is_zero_ether_addr(mac))
        return -EINVAL;
    s = slot_find(t, a, &ins);
    if (s == NULL || slot_state(s) == DP_NEIGH_FREE) {
        s = slot_new(t, s, ins);
        if (s == NULL)
            return -ENOSPC;
        slot_claim(t, s, a, mac, DP_NEIGH_PERMANENT, 0);
    } else {
        slot_publish(s, NULL, macst_make(mac, DP_NEIGH_PERMANENT), true);
    }
    p = priv_of(t, s);
    p->tries = 0;
    p->wanted = 1;
    queue_flush(t, p, mac);
    return 0;
}

int dp_neigh_remove(struct dp_neigh *t, const struct dp_addr *a)
{
    struct neigh_slot *s, *ins = NULL;

    s = slot_find(t, a, &ins);
    if (s == NULL || slot_state(s) == DP_NEIGH_FREE)
        return -ENOENT;
    slot_kill(t, s);
    return 0;
}

/* Writer: the timers of one live, non-static slot at |now|. */
static void slot_tick(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    struct neigh_priv *p = priv_of(t, s);
    enum dp_neigh_state st = slot_state(s);
    uint64_t hinted = hint_ns(__atomic_load_n(&s->hint, __ATOMIC_RELAXED));
    struct rte_ether_addr mac;

    /* A reader's confirmation since the last tick (only usable entries get them). */
    if (hinted > p->hint_seen_ns) {
        p->hint_seen_ns = hinted;
        if (st == DP_NEIGH_REACHABLE || st == DP_NEIGH_STALE ||
            (st == DP_NEIGH_PROBE && hinted >= p->probe_since_ns)) {
            slot_confirm(t, s, RTE_MIN(hinted, now), now);
            st = DP_NEIGH_REACHABLE;
            p->wanted = 1; /* our traffic goes through it: keep it fresh */
        }
    }
    if (now < p->deadline_ns)
        return;
    switch (st) {
    case DP_NEIGH_INCOMPLETE:
        if (p->tries >= t->p.max_retries) {
            slot_fail(t, s, now);
            break;
        }
        p->tries++;
        p->deadline_ns = now + t->p.retry_ns;
        solicit(t, s, NULL);
        break;
    case DP_NEIGH_REACHABLE:
    case DP_NEIGH_STALE:
        if (!p->wanted) {
            /* Learnt from someone's request and never asked for by us: let it go rather
             * than probe it forever (a busy LAN must not fill the table). If a worker
             * still uses it, its next miss resolves it. */
            t->stats.expired++;
            slot_kill(t, s);
            break;
        }
        /* Still usable while we check it is still there (RFC 4861 PROBE). */
        slot_probe(t, s, now);
        break;
    case DP_NEIGH_PROBE:
        if (p->tries < t->p.max_retries) {
            p->tries++;
            p->deadline_ns = now + t->p.retry_ns;
            macst_mac(slot_macst(s), &mac);
            solicit(t, s, &mac);
            break;
        }
        t->stats.unreachable++;
        if (!p->wanted) {
            t->stats.expired++;
            slot_kill(t, s);
            break;
        }
        /* The MAC we had is silent: ask everyone (whoever answers now wins). */
        slot_resolve(t, s, now);
        break;
    case DP_NEIGH_FAILED:
        slot_kill(t, s);
        break;
    default:
        break;
    }
}

uint64_t dp_neigh_tick(struct dp_neigh *t, uint64_t now_ns)
{
    uint64_t next = UINT64_MAX;
    uint32_t i;

    for (i = 0; i <= t->mask; i++) {
        struct neigh_slot *s = &t->slots[i];
        enum dp_neigh_state st = slot_state(s);

        if (st == DP_NEIGH_FREE || st == DP_NEIGH_PERMANENT)
            continue;
        slot_tick(t, s, now_ns);
        st = slot_state(s);
        if (st != DP_NEIGH_FREE && t->priv[i].deadline_ns < next)
            next = t->priv[i].deadline_ns;
    }
    return next;
}

int dp_neigh_foreach(const struct dp_neigh *t, int (*cb)(void *arg, const struct dp_neigh_view *v),
                     void *arg)
{
    uint32_t i;
    int rc;

    for (i = 0; i <= t->mask; i++) {
        const struct neigh_slot *s = &t->slots[i];
        const struct neigh_priv *p = &t->priv[i];
        uint64_t v = slot_macst(s);
        struct dp_neigh_view view;

        if (macst_state(v) == DP_NEIGH_FREE)
            continue;
        memset(&view, 0, sizeof(view));
        view.addr = slot_addr(s);
        macst_mac(v, &view.mac);
        view.state = macst_state(v);
        view.in_use = p->wanted != 0;
        view.queued = p->q_len;
        view.tries = p->tries;
        view.confirmed_ns = p->confirmed_ns;
        view.updated_ns = p->updated_ns;
        view.confirmations = p->confirmations;
        view.probes = p->probes;
        view.conflicts = p->conflicts;
        rc = cb(arg, &view);
        if (rc != 0)
            return rc;
    }
    return 0;
}

const struct dp_neigh_stats *dp_neigh_stats(const struct dp_neigh *t)
{
    return &t->stats;
}

const char *dp_neigh_state_name(enum dp_neigh_state s)
{
    static const char *const names[] = {
        [DP_NEIGH_FREE] = "free",           [DP_NEIGH_INCOMPLETE] = "incomplete",
        [DP_NEIGH_REACHABLE] = "reachable", [DP_NEIGH_STALE] = "stale",
        [DP_NEIGH_PROBE] = "probe",         [DP_NEIGH_FAILED] = "failed",
        [DP_NEIGH_PERMANENT] = "permanent",
    };

    if ((unsigned int)s >= RTE_DIM(names))
        return "unknown";
    return names[s];
}
