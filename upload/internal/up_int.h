/* up_int.h: what the files of the upload engine share — the engine, batches, queues,
 * accounting — and the functions each file offers the others. Internal to upload/. */
#ifndef H3DP_UP_INT_H
#define H3DP_UP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <rte_log.h>

#include "net_url.h"
#include "svc.h"
#include "up_headers.h"
#include "up_src.h"
#include "upload.h"

/* The engine's log type (user.h3dp.upload). */
extern int up_logtype;
#define UP_LOG(level, fmt, ...)                                                                    \
    rte_log(RTE_LOG_##level, up_logtype, "upload: " fmt "\n", ##__VA_ARGS__)

#define UP_STR_MAX       256
#define UP_HOST_MAX      254
#define UP_TARGET_MAX    (UP_STR_MAX + 272) /* "https://[v6]:port" + path */
/* Headers of a request: the engine's own (content-type, h3dp-batch, h3dp-records,
 * h3dp-framing, content-encoding, content-digest) and room for the operator's (the headers
 * file). */
#define UP_HDRS_OWN      6
#define UP_HDRS_USER_MAX 32
#define UP_HDRS_MAX      (UP_HDRS_OWN + UP_HDRS_USER_MAX)
#define UP_SOURCES_MAX   8
#define UP_URLS_MAX      8  /* collectors in the failover list */
#define UP_ADDRS_MAX     8  /* addresses kept per collector name */
#define UP_ERR_MAX       256

/* ---------------------------------------------------------------- batches (up_batch.c) */

/* A batch: records of one source sent as one request, and retried as one. */
struct up_batch {
    struct svc_req r;           /* the request (body, headers) handed to the service */
    struct up *u;
    struct up_batch *next;      /* queue link */
    struct up_source *src;      /* acked/failed/dropped go back to it */
    void *src_priv;             /* the source's own per-batch data (a spool file) */
    uint64_t seq, records, bytes;
    unsigned attempts;
    uint64_t not_before;        /* delayed queue: not before this time */
    int slot;                   /* pool slot in flight on (-1: none) */
    uint64_t last_conn;         /* the connection it was last sent on (0: none) */
    unsigned url;               /* the collector it was last sent to */
    unsigned n_own;             /* the engine's own headers; the operator's follow */
    struct up_hset *hset;       /* the operator's headers it was sent with (held) */
    /* The body is in a pool buffer (|mem|, r.body possibly inside it) or generated on the
     * worker (r.synth_len); coding replaces it by |z|. */
    uint8_t *mem;
    size_t mem_cap;
    uint8_t *z;
    size_t z_cap;
    struct h3_header hdrs[UP_HDRS_MAX];
    char h_batch[48];           /* the batch id; a source may set it (stable ids) */
    char h_records[24], h_digest[64];
};

struct up_queue {
    struct up_batch *head, *tail;
    uint64_t n;
};

void up_q_push(struct up_queue *q, struct up_batch *b);
struct up_batch *up_q_pop(struct up_queue *q);

/* A zeroed batch from the free list (or malloc). NULL without memory. */
struct up_batch *up_batch_new(struct up *u);
/* Releases what |b| holds (buffers, mapping) and keeps it for the next batch. */
void up_batch_del(struct up *u, struct up_batch *b);
/* A body buffer of at least |n| bytes from the free lists; *|cap| gets its size. */
uint8_t *up_buf_get(struct up *u, size_t n, size_t *cap);
void up_buf_put(struct up *u, uint8_t *p, size_t cap);
/* Frees the free lists (up_del). */
void up_batch_pool_free(struct up *u);
/* Seals |b| for sending: sequence number, coding when configured, the request's headers
 * (a checked bound) and digest. Returns 0 or -ENOSPC (too many headers). */
int up_batch_seal(struct up *u, struct up_batch *b);
/* The codec of compress = zstd/gzip at |level| (0: 1). Returns 0 or -ENOMEM. */
int up_codec_init(struct up *u, enum up_compress codec, int level);
void up_codec_free(struct up *u);
const char *up_codec_name(enum up_compress codec);
/* Adds a header to |b|'s request. Returns 0 or -ENOSPC. */
int up_batch_header(struct up_batch *b, const char *name, const char *value);

/* ---------------------------------------------------------------- framing (up_frame.c) */

/* The bytes record |rec| of |len| bytes takes once framed, or 0 when |f| refuses it
 * (newline framing: a newline before its last byte would split it in two). */
size_t up_frame_size(enum up_framing f, const uint8_t *rec, size_t len);
/* Writes the framed record at |dst| (up_frame_size bytes). */
void up_frame_put(enum up_framing f, uint8_t *dst, const uint8_t *rec, size_t len);
/* Bytes framing may add before a record (the length prefix); newline adds one after. */
#define UP_FRAME_ROOM 4
/* Frames record |rec| of |len| bytes where it lies: the buffer has UP_FRAME_ROOM bytes before
 * |rec| and one after it. The framing must take it (up_frame_size > 0). Returns where the
 * framed record starts; *|flen| gets its size (up_frame_size). */
uint8_t *up_frame_in_place(enum up_framing f, uint8_t *rec, size_t len, size_t *flen);
/* True when the record needs no copy to be framed (none; newline and already ends in
 * '\n'). */
bool up_frame_as_is(enum up_framing f, const uint8_t *rec, size_t len);
/* "newline", "length", "none". */
const char *up_framing_name(enum up_framing f);

/* ---------------------------------------------------------------- accounting (up_acct.c) */

struct up_count {
    uint64_t records, bytes;
};

struct up_acct {
    struct up_count accepted, queued, inflight, acked, failed, retried;
    uint64_t requests_sent, requests_acked, requests_retried, requests_failed;
    uint64_t status_4xx, status_5xx, not_processed, conn_errors, maybe_dup;
    uint64_t retry_after_used;     /* retries delayed by the collector's Retry-After */
    uint64_t body_bytes_sent;      /* request bodies handed to connections, as coded */
    uint64_t coded_records, coded_bytes, coded_out; /* zstd: records, bytes in, bytes out */
    uint64_t compress_ns, digest_ns; /* main thread time coding and digesting bodies */
    uint64_t handshakes, resumed;  /* connections that came up; of those, resumed a session */
    uint64_t early_sent;           /* requests that went in 0-RTT; of those: */
    uint64_t early_accepted;       /* ... whose early data the server accepted */
    uint64_t early_rejected;       /* ... refused with the early data, sent again once after
                                      the handshake (the rest: the connection was lost
                                      before its handshake completed, see conn_errors) */
    uint64_t rtt_ns;               /* EWMA of request round trips */
};

/* The life of a batch's records: accepted and queued, sent, back in the queue (retry),
 * acknowledged, failed, or dropped (never sent: the stop deadline). */
void up_acct_accept(struct up_acct *a, const struct up_batch *b);
void up_acct_sent(struct up_acct *a, const struct up_batch *b);
void up_acct_requeue(struct up_acct *a, const struct up_batch *b);
void up_acct_acked(struct up_acct *a, const struct up_batch *b, uint64_t rtt_ns);
void up_acct_failed(struct up_acct *a, const struct up_batch *b);
void up_acct_dropped(struct up_acct *a, const struct up_batch *b);
/* Records and bytes still queued or in flight. */
uint64_t up_acct_pending(const struct up_acct *a);

/* ---------------------------------------------------------------- the pool (up_pool.c) */

struct up_conn {
    uint64_t id;
    bool used, ready;
    bool early;            /* still handshaking, but early batches may go in 0-RTT */
    bool draining;         /* GOAWAY'd, shut down or closing: takes nothing, replaced */
    bool was_ready;        /* it came up once (a later close is no connect failure) */
    unsigned inflight;
    unsigned url;          /* the collector (index in the target list) ... */
    struct net_addr addr;  /* ... and the address it was opened to */
};

/* Opens connections to the current endpoint while there is |work| (with back-off after
 * failures), retires connections to other endpoints once one to the current endpoint is
 * up. Returns the connections opened. */
unsigned up_pool_upkeep(struct up *u, bool work);
/* Sends queued batches on ready connections, and early ones (svc_req.early) on connections
 * that can send 0-RTT while they handshake. Returns the batches sent. */
unsigned up_pool_dispatch(struct up *u);
/* Shuts every connection of the pool down gracefully (a new target). */
void up_pool_release(struct up *u);
/* Gives up on |b|: counted as failed, the source told. */
void up_batch_fail(struct up *u, struct up_batch *b);

/* ---------------------------------------------------------------- operator headers (up.c) */

/* A set of operator headers and the requests holding it: the service reads the strings on
 * the worker when it submits the request, so a set replaced by a reload lives until the
 * last request sent with it is done. */
struct up_hset {
    struct up_headers *h;
    unsigned refs;               /* requests in flight with it */
    struct up_hset *next;        /* hsets_old link */
    char file[UP_STR_MAX];
};

/* Holds the current set for |b| (at dispatch) / lets go of it (when its request is done). */
void up_hset_hold(struct up *u, struct up_batch *b);
void up_hset_release(struct up *u, struct up_batch *b);

/* ---------------------------------------------------------------- targets (up_target.c) */

/* One address of a collector: an endpoint. Failures count connections that never came up
 * in a row; a connection that comes up clears them. */
struct up_endpoint {
    struct net_addr addr;
    unsigned failures;
    char last_error[UP_ERR_MAX];
    time_t last_error_at;   /* wall clock; 0: none */
};

/* One collector of the failover list: its URL and the endpoints it stands for (one for an
 * IP literal; every address of a name, refreshed from the resolver). */
struct up_url {
    struct net_url u;
    char origin[UP_TARGET_MAX], target[UP_TARGET_MAX];
    struct up_endpoint ep[UP_ADDRS_MAX];
    unsigned n_ep;
    bool resolving;         /* a name waiting for its first answer */
    char dns_error[UP_ERR_MAX]; /* the last resolution failure; "" when resolved */
    time_t dns_error_at;
};

/* Sets the failover list (one or more URLs). Returns 0, or -EINVAL with the reason. */
int up_targets_set(struct up *u, const char *list, char *why, size_t whylen);
/* Moves the cursor back to the first collector when it is time to try it again. */
void up_targets_tick(struct up *u);
/* The endpoint new connections go to, refreshing a name's addresses from the resolver:
 * 1 with *|url|, *|addr| set; 0 while a name resolves; -1 when nothing can be tried now
 * (the failure is recorded and the cursor moved on). */
int up_targets_pick(struct up *u, unsigned *url, struct net_addr *addr);
/* A connection to (|url|, |addr|) came up / never came up (|why|: its outcome). */
void up_targets_up(struct up *u, unsigned url, const struct net_addr *addr);
void up_targets_failed(struct up *u, unsigned url, const struct net_addr *addr,
                       const char *why);
/* True when (|url|, |addr|) is the current endpoint. */
bool up_targets_is_current(const struct up *u, unsigned url, const struct net_addr *addr);
/* The endpoints and their state, for `upload status`. New reference. */
json_t *up_targets_json(const struct up *u);

/* ---------------------------------------------------------------- errors (up_err.c) */

/* What went wrong, for the log's rate limit (one line per cause per interval). */
enum up_err_cause {
    UP_ERR_CONNECT,    /* a connection never came up: timeout, refused, TLS */
    UP_ERR_AUTH,       /* 401/403: a misconfiguration, said loudly */
    UP_ERR_4XX,        /* other final 4xx */
    UP_ERR_5XX,        /* 5xx, 408, 429: retried */
    UP_ERR_DNS,        /* a collector's name did not resolve */
    UP_ERR_IO,         /* spool and socket trouble */
    UP_ERR_CAUSES
};

/* Records |fmt| as the engine's last error (status: last_error, last_error_at) and logs it
 * at WARNING (UP_ERR_AUTH: ERR), at most one line per cause per UP_ERR_INTERVAL_NS with
 * the count of what was held back. */
void up_error(struct up *u, enum up_err_cause c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* last_error, last_error_at and the counts per cause, to merge into `upload status`. */
json_t *up_err_json(const struct up *u);

struct up_err_state {
    char last[UP_ERR_MAX];
    time_t last_at;
    uint64_t logged_at[UP_ERR_CAUSES]; /* u->now of the last line per cause */
    uint64_t held[UP_ERR_CAUSES];      /* occurrences not logged since */
    uint64_t count[UP_ERR_CAUSES];     /* all occurrences */
};

/* ---------------------------------------------------------------- the engine (up.c) */

struct up {
    struct svc *svc;
    /* the targets: the failover list, the current endpoint */
    struct up_url urls[UP_URLS_MAX];
    unsigned n_urls;
    unsigned cur_url, cur_ep;       /* where new connections go */
    unsigned cycle_failures;        /* failed connects since one came up */
    uint64_t failback_at;           /* when to try the first collector again (0: never) */
    char target_list[NET_URL_LIST_MAX + 1];
    struct up_resolver resolver;    /* .lookup NULL: names are refused */
    bool ipv6;                      /* the path reaches IPv6 collectors */
    char sni[UP_HOST_MAX];
    char content_type[UP_STR_MAX];
    struct up_hset *hset;           /* the operator's headers (headers_file); NULL: none */
    struct up_hset *hsets_old;      /* replaced sets still held by requests in flight */
    struct up_err_state err;
    char boot[17];              /* this run's id: batch ids are BOOT-SEQ */
    /* the pool */
    unsigned n_conns, streams;
    struct up_conn conns[UP_MAX_CONNS];
    uint64_t next_connect, connect_failures; /* back-off after a whole cycle failed */
    uint64_t retry_initial_ns, retry_max_ns;
    uint32_t retry_limit;
    /* batches */
    uint32_t batch_bytes;
    uint64_t linger_ns;
    struct up_queue ready, delayed;
    uint64_t seq;
    struct up_batch *free_batches;
    void *free_bufs[11];
    uint64_t pooled_bytes;
    enum up_framing framing;
    bool early_data;            /* batches with a memory body are marked early */
    enum up_compress codec;
    int level;
    void *zc;                   /* ZSTD_CCtx (zstd) or z_stream (gzip); NULL: none */
    uint8_t *pattern;           /* generated bodies to code (byte i = i % 251) */
    size_t pattern_len;
    /* sources */
    struct up_source sources[UP_SOURCES_MAX];
    unsigned n_sources;
    /* state */
    bool stopping;
    uint64_t stop_deadline, t0, now;
    struct up_acct acct;
};

/* The instance of the source with |ops| (NULL if the table has none). */
struct up_source *up_source_find(struct up *u, const struct up_source_ops *ops);
/* Records queued, in flight, or held by a source (not yet in a batch). */
bool up_has_work(const struct up *u);
/* Queues a sealed batch: its records are accepted. Returns 0 or -ENOSPC (see seal). */
int up_enqueue(struct up *u, struct up_batch *b);

#endif
