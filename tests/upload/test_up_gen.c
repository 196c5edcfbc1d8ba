/* test_up_gen: the generator source (up_src_gen.c) over the fake service with an injected
 * clock — rate x duration records exactly, the records limit, as fast as possible with
 * 2 x connections x streams batches queued, `behind` when the pool cannot keep up, the
 * linger time at a rate, start/stop and the configured start. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_rig.h"

static bool gen_active(struct rig *r)
{
    json_t *st = up_stats_json(r->u, r->now);
    bool a = json_is_true(json_object_get(json_object_get(st, "generator"), "active"));

    json_decref(st);
    return a;
}

/* Runs the generator |g| on a pool that keeps up (every request acknowledged at each step
 * of |step| ns) until it is done; returns the records acknowledged. Checks every batch
 * holds at most batch_bytes / record_bytes records. */
static uint64_t run_gen(const struct up_gen *g, uint64_t step, uint64_t *requests)
{
    struct up_conf c;
    struct rig r = {0};
    uint64_t per, acked;

    rig_conf(&c);
    c.connections = 2;
    c.streams = 64;
    rig_open(&r, &c);
    per = c.batch_bytes / g->record_bytes ? c.batch_bytes / g->record_bytes : 1;
    assert_int_equal(up_gen_start(r.u, g, r.now), 0);
    for (int i = 0; i < 100000 && (gen_active(&r) || !up_done(r.u)); i++) {
        rig_step(&r, step);
        fake_establish_all(r.s);
        rig_reply_all(&r, 200);
    }
    assert_false(gen_active(&r));
    assert_true(up_done(r.u));
    for (size_t i = 0; i < r.s->n_reqs; i++)
        assert_true(strtoull(fake_header(&r.s->reqs[i], "h3dp-records"), NULL, 10) <= per);
    acked = rig_stat(&r, "acked", "records");
    assert_int_equal(rig_stat(&r, "acked", "bytes"), acked * g->record_bytes);
    assert_int_equal(rig_stat(&r, "accepted", "records"), acked);
    assert_int_equal(rig_stat(&r, "generator", "made"), acked);
    assert_int_equal(rig_stat(&r, "generator", "behind"), 0);
    if (requests)
        *requests = r.s->requests;
    rig_close(&r);
    return acked;
}

static void test_rate_duration(void **state)
{
    static const struct {
        uint64_t rate, ms;
        uint32_t bytes;
        uint64_t step;
    } runs[] = {
        {1000, 1000, 100, MS},      {333, 1000, 100, MS}, {1000, 1000, 100, 7 * MS},
        {10, 300, 10, MS},          {250000, 20, 10, MS}, {3000, 9, 10, MS},
        {5000, 43, 10, 3 * MS},     {3000, 36, 1, MS},    {1500, 18, 100, MS},
        {1000, 1000, 100, 5 * SEC}, /* one poll after the end: all of it at once */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct up_gen g = {
            .record_bytes = runs[i].bytes, .rate = runs[i].rate, .duration_ms = runs[i].ms};
        uint64_t want = runs[i].rate * runs[i].ms / 1000, got = run_gen(&g, runs[i].step, NULL);
        if (got != want)
            fail_msg("rate %llu x %llu ms: %llu records, want %llu",
                     (unsigned long long)runs[i].rate, (unsigned long long)runs[i].ms,
                     (unsigned long long)got, (unsigned long long)want);
    }
}

static void test_records_limit(void **state)
{
    struct up_gen g = {.record_bytes = 50, .records = 1234};
    uint64_t requests;

    (void)state;
    /* As fast as possible: 61 batches of 20 and one of 14. */
    assert_int_equal(run_gen(&g, MS, &requests), 1234);
    assert_int_equal(requests, 62);
    /* At a rate, without a duration. */
    g = (struct up_gen){.record_bytes = 100, .rate = 1000, .records = 250};
    assert_int_equal(run_gen(&g, MS, NULL), 250);
    /* The limit before the duration's end. */
    g = (struct up_gen){.record_bytes = 100, .rate = 1000, .records = 250, .duration_ms = 1000};
    assert_int_equal(run_gen(&g, MS, NULL), 250);
    /* The duration before the limit. */
    g = (struct up_gen){.record_bytes = 100, .rate = 1000, .records = 250, .duration_ms = 100};
    assert_int_equal(run_gen(&g, MS, NULL), 100);
}

/* As fast as possible: every stream busy and one more batch each queued, no more. */
static void test_as_fast_as_possible(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 100}; /* 10 records a batch */

    (void)state;
    rig_conf(&c);
    c.connections = 2;
    c.streams = 3;
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 12);
    for (int i = 0; i < 5; i++)
        rig_step(&r, MS);
    assert_int_equal(r.u->ready.n, 12);
    assert_int_equal(rig_stat(&r, "generator", "made"), 120);
    assert_int_equal(r.s->connects, 2);

    /* Ready: 6 sent (the queue refills on the next poll), then nothing until acks. */
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 6);
    assert_int_equal(r.u->ready.n, 6);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 12);
    assert_int_equal(rig_stat(&r, "generator", "made"), 180);
    rig_step(&r, SEC);
    assert_int_equal(r.u->ready.n, 12);
    assert_int_equal(r.s->requests, 6);
    rig_reply(&r, 0, 200, NULL);
    rig_reply(&r, 1, 200, NULL);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 8);
    assert_int_equal(r.u->ready.n, 10);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 12);
    assert_int_equal(rig_stat(&r, "generator", "made"), 200);
    assert_int_equal(rig_stat(&r, "generator", "behind"), 0);

    /* A bigger pool: a bigger queue. */
    assert_int_equal(up_pool_size(r.u, 4, 0), 0);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 24);

    /* Stopped: no more batches, what is queued still goes out. */
    up_gen_stop(r.u);
    assert_false(gen_active(&r));
    uint64_t made = rig_stat(&r, "generator", "made");
    for (int i = 0; i < 200 && !up_done(r.u); i++) {
        rig_step(&r, MS);
        fake_establish_all(r.s);
        rig_reply_all(&r, 200);
    }
    assert_true(up_done(r.u));
    assert_int_equal(rig_stat(&r, "generator", "made"), made);
    assert_int_equal(rig_stat(&r, "acked", "records"), made);
    rig_close(&r);
}

/* At a rate the pool cannot take: at most 4096 batches queued, the rest counted behind. */
static void test_behind(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 1000, .rate = 100000}; /* 1 record a batch */

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c); /* its connection never comes up */
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 0);
    rig_step(&r, 10 * MS);
    assert_int_equal(r.u->ready.n, 1000);
    assert_int_equal(rig_stat(&r, "generator", "behind"), 0);
    rig_step(&r, 90 * MS);
    assert_int_equal(r.u->ready.n, 4096);
    assert_int_equal(rig_stat(&r, "generator", "made"), 4096);
    assert_int_equal(rig_stat(&r, "generator", "behind"), 10000 - 4096);
    rig_step(&r, MS);
    assert_int_equal(r.u->ready.n, 4096);
    assert_int_equal(rig_stat(&r, "generator", "behind"), 10100 - 4096);
    assert_int_equal(rig_stat(&r, "queued", "records"), 4096);
    up_gen_stop(r.u);
    rig_close(&r);
}

/* At a rate, a partial batch goes out once the linger time has passed since the last one. */
static void test_linger(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 100, .rate = 10}; /* 10 records a batch */

    (void)state;
    rig_conf(&c);
    c.linger_ms = 500;
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    rig_step(&r, 100 * MS); /* 1 due */
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    rig_step(&r, 399 * MS);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    rig_step(&r, MS); /* 500 ms: 5 due, lingered long enough */
    assert_int_equal(rig_stat(&r, "accepted", "records"), 5);
    assert_int_equal(r.u->ready.n, 1);
    rig_step(&r, 499 * MS);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 5);
    rig_step(&r, MS);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 10);
    assert_int_equal(r.u->ready.n, 2);
    rig_step(&r, SEC); /* a full batch goes at once */
    assert_int_equal(rig_stat(&r, "accepted", "records"), 20);
    assert_int_equal(r.u->ready.n, 3);
    up_gen_stop(r.u);
    rig_close(&r);
}

static void test_start_args(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 0, .rate = 10};

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), -EINVAL);
    g.record_bytes = UP_GEN_RECORD_MAX + 1;
    assert_int_equal(up_gen_start(r.u, &g, r.now), -EINVAL);
    assert_false(gen_active(&r));
    g.record_bytes = UP_GEN_RECORD_MAX; /* larger than a batch: one record a batch */
    g.rate = 0;
    g.records = 3;
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    assert_true(gen_active(&r));
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 2); /* 2 x 1 x 1 */
    for (int i = 0; i < 20 && !up_done(r.u); i++) {
        rig_step(&r, MS);
        fake_establish_all(r.s);
        rig_reply_all(&r, 200);
    }
    assert_int_equal(rig_stat(&r, "acked", "records"), 3);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), 3ull * UP_GEN_RECORD_MAX);
    assert_int_equal(r.s->reqs[0].synth_len, UP_GEN_RECORD_MAX);
    rig_close(&r);
}

/* [upload] generator_rate: started by the first poll; stopped, it stays stopped. */
static void test_conf_start(void **state)
{
    struct up_conf c;
    struct rig r = {0};

    (void)state;
    rig_conf(&c);
    c.gen = (struct up_gen){.record_bytes = 100, .rate = 100};
    rig_open(&r, &c);
    assert_false(gen_active(&r));
    assert_int_equal(rig_stat(&r, "generator", "rate"), 100); /* shown before it starts */
    rig_poll(&r);
    assert_true(gen_active(&r));
    rig_step(&r, 100 * MS);
    assert_int_equal(rig_stat(&r, "generator", "made"), 10);

    /* `upload stop` before it made anything: it does not start again by itself. */
    up_gen_stop(r.u);
    rig_step(&r, MS);
    assert_false(gen_active(&r));
    rig_close(&r);

    rig_open(&r, &c);
    rig_poll(&r);
    assert_true(gen_active(&r));
    up_gen_stop(r.u);
    rig_step(&r, MS);
    if (gen_active(&r))
        fail_msg("the configured generator started again after up_gen_stop");
    rig_step(&r, SEC);
    assert_int_equal(rig_stat(&r, "generator", "made"), 0);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    rig_close(&r);
}

/* up_stop stops the generator; its queued batches still go out. */
static void test_engine_stop(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct up_gen g = {.record_bytes = 100};

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    rig_poll(&r);
    assert_int_equal(r.u->ready.n, 2);
    up_stop(r.u, 0);
    rig_check(&r);
    assert_false(gen_active(&r));
    assert_int_equal(r.u->ready.n, 2);
    for (int i = 0; i < 20 && !up_done(r.u); i++) {
        rig_step(&r, MS);
        fake_establish_all(r.s);
        rig_reply_all(&r, 200);
    }
    assert_true(up_done(r.u));
    assert_int_equal(rig_stat(&r, "acked", "records"), 20);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_duration),
        cmocka_unit_test(test_records_limit),
        cmocka_unit_test(test_as_fast_as_possible),
        cmocka_unit_test(test_behind),
        cmocka_unit_test(test_linger),
        cmocka_unit_test(test_start_args),
        cmocka_unit_test(test_conf_start),
        cmocka_unit_test(test_engine_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
