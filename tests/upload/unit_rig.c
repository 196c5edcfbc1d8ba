/* unit_rig.c: the engine over the fake service with an injected clock (see unit_rig.h). */
#include "unit_rig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

void rig_conf(struct up_conf *c)
{
    *c = (struct up_conf){
        .url = RIG_URL,
        .connections = 1,
        .streams = 1,
        .batch_bytes = 1000,
        .linger_ms = 10,
        .retry_initial_ms = 100,
        .retry_max_ms = 1000,
        .retry_limit = 0,
        .ingest_queue = 1024,
        .content_type = RIG_CTYPE,
        .framing = UP_FRAMING_NONE, /* records as given: the tests of framing set it */
        .compress = UP_COMPRESS_NONE,
    };
}

static void rm_dir(const char *dir);

/* Directories of tests that failed before rig_close, removed at exit. */
static char left[16][64];

static void rm_left(void)
{
    for (unsigned i = 0; i < 16; i++)
        if (left[i][0])
            rm_dir(left[i]);
}

void rig_tmpdir(struct rig *r)
{
    static bool registered;

    snprintf(r->dir, sizeof(r->dir), "/tmp/h3dp-uptest-XXXXXX");
    if (!mkdtemp(r->dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    if (!registered)
        registered = atexit(rm_left) == 0;
    for (unsigned i = 0; i < 16; i++)
        if (!left[i][0]) {
            snprintf(left[i], sizeof(left[i]), "%s", r->dir);
            break;
        }
}

void rig_open(struct rig *r, const struct up_conf *c)
{
    char why[256] = "";
    int err = 0;

    r->s = fake_svc_new();
    r->now = T0;
    r->u = up_new(c, r->s, &err, why, sizeof(why));
    if (!r->u)
        fail_msg("up_new: %d %s", err, why);
    srand(1); /* up_new seeds the retry jitter from random bytes: make it repeatable */
    rig_check(r);
}

static void rm_dir(const char *dir)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            rmdir(path);
    }
    closedir(d);
    rmdir(dir);
    for (unsigned i = 0; i < 16; i++)
        if (strcmp(left[i], dir) == 0)
            left[i][0] = '\0';
}

void rig_close(struct rig *r)
{
    long i;

    while (r->u && (i = fake_next(r->s, 0)) >= 0)
        fake_fail(r->s, (size_t)i, H3_REQ_CANCELLED, -1);
    assert_int_equal(r->s->invalid, 0);
    assert_int_equal(r->s->corrupt, 0);
    up_del(r->u);
    fake_svc_del(r->s);
    r->u = NULL;
    r->s = NULL;
    if (r->dir[0])
        rm_dir(r->dir);
    r->dir[0] = '\0';
}

static void queue_sum(const struct up_queue *q, struct up_count *c, uint64_t *n)
{
    for (const struct up_batch *b = q->head; b; b = b->next) {
        c->records += b->records;
        c->bytes += b->bytes;
        (*n)++;
    }
}

void rig_check(struct rig *r)
{
    const struct up_acct *a = &r->u->acct;
    struct up_count q = {0}, f = {0};
    uint64_t nq = 0, pending = 0, acc;
    json_t *st;

    /* accepted = queued + in flight + acked + failed */
    assert_int_equal(a->accepted.records, a->queued.records + a->inflight.records +
                                              a->acked.records + a->failed.records);
    assert_int_equal(a->accepted.bytes,
                     a->queued.bytes + a->inflight.bytes + a->acked.bytes + a->failed.bytes);
    /* queued: the batches in the queues */
    queue_sum(&r->u->ready, &q, &nq);
    assert_int_equal(nq, r->u->ready.n);
    queue_sum(&r->u->delayed, &q, &nq);
    assert_int_equal(nq, r->u->ready.n + r->u->delayed.n);
    assert_int_equal(q.records, a->queued.records);
    assert_int_equal(q.bytes, a->queued.bytes);
    /* in flight: the requests the service holds */
    for (size_t i = 0; i < r->s->n_reqs; i++) {
        const struct fake_req *fr = &r->s->reqs[i];
        if (fr->done)
            continue;
        const struct up_batch *b = fr->ud;
        f.records += b->records;
        f.bytes += b->bytes;
        pending++;
    }
    assert_int_equal(f.records, a->inflight.records);
    assert_int_equal(f.bytes, a->inflight.bytes);
    /* every request sent ends once: acked, retried or failed */
    assert_int_equal(a->requests_sent, r->s->requests);
    assert_int_equal(pending, a->requests_sent - a->requests_acked - a->requests_retried -
                                  a->requests_failed);
    /* the pool's view of each connection is the service's */
    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        const struct up_conn *c = &r->u->conns[i];
        if (!c->used)
            continue;
        const struct fake_conn *fc = fake_conn(r->s, c->id);
        assert_non_null(fc);
        assert_false(fc->closed);
        assert_int_equal(c->inflight, fc->active);
        if (c->ready)
            assert_int_equal(fc->state, H3_STATE_ESTABLISHED);
    }
    /* and `upload status` says the same */
    st = up_stats_json(r->u, r->now);
    assert_non_null(st);
    acc = json_get(st, "accepted", "records");
    assert_int_equal(acc, a->accepted.records);
    assert_int_equal(acc, json_get(st, "queued", "records") + json_get(st, "in_flight", "records") +
                              json_get(st, "acked", "records") + json_get(st, "failed", "records"));
    json_decref(st);
    assert_int_equal(r->s->invalid, 0);
    assert_int_equal(r->s->corrupt, 0);
}

unsigned rig_poll(struct rig *r)
{
    unsigned n = up_poll(r->u, r->now);

    rig_check(r);
    return n;
}

unsigned rig_step(struct rig *r, uint64_t ns)
{
    r->now += ns;
    return rig_poll(r);
}

void rig_reply(struct rig *r, long i, int status, const char *retry_after)
{
    assert_true(i >= 0);
    fake_reply(r->s, (size_t)i, status, retry_after);
    rig_check(r);
}

void rig_fail(struct rig *r, long i, enum h3_req_result result, int64_t stream_id)
{
    assert_true(i >= 0);
    fake_fail(r->s, (size_t)i, result, stream_id);
    rig_check(r);
}

unsigned rig_reply_all(struct rig *r, int status)
{
    unsigned n = fake_reply_all(r->s, status);

    rig_check(r);
    return n;
}

uint64_t json_get(json_t *st, const char *a, const char *b)
{
    json_t *v = json_object_get(st, a);

    if (v && b)
        v = json_object_get(v, b);
    if (!v || !json_is_integer(v))
        fail_msg("no number at %s%s%s in upload status", a, b ? "." : "", b ? b : "");
    return (uint64_t)json_integer_value(v);
}

uint64_t rig_stat(struct rig *r, const char *a, const char *b)
{
    json_t *st = up_stats_json(r->u, r->now);
    uint64_t n;

    assert_non_null(st);
    n = json_get(st, a, b);
    json_decref(st);
    return n;
}

/* ---------------------------------------------------------------- the test source */

static struct test_src *of(struct up_source *s)
{
    return (struct test_src *)s;
}

static void t_acked(struct up_source *s, struct up_batch *b)
{
    of(s)->acked++;
    of(s)->acked_records += b->records;
}

static void t_failed(struct up_source *s, struct up_batch *b)
{
    of(s)->failed++;
    of(s)->failed_records += b->records;
}

static void t_dropped(struct up_source *s, struct up_batch *b)
{
    of(s)->dropped++;
    of(s)->dropped_records += b->records;
}

static const struct up_source_ops test_ops = {
    .name = "test", .acked = t_acked, .failed = t_failed, .dropped = t_dropped};
static const struct up_source_ops test_durable_ops = {
    .name = "test", .durable = true, .acked = t_acked, .failed = t_failed, .dropped = t_dropped};

void test_src_init(struct test_src *t, struct rig *r, bool durable)
{
    memset(t, 0, sizeof(*t));
    t->s.ops = durable ? &test_durable_ops : &test_ops;
    t->s.u = r->u;
}

struct up_batch *test_src_push(struct test_src *t, uint64_t records, size_t bytes, uint8_t seed)
{
    struct up *u = t->s.u;
    struct up_batch *b = up_batch_new(u);

    assert_non_null(b);
    if (bytes) {
        b->mem = up_buf_get(u, bytes, &b->mem_cap);
        assert_non_null(b->mem);
        for (size_t i = 0; i < bytes; i++)
            b->mem[i] = (uint8_t)(i * 7 + seed);
        b->r.body = b->mem;
        b->r.body_len = bytes;
    }
    b->src = &t->s;
    b->records = records;
    b->bytes = bytes;
    assert_int_equal(up_enqueue(u, b), 0);
    return b;
}

/* ---------------------------------------------------------------- files */

void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    if (len && write(fd, data, len) != (ssize_t)len)
        fail_msg("write %s: %s", path, strerror(errno));
    close(fd);
}

bool file_exists(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

unsigned dir_entries(const char *dir)
{
    unsigned n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}
