/* Unit tests for svc_msg: main <-> worker rings, the message pool and the wake-up
 * protocol, single-threaded and with real worker threads. No EAL needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "svc_bus.h"

static bool efd_readable(struct svc_bus *bus)
{
    struct pollfd p = {.fd = svc_bus_eventfd(bus), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_create_errors(void **state)
{
    int err = 0;

    (void)state;
    assert_null(svc_bus_new(0, 8, 8, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(svc_bus_new(1, 6, 8, &err)); /* not a power of two */
    assert_int_equal(err, -EINVAL);
    assert_null(svc_bus_new(1, 8, 0, &err));
    assert_int_equal(err, -EINVAL);
    svc_bus_del(NULL);
}

static void test_roundtrip(void **state)
{
    struct svc_msg *m, *got[4];
    struct svc_bus *bus;
    int err;

    (void)state;
    bus = svc_bus_new(2, 8, 16, &err);
    assert_non_null(bus);
    assert_int_equal(svc_bus_workers(bus), 2);
    assert_int_equal(svc_bus_pool_free(bus), 16);

    m = svc_msg_alloc(bus);
    assert_non_null(m);
    assert_int_equal(svc_bus_pool_free(bus), 15);
    m->token = 0x1234;
    m->conn_id = 7;
    m->type = 3;
    memcpy(m->arg, "max_push=3", 11);
    m->len = 11;
    assert_int_equal(svc_bus_send(bus, 1, m), 0);
    assert_int_equal(svc_bus_send(bus, 2, m), -EINVAL);

    /* only worker 1 sees it */
    assert_int_equal(svc_bus_worker_poll(bus, 0, got, 4), 0);
    assert_int_equal(svc_bus_worker_poll(bus, 5, got, 4), 0);
    assert_int_equal(svc_bus_worker_poll(bus, 1, got, 4), 1);
    assert_ptr_equal(got[0], m);
    assert_int_equal(got[0]->worker, 1);
    assert_int_equal(got[0]->token, 0x1234);
    assert_string_equal((const char *)got[0]->arg, "max_push=3");

    /* the worker answers with the same message */
    got[0]->status = -ENOENT;
    assert_int_equal(svc_bus_post(bus, got[0]), 0);
    assert_int_equal(svc_bus_drain(bus, got, 4), 1);
    assert_int_equal(got[0]->status, -ENOENT);
    assert_int_equal(got[0]->conn_id, 7);
    svc_msg_free(bus, got[0]);
    svc_msg_free(bus, NULL);
    assert_int_equal(svc_bus_pool_free(bus), 16);
    /* messages come back zeroed */
    m = svc_msg_alloc(bus);
    assert_int_equal(m->token, 0);
    assert_int_equal(m->len, 0);
    svc_msg_free(bus, m);
    svc_bus_del(bus);
}

static void test_pool_exhaustion(void **state)
{
    struct svc_msg *m[8];
    struct svc_bus *bus;
    int err;

    (void)state;
    bus = svc_bus_new(1, 16, 8, &err);
    assert_non_null(bus);
    for (int i = 0; i < 8; i++) {
        m[i] = svc_msg_alloc(bus);
        assert_non_null(m[i]);
    }
    assert_null(svc_msg_alloc(bus));
    assert_int_equal(svc_bus_pool_free(bus), 0);
    svc_msg_free(bus, m[3]);
    m[3] = svc_msg_alloc(bus);
    assert_non_null(m[3]);
    assert_null(svc_msg_alloc(bus));
    for (int i = 0; i < 8; i++)
        svc_msg_free(bus, m[i]);
    assert_int_equal(svc_bus_pool_free(bus), 8);
    svc_bus_del(bus);
}

static void test_ring_full(void **state)
{
    struct svc_msg *m[8], *got[8];
    struct svc_bus *bus;
    int err;

    (void)state;
    bus = svc_bus_new(1, 4, 8, &err); /* rings hold 3 */
    assert_non_null(bus);
    for (int i = 0; i < 4; i++)
        m[i] = svc_msg_alloc(bus);
    for (int i = 0; i < 3; i++)
        assert_int_equal(svc_bus_send(bus, 0, m[i]), 0);
    assert_int_equal(svc_bus_send(bus, 0, m[3]), -ENOBUFS);
    assert_int_equal(svc_bus_worker_poll(bus, 0, got, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(svc_bus_post(bus, got[i]), 0);
    assert_int_equal(svc_bus_post(bus, m[3]), -ENOBUFS);
    assert_int_equal(svc_bus_drain(bus, got, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(got[i], m[i]); /* FIFO */
    for (int i = 0; i < 4; i++)
        svc_msg_free(bus, m[i]);
    svc_bus_del(bus);
}

static void test_wakeup_only_when_armed(void **state)
{
    struct svc_msg *m[3], *got[4];
    struct svc_bus *bus;
    int err;

    (void)state;
    bus = svc_bus_new(1, 8, 8, &err);
    for (int i = 0; i < 3; i++)
        m[i] = svc_msg_alloc(bus);
    /* not armed: posting makes no syscall and no wake-up */
    assert_int_equal(svc_bus_post(bus, m[0]), 0);
    assert_false(efd_readable(bus));
    assert_int_equal(svc_bus_wakeups(bus), 0);
    /* arming with an event waiting says "do not sleep" */
    assert_false(svc_bus_arm(bus));
    assert_int_equal(svc_bus_drain(bus, got, 4), 1);
    /* armed on an empty ring: the first post wakes, the second does not write again */
    assert_true(svc_bus_arm(bus));
    assert_int_equal(svc_bus_post(bus, m[1]), 0);
    assert_true(efd_readable(bus));
    assert_int_equal(svc_bus_post(bus, m[2]), 0);
    assert_int_equal(svc_bus_wakeups(bus), 1);
    svc_bus_ack(bus);
    assert_false(efd_readable(bus));
    svc_bus_ack(bus); /* nothing to consume: harmless */
    assert_int_equal(svc_bus_drain(bus, got, 4), 2);
    for (int i = 0; i < 3; i++)
        svc_msg_free(bus, m[i]);
    svc_bus_del(bus);
}

/* ---- threads: 2 workers echo commands; the main thread sleeps in epoll between ---- */

#define N_WORKERS 2
#define N_CMDS    20000

struct wctx {
    struct svc_bus *bus;
    unsigned id;
    atomic_bool *stop;
};

static void *worker_main(void *arg)
{
    struct wctx *w = arg;
    struct svc_msg *msgs[16];

    while (!atomic_load(w->stop)) {
        unsigned n = svc_bus_worker_poll(w->bus, w->id, msgs, 16);
        for (unsigned i = 0; i < n; i++) {
            msgs[i]->status = (int32_t)w->id;
            msgs[i]->conn_id = msgs[i]->token * 2;
            while (svc_bus_post(w->bus, msgs[i]) != 0)
                sched_yield();
        }
        if (n == 0)
            sched_yield();
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct svc_bus *bus;
    pthread_t th[N_WORKERS];
    struct wctx w[N_WORKERS];
    atomic_bool stop = false;
    struct epoll_event ev = {.events = EPOLLIN};
    uint64_t sent = 0, received = 0, sum = 0, expect = 0;
    unsigned lost_wakeups = 0, arms = 0;
    int ep, err;

    (void)state;
    bus = svc_bus_new(N_WORKERS, 64, 256, &err);
    assert_non_null(bus);
    ep = epoll_create1(0);
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, svc_bus_eventfd(bus), &ev), 0);
    for (unsigned i = 0; i < N_WORKERS; i++) {
        w[i] = (struct wctx){.bus = bus, .id = i, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    while (received < N_CMDS) {
        struct svc_msg *got[32];
        unsigned n;
        /* send as many as the pool and rings allow */
        while (sent < N_CMDS) {
            struct svc_msg *m = svc_msg_alloc(bus);
            if (m == NULL)
                break;
            m->token = sent + 1;
            if (svc_bus_send(bus, (unsigned)(sent % N_WORKERS), m) != 0) {
                svc_msg_free(bus, m);
                break;
            }
            expect += (sent + 1) * 2;
            sent++;
        }
        n = svc_bus_drain(bus, got, 32);
        for (unsigned i = 0; i < n; i++) {
            assert_int_equal(got[i]->conn_id, got[i]->token * 2);
            assert_int_equal(got[i]->status, (int32_t)((got[i]->token - 1) % N_WORKERS));
            sum += got[i]->conn_id;
            svc_msg_free(bus, got[i]);
        }
        received += n;
        if (n == 0 && (++arms, svc_bus_arm(bus))) {
            struct epoll_event out;
            /* A wake-up must come while replies are outstanding; a timeout with events
             * waiting would be a lost wake-up. */
            if (epoll_wait(ep, &out, 1, 2000) == 0 && received < sent)
                lost_wakeups++;
            svc_bus_ack(bus);
        }
    }
    atomic_store(&stop, true);
    for (unsigned i = 0; i < N_WORKERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(received, N_CMDS);
    assert_int_equal(sum, expect);
    assert_int_equal(lost_wakeups, 0);
    /* at most one eventfd write per arming, however many events were posted (an arming
     * that found events waiting may still get one spurious, harmless write) */
    assert_true(svc_bus_wakeups(bus) <= arms);
    assert_int_equal(svc_bus_pool_free(bus), 256);
    close(ep);
    svc_bus_del(bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_errors),          cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_pool_exhaustion),        cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_wakeup_only_when_armed), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
