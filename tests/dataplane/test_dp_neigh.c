/* test_dp_neigh.c: neighbour table: resolve/queue/learn, retries, expiry, probing and the
 * fall-back to broadcast, reachability hints, refused conflicting claims (spoofed ARP/NA),
 * queue overflow, capacity, static entries, IPv4 and IPv6 keys, and lock-free reads and
 * confirmations under concurrent writes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "dp_neigh.h"

#define MS      1000000ull
#define BE32(x) rte_cpu_to_be_32(x)

/* Table keys by value: A(0xc6120001) is 198.18.0.1. */
#define A(x) (&(struct dp_addr){.w32 = {0, 0, BE32(0x0000ffffu), BE32(x)}})
#define GW   A(0xc6120001u)

/* What the callbacks saw. Packets are heap ints so valgrind proves none leaks. */
struct rec {
    int arp_bcast;
    int arp_ucast;
    struct dp_addr last_arp_ip;
    struct rte_ether_addr last_arp_dst;
    int sent[64];
    int nsent;
    struct rte_ether_addr sent_mac;
    int freed[64];
    int nfreed;
};

static struct rec rec;

static void cb_solicit(void *arg, const struct dp_addr *ip, const struct rte_ether_addr *dst)
{
    struct rec *r = arg;

    r->last_arp_ip = *ip;
    if (dst == NULL) {
        r->arp_bcast++;
    } else {
        r->arp_ucast++;
        r->last_arp_dst = *dst;
    }
}

static void cb_xmit(void *arg, void *pkt, const struct rte_ether_addr *mac)
{
    struct rec *r = arg;

    r->sent[r->nsent++ % 64] = *(int *)pkt;
    r->sent_mac = *mac;
    free(pkt);
}

static void cb_free(void *arg, void *pkt)
{
    struct rec *r = arg;

    r->freed[r->nfreed++ % 64] = *(int *)pkt;
    free(pkt);
}

static const struct dp_neigh_ops ops = {
    .solicit = cb_solicit, .xmit = cb_xmit, .free_pkt = cb_free, .arg = &rec};

static void *pkt(int v)
{
    int *p = malloc(sizeof(*p));

    assert_non_null(p);
    *p = v;
    return p;
}

static struct dp_neigh_params params(void)
{
    struct dp_neigh_params p = {
        .capacity = 8,
        .queue_per_entry = 3,
        .queue_total = 16,
        .max_retries = 3,
        .retry_ns = 1000 * MS,
        .reachable_ns = 30000 * MS,
        .failed_hold_ns = 5000 * MS,
    };
    return p;
}

static struct dp_neigh *mk(const struct dp_neigh_params *p)
{
    struct dp_neigh *t;
    int err = 0;

    memset(&rec, 0, sizeof(rec));
    t = dp_neigh_new(p, &ops, &err);
    assert_non_null(t);
    assert_int_equal(err, 0);
    return t;
}

static const struct rte_ether_addr mac1 = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr mac2 = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x02}};

#define REPLY    DP_NEIGH_MSG_REPLY
#define ANNOUNCE DP_NEIGH_MSG_ANNOUNCE
#define REQUEST  DP_NEIGH_MSG_REQUEST

/* The state of |a|'s entry (DP_NEIGH_FREE when none), through the public walk. */
struct find {
    const struct dp_addr *a;
    struct dp_neigh_view v;
    int found;
};

static int find_cb(void *arg, const struct dp_neigh_view *v)
{
    struct find *f = arg;

    if (dp_addr_eq(&v->addr, f->a)) {
        f->v = *v;
        f->found = 1;
    }
    return 0;
}

static struct dp_neigh_view view(const struct dp_neigh *t, const struct dp_addr *a)
{
    struct find f = {.a = a};

    assert_int_equal(dp_neigh_foreach(t, find_cb, &f), 0);
    if (!f.found)
        f.v.state = DP_NEIGH_FREE;
    return f.v;
}

static enum dp_neigh_state state(const struct dp_neigh *t, const struct dp_addr *a)
{
    return view(t, a).state;
}

/* |a| resolved by an answer at |now|: REACHABLE with |mac|, in use. */
static void resolved(struct dp_neigh *t, const struct dp_addr *a, const struct rte_ether_addr *mac,
                     uint64_t now)
{
    struct rte_ether_addr m;

    assert_int_equal(dp_neigh_resolve(t, a, NULL, now, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_learn(t, a, mac, REPLY, now), 0);
    assert_int_equal(state(t, a), DP_NEIGH_REACHABLE);
}

static void test_resolve_learn(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;

    (void)state_;
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(1), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    assert_true(dp_addr_eq(&rec.last_arp_ip, GW));
    /* More packets queue without another request. */
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(2), 10, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT); /* INCOMPLETE is not usable */

    /* The reply: queued packets go out in order with the MAC. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 20), 0);
    assert_int_equal(rec.nsent, 2);
    assert_int_equal(rec.sent[0], 1);
    assert_int_equal(rec.sent[1], 2);
    assert_memory_equal(&rec.sent_mac, &mac1, 6);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    memset(&m, 0, sizeof(m));
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 30, &m), DP_NEIGH_READY);
    assert_memory_equal(&m, &mac1, 6);
    assert_int_equal(dp_neigh_stats(t)->resolved, 1);
    assert_int_equal(dp_neigh_stats(t)->queue_sent, 2);
    assert_int_equal(rec.nfreed, 0);
    assert_int_equal(view(t, GW).confirmed_ns, 20);
    assert_int_equal(view(t, GW).probes, 1);
    assert_true(view(t, GW).in_use);

    /* The same MAC again confirms; a different one is not taken (see test_conflict). */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 40), 0);
    assert_int_equal(view(t, GW).confirmed_ns, 40);
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, ANNOUNCE, 45), 0);
    assert_int_equal(view(t, GW).confirmed_ns, 40); /* an announcement confirms nothing */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, REPLY, 50), DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);

    /* Replies and announcements create nothing; a request for us does (STALE, usable). */
    assert_int_equal(dp_neigh_learn(t, A(0xc6120005), &mac1, REPLY, 50), -ENOENT);
    assert_int_equal(dp_neigh_learn(t, A(0xc6120005), &mac1, ANNOUNCE, 50), -ENOENT);
    assert_int_equal(dp_neigh_lookup(t, A(0xc6120005), &m), -ENOENT);
    assert_int_equal(dp_neigh_learn(t, A(0xc6120005), &mac1, REQUEST, 50), 0);
    assert_int_equal(dp_neigh_lookup(t, A(0xc6120005), &m), 0);
    assert_int_equal(state(t, A(0xc6120005)), DP_NEIGH_STALE);
    assert_false(view(t, A(0xc6120005)).in_use);
    /* Bad input. */
    assert_int_equal(dp_neigh_learn(t, A(0), &mac1, REQUEST, 50), -EINVAL);
    assert_int_equal(dp_neigh_learn(t, A(0xe0000001), &mac1, REQUEST, 50), -EINVAL);
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, (enum dp_neigh_msg)9, 50), -EINVAL);
    {
        struct rte_ether_addr bc;

        memset(&bc, 0xff, sizeof(bc));
        assert_int_equal(dp_neigh_learn(t, GW, &bc, REPLY, 50), -EINVAL);
        memset(&bc, 0, sizeof(bc));
        assert_int_equal(dp_neigh_learn(t, GW, &bc, REPLY, 50), -EINVAL);
    }
    assert_int_equal(dp_neigh_resolve(t, A(0xffffffff), NULL, 50, &m), -EINVAL);
    dp_neigh_del(t);
}

static void test_retries_and_failure(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;
    uint64_t next;

    (void)state_;
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(1), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(2), 0, &m), DP_NEIGH_QUEUED);
    /* Nothing before the interval; the tick reports when the retry is due. */
    assert_int_equal(dp_neigh_tick(t, 999 * MS), 1000 * MS);
    assert_int_equal(rec.arp_bcast, 1);
    next = dp_neigh_tick(t, 1000 * MS);
    assert_int_equal(rec.arp_bcast, 2);
    assert_int_equal(next, 2000 * MS);
    dp_neigh_tick(t, 2000 * MS);
    assert_int_equal(rec.arp_bcast, 3); /* max_retries = 3 requests in all */
    assert_int_equal(rec.nfreed, 0);
    dp_neigh_tick(t, 3000 * MS);
    assert_int_equal(rec.arp_bcast, 3);
    /* FAILED: queued packets freed and counted. */
    assert_int_equal(rec.nfreed, 2);
    assert_int_equal(dp_neigh_stats(t)->failed, 1);
    assert_int_equal(dp_neigh_stats(t)->queue_failed, 2);
    assert_int_equal(dp_neigh_stats(t)->solicits, 3);
    assert_int_equal(dp_neigh_stats(t)->probes, 0);
    assert_int_equal(state(t, GW), DP_NEIGH_FAILED);
    /* Held: new resolutions fail fast and the caller keeps the packet. */
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 4000 * MS, &m), -EHOSTUNREACH);
    /* A late reply still revives it. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 4500 * MS), 0);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    assert_int_equal(dp_neigh_remove(t, GW), 0);
    assert_int_equal(dp_neigh_remove(t, GW), -ENOENT);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);

    /* Fail again, then the hold ends: the tick frees the slot, resolution restarts. */
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 10000 * MS, &m), DP_NEIGH_QUEUED);
    dp_neigh_tick(t, 11000 * MS);
    dp_neigh_tick(t, 12000 * MS);
    dp_neigh_tick(t, 13000 * MS);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 13001 * MS, &m), -EHOSTUNREACH);
    /* An announcement revives a failed entry too, but unconfirmed. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, ANNOUNCE, 13002 * MS), 0);
    assert_int_equal(state(t, GW), DP_NEIGH_STALE);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac2, 6);
    assert_int_equal(dp_neigh_remove(t, GW), 0);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 14000 * MS, &m), DP_NEIGH_QUEUED);
    dp_neigh_tick(t, 15000 * MS);
    dp_neigh_tick(t, 16000 * MS);
    dp_neigh_tick(t, 17000 * MS);
    assert_int_equal(dp_neigh_tick(t, 17001 * MS), 22000 * MS);
    dp_neigh_tick(t, 22000 * MS);
    assert_int_equal(dp_neigh_tick(t, 22001 * MS), UINT64_MAX); /* nothing left */
    rec.arp_bcast = 0;
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(3), 22002 * MS, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    dp_neigh_del(t); /* frees the queued packet 3 */
    assert_int_equal(rec.freed[(rec.nfreed - 1) % 64], 3);
}

/* An entry nobody confirms: REACHABLE for reachable_ns, then PROBE (unicast to the MAC we
 * have, still usable), then broadcast resolution (INCOMPLETE: whoever answers wins), then
 * FAILED. */
static void test_expiry_probe_fallback(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;

    (void)state_;
    resolved(t, GW, &mac1, 0);
    dp_neigh_tick(t, 29999 * MS);
    assert_int_equal(rec.arp_ucast, 0);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    dp_neigh_tick(t, 30000 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    assert_int_equal(rec.arp_ucast, 1);
    assert_memory_equal(&rec.last_arp_dst, &mac1, 6);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 30000 * MS, &m), DP_NEIGH_READY);
    /* The answer: REACHABLE again, no more probes for reachable_ns. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 30500 * MS), 0);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    dp_neigh_tick(t, 31000 * MS);
    dp_neigh_tick(t, 60000 * MS);
    assert_int_equal(rec.arp_ucast, 1);
    /* Next expiry, no answers: max_retries probes, the entry usable throughout. */
    dp_neigh_tick(t, 60500 * MS);
    dp_neigh_tick(t, 61500 * MS);
    dp_neigh_tick(t, 62500 * MS);
    assert_int_equal(rec.arp_ucast, 4);
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    /* Then the fall-back: the MAC is forgotten, the table asks everyone. */
    dp_neigh_tick(t, 63500 * MS);
    assert_int_equal(rec.arp_ucast, 4);
    assert_int_equal(rec.arp_bcast, 2);
    assert_int_equal(state(t, GW), DP_NEIGH_INCOMPLETE);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_stats(t)->unreachable, 1);
    /* Packets queue meanwhile; a new MAC answering the broadcast is taken. */
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(5), 63600 * MS, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, REPLY, 63700 * MS), 0);
    assert_int_equal(rec.nsent, 1);
    assert_memory_equal(&rec.sent_mac, &mac2, 6);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac2, 6);
    /* Once more without any answer: probes, broadcasts, FAILED. */
    dp_neigh_tick(t, 93700 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    dp_neigh_tick(t, 94700 * MS);
    dp_neigh_tick(t, 95700 * MS);
    dp_neigh_tick(t, 96700 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_INCOMPLETE);
    dp_neigh_tick(t, 97700 * MS);
    dp_neigh_tick(t, 98700 * MS);
    dp_neigh_tick(t, 99700 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_FAILED);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_stats(t)->failed, 1);
    assert_int_equal(dp_neigh_stats(t)->unreachable, 2);
    dp_neigh_del(t);
}

/* Entries only learnt from other hosts' requests are dropped when stale, not probed; once
 * we resolve through one, it is kept fresh like any other. */
static void test_unwanted_expire(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;
    const struct dp_addr *x = A(0xc6120021u), *y = A(0xc6120022u);

    (void)state_;
    assert_int_equal(dp_neigh_learn(t, x, &mac1, REQUEST, 0), 0);
    assert_int_equal(dp_neigh_learn(t, y, &mac2, REQUEST, 0), 0);
    assert_int_equal(dp_neigh_lookup(t, x, &m), 0);
    /* In use from 10: probed after retry_ns unless confirmed (RFC 4861 DELAY). */
    assert_int_equal(dp_neigh_resolve(t, y, NULL, 10, &m), DP_NEIGH_READY);
    assert_memory_equal(&m, &mac2, 6);
    dp_neigh_tick(t, 999 * MS);
    assert_int_equal(rec.arp_ucast, 0);
    dp_neigh_tick(t, 1001 * MS);
    assert_int_equal(state(t, y), DP_NEIGH_PROBE);
    assert_int_equal(rec.arp_ucast, 1);
    assert_memory_equal(&rec.last_arp_dst, &mac2, 6);
    assert_true(dp_addr_eq(&rec.last_arp_ip, y));
    assert_int_equal(dp_neigh_learn(t, y, &mac2, REPLY, 1100 * MS), 0);
    assert_int_equal(state(t, y), DP_NEIGH_REACHABLE);
    /* x was never used: dropped at the end of its life, never probed. */
    dp_neigh_tick(t, 30000 * MS);
    assert_int_equal(dp_neigh_lookup(t, x, &m), -ENOENT);
    assert_int_equal(dp_neigh_stats(t)->expired, 1);
    assert_int_equal(dp_neigh_lookup(t, y, &m), 0);
    assert_int_equal(rec.arp_ucast, 1);
    assert_int_equal(rec.arp_bcast, 0);
    /* An unused entry whose probes go unanswered is dropped, not broadcast for. */
    assert_int_equal(dp_neigh_learn(t, x, &mac1, REQUEST, 31000 * MS), 0);
    assert_int_equal(dp_neigh_learn(t, x, &mac2, ANNOUNCE, 31000 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(state(t, x), DP_NEIGH_PROBE);
    dp_neigh_tick(t, 32000 * MS);
    dp_neigh_tick(t, 33000 * MS);
    dp_neigh_tick(t, 34000 * MS);
    assert_int_equal(state(t, x), DP_NEIGH_FREE);
    assert_int_equal(rec.arp_bcast, 0);
    dp_neigh_del(t);
}

/* Upper-layer confirmations (RFC 4861 7.3.1) keep an entry in use REACHABLE without any
 * ARP; they confirm a PROBE only when newer than the probe; they never outlive the MAC
 * they were made for. */
static void test_confirm_hints(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;
    uint64_t now;

    (void)state_;
    resolved(t, GW, &mac1, 0);
    /* Progress every 10 s for two minutes: never probed. */
    for (now = 10000 * MS; now <= 120000 * MS; now += 10000 * MS) {
        assert_int_equal(dp_neigh_confirm(t, GW, now), 0);
        dp_neigh_tick(t, now + MS);
    }
    assert_int_equal(rec.arp_ucast, 0);
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    assert_true(view(t, GW).confirmed_ns >= 120000 * MS);
    assert_int_equal(view(t, GW).confirmations, 13); /* the answer + 12 hints */
    /* An older hint than one already taken changes nothing. */
    assert_int_equal(dp_neigh_confirm(t, GW, 100000 * MS), 0);
    dp_neigh_tick(t, 121000 * MS);
    assert_int_equal(view(t, GW).confirmations, 13);
    /* Traffic stops: PROBE 30 s after the last hint. */
    dp_neigh_tick(t, 151100 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    assert_int_equal(rec.arp_ucast, 1);
    /* A hint dated before the probe began does not end it; a later one does. */
    assert_int_equal(dp_neigh_confirm(t, GW, 151000 * MS), 0);
    dp_neigh_tick(t, 151200 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    assert_int_equal(dp_neigh_confirm(t, GW, 151300 * MS), 0);
    dp_neigh_tick(t, 151400 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    assert_int_equal(rec.arp_ucast, 1);

    /* No usable entry, nothing to confirm. */
    assert_int_equal(dp_neigh_confirm(t, A(0xc6120009), 1), -ENOENT);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120009), NULL, 1, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_confirm(t, A(0xc6120009), 2), -ENOENT);

    /* A hint made for one MAC does not confirm the next one: after the MAC is forgotten
     * (removed, resolved again) an announced MAC stays unconfirmed. */
    assert_int_equal(dp_neigh_confirm(t, GW, 160000 * MS), 0);
    assert_int_equal(dp_neigh_remove(t, GW), 0);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 160001 * MS, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, ANNOUNCE, 160002 * MS), 0);
    dp_neigh_tick(t, 160003 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_STALE);
    /* A fresh hint confirms it, and a learnt entry that carries our traffic is in use. */
    assert_int_equal(dp_neigh_learn(t, A(0xc6120031), &mac1, REQUEST, 160004 * MS), 0);
    assert_int_equal(dp_neigh_confirm(t, GW, 160005 * MS), 0);
    assert_int_equal(dp_neigh_confirm(t, A(0xc6120031), 160005 * MS), 0);
    dp_neigh_tick(t, 160006 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    assert_int_equal(state(t, A(0xc6120031)), DP_NEIGH_REACHABLE);
    assert_true(view(t, A(0xc6120031)).in_use);
    /* Static entries need none. */
    assert_int_equal(dp_neigh_add_static(t, A(0xc6120032), &mac1), 0);
    assert_int_equal(dp_neigh_confirm(t, A(0xc6120032), 160007 * MS), 0);
    assert_int_equal(view(t, A(0xc6120032)).confirmations, 0);
    dp_neigh_del(t);
}

/* The spoof of issue 14: an unsolicited reply and a gratuitous ARP claim a neighbour in
 * use for another MAC. Nothing changes, the claims are counted, the known MAC is asked. */
static void test_conflict(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;

    (void)state_;
    resolved(t, GW, &mac1, 0);
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, REPLY, 1000 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    assert_int_equal(rec.arp_ucast, 1);
    assert_memory_equal(&rec.last_arp_dst, &mac1, 6);
    /* A second claim while probing: counted, no second probe. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, ANNOUNCE, 1001 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, REQUEST, 1002 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(rec.arp_ucast, 1);
    assert_int_equal(dp_neigh_stats(t)->conflicts, 3);
    assert_int_equal(view(t, GW).conflicts, 3);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    /* The known MAC answers: REACHABLE, the claim dismissed. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 1100 * MS), 0);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    /* Or the traffic confirms it, without an answer. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, ANNOUNCE, 2000 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(state(t, GW), DP_NEIGH_PROBE);
    assert_int_equal(dp_neigh_confirm(t, GW, 2050 * MS), 0);
    dp_neigh_tick(t, 2060 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_REACHABLE);
    assert_int_equal(rec.arp_ucast, 2);

    /* A real move: the old MAC silent, the claimant answers the broadcast that follows the
     * probes. The MAC changes only through INCOMPLETE. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, ANNOUNCE, 3000 * MS), DP_NEIGH_CONFLICT);
    dp_neigh_tick(t, 4000 * MS);
    dp_neigh_tick(t, 5000 * MS);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    dp_neigh_tick(t, 6000 * MS);
    assert_int_equal(state(t, GW), DP_NEIGH_INCOMPLETE);
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, REPLY, 6100 * MS), 0);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac2, 6);
    assert_int_equal(dp_neigh_stats(t)->conflicts, 5);

    /* A static entry never changes and is never probed; claims are counted. */
    assert_int_equal(dp_neigh_add_static(t, A(0xc6120010u), &mac1), 0);
    assert_int_equal(dp_neigh_learn(t, A(0xc6120010u), &mac2, REPLY, 7000 * MS), DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_learn(t, A(0xc6120010u), &mac2, ANNOUNCE, 7000 * MS),
                     DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_learn(t, A(0xc6120010u), &mac1, REPLY, 7000 * MS), 0);
    assert_int_equal(dp_neigh_lookup(t, A(0xc6120010u), &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    assert_int_equal(state(t, A(0xc6120010u)), DP_NEIGH_PERMANENT);
    dp_neigh_tick(t, 1000000 * MS);
    assert_int_equal(view(t, A(0xc6120010u)).probes, 0);
    assert_int_equal(view(t, A(0xc6120010u)).conflicts, 2);
    assert_int_equal(dp_neigh_stats(t)->conflicts, 7);
    dp_neigh_del(t);
}

static void test_queue_overflow(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t;
    struct rte_ether_addr m;
    int i;

    (void)state_;
    p.queue_per_entry = 3;
    p.queue_total = 4;
    t = mk(&p);
    /* Per entry: 5 packets into a queue of 3 drop the two oldest. */
    for (i = 1; i <= 5; i++)
        assert_int_equal(dp_neigh_resolve(t, GW, pkt(i), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.nfreed, 2);
    assert_int_equal(rec.freed[0], 1);
    assert_int_equal(rec.freed[1], 2);
    assert_int_equal(dp_neigh_stats(t)->queue_overflow, 2);
    /* Global pool of 4: a second entry gets one slot, then recycles its own oldest. */
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120007), pkt(10), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120007), pkt(11), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.freed[2], 10);
    /* A third entry with the pool empty and nothing of its own: the packet is dropped. */
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120008), pkt(20), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.freed[3], 20);
    assert_int_equal(dp_neigh_stats(t)->queue_overflow, 4);
    assert_int_equal(view(t, GW).queued, 3);
    /* Resolution sends what survived, in order. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, REPLY, 1), 0);
    assert_int_equal(rec.nsent, 3);
    assert_int_equal(rec.sent[0], 3);
    assert_int_equal(rec.sent[1], 4);
    assert_int_equal(rec.sent[2], 5);
    /* Pool slots are reusable. */
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120008), pkt(21), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120008), pkt(22), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.nfreed, 4);
    /* An announcement completes an INCOMPLETE entry too (unconfirmed): its queue goes. */
    assert_int_equal(dp_neigh_learn(t, A(0xc6120008), &mac2, ANNOUNCE, 2), 0);
    assert_int_equal(rec.nsent, 5);
    assert_int_equal(state(t, A(0xc6120008)), DP_NEIGH_STALE);
    dp_neigh_del(t); /* frees 11 */
    assert_int_equal(rec.nfreed, 5);
}

static int count_cb(void *arg, const struct dp_neigh_view *v)
{
    int *n = arg;

    assert_int_not_equal(v->state, DP_NEIGH_FREE);
    (*n)++;
    return 0;
}

static void test_capacity_static_and_reuse(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t;
    struct rte_ether_addr m;
    int n = 0;
    uint32_t i;
    uint64_t now = 0;

    (void)state_;
    p.capacity = 3;
    t = mk(&p);
    assert_int_equal(dp_neigh_add_static(t, GW, &mac1), 0);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120002), NULL, 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120003), NULL, 0, &m), DP_NEIGH_QUEUED);
    {
        void *kept = pkt(1);

        /* On error the caller keeps the packet. */
        assert_int_equal(dp_neigh_resolve(t, A(0xc6120004), kept, 0, &m), -ENOSPC);
        assert_int_equal(rec.nfreed, 0);
        free(kept);
    }
    assert_int_equal(dp_neigh_learn(t, A(0xc6120004), &mac1, REQUEST, 0), -ENOSPC);
    assert_int_equal(dp_neigh_stats(t)->table_full, 2);
    assert_int_equal(dp_neigh_foreach(t, count_cb, &n), 0);
    assert_int_equal(n, 3);
    /* PERMANENT: ticks never age it. */
    dp_neigh_tick(t, 1000000 * MS);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    /* Static add over an incomplete entry sends its queue. */
    assert_int_equal(dp_neigh_remove(t, A(0xc6120003)), 0);
    assert_int_equal(dp_neigh_resolve(t, A(0xc6120003), pkt(7), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_add_static(t, A(0xc6120003), &mac2), 0);
    assert_int_equal(rec.nsent, 1);
    assert_int_equal(rec.sent[0], 7);
    dp_neigh_del(t);

    /* Many short-lived neighbours cycle through a small table: dead slots are reused. */
    p.capacity = 4;
    t = mk(&p);
    for (i = 0; i < 2000; i++) {
        const struct dp_addr *ip = A(0x0a000001u + i);

        assert_int_equal(dp_neigh_resolve(t, ip, NULL, now, &m), DP_NEIGH_QUEUED);
        assert_int_equal(dp_neigh_learn(t, ip, &mac1, REPLY, now), 0);
        assert_int_equal(dp_neigh_lookup(t, ip, &m), 0);
        assert_int_equal(dp_neigh_remove(t, ip), 0);
        assert_int_equal(dp_neigh_lookup(t, ip, &m), -ENOENT);
        now += MS;
    }
    dp_neigh_del(t);

    /* Bad parameters. */
    p = params();
    p.capacity = 0;
    {
        int err = 0;
        struct dp_neigh_ops bad = ops;

        assert_null(dp_neigh_new(&p, &ops, &err));
        assert_int_equal(err, -EINVAL);
        p = params();
        p.retry_ns = 0;
        assert_null(dp_neigh_new(&p, &ops, &err));
        p = params();
        assert_null(dp_neigh_new(&p, NULL, &err));
        bad.solicit = NULL;
        assert_null(dp_neigh_new(&p, &bad, &err));
    }
    dp_neigh_del(NULL);
    assert_string_equal(dp_neigh_state_name(DP_NEIGH_STALE), "stale");
    assert_string_equal(dp_neigh_state_name(DP_NEIGH_PROBE), "probe");
    assert_string_equal(dp_neigh_state_name((enum dp_neigh_state)77), "unknown");
}

static struct dp_addr v6(const char *s)
{
    uint8_t b[16];

    assert_int_equal(inet_pton(AF_INET6, s, b), 1);
    return dp_addr_v6(b);
}

/* One table, both families: IPv6 next hops go through the same machinery. */
static void test_ipv6_and_addr(void **state_)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct dp_addr ll = v6("fe80::1"), g = v6("2001:db8::1"), x;
    struct rte_ether_addr m;
    char buf[DP_ADDR_STR_MAX];

    (void)state_;
    /* dp_addr: IPv4 mapped, text, the unicast rule. */
    x = dp_addr_v4(BE32(0xc6120001u));
    assert_true(dp_addr_eq(&x, GW));
    assert_true(dp_addr_is_v4(&x));
    assert_int_equal(dp_addr_get_v4(&x), BE32(0xc6120001u));
    assert_false(dp_addr_is_v4(&ll));
    assert_string_equal(dp_addr_str(&x, buf, sizeof(buf)), "198.18.0.1");
    assert_string_equal(dp_addr_str(&g, buf, sizeof(buf)), "2001:db8::1");
    assert_true(dp_addr_is_unicast(&ll));
    assert_true(dp_addr_is_unicast(&g));
    x = v6("::");
    assert_false(dp_addr_is_unicast(&x));
    assert_true(dp_addr_is_zero(&x));
    x = v6("::1");
    assert_false(dp_addr_is_unicast(&x));
    x = v6("ff02::1:ff00:1");
    assert_false(dp_addr_is_unicast(&x));
    x = v6("::ffff:0.0.0.0");
    assert_false(dp_addr_is_unicast(&x));
    x = v6("::ffff:198.18.0.1");
    assert_true(dp_addr_eq(&x, GW));
    assert_false(dp_addr_eq(&ll, &g));
    assert_int_not_equal(dp_addr_hash(&ll), dp_addr_hash(&g));

    assert_int_equal(dp_neigh_resolve(t, &ll, pkt(1), 0, &m), DP_NEIGH_QUEUED);
    assert_true(dp_addr_eq(&rec.last_arp_ip, &ll));
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(2), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_learn(t, &ll, &mac1, REPLY, 1), 0);
    assert_int_equal(rec.nsent, 1);
    assert_int_equal(rec.sent[0], 1);
    assert_int_equal(dp_neigh_lookup(t, &ll, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_lookup(t, &g, &m), -ENOENT);
    /* A spoofed Neighbor Advertisement is refused like a spoofed ARP reply. */
    assert_int_equal(dp_neigh_learn(t, &ll, &mac2, ANNOUNCE, 2), DP_NEIGH_CONFLICT);
    assert_int_equal(dp_neigh_lookup(t, &ll, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    assert_true(dp_addr_eq(&rec.last_arp_ip, &ll));
    assert_int_equal(rec.arp_ucast, 1);
    assert_int_equal(dp_neigh_confirm(t, &ll, 3 * MS), 0);
    dp_neigh_tick(t, 4 * MS);
    assert_int_equal(state(t, &ll), DP_NEIGH_REACHABLE);
    x = v6("ff02::1");
    assert_int_equal(dp_neigh_resolve(t, &x, NULL, 5, &m), -EINVAL);
    assert_int_equal(dp_neigh_remove(t, &ll), 0);
    assert_int_equal(dp_neigh_lookup(t, &ll, &m), -ENOENT);
    dp_neigh_del(t);
}

/* Lock-free read consistency: a reader thread looks up (and confirms) addresses while the
 * writer keeps changing their MACs and states, and moves entries between addresses (40
 * addresses, IPv4 and IPv6 alternately, 8 live at a time, so dead slots get reused by
 * other addresses). Every MAC a lookup returns must be one the writer published for that
 * very address as a whole: byte 0 = the address's tag, bytes 1..5 all equal. */
#define NADDR 8
#define NIPS  40

struct hammer {
    struct dp_neigh *t;
    int stop;
    unsigned long ops, hits, misses, torn;
};

static uint8_t tag(uint32_t idx)
{
    return (uint8_t)(0x02 | (idx << 2)); /* unicast, locally administered, idx < 64 */
}

static struct dp_addr hammer_addr(uint32_t idx)
{
    struct dp_addr a = dp_addr_v4(BE32(0xc6120010u + idx));

    if (idx & 1) {
        a = v6("2001:db8::10");
        a.b[15] = (uint8_t)idx;
    }
    return a;
}

static void *reader(void *arg)
{
    struct hammer *h = arg;
    uint32_t i = 0;

    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        struct rte_ether_addr m;
        uint32_t idx = i++ % NIPS;
        struct dp_addr a = hammer_addr(idx);

        if (dp_neigh_lookup(h->t, &a, &m) == 0) {
            const uint8_t *b = m.addr_bytes;

            if (b[0] != tag(idx) || b[1] != b[2] || b[1] != b[3] || b[1] != b[4] || b[1] != b[5])
                h->torn++;
            (void)dp_neigh_confirm(h->t, &a, i);
            __atomic_store_n(&h->hits, h->hits + 1, __ATOMIC_RELAXED);
        } else {
            __atomic_store_n(&h->misses, h->misses + 1, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&h->ops, h->ops + 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_lockfree_reader(void **state_)
{
    struct dp_neigh_params p = params();
    struct hammer h;
    pthread_t th;
    struct rte_ether_addr m;
    uint32_t i;

    (void)state_;
    p.capacity = 16;
    memset(&h, 0, sizeof(h));
    h.t = mk(&p);
    assert_int_equal(pthread_create(&th, NULL, reader, &h), 0);
    /* Run until both sides did enough work, and the reader saw both usable and unusable
     * entries (it may start late or be descheduled at any point), bounded. */
    for (i = 0; i < 200000 || ((__atomic_load_n(&h.ops, __ATOMIC_RELAXED) < 200000 ||
                                __atomic_load_n(&h.hits, __ATOMIC_RELAXED) < 1000 ||
                                __atomic_load_n(&h.misses, __ATOMIC_RELAXED) < 1000) &&
                               i < 100000000);
         i++) {
        /* Epochs of 4 phases x 8 addresses; each epoch uses the next 8 of 40 addresses
         * and ends with them removed. Phase 1 answers; phase 2 forgets the MAC and
         * answers with a new one (resolve again after a remove would be the same). */
        uint32_t phase = (i / NADDR) % 4;
        uint32_t idx = (i % NADDR + NADDR * ((i / (NADDR * 4)) % (NIPS / NADDR)));
        struct dp_addr ip = hammer_addr(idx);

        m.addr_bytes[0] = tag(idx);
        memset(m.addr_bytes + 1, (uint8_t)(i / NADDR), 5);
        switch (phase) {
        case 0:
            assert_int_equal(dp_neigh_resolve(h.t, &ip, NULL, i, &m), DP_NEIGH_QUEUED);
            break;
        case 1:
            assert_int_equal(dp_neigh_learn(h.t, &ip, &m, REPLY, i), 0);
            dp_neigh_tick(h.t, i);
            break;
        case 2:
            assert_int_equal(dp_neigh_remove(h.t, &ip), 0);
            assert_int_equal(dp_neigh_resolve(h.t, &ip, NULL, i, &m), DP_NEIGH_QUEUED);
            assert_int_equal(dp_neigh_learn(h.t, &ip, &m, REPLY, i), 0);
            break;
        default:
            assert_int_equal(dp_neigh_remove(h.t, &ip), 0);
            break;
        }
    }
    __atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(h.torn, 0);
    assert_true(h.ops >= 200000);
    assert_true(h.hits >= 1000);
    assert_true(h.misses >= 1000);
    dp_neigh_del(h.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_learn),
        cmocka_unit_test(test_retries_and_failure),
        cmocka_unit_test(test_expiry_probe_fallback),
        cmocka_unit_test(test_unwanted_expire),
        cmocka_unit_test(test_confirm_hints),
        cmocka_unit_test(test_conflict),
        cmocka_unit_test(test_queue_overflow),
        cmocka_unit_test(test_capacity_static_and_reuse),
        cmocka_unit_test(test_ipv6_and_addr),
        cmocka_unit_test(test_lockfree_reader),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
