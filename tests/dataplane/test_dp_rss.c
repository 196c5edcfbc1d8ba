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

/* The same page's IPv6 table: every row (the "TCP" column hashes the ports too, which is
 * what a NIC does for UDP with RTE_ETH_RSS_NONFRAG_IPV6_UDP). */
static const struct {
    uint8_t dst[16];
    uint16_t dport;
    uint8_t src[16];
    uint16_t sport;
    uint32_t ipv6_only;
    uint32_t ipv6_tcp;
} ms_vectors6[] = {
    {{0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, [15] = 0x01}, /* 3ffe:2501:200:3::1 */
     1766,
     {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, [15] = 0x07}, /* 3ffe:2501:200:1fff::7 */
     2794,
     0x2cc18cd5,
     0x40207d3d},
    {{0xff, 0x02, [15] = 0x01}, /* ff02::1 */
     4739,
     {0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0x00, 0x00, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef,
      0xab}, /* 3ffe:501:8::260:97ff:fe40:efab */
     14230,
     0x0f0c461c,
     0xdde51bbf},
    {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf},
     /* fe80::200:f8ff:fe21:67cf */
     38024,
     {0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67,
      0xcf}, /* 3ffe:1900:4545:3:200:f8ff:fe21:67cf */
     44251,
     0x4b61e985,
     0x02d1feef},
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
    assert_int_equal(
        dp_rss_init(&l4, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), 0);
    assert_int_equal(
        dp_rss_init(&l3, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L3, DP_RSS_TOEPLITZ_L3), 0);
    for (i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
        struct dp_addr s = dp_addr_v4(ip4(ms_vectors[i].src));
        struct dp_addr d = dp_addr_v4(ip4(ms_vectors[i].dst));
        rte_be16_t sp = rte_cpu_to_be_16(ms_vectors[i].sport);
        rte_be16_t dp = rte_cpu_to_be_16(ms_vectors[i].dport);

        assert_int_equal(dp_rss_hash(&l4, &s, &d, sp, dp), ms_vectors[i].ipv4_tcp);
        assert_int_equal(dp_rss_hash(&l3, &s, &d, sp, dp), ms_vectors[i].ipv4_only);
        /* The hash is direction-sensitive: the reverse tuple is a different value. */
        assert_int_not_equal(dp_rss_hash(&l4, &d, &s, dp, sp), ms_vectors[i].ipv4_tcp);
        /* Queue = RETA indexed by the hash's low bits. */
        assert_int_equal(dp_rss_queue(&l4, &s, &d, sp, dp), reta[ms_vectors[i].ipv4_tcp & 127]);
    }
}

static void test_ms_vectors6(void **state)
{
    uint16_t reta[128];
    struct dp_rss l4, l3, v4only;
    size_t i;

    (void)state;
    identity_reta(reta, 128, 4);
    assert_int_equal(
        dp_rss_init(&l4, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L3, DP_RSS_TOEPLITZ_L4), 0);
    assert_int_equal(
        dp_rss_init(&l3, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L3), 0);
    assert_int_equal(
        dp_rss_init(&v4only, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_NONE), 0);
    for (i = 0; i < sizeof(ms_vectors6) / sizeof(ms_vectors6[0]); i++) {
        struct dp_addr s = dp_addr_v6(ms_vectors6[i].src), d = dp_addr_v6(ms_vectors6[i].dst);
        rte_be16_t sp = rte_cpu_to_be_16(ms_vectors6[i].sport);
        rte_be16_t dp = rte_cpu_to_be_16(ms_vectors6[i].dport);

        /* Each family follows its own mode. */
        assert_int_equal(dp_rss_hash(&l4, &s, &d, sp, dp), ms_vectors6[i].ipv6_tcp);
        assert_int_equal(dp_rss_hash(&l3, &s, &d, sp, dp), ms_vectors6[i].ipv6_only);
        assert_int_not_equal(dp_rss_hash(&l4, &d, &s, dp, sp), ms_vectors6[i].ipv6_tcp);
        assert_int_equal(dp_rss_queue(&l4, &s, &d, sp, dp), reta[ms_vectors6[i].ipv6_tcp & 127]);
        /* A NIC that does not hash IPv6: queue 0 (software steering). */
        assert_int_equal(dp_rss_hash(&v4only, &s, &d, sp, dp), 0);
        assert_int_equal(dp_rss_queue(&v4only, &s, &d, sp, dp), 0);
    }
    /* The IPv4 rows through the same models: l4 hashes IPv4 by address only. */
    {
        struct dp_addr s = dp_addr_v4(ip4(ms_vectors[0].src)),
                       d = dp_addr_v4(ip4(ms_vectors[0].dst));

        assert_int_equal(dp_rss_hash(&l4, &s, &d, rte_cpu_to_be_16(ms_vectors[0].sport),
                                     rte_cpu_to_be_16(ms_vectors[0].dport)),
                         ms_vectors[0].ipv4_only);
    }
}

static void test_pick_port6(void **state)
{
    struct dp_addr remote, local;
    uint16_t reta[128], port, q;
    struct dp_rss r;

    (void)state;
    assert_int_equal(dp_addr_parse("fd00::1", &remote), 0);
    assert_int_equal(dp_addr_parse("fd00::2", &local), 0);
    identity_reta(reta, 128, 4);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), 0);
    for (q = 0; q < 4; q++) {
        for (uint32_t seed = 0; seed < 50; seed++) {
            assert_int_equal(dp_rss_pick_port(&r, &remote, &local, 4433, q, 49152, 65535,
                                              seed * 7919u, &port, NULL, NULL),
                             0);
            assert_int_equal(
                dp_rss_queue(&r, &remote, &local, rte_cpu_to_be_16(4433), rte_cpu_to_be_16(port)),
                q);
        }
    }
    /* Without IPv6 hashing any port does; the queue asked for does not matter. */
    assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_NONE), 0);
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 4433, 9, 5000, 5009, 13, &port, NULL, NULL), 0);
    assert_int_equal(port, 5003);
    /* An IPv6 mode needs 40 bytes of key (36 of input + 4). */
    assert_int_equal(
        dp_rss_init(&r, ms_key, 36, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(dp_rss_init(&r, ms_key, 36, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_NONE), 0);
}

static void test_reference_random(void **state)
{
    uint8_t key[52], in[36];
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
            assert_int_equal(dp_rss_init(&r, shifted + 1, 52, reta, 64, 8, DP_RSS_TOEPLITZ_L4,
                                         DP_RSS_TOEPLITZ_L4),
                             0);
        }
        for (i = 0; i < 200; i++) {
            rte_be32_t s4, d4;
            struct dp_addr s, d;
            rte_be16_t sp, dp;
            int j;

            for (j = 0; j < 36; j++) {
                rnd = rnd * 1103515245u + 12345u;
                in[j] = (uint8_t)(rnd >> 16);
            }
            /* IPv4: 12 bytes of input. */
            memcpy(&s4, in, 4);
            memcpy(&d4, in + 4, 4);
            memcpy(&sp, in + 8, 2);
            memcpy(&dp, in + 10, 2);
            s = dp_addr_v4(s4);
            d = dp_addr_v4(d4);
            assert_int_equal(dp_rss_hash(&r, &s, &d, sp, dp), ref_toeplitz(key, in, 12));
            /* IPv6: 36 (a v4-mapped prefix would read as IPv4: never the case here). */
            in[10] = (uint8_t)(in[10] | 1);
            s = dp_addr_v6(in);
            d = dp_addr_v6(in + 16);
            memcpy(&sp, in + 32, 2);
            memcpy(&dp, in + 34, 2);
            assert_int_equal(dp_rss_hash(&r, &s, &d, sp, dp), ref_toeplitz(key, in, 36));
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
    struct dp_addr remote = dp_addr_v4(rte_cpu_to_be_32(0xc6120001));
    struct dp_addr local = dp_addr_v4(rte_cpu_to_be_32(0xc6120002));
    uint16_t reta[512];
    size_t a, b;

    (void)state;
    for (a = 0; a < sizeof(nqs) / sizeof(nqs[0]); a++) {
        for (b = 0; b < sizeof(retas) / sizeof(retas[0]); b++) {
            struct dp_rss r;
            uint16_t q;

            identity_reta(reta, retas[b], nqs[a]);
            assert_int_equal(dp_rss_init(&r, ms_key, 40, reta, retas[b], nqs[a], DP_RSS_TOEPLITZ_L4,
                                         DP_RSS_TOEPLITZ_L4),
                             0);
            for (q = 0; q < nqs[a]; q++) {
                uint32_t seed;

                for (seed = 0; seed < 50; seed++) {
                    uint16_t port = 0;

                    assert_int_equal(dp_rss_pick_port(&r, &remote, &local, 443, q, 1024, 65535,
                                                      seed * 7919u, &port, NULL, NULL),
                                     0);
                    assert_true(port >= 1024);
                    /* RX direction: remote -> us, our port is the destination. */
                    assert_int_equal(dp_rss_queue(&r, &remote, &local, rte_cpu_to_be_16(443),
                                                  rte_cpu_to_be_16(port)),
                                     q);
                    assert_int_equal(reta[dp_rss_hash(&r, &remote, &local, rte_cpu_to_be_16(443),
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
    struct dp_addr remote = dp_addr_v4(rte_cpu_to_be_32(0xc6120001));
    struct dp_addr local = dp_addr_v4(rte_cpu_to_be_32(0xc6120002));
    uint16_t reta[128], port, n = 0;
    struct dp_rss r;
    uint32_t p;
    int rc;

    (void)state;
    memset(&u, 0, sizeof(u));
    identity_reta(reta, 128, 4);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), 0);
    /* Take every port of [2000, 2099] that lands on queue 2: each pick is new, then none. */
    for (;;) {
        rc = dp_rss_pick_port(&r, &remote, &local, 443, 2, 2000, 2099, n, &port, is_used, &u);
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
        if (dp_rss_queue(&r, &remote, &local, rte_cpu_to_be_16(443),
                         rte_cpu_to_be_16((uint16_t)p)) == 2)
            assert_true(u.map[p]);
    assert_true(n > 10 && n < 45);

    /* A one-port range on the wrong queue. */
    for (p = 3000;; p++)
        if (dp_rss_queue(&r, &remote, &local, rte_cpu_to_be_16(443),
                         rte_cpu_to_be_16((uint16_t)p)) != 1)
            break;
    assert_int_equal(dp_rss_pick_port(&r, &remote, &local, 443, 1, (uint16_t)p, (uint16_t)p, 0,
                                      &port, NULL, NULL),
                     -EADDRNOTAVAIL);

    /* Bad arguments. */
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, 4, 1024, 2000, 0, &port, NULL, NULL), -EINVAL);
    assert_int_equal(dp_rss_pick_port(&r, &remote, &local, 443, 0, 0, 2000, 0, &port, NULL, NULL),
                     -EINVAL);
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, 0, 3000, 2000, 0, &port, NULL, NULL), -EINVAL);
}

static void test_l3_and_none(void **state)
{
    static struct used u;
    struct dp_addr remote = dp_addr_v4(rte_cpu_to_be_32(0xc6120001));
    struct dp_addr local = dp_addr_v4(rte_cpu_to_be_32(0xc6120002));
    uint16_t reta[128], port, q, i;
    struct dp_rss r;

    (void)state;
    memset(&u, 0, sizeof(u));
    identity_reta(reta, 128, 4);
    /* IP-only hashing: the port does not matter; only the tuple's own queue works. */
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L3, DP_RSS_TOEPLITZ_L3), 0);
    q = dp_rss_queue(&r, &remote, &local, 0, 0);
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, q, 1024, 65535, 5, &port, NULL, NULL), 0);
    assert_int_equal(port, 1029);
    assert_int_equal(dp_rss_pick_port(&r, &remote, &local, 443, (uint16_t)((q + 1) % 4), 1024,
                                      65535, 5, &port, NULL, NULL),
                     -EADDRNOTAVAIL);

    /* No RSS: any free port, starting at lo + seed % range and wrapping; queue ignored. */
    assert_int_equal(dp_rss_init_none(&r, 2), 0);
    assert_int_equal(dp_rss_queue(&r, &remote, &local, 1, 2), 0);
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, 9, 5000, 5009, 13, &port, is_used, &u), 0);
    assert_int_equal(port, 5003);
    for (i = 5000; i <= 5009; i++)
        u.map[i] = 1;
    u.map[5001] = 0;
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, 0, 5000, 5009, 5, &port, is_used, &u), 0);
    assert_int_equal(port, 5001);
    u.map[5001] = 1;
    assert_int_equal(
        dp_rss_pick_port(&r, &remote, &local, 443, 0, 5000, 5009, 5, &port, is_used, &u),
        -EADDRNOTAVAIL);
    assert_int_equal(dp_rss_init_none(&r, 0), -EINVAL);
}

static void test_init_errors(void **state)
{
    uint16_t reta[128];
    struct dp_rss r;

    (void)state;
    identity_reta(reta, 128, 4);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 39, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 12, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 56, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 100, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 1024, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4),
        -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 0, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 3, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4),
        -EINVAL); /* entry 3 */
    assert_int_equal(
        dp_rss_init(&r, NULL, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), -EINVAL);
    assert_int_equal(
        dp_rss_init(&r, ms_key, 40, reta, 128, 4, DP_RSS_TOEPLITZ_L4, DP_RSS_TOEPLITZ_L4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ms_vectors),
        cmocka_unit_test(test_ms_vectors6),
        cmocka_unit_test(test_pick_port6),
        cmocka_unit_test(test_reference_random),
        cmocka_unit_test(test_pick_port_lands_on_queue),
        cmocka_unit_test(test_pick_port_in_use_and_exhaustion),
        cmocka_unit_test(test_l3_and_none),
        cmocka_unit_test(test_init_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
