/* upload: the telemetry upload engine — records from sources, batched into HTTP/3 POSTs
 * over a pool of connections, at least once (docs/UPLOAD.md).
 *
 * Runs on the daemon's main thread and drives connections only through the connection
 * service (svc.h); every call is non-blocking. Sources:
 *   generator  records of a given size at a given rate (or as fast as the pool takes them),
 *              for the demo and benchmarks; bodies generated on the worker (zero copy)
 *   spool      [upload] spool_dir: each file one upload, removed only after a 2xx; what is
 *              left is resumed on restart (durable)
 *   ingest     [upload] ingest_socket: a SOCK_SEQPACKET socket, one record per message,
 *              batched by size or linger time; a bounded queue ([upload] ingest_queue
 *              records): when full the socket is not read, so producers' non-blocking sends
 *              fail with EAGAIN (told to retry, nothing dropped). At most once across a
 *              daemon crash: records in memory are lost with the process
 *
 * Every record is accounted for: accepted = queued + in flight + acknowledged + failed;
 * retries are counted separately. 2xx acknowledges; 408, 429, 5xx, requests the server did
 * not process (GOAWAY), reset, cancelled or cut by a closed connection are retried with
 * back-off, on another connection when there is one; other statuses fail the batch. */
#ifndef H3DP_UPLOAD_H
#define H3DP_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct cfg;
struct ctl_server;
struct svc;
struct up;

/* Generator parameters (upload start). */
struct up_gen {
    uint32_t record_bytes;  /* 1..1 MiB */
    uint64_t rate;          /* records per second; 0 = as fast as the pool takes them */
    uint64_t duration_ms;   /* 0 = until stopped */
    uint64_t records;       /* 0 = no limit */
};

/* Creates the engine from [upload] (and [tls] for connections). Opens the spool directory
 * and the ingest socket when configured; connections are opened when there is work and a
 * target: [upload] url, or later `upload target|start --url` (until then spool files and
 * ingest records wait, bounded as usual). Returns NULL with *|err| (-EINVAL: [upload] url
 * is not https://IPv4[:PORT][/PATH], -errno of the socket/dir, -ENOMEM). */
struct up *up_new(const struct cfg *cfg, struct svc *svc, int *err);

/* Registers the `upload` command (start|stop|status) and watches the ingest socket.
 * Returns 0 or a negative error. */
int up_attach(struct up *u, struct ctl_server *srv);

/* Main loop step: sources, dispatch, retries, pool upkeep. Returns the work done. */
unsigned up_poll(struct up *u, uint64_t now_ns);

/* How long the main loop may sleep before the next up_poll (the ingest socket wakes it
 * through its watch): 1 ms while there is work, the spool scan period with a spool
 * directory, else -1 (no timer). */
int up_poll_timeout_ms(const struct up *u);

/* Starts the generator (replacing a running one). Returns 0 or -EINVAL. */
int up_gen_start(struct up *u, const struct up_gen *g, uint64_t now_ns);

/* Graceful stop: sources stop taking records; queued batches are still sent; in-flight
 * ones finish; |deadline_ns| (absolute, 0 = none) bounds the wait (spool files stay). */
void up_stop(struct up *u, uint64_t deadline_ns);

/* True when nothing is queued or in flight (after up_stop: the engine may be deleted). */
bool up_done(const struct up *u);

/* The counters (the `upload status` result). New reference. */
json_t *up_stats_json(const struct up *u, uint64_t now_ns);

/* Frees everything (connections are left to the service's own shutdown). NULL is fine. */
void up_del(struct up *u);

#endif
