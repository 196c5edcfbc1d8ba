/* upload: the telemetry upload engine — records from sources, batched into HTTP/3 POSTs
 * over a pool of connections, at least once (docs/UPLOAD.md).
 *
 * Runs on the daemon's main thread and drives connections only through the connection
 * service (svc.h); every call is non-blocking and takes the caller's loop time |now|
 * (monotonic ns). Sources (one file each behind struct up_source_ops, up_src.h):
 *   generator  records of a given size at a given rate (or as fast as the pool takes them),
 *              for the demo and benchmarks; bodies generated on the worker (zero copy)
 *   spool      a directory: each file one upload, removed only after a 2xx; what is left
 *              is resumed on restart (durable)
 *   ingest     a Unix datagram socket, one record per datagram, batched by size or linger
 *              time; a bounded queue: when full the socket is not read, so producers'
 *              non-blocking sends fail with EAGAIN (told to retry, nothing dropped). At most
 *              once across a daemon crash: records in memory are lost with the process
 *
 * Every record is accounted for: accepted = queued + in flight + acknowledged + failed;
 * retries are counted separately. 2xx acknowledges; 408, 429, 5xx, requests the server did
 * not process (GOAWAY), reset, cancelled or cut by a closed connection are retried with
 * back-off, on another connection when there is one; other statuses fail the batch. */
#ifndef H3DP_UPLOAD_H
#define H3DP_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "net_addr.h"

struct svc;
struct up;
struct up_headers;

#define UP_MAX_CONNS      64        /* connections in the pool */
#define UP_GEN_RECORD_MAX (1u << 20) /* largest generated record */

enum up_compress { UP_COMPRESS_NONE = 0, UP_COMPRESS_ZSTD, UP_COMPRESS_GZIP };

/* How records are delimited in a request body (sent as h3dp-framing, docs/UPLOAD.md). */
enum up_framing {
    UP_FRAMING_NEWLINE = 0, /* one record per line: '\n' added when missing; a record with
                               an inner newline is refused (counted) */
    UP_FRAMING_LENGTH,      /* a 4-byte big-endian length, then the record */
    UP_FRAMING_NONE,        /* back to back */
};

/* Generator parameters (upload start). */
struct up_gen {
    uint32_t record_bytes;  /* 1..UP_GEN_RECORD_MAX */
    uint64_t rate;          /* records per second; 0 = as fast as the pool takes them */
    uint64_t duration_ms;   /* 0 = until stopped */
    uint64_t records;       /* 0 = no limit */
};

/* How the engine turns a collector's name into addresses: the daemon's resolver. */
struct up_resolver {
    /* Looks |name| up: 1 with up to |max| addresses in |out| (*|n| of them), 0 while the
     * answer is pending (the engine asks again on a later poll), or -1 with a one-line
     * reason in |why| (NXDOMAIN, timeout, no address). Answers are cached by the resolver
     * for their TTL; a later call may return new addresses. */
    int (*lookup)(void *ctx, const char *name, uint64_t now, struct net_addr *out,
                  unsigned max, unsigned *n, char *why, size_t whylen);
    /* Connections to every address of |name| failed: the next lookup asks again. */
    void (*invalidate)(void *ctx, const char *name);
    void *ctx;
};

/* The engine's parameters. The daemon fills them from [upload] and [tls] (the defaults
 * live in the configuration, docs/CONFIG.md); every value is used as given. Strings are
 * copied by up_new. */
struct up_conf {
    const char *url;            /* the collectors, a failover list of
                                   https://HOST[:PORT][/PATH] separated by commas; HOST an
                                   IPv4 literal, an IPv6 one (|ipv6|) or a name (|resolver|);
                                   NULL or "": none yet (up_target) */
    struct up_resolver resolver; /* .lookup NULL: names are refused */
    bool ipv6;                  /* the data path reaches IPv6 collectors */
    struct up_headers *headers; /* the operator's headers, added to every request; the
                                   engine owns them once up_new succeeds; NULL: none */
    const char *headers_file;   /* where they came from (shown by status); NULL: none */
    const char *sni;            /* TLS name sent and verified instead of the URL's host;
                                   NULL or "": the host */
    unsigned connections;       /* 1..UP_MAX_CONNS */
    unsigned streams;           /* requests in flight per connection, >= 1 */
    uint32_t batch_bytes;       /* a batch is sent at this size ... */
    uint32_t linger_ms;         /* ... or when its first record is this old */
    uint32_t retry_initial_ms;  /* back-off (retries, connects): doubling from here ... */
    uint32_t retry_max_ms;      /* ... up to here */
    uint32_t retry_limit;       /* retries before a batch fails (it is sent at most
                                   retry_limit + 1 times); 0: no limit */
    const char *spool_dir;      /* NULL or "": no spool */
    const char *ingest_socket;  /* NULL or "": no ingest socket */
    uint32_t ingest_queue;      /* records held before producers get EAGAIN, >= 1 */
    const char *content_type;   /* of every request; NULL or "": from the framing
                                   (application/x-ndjson for newline, else
                                   application/octet-stream) */
    enum up_framing framing;
    enum up_compress compress;
    int compress_level;         /* 0: the codec's fast default (1) */
    bool early_data;            /* uploads with a memory body may go in 0-RTT on a connection
                                   that resumes a session (their batch id makes a replay a
                                   duplicate the collector drops); generated bodies of
                                   framing none never do */
    struct up_gen gen;          /* started by the first up_poll when gen.rate > 0 */
};

/* Creates the engine. Opens the spool directory and the ingest socket when configured;
 * connections are opened when there is work and a target. Returns NULL with *|err|
 * (-EINVAL with the reason in |why|: a bad value or URL; -errno of the socket or
 * directory; -ENOMEM). */
struct up *up_new(const struct up_conf *c, struct svc *svc, int *err, char *why, size_t whylen);

/* Frees everything (connections are left to the service's own shutdown). NULL is fine. */
void up_del(struct up *u);

/* Main loop step at |now|: sources, dispatch, retries, pool upkeep. Returns the work done. */
unsigned up_poll(struct up *u, uint64_t now);

/* How long the main loop may sleep before the next up_poll (readable fds wake it through
 * up_fds): 1 ms while there is work, a source's own period (the spool scan), else -1. */
int up_poll_timeout_ms(const struct up *u);

/* The fds the main loop must watch for readability (the ingest socket): fills |fds| (up to
 * |max|), returns how many. */
unsigned up_fds(const struct up *u, int *fds, unsigned max);

/* |fd| (one of up_fds) became readable. */
void up_readable(struct up *u, int fd);

/* Points the engine at the collectors |list| (as up_conf.url). Only while nothing is
 * queued or in flight for the old ones (nothing is sent twice to different collectors, or
 * stranded); the pool's connections to the old ones are shut down gracefully. Returns 0,
 * -EINVAL (bad URL) or -EBUSY, with the reason in |why|. */
int up_target(struct up *u, const char *list, char *why, size_t whylen);

/* Replaces the operator's headers (SIGHUP, `upload target --headers-file`): |h| (owned by
 * the engine from now on; NULL: none) from |file|. Requests sent from now on carry them;
 * queued ones too (the headers are added when a request is handed to a connection). */
void up_set_headers(struct up *u, struct up_headers *h, const char *file);

/* True once the engine has a collector. */
bool up_has_target(const struct up *u);

/* Resizes the pool: |connections| (1..UP_MAX_CONNS) and |streams| per connection (>= 1);
 * 0 keeps a value. Returns 0 or -EINVAL. */
int up_pool_size(struct up *u, unsigned connections, unsigned streams);

/* Starts the generator (replacing a running one) at |now|. Returns 0 or -EINVAL (record
 * size outside 1..UP_GEN_RECORD_MAX). */
int up_gen_start(struct up *u, const struct up_gen *g, uint64_t now);

/* Stops the generator; what it queued still goes out. */
void up_gen_stop(struct up *u);

/* Graceful stop: sources stop taking records; queued batches are still sent; in-flight
 * ones finish; |deadline| (absolute, 0 = none) bounds the wait (spool files stay). */
void up_stop(struct up *u, uint64_t deadline);

/* True when nothing is queued or in flight (after up_stop: the engine may be deleted). */
bool up_done(const struct up *u);

/* The counters (the `upload status` result) at |now|. New reference, NULL without memory. */
json_t *up_stats_json(const struct up *u, uint64_t now);

#endif
