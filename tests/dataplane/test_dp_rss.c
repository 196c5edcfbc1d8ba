/* test_dp_rss.c: the Toeplitz model matches the published Microsoft RSS verification
 * vectors and a bit-by-bit reference; dp_rss_pick_port() finds ports whose RX hash lands
 * on the wanted queue, honours in_use, and reports exhaustion. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_rss.h"

/* The standard 40-byte key of the Microsoft RSS specification. */
static const uint8_t ms_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* "Verifying the RSS Hash Calculation" (Microsoft), IPv4 table: every row. The table
 * lists the destination first; the hash input is source, destination, sport, dport. */
static const struct {
    uint8_t dst[4];
    uint16_t dport;
    uint8_t src[4];
    uint16_t sport;
    uint32_t ipv4_only;
    uint32_t ipv4_tcp;
} ms_vectors[] = {
    {{161, 142, 100, 80}, 1766, {66, 9, 149, 187}, 2794, 0x323e8fc2, 0x51ccc178},
    {{65, 69, 140, 83}, 4739, {199, 92, 111, 2}, 14230, 0xd718262a, 0xc626b0ea},
    {{12, 22, 207, 184}, 38024, {24, 19, 198, 95}, 12898, 0xd2d0a5de, 0x5c2b394a},
    {{209, 142, 163, 6}, 2217, {38, 27, 205, 30}, 48228, 0x82989176, 0xafc7327f},
    {{202, 188, 127, 2}, 1303, {153, 39, 163, 191}, 44251, 0x5d1809c5, 0x10e828a2},
};

static rte_be32_t ip4(const uint8_t b[4])
{
    rte_be32_t v;

    memcpy(&v, b, 4);
    return v;
}

static void identity_reta(uint16_t *reta, uint16_t size, uint16_t nq)
{
    uint16_t i;

    for (i = 0; i < size; i++)
        reta[i] = (uint16_t)(i % nq);
}

/* Bit-serial Toeplitz straight from the specification: for every set input bit (MSB
 * first) XOR in the 32-bit key window starting at that bit position. */
static uint32_t ref_toeplitz(const uint8_t *key, const uint8_t *in, size_t n)
{
    uint32_t h = 0, win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
    size_t kbit = 32, i;
    int b;

    for (i = 0; i < n; i++) {
        for (b = 7; b >= 0; b--) {
            if (in[i] & (1u << b))
                h ^= win;
            win = win << 1 | ((key[kbit / 8] >> (7 - kbit % 8)) & 1u);
            kbit++;
        }
    }
    return h;
}

static void test_ms_vectors(void **state)
{
    uint16_t reta[128];
    struct dp_rss l4, l3;
    size_t i;

    (void)state;
    identity_reta(reta, 128, 4);
    assert_int_equal(dp_rss_init(&l4, ms_key, 40, reta, 128, 4, true), 0);
    assert_int_equal(dp_rss_init(&l3, ms_key, 40, reta, 128, 4, false), 0);
    for (i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
        rte_be32_t s = ip4(ms_vectors[i].src), d = ip4(ms_vectors[i].dst);
        rte_be16_t sp = rte_cpu_to_be_16(ms_vectors[i].sport);
        rte_be16_t dp = rte_cpu_to_be_16(ms_vectors[i].dport);

        assert_int_equal(dp_rss_hash(&l4, s, d, sp, dp), ms_vectors[i].ipv4_tcp);
        assert_int_equal(dp_rss_hash(&l3, s, d, sp, dp), ms_vectors[i].ipv4_only);
        /* The hash is direction-sensitive: the reverse tuple is a different value. */
        assert_int_not_equal(dp_rss_hash(&l4, d, s, dp, sp), ms_vectors[i].ipv4_tcp);
        /* Queue = RETA indexed by the hash's low bits. */
        assert_int_equal(dp_rss_queue(&l4, s, d, sp, dp), reta[ms_vectors[i].ipv4_tcp & 127]);
    }
}

static void test_reference_random(void **state)
{
    uint8_t key[52], in[12];
    uint16_t reta[64];
    struct dp_rss r;
    uint32_t rnd = 7;
    int i, k;

    (void)state;
    identity_reta(reta, 64, 8);
    for (k = 0; k < 20; k++) {
        for (i = 0; i < 52; i++) {
            rnd = rnd * 1103515245u + 12345u;
            key[i] = (uint8_t)(rnd >> 16);
        }
        /* 52-byte (i40e) key, given at an odd address. */
        {
            uint8_t shifted[53];

            memcpy(shifted + 1, key, 52);
            assert_int_equal(dp_rss_init(&r, shifted + 1, 52, reta, 64, 8, true), 0);
        }
        for (i = 0; i < 200; i++) {
            rte_be32_t s, d;
            rte_be16_t sp, dp;
            int j;

            for (j = 0; j < 12; j++) {
                rnd = rnd * 1103515245u + 12345u;
                in[j] = (uint8_t)(rnd >> 16);
            }
            memcpy(&s, in, 4);
            memcpy(&d, in + 4, 4);
            memcpy(&sp, in + 8, 2);
            memcpy(&dp, in + 10, 2);
            assert_int_equal(dp_rss_hash(&r, s, d, sp, dp), ref_toeplitz(key, in, 12));
        }
    }
}

struct used {
    uint16_t lo;
    uint8_t map[65536];
};

static bool is_used(void *arg, uint16_t port)
{
    return ((struct used *)arg)->map[port] != 0;
}

static void test_pick_port_lands_on_queue(void **state)
{
    static const uint16_t nqs[] = {1, 2, 3, 4, 8, 16};
    static const uint16_t retas[] = {64, 128, 512};
    rte_be32_t remote = rte_cpu_to_be_32(0xc6120001), local = rte_cpu_to_be_32(0xc6120002);
    uint16_t reta[512];
    size_t a, b;

    (void)state;
    for (a = 0; a < sizeof(nqs) / sizeof(nqs[0]); a++) {
        for (b = 0; b < sizeof(retas) / sizeof(retas[0]); b++) {
            struct dp_rss r;
            uint16_t q;

            identity_reta(reta, retas[b], nqs[a]);
            assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, retas[b], nqs[a], true), 0);
            for (q = 0; q < nqs[a]; q++) {
                uint32_t seed;

                for (seed = 0; seed < 50; seed++) {
                    uint16_t port = 0;

                    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, q, 1024, 65535,
                                                      seed * 7919u, &port, NULL, NULL),
                                     0);
                    assert_true(port >= 1024);
                    /* RX direction: remote -> us, our port is the destination. */
                    assert_int_equal(dp_rss_queue(&r, remote, local, rte_cpu_to_be_16(443),
                                                  rte_cpu_to_be_16(port)),
                                     q);
                    assert_int_equal(reta[dp_rss_hash(&r, remote, local, rte_cpu_to_be_16(443),
                                                      rte_cpu_to_be_16(port)) &
                                          (retas[b] - 1)],
                                     q);
                }
            }
        }
    }
}

static void test_pick_port_in_use_and_exhaustion(void **state)
{
    static struct used u;
    rte_be32_t remote = rte_cpu_to_be_32(0xc6120001), local = rte_cpu_to_be_32(0xc6120002);
    uint16_t reta[128], port, n = 0;
    struct dp_rss r;
    uint32_t p;
    int rc;

    (void)state;
    memset(&u, 0, sizeof(u));
    identity_reta(reta, 128, 4);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 4, true), 0);
    /* Take every port of [2000, 2099] that lands on queue 2: each pick is new, then none. */
    for (;;) {
        rc = dp_rss_pick_port(&r, remote, local, 443, 2, 2000, 2099, n, &port, is_used, &u);
        if (rc != 0)
            break;
        assert_false(u.map[port]);
        assert_true(port >= 2000 && port <= 2099);
        u.map[port] = 1;
        n++;
    }
    assert_int_equal(rc, -EADDRNOTAVAIL);
    /* About a quarter of the range lands on queue 2; all of them were found. */
    for (p = 2000; p <= 2099; p++)
        if (dp_rss_queue(&r, remote, local, rte_cpu_to_be_16(443), rte_cpu_to_be_16((uint16_t)p)) ==
            2)
            assert_true(u.map[p]);
    assert_true(n > 10 && n < 45);

    /* A one-port range on the wrong queue. */
    for (p = 3000;; p++)
        if (dp_rss_queue(&r, remote, local, rte_cpu_to_be_16(443), rte_cpu_to_be_16((uint16_t)p)) !=
            1)
            break;
    assert_int_equal(
        dp_rss_pick_port(&r, remote, local, 443, 1, (uint16_t)p, (uint16_t)p, 0, &port, NULL, NULL),
        -EADDRNOTAVAIL);

    /* Bad arguments. */
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, 4, 1024, 2000, 0, &port, NULL, NULL),
                     -EINVAL);
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, 0, 0, 2000, 0, &port, NULL, NULL),
                     -EINVAL);
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, 0, 3000, 2000, 0, &port, NULL, NULL),
                     -EINVAL);
}

static void test_l3_and_none(void **state)
{
    static struct used u;
    rte_be32_t remote = rte_cpu_to_be_32(0xc6120001), local = rte_cpu_to_be_32(0xc6120002);
    uint16_t reta[128], port, q, i;
    struct dp_rss r;

    (void)state;
    memset(&u, 0, sizeof(u));
    identity_reta(reta, 128, 4);
    /* IP-only hashing: the port does not matter; only the tuple's own queue works. */
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 4, false), 0);
    q = dp_rss_queue(&r, remote, local, 0, 0);
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, q, 1024, 65535, 5, &port, NULL, NULL),
                     0);
    assert_int_equal(port, 1029);
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, (uint16_t)((q + 1) % 4), 1024, 65535,
                                      5, &port, NULL, NULL),
                     -EADDRNOTAVAIL);

    /* No RSS: any free port, starting at lo + seed % range and wrapping; queue ignored. */
    assert_int_equal(dp_rss_init_none(&r, 2), 0);
    assert_int_equal(dp_rss_queue(&r, remote, local, 1, 2), 0);
    assert_int_equal(
        dp_rss_pick_port(&r, remote, local, 443, 9, 5000, 5009, 13, &port, is_used, &u), 0);
    assert_int_equal(port, 5003);
    for (i = 5000; i <= 5009; i++)
        u.map[i] = 1;
    u.map[5001] = 0;
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, 0, 5000, 5009, 5, &port, is_used, &u),
                     0);
    assert_int_equal(port, 5001);
    u.map[5001] = 1;
    assert_int_equal(dp_rss_pick_port(&r, remote, local, 443, 0, 5000, 5009, 5, &port, is_used, &u),
                     -EADDRNOTAVAIL);
    assert_int_equal(dp_rss_init_none(&r, 0), -EINVAL);
}

static void test_init_errors(void **state)
{
    uint16_t reta[128];
    struct dp_rss r;

    (void)state;
    identity_reta(reta, 128, 4);
    assert_int_equal(dp_rss_init(&r, ms_key, 39, reta, 128, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 12, reta, 128, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 56, reta, 128, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 100, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 1024, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 0, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 3, true), -EINVAL); /* entry 3 */
    assert_int_equal(dp_rss_init(&r, NULL, 40, reta, 128, 4, true), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 4, true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ms_vectors),
        cmocka_unit_test(test_reference_random),
        cmocka_unit_test(test_pick_port_lands_on_queue),
        cmocka_unit_test(test_pick_port_in_use_and_exhaustion),
        cmocka_unit_test(test_l3_and_none),
        cmocka_unit_test(test_init_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
