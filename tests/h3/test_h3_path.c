/*
 * h3 driver tests, the path signals between the driver and its backend: reachability hints
 * (h3_io_ops.progress: the peer acknowledged what we sent) and ECN both ways (the codepoint
 * ngtcp2 asks for on every packet, the one each datagram arrived with handed to ngtcp2,
 * counted in h3_stats.ecn_tx/ecn_rx). The loopback carries the codepoints and can mark CE.
 * argv[1]: the test PKI directory (tests/certs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "h3_test_rig.h"

/* run() for a while: nothing to wait for. */
static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* POSTs |n| bytes into result slot |i| and waits for it to complete with 200. */
static void post(struct env *e, size_t i, size_t n)
{
    uint8_t *body = pattern(n);

    assert_int_equal(submit(e, i, "POST", "/upload", body, n, NULL, 0, 0), 0);
    e->want = i + 1;
    assert_int_equal(run(e, until_want, 60 * SEC), 0);
    assert_int_equal(e->res[i].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e->res[i].o.status, 200);
    free(body);
}

/* The driver tells the backend when the peer acknowledged data: from the confirmed
 * handshake on, while a body is acknowledged, at most once per received datagram; nothing
 * while the path carries nothing new. */
static void test_progress_hints(void **state)
{
    struct env e;
    struct h3_loop_stats st, st2;
    uint64_t t;
    (void)state;

    env_start(&e, &(struct setup){0});
    h3_loop_stats(e.loop, &st);
    assert_int_equal(st.progress, 0); /* nothing acknowledged before the handshake */
    connect_ok(&e);
    assert_int_equal(run(&e, never, 100 * MS), -ETIMEDOUT); /* HANDSHAKE_DONE, SETTINGS acks */
    h3_loop_stats(e.loop, &st);
    assert_true(st.progress >= 1);
    post(&e, 0, 1 << 20);
    h3_loop_stats(e.loop, &st2);
    /* A megabyte acknowledged in many ACKs: many hints, each for a datagram received. */
    assert_true(st2.progress > st.progress + 10);
    assert_true(st2.progress - st.progress <= st2.delivered[H3_LOOP_S2C] - st.delivered[H3_LOOP_S2C]);
    assert_true(st2.last_progress_ns > st.last_progress_ns);
    /* Idle: no new data, no hint. */
    t = st2.last_progress_ns;
    assert_int_equal(run(&e, never, 2 * SEC), -ETIMEDOUT);
    h3_loop_stats(e.loop, &st);
    assert_true(st.last_progress_ns <= t + 200 * MS); /* the last ACKs of the response */
    shutdown_ok(&e);
    env_stop(&e);
}

/* ECN validation succeeds end to end: our packets go ECT(0), the server's arrive ECT(0),
 * each side counts what the other marked. */
static void test_ecn_marks(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_loop_stats ls;
    (void)state;

    env_start(&e, &(struct setup){0});
    connect_ok(&e);
    post(&e, 0, 256 << 10);
    h3_conn_stats(e.c, &st);
    h3_loop_stats(e.loop, &ls);
    /* What we counted is what the loop carried. */
    assert_int_equal(st.ecn_tx.ect0, ls.ecn_sent[H3_LOOP_C2S][H3_LOOP_ECN_ECT0]);
    assert_int_equal(st.ecn_tx.not_ect, ls.ecn_sent[H3_LOOP_C2S][H3_LOOP_ECN_NOT_ECT]);
    assert_int_equal(st.ecn_tx.ect0 + st.ecn_tx.not_ect, st.pkts_sent);
    /* Validated (the sink echoed the counts in ACK_ECN frames): ngtcp2 kept marking. */
    assert_true(st.ecn_tx.ect0 > st.pkts_sent * 3 / 4);
    assert_true(st.ecn_rx.ect0 > st.pkts_recv / 2);
    assert_int_equal(st.ecn_rx.ce, 0);
    assert_int_equal(st.ecn_tx.ce + st.ecn_tx.ect1 + st.ecn_rx.ect1, 0);
    assert_true(sink_stats(e.sink)->pkts_in_ect > st.pkts_sent / 2);
    assert_int_equal(sink_stats(e.sink)->pkts_in_ce, 0);
    shutdown_ok(&e);
    env_stop(&e);
}

/* A congested path marks CE both ways: each end sees the marks, reports them, and the
 * transfers still complete (CE is a congestion signal, not loss). */
static void test_ecn_ce(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_loop_stats ls;
    (void)state;

    env_start(&e, &(struct setup){.ce_ppm_c2s = 50000, .ce_ppm_s2c = 50000});
    connect_ok(&e);
    post(&e, 0, 1 << 20);
    h3_conn_stats(e.c, &st);
    h3_loop_stats(e.loop, &ls);
    assert_true(ls.ce_marked[H3_LOOP_S2C] > 0);
    assert_int_equal(st.ecn_rx.ce, ls.ce_marked[H3_LOOP_S2C]);
    assert_true(ls.ce_marked[H3_LOOP_C2S] > 0);
    assert_int_equal(sink_stats(e.sink)->pkts_in_ce, ls.ce_marked[H3_LOOP_C2S]);
    /* ngtcp2 does not give up on ECN for CE marks: it keeps sending ECT(0). */
    assert_true(st.ecn_tx.ect0 > st.pkts_sent * 3 / 4);
    shutdown_ok(&e);
    env_stop(&e);
}

/* The packet-size histogram counts every datagram each way, in the bucket of its size:
 * a bulk POST's packets are the path's largest (1452 after PMTUD), the largest datagram
 * the loop carried falls in the highest bucket counted. */
static void test_pkt_sizes(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_loop_stats ls;
    uint64_t tx = 0, rx = 0;
    unsigned top = 0;
    (void)state;

    env_start(&e, &(struct setup){0});
    connect_ok(&e);
    post(&e, 0, 256 << 10);
    h3_conn_stats(e.c, &st);
    h3_loop_stats(e.loop, &ls);
    for (unsigned i = 0; i < H3_PKT_SIZE_BUCKETS; i++) {
        tx += st.pkt_size_tx[i];
        rx += st.pkt_size_rx[i];
        if (st.pkt_size_tx[i])
            top = i;
    }
    assert_true(top > 0);
    assert_int_equal(tx, st.pkts_sent);
    assert_int_equal(rx, st.pkts_recv);
    /* 256 KiB in datagrams of up to 1452 bytes (the Initials padded to 1200 go below):
     * bucket (1200, 1452] holds most of them, at least 150 (256 KiB / 1452 is 180). */
    assert_int_equal(h3_pkt_size_bound(2), 1200);
    assert_int_equal(h3_pkt_size_bound(3), 1452);
    assert_true(st.pkt_size_tx[3] > tx / 2 && st.pkt_size_tx[3] > 150);
    assert_true(st.pkt_size_tx[2] > 0); /* the client's Initials: 1200 bytes */
    assert_true(ls.max_len[H3_LOOP_C2S] > h3_pkt_size_bound(top - 1));
    assert_true(ls.max_len[H3_LOOP_C2S] <= h3_pkt_size_bound(top));
    /* The server's side is ACKs and a small response: small datagrams dominate. */
    assert_true(st.pkt_size_rx[0] + st.pkt_size_rx[1] > rx / 2);
    assert_int_equal(h3_pkt_size_bound(H3_PKT_SIZE_BUCKETS - 1), 0);
    shutdown_ok(&e);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_hints),
        cmocka_unit_test(test_ecn_marks),
        cmocka_unit_test(test_ecn_ce),
        cmocka_unit_test(test_pkt_sizes),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
