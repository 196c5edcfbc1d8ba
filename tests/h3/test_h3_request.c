/*
 * h3 driver tests, requests (h3_req.c): the request lifecycle, memory and producer
 * bodies, the KEEP sink and results, field validation, the request pool and
 * stream scheduling, a malformed response, a local close with requests pending.
 * Deterministic: the h3sink core over the in-memory loopback with an injected
 * clock (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h3_test_rig.h"

static void test_get(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){0});
    /* Submitted before the handshake: queued, then sent. */
    assert_int_equal(submit(&e, 0, "GET", "/bytes/100000", NULL, 0, NULL, 0, 1 << 20), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_true(e.res[0].done);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].body_len, 100000);
    assert_true(e.res[0].body_ok);
    assert_int_equal(e.res[0].o.stream_id, 0);
    shutdown_ok(&e);
    env_stop(&e);
}

/* Header sets beyond the slot's inline space (an operator's long bearer token): the slot
 * grows a buffer once and keeps it; sets beyond H3_REQ_HEADER_MAX are refused. */
static void test_large_headers(void **state)
{
    static char token[12000], huge[H3_REQ_HEADER_MAX + 1];
    struct env e;
    (void)state;

    memset(token, 'A', sizeof(token) - 1);
    memcpy(token, "Bearer ", 7);
    memset(huge, 'b', sizeof(huge) - 1);
    struct h3_header hdrs[] = { { "authorization", token }, { "x-tenant", "acme" } };
    struct h3_header too_big[] = { { "x-huge", huge } };
    env_start(&e, &(struct setup){0});
    connect_ok(&e);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(submit(&e, i, "GET", "/bytes/10", NULL, 0, hdrs, 2, 0), 0);
        e.want = i + 1;
        assert_int_equal(run(&e, until_want, 10 * SEC), 0);
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    assert_int_equal(submit(&e, 3, "GET", "/", NULL, 0, too_big, 1, 0), H3_ERR_TOO_LARGE);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_post_10mib_digest(void **state)
{
    struct env e;
    const size_t n = 10u << 20;
    char dig[96];
    (void)state;

    uint8_t *body = pattern(n);
    digest_header(body, n, dig, sizeof(dig));
    struct h3_header h = {"content-digest", dig};
    env_start(&e, &(struct setup){0});
    assert_int_equal(submit(&e, 0, "POST", "/upload", body, n, &h, 1, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 120 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].o.body_sent, n);
    assert_non_null(strstr(e.res[0].body, "\"bytes\":10485760"));
    assert_non_null(strstr(e.res[0].body, "\"digest\":\"ok\""));
    assert_int_equal(sink_stats(e.sink)->digest_ok, 1);
    assert_int_equal(sink_stats(e.sink)->body_bytes_in, n);

    /* A wrong digest is caught by the server: 400, digest mismatch. */
    body[12345] ^= 1;
    assert_int_equal(submit(&e, 1, "POST", "/upload", body, 65536, &h, 1, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[1].o.status, 400);
    assert_non_null(strstr(e.res[1].body, "mismatch"));
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

/* Producer with backpressure: every other call says WOULDBLOCK; the test
 * resumes it from the loop, as an application would when data arrives. */
static int produce(struct h3_req *r, void *ud, const uint8_t **data, size_t *len, bool *eof)
{
    struct env *e = g_env;
    static uint8_t chunk[16384 + PATTERN_MOD];
    (void)r;
    (void)ud;
    if (chunk[1] == 0)
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)(i % PATTERN_MOD);
    e->prod_calls++;
    if (e->prod_block_next) {
        e->prod_block_next = false;
        e->prod_blocked++;
        return H3_PRODUCE_WOULDBLOCK;
    }
    e->prod_block_next = true;
    uint64_t left = e->prod_total - e->prod_off;
    size_t n = left < 16384 ? (size_t)left : 16384;
    *data = chunk + e->prod_off % PATTERN_MOD;
    *len = n;
    e->prod_off += n;
    *eof = e->prod_off == e->prod_total;
    return 0;
}

static struct h3_req *g_prod_req;

static bool until_want_resume(void *arg)
{
    struct env *e = arg;
    if (g_prod_req && e->n_done == 0) {
        h3_req_resume(g_prod_req);
        h3_conn_flush(e->c, h3_loop_now(e->loop));
    }
    return until_want(arg);
}

/* A producer body, its length unknown (|declared| 0: no content-length) or declared. */
static void post_producer(size_t declared)
{
    struct env e;
    struct h3_req_params rp = {0};

    env_start(&e, &(struct setup){0});
    g_env = &e;
    connect_ok(&e);
    e.prod_total = 1u << 20;
    rp.method = "PUT";
    rp.path = "/stream";
    rp.body = H3_BODY_PRODUCER;
    rp.body_len = declared;
    rp.produce = produce;
    rp.sink = H3_SINK_KEEP;
    rp.on_complete = on_complete_count;
    rp.ud = &e.res[0];
    assert_int_equal(h3_conn_request(e.c, &rp, h3_loop_now(e.loop), &g_prod_req), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want_resume, 30 * SEC), 0);
    g_prod_req = NULL;
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].o.body_sent, 1u << 20);
    assert_non_null(strstr(e.res[0].body, "\"bytes\":1048576"));
    assert_true(e.prod_blocked > 10);
    assert_int_equal(sink_stats(e.sink)->body_bytes_in, 1u << 20);
    /* content-length only when the length was declared */
    assert_int_equal(sink_stats(e.sink)->uploads_no_length, declared ? 0 : 1);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_post_producer(void **state)
{
    (void)state;
    post_producer(0);
}

static void test_post_producer_length(void **state)
{
    (void)state;
    post_producer(1u << 20);
}

/* A producer that gives more than it declared fails rather than send a false
 * content-length's worth. */
static void test_post_producer_overrun(void **state)
{
    struct env e;
    struct h3_req_params rp = {0};
    (void)state;

    env_start(&e, &(struct setup){0});
    g_env = &e;
    connect_ok(&e);
    e.prod_total = 1u << 20;
    rp.method = "PUT";
    rp.path = "/stream";
    rp.body = H3_BODY_PRODUCER;
    rp.body_len = 1000; /* it gives 16 KiB at once */
    rp.produce = produce;
    rp.sink = H3_SINK_KEEP;
    rp.on_complete = on_complete_count;
    rp.ud = &e.res[0];
    assert_int_equal(h3_conn_request(e.c, &rp, h3_loop_now(e.loop), &g_prod_req), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want_resume, 30 * SEC), 0);
    g_prod_req = NULL;
    assert_int_not_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(sink_stats(e.sink)->responses_2xx, 0);
    env_stop(&e);
}

static void test_1000_requests_limit_10(void **state)
{
    struct env e;
    const size_t n = 1000;
    (void)state;

    env_start(&e, &(struct setup){.max_streams_bidi = 10, .max_requests = n});
    for (size_t i = 0; i < n; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/100", NULL, 0, NULL, 0, 0), 0);
    e.want = n;
    e.check_open = true;
    assert_int_equal(run(&e, until_want, 120 * SEC), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
        assert_int_equal(e.res[i].body_len, 100);
        assert_true(e.res[i].body_ok);
    }
    assert_true(e.max_open <= 10);
    assert_true(e.max_open >= 5);
    assert_int_equal(sink_stats(e.sink)->requests, n);
    /* Pool exhausted is a clear error, not a crash. */
    struct h3_stats st;
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_completed, n);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_malformed_response_headers(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){.fault_bad_headers = 1});
    connect_ok(&e);
    assert_int_equal(submit(&e, 0, "GET", "/fault/bad-headers", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_FAILED);
    assert_int_equal(e.res[0].o.code, H3_H3_MESSAGE_ERROR);
    /* A stream error: the connection is fine and serves the next request. */
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    assert_int_equal(submit(&e, 1, "GET", "/bytes/10", NULL, 0, NULL, 0, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[1].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[1].o.status, 200);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_local_close_and_errors(void **state)
{
    struct env e;
    struct h3_header many[H3_REQ_MAX_HEADERS + 1];
    (void)state;

    env_start(&e, &(struct setup){.max_requests = 2});
    connect_ok(&e);
    for (size_t i = 0; i < H3_REQ_MAX_HEADERS + 1; i++)
        many[i] = (struct h3_header){"x-a", "b"};
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, many, H3_REQ_MAX_HEADERS + 1, 0),
                     H3_ERR_TOO_LARGE);
    assert_int_equal(submit(&e, 0, NULL, "/", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    /* Bad input is refused with a clear error, never sent. */
    static const struct h3_header bad[][1] = {
        {{"X-Upper", "1"}}, {{":path", "/x"}},   {{"connection", "close"}},
        {{"te", "gzip"}},   {{"bad name", "1"}}, {{"x-ok", "line\r\nbreak"}},
        {{"", "1"}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, bad[i], 1, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GE T", "/", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GET", "no-slash", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GET", "/a b", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    static const struct h3_header good[] = {{"te", "trailers"}, {"x-fine", "v a l"}};
    struct h3_stats st0;
    h3_conn_stats(e.c, &st0);
    assert_int_equal(st0.requests_queued, 0);
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, good, 2, 0), 0);
    assert_int_equal(submit(&e, 1, "OPTIONS", "*", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(submit(&e, 2, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_NOBUFS);
    /* Submitting writes nothing; the expiry says "now" until a flush sends it. */
    assert_int_equal(h3_conn_expiry(e.c), 0);
    assert_int_equal(h3_conn_flush(e.c, h3_loop_now(e.loop)), 0);
    assert_true(h3_conn_expiry(e.c) > 0);
    assert_int_equal(h3_conn_close(e.c, H3_H3_REQUEST_CANCELLED, "bye", h3_loop_now(e.loop)), 0);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CLOSING);
    assert_int_equal(h3_conn_close(e.c, 0, NULL, h3_loop_now(e.loop)), H3_ERR_STATE);
    assert_int_equal(e.res[0].o.result, H3_REQ_CONN_CLOSED);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_false(e.out.ok);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_int_equal(e.out.code, H3_H3_REQUEST_CANCELLED);
    assert_string_equal(e.out.reason, "bye");
    env_stop(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest request_tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_large_headers),
        cmocka_unit_test(test_post_10mib_digest),
        cmocka_unit_test(test_post_producer),
        cmocka_unit_test(test_post_producer_length),
        cmocka_unit_test(test_post_producer_overrun),
        cmocka_unit_test(test_1000_requests_limit_10),
        cmocka_unit_test(test_malformed_response_headers),
        cmocka_unit_test(test_local_close_and_errors),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(request_tests, NULL, NULL);
}
