/* d_metrics.c: the Prometheus endpoint (see d_metrics.h, docs/CONTROL.md "Metrics"). */
#include "d_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_dns.h"
#include "d_log.h"
#include "d_prom.h"
#include "d_reload.h"
#include "dp.h"
#include "dp_stats.h"
#include "net_addr.h"
#include "ratelim.h"
#include "svc.h"
#include "upload.h"
#include "version.h"

#define D_METRICS_CLIENTS   16    /* concurrent scrapers */
#define D_METRICS_IDLE_S    10    /* a connection that sends nothing is closed */
#define D_METRICS_CONN_MEM  16384 /* MHD's per-connection memory (headers) */
#define D_METRICS_BACKLOG   16
#define D_METRICS_LOG_BURST 3 /* MHD's complaints: 3, then one per minute */
#define D_METRICS_LOG_NS    60000000000ull
#define D_METRICS_MEMPOOLS  16
#define D_METRICS_CONTENT   "text/plain; version=0.0.4; charset=utf-8"

struct d_metrics {
    struct MHD_Daemon *mhd;
    int epfd;
    struct d_metrics_src src;
    char where[NET_ADDR_STR_MAX + 8];
    uint64_t now, scrapes;
    struct ratelim log;
};

/* ---------------------------------------------------------------- the families */

static uint64_t ju(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void write_upload(const struct d_prom *p, struct up *up, uint64_t now)
{
    static const char *const done[] = {"accepted", "acked", "failed", "retried"};
    static const char *const held[] = {"queued", "in_flight"};
    static const char *const results[] = {"acked", "retried", "failed", "not_processed"};
    static const char *const causes[] = {"connect", "auth", "http-4xx", "http-5xx", "dns", "io"};
    static const char *const states[] = {"idle", "running", "stopping", "stopped"};
    json_t *r = up_stats_json(up, now);
    const char *state;

    if (!r)
        return;
    state = json_string_value(json_object_get(r, "state"));
    d_prom_family(p, "h3dp_upload_records_total", "counter",
                  "Upload records: accepted from the sources, acknowledged by a collector "
                  "(2xx), failed for good, and sent again (each retry).");
    for (size_t i = 0; i < 4; i++)
        d_prom_u64(p, "h3dp_upload_records_total", ju(r, done[i], "records"), "state", done[i],
                   NULL);
    d_prom_family(p, "h3dp_upload_bytes_total", "counter",
                  "Upload record bytes (framed, before content coding), by the same states as "
                  "h3dp_upload_records_total.");
    for (size_t i = 0; i < 4; i++)
        d_prom_u64(p, "h3dp_upload_bytes_total", ju(r, done[i], "bytes"), "state", done[i], NULL);
    d_prom_family(p, "h3dp_upload_records", "gauge",
                  "Upload records waiting for a connection (queued) or sent and not yet "
                  "answered (in_flight): accepted = queued + in_flight + acked + failed.");
    for (size_t i = 0; i < 2; i++)
        d_prom_u64(p, "h3dp_upload_records", ju(r, held[i], "records"), "state", held[i], NULL);
    d_prom_family(p, "h3dp_upload_bytes", "gauge", "Upload record bytes queued or in flight.");
    for (size_t i = 0; i < 2; i++)
        d_prom_u64(p, "h3dp_upload_bytes", ju(r, held[i], "bytes"), "state", held[i], NULL);
    d_prom_family(p, "h3dp_upload_requests_sent_total", "counter",
                  "Upload requests (batches) handed to a connection, retries included.");
    d_prom_u64(p, "h3dp_upload_requests_sent_total", ju(r, "requests", "sent"), NULL);
    d_prom_family(p, "h3dp_upload_requests_total", "counter",
                  "Upload requests by result: acknowledged (2xx), to be retried, failed for "
                  "good, not processed by the server (GOAWAY: sent again at once).");
    for (size_t i = 0; i < 4; i++)
        d_prom_u64(p, "h3dp_upload_requests_total", ju(r, "requests", results[i]), "result",
                   results[i], NULL);
    d_prom_family(p, "h3dp_upload_responses_total", "counter",
                  "Collector answers with an error status, by class.");
    d_prom_u64(p, "h3dp_upload_responses_total", ju(r, "requests", "status_4xx"), "class", "4xx",
               NULL);
    d_prom_u64(p, "h3dp_upload_responses_total", ju(r, "requests", "status_5xx"), "class", "5xx",
               NULL);
    d_prom_family(p, "h3dp_upload_request_body_bytes_total", "counter",
                  "Upload request bodies as sent (after content coding).");
    d_prom_u64(p, "h3dp_upload_request_body_bytes_total", ju(r, "requests", "body_bytes"), NULL);
    d_prom_family(p, "h3dp_upload_errors_total", "counter",
                  "Upload failures an operator sees in the log and in upload status, by cause.");
    for (size_t i = 0; i < 6; i++)
        d_prom_u64(p, "h3dp_upload_errors_total", ju(r, "errors", causes[i]), "cause", causes[i],
                   NULL);
    d_prom_family(p, "h3dp_upload_rtt_seconds", "gauge",
                  "Upload request round-trip time from submission to the whole answer, "
                  "smoothed (EWMA over acknowledged requests).");
    d_prom_f64(p, "h3dp_upload_rtt_seconds", (double)ju(r, "rtt_us", NULL) / 1e6, NULL);
    d_prom_family(p, "h3dp_upload_connections", "gauge",
                  "Connections of the upload pool: its target size, open, ready for requests.");
    d_prom_u64(p, "h3dp_upload_connections", ju(r, "connections", "target"), "state", "target",
               NULL);
    d_prom_u64(p, "h3dp_upload_connections", ju(r, "connections", "open"), "state", "open", NULL);
    d_prom_u64(p, "h3dp_upload_connections", ju(r, "connections", "ready"), "state", "ready", NULL);
    d_prom_family(p, "h3dp_upload_state", "gauge",
                  "The upload engine's state: 1 for the current one.");
    for (size_t i = 0; i < 4; i++)
        d_prom_u64(p, "h3dp_upload_state", state && strcmp(state, states[i]) == 0, "state",
                   states[i], NULL);
    json_decref(r);
}

static void write_conns(const struct d_prom *p, struct svc *svc)
{
    static const char *const names[] = {"connecting", "established", "draining", "closing"};
    uint64_t n[4] = {0};
    struct svc_totals t;
    struct svc_conn_info i;

    for (uint64_t id = svc_conn_next(svc, 0); id; id = svc_conn_next(svc, id))
        if (svc_conn_info(svc, id, &i) == 0 && !i.closed && (unsigned)i.state < 4)
            n[i.state]++;
    d_prom_family(p, "h3dp_connections", "gauge", "HTTP/3 connections not yet closed, by state.");
    for (size_t k = 0; k < 4; k++)
        d_prom_u64(p, "h3dp_connections", n[k], "state", names[k], NULL);
    svc_totals(svc, &t);
    d_prom_family(p, "h3dp_connections_opened_total", "counter",
                  "HTTP/3 connections opened (upload pool and connect).");
    d_prom_u64(p, "h3dp_connections_opened_total", t.opened, NULL);
    d_prom_family(p, "h3dp_connections_closed_total", "counter",
                  "HTTP/3 connections closed, by outcome: ok (H3_NO_ERROR from either side) or "
                  "error (refused or timed-out handshakes, TLS alerts, resets, errors).");
    d_prom_u64(p, "h3dp_connections_closed_total", t.closed_ok, "outcome", "ok", NULL);
    d_prom_u64(p, "h3dp_connections_closed_total", t.closed_error, "outcome", "error", NULL);
}

static void write_workers(const struct d_prom *p, const struct d_metrics_src *src)
{
    struct svc_worker_stats ws[SVC_MAX_WORKERS];
    unsigned n = svc_worker_stats(src->svc, ws, SVC_MAX_WORKERS);
    char lc[SVC_MAX_WORKERS][12];

    for (unsigned k = 0; k < n; k++)
        snprintf(lc[k], sizeof(lc[k]), "%u", ws[k].lcore);
    d_prom_family(p, "h3dp_worker_connections", "gauge",
                  "Connections a worker (lcore or thread) runs.");
    for (unsigned k = 0; k < n; k++)
        d_prom_u64(p, "h3dp_worker_connections", ws[k].conns, "lcore", lc[k], NULL);
    d_prom_family(p, "h3dp_worker_requests_total", "counter", "Requests a worker completed.");
    for (unsigned k = 0; k < n; k++)
        d_prom_u64(p, "h3dp_worker_requests_total", ws[k].requests, "lcore", lc[k], NULL);
    d_prom_family(p, "h3dp_worker_packets_total", "counter",
                  "QUIC datagrams a worker's connections received and sent.");
    for (unsigned k = 0; k < n; k++) {
        d_prom_u64(p, "h3dp_worker_packets_total", ws[k].pkts_rx, "lcore", lc[k], "direction", "rx",
                   NULL);
        d_prom_u64(p, "h3dp_worker_packets_total", ws[k].pkts_tx, "lcore", lc[k], "direction", "tx",
                   NULL);
    }
    d_prom_family(p, "h3dp_worker_arena_bytes", "gauge",
                  "Bytes in use in a worker's HTTP/3 memory arena.");
    for (unsigned k = 0; k < n; k++)
        d_prom_u64(p, "h3dp_worker_arena_bytes", ws[k].arena_bytes, "lcore", lc[k], NULL);
    d_prom_family(p, "h3dp_worker_arena_peak_bytes", "gauge",
                  "The most bytes a worker's HTTP/3 memory arena held.");
    for (unsigned k = 0; k < n; k++)
        d_prom_u64(p, "h3dp_worker_arena_peak_bytes", ws[k].arena_peak, "lcore", lc[k], NULL);
    if (src->dp) {
        d_prom_family(p, "h3dp_lcore_seconds_total", "counter",
                      "Time of an lcore's poll loop by what its iterations did: busy (found "
                      "work) or idle (found none, including back-off pauses and sleeps).");
        for (unsigned k = 0; k <= n; k++) {
            unsigned id = k < n ? ws[k].lcore : rte_get_main_lcore();
            struct dp_lcore_counters c;
            char l[12];
            if (dp_lcore_counters(src->dp, id, &c) < 0 || !c.tsc_hz)
                continue;
            snprintf(l, sizeof(l), "%u", id);
            const char *role = k < n ? "worker" : "main";
            d_prom_f64(p, "h3dp_lcore_seconds_total", (double)c.busy_cycles / (double)c.tsc_hz,
                       "lcore", l, "role", role, "state", "busy", NULL);
            d_prom_f64(p, "h3dp_lcore_seconds_total", (double)c.idle_cycles / (double)c.tsc_hz,
                       "lcore", l, "role", role, "state", "idle", NULL);
        }
    } else {
        d_prom_family(p, "h3dp_worker_cpu_seconds_total", "counter",
                      "CPU time of a worker thread (kernel I/O mode).");
        for (unsigned k = 0; k < n; k++)
            d_prom_f64(p, "h3dp_worker_cpu_seconds_total", (double)ws[k].cpu_ns / 1e9, "lcore",
                       lc[k], NULL);
    }
}

static void write_dataplane(const struct d_prom *p, const struct d_metrics_src *src)
{
    struct dp_drop_stats drops;
    struct rte_eth_stats es;
    uint16_t port;

    dp_drop_totals(src->dp, &drops);
    d_prom_family(p, "h3dp_dataplane_drops_total", "counter",
                  "Frames the DPDK dataplane dropped, by reason (docs/ARCHITECTURE.md).");
    for (unsigned r = 0; r < DP_DROP__MAX; r++)
        d_prom_u64(p, "h3dp_dataplane_drops_total", drops.n[r], "reason",
                   dp_drop_name((enum dp_drop)r), NULL);
    if (src->port && rte_eth_dev_get_port_by_name(src->port, &port) == 0 &&
        rte_eth_stats_get(port, &es) == 0) {
        const char *n = src->port;
        d_prom_family(p, "h3dp_port_packets_total", "counter",
                      "Frames the DPDK port received and sent (rte_eth_stats).");
        d_prom_u64(p, "h3dp_port_packets_total", es.ipackets, "port", n, "direction", "rx", NULL);
        d_prom_u64(p, "h3dp_port_packets_total", es.opackets, "port", n, "direction", "tx", NULL);
        d_prom_family(p, "h3dp_port_bytes_total", "counter",
                      "Bytes the DPDK port received and sent.");
        d_prom_u64(p, "h3dp_port_bytes_total", es.ibytes, "port", n, "direction", "rx", NULL);
        d_prom_u64(p, "h3dp_port_bytes_total", es.obytes, "port", n, "direction", "tx", NULL);
        d_prom_family(p, "h3dp_port_errors_total", "counter",
                      "Frames the DPDK port reported in error.");
        d_prom_u64(p, "h3dp_port_errors_total", es.ierrors, "port", n, "direction", "rx", NULL);
        d_prom_u64(p, "h3dp_port_errors_total", es.oerrors, "port", n, "direction", "tx", NULL);
        d_prom_family(p, "h3dp_port_rx_missed_total", "counter",
                      "Frames the DPDK port dropped because its RX queues were full.");
        d_prom_u64(p, "h3dp_port_rx_missed_total", es.imissed, "port", n, NULL);
        d_prom_family(p, "h3dp_port_rx_nombuf_total", "counter",
                      "RX mbuf allocation failures of the DPDK port.");
        d_prom_u64(p, "h3dp_port_rx_nombuf_total", es.rx_nombuf, "port", n, NULL);
    }
}

struct pools {
    const struct d_prom *p;
    unsigned n;
    bool size; /* this walk writes the sizes, else the objects */
};

static void one_pool(struct rte_mempool *mp, void *arg)
{
    struct pools *w = arg;

    if (w->n++ >= D_METRICS_MEMPOOLS)
        return;
    if (w->size) {
        d_prom_u64(w->p, "h3dp_mempool_size_objects", mp->size, "pool", mp->name, NULL);
        return;
    }
    d_prom_u64(w->p, "h3dp_mempool_objects", rte_mempool_avail_count(mp), "pool", mp->name, "state",
               "available", NULL);
    d_prom_u64(w->p, "h3dp_mempool_objects", rte_mempool_in_use_count(mp), "pool", mp->name,
               "state", "in_use", NULL);
}

static void write_mempools(const struct d_prom *p)
{
    struct pools w = {.p = p, .size = true};

    d_prom_family(p, "h3dp_mempool_size_objects", "gauge", "Objects (mbufs) a DPDK mempool holds.");
    rte_mempool_walk(one_pool, &w);
    w = (struct pools){.p = p};
    d_prom_family(p, "h3dp_mempool_objects", "gauge",
                  "Objects of a DPDK mempool available or in use (per-lcore caches count as "
                  "available).");
    rte_mempool_walk(one_pool, &w);
}

static void write_dns(const struct d_prom *p, struct d_dns *dns)
{
    json_t *r = d_dns_stats_json(dns);

    if (!r)
        return;
    d_prom_family(p, "h3dp_dns_lookups_total", "counter", "Collector names looked up.");
    d_prom_u64(p, "h3dp_dns_lookups_total", ju(r, "lookups", NULL), NULL);
    d_prom_family(p, "h3dp_dns_cache_hits_total", "counter",
                  "Lookups answered from the resolver's cache.");
    d_prom_u64(p, "h3dp_dns_cache_hits_total", ju(r, "cache_hits", NULL), NULL);
    d_prom_family(p, "h3dp_dns_queries_total", "counter", "DNS queries sent.");
    d_prom_u64(p, "h3dp_dns_queries_total", ju(r, "queries_sent", NULL), NULL);
    d_prom_family(p, "h3dp_dns_answers_total", "counter", "DNS answers taken.");
    d_prom_u64(p, "h3dp_dns_answers_total", ju(r, "answers", NULL), NULL);
    d_prom_family(p, "h3dp_dns_failures_total", "counter",
                  "Lookups that failed: no answer in time, no such name, another failure.");
    d_prom_u64(p, "h3dp_dns_failures_total", ju(r, "timeouts", NULL), "reason", "timeout", NULL);
    d_prom_u64(p, "h3dp_dns_failures_total", ju(r, "nxdomain", NULL), "reason", "nxdomain", NULL);
    d_prom_u64(p, "h3dp_dns_failures_total", ju(r, "failed", NULL), "reason", "other", NULL);
    d_prom_family(p, "h3dp_dns_dropped_total", "counter",
                  "Datagrams to the resolver's port that were not an answer it waited for.");
    d_prom_u64(p, "h3dp_dns_dropped_total", ju(r, "rx_dropped", NULL), NULL);
    json_decref(r);
}

static void write_control(const struct d_prom *p, struct ctl_server *srv)
{
    json_t *r = ctl_server_stats_json(srv);

    if (!r)
        return;
    d_prom_family(p, "h3dp_control_clients", "gauge", "Clients connected to the control socket.");
    d_prom_u64(p, "h3dp_control_clients", ju(r, "clients", NULL), NULL);
    d_prom_family(p, "h3dp_control_requests_total", "counter",
                  "Control requests, and those answered with an error.");
    d_prom_u64(p, "h3dp_control_requests_total", ju(r, "requests", NULL), "result", "all", NULL);
    d_prom_u64(p, "h3dp_control_requests_total", ju(r, "errors", NULL), "result", "error", NULL);
    d_prom_family(p, "h3dp_control_refused_total", "counter",
                  "Control clients refused: credentials not allowed, or too many clients.");
    d_prom_u64(p, "h3dp_control_refused_total", ju(r, "refused_perm", NULL), "reason", "perm",
               NULL);
    d_prom_u64(p, "h3dp_control_refused_total", ju(r, "refused_busy", NULL), "reason", "busy",
               NULL);
    d_prom_family(p, "h3dp_control_dropped_total", "counter",
                  "Control clients disconnected: no request for [control] idle_timeout_ms, or "
                  "replies not read.");
    d_prom_u64(p, "h3dp_control_dropped_total", ju(r, "dropped_idle", NULL), "reason", "idle",
               NULL);
    d_prom_u64(p, "h3dp_control_dropped_total", ju(r, "dropped_slow", NULL), "reason", "slow",
               NULL);
    json_decref(r);
}

static void write_reload(const struct d_prom *p, const struct d_reload *rl)
{
    struct d_reload_counts c;

    d_reload_counts(rl, &c);
    d_prom_family(p, "h3dp_reloads_total", "counter",
                  "SIGHUP reloads of the configuration file: ok (it loaded) or failed.");
    d_prom_u64(p, "h3dp_reloads_total", c.ok, "result", "ok", NULL);
    d_prom_u64(p, "h3dp_reloads_total", c.failed, "result", "failed", NULL);
    d_prom_family(p, "h3dp_reload_restart_keys", "gauge",
                  "Keys whose value in the file differs from the running daemon's and that "
                  "need a restart (as of the last reload that loaded).");
    d_prom_u64(p, "h3dp_reload_restart_keys", c.restart_needed, NULL);
}

void d_metrics_write(const struct d_metrics_src *src, uint64_t now, FILE *out)
{
    const struct d_prom p = {.f = out};

    d_prom_family(&p, "h3dp_build_info", "gauge", "The running h3dpd: its version and I/O mode.");
    d_prom_u64(&p, "h3dp_build_info", 1, "version", h3dp_version(), "io",
               src->dp ? "dpdk" : "kernel", NULL);
    if (src->up)
        write_upload(&p, src->up, now);
    if (src->svc) {
        write_conns(&p, src->svc);
        write_workers(&p, src);
    }
    if (src->dp) {
        write_dataplane(&p, src);
        write_mempools(&p);
    }
    if (src->dns)
        write_dns(&p, src->dns);
    if (src->srv)
        write_control(&p, src->srv);
    if (src->reload)
        write_reload(&p, src->reload);
}

/* ---------------------------------------------------------------- the endpoint */

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rv;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rv = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rv;
}

/* MHD's request callback, on the main thread inside MHD_run. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **ctx)
{
    struct d_metrics *m = cls;
    struct MHD_Response *r;
    enum MHD_Result rv;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)ctx;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics here\n");
    if (strcmp(url, "/metrics") != 0)
        return answer(conn, MHD_HTTP_NOT_FOUND, "h3dpd serves /metrics only\n");
    f = open_memstream(&text, &len);
    if (!f)
        return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    m->scrapes++;
    d_metrics_write(&m->src, m->now, f);
    d_prom_family(&(struct d_prom){.f = f}, "h3dp_metrics_scrapes_total", "counter",
                  "Scrapes of this endpoint, this one included.");
    d_prom_u64(&(struct d_prom){.f = f}, "h3dp_metrics_scrapes_total", m->scrapes, NULL);
    if (fclose(f) != 0) {
        free(text);
        return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, D_METRICS_CONTENT);
    rv = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rv;
}

/* MHD's own complaints (a client that misbehaves, a failed accept): WARNING, rate-limited. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct d_metrics *m = cls;
    char line[256];
    uint64_t held = 0;
    size_t n;

    if (!ratelim_allow(&m->log, m->now, &held))
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (held)
        D_LOG(WARNING, "metrics %s: %s (and %llu more not logged)", m->where, line,
              (unsigned long long)held);
    else
        D_LOG(WARNING, "metrics %s: %s", m->where, line);
}

/* The listening socket, bound here so that a failure says exactly why. */
static int listen_on(const struct cfg_metrics *c, char *why, size_t whylen, const char *where)
{
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_sockaddr(&c->addr, c->port, &ss);
    int one = 1, fd;

    fd = socket(c->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", where, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, D_METRICS_BACKLOG) != 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct d_metrics *d_metrics_new(const struct cfg_metrics *c, const struct d_metrics_src *src,
                                char *why, size_t whylen)
{
    struct d_metrics *m = calloc(1, sizeof(*m));
    const union MHD_DaemonInfo *info;
    char ip[NET_ADDR_STR_MAX];
    int fd;

    if (!m) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    m->src = *src;
    ratelim_init(&m->log, D_METRICS_LOG_BURST, D_METRICS_LOG_NS);
    net_addr_str(&c->addr, ip, sizeof(ip));
    snprintf(m->where, sizeof(m->where), c->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
             c->port);
    fd = listen_on(c, why, whylen, m->where);
    if (fd < 0) {
        free(m);
        return NULL;
    }
    /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only inside d_metrics_run. */
    m->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (c->addr.family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
        NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)D_METRICS_CLIENTS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)D_METRICS_IDLE_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)D_METRICS_CONN_MEM, MHD_OPTION_END);
    if (!m->mhd) {
        snprintf(why, whylen, "%s: libmicrohttpd did not start", m->where);
        free(m); /* |fd| is left open: MHD may have closed it already */
        return NULL;
    }
    info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    m->epfd = info ? info->epoll_fd : -1;
    if (m->epfd < 0) {
        snprintf(why, whylen, "%s: libmicrohttpd has no epoll fd", m->where);
        d_metrics_del(m);
        return NULL;
    }
    D_LOG(NOTICE, "metrics on http://%s/metrics", m->where);
    return m;
}

void d_metrics_del(struct d_metrics *m)
{
    if (!m)
        return;
    if (m->mhd)
        MHD_stop_daemon(m->mhd); /* closes the listening socket too */
    free(m);
}

int d_metrics_fd(const struct d_metrics *m)
{
    return m->epfd;
}

void d_metrics_run(struct d_metrics *m, uint64_t now)
{
    m->now = now;
    MHD_run(m->mhd);
}

int d_metrics_timeout_ms(const struct d_metrics *m)
{
    MHD_UNSIGNED_LONG_LONG t;

    if (MHD_get_timeout(m->mhd, &t) != MHD_YES)
        return -1;
    return t > 1000000 ? 1000000 : (int)t;
}
