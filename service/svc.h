/* svc: the connection service — HTTP/3 connections living on worker lcores.
 *
 * The daemon's main lcore (control loop, upload scheduler) uses this API; the HTTP/3
 * drivers (h3_conn) live on worker lcores, shared nothing: each worker owns its
 * connections, their flows or sockets, their timers and a memory arena. Every call below
 * is made on the MAIN thread only, never blocks on a worker and never waits for the
 * network: a call posts a command on the worker's ring (svc_msg) and returns; results
 * come back as callbacks, also on the main thread, from svc_poll().
 *
 * I/O modes ([dataplane] io):
 *   SVC_IO_DPDK    connections run inside the dataplane's worker loops (dp_worker_hook),
 *                  packets through dp_flow (zero-copy TX into mbufs).
 *   SVC_IO_KERNEL  one pthread per worker, one connected UDP socket per connection
 *                  (kio): the same service without a DPDK port, and the baseline.
 *
 * Errors: negative codes, -errno style (-EINVAL, -ENOENT no such connection, -ESHUTDOWN
 * connection closing/closed, -ENOBUFS ring or pool full, -ENOMEM).
 */
#ifndef H3DP_SVC_H
#define H3DP_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "h3.h"

struct dp;
struct svc;

enum svc_io { SVC_IO_DPDK, SVC_IO_KERNEL };

#define SVC_MAX_WORKERS 16

struct svc_conf {
    enum svc_io io;
    struct dp *dp;                          /* SVC_IO_DPDK: the dataplane (before dp_start) */
    unsigned n_workers;                     /* 1..SVC_MAX_WORKERS */
    unsigned worker_lcores[SVC_MAX_WORKERS]; /* ids reported as "lcore" (EAL ids in DPDK mode) */
    /* h3 defaults for every connection (from [h3] and [tls]) */
    uint64_t idle_timeout_ns, handshake_timeout_ns, keepalive_ns;
    uint64_t max_streams;                   /* concurrent requests per connection */
    uint64_t initial_max_data, initial_max_stream_data;
    size_t max_requests;                    /* request pool per connection (queued+in flight) */
    const char *ca_file;                    /* NULL/"" = system store */
    const char *cert_file, *key_file;       /* client certificate; NULL/"" = none */
    bool insecure;
    const char *keylog_file, *qlog_dir;     /* NULL/"" = none */
    unsigned max_conns;                     /* all workers together */
    unsigned closed_keep;                   /* closed connections remembered for show/wait */
    /* Session resumption and 0-RTT: one ticket cache shared by every worker (its mutex is
     * taken when a connection is created and when a ticket arrives, never per packet). */
    bool resumption;                        /* false: no cache, every handshake is full */
    const char *session_dir;                /* NULL/"": tickets in memory only; else loaded
                                               by svc_new, saved by svc_poll when they
                                               changed (at most once a second, on the main
                                               thread) and by svc_del (h3_session_cache_save:
                                               files 0600) so that a restart resumes */
};

void svc_conf_defaults(struct svc_conf *c);

/* Creates the service. DPDK mode: installs the worker hooks on |c->dp| (call before
 * dp_start()). Kernel mode: starts the worker threads. Returns NULL with *|err| set. */
struct svc *svc_new(const struct svc_conf *c, int *err);

/* Stops the workers' use of the service (kernel: joins the threads), frees every
 * connection without sending anything, frees the service. DPDK mode: after dp_stop(). */
void svc_del(struct svc *s);

/* Main loop step: drains worker events, runs callbacks. Returns the number of events
 * handled. Cheap when idle. */
unsigned svc_poll(struct svc *s, uint64_t now_ns);

/* The eventfd that becomes readable when workers posted events while the main thread
 * slept (see svc_bus_arm); svc_arm() arms it and returns false if events are pending. */
int svc_eventfd(const struct svc *s);
bool svc_arm(struct svc *s);

/* ---------------------------------------------------------------- connections */

struct svc_conn_params {
    const char *url;                  /* for display only ("https://198.18.0.1:4433") */
    const struct sockaddr *remote;    /* IP literal address + port (DPDK: IPv4 only) */
    socklen_t remote_len;
    const char *host;                 /* :authority host / verification name */
    const char *sni;                  /* NULL = host */
    const char *ca_file;              /* NULL = svc_conf's */
    const char *cert_file, *key_file; /* client certificate; NULL = svc_conf's, "" = none */
    int insecure;                     /* -1 = svc_conf's, 0/1 */
    int lcore;                        /* worker lcore id, -1 = least loaded */
};

struct svc_conn_cbs {
    /* State changes: ESTABLISHED, DRAINING (own shutdown or peer GOAWAY), CLOSING. */
    void (*on_state)(void *ud, uint64_t conn, enum h3_state st);
    /* The peer sent GOAWAY with |id| (may be called more than once, ids decreasing). */
    void (*on_goaway)(void *ud, uint64_t conn, int64_t id);
    /* Final: the connection is closed with |o|. No callback for |conn| follows. */
    void (*on_closed)(void *ud, uint64_t conn, const struct h3_outcome *o);
    /* 0-RTT is possible (h3_conn_early_ready): the connection is still CONNECTING, but
     * requests with svc_req.early submitted from now on go in 0-RTT; others wait in the
     * driver for the handshake. At most once per connection, before ESTABLISHED. */
    void (*on_early)(void *ud, uint64_t conn);
};

/* Installs |cbs| (NULL removes) as the observer of EVERY connection: they run after the
 * connection's own callbacks (the daemon's control plane watches connections that the
 * upload engine opened). */
void svc_set_observer(struct svc *s, const struct svc_conn_cbs *cbs, void *ud);

/* Opens a connection on a worker. *|conn| gets its id (> 0, never reused). |cbs| may be
 * NULL; |ud| is passed back. Handshake failures arrive through on_closed. */
int svc_connect(struct svc *s, const struct svc_conn_params *p, const struct svc_conn_cbs *cbs,
                void *ud, uint64_t *conn);

/* What the main thread knows of a connection without asking its worker. */
struct svc_conn_info {
    uint64_t id;
    char url[256];
    unsigned lcore;
    enum h3_state state;
    uint64_t requests_active;   /* submitted through svc_request, not yet done */
    uint64_t requests_done;
    int64_t goaway_recv_id;     /* -1: none */
    bool early_ready;           /* CONNECTING and 0-RTT possible (on_early was reported) */
    bool resumed;               /* the handshake resumed a session (valid from ESTABLISHED) */
    enum h3_early_data early_data; /* what became of 0-RTT (final from ESTABLISHED) */
    uint64_t started_ns;        /* svc_connect, on the clock of svc_poll's |now| */
    uint64_t rtt_ns;            /* smoothed RTT as last reported (state changes, completed
                                   requests, close); 0: no sample yet */
    bool closed;
    struct h3_outcome outcome;  /* valid when closed */
};

/* Fills |out| for |conn|; returns 0 or -ENOENT (never existed or forgotten). */
int svc_conn_info(const struct svc *s, uint64_t conn, struct svc_conn_info *out);

/* Iterates connection ids in increasing order: first with |prev| = 0; returns 0 at the end. */
uint64_t svc_conn_next(const struct svc *s, uint64_t prev);

/* Number of connections not yet closed. */
unsigned svc_conns_active(const struct svc *s);

/* Connections since svc_new: opened (svc_connect succeeded) and closed, by outcome. */
struct svc_totals {
    uint64_t opened, closed_ok, closed_error;
};
void svc_totals(const struct svc *s, struct svc_totals *out);

/* Asks the worker for the driver's full statistics; |cb| runs from svc_poll() with err 0
 * and |st|, or err < 0 (-ENOENT) and |st| NULL. Returns 0 or an error (cb not called). */
int svc_conn_stats(struct svc *s, uint64_t conn,
                   void (*cb)(void *ud, uint64_t conn, int err, const struct h3_stats *st),
                   void *ud);

/* Graceful shutdown (h3_conn_shutdown): GOAWAY, in-flight requests finish, close with
 * H3_NO_ERROR; |timeout_ns| > 0 cancels what is left after that long. */
int svc_shutdown(struct svc *s, uint64_t conn, uint64_t max_push, uint64_t timeout_ns);

/* Immediate close with the HTTP/3 application error |code|. */
int svc_close(struct svc *s, uint64_t conn, uint64_t code, const char *reason);

/* Graceful shutdown of every open connection (quit, SIGTERM). */
void svc_shutdown_all(struct svc *s, uint64_t timeout_ns);

/* ---------------------------------------------------------------- requests */

struct svc_req;

struct svc_req_result {
    struct h3_req_outcome o;      /* result, status, stream id, body bytes */
    int err;                      /* 0, or why it never started (H3_ERR_*, e.g. H3_ERR_INVAL
                                     for a header h3 refused; o.result is then FAILED, or
                                     NOT_PROCESSED when the connection was going away) */
    uint64_t rtt_ns;              /* from submission on the worker to completion */
    char retry_after[32];         /* the response's retry-after value (RFC 9110 §10.2.3),
                                     NUL-terminated, "" when absent or longer than 31
                                     bytes; captured for every request, no copy else */
    /* keep_response only (valid during the callback): */
    const char *headers; size_t headers_len;  /* "name: value\n" lines */
    uint8_t body_sha256[32];      /* SHA-256 of the whole response body */
};

/* A request: caller-owned memory that must stay valid until |done| has run. */
struct svc_req {
    const char *method, *path;               /* required */
    const struct h3_header *headers; size_t n_headers;  /* copied on submission */
    const uint8_t *body; size_t body_len;    /* memory body (read by the worker) */
    uint64_t synth_len;                      /* or: a generated body of this many bytes
                                                (pattern byte i = i % 251), body == NULL */
    bool keep_response;                      /* headers + body digest in the result */
    bool early;                              /* replay-safe: may go in 0-RTT
                                                (h3_req_params.early); not with synth_len
                                                (a generated body cannot be sent again) */
    uint64_t timeout_ns;                     /* 0 = none; cancels with H3_REQUEST_CANCELLED */
    void (*done)(void *ud, struct svc_req *r, const struct svc_req_result *res);
    void *ud;
};

/* Submits |r| on |conn|, also while it is CONNECTING (the driver queues it until the
 * handshake, or sends it in 0-RTT when |r|->early and on_early was reported). Returns 0
 * (|done| will run exactly once, from svc_poll()), -ENOENT, -ESHUTDOWN (draining/closed:
 * |done| not called), -ENOBUFS (ring full: try later), -EINVAL (also early with a
 * generated body). */
int svc_request(struct svc *s, uint64_t conn, struct svc_req *r);

/* ---------------------------------------------------------------- counters */

struct svc_worker_stats {
    unsigned lcore;
    uint64_t conns, busy_cycles, idle_cycles; /* cycles: DPDK mode (kernel: 0) */
    uint64_t cpu_ns;                          /* the worker thread's CPU time that did work
                                                 (kernel: all of it, it sleeps in epoll;
                                                 DPDK: less its idle streaks) */
    uint64_t arena_bytes, arena_peak;         /* the worker's h3 memory arena */
    uint64_t requests, pkts_rx, pkts_tx;
};

/* Fills |out| (up to |max| workers) from counters the workers publish; returns the count.
 * Safe from the main thread at any time (values may be slightly stale). */
unsigned svc_worker_stats(const struct svc *s, struct svc_worker_stats *out, unsigned max);

/* The session cache's counters (h3_session_cache_stats; takes its mutex). Returns false
 * when resumption is off (|st| untouched). */
bool svc_session_stats(const struct svc *s, struct h3_session_cache_stats *st);

#endif /* H3DP_SVC_H */
