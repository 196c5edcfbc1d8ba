/*
 * h3 driver tests, statistics and strings (h3_stats.c, h3_err.c): error, state
 * and result names, outcome formatting, parameter errors; the path MTU a Packet Too Big
 * reports (h3_conn_path_mtu) bounds the datagrams sent; key updates (h3_conn_update_keys,
 * the sink's sink_update_keys) counted with the key phase, data flowing across them.
 * argv[1]: the test PKI directory (tests/certs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

/* POSTs |n| bytes and returns the largest datagram the client sent meanwhile. */
static size_t post_max_datagram(struct env *e, size_t slot, const uint8_t *body, size_t n)
{
    struct h3_loop_stats ls;

    h3_loop_reset_max_len(e->loop);
    assert_int_equal(submit(e, slot, "POST", "/upload", body, n, NULL, 0, 0), 0);
    e->want = slot + 1;
    assert_int_equal(run(e, until_want, 60 * SEC), 0);
    assert_int_equal(e->res[slot].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e->res[slot].o.status, 200);
    assert_int_equal(e->res[slot].o.body_sent, n);
    h3_loop_stats(e->loop, &ls);
    return ls.max_len[H3_LOOP_C2S];
}

static void test_path_mtu(void **state)
{
    const size_t n = 512 * 1024;
    uint8_t *body = pattern(n);
    struct h3_stats st;
    struct env e;
    size_t big;
    (void)state;

    env_start(&e, &(struct setup){0});
    connect_ok(&e);
    /* The path lets 1452 through: ngtcp2's MTU probes take the datagrams up to it. */
    big = post_max_datagram(&e, 0, body, n);
    h3_conn_stats(e.c, &st);
    assert_true(big > 1400);
    assert_int_equal(st.pmtu_reports, 0);
    /* A Packet Too Big says 1280 on the way (1232 of UDP payload over IPv6). */
    h3_conn_path_mtu(e.c, 1280 - 48);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.pmtu_reports, 1);
    assert_int_equal(st.max_udp_payload, 1232);
    assert_true(post_max_datagram(&e, 1, body, n) <= 1232);
    /* A larger report does not undo it (the path MTU grows only by probing); one below
     * QUIC's minimum is raised to 1200. */
    h3_conn_path_mtu(e.c, 1400);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.max_udp_payload, 1232);
    h3_conn_path_mtu(e.c, 500);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.pmtu_reports, 3);
    assert_int_equal(st.max_udp_payload, 1200);
    assert_true(post_max_datagram(&e, 2, body, n) <= 1200);
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

static bool until_confirmed(void *arg)
{
    struct env *e = arg;
    return h3_conn_confirmed(e->c) || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

/* A POST of |body| (its content-digest checked by the sink) and a GET of |n| pattern bytes
 * into slots |slot| and |slot| + 1, both intact. */
static void exchange_ok(struct env *e, size_t slot, const uint8_t *body, size_t n)
{
    char dig[128], path[64];
    struct h3_header h = {"content-digest", dig};

    digest_header(body, n, dig, sizeof(dig));
    snprintf(path, sizeof(path), "/bytes/%zu", n);
    assert_int_equal(submit(e, slot, "POST", "/upload", body, n, &h, 1, 0), 0);
    assert_int_equal(submit(e, slot + 1, "GET", path, NULL, 0, NULL, 0, n), 0);
    e->want = slot + 2;
    assert_int_equal(run(e, until_want, 60 * SEC), 0);
    assert_int_equal(e->res[slot].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e->res[slot].o.status, 200); /* the digest matched */
    assert_int_equal(e->res[slot].o.body_sent, n);
    assert_int_equal(e->res[slot + 1].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e->res[slot + 1].o.status, 200);
    assert_int_equal(e->res[slot + 1].body_len, n);
    assert_true(e->res[slot + 1].body_ok);
}

/* Starts a key update from the client, or from the sink (|by_sink|), as soon as one may
 * start (ngtcp2 paces them: the previous one confirmed, then 3 PTOs; an idle connection
 * derives its next keys when it next writes, which each attempt makes it do). */
static void update_keys(struct env *e, bool by_sink)
{
    for (int i = 0; i < 1000; i++) {
        uint64_t now = h3_loop_now(e->loop);
        if (by_sink ? sink_update_keys(e->sink, now) == 1 : h3_conn_update_keys(e->c, now) == 0)
            return;
        h3_loop_advance(e->loop, now + 10 * MS);
        run(e, until_closed, 0);
    }
    fail_msg("no key update could start in 10 s (%s)", by_sink ? "sink" : "client");
}

/* Key updates started by either end, each with data both ways across it: the client's
 * stats count every one and give the phase; the sink keeps serving (content-digests and
 * the /bytes pattern intact); an update is refused before the handshake is confirmed and
 * while the previous one is not. */
static void test_key_update(void **state)
{
    const size_t n = 64 * 1024;
    uint8_t *body = pattern(n);
    struct h3_stats st;
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){0});
    assert_int_equal(h3_conn_update_keys(e.c, h3_loop_now(e.loop)), H3_ERR_STATE);
    connect_ok(&e);
    assert_int_equal(run(&e, until_confirmed, 10 * SEC), 0);
    assert_true(h3_conn_confirmed(e.c));
    exchange_ok(&e, 0, body, n);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.key_updates, 0);
    assert_int_equal(st.key_phase, 0);

    for (unsigned k = 1; k <= 6; k++) {
        bool by_sink = k % 3 == 0; /* 3 and 6: the peer's */
        update_keys(&e, by_sink);
        if (!by_sink) /* not confirmed yet: no second one */
            assert_int_equal(h3_conn_update_keys(e.c, h3_loop_now(e.loop)), H3_ERR_STATE);
        exchange_ok(&e, 2 * k, body, n);
        h3_conn_stats(e.c, &st);
        assert_int_equal(st.key_updates, k);
        assert_int_equal(st.key_phase, k % 2);
    }
    assert_int_equal(sink_stats(e.sink)->key_updates_started, 2);
    assert_int_equal(sink_stats(e.sink)->digest_ok, 7);
    assert_int_equal(sink_stats(e.sink)->digest_bad, 0);
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest stats_tests[] = {
        cmocka_unit_test(test_params_and_strings),
        cmocka_unit_test(test_path_mtu),
        cmocka_unit_test(test_key_update),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(stats_tests, NULL, NULL);
}
