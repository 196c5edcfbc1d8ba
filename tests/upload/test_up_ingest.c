/* test_up_ingest: the ingest source (up_src_ingest.c) — a Unix datagram socket in a
 * temporary directory — over the fake service with an injected clock: records batched by
 * batch_bytes and linger_ms in arrival order, the ingest_queue bound (the socket is not
 * read: producers get EAGAIN; counted in full_events), oversize datagrams counted and not
 * sent, up_fds/up_readable, up_stop. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_rig.h"

struct ing {
    struct rig r;
    char path[100]; /* fits sun_path */
    int tx;         /* the producer's socket */
    struct sockaddr_un sa;
};

static void ing_open(struct ing *g, struct up_conf *c)
{
    rig_tmpdir(&g->r);
    snprintf(g->path, sizeof(g->path), "%s/in.sock", g->r.dir);
    c->ingest_socket = g->path;
    rig_open(&g->r, c);
    g->tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(g->tx >= 0);
    g->sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    snprintf(g->sa.sun_path, sizeof(g->sa.sun_path), "%s", g->path);
}

static void ing_close(struct ing *g)
{
    close(g->tx);
    rig_close(&g->r);
}

/* A producer's non-blocking send: 0 or -errno. */
static int ing_send(struct ing *g, const void *p, size_t len)
{
    ssize_t n = sendto(g->tx, p, len, 0, (struct sockaddr *)&g->sa, sizeof(g->sa));

    if (n < 0)
        return -errno;
    assert_int_equal((size_t)n, len);
    return 0;
}

/* Record |k|: |len| bytes of k + i. */
static void record(uint8_t *p, size_t len, unsigned k)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(k + i);
}

/* Sends records |from| .. |to| - 1 of |len| bytes; when the socket is full the engine
 * reads (up_readable, a poll at the same time) and the send is tried again. */
static void send_records(struct ing *g, unsigned from, unsigned to, size_t len)
{
    uint8_t buf[1024];

    assert_true(len <= sizeof(buf));
    for (unsigned k = from; k < to; k++) {
        int rv;
        record(buf, len, k);
        for (int tries = 0; (rv = ing_send(g, buf, len)) == -EAGAIN && tries < 10; tries++) {
            int fd;
            assert_int_equal(up_fds(g->r.u, &fd, 1), 1);
            up_readable(g->r.u, fd);
            rig_poll(&g->r);
        }
        assert_int_equal(rv, 0);
    }
}

/* The main loop's step: the engine's fds that are readable, then the engine. */
static void ing_poll(struct ing *g)
{
    int fds[4];
    unsigned n = up_fds(g->r.u, fds, 4);

    for (unsigned i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1)
            up_readable(g->r.u, fds[i]);
    }
    rig_poll(&g->r);
}

static void ing_step(struct ing *g, uint64_t ns)
{
    g->r.now += ns;
    ing_poll(g);
}

static void test_batches(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    uint8_t want[1000];
    struct rig *r = &g.r;

    (void)state;
    rig_conf(&c);
    c.streams = 4;
    ing_open(&g, &c);
    send_records(&g, 0, 25, 100);
    ing_poll(&g);
    /* batch_bytes 1000: two batches of ten records of 100 bytes; five staged */
    assert_int_equal(rig_stat(r, "ingest", "held"), 25);
    assert_int_equal(rig_stat(r, "accepted", "records"), 20);
    assert_int_equal(rig_stat(r, "accepted", "bytes"), 2000);
    assert_int_equal(r->u->ready.n, 2);
    fake_establish_all(r->s);
    rig_poll(r);
    assert_int_equal(r->s->requests, 2);
    for (unsigned b = 0; b < 2; b++) {
        const struct fake_req *q = &r->s->reqs[b];
        assert_string_equal(fake_header(q, "h3dp-records"), "10");
        assert_int_equal(q->body_len, 1000);
        for (unsigned k = 0; k < 10; k++)
            record(want + 100 * k, 100, 10 * b + k);
        assert_memory_equal(q->body, want, 1000); /* in arrival order */
    }

    /* The rest after linger_ms (10 ms) from its first record. */
    rig_step(r, 10 * MS - 1);
    assert_int_equal(rig_stat(r, "accepted", "records"), 20);
    rig_step(r, 1);
    assert_int_equal(rig_stat(r, "accepted", "records"), 25);
    assert_int_equal(r->s->requests, 3);
    assert_string_equal(fake_header(&r->s->reqs[2], "h3dp-records"), "5");
    assert_int_equal(r->s->reqs[2].body_len, 500);
    for (unsigned k = 0; k < 5; k++)
        record(want + 100 * k, 100, 20 + k);
    assert_memory_equal(r->s->reqs[2].body, want, 500);

    assert_int_equal(rig_reply_all(r, 200), 3);
    assert_int_equal(rig_stat(r, "ingest", "held"), 0);
    assert_int_equal(rig_stat(r, "acked", "records"), 25);
    assert_int_equal(rig_stat(r, "acked", "bytes"), 2500);
    assert_true(up_done(r->u));

    /* Records that do not divide batch_bytes: a batch closes at the record that reaches
     * it (4 x 300 = 1200 bytes). */
    send_records(&g, 100, 108, 300);
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "accepted", "records"), 25 + 8);
    assert_int_equal(r->s->requests, 5);
    assert_int_equal(r->s->reqs[3].body_len, 1200);
    assert_string_equal(fake_header(&r->s->reqs[3], "h3dp-records"), "4");
    assert_int_equal(rig_reply_all(r, 200), 2);
    assert_int_equal(rig_stat(r, "ingest", "held"), 0);
    assert_int_equal(rig_stat(r, "ingest", "full_events"), 0);
    ing_close(&g);
}

/* At most ingest_queue records are held; then the socket is not read and the producer's
 * sends fail with EAGAIN once the socket's own queue is full. Nothing is lost. */
static void test_queue_bound(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    struct rig *r = &g.r;
    uint8_t buf[10];
    unsigned sent = 0, full_events = 1, left;
    int rv = 0;

    (void)state;
    rig_conf(&c);
    c.ingest_queue = 4;
    c.batch_bytes = 65536;
    c.streams = 8;
    ing_open(&g, &c);
    send_records(&g, 0, 4, 10);
    sent = 4;
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "held"), 4);
    assert_int_equal(rig_stat(r, "ingest", "full_events"), 1);
    {
        json_t *st = up_stats_json(r->u, r->now);
        assert_true(json_is_true(json_object_get(json_object_get(st, "ingest"), "full")));
        json_decref(st);
    }

    /* Full: the engine leaves the rest in the socket until the producer gets EAGAIN. */
    for (unsigned k = 0; k < 10000; k++) {
        record(buf, sizeof(buf), 100 + k);
        if ((rv = ing_send(&g, buf, sizeof(buf))) != 0)
            break;
        sent++;
        ing_poll(&g);
    }
    assert_int_equal(rv, -EAGAIN);
    assert_true(sent > 4);
    assert_int_equal(rig_stat(r, "ingest", "held"), 4);
    assert_int_equal(rig_stat(r, "ingest", "full_events"), 1);
    left = sent - 4;

    /* The held records go out (linger), acknowledged: room again, more is read. */
    fake_establish_all(r->s);
    ing_step(&g, 10 * MS);
    assert_int_equal(r->s->requests, 1);
    assert_string_equal(fake_header(&r->s->reqs[0], "h3dp-records"), "4");
    assert_int_equal(rig_stat(r, "ingest", "held"), 4); /* in flight: still held */
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "held"), 4);
    while (rig_stat(r, "acked", "records") < sent) {
        assert_true(r->now < T0 + 10 * SEC);
        rig_reply_all(r, 200);
        ing_poll(&g);
        if (left) {
            unsigned took = left < 4 ? left : 4;
            assert_int_equal(rig_stat(r, "ingest", "held"), took);
            full_events += left >= 4; /* full again when it took a whole queue */
            left -= took;
        }
        ing_step(&g, 10 * MS);
    }
    assert_int_equal(rig_stat(r, "acked", "records"), sent);
    assert_int_equal(rig_stat(r, "ingest", "full_events"), full_events);
    assert_int_equal(rig_stat(r, "ingest", "oversize"), 0);
    assert_int_equal(rig_stat(r, "ingest", "held"), 0);
    /* room again: a send goes through */
    assert_int_equal(ing_send(&g, buf, sizeof(buf)), 0);
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "held"), 1);
    ing_close(&g);
}

/* A datagram over 64 KiB is counted and dropped; 64 KiB exactly is a record. */
static void test_oversize(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    struct rig *r = &g.r;
    static uint8_t big[65537];

    (void)state;
    rig_conf(&c);
    c.batch_bytes = 100;
    ing_open(&g, &c);
    record(big, sizeof(big), 3);
    assert_int_equal(ing_send(&g, "a", 1), 0);
    assert_int_equal(ing_send(&g, big, 65537), 0);
    assert_int_equal(ing_send(&g, "b", 1), 0);
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "oversize"), 1);
    assert_int_equal(rig_stat(r, "ingest", "held"), 2);
    rig_step(r, 10 * MS);
    assert_int_equal(rig_stat(r, "accepted", "records"), 2);
    assert_int_equal(rig_stat(r, "accepted", "bytes"), 2);

    assert_int_equal(ing_send(&g, big, 65536), 0);
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "oversize"), 1);
    assert_int_equal(rig_stat(r, "accepted", "records"), 3);
    assert_int_equal(rig_stat(r, "accepted", "bytes"), 2 + 65536);
    fake_establish_all(r->s);
    for (int k = 0; k < 3; k++) {
        rig_poll(r);
        rig_reply_all(r, 200);
    }
    assert_int_equal(r->s->requests, 2);
    assert_int_equal(r->s->reqs[0].body_len, 2);
    assert_memory_equal(r->s->reqs[0].body, "ab", 2);
    assert_int_equal(r->s->reqs[1].body_len, 65536);
    assert_memory_equal(r->s->reqs[1].body, big, 65536);
    assert_int_equal(rig_stat(r, "acked", "records"), 3);
    assert_int_equal(rig_stat(r, "ingest", "held"), 0);
    ing_close(&g);
}

static void test_fds_readable(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    struct rig *r = &g.r, plain = {0};
    int fds[4], fd;
    struct stat st;

    (void)state;
    rig_conf(&c);
    rig_open(&plain, &c);
    assert_int_equal(up_fds(plain.u, fds, 4), 0);
    rig_close(&plain);

    /* A leftover file at the path is replaced. */
    rig_tmpdir(&g.r);
    snprintf(g.path, sizeof(g.path), "%s/in.sock", g.r.dir);
    write_file(g.r.dir, "in.sock", "stale", 5);
    c.ingest_socket = g.path;
    rig_open(&g.r, &c);
    g.tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    g.sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    snprintf(g.sa.sun_path, sizeof(g.sa.sun_path), "%s", g.path);
    assert_int_equal(stat(g.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    assert_int_equal(up_fds(r->u, fds, 0), 0);
    assert_int_equal(up_fds(r->u, fds, 4), 1);
    fd = fds[0];
    assert_true(fd >= 0);

    /* Readable from the start: what is already there is read by the first poll. */
    assert_int_equal(ing_send(&g, "x", 1), 0);
    rig_poll(r);
    assert_int_equal(rig_stat(r, "ingest", "held"), 1);
    /* The socket is empty now: nothing more is read until the loop says it is readable. */
    assert_int_equal(ing_send(&g, "y", 1), 0);
    rig_poll(r);
    rig_poll(r);
    assert_int_equal(rig_stat(r, "ingest", "held"), 1);
    up_readable(r->u, fd + 100); /* not its fd */
    rig_poll(r);
    assert_int_equal(rig_stat(r, "ingest", "held"), 1);
    up_readable(r->u, fd);
    rig_poll(r);
    assert_int_equal(rig_stat(r, "ingest", "held"), 2);
    rig_step(r, 10 * MS);
    fake_establish_all(r->s);
    rig_poll(r);
    assert_int_equal(rig_reply_all(r, 200), 1);
    assert_memory_equal(r->s->reqs[0].body, "xy", 2);
    close(g.tx);
    up_del(r->u);
    r->u = NULL;
    assert_false(file_exists(r->dir, "in.sock")); /* removed with the engine */
    rig_close(r);
}

/* up_stop: what is staged goes into a batch and out; the socket is not read any more. */
static void test_stop(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    struct rig *r = &g.r;

    (void)state;
    rig_conf(&c);
    c.linger_ms = 1000;
    ing_open(&g, &c);
    send_records(&g, 0, 3, 10);
    ing_poll(&g);
    assert_int_equal(rig_stat(r, "ingest", "held"), 3);
    assert_int_equal(rig_stat(r, "accepted", "records"), 0);
    up_stop(r->u, 0);
    rig_check(r);
    assert_int_equal(rig_stat(r, "accepted", "records"), 3);
    send_records(&g, 3, 5, 10);
    fake_establish_all(r->s);
    ing_poll(&g);
    ing_step(&g, 2 * SEC);
    assert_int_equal(rig_reply_all(r, 200), 1);
    assert_string_equal(fake_header(&r->s->reqs[0], "h3dp-records"), "3");
    assert_int_equal(rig_stat(r, "ingest", "held"), 0);
    assert_true(up_done(r->u));
    ing_step(&g, 2 * SEC);
    assert_int_equal(rig_stat(r, "accepted", "records"), 3);
    ing_close(&g);
}

/* A steady stream of records reuses the same batch and buffer. */
static void test_steady(void **state)
{
    struct up_conf c;
    struct ing g = {0};
    struct rig *r = &g.r;
    uint64_t pooled = 0;

    (void)state;
    rig_conf(&c);
    ing_open(&g, &c);
    for (unsigned round = 0; round < 50; round++) {
        send_records(&g, 10 * round, 10 * round + 10, 100);
        ing_poll(&g);
        fake_establish_all(r->s);
        rig_poll(r);
        assert_int_equal(rig_reply_all(r, 200), 1);
        if (round == 0)
            pooled = r->u->pooled_bytes;
        assert_int_equal(r->u->pooled_bytes, pooled);
        assert_non_null(r->u->free_batches);
        assert_null(r->u->free_batches->next);
    }
    assert_int_equal(pooled, 4096);
    assert_int_equal(rig_stat(r, "acked", "records"), 500);
    ing_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches),  cmocka_unit_test(test_queue_bound),
        cmocka_unit_test(test_oversize), cmocka_unit_test(test_fds_readable),
        cmocka_unit_test(test_stop),     cmocka_unit_test(test_steady),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
