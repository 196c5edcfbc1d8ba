/* test_up_spool: the spool source (up_src_spool.c) in a temporary directory over the fake
 * service with an injected clock — which files are scanned and when, one upload per file,
 * removed after a 2xx, set aside as .failed-NAME after a final failure, a file renamed over
 * one in flight left alone, and durability: up_stop leaves queued files on disk for the
 * next run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "crypto.h"
#include "unit_rig.h"

#define SCAN (250 * MS)

static void spool_conf(struct rig *r, struct up_conf *c, unsigned streams)
{
    rig_conf(c);
    c->streams = streams;
    rig_tmpdir(r);
    c->spool_dir = r->dir;
}

/* The index of the request whose body is |len| bytes of |data| (-1 if none). */
static long req_with_body(struct rig *r, const void *data, size_t len)
{
    for (size_t i = 0; i < r->s->n_reqs; i++) {
        const struct fake_req *q = &r->s->reqs[i];
        if (q->body_len == len && (len == 0 || memcmp(q->body, data, len) == 0))
            return (long)i;
    }
    return -1;
}

static void read_file(const char *dir, const char *name, char *out, size_t cap)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f)
        fail_msg("open %s: %s", path, strerror(errno));
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void replace_file(const char *dir, const char *name, const char *text)
{
    char tmp[512], to[512];

    write_file(dir, "new.tmp", text, strlen(text));
    snprintf(tmp, sizeof(tmp), "%s/new.tmp", dir);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    assert_int_equal(rename(tmp, to), 0);
}

static void test_scan(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char a[100], b[200], sub[512], digest[128];
    long i;

    (void)state;
    spool_conf(&r, &c, 8);
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    write_file(r.dir, "a", a, sizeof(a));
    write_file(r.dir, "b", b, sizeof(b));
    write_file(r.dir, "c", "", 0);
    write_file(r.dir, "e.tmpx", "eeeee", 5);
    /* temporary names and what is not a regular file are not uploads */
    write_file(r.dir, ".x", "hidden", 6);
    write_file(r.dir, "d.tmp", "temp", 4);
    write_file(r.dir, ".failed-z", "old failure", 11);
    snprintf(sub, sizeof(sub), "%s/sub", r.dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    rig_open(&r, &c);
    assert_int_equal(up_poll_timeout_ms(r.u), 250); /* the scan period */

    rig_poll(&r);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 4);
    assert_int_equal(rig_stat(&r, "accepted", "bytes"), 100 + 200 + 0 + 5);
    assert_int_equal(rig_stat(&r, "spool", "pending"), 4);
    assert_int_equal(up_poll_timeout_ms(r.u), 1);
    assert_int_equal(r.s->connects, 1);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 4);
    i = req_with_body(&r, a, sizeof(a));
    assert_true(i >= 0);
    assert_string_equal(fake_header(&r.s->reqs[i], "h3dp-records"), "1");
    assert_true(crypto_content_digest(a, sizeof(a), digest, sizeof(digest)) > 0);
    assert_string_equal(fake_header(&r.s->reqs[i], "content-digest"), digest);
    assert_true(req_with_body(&r, b, sizeof(b)) >= 0);
    assert_true(req_with_body(&r, "eeeee", 5) >= 0);
    i = req_with_body(&r, "", 0); /* the empty file: no body, no digest */
    assert_true(i >= 0);
    assert_false(r.s->reqs[i].has_body);
    assert_null(fake_header(&r.s->reqs[i], "content-digest"));

    /* 2xx: removed; everything else stays. */
    assert_int_equal(rig_reply_all(&r, 200), 4);
    assert_false(file_exists(r.dir, "a"));
    assert_false(file_exists(r.dir, "b"));
    assert_false(file_exists(r.dir, "c"));
    assert_false(file_exists(r.dir, "e.tmpx"));
    assert_true(file_exists(r.dir, ".x"));
    assert_true(file_exists(r.dir, "d.tmp"));
    assert_true(file_exists(r.dir, ".failed-z"));
    assert_true(file_exists(r.dir, "sub"));
    assert_int_equal(dir_entries(r.dir), 4);
    assert_int_equal(rig_stat(&r, "spool", "pending"), 0);
    assert_true(up_done(r.u));

    /* The next scan is 250 ms after the last one. */
    write_file(r.dir, "f", "ffff", 4);
    rig_step(&r, SCAN - 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 4);
    rig_step(&r, 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 5);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 5);
    /* In flight: later scans do not take it again. */
    rig_step(&r, SCAN);
    rig_step(&r, SCAN);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 5);
    assert_int_equal(rig_stat(&r, "spool", "pending"), 1);
    rig_reply(&r, 4, 200, NULL);
    assert_false(file_exists(r.dir, "f"));
    assert_int_equal(rig_stat(&r, "acked", "records"), 5);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), 309);
    rig_step(&r, SCAN);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 5);
    rig_close(&r);
}

static void test_dir_created(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char dir[128];
    struct stat st;

    (void)state;
    spool_conf(&r, &c, 1);
    snprintf(dir, sizeof(dir), "%s/spool", r.dir);
    c.spool_dir = dir;
    rig_open(&r, &c);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
    rig_close(&r);
}

static void test_failed_set_aside(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char text[64];
    long i;

    (void)state;
    spool_conf(&r, &c, 4);
    c.retry_limit = 1;
    write_file(r.dir, "p", "refused", 7);
    write_file(r.dir, "q", "unavailable", 11);
    write_file(r.dir, "k", "kept", 4);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);

    /* A final status: set aside at once, as it was. */
    rig_reply(&r, req_with_body(&r, "refused", 7), 400, NULL);
    assert_false(file_exists(r.dir, "p"));
    assert_true(file_exists(r.dir, ".failed-p"));
    read_file(r.dir, ".failed-p", text, sizeof(text));
    assert_string_equal(text, "refused");

    /* Retried once (retry_limit 1), then set aside. */
    i = req_with_body(&r, "unavailable", 11);
    rig_reply(&r, i, 503, NULL);
    assert_true(file_exists(r.dir, "q"));
    rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 4);
    assert_string_equal(fake_header(&r.s->reqs[3], "h3dp-batch"),
                        fake_header(&r.s->reqs[i], "h3dp-batch"));
    assert_int_equal(rig_stat(&r, "accepted", "records"), 3); /* not scanned again */
    rig_reply(&r, 3, 503, NULL);
    assert_false(file_exists(r.dir, "q"));
    read_file(r.dir, ".failed-q", text, sizeof(text));
    assert_string_equal(text, "unavailable");
    assert_int_equal(rig_stat(&r, "failed", "records"), 2);
    assert_int_equal(rig_stat(&r, "failed", "bytes"), 18);

    /* Set aside for good: never sent again. */
    rig_reply(&r, req_with_body(&r, "kept", 4), 200, NULL);
    for (int k = 0; k < 8; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 4);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 3);
    assert_int_equal(dir_entries(r.dir), 2);
    assert_true(up_done(r.u));
    rig_close(&r);
}

/* A producer renames a new file over one in flight: the old one's outcome does not remove
 * (or set aside) the new one, which is sent by a later scan. */
static void renamed_over(int status)
{
    struct up_conf c;
    struct rig r = {0};
    char text[64];

    spool_conf(&r, &c, 1);
    write_file(r.dir, "r", "old", 3);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(req_with_body(&r, "old", 3), 0);
    replace_file(r.dir, "r", "new content");
    rig_step(&r, SCAN); /* still in flight under that name: not taken */
    assert_int_equal(rig_stat(&r, "accepted", "records"), 1);

    rig_reply(&r, 0, status, NULL);
    if (!file_exists(r.dir, "r"))
        fail_msg("the file renamed over one in flight went with the old one's %d", status);
    read_file(r.dir, "r", text, sizeof(text));
    assert_string_equal(text, "new content");
    assert_false(file_exists(r.dir, ".failed-r"));
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(req_with_body(&r, "new content", 11), 1);
    rig_reply(&r, 1, 200, NULL);
    assert_false(file_exists(r.dir, "r"));
    assert_int_equal(dir_entries(r.dir), 0);
    assert_int_equal(rig_stat(&r, "acked", "records"), status < 300 ? 2 : 1);
    rig_close(&r);
}

static void test_renamed_over_acked(void **state)
{
    (void)state;
    renamed_over(200);
}

static void test_renamed_over_failed(void **state)
{
    (void)state;
    renamed_over(400);
}

/* Durable: up_stop drops the queued files (they stay on disk, nothing is scanned any
 * more), lets the one in flight finish; the next run sends the rest. */
static void test_durable_stop(void **state)
{
    struct up_conf c;
    struct rig r = {0}, r2 = {0};
    char dir[64];

    (void)state;
    spool_conf(&r, &c, 1);
    write_file(r.dir, "1", "one", 3);
    write_file(r.dir, "2", "two", 3);
    write_file(r.dir, "3", "three", 5);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 3);
    size_t first = r.s->reqs[0].body_len; /* whichever the scan found first */

    up_stop(r.u, 0);
    rig_check(&r);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 1);
    assert_int_equal(rig_stat(&r, "queued", "records"), 0);
    assert_int_equal(rig_stat(&r, "spool", "pending"), 1);
    assert_int_equal(up_poll_timeout_ms(r.u), 1);
    write_file(r.dir, "4", "four", 4);
    for (int k = 0; k < 4; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 1);
    assert_false(up_done(r.u));
    rig_reply(&r, 0, 200, NULL);
    assert_true(up_done(r.u));
    assert_int_equal(up_poll_timeout_ms(r.u), -1);
    assert_int_equal(dir_entries(r.dir), 3);

    /* The next run: what is left goes out. */
    snprintf(dir, sizeof(dir), "%s", r.dir);
    r.dir[0] = '\0';
    rig_close(&r);
    snprintf(r2.dir, sizeof(r2.dir), "%s", dir);
    c.spool_dir = r2.dir;
    c.streams = 8;
    rig_open(&r2, &c);
    rig_poll(&r2);
    fake_establish_all(r2.s);
    rig_poll(&r2);
    assert_int_equal(r2.s->requests, 3);
    assert_int_equal(rig_reply_all(&r2, 200), 3);
    assert_int_equal(rig_stat(&r2, "acked", "records"), 3);
    assert_int_equal(rig_stat(&r2, "acked", "bytes"), 3 + 3 + 5 + 4 - first);
    assert_int_equal(dir_entries(r2.dir), 0);
    rig_close(&r2);
}

/* The stop deadline drops spool batches that came back for a retry: the file stays. */
static void test_stop_deadline(void **state)
{
    struct up_conf c;
    struct rig r = {0};

    (void)state;
    spool_conf(&r, &c, 1);
    write_file(r.dir, "x", "xx", 2);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    up_stop(r.u, r.now + SEC);
    rig_reply(&r, 0, 503, NULL);
    rig_step(&r, 100 * MS); /* retried before the deadline */
    assert_int_equal(r.s->requests, 2);
    rig_reply(&r, 1, 503, "5"); /* due after the deadline */
    rig_step(&r, SEC);
    assert_int_equal(r.s->requests, 2);
    assert_true(up_done(r.u));
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    assert_int_equal(rig_stat(&r, "spool", "pending"), 0);
    assert_true(file_exists(r.dir, "x"));
    assert_false(file_exists(r.dir, ".failed-x"));
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_dir_created),
        cmocka_unit_test(test_failed_set_aside),
        cmocka_unit_test(test_renamed_over_acked),
        cmocka_unit_test(test_renamed_over_failed),
        cmocka_unit_test(test_durable_stop),
        cmocka_unit_test(test_stop_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
