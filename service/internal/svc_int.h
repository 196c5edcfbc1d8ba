/* svc_int.h: what the main side (svc.c), the worker side (svc_worker.c) and the I/O
 * backends (svc_io_kernel.c, svc_io_dpdk.c) of the connection service share. */
#ifndef H3DP_SVC_INT_H
#define H3DP_SVC_INT_H

#define SVC_HOST_MAX 256 /* host and SNI names, with the NUL (RFC 1035: 253 characters) */

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "svc_bus.h"
#include <rte_log.h>

#include "ratelim.h"

#include "svc.h"
#include "svc_arena.h"

/* The service's log type (user.h3dp.service, registered in svc.c). Main thread only: a
 * worker never logs (a log line is a system call). */
extern int svc_logtype;
#define SVC_LOG(level, fmt, ...)                                                                   \
    rte_log(RTE_LOG_##level, svc_logtype, "service: " fmt "\n", ##__VA_ARGS__)

struct dp_flow;
struct kio;
struct svc_worker;

/* Message types on the bus (svc_msg.type). Every command comes back as exactly one event:
 * CONNECT as CLOSED (at the very end), REQUEST as REQ_DONE, STATS as STATS, SHUTDOWN and
 * CLOSE as ACK. So the main side knows when a worker holds no more references to a conn. */
enum svc_msg_type {
    SVC_CMD_CONNECT = 1,
    SVC_CMD_REQUEST,
    SVC_CMD_STATS,
    SVC_CMD_SHUTDOWN,
    SVC_CMD_CLOSE,
    SVC_EV_STATE,
    SVC_EV_EARLY,
    SVC_EV_GOAWAY,
    SVC_EV_REQ_DONE,
    SVC_EV_STATS,
    SVC_EV_ACK,
    SVC_EV_CLOSED,
};

/* svc_msg.arg layouts: every message starts with the connection. */
struct svc_m_conn { struct svc_conn *c; };
struct svc_m_state {
    struct svc_conn *c;
    enum h3_state st;
    bool resumed;                 /* the driver's at this state change */
    enum h3_early_data early_data;
    uint64_t rtt_ns;              /* the smoothed RTT (0: no sample yet) */
};
struct svc_m_goaway { struct svc_conn *c; int64_t id; };
struct svc_m_shutdown { struct svc_conn *c; uint64_t max_push, timeout_ns; };
struct svc_m_close { struct svc_conn *c; uint64_t code; char reason[128]; };
struct svc_m_stats {
    struct svc_conn *c;
    void (*cb)(void *ud, uint64_t conn, int err, const struct h3_stats *st);
    void *ud;
};
struct svc_m_req_done { struct svc_conn *c; struct svc_req_result res; uint64_t rtt_ns; };
/* CLOSED: the outcome is in c->final.outcome, written before the event is posted. */
struct svc_m_closed { struct svc_conn *c; int64_t goaway_recv_id; };

_Static_assert(sizeof(struct svc_m_closed) <= SVC_MSG_ARG_SIZE, "closed event fits");
_Static_assert(sizeof(struct svc_m_req_done) <= SVC_MSG_ARG_SIZE, "done event fits");
_Static_assert(sizeof(struct svc_m_close) <= SVC_MSG_ARG_SIZE, "close command fits");

/* A timer in a worker's min-heap: a connection's next expiry or a request's deadline. */
struct svc_timer {
    uint64_t at;
    unsigned idx;   /* position in the heap; UINT_MAX when not queued */
    uint8_t kind;   /* SVC_T_CONN, SVC_T_REQ */
};
enum { SVC_T_CONN = 1, SVC_T_REQ };

/* One connection. Allocated and freed by the main side; the block marked "worker" is
 * written only by the owning worker between CONNECT and the CLOSED event. */
struct svc_conn {
    /* ---- main side */
    uint64_t id;
    struct svc_conn_info info;
    struct svc_conn_cbs cbs;
    void *ud;
    unsigned widx;          /* worker index */
    unsigned outstanding;   /* commands sent whose event has not come back */
    bool in_table;          /* false once forgotten: freed when outstanding is 0 */
    bool close_asked;       /* svc_close: an error outcome was asked for, not a failure */
    /* ---- connect parameters (written by main before CONNECT, read by the worker) */
    struct sockaddr_storage remote;
    socklen_t remote_len;
    uint16_t max_udp_payload; /* set by the backend's open: what its port carries (0:
                                 the driver's default) */
    /* host, SNI ("" = none) and CA file ("" = the system store), NUL-terminated back to
     * back in |cparams|: malloc'd by svc_connect, freed by the worker once the driver has
     * copied them (an established connection keeps none of it), else by free_conn. */
    char *cparams;
    const char *host, *sni, *ca_file, *cert_file, *key_file;
    bool insecure;
    /* ---- worker */
    struct h3_conn *h3 __attribute__((aligned(64)));
    struct svc_worker *w;
    struct dp_flow *flow;        /* DPDK */
    struct kio *kio;          /* kernel */
    struct sockaddr_storage local;
    socklen_t local_len;
    struct svc_timer t;
    struct svc_conn *dirty_next;
    bool dirty, finished;
    bool reported_early;         /* SVC_EV_EARLY posted */
    enum h3_state reported;
    int64_t reported_goaway;
    struct svc_msg *connect_msg; /* returned as the CLOSED event */
    struct h3_stats final;       /* the driver's last statistics, for show after close */
};

/* The I/O backend of a worker: kernel sockets or DPDK flows. */
struct svc_backend {
    /* Opens the conn's socket/flow, fills c->local and |io|/|io_ctx|. 0 or -errno. */
    int (*open)(struct svc_worker *w, struct svc_conn *c, const struct h3_io_ops **io,
                void **io_ctx);
    /* After h3_conn_new: binds the backend to c->h3 (may be NULL). */
    void (*attach)(struct svc_worker *w, struct svc_conn *c);
    /* Sends what the conn buffered (kernel: sendmmsg; DPDK: nothing, the loop drains). */
    void (*flush)(struct svc_worker *w, struct svc_conn *c);
    /* Releases the socket/flow (the h3 connection is already deleted). */
    void (*close)(struct svc_worker *w, struct svc_conn *c);
};

/* Counters a worker publishes (relaxed atomics; read by svc_worker_stats). */
struct svc_wcounters {
    atomic_uint_fast64_t conns, requests, pkts_rx, pkts_tx, arena_bytes, arena_peak, cpu_ns;
};

struct svc_worker {
    struct svc *s;
    unsigned idx, lcore;
    const struct svc_backend *be;
    struct svc_arena *arena;
    const struct h3_mem *mem;
    uint64_t now;                       /* the current step's timestamp */
    struct svc_timer **heap;            /* min-heap by |at| */
    unsigned heap_n, heap_cap;
    struct svc_conn *dirty;             /* conns to revisit at the end of the step */
    struct svc_msg **ovf;               /* events the full event ring refused, in order */
    unsigned ovf_head, ovf_n, ovf_cap;
    uint64_t n_conns, n_requests;
    struct svc_wcounters ctr;
    /* kernel backend */
    pthread_t thread;
    bool thread_started;
    int epfd, wakefd;
    atomic_bool stop;
} __attribute__((aligned(64)));

struct svc {
    struct svc_conf conf;
    char ca_file[PATH_MAX], cert_file[PATH_MAX], key_file[PATH_MAX], keylog[PATH_MAX];
    char qlog_dir[PATH_MAX];
    struct svc_bus *bus;
    struct svc_worker *workers;
    unsigned n_workers;
    /* main side: connections sorted by id */
    struct svc_conn **conns;
    unsigned n_conns, cap_conns, n_active, n_closed;
    uint64_t next_id;
    struct svc_conn_cbs obs;  /* observer of every connection */
    void *obs_ud;
    /* session resumption: the cache every worker's connections share */
    struct h3_session_cache *sessions;      /* NULL: resumption off */
    char session_dir[PATH_MAX];             /* "": not saved */
    uint64_t session_check_at;              /* next look at the cache's counters */
    uint64_t session_mark;                  /* its stored+taken+evicted at the last save */
    uint64_t now;             /* the last svc_poll's time */
    struct svc_totals totals;
    struct ratelim fail_log;  /* lines about failed connections */
};

/* svc_worker.c */
int svc_worker_init(struct svc *s, struct svc_worker *w, unsigned idx, unsigned lcore,
                    const struct svc_backend *be);
void svc_worker_free(struct svc_worker *w);
/* One step of a worker's loop at |now|: commands, timers, dirty conns, pending events.
 * Returns the work done (0 = idle). */
unsigned svc_worker_step(struct svc_worker *w, uint64_t now);
/* Marks |c| for a revisit at the end of the step (after RX). */
void svc_worker_touch(struct svc_worker *w, struct svc_conn *c);
/* The earliest timer of |w|, UINT64_MAX if none. */
uint64_t svc_worker_next_timer(const struct svc_worker *w);
/* Frees the h3 connection and socket/flow of |c| without sending anything (svc_del). */
void svc_worker_drop_conn(struct svc_worker *w, struct svc_conn *c);

/* svc_io_kernel.c */
extern const struct svc_backend svc_kernel_backend;
int svc_kernel_start(struct svc_worker *w);
void svc_kernel_stop(struct svc_worker *w);
void svc_kernel_wake(struct svc_worker *w);

/* svc_io_dpdk.c */
extern const struct svc_backend svc_dpdk_backend;
int svc_dpdk_attach(struct svc_worker *w);

#endif
