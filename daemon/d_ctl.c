/* d_ctl.c: the daemon's control command handlers (see d_ctl.h, docs/CONTROL.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_ctl.h"
#include "d_dns.h"
#include "d_dp.h"
#include "d_log.h"
#include "d_reload.h"
#include "dp.h"
#include "svc.h"
#include "upload.h"

#define D_CONNECT_MARGIN_MS 2000          /* beyond the handshake timeout */
#define D_FOREVER_MS ((uint32_t)CTL_DURATION_MAX_MS) /* wait without a limit */
#define D_WAIT_MARGIN_MS 10000            /* beyond a shutdown/request timeout */
#define D_REQUEST_DEFAULT_MS (10u * 60 * 1000) /* a request without its own timeout */

enum d_wait_kind { D_W_CONNECT, D_W_CLOSED };

/* A deferred answer waiting for a connection event. */
struct d_waiter {
    struct d_waiter *next;
    uint64_t token, conn;
    enum d_wait_kind kind;
    int64_t max_push; /* shutdown --wait: the requested push limit; -1 otherwise */
};

struct d_ctl {
    const struct cfg *cfg;
    struct svc *svc;
    struct dp *dp;
    struct ctl_server *srv;
    struct d_waiter *waiters;
    struct d_name_wait *name_waits; /* connects waiting for the resolver */
    struct d_dns *dns;
    struct up *up;
    const struct d_reload *reload;
    bool quit;
};

void d_ctl_set_upload(struct d_ctl *d, struct up *u)
{
    d->up = u;
}

void d_ctl_set_reload(struct d_ctl *d, const struct d_reload *r)
{
    d->reload = r;
}

/* ---------------------------------------------------------------- helpers */

static const char *state_name(enum h3_state s)
{
    static const char *const n[] = { "CONNECTING", "ESTABLISHED", "DRAINING", "CLOSING",
                                     "CLOSED" };
    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "UNKNOWN";
}

static json_int_t us(uint64_t ns)
{
    return (json_int_t)((ns + 500) / 1000);
}

static json_t *id_or_null(int64_t id)
{
    return id < 0 ? json_null() : json_integer(id);
}

static json_t *outcome_json(const struct h3_outcome *o)
{
    static const char *const kinds[] = { "none", "transport", "application", "idle_timeout",
                                         "handshake_timeout", "stateless_reset", "internal" };
    char code[24], text[256];
    const char *name = h3_close_code_name(o->code, o->kind);

    snprintf(code, sizeof(code), "0x%" PRIx64, o->code);
    h3_outcome_str(o, text, sizeof(text));
    return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s}", "ok", o->ok, "code", code, "name",
                     name[0] ? name : kinds[o->kind], "kind",
                     (unsigned)o->kind < 7 ? kinds[o->kind] : "?", "by",
                     o->origin == H3_ORIGIN_LOCAL ? "local" : "peer", "reason",
                     o->reason[0] ? o->reason : text, "text", text);
}

static json_t *closed_json(uint64_t conn, const struct h3_outcome *o, int64_t max_push)
{
    json_t *r = json_pack("{s:I, s:s, s:o}", "conn", (json_int_t)conn, "state", "CLOSED",
                          "outcome", outcome_json(o));
    if (r && max_push >= 0)
        json_object_set_new(r, "push_limit",
                            json_pack("{s:I, s:i}", "requested", (json_int_t)max_push,
                                      "effective", 0));
    return r;
}

static void add_waiter(struct d_ctl *d, uint64_t token, uint64_t conn, enum d_wait_kind k,
                       int64_t max_push)
{
    struct d_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        ctl_server_fail(d->srv, token, CTL_E_INTERNAL, "out of memory");
        return;
    }
    *w = (struct d_waiter){ .next = d->waiters, .token = token, .conn = conn, .kind = k,
                            .max_push = max_push };
    d->waiters = w;
}

/* Maps a service error to a control error answer. */
static void fail_svc(struct ctl_call *call, int err, uint64_t conn)
{
    switch (err) {
    case -ENOENT:
        ctl_call_fail(call, CTL_E_NO_SUCH_CONN, "no connection %" PRIu64, conn);
        break;
    case -ESHUTDOWN:
        ctl_call_fail(call, CTL_E_CONN_CLOSED,
                      "connection %" PRIu64 " is shutting down or closed", conn);
        break;
    case -ENOBUFS:
        ctl_call_fail(call, CTL_E_BUSY, "worker queue full: try again");
        break;
    case -ENOSPC:
        ctl_call_fail(call, CTL_E_BUSY, "connection limit reached");
        break;
    default:
        ctl_call_fail(call, CTL_E_INTERNAL, "%s", strerror(-err));
        break;
    }
}

/* ---------------------------------------------------------------- service events */

static void on_state(void *ud, uint64_t conn, enum h3_state st)
{
    struct d_ctl *d = ud;
    struct d_waiter **pp = &d->waiters;
    struct svc_conn_info info;

    if (st != H3_STATE_ESTABLISHED || svc_conn_info(d->svc, conn, &info) != 0)
        return;
    while (*pp) {
        struct d_waiter *w = *pp;
        if (w->conn == conn && w->kind == D_W_CONNECT) {
            ctl_server_reply(d->srv, w->token,
                             json_pack("{s:I, s:s, s:i, s:s}", "conn", (json_int_t)conn,
                                       "state", "ESTABLISHED", "lcore", (int)info.lcore, "url",
                                       info.url));
            *pp = w->next;
            free(w);
            continue;
        }
        pp = &w->next;
    }
}

static void on_closed(void *ud, uint64_t conn, const struct h3_outcome *o)
{
    struct d_ctl *d = ud;
    struct d_waiter **pp = &d->waiters;
    char text[256];

    while (*pp) {
        struct d_waiter *w = *pp;
        if (w->conn != conn) {
            pp = &w->next;
            continue;
        }
        if (w->kind == D_W_CONNECT)
            ctl_server_fail(d->srv, w->token, CTL_E_FAILED, "connection %" PRIu64 " failed: %s",
                            conn, h3_outcome_str(o, text, sizeof(text)));
        else
            ctl_server_reply(d->srv, w->token, closed_json(conn, o, w->max_push));
        *pp = w->next;
        free(w);
    }
}

static const struct svc_conn_cbs d_observer = { .on_state = on_state, .on_closed = on_closed };

/* ---------------------------------------------------------------- connect */

/* A `connect` to a name, waiting for the resolver: what the request said, copied (the
 * request is freed when its handler returns). */
struct d_name_wait {
    struct d_name_wait *next;
    uint64_t token;
    struct net_url u;
    int insecure, lcore;
    char *sni, *ca, *cert, *key; /* into |strs|; NULL: not given */
    char strs[];
};

/* Opens the connection of `connect` to |addr| (the URL's literal, or an address of its
 * name). Returns the id, or 0 after failing |call| or |token|. */
static uint64_t connect_to(struct d_ctl *d, struct ctl_call *call, uint64_t token,
                           const struct net_url *u, const struct net_addr *addr,
                           const char *sni, const char *ca, const char *cert, const char *key,
                           int insecure, int lcore)
{
    struct sockaddr_storage ss;
    char url[NET_URL_MAX + 16];
    uint64_t id = 0;

    struct net_addr self = cfg_port_addr(d->cfg, addr->family);
    const char *bad = net_addr_not_peer(addr, d->dp != NULL, &self);
    char ip[NET_ADDR_STR_MAX];

    if (bad) {
        net_addr_str(addr, ip, sizeof(ip));
        if (call)
            ctl_call_fail(call, CTL_E_BAD_URL, "%s%s%s is %s, not a server",
                          u->kind == NET_HOST_NAME ? u->host : "",
                          u->kind == NET_HOST_NAME ? " resolves to " : "", ip, bad);
        else
            ctl_server_fail(d->srv, token, CTL_E_BAD_URL, "%s%s%s is %s, not a server",
                            u->kind == NET_HOST_NAME ? u->host : "",
                            u->kind == NET_HOST_NAME ? " resolves to " : "", ip, bad);
        return 0;
    }
    if (addr->family == AF_INET6 && d->dp && !dp_ipv6(d->dp)) {
        static const char no6[] = "an IPv6 address, and the DPDK port has none ([port] ip6)";

        if (call)
            ctl_call_fail(call, CTL_E_BAD_URL, no6);
        else
            ctl_server_fail(d->srv, token, CTL_E_BAD_URL, no6);
        return 0;
    }
    net_url_origin(u, url, sizeof(url));
    if (!sni && d->cfg->tls.sni[0])
        sni = d->cfg->tls.sni;
    struct svc_conn_params p = {
        .url = url, .remote = (const struct sockaddr *)&ss,
        .remote_len = net_addr_sockaddr(addr, u->port, &ss),
        /* The certificate must match --sni when given, else the URL's host: its name, or
         * its address. */
        .host = sni ? sni : u->host, .sni = sni,
        .ca_file = ca, .cert_file = cert, .key_file = key,
        .insecure = insecure, .lcore = lcore,
    };
    int rv = svc_connect(d->svc, &p, NULL, NULL, &id);
    if (rv == -EINVAL && p.lcore >= 0) {
        if (call)
            ctl_call_fail(call, CTL_E_BAD_REQUEST, "lcore %d is not a worker lcore", p.lcore);
        else
            ctl_server_fail(d->srv, token, CTL_E_BAD_REQUEST, "lcore %d is not a worker lcore",
                            p.lcore);
        return 0;
    }
    if (rv < 0) {
        if (call)
            fail_svc(call, rv, 0);
        else
            ctl_server_fail(d->srv, token, CTL_E_FAILED, "cannot connect: %s", strerror(-rv));
        return 0;
    }
    return id;
}

/* The address to connect to among a name's answers: IPv4 first (the DPDK path's). */
static const struct net_addr *first_addr(const struct net_resolv_result *res)
{
    return res->n4 ? &res->v4[0] : res->n6 ? &res->v6[0] : NULL;
}

static void h_connect(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    const struct net_url *u = &rq->url;
    const char *sni = ctl_request_str(rq, "sni"), *ca = ctl_request_str(rq, "ca_file");
    const char *cert = ctl_request_str(rq, "cert_file"), *key = ctl_request_str(rq, "key_file");
    const struct ctl_arg *ins = ctl_request_arg(rq, "insecure");
    const struct ctl_arg *lc = ctl_request_arg(rq, "lcore");
    int insecure = ins && ins->present ? ins->b : -1, lcore = lc && lc->present ? (int)lc->u : -1;
    uint32_t handshake_ms = d->cfg->h3.handshake_timeout_ms + D_CONNECT_MARGIN_MS;
    struct net_resolv_result res;
    const struct net_addr *addr = &u->addr;
    uint64_t id, token;

    if (!cert != !key) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "--cert and --key go together");
        return;
    }
    if (u->kind == NET_HOST_NAME) {
        int rv = d->dns ? d_dns_lookup(d->dns, u->host, ctl_server_now(d->srv), &res)
                        : NET_RESOLV_ERR_SERVER;
        if (rv < 0 || (rv == 0 && res.status < 0)) {
            ctl_call_fail(call, CTL_E_FAILED, "cannot resolve %s: %s", u->host,
                          d->dns ? res.why : "no resolver");
            return;
        }
        if (rv == NET_RESOLV_PENDING && !res.stale) {
            /* Wait for the answer, then connect: the token outlives both. */
            size_t need = 4 + (sni ? strlen(sni) : 0) + (ca ? strlen(ca) : 0) +
                          (cert ? strlen(cert) : 0) + (key ? strlen(key) : 0);
            struct d_name_wait *w = calloc(1, sizeof(*w) + need);
            char *p;
            uint32_t dns_ms = d->cfg->dns.timeout_ms * d->cfg->dns.attempts *
                              (d->cfg->dns.n_servers ? d->cfg->dns.n_servers : 4);
            if (!w) {
                ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
                return;
            }
            w->u = *u;
            w->insecure = insecure;
            w->lcore = lcore;
            p = w->strs;
#define D_KEEP(field, src)                                                                     \
    do {                                                                                       \
        if (src) {                                                                             \
            w->field = p;                                                                      \
            p = stpcpy(p, src) + 1;                                                            \
        }                                                                                      \
    } while (0)
            D_KEEP(sni, sni);
            D_KEEP(ca, ca);
            D_KEEP(cert, cert);
            D_KEEP(key, key);
#undef D_KEEP
            w->token = ctl_call_defer(call, dns_ms + handshake_ms);
            if (!w->token) {
                free(w);
                return;
            }
            w->next = d->name_waits;
            d->name_waits = w;
            return;
        }
        addr = first_addr(&res);
        if (!addr) {
            ctl_call_fail(call, CTL_E_FAILED, "cannot resolve %s: no address", u->host);
            return;
        }
    }
    id = connect_to(d, call, 0, u, addr, sni, ca, cert, key, insecure, lcore);
    if (!id)
        return;
    token = ctl_call_defer(call, handshake_ms);
    if (token)
        add_waiter(d, token, id, D_W_CONNECT, -1);
}

/* The resolver finished |name|: the connects waiting for it go on, or fail with why. */
static void on_resolved(void *ctx, const char *name, const struct net_resolv_result *res)
{
    struct d_ctl *d = ctx;
    struct d_name_wait **pp = &d->name_waits;

    while (*pp) {
        struct d_name_wait *w = *pp;
        const struct net_addr *addr = res->status == 0 ? first_addr(res) : NULL;
        if (strcasecmp(w->u.host, name) != 0) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        if (!addr) {
            ctl_server_fail(d->srv, w->token, CTL_E_FAILED, "cannot resolve %s: %s", name,
                            res->status < 0 ? res->why : "no address");
        } else {
            uint64_t id = connect_to(d, NULL, w->token, &w->u, addr, w->sni, w->ca, w->cert,
                                     w->key, w->insecure, w->lcore);
            if (id)
                add_waiter(d, w->token, id, D_W_CONNECT, -1);
        }
        free(w);
    }
}

void d_ctl_set_dns(struct d_ctl *d, struct d_dns *dns)
{
    d->dns = dns;
    if (dns)
        d_dns_set_done(dns, on_resolved, d);
}

/* ---------------------------------------------------------------- list, show */

/* One row of `list` at |now|: requests in flight and done, the smoothed RTT (null before a
 * sample), the time since connect, the outcome once closed. */
static json_t *conn_summary(const struct svc_conn_info *i, uint64_t now)
{
    uint64_t age_ns = now > i->started_ns ? now - i->started_ns : 0;

    return json_pack(
        "{s:I, s:s, s:s, s:i, s:I, s:I, s:o, s:I, s:o, s:o}", "id", (json_int_t)i->id, "state",
        state_name(i->state), "url", i->url, "lcore", (int)i->lcore, "in_flight",
        (json_int_t)i->requests_active, "done", (json_int_t)i->requests_done, "rtt_us",
        i->rtt_ns ? json_integer(us(i->rtt_ns)) : json_null(), "age_ms",
        (json_int_t)(age_ns / 1000000), "goaway_received", id_or_null(i->goaway_recv_id), "outcome",
        i->closed ? outcome_json(&i->outcome) : json_null());
}

json_t *d_ctl_list_json(struct d_ctl *d, bool all)
{
    json_t *a = json_array();
    uint64_t now = ctl_server_now(d->srv);
    struct svc_conn_info i;

    for (uint64_t id = svc_conn_next(d->svc, 0); id && a; id = svc_conn_next(d->svc, id))
        if (svc_conn_info(d->svc, id, &i) == 0 && (all || !i.closed))
            json_array_append_new(a, conn_summary(&i, now));
    return json_pack("{s:o}", "conns", a);
}

static void h_list(void *ctx, struct ctl_call *call)
{
    ctl_call_reply(call,
                   d_ctl_list_json(ctx, ctl_request_bool(ctl_call_request(call), "all", false)));
}

struct show_ctx {
    struct d_ctl *d;
    uint64_t token;
};

/* Datagrams by ECN codepoint (RFC 3168 names). */
static json_t *ecn_json(const struct h3_ecn_counts *e)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "not_ect", (json_int_t)e->not_ect, "ect0",
                     (json_int_t)e->ect0, "ect1", (json_int_t)e->ect1, "ce", (json_int_t)e->ce);
}

/* {"le_64": n, ..., "le_8972": n, "more": n}: datagrams by UDP payload size. */
static json_t *pkt_size_json(const uint64_t n[H3_PKT_SIZE_BUCKETS])
{
    json_t *o = json_object();

    for (unsigned i = 0; o && i < H3_PKT_SIZE_BUCKETS; i++) {
        char key[32];
        size_t b = h3_pkt_size_bound(i);

        if (b)
            snprintf(key, sizeof(key), "le_%zu", b);
        else
            snprintf(key, sizeof(key), "more");
        json_object_set_new(o, key, json_integer((json_int_t)n[i]));
    }
    return o;
}

static void show_done(void *ud, uint64_t conn, int err, const struct h3_stats *st)
{
    struct show_ctx *sc = ud;
    struct d_ctl *d = sc->d;
    struct svc_conn_info i;

    if (err < 0 || svc_conn_info(d->svc, conn, &i) != 0) {
        ctl_server_fail(d->srv, sc->token, CTL_E_NO_SUCH_CONN, "no connection %" PRIu64, conn);
        free(sc);
        return;
    }
    json_t *r = json_pack(
        "{s:I, s:s, s:s, s:i, s:s, s:s, s:s,"
        " s:{s:I, s:I, s:I}, s:I, s:I,"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:I},"
        " s:{s:I, s:i}, s:{s:o, s:o}}",
        "conn", (json_int_t)conn, "state", state_name(st->state), "url", i.url, "lcore",
        (int)i.lcore, "alpn", st->alpn, "tls_version", st->tls_version, "tls_cipher",
        st->tls_cipher,
        "rtt", "min_us", us(st->rtt_min_ns), "smoothed_us", us(st->rtt_smoothed_ns), "var_us",
        us(st->rtt_var_ns), "cwnd", (json_int_t)st->cwnd, "bytes_in_flight",
        (json_int_t)st->bytes_in_flight,
        "packets", "sent", (json_int_t)st->pkts_sent, "recv", (json_int_t)st->pkts_recv,
        "recv_dropped", (json_int_t)st->pkts_recv_dropped, "lost", (json_int_t)st->pkts_lost,
        "bytes_sent", (json_int_t)st->bytes_sent, "bytes_recv", (json_int_t)st->bytes_recv,
        "requests", "open", (json_int_t)st->streams_open, "queued",
        (json_int_t)st->requests_queued, "started", (json_int_t)st->requests_started,
        "completed", (json_int_t)st->requests_completed, "failed",
        (json_int_t)st->requests_failed, "not_processed", (json_int_t)st->requests_not_processed,
        "cancelled", (json_int_t)st->requests_cancelled, "conn_closed",
        (json_int_t)st->requests_conn_closed, "in_service", (json_int_t)i.requests_active,
        "body", "sent", (json_int_t)st->body_bytes_sent, "recv", (json_int_t)st->body_bytes_recv,
        "push_limit", "requested", (json_int_t)st->max_push_requested, "effective",
        (int)st->max_push_effective,
        "goaway", "sent_id", id_or_null(st->goaway_sent_id), "received_id",
        id_or_null(st->goaway_recv_id >= 0 ? st->goaway_recv_id : i.goaway_recv_id));
    if (r) {
        char text[128];
        json_object_set_new(
            r, "resumption",
            json_pack("{s:b, s:s, s:I, s:I, s:I, s:s}", "resumed", st->resumed, "early_data",
                      h3_early_data_str(st->early_data), "requests_early",
                      (json_int_t)st->requests_early, "requests_early_resent",
                      (json_int_t)st->requests_early_resent, "tickets_received",
                      (json_int_t)st->tickets_received, "summary",
                      h3_stats_resumption_str(st, text, sizeof(text))));
    }
    if (r)
        json_object_set_new(r, "ecn",
                            json_pack("{s:o, s:o}", "rx", ecn_json(&st->ecn_rx), "tx",
                                      ecn_json(&st->ecn_tx)));
    if (r)
        json_object_set_new(r, "pkt_size",
                            json_pack("{s:o, s:o}", "tx", pkt_size_json(st->pkt_size_tx), "rx",
                                      pkt_size_json(st->pkt_size_rx)));
    if (r)
        json_object_set_new(r, "path",
                            json_pack("{s:I, s:I}", "max_udp_payload",
                                      (json_int_t)st->max_udp_payload, "packet_too_big",
                                      (json_int_t)st->pmtu_reports));
    if (r)
        json_object_set_new(r, "keys",
                            json_pack("{s:i, s:I}", "phase", (int)st->key_phase, "updates",
                                      (json_int_t)st->key_updates));
    if (r && (i.closed || st->state == H3_STATE_CLOSED))
        json_object_set_new(r, "outcome", outcome_json(i.closed ? &i.outcome : &st->outcome));
    if (r)
        ctl_server_reply(d->srv, sc->token, r);
    else
        ctl_server_fail(d->srv, sc->token, CTL_E_INTERNAL, "out of memory");
    free(sc);
}

static void h_show(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    uint64_t conn = ctl_request_u64(ctl_call_request(call), "conn", 0);
    struct svc_conn_info i;

    if (svc_conn_info(d->svc, conn, &i) != 0) {
        fail_svc(call, -ENOENT, conn);
        return;
    }
    struct show_ctx *sc = calloc(1, sizeof(*sc));
    if (!sc) {
        ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
        return;
    }
    sc->d = d;
    int rv = svc_conn_stats(d->svc, conn, show_done, sc);
    if (rv < 0) {
        free(sc);
        fail_svc(call, rv, conn);
        return;
    }
    /* The worker answers within a loop iteration; the token lives until then. */
    sc->token = ctl_call_defer(call, 0);
}

/* ---------------------------------------------------------------- request */

struct d_req {
    struct svc_req r;
    struct d_ctl *d;
    uint64_t token, conn;
    struct h3_header hdrs[CTL_HEADERS_MAX];
    char *strings;      /* header names and values */
    uint8_t *body;      /* inline body copy */
    void *map;          /* body_file mapping */
    size_t map_len;
};

static void d_req_free(struct d_req *q)
{
    if (q->map)
        munmap(q->map, q->map_len);
    free(q->body);
    free(q->strings);
    free(q);
}

static json_t *headers_json(const char *text, size_t len)
{
    json_t *a = json_array();
    const char *p = text, *end = text + len;

    while (a && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        /* ":status: 200": a pseudo-header's name starts with the colon. */
        const char *from = p < line_end && *p == ':' ? p + 1 : p;
        const char *colon = memchr(from, ':', (size_t)(line_end - from));
        if (colon) {
            const char *v = colon + 1;
            while (v < line_end && *v == ' ')
                v++;
            json_array_append_new(a, json_pack("[s#, s#]", p, (int)(colon - p), v,
                                               (int)(line_end - v)));
        }
        p = line_end + 1;
    }
    return a;
}

static void req_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct d_req *q = ud;
    struct d_ctl *d = q->d;
    char hex[65];
    (void)r;

    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", res->body_sha256[i]);
    if (res->o.result != H3_REQ_COMPLETED) {
        if (res->err)
            ctl_server_fail(d->srv, q->token, CTL_E_FAILED, "request refused: %s",
                            h3_strerror(res->err));
        else
            ctl_server_fail(d->srv, q->token, CTL_E_FAILED,
                            "request %s (HTTP/3 code 0x%" PRIx64 ", %" PRIu64
                            " body bytes acknowledged)",
                            h3_req_result_str(res->o.result), res->o.code, res->o.body_sent);
    } else {
        json_t *out = json_pack("{s:I, s:i, s:o, s:I, s:s, s:I, s:I, s:I}", "conn",
                                (json_int_t)q->conn, "status", res->o.status, "headers",
                                headers_json(res->headers ? res->headers : "",
                                             res->headers_len),
                                "body_bytes", (json_int_t)res->o.body_recv, "body_sha256", hex,
                                "body_sent", (json_int_t)res->o.body_sent, "stream_id",
                                (json_int_t)res->o.stream_id, "rtt_us", us(res->rtt_ns));
        if (out)
            ctl_server_reply(d->srv, q->token, out);
        else
            ctl_server_fail(d->srv, q->token, CTL_E_INTERNAL, "out of memory");
    }
    d_req_free(q);
}

/* Maps |path| read-only into |q|. Returns 0 or fails the call. */
static int map_body_file(struct ctl_call *call, struct d_req *q, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        ctl_call_fail(call, CTL_E_FAILED, "body_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ctl_call_fail(call, CTL_E_FAILED, "body_file %s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_size > 0) {
        q->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (q->map == MAP_FAILED) {
            q->map = NULL;
            ctl_call_fail(call, CTL_E_FAILED, "body_file %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        q->map_len = (size_t)st.st_size;
        q->r.body = q->map;
        q->r.body_len = q->map_len;
    }
    close(fd);
    return 0;
}

static void h_request(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    uint64_t conn = ctl_request_u64(rq, "conn", 0);
    const struct ctl_arg *hd = ctl_request_arg(rq, "headers");
    const char *body = ctl_request_str(rq, "body"), *file = ctl_request_str(rq, "body_file");
    uint64_t timeout_ms = ctl_request_u64(rq, "timeout", 0);
    struct svc_conn_info i;

    if (svc_conn_info(d->svc, conn, &i) != 0) {
        fail_svc(call, -ENOENT, conn);
        return;
    }
    if (i.closed || i.state >= H3_STATE_DRAINING) {
        fail_svc(call, -ESHUTDOWN, conn);
        return;
    }
    struct d_req *q = calloc(1, sizeof(*q));
    if (!q) {
        ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
        return;
    }
    q->d = d;
    q->conn = conn;
    /* Copies: the request's JSON is freed when this handler returns. */
    const char *method = ctl_request_str(rq, "method"), *path = ctl_request_str(rq, "path");
    size_t need = strlen(method) + strlen(path) + 2;
    size_t nh = hd && hd->present ? json_array_size(hd->j) : 0;
    for (size_t k = 0; k < nh; k++)
        need += strlen(json_string_value(json_array_get(json_array_get(hd->j, k), 0))) +
                strlen(json_string_value(json_array_get(json_array_get(hd->j, k), 1))) + 2;
    q->strings = malloc(need);
    if (!q->strings) {
        d_req_free(q);
        ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
        return;
    }
    char *p = q->strings;
#define D_COPY(dst, src)                                                                       \
    do {                                                                                       \
        size_t n_ = strlen(src) + 1;                                                           \
        memcpy(p, (src), n_);                                                                  \
        (dst) = p;                                                                             \
        p += n_;                                                                               \
    } while (0)
    D_COPY(q->r.method, method);
    D_COPY(q->r.path, path);
    for (size_t k = 0; k < nh; k++) {
        json_t *pair = json_array_get(hd->j, k);
        D_COPY(q->hdrs[k].name, json_string_value(json_array_get(pair, 0)));
        D_COPY(q->hdrs[k].value, json_string_value(json_array_get(pair, 1)));
    }
#undef D_COPY
    q->r.headers = q->hdrs;
    q->r.n_headers = nh;
    if (body && body[0]) {
        q->r.body_len = strlen(body);
        q->body = malloc(q->r.body_len);
        if (!q->body) {
            d_req_free(q);
            ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
            return;
        }
        memcpy(q->body, body, q->r.body_len);
        q->r.body = q->body;
    } else if (file && map_body_file(call, q, file) < 0) {
        d_req_free(q);
        return;
    }
    q->r.keep_response = true;
    q->r.timeout_ns = timeout_ms * 1000000ull;
    q->r.done = req_done;
    q->r.ud = q;
    int rv = svc_request(d->svc, conn, &q->r);
    if (rv < 0) {
        d_req_free(q);
        fail_svc(call, rv, conn);
        return;
    }
    /* The request runs until it completes; the answer is dropped if it comes too late. */
    q->token = ctl_call_defer(call, timeout_ms ? (uint32_t)timeout_ms + D_WAIT_MARGIN_MS
                                               : D_REQUEST_DEFAULT_MS);
}

/* ---------------------------------------------------------------- shutdown, close, wait */

/* The connection |conn| for a command that needs it open; fails the call otherwise. */
static bool need_open(struct d_ctl *d, struct ctl_call *call, uint64_t conn)
{
    struct svc_conn_info i;

    if (svc_conn_info(d->svc, conn, &i) != 0) {
        fail_svc(call, -ENOENT, conn);
        return false;
    }
    if (i.closed) {
        ctl_call_fail(call, CTL_E_CONN_CLOSED, "connection %" PRIu64 " is closed (%s)", conn,
                      i.outcome.ok ? "ok" : "error");
        return false;
    }
    return true;
}

static void h_shutdown(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    uint64_t conn = ctl_request_u64(rq, "conn", 0);
    uint64_t max_push = ctl_request_u64(rq, "max_push", 0);
    uint64_t timeout_ms = ctl_request_u64(rq, "timeout", d->cfg->h3.shutdown_timeout_ms);

    if (!need_open(d, call, conn))
        return;
    int rv = svc_shutdown(d->svc, conn, max_push, timeout_ms * 1000000ull);
    if (rv < 0) {
        fail_svc(call, rv, conn);
        return;
    }
    if (!ctl_request_bool(rq, "wait", false)) {
        ctl_call_reply(call, json_pack("{s:I, s:s, s:{s:I, s:i}}", "conn", (json_int_t)conn,
                                       "state", "DRAINING", "push_limit", "requested",
                                       (json_int_t)max_push, "effective", 0));
        return;
    }
    uint64_t token = ctl_call_defer(call, timeout_ms ? (uint32_t)timeout_ms + D_WAIT_MARGIN_MS
                                                     : D_FOREVER_MS);
    if (token)
        add_waiter(d, token, conn, D_W_CLOSED, (int64_t)max_push);
}

static void h_close(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    uint64_t conn = ctl_request_u64(rq, "conn", 0);

    if (!need_open(d, call, conn))
        return;
    int rv = svc_close(d->svc, conn, ctl_request_u64(rq, "error", H3_H3_NO_ERROR),
                       "closed by the operator");
    if (rv < 0) {
        fail_svc(call, rv, conn);
        return;
    }
    uint64_t token = ctl_call_defer(call, D_WAIT_MARGIN_MS);
    if (token)
        add_waiter(d, token, conn, D_W_CLOSED, -1);
}

static void h_wait(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    uint64_t conn = ctl_request_u64(rq, "conn", 0);
    const struct ctl_arg *t = ctl_request_arg(rq, "timeout");
    struct svc_conn_info i;

    if (svc_conn_info(d->svc, conn, &i) != 0) {
        fail_svc(call, -ENOENT, conn);
        return;
    }
    if (i.closed) {
        ctl_call_reply(call, closed_json(conn, &i.outcome, -1));
        return;
    }
    uint64_t token = ctl_call_defer(call, t && t->present ? (uint32_t)t->u : D_FOREVER_MS);
    if (token)
        add_waiter(d, token, conn, D_W_CLOSED, -1);
}

/* ---------------------------------------------------------------- stats, quit */

static int mempool_cb_count;

static void mempool_add(struct rte_mempool *mp, void *arg)
{
    json_t *a = arg;
    if (mempool_cb_count++ >= 16)
        return;
    json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I}", "name", mp->name, "size",
                                       (json_int_t)mp->size, "available",
                                       (json_int_t)rte_mempool_avail_count(mp), "in_use",
                                       (json_int_t)rte_mempool_in_use_count(mp)));
}

json_t *d_ctl_stats_json(struct d_ctl *d)
{
    struct svc_worker_stats ws[SVC_MAX_WORKERS];
    unsigned n = svc_worker_stats(d->svc, ws, SVC_MAX_WORKERS);
    json_t *lc = json_array();
    uint64_t known = 0;

    for (unsigned k = 0; k < n && lc; k++)
        json_array_append_new(
            lc, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "lcore",
                          (int)ws[k].lcore, "role", "worker", "conns", (json_int_t)ws[k].conns,
                          "requests", (json_int_t)ws[k].requests, "busy_cycles",
                          (json_int_t)ws[k].busy_cycles, "idle_cycles",
                          (json_int_t)ws[k].idle_cycles, "cpu_ms",
                          (json_int_t)(ws[k].cpu_ns / 1000000), "arena_bytes",
                          (json_int_t)ws[k].arena_bytes, "arena_peak",
                          (json_int_t)ws[k].arena_peak, "pkts_rx", (json_int_t)ws[k].pkts_rx));
    for (uint64_t id = svc_conn_next(d->svc, 0); id; id = svc_conn_next(d->svc, id))
        known++;
    json_t *r = json_pack("{s:s, s:o, s:{s:I, s:I}, s:o}", "io", d->dp ? "dpdk" : "kernel",
                          "lcores", lc, "conns", "active", (json_int_t)svc_conns_active(d->svc),
                          "known", (json_int_t)known, "control",
                          ctl_server_stats_json(d->srv));
    struct h3_session_cache_stats sc;
    if (r && svc_session_stats(d->svc, &sc))
        json_object_set_new(
            r, "session_cache",
            json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "dir",
                      d->cfg->tls.session_dir[0] ? d->cfg->tls.session_dir : NULL, "entries",
                      (json_int_t)sc.entries, "stored", (json_int_t)sc.stored, "taken",
                      (json_int_t)sc.taken, "evicted", (json_int_t)sc.evicted, "loaded",
                      (json_int_t)sc.loaded, "load_rejected", (json_int_t)sc.load_rejected,
                      "saved", (json_int_t)sc.saved, "save_errors",
                      (json_int_t)sc.save_errors));
    if (r && d->up)
        json_object_set_new(r, "upload", up_stats_json(d->up, ctl_server_now(d->srv)));
    if (r && d->dns)
        json_object_set_new(r, "dns", d_dns_stats_json(d->dns));
    if (r && d->reload)
        json_object_set_new(r, "reload", d_reload_json(d->reload));
    if (r && d->dp) {
        struct rte_eth_stats es;
        uint16_t port;
        const char *dev = d->cfg->port.device_name;
        if (rte_eth_dev_get_port_by_name(dev, &port) == 0 && rte_eth_stats_get(port, &es) == 0)
            json_object_set_new(
                r, "port",
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", dev,
                          "rx_packets", (json_int_t)es.ipackets, "tx_packets",
                          (json_int_t)es.opackets, "rx_bytes", (json_int_t)es.ibytes,
                          "tx_bytes", (json_int_t)es.obytes, "rx_missed",
                          (json_int_t)es.imissed, "rx_errors", (json_int_t)es.ierrors,
                          "tx_errors", (json_int_t)es.oerrors, "rx_nombuf",
                          (json_int_t)es.rx_nombuf));
        json_t *pj = json_object_get(r, "port");
        const char *why = dp_steering(d->dp);
        if (pj) { /* RSS read back from the NIC, or software steering and why */
            json_object_set_new(pj, "steering", json_string(why ? "software" : "rss"));
            if (why)
                json_object_set_new(pj, "steering_why", json_string(why));
        }
        json_t *mp = json_array();
        mempool_cb_count = 0;
        rte_mempool_walk(mempool_add, mp);
        json_object_set_new(r, "mempools", mp);
        json_object_set_new(r, "dataplane", d_dp_counters_json(d->dp));
    }
    return r;
}

static void h_stats(void *ctx, struct ctl_call *call)
{
    json_t *r = d_ctl_stats_json(ctx);
    if (r)
        ctl_call_reply(call, r);
    else
        ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
}

static void h_quit(void *ctx, struct ctl_call *call)
{
    struct d_ctl *d = ctx;
    uid_t uid = 0;
    pid_t pid = 0;

    ctl_call_peer(call, &uid, &pid);
    D_LOG(NOTICE, "quit requested by uid %u (pid %d)", (unsigned)uid, (int)pid);
    d->quit = true;
    ctl_call_reply(call, json_pack("{s:s, s:I}", "state", "exiting", "conns",
                                   (json_int_t)svc_conns_active(d->svc)));
}

bool d_ctl_quit_requested(const struct d_ctl *d)
{
    return d->quit;
}

/* ---------------------------------------------------------------- life cycle */

struct d_ctl *d_ctl_new(const struct cfg *cfg, struct svc *svc, struct dp *dp,
                        struct ctl_server *srv, int *err)
{
    static const struct {
        const char *name;
        ctl_handler_fn *fn;
    } h[] = {
        { "connect", h_connect }, { "list", h_list },   { "show", h_show },
        { "request", h_request }, { "shutdown", h_shutdown }, { "close", h_close },
        { "wait", h_wait },       { "stats", h_stats }, { "quit", h_quit },
    };
    struct d_ctl *d = calloc(1, sizeof(*d));
    int rv = -ENOMEM;

    if (!d)
        goto fail;
    d->cfg = cfg;
    d->svc = svc;
    d->dp = dp;
    d->srv = srv;
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        if ((rv = ctl_server_register(srv, h[i].name, h[i].fn, d)) < 0)
            goto fail_free;
    if ((rv = d_dp_register(srv, dp)) < 0)
        goto fail_free;
    svc_set_observer(svc, &d_observer, d);
    return d;

fail_free:
    free(d);
fail:
    *err = rv;
    return NULL;
}

void d_ctl_del(struct d_ctl *d)
{
    if (!d)
        return;
    while (d->waiters) {
        struct d_waiter *w = d->waiters;
        d->waiters = w->next;
        ctl_server_fail(d->srv, w->token, CTL_E_FAILED, "the daemon is exiting");
        free(w);
    }
    while (d->name_waits) {
        struct d_name_wait *w = d->name_waits;
        d->name_waits = w->next;
        ctl_server_fail(d->srv, w->token, CTL_E_FAILED, "the daemon is exiting");
        free(w);
    }
    if (d->dns)
        d_dns_set_done(d->dns, NULL, NULL);
    svc_set_observer(d->svc, NULL, NULL);
    free(d);
}
