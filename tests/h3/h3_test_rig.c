/*
 * h3_test_rig.c: the shared fixture of the deterministic h3 driver tests (see
 * h3_test_rig.h): the two loopback endpoints, env set-up and tear-down, the clock
 * pump, run() conditions and the request helpers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "h3_test_rig.h"

static const char *certs_dir;

int rig_args(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CERTS_DIR\n", argv[0]);
        return -1;
    }
    certs_dir = argv[1];
    return 0;
}

const char *rig_certs_dir(void)
{
    return certs_dir;
}

/* ------------------------------------------------------------ endpoints */

static void srv_send(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                     const uint8_t *data, size_t len, uint8_t ecn)
{
    struct env *e = arg;
    (void)remote;
    (void)remote_len;
    h3_loop_send(e->loop, H3_LOOP_S2C, data, len, ecn);
}

static void srv_recv(void *ctx, const uint8_t *data, size_t len, uint8_t ecn, uint64_t now)
{
    struct env *e = ctx;
    sink_recv_ecn(e->sink, (struct sockaddr *)&e->srv, sizeof(e->srv), (struct sockaddr *)&e->cli,
                  sizeof(e->cli), data, len, ecn, now);
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
    sink_flush_ecn(e->sink, now, srv_send, e);
}

static void cli_recv(void *ctx, const uint8_t *data, size_t len, uint8_t ecn, uint64_t now)
{
    struct env *e = ctx;
    h3_conn_recv(e->c, data, len, ecn, now);
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

int run(struct env *e, bool (*done)(void *), uint64_t for_ns)
{
    const struct h3_loop_ep cli = {e, cli_recv, cli_expiry, cli_on_expiry, NULL};
    const struct h3_loop_ep srv = {e, srv_recv, srv_expiry, srv_on_expiry, srv_flush};
    return h3_loop_run(e->loop, &cli, &srv, done, e, h3_loop_now(e->loop) + for_ns);
}

/* ---------------------------------------------------------------- setup */

static void client_new(struct env *e, const struct setup *su);

void env_start(struct env *e, const struct setup *su)
{
    char cert[512], key[512], err[256] = "";
    struct sink_params sp;
    struct h3_loop_params lp;

    memset(e, 0, sizeof(*e));
    h3_loop_params_default(&lp);
    /* H3_TEST_SEED varies the loss pattern, to hunt for seed-dependent bugs. */
    const char *seed_env = getenv("H3_TEST_SEED");
    lp.seed = seed_env ? strtoull(seed_env, NULL, 0) : su->seed ? su->seed : 42;
    lp.loss_ppm[0] = lp.loss_ppm[1] = su->loss_ppm;
    lp.ce_ppm[H3_LOOP_C2S] = su->ce_ppm_c2s;
    lp.ce_ppm[H3_LOOP_S2C] = su->ce_ppm_s2c;
    if (su->delay_ns)
        lp.delay_ns[0] = lp.delay_ns[1] = su->delay_ns;
    e->loop = h3_loop_new(&lp);
    assert_non_null(e->loop);

    snprintf(cert, sizeof(cert), "%s/%s.pem", certs_dir, su->cert ? su->cert : "server");
    snprintf(key, sizeof(key), "%s/%s-key.pem", certs_dir, su->cert ? su->cert : "server");
    sink_params_default(&sp);
    sp.cert_file = cert;
    sp.key_file = key;
    if (su->max_streams_bidi)
        sp.max_streams_bidi = su->max_streams_bidi;
    sp.response_delay_ns = su->response_delay_ns;
    sp.fault_bad_response_headers = su->fault_bad_headers;
    sp.no_early_data = su->no_early_data;
    sp.fault_reject = su->fault_reject;
    sp.fault_every = su->fault_every;
    e->sink = sink_new(&sp, err, sizeof(err));
    if (!e->sink)
        fail_msg("sink_new: %s", err);

    client_new(e, su);
}

/* The client connection of |su| to e->sink over e->loop. */
static void client_new(struct env *e, const struct setup *su)
{
    char ca[512];
    struct h3_conn_params p;

    snprintf(ca, sizeof(ca), "%s/ca.pem", certs_dir);
    e->cli.sin_family = e->srv.sin_family = AF_INET;
    e->cli.sin_port = htons(50123);
    e->srv.sin_port = htons(su->server_port ? su->server_port : 443);
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
    p.session_cache = su->cache;
    assert_int_equal(h3_conn_new(&p, h3_loop_now(e->loop), &e->c), 0);
}

void env_reconnect(struct env *e, const struct setup *su)
{
    h3_conn_del(e->c);
    e->c = NULL;
    e->established = false;
    e->closed_calls = 0;
    memset(&e->out, 0, sizeof(e->out));
    memset(e->res, 0, sizeof(e->res));
    e->n_done = e->want = 0;
    client_new(e, su);
}

void env_stop(struct env *e)
{
    h3_conn_del(e->c);
    sink_del(e->sink);
    h3_loop_del(e->loop);
}

bool until_established(void *arg)
{
    struct env *e = arg;
    return e->established || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

bool until_closed(void *arg)
{
    struct env *e = arg;
    return h3_conn_state(e->c) == H3_STATE_CLOSED;
}

bool until_want(void *arg)
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

void connect_ok(struct env *e)
{
    assert_int_equal(run(e, until_established, 10 * SEC), 0);
    assert_true(e->established);
    assert_int_equal(h3_conn_state(e->c), H3_STATE_ESTABLISHED);
}

/* Graceful end: shutdown, wait_idle, expect OK. */
void shutdown_ok(struct env *e)
{
    assert_int_equal(h3_conn_shutdown(e->c, 0, 0, h3_loop_now(e->loop)), 0);
    assert_int_equal(run(e, until_closed, 10 * SEC), 0);
    assert_int_equal(e->closed_calls, 1);
    assert_true(e->out.ok);
    assert_int_equal(e->out.kind, H3_CLOSE_APPLICATION);
    assert_int_equal(e->out.code, H3_H3_NO_ERROR);
}

/* ------------------------------------------------------------- requests */

void on_complete(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
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
 * index is |res - e->res|; the env is g_env, which submit() sets. */
struct env *g_env;

void on_complete_count(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
{
    on_complete(r, ud, o);
    g_env->n_done++;
}

static int submit_p(struct env *e, size_t i, const char *method, const char *path,
                    const uint8_t *body, size_t blen, const struct h3_header *h, size_t nh,
                    size_t keep_max, bool early)
{
    struct h3_req_params rp = {0};
    rp.early = early;
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

int submit(struct env *e, size_t i, const char *method, const char *path, const uint8_t *body,
           size_t blen, const struct h3_header *h, size_t nh, size_t keep_max)
{
    return submit_p(e, i, method, path, body, blen, h, nh, keep_max, false);
}

int submit_early(struct env *e, size_t i, const char *method, const char *path,
                 const uint8_t *body, size_t blen, const struct h3_header *h, size_t nh,
                 bool early)
{
    return submit_p(e, i, method, path, body, blen, h, nh, 0, early);
}

uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i % PATTERN_MOD);
    return b;
}

void digest_header(const uint8_t *b, size_t n, char *out, size_t outlen)
{
    uint8_t md[32];
    gnutls_datum_t in = {md, sizeof(md)}, enc;
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, b, n, md), 0);
    assert_int_equal(gnutls_base64_encode2(&in, &enc), 0);
    snprintf(out, outlen, "sha-256=:%.*s:", (int)enc.size, (const char *)enc.data);
    gnutls_free(enc.data);
}

bool until_sink_has(void *arg)
{
    struct env *e = arg;
    return sink_stats(e->sink)->requests >= e->want || h3_conn_state(e->c) == H3_STATE_CLOSED;
}
