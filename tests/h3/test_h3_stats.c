/*
 * h3 driver tests, statistics and strings (h3_stats.c, h3_err.c): error, state
 * and result names, outcome formatting, parameter errors.
 * argv[1]: the test PKI directory (tests/certs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "h3_test_rig.h"

static void test_params_and_strings(void **state)
{
    struct h3_conn_params p;
    struct h3_conn *c = (struct h3_conn *)1;
    char buf[128];
    (void)state;

    h3_conn_params_default(&p);
    assert_int_equal(h3_conn_new(&p, 0, &c), H3_ERR_INVAL);
    assert_null(c);
    assert_int_equal(h3_conn_new(NULL, 0, &c), H3_ERR_INVAL);
    h3_conn_del(NULL);
    assert_string_equal(h3_strerror(H3_ERR_TLS_VERIFY), "server certificate verification failed");
    assert_string_equal(h3_state_str(H3_STATE_DRAINING), "draining");
    assert_string_equal(h3_req_result_str(H3_REQ_NOT_PROCESSED), "not-processed");
    struct h3_outcome o = {.ok = true, .kind = H3_CLOSE_APPLICATION, .code = 0x100};
    h3_outcome_str(&o, buf, sizeof(buf));
    assert_string_equal(buf, "ok: local application 0x100 (H3_NO_ERROR)");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest stats_tests[] = {
        cmocka_unit_test(test_params_and_strings),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(stats_tests, NULL, NULL);
}
