/* test_svc_kernel: the connection service in kernel mode (two worker threads) against the
 * real h3sink program on loopback. Args: H3SINK CERTS_DIR. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include <cmocka.h>

#include "kio.h"
#include "mono.h"
#include "sink_proc.h"
#include "svc.h"

static const char *certs;
static struct sink_proc sink; /* h3sink on 127.0.0.1, for the whole program */

/* ---------------------------------------------------------------- service plumbing */

struct conn_obs {
    bool established, closed;
    enum h3_state last;
    int64_t goaway;
    struct h3_outcome outcome;
};

static void on_state(void *ud, uint64_t conn, enum h3_state st)
{
    struct conn_obs *o = ud;
    (void)conn;
    o->last = st;
    if (st == H3_STATE_ESTABLISHED)
        o->established = true;
}

static void on_goaway(void *ud, uint64_t conn, int64_t id)
{
    struct conn_obs *o = ud;
    (void)conn;
    o->goaway = id;
}

static void on_closed(void *ud, uint64_t conn, const struct h3_outcome *oc)
{
    struct conn_obs *o = ud;
    (void)conn;
    o->closed = true;
    o->outcome = *oc;
}

static const struct svc_conn_cbs cbs = { on_state, on_goaway, on_closed };

/* Runs the service until *|flag| is true or |ms| pass; returns *|flag|. */
static bool run_until(struct svc *s, const bool *flag, unsigned ms)
{
    uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull;
    while (!*flag && mono_ns() < end) {
        if (svc_poll(s, mono_ns()))
            continue;
        if (svc_arm(s)) {
            struct pollfd p = { .fd = svc_eventfd(s), .events = POLLIN };
            poll(&p, 1, 50);
        }
    }
    return *flag;
}

static struct svc *svc_start(uint64_t handshake_ms)
{
    struct svc_conf c;
    char ca[512];
    int err = 0;

    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    svc_conf_defaults(&c);
    c.io = SVC_IO_KERNEL;
    c.n_workers = 2;
    c.worker_lcores[0] = 1;
    c.worker_lcores[1] = 2;
    c.ca_file = ca;
    c.max_streams = 10;
    c.closed_keep = 4;
    if (handshake_ms)
        c.handshake_timeout_ns = handshake_ms * 1000000ull;
    struct svc *s = svc_new(&c, &err);
    assert_non_null(s);
    return s;
}

static uint64_t connect_to(struct svc *s, uint16_t port, int lcore, struct conn_obs *o)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct svc_conn_params p = {
        .url = "https://127.0.0.1", .remote = (struct sockaddr *)&sa,
        .remote_len = sizeof(sa), .host = "127.0.0.1", .insecure = -1, .lcore = lcore,
    };
    uint64_t id = 0;
    memset(o, 0, sizeof(*o));
    o->goaway = -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(svc_connect(s, &p, &cbs, o, &id), 0);
    assert_true(id > 0);
    return id;
}

struct req_obs {
    struct svc_req r;
    bool done;
    struct svc_req_result res;
    char headers[1024];
    unsigned *counter;
};

static void req_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct req_obs *o = ud;
    (void)r;
    o->done = true;
    o->res = *res;
    if (res->headers)
        snprintf(o->headers, sizeof(o->headers), "%.*s", (int)res->headers_len, res->headers);
    if (o->counter)
        (*o->counter)++;
}

static void req_init(struct req_obs *o, const char *method, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->r.method = method;
    o->r.path = path;
    o->r.done = req_done;
    o->r.ud = o;
}

/* ---------------------------------------------------------------- tests */

static void test_get_post_shutdown(void **state)
{
    (void)state;
    struct svc *s = svc_start(0);
    struct conn_obs o;
    uint64_t id = connect_to(s, sink.port, -1, &o);

    assert_true(run_until(s, &o.established, 5000));
    struct svc_conn_info info;
    assert_int_equal(svc_conn_info(s, id, &info), 0);
    assert_int_equal(info.state, H3_STATE_ESTABLISHED);
    assert_int_equal(svc_conns_active(s), 1);

    /* GET with the response kept: status, headers, byte count, digest of the pattern. */
    struct req_obs get;
    req_init(&get, "GET", "/bytes/100000");
    get.r.keep_response = true;
    assert_int_equal(svc_request(s, id, &get.r), 0);
    assert_true(run_until(s, &get.done, 5000));
    assert_int_equal(get.res.o.result, H3_REQ_COMPLETED);
    assert_int_equal(get.res.o.status, 200);
    assert_int_equal(get.res.o.body_recv, 100000);
    assert_non_null(strstr(get.headers, "content-length: 100000"));
    uint8_t *pat = malloc(100000), want[32];
    for (unsigned i = 0; i < 100000; i++)
        pat[i] = (uint8_t)(i % 251);
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, pat, 100000, want), 0);
    free(pat);
    assert_memory_equal(get.res.body_sha256, want, 32);
    assert_true(get.res.rtt_ns > 0);

    /* POST 1 MiB from memory with its content-digest (the sink answers 400 on mismatch)
     * and 3 MiB generated on the worker. */
    size_t n = 1u << 20;
    uint8_t *body = malloc(n), dig[32];
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 7 + 3);
    gnutls_hash_fast(GNUTLS_DIG_SHA256, body, n, dig);
    gnutls_datum_t dd = { dig, 32 }, b64;
    assert_int_equal(gnutls_base64_encode2(&dd, &b64), 0);
    char hv[128];
    snprintf(hv, sizeof(hv), "sha-256=:%.*s:", (int)b64.size, b64.data);
    gnutls_free(b64.data);
    struct h3_header hdr = { "content-digest", hv };
    struct req_obs post, synth;
    req_init(&post, "POST", "/upload");
    post.r.body = body;
    post.r.body_len = n;
    post.r.headers = &hdr;
    post.r.n_headers = 1;
    post.r.keep_response = true;
    req_init(&synth, "POST", "/upload");
    synth.r.synth_len = 3u << 20;
    assert_int_equal(svc_request(s, id, &post.r), 0);
    assert_int_equal(svc_request(s, id, &synth.r), 0);
    assert_true(run_until(s, &post.done, 10000));
    assert_true(run_until(s, &synth.done, 10000));
    assert_int_equal(post.res.o.status, 200);
    assert_int_equal(post.res.o.body_sent, n);
    assert_int_equal(synth.res.o.status, 200);
    assert_int_equal(synth.res.o.body_sent, 3u << 20);
    free(body);

    /* 200 requests, 10 streams at a time: all complete. */
    unsigned done = 0;
    struct req_obs *many = calloc(200, sizeof(*many));
    for (int i = 0; i < 200; i++) {
        req_init(&many[i], "POST", "/many");
        many[i].r.synth_len = 1024;
        many[i].counter = &done;
        assert_int_equal(svc_request(s, id, &many[i].r), 0);
    }
    bool all = false;
    uint64_t end = mono_ns() + 10000000000ull;
    while (done < 200 && mono_ns() < end)
        run_until(s, &all, 20);
    assert_int_equal(done, 200);
    for (int i = 0; i < 200; i++)
        assert_int_equal(many[i].res.o.status, 200);
    free(many);

    /* Graceful shutdown with requests in flight: they complete, outcome OK. */
    struct req_obs slow[3];
    for (int i = 0; i < 3; i++) {
        req_init(&slow[i], "POST", "/slow");
        slow[i].r.synth_len = 2u << 20;
        assert_int_equal(svc_request(s, id, &slow[i].r), 0);
    }
    assert_int_equal(svc_shutdown(s, id, 3, 0), 0);
    assert_true(run_until(s, &o.closed, 10000));
    for (int i = 0; i < 3; i++) {
        assert_true(slow[i].done);
        assert_int_equal(slow[i].res.o.result, H3_REQ_COMPLETED);
        assert_int_equal(slow[i].res.o.status, 200);
    }
    assert_true(o.outcome.ok);
    assert_int_equal(o.outcome.code, 0x100);
    /* New requests are refused once closed; show still answers from the final stats. */
    struct req_obs late;
    req_init(&late, "GET", "/");
    assert_int_equal(svc_request(s, id, &late.r), -ESHUTDOWN);
    assert_int_equal(svc_conn_info(s, id, &info), 0);
    assert_true(info.closed);
    assert_int_equal(info.requests_done, 206);
    assert_int_equal(svc_conns_active(s), 0);
    svc_del(s);
}

struct stats_obs {
    bool done;
    int err;
    struct h3_stats st;
};

static void stats_cb(void *ud, uint64_t conn, int err, const struct h3_stats *st)
{
    struct stats_obs *o = ud;
    (void)conn;
    o->done = true;
    o->err = err;
    if (st)
        o->st = *st;
}

static void test_two_workers_close_stats(void **state)
{
    (void)state;
    struct svc *s = svc_start(0);
    struct conn_obs a, b;
    uint64_t ia = connect_to(s, sink.port, 1, &a), ib = connect_to(s, sink.port, 2, &b);

    assert_true(run_until(s, &a.established, 5000));
    assert_true(run_until(s, &b.established, 5000));
    struct svc_conn_info infa, infb;
    svc_conn_info(s, ia, &infa);
    svc_conn_info(s, ib, &infb);
    assert_int_equal(infa.lcore, 1);
    assert_int_equal(infb.lcore, 2);
    assert_int_equal(svc_conn_next(s, 0), ia);
    assert_int_equal(svc_conn_next(s, ia), ib);
    assert_int_equal(svc_conn_next(s, ib), 0);

    struct req_obs g;
    req_init(&g, "GET", "/bytes/5000");
    assert_int_equal(svc_request(s, ib, &g.r), 0);
    assert_true(run_until(s, &g.done, 5000));
    assert_int_equal(g.res.o.body_recv, 5000);

    struct stats_obs so = { 0 };
    assert_int_equal(svc_conn_stats(s, ib, stats_cb, &so), 0);
    assert_true(run_until(s, &so.done, 2000));
    assert_int_equal(so.err, 0);
    assert_int_equal(so.st.state, H3_STATE_ESTABLISHED);
    assert_int_equal(so.st.requests_completed, 1);
    assert_true(so.st.body_bytes_recv >= 5000);
    assert_string_equal(so.st.alpn, "h3");

    /* close with an application error: the outcome carries it and is not OK. */
    assert_int_equal(svc_close(s, ia, 0x10c, "test"), 0);
    assert_true(run_until(s, &a.closed, 5000));
    assert_false(a.outcome.ok);
    assert_int_equal(a.outcome.code, 0x10c);
    assert_int_equal(a.outcome.kind, H3_CLOSE_APPLICATION);
    assert_int_equal(svc_close(s, ia, 0x100, NULL), -ESHUTDOWN);
    /* The other connection is unaffected. */
    assert_false(b.closed);
    so.done = false;
    assert_int_equal(svc_conn_stats(s, ia, stats_cb, &so), 0); /* closed: final stats */
    assert_true(run_until(s, &so.done, 2000));
    assert_int_equal(so.st.state, H3_STATE_CLOSED);
    assert_int_equal(so.st.outcome.code, 0x10c);

    svc_shutdown_all(s, 2000000000ull);
    assert_true(run_until(s, &b.closed, 5000));
    assert_true(b.outcome.ok);
    assert_int_equal(svc_conn_info(s, 999, &infa), -ENOENT);
    assert_int_equal(svc_request(s, 999, &g.r), -ENOENT);

    struct svc_worker_stats ws[4];
    assert_int_equal(svc_worker_stats(s, ws, 4), 2);
    assert_int_equal(ws[0].conns + ws[1].conns, 0);
    assert_true(ws[1].requests >= 1);
    svc_del(s);
}

static void test_dead_port_and_timeout(void **state)
{
    (void)state;
    struct svc *s = svc_start(800);
    struct conn_obs o;
    /* A port nothing listens on: the handshake times out. */
    connect_to(s, 9, -1, &o);
    assert_true(run_until(s, &o.closed, 5000));
    assert_false(o.outcome.ok);
    assert_false(o.established);
    assert_true(o.outcome.kind == H3_CLOSE_HANDSHAKE_TIMEOUT ||
                o.outcome.err == H3_ERR_HANDSHAKE_TIMEOUT);

    /* A request with a timeout shorter than its upload is cancelled. */
    struct conn_obs c;
    uint64_t id = connect_to(s, sink.port, -1, &c);
    assert_true(run_until(s, &c.established, 5000));
    struct req_obs big;
    req_init(&big, "POST", "/big");
    big.r.synth_len = 1ull << 36;
    big.r.timeout_ns = 100000000ull;
    assert_int_equal(svc_request(s, id, &big.r), 0);
    assert_true(run_until(s, &big.done, 5000));
    assert_int_equal(big.res.o.result, H3_REQ_CANCELLED);
    assert_int_equal(big.res.o.code, 0x10c);
    /* Bad arguments. */
    struct req_obs bad;
    req_init(&bad, "GET", "/");
    bad.r.done = NULL;
    assert_int_equal(svc_request(s, id, &bad.r), -EINVAL);
    req_init(&bad, "GET", "/");
    struct h3_header up = { "Bad Name", "x" };
    bad.r.headers = &up;
    bad.r.n_headers = 1;
    assert_int_equal(svc_request(s, id, &bad.r), 0);
    assert_true(run_until(s, &bad.done, 2000));
    assert_int_equal(bad.res.o.result, H3_REQ_FAILED);
    assert_int_equal(bad.res.err, H3_ERR_INVAL);
    svc_del(s); /* with a connection still open: freed without sending */
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s H3SINK CERTS_DIR\n", argv[0]);
        return 2;
    }
    static const char *const sink_args[] = { "--max-streams", "10", NULL };
    certs = argv[2];
    signal(SIGPIPE, SIG_IGN);
    if (sink_proc_start(&sink, argv[1], certs, sink_args) != 0) {
        fprintf(stderr, "%s: h3sink (%s) did not start\n", argv[0], argv[1]);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_post_shutdown),
        cmocka_unit_test(test_two_workers_close_stats),
        cmocka_unit_test(test_dead_port_and_timeout),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    /* Every upload declared its length, the generated ones too (Caddy's proxy takes a body
     * without content-length as empty). */
    static const char key[] = "\"uploads_no_length\":";
    char *fin = sink_proc_stop(&sink, NULL), *end = NULL;
    const char *k = fin ? strstr(fin, key) : NULL;
    unsigned long long nolen = k ? strtoull(k + sizeof(key) - 1, &end, 10) : 1;
    if (!k || end == k + sizeof(key) - 1 || nolen != 0) {
        fprintf(stderr, "h3sink totals: uploads without content-length: %s\n", fin ? fin : "(none)");
        rv = rv ? rv : 1;
    }
    free(fin);
    return rv;
}
