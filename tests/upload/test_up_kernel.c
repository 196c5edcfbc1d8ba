/* test_up_kernel: the upload engine over the real connection service (kernel mode) against
 * the h3sink program on loopback: generator, spool directory, ingest socket; the engine's
 * counters checked against h3sink's. Args: H3SINK CERTS_DIR. */
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

#include "cfg.h"
#include "ctl_server.h"
#include "kio.h"
#include "mono.h"
#include "sink_proc.h"
#include "svc.h"
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

/* The daemon's pieces in one process: the connection service in kernel mode, the upload
 * engine and a control server with no listening socket (only the engine's ingest watch
 * and clients the test adopts). */
struct rig {
    struct svc *s;
    struct up *u;
    struct ctl_server *srv;
};

static void rig_open(struct rig *r, const struct cfg *c, unsigned workers)
{
    static char ca[512];
    struct svc_conf sc;
    struct ctl_server_conf cc;
    int err = 0;

    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    svc_conf_defaults(&sc);
    sc.io = SVC_IO_KERNEL;
    sc.n_workers = workers;
    for (unsigned i = 0; i < workers; i++)
        sc.worker_lcores[i] = i + 1;
    sc.ca_file = ca;
    r->s = svc_new(&sc, &err);
    assert_non_null(r->s);
    r->u = up_new(c, r->s, &err);
    assert_non_null(r->u);
    ctl_server_conf_defaults(&cc);
    r->srv = ctl_server_new(&cc, &err);
    assert_non_null(r->srv);
    assert_int_equal(up_attach(r->u, r->srv), 0);
}

static uint64_t jget(json_t *r, const char *a, const char *b)
{
    json_t *o = json_object_get(r, a);
    return (uint64_t)json_integer_value(b ? json_object_get(o, b) : o);
}

/* The daemon's main loop, one turn: the control server (which watches the ingest socket
 * and tells the engine when it is readable), the service's events, the engine. */
static void loop_once(struct ctl_server *srv, struct svc *s, struct up *u)
{
    ctl_server_poll(srv, 0);
    svc_poll(s, 0);
    up_poll(u, mono_ns());
}

/* The graceful end, as h3dpd's: the engine stops, the connections shut down, all freed. */
static void rig_close(struct rig *r)
{
    uint64_t end;

    up_stop(r->u, 0);
    svc_shutdown_all(r->s, 1000000000ull);
    end = mono_ns() + 5000000000ull;
    while (svc_conns_active(r->s) && mono_ns() < end)
        loop_once(r->srv, r->s, r->u);
    up_del(r->u);
    ctl_server_del(r->srv);
    svc_del(r->s);
}

/* Runs the loop until the engine is idle with |want| records acknowledged. */
static json_t *run_until_acked(struct ctl_server *srv, struct svc *s, struct up *u, uint64_t want,
                               unsigned ms)
{
    uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull;
    json_t *st = NULL;
    while (mono_ns() < end) {
        loop_once(srv, s, u);
        json_decref(st);
        st = up_stats_json(u, mono_ns());
        if (jget(st, "acked", "records") >= want && up_done(u))
            break;
        if (svc_arm(s)) {
            struct pollfd p = { .fd = svc_eventfd(s), .events = POLLIN };
            poll(&p, 1, 1);
        }
    }
    return st;
}

static void test_sources(void **state)
{
    static struct cfg c;
    char spool[96], sock[96];
    (void)state;

    sink_start();
    cfg_defaults(&c);
    snprintf(c.upload.url_str, sizeof(c.upload.url_str), "https://127.0.0.1:%u/t", sink.port);
    assert_int_equal(net_url_parse(c.upload.url_str, 0, &c.upload.url, NULL, 0), 0);
    c.upload.connections = 2;
    c.upload.streams = 8;
    c.upload.batch_bytes = 16384;
    c.upload.linger_ms = 20;
    snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
    snprintf(sock, sizeof(sock), "%s/ingest.sock", tmpdir);
    snprintf(c.upload.spool_dir, sizeof(c.upload.spool_dir), "%s", spool);
    snprintf(c.upload.ingest_socket, sizeof(c.upload.ingest_socket), "%s", sock);
    c.upload.ingest_queue = 100;

    struct rig r;
    rig_open(&r, &c, 2);
    struct svc *s = r.s;
    struct up *u = r.u;
    struct ctl_server *srv = r.srv;

    /* Generator: 5000 records of 100 bytes, as fast as possible. */
    struct up_gen g = { .record_bytes = 100, .rate = 0, .records = 5000 };
    assert_int_equal(up_gen_start(u, &g, mono_ns()), 0);
    json_t *st = run_until_acked(srv, s, u, 5000, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5000);
    assert_int_equal(jget(st, "acked", "bytes"), 500000);
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
    st = run_until_acked(srv, s, u, 5020, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5020);
    for (int i = 0; i < 20; i++) {
        char dst[256];
        snprintf(dst, sizeof(dst), "%s/f%d", spool, i);
        assert_int_equal(access(dst, F_OK), -1); /* removed after its 2xx */
    }
    assert_int_equal(access(keep, F_OK), 0);
    json_decref(st);

    /* Ingest: 300 records, more than the 100-record bound: some sends get EAGAIN. */
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
        loop_once(srv, s, u); /* the engine reads while below its bound */
    }
    close(fd);
    assert_int_equal(sent, 300);
    assert_true(again > 0);
    st = run_until_acked(srv, s, u, 5320, 20000);
    assert_int_equal(jget(st, "acked", "records"), 5320);
    assert_int_equal(jget(st, "accepted", "records"), 5320);
    assert_int_equal(jget(st, "failed", "records"), 0);
    assert_int_equal(jget(st, "queued", "records") + jget(st, "in_flight", "records"), 0);
    uint64_t acked_bytes = jget(st, "acked", "bytes");
    json_decref(st);

    rig_close(&r);
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

/* Sends one control line through |fd| (a client the server adopted) and returns the reply,
 * running the loop meanwhile, as h3dpd would. */
static json_t *command(int fd, struct ctl_server *srv, struct svc *s, struct up *u,
                       const char *line)
{
    static char buf[16384];
    static size_t have;
    uint64_t end = mono_ns() + 5000000000ull;

    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    while (mono_ns() < end) {
        loop_once(srv, s, u);
        ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, MSG_DONTWAIT);
        if (r > 0)
            have += (size_t)r;
        char *nl = memchr(buf, '\n', have);
        if (nl) {
            *nl = '\0';
            json_t *j = json_loads(buf, 0, NULL);
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have);
            assert_non_null(j);
            return j;
        }
    }
    fail_msg("no reply to %s", line);
    return NULL;
}

static void assert_error(json_t *rep, const char *code, const char *words)
{
    assert_false(json_is_true(json_object_get(rep, "ok")));
    assert_string_equal(json_string_value(json_object_get(rep, "code")), code);
    const char *msg = json_string_value(json_object_get(rep, "message"));
    if (!msg || !strstr(msg, words))
        fail_msg("message '%s' does not say '%s'", msg ? msg : "(none)", words);
    json_decref(rep);
}

/* No [upload] url: the target comes from the control plane (`upload target`, `start
 * --url`), only while nothing is queued or in flight. */
static void test_target(void **state)
{
    static struct cfg c;
    char line[512];
    int sp[2];
    (void)state;

    sink_start();
    cfg_defaults(&c);
    c.upload.connections = 1;
    c.upload.streams = 4;
    c.upload.batch_bytes = 4096;
    struct rig r;
    rig_open(&r, &c, 1);
    struct svc *s = r.s;
    struct up *u = r.u;
    struct ctl_server *srv = r.srv;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    assert_int_equal(ctl_server_adopt(srv, sp[1]), 0);

    assert_error(command(sp[0], srv, s, u,
                         "{\"v\":1,\"id\":1,\"cmd\":\"upload\",\"args\":{\"action\":\"start\"}}\n"),
                 "E_BAD_REQUEST", "no upload target");
    assert_error(command(sp[0], srv, s, u,
                         "{\"v\":1,\"id\":2,\"cmd\":\"upload\",\"args\":{\"action\":\"target\"}}\n"),
                 "E_BAD_REQUEST", "--url");
    assert_error(command(sp[0], srv, s, u,
                         "{\"v\":1,\"id\":3,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"https://collector.example/t\"}}\n"),
                 "E_BAD_URL", "IPv4");
    assert_error(command(sp[0], srv, s, u,
                         "{\"v\":1,\"id\":4,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"http://127.0.0.1/t\"}}\n"),
                 "E_BAD_URL", "https");

    assert_error(command(sp[0], srv, s, u,
                         "{\"v\":1,\"id\":40,\"cmd\":\"upload\",\"args\":{\"action\":\"status\","
                         "\"url\":\"https://127.0.0.1/t\"}}\n"),
                 "E_BAD_REQUEST", "--url goes with");

    /* A target, then a generator run of 2000 records as fast as the pool takes them. */
    snprintf(line, sizeof(line),
             "{\"v\":1,\"id\":5,\"cmd\":\"upload\",\"args\":{\"action\":\"start\","
             "\"url\":\"https://127.0.0.1:%u/first\",\"rate\":0,\"records\":2000,"
             "\"record_size\":100}}\n", sink.port);
    json_t *rep = command(sp[0], srv, s, u, line);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    char want[128];
    snprintf(want, sizeof(want), "https://127.0.0.1:%u/first", sink.port);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "result"), "url")),
                        want);
    json_decref(rep);
    loop_once(srv, s, u);
    assert_int_equal(up_poll_timeout_ms(u), 1); /* working: millisecond timers */
    /* Batches are queued or in flight for the first target: a new one is refused. */
    snprintf(line, sizeof(line),
             "{\"v\":1,\"id\":6,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
             "\"url\":\"https://127.0.0.1:%u/second\"}}\n", sink.port);
    assert_error(command(sp[0], srv, s, u, line), "E_BUSY", "queued or in flight");
    json_t *st = run_until_acked(srv, s, u, 2000, 20000);
    assert_int_equal(jget(st, "acked", "records"), 2000);
    json_decref(st);

    /* Idle now: the new target is taken; the next run goes there. */
    rep = command(sp[0], srv, s, u, line);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    snprintf(want, sizeof(want), "https://127.0.0.1:%u/second", sink.port);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "result"), "url")),
                        want);
    json_decref(rep);
    snprintf(line, sizeof(line),
             "{\"v\":1,\"id\":7,\"cmd\":\"upload\",\"args\":{\"action\":\"start\","
             "\"rate\":0,\"records\":500,\"record_size\":100}}\n");
    json_decref(command(sp[0], srv, s, u, line));
    st = run_until_acked(srv, s, u, 2500, 20000);
    assert_int_equal(jget(st, "acked", "records"), 2500);
    assert_int_equal(jget(st, "failed", "records"), 0);
    json_decref(st);

    close(sp[0]);
    rig_close(&r);
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
    static struct cfg c;
    char spool[96];
    (void)state;

    static const char *const fault[] = { "--fault-status", "503", "--fault-every", "4",
                                         "--fault-retry-after", "1", NULL };
    sink_start_args(fault);
    cfg_defaults(&c);
    snprintf(c.upload.url_str, sizeof(c.upload.url_str), "https://127.0.0.1:%u/z", sink.port);
    c.upload.connections = 2;
    c.upload.streams = 8;
    c.upload.batch_bytes = 32768;
    c.upload.linger_ms = 20;
    c.upload.retry_initial_ms = 20000;
    c.upload.retry_max_ms = 20000;
    c.upload.compress = CFG_COMPRESS_ZSTD;
    snprintf(spool, sizeof(spool), "%s/zspool", tmpdir);
    snprintf(c.upload.spool_dir, sizeof(c.upload.spool_dir), "%s", spool);
    struct rig r;
    rig_open(&r, &c, 1);
    struct svc *s = r.s;
    struct up *u = r.u;
    struct ctl_server *srv = r.srv;

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
    json_t *st = run_until_acked(srv, s, u, 3002, 15000);
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

    rig_close(&r);
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
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    return rv;
}
