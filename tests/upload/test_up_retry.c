/* test_up_retry: Retry-After values (RFC 9110 §10.2.3) with an injected wall clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "up_retry.h"

#define S 1000000000ll
/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date. */
#define RFC_DATE 784111777

static void test_delay_seconds(void **state)
{
    (void)state;
    assert_int_equal(up_retry_after_ns("0", 0), 0);
    assert_int_equal(up_retry_after_ns("1", 0), S);
    assert_int_equal(up_retry_after_ns("120", 0), 120 * S);
    assert_int_equal(up_retry_after_ns("3600", 0), 3600 * S);
    /* Clamped to an hour, including values that would overflow 64 bits. */
    assert_int_equal(up_retry_after_ns("3601", 0), UP_RETRY_AFTER_MAX_S * S);
    assert_int_equal(up_retry_after_ns("99999999999999999999999999", 0), UP_RETRY_AFTER_MAX_S * S);
}

static void test_http_date(void **state)
{
    (void)state;
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
    assert_int_equal(up_retry_after_ns(d, RFC_DATE - 30), 30 * S);
    assert_int_equal(up_retry_after_ns(d, RFC_DATE), 0);
    assert_int_equal(up_retry_after_ns(d, RFC_DATE + 500), 0); /* in the past: now */
    assert_int_equal(up_retry_after_ns(d, RFC_DATE - 86400), UP_RETRY_AFTER_MAX_S * S);
}

static void test_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "-1", "1.5", "10 ", " 10", "10s", "0x10", "soon",
        "Sun, 06 Nov 1994 08:49:37",          /* no zone */
        "Sun, 06 Nov 1994 08:49:37 UTC",      /* not GMT */
        "Sun, 6 Nov 1994 08:49:37 GMT",       /* not fixed width */
        "Sunday, 06-Nov-94 08:49:37 GMT",     /* obsolete RFC 850 form: not accepted */
        "Sun Nov  6 08:49:37 1994",           /* asctime form: not accepted */
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (up_retry_after_ns(bad[i], RFC_DATE) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_seconds),
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
