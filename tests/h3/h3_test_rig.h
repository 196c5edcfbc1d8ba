/*
 * h3_test_rig.h: the shared fixture of the deterministic h3 driver tests
 * (test_h3_conn.c, test_h3_request.c, test_h3_shutdown.c, test_h3_tls.c,
 * test_h3_stats.c). One env is one h3 client connection and one h3sink server
 * core joined by the in-memory loopback backend (tests/lib/h3_loop.h) with an
 * injected clock: no sockets, no sleeps.
 *
 * Every test program takes the test PKI directory (tests/certs) as argv[1] and
 * hands argc/argv to rig_args() before running its tests.
 *
 * The helpers assert with cmocka, so they may only be called from a running
 * cmocka test. A struct env is large (MAX_RESULTS result slots): tests keep one
 * on their stack, one at a time.
 */
#ifndef H3DP_TESTS_H3_TEST_RIG_H
#define H3DP_TESTS_H3_TEST_RIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3.h"
#include "h3_loop.h"
#include "sink.h"

#define MS          1000000ULL
#define SEC         1000000000ULL
#define PATTERN_MOD 251
#define MAX_RESULTS 1100
#define SERVER_NAME "h3sink.test"

/* What on_complete saw of one request. */
struct result {
    bool done;
    struct h3_req_outcome o;
    size_t body_len;
    bool body_ok;      /* kept body matched the /bytes pattern */
    char body[256];    /* the start of a kept body (JSON receipts) */
    char headers[256]; /* the start of the kept response header lines */
};

/* One client connection, its server core and the loopback between them. */
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

/* How env_start() sets up both ends; zero fields take the defaults. */
struct setup {
    const char *cert; /* server certificate base name */
    const char *host; /* client's expected server name */
    uint64_t max_streams_bidi;
    uint64_t response_delay_ns;
    int fault_bad_headers;
    uint64_t client_idle_ns;
    uint64_t keepalive_ns;
    uint64_t handshake_timeout_ns;
    const char *keylog, *qlog;
    uint64_t max_streams; /* client-side cap on concurrent requests */
    bool system_store;    /* trust the system store, not the test CA */
    bool insecure;
    const struct h3_mem *mem;
    size_t max_requests;
    uint32_t loss_ppm;
    uint64_t seed;
    struct h3_session_cache *cache; /* client: resumption and 0-RTT */
    uint16_t server_port;           /* the server's UDP port (443) */
    bool no_early_data;             /* server: refuse 0-RTT */
    uint64_t delay_ns;              /* one-way delay of the loopback (5 ms) */
    bool fault_reject;              /* server: reset every fault_every-th POST/PUT with
                                       H3_REQUEST_REJECTED (sink_params.fault_reject) */
    uint64_t fault_every;           /* server: 1 */
    uint32_t ce_ppm_c2s, ce_ppm_s2c; /* ECN-capable datagrams marked CE on the way */
};

/* The env of the test running now (set by submit(); producers find it here). */
extern struct env *g_env;

/* Take the certificate directory from argv[1]. Returns 0, or -1 after printing
 * the usage (the program then exits with 2). */
int rig_args(int argc, char **argv);
/* The certificate directory given to rig_args(). */
const char *rig_certs_dir(void);

/* Create the loopback (H3_TEST_SEED overrides the loss seed), the h3sink core and
 * the client connection (its first Initial is queued); stop frees all three. */
void env_start(struct env *e, const struct setup *su);
void env_stop(struct env *e);
/* A new client connection to the same server core (the old one is freed, as are its
 * results): a reconnect. |su|'s client fields apply; the server's are ignored. */
void env_reconnect(struct env *e, const struct setup *su);

/* Pump both ends on the loop's clock until |done| or |for_ns| have passed: 0, or
 * -ETIMEDOUT (h3_loop_run). */
int run(struct env *e, bool (*done)(void *), uint64_t for_ns);

/* run() conditions; each also stops when the connection is closed. */
bool until_established(void *arg);
bool until_closed(void *arg);
/* e->want completions (tracks the largest streams_open if e->check_open). */
bool until_want(void *arg);
/* The server has seen e->want requests. */
bool until_sink_has(void *arg);

/* Handshake within 10 s, asserted. */
void connect_ok(struct env *e);
/* Graceful end: shutdown, wait_idle, expect OK. */
void shutdown_ok(struct env *e);

/* Request completion into the result slot |ud|; the _count variant also counts
 * it in g_env->n_done. */
void on_complete(struct h3_req *r, void *ud, const struct h3_req_outcome *o);
void on_complete_count(struct h3_req *r, void *ud, const struct h3_req_outcome *o);

/* Submit a request into result slot |i| (KEEP sink, |keep_max| 0 = 4096; a
 * non-NULL |body| is a memory body). Returns h3_conn_request()'s result. */
int submit(struct env *e, size_t i, const char *method, const char *path, const uint8_t *body,
           size_t blen, const struct h3_header *h, size_t nh, size_t keep_max);
/* submit() with h3_req_params.early = |early| (replay-safe: may go in 0-RTT). */
int submit_early(struct env *e, size_t i, const char *method, const char *path,
                 const uint8_t *body, size_t blen, const struct h3_header *h, size_t nh,
                 bool early);

/* |n| bytes of the /bytes pattern (i % PATTERN_MOD); free() it. */
uint8_t *pattern(size_t n);
/* A content-digest value ("sha-256=:<base64>:") for |b|. */
void digest_header(const uint8_t *b, size_t n, char *out, size_t outlen);

#endif /* H3DP_TESTS_H3_TEST_RIG_H */
