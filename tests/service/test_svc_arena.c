/* test_svc_arena: the per-worker allocator — size classes, reuse, realloc, counters, and a
 * random stress against a reference of what every live block must contain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svc_arena.h"

static void test_classes(void **state)
{
    (void)state;
    struct svc_arena *a = svc_arena_new();
    static const size_t sizes[] = { 0, 1, 16, 17, 24, 25, 33, 100, 1000, 4096, 4097,
                                    49152, 49153, 65536 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = svc_arena_malloc(a, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        size_t u = svc_arena_usable(p);
        assert_true(u >= sizes[i]);
        assert_true(u <= 16 || u < 2 * sizes[i]); /* at most 1.5x + rounding */
        if (sizes[i] > 128) /* eight classes per octave: at most 1/8 wasted */
            assert_true(u <= sizes[i] + sizes[i] / 8);
        memset(p, 0xab, u);
        svc_arena_free(a, p);
    }
    struct svc_arena_stats st;
    svc_arena_stats(a, &st);
    assert_int_equal(st.in_use, 0);
    assert_true(st.peak > 65536);
    assert_int_equal(st.allocs, st.frees);
    svc_arena_del(a);
}

/* Every size from 1 to 64 KiB gets the smallest class that holds it: no more than 15
 * bytes over up to 128, at most an eighth over beyond; the class of its usable size is
 * its own (realloc within it stays in place). */
static void test_class_bounds(void **state)
{
    (void)state;
    struct svc_arena *a = svc_arena_new();
    size_t prev = 0;
    for (size_t n = 1; n <= 65536; n += (n < 4096 ? 1 : 61)) {
        uint8_t *p = svc_arena_malloc(a, n);
        assert_non_null(p);
        size_t u = svc_arena_usable(p);
        assert_true(u >= n);
        assert_true(u % 16 == 0);
        assert_true(n <= 128 ? u - n < 16 : u - n <= n / 8);
        assert_true(u >= prev); /* classes grow with the size */
        prev = u;
        assert_ptr_equal(svc_arena_realloc(a, p, u), p);
        svc_arena_free(a, p);
    }
    svc_arena_del(a);
}

static void test_reuse_and_large(void **state)
{
    (void)state;
    struct svc_arena *a = svc_arena_new();
    void *p = svc_arena_malloc(a, 190);
    svc_arena_free(a, p);
    void *q = svc_arena_malloc(a, 185); /* same class (192): the freed block comes back */
    assert_ptr_equal(p, q);
    struct svc_arena_stats before, after;
    svc_arena_stats(a, &before);
    uint8_t *big = svc_arena_malloc(a, 1 << 20); /* beyond the classes: libc */
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    svc_arena_stats(a, &after);
    assert_int_equal(after.large, before.large + 1);
    assert_true(after.footprint >= before.footprint + (1 << 20));
    svc_arena_free(a, big);
    svc_arena_stats(a, &after);
    assert_int_equal(after.footprint, before.footprint);
    svc_arena_free(a, q);
    uint8_t *z = svc_arena_calloc(a, 100, 10);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(z[i], 0);
    assert_null(svc_arena_calloc(a, SIZE_MAX / 2, 4)); /* overflow refused */
    svc_arena_free(a, z);
    svc_arena_free(a, NULL);
    svc_arena_del(a);
}

static void test_arena_realloc(void **state)
{
    (void)state;
    struct svc_arena *a = svc_arena_new();
    uint8_t *p = svc_arena_realloc(a, NULL, 10);
    for (int i = 0; i < 10; i++)
        p[i] = (uint8_t)i;
    p = svc_arena_realloc(a, p, 12); /* same class: in place */
    p = svc_arena_realloc(a, p, 100000);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i], i);
    p = svc_arena_realloc(a, p, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p[i], i);
    assert_null(svc_arena_realloc(a, p, 0));
    struct svc_arena_stats st;
    svc_arena_stats(a, &st);
    assert_int_equal(st.in_use, 0);
    svc_arena_del(a);
}

/* Fails unless the |n| bytes at |p| are all |v| (one scan, not an assertion per byte:
 * the stress test checks megabytes, under valgrind too). */
static void check_fill(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] != v)
            fail_msg("byte %zu of a block is %u, want %u", k, p[k], v);
}

/* Random allocate/free/realloc, each block filled with its own byte and checked before
 * it goes: overlapping blocks or a bad free list would show as a wrong byte. */
static void test_stress(void **state)
{
    (void)state;
    enum { N = 512, ROUNDS = 200000 };
    struct svc_arena *a = svc_arena_new();
    uint8_t *blk[N] = { 0 };
    size_t len[N] = { 0 };
    uint32_t x = 12345;
    const struct h3_mem *m = svc_arena_mem(a);

    for (int r = 0; r < ROUNDS; r++) {
        x = x * 1664525u + 1013904223u;
        unsigned i = (x >> 8) % N;
        if (blk[i]) {
            check_fill(blk[i], len[i], (uint8_t)i);
            if (x & 1) {
                m->free(blk[i], m->ud);
                blk[i] = NULL;
                continue;
            }
            size_t nl = (x >> 20) % 3000;
            uint8_t *p = m->realloc(blk[i], nl, m->ud);
            if (nl == 0) {
                assert_null(p);
                blk[i] = NULL;
                continue;
            }
            check_fill(p, len[i] < nl ? len[i] : nl, (uint8_t)i);
            memset(p, (int)i, nl);
            blk[i] = p;
            len[i] = nl;
        } else {
            len[i] = (x >> 16) % ((x & 0x100) ? 70000 : 600) + 1;
            blk[i] = m->malloc(len[i], m->ud);
            assert_non_null(blk[i]);
            memset(blk[i], (int)i, len[i]);
        }
    }
    for (unsigned i = 0; i < N; i++)
        m->free(blk[i], m->ud);
    struct svc_arena_stats st;
    svc_arena_stats(a, &st);
    assert_int_equal(st.in_use, 0);
    svc_arena_del(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_class_bounds),
        cmocka_unit_test(test_reuse_and_large),
        cmocka_unit_test(test_arena_realloc),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
