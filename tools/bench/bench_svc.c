/* bench_svc: the connection service under load, in DPDK or kernel mode, against an
 * HTTP/3 server (h3sink). Prints one JSON line of figures. Used by tools/bench-upload.
 *
 *   bench_svc [EAL-ARGS --] --io dpdk|kernel --remote IP:PORT --ca FILE
 *             [--local IP/PREFIX --gw IP --dev NAME]      (dpdk mode)
 *             [--max-flows N] [--keepalive-ms MS] [--window N]
 *             [--idle-policy adaptive|busy|interrupt] [--mtu N] [--resume 0|1]
 *             bulk BYTES | small SECONDS STREAMS SIZE | idle CONNS [SECONDS]
 *             | handshake CONNS
 *
 * bulk       one connection, one POST of BYTES generated on the worker (zero copy)
 * small      STREAMS POSTs of SIZE bytes kept in flight for SECONDS
 * idle       CONNS established connections on one worker (keep-alive PINGs every
 *            --keepalive-ms, 5 s by default, so none idles out), then heap bytes per
 *            connection, then SECONDS (3) of nothing to send: the worker's whole CPU
 *            (idle polling included) as a share of a core, and the connections still up
 * handshake  CONNS full handshakes, --window (8) at a time, each connection closed once
 *            established: worker CPU per handshake and handshakes per second. The
 *            service's session cache is off unless --resume 1: then a first connection
 *            (not counted) fetches a ticket and every handshake after it resumes — one at a
 *            time, since a ticket is used once and the next comes on the connection that
 *            used it: each is closed once up and holding its fresh ticket (or after 1 s)
 *
 * Worker CPU: the worker thread's CPU clock (time it was preempted is not counted) less,
 * in DPDK mode, its idle streaks as the worker measures them itself (dp_lcore_counters);
 * also, DPDK mode, the lcore's busy TSC cycles (which do count preemption on a shared
 * VM). Kernel mode: the worker thread's CPU time (it sleeps in epoll when idle). */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp.h"
#include "mono.h"
#include "svc.h"

struct bench {
    struct dp *dp;
    struct svc *svc;
    struct sockaddr_in remote;
    const char *mode;
    uint64_t arg1, arg2, arg3;
    unsigned window;
    bool resume;
    int rc;
    char result[1024];
};

struct conn_obs {
    bool established, closed, closing;
    struct h3_outcome o;
    unsigned *n_est;
};

static void on_state(void *ud, uint64_t id, enum h3_state st)
{
    struct conn_obs *c = ud;
    (void)id;
    if (st == H3_STATE_ESTABLISHED && !c->established) {
        c->established = true;
        if (c->n_est)
            (*c->n_est)++;
    }
}

static void on_closed(void *ud, uint64_t id, const struct h3_outcome *o)
{
    struct conn_obs *c = ud;
    (void)id;
    c->closed = true;
    c->o = *o;
}

static const struct svc_conn_cbs cbs = { .on_state = on_state, .on_closed = on_closed };

static bool pump(struct bench *b, const bool *flag, uint64_t deadline)
{
    while (!*flag && mono_ns() < deadline)
        if (!svc_poll(b->svc, 0)) {
            struct timespec ts = { 0, 50000 };
            nanosleep(&ts, NULL);
        }
    return *flag;
}

static int open_conn(struct bench *b, struct conn_obs *o, uint64_t *id)
{
    struct svc_conn_params p = {
        .url = "bench", .remote = (const struct sockaddr *)&b->remote,
        .remote_len = sizeof(b->remote), .host = "198.18.0.1", .insecure = -1, .lcore = -1,
    };
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &b->remote.sin_addr, host, sizeof(host));
    p.host = host;
    return svc_connect(b->svc, &p, &cbs, o, id);
}

/* User and system CPU seconds of the thread called |name| (DPDK 22.11: "rte-worker-N"), from
 * /proc (clock ticks); false when there is no such thread. */
static bool thread_cpu(const char *name, double *user, double *sys)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    bool found = false;

    while (d && !found && (e = readdir(d))) {
        char path[300], comm[64] = "", stat[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f && fgets(stat, sizeof(stat), f)) {
            const char *p = strrchr(stat, ')'); /* fields after the command name */
            unsigned long ut = 0, st = 0;
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) == 2) {
                long hz = sysconf(_SC_CLK_TCK);
                *user = (double)ut / (double)hz;
                *sys = (double)st / (double)hz;
                found = true;
            }
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

static uint64_t worker_cpu_ns(struct bench *b)
{
    struct svc_worker_stats ws;
    svc_worker_stats(b->svc, &ws, 1);
    return ws.cpu_ns;
}

/* The worker's busy TSC cycles as ns (DPDK mode; 0 in kernel mode). */
static uint64_t worker_busy_tsc_ns(struct bench *b)
{
    struct dp_lcore_counters lc;
    if (!b->dp || dp_lcore_counters(b->dp, dp_worker_lcore(b->dp, 0), &lc) != 0 || !lc.tsc_hz)
        return 0;
    return (uint64_t)((double)lc.busy_cycles * 1e9 / (double)lc.tsc_hz);
}

/* The worker thread's whole CPU time, idle polling included (DPDK: from its thread
 * clock; kernel mode: its busy time is all of it). */
static uint64_t worker_all_cpu_ns(struct bench *b)
{
    struct dp_lcore_counters lc;
    if (!b->dp)
        return worker_cpu_ns(b);
    if (dp_lcore_counters(b->dp, dp_worker_lcore(b->dp, 0), &lc) != 0)
        return 0;
    return lc.cpu_ns;
}

/* The first worker thread's user and sys CPU seconds so far (DPDK: the lcore's thread
 * "rte-worker-N"; kernel mode: "h3dp-w0"). */
static void worker_thread_cpu(struct bench *b, double *user, double *sys)
{
    char tname[32];
    struct svc_worker_stats ws;

    svc_worker_stats(b->svc, &ws, 1);
    snprintf(tname, sizeof(tname), b->dp ? "rte-worker-%u" : "h3dp-w0", ws.lcore);
    thread_cpu(tname, user, sys);
}

struct small_req {
    struct svc_req r;
    struct bench *b;
    uint64_t conn, *done, *failed, rtt_sum;
    bool *stop;
};

static void small_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct small_req *q = ud;
    if (res->o.result == H3_REQ_COMPLETED && res->o.status / 100 == 2) {
        (*q->done)++;
        q->rtt_sum += res->rtt_ns;
    } else {
        (*q->failed)++;
    }
    if (!*q->stop && svc_request(q->b->svc, q->conn, r) != 0)
        (*q->failed)++;
}

struct bulk_obs {
    bool done;
    struct svc_req_result res;
};

static void bulk_done(void *ud, struct svc_req *rq, const struct svc_req_result *res)
{
    struct bulk_obs *st = ud;
    (void)rq;
    st->done = true;
    st->res = *res;
}

static void *run(void *arg)
{
    struct bench *b = arg;
    struct conn_obs o = { 0 };
    uint64_t id;

    if (strcmp(b->mode, "idle") == 0) {
        unsigned n = (unsigned)b->arg1, est = 0;
        struct conn_obs *cs = calloc(n, sizeof(*cs));
        struct svc_worker_stats w0, w1;
        svc_worker_stats(b->svc, &w0, 1);
        struct mallinfo2 m0 = mallinfo2();
        uint64_t t_open = mono_ns();
        bool never = false;
        for (unsigned i = 0; i < n; i++) {
            cs[i].n_est = &est;
            if (open_conn(b, &cs[i], &id) != 0) {
                snprintf(b->result, sizeof(b->result), "{\"error\":\"connect %u failed\"}", i);
                b->rc = 1;
                goto out;
            }
            if (i % 50 == 49) /* pace the handshakes */
                while (est + 10 < i && !cs[i].closed)
                    pump(b, &cs[i].closed, mono_ns() + 1000000);
        }
        uint64_t end = mono_ns() + 60000000000ull;
        bool all = false;
        while (!all && mono_ns() < end) {
            all = est == n;
            pump(b, &all, mono_ns() + 10000000);
        }
        double est_s = (double)(mono_ns() - t_open) / 1e9;
        /* Let the handshakes' leftovers settle, still polling (keep-alives, ACKs). */
        pump(b, &never, mono_ns() + 1000000000ull);
        svc_worker_stats(b->svc, &w1, 1);
        struct mallinfo2 m1 = mallinfo2();
        /* Everything malloc'd since: heap blocks in use plus mmapped blocks (the worker
         * arena's chunks are among them, counted at their full size). */
        uint64_t a0 = m0.uordblks + m0.hblkhd, a1 = m1.uordblks + m1.hblkhd;
        uint64_t total = a1 > a0 ? a1 - a0 : 0;
        uint64_t arena = w1.arena_bytes - w0.arena_bytes;
        /* Nothing to send for |secs|: what the worker costs with |n| connections open. */
        uint64_t c0 = worker_all_cpu_ns(b), t0 = mono_ns();
        pump(b, &never, t0 + b->arg2 * 1000000000ull);
        uint64_t c1 = worker_all_cpu_ns(b), t1 = mono_ns();
        unsigned lost = 0;
        for (unsigned i = 0; i < n; i++)
            lost += cs[i].closed;
        snprintf(b->result, sizeof(b->result),
                 "{\"mode\":\"idle\",\"conns\":%u,\"established\":%u,\"arena_bytes\":%" PRIu64
                 ",\"malloc_bytes\":%" PRIu64 ",\"bytes_per_conn\":%" PRIu64
                 ",\"arena_per_conn\":%" PRIu64 ",\"establish_s\":%.3f,\"idle_s\":%.3f,"
                 "\"idle_cpu_pct\":%.3f,\"lost\":%u}",
                 n, est, arena, total, est ? total / est : 0, est ? arena / est : 0, est_s,
                 (double)(t1 - t0) / 1e9, 100.0 * (double)(c1 - c0) / (double)(t1 - t0), lost);
        b->rc = est == n && lost == 0 ? 0 : 1;
        svc_shutdown_all(b->svc, 2000000000ull);
        end = mono_ns() + 10000000000ull;
        while (svc_conns_active(b->svc) && mono_ns() < end)
            svc_poll(b->svc, 0);
    out:
        free(cs);
        if (b->dp)
            dp_request_stop(b->dp);
        return NULL;
    }

    if (strcmp(b->mode, "handshake") == 0) {
        unsigned n = (unsigned)b->arg1, est = 0, opened = 0, closed = 0, failed = 0;
        unsigned resumed = 0, window = b->resume ? 1 : b->window;
        struct conn_obs *cs = calloc(n, sizeof(*cs));
        uint64_t *ids = calloc(n, sizeof(*ids));
        struct h3_session_cache_stats ss;
        uint64_t stored = 0, est_at = 0;
        if (b->resume) { /* a first connection, not counted, brings a ticket */
            struct conn_obs w0 = { 0 };
            uint64_t id0, dl = mono_ns() + 10000000000ull;
            if (open_conn(b, &w0, &id0) != 0 || !pump(b, &w0.established, dl))
                goto hs_fail;
            while (mono_ns() < dl && (!svc_session_stats(b->svc, &ss) || ss.entries == 0))
                pump(b, &w0.closed, mono_ns() + 1000000);
            svc_close(b->svc, id0, 0, "bench");
            pump(b, &w0.closed, dl);
            if (!svc_session_stats(b->svc, &ss) || ss.entries == 0)
                goto hs_fail;
            stored = ss.stored;
        }
        uint64_t c0 = worker_cpu_ns(b), k0 = worker_busy_tsc_ns(b), t0 = mono_ns();
        uint64_t end = t0 + 120000000000ull;
        while (closed < n && mono_ns() < end) {
            /* Keep |window| handshakes in flight; close each connection once it is up. */
            while (opened < n && opened - closed < window) {
                cs[opened].n_est = &est;
                if (open_conn(b, &cs[opened], &ids[opened]) != 0)
                    break;
                opened++;
            }
            if (!svc_poll(b->svc, 0)) {
                struct timespec ts = { 0, 20000 };
                nanosleep(&ts, NULL);
            }
            closed = 0;
            for (unsigned i = 0; i < opened; i++) {
                if (cs[i].closed) {
                    closed++;
                    failed += !cs[i].established;
                } else if (cs[i].established && !cs[i].closing) {
                    if (b->resume) { /* close once its fresh ticket is in (or after 1 s) */
                        if (!est_at) {
                            struct svc_conn_info ci;
                            est_at = mono_ns();
                            if (svc_conn_info(b->svc, ids[i], &ci) == 0 && ci.resumed)
                                resumed++;
                        }
                        if ((!svc_session_stats(b->svc, &ss) || ss.stored == stored) &&
                            mono_ns() < est_at + 1000000000ull)
                            continue;
                        stored = ss.stored;
                        est_at = 0;
                    }
                    svc_close(b->svc, ids[i], 0, "bench");
                    cs[i].closing = true;
                }
            }
        }
        uint64_t wall = mono_ns() - t0, cpu = worker_cpu_ns(b) - c0;
        uint64_t tsc = worker_busy_tsc_ns(b) - k0;
        snprintf(b->result, sizeof(b->result),
                 "{\"mode\":\"handshake\",\"conns\":%u,\"established\":%u,\"failed\":%u,"
                 "\"resume\":%s,\"resumed\":%u,"
                 "\"wall_s\":%.3f,\"cpu_s\":%.3f,\"hs_s\":%.1f,\"cpu_ms_per_hs\":%.4f,"
                 "\"busy_tsc_ms_per_hs\":%.4f}",
                 n, est, failed, b->resume ? "true" : "false", resumed, wall / 1e9, cpu / 1e9,
                 est / (wall / 1e9), est ? cpu / 1e6 / est : 0, est ? tsc / 1e6 / est : 0);
        b->rc = est == n && failed == 0 && (!b->resume || resumed == est) ? 0 : 1;
        free(cs);
        free(ids);
        goto done;
    hs_fail:
        snprintf(b->result, sizeof(b->result), "{\"error\":\"no ticket for resumption\"}");
        b->rc = 1;
        free(cs);
        free(ids);
        goto done;
    }

    if (open_conn(b, &o, &id) != 0 || !pump(b, &o.established, mono_ns() + 10000000000ull)) {
        snprintf(b->result, sizeof(b->result), "{\"error\":\"no connection\"}");
        b->rc = 1;
        goto done;
    }
    if (strcmp(b->mode, "bulk") == 0) {
        struct svc_req r = { .method = "POST", .path = "/bulk", .synth_len = b->arg1 };
        struct bulk_obs st = { 0 };
        r.done = bulk_done;
        r.ud = &st;
        double u0 = 0, s0 = 0, u1 = 0, s1 = 0;
        worker_thread_cpu(b, &u0, &s0);
        uint64_t c0 = worker_cpu_ns(b), k0 = worker_busy_tsc_ns(b), t0 = mono_ns();
        svc_request(b->svc, id, &r);
        pump(b, &st.done, t0 + 600000000000ull);
        uint64_t wall = mono_ns() - t0, cpu = worker_cpu_ns(b) - c0;
        uint64_t tsc = worker_busy_tsc_ns(b) - k0;
        worker_thread_cpu(b, &u1, &s1);
        bool ok = st.done && st.res.o.status == 200 && st.res.o.body_sent == b->arg1;
        snprintf(b->result, sizeof(b->result),
                 "{\"mode\":\"bulk\",\"ok\":%s,\"bytes\":%" PRIu64 ",\"wall_s\":%.3f,"
                 "\"cpu_s\":%.3f,\"gbit_s\":%.3f,\"cpu_s_per_gib\":%.3f,"
                 "\"thread_user_s\":%.2f,\"thread_sys_s\":%.2f,\"busy_tsc_s_per_gib\":%.3f}",
                 ok ? "true" : "false", st.res.o.body_sent, wall / 1e9, cpu / 1e9,
                 st.res.o.body_sent * 8.0 / (double)wall,
                 cpu / 1e9 / ((double)b->arg1 / (1 << 30)), u1 - u0, s1 - s0,
                 tsc / 1e9 / ((double)b->arg1 / (1 << 30)));
        b->rc = ok ? 0 : 1;
    } else {
        unsigned streams = (unsigned)b->arg2;
        uint64_t done = 0, failed = 0;
        bool stop = false;
        struct small_req *q = calloc(streams, sizeof(*q));
        double u0 = 0, s0 = 0, u1 = 0, s1 = 0;
        worker_thread_cpu(b, &u0, &s0);
        uint64_t c0 = worker_cpu_ns(b), k0 = worker_busy_tsc_ns(b), t0 = mono_ns();
        uint64_t end = t0 + b->arg1 * 1000000000ull;
        for (unsigned i = 0; i < streams; i++) {
            q[i] = (struct small_req){ .r = { .method = "POST", .path = "/rec",
                                              .synth_len = b->arg3, .done = small_done,
                                              .ud = &q[i] },
                                       .b = b, .conn = id, .done = &done, .failed = &failed,
                                       .stop = &stop };
            svc_request(b->svc, id, &q[i].r);
        }
        bool never = false;
        pump(b, &never, end);
        stop = true;
        uint64_t wall = mono_ns() - t0, cpu = worker_cpu_ns(b) - c0, rtt = 0;
        uint64_t tsc = worker_busy_tsc_ns(b) - k0;
        worker_thread_cpu(b, &u1, &s1); /* the thread's own CPU: no time preempted */
        struct svc_conn_info ci;
        for (;;) { /* let the last ones finish */
            svc_conn_info(b->svc, id, &ci);
            if (!ci.requests_active || mono_ns() > end + 10000000000ull)
                break;
            svc_poll(b->svc, 0);
        }
        for (unsigned i = 0; i < streams; i++)
            rtt += q[i].rtt_sum;
        snprintf(b->result, sizeof(b->result),
                 "{\"mode\":\"small\",\"ok\":%s,\"requests\":%" PRIu64 ",\"failed\":%" PRIu64
                 ",\"wall_s\":%.3f,\"cpu_s\":%.3f,\"req_s\":%.0f,\"cpu_us_per_req\":%.3f,"
                 "\"rtt_ms\":%.3f,\"thread_user_s\":%.2f,\"thread_sys_s\":%.2f,"
                 "\"thread_us_per_req\":%.3f,\"busy_tsc_us_per_req\":%.3f}",
                 failed == 0 && done ? "true" : "false", done, failed, wall / 1e9, cpu / 1e9,
                 done / (wall / 1e9), done ? cpu / 1e3 / (double)done : 0,
                 done ? rtt / 1e6 / (double)done : 0, u1 - u0, s1 - s0,
                 done ? (u1 - u0 + s1 - s0) * 1e6 / (double)done : 0,
                 done ? tsc / 1e3 / (double)done : 0);
        b->rc = failed == 0 && done ? 0 : 1;
        free(q);
    }
    svc_shutdown(b->svc, id, 0, 2000000000ull);
    pump(b, &o.closed, mono_ns() + 5000000000ull);
done:
    if (b->dp)
        dp_request_stop(b->dp);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_svc [EAL-ARGS --] --io dpdk|kernel --remote IP:PORT --ca FILE "
                    "[--local IP/PREFIX --gw IP --dev NAME] [--max-flows N] [--keepalive-ms MS] "
                    "[--window N] [--idle-policy adaptive|busy|interrupt] [--mtu N] [--resume 0|1] bulk BYTES | small SECONDS STREAMS SIZE | idle CONNS "
                    "[SECONDS] | handshake CONNS\n");
    return 2;
}

int main(int argc, char **argv)
{
    static struct bench b;
    const char *io = NULL, *remote = NULL, *ca = NULL, *local = NULL, *gw = NULL, *dev = NULL;
    unsigned long max_flows = 16384, keepalive_ms = 5000, window = 8;
    const char *idle_policy = "adaptive";
    unsigned long mtu = 0, resume = 0;
    struct svc_conf sc;
    int i, err;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0)
            break;
    bool eal = i < argc;
    if (eal) {
        int n = rte_eal_init(argc, argv);
        if (n < 0) {
            fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
            return 1;
        }
        argc -= n;
        argv += n;
    }
    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *k = argv[i] + 2, *v = argv[i + 1];
        if (!strcmp(k, "io")) io = v;
        else if (!strcmp(k, "remote")) remote = v;
        else if (!strcmp(k, "ca")) ca = v;
        else if (!strcmp(k, "local")) local = v;
        else if (!strcmp(k, "gw")) gw = v;
        else if (!strcmp(k, "dev")) dev = v;
        else if (!strcmp(k, "max-flows")) max_flows = strtoul(v, NULL, 10);
        else if (!strcmp(k, "keepalive-ms")) keepalive_ms = strtoul(v, NULL, 10);
        else if (!strcmp(k, "window")) window = strtoul(v, NULL, 10);
        else if (!strcmp(k, "idle-policy")) idle_policy = v;
        else if (!strcmp(k, "mtu")) mtu = strtoul(v, NULL, 10);
        else if (!strcmp(k, "resume")) resume = strtoul(v, NULL, 10);
        else return usage();
    }
    if (!io || !remote || !ca || i >= argc)
        return usage();
    b.mode = argv[i];
    int need = !strcmp(b.mode, "small") ? 3 : 1, have = argc - i - 1;
    bool idle = !strcmp(b.mode, "idle");
    if ((strcmp(b.mode, "bulk") && strcmp(b.mode, "small") && !idle &&
         strcmp(b.mode, "handshake")) ||
        (have != need && !(idle && have == 2)) || max_flows == 0 || max_flows > (1u << 24) ||
        window == 0 || window > 1000)
        return usage();
    b.arg1 = strtoull(argv[i + 1], NULL, 10);
    b.arg2 = idle ? 3 : 0;
    if (have >= 2)
        b.arg2 = strtoull(argv[i + 2], NULL, 10);
    if (need == 3)
        b.arg3 = strtoull(argv[i + 3], NULL, 10);
    b.window = (unsigned)window;
    b.resume = resume != 0;
    char rip[64];
    unsigned port;
    if (sscanf(remote, "%63[0-9.]:%u", rip, &port) != 2 || port == 0 || port > 65535 ||
        inet_pton(AF_INET, rip, &b.remote.sin_addr) != 1 || b.arg1 == 0)
        return usage();
    b.remote.sin_family = AF_INET;
    b.remote.sin_port = htons((uint16_t)port);

    svc_conf_defaults(&sc);
    sc.ca_file = ca;
    sc.n_workers = 1;
    sc.max_conns = 100000;
    sc.max_requests = 1024;
    sc.max_streams = 0; /* the peer's limit */
    sc.keepalive_ns = keepalive_ms * 1000000ull;
    sc.resumption = b.resume; /* a full handshake each time unless --resume 1 */
    if (!strcmp(io, "dpdk")) {
        struct dp_conf c;
        char lip[64];
        unsigned pl;
        if (!eal || !local || !gw || !dev || sscanf(local, "%63[0-9.]/%u", lip, &pl) != 2)
            return usage();
        dp_conf_defaults(&c);
        c.device = dev;
        c.prefix_len = (uint8_t)pl;
        inet_pton(AF_INET, lip, &c.ip);
        inet_pton(AF_INET, gw, &c.gateway);
        c.n_workers = 1;
        c.worker_lcores[0] = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        c.max_flows = (uint32_t)max_flows;
        if (mtu > 9000)
            return usage();
        c.mtu = (uint16_t)mtu;
        if (!strcmp(idle_policy, "busy"))
            c.idle = DP_IDLE_BUSY;
        else if (!strcmp(idle_policy, "interrupt"))
            c.idle = DP_IDLE_INTERRUPT;
        else if (strcmp(idle_policy, "adaptive"))
            return usage();
        b.dp = dp_new(&c);
        if (!b.dp) {
            fprintf(stderr, "dp_new: %s\n", rte_strerror(rte_errno));
            return 1;
        }
        sc.io = SVC_IO_DPDK;
        sc.dp = b.dp;
        sc.worker_lcores[0] = c.worker_lcores[0];
    } else if (!strcmp(io, "kernel")) {
        sc.io = SVC_IO_KERNEL;
        sc.worker_lcores[0] = 1;
    } else {
        return usage();
    }
    b.svc = svc_new(&sc, &err);
    if (!b.svc) {
        fprintf(stderr, "svc_new: %s\n", strerror(-err));
        return 1;
    }
    if (b.dp) {
        pthread_t th;
        if (dp_start(b.dp) != 0)
            return 1;
        pthread_create(&th, NULL, run, &b);
        dp_main_loop(b.dp, NULL, NULL);
        pthread_join(th, NULL);
        dp_stop(b.dp);
    } else {
        run(&b);
    }
    svc_del(b.svc);
    if (b.dp && b.rc)
        dp_stats_print(b.dp, stderr); /* what the port and the slow path saw */
    if (b.dp) {
        dp_del(b.dp);
        rte_eal_cleanup();
    }
    printf("%s\n", b.result);
    return b.rc;
}
