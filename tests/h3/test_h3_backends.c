/*
 * Unit tests of the h3 I/O backends: the in-memory loopback (seeded loss and
 * reordering, clock, run loop) and the kernel UDP backend's TX batching (UDP
 * GSO runs must come out as the same datagrams, in order, on 127.0.0.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "kio.h"
#include "h3_loop.h"
#include "mono.h"

/* ------------------------------------------------------------ loopback */

struct sink_ep {
    struct h3_loop *l;
    int got;
    uint8_t order[512];
    uint64_t at[512];
    uint8_t ecn[512];
};

static void ep_recv(void *ctx, const uint8_t *data, size_t len, uint8_t ecn, uint64_t now)
{
    struct sink_ep *e = ctx;
    assert_true(len >= 1);
    if (e->got < 512) {
        e->order[e->got] = data[0];
        e->at[e->got] = now;
        e->ecn[e->got] = ecn;
    }
    e->got++;
}

static uint64_t ep_never(void *ctx)
{
    (void)ctx;
    return UINT64_MAX;
}

static void ep_noop(void *ctx, uint64_t now)
{
    (void)ctx;
    (void)now;
}

static bool got_all(void *arg)
{
    struct sink_ep *e = arg;
    return e->got >= 200;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* Send |n| client datagrams tagged 0..n-1 through the client I/O ops, datagram i with ECN
 * codepoint i % 4. */
static void send_n(struct h3_loop *l, int n)
{
    for (int i = 0; i < n; i++) {
        size_t cap;
        void *pkt;
        uint8_t *b = h3_loop_client_ops.tx_get(l, &cap, &pkt);
        assert_non_null(b);
        assert_true(cap >= 1200);
        b[0] = (uint8_t)i;
        assert_int_equal(h3_loop_client_ops.tx_put(l, pkt, 100, (uint8_t)(i % 4)), 0);
    }
}

static int deliver_all(struct h3_loop *l, struct sink_ep *srv)
{
    struct sink_ep cli = { 0 };
    const struct h3_loop_ep c = { &cli, ep_recv, ep_never, ep_noop, NULL };
    const struct h3_loop_ep s = { srv, ep_recv, ep_never, ep_noop, NULL };
    return h3_loop_run(l, &c, &s, never, NULL, h3_loop_now(l) + 1000000000ULL);
}

static void test_loop_delay_and_order(void **state)
{
    struct h3_loop_params p;
    struct sink_ep srv = { 0 };
    (void)state;

    h3_loop_params_default(&p);
    struct h3_loop *l = h3_loop_new(&p);
    assert_non_null(l);
    uint64_t t0 = h3_loop_now(l);
    send_n(l, 50);
    /* Everything delivered, then nothing is left to happen. */
    assert_int_equal(deliver_all(l, &srv), -EDEADLK);
    assert_int_equal(srv.got, 50);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(srv.order[i], i);
        assert_int_equal(srv.at[i], t0 + p.delay_ns[H3_LOOP_C2S]);
        assert_int_equal(srv.ecn[i], i % 4); /* the codepoint travels with the datagram */
    }
    h3_loop_del(l);
}

/* A congested path marks ECN-capable datagrams CE and leaves not-ECT ones alone; the
 * client's reachability hints are counted. */
static void test_loop_ecn_ce(void **state)
{
    struct h3_loop_params p;
    struct sink_ep srv = { 0 };
    struct h3_loop_stats st;
    int ce_from_ect = 0;
    (void)state;

    h3_loop_params_default(&p);
    p.ce_ppm[H3_LOOP_C2S] = 1000000; /* every one */
    struct h3_loop *l = h3_loop_new(&p);
    assert_non_null(l);
    send_n(l, 200);
    assert_int_equal(deliver_all(l, &srv), -EDEADLK);
    assert_int_equal(srv.got, 200);
    for (int i = 0; i < 200; i++) {
        uint8_t sent = (uint8_t)(srv.order[i] % 4);

        if (sent == H3_LOOP_ECN_NOT_ECT)
            assert_int_equal(srv.ecn[i], H3_LOOP_ECN_NOT_ECT);
        else
            assert_int_equal(srv.ecn[i], H3_LOOP_ECN_CE);
        ce_from_ect += sent == H3_LOOP_ECN_ECT0 || sent == H3_LOOP_ECN_ECT1;
    }
    h3_loop_stats(l, &st);
    assert_int_equal(st.ce_marked[H3_LOOP_C2S], ce_from_ect);
    assert_int_equal(st.ecn_sent[H3_LOOP_C2S][H3_LOOP_ECN_ECT0], 50);
    assert_int_equal(st.progress, 0);
    h3_loop_client_ops.progress(l, 77);
    h3_loop_stats(l, &st);
    assert_int_equal(st.progress, 1);
    assert_int_equal(st.last_progress_ns, 77);
    h3_loop_del(l);
    p.ce_ppm[H3_LOOP_S2C] = 1000001;
    assert_null(h3_loop_new(&p));
}

static void test_loop_seeded_loss_reorder(void **state)
{
    struct h3_loop_params p;
    struct sink_ep a = { 0 }, b = { 0 };
    struct h3_loop_stats st;
    (void)state;

    h3_loop_params_default(&p);
    p.seed = 99;
    p.loss_ppm[H3_LOOP_C2S] = 100000;   /* 10 % */
    p.reorder_ppm[H3_LOOP_C2S] = 100000;
    struct h3_loop *l1 = h3_loop_new(&p), *l2 = h3_loop_new(&p);
    assert_non_null(l1);
    assert_non_null(l2);
    send_n(l1, 200);
    send_n(l2, 200);
    deliver_all(l1, &a);
    deliver_all(l2, &b);
    /* Same seed, same fate for every datagram. */
    assert_int_equal(a.got, b.got);
    assert_memory_equal(a.order, b.order, (size_t)a.got);
    h3_loop_stats(l1, &st);
    assert_int_equal(st.sent[H3_LOOP_C2S], 200);
    assert_int_equal(st.delivered[H3_LOOP_C2S] + st.lost[H3_LOOP_C2S], 200);
    assert_true(st.lost[H3_LOOP_C2S] > 5 && st.lost[H3_LOOP_C2S] < 40);
    assert_true(st.reordered[H3_LOOP_C2S] > 5);
    int inversions = 0;
    for (int i = 1; i < a.got; i++)
        inversions += a.order[i] < a.order[i - 1];
    assert_true(inversions > 0);
    h3_loop_del(l1);
    h3_loop_del(l2);

    /* 100 % loss: nothing arrives. */
    p.loss_ppm[H3_LOOP_C2S] = 1000000;
    struct h3_loop *l3 = h3_loop_new(&p);
    struct sink_ep c = { 0 };
    send_n(l3, 10);
    assert_int_equal(deliver_all(l3, &c), -EDEADLK);
    assert_int_equal(c.got, 0);
    h3_loop_del(l3);
}

static uint64_t ep_soon(void *ctx)
{
    struct sink_ep *e = ctx;
    return h3_loop_now(e->l) + 1000000; /* a timer every ms, forever */
}

static void test_loop_timeout_and_params(void **state)
{
    struct h3_loop_params p;
    struct sink_ep e = { 0 };
    (void)state;

    h3_loop_params_default(&p);
    struct h3_loop *l = h3_loop_new(&p);
    e.l = l;
    const struct h3_loop_ep c = { &e, ep_recv, ep_soon, ep_noop, NULL };
    const struct h3_loop_ep s = { &e, ep_recv, ep_never, ep_noop, NULL };
    uint64_t t0 = h3_loop_now(l);
    assert_int_equal(h3_loop_run(l, &c, &s, got_all, &e, t0 + 50000000), -ETIMEDOUT);
    assert_true(h3_loop_now(l) <= t0 + 50000000);
    assert_true(h3_loop_now(l) >= t0 + 49000000);
    /* Oversized datagrams and a full ring are refused, not truncated. */
    uint8_t big[4096] = { 0 };
    assert_int_equal(h3_loop_send(l, H3_LOOP_S2C, big, sizeof(big), 0), -EMSGSIZE);
    h3_loop_del(l);

    p.slots = 2;
    l = h3_loop_new(&p);
    assert_int_equal(h3_loop_send(l, H3_LOOP_S2C, big, 100, 0), 0);
    assert_int_equal(h3_loop_send(l, H3_LOOP_S2C, big, 100, 0), 0);
    assert_int_equal(h3_loop_send(l, H3_LOOP_S2C, big, 100, 0), -ENOBUFS);
    h3_loop_del(l);

    p.slot_size = 100;
    assert_null(h3_loop_new(&p));
    h3_loop_params_default(&p);
    p.loss_ppm[0] = 2000000;
    assert_null(h3_loop_new(&p));
    h3_loop_del(NULL);
}

/* ------------------------------------------------------------ kernel UDP */

/* The ECN codepoint of packet |i| of |round|: none, ECT(0) on all, or alternating (which
 * must split GSO runs: a super-datagram has one TOS). */
static uint8_t ecn_of(int round, size_t i)
{
    switch (round % 3) {
    case 0:
        return 0;
    case 1:
        return 2;
    default:
        return i % 2 ? 2 : 3;
    }
}

static void test_kio_tx_batches(void **state)
{
    struct sockaddr_in srv = { .sin_family = AF_INET };
    socklen_t sl = sizeof(srv);
    struct kio *k;
    struct kio_stats st;
    /* Runs of equal sizes (GSO candidates), shorter tails, a larger packet that
     * must start a new run, and more packets than one batch holds. */
    static const size_t sizes[] = { 1200, 1200, 1200, 1200, 700, 1200, 1300, 1300, 1300,
                                    100,  1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452 };
    const size_t n = sizeof(sizes) / sizeof(sizes[0]);
    (void)state;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&srv, sizeof(srv)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&srv, &sl), 0);
    int rcvbuf = 4 << 20, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)), 0);

    for (int gso = 0; gso < 2; gso++) {
        assert_int_equal(kio_new((struct sockaddr *)&srv, sizeof(srv), !gso, &k), 0);
        socklen_t ll;
        const struct sockaddr_in *local = (const struct sockaddr_in *)kio_local(k, &ll);
        assert_int_equal(local->sin_family, AF_INET);
        assert_true(local->sin_port != 0);
        for (int round = 0; round < 10; round++) {
            for (size_t i = 0; i < n; i++) {
                size_t cap;
                void *pkt;
                uint8_t *b = kio_ops.tx_get(k, &cap, &pkt);
                assert_non_null(b);
                assert_true(cap >= 1452);
                memset(b, (int)(round * n + i), sizes[i]);
                assert_int_equal(kio_ops.tx_put(k, pkt, sizes[i], ecn_of(round, i)), 0);
            }
        }
        assert_int_equal(kio_flush(k), 0);
        kio_stats(k, &st);
        if (!gso)
            assert_int_equal(st.gso_sends, 0);
        else if (st.gso)
            assert_true(st.gso_sends > 0);
        assert_int_equal(st.dgrams_sent, 10 * n);
        /* The receiver sees exactly the datagrams written, in order, each with the ECN
         * codepoint it was given. */
        uint8_t buf[2048];
        for (size_t j = 0; j < 10 * n; j++) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
            } ctl;
            struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
            struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                                .msg_controllen = sizeof(ctl.b) };
            int tos = -1;
            assert_int_equal(poll(&pfd, 1, 2000), 1);
            ssize_t r = recvmsg(fd, &h, 0);
            assert_int_equal(r, sizes[j % n]);
            assert_int_equal(buf[0], (uint8_t)j);
            assert_int_equal(buf[r - 1], (uint8_t)j);
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm))
                if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
                    tos = *CMSG_DATA(cm);
            assert_int_equal(tos, ecn_of((int)(j / n), j % n));
        }
        kio_del(k);
    }
    close(fd);
}

static void test_kio_errors(void **state)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    struct kio *k = (struct kio *)1;
    (void)state;
    assert_int_equal(kio_new((struct sockaddr *)&un, sizeof(un), false, &k), -EINVAL);
    assert_null(k);
    assert_int_equal(kio_new(NULL, 0, false, &k), -EINVAL);
    assert_int_equal(kio_run(NULL, 0, NULL, NULL, 0), -EINVAL);
    kio_del(NULL);
    uint64_t a = mono_ns(), b = mono_ns();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_delay_and_order),
        cmocka_unit_test(test_loop_seeded_loss_reorder),
        cmocka_unit_test(test_loop_ecn_ce),
        cmocka_unit_test(test_loop_timeout_and_params),
        cmocka_unit_test(test_kio_tx_batches),
        cmocka_unit_test(test_kio_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
