/* test_up_spool_fault: the spool source (up_src_spool.c) under faults, over the fake service
 * with an injected clock — a file truncated or rewritten while in flight (the bytes sent are
 * the bytes digested, as they were read; the file as it is now is sent next), files that
 * cannot be read, a file that cannot be set aside or removed (a read-only directory: kept,
 * reported once, never sent or refused again on every scan, tried again after a minute), a
 * FIFO (never waited on), the directory removed and made again, a file over the size
 * limit, the memory bound of files held, and a spool on a small tmpfs that fills up (files
 * wait, nothing is lost, status and log say it is full; a private mount namespace, skipped
 * when none can be made).
 *
 * Run as root, the tests that need a permission refused drop CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH from the effective set while they run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_log.h>

#include "crypto.h"
#include "unit_rig.h"

#define SCAN  (250 * MS)
#define RETRY (60 * SEC) /* UP_SPOOL_RETRY_NS */

static void spool_conf(struct rig *r, struct up_conf *c, unsigned streams)
{
    rig_conf(c);
    c->streams = streams;
    rig_tmpdir(r);
    c->spool_dir = r->dir;
}

/* Root passes every permission check: without these two capabilities in its effective set
 * the mode bits apply to it too. |on|: put them back (they stay permitted). */
static void dac_caps(bool on)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    const uint32_t bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);

    assert_int_equal(syscall(SYS_capget, &h, d), 0);
    if (on)
        d[0].effective |= bits & d[0].permitted;
    else
        d[0].effective &= ~bits;
    assert_int_equal(syscall(SYS_capset, &h, d), 0);
}

static void path_in(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
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

/* The content-digest request |i| carried is the digest of the bytes it carried. */
static void digest_matches(struct rig *r, long i)
{
    char d[128];
    const struct fake_req *q = &r->s->reqs[i];

    assert_true(crypto_content_digest(q->body, q->body_len, d, sizeof(d)) > 0);
    assert_string_equal(fake_header(q, "content-digest"), d);
}

static bool spool_flag(struct rig *r, const char *key)
{
    json_t *st = up_stats_json(r->u, r->now);
    bool v = json_is_true(json_object_get(json_object_get(st, "spool"), key));
    json_decref(st);
    return v;
}

static const char *last_error(struct rig *r, char *buf, size_t cap)
{
    json_t *st = up_stats_json(r->u, r->now);
    const char *e = json_string_value(json_object_get(st, "last_error"));
    snprintf(buf, cap, "%s", e ? e : "");
    json_decref(st);
    return buf;
}

/* ---------------------------------------------------------------- in flight */

/* Truncated while its upload is in flight: what goes out is what was read and digested
 * (a mapping of the file would fault the reader: SIGBUS), the 2xx does not remove the file
 * as it is now, which goes next. */
static void test_truncated_in_flight(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    static uint8_t data[256 * 1024];
    char path[512];

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    spool_conf(&r, &c, 1);
    write_file(r.dir, "t", data, sizeof(data));
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    path_in(r.dir, "t", path, sizeof(path));
    assert_int_equal(truncate(path, 1000), 0);

    /* The fake reads the body again as the request ends (the worker reads it as it sends). */
    rig_reply(&r, 0, 200, NULL);
    assert_int_equal(req_with_body(&r, data, sizeof(data)), 0);
    digest_matches(&r, 0);
    assert_true(file_exists(r.dir, "t"));
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(req_with_body(&r, data, 1000), 1);
    digest_matches(&r, 1);
    assert_string_not_equal(fake_header(&r.s->reqs[1], "h3dp-batch"),
                            fake_header(&r.s->reqs[0], "h3dp-batch"));
    rig_reply(&r, 1, 200, NULL);
    assert_false(file_exists(r.dir, "t"));
    assert_int_equal(rig_stat(&r, "acked", "records"), 2);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), sizeof(data) + 1000);
    rig_close(&r);
}

/* Rewritten in place while in flight (the same inode): the bytes sent are those read; the
 * outcome of the old bytes, a 2xx or a final failure, leaves the new content alone, which
 * is sent by the next scan. */
static void rewritten(int status, bool same_size)
{
    struct up_conf c;
    struct rig r = {0};
    char path[512];
    int fd;

    spool_conf(&r, &c, 1);
    write_file(r.dir, "w", "old content", 11);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    path_in(r.dir, "w", path, sizeof(path));
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    if (same_size) {
        /* The same size: only the mtime tells (set a second later, as a later write would
         * within a coarse clock). */
        struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {0}};
        struct stat st;
        assert_int_equal(pwrite(fd, "NEW", 3, 0), 3);
        assert_int_equal(fstat(fd, &st), 0);
        ts[1] = st.st_mtim;
        ts[1].tv_sec++;
        assert_int_equal(futimens(fd, ts), 0);
    } else {
        assert_int_equal(pwrite(fd, "old content, appended", 21, 0), 21);
    }
    close(fd);

    rig_reply(&r, 0, status, NULL);
    assert_int_equal(req_with_body(&r, "old content", 11), 0);
    digest_matches(&r, 0);
    assert_true(file_exists(r.dir, "w"));
    assert_false(file_exists(r.dir, ".failed-w"));
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    if (same_size)
        assert_int_equal(req_with_body(&r, "NEW content", 11), 1);
    else
        assert_int_equal(req_with_body(&r, "old content, appended", 21), 1);
    digest_matches(&r, 1);
    rig_reply(&r, 1, 200, NULL);
    assert_int_equal(dir_entries(r.dir), 0);
    rig_close(&r);
}

static void test_rewritten_in_flight(void **state)
{
    (void)state;
    rewritten(200, false);
    rewritten(200, true);
    rewritten(400, false);
    rewritten(400, true);
}

/* ---------------------------------------------------------------- unreadable */

/* Files that cannot be read (no permission, a link to nowhere) are reported once and left
 * alone: not opened again on every scan; taken as soon as they change. */
static void test_unreadable(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char path[512], err[512];

    (void)state;
    spool_conf(&r, &c, 4);
    write_file(r.dir, "secret", "s3cret", 6);
    path_in(r.dir, "secret", path, sizeof(path));
    assert_int_equal(chmod(path, 0), 0);
    write_file(r.dir, "ok", "fine", 4);
    path_in(r.dir, "nowhere", path, sizeof(path));
    assert_int_equal(symlink("/nonexistent/h3dp-spool-target", path), 0);
    dac_caps(false);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(req_with_body(&r, "fine", 4), 0);
    assert_int_equal(rig_stat(&r, "spool", "unreadable"), 2);
    assert_int_equal(rig_stat(&r, "errors", "io"), 2);
    assert_non_null(strstr(last_error(&r, err, sizeof(err)), "cannot be read"));
    rig_reply(&r, 0, 200, NULL);

    /* Not spun on: later scans neither take nor report them again. */
    for (int k = 0; k < 20; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(rig_stat(&r, "errors", "io"), 2);
    assert_int_equal(rig_stat(&r, "spool", "unreadable"), 2);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 1);
    assert_true(file_exists(r.dir, "secret"));

    /* Readable now (its ctime changed): taken at the next scan; the link is removed. */
    path_in(r.dir, "secret", path, sizeof(path));
    assert_int_equal(chmod(path, 0640), 0);
    path_in(r.dir, "nowhere", path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    rig_step(&r, SCAN);
    assert_int_equal(rig_stat(&r, "spool", "unreadable"), 0);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(req_with_body(&r, "s3cret", 6), 1);
    rig_reply(&r, 1, 200, NULL);
    assert_int_equal(dir_entries(r.dir), 0);
    dac_caps(true);
    rig_close(&r);
}

/* A FIFO is not an upload, and the scan never waits for a writer on it. */
static void test_fifo(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char path[512];

    (void)state;
    spool_conf(&r, &c, 4);
    path_in(r.dir, "fifo", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0600), 0);
    write_file(r.dir, "f", "file", 4);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    for (int k = 0; k < 4; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 1);
    assert_int_equal(rig_stat(&r, "spool", "unreadable"), 0);
    rig_reply(&r, 0, 200, NULL);
    assert_true(file_exists(r.dir, "fifo"));
    rig_close(&r);
}

/* ---------------------------------------------------------------- read-only directory */

/* A file refused (two lines, framing newline) in a directory that cannot be written: it
 * cannot be set aside, so it is left alone — refused and reported once, not on every scan
 * — and set aside once the directory is writable again and its minute has passed. */
static void test_set_aside_fails(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char err[512];

    (void)state;
    spool_conf(&r, &c, 1);
    c.framing = UP_FRAMING_NEWLINE;
    write_file(r.dir, "two", "a\nb\n", 4);
    assert_int_equal(chmod(r.dir, 0500), 0);
    dac_caps(false);
    rig_open(&r, &c);
    for (int k = 0; k < 20; k++)
        rig_step(&r, SCAN);
    assert_int_equal(rig_stat(&r, "spool", "refused"), 1);
    assert_int_equal(rig_stat(&r, "spool", "stuck"), 1);
    assert_int_equal(rig_stat(&r, "errors", "io"), 1);
    assert_non_null(strstr(last_error(&r, err, sizeof(err)), "cannot be set aside"));
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    assert_int_equal(r.s->connect_calls, 0);
    assert_true(file_exists(r.dir, "two"));

    assert_int_equal(chmod(r.dir, 0700), 0);
    rig_step(&r, RETRY - 20 * SCAN - MS);
    assert_true(file_exists(r.dir, "two"));
    rig_step(&r, 2 * SCAN);
    assert_false(file_exists(r.dir, "two"));
    assert_true(file_exists(r.dir, ".failed-two"));
    assert_int_equal(rig_stat(&r, "spool", "stuck"), 0);
    assert_int_equal(rig_stat(&r, "spool", "refused"), 1);
    dac_caps(true);
    rig_close(&r);
}

/* A file acknowledged in a directory that cannot be written: it cannot be removed, so it is
 * left alone — never sent again — and removed once the directory is writable and its
 * minute has passed. The same for one that failed for good (set aside later). */
static void test_remove_fails(void **state)
{
    struct up_conf c;
    struct rig r = {0};

    (void)state;
    spool_conf(&r, &c, 2);
    write_file(r.dir, "sent", "sent once", 9);
    write_file(r.dir, "bad", "refused", 7);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(chmod(r.dir, 0500), 0);
    dac_caps(false);
    rig_reply(&r, req_with_body(&r, "sent once", 9), 200, NULL);
    rig_reply(&r, req_with_body(&r, "refused", 7), 400, NULL);
    assert_int_equal(rig_stat(&r, "spool", "stuck"), 2);
    for (int k = 0; k < 20; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, 2); /* neither sent again */
    assert_int_equal(rig_stat(&r, "accepted", "records"), 2);
    assert_int_equal(rig_stat(&r, "acked", "records"), 1);
    assert_int_equal(rig_stat(&r, "failed", "records"), 1);
    assert_int_equal(rig_stat(&r, "errors", "io"), 2);
    assert_int_equal(rig_stat(&r, "spool", "stuck"), 2);
    assert_true(up_done(r.u));

    assert_int_equal(chmod(r.dir, 0700), 0);
    rig_step(&r, RETRY);
    assert_false(file_exists(r.dir, "sent"));
    assert_true(file_exists(r.dir, ".failed-bad"));
    assert_int_equal(dir_entries(r.dir), 1);
    assert_int_equal(rig_stat(&r, "spool", "stuck"), 0);
    assert_int_equal(r.s->requests, 2);
    dac_caps(true);
    rig_close(&r);
}

/* ---------------------------------------------------------------- the directory */

/* The directory removed with a file in flight, then made again with new files (one of the
 * same name): reported once while it is gone; the old file's 2xx removes nothing of the new
 * directory; the new files are sent. */
static void test_dir_removed(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char path[512], err[512];

    (void)state;
    spool_conf(&r, &c, 4);
    write_file(r.dir, "a", "first a", 7);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    path_in(r.dir, "a", path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(r.dir), 0);
    for (int k = 0; k < 8; k++)
        rig_step(&r, SCAN);
    assert_int_equal(rig_stat(&r, "errors", "io"), 1);
    assert_non_null(strstr(last_error(&r, err, sizeof(err)), "No such file or directory"));
    json_t *st = up_stats_json(r.u, r.now);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "spool"), "error")),
                        "No such file or directory");
    json_decref(st);

    assert_int_equal(mkdir(r.dir, 0700), 0);
    write_file(r.dir, "a", "second a, longer", 16);
    write_file(r.dir, "b", "b", 1);
    rig_reply(&r, 0, 200, NULL); /* the first "a" */
    assert_true(file_exists(r.dir, "a"));
    rig_step(&r, SCAN);
    st = up_stats_json(r.u, r.now);
    assert_true(json_is_null(json_object_get(json_object_get(st, "spool"), "error")));
    json_decref(st);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);
    assert_true(req_with_body(&r, "second a, longer", 16) > 0);
    assert_true(req_with_body(&r, "b", 1) > 0);
    assert_int_equal(rig_reply_all(&r, 200), 2);
    assert_int_equal(dir_entries(r.dir), 0);
    assert_int_equal(rig_stat(&r, "acked", "records"), 3);
    assert_int_equal(rig_stat(&r, "errors", "io"), 1);
    rig_close(&r);
}

/* ---------------------------------------------------------------- size */

static void sparse_file(const char *dir, const char *name, off_t size)
{
    char path[512];
    int fd;

    path_in(dir, name, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    assert_int_equal(pwrite(fd, name, 1, size - 1), 1);
    close(fd);
}

/* A file over 64 MiB is refused before a byte is read: set aside and counted. */
static void test_too_large(void **state)
{
    struct up_conf c;
    struct rig r = {0};

    (void)state;
    spool_conf(&r, &c, 1);
    sparse_file(r.dir, "huge", (64 << 20) + 1);
    rig_open(&r, &c);
    rig_poll(&r);
    assert_int_equal(rig_stat(&r, "spool", "refused"), 1);
    assert_int_equal(rig_stat(&r, "accepted", "records"), 0);
    assert_true(file_exists(r.dir, ".failed-huge"));
    assert_false(file_exists(r.dir, "huge"));
    rig_close(&r);
}

/* At most 64 MiB of files are held in memory: a second file of 33 MiB waits until the
 * first is done (a spool of many large files does not load them all at once). */
static void test_loaded_bound(void **state)
{
    struct up_conf c;
    struct rig r = {0};

    (void)state;
    spool_conf(&r, &c, 4);
    sparse_file(r.dir, "x", 33 << 20);
    sparse_file(r.dir, "y", 33 << 20);
    write_file(r.dir, "z", "small", 5);
    rig_open(&r, &c);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    uint64_t n = r.s->requests;
    assert_int_equal(n, 2); /* one of 33 MiB and the small one */
    assert_true(rig_stat(&r, "spool", "loaded_bytes") <= (64u << 20));
    for (int k = 0; k < 4; k++)
        rig_step(&r, SCAN);
    assert_int_equal(r.s->requests, n);
    assert_int_equal(rig_reply_all(&r, 200), n);
    for (int k = 0; k < 4 && r.s->requests < 3; k++) {
        rig_step(&r, SCAN);
        rig_reply_all(&r, 200);
    }
    assert_int_equal(r.s->requests, 3);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), (66u << 20) + 5);
    assert_int_equal(rig_stat(&r, "spool", "loaded_bytes"), 0);
    assert_int_equal(dir_entries(r.dir), 0);
    rig_close(&r);
}

/* ---------------------------------------------------------------- a full filesystem */

/* A private mount namespace (as root, else in a user namespace). False if neither. */
static bool private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];
        int fd;
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            return false;
        if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
            (void)!write(fd, "deny", 4);
            close(fd);
        }
        snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
        if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 ||
            write(fd, map, strlen(map)) != (ssize_t)strlen(map))
            return false;
        close(fd);
        snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
        if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 ||
            write(fd, map, strlen(map)) != (ssize_t)strlen(map))
            return false;
        close(fd);
    }
    /* Nothing mounted here may show outside. */
    return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
}

/* Writes files of |size| bytes named PREFIXn into |dir| as a producer does (a temporary
 * name, .partial, then rename) until the filesystem is full; the one that did not fit
 * stays as .partial. Returns how many were written. */
static unsigned fill(const char *dir, const char *prefix, size_t size, unsigned max)
{
    static char buf[8192];
    char tmp[512], to[512];
    unsigned n = 0;

    memset(buf, 'f', sizeof(buf));
    for (; n < max; n++) {
        int fd;
        size_t left = size;
        path_in(dir, ".partial", tmp, sizeof(tmp));
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
        if (fd < 0)
            break; /* no inode */
        while (left) {
            ssize_t w = write(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
            if (w <= 0)
                break;
            left -= (size_t)w;
        }
        close(fd);
        if (left)
            break;
        snprintf(to, sizeof(to), "%s/%s%u", dir, prefix, n);
        assert_int_equal(rename(tmp, to), 0);
    }
    return n;
}

/* A spool on a 1 MiB tmpfs fills up while the collector is away: the files written wait;
 * status (spool.full, free_bytes) and one log line say the spool is full; once the
 * collector takes them the space comes back, producers write the rest, and every file
 * written is acknowledged exactly once. */
static void test_full_tmpfs(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    char spool[128], log[4096] = "";
    FILE *logf;
    unsigned first, second;

    (void)state;
    if (!private_mounts())
        skip();
    rig_tmpdir(&r);
    snprintf(spool, sizeof(spool), "%s/spool", r.dir);
    assert_int_equal(mkdir(spool, 0700), 0);
    if (mount("h3dp-spool", spool, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=64") != 0)
        skip();
    logf = tmpfile();
    assert_non_null(logf);
    assert_int_equal(rte_openlog_stream(logf), 0);
    rig_conf(&c);
    c.url = NULL; /* the collector is not known yet: files wait */
    c.spool_dir = spool;
    c.streams = 64;
    rig_open(&r, &c);
    rig_poll(&r);
    assert_false(spool_flag(&r, "full"));
    uint64_t free0 = rig_stat(&r, "spool", "free_bytes");
    assert_true(free0 > 900 * 1024 && free0 <= 1024 * 1024);

    /* The producer's last file did not fit: its partial temporary file stays for now. */
    first = fill(spool, "a", 50000, 1000);
    assert_true(first >= 15 && first <= 21);
    rig_step(&r, SCAN);
    assert_true(spool_flag(&r, "full"));
    assert_true(rig_stat(&r, "spool", "free_bytes") < 50000);
    assert_int_equal(rig_stat(&r, "spool", "pending"), first);
    assert_int_equal(rig_stat(&r, "queued", "records"), first);
    for (int k = 0; k < 8; k++)
        rig_step(&r, SCAN);
    fflush(logf);
    rewind(logf);
    (void)!fread(log, 1, sizeof(log) - 1, logf);
    assert_non_null(strstr(log, "is full"));
    assert_null(strstr(strstr(log, "is full") + 1, "is full")); /* said once */

    /* The collector: everything goes, the space comes back, the rest is written. */
    char why[256];
    assert_int_equal(up_target(r.u, RIG_URL, why, sizeof(why)), 0);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(rig_reply_all(&r, 200), first);
    assert_int_equal(dir_entries(spool), 1); /* the producer's .partial */
    char partial[256];
    path_in(spool, ".partial", partial, sizeof(partial));
    assert_int_equal(unlink(partial), 0);
    rig_step(&r, SCAN);
    assert_false(spool_flag(&r, "full"));
    second = fill(spool, "b", 50000, 10);
    assert_int_equal(second, 10);
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(rig_reply_all(&r, 200), second);
    assert_int_equal(r.s->requests, first + second);
    assert_int_equal(rig_stat(&r, "acked", "records"), first + second);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), (uint64_t)(first + second) * 50000);
    assert_int_equal(rig_stat(&r, "failed", "records"), 0);
    assert_int_equal(dir_entries(spool), 0);
    fflush(logf);
    rewind(logf);
    memset(log, 0, sizeof(log));
    (void)!fread(log, 1, sizeof(log) - 1, logf);
    assert_non_null(strstr(log, "has room again"));
    rte_openlog_stream(NULL);
    fclose(logf);
    assert_int_equal(umount2(spool, MNT_DETACH), 0);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_in_flight),
        cmocka_unit_test(test_rewritten_in_flight),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_set_aside_fails),
        cmocka_unit_test(test_remove_fails),
        cmocka_unit_test(test_dir_removed),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_loaded_bound),
        cmocka_unit_test(test_full_tmpfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
