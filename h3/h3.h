/*
 * h3.h: the HTTP/3 client connection driver (ngtcp2 + nghttp3 + GnuTLS).
 *
 * One struct h3_conn is one QUIC connection carrying HTTP/3 requests. The driver
 * never reads a clock and never touches a socket: datagrams and timestamps go in
 * (h3_conn_recv, h3_conn_on_expiry), packets come out through the I/O seam
 * (struct h3_io_ops, h3_io.h), written straight into the backend's buffers.
 * A connection is used from one thread only (shared nothing).
 *
 * State machine:
 *   CONNECTING -> ESTABLISHED -> DRAINING (GOAWAY sent or received)
 *              -> CLOSING (CONNECTION_CLOSE sent, ~3 PTO) -> CLOSED(outcome)
 * Any state can jump to CLOSED when the peer closes, on idle/handshake timeout or
 * on a fatal error. The outcome is OK only when the connection ended with
 * H3_NO_ERROR (0x100) from either side.
 *
 * Callbacks (on_established, on_closed, request callbacks) may submit, resume,
 * shut down or close; they must not call h3_conn_del().
 *
 * Errors: negative H3_ERR_* codes (h3_strerror()).
 */
#ifndef H3DP_H3_H
#define H3DP_H3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "h3_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HTTP/3 error codes (RFC 9114 §8.1). */
#define H3_H3_NO_ERROR 0x100ULL
#define H3_H3_GENERAL_PROTOCOL_ERROR 0x101ULL
#define H3_H3_INTERNAL_ERROR 0x102ULL
#define H3_H3_REQUEST_REJECTED 0x10bULL
#define H3_H3_REQUEST_CANCELLED 0x10cULL
#define H3_H3_REQUEST_INCOMPLETE 0x10dULL
#define H3_H3_MESSAGE_ERROR 0x10eULL

/* Library error codes: always negative. */
enum h3_err {
    H3_OK = 0,
    H3_ERR_INVAL = -501,       /* bad argument or parameter */
    H3_ERR_NOMEM = -502,       /* allocator failed */
    H3_ERR_NOBUFS = -503,      /* request pool exhausted */
    H3_ERR_STATE = -504,       /* not allowed in the connection's current state */
    H3_ERR_SHUTDOWN = -505,    /* refused: the connection is shutting down */
    H3_ERR_TLS = -506,         /* TLS setup or handshake failure */
    H3_ERR_TLS_VERIFY = -507,  /* server certificate rejected */
    H3_ERR_QUIC = -508,        /* fatal ngtcp2 error */
    H3_ERR_HTTP3 = -509,       /* fatal nghttp3 error */
    H3_ERR_IDLE_TIMEOUT = -510,/* idle timeout: connection dropped silently */
    H3_ERR_HANDSHAKE_TIMEOUT = -511,
    H3_ERR_IO = -512,          /* backend I/O failure */
    H3_ERR_FILE = -513,        /* body file unusable */
    H3_ERR_CLOSED = -514,      /* the connection is closed */
    H3_ERR_PEER_CLOSED = -515, /* the peer closed the connection */
    H3_ERR_TOO_LARGE = -516,   /* headers do not fit a request slot */
};

/* A short human description of an H3_ERR_* code (or -errno). Never NULL. */
const char *h3_strerror(int err);

enum h3_state {
    H3_STATE_CONNECTING,
    H3_STATE_ESTABLISHED,
    H3_STATE_DRAINING, /* GOAWAY sent or received: no new streams */
    H3_STATE_CLOSING,  /* CONNECTION_CLOSE sent: closing period */
    H3_STATE_CLOSED,
};

/* Name of a state ("connecting", ...). */
const char *h3_state_str(enum h3_state s);

/* How the connection ended. */
enum h3_close_kind {
    H3_CLOSE_NONE,           /* not closed yet */
    H3_CLOSE_TRANSPORT,      /* QUIC transport error code (RFC 9000 §20.1) */
    H3_CLOSE_APPLICATION,    /* HTTP/3 error code (RFC 9114 §8.1) */
    H3_CLOSE_IDLE_TIMEOUT,   /* silent: idle timeout (code 0) */
    H3_CLOSE_HANDSHAKE_TIMEOUT,
    H3_CLOSE_STATELESS_RESET,
    H3_CLOSE_INTERNAL,       /* local failure before anything could be sent */
};

enum h3_origin { H3_ORIGIN_LOCAL, H3_ORIGIN_REMOTE };

#define H3_REASON_MAX 160

/* The close outcome (Rust h3's poll_close result). */
struct h3_outcome {
    bool ok;                  /* ended with H3_NO_ERROR (0x100) from either side */
    enum h3_close_kind kind;
    enum h3_origin origin;
    uint64_t code;            /* transport or application code */
    int err;                  /* summarising H3_ERR_* (0 when ok), e.g. H3_ERR_TLS_VERIFY */
    char reason[H3_REASON_MAX]; /* reason phrase or local diagnosis, NUL-terminated */
};

/* The name of a close code ("H3_NO_ERROR", "CONNECTION_REFUSED", ...) for an APPLICATION
 * or TRANSPORT close; "" for other kinds. Never NULL. */
const char *h3_close_code_name(uint64_t code, enum h3_close_kind kind);

/* Format |o| for humans into |buf| (|len| bytes); returns |buf|. */
const char *h3_outcome_str(const struct h3_outcome *o, char *buf, size_t len);

/* Allocator for what the connection allocates: ngtcp2, nghttp3 and the driver
 * (connection, request pool, kept bodies). GnuTLS keeps its own allocator (the
 * TLS session is created once per connection, off the packet path).
 * Same contract as malloc/free/calloc/realloc; |ud| is passed back. */
struct h3_mem {
    void *ud;
    void *(*malloc)(size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *(*calloc)(size_t nmemb, size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
};

/* The libc allocator. */
const struct h3_mem *h3_mem_default(void);

struct h3_conn;
struct h3_req;

/* ------------------------------------------------------- session resumption */

/* A store of TLS session tickets for resumption and 0-RTT (RFC 8446 §2.2-2.3, RFC 9001
 * §4.6), keyed by the server: the name sent as SNI (h3_conn_params.sni, else host) and
 * the server's UDP port (from h3_conn_params.remote) — and by what the connection trusts
 * and presents (ca_file, insecure, cert_file): a resumed handshake verifies no server
 * certificate and presents no client one, so a ticket from a session verified against
 * another trust store, or authenticated with another client certificate (or none), is
 * not used. Each entry holds the latest ticket
 * the server sent (GnuTLS session data) and the server's transport parameters that 0-RTT
 * must honour (RFC 9000 §7.4.1). A ticket is used once at most (RFC 8446 §C.4): the
 * connection that resumes with it takes it out, and the server's next NewSessionTicket
 * on that connection puts a fresh one back. Bounded: at most |max_servers| entries, the
 * one updated longest ago evicted first.
 *
 * Thread-safe: connections on several threads may share one cache. Its mutex is taken
 * when a connection is created and when a connection receives a ticket, never per
 * packet. The cache must outlive every connection that uses it. Not async-signal-safe. */
struct h3_session_cache;

#define H3_SESSION_CACHE_MAX_DEFAULT 64
#define H3_SESSION_TICKET_MAX 8192 /* larger session data is not kept */
#define H3_SESSION_TP_MAX 256      /* encoded 0-RTT transport parameters */

/* A new empty cache of at most |max_servers| servers (0 = H3_SESSION_CACHE_MAX_DEFAULT).
 * NULL when out of memory. */
struct h3_session_cache *h3_session_cache_new(size_t max_servers);

/* Free |sc| and its tickets (NULL is fine). No connection may use it any more. */
void h3_session_cache_del(struct h3_session_cache *sc);

struct h3_session_cache_stats {
    size_t entries;          /* servers with a ticket now */
    uint64_t stored;         /* tickets put in (one per NewSessionTicket) */
    uint64_t taken;          /* tickets taken by a connection to resume */
    uint64_t evicted;        /* entries dropped for room */
    uint64_t loaded;         /* entries read by h3_session_cache_load */
    uint64_t load_rejected;  /* files ignored: unreadable, too open, corrupt, too large */
    uint64_t saved;          /* files written by h3_session_cache_save */
    uint64_t save_errors;    /* files that could not be written */
};

void h3_session_cache_stats(struct h3_session_cache *sc, struct h3_session_cache_stats *st);

/* Persistence: one file per server in |dir| ("h3s-<hex key>.session", mode 0600, written
 * to a temporary file and renamed into place, so a reader never sees half a file).
 * h3_session_cache_save writes every entry and removes the cache's files of servers
 * that have no entry any more (a ticket taken and not replaced must not be used again
 * after a restart). Returns the number of files written, or H3_ERR_FILE when |dir|
 * cannot be read (files that could not be written are counted in save_errors).
 *
 * h3_session_cache_load reads every such file in |dir| into the cache (newer entries
 * already in the cache win). A file that is not a regular file, is not the caller's, is
 * readable or writable by group or others, is corrupt (bad magic, lengths or checksum)
 * or is too large is ignored and counted in load_rejected: never fatal. Returns the
 * number of entries loaded, or H3_ERR_FILE when |dir| cannot be opened. */
int h3_session_cache_save(struct h3_session_cache *sc, const char *dir);
int h3_session_cache_load(struct h3_session_cache *sc, const char *dir);

/* One server's entry in a file of the caller's choosing (h3client --session-file), the
 * same format, mode and atomic replace. save_file writes the entry of the server |name|
 * (SNI or host) at UDP |port|, or removes |path| when the cache has none (its ticket was
 * used): returns 1 (written), 0 (nothing to write) or H3_ERR_FILE/H3_ERR_INVAL/
 * H3_ERR_NOMEM. load_file returns 1 when |path| was loaded, 0 when it was missing,
 * unreadable, too open or corrupt (counted in load_rejected). */
int h3_session_cache_save_file(struct h3_session_cache *sc, const char *path, const char *name,
                               uint16_t port);
int h3_session_cache_load_file(struct h3_session_cache *sc, const char *path);

/* What became of 0-RTT on a connection. */
enum h3_early_data {
    H3_EARLY_NOT_ATTEMPTED, /* no ticket, the ticket allows no early data, or nothing
                               marked early was submitted before the handshake */
    H3_EARLY_PENDING,       /* sent in 0-RTT; the server has not answered yet */
    H3_EARLY_ACCEPTED,      /* the server accepted the early data */
    H3_EARLY_REJECTED,      /* refused: the requests were sent again after the handshake */
};

/* "not attempted", "pending", "accepted", "rejected". */
const char *h3_early_data_str(enum h3_early_data e);

/* Connection parameters. Start from h3_conn_params_default(). Strings are copied. */
struct h3_conn_params {
    const char *host;           /* server name for SNI and verification; required */
    const char *authority;      /* default :authority; NULL = host[:port] */
    uint16_t port;              /* used for the default authority only */
    const char *sni;            /* NULL = host (no SNI is sent for IP literals) */
    const char *ca_file;        /* PEM trust anchors; NULL = system store */
    bool insecure;              /* skip certificate verification (labs only) */
    const char *cert_file;      /* PEM client certificate (chain), presented when the server
                                   asks; NULL = none (then key_file is NULL too) */
    const char *key_file;       /* PEM private key of cert_file */
    const char *keylog_file;    /* SSLKEYLOGFILE output (appended); NULL = none */
    const char *qlog_file;      /* qlog output; NULL = none */
    uint64_t idle_timeout_ns;   /* 30 s */
    uint64_t handshake_timeout_ns; /* 10 s */
    uint64_t keepalive_ns;      /* 0 = no keep-alive PINGs */
    uint64_t max_streams;       /* cap on our concurrent requests (0 = peer's limit) */
    uint64_t initial_max_data;  /* connection receive window; 16 MiB */
    uint64_t initial_max_stream_data; /* per stream receive window; 4 MiB */
    size_t max_requests;        /* request pool size (queued + in flight); 256 */
    size_t max_udp_payload;     /* largest datagram we send; 1452. Path MTU discovery
                                   (RFC 8899) probes this size first, then 1472
                                   (IPv4 only) and 1452 when below it: a path
                                   narrower than the port settles at the largest of
                                   them that gets through */
    const struct h3_mem *mem;   /* NULL = libc */
    const struct sockaddr *local; socklen_t local_len;   /* required */
    const struct sockaddr *remote; socklen_t remote_len; /* required */
    const struct h3_io_ops *io; void *io_ctx;            /* required */
    void (*on_established)(struct h3_conn *c, void *ud);
    void (*on_closed)(struct h3_conn *c, const struct h3_outcome *o, void *ud);
    void *ud;
    void (*log)(void *ud, const char *line); /* ngtcp2 debug log; NULL = none */
    struct h3_session_cache *session_cache; /* NULL: no resumption, no 0-RTT. Else a
                                   ticket for this server (if any) is taken from it and
                                   the server's new tickets are put into it */
};

/* Fill |p| with the defaults. */
void h3_conn_params_default(struct h3_conn_params *p);

/* Loads and checks TLS files the way connections will use them, for configuration checks.
 * Each must be a regular file of at most 4 MiB (a FIFO, a device or a directory is refused
 * unread, so neither this nor a connection ever blocks on one). |ca_file| (PEM trust anchors; NULL = the system store; not read when |insecure|) must
 * hold at least one certificate; |cert_file| and |key_file| (both or neither) must parse
 * and the key must match the certificate. Returns 0, or H3_ERR_TLS with a one-line reason
 * in |err| naming the file. */
int h3_tls_check(const char *ca_file, bool insecure, const char *cert_file, const char *key_file,
                 char *err, size_t errlen);

/* Create a client connection and emit its first Initial packet(s) through the I/O
 * ops. |now_ns|: the current time. On success *|out| holds the connection.
 * Errors: H3_ERR_INVAL (missing/invalid parameter), H3_ERR_NOMEM, H3_ERR_TLS
 * (credentials, CA file), H3_ERR_FILE (keylog/qlog file), H3_ERR_QUIC. */
int h3_conn_new(const struct h3_conn_params *p, uint64_t now_ns, struct h3_conn **out);

/* Free |c| and everything it owns; requests still pending are dropped without
 * callbacks. NULL is fine. Sends nothing: close first for a clean end. */
void h3_conn_del(struct h3_conn *c);

/* Feed one received UDP payload. |ecn|: the ECN bits it carried (0 if unknown).
 * Returns 0, or H3_ERR_CLOSED if the connection is closed (datagram ignored).
 * Fatal protocol errors do not return an error: they close the connection and
 * are reported through the outcome. */
int h3_conn_recv(struct h3_conn *c, const uint8_t *data, size_t len, uint8_t ecn,
                 uint64_t now_ns);

/* The next time (ns) at which h3_conn_on_expiry must be called; UINT64_MAX if none. */
uint64_t h3_conn_expiry(const struct h3_conn *c);

/* Run timers due at |now_ns| (loss recovery, idle/handshake timeout, keep-alive,
 * shutdown deadline, end of the closing period) and send what is due. Returns 0. */
int h3_conn_on_expiry(struct h3_conn *c, uint64_t now_ns);

/* Write what can be written now (after the caller gave more TX room, or resumed
 * a producer). Returns 0. */
int h3_conn_flush(struct h3_conn *c, uint64_t now_ns);

/* The path reported a smaller MTU (an ICMPv6 Packet Too Big, RFC 8201): from now on the
 * connection sends UDP payloads of at most |max_udp_payload| bytes (raised to 1200, QUIC's
 * minimum, RFC 9000 §14). ngtcp2 1.11 takes no such hint, so the driver bounds the buffer
 * it writes into: packets shrink, larger path MTU probes are no longer sent. A report
 * above the current bound changes nothing (the path MTU only grows by probing). */
void h3_conn_path_mtu(struct h3_conn *c, size_t max_udp_payload);

/* Start a 1-RTT key update (RFC 9001 §6): the packets sent from now on use the next keys
 * and flip the Key Phase bit; the peer follows. Returns 0, or H3_ERR_STATE when it is not
 * possible now: before the handshake is confirmed, while the previous update is not yet
 * confirmed by the peer (a packet in the new phase acknowledged), within three PTOs of that
 * confirmation (ngtcp2's pacing of updates), once closing, or from inside a callback of
 * this connection. ngtcp2 also updates the keys by itself before the AEAD's packet limit. */
int h3_conn_update_keys(struct h3_conn *c, uint64_t now_ns);

/* Graceful shutdown (Rust h3 Connection::shutdown(max_push)): refuse new requests,
 * send GOAWAY (push ID 0: see docs/ARCHITECTURE.md), let queued and in-flight
 * requests finish, then close with H3_NO_ERROR. |max_push| is recorded and
 * reported next to the effective limit (always 0). |deadline_ns|: absolute time
 * after which what is left is cancelled with H3_REQUEST_CANCELLED before the
 * close; 0 = none. Returns 0, H3_ERR_STATE if already closing/closed. A second
 * call only tightens the deadline. */
int h3_conn_shutdown(struct h3_conn *c, uint64_t max_push, uint64_t deadline_ns,
                     uint64_t now_ns);

/* Close now with |app_error_code| (an HTTP/3 code) and |reason| (may be NULL).
 * Pending requests complete with H3_REQ_CONN_CLOSED (or NOT_PROCESSED if never
 * sent). Returns 0 or H3_ERR_STATE if already closing/closed. */
int h3_conn_close(struct h3_conn *c, uint64_t app_error_code, const char *reason,
                  uint64_t now_ns);

enum h3_state h3_conn_state(const struct h3_conn *c);

/* True once the handshake is confirmed (HANDSHAKE_DONE, RFC 9001 §4.1.2): the server has
 * accepted our Finished and, with client authentication, our certificate. ESTABLISHED
 * comes earlier (requests may start); a server that refuses the certificate closes with a
 * TLS alert after ESTABLISHED but before this. */
bool h3_conn_confirmed(const struct h3_conn *c);

/* True while the connection is CONNECTING and can send 0-RTT: it resumed a session whose
 * ticket allows early data and the 0-RTT keys are in place. Requests with
 * h3_req_params.early submitted now start at once, in 0-RTT; the others wait for the
 * handshake. False once the handshake completes (cheap: per event loop step). */
bool h3_conn_early_ready(const struct h3_conn *c);

/* The ID of the last GOAWAY the peer sent, -1 if none (cheap: per event loop step). */
int64_t h3_conn_goaway_recv_id(const struct h3_conn *c);

/* Copy the outcome into |o|. Returns true when the connection is closed (the
 * outcome is final), false otherwise (|o|->kind = H3_CLOSE_NONE or provisional). */
bool h3_conn_outcome(const struct h3_conn *c, struct h3_outcome *o);

/* Connection statistics. */
#define H3_PKT_SIZE_BUCKETS 9

struct h3_stats {
    enum h3_state state;
    char alpn[16], tls_version[16], tls_cipher[48];
    uint64_t rtt_min_ns, rtt_smoothed_ns, rtt_var_ns, cwnd, bytes_in_flight;
    uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv;
    uint64_t pkts_recv_dropped;      /* datagrams ngtcp2 refused */
    uint64_t pkts_lost;              /* packets with our stream data declared lost (ngtcp2
                                        1.11 counts loss per stream; ACK-only and
                                        handshake packets are not included) */
    uint64_t streams_open, requests_queued;
    uint64_t requests_started, requests_completed, requests_failed;
    uint64_t requests_not_processed, requests_cancelled, requests_conn_closed;
    uint64_t body_bytes_sent, body_bytes_recv; /* request bodies acked; response bodies */
    int64_t goaway_sent_id, goaway_recv_id; /* -1: none */
    uint64_t max_push_requested, max_push_effective;
    bool resumed;                    /* the handshake resumed a TLS session (PSK) */
    enum h3_early_data early_data;
    uint64_t requests_early;         /* requests sent in 0-RTT */
    uint64_t requests_early_resent;  /* of those, sent again after the server rejected the
                                        early data (each once; results unaffected) */
    uint64_t tickets_received;       /* NewSessionTickets put into the session cache */
    /* ECN (RFC 9000 13.4): datagrams received with each codepoint (as the backend read
     * it from the IP header and handed it to ngtcp2, which reports the counts back in its
     * ACK frames), and packets sent with the codepoint ngtcp2 asked for (ECT(0) while its
     * ECN validation succeeds, not-ECT once it failed or for a path that bleaches). */
    struct h3_ecn_counts {
        uint64_t not_ect, ect1, ect0, ce;
    } ecn_rx, ecn_tx;
    uint64_t pmtu_reports;           /* h3_conn_path_mtu() calls (Packet Too Big) */
    size_t max_udp_payload;          /* the largest UDP payload the connection writes now */
    /* Datagrams by UDP payload size, sent and received: bucket i counts sizes above
     * h3_pkt_size_bound(i - 1) up to h3_pkt_size_bound(i) (the last has no bound). */
    uint64_t pkt_size_tx[H3_PKT_SIZE_BUCKETS], pkt_size_rx[H3_PKT_SIZE_BUCKETS];
    /* 1-RTT key updates (RFC 9001 §6), ours (h3_conn_update_keys, or ngtcp2 near the AEAD
     * limits) or the peer's: the Key Phase bit of the last 1-RTT packet sent, and how many
     * times it changed (one per update; seen when the next packet goes out). */
    unsigned key_phase;
    uint64_t key_updates;
    struct h3_outcome outcome;
};

/* The upper bound of packet-size bucket |i| (bytes of UDP payload): 64, 256, 1200 (QUIC's
 * minimum), 1452 and 1472 (a 1500-byte MTU over IPv6 and IPv4), 4096, 8952 and 8972 (9000
 * over IPv6 and IPv4); 0 for the last bucket, which holds everything larger. */
size_t h3_pkt_size_bound(unsigned i);

/* "resumed, 0-RTT accepted (3 requests early)", "full handshake", ... into |buf|;
 * returns |buf|. */
const char *h3_stats_resumption_str(const struct h3_stats *st, char *buf, size_t len);

/* Fill |st|. Cheap enough for a stats command; not for every packet. */
void h3_conn_stats(const struct h3_conn *c, struct h3_stats *st);

/* The smoothed RTT (RFC 9002 §5.3) in ns, 0 before the first RTT sample. Cheap: per event
 * (the service reports it with state changes and completed requests). */
uint64_t h3_conn_rtt(const struct h3_conn *c);

/* ---------------------------------------------------------------- requests */

enum h3_body_kind { H3_BODY_NONE, H3_BODY_MEMORY, H3_BODY_FILE, H3_BODY_PRODUCER };
enum h3_sink_kind { H3_SINK_COUNT, H3_SINK_KEEP, H3_SINK_CALLBACK };

/* Returned by a producer that has no data right now; resume with h3_req_resume. */
#define H3_PRODUCE_WOULDBLOCK (-1)

/* Streaming upload: set *|data| and *|len| to the next bytes (which must stay valid
 * until |acked| reports them, or until on_complete) and *|eof| at the end.
 * Return 0, H3_PRODUCE_WOULDBLOCK, or another negative value to abort the request
 * (stream reset with H3_REQUEST_CANCELLED, result H3_REQ_FAILED). */
typedef int h3_produce_fn(struct h3_req *r, void *ud, const uint8_t **data, size_t *len,
                          bool *eof);

enum h3_req_result {
    H3_REQ_COMPLETED,     /* full response received; see status */
    H3_REQ_FAILED,        /* stream reset / error; see code */
    H3_REQ_NOT_PROCESSED, /* never processed by the server: safe to retry */
    H3_REQ_CANCELLED,     /* cancelled locally (shutdown deadline) */
    H3_REQ_CONN_CLOSED,   /* connection ended while in flight */
};

const char *h3_req_result_str(enum h3_req_result r);

struct h3_req_outcome {
    enum h3_req_result result;
    int status;            /* HTTP status (0 if none) */
    uint64_t code;         /* HTTP/3 error code for FAILED/CANCELLED; 0 otherwise */
    int64_t stream_id;     /* -1 if never started */
    uint64_t body_sent;    /* request body bytes the peer acknowledged */
    uint64_t body_recv;    /* response body bytes received */
    /* What became of its 0-RTT: NOT_ATTEMPTED (not started before the handshake),
     * ACCEPTED (started in 0-RTT, the server took the early data), REJECTED (refused with
     * the early data, sent again after the handshake: the result is the second sending's),
     * PENDING (started in 0-RTT, the connection ended before the server answered the
     * handshake: it may have been processed). */
    enum h3_early_data early;
};

struct h3_header {
    const char *name, *value;
};

/* Extra header fields of a request: at most H3_REQ_MAX_HEADERS, H3_REQ_HEADER_MAX bytes of
 * names and values in all (an operator's bearer token can be kilobytes). A request slot
 * keeps H3_REQ_HEADER_INLINE bytes inline; a larger set grows a buffer the slot keeps for
 * the next requests (no allocation per request in steady state). The peer's
 * SETTINGS_MAX_FIELD_SECTION_SIZE may be lower (nghttp3 checks it). */
#define H3_REQ_MAX_HEADERS 64
#define H3_REQ_HEADER_MAX (64 * 1024 - 1)
#define H3_REQ_HEADER_INLINE 2048

struct h3_req_params {
    const char *method;        /* required */
    const char *path;          /* required */
    const char *authority;     /* NULL = the connection's */
    const struct h3_header *headers; size_t n_headers; /* extra fields, copied */
    enum h3_body_kind body;
    const uint8_t *body_data; size_t body_len; /* MEMORY: caller keeps it until on_complete;
                                                * PRODUCER: the total it will give when
                                                * known (sent as content-length; a
                                                * producer giving more or less fails the
                                                * request), 0 = unknown */
    int body_fd;                               /* FILE: regular file, mapped read-only */
    h3_produce_fn *produce;                    /* PRODUCER */
    void (*acked)(struct h3_req *r, void *ud, uint64_t n); /* producer bytes acked */
    enum h3_sink_kind sink;
    size_t keep_max;           /* KEEP: body cap (excess counted, dropped); 1 MiB */
    void (*on_header)(struct h3_req *r, void *ud, const char *name, size_t nlen,
                      const char *value, size_t vlen);
    void (*on_data)(struct h3_req *r, void *ud, const uint8_t *data, size_t len);
    /* Replay-safe: may be sent as 0-RTT early data when the connection resumes a session
     * whose server allows it and the request is submitted before the handshake completes.
     * The server may see early data twice (a network replay, RFC 8446 §8; RFC 9114
     * §4.1.2 does not forbid it), so only for requests whose repetition does no harm
     * (e.g. an upload with an id the collector deduplicates). If the server rejects the
     * early data, the request is sent again after the handshake, once, without any
     * callback in between. A PRODUCER body cannot be sent again: H3_ERR_INVAL. If the
     * connection fails before the handshake completes, a request sent early ends
     * H3_REQ_CONN_CLOSED (the server may have processed it). false: never sent before
     * the handshake completes. */
    bool early;
    /* Called exactly once; |r| is released when it returns. */
    void (*on_complete)(struct h3_req *r, void *ud, const struct h3_req_outcome *o);
    void *ud;
};

/* Submit a request. It starts as soon as a stream is available, else waits in
 * the queue (never fails because of the peer's stream limit). Nothing is written
 * here: h3_conn_expiry() turns "now" and the next h3_conn_on_expiry() (or an
 * explicit h3_conn_flush()) sends it, so a burst of requests shares packets. On success *|out|
 * (may be NULL) holds the request, valid until its on_complete returns.
 * Before the handshake completes, only |early| requests on a connection that resumed
 * with a ticket allowing early data are started (in 0-RTT); the others wait.
 * Errors: H3_ERR_INVAL (missing or invalid method/path, a field name that is
 * not a lower-case token, a bad value, a pseudo-header or connection-specific
 * field among |headers| (RFC 9114 §4.2), bad body, |early| with a PRODUCER
 * body), H3_ERR_TOO_LARGE
 * (headers beyond H3_REQ_MAX_HEADERS/H3_REQ_HEADER_MAX), H3_ERR_NOBUFS (pool
 * full), H3_ERR_SHUTDOWN (after shutdown or peer GOAWAY), H3_ERR_CLOSED,
 * H3_ERR_FILE (body fd not a mappable regular file). */
int h3_conn_request(struct h3_conn *c, const struct h3_req_params *p, uint64_t now_ns,
                    struct h3_req **out);

/* Tell the driver a producer that returned WOULDBLOCK has data again. Returns 0
 * or H3_ERR_STATE. Sent like a new request (next expiry run or h3_conn_flush). */
int h3_req_resume(struct h3_req *r);

/* Cancel |r| (queued or in flight): its stream is reset with H3_REQUEST_CANCELLED and
 * on_complete runs now with H3_REQ_CANCELLED. Not from inside |r|'s own callbacks.
 * Returns 0 or H3_ERR_STATE (already complete, or the connection is closing). */
int h3_req_cancel(struct h3_req *r);

/* KEEP sink: the body kept so far. */
const uint8_t *h3_req_body(const struct h3_req *r, size_t *len);
/* KEEP sink: response header fields, one "name: value" line each. */
const char *h3_req_headers(const struct h3_req *r, size_t *len);
int h3_req_status(const struct h3_req *r);
int64_t h3_req_stream_id(const struct h3_req *r);
struct h3_conn *h3_req_conn(const struct h3_req *r);

#ifdef __cplusplus
}
#endif

#endif /* H3DP_H3_H */
