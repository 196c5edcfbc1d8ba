/* Unit tests of the log rate limiter (base/ratelim.h): the burst, the refill on the
 * caller's clock, the count of held-back lines handed to the next allowed one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelim.h"

#define S 1000000000ull

static void test_burst_then_rate(void **state)
{
    struct ratelim r;
    uint64_t held = 99, now = 100 * S;
    (void)state;

    ratelim_init(&r, 3, 2 * S);
    for (int i = 0; i < 3; i++) {
        assert_true(ratelim_allow(&r, now, &held));
        assert_int_equal(held, 0);
    }
    /* A flood in the same instant: all held back and counted. */
    for (int i = 0; i < 100; i++)
        assert_false(ratelim_allow(&r, now + (uint64_t)i, &held));
    /* Not yet one interval. */
    assert_false(ratelim_allow(&r, now + 2 * S - 1, &held));
    /* One interval later: one line, which says how many were held back. */
    assert_true(ratelim_allow(&r, now + 2 * S, &held));
    assert_int_equal(held, 101);
    assert_false(ratelim_allow(&r, now + 2 * S + 1, &held));
    assert_true(ratelim_allow(&r, now + 4 * S, &held));
    assert_int_equal(held, 1);
}

static void test_refill_is_capped(void **state)
{
    struct ratelim r;
    uint64_t held;
    (void)state;

    ratelim_init(&r, 2, S);
    assert_true(ratelim_allow(&r, 5 * S, &held));
    /* An hour of quiet gives back the burst, not 3600 lines. */
    assert_true(ratelim_allow(&r, 3605 * S, &held));
    assert_true(ratelim_allow(&r, 3605 * S, &held));
    assert_false(ratelim_allow(&r, 3605 * S, &held));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_refill_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
