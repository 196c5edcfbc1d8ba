/* fake_h3dpd: a stand-in daemon for h3ctl's end-to-end test. It runs the real control
 * server and the real main<->worker rings, but the "connections" are canned records on
 * one worker thread: no network, no HTTP/3. What it checks is the control path itself:
 * h3ctl -> socket -> dispatch -> (defer -> worker ring -> event ring -> eventfd) -> reply.
 *
 * usage: fake_h3dpd SOCKET   (exits after `quit`, or on SIGTERM)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc_bus.h"
#include "ctl_server.h"
#include "mono.h"

#define MAX_CONNS      16
#define H3_NO_ERROR    0x100 /* RFC 9114 §8.1 */
#define CLOSE_DELAY_MS 100

enum fake_msg { MSG_SHUTDOWN = 1, MSG_WAIT, MSG_CLOSED };

enum conn_state { CONN_FREE = 0, CONN_ESTABLISHED, CONN_DRAINING, CONN_CLOSED };

struct conn {
    enum conn_state state;
    char url[NET_URL_MAX + 1];
    unsigned lcore;
    uint64_t max_push;
    uint64_t close_code;
    uint64_t close_at_ms; /* worker: when a draining connection closes */
    uint64_t waiters[8];  /* tokens waiting for the close */
    unsigned nwaiters;
    unsigned requests;
};

static struct conn conns[MAX_CONNS + 1]; /* owned by the worker after creation */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER; /* test program only */
static struct svc_bus *bus;
static struct ctl_server *srv;
static atomic_bool stop_worker;
static volatile sig_atomic_t quit;

static uint64_t now_ms(void)
{
    return mono_ns() / 1000000;
}

static json_t *outcome_json(const struct conn *c)
{
    char code[32];

    snprintf(code, sizeof(code), "0x%llx", (unsigned long long)c->close_code);
    return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s}", "ok", c->close_code == H3_NO_ERROR, "code", code,
                     "name", c->close_code == H3_NO_ERROR ? "H3_NO_ERROR" : "H3_REQUEST_CANCELLED",
                     "kind", "application", "reason",
                     c->close_code == H3_NO_ERROR ? "H3_NO_ERROR" : "application error", "by",
                     "local");
}

static struct conn *find_conn(struct ctl_call *call)
{
    uint64_t id = ctl_request_u64(ctl_call_request(call), "conn", 0);

    if (id == 0 || id > MAX_CONNS || conns[id].state == CONN_FREE) {
        ctl_call_fail(call, CTL_E_NO_SUCH_CONN, "no connection %llu", (unsigned long long)id);
        return NULL;
    }
    return &conns[id];
}

/* ---- the worker: owns connection closing, answers through the event ring ---- */

static void post_closed(struct conn *c, uint64_t token, uint64_t id)
{
    struct svc_msg *m = svc_msg_alloc(bus);

    if (m == NULL)
        return;
    m->type = MSG_CLOSED;
    m->token = token;
    m->conn_id = id;
    while (svc_bus_post(bus, m) != 0)
        sched_yield();
    (void)c;
}

static void *worker_main(void *arg)
{
    struct svc_msg *msgs[8];

    (void)arg;
    while (!atomic_load(&stop_worker)) {
        unsigned n = svc_bus_worker_poll(bus, 0, msgs, 8);
        uint64_t now = now_ms();

        pthread_mutex_lock(&conns_lock);
        for (unsigned i = 0; i < n; i++) {
            struct conn *c = &conns[msgs[i]->conn_id];
            if (msgs[i]->type == MSG_SHUTDOWN && c->state == CONN_ESTABLISHED) {
                c->state = CONN_DRAINING;
                c->close_at_ms = now + CLOSE_DELAY_MS;
            }
            if (c->state == CONN_CLOSED) {
                if (msgs[i]->token != 0)
                    post_closed(c, msgs[i]->token, msgs[i]->conn_id);
            } else if (msgs[i]->token != 0 && c->nwaiters < 8) {
                c->waiters[c->nwaiters++] = msgs[i]->token;
            }
            svc_msg_free(bus, msgs[i]);
        }
        for (unsigned id = 1; id <= MAX_CONNS; id++) {
            struct conn *c = &conns[id];
            if (c->state != CONN_DRAINING || now < c->close_at_ms)
                continue;
            c->state = CONN_CLOSED;
            c->close_code = H3_NO_ERROR;
            for (unsigned w = 0; w < c->nwaiters; w++)
                post_closed(c, c->waiters[w], id);
            c->nwaiters = 0;
        }
        pthread_mutex_unlock(&conns_lock);
        usleep(1000);
    }
    return NULL;
}

/* main lcore: eventfd readable -> drain the event ring -> answer deferred requests */
static void on_events(void *ctx)
{
    struct svc_msg *msgs[8];
    unsigned n;

    (void)ctx;
    svc_bus_ack(bus);
    while ((n = svc_bus_drain(bus, msgs, 8)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            struct conn *c = &conns[msgs[i]->conn_id];
            pthread_mutex_lock(&conns_lock);
            json_t *r = json_pack("{s:I,s:s,s:o,s:{s:I,s:i}}", "conn", (json_int_t)msgs[i]->conn_id,
                                  "state", "CLOSED", "outcome", outcome_json(c), "push_limit",
                                  "requested", (json_int_t)c->max_push, "effective", 0);
            pthread_mutex_unlock(&conns_lock);
            ctl_server_reply(srv, msgs[i]->token, r);
            svc_msg_free(bus, msgs[i]);
        }
    }
}

static void to_worker(struct ctl_call *call, enum fake_msg type, uint64_t id, uint32_t timeout_ms)
{
    struct svc_msg *m = svc_msg_alloc(bus);
    uint64_t token;

    if (m == NULL) {
        ctl_call_fail(call, CTL_E_BUSY, "no free message");
        return;
    }
    token = ctl_call_defer(call, timeout_ms);
    if (token == 0) {
        svc_msg_free(bus, m);
        return;
    }
    m->type = type;
    m->conn_id = id;
    m->token = token;
    if (svc_bus_send(bus, 0, m) != 0) {
        svc_msg_free(bus, m);
        ctl_server_fail(srv, token, CTL_E_BUSY, "worker queue full");
    }
}

/* ---- handlers ---- */

static void h_connect(void *ctx, struct ctl_call *call)
{
    const struct ctl_request *req = ctl_call_request(call);

    (void)ctx;
    if (strcmp(req->url.host, "unreachable.test") == 0) {
        ctl_call_fail(call, CTL_E_FAILED, "handshake timeout (no answer from %s:%u)", req->url.host,
                      (unsigned)req->url.port);
        return;
    }
    pthread_mutex_lock(&conns_lock);
    for (unsigned id = 1; id <= MAX_CONNS; id++) {
        if (conns[id].state != CONN_FREE)
            continue;
        conns[id].state = CONN_ESTABLISHED;
        net_url_origin(&req->url, conns[id].url, sizeof(conns[id].url));
        conns[id].lcore = (unsigned)ctl_request_u64(req, "lcore", 1 + id % 2);
        pthread_mutex_unlock(&conns_lock);
        ctl_call_reply(call, json_pack("{s:i,s:s,s:i}", "conn", id, "state", "ESTABLISHED", "lcore",
                                       conns[id].lcore));
        return;
    }
    pthread_mutex_unlock(&conns_lock);
    ctl_call_fail(call, CTL_E_BUSY, "connection table full");
}

static const char *state_name(enum conn_state s)
{
    static const char *const names[] = {"FREE", "ESTABLISHED", "DRAINING", "CLOSED"};
    return names[s];
}

static void h_list(void *ctx, struct ctl_call *call)
{
    json_t *arr = json_array();

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    /* The daemon's shape (daemon/d_ctl.c): closed ones only with --all. */
    for (unsigned id = 1; id <= MAX_CONNS; id++)
        if (conns[id].state != CONN_FREE &&
            (conns[id].state != CONN_CLOSED ||
             ctl_request_bool(ctl_call_request(call), "all", false)))
            json_array_append_new(
                arr,
                json_pack("{s:i,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:n,s:o}", "id", id, "state",
                          state_name(conns[id].state), "url", conns[id].url, "lcore",
                          conns[id].lcore, "in_flight", 0, "done", conns[id].requests, "rtt_us",
                          1320, "age_ms", 754000, "goaway_received", "outcome",
                          conns[id].state == CONN_CLOSED ? outcome_json(&conns[id]) : json_null()));
    pthread_mutex_unlock(&conns_lock);
    ctl_call_reply(call, json_pack("{s:o}", "conns", arr));
}

static void h_show(void *ctx, struct ctl_call *call)
{
    struct conn *c;

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    c = find_conn(call);
    if (c != NULL)
        ctl_call_reply(call, json_pack("{s:I,s:s,s:s,s:s,s:f,s:{s:f,s:f},s:{s:I,s:i},s:{s:n,s:n}}",
                                       "conn", (json_int_t)(c - conns), "state",
                                       state_name(c->state), "url", c->url, "alpn", "h3",
                                       "elapsed_s", 28.8686, "rtt", "min_ms", 0.25, "smoothed_ms",
                                       0.5, "push_limit", "requested", (json_int_t)c->max_push,
                                       "effective", 0, "goaway", "sent_id", "received_id"));
    pthread_mutex_unlock(&conns_lock);
}

static void h_request(void *ctx, struct ctl_call *call)
{
    const struct ctl_request *req = ctl_call_request(call);
    const char *body = ctl_request_str(req, "body");
    struct conn *c;

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    c = find_conn(call);
    if (c != NULL && c->state != CONN_ESTABLISHED) {
        ctl_call_fail(call, CTL_E_CONN_CLOSED, "connection %ld is %s", (long)(c - conns),
                      state_name(c->state));
    } else if (c != NULL) {
        c->requests++;
        ctl_call_reply(call,
                       json_pack("{s:i,s:[[ss]],s:I,s:s}", "status", 200, "headers", "content-type",
                                 "text/plain", "body_bytes", (json_int_t)(body ? strlen(body) : 0),
                                 "method", ctl_request_str(req, "method")));
    }
    pthread_mutex_unlock(&conns_lock);
}

static void h_shutdown(void *ctx, struct ctl_call *call)
{
    const struct ctl_request *req = ctl_call_request(call);
    struct conn *c;
    uint64_t id;

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    c = find_conn(call);
    if (c == NULL) {
        pthread_mutex_unlock(&conns_lock);
        return;
    }
    if (c->state == CONN_CLOSED) {
        pthread_mutex_unlock(&conns_lock);
        ctl_call_fail(call, CTL_E_CONN_CLOSED, "connection is closed");
        return;
    }
    c->max_push = ctl_request_u64(req, "max_push", 0);
    id = (uint64_t)(c - conns);
    pthread_mutex_unlock(&conns_lock);
    if (ctl_request_bool(req, "wait", false)) {
        to_worker(call, MSG_SHUTDOWN, id, (uint32_t)ctl_request_u64(req, "timeout", 0));
        return;
    }
    /* fire and forget: the worker closes it later */
    {
        struct svc_msg *m = svc_msg_alloc(bus);
        if (m == NULL) {
            ctl_call_fail(call, CTL_E_BUSY, "no free message");
            return;
        }
        m->type = MSG_SHUTDOWN;
        m->conn_id = id;
        if (svc_bus_send(bus, 0, m) != 0) {
            svc_msg_free(bus, m);
            ctl_call_fail(call, CTL_E_BUSY, "worker queue full");
            return;
        }
    }
    ctl_call_reply(call,
                   json_pack("{s:I,s:s,s:{s:I,s:i}}", "conn", (json_int_t)id, "state", "DRAINING",
                             "push_limit", "requested",
                             (json_int_t)ctl_request_u64(req, "max_push", 0), "effective", 0));
}

static void h_close(void *ctx, struct ctl_call *call)
{
    struct conn *c;

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    c = find_conn(call);
    if (c != NULL && c->state == CONN_CLOSED) {
        ctl_call_fail(call, CTL_E_CONN_CLOSED, "connection is closed");
    } else if (c != NULL) {
        c->state = CONN_CLOSED;
        c->close_code = ctl_request_u64(ctl_call_request(call), "error", H3_NO_ERROR);
        ctl_call_reply(call, json_pack("{s:I,s:s,s:o}", "conn", (json_int_t)(c - conns), "state",
                                       "CLOSED", "outcome", outcome_json(c)));
    }
    pthread_mutex_unlock(&conns_lock);
}

static void h_wait(void *ctx, struct ctl_call *call)
{
    const struct ctl_request *req = ctl_call_request(call);
    struct conn *c;
    uint64_t id;

    (void)ctx;
    pthread_mutex_lock(&conns_lock);
    c = find_conn(call);
    id = c != NULL ? (uint64_t)(c - conns) : 0;
    pthread_mutex_unlock(&conns_lock);
    if (c != NULL)
        /* no timeout: wait (almost) forever, as `wait` promises */
        to_worker(call, MSG_WAIT, id, (uint32_t)ctl_request_u64(req, "timeout", UINT32_MAX));
}

static void h_stats(void *ctx, struct ctl_call *call)
{
    (void)ctx;
    ctl_call_reply(call, json_pack("{s:[{s:i,s:s,s:I,s:I}],s:o}", "lcores", "lcore", 1, "role",
                                   "worker", "busy_cycles", (json_int_t)0, "idle_cycles",
                                   (json_int_t)0, "control", ctl_server_stats_json(srv)));
}

static void h_neigh(void *ctx, struct ctl_call *call)
{
    (void)ctx;
    ctl_call_reply(call, json_pack("{s:[{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b},"
                                   "{s:s,s:s,s:s,s:n,s:I,s:I,s:I,s:I,s:b}]}",
                                   "neighbours", "address", "198.18.0.1", "mac",
                                   "02:00:00:00:00:01", "state", "reachable", "age_ms",
                                   (json_int_t)120, "confirmations", (json_int_t)42, "probes",
                                   (json_int_t)1, "conflicts", (json_int_t)2, "queued",
                                   (json_int_t)0, "in_use", 1, "address", "198.18.0.254", "mac",
                                   "02:00:00:00:00:fe", "state", "permanent", "age_ms",
                                   "confirmations", (json_int_t)0, "probes", (json_int_t)0,
                                   "conflicts", (json_int_t)0, "queued", (json_int_t)0, "in_use",
                                   1));
}

static void h_quit(void *ctx, struct ctl_call *call)
{
    (void)ctx;
    quit = 1;
    ctl_call_reply(call, json_pack("{s:s}", "state", "exiting"));
}

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

int main(int argc, char **argv)
{
    struct ctl_server_conf conf;
    pthread_t worker;
    int err = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    ctl_server_conf_defaults(&conf);
    conf.path = argv[1];
    conf.pending_timeout_ms = 5000;
    srv = ctl_server_new(&conf, &err);
    bus = svc_bus_new(1, 64, 64, &err);
    if (srv == NULL || bus == NULL) {
        fprintf(stderr, "fake_h3dpd: %s\n", strerror(-err));
        return 1;
    }
    ctl_server_register(srv, "connect", h_connect, NULL);
    ctl_server_register(srv, "list", h_list, NULL);
    ctl_server_register(srv, "show", h_show, NULL);
    ctl_server_register(srv, "request", h_request, NULL);
    ctl_server_register(srv, "shutdown", h_shutdown, NULL);
    ctl_server_register(srv, "close", h_close, NULL);
    ctl_server_register(srv, "wait", h_wait, NULL);
    ctl_server_register(srv, "stats", h_stats, NULL);
    ctl_server_register(srv, "neigh", h_neigh, NULL);
    ctl_server_register(srv, "quit", h_quit, NULL);
    pthread_create(&worker, NULL, worker_main, NULL);
    while (!quit) {
        /* A loop like h3dpd's: sleep on the control socket and the bus's eventfd, only
         * when the worker knows to wake us, never past a deferred request's deadline. */
        struct pollfd p[2] = { { .fd = ctl_server_fd(srv), .events = POLLIN },
                               { .fd = svc_bus_eventfd(bus), .events = POLLIN } };
        int timeout = svc_bus_arm(bus) ? 200 : 0, dl = ctl_server_timeout_ms(srv, mono_ns());
        if (dl >= 0 && dl < timeout)
            timeout = dl;
        poll(p, 2, timeout);
        if (timeout == 0 || (p[1].revents & POLLIN))
            on_events(NULL);
        ctl_server_poll(srv, mono_ns());
    }
    ctl_server_poll(srv, mono_ns()); /* flush the quit reply */
    atomic_store(&stop_worker, true);
    pthread_join(worker, NULL);
    ctl_server_del(srv);
    svc_bus_del(bus);
    return 0;
}
