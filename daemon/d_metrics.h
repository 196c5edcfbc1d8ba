/* d_metrics: the Prometheus endpoint ([metrics] listen): GET /metrics over HTTP/1.1 on a
 * kernel TCP socket, served by libmicrohttpd in its external-epoll mode on the main
 * thread's loop — MHD starts no thread; its epoll fd is one of d_loop's fds and a scrape
 * reads the counters where they live (the service's main side, the upload engine, the
 * resolver, the dataplane's published counters), never on a worker.
 *
 * The families (docs/CONTROL.md "Metrics"): upload records and bytes by state, requests by
 * result, the request RTT, connections by state and by outcome, per-reason dataplane drops,
 * port and mempool counters, per-lcore busy/idle time, worker counters, the resolver's and
 * the control socket's counters, reloads. Main thread only. */
#ifndef H3DP_D_METRICS_H
#define H3DP_D_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cfg_metrics;
struct ctl_server;
struct d_dns;
struct d_reload;
struct dp;
struct svc;
struct up;

/* What a scrape reads (NULL members are left out: kernel mode has no dp and no port). */
struct d_metrics_src {
    struct svc *svc;
    struct dp *dp;
    const char *port;         /* the DPDK port's name */
    struct up *up;
    struct d_dns *dns;
    struct ctl_server *srv;
    const struct d_reload *reload;
};

struct d_metrics;

/* Listens on |c|'s address (c->listen_str non-empty) for scrapes of |src| (copied; the
 * objects must outlive the endpoint). Returns NULL with a one-line reason in |why|: the
 * socket could not be bound ("Address already in use") or MHD did not start. */
struct d_metrics *d_metrics_new(const struct cfg_metrics *c, const struct d_metrics_src *src,
                                char *why, size_t whylen);

/* Stops serving and frees. NULL is fine. */
void d_metrics_del(struct d_metrics *m);

/* The fd the loop watches (MHD's epoll fd): readable when a scrape needs work. */
int d_metrics_fd(const struct d_metrics *m);

/* Runs MHD's work at |now| (the fd was readable, or d_metrics_timeout_ms said it is due). */
void d_metrics_run(struct d_metrics *m, uint64_t now);

/* How long the loop may sleep before MHD needs a run without its fd becoming readable
 * (a connection's idle timeout, work MHD holds ready): ms, 0 now, -1 none. */
int d_metrics_timeout_ms(const struct d_metrics *m);

/* Writes every family of |src| at |now| to |out| (what a scrape answers). */
void d_metrics_write(const struct d_metrics_src *src, uint64_t now, FILE *out);

#endif
