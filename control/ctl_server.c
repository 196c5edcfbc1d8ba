/* ctl_server: non-blocking, epoll-driven control socket server (see ctl_server.h). */
#include "ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include "ratelim.h"

RTE_LOG_REGISTER_DEFAULT(ctl_server_logtype, NOTICE); /* user.h3dp.control (meson) */
/* Lines about refused peers: 5 at once, then one per 2 s. */
#define CTL_REFUSE_LOG_BURST 5
#define CTL_REFUSE_LOG_NS    2000000000ull
#define CTL_LOG(level, fmt, ...)                                                                   \
    rte_log(RTE_LOG_##level, ctl_server_logtype, "ctl: " fmt "\n", ##__VA_ARGS__)

#define DEFAULT_MODE        0660
#define DEFAULT_MAX_CLIENTS 16
#define DEFAULT_MAX_OUTBUF  (1024 * 1024)
#define DEFAULT_MAX_PENDING 256
#define DEFAULT_CLIENT_PEND 64
#define DEFAULT_PENDING_MS  30000
#define DEFAULT_IDLE_MS     30000
#define MIN_LINE            256 /* smaller limits cannot hold an error reply's request */
#define LISTEN_BACKLOG      16
#define EPOLL_BATCH         32
#define READS_PER_EVENT     4 /* fairness: bound the work one busy client gets per step */
#define MAX_PEER_GROUPS     64

enum tag_kind { TAG_LISTEN = 1, TAG_CLIENT };
#define TAG(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

struct client {
    int fd; /* -1: free slot */
    uint32_t gen;
    uid_t uid;
    pid_t pid;
    bool discarding; /* inside an over-long line: drop bytes up to the next '\n' */
    bool want_out;   /* EPOLLOUT is armed */
    bool eof;        /* peer shut its write side: finish replies, then close */
    char *in;
    size_t in_len;
    char *out;
    size_t out_off, out_len, out_cap;
    unsigned pending;
    uint64_t active_ns; /* connected, its last request, or reply bytes it took: idle since */
};

struct pending {
    bool used;
    uint32_t seq;
    unsigned client;
    uint32_t client_gen;
    json_t *id;
    uint64_t deadline_ns;
};

struct handler {
    ctl_handler_fn *fn;
    void *ctx;
};

struct ctl_server {
    struct ctl_server_conf conf;
    char *path;
    ino_t sock_ino;
    int listen_fd;
    int ep;
    struct client *clients; /* max_clients + 1: the last slot is kept for the operator */
    unsigned nslots;
    unsigned nclients;
    struct pending *pending;
    unsigned npending;
    uint32_t seq;
    uint64_t now; /* the time given to the current (or last) ctl_server_poll */
    uint64_t due; /* no deadline (deferred request, idle client) falls before this: the
                     deadlines are looked at only from then (ctl_server_tick runs each loop
                     iteration) */
    struct ratelim refuse_log; /* lines about refused peers: a loop of them must not flood */
    struct handler handlers[CTL_CMD_COUNT];
    struct ctl_server_stats st;
};

struct ctl_call {
    struct ctl_server *srv;
    unsigned client;
    const struct ctl_request *req;
    bool answered;
};

void ctl_server_conf_defaults(struct ctl_server_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->mode = DEFAULT_MODE;
    conf->allow_uid = geteuid();
    conf->allow_gid = CTL_NO_GID;
    conf->max_clients = DEFAULT_MAX_CLIENTS;
    conf->max_line = CTL_LINE_MAX;
    conf->max_outbuf = DEFAULT_MAX_OUTBUF;
    conf->max_pending = DEFAULT_MAX_PENDING;
    conf->max_client_pending = DEFAULT_CLIENT_PEND;
    conf->pending_timeout_ms = DEFAULT_PENDING_MS;
    conf->idle_timeout_ms = DEFAULT_IDLE_MS;
}

bool ctl_peer_allowed(const struct ctl_server_conf *conf, uid_t uid, gid_t gid, const gid_t *groups,
                      size_t n)
{
    if (uid == 0)
        return true;
    if (conf->allow_uid != CTL_NO_UID && uid == conf->allow_uid)
        return true;
    if (conf->allow_gid == CTL_NO_GID)
        return false;
    if (gid == conf->allow_gid)
        return true;
    for (size_t i = 0; i < n; i++)
        if (groups[i] == conf->allow_gid)
            return true;
    return false;
}

/* ---- deadlines ---------------------------------------------------------------------- */

/* A deadline at |t| now exists: the deadlines are looked at from then at the latest. */
static void due_by(struct ctl_server *srv, uint64_t t)
{
    if (t < srv->due)
        srv->due = t;
}

/* When idle client |c| is due to be dropped. */
static uint64_t idle_deadline(const struct ctl_server *srv, const struct client *c)
{
    return c->active_ns + (uint64_t)srv->conf.idle_timeout_ms * 1000000ull;
}

/* Client |c| became idle (connected, or its deferred requests answered). */
static void idle_from_now(struct ctl_server *srv, const struct client *c)
{
    if (srv->conf.idle_timeout_ms)
        due_by(srv, idle_deadline(srv, c));
}

/* ---- client output ----------------------------------------------------------------- */

static void close_client(struct ctl_server *srv, unsigned idx, const char *why);

static int client_events(struct ctl_server *srv, unsigned idx, bool want_out)
{
    struct client *c = &srv->clients[idx];
    struct epoll_event ev = {.events = c->eof ? 0 : EPOLLIN | EPOLLRDHUP,
                             .data.u64 = TAG(TAG_CLIENT, idx)};

    if (want_out)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return -errno;
    c->want_out = want_out;
    return 0;
}

static void set_want_out(struct ctl_server *srv, struct client *c, unsigned idx, bool on)
{
    if (c->want_out != on)
        client_events(srv, idx, on);
}

/* A half-closed client is closed once its replies are all delivered. */
static int maybe_finish(struct ctl_server *srv, unsigned idx)
{
    struct client *c = &srv->clients[idx];

    if (c->fd >= 0 && c->eof && c->out_len == 0 && c->pending == 0) {
        close_client(srv, idx, "peer closed");
        return -1;
    }
    return 0;
}

/* Sends what is buffered; returns 0, or -1 when the client was closed. */
static int flush_client(struct ctl_server *srv, unsigned idx)
{
    struct client *c = &srv->clients[idx];

    while (c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            close_client(srv, idx, "write failed");
            return -1;
        }
        c->out_off += (size_t)n;
        c->active_ns = srv->now; /* it reads: a long reply is not idleness */
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    set_want_out(srv, c, idx, c->out_len > 0);
    return maybe_finish(srv, idx);
}

/* Queues |line| for client |idx|; a client whose unsent output would pass max_outbuf is a
 * reader that stopped reading and is dropped. Returns 0 or -1 (client closed). */
static int send_line(struct ctl_server *srv, unsigned idx, const char *line, size_t len)
{
    struct client *c = &srv->clients[idx];
    size_t unsent = c->out_len - c->out_off;

    if (unsent + len > srv->conf.max_outbuf) {
        srv->st.dropped_slow++;
        close_client(srv, idx, "output buffer full (client does not read)");
        return -1;
    }
    if (c->out_off > 0 && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, unsent);
        c->out_off = 0;
        c->out_len = unsent;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *p;
        while (cap < c->out_len + len)
            cap *= 2;
        if (cap > srv->conf.max_outbuf)
            cap = srv->conf.max_outbuf;
        p = realloc(c->out, cap);
        if (p == NULL) {
            close_client(srv, idx, "out of memory");
            return -1;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
    return flush_client(srv, idx);
}

static int send_error(struct ctl_server *srv, unsigned idx, json_t *id, enum ctl_code code,
                      const char *msg)
{
    size_t len;
    char *line = ctl_reply_error(id, code, msg, &len);
    int rc;

    srv->st.errors++;
    if (line == NULL) {
        close_client(srv, idx, "out of memory");
        return -1;
    }
    rc = send_line(srv, idx, line, len);
    free(line);
    return rc;
}

static int send_ok(struct ctl_server *srv, unsigned idx, json_t *id, json_t *result)
{
    size_t len;
    char *line = ctl_reply_ok(id, result, &len);
    int rc;

    if (line == NULL)
        return send_error(srv, idx, id, CTL_E_INTERNAL, "out of memory building the reply");
    rc = send_line(srv, idx, line, len);
    free(line);
    return rc;
}

static void close_client(struct ctl_server *srv, unsigned idx, const char *why)
{
    struct client *c = &srv->clients[idx];
    uint32_t gen;

    if (c->fd < 0)
        return;
    CTL_LOG(DEBUG, "client %u (pid %d uid %u) closed: %s", idx, (int)c->pid, (unsigned)c->uid,
            why);
    close(c->fd); /* also leaves the epoll set */
    free(c->in);
    free(c->out);
    gen = c->gen;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->gen = gen + 1; /* pending requests of the old client no longer match */
    srv->nclients--;
}

/* ---- pending requests -------------------------------------------------------------- */

static struct pending *pending_get(struct ctl_server *srv, uint64_t token)
{
    uint32_t idx = (uint32_t)token, seq = (uint32_t)(token >> 32);
    struct pending *p;

    if (idx >= srv->conf.max_pending || seq == 0)
        return NULL;
    p = &srv->pending[idx];
    return (p->used && p->seq == seq) ? p : NULL;
}

/* Returns the live client the pending request belongs to, or NULL. */
static struct client *pending_client(struct ctl_server *srv, const struct pending *p)
{
    struct client *c = &srv->clients[p->client];

    return (c->fd >= 0 && c->gen == p->client_gen) ? c : NULL;
}

static void pending_release(struct ctl_server *srv, struct pending *p)
{
    struct client *c = pending_client(srv, p);

    if (c != NULL)
        c->pending--;
    json_decref(p->id);
    memset(p, 0, sizeof(*p));
    srv->npending--;
}

static int answer_pending(struct ctl_server *srv, uint64_t token, json_t *result,
                          enum ctl_code code, const char *msg)
{
    struct pending *p = pending_get(srv, token);
    struct client *c;
    unsigned idx;
    json_t *id;
    int rc;

    if (p == NULL) {
        json_decref(result);
        srv->st.discarded++;
        return -ENOENT;
    }
    c = pending_client(srv, p);
    idx = p->client;
    id = json_incref(p->id);
    pending_release(srv, p);
    if (c == NULL) {
        json_decref(result);
        json_decref(id);
        srv->st.discarded++;
        return -ENOTCONN;
    }
    c->active_ns = srv->now; /* a deferred request answered: idle from now on */
    if (c->pending == 0)
        idle_from_now(srv, c);
    if (code == CTL_OK)
        rc = send_ok(srv, idx, id, result);
    else
        rc = send_error(srv, idx, id, code, msg);
    json_decref(id);
    if (rc == 0)
        maybe_finish(srv, idx);
    return 0;
}

int ctl_server_reply(struct ctl_server *srv, uint64_t token, json_t *result)
{
    return answer_pending(srv, token, result, CTL_OK, NULL);
}

int ctl_server_fail(struct ctl_server *srv, uint64_t token, enum ctl_code code, const char *fmt,
                    ...)
{
    char msg[CTL_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return answer_pending(srv, token, NULL, code == CTL_OK ? CTL_E_INTERNAL : code, msg);
}

static void expire_pending(struct ctl_server *srv, uint64_t now)
{
    for (unsigned i = 0; i < srv->conf.max_pending && srv->npending > 0; i++) {
        struct pending *p = &srv->pending[i];
        if (!p->used || p->deadline_ns > now)
            continue;
        srv->st.timeouts++;
        answer_pending(srv, TAG(p->seq, i), NULL, CTL_E_TIMEOUT,
                       "no answer before the request deadline");
    }
}

/* Is client |c| idle: connected with no request in progress? A deferred one (`wait`) is in
 * progress; half a line is not, nor is a reply the client does not read. */
static bool client_idle(const struct client *c)
{
    return c->fd >= 0 && c->pending == 0;
}

/* Drops the clients idle for idle_timeout_ms: they hold slots others need. */
static void expire_idle(struct ctl_server *srv, uint64_t now)
{
    for (unsigned i = 0; i < srv->nslots; i++) {
        struct client *c = &srv->clients[i];
        if (!client_idle(c) || idle_deadline(srv, c) > now)
            continue;
        srv->st.dropped_idle++;
        CTL_LOG(INFO, "client %u (pid %d uid %u) dropped: no request for %u ms", i, (int)c->pid,
                (unsigned)c->uid, srv->conf.idle_timeout_ms);
        close_client(srv, i, "idle");
    }
}

static uint64_t nearest_deadline(const struct ctl_server *srv)
{
    uint64_t d = UINT64_MAX;

    for (unsigned i = 0; i < srv->conf.max_pending && srv->npending > 0; i++)
        if (srv->pending[i].used && srv->pending[i].deadline_ns < d)
            d = srv->pending[i].deadline_ns;
    for (unsigned i = 0; srv->conf.idle_timeout_ms && i < srv->nslots; i++)
        if (client_idle(&srv->clients[i]) && idle_deadline(srv, &srv->clients[i]) < d)
            d = idle_deadline(srv, &srv->clients[i]);
    return d;
}

/* Expires what is due at |now| (deferred requests, idle clients) when something may be:
 * a loop iteration with nothing due costs one comparison. */
static void expire_due(struct ctl_server *srv, uint64_t now)
{
    if (now < srv->due)
        return;
    if (srv->npending > 0)
        expire_pending(srv, now);
    if (srv->conf.idle_timeout_ms)
        expire_idle(srv, now);
    srv->due = nearest_deadline(srv);
}

/* ---- calls ------------------------------------------------------------------------- */

const struct ctl_request *ctl_call_request(const struct ctl_call *call)
{
    return call->req;
}

struct ctl_server *ctl_call_server(const struct ctl_call *call)
{
    return call->srv;
}

int ctl_call_peer(const struct ctl_call *call, uid_t *uid, pid_t *pid)
{
    const struct client *c = &call->srv->clients[call->client];

    if (c->fd < 0)
        return -ENOTCONN;
    *uid = c->uid;
    *pid = c->pid;
    return 0;
}

int ctl_call_reply(struct ctl_call *call, json_t *result)
{
    if (call->answered) {
        json_decref(result);
        return -EALREADY;
    }
    call->answered = true;
    send_ok(call->srv, call->client, call->req->id, result);
    return 0;
}

int ctl_call_fail(struct ctl_call *call, enum ctl_code code, const char *fmt, ...)
{
    char msg[CTL_ERRMSG_MAX];
    va_list ap;

    if (call->answered)
        return -EALREADY;
    call->answered = true;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_error(call->srv, call->client, call->req->id, code == CTL_OK ? CTL_E_INTERNAL : code, msg);
    return 0;
}

uint64_t ctl_call_defer(struct ctl_call *call, uint32_t timeout_ms)
{
    struct ctl_server *srv = call->srv;
    struct client *c = &srv->clients[call->client];
    struct pending *p = NULL;
    unsigned i;

    if (call->answered)
        return 0;
    if (srv->npending < srv->conf.max_pending && c->pending < srv->conf.max_client_pending) {
        for (i = 0; i < srv->conf.max_pending; i++)
            if (!srv->pending[i].used) {
                p = &srv->pending[i];
                break;
            }
    }
    if (p == NULL) {
        ctl_call_fail(call, CTL_E_BUSY, "too many requests in progress");
        return 0;
    }
    call->answered = true;
    if (++srv->seq == 0)
        srv->seq = 1;
    p->used = true;
    p->seq = srv->seq;
    p->client = call->client;
    p->client_gen = c->gen;
    p->id = json_incref(call->req->id);
    if (timeout_ms == 0)
        timeout_ms = srv->conf.pending_timeout_ms;
    p->deadline_ns = srv->now + (uint64_t)timeout_ms * 1000000ull;
    c->pending++;
    srv->npending++;
    due_by(srv, p->deadline_ns);
    return TAG(p->seq, i);
}

/* ---- input ------------------------------------------------------------------------- */

static void handle_line(struct ctl_server *srv, unsigned idx, const char *line, size_t len)
{
    struct ctl_request req;
    struct ctl_error err;
    struct ctl_call call = {.srv = srv, .client = idx, .req = &req};
    const struct handler *h;

    srv->st.requests++;
    srv->clients[idx].active_ns = srv->now;
    if (ctl_request_parse(&req, line, len, &err) != 0) {
        send_error(srv, idx, req.id, err.code, err.message);
        ctl_request_free(&req);
        return;
    }
    h = &srv->handlers[req.cmd->id];
    if (h->fn == NULL) {
        send_error(srv, idx, req.id, CTL_E_UNSUPPORTED,
                   "cmd: this daemon does not provide this command");
    } else {
        h->fn(h->ctx, &call);
        if (!call.answered && srv->clients[idx].fd >= 0)
            send_error(srv, idx, req.id, CTL_E_INTERNAL, "the handler gave no answer");
    }
    ctl_request_free(&req);
}

/* Handles every complete line in the input buffer. Returns -1 if the client was closed. */
static int process_input(struct ctl_server *srv, unsigned idx)
{
    struct client *c = &srv->clients[idx];
    size_t start = 0;

    for (;;) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        size_t len;
        if (nl == NULL)
            break;
        len = (size_t)(nl - (c->in + start));
        if (c->discarding) {
            c->discarding = false; /* the tail of an over-long line */
        } else {
            if (len > 0 && c->in[start + len - 1] == '\r')
                len--;
            if (len > 0) {
                handle_line(srv, idx, c->in + start, len);
                if (c->fd < 0)
                    return -1;
            }
        }
        start = (size_t)(nl - c->in) + 1;
    }
    if (start > 0) {
        memmove(c->in, c->in + start, c->in_len - start);
        c->in_len -= start;
    }
    if (c->in_len >= srv->conf.max_line) {
        /* No '\n' within the limit: answer once, then skip up to the next newline and keep
         * the connection (the client can recover without reconnecting). */
        c->in_len = 0;
        if (!c->discarding) {
            c->discarding = true;
            srv->st.too_long++;
            if (send_error(srv, idx, NULL, CTL_E_TOO_LONG,
                           "request line longer than the limit; skipped up to the next "
                           "newline") != 0)
                return -1;
        }
    }
    if (c->discarding)
        c->in_len = 0;
    return 0;
}

static void client_readable(struct ctl_server *srv, unsigned idx)
{
    struct client *c = &srv->clients[idx];

    for (int i = 0; i < READS_PER_EVENT && c->fd >= 0; i++) {
        ssize_t n = recv(c->fd, c->in + c->in_len, srv->conf.max_line - c->in_len, 0);
        if (n == 0) {
            /* Half-close after the last request (`socat`, `nc -N`): still answer it. */
            c->eof = true;
            if (maybe_finish(srv, idx) == 0 && client_events(srv, idx, c->out_len > 0) != 0)
                close_client(srv, idx, "epoll failed");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                close_client(srv, idx, "read failed");
            return;
        }
        c->in_len += (size_t)n;
        if (process_input(srv, idx) != 0)
            return;
    }
}

/* " (and N more refusal(s) not logged)" for a rate-limited line, or "". */
static const char *held_text(uint64_t held, char *buf, size_t len)
{
    if (!held)
        return "";
    snprintf(buf, len, " (and %llu more refusal(s) not logged)", (unsigned long long)held);
    return buf;
}

/* ---- accepting --------------------------------------------------------------------- */

/* The operator: root or the configured user. One slot beyond max_clients is theirs. */
static bool peer_is_operator(const struct ctl_server_conf *conf, uid_t uid)
{
    return uid == 0 || (conf->allow_uid != CTL_NO_UID && uid == conf->allow_uid);
}

static void refuse(struct ctl_server *srv, int fd, enum ctl_code code, const char *msg)
{
    size_t len;
    char *line = ctl_reply_error(NULL, code, msg, &len);

    srv->st.errors++;
    if (line != NULL) {
        /* Best effort: a fresh socket has room for one short line. */
        if (send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            CTL_LOG(DEBUG, "refusal not delivered: %s", strerror(errno));
        free(line);
    }
    close(fd);
}

int ctl_server_adopt(struct ctl_server *srv, int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    gid_t groups[MAX_PEER_GROUPS];
    socklen_t gl = sizeof(groups);
    size_t ngroups = 0;
    struct epoll_event ev;
    struct client *c = NULL;
    uint64_t held = 0;
    char more[64];
    unsigned idx;
    int flags;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0)
        ngroups = gl / sizeof(gid_t);
    if (!ctl_peer_allowed(&srv->conf, cred.uid, cred.gid, groups, ngroups)) {
        srv->st.refused_perm++;
        if (ratelim_allow(&srv->refuse_log, srv->now, &held))
            CTL_LOG(WARNING, "refused peer pid %d uid %u gid %u: not allowed%s", (int)cred.pid,
                    (unsigned)cred.uid, (unsigned)cred.gid, held_text(held, more, sizeof(more)));
        refuse(srv, fd, CTL_E_PERM, "permission denied: your user/group may not use h3dpd");
        return -EPERM;
    }
    /* max_clients for everyone, one more for the operator: h3ctl gets in while others hold
     * every ordinary slot. */
    if (srv->nclients >= srv->nslots ||
        (srv->nclients >= srv->conf.max_clients && !peer_is_operator(&srv->conf, cred.uid))) {
        srv->st.refused_busy++;
        if (ratelim_allow(&srv->refuse_log, srv->now, &held))
            CTL_LOG(WARNING, "refused peer pid %d: %u clients connected%s", (int)cred.pid,
                    srv->nclients, held_text(held, more, sizeof(more)));
        refuse(srv, fd, CTL_E_BUSY, "too many control clients connected");
        return -EBUSY;
    }
    for (idx = 0; idx < srv->nslots; idx++)
        if (srv->clients[idx].fd < 0) {
            c = &srv->clients[idx];
            break;
        }
    flags = fcntl(fd, F_GETFL);
    if (c == NULL || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        goto fail;
    c->in = malloc(srv->conf.max_line);
    if (c->in == NULL)
        goto fail;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = TAG(TAG_CLIENT, idx);
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        goto fail;
    c->fd = fd;
    c->active_ns = srv->now;
    c->uid = cred.uid;
    c->pid = cred.pid;
    srv->nclients++;
    idle_from_now(srv, c);
    srv->st.accepted++;
    CTL_LOG(DEBUG, "client %u connected (pid %d uid %u)", idx, (int)cred.pid, (unsigned)cred.uid);
    return 0;
fail:
    if (c != NULL) {
        free(c->in);
        c->in = NULL;
    }
    close(fd);
    return -ENOMEM;
}

static void accept_clients(struct ctl_server *srv)
{
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                CTL_LOG(ERR, "accept: %s", strerror(errno));
            return;
        }
        ctl_server_adopt(srv, fd);
    }
}

/* ---- lifecycle --------------------------------------------------------------------- */

/* Is somebody accepting on |addr|? A refused connect means a stale file from a dead
 * daemon; a full backlog (EAGAIN) still means somebody is there. */
static bool socket_is_live(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool live;

    if (fd < 0)
        return true; /* cannot tell: do not remove it */
    live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno != ECONNREFUSED;
    close(fd);
    return live;
}

static int bind_socket(struct ctl_server *srv)
{
    const struct ctl_server_conf *conf = &srv->conf;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old_mask;
    int rc;

    if (strlen(conf->path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, conf->path);
    srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv->listen_fd < 0)
        return -errno;
    /* The umask closes the window between bind and chmod where the file is wider. */
    old_mask = umask(0777 & ~conf->mode);
    rc = bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
    if (rc != 0 && errno == EADDRINUSE) {
        if (lstat(conf->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
            umask(old_mask);
            return -EEXIST;
        }
        if (socket_is_live(&addr)) {
            umask(old_mask);
            return -EADDRINUSE;
        }
        CTL_LOG(NOTICE, "removing stale socket %s", conf->path);
        unlink(conf->path);
        rc = bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
    }
    rc = rc == 0 ? 0 : -errno;
    umask(old_mask);
    if (rc != 0)
        return rc;
    if (stat(conf->path, &st) == 0)
        srv->sock_ino = st.st_ino;
    srv->path = strdup(conf->path);
    if (srv->path == NULL)
        return -ENOMEM;
    if (chmod(conf->path, conf->mode) != 0)
        return -errno;
    if (conf->allow_gid != CTL_NO_GID && chown(conf->path, (uid_t)-1, conf->allow_gid) != 0)
        return -errno;
    if (listen(srv->listen_fd, LISTEN_BACKLOG) != 0)
        return -errno;
    return 0;
}

struct ctl_server *ctl_server_new(const struct ctl_server_conf *conf, int *err)
{
    struct ctl_server *srv;
    struct epoll_event ev;
    int rc = -ENOMEM;

    if (conf->max_clients == 0 || conf->max_clients >= UINT32_MAX || conf->max_line < MIN_LINE ||
        conf->max_outbuf < MIN_LINE || conf->max_pending == 0 || conf->max_pending > UINT32_MAX ||
        conf->pending_timeout_ms == 0) {
        *err = -EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        goto fail;
    srv->conf = *conf;
    ratelim_init(&srv->refuse_log, CTL_REFUSE_LOG_BURST, CTL_REFUSE_LOG_NS);
    srv->conf.path = NULL;
    srv->listen_fd = -1;
    srv->ep = -1;
    srv->nslots = conf->max_clients + 1;
    srv->clients = calloc(srv->nslots, sizeof(*srv->clients));
    srv->pending = calloc(conf->max_pending, sizeof(*srv->pending));
    if (srv->clients == NULL || srv->pending == NULL)
        goto fail;
    for (unsigned i = 0; i < srv->nslots; i++)
        srv->clients[i].fd = -1;
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    if (srv->ep < 0) {
        rc = -errno;
        goto fail;
    }
    if (conf->path != NULL) {
        srv->conf.path = conf->path;
        rc = bind_socket(srv);
        srv->conf.path = srv->path;
        if (rc != 0)
            goto fail;
        ev.events = EPOLLIN;
        ev.data.u64 = TAG(TAG_LISTEN, 0);
        if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->listen_fd, &ev) != 0) {
            rc = -errno;
            goto fail;
        }
        CTL_LOG(INFO, "listening on %s", srv->path);
    }
    return srv;
fail:
    ctl_server_del(srv);
    *err = rc;
    return NULL;
}

void ctl_server_del(struct ctl_server *srv)
{
    struct stat st;

    if (srv == NULL)
        return;
    for (unsigned i = 0; srv->clients != NULL && i < srv->nslots; i++)
        close_client(srv, i, "server shutting down");
    for (unsigned i = 0; srv->pending != NULL && i < srv->conf.max_pending; i++)
        if (srv->pending[i].used)
            json_decref(srv->pending[i].id);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    /* Only remove the file we created, not one a newer daemon has since bound. */
    if (srv->path != NULL && stat(srv->path, &st) == 0 && st.st_ino == srv->sock_ino)
        unlink(srv->path);
    if (srv->ep >= 0)
        close(srv->ep);
    free(srv->path);
    free(srv->clients);
    free(srv->pending);
    free(srv);
}

int ctl_server_register(struct ctl_server *srv, const char *name, ctl_handler_fn *fn, void *ctx)
{
    const struct ctl_cmd_schema *cmd = ctl_cmd_find(name);

    if (cmd == NULL)
        return -ENOENT;
    if (srv->handlers[cmd->id].fn != NULL)
        return -EEXIST;
    srv->handlers[cmd->id].fn = fn;
    srv->handlers[cmd->id].ctx = ctx;
    return 0;
}

int ctl_server_fd(const struct ctl_server *srv)
{
    return srv->ep;
}

int ctl_server_timeout_ms(const struct ctl_server *srv, uint64_t now)
{
    uint64_t deadline = nearest_deadline(srv);

    if (deadline == UINT64_MAX)
        return -1;
    if (deadline <= now)
        return 0;
    deadline = (deadline - now + 999999) / 1000000;
    return deadline > INT32_MAX ? INT32_MAX : (int)deadline;
}

uint64_t ctl_server_now(const struct ctl_server *srv)
{
    return srv->now;
}

int ctl_server_poll(struct ctl_server *srv, uint64_t now)
{
    struct epoll_event evs[EPOLL_BATCH];
    int n;

    srv->now = now;
    n = epoll_wait(srv->ep, evs, EPOLL_BATCH, 0);
    if (n < 0)
        n = errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t kind = (uint32_t)(evs[i].data.u64 >> 32), idx = (uint32_t)evs[i].data.u64;
        if (kind == TAG_LISTEN) {
            accept_clients(srv);
        } else if (kind == TAG_CLIENT && srv->clients[idx].fd >= 0) {
            if (srv->clients[idx].eof && (evs[i].events & (EPOLLHUP | EPOLLERR))) {
                close_client(srv, idx, "peer gone");
                continue;
            }
            if (evs[i].events & EPOLLOUT)
                if (flush_client(srv, idx) != 0)
                    continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
                client_readable(srv, idx);
        }
    }
    expire_due(srv, now);
    return n;
}

void ctl_server_tick(struct ctl_server *srv, uint64_t now)
{
    srv->now = now;
    expire_due(srv, now);
}

unsigned ctl_server_nclients(const struct ctl_server *srv)
{
    return srv->nclients;
}

unsigned ctl_server_npending(const struct ctl_server *srv)
{
    return srv->npending;
}

void ctl_server_get_stats(const struct ctl_server *srv, struct ctl_server_stats *st)
{
    *st = srv->st;
}

json_t *ctl_server_stats_json(const struct ctl_server *srv)
{
    const struct ctl_server_stats *st = &srv->st;

    return json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "clients",
                     (int)srv->nclients, "pending", (int)srv->npending, "accepted",
                     (json_int_t)st->accepted, "refused_perm", (json_int_t)st->refused_perm,
                     "refused_busy", (json_int_t)st->refused_busy, "dropped_slow",
                     (json_int_t)st->dropped_slow, "dropped_idle", (json_int_t)st->dropped_idle,
                     "requests", (json_int_t)st->requests, "errors", (json_int_t)st->errors,
                     "too_long", (json_int_t)st->too_long, "timeouts", (json_int_t)st->timeouts,
                     "discarded", (json_int_t)st->discarded);
}
