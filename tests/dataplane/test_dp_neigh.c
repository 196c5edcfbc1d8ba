/* test_dp_neigh.c: neighbour table: resolve/queue/learn, retries, expiry, probing,
 * queue overflow, capacity, static entries, and lock-free reads under concurrent writes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_neigh.h"

#define MS      1000000ull
#define BE32(x) rte_cpu_to_be_32(x)
#define GW      BE32(0xc6120001u)

/* What the callbacks saw. Packets are heap ints so valgrind proves none leaks. */
struct rec {
    int arp_bcast;
    int arp_ucast;
    rte_be32_t last_arp_ip;
    struct rte_ether_addr last_arp_dst;
    int sent[64];
    int nsent;
    struct rte_ether_addr sent_mac;
    int freed[64];
    int nfreed;
};

static struct rec rec;

static void cb_send_arp(void *arg, rte_be32_t ip, const struct rte_ether_addr *dst)
{
    struct rec *r = arg;

    r->last_arp_ip = ip;
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
    .send_arp = cb_send_arp, .xmit = cb_xmit, .free_pkt = cb_free, .arg = &rec};

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

static void test_resolve_learn(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;

    (void)state;
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(1), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(rec.last_arp_ip, GW);
    /* More packets queue without another request. */
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(2), 10, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT); /* INCOMPLETE is not usable */

    /* The reply: queued packets go out in order with the MAC. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, 20, false), 0);
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

    /* A changed MAC (RFC 826 merge) is taken. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, 40, false), 0);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac2, 6);

    /* Unsolicited: not created unless asked; bad input refused. */
    assert_int_equal(dp_neigh_learn(t, BE32(0xc6120005), &mac1, 50, false), -ENOENT);
    assert_int_equal(dp_neigh_lookup(t, BE32(0xc6120005), &m), -ENOENT);
    assert_int_equal(dp_neigh_learn(t, BE32(0xc6120005), &mac1, 50, true), 0);
    assert_int_equal(dp_neigh_lookup(t, BE32(0xc6120005), &m), 0);
    assert_int_equal(dp_neigh_learn(t, 0, &mac1, 50, true), -EINVAL);
    assert_int_equal(dp_neigh_learn(t, BE32(0xe0000001), &mac1, 50, true), -EINVAL);
    {
        struct rte_ether_addr bc;

        memset(&bc, 0xff, sizeof(bc));
        assert_int_equal(dp_neigh_learn(t, GW, &bc, 50, true), -EINVAL);
    }
    assert_int_equal(dp_neigh_resolve(t, BE32(0xffffffff), NULL, 50, &m), -EINVAL);
    dp_neigh_del(t);
}

static void test_retries_and_failure(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;
    uint64_t next;

    (void)state;
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
    assert_int_equal(dp_neigh_stats(t)->arp_sent, 3);
    /* Held: new resolutions fail fast and the caller keeps the packet. */
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 4000 * MS, &m), -EHOSTUNREACH);
    /* A late reply still revives it. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, 4500 * MS, false), 0);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_int_equal(dp_neigh_remove(t, GW), 0);
    assert_int_equal(dp_neigh_remove(t, GW), -ENOENT);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);

    /* Fail again, then the hold ends: the tick frees the slot, resolution restarts. */
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 10000 * MS, &m), DP_NEIGH_QUEUED);
    dp_neigh_tick(t, 11000 * MS);
    dp_neigh_tick(t, 12000 * MS);
    dp_neigh_tick(t, 13000 * MS);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 13001 * MS, &m), -EHOSTUNREACH);
    assert_int_equal(dp_neigh_tick(t, 13001 * MS), 18000 * MS);
    dp_neigh_tick(t, 18000 * MS);
    assert_int_equal(dp_neigh_tick(t, 18001 * MS), UINT64_MAX); /* nothing left */
    rec.arp_bcast = 0;
    assert_int_equal(dp_neigh_resolve(t, GW, pkt(3), 18002 * MS, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.arp_bcast, 1);
    /* And a hold that ran out without a tick is honoured by resolve itself. */
    dp_neigh_del(t); /* frees the queued packet 3 */
    assert_int_equal(rec.freed[(rec.nfreed - 1) % 64], 3);
}

static void test_expiry_and_probe(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;

    (void)state;
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, 0, false), 0);
    dp_neigh_tick(t, 29999 * MS);
    assert_int_equal(rec.arp_ucast, 0);
    /* REACHABLE -> STALE: still usable, probed by unicast to the known MAC. */
    dp_neigh_tick(t, 30000 * MS);
    assert_int_equal(rec.arp_ucast, 1);
    assert_memory_equal(&rec.last_arp_dst, &mac1, 6);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_int_equal(dp_neigh_resolve(t, GW, NULL, 30000 * MS, &m), DP_NEIGH_READY);
    /* Reply: REACHABLE again, no more probes for reachable_ns. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, 30500 * MS, false), 0);
    dp_neigh_tick(t, 31000 * MS);
    dp_neigh_tick(t, 32000 * MS);
    assert_int_equal(rec.arp_ucast, 1);
    /* Next expiry, no replies: probes up to max_retries, then FAILED and unusable. */
    dp_neigh_tick(t, 60500 * MS);
    dp_neigh_tick(t, 61500 * MS);
    dp_neigh_tick(t, 62500 * MS);
    assert_int_equal(rec.arp_ucast, 4);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    dp_neigh_tick(t, 63500 * MS);
    assert_int_equal(rec.arp_ucast, 4);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), -ENOENT);
    assert_int_equal(dp_neigh_stats(t)->failed, 1);
    dp_neigh_del(t);
}

/* Entries only learnt from other hosts' requests are dropped at expiry, not probed; once
 * we resolve through one, it is kept fresh like any other. */
static void test_unwanted_expire(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t = mk(&p);
    struct rte_ether_addr m;
    rte_be32_t x = BE32(0xc6120021u), y = BE32(0xc6120022u);

    (void)state;
    assert_int_equal(dp_neigh_learn(t, x, &mac1, 0, true), 0);
    assert_int_equal(dp_neigh_learn(t, y, &mac2, 0, true), 0);
    assert_int_equal(dp_neigh_lookup(t, x, &m), 0);
    assert_int_equal(dp_neigh_resolve(t, y, NULL, 10, &m), DP_NEIGH_READY);
    assert_memory_equal(&m, &mac2, 6);
    dp_neigh_tick(t, 30000 * MS);
    assert_int_equal(dp_neigh_lookup(t, x, &m), -ENOENT);
    assert_int_equal(dp_neigh_stats(t)->expired, 1);
    /* y went STALE (still usable) and was probed by unicast; x was not probed. */
    assert_int_equal(dp_neigh_lookup(t, y, &m), 0);
    assert_int_equal(rec.arp_ucast, 1);
    assert_memory_equal(&rec.last_arp_dst, &mac2, 6);
    assert_int_equal(rec.last_arp_ip, y);
    assert_int_equal(rec.arp_bcast, 0);
    dp_neigh_del(t);
}

static void test_queue_overflow(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t;
    struct rte_ether_addr m;
    int i;

    (void)state;
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
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120007), pkt(10), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120007), pkt(11), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.freed[2], 10);
    /* A third entry with the pool empty and nothing of its own: the packet is dropped. */
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120008), pkt(20), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.freed[3], 20);
    assert_int_equal(dp_neigh_stats(t)->queue_overflow, 4);
    /* Resolution sends what survived, in order. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac1, 1, false), 0);
    assert_int_equal(rec.nsent, 3);
    assert_int_equal(rec.sent[0], 3);
    assert_int_equal(rec.sent[1], 4);
    assert_int_equal(rec.sent[2], 5);
    /* Pool slots are reusable. */
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120008), pkt(21), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120008), pkt(22), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(rec.nfreed, 4);
    dp_neigh_del(t); /* frees 11, 21, 22 */
    assert_int_equal(rec.nfreed, 7);
}

static int count_cb(void *arg, const struct dp_neigh_view *v)
{
    int *n = arg;

    assert_int_not_equal(v->state, DP_NEIGH_FREE);
    (*n)++;
    return 0;
}

static void test_capacity_static_and_reuse(void **state)
{
    struct dp_neigh_params p = params();
    struct dp_neigh *t;
    struct rte_ether_addr m;
    int n = 0;
    uint32_t i;
    uint64_t now = 0;

    (void)state;
    p.capacity = 3;
    t = mk(&p);
    assert_int_equal(dp_neigh_add_static(t, GW, &mac1), 0);
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120002), NULL, 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120003), NULL, 0, &m), DP_NEIGH_QUEUED);
    {
        void *kept = pkt(1);

        /* On error the caller keeps the packet. */
        assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120004), kept, 0, &m), -ENOSPC);
        assert_int_equal(rec.nfreed, 0);
        free(kept);
    }
    assert_int_equal(dp_neigh_stats(t)->table_full, 1);
    assert_int_equal(dp_neigh_foreach(t, count_cb, &n), 0);
    assert_int_equal(n, 3);
    /* PERMANENT: learn does not change it, ticks never age it. */
    assert_int_equal(dp_neigh_learn(t, GW, &mac2, 0, false), 0);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    assert_memory_equal(&m, &mac1, 6);
    dp_neigh_tick(t, 1000000 * MS);
    assert_int_equal(dp_neigh_lookup(t, GW, &m), 0);
    /* Static add over an incomplete entry sends its queue. */
    assert_int_equal(dp_neigh_remove(t, BE32(0xc6120003)), 0);
    assert_int_equal(dp_neigh_resolve(t, BE32(0xc6120003), pkt(7), 0, &m), DP_NEIGH_QUEUED);
    assert_int_equal(dp_neigh_add_static(t, BE32(0xc6120003), &mac2), 0);
    assert_int_equal(rec.nsent, 1);
    assert_int_equal(rec.sent[0], 7);
    dp_neigh_del(t);

    /* Many short-lived neighbours cycle through a small table: dead slots are reused. */
    p.capacity = 4;
    t = mk(&p);
    for (i = 0; i < 2000; i++) {
        rte_be32_t ip = BE32(0x0a000001u + i);

        assert_int_equal(dp_neigh_resolve(t, ip, NULL, now, &m), DP_NEIGH_QUEUED);
        assert_int_equal(dp_neigh_learn(t, ip, &mac1, now, false), 0);
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

        assert_null(dp_neigh_new(&p, &ops, &err));
        assert_int_equal(err, -EINVAL);
        p = params();
        p.retry_ns = 0;
        assert_null(dp_neigh_new(&p, &ops, &err));
        p = params();
        assert_null(dp_neigh_new(&p, NULL, &err));
    }
    dp_neigh_del(NULL);
    assert_string_equal(dp_neigh_state_name(DP_NEIGH_STALE), "stale");
    assert_string_equal(dp_neigh_state_name((enum dp_neigh_state)77), "unknown");
}

/* Lock-free read consistency: a reader thread looks up addresses while the writer keeps
 * changing their MACs and states, and moves entries between addresses (40 addresses, 8
 * live at a time, so dead slots get reused by other addresses). Every MAC a lookup returns
 * must be one the writer published for that very address as a whole: byte 0 = the
 * address's tag, bytes 1..5 all equal. */
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

static void *reader(void *arg)
{
    struct hammer *h = arg;
    uint32_t i = 0;

    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        struct rte_ether_addr m;
        uint32_t idx = i++ % NIPS;

        if (dp_neigh_lookup(h->t, BE32(0xc6120010u + idx), &m) == 0) {
            const uint8_t *b = m.addr_bytes;

            if (b[0] != tag(idx) || b[1] != b[2] || b[1] != b[3] || b[1] != b[4] || b[1] != b[5])
                h->torn++;
            __atomic_store_n(&h->hits, h->hits + 1, __ATOMIC_RELAXED);
        } else {
            __atomic_store_n(&h->misses, h->misses + 1, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&h->ops, h->ops + 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_lockfree_reader(void **state)
{
    struct dp_neigh_params p = params();
    struct hammer h;
    pthread_t th;
    struct rte_ether_addr m;
    uint32_t i;

    (void)state;
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
         * and ends with them removed. */
        uint32_t phase = (i / NADDR) % 4;
        uint32_t idx = (i % NADDR + NADDR * ((i / (NADDR * 4)) % (NIPS / NADDR)));
        rte_be32_t ip = BE32(0xc6120010u + idx);

        m.addr_bytes[0] = tag(idx);
        memset(m.addr_bytes + 1, (uint8_t)(i / NADDR), 5);
        switch (phase) {
        case 0:
            assert_int_equal(dp_neigh_resolve(h.t, ip, NULL, i, &m), DP_NEIGH_QUEUED);
            break;
        case 1:
        case 2:
            assert_int_equal(dp_neigh_learn(h.t, ip, &m, i, false), 0);
            break;
        default:
            assert_int_equal(dp_neigh_remove(h.t, ip), 0);
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
        cmocka_unit_test(test_resolve_learn),    cmocka_unit_test(test_retries_and_failure),
        cmocka_unit_test(test_expiry_and_probe), cmocka_unit_test(test_unwanted_expire),
        cmocka_unit_test(test_queue_overflow),   cmocka_unit_test(test_capacity_static_and_reuse),
        cmocka_unit_test(test_lockfree_reader),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
