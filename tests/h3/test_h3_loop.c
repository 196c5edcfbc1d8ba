/*
 * Deterministic HTTP/3 tests: the h3 driver against the h3sink server core over
 * the in-memory loopback backend with an injected clock (no sockets, no sleeps).
 * argv[1]: the test PKI directory (tests/certs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "h3.h"
#include "h3_loop.h"
#include "sink.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define PATTERN_MOD 251
#define MAX_RESULTS 1100
#define SERVER_NAME "h3sink.test"

static const char *certs_dir;

struct result {
    bool done;
    struct h3_req_outcome o;
    size_t body_len;
    bool body_ok;        /* kept body matched the /bytes pattern */
    char body[256];      /* the start of a kept body (JSON receipts) */
    char headers[256];   /* the start of the kept response header lines */
};


struct env {
    struct h3_loop *loop;
    struct sink *sink;
    struct h3_conn *c;
    struct sockaddr_in cli, srv;
    bool established;
    int closed_calls;
    struct h3_outcome out;
    struct result res[MAX_RESULTS];
    size_t n_done, want;
    uint64_t max_open;
    bool check_open;
    /* producer state */
    uint64_t prod_off, prod_total;
    int prod_calls, prod_blocked;
    bool prod_block_next;
};

/* ------------------------------------------------------------ endpoints */

static void srv_send(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                     const uint8_t *data, size_t len)
{
    struct env *e = arg;
    (void)remote;
    (void)remote_len;
    h3_loop_send(e->loop, H3_LOOP_S2C, data, len);
}

static void srv_recv(void *ctx, const uint8_t *data, size_t len, uint64_t now)
{
    struct env *e = ctx;
    sink_recv(e->sink, (struct sockaddr *)&e->srv, sizeof(e->srv), (struct sockaddr *)&e->cli,
              sizeof(e->cli), data, len, now);
}

static uint64_t srv_expiry(void *ctx)
{
    struct env *e = ctx;
    return sink_expiry(e->sink);
}

static void srv_on_expiry(void *ctx, uint64_t now)
{
    struct env *e = ctx;
    sink_handle_expiry(e->sink, now);
}

static void srv_flush(void *ctx, uint64_t now)
{
    struct env *e = ctx;
    sink_flush(e->sink, now, srv_send, e);
}

static void cli_recv(void *ctx, const uint8_t *data, size_t len, uint64_t now)
{
    struct env *e = ctx;
    h3_conn_recv(e->c, data, len, 0, now);
}

static uint64_t cli_expiry(void *ctx)
{
    struct env *e = ctx;
    return h3_conn_expiry(e->c);
}

static void cli_on_expiry(void *ctx, uint64_t now)
{
    struct env *e = ctx;
    h3_conn_on_expiry(e->c, now);
}

static void on_established(struct h3_conn *c, void *ud)
{
    struct env *e = ud;
    (void)c;
    e->established = true;
}

static void on_closed(struct h3_conn *c, const struct h3_outcome *o, void *ud)
{
    struct env *e = ud;
    (void)c;
    e->closed_calls++;
    e->out = *o;
}

static int run(struct env *e, bool (*done)(void *), uint64_t for_ns)
{
    const struct h3_loop_ep cli = { e, cli_recv, cli_expiry, cli_on_expiry, NULL };
    const struct h3_loop_ep srv = { e, srv_recv, srv_expiry, srv_on_expiry, srv_flush };
    return h3_loop_run(e->loop, &cli, &srv, done, e, h3_loop_now(e->loop) + for_ns);
}

/* ---------------------------------------------------------------- setup */

struct setup {
    const char *cert;             /* server certificate base name */
    const char *host;             /* client's expected server name */
    uint64_t max_streams_bidi;
    uint64_t response_delay_ns;
    int fault_bad_headers;
    uint64_t client_idle_ns;
    uint64_t keepalive_ns;
    uint64_t handshake_timeout_ns;
    const char *keylog, *qlog;
    uint64_t max_streams;         /* client-side cap on concurrent requests */
    bool system_store;            /* trust the system store, not the test CA */
    bool insecure;
    const struct h3_mem *mem;
    size_t max_requests;
    uint32_t loss_ppm;
    uint64_t seed;
};

static void env_start(struct env *e, const struct setup *su)
{
    char cert[512], key[512], ca[512], err[256] = "";
    struct sink_params sp;
    struct h3_loop_params lp;
    struct h3_conn_params p;

    memset(e, 0, sizeof(*e));
    h3_loop_params_default(&lp);
    /* H3_TEST_SEED varies the loss pattern, to hunt for seed-dependent bugs. */
    const char *seed_env = getenv("H3_TEST_SEED");
    lp.seed = seed_env ? strtoull(seed_env, NULL, 0) : su->seed ? su->seed : 42;
    lp.loss_ppm[0] = lp.loss_ppm[1] = su->loss_ppm;
    e->loop = h3_loop_new(&lp);
    assert_non_null(e->loop);

    snprintf(cert, sizeof(cert), "%s/%s.pem", certs_dir, su->cert ? su->cert : "server");
    snprintf(key, sizeof(key), "%s/%s-key.pem", certs_dir, su->cert ? su->cert : "server");
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs_dir);
    sink_params_default(&sp);
    sp.cert_file = cert;
    sp.key_file = key;
    if (su->max_streams_bidi)
        sp.max_streams_bidi = su->max_streams_bidi;
    sp.response_delay_ns = su->response_delay_ns;
    sp.fault_bad_response_headers = su->fault_bad_headers;
    e->sink = sink_new(&sp, err, sizeof(err));
    if (!e->sink)
        fail_msg("sink_new: %s", err);

    e->cli.sin_family = e->srv.sin_family = AF_INET;
    e->cli.sin_port = htons(50123);
    e->srv.sin_port = htons(443);
    inet_pton(AF_INET, "198.18.0.1", &e->cli.sin_addr);
    inet_pton(AF_INET, "198.18.0.2", &e->srv.sin_addr);

    h3_conn_params_default(&p);
    p.host = su->host ? su->host : SERVER_NAME;
    p.ca_file = su->system_store ? NULL : ca;
    p.insecure = su->insecure;
    p.local = (struct sockaddr *)&e->cli;
    p.local_len = sizeof(e->cli);
    p.remote = (struct sockaddr *)&e->srv;
    p.remote_len = sizeof(e->srv);
    p.io = &h3_loop_client_ops;
    p.io_ctx = e->loop;
    p.on_established = on_established;
    p.on_closed = on_closed;
    p.ud = e;
    if (su->client_idle_ns)
        p.idle_timeout_ns = su->client_idle_ns;
    if (su->handshake_timeout_ns)
        p.handshake_timeout_ns = su->handshake_timeout_ns;
    p.keepalive_ns = su->keepalive_ns;
    p.keylog_file = su->keylog;
    p.max_streams = su->max_streams;
    p.mem = su->mem;
    p.qlog_file = su->qlog;
    p.max_requests = su->max_requests ? su->max_requests : 64;
    assert_int_equal(h3_conn_new(&p, h3_loop_now(e->loop), &e->c), 0);
}

static void env_stop(struct env *e)
{
    h3_conn_del(e->c);
    sink_del(e->sink);
    h3_loop_del(e->loop);
}

static bool until_established(void *arg)
{
    struct env *e = arg;
    return e->established || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

static bool until_closed(void *arg)
{
    struct env *e = arg;
    return h3_conn_state(e->c) == H3_STATE_CLOSED;
}

static bool until_want(void *arg)
{
    struct env *e = arg;
    if (e->check_open) {
        struct h3_stats st;
        h3_conn_stats(e->c, &st);
        if (st.streams_open > e->max_open)
            e->max_open = st.streams_open;
    }
    return e->n_done >= e->want || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

static void connect_ok(struct env *e)
{
    assert_int_equal(run(e, until_established, 10 * SEC), 0);
    assert_true(e->established);
    assert_int_equal(h3_conn_state(e->c), H3_STATE_ESTABLISHED);
}

/* Graceful end: shutdown, wait_idle, expect OK. */
static void shutdown_ok(struct env *e)
{
    assert_int_equal(h3_conn_shutdown(e->c, 0, 0, h3_loop_now(e->loop)), 0);
    assert_int_equal(run(e, until_closed, 10 * SEC), 0);
    assert_int_equal(e->closed_calls, 1);
    assert_true(e->out.ok);
    assert_int_equal(e->out.kind, H3_CLOSE_APPLICATION);
    assert_int_equal(e->out.code, H3_H3_NO_ERROR);
}

/* ------------------------------------------------------------- requests */

static void on_complete(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
{
    struct result *res = ud;
    size_t len;
    const uint8_t *b = h3_req_body(r, &len);

    res->done = true;
    res->o = *o;
    res->body_len = len;
    res->body_ok = true;
    for (size_t i = 0; i < len; i++)
        if (b[i] != (uint8_t)(i % PATTERN_MOD)) {
            res->body_ok = false;
            break;
        }
    size_t hl;
    const char *hh = h3_req_headers(r, &hl);
    snprintf(res->headers, sizeof(res->headers), "%.*s", (int)hl, hh ? hh : "");
    size_t n = len < sizeof(res->body) - 1 ? len : sizeof(res->body) - 1;
    if (n)
        memcpy(res->body, b, n);
    res->body[n] = '\0';
}

/* on_complete wrapper that also counts completions in the env. The result slot
 * index is |res - e->res|; the env is found through the connection's ud. */
static struct env *g_env;

static void on_complete_count(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
{
    on_complete(r, ud, o);
    g_env->n_done++;
}

static int submit(struct env *e, size_t i, const char *method, const char *path,
                  const uint8_t *body, size_t blen, const struct h3_header *h, size_t nh,
                  size_t keep_max)
{
    struct h3_req_params rp = { 0 };
    g_env = e;
    rp.method = method;
    rp.path = path;
    rp.headers = h;
    rp.n_headers = nh;
    if (body) {
        rp.body = H3_BODY_MEMORY;
        rp.body_data = body;
        rp.body_len = blen;
    }
    rp.sink = H3_SINK_KEEP;
    rp.keep_max = keep_max ? keep_max : 4096;
    rp.on_complete = on_complete_count;
    rp.ud = &e->res[i];
    return h3_conn_request(e->c, &rp, h3_loop_now(e->loop), NULL);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i % PATTERN_MOD);
    return b;
}

static void digest_header(const uint8_t *b, size_t n, char *out, size_t outlen)
{
    uint8_t md[32];
    gnutls_datum_t in = { md, sizeof(md) }, enc;
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, b, n, md), 0);
    assert_int_equal(gnutls_base64_encode2(&in, &enc), 0);
    snprintf(out, outlen, "sha-256=:%.*s:", (int)enc.size, (const char *)enc.data);
    gnutls_free(enc.data);
}

/* ---------------------------------------------------------------- tests */

static void test_handshake(void **state)
{
    struct env e;
    struct h3_stats st;
    (void)state;

    env_start(&e, &(struct setup){ 0 });
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CONNECTING);
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_string_equal(st.alpn, "h3");
    assert_string_equal(st.tls_version, "TLS1.3");
    assert_true(st.tls_cipher[0] != '\0');
    assert_true(st.rtt_min_ns >= 10 * MS); /* 5 ms each way */
    assert_true(st.pkts_sent > 0 && st.pkts_recv > 0);
    assert_int_equal(st.pkts_lost, 0);
    shutdown_ok(&e);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_int_equal(sink_stats(e.sink)->conns_closed_ok, 1);
    env_stop(&e);
}

static void test_get(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){ 0 });
    /* Submitted before the handshake: queued, then sent. */
    assert_int_equal(submit(&e, 0, "GET", "/bytes/100000", NULL, 0, NULL, 0, 1 << 20), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_true(e.res[0].done);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].body_len, 100000);
    assert_true(e.res[0].body_ok);
    assert_int_equal(e.res[0].o.stream_id, 0);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_post_10mib_digest(void **state)
{
    struct env e;
    const size_t n = 10u << 20;
    char dig[96];
    (void)state;

    uint8_t *body = pattern(n);
    digest_header(body, n, dig, sizeof(dig));
    struct h3_header h = { "content-digest", dig };
    env_start(&e, &(struct setup){ 0 });
    assert_int_equal(submit(&e, 0, "POST", "/upload", body, n, &h, 1, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 120 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].o.body_sent, n);
    assert_non_null(strstr(e.res[0].body, "\"bytes\":10485760"));
    assert_non_null(strstr(e.res[0].body, "\"digest\":\"ok\""));
    assert_int_equal(sink_stats(e.sink)->digest_ok, 1);
    assert_int_equal(sink_stats(e.sink)->body_bytes_in, n);

    /* A wrong digest is caught by the server: 400, digest mismatch. */
    body[12345] ^= 1;
    assert_int_equal(submit(&e, 1, "POST", "/upload", body, 65536, &h, 1, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[1].o.status, 400);
    assert_non_null(strstr(e.res[1].body, "mismatch"));
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

/* Producer with backpressure: every other call says WOULDBLOCK; the test
 * resumes it from the loop, as an application would when data arrives. */
static int produce(struct h3_req *r, void *ud, const uint8_t **data, size_t *len, bool *eof)
{
    struct env *e = g_env;
    static uint8_t chunk[16384 + PATTERN_MOD];
    (void)r;
    (void)ud;
    if (chunk[1] == 0)
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)(i % PATTERN_MOD);
    e->prod_calls++;
    if (e->prod_block_next) {
        e->prod_block_next = false;
        e->prod_blocked++;
        return H3_PRODUCE_WOULDBLOCK;
    }
    e->prod_block_next = true;
    uint64_t left = e->prod_total - e->prod_off;
    size_t n = left < 16384 ? (size_t)left : 16384;
    *data = chunk + e->prod_off % PATTERN_MOD;
    *len = n;
    e->prod_off += n;
    *eof = e->prod_off == e->prod_total;
    return 0;
}

static struct h3_req *g_prod_req;

static bool until_want_resume(void *arg)
{
    struct env *e = arg;
    if (g_prod_req && e->n_done == 0) {
        h3_req_resume(g_prod_req);
        h3_conn_flush(e->c, h3_loop_now(e->loop));
    }
    return until_want(arg);
}

static void test_post_producer(void **state)
{
    struct env e;
    struct h3_req_params rp = { 0 };
    (void)state;

    env_start(&e, &(struct setup){ 0 });
    g_env = &e;
    connect_ok(&e);
    e.prod_total = 1u << 20;
    rp.method = "PUT";
    rp.path = "/stream";
    rp.body = H3_BODY_PRODUCER;
    rp.produce = produce;
    rp.sink = H3_SINK_KEEP;
    rp.on_complete = on_complete_count;
    rp.ud = &e.res[0];
    assert_int_equal(h3_conn_request(e.c, &rp, h3_loop_now(e.loop), &g_prod_req), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want_resume, 30 * SEC), 0);
    g_prod_req = NULL;
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    assert_int_equal(e.res[0].o.body_sent, 1u << 20);
    assert_non_null(strstr(e.res[0].body, "\"bytes\":1048576"));
    assert_true(e.prod_blocked > 10);
    assert_int_equal(sink_stats(e.sink)->body_bytes_in, 1u << 20);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_1000_requests_limit_10(void **state)
{
    struct env e;
    const size_t n = 1000;
    (void)state;

    env_start(&e, &(struct setup){ .max_streams_bidi = 10, .max_requests = n });
    for (size_t i = 0; i < n; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/100", NULL, 0, NULL, 0, 0), 0);
    e.want = n;
    e.check_open = true;
    assert_int_equal(run(&e, until_want, 120 * SEC), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
        assert_int_equal(e.res[i].body_len, 100);
        assert_true(e.res[i].body_ok);
    }
    assert_true(e.max_open <= 10);
    assert_true(e.max_open >= 5);
    assert_int_equal(sink_stats(e.sink)->requests, n);
    /* Pool exhausted is a clear error, not a crash. */
    struct h3_stats st;
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_completed, n);
    shutdown_ok(&e);
    env_stop(&e);
}

static bool until_sink_has(void *arg)
{
    struct env *e = arg;
    return sink_stats(e->sink)->requests >= e->want || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

static void test_shutdown_in_flight(void **state)
{
    struct env e;
    struct h3_stats st;
    const size_t n = 20;
    (void)state;

    env_start(&e, &(struct setup){ .response_delay_ns = 200 * MS });
    connect_ok(&e);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/5000", NULL, 0, NULL, 0, 8192), 0);
    e.want = n;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.streams_open, n);
    assert_int_equal(e.n_done, 0);

    assert_int_equal(h3_conn_shutdown(e.c, 7, 0, h3_loop_now(e.loop)), 0);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_DRAINING);
    /* New requests are refused from now on. */
    assert_int_equal(submit(&e, n, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_SHUTDOWN);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
        assert_int_equal(e.res[i].body_len, 5000);
    }
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    assert_int_equal(e.out.kind, H3_CLOSE_APPLICATION);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.goaway_sent_id, 0);
    assert_int_equal(st.max_push_requested, 7);
    assert_int_equal(st.max_push_effective, 0);
    assert_int_equal(st.requests_completed, n);
    /* Let the server see the close. */
    run(&e, until_closed, SEC);
    struct h3_loop_stats ls;
    h3_loop_stats(e.loop, &ls);
    env_stop(&e);
}

static void test_shutdown_deadline(void **state)
{
    struct env e;
    struct h3_stats st;
    char buf[256];
    (void)state;

    env_start(&e, &(struct setup){ .response_delay_ns = 10 * SEC, .max_streams_bidi = 3 });
    connect_ok(&e);
    for (size_t i = 0; i < 5; i++) /* 3 in flight, 2 queued */
        assert_int_equal(submit(&e, i, "GET", "/slow", NULL, 0, NULL, 0, 0), 0);
    e.want = 3;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    uint64_t t0 = h3_loop_now(e.loop);
    assert_int_equal(h3_conn_shutdown(e.c, 0, t0 + 100 * MS, t0), 0);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_true(h3_loop_now(e.loop) >= t0 + 100 * MS);
    assert_true(h3_loop_now(e.loop) < t0 + 2 * SEC);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_CANCELLED);
        assert_int_equal(e.res[i].o.code, H3_H3_REQUEST_CANCELLED);
    }
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.requests_cancelled, 5);
    /* Everything was accounted for before the close, so it is still H3_NO_ERROR. */
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "H3_NO_ERROR"));
    env_stop(&e);
}

static void test_peer_goaway(void **state)
{
    struct env e;
    struct h3_stats st;
    (void)state;

    env_start(&e, &(struct setup){ .response_delay_ns = 100 * MS, .max_streams_bidi = 6 });
    connect_ok(&e);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    e.want = 4;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    /* The server says GOAWAY while two more requests are on their way and two
     * more wait for stream credit: those four were never processed. */
    sink_goaway(e.sink, h3_loop_now(e.loop));
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/1000", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(e.res[i].o.result, H3_REQ_NOT_PROCESSED);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.goaway_recv_id, 16); /* next unprocessed: stream 4 * 4 */
    assert_int_equal(st.requests_not_processed, 4);
    assert_true(e.out.ok);
    assert_int_equal(e.out.code, H3_H3_NO_ERROR);
    assert_int_equal(submit(&e, 9, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_CLOSED);
    env_stop(&e);
}

static void test_idle_timeout(void **state)
{
    struct env e;
    char buf[256];
    (void)state;

    env_start(&e, &(struct setup){ .client_idle_ns = 2 * SEC });
    connect_ok(&e);
    uint64_t t0 = h3_loop_now(e.loop);
    assert_int_equal(run(&e, until_closed, 60 * SEC), 0);
    assert_true(h3_loop_now(e.loop) >= t0 + 2 * SEC);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_IDLE_TIMEOUT);
    assert_int_equal(e.out.err, H3_ERR_IDLE_TIMEOUT);
    assert_int_equal(e.closed_calls, 1);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "idle"));
    env_stop(&e);
}

static void test_peer_app_error(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){ .response_delay_ns = 5 * SEC });
    connect_ok(&e);
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_sink_has, 10 * SEC), 0);
    sink_close_all(e.sink, H3_H3_INTERNAL_ERROR, "maintenance", h3_loop_now(e.loop));
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_APPLICATION);
    assert_int_equal(e.out.origin, H3_ORIGIN_REMOTE);
    assert_int_equal(e.out.code, H3_H3_INTERNAL_ERROR);
    assert_string_equal(e.out.reason, "maintenance");
    assert_int_equal(e.res[0].o.result, H3_REQ_CONN_CLOSED);
    env_stop(&e);
}

static void test_loss_5pct(void **state)
{
    struct env e;
    const size_t n = 1u << 20;
    char dig[96];
    struct h3_loop_stats ls;
    (void)state;

    uint8_t *body = pattern(n);
    digest_header(body, n, dig, sizeof(dig));
    struct h3_header h = { "content-digest", dig };
    env_start(&e, &(struct setup){ .loss_ppm = 50000, .seed = 7 });
    assert_int_equal(submit(&e, 0, "GET", "/bytes/1048576", NULL, 0, NULL, 0, 2u << 20), 0);
    assert_int_equal(submit(&e, 1, "POST", "/up", body, n, &h, 1, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 300 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].body_len, n);
    assert_true(e.res[0].body_ok);
    assert_int_equal(e.res[1].o.result, H3_REQ_COMPLETED);
    assert_non_null(strstr(e.res[1].body, "\"digest\":\"ok\""));
    h3_loop_stats(e.loop, &ls);
    struct h3_stats st;
    h3_conn_stats(e.c, &st);
    assert_true(st.pkts_lost > 0);
    assert_true(st.pkts_lost <= ls.lost[H3_LOOP_C2S] + 50); /* spurious losses possible */
    assert_true(ls.lost[H3_LOOP_C2S] > 10);
    assert_true(ls.lost[H3_LOOP_S2C] > 10);
    shutdown_ok(&e);
    env_stop(&e);
    free(body);
}

static void tls_fail(const char *cert, const char *expect, bool system_store)
{
    struct env e;
    char buf[512];

    env_start(&e, &(struct setup){ .cert = cert, .system_store = system_store });
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(run(&e, until_closed, 30 * SEC), 0);
    assert_false(e.established);
    assert_false(e.out.ok);
    assert_int_equal(e.out.err, H3_ERR_TLS_VERIFY);
    assert_int_equal(e.out.kind, H3_CLOSE_TRANSPORT);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_true(e.out.code >= 0x100 && e.out.code <= 0x1ff); /* CRYPTO_ERROR */
    h3_outcome_str(&e.out, buf, sizeof(buf));
    if (!strstr(buf, expect))
        fail_msg("outcome '%s' lacks '%s'", buf, expect);
    /* Never sent: safe to retry elsewhere. */
    assert_int_equal(e.res[0].o.result, H3_REQ_NOT_PROCESSED);
    env_stop(&e);
}

static void test_tls_wrong_name(void **state)
{
    (void)state;
    tls_fail("wrongname", "does not match", false);
}

static void test_tls_unknown_ca(void **state)
{
    (void)state;
    tls_fail("untrusted", "issuer", false);
}

/* The system store does not know the test CA either. */
static void test_tls_system_store(void **state)
{
    (void)state;
    tls_fail("server", "issuer", true);
}

/* The lab switch: no verification at all, so the wrong name gets through. */
static void test_tls_insecure(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){ .cert = "wrongname", .insecure = true });
    connect_ok(&e);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_malformed_response_headers(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){ .fault_bad_headers = 1 });
    connect_ok(&e);
    assert_int_equal(submit(&e, 0, "GET", "/fault/bad-headers", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_FAILED);
    assert_int_equal(e.res[0].o.code, H3_H3_MESSAGE_ERROR);
    /* A stream error: the connection is fine and serves the next request. */
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    assert_int_equal(submit(&e, 1, "GET", "/bytes/10", NULL, 0, NULL, 0, 0), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[1].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[1].o.status, 200);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_local_close_and_errors(void **state)
{
    struct env e;
    struct h3_header many[H3_REQ_MAX_HEADERS + 1];
    (void)state;

    env_start(&e, &(struct setup){ .max_requests = 2 });
    connect_ok(&e);
    for (size_t i = 0; i < H3_REQ_MAX_HEADERS + 1; i++)
        many[i] = (struct h3_header){ "x-a", "b" };
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, many, H3_REQ_MAX_HEADERS + 1, 0),
                     H3_ERR_TOO_LARGE);
    assert_int_equal(submit(&e, 0, NULL, "/", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    /* Bad input is refused with a clear error, never sent. */
    static const struct h3_header bad[][1] = {
        { { "X-Upper", "1" } },       { { ":path", "/x" } },
        { { "connection", "close" } }, { { "te", "gzip" } },
        { { "bad name", "1" } },       { { "x-ok", "line\r\nbreak" } },
        { { "", "1" } },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, bad[i], 1, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GE T", "/", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GET", "no-slash", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    assert_int_equal(submit(&e, 0, "GET", "/a b", NULL, 0, NULL, 0, 0), H3_ERR_INVAL);
    static const struct h3_header good[] = { { "te", "trailers" }, { "x-fine", "v a l" } };
    struct h3_stats st0;
    h3_conn_stats(e.c, &st0);
    assert_int_equal(st0.requests_queued, 0);
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, good, 2, 0), 0);
    assert_int_equal(submit(&e, 1, "OPTIONS", "*", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(submit(&e, 2, "GET", "/", NULL, 0, NULL, 0, 0), H3_ERR_NOBUFS);
    /* Submitting writes nothing; the expiry says "now" until a flush sends it. */
    assert_int_equal(h3_conn_expiry(e.c), 0);
    assert_int_equal(h3_conn_flush(e.c, h3_loop_now(e.loop)), 0);
    assert_true(h3_conn_expiry(e.c) > 0);
    assert_int_equal(h3_conn_close(e.c, H3_H3_REQUEST_CANCELLED, "bye", h3_loop_now(e.loop)),
                     0);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CLOSING);
    assert_int_equal(h3_conn_close(e.c, 0, NULL, h3_loop_now(e.loop)), H3_ERR_STATE);
    assert_int_equal(e.res[0].o.result, H3_REQ_CONN_CLOSED);
    assert_int_equal(run(&e, until_closed, 10 * SEC), 0);
    assert_false(e.out.ok);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_int_equal(e.out.code, H3_H3_REQUEST_CANCELLED);
    assert_string_equal(e.out.reason, "bye");
    env_stop(&e);
}


static bool until_never(void *arg)
{
    struct env *e = arg;
    return h3_conn_state(e->c) == H3_STATE_CLOSED;
}

/* Keep-alive PINGs hold an idle connection open past its idle timeout. */
static void test_keepalive(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){ .client_idle_ns = 2 * SEC, .keepalive_ns = 500 * MS });
    connect_ok(&e);
    assert_int_equal(run(&e, until_never, 10 * SEC), -ETIMEDOUT);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    shutdown_ok(&e);
    env_stop(&e);
}

/* Nothing gets through: the handshake times out and the outcome says so. */
static void test_handshake_timeout(void **state)
{
    struct env e;
    char buf[128];
    (void)state;

    env_start(&e, &(struct setup){ .loss_ppm = 1000000, .handshake_timeout_ns = 3 * SEC });
    assert_int_equal(run(&e, until_closed, 60 * SEC), 0);
    assert_false(e.established);
    assert_false(e.out.ok);
    assert_int_equal(e.out.kind, H3_CLOSE_HANDSHAKE_TIMEOUT);
    assert_int_equal(e.out.err, H3_ERR_HANDSHAKE_TIMEOUT);
    h3_outcome_str(&e.out, buf, sizeof(buf));
    assert_string_equal(buf, "error: handshake timeout");
    env_stop(&e);
}

/* SSLKEYLOGFILE lines and a qlog trace are written when asked for. */
static void test_keylog_qlog(void **state)
{
    struct env e;
    char kl[] = "/tmp/h3dp-keylog-XXXXXX", ql[] = "/tmp/h3dp-qlog-XXXXXX";
    char line[512];
    int kfd = mkstemp(kl), qfd = mkstemp(ql);
    bool hs = false, app = false;
    (void)state;

    assert_true(kfd >= 0 && qfd >= 0);
    close(kfd);
    close(qfd);
    env_start(&e, &(struct setup){ .keylog = kl, .qlog = ql });
    connect_ok(&e);
    shutdown_ok(&e);
    env_stop(&e); /* closes both files */
    FILE *f = fopen(kl, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        /* "<LABEL> <64 hex client random> <hex secret>" */
        char label[64], rnd[80], sec[160];
        assert_int_equal(sscanf(line, "%63s %79s %159s", label, rnd, sec), 3);
        assert_int_equal(strlen(rnd), 64);
        hs |= strcmp(label, "CLIENT_HANDSHAKE_TRAFFIC_SECRET") == 0;
        app |= strcmp(label, "CLIENT_TRAFFIC_SECRET_0") == 0;
    }
    fclose(f);
    assert_true(hs && app);
    f = fopen(ql, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "qlog"));
    fclose(f);
    unlink(kl);
    unlink(ql);
}


/* A counting allocator standing in for a per-lcore arena. */
struct counting {
    size_t allocs, frees, live;
};

static void *cm_malloc(size_t n, void *ud)
{
    struct counting *c = ud;
    void *p = malloc(n);
    if (p) {
        c->allocs++;
        c->live++;
    }
    return p;
}

static void cm_free(void *p, void *ud)
{
    struct counting *c = ud;
    if (p) {
        c->frees++;
        c->live--;
    }
    free(p);
}

static void *cm_calloc(size_t n, size_t sz, void *ud)
{
    struct counting *c = ud;
    void *p = calloc(n, sz);
    if (p) {
        c->allocs++;
        c->live++;
    }
    return p;
}

static void *cm_realloc(void *old, size_t n, void *ud)
{
    struct counting *c = ud;
    void *p = realloc(old, n);
    if (p && !old) {
        c->allocs++;
        c->live++;
    }
    return p;
}

/* Everything ngtcp2, nghttp3 and the driver allocate goes through the caller's
 * allocator and is returned to it; a client-side stream cap is honoured. */
static void test_allocator_and_stream_cap(void **state)
{
    struct env e;
    struct counting cnt = { 0 };
    const struct h3_mem mem = { &cnt, cm_malloc, cm_free, cm_calloc, cm_realloc };
    (void)state;

    env_start(&e, &(struct setup){ .mem = &mem, .max_streams = 3, .max_requests = 40 });
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(submit(&e, i, "GET", "/bytes/2000", NULL, 0, NULL, 0, 0), 0);
    e.want = 40;
    e.check_open = true;
    assert_int_equal(run(&e, until_want, 30 * SEC), 0);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
    assert_true(e.max_open <= 3);
    assert_int_equal(e.max_open, 3);
    shutdown_ok(&e);
    size_t during = cnt.allocs;
    assert_true(during > 100); /* ngtcp2/nghttp3 state, streams, the pool */
    env_stop(&e);
    assert_int_equal(cnt.live, 0);
    assert_int_equal(cnt.allocs, cnt.frees);
}


/* Junk from the network (any length, any bytes) never kills the connection. */
static void test_junk_datagrams(void **state)
{
    struct env e;
    uint8_t junk[1500];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    (void)state;

    env_start(&e, &(struct setup){ 0 });
    for (int round = 0; round < 2; round++) {
        for (size_t len = 0; len <= sizeof(junk); len += 37) {
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                junk[i] = (uint8_t)x;
            }
            if (len > 0 && round == 1)
                junk[0] &= 0x7f; /* short header form */
            assert_int_equal(h3_conn_recv(e.c, junk, len, 0, h3_loop_now(e.loop)), 0);
        }
        if (round == 0)
            connect_ok(&e);
    }
    assert_int_equal(h3_conn_state(e.c), H3_STATE_ESTABLISHED);
    assert_int_equal(submit(&e, 0, "GET", "/bytes/3000", NULL, 0, NULL, 0, 0), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_true(e.res[0].body_ok);
    shutdown_ok(&e);
    env_stop(&e);
}

static void test_params_and_strings(void **state)
{
    struct h3_conn_params p;
    struct h3_conn *c = (struct h3_conn *)1;
    char buf[128];
    (void)state;

    h3_conn_params_default(&p);
    assert_int_equal(h3_conn_new(&p, 0, &c), H3_ERR_INVAL);
    assert_null(c);
    assert_int_equal(h3_conn_new(NULL, 0, &c), H3_ERR_INVAL);
    h3_conn_del(NULL);
    assert_string_equal(h3_strerror(H3_ERR_TLS_VERIFY), "server certificate verification failed");
    assert_string_equal(h3_state_str(H3_STATE_DRAINING), "draining");
    assert_string_equal(h3_req_result_str(H3_REQ_NOT_PROCESSED), "not-processed");
    struct h3_outcome o = { .ok = true, .kind = H3_CLOSE_APPLICATION, .code = 0x100 };
    h3_outcome_str(&o, buf, sizeof(buf));
    assert_string_equal(buf, "ok: local application 0x100 (H3_NO_ERROR)");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_strings),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_10mib_digest),
        cmocka_unit_test(test_post_producer),
        cmocka_unit_test(test_1000_requests_limit_10),
        cmocka_unit_test(test_shutdown_in_flight),
        cmocka_unit_test(test_shutdown_deadline),
        cmocka_unit_test(test_peer_goaway),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_peer_app_error),
        cmocka_unit_test(test_loss_5pct),
        cmocka_unit_test(test_tls_wrong_name),
        cmocka_unit_test(test_tls_unknown_ca),
        cmocka_unit_test(test_tls_system_store),
        cmocka_unit_test(test_tls_insecure),
        cmocka_unit_test(test_malformed_response_headers),
        cmocka_unit_test(test_local_close_and_errors),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_keylog_qlog),
        cmocka_unit_test(test_allocator_and_stream_cap),
        cmocka_unit_test(test_junk_datagrams),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s CERTS_DIR\n", argv[0]);
        return 2;
    }
    certs_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
