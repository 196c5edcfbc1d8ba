/*
 * h3 driver tests, the connection (h3_conn.c): handshake and states, keep-alive,
 * idle and handshake timeouts, the peer's application close, loss recovery,
 * junk datagrams, the caller's allocator (h3_mem.c) and the client stream cap.
 * Deterministic: the h3sink core over the in-memory loopback with an injected
 * clock (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h3_test_rig.h"

static void test_handshake(void **state)
{
    struct env e;
    struct h3_stats st;
    (void)state;

    env_start(&e, &(struct setup){0});
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CONNECTING);
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_string_equal(st.alpn, "h3");
    assert_string_equal(st.tls_version, "TLS1.3");
    assert_true(st.tls_cipher[0] != '\0');
    assert_true(st.rtt_min_ns >= 10 * MS); /* 5 ms each way */
    assert_true(st.pkts_sent > 0 && st.pkts_recv > 0);
    assert_int_equal(st.pkts_lost, 0);
    shutdown_ok(&e);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_int_equal(sink_stats(e.sink)->conns_closed_ok, 1);
    env_stop(&e);
}

static void test_idle_timeout(void **state)
{
    struct env e;
    char buf[256];
    (void)state;

    env_start(&e, &(struct setup){.client_idle_ns = 2 * SEC});
    connect_ok(&e);
    uint64_t t0 = h3_loop_now(e.loop);
    assert_int_equal(run(&e, until_closed, 60 * SEC), 0);
    assert_true(h3_loop_now(e.loop) >= t0 + 2 * SEC);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_IDLE_TIMEOUT);
    assert_int_equal(e.out.err, H3_ERR_IDLE_TIMEOUT);
    assert_int_equal(e.closed_calls, 1);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "idle"));
    env_stop(&e);
}

static void test_peer_app_error(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){.response_delay_ns = 5 * SEC});
    connect_ok(&e);
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    sink_close_all(e.sink, H3_H3_INTERNAL_ERROR, "maintenance", h3_loop_now(e.loop));
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_APPLICATION);
    assert_int_equal(e.out.origin, H3_ORIGIN_REMOTE);
    assert_int_equal(e.out.code, H3_H3_INTERNAL_ERROR);
    assert_string_equal(e.out.reason, "maintenance");
    assert_int_equal(e.res[0].o.result, H3_REQ_CONN_CLOSED);
    env_stop(&e);
}

static void test_loss_5pct(void **state)
{
    struct env e;
    const size_t n = 1u << 20;
    char dig[96];
    struct h3_loop_stats ls;
    (void)state;

    uint8_t *body = pattern(n);
    digest_header(body, n, dig, sizeof(dig));
    struct h3_header h = {"content-digest", dig};
    env_start(&e, &(struct setup){.loss_ppm = 50000, .seed = 7});
    assert_int_equal(submit(&e, 0, "GET", "/bytes/1048576", NULL, 0, NULL, 0, 2u << 20), 0);
    assert_int_equal(submit(&e, 1, "POST", "/up", body, n, &h, 1, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 300 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].body_len, n);
    assert_true(e.res[0].body_ok);
    assert_int_equal(e.res[1].o.result, H3_REQ_COMPLETED);
    assert_non_null(strstr(e.res[1].body, "\"digest\":\"ok\""));
    h3_loop_stats(e.loop, &ls);
    struct h3_stats st;
    h3_conn_stats(e.c, &st);
    assert_true(st.pkts_lost > 0);
    assert_true(st.pkts_lost <= ls.lost[H3_LOOP_C2S] + 50); /* spurious losses possible */
    assert_true(ls.lost[H3_LOOP_C2S] > 10);
    assert_true(ls.lost[H3_LOOP_S2C] > 10);
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

static bool until_never(void *arg)
{
    struct env *e = arg;
    return h3_conn_state(e->c) == H3_STATE_CLOSED;
}

/* Keep-alive PINGs hold an idle connection open past its idle timeout. */
static void test_keepalive(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){.client_idle_ns = 2 * SEC, .keepalive_ns = 500 * MS});
    connect_ok(&e);
    assert_int_equal(run(&e, until_never, 10 * SEC), -ETIMEDOUT);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    assert_true(h3_conn_confirmed(e.c)); /* the server's HANDSHAKE_DONE came */
    shutdown_ok(&e);
    env_stop(&e);
}

/* Nothing gets through: the handshake times out and the outcome says so. */
static void test_handshake_timeout(void **state)
{
    struct env e;
    char buf[128];
    (void)state;

    env_start(&e, &(struct setup){.loss_ppm = 1000000, .handshake_timeout_ns = 3 * SEC});
    assert_int_equal(run(&e, until_closed, 60 * SEC), 0);
    assert_false(e.established);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_HANDSHAKE_TIMEOUT);
    assert_int_equal(e.out.err, H3_ERR_HANDSHAKE_TIMEOUT);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_string_equal(buf, "error: handshake timeout");
    env_stop(&e);
}

/* A counting allocator standing in for a per-lcore arena. */
struct counting {
    size_t allocs, frees, live;
};

static void *cm_malloc(size_t n, void *ud)
{
    struct counting *c = ud;
    void *p = malloc(n);
    if (p) {
        c->allocs++;
        c->live++;
    }
    return p;
}

static void cm_free(void *p, void *ud)
{
    struct counting *c = ud;
    if (p) {
        c->frees++;
        c->live--;
    }
    free(p);
}

static void *cm_calloc(size_t n, size_t sz, void *ud)
{
    struct counting *c = ud;
    void *p = calloc(n, sz);
    if (p) {
        c->allocs++;
        c->live++;
    }
    return p;
}

static void *cm_realloc(void *old, size_t n, void *ud)
{
    struct counting *c = ud;
    void *p = realloc(old, n);
    if (p && !old) {
        c->allocs++;
        c->live++;
    }
    return p;
}

/* Everything ngtcp2, nghttp3 and the driver allocate goes through the caller's
 * allocator and is returned to it; a client-side stream cap is honoured. */
static void test_allocator_and_stream_cap(void **state)
{
    struct env e;
    struct counting cnt = {0};
    const struct h3_mem mem = {&cnt, cm_malloc, cm_free, cm_calloc, cm_realloc};
    (void)state;

    env_start(&e, &(struct setup){.mem = &mem, .max_streams = 3, .max_requests = 40});
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/2000", NULL, 0, NULL, 0, 0), 0);
    e.want = 40;
    e.check_open = true;
    assert_int_equal(run(&e, until_want, 30 * SEC), 0);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
    assert_true(e.max_open <= 3);
    assert_int_equal(e.max_open, 3);
    shutdown_ok(&e);
    size_t during = cnt.allocs;
    assert_true(during > 100); /* ngtcp2/nghttp3 state, streams, the pool */
    env_stop(&e);
    assert_int_equal(cnt.live, 0);
    assert_int_equal(cnt.allocs, cnt.frees);
}

/* Junk from the network (any length, any bytes) never kills the connection. */
static void test_junk_datagrams(void **state)
{
    struct env e;
    uint8_t junk[1500];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    (void)state;

    env_start(&e, &(struct setup){0});
    for (int round = 0; round < 2; round++) {
        for (size_t len = 0; len <= sizeof(junk); len += 37) {
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                junk[i] = (uint8_t)x;
            }
            if (len > 0 && round == 1)
                junk[0] &= 0x7f; /* short header form */
            assert_int_equal(h3_conn_recv(e.c, junk, len, 0, h3_loop_now(e.loop)), 0);
        }
        if (round == 0)
            connect_ok(&e);
    }
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    assert_int_equal(submit(&e, 0, "GET", "/bytes/3000", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_true(e.res[0].body_ok);
    shutdown_ok(&e);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest conn_tests[] = {
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_peer_app_error),
        cmocka_unit_test(test_loss_5pct),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_allocator_and_stream_cap),
        cmocka_unit_test(test_junk_datagrams),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(conn_tests, NULL, NULL);
}
