/*
 * sink.h: the I/O-independent core of h3sink, an HTTP/3 server (collector).
 *
 * No sockets and no clock inside: the caller hands in datagrams with a timestamp
 * (sink_recv), asks for the datagrams to send (sink_flush) and drives timers
 * (sink_expiry / sink_handle_expiry). One struct sink serves many connections,
 * dispatched by destination connection ID. A struct sink is not thread-safe: use
 * it from one thread.
 *
 * Behaviour (HTTP semantics, see tools/h3sink/README.md):
 *   POST/PUT  any path: body bytes counted and hashed, never kept. If the request
 *             carries `content-digest: sha-256=:<base64>:` (RFC 9530) the SHA-256 of
 *             the body as sent is verified. A `content-encoding: zstd` (RFC 8878
 *             §7.2) or `gzip` (RFC 9110 §8.4.1.3) body is decoded as it arrives,
 *             only to count (and let the decoder check) the decoded bytes. With
 *             `h3dp-framing` the decoded body is split into records
 *             (sink_records.h) and the count checked against `h3dp-records`.
 *             200 {"bytes":N,"decoded":D[,"records":R],"digest":"ok"|"none"},
 *             400 {...,"digest":"mismatch"|"malformed"} or, when the coded data is
 *             corrupt or truncated or the records do not split as announced,
 *             400 {...,"error":"..."}; 415 (with accept-encoding: gzip, zstd) for
 *             any other content coding.
 *             With params.fault_status, every fault_every-th POST/PUT is answered
 *             with that status once its body is read (a test hook for retries);
 *             with params.fault_reject it is reset with H3_REQUEST_REJECTED as its
 *             headers arrive (RFC 9114 §4.1.1: not processed, safe to retry).
 *   GET /bytes/N  200 with N bytes, byte i = i % 251 (N <= SINK_BYTES_MAX, else 400).
 *   GET /fault/bad-headers  with params.fault_bad_response_headers: a response with
 *             an invalid :status ("2x0"), so the client sees a stream error.
 *   other     200 with a tiny body ("ok\n"); HEAD: headers only.
 *   bad requests (missing/invalid pseudo-headers): the stream is reset by nghttp3
 *             with H3_MESSAGE_ERROR.
 */
#ifndef H3SINK_SINK_H
#define H3SINK_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "sink_records.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sink;

/* Largest N accepted by GET /bytes/N (64 GiB). */
#define SINK_BYTES_MAX (64ULL << 30)

/* HTTP/3 error codes (RFC 9114 §8.1) used in close codes and stats. */
#define SINK_H3_NO_ERROR 0x100ULL

/* Status codes are three digits, 100..599 (RFC 9110 §15). */
#define SINK_STATUS_MIN 100
#define SINK_STATUS_MAX 599
/* Largest retry-after the fault hook sends: a day is already longer than any
 * retry test waits, so more is a typo. */
#define SINK_RETRY_AFTER_MAX 86400

/* Server parameters. Start from sink_params_default(); zero numeric fields mean
 * "default" too. The strings are only read during sink_new(). */
struct sink_params {
    const char *cert_file, *key_file;             /* PEM; required */
    uint64_t max_streams_bidi;                    /* peer (client) concurrent request limit; 100 */
    uint64_t initial_max_data;                    /* connection flow-control window; 16 MiB */
    uint64_t initial_max_stream_data_bidi_remote; /* per request stream; 4 MiB */
    uint64_t idle_timeout_ns;                     /* 30 s */
    const char *keylog_file;                      /* optional SSLKEYLOGFILE output (appended) */
    const char *client_ca_file;                   /* PEM CA: require a client certificate
                                                     it signed (mTLS); NULL = none asked */
    FILE *records_out; /* optional: the decoded records of every accepted newline-
                          framed upload are appended here (each upload's records
                          together, flushed when it is answered); not closed */
    /* test hooks, off by default: */
    int fault_bad_response_headers; /* GET /fault/bad-headers answers with an
                                       invalid :status ("2x0"): a stream error */
    uint64_t response_delay_ns;     /* delay every response by this much (keeps
                                       requests in flight for shutdown tests) */
    int fault_status;               /* 0: off; else answer every fault_every-th
                                       POST/PUT (counted from 1, as their headers
                                       arrive) with this status (SINK_STATUS_MIN..
                                       SINK_STATUS_MAX) once its body is read */
    uint64_t fault_every;           /* 1 (every POST/PUT) */
    int no_early_data;              /* 1: refuse 0-RTT (tickets still offer it): the
                                       client's early requests are rejected and sent
                                       again after the handshake */
    int fault_reject;               /* 1: instead of an answer, reset every
                                       fault_every-th POST/PUT with H3_REQUEST_REJECTED
                                       (both directions) as its headers arrive: a
                                       request the server did not process; not with
                                       fault_status */
    int fault_retry_after;          /* 1: faulted answers carry retry-after */
    uint32_t fault_retry_after_s;   /* its delay-seconds (RFC 9110 §10.2.3),
                                       0..SINK_RETRY_AFTER_MAX */
    uint64_t max_conns;             /* 0: no limit; else a new connection beyond this
                                       many is refused (CONNECTION_REFUSED) */
};

/* Called by sink_flush() once per datagram to send to |remote|. */
typedef void sink_send_fn(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                          const uint8_t *data, size_t len);
/* Called by sink_flush_ecn(): the same, with the ECN codepoint (the two low bits of the IP
 * TOS / traffic class byte, RFC 3168) ngtcp2 asks the datagram to carry. */
typedef void sink_send_ecn_fn(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                              const uint8_t *data, size_t len, uint8_t ecn);

/* How a connection ended, kept in a small ring in struct sink_stats. */
struct sink_close_rec {
    uint64_t error_code; /* transport code, or application code (H3) */
    uint8_t app;         /* 1: application (H3) error code, 0: transport */
    uint8_t local;       /* 1: we closed it, 0: the peer did */
    uint8_t idle;        /* 1: idle timeout (silent close, error_code 0) */
};

#define SINK_CLOSE_LOG 64

/* Totals since sink_new(). All counters only grow. */
struct sink_stats {
    uint64_t conns_accepted, conns_closed;
    uint64_t conns_closed_ok;    /* ended with H3_NO_ERROR (either side) or NO_ERROR */
    uint64_t conns_closed_error; /* any other code (idle timeouts are separate) */
    uint64_t conns_idle_timeout;
    uint64_t conns_refused_limit; /* Initials refused at max_conns */
    uint64_t pkt_in_max;          /* the largest datagram received (bytes) */
    uint64_t requests;     /* request header sections accepted */
    uint64_t requests_bad; /* answered 4xx/5xx (not by the fault hook) or reset as malformed */
    uint64_t responses_2xx, responses_4xx, responses_5xx;
    uint64_t streams_reset;  /* request streams that ended with an error code */
    uint64_t body_bytes_in;  /* request body bytes received */
    uint64_t body_bytes_decoded; /* the same with the zstd or gzip coding of POST/PUT
                                    bodies removed (== body_bytes_in without codings);
                                    bodies with an unsupported coding not counted */
    uint64_t body_bytes_out;     /* response body bytes handed to nghttp3 */
    uint64_t digest_ok, digest_bad, digest_none;
    uint64_t decode_errors; /* POST/PUTs answered 400: corrupt or truncated zstd/gzip */
    uint64_t faults_sent;   /* answers of the fault_status hook */
    uint64_t rejects_sent;  /* requests reset by the fault_reject hook */
    uint64_t uploads_no_length; /* POST/PUTs with a body and no content-length (some
                                   collectors take such a body as empty) */
    uint64_t goaways_sent;
    uint64_t key_updates_started; /* key updates the sink began (sink_update_keys) */
    /* Uploads that carry h3dp-records: N and h3dp-batch: ID (the h3dp upload engine):
     * records of 2xx-answered requests, batches seen once, and repeats of a batch id
     * already answered 2xx (at-least-once duplicates) with their records. */
    uint64_t records_2xx, batches_unique, batches_dup, records_dup;
    /* Uploads with h3dp-framing: records split, framing refusals, per framing. */
    struct sink_rec_stats framing;
    uint64_t pkts_in, pkts_out, bytes_in, bytes_out; /* UDP payload */
    uint64_t pkts_in_ect; /* datagrams that arrived ECN-capable: ECT(0) or ECT(1) */
    uint64_t pkts_in_ce;  /* datagrams that arrived marked CE (congestion experienced) */
    uint64_t pkts_dropped;         /* unparsable, unknown-connection or rejected */
    uint64_t version_negotiations; /* Version Negotiation packets sent */
    /* Session resumption and 0-RTT (sink_early.h): handshakes that resumed a ticket,
     * that accepted early data, tickets sent, and requests whose header section
     * arrived in 0-RTT (before the handshake completed). */
    uint64_t conns_resumed, conns_early, tickets_sent, early_requests;
    /* last SINK_CLOSE_LOG closes: closes[i % SINK_CLOSE_LOG], i < conns_closed */
    struct sink_close_rec closes[SINK_CLOSE_LOG];
};

/* Fill |p| with the defaults (no cert/key: the caller must set them). */
void sink_params_default(struct sink_params *p);

/* Create a server. |p|: parameters (cert_file and key_file required).
 * Returns the server, or NULL with a message in |err| (|errlen| bytes, may be 0):
 * unreadable certificate/key, bad parameter (fault_status outside
 * SINK_STATUS_MIN..SINK_STATUS_MAX, fault_retry_after_s above
 * SINK_RETRY_AFTER_MAX, fault_reject with fault_status), out of memory. */
struct sink *sink_new(const struct sink_params *p, char *err, size_t errlen);

/* Free |s| and every connection without sending anything. NULL is fine. */
void sink_del(struct sink *s);

/* Feed one received UDP datagram. |local|/|remote|: the addresses it was received
 * on/from; |data|,|len|: the UDP payload; |now_ns|: a monotonic timestamp.
 * Creates a connection for a valid Initial, answers unsupported versions with
 * Version Negotiation (sent on the next sink_flush), drops junk (counted in
 * stats.pkts_dropped). Returns 0 (also for dropped datagrams), -EINVAL on bad
 * arguments, -ENOMEM when out of memory. */
int sink_recv(struct sink *s, const struct sockaddr *local, socklen_t local_len,
              const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data, size_t len,
              uint64_t now_ns);

/* sink_recv() of a datagram that arrived with ECN codepoint |ecn| (RFC 9000 13.4: ngtcp2
 * counts it and reports the counts in its ACK frames; CE ones in stats.pkts_in_ce). */
int sink_recv_ecn(struct sink *s, const struct sockaddr *local, socklen_t local_len,
                  const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data,
                  size_t len, uint8_t ecn, uint64_t now_ns);

/* Write every datagram that is ready (handshake, ACKs, response data, closes) by
 * calling |send| once per datagram, then free connections whose closing or
 * draining period is over. Returns the number of datagrams sent (>= 0), or
 * -EINVAL. Call it after sink_recv/sink_handle_expiry batches. */
int sink_flush(struct sink *s, uint64_t now_ns, sink_send_fn *send, void *arg);

/* sink_flush() handing each datagram's ECN codepoint to |send| too. */
int sink_flush_ecn(struct sink *s, uint64_t now_ns, sink_send_ecn_fn *send, void *arg);

/* Earliest deadline (ns, same clock as now_ns) at which sink_handle_expiry must be
 * called, or UINT64_MAX if there is none. */
uint64_t sink_expiry(const struct sink *s);

/* Run the timers that are due at |now_ns| (loss recovery, idle timeout, delayed
 * responses, end of closing periods). Follow with sink_flush(). */
void sink_handle_expiry(struct sink *s, uint64_t now_ns);

/* Graceful shutdown of every connection: send GOAWAY (RFC 9114 §5.2) carrying the
 * next unprocessed request stream ID, reject streams at or above it, let the
 * requests in flight finish, then close each connection with H3_NO_ERROR.
 * New connections are refused from now on. Follow with sink_flush(). */
void sink_goaway(struct sink *s, uint64_t now_ns);

/* GOAWAY on every open connection, as sink_goaway(), but new connections are still
 * accepted (a collector asking its clients to move to a new connection). */
void sink_goaway_keep_serving(struct sink *s, uint64_t now_ns);

/* Start a 1-RTT key update (RFC 9001 §6) on every open connection that can take one now
 * (handshake confirmed, the previous update confirmed 3 PTOs ago): its next packets go in
 * the other key phase, and the client follows. Returns how many started (counted in
 * key_updates_started). Follow with sink_flush(): it also lets an idle connection derive
 * its next keys, so that a later call can start the update this one could not. */
int sink_update_keys(struct sink *s, uint64_t now_ns);

/* Close every connection now with application error |app_error_code| and
 * |reason| (may be NULL). Follow with sink_flush() to send the CONNECTION_CLOSE
 * frames. New connections are refused from now on. */
void sink_close_all(struct sink *s, uint64_t app_error_code, const char *reason, uint64_t now_ns);

/* 1 when no connection is alive (closing/draining ones count as alive). */
int sink_idle(const struct sink *s);

/* The counters; valid until sink_del(). */
const struct sink_stats *sink_stats(const struct sink *s);

#ifdef __cplusplus
}
#endif

#endif /* H3SINK_SINK_H */
