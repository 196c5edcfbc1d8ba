/* test_up_pool: the connection pool and what each outcome means (up_pool.c, up.c) over the
 * fake service with an injected clock — connections opened up to `connections` only when
 * there is work, least-loaded dispatch within `streams`, a retry avoiding the connection it
 * failed on, 2xx acknowledged, 408/429/5xx retried after Retry-After or a jittered
 * back-off, other statuses failed at once, NOT_PROCESSED retried at once, retry_limit,
 * the connect back-off, GOAWAY'd connections replaced, up_target, up_stop. Every step
 * checks accepted = queued + in flight + acked + failed (unit_rig.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_rig.h"

static uint64_t conn_id(struct rig *r, size_t i)
{
    struct fake_conn *c = fake_conn_nth(r->s, i);

    assert_non_null(c);
    return c->id;
}

/* Opens |c|'s pool: |n| polls (one connection each), then every connection ready. */
static void open_ready(struct rig *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rig_poll(r);
    assert_int_equal(r->s->connects, n);
    assert_int_equal(fake_establish_all(r->s), n);
}

static void rig_conf_pool(struct up_conf *c, unsigned conns, unsigned streams)
{
    rig_conf(c);
    c->connections = conns;
    c->streams = streams;
}

/* ---------------------------------------------------------------- connections */

static void test_connect_only_with_work(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    const struct fake_conn *fc;
    const struct sockaddr_in *sin;

    (void)state;
    rig_conf_pool(&c, 3, 2);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    assert_true(up_has_target(r.u));
    for (int i = 0; i < 5; i++)
        rig_step(&r, MS);
    assert_int_equal(r.s->connect_calls, 0);
    assert_int_equal(up_poll_timeout_ms(r.u), -1);

    /* Work: one connection per poll, up to `connections`. */
    test_src_push(&t, 1, 100, 0);
    assert_int_equal(up_poll_timeout_ms(r.u), 1);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);
    rig_poll(&r);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 3);
    for (int i = 0; i < 5; i++)
        rig_step(&r, MS);
    assert_int_equal(r.s->connects, 3);
    assert_int_equal(r.s->connect_calls, 3);
    assert_int_equal(r.s->requests, 0); /* none ready yet */
    assert_int_equal(rig_stat(&r, "connections", "open"), 3);
    assert_int_equal(rig_stat(&r, "connections", "ready"), 0);

    fc = fake_conn_nth(r.s, 0);
    assert_string_equal(fc->url, RIG_ORIGIN);
    assert_string_equal(fc->host, "192.0.2.1");
    assert_false(fc->has_sni);
    assert_int_equal(fc->insecure, -1);
    assert_int_equal(fc->lcore, -1);
    assert_int_equal(fc->remote_len, sizeof(struct sockaddr_in));
    sin = (const struct sockaddr_in *)&fc->remote;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 4433);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000201);

    /* Sent once one is ready; idle again, closed connections are not replaced. */
    fake_state(r.s, conn_id(&r, 1), H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(r.s->reqs[0].conn, conn_id(&r, 1));
    rig_reply(&r, 0, 200, NULL);
    assert_true(up_done(r.u));
    for (size_t i = 0; i < 3; i++)
        fake_close(r.s, conn_id(&r, i), H3_CLOSE_IDLE_TIMEOUT, H3_REQ_CONN_CLOSED);
    for (int i = 0; i < 5; i++)
        rig_step(&r, MS);
    assert_int_equal(r.s->connects, 3);

    /* Work again: connections again (the one that was ready closed by idle timeout and
     * the others, never ready, closed the same way: back-off after those). */
    test_src_push(&t, 1, 100, 1);
    rig_step(&r, 1000 * MS);
    rig_poll(&r);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 6);

    /* A refused svc_connect opens nothing; the next poll tries again. */
    fake_close(r.s, conn_id(&r, 3), H3_CLOSE_APPLICATION, H3_REQ_CONN_CLOSED);
    r.s->connect_rv = -ENOMEM;
    rig_poll(&r);
    assert_int_equal(r.s->connect_calls, 7);
    assert_int_equal(r.s->connects, 6);
    r.s->connect_rv = 0;
    rig_poll(&r);
    assert_int_equal(r.s->connects, 7);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 7);
    rig_close(&r);
}

static void test_sni(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf(&c);
    c.sni = "collector.example";
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);
    assert_string_equal(fake_conn_nth(r.s, 0)->host, "collector.example");
    assert_true(fake_conn_nth(r.s, 0)->has_sni);
    assert_string_equal(fake_conn_nth(r.s, 0)->sni, "collector.example");
    assert_string_equal(fake_conn_nth(r.s, 0)->url, RIG_ORIGIN);
    rig_close(&r);
}

/* ---------------------------------------------------------------- dispatch */

static void test_dispatch_streams(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;

    (void)state;
    rig_conf_pool(&c, 2, 2);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int i = 1; i <= 5; i++)
        test_src_push(&t, (uint64_t)i, 10 * (size_t)i, (uint8_t)i);
    rig_poll(&r);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);
    a = conn_id(&r, 0);
    b = conn_id(&r, 1);

    /* Only a ready connection, and at most `streams` in flight on it. */
    fake_state(r.s, a, H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, a), 2);
    assert_int_equal(fake_pending(r.s, b), 0);
    assert_int_equal(r.u->ready.n, 3);
    rig_step(&r, MS);
    assert_int_equal(r.s->requests, 2);
    fake_state(r.s, b, H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, b), 2);
    assert_int_equal(r.u->ready.n, 1);
    assert_int_equal(rig_stat(&r, "in_flight", "records"), 1 + 2 + 3 + 4);
    assert_int_equal(rig_stat(&r, "queued", "records"), 5);

    /* A stream frees up on b: the last batch goes there. */
    rig_reply(&r, fake_next(r.s, b), 200, NULL);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 5);
    assert_int_equal(r.s->reqs[4].conn, b);
    assert_string_equal(fake_header(&r.s->reqs[4], "h3dp-records"), "5");
    assert_int_equal(rig_reply_all(&r, 200), 4);
    assert_int_equal(t.acked, 5);
    assert_int_equal(rig_stat(&r, "acked", "records"), 15);
    rig_close(&r);
}

static void test_dispatch_least_loaded(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;

    (void)state;
    rig_conf_pool(&c, 2, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    open_ready(&r, 2);
    a = conn_id(&r, 0);
    b = conn_id(&r, 1);
    test_src_push(&t, 1, 10, 1);
    test_src_push(&t, 1, 10, 2);
    rig_poll(&r);
    /* Fewest in flight first; a tie goes to the first connection. */
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(r.s->reqs[0].conn, a);
    assert_int_equal(r.s->reqs[1].conn, b);
    assert_int_equal(r.s->reqs[2].conn, a);
    /* a: 2 -> 0 in flight, b: 1. */
    rig_reply(&r, 0, 200, NULL);
    rig_reply(&r, 2, 200, NULL);
    for (int i = 0; i < 4; i++)
        test_src_push(&t, 1, 10, 3);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 7);
    assert_int_equal(r.s->reqs[3].conn, a); /* a 0 < b 1 */
    assert_int_equal(r.s->reqs[4].conn, a); /* tie 1/1: a */
    assert_int_equal(r.s->reqs[5].conn, b); /* a 2 > b 1 */
    assert_int_equal(r.s->reqs[6].conn, a); /* tie 2/2: a */
    assert_int_equal(fake_pending(r.s, a), 3);
    assert_int_equal(fake_pending(r.s, b), 2);
    rig_reply_all(&r, 200);
    rig_close(&r);
}

static void test_retry_avoids_failed_conn(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;
    long i;

    (void)state;
    rig_conf_pool(&c, 2, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    open_ready(&r, 2);
    a = conn_id(&r, 0);
    b = conn_id(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->reqs[0].conn, a);

    /* Both idle: the retry goes to the other one. */
    rig_reply(&r, 0, 503, NULL);
    rig_step(&r, 100 * MS);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(r.s->reqs[1].conn, b);
    rig_reply(&r, 1, 200, NULL);

    /* Failed on a (0 in flight after it) while b has 3: still b, it has a free stream. */
    for (int k = 0; k < 5; k++)
        test_src_push(&t, 1, 10, (uint8_t)k);
    rig_poll(&r); /* a b a b a */
    assert_int_equal(fake_pending(r.s, a), 3);
    assert_int_equal(fake_pending(r.s, b), 2);
    test_src_push(&t, 1, 10, 9);
    rig_poll(&r); /* b */
    assert_int_equal(fake_pending(r.s, b), 3);
    rig_reply(&r, fake_next(r.s, a), 200, NULL);
    rig_reply(&r, fake_next(r.s, a), 200, NULL);
    i = fake_next(r.s, a);
    rig_fail(&r, i, H3_REQ_NOT_PROCESSED, -1);
    assert_int_equal(fake_pending(r.s, a), 0);
    rig_poll(&r);
    assert_int_equal(r.s->reqs[r.s->n_reqs - 1].conn, b);
    assert_string_equal(fake_header(&r.s->reqs[r.s->n_reqs - 1], "h3dp-batch"),
                        fake_header(&r.s->reqs[i], "h3dp-batch"));
    assert_int_equal(fake_pending(r.s, b), 4);

    /* b is full: the retry takes a after all (rather than wait). */
    test_src_push(&t, 1, 10, 10);
    rig_poll(&r);
    i = (long)r.s->n_reqs - 1;
    assert_int_equal(r.s->reqs[i].conn, a);
    rig_fail(&r, i, H3_REQ_NOT_PROCESSED, -1);
    rig_poll(&r);
    assert_int_equal(r.s->reqs[r.s->n_reqs - 1].conn, a);
    assert_string_equal(fake_header(&r.s->reqs[r.s->n_reqs - 1], "h3dp-batch"),
                        fake_header(&r.s->reqs[i], "h3dp-batch"));
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 8);
    assert_int_equal(t.failed, 0);
    rig_close(&r);
}

/* ---------------------------------------------------------------- outcomes */

static void test_ack_2xx(void **state)
{
    static const int ok[] = {200, 201, 202, 204, 299};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    struct svc_req_result res = {.o = {.result = H3_REQ_COMPLETED, .status = 200}};

    (void)state;
    rig_conf_pool(&c, 1, 8);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int i = 0; i < 5; i++)
        test_src_push(&t, 2, 100, (uint8_t)i);
    open_ready(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 5);
    for (int i = 0; i < 5; i++)
        rig_reply(&r, i, ok[i], NULL);
    assert_int_equal(t.acked, 5);
    assert_int_equal(t.acked_records, 10);
    assert_int_equal(rig_stat(&r, "acked", "records"), 10);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), 500);
    assert_int_equal(rig_stat(&r, "requests", "acked"), 5);
    assert_int_equal(rig_stat(&r, "requests", "retried"), 0);
    assert_int_equal(rig_stat(&r, "retried", "records"), 0);
    assert_true(up_done(r.u));

    /* The RTT: the first sample, then an EWMA of 1/8. */
    up_del(r.u);
    fake_svc_del(r.s);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    test_src_push(&t, 1, 10, 0);
    open_ready(&r, 1);
    rig_poll(&r);
    res.rtt_ns = 8 * MS;
    fake_complete(r.s, 0, &res);
    assert_int_equal(rig_stat(&r, "rtt_us", NULL), 8000);
    res.rtt_ns = 16 * MS;
    fake_complete(r.s, 1, &res);
    assert_int_equal(rig_stat(&r, "rtt_us", NULL), 9000);
    rig_check(&r);
    rig_close(&r);
}

/* One batch sent on a one-connection pool; returns the request's index. */
static long send_one(struct rig *r, struct test_src *t, uint64_t records)
{
    test_src_push(t, records, 10 * records, 0);
    if (!r->s->connects)
        open_ready(r, 1);
    rig_poll(r);
    return fake_next(r->s, 0);
}

static void test_retryable_statuses(void **state)
{
    static const int st[] = {408, 429, 500, 502, 503, 504, 599};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (unsigned k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
        long i = send_one(&r, &t, 3);
        unsigned sent = r.s->requests;
        rig_reply(&r, i, st[k], NULL);
        assert_int_equal(r.u->delayed.n, 1); /* a back-off, not at once */
        assert_int_equal(r.u->ready.n, 0);
        /* first retry: retry_initial_ms with 50..100 % jitter */
        uint64_t d = r.u->delayed.head->not_before - r.now;
        assert_true(d >= 50 * MS && d <= 100 * MS);
        rig_step(&r, 50 * MS - 1);
        assert_int_equal(r.s->requests, sent);
        rig_step(&r, 50 * MS + 1);
        assert_int_equal(r.s->requests, sent + 1);
        rig_reply(&r, fake_next(r.s, 0), 200, NULL);
    }
    assert_int_equal(rig_stat(&r, "requests", "retried"), 7);
    assert_int_equal(rig_stat(&r, "retried", "records"), 21);
    assert_int_equal(rig_stat(&r, "requests", "status_4xx"), 2);
    assert_int_equal(rig_stat(&r, "requests", "status_5xx"), 5);
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 0);
    assert_int_equal(rig_stat(&r, "acked", "records"), 21);
    assert_int_equal(rig_stat(&r, "failed", "records"), 0);
    assert_int_equal(t.acked, 7);
    rig_close(&r);
}

static void test_retry_after(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    long i;
    unsigned sent;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);

    /* Delay-seconds: exactly that long, even past retry_max_ms. */
    i = send_one(&r, &t, 1);
    rig_reply(&r, i, 503, "2");
    sent = r.s->requests;
    assert_int_equal(r.u->delayed.head->not_before, r.now + 2 * SEC);
    rig_step(&r, 2 * SEC - 1);
    assert_int_equal(r.s->requests, sent);
    rig_step(&r, 1);
    assert_int_equal(r.s->requests, sent + 1);
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 1);
    rig_reply(&r, fake_next(r.s, 0), 429, "5");
    assert_int_equal(r.u->delayed.head->not_before, r.now + 5 * SEC);
    rig_step(&r, 5 * SEC);
    assert_int_equal(r.s->requests, sent + 2);
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 2);
    rig_reply(&r, fake_next(r.s, 0), 200, NULL);

    /* "0" and a date in the past: at once (next poll), still counted. */
    i = send_one(&r, &t, 1);
    sent = r.s->requests;
    rig_reply(&r, i, 503, "0");
    rig_poll(&r);
    assert_int_equal(r.s->requests, sent + 1);
    rig_reply(&r, fake_next(r.s, 0), 408, "Sun, 06 Nov 1994 08:49:37 GMT");
    rig_poll(&r);
    assert_int_equal(r.s->requests, sent + 2);
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 4);

    /* Not a valid value: the back-off instead (the third retry of this batch: 400 ms). */
    rig_reply(&r, fake_next(r.s, 0), 500, "soon");
    uint64_t d = r.u->delayed.head->not_before - r.now;
    assert_true(d >= 200 * MS && d <= 400 * MS);
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 4);
    rig_step(&r, 400 * MS);
    assert_int_equal(r.s->requests, sent + 3);

    /* On a status that is not retried it changes nothing. */
    rig_reply(&r, fake_next(r.s, 0), 400, "1");
    assert_int_equal(rig_stat(&r, "requests", "retry_after"), 4);
    assert_int_equal(t.failed, 1);
    rig_step(&r, 10 * SEC);
    assert_int_equal(r.s->requests, sent + 3);
    rig_close(&r);
}

/* The back-off doubles from retry_initial_ms up to retry_max_ms, each delay drawn from
 * 50..100 % of it. */
static void test_backoff_doubling(void **state)
{
    static const uint64_t full[] = {100, 200, 400, 800, 1000, 1000, 1000};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    long i = send_one(&r, &t, 1);
    for (unsigned k = 0; k < sizeof(full) / sizeof(full[0]); k++) {
        unsigned sent = r.s->requests;
        rig_reply(&r, i, 503, NULL);
        uint64_t d = r.u->delayed.head->not_before - r.now;
        assert_true(d >= full[k] * MS / 2);
        assert_true(d <= full[k] * MS);
        rig_step(&r, full[k] * MS / 2 - 1);
        assert_int_equal(r.s->requests, sent);
        rig_step(&r, full[k] * MS / 2 + 1);
        assert_int_equal(r.s->requests, sent + 1);
        i = fake_next(r.s, 0);
    }
    rig_reply(&r, i, 200, NULL);
    assert_int_equal(r.s->requests, 8);
    rig_close(&r);
}

static void test_backoff_jitter(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t lo = UINT64_MAX, hi = 0, prev = 0;
    unsigned distinct = 0;

    (void)state;
    rig_conf_pool(&c, 1, 64);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int k = 0; k < 64; k++)
        test_src_push(&t, 1, 10, 0);
    open_ready(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 64);
    assert_int_equal(rig_reply_all(&r, 503), 64);
    assert_int_equal(r.u->delayed.n, 64);
    for (const struct up_batch *b = r.u->delayed.head; b; b = b->next) {
        uint64_t d = b->not_before - r.now;
        assert_true(d >= 50 * MS && d <= 100 * MS);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        distinct += d != prev;
        prev = d;
    }
    /* spread over the range, not one value */
    assert_true(lo < 60 * MS);
    assert_true(hi > 90 * MS);
    assert_true(distinct > 32);
    rig_step(&r, 100 * MS);
    assert_int_equal(r.s->requests, 128);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 64);
    rig_close(&r);
}

static void test_other_status_failed(void **state)
{
    static const int st[] = {400, 401, 403, 404, 409, 413, 301, 304, 100};
    const unsigned n = sizeof(st) / sizeof(st[0]);
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf_pool(&c, 1, 16);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (unsigned k = 0; k < n; k++)
        test_src_push(&t, 2, 20, 0);
    open_ready(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, n);
    for (unsigned k = 0; k < n; k++)
        rig_reply(&r, k, st[k], NULL);
    assert_int_equal(t.failed, n);
    assert_int_equal(t.failed_records, 2 * n);
    assert_int_equal(rig_stat(&r, "failed", "records"), 2 * n);
    assert_int_equal(rig_stat(&r, "failed", "bytes"), 20 * n);
    assert_int_equal(rig_stat(&r, "requests", "failed"), n);
    assert_int_equal(rig_stat(&r, "requests", "retried"), 0);
    assert_int_equal(rig_stat(&r, "requests", "status_4xx"), 6);
    assert_int_equal(r.u->ready.n + r.u->delayed.n, 0);
    assert_true(up_done(r.u));
    /* never retried */
    for (int k = 0; k < 10; k++)
        rig_step(&r, 360 * SEC);
    assert_int_equal(r.s->requests, n);
    rig_close(&r);
}

static void test_not_processed_and_resets(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;
    long i;

    (void)state;
    rig_conf_pool(&c, 2, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 4, 40, 0);
    open_ready(&r, 2);
    a = conn_id(&r, 0);
    b = conn_id(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->reqs[0].conn, a);

    /* Not processed: straight back to the ready queue, out on the next poll, elsewhere. */
    rig_fail(&r, 0, H3_REQ_NOT_PROCESSED, -1);
    assert_int_equal(r.u->ready.n, 1);
    assert_int_equal(r.u->delayed.n, 0);
    rig_poll(&r); /* same time */
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(r.s->reqs[1].conn, b);
    assert_int_equal(r.u->acct.not_processed, 1);
    assert_int_equal(rig_stat(&r, "requests", "not_processed"), 1);
    assert_int_equal(rig_stat(&r, "retried", "records"), 4);
    assert_int_equal(r.u->acct.conn_errors, 0);
    assert_int_equal(r.u->acct.maybe_dup, 0);

    /* A reset stream that had started: back-off, maybe a duplicate. */
    rig_fail(&r, 1, H3_REQ_FAILED, 8);
    assert_int_equal(r.u->delayed.n, 1);
    assert_int_equal(r.u->acct.conn_errors, 1);
    assert_int_equal(r.u->acct.maybe_dup, 4);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    rig_step(&r, 200 * MS); /* second retry: 100..200 ms */
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(r.s->reqs[2].conn, a); /* avoids b now */

    /* Cut by a closed connection before it started: back-off, no duplicate. */
    rig_fail(&r, 2, H3_REQ_CONN_CLOSED, -1);
    assert_int_equal(r.u->delayed.n, 1);
    assert_int_equal(r.u->acct.conn_errors, 2);
    assert_int_equal(r.u->acct.maybe_dup, 4);
    rig_step(&r, 400 * MS);
    i = fake_next(r.s, 0);
    assert_true(i >= 0);
    /* Cancelled after it started. */
    rig_fail(&r, i, H3_REQ_CANCELLED, 12);
    assert_int_equal(r.u->acct.conn_errors, 3);
    assert_int_equal(r.u->acct.maybe_dup, 8);
    assert_int_equal(rig_stat(&r, "requests", "conn_errors"), 3);
    rig_step(&r, 800 * MS);
    rig_reply(&r, fake_next(r.s, 0), 200, NULL);
    assert_int_equal(r.s->requests, 5);
    assert_int_equal(rig_stat(&r, "requests", "retried"), 4);
    assert_int_equal(rig_stat(&r, "retried", "records"), 16);
    assert_int_equal(rig_stat(&r, "acked", "records"), 4);
    assert_int_equal(t.acked, 1);
    rig_close(&r);
}

/* retry_limit N: a batch is sent at most N + 1 times (the first attempt and N retries),
 * then fails; every kind of retry counts. 0: no limit. */
static void limit_run(uint32_t limit, unsigned failures, bool not_processed, bool want_failed)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    long i;

    rig_conf(&c);
    c.retry_limit = limit;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    i = send_one(&r, &t, 3);
    for (unsigned k = 0; k < failures; k++) {
        assert_true(i >= 0);
        if (not_processed)
            rig_fail(&r, i, H3_REQ_NOT_PROCESSED, -1);
        else
            rig_reply(&r, i, 503, NULL);
        rig_step(&r, 1000 * MS); /* past any back-off */
        i = fake_next(r.s, 0);
    }
    if (want_failed) {
        assert_int_equal(i, -1);
        assert_int_equal(r.s->requests, failures);
        assert_int_equal(t.failed, 1);
        assert_int_equal(rig_stat(&r, "failed", "records"), 3);
        assert_int_equal(rig_stat(&r, "requests", "failed"), 1);
        assert_int_equal(rig_stat(&r, "requests", "retried"), failures - 1);
        assert_int_equal(rig_stat(&r, "retried", "records"), 3 * (failures - 1));
        assert_true(up_done(r.u));
        for (int k = 0; k < 5; k++)
            rig_step(&r, 3600 * SEC);
        assert_int_equal(r.s->requests, failures);
    } else {
        assert_true(i >= 0);
        assert_int_equal(r.s->requests, failures + 1);
        assert_int_equal(t.failed, 0);
        assert_int_equal(rig_stat(&r, "requests", "retried"), failures);
        rig_reply(&r, i, 200, NULL);
        assert_int_equal(t.acked, 1);
    }
    rig_close(&r);
}

static void test_retry_limit(void **state)
{
    (void)state;
    limit_run(3, 3, false, false); /* 3 failures: the 4th attempt is sent */
    limit_run(3, 4, false, true);  /* the 4th fails: given up after exactly 4 attempts */
    limit_run(1, 2, false, true);  /* 2 attempts */
    limit_run(1, 1, false, false);
    limit_run(2, 3, true, true); /* not processed counts too */
    limit_run(2, 2, true, false);
    limit_run(0, 50, false, false); /* no limit */
}

/* ---------------------------------------------------------------- connection upkeep */

static void test_connect_backoff(void **state)
{
    static const enum h3_close_kind kinds[] = {H3_CLOSE_HANDSHAKE_TIMEOUT, H3_CLOSE_TRANSPORT,
                                               H3_CLOSE_INTERNAL, H3_CLOSE_IDLE_TIMEOUT,
                                               H3_CLOSE_STATELESS_RESET};
    static const uint64_t delay_ms[] = {100, 200, 400, 800, 1000};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);

    /* Never ready: retry_initial_ms, doubling up to retry_max_ms. */
    for (unsigned k = 0; k < 5; k++) {
        fake_close(r.s, conn_id(&r, k), kinds[k], H3_REQ_CONN_CLOSED);
        rig_poll(&r);
        assert_int_equal(r.s->connects, k + 1);
        rig_step(&r, delay_ms[k] * MS - 1);
        assert_int_equal(r.s->connects, k + 1);
        rig_step(&r, 1);
        assert_int_equal(r.s->connects, k + 2);
    }
    /* Ready: the count starts again. */
    fake_state(r.s, conn_id(&r, 5), H3_STATE_ESTABLISHED);
    rig_poll(&r);
    rig_reply(&r, 0, 200, NULL);
    fake_close(r.s, conn_id(&r, 5), H3_CLOSE_IDLE_TIMEOUT, H3_REQ_CONN_CLOSED);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r); /* a ready connection that closed: no back-off */
    assert_int_equal(r.s->connects, 7);
    fake_close(r.s, conn_id(&r, 6), H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED);
    rig_step(&r, 100 * MS - 1);
    assert_int_equal(r.s->connects, 7);
    rig_step(&r, 1);
    assert_int_equal(r.s->connects, 8);

    /* Closed by the application (e.g. our own shutdown) before ready: no back-off. */
    fake_close(r.s, conn_id(&r, 7), H3_CLOSE_APPLICATION, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 9);
    /* Ready, then draining (GOAWAY), then cut by a transport error: it came up, so no
     * connect failure and no back-off. */
    fake_state(r.s, conn_id(&r, 8), H3_STATE_ESTABLISHED);
    fake_state(r.s, conn_id(&r, 8), H3_STATE_DRAINING);
    fake_close(r.s, conn_id(&r, 8), H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 10);
    fake_establish_all(r.s);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 2);
    rig_close(&r);
}

static void test_goaway_replaced(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;
    unsigned calls;

    (void)state;
    rig_conf_pool(&c, 1, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int k = 0; k < 3; k++)
        test_src_push(&t, 1, 10, 0);
    open_ready(&r, 1);
    a = conn_id(&r, 0);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, a), 3);

    /* GOAWAY: a drains its requests and takes no more; a replacement opens. */
    fake_state(r.s, a, H3_STATE_DRAINING);
    assert_int_equal(rig_stat(&r, "connections", "ready"), 0);
    test_src_push(&t, 1, 10, 1);
    test_src_push(&t, 1, 10, 2);
    calls = r.s->request_calls;
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);
    assert_int_equal(r.s->request_calls, calls);
    b = conn_id(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2); /* one replacement */
    fake_state(r.s, b, H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, b), 2);
    assert_int_equal(fake_pending(r.s, a), 3);
    while (fake_next(r.s, a) >= 0)
        rig_reply(&r, fake_next(r.s, a), 200, NULL);
    fake_close(r.s, a, H3_CLOSE_APPLICATION, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);

    /* CLOSING with requests in flight: the same. */
    test_src_push(&t, 1, 10, 3);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, b), 3);
    fake_state(r.s, b, H3_STATE_CLOSING);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 3);
    fake_close(r.s, b, H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED); /* all three cut */
    assert_int_equal(r.u->delayed.n, 3);
    assert_int_equal(r.u->acct.conn_errors, 3);
    fake_state(r.s, conn_id(&r, 2), H3_STATE_ESTABLISHED);
    rig_step(&r, 100 * MS);
    assert_int_equal(fake_pending(r.s, conn_id(&r, 2)), 3);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 6);
    assert_int_equal(r.s->connects, 3);
    rig_close(&r);
}

/* A batch whose body the worker generates (framing none's generator): never early. */
static void push_synth(struct test_src *t, uint64_t records, uint64_t bytes)
{
    struct up_batch *b = up_batch_new(t->s.u);

    assert_non_null(b);
    b->src = &t->s;
    b->records = records;
    b->bytes = bytes;
    b->r.synth_len = bytes;
    assert_int_equal(up_enqueue(t->s.u, b), 0);
}

/* 0-RTT: a connection that resumes (on_early) takes the batches marked early while it
 * handshakes — memory bodies with a batch id — and not the generated ones, which wait for
 * ESTABLISHED; no second connection is opened for the early one's requests; the outcomes
 * count early requests sent / accepted / rejected (sent again by the driver: one result,
 * nothing counted twice), ESTABLISHED counts the handshake and whether it resumed. */
static void test_early_dispatch(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a;

    (void)state;
    rig_conf_pool(&c, 1, 8);
    c.early_data = true;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 2, 100, 0);
    test_src_push(&t, 3, 100, 1);
    push_synth(&t, 4, 400);
    test_src_push(&t, 1, 100, 2); /* behind the generated one: the queue keeps its order */
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);
    a = conn_id(&r, 0);
    rig_step(&r, MS);
    assert_int_equal(r.s->request_calls, 0); /* connecting, no 0-RTT: nothing sent */

    fake_early(r.s, a);
    assert_int_equal(rig_stat(&r, "connections", "early"), 1);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, a), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(r.s->reqs[i].early);
        assert_int_equal(r.s->reqs[i].conn_state, H3_STATE_CONNECTING);
        assert_non_null(fake_header(&r.s->reqs[i], "h3dp-batch"));
    }
    assert_int_equal(r.u->ready.n, 2); /* the generated batch heads the queue: it waits */
    for (int i = 0; i < 5; i++)
        rig_step(&r, MS);
    assert_int_equal(r.s->connects, 1); /* the early connection is no drainer */
    assert_int_equal(rig_stat(&r, "connections", "ready"), 0);

    /* Up (resumed): the rest goes, the generated body not early. */
    fake_conn(r.s, a)->resumed = true;
    fake_state(r.s, a, H3_STATE_ESTABLISHED);
    assert_int_equal(rig_stat(&r, "connections", "early"), 0);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, a), 4);
    assert_false(r.s->reqs[2].early);
    assert_int_equal(r.s->reqs[2].synth_len, 400);
    assert_true(r.s->reqs[3].early); /* marked: on an established connection it is 1-RTT */
    assert_int_equal(r.s->reqs[3].conn_state, H3_STATE_ESTABLISHED);
    assert_int_equal(rig_stat(&r, "resumption", "handshakes"), 1);
    assert_int_equal(rig_stat(&r, "resumption", "resumed"), 1);

    /* One accepted, one refused with the early data (the driver sent it again), both 200. */
    fake_reply_early(r.s, 0, 200, false);
    rig_check(&r);
    fake_reply_early(r.s, 1, 200, true);
    rig_check(&r);
    rig_reply(&r, 2, 200, NULL);
    rig_reply(&r, 3, 200, NULL);
    assert_int_equal(rig_stat(&r, "resumption", "early_sent"), 2);
    assert_int_equal(rig_stat(&r, "resumption", "early_accepted"), 1);
    assert_int_equal(rig_stat(&r, "resumption", "early_rejected"), 1);
    assert_int_equal(rig_stat(&r, "requests", "sent"), 4);
    assert_int_equal(rig_stat(&r, "requests", "acked"), 4);
    assert_int_equal(rig_stat(&r, "acked", "records"), 10);
    assert_int_equal(rig_stat(&r, "retried", "records"), 0);
    assert_int_equal(t.acked, 4);

    /* A connection lost before its handshake: the early request was cut (it may have been
     * processed), retried after a back-off on the next connection, counted once sent. */
    fake_state(r.s, a, H3_STATE_DRAINING);
    fake_close(r.s, a, H3_CLOSE_APPLICATION, H3_REQ_CONN_CLOSED);
    test_src_push(&t, 5, 100, 3);
    rig_poll(&r);
    uint64_t b = conn_id(&r, 1);
    fake_early(r.s, b);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, b), 1);
    struct svc_req_result cut = {
        .o = {.result = H3_REQ_CONN_CLOSED, .stream_id = 0, .early = H3_EARLY_PENDING},
    };
    fake_complete(r.s, (size_t)fake_next(r.s, b), &cut);
    rig_check(&r);
    fake_close(r.s, b, H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED);
    assert_int_equal(r.u->delayed.n, 1);
    assert_int_equal(rig_stat(&r, "requests", "conn_errors"), 1);
    rig_step(&r, 200 * MS);
    rig_poll(&r);
    uint64_t d = conn_id(&r, 2);
    fake_state(r.s, d, H3_STATE_ESTABLISHED); /* a full handshake */
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(rig_stat(&r, "acked", "records"), 15);
    assert_int_equal(rig_stat(&r, "resumption", "handshakes"), 2);
    assert_int_equal(rig_stat(&r, "resumption", "resumed"), 1);
    /* The cut one went early, neither accepted nor rejected (maybe a duplicate). */
    assert_int_equal(rig_stat(&r, "resumption", "early_sent"), 3);
    assert_int_equal(rig_stat(&r, "resumption", "early_accepted"), 1);
    assert_int_equal(rig_stat(&r, "resumption", "early_rejected"), 1);
    assert_int_equal(r.u->acct.maybe_dup, 5);
    rig_close(&r);
}

/* [upload] early_data = false: nothing is marked early, nothing goes before ESTABLISHED. */
static void test_early_off(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf_pool(&c, 1, 8);
    c.early_data = false;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 2, 100, 0);
    rig_poll(&r);
    fake_early(r.s, conn_id(&r, 0));
    rig_step(&r, MS);
    assert_int_equal(r.s->request_calls, 0);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_false(r.s->reqs[0].early);
    rig_reply_all(&r, 200);
    assert_int_equal(rig_stat(&r, "resumption", "early_sent"), 0);
    rig_close(&r);
}

/* A GOAWAY on a connection with nothing in flight: replaced at once while there is work,
 * not after its closing period (the records would wait for it). */
static void test_goaway_idle_replaced(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a;

    (void)state;
    rig_conf_pool(&c, 1, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    open_ready(&r, 1);
    a = conn_id(&r, 0);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    fake_state(r.s, a, H3_STATE_DRAINING);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1); /* no work: no connection */
    test_src_push(&t, 1, 10, 1);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2); /* a is still closing */
    fake_state(r.s, a, H3_STATE_CLOSING);
    rig_step(&r, MS);
    assert_int_equal(r.s->connects, 2);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, conn_id(&r, 1)), 1);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 2);
    rig_close(&r);
}

/* The service refuses a request: -ESHUTDOWN (closing, not yet reported) takes the
 * connection out of dispatch, -ENOBUFS (its ring is full) waits for the next poll. */
static void test_request_refused(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t a, b;

    (void)state;
    rig_conf_pool(&c, 2, 4);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    open_ready(&r, 2);
    a = conn_id(&r, 0);
    b = conn_id(&r, 1);
    fake_conn(r.s, a)->request_rv = -ESHUTDOWN;
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(r.s->reqs[0].conn, b);
    assert_int_equal(rig_stat(&r, "connections", "ready"), 1);
    rig_reply(&r, 0, 200, NULL);
    test_src_push(&t, 1, 10, 1);
    test_src_push(&t, 1, 10, 2);
    rig_poll(&r);
    assert_int_equal(fake_pending(r.s, a), 0);
    assert_int_equal(fake_pending(r.s, b), 2);
    assert_int_equal(r.s->connects, 2); /* a still counts until it closes */
    fake_close(r.s, a, H3_CLOSE_APPLICATION, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 3);

    /* Ring full: nothing sent or counted; the next poll sends. */
    r.s->request_rv = -ENOBUFS;
    test_src_push(&t, 1, 10, 3);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(r.u->ready.n, 1);
    assert_int_equal(rig_stat(&r, "requests", "sent"), 3);
    r.s->request_rv = 0;
    rig_poll(&r);
    assert_int_equal(r.s->requests, 4);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 4);
    rig_close(&r);
}

/* ---------------------------------------------------------------- target, stop, size */

static void test_target(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char why[512] = "";
    const struct fake_conn *fc;
    const struct sockaddr_in *sin;

    (void)state;
    rig_conf_pool(&c, 2, 1);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    test_src_push(&t, 1, 10, 1);
    test_src_push(&t, 1, 10, 2);
    open_ready(&r, 2);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);

    /* Queued and in flight: refused, nothing changes. */
    assert_int_equal(up_target(r.u, "https://198.51.100.7:8443/other", why, sizeof(why)), -EBUSY);
    assert_non_null(strstr(why, "queued or in flight"));
    rig_reply(&r, 0, 200, NULL);
    rig_reply(&r, 1, 200, NULL);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(up_target(r.u, "https://198.51.100.7:8443/other", why, sizeof(why)), -EBUSY);
    rig_reply(&r, 2, 200, NULL);
    assert_int_equal(r.s->shutdown_calls, 0);

    /* Idle: the same target keeps the pool; a bad one changes nothing. */
    assert_int_equal(up_target(r.u, RIG_URL, why, sizeof(why)), 0);
    assert_int_equal(r.s->shutdown_calls, 0);
    assert_int_equal(up_target(r.u, "https://[2001:db8::1]/x", why, sizeof(why)), -EINVAL);
    assert_int_equal(up_target(r.u, "https://collector.example/x", why, sizeof(why)), -EINVAL);
    assert_int_equal(up_target(r.u, "not a url", why, sizeof(why)), -EINVAL);
    assert_int_equal(r.s->shutdown_calls, 0);
    assert_string_equal(r.u->target_list, RIG_URL);

    /* A new one: the old pool is shut down, the next work goes to the new collector. */
    assert_int_equal(up_target(r.u, "https://198.51.100.7:8443/other", why, sizeof(why)), 0);
    assert_int_equal(r.s->shutdowns, 2);
    assert_int_equal(fake_conn_nth(r.s, 0)->shutdowns, 1);
    assert_int_equal(fake_conn_nth(r.s, 1)->shutdowns, 1);
    assert_int_equal(rig_stat(&r, "connections", "open"), 0);
    /* the old connections' last events are not the pool's any more */
    fake_close(r.s, conn_id(&r, 0), H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED);
    fake_state(r.s, conn_id(&r, 1), H3_STATE_DRAINING);
    test_src_push(&t, 1, 10, 3);
    rig_poll(&r); /* no back-off from the old connection's close */
    assert_int_equal(r.s->connects, 3);
    fc = fake_conn_nth(r.s, 2);
    assert_string_equal(fc->url, "https://198.51.100.7:8443");
    assert_string_equal(fc->host, "198.51.100.7");
    sin = (const struct sockaddr_in *)&fc->remote;
    assert_int_equal(ntohs(sin->sin_port), 8443);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc6336407);
    fake_state(r.s, fc->id, H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 4);
    assert_string_equal(r.s->reqs[3].path, "/other");
    rig_reply(&r, 3, 200, NULL);
    assert_int_equal(t.acked, 4);
    rig_close(&r);
}

/* An active source is work too: no new target while the generator runs. */
static void test_target_busy_source(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 100, .rate = 10};
    char why[512];

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    assert_int_equal(up_target(r.u, "https://198.51.100.7/x", why, sizeof(why)), -EBUSY);
    up_gen_stop(r.u);
    assert_int_equal(up_target(r.u, "https://198.51.100.7/x", why, sizeof(why)), 0);
    rig_close(&r);
}

/* Records taken without a target wait for one; setting it is not refused because of them
 * (nothing was sent anywhere yet). */
static void test_no_target_waits(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char why[512] = "";

    (void)state;
    rig_conf(&c);
    c.url = NULL;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    assert_false(up_has_target(r.u));
    test_src_push(&t, 2, 20, 0);
    for (int k = 0; k < 5; k++)
        rig_step(&r, SEC);
    assert_int_equal(r.s->connect_calls, 0);
    assert_int_equal(up_poll_timeout_ms(r.u), -1);
    assert_int_equal(rig_stat(&r, "queued", "records"), 2);
    if (up_target(r.u, RIG_URL, why, sizeof(why)) != 0)
        fail_msg("up_target with records waiting for a target: %s", why);
    assert_true(up_has_target(r.u));
    assert_int_equal(r.s->shutdown_calls, 0);
    open_ready(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_string_equal(r.s->reqs[0].path, RIG_PATH);
    rig_reply(&r, 0, 200, NULL);
    assert_int_equal(t.acked, 1);
    rig_close(&r);
}

static void test_stop(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t, d;

    (void)state;
    rig_conf_pool(&c, 1, 1);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_init(&d, &r, true);
    test_src_push(&t, 1, 10, 0);
    test_src_push(&t, 2, 20, 0);
    test_src_push(&d, 4, 40, 0);
    test_src_push(&t, 8, 80, 0);
    open_ready(&r, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);

    /* Durable batches not sent stay with their source; the others still go out. */
    up_stop(r.u, r.now + 5 * SEC);
    rig_check(&r);
    assert_int_equal(d.dropped, 1);
    assert_int_equal(d.dropped_records, 4);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 11);
    assert_int_equal(rig_stat(&r, "queued", "records"), 10);
    json_t *st = up_stats_json(r.u, r.now);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "stopping");
    json_decref(st);
    rig_reply(&r, 0, 200, NULL);
    rig_step(&r, MS);
    assert_int_equal(r.s->requests, 2);
    rig_reply(&r, 1, 200, NULL);

    /* The deadline: what was never sent is dropped; what is in flight finishes. */
    rig_step(&r, 5 * SEC);
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(t.dropped, 0);
    rig_reply(&r, 2, 503, NULL); /* back in the queue after the deadline */
    rig_poll(&r);
    assert_int_equal(t.dropped, 1);
    assert_int_equal(t.dropped_records, 8);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 3);
    assert_int_equal(rig_stat(&r, "acked", "records"), 3);
    assert_true(up_done(r.u));
    st = up_stats_json(r.u, r.now);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "stopped");
    json_decref(st);
    rig_close(&r);
}

static void test_pool_size(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;

    (void)state;
    rig_conf_pool(&c, 1, 1);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    assert_int_equal(up_pool_size(r.u, UP_MAX_CONNS + 1, 0), -EINVAL);
    assert_int_equal(up_pool_size(r.u, 3, 0), 0);
    assert_int_equal(up_pool_size(r.u, 0, 2), 0);
    assert_int_equal(rig_stat(&r, "connections", "target"), 3);
    assert_int_equal(rig_stat(&r, "streams", NULL), 2);
    for (int k = 0; k < 7; k++)
        test_src_push(&t, 1, 10, 0);
    open_ready(&r, 3);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 3);
    assert_int_equal(r.s->requests, 6);
    rig_reply_all(&r, 200);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 7);
    rig_close(&r);
}

/* ---------------------------------------------------------------- a random walk */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* A random connection not closed yet. */
static struct fake_conn *pick_open(struct rig *r)
{
    unsigned k = rnd(fake_conns_open(r->s));

    for (size_t i = 0; i < r->s->n_conns; i++)
        if (!r->s->conns[i].closed && k-- == 0)
            return &r->s->conns[i];
    fail();
    return NULL;
}

/* Random work, outcomes, states and closes; the identity is checked after every step (by
 * the rig), and in the end every record is acked or failed, each batch exactly once. */
static void test_random_walk(void **state)
{
    static const int statuses[] = {200, 200, 200, 201, 204, 400, 408, 429, 500, 503};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    uint64_t pushed = 0, records = 0;

    (void)state;
    rig_conf_pool(&c, 3, 4);
    c.retry_limit = 4;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int step = 0; step < 4000 || !up_done(r.u); step++) {
        unsigned k = rnd(100);
        long i;
        assert_true(step < 100000);
        if (k < 15 && step < 4000) {
            uint64_t n = 1 + rnd(5);
            test_src_push(&t, n, 1 + rnd(300), (uint8_t)step);
            pushed++;
            records += n;
        } else if (k < 40) {
            rig_step(&r, rnd(150) * MS);
        } else if (k < 70 && (i = fake_next(r.s, 0)) >= 0) {
            /* a random pending request */
            unsigned p = fake_pending(r.s, 0), skip = rnd(p);
            for (size_t j = (size_t)i; j < r.s->n_reqs; j++)
                if (!r.s->reqs[j].done && skip-- == 0) {
                    i = (long)j;
                    break;
                }
            if (rnd(5))
                rig_reply(&r, i, statuses[rnd(10)], rnd(4) ? NULL : "0");
            else
                rig_fail(&r, i, (enum h3_req_result)(1 + rnd(4)), rnd(2) ? -1 : 4);
        } else if (k < 85) {
            fake_establish_all(r.s);
            rig_check(&r);
        } else if (k < 90 && fake_conns_open(r.s)) {
            struct fake_conn *fc = pick_open(&r);
            if (rnd(2) || step >= 4000)
                fake_close(r.s, fc->id, (enum h3_close_kind)(1 + rnd(6)),
                           rnd(2) ? H3_REQ_CONN_CLOSED : H3_REQ_NOT_PROCESSED);
            else
                fake_state(r.s, fc->id, H3_STATE_DRAINING);
            rig_check(&r);
        } else {
            rig_poll(&r);
        }
    }
    assert_int_equal(t.acked + t.failed, pushed);
    assert_int_equal(t.acked_records + t.failed_records, records);
    assert_int_equal(rig_stat(&r, "accepted", "records"), records);
    assert_int_equal(rig_stat(&r, "acked", "records"), t.acked_records);
    assert_int_equal(rig_stat(&r, "failed", "records"), t.failed_records);
    assert_true(t.acked > 0 && t.failed > 0);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_only_with_work),
        cmocka_unit_test(test_sni),
        cmocka_unit_test(test_dispatch_streams),
        cmocka_unit_test(test_dispatch_least_loaded),
        cmocka_unit_test(test_retry_avoids_failed_conn),
        cmocka_unit_test(test_ack_2xx),
        cmocka_unit_test(test_retryable_statuses),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff_doubling),
        cmocka_unit_test(test_backoff_jitter),
        cmocka_unit_test(test_other_status_failed),
        cmocka_unit_test(test_not_processed_and_resets),
        cmocka_unit_test(test_retry_limit),
        cmocka_unit_test(test_connect_backoff),
        cmocka_unit_test(test_goaway_replaced),
        cmocka_unit_test(test_goaway_idle_replaced),
        cmocka_unit_test(test_early_dispatch),
        cmocka_unit_test(test_early_off),
        cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_target_busy_source),
        cmocka_unit_test(test_no_target_waits),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_pool_size),
        cmocka_unit_test(test_random_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
