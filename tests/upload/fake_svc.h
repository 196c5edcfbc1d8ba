/* fake_svc: a connection service double for unit tests of the upload engine.
 *
 * Implements the svc_* functions upload/ calls (svc_connect, svc_request, svc_shutdown)
 * with no worker, no network and no clock: it records every call, and the test drives what
 * the real service would report from svc_poll() — connection states (on_state), closes
 * (on_closed, after completing the connection's pending requests) and request results
 * (svc_req.done) — one call at a time, between up_poll() steps. Like the real service it
 * never runs a callback from inside svc_connect/svc_request/svc_shutdown, refuses requests
 * on a connection that is draining or closed (-ESHUTDOWN) or unknown (-ENOENT), and checks
 * the caller-owned request memory (body, done, ud) is unchanged until done has run. */
#ifndef H3DP_TEST_FAKE_SVC_H
#define H3DP_TEST_FAKE_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "svc.h"

/* A connection opened through svc_connect, in the order of the calls. */
struct fake_conn {
    uint64_t id;
    char url[256], host[256], sni[256];
    bool has_sni; /* params.sni was not NULL */
    int insecure, lcore;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    struct svc_conn_cbs cbs; /* a copy (zeroed when NULL was passed) */
    void *ud;
    enum h3_state state; /* as reported through on_state */
    bool early_ready;    /* on_early reported, not yet up */
    bool resumed;        /* what svc_conn_info says (set by the test before ESTABLISHED) */
    bool closed;         /* on_closed has run */
    unsigned shutdowns;  /* svc_shutdown calls for it */
    unsigned requests;   /* requests accepted on it */
    unsigned active;     /* ... of which done has not run yet */
    int request_rv;      /* != 0: svc_request on it returns this */
};

/* A request accepted by svc_request, in the order of the calls. What the request showed at
 * submission is copied (the real service copies the headers then; the body is read later,
 * so it is checked again when done runs). */
struct fake_req {
    uint64_t conn;
    struct svc_req *r; /* the caller's request */
    bool done;
    char *method, *path;
    struct h3_header *headers; /* copies */
    size_t n_headers;
    uint8_t *body; /* copy of the memory body; NULL when there is none */
    size_t body_len;
    bool has_body; /* r->body was not NULL */
    uint64_t synth_len;
    bool early;       /* r->early */
    enum h3_state conn_state; /* its connection's state at submission */
    void *ud; /* r->ud at submission */
};

struct svc {
    struct fake_conn *conns;
    size_t n_conns, cap_conns;
    struct fake_req *reqs;
    size_t n_reqs, cap_reqs;
    uint64_t next_id;
    /* every call, and the ones that succeeded */
    unsigned connect_calls, request_calls, shutdown_calls;
    unsigned connects, requests, shutdowns;
    unsigned invalid;           /* requests refused with -EINVAL (an engine bug) */
    unsigned corrupt;           /* requests whose memory changed before done (an engine bug) */
    int connect_rv, request_rv; /* != 0: svc_connect / svc_request return this */
};

struct svc *fake_svc_new(void);
/* Frees the records. Requests still pending are not completed (their done never runs). */
void fake_svc_del(struct svc *s);

/* The connection with |id| (NULL if none), or the |i|-th one opened. */
struct fake_conn *fake_conn(struct svc *s, uint64_t id);
struct fake_conn *fake_conn_nth(struct svc *s, size_t i);
/* Connections opened and not closed. */
unsigned fake_conns_open(const struct svc *s);

/* Reports that connection |id| (CONNECTING) can send 0-RTT (on_early). */
void fake_early(struct svc *s, uint64_t id);
/* Reports state |st| for connection |id| (on_state). */
void fake_state(struct svc *s, uint64_t id, enum h3_state st);
/* Reports ESTABLISHED for every open connection still CONNECTING; returns how many. */
unsigned fake_establish_all(struct svc *s);
/* Closes connection |id| as the service does: its pending requests complete first with
 * |pending| (stream id -1 for H3_REQ_NOT_PROCESSED, else started), then on_closed with an
 * outcome of |kind|. */
void fake_close(struct svc *s, uint64_t id, enum h3_close_kind kind, enum h3_req_result pending);

/* Requests not done yet: all (|conn| 0) or on |conn|. */
unsigned fake_pending(const struct svc *s, uint64_t conn);
/* The index of the oldest pending request (on |conn|, or any when 0); -1 when none. */
long fake_next(const struct svc *s, uint64_t conn);
/* Runs request |i|'s done with |res|. */
void fake_complete(struct svc *s, size_t i, const struct svc_req_result *res);
/* Completes request |i| with a response |status| as a request sent in 0-RTT whose early
 * data the server accepted (|rejected| false: H3_EARLY_ACCEPTED) or refused (sent again:
 * H3_EARLY_REJECTED). */
void fake_reply_early(struct svc *s, size_t i, int status, bool rejected);
/* Completes request |i| with a response |status| and a retry-after value (NULL: none). */
void fake_reply(struct svc *s, size_t i, int status, const char *retry_after);
/* Completes request |i| without a response: |result| (FAILED, NOT_PROCESSED, CANCELLED,
 * CONN_CLOSED) on stream |stream_id| (-1: never started). */
void fake_fail(struct svc *s, size_t i, enum h3_req_result result, int64_t stream_id);
/* Replies |status| to every request pending now (not to ones submitted meanwhile); returns
 * how many. */
unsigned fake_reply_all(struct svc *s, int status);

/* The value of header |name| in request |q| (NULL if absent), and how often it appears. */
const char *fake_header(const struct fake_req *q, const char *name);
unsigned fake_header_count(const struct fake_req *q, const char *name);

#endif
