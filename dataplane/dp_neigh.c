/* dp_neigh.c: neighbour table: single writer (main lcore), lock-free readers (workers).
 *
 * Memory ordering (a per-slot seqlock, after H.-J. Boehm, "Can seqlocks get along with
 * programming language memory models?", MSPC 2012):
 *
 *   writer (one thread)                      reader (any thread)
 *   seq = s + 1              (relaxed)       s1 = seq                 (acquire)
 *   fence(release)                           if s1 odd: retry
 *   ip, macst = new values   (relaxed)       ip, macst                (relaxed)
 *   seq = s + 2              (release)       fence(acquire)
 *                                            s2 = seq                 (relaxed)
 *                                            if s1 != s2: retry
 *
 * If the reader saw an even s1 written by the final release store, the data stores of that
 * update happen-before its loads, so it reads them (or newer ones). If any data load read a
 * value of a later update, that update's release fence synchronises with the reader's
 * acquire fence, so the reader's s2 load sees that update's odd seq (or later) and retries.
 * So a reader only accepts an (ip, MAC, state) triple that was published as a whole: never
 * a torn MAC or a MAC paired with the wrong address. All shared fields are accessed with
 * atomics, so there is no data race in the C11 sense. On x86 the fences cost nothing but
 * compiler barriers.
 *
 * The reader never waits for the writer: after a few failed attempts (the writer was
 * mid-update, or was preempted there) it reports a miss, which is always safe.
 *
 * Slots are never moved and never become EMPTY again once used: a dead entry keeps its IP
 * as a tombstone and is reused by the same IP or by an insert whose linear probe passes
 * through it. So a reader probing for a live entry cannot skip past it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "dp_ipv4.h"
#include "dp_neigh.h"

#define NEIGH_MAX_CAPACITY  65536u
#define NEIGH_READ_ATTEMPTS 4
#define QUEUE_NIL           UINT32_MAX
#define MACST_STATE_SHIFT   48

struct neigh_slot {
    /* Shared with readers (atomics only). ip 0 = never used: ends a probe. */
    uint32_t seq;
    uint32_t ip;
    uint64_t macst; /* MAC in the low 48 bits (wire order in memory), state above */
    /* Writer only. */
    uint64_t deadline_ns; /* next retry/probe, REACHABLE expiry, or FAILED hold end */
    uint64_t updated_ns;
    uint32_t q_head;
    uint32_t q_tail;
    uint16_t q_len;
    uint8_t tries;
    uint8_t wanted; /* we asked for it (resolve/static): keep it fresh by probing */
};

struct dp_neigh {
    struct neigh_slot *slots;
    uint32_t mask;
    uint32_t shift;
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

static void macst_mac(uint64_t v, struct rte_ether_addr *mac)
{
    memcpy(mac->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
}

static uint32_t neigh_hash(const struct dp_neigh *t, uint32_t ip)
{
    return (uint32_t)(ip * 0x9e3779b1u) >> t->shift;
}

/* Writer: publishes a new (ip, macst) for |s| under its sequence counter. */
static void slot_publish(struct neigh_slot *s, uint32_t ip, uint64_t macst)
{
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s->ip, ip, __ATOMIC_RELAXED);
    __atomic_store_n(&s->macst, macst, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Writer-side reads need no seqlock: only the writer changes the fields. */
static enum dp_neigh_state slot_state(const struct neigh_slot *s)
{
    return macst_state(__atomic_load_n(&s->macst, __ATOMIC_RELAXED));
}

/* Writer: finds |ip|'s slot. Returns it, or NULL with *|ins| = the slot an insert should
 * use (first tombstone on the probe path, else the first never-used slot; NULL if none). */
static struct neigh_slot *slot_find(struct dp_neigh *t, uint32_t ip, struct neigh_slot **ins)
{
    uint32_t i = neigh_hash(t, ip), n;
    struct neigh_slot *tomb = NULL;

    for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        struct neigh_slot *s = &t->slots[i];
        uint32_t sip = __atomic_load_n(&s->ip, __ATOMIC_RELAXED);

        if (sip == ip)
            return s;
        if (sip == 0) {
            *ins = tomb != NULL ? tomb : s;
            return NULL;
        }
        if (tomb == NULL && slot_state(s) == DP_NEIGH_FREE)
            tomb = s;
    }
    *ins = tomb;
    return NULL;
}

int dp_neigh_lookup(const struct dp_neigh *t, rte_be32_t ip, struct rte_ether_addr *mac)
{
    uint32_t i = neigh_hash(t, ip), n;

    for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        const struct neigh_slot *s = &t->slots[i];
        uint32_t s1, s2, sip = 0;
        uint64_t v = 0;
        int a;

        for (a = 0; a < NEIGH_READ_ATTEMPTS; a++) {
            s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
            if (s1 & 1) {
                rte_pause();
                continue;
            }
            sip = __atomic_load_n(&s->ip, __ATOMIC_RELAXED);
            v = __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            s2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
            if (s1 == s2)
                break;
        }
        if (a == NEIGH_READ_ATTEMPTS)
            return -ENOENT; /* writer busy on this slot: let the slow path decide */
        if (sip == 0)
            return -ENOENT;
        if (sip != ip)
            continue;
        switch (macst_state(v)) {
        case DP_NEIGH_REACHABLE:
        case DP_NEIGH_STALE:
        case DP_NEIGH_PERMANENT:
            macst_mac(v, mac);
            return 0;
        default:
            return -ENOENT;
        }
    }
    return -ENOENT;
}

static uint32_t queue_pop(struct dp_neigh *t, struct neigh_slot *s, void **pkt)
{
    uint32_t q = s->q_head;

    *pkt = t->q_pkt[q];
    s->q_head = t->q_next[q];
    if (s->q_head == QUEUE_NIL)
        s->q_tail = QUEUE_NIL;
    s->q_len--;
    t->q_pkt[q] = NULL;
    t->q_next[q] = t->q_free;
    t->q_free = q;
    return q;
}

/* Frees every queued packet of |s|; returns how many. */
static uint32_t queue_drop_all(struct dp_neigh *t, struct neigh_slot *s)
{
    uint32_t n = 0;
    void *pkt;

    while (s->q_len > 0) {
        queue_pop(t, s, &pkt);
        t->ops.free_pkt(t->ops.arg, pkt);
        n++;
    }
    return n;
}

static void queue_flush(struct dp_neigh *t, struct neigh_slot *s, const struct rte_ether_addr *mac)
{
    void *pkt;

    while (s->q_len > 0) {
        queue_pop(t, s, &pkt);
        t->stats.queue_sent++;
        t->ops.xmit(t->ops.arg, pkt, mac);
    }
}

static void queue_push(struct dp_neigh *t, struct neigh_slot *s, void *pkt)
{
    uint32_t q;
    void *old;

    if (s->q_len >= t->p.queue_per_entry || (t->q_free == QUEUE_NIL && s->q_len > 0)) {
        queue_pop(t, s, &old);
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
    if (s->q_tail == QUEUE_NIL)
        s->q_head = q;
    else
        t->q_next[s->q_tail] = q;
    s->q_tail = q;
    s->q_len++;
    t->stats.queued++;
}

static void send_arp(struct dp_neigh *t, uint32_t ip, const struct rte_ether_addr *dst)
{
    t->stats.arp_sent++;
    t->ops.send_arp(t->ops.arg, ip, dst);
}

/* INCOMPLETE/STALE gave up: FAILED, queue freed, held for failed_hold_ns. */
static void slot_fail(struct dp_neigh *t, struct neigh_slot *s, uint64_t now)
{
    slot_publish(s, s->ip, macst_make(NULL, DP_NEIGH_FAILED));
    t->stats.queue_failed += queue_drop_all(t, s);
    t->stats.failed++;
    s->tries = 0;
    s->deadline_ns = now + t->p.failed_hold_ns;
}

/* Entry no longer exists; the slot stays a tombstone for |ip|. */
static void slot_kill(struct dp_neigh *t, struct neigh_slot *s)
{
    t->stats.queue_failed += queue_drop_all(t, s);
    slot_publish(s, s->ip, macst_make(NULL, DP_NEIGH_FREE));
    s->tries = 0;
    t->count--;
}

/* Takes slot |s| (a tombstone, never-used slot, or |ip|'s own FREE slot) for |ip|. */
static void slot_claim(struct dp_neigh *t, struct neigh_slot *s, uint32_t ip,
                       const struct rte_ether_addr *mac, enum dp_neigh_state st)
{
    s->q_head = QUEUE_NIL;
    s->q_tail = QUEUE_NIL;
    s->q_len = 0;
    s->tries = 0;
    s->wanted = 0;
    s->deadline_ns = 0;
    s->updated_ns = 0;
    slot_publish(s, ip, macst_make(mac, st));
    t->count++;
}

/* Writer: the slot for a new entry |ip|, or NULL (-ENOSPC) when the table is full. */
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

    if (p == NULL || ops == NULL || ops->send_arp == NULL || ops->xmit == NULL ||
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
    t->q_pkt = calloc(p->queue_total, sizeof(t->q_pkt[0]));
    t->q_next = calloc(p->queue_total, sizeof(t->q_next[0]));
    if (t->slots == NULL || t->q_pkt == NULL || t->q_next == NULL)
        goto fail_free;
    memset(t->slots, 0, nslots * sizeof(t->slots[0]));
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
        queue_drop_all(t, &t->slots[i]);
    free(t->q_next);
    free(t->q_pkt);
    free(t->slots);
    free(t);
}

int dp_neigh_resolve(struct dp_neigh *t, rte_be32_t ip, void *pkt, uint64_t now_ns,
                     struct rte_ether_addr *mac)
{
    struct neigh_slot *s, *ins = NULL;
    uint64_t v;

    if (!dp_ipv4_is_unicast(ip))
        return -EINVAL;
    s = slot_find(t, ip, &ins);
    if (s != NULL) {
        v = __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
        switch (macst_state(v)) {
        case DP_NEIGH_REACHABLE:
        case DP_NEIGH_STALE:
        case DP_NEIGH_PERMANENT:
            s->wanted = 1;
            macst_mac(v, mac);
            return DP_NEIGH_READY;
        case DP_NEIGH_INCOMPLETE:
            if (pkt != NULL)
                queue_push(t, s, pkt);
            return DP_NEIGH_QUEUED;
        case DP_NEIGH_FAILED:
            if (now_ns < s->deadline_ns)
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
    slot_claim(t, s, ip, NULL, DP_NEIGH_INCOMPLETE);
    s->wanted = 1;
    s->tries = 1;
    s->deadline_ns = now_ns + t->p.retry_ns;
    if (pkt != NULL)
        queue_push(t, s, pkt);
    send_arp(t, ip, NULL);
    return DP_NEIGH_QUEUED;
}

int dp_neigh_learn(struct dp_neigh *t, rte_be32_t ip, const struct rte_ether_addr *mac,
                   uint64_t now_ns, bool create)
{
    struct neigh_slot *s, *ins = NULL;
    enum dp_neigh_state st = DP_NEIGH_FREE;

    if (!dp_ipv4_is_unicast(ip) || mac == NULL || !rte_is_unicast_ether_addr(mac) ||
        rte_is_zero_ether_addr(mac))
        return -EINVAL;
    s = slot_find(t, ip, &ins);
    if (s != NULL)
        st = slot_state(s);
    if (st == DP_NEIGH_PERMANENT)
        return 0;
    if (st == DP_NEIGH_FREE) {
        if (!create)
            return -ENOENT;
        s = slot_new(t, s, ins);
        if (s == NULL)
            return -ENOSPC;
        slot_claim(t, s, ip, mac, DP_NEIGH_REACHABLE);
    } else {
        slot_publish(s, ip, macst_make(mac, DP_NEIGH_REACHABLE));
        if (st != DP_NEIGH_REACHABLE)
            t->stats.resolved++;
    }
    s->tries = 0;
    s->updated_ns = now_ns;
    s->deadline_ns = now_ns + t->p.reachable_ns;
    queue_flush(t, s, mac);
    return 0;
}

int dp_neigh_add_static(struct dp_neigh *t, rte_be32_t ip, const struct rte_ether_addr *mac)
{
    struct neigh_slot *s, *ins = NULL;

    if (!dp_ipv4_is_unicast(ip) || mac == NULL || !rte_is_unicast_ether_addr(mac) ||
        rte_is_zero_ether_addr(mac))
        return -EINVAL;
    s = slot_find(t, ip, &ins);
    if (s == NULL || slot_state(s) == DP_NEIGH_FREE) {
        s = slot_new(t, s, ins);
        if (s == NULL)
            return -ENOSPC;
        slot_claim(t, s, ip, mac, DP_NEIGH_PERMANENT);
    } else {
        slot_publish(s, ip, macst_make(mac, DP_NEIGH_PERMANENT));
    }
    s->tries = 0;
    queue_flush(t, s, mac);
    return 0;
}

int dp_neigh_remove(struct dp_neigh *t, rte_be32_t ip)
{
    struct neigh_slot *s, *ins = NULL;

    s = slot_find(t, ip, &ins);
    if (s == NULL || slot_state(s) == DP_NEIGH_FREE)
        return -ENOENT;
    slot_kill(t, s);
    return 0;
}

uint64_t dp_neigh_tick(struct dp_neigh *t, uint64_t now_ns)
{
    uint64_t next = UINT64_MAX;
    uint32_t i;

    for (i = 0; i <= t->mask; i++) {
        struct neigh_slot *s = &t->slots[i];
        uint64_t v = __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
        enum dp_neigh_state st = macst_state(v);
        struct rte_ether_addr mac;

        if (st == DP_NEIGH_FREE || st == DP_NEIGH_PERMANENT)
            continue;
        if (now_ns >= s->deadline_ns) {
            switch (st) {
            case DP_NEIGH_INCOMPLETE:
                if (s->tries >= t->p.max_retries) {
                    slot_fail(t, s, now_ns);
                    break;
                }
                s->tries++;
                s->deadline_ns = now_ns + t->p.retry_ns;
                send_arp(t, s->ip, NULL);
                break;
            case DP_NEIGH_REACHABLE:
                if (!s->wanted) {
                    /* Learnt from someone's request and never asked for by us: let it
                     * go rather than probe it forever (a busy LAN must not fill the
                     * table). If a worker still uses it, its next miss resolves it. */
                    t->stats.expired++;
                    slot_kill(t, s);
                    continue;
                }
                /* Still usable while we check it is still there (RFC 1122 2.3.2.1). */
                slot_publish(s, s->ip,
                             (v & ~(0xffULL << MACST_STATE_SHIFT)) | (uint64_t)DP_NEIGH_STALE
                                                                         << MACST_STATE_SHIFT);
                s->tries = 1;
                s->deadline_ns = now_ns + t->p.retry_ns;
                macst_mac(v, &mac);
                send_arp(t, s->ip, &mac);
                break;
            case DP_NEIGH_STALE:
                if (s->tries >= t->p.max_retries) {
                    slot_fail(t, s, now_ns);
                    break;
                }
                s->tries++;
                s->deadline_ns = now_ns + t->p.retry_ns;
                macst_mac(v, &mac);
                send_arp(t, s->ip, &mac);
                break;
            case DP_NEIGH_FAILED:
                slot_kill(t, s);
                continue;
            default:
                break;
            }
        }
        if (s->deadline_ns < next)
            next = s->deadline_ns;
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
        uint64_t v = __atomic_load_n(&s->macst, __ATOMIC_RELAXED);
        struct dp_neigh_view view;

        if (macst_state(v) == DP_NEIGH_FREE)
            continue;
        memset(&view, 0, sizeof(view));
        view.ip = s->ip;
        macst_mac(v, &view.mac);
        view.state = macst_state(v);
        view.queued = s->q_len;
        view.tries = s->tries;
        view.updated_ns = s->updated_ns;
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
        [DP_NEIGH_FAILED] = "failed",       [DP_NEIGH_PERMANENT] = "permanent",
    };

    if ((unsigned int)s >= RTE_DIM(names))
        return "unknown";
    return names[s];
}
