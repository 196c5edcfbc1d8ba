/* svc_dpdk_peer: the connection service in DPDK mode against h3sink in a namespace
 * (run by svc_dpdk.sh; suite 'integration'). The dataplane runs on net_tap; one plain
 * thread drives the service API (the service's "main side") while the main lcore runs the
 * slow path (ARP). Prints one "ok"/"FAIL" line per check; exit 0 only if all pass.
 *
 *   svc_dpdk_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN GATEWAY REMOTE_IP REMOTE_PORT CA */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp.h"
#include "mono.h"
#include "svc.h"

static int failures;
#define CHECK(cond, ...)                                                                      \
    do {                                                                                       \
        bool ok_ = (cond);                                                                     \
        printf("%s: ", ok_ ? "ok" : "FAIL");                                                   \
        printf(__VA_ARGS__);                                                                   \
        printf("\n");                                                                          \
        if (!ok_)                                                                              \
            failures++;                                                                        \
    } while (0)

struct ctx {
    struct dp *dp;
    struct svc *svc;
    struct sockaddr_in remote;
    unsigned n_workers, lcores[2];
};

struct conn_obs {
    bool established, closed;
    struct h3_outcome outcome;
};

static void on_state(void *ud, uint64_t conn, enum h3_state st)
{
    (void)conn;
    if (st == H3_STATE_ESTABLISHED)
        ((struct conn_obs *)ud)->established = true;
}

static void on_closed(void *ud, uint64_t conn, const struct h3_outcome *o)
{
    struct conn_obs *c = ud;
    (void)conn;
    c->closed = true;
    c->outcome = *o;
}

static const struct svc_conn_cbs cbs = { .on_state = on_state, .on_closed = on_closed };

struct req_obs {
    struct svc_req r;
    bool done, has_length; /* has_length: "content-length" among the kept headers */
    struct svc_req_result res;
};

static void req_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct req_obs *o = ud;
    (void)r;
    o->done = true;
    o->res = *res;
    o->has_length = res->headers && memmem(res->headers, res->headers_len,
                                          "content-length: 1000000", 23) != NULL;
    o->res.headers = NULL; /* valid during the callback only */
}

static void req_init(struct req_obs *o, const char *method, const char *path, uint64_t synth)
{
    memset(o, 0, sizeof(*o));
    o->r.method = method;
    o->r.path = path;
    o->r.synth_len = synth;
    o->r.done = req_done;
    o->r.ud = o;
}

static uint64_t now_ms(void)
{
    return mono_ns() / 1000000;
}

static bool run_until(struct ctx *t, const bool *flag, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (!*flag && now_ms() < end)
        if (!svc_poll(t->svc, 0)) {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
    return *flag;
}

static uint64_t connect_on(struct ctx *t, int lcore, struct conn_obs *o)
{
    struct svc_conn_params p = {
        .url = "https://198.18.0.1", .remote = (const struct sockaddr *)&t->remote,
        .remote_len = sizeof(t->remote), .host = "198.18.0.1", .insecure = -1, .lcore = lcore,
    };
    uint64_t id = 0;
    memset(o, 0, sizeof(*o));
    int rv = svc_connect(t->svc, &p, &cbs, o, &id);
    if (rv < 0)
        printf("FAIL: svc_connect: %s\n", strerror(-rv));
    return id;
}

static void *checks(void *arg)
{
    struct ctx *t = arg;
    struct conn_obs a, b;
    struct svc_conn_info info;

    /* The sink may still be starting: the handshake retransmits until it answers. */
    uint64_t ia = connect_on(t, (int)t->lcores[0], &a);
    CHECK(run_until(t, &a.established, 15000), "connection %" PRIu64 " established on lcore %u",
          ia, t->lcores[0]);

    struct req_obs get;
    req_init(&get, "GET", "/bytes/1000000", 0);
    get.r.keep_response = true;
    svc_request(t->svc, ia, &get.r);
    run_until(t, &get.done, 10000);
    CHECK(get.done && get.res.o.status == 200 && get.res.o.body_recv == 1000000 &&
              get.has_length,
          "GET /bytes/1000000: status %d, %" PRIu64 " body bytes", get.res.o.status,
          get.res.o.body_recv);

    struct req_obs post;
    req_init(&post, "POST", "/upload", 64ull << 20);
    uint64_t t0 = now_ms();
    svc_request(t->svc, ia, &post.r);
    run_until(t, &post.done, 30000);
    uint64_t dt = now_ms() - t0;
    CHECK(post.done && post.res.o.status == 200 && post.res.o.body_sent == 64ull << 20,
          "POST 64 MiB (generated on the worker, zero copy): status %d, %" PRIu64
          " bytes acknowledged in %" PRIu64 " ms", post.res.o.status, post.res.o.body_sent, dt);

    if (t->n_workers > 1) {
        uint64_t ib = connect_on(t, (int)t->lcores[1], &b);
        run_until(t, &b.established, 10000);
        svc_conn_info(t->svc, ib, &info);
        struct req_obs g2;
        req_init(&g2, "GET", "/bytes/300000", 0);
        svc_request(t->svc, ib, &g2.r);
        run_until(t, &g2.done, 10000);
        CHECK(b.established && info.lcore == t->lcores[1] && g2.res.o.body_recv == 300000,
              "second connection on lcore %u: GET 300000 bytes (%" PRIu64 ")", info.lcore,
              g2.res.o.body_recv);
        svc_close(t->svc, ib, 0x10c, "test");
        run_until(t, &b.closed, 5000);
        CHECK(b.closed && !b.outcome.ok && b.outcome.code == 0x10c,
              "close with 0x10c: outcome not ok, code 0x%" PRIx64, b.outcome.code);
    }

    struct req_obs inflight[4];
    for (int i = 0; i < 4; i++) {
        req_init(&inflight[i], "POST", "/late", 4u << 20);
        svc_request(t->svc, ia, &inflight[i].r);
    }
    svc_shutdown(t->svc, ia, 3, 0);
    run_until(t, &a.closed, 15000);
    int completed = 0;
    for (int i = 0; i < 4; i++)
        completed += inflight[i].done && inflight[i].res.o.status == 200;
    CHECK(a.closed && a.outcome.ok && completed == 4,
          "shutdown(max_push 3) with 4 uploads in flight: %d completed, outcome %s (0x%" PRIx64
          ")", completed, a.outcome.ok ? "ok" : "error", a.outcome.code);

    struct svc_worker_stats ws[2];
    unsigned n = svc_worker_stats(t->svc, ws, 2);
    CHECK(n == t->n_workers && ws[0].busy_cycles > 0 && ws[0].arena_peak > 0,
          "worker counters: lcore %u busy %" PRIu64 " cycles, arena peak %" PRIu64 " bytes",
          ws[0].lcore, ws[0].busy_cycles, ws[0].arena_peak);
    dp_request_stop(t->dp);
    return NULL;
}

int main(int argc, char **argv)
{
    static struct ctx t;
    struct dp_conf c;
    struct svc_conf sc;
    unsigned l;
    pthread_t th;
    int n, err;

    setvbuf(stdout, NULL, _IOLBF, 0);
    n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    if (argc != 8) {
        fprintf(stderr, "usage: svc_dpdk_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN GATEWAY "
                        "REMOTE_IP REMOTE_PORT CA\n");
        return 2;
    }
    dp_conf_defaults(&c);
    c.device = argv[1];
    c.prefix_len = (uint8_t)atoi(argv[3]);
    RTE_LCORE_FOREACH_WORKER(l)
    {
        if (c.n_workers < 2)
            c.worker_lcores[c.n_workers++] = l;
    }
    t.remote.sin_family = AF_INET;
    t.remote.sin_port = htons((uint16_t)atoi(argv[6]));
    if (inet_pton(AF_INET, argv[2], &c.ip) != 1 || inet_pton(AF_INET, argv[4], &c.gateway) != 1 ||
        inet_pton(AF_INET, argv[5], &t.remote.sin_addr) != 1 || c.n_workers == 0) {
        fprintf(stderr, "bad arguments (or no worker lcore)\n");
        return 2;
    }
    t.dp = dp_new(&c);
    if (!t.dp) {
        fprintf(stderr, "dp_new: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    svc_conf_defaults(&sc);
    sc.io = SVC_IO_DPDK;
    sc.dp = t.dp;
    sc.n_workers = c.n_workers;
    for (unsigned i = 0; i < c.n_workers; i++)
        sc.worker_lcores[i] = t.lcores[i] = c.worker_lcores[i];
    t.n_workers = c.n_workers;
    sc.ca_file = argv[7];
    sc.handshake_timeout_ns = 15000000000ull;
    t.svc = svc_new(&sc, &err);
    if (!t.svc) {
        fprintf(stderr, "svc_new: %s\n", strerror(-err));
        return 1;
    }
    if (dp_start(t.dp) != 0) {
        printf("FAIL: dp_start\n");
        return 1;
    }
    pthread_create(&th, NULL, checks, &t);
    dp_main_loop(t.dp, NULL, NULL);
    pthread_join(th, NULL);
    dp_stop(t.dp);
    svc_del(t.svc);
    dp_del(t.dp);
    rte_eal_cleanup();
    printf("%s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}
