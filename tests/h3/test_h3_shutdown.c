/*
 * h3 driver tests, graceful shutdown and GOAWAY (h3_conn_shutdown): our own
 * shutdown with max_push and requests in flight, the shutdown deadline, the
 * peer's GOAWAY and the requests it leaves not processed.
 * Deterministic: the h3sink core over the in-memory loopback with an injected
 * clock (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "h3_test_rig.h"

static void test_shutdown_in_flight(void **state)
{
    struct env e;
    struct h3_stats st;
    const size_t n = 20;
    (void)state;

    env_start(&e, &(struct setup){.response_delay_ns = 200 * MS});
    connect_ok(&e);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/5000", NULL, 0, NULL, 0, 8192), 0);
    e.want = n;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.streams_open, n);
    assert_int_equal(e.n_done, 0);

    assert_int_equal(h3_conn_shutdown(e.c, 7, 0, h3_loop_now(e.loop)), 0);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_DRAINING);
    /* New requests are refused from now on. */
    assert_int_equal(submit(&e, n, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_SHUTDOWN);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
        assert_int_equal(e.res[i].body_len, 5000);
    }
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    assert_int_equal(e.out.kind, H3_CLOSE_APPLICATION);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.goaway_sent_id, 0);
    assert_int_equal(st.max_push_requested, 7);
    assert_int_equal(st.max_push_effective, 0);
    assert_int_equal(st.requests_completed, n);
    /* Let the server see the close. */
    run(&e, until_closed, SEC);
    struct h3_loop_stats ls;
    h3_loop_stats(e.loop, &ls);
    env_stop(&e);
}

static void test_shutdown_deadline(void **state)
{
    struct env e;
    struct h3_stats st;
    char buf[256];
    (void)state;

    env_start(&e, &(struct setup){.response_delay_ns = 10 * SEC, .max_streams_bidi = 3});
    connect_ok(&e);
    for (size_t i = 0; i < 5; i++) /* 3 in flight, 2 queued */
        assert_int_equal(submit(&e, i, "GET", "/slow", NULL, 0, NULL, 0, 0), 0);
    e.want = 3;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    uint64_t t0 = h3_loop_now(e.loop);
    assert_int_equal(h3_conn_shutdown(e.c, 0, t0 + 100 * MS, t0), 0);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_true(h3_loop_now(e.loop) >= t0 + 100 * MS);
    assert_true(h3_loop_now(e.loop) < t0 + 2 * SEC);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_CANCELLED);
        assert_int_equal(e.res[i].o.code, H3_H3_REQUEST_CANCELLED);
    }
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_cancelled, 5);
    /* Everything was accounted for before the close, so it is still H3_NO_ERROR. */
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "H3_NO_ERROR"));
    env_stop(&e);
}

static void test_peer_goaway(void **state)
{
    struct env e;
    struct h3_stats st;
    (void)state;

    env_start(&e, &(struct setup){.response_delay_ns = 100 * MS, .max_streams_bidi = 6});
    connect_ok(&e);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    e.want = 4;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    /* The server says GOAWAY while two more requests are on their way and two
     * more wait for stream credit: those four were never processed. */
    sink_goaway(e.sink, h3_loop_now(e.loop));
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(e.res[i].o.result, H3_REQ_NOT_PROCESSED);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.goaway_recv_id, 16); /* next unprocessed: stream 4 * 4 */
    assert_int_equal(st.requests_not_processed, 4);
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    assert_int_equal(submit(&e, 9, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_CLOSED);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest shutdown_tests[] = {
        cmocka_unit_test(test_shutdown_in_flight),
        cmocka_unit_test(test_shutdown_deadline),
        cmocka_unit_test(test_peer_goaway),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(shutdown_tests, NULL, NULL);
}
