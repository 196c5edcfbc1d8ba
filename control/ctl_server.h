/* ctl_server: the control socket — accept, authenticate, frame, dispatch, reply.
 *
 * A socket server only, single-threaded and non-blocking: the daemon's event loop watches
 * ctl_server_fd() and calls ctl_server_poll() with the loop's time when it is readable
 * (or at the deadline ctl_server_timeout_ms() gives), and ctl_server_tick() once per
 * iteration. It never blocks and never reads a
 * clock: a client that does not read its replies is dropped once its output buffer is
 * full, one with no request in progress after idle_timeout_ms; a client that vanishes is
 * cleaned up. One slot beyond max_clients is kept for the operator (root, allow_uid).
 *
 * Handlers are registered per command name. A handler answers at once (ctl_call_reply /
 * ctl_call_fail) or defers (ctl_call_defer) and answers later through the returned token
 * with ctl_server_reply / ctl_server_fail, typically when a worker lcore's event arrives.
 * A deferred request that is not answered before its deadline gets E_TIMEOUT; a late
 * answer is then discarded, as is an answer for a client that has gone.
 */
#ifndef H3DP_CTL_SERVER_H
#define H3DP_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "ctl_proto.h"

#define CTL_NO_UID ((uid_t)-1)
#define CTL_NO_GID ((gid_t)-1)

struct ctl_server_conf {
    const char *path;     /* socket path; NULL = no listening socket (ctl_server_adopt only) */
    mode_t mode;          /* socket file mode, default 0660 */
    uid_t allow_uid;      /* peers with this uid are allowed (default: our euid) */
    gid_t allow_gid;      /* peers in this group are allowed; the socket is chowned to it */
    unsigned max_clients; /* default 16; one more slot is kept for root and allow_uid, so the
                             operator gets in while others hold every slot */
    size_t max_line;      /* request line limit incl. '\n', default CTL_LINE_MAX */
    size_t max_outbuf;    /* per-client unsent reply bytes before drop, default 1 MiB */
    unsigned max_pending; /* deferred requests in total, default 256 */
    unsigned max_client_pending; /* deferred requests per client, default 64 */
    uint32_t pending_timeout_ms; /* default deadline for deferred requests, default 30 s */
    uint32_t idle_timeout_ms;    /* a client with no request in progress (a deferred one such
                                    as `wait` is in progress) for this long since it connected,
                                    sent its last request or took reply bytes is dropped;
                                    default 30 s; 0: never */
};

struct ctl_server_stats {
    uint64_t accepted;     /* connections accepted and allowed */
    uint64_t refused_perm; /* refused by the peer-credential check */
    uint64_t refused_busy; /* refused because max_clients were connected */
    uint64_t dropped_slow; /* dropped because their output buffer overflowed */
    uint64_t requests;     /* request lines handled */
    uint64_t errors;       /* error replies sent (any code) */
    uint64_t too_long;     /* lines over max_line */
    uint64_t timeouts;     /* deferred requests that hit their deadline */
    uint64_t discarded;    /* late or orphaned deferred replies thrown away */
    uint64_t dropped_idle; /* clients dropped after idle_timeout_ms with no request */
};

struct ctl_server;
struct ctl_call;

/* A command handler. It must call exactly one of ctl_call_reply, ctl_call_fail or
 * ctl_call_defer before returning; the return value is ignored except that a handler that
 * answered nothing gets E_INTERNAL sent for it. */
typedef void ctl_handler_fn(void *ctx, struct ctl_call *call);

/* Fills |conf| with the defaults documented above (path NULL). */
void ctl_server_conf_defaults(struct ctl_server_conf *conf);

/* Returns true when a peer with |uid|, primary |gid| and supplementary |groups| (|n|) may
 * use a server configured with |conf|: root, conf->allow_uid, or a member of
 * conf->allow_gid. */
bool ctl_peer_allowed(const struct ctl_server_conf *conf, uid_t uid, gid_t gid, const gid_t *groups,
                      size_t n);

/* Creates a server: binds conf->path (a stale socket nobody answers on is replaced; a live
 * one or a non-socket file is an error), sets its mode and group, listens. Returns NULL
 * with |*err| = -errno: -EINVAL (bad conf, path too long), -EADDRINUSE (a daemon already
 * answers there), -EEXIST (path exists and is not a socket), or the failing syscall's. */
struct ctl_server *ctl_server_new(const struct ctl_server_conf *conf, int *err);

/* Closes every client, unlinks the socket the server created, frees everything.
 * Pending tokens become invalid. NULL is fine. */
void ctl_server_del(struct ctl_server *srv);

/* Registers |fn| with |ctx| for the command |name| (a name from ctl_cmd_table()).
 * Returns 0, -ENOENT (no such command) or -EEXIST (already registered). Commands without
 * a handler answer E_UNSUPPORTED. */
int ctl_server_register(struct ctl_server *srv, const char *name, ctl_handler_fn *fn, void *ctx);

/* Adds an already connected stream socket |fd| as a client (ownership passes to the
 * server, also on error), with the same peer check as accepted ones. Returns 0, -EPERM
 * (refused: an E_PERM line was sent), -EBUSY (client limit: E_BUSY sent) or -errno. */
int ctl_server_adopt(struct ctl_server *srv, int fd);

/* The epoll fd covering the listening socket and all clients: readable when
 * ctl_server_poll() has work. */
int ctl_server_fd(const struct ctl_server *srv);

/* Runs one step at |now| (monotonic ns, the caller's loop time) without waiting: accepts,
 * reads and answers what is ready, expires deadlines. Returns the number of events handled
 * (>= 0) or -errno from epoll_wait (-EINTR is returned as 0). */
int ctl_server_poll(struct ctl_server *srv, uint64_t now);

/* The loop's time, once per iteration: deferred answers given outside ctl_server_poll (from
 * worker events) are stamped with it (a client's idleness starts at its answer), and the
 * deadlines due are expired (deferred requests, idle clients) with no traffic on the
 * socket. No system call. */
void ctl_server_tick(struct ctl_server *srv, uint64_t now);

/* Milliseconds from |now| to the nearest deadline of a deferred request or of an idle
 * client (0: due), or -1 when there is none: the longest the caller's loop may sleep. */
int ctl_server_timeout_ms(const struct ctl_server *srv, uint64_t now);

/* The time given to the current (in a handler) or last ctl_server_poll. */
uint64_t ctl_server_now(const struct ctl_server *srv);

/* Answers the deferred request |token| with |result| (reference stolen; NULL = {}).
 * Returns 0, -ENOENT (unknown or expired token: dropped) or -ENOTCONN (the client has
 * gone: dropped). The token is spent either way. */
int ctl_server_reply(struct ctl_server *srv, uint64_t token, json_t *result);

/* Answers the deferred request |token| with an error |code| and a printf-style message.
 * Returns like ctl_server_reply(). */
int ctl_server_fail(struct ctl_server *srv, uint64_t token, enum ctl_code code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Number of connected clients / deferred requests outstanding. */
unsigned ctl_server_nclients(const struct ctl_server *srv);
unsigned ctl_server_npending(const struct ctl_server *srv);

/* Copies the counters into |st|. */
void ctl_server_get_stats(const struct ctl_server *srv, struct ctl_server_stats *st);

/* Returns the counters, client and pending counts as a new JSON object (for the `stats`
 * result and DPDK telemetry), or NULL on allocation failure. */
json_t *ctl_server_stats_json(const struct ctl_server *srv);

/* ---- inside a handler ---- */

/* The validated request being handled (valid until the handler returns). */
const struct ctl_request *ctl_call_request(const struct ctl_call *call);

/* The server handling |call| (to keep for a later ctl_server_reply). */
struct ctl_server *ctl_call_server(const struct ctl_call *call);

/* The credentials of the client that sent the request (from SO_PEERCRED), e.g. to log
 * who asked for `quit`. Returns 0, or -ENOTCONN if the client has gone. */
int ctl_call_peer(const struct ctl_call *call, uid_t *uid, pid_t *pid);

/* Answers now with |result| (reference stolen; NULL = {}). Returns 0 or -EALREADY. */
int ctl_call_reply(struct ctl_call *call, json_t *result);

/* Answers now with error |code| and a printf-style message. Returns 0 or -EALREADY. */
int ctl_call_fail(struct ctl_call *call, enum ctl_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Defers the answer: returns a non-zero token for ctl_server_reply/fail, valid until then
 * or until |timeout_ms| (0 = the configured default) passes, when E_TIMEOUT is sent.
 * Returns 0 when nothing can be deferred (limits reached): E_BUSY has then been sent. */
uint64_t ctl_call_defer(struct ctl_call *call, uint32_t timeout_ms);

#endif
