/* test_dp_flowtab.c: flow table insert/lookup/delete, errors, and a long random run
 * checked against a plain reference model (exercises backward-shift deletion), with IPv4
 * and IPv6 remotes in the same table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_flowtab.h"

#define BE16(x) rte_cpu_to_be_16(x)

/* An IPv4 remote as a key (mapped), and an IPv6 one ending in |x| (fd00::x). */
static const struct dp_addr *V4(uint32_t a)
{
    static struct dp_addr ring[8];
    static unsigned n;
    struct dp_addr *ip = &ring[n++ % 8];

    *ip = dp_addr_v4(rte_cpu_to_be_32(a));
    return ip;
}

static const struct dp_addr *V6(uint32_t x)
{
    static struct dp_addr ring[8];
    static unsigned n;
    struct dp_addr *ip = &ring[n++ % 8];

    memset(ip, 0, sizeof(*ip));
    ip->b[0] = 0xfd;
    ip->w32[3] = rte_cpu_to_be_32(x);
    return ip;
}

static int flows[4096];
static const struct dp_addr unspecified; /* :: */

static void test_basic(void **state)
{
    struct dp_flowtab ft;

    (void)state;
    assert_int_equal(dp_flowtab_init(&ft, 4, 1), 0);
    assert_null(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5000)));
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(443), BE16(5000), &flows[0]), 0);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(443), BE16(5001), &flows[1]), 0);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120002), BE16(443), BE16(5000), &flows[2]), 0);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(444), BE16(5000), &flows[3]), 0);
    assert_int_equal(dp_flowtab_count(&ft), 4);
    /* Each part of the key matters. */
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5000)), &flows[0]);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5001)), &flows[1]);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120002), BE16(443), BE16(5000)), &flows[2]);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(444), BE16(5000)), &flows[3]);
    assert_null(dp_flowtab_lookup(&ft, V4(0xc6120002), BE16(444), BE16(5000)));

    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(443), BE16(5000), &flows[9]),
                     -EEXIST);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120009), BE16(443), BE16(5000), &flows[9]),
                     -ENOSPC);
    assert_int_equal(dp_flowtab_insert(&ft, &unspecified, BE16(443), BE16(5000), &flows[9]),
                     -EINVAL);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), 0, BE16(5000), &flows[9]), -EINVAL);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(443), 0, &flows[9]), -EINVAL);
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120001), BE16(443), BE16(1), NULL), -EINVAL);

    assert_int_equal(dp_flowtab_delete(&ft, V4(0xc6120001), BE16(443), BE16(5001)), 0);
    assert_int_equal(dp_flowtab_delete(&ft, V4(0xc6120001), BE16(443), BE16(5001)), -ENOENT);
    assert_int_equal(dp_flowtab_delete(&ft, V4(0), 0, 0), -ENOENT);
    assert_null(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5001)));
    assert_int_equal(dp_flowtab_count(&ft), 3);
    /* Room again after a delete. */
    assert_int_equal(dp_flowtab_insert(&ft, V4(0xc6120009), BE16(443), BE16(5000), &flows[9]), 0);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(444), BE16(5000)), &flows[3]);
    /* The same ports and low address bits, the other family: another key. An IPv6 remote
     * whose last 32 bits equal an IPv4 one's is not it either. */
    assert_int_equal(dp_flowtab_delete(&ft, V4(0xc6120009), BE16(443), BE16(5000)), 0);
    assert_null(dp_flowtab_lookup(&ft, V6(0xc6120001), BE16(443), BE16(5000)));
    assert_int_equal(dp_flowtab_insert(&ft, V6(0xc6120001), BE16(443), BE16(5000), &flows[10]), 0);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V6(0xc6120001), BE16(443), BE16(5000)), &flows[10]);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5000)), &flows[0]);
    assert_int_equal(dp_flowtab_insert(&ft, V6(0xc6120001), BE16(443), BE16(5000), &flows[10]),
                     -EEXIST);
    assert_int_equal(dp_flowtab_delete(&ft, V6(0xc6120001), BE16(443), BE16(5000)), 0);
    assert_ptr_equal(dp_flowtab_lookup(&ft, V4(0xc6120001), BE16(443), BE16(5000)), &flows[0]);
    /* Multicast and loopback remotes are refused. */
    {
        struct dp_addr m = *V6(1);

        m.b[0] = 0xff;
        assert_int_equal(dp_flowtab_insert(&ft, &m, BE16(443), BE16(7000), &flows[9]), -EINVAL);
        assert_int_equal(dp_flowtab_insert(&ft, V4(0x7f000001), BE16(443), BE16(7000), &flows[9]),
                         -EINVAL);
    }
    dp_flowtab_free(&ft);
    dp_flowtab_free(&ft); /* idempotent */

    assert_int_equal(dp_flowtab_init(&ft, 0, 1), -EINVAL);
    assert_int_equal(dp_flowtab_init(&ft, (1u << 24) + 1, 1), -EINVAL);
}

/* Random inserts and deletes over a small key space (many collisions and wrap-arounds in
 * an 8-flow table) must agree with a reference array at every step. */
static void check_model(uint32_t max_flows, uint32_t keys, int steps, uint64_t seed)
{
    struct dp_flowtab ft;
    static int present[4096];
    uint32_t rnd = (uint32_t)seed, n = 0, k;
    int i;

    memset(present, 0, sizeof(present));
    assert_int_equal(dp_flowtab_init(&ft, max_flows, seed), 0);
    for (i = 0; i < steps; i++) {
        const struct dp_addr *ip;
        rte_be16_t rp, lp;
        int rc;

        rnd = rnd * 1103515245u + 12345u;
        k = (rnd >> 8) % keys;
        ip = k & 1 ? V6(0xc6120000u + (k % 7) + 1) : V4(0xc6120000u + (k % 7) + 1);
        rp = BE16((uint16_t)(443 + k % 3));
        lp = BE16((uint16_t)(1024 + k));
        if ((rnd >> 24) & 1) {
            rc = dp_flowtab_insert(&ft, ip, rp, lp, &flows[k]);
            if (present[k]) {
                assert_int_equal(rc, -EEXIST);
            } else if (n >= max_flows) {
                assert_int_equal(rc, -ENOSPC);
            } else {
                assert_int_equal(rc, 0);
                present[k] = 1;
                n++;
            }
        } else {
            rc = dp_flowtab_delete(&ft, ip, rp, lp);
            assert_int_equal(rc, present[k] ? 0 : -ENOENT);
            if (present[k]) {
                present[k] = 0;
                n--;
            }
        }
        assert_int_equal(dp_flowtab_count(&ft), n);
        if (i % 16 == 0) {
            uint32_t j;

            for (j = 0; j < keys; j++) {
                const struct dp_addr *jip =
                    j & 1 ? V6(0xc6120000u + (j % 7) + 1) : V4(0xc6120000u + (j % 7) + 1);
                void *f = dp_flowtab_lookup(&ft, jip, BE16((uint16_t)(443 + j % 3)),
                                            BE16((uint16_t)(1024 + j)));
                assert_ptr_equal(f, present[j] ? &flows[j] : NULL);
            }
        }
    }
    dp_flowtab_free(&ft);
}

static void test_model_small(void **state)
{
    (void)state;
    check_model(8, 24, 100000, 3);
    check_model(1, 4, 10000, 4);
}

static void test_model_large(void **state)
{
    (void)state;
    check_model(1000, 1500, 100000, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_model_small),
        cmocka_unit_test(test_model_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
