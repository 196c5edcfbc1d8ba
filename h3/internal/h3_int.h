/*
 * h3_int.h: the driver's private structures, shared by h3_conn.c (connection,
 * QUIC/HTTP/3 glue, state machine) and h3_req.c (requests, bodies, sinks).
 */
#ifndef H3DP_H3_INT_H
#define H3DP_H3_INT_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>

#include "h3.h"
#include "h3_tls.h"

#define H3_SESSION_KEY_MAX 300 /* "<SNI or host>|<port>" */

enum h3_req_where { H3_REQ_FREE, H3_REQ_QUEUED, H3_REQ_ACTIVE };

/* A header field stored in the request's inline space. */
struct h3_field {
    uint16_t name_off, name_len, value_off, value_len;
};

struct h3_req {
    struct h3_conn *conn;
    struct h3_req *next, *prev; /* free list, queue or active list */
    enum h3_req_where where;
    struct h3_req_params p;     /* strings point into |space| */
    int64_t stream_id;
    int status;
    bool end_stream;            /* the response ended (FIN after a full message) */
    bool body_eof;              /* all of the request body was handed to nghttp3 */
    bool blocked;               /* producer said WOULDBLOCK */
    bool sent_early;            /* started in 0-RTT */
    bool early_resent;          /* ... the early data was rejected: queued again */
    uint64_t body_off;          /* bytes handed to nghttp3 */
    uint64_t body_sent, body_recv; /* request body acknowledged; response body */
    void *map;                  /* FILE: the mapping */
    size_t map_len;
    uint8_t *keep;              /* KEEP sink */
    size_t keep_len, keep_cap;
    char *hdrs;                 /* KEEP sink: "name: value\n" lines */
    size_t hdrs_len, hdrs_cap;
    uint16_t n_fields, space_used;
    char *buf;                  /* where the fields' bytes are: |space| or |big| */
    size_t buf_cap;
    struct h3_field fields[H3_REQ_MAX_HEADERS + 5]; /* pseudo-headers + extras */
    /* ---- kept across reuse (h3_conn_request clears what comes before |space|) */
    char space[H3_REQ_HEADER_INLINE];
    char *big;                  /* a larger field buffer, grown on demand, kept */
    size_t big_cap;
    struct h3_req *all_next;    /* every slot of the connection */
};

struct h3_req_list {
    struct h3_req *head, *tail;
    size_t n;
};

struct h3_conn {
    struct h3_mem mem;
    ngtcp2_mem qmem;
    nghttp3_mem hmem;
    ngtcp2_conn *qc;
    nghttp3_conn *hc;
    struct h3_tls *tls;
    ngtcp2_path_storage ps;
    struct sockaddr_storage local, remote;
    const struct h3_io_ops *io;
    void *io_ctx;
    void (*on_established)(struct h3_conn *c, void *ud);
    void (*on_closed)(struct h3_conn *c, const struct h3_outcome *o, void *ud);
    void (*log)(void *ud, const char *line);
    void *ud;
    char *authority;
    FILE *qlog;

    enum h3_state state;
    struct h3_outcome outcome;
    uint64_t max_streams_cap;
    size_t max_udp_payload;
    size_t pmtu_max;            /* bound from the path's Packet Too Big (SIZE_MAX: none) */
    uint64_t pmtu_reports;
    uint16_t pmtud_probes[3]; /* the sizes PMTUD tries (kept: ngtcp2 reads them later) */

    struct h3_req *pool_all;    /* slots made so far, at most pool_n, reused via free_list */
    size_t pool_n, pool_made;
    struct h3_req *free_list;
    struct h3_req_list queue, active;

    /* Work deferred until the library call that triggered it returns. */
    int in_lib;
    bool tx_pending;            /* requests/resumes not yet written */
    bool established_pending;
    bool confirmed;             /* HANDSHAKE_DONE received */
    bool progress;              /* acknowledged data since the last io->progress() */
    bool goaway_pending;
    bool close_pending;
    uint64_t close_pending_code;
    char close_pending_reason[H3_REASON_MAX];

    /* graceful shutdown */
    bool shutdown_requested;
    bool goaway_sent;
    uint64_t max_push_requested;
    uint64_t shutdown_deadline;
    int64_t goaway_sent_id, goaway_recv_id;

    /* closing period */
    ngtcp2_ccerr ccerr;        /* set by callbacks that fail the connection */
    bool ccerr_set;
    bool stateless_reset;
    uint8_t *close_pkt;
    size_t close_len;
    uint64_t close_deadline;
    uint64_t close_rx, close_next_resend;

    /* resumption and 0-RTT */
    struct h3_session_cache *sc; /* NULL: none */
    char sc_key[H3_SESSION_KEY_MAX];
    bool early_possible;        /* resuming with the server's 0-RTT transport params set */
    bool early_ok;              /* 0-RTT keys installed: early requests may start */
    bool resumed;
    enum h3_early_data early_state;
    uint64_t req_early, req_early_resent, tickets_received;

    /* counters */
    uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv, pkts_recv_dropped;
    uint64_t pkts_lost_closed;  /* loss counts of streams already closed */
    uint64_t ecn_rx[4], ecn_tx[4]; /* datagrams by ECN codepoint (NGTCP2_ECN_*) */
    uint64_t size_rx[H3_PKT_SIZE_BUCKETS], size_tx[H3_PKT_SIZE_BUCKETS]; /* by size */
    uint64_t key_updates;          /* 1-RTT key phase changes of the packets we sent */
    uint8_t key_phase;             /* the Key Phase bit of the last 1-RTT packet we sent */
    int64_t uni_ids[3];         /* our control and QPACK streams */
    uint64_t req_started, req_completed, req_failed, req_not_processed, req_cancelled,
        req_conn_closed;
    uint64_t body_bytes_sent, body_bytes_recv;
};

/* h3_session.c */
/* The cache key of a server as a connection sees it: "<name>|<port of remote>|<id>", <id>
 * 16 hex digits of FNV-1a over what the connection trusts and presents (|ca_file|, NULL =
 * the system store; |insecure|; |cert_file|, NULL = none). A resumed handshake skips the
 * server's certificate and the client's: a ticket must only serve a connection that would
 * have verified and presented the same. False if it does not fit. */
bool h3_session_key(const char *name, const struct sockaddr *remote, const char *ca_file,
                    bool insecure, const char *cert_file, char *key, size_t len);
/* Take |key|'s entry out of the cache (a ticket is used once). On success *|ticket| is
 * malloc'ed (the caller frees it) and the transport parameters are copied into |tp|
 * (H3_SESSION_TP_MAX bytes). False when there is none. */
bool h3_session_take(struct h3_session_cache *sc, const char *key, uint8_t **ticket,
                     size_t *ticket_len, uint8_t *tp, size_t *tp_len);
/* Store a copy of the latest ticket (and 0-RTT transport parameters) for |key|. */
void h3_session_put(struct h3_session_cache *sc, const char *key, const uint8_t *ticket,
                    size_t ticket_len, const uint8_t *tp, size_t tp_len);

/* h3_mem.c */
void h3_mem_bridge(const struct h3_mem *m, ngtcp2_mem *q, nghttp3_mem *h);
char *h3_mem_strdup(const struct h3_mem *m, const char *s);

/* h3_req.c */
int h3_req_pool_init(struct h3_conn *c, size_t n);
void h3_req_pool_free(struct h3_conn *c);
void h3_req_list_push(struct h3_req_list *l, struct h3_req *r);
void h3_req_list_remove(struct h3_req_list *l, struct h3_req *r);
/* Start queued requests while streams are available. Returns 0 or a fatal
 * H3_ERR_* (the caller closes the connection). */
int h3_req_pump(struct h3_conn *c);
/* Report |r|'s result, detach it from its stream and release it. */
void h3_req_complete(struct h3_req *r, enum h3_req_result res, uint64_t code);
/* Complete every queued and active request (connection ending). */
void h3_req_complete_all(struct h3_conn *c, enum h3_req_result active_res, uint64_t code);
/* The server rejected our early data and ngtcp2 dropped every stream: put the requests
 * started in 0-RTT back at the head of the queue, in order, as if never sent. */
void h3_req_requeue_early(struct h3_conn *c);
/* Stop streams at or above the peer's GOAWAY ID; report them not processed. */
void h3_req_apply_goaway(struct h3_conn *c, int64_t id);
extern const nghttp3_callbacks h3_req_h3_callbacks;

/* h3_conn.c */
/* Create the nghttp3 connection and open our control and QPACK streams (at 1-RTT, or
 * in 0-RTT for early requests). Returns 0 or NGTCP2_ERR_CALLBACK_FAILURE. */
int h3_conn_setup_h3(struct h3_conn *c);
/* Fail the connection from inside a library callback with |ccerr|-style app error. */
void h3_conn_fail_app(struct h3_conn *c, uint64_t app_code, const char *reason);

/* Upper bounds of the h3_stats.pkt_size_* buckets but the last (h3_stats.c). */
extern const uint16_t h3_pkt_size_bounds[H3_PKT_SIZE_BUCKETS - 1];

/* The h3_stats.pkt_size_* bucket of a |len|-byte datagram. */
static inline unsigned h3_pkt_size_bucket(size_t len)
{
    unsigned i = 0;

    while (i < H3_PKT_SIZE_BUCKETS - 1 && len > h3_pkt_size_bounds[i])
        i++;
    return i;
}

#endif /* H3DP_H3_INT_H */
