/*
 * h3 driver tests, graceful shutdown and GOAWAY (h3_conn_shutdown): our own
 * shutdown with max_push and requests in flight, the shutdown deadline, the
 * peer's GOAWAY and the requests it leaves not processed (the one exactly on its
 * id included, stopped as it arrives), and a request the peer refuses with
 * H3_REQUEST_REJECTED (not processed either).
 * Deterministic: the h3sink core over the in-memory loopback with an injected
 * clock (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <inttypes.h>
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

static bool until_goaway(void *arg)
{
    struct env *e = arg;
    return h3_conn_goaway_recv_id(e->c) >= 0 || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

/* GOAWAY carries the first request stream the server will not process (RFC 9114 §5.2):
 * the request exactly on that id is stopped and reported not processed the moment the
 * GOAWAY arrives, like those above it, not later when the server refuses its stream or
 * the connection closes. */
static void test_peer_goaway_exact_id(void **state)
{
    struct env e;
    struct h3_stats st;
    int64_t id;
    (void)state;

    env_start(&e, &(struct setup){.response_delay_ns = 100 * MS, .max_streams_bidi = 6});
    connect_ok(&e);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    e.want = 4;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    /* GOAWAY(16) is on its way while requests 4 and 5 open streams 16 and 20 and 6 and
     * 7 wait for stream credit. */
    sink_goaway(e.sink, h3_loop_now(e.loop));
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(run(&e, until_goaway, 10 * SEC), 0);

    /* Right after it arrived (the server's refusal of streams 16 and 20 is still on its
     * way; the first four are still waiting for their delayed answers). */
    id = h3_conn_goaway_recv_id(e.c);
    assert_int_equal(id, 16);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_DRAINING);
    for (size_t i = 0; i < 4; i++)
        assert_false(e.res[i].done);
    for (size_t i = 4; i < 8; i++) {
        if (!e.res[i].done)
            fail_msg("request %zu (stream %" PRId64 ") still runs after GOAWAY(%" PRId64 ")", i,
                     i < 6 ? id + 4 * (int64_t)(i - 4) : (int64_t)-1, id);
        assert_int_equal(e.res[i].o.result, H3_REQ_NOT_PROCESSED);
    }
    assert_int_equal(e.res[4].o.stream_id, id); /* exactly on the id */
    assert_int_equal(e.res[5].o.stream_id, id + 4);
    assert_int_equal(e.res[6].o.stream_id, -1); /* never started */
    assert_int_equal(e.res[7].o.stream_id, -1);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_not_processed, 4);
    assert_int_equal(st.streams_open, 4);

    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_not_processed, 4);
    assert_int_equal(st.requests_completed, 4);
    assert_int_equal(st.requests_failed, 0);
    assert_true(e.out.ok);
    env_stop(&e);
}

/* A server refuses a request with H3_REQUEST_REJECTED (RFC 9114 §4.1.1: nothing was
 * processed) without any GOAWAY: the request is not processed, not failed (the upload
 * engine sends it again at once), and the connection goes on. */
static void test_request_rejected(void **state)
{
    struct env e;
    struct h3_stats st;
    static const uint8_t body[] = "one record\n";
    unsigned np = 0, ok = 0;
    (void)state;

    env_start(&e, &(struct setup){.fault_reject = true, .fault_every = 2});
    connect_ok(&e);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(submit(&e, i, "POST", "/up", body, sizeof(body) - 1, NULL, 0, 0), 0);
    e.want = 4;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_true(e.res[i].done);
        if (e.res[i].o.result == H3_REQ_NOT_PROCESSED) {
            np++;
            assert_true(e.res[i].o.stream_id >= 0); /* started, then refused */
            assert_int_equal(e.res[i].o.status, 0);
        } else {
            assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
            assert_int_equal(e.res[i].o.status, 200);
            ok++;
        }
    }
    assert_int_equal(np, 2); /* the 2nd and the 4th upload the sink saw */
    assert_int_equal(ok, 2);
    assert_int_equal(sink_stats(e.sink)->rejects_sent, 2);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_not_processed, 2);
    assert_int_equal(st.requests_failed, 0);
    assert_int_equal(st.goaway_recv_id, -1);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    /* The connection still carries requests. */
    assert_int_equal(submit(&e, 4, "POST", "/up", body, sizeof(body) - 1, NULL, 0, 0), 0);
    e.want = 5;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[4].o.result, H3_REQ_COMPLETED); /* the 5th upload */
    shutdown_ok(&e);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest shutdown_tests[] = {
        cmocka_unit_test(test_shutdown_in_flight),
        cmocka_unit_test(test_shutdown_deadline),
        cmocka_unit_test(test_peer_goaway),
        cmocka_unit_test(test_peer_goaway_exact_id),
        cmocka_unit_test(test_request_rejected),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(shutdown_tests, NULL, NULL);
}
