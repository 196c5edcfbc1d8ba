/* test_up_kernel: the upload engine over the real connection service (kernel mode) against
 * the h3sink program on loopback: generator, spool directory, ingest socket, targets,
 * zstd and Retry-After, the ingest queue bound, 400 answers to spool files and requests
 * refused with H3_REQUEST_REJECTED; the engine's counters checked against h3sink's.
 * Args: H3SINK CERTS_DIR. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mono.h"
#include "sink_proc.h"
#include "svc.h"
#include "up_rig.h"
#include "upload.h"

static const char *sink_path, *certs;
static struct sink_proc sink; /* h3sink on 127.0.0.1, one per test */
static char tmpdir[64];

static void sink_start_args(const char *const *extra)
{
    assert_int_equal(sink_proc_start(&sink, sink_path, certs, extra), 0);
}

static void sink_start(void)
{
    sink_start_args(NULL);
}

/* Stops h3sink and returns its final totals. */
static json_t *sink_stop(void)
{
    char *line = sink_proc_stop(&sink, NULL);
    json_t *final = line ? json_loads(line, 0, NULL) : NULL;
    free(line);
    return final;
}

#define jget up_rig_get

static void test_sources(void **state)
{
    struct up_conf c;
    char spool[96], sock[96], url[64];
    (void)state;

    sink_start();
    up_rig_conf(&c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/t", sink.port);
    c.url = url;
    c.connections = 2;
    c.streams = 8;
    c.batch_bytes = 16384;
    c.linger_ms = 20;
    snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", tmpdir);
    c.spool_dir = spool;
    c.ingest_socket = sock;
    c.ingest_queue = 100;

    struct up_rig r;
    up_rig_open(&r, &c, 2, certs);
    struct up *u = r.u;

    /* Generator: 5000 records of 100 bytes, as fast as possible. */
    struct up_gen g = { .record_bytes = 100, .rate = 0, .records = 5000 };
    assert_int_equal(up_gen_start(u, &g, mono_ns()), 0);
    json_t *st = up_rig_run(&r, 5000, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5000);
    assert_int_equal(jget(st, "acked", "bytes"), 5000 * 101); /* newline framing: one line each */
    json_decref(st);

    /* Spool: 20 files renamed in, one temporary file that must be left alone. */
    for (int i = 0; i < 20; i++) {
        char tmp[256], dst[256];
        snprintf(tmp, sizeof(tmp), "%s/.f%d", spool, i);
        snprintf(dst, sizeof(dst), "%s/f%d", spool, i);
        FILE *f = fopen(tmp, "w");
        assert_non_null(f);
        for (int k = 0; k < 1000; k++)
            fputc('a' + (k + i) % 26, f);
        fclose(f);
        assert_int_equal(rename(tmp, dst), 0);
    }
    char keep[256];
    snprintf(keep, sizeof(keep), "%s/partial.tmp", spool);
    fclose(fopen(keep, "w"));
    st = up_rig_run(&r, 5020, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5020);
    for (int i = 0; i < 20; i++) {
        char dst[256];
        snprintf(dst, sizeof(dst), "%s/f%d", spool, i);
        assert_int_equal(access(dst, F_OK), -1); /* removed after its 2xx */
    }
    assert_int_equal(access(keep, F_OK), 0);
    json_decref(st);

    /* Ingest: 300 records sent without waiting: some sends get EAGAIN, here from the
     * socket's own queue (net.unix.max_dgram_qlen, 10 by default), which fills long before
     * the engine holds its 100 (test_ingest_bound reaches that bound). */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    unsigned sent = 0, again = 0;
    uint64_t end = mono_ns() + 20000000000ull;
    while (sent < 300 && mono_ns() < end) {
        char rec[200];
        memset(rec, 'r', sizeof(rec));
        if (sendto(fd, rec, sizeof(rec), 0, (struct sockaddr *)&sa, sizeof(sa)) == sizeof(rec)) {
            sent++;
            continue;
        }
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        again++;
        up_rig_step(&r); /* the engine reads while below its bound */
    }
    close(fd);
    assert_int_equal(sent, 300);
    assert_true(again > 0);
    st = up_rig_run(&r, 5320, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5320);
    assert_int_equal(jget(st, "accepted", "records"), 5320);
    assert_int_equal(jget(st, "failed", "records"), 0);
    assert_int_equal(jget(st, "queued", "records") + jget(st, "in_flight", "records"), 0);
    uint64_t acked_bytes = jget(st, "acked", "bytes");
    json_decref(st);

    up_rig_close(&r);
    json_t *fin = sink_stop();
    assert_non_null(fin);
    assert_int_equal(jget(fin, "records", NULL), 5320);
    assert_int_equal(jget(fin, "records_dup", NULL), 0);
    assert_int_equal(jget(fin, "body_bytes_in", NULL), acked_bytes);
    assert_int_equal(jget(fin, "digest_bad", NULL), 0);
    assert_true(jget(fin, "digest_ok", NULL) >= 20); /* spool and ingest bodies carry one */
    json_decref(fin);
    unlink(keep);
    rmdir(spool);
}

/* No [upload] url: the target comes later (`upload target`, `start --url` in h3dpd),
 * only while nothing is queued or in flight. */
static void test_target(void **state)
{
    struct up_conf c;
    char url[96], why[512];
    (void)state;

    sink_start();
    up_rig_conf(&c);
    c.connections = 1;
    c.streams = 4;
    c.batch_bytes = 4096;
    struct up_rig r;
    up_rig_open(&r, &c, 1, certs);
    struct up *u = r.u;

    assert_false(up_has_target(u));
    /* The rig has no resolver and no IPv6 path (like h3dpd's DPDK mode without [dns]). */
    assert_int_equal(up_target(u, "https://collector.example/t", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "no resolver"));
    assert_int_equal(up_target(u, "https://[::1]/t", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "the DPDK port has no IPv6 address ([port] ip6)"));
    assert_int_equal(up_target(u, "https://0.0.0.0/t", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "unspecified"));
    assert_int_equal(up_target(u, "http://127.0.0.1/t", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "https"));
    assert_false(up_has_target(u));
    assert_int_equal(up_pool_size(u, UP_MAX_CONNS + 1, 0), -EINVAL);

    /* A target, then a generator run of 2000 records as fast as the pool takes them. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/first", sink.port);
    assert_int_equal(up_target(u, url, why, sizeof(why)), 0);
    assert_true(up_has_target(u));
    struct up_gen g = { .record_bytes = 100, .rate = 0, .records = 2000 };
    assert_int_equal(up_gen_start(u, &g, mono_ns()), 0);
    json_t *st = up_stats_json(u, mono_ns());
    assert_string_equal(json_string_value(json_object_get(st, "url")), url);
    json_decref(st);
    up_rig_step(&r);
    assert_int_equal(up_poll_timeout_ms(u), 1); /* working: millisecond timers */
    /* Batches are queued or in flight for the first target: a new one is refused. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/second", sink.port);
    assert_int_equal(up_target(u, url, why, sizeof(why)), -EBUSY);
    assert_non_null(strstr(why, "queued or in flight"));
    st = up_rig_run(&r, 2000, 20000);
    assert_int_equal(jget(st, "acked", "records"), 2000);
    json_decref(st);

    /* Idle now: the new target is taken; the next run goes there. */
    assert_int_equal(up_target(u, url, why, sizeof(why)), 0);
    st = up_stats_json(u, mono_ns());
    assert_string_equal(json_string_value(json_object_get(st, "url")), url);
    json_decref(st);
    g.records = 500;
    assert_int_equal(up_gen_start(u, &g, mono_ns()), 0);
    st = up_rig_run(&r, 2500, 20000);
    assert_int_equal(jget(st, "acked", "records"), 2500);
    assert_int_equal(jget(st, "failed", "records"), 0);
    json_decref(st);

    up_rig_close(&r);
    json_t *fin = sink_stop();
    assert_non_null(fin);
    assert_int_equal(jget(fin, "records", NULL), 2500);
    assert_int_equal(jget(fin, "records_dup", NULL), 0);
    json_decref(fin);
}

/* [upload] compress = zstd against a collector that answers every 4th upload with 503 and
 * "retry-after: 1": every record arrives once, decoded to the bytes generated, and the
 * retries wait the collector's second, not the engine's own back-off (10..20 s here, so
 * the test would time out if Retry-After were ignored). */
static void test_zstd_retry_after(void **state)
{
    struct up_conf c;
    char spool[96], url[64];
    (void)state;

    static const char *const fault[] = { "--fault-status", "503", "--fault-every", "4",
                                         "--fault-retry-after", "1", NULL };
    sink_start_args(fault);
    up_rig_conf(&c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/z", sink.port);
    c.url = url;
    c.connections = 2;
    c.streams = 8;
    c.batch_bytes = 32768;
    c.linger_ms = 20;
    c.retry_initial_ms = 20000;
    c.retry_max_ms = 20000;
    c.compress = UP_COMPRESS_ZSTD;
    c.framing = UP_FRAMING_NONE; /* the spool files go as they are, several lines and all */
    snprintf(spool, sizeof(spool), "%s/zspool", tmpdir);
    c.spool_dir = spool;
    struct up_rig r;
    up_rig_open(&r, &c, 1, certs);
    struct up *u = r.u;

    /* A spool file of text (compressible) and one of random bytes (sent as it is). */
    char path[256];
    snprintf(path, sizeof(path), "%s/text.log", spool);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++)
        fprintf(f, "ts=%d host=appliance-%d metric=temp value=%d.%d\n", 1700000000 + i, i % 7,
                20 + i % 13, i % 10);
    long text_len = ftell(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/random.bin", spool);
    f = fopen(path, "w");
    assert_non_null(f);
    uint32_t x = 1;
    for (int i = 0; i < 20000; i++) {
        x = x * 1664525u + 1013904223u;
        fputc((int)(x >> 24), f);
    }
    fclose(f);
    struct up_gen g = { .record_bytes = 1000, .rate = 0, .records = 3000 };
    assert_int_equal(up_gen_start(u, &g, mono_ns()), 0);

    uint64_t t0 = mono_ns();
    json_t *st = up_rig_run(&r, 3002, 15000);
    uint64_t took_ms = (mono_ns() - t0) / 1000000;
    assert_int_equal(jget(st, "acked", "records"), 3002);
    assert_int_equal(jget(st, "acked", "bytes"), 3000 * 1000 + (uint64_t)text_len + 20000);
    assert_int_equal(jget(st, "failed", "records"), 0);
    json_t *rq = json_object_get(st, "requests"), *z = json_object_get(st, "compress");
    uint64_t sent = jget(rq, "sent", NULL), retried = jget(rq, "retried", NULL);
    uint64_t wire = jget(rq, "body_bytes", NULL);
    assert_true(retried > 0);
    assert_int_equal(jget(rq, "retry_after", NULL), retried); /* each waited the 1 s asked */
    assert_int_equal(jget(rq, "status_5xx", NULL), retried);
    assert_true(took_ms >= 1000);  /* a retry waited the second the collector asked for */
    assert_string_equal(json_string_value(json_object_get(z, "codec")), "zstd");
    /* Generated batches and the text file were coded; the random file was not. */
    assert_int_equal(jget(z, "records", NULL), 3000 + 1);
    assert_true(jget(z, "bytes_out", NULL) * 4 < jget(z, "bytes_in", NULL));
    json_decref(st);

    up_rig_close(&r);
    json_t *fin = sink_stop();
    assert_non_null(fin);
    assert_int_equal(jget(fin, "records", NULL), 3002);
    assert_int_equal(jget(fin, "records_dup", NULL), 0);
    assert_int_equal(jget(fin, "faults_sent", NULL), retried);
    assert_int_equal(jget(fin, "requests", NULL), sent);
    assert_int_equal(jget(fin, "body_bytes_in", NULL), wire);      /* the coded bytes */
    assert_int_equal(jget(fin, "decode_errors", NULL), 0);
    assert_int_equal(jget(fin, "digest_bad", NULL), 0);
    /* Over the coded bytes; a faulted request is answered before its digest is judged. */
    assert_int_equal(jget(fin, "digest_ok", NULL), sent - retried);
    assert_true(jget(fin, "body_bytes_decoded", NULL) > wire * 4); /* decoded at the sink */
    json_decref(fin);
    rmdir(spool);
}

/* h3sink's final totals (asserted to be there). */
static json_t *sink_json(void)
{
    json_t *fin = sink_stop();
    assert_non_null(fin);
    return fin;
}

/* The ingest queue bound is the engine's own: with no collector yet it reads records until
 * it holds exactly ingest_queue of them and then leaves the socket alone, whose queue
 * (net.unix.max_dgram_qlen) fills next, so the producer gets EAGAIN; nothing is lost:
 * once a collector is set every record sent is acknowledged and received, once. */
static void test_ingest_bound(void **state)
{
    struct up_conf c;
    char sock[96], url[64], why[256];
    unsigned sent = 0, again = 0, qlen = 10;
    json_t *st = NULL;
    FILE *f;
    (void)state;

    f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
    if (f) {
        assert_int_equal(fscanf(f, "%u", &qlen), 1);
        fclose(f);
    }
    sink_start();
    up_rig_conf(&c);
    c.connections = 1;
    c.streams = 4;
    c.batch_bytes = 4096;
    c.linger_ms = 20;
    snprintf(sock, sizeof(sock), "%s/bound.sock", tmpdir);
    c.ingest_socket = sock;
    c.ingest_queue = 100;
    struct up_rig r;
    up_rig_open(&r, &c, 1, certs);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    /* Send until EAGAIN, let the engine read, again, until a send fails right after a
     * step in which the engine found itself full (10000 records: the bound was ignored). */
    for (bool full = false; sent < 10000;) {
        char rec[200];
        memset(rec, 'i', sizeof(rec));
        if (sendto(fd, rec, sizeof(rec), 0, (struct sockaddr *)&sa, sizeof(sa)) == sizeof(rec)) {
            sent++;
            continue;
        }
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        again++;
        if (full)
            break;
        up_rig_step(&r);
        json_decref(st);
        st = up_stats_json(r.u, mono_ns());
        full = json_is_true(json_object_get(json_object_get(st, "ingest"), "full"));
    }
    json_decref(st);
    st = up_stats_json(r.u, mono_ns());
    uint64_t held = jget(json_object_get(st, "ingest"), "held", NULL);
    if (held != 100)
        fail_msg("the engine holds %llu records with ingest_queue 100 (%u sent)",
                 (unsigned long long)held, sent);
    assert_int_equal(jget(json_object_get(st, "ingest"), "full_events", NULL), 1);
    /* The rest waits in the socket's queue: at most max_dgram_qlen + 1 datagrams. */
    assert_true(sent > 100 && sent <= 100 + qlen + 1);
    assert_true(again >= 1);
    assert_int_equal(jget(st, "acked", "records"), 0);
    json_decref(st);

    /* A collector: everything goes, the socket's queue drained as the bound allows. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/bound", sink.port);
    assert_int_equal(up_target(r.u, url, why, sizeof(why)), 0);
    st = up_rig_run(&r, sent, 20000);
    assert_int_equal(jget(st, "acked", "records"), sent);
    assert_int_equal(jget(st, "accepted", "records"), sent);
    assert_int_equal(jget(st, "failed", "records"), 0);
    assert_int_equal(jget(json_object_get(st, "ingest"), "held", NULL), 0);
    json_decref(st);
    close(fd);
    up_rig_close(&r);
    json_t *fin = sink_json();
    assert_int_equal(jget(fin, "records", NULL), sent);
    assert_int_equal(jget(fin, "records_dup", NULL), 0);
    json_decref(fin);
}

/* Spool files against a collector that answers every 4th upload 400: those fail at once
 * and are set aside as .failed-NAME, as they were; never sent again; the rest are
 * acknowledged and removed. */
static void test_spool_400(void **state)
{
    struct up_conf c;
    char spool[96], url[64], path[256];
    (void)state;

    static const char *const fault[] = { "--fault-status", "400", "--fault-every", "4", NULL };
    sink_start_args(fault);
    up_rig_conf(&c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/s", sink.port);
    c.url = url;
    c.connections = 1;
    c.streams = 1; /* one at a time: the 4th, 8th, ... upload is answered 400 */
    c.retry_initial_ms = 3600000; /* a retry would wait an hour: the test would time out */
    c.retry_max_ms = 3600000;
    snprintf(spool, sizeof(spool), "%s/spool400", tmpdir);
    c.spool_dir = spool;
    struct up_rig r;
    up_rig_open(&r, &c, 1, certs);
    for (int i = 0; i < 20; i++) {
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s/.f%02d", spool, i);
        snprintf(path, sizeof(path), "%s/f%02d", spool, i);
        FILE *f = fopen(tmp, "w");
        assert_non_null(f);
        fprintf(f, "{\"file\":%d}\n", i);
        fclose(f);
        assert_int_equal(rename(tmp, path), 0);
    }
    json_t *st = up_rig_run(&r, 15, 20000);
    assert_int_equal(jget(st, "acked", "records"), 15);
    assert_int_equal(jget(st, "failed", "records"), 5);
    json_t *rq = json_object_get(st, "requests");
    assert_int_equal(jget(rq, "sent", NULL), 20);
    assert_int_equal(jget(rq, "failed", NULL), 5);
    assert_int_equal(jget(rq, "status_4xx", NULL), 5);
    assert_int_equal(jget(rq, "retried", NULL), 0);
    json_decref(st);
    /* 5 set aside, each as it was; the others removed. */
    unsigned aside = 0;
    for (int i = 0; i < 20; i++) {
        char want[64], got[64] = "";
        snprintf(path, sizeof(path), "%s/.failed-f%02d", spool, i);
        FILE *f = fopen(path, "r");
        snprintf(path, sizeof(path), "%s/f%02d", spool, i);
        assert_int_equal(access(path, F_OK), -1);
        if (!f)
            continue;
        aside++;
        snprintf(want, sizeof(want), "{\"file\":%d}\n", i);
        assert_non_null(fgets(got, sizeof(got), f));
        fclose(f);
        assert_string_equal(got, want);
        snprintf(path, sizeof(path), "%s/.failed-f%02d", spool, i);
        unlink(path);
    }
    assert_int_equal(aside, 5);
    /* Never sent again. */
    for (int k = 0; k < 100; k++)
        up_rig_step(&r);
    st = up_stats_json(r.u, mono_ns());
    assert_int_equal(jget(json_object_get(st, "requests"), "sent", NULL), 20);
    json_decref(st);
    up_rig_close(&r);
    json_t *fin = sink_json();
    assert_int_equal(jget(fin, "requests", NULL), 20);
    assert_int_equal(jget(fin, "faults_sent", NULL), 5);
    assert_int_equal(jget(fin, "records", NULL), 15);
    json_decref(fin);
    rmdir(spool);
}

/* A collector that refuses every 3rd upload with H3_REQUEST_REJECTED (not processed):
 * each is counted as not processed and sent again at once (the back-off is an hour here:
 * a delayed retry would time the test out), nothing fails, nothing arrives twice. */
static void test_request_rejected(void **state)
{
    struct up_conf c;
    char url[64];
    (void)state;

    static const char *const fault[] = { "--fault-reject", "--fault-every", "3", NULL };
    sink_start_args(fault);
    up_rig_conf(&c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/r", sink.port);
    c.url = url;
    c.connections = 2;
    c.streams = 4;
    c.batch_bytes = 8192;
    c.retry_initial_ms = 3600000;
    c.retry_max_ms = 3600000;
    c.retry_limit = 0;
    struct up_rig r;
    up_rig_open(&r, &c, 2, certs);
    struct up_gen g = { .record_bytes = 200, .rate = 0, .records = 3000 };
    assert_int_equal(up_gen_start(r.u, &g, mono_ns()), 0);
    json_t *st = up_rig_run(&r, 3000, 20000);
    assert_int_equal(jget(st, "acked", "records"), 3000);
    assert_int_equal(jget(st, "failed", "records"), 0);
    json_t *rq = json_object_get(st, "requests");
    uint64_t sent = jget(rq, "sent", NULL), np = jget(rq, "not_processed", NULL);
    assert_true(np > 0);
    assert_int_equal(jget(rq, "retried", NULL), np);
    assert_int_equal(jget(rq, "conn_errors", NULL), 0);
    assert_int_equal(jget(rq, "status_4xx", NULL) + jget(rq, "status_5xx", NULL), 0);
    assert_int_equal(jget(rq, "failed", NULL), 0);
    assert_int_equal(sent, jget(rq, "acked", NULL) + np);
    json_decref(st);
    up_rig_close(&r);
    json_t *fin = sink_json();
    assert_int_equal(jget(fin, "rejects_sent", NULL), np);
    assert_int_equal(jget(fin, "requests", NULL), sent);
    assert_int_equal(jget(fin, "records", NULL), 3000);
    assert_int_equal(jget(fin, "records_dup", NULL), 0);
    json_decref(fin);
}

/* After a failed assertion: no h3sink left behind (it would hold the test's output open). */
static int kill_sink(void **state)
{
    (void)state;
    sink_proc_kill(&sink);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s H3SINK CERTS_DIR\n", argv[0]);
        return 2;
    }
    sink_path = argv[1];
    certs = argv[2];
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/h3dp-up-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sources, kill_sink),
        cmocka_unit_test_teardown(test_target, kill_sink),
        cmocka_unit_test_teardown(test_zstd_retry_after, kill_sink),
        cmocka_unit_test_teardown(test_ingest_bound, kill_sink),
        cmocka_unit_test_teardown(test_spool_400, kill_sink),
        cmocka_unit_test_teardown(test_request_rejected, kill_sink),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    return rv;
}
