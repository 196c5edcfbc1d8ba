/* net_resolv.c: the sans-IO DNS stub resolver (see net_resolv.h). c-ares builds and
 * parses the messages; this file reads only the header and the question. */
#include "net_resolv.h"

#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"

/* RFC 1035 §4.1.1: the header; flags in its bytes 2 and 3. */
#define DNS_HDR_LEN        12
#define DNS_OFF_FLAGS1     2
#define DNS_OFF_FLAGS2     3
#define DNS_OFF_QDCOUNT    4
#define DNS_FLAG_QR        0x80 /* flags1: a response */
#define DNS_OPCODE_MASK    0x78 /* flags1: 0 = QUERY */
#define DNS_FLAG_TC        0x02 /* flags1: truncated */
#define DNS_RCODE_MASK     0x0f /* flags2 */
#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5
#define DNS_QFIXED_LEN     4  /* QTYPE, QCLASS (RFC 1035 §4.1.2) */
#define DNS_CLASS_IN       1  /* RFC 1035 §3.2.4 */
#define DNS_TYPE_A         1  /* RFC 1035 §3.2.2 */
#define DNS_TYPE_AAAA      28 /* RFC 3596 §2.1 */
/* Our longest query: header, the name's wire form (length octets and the root), QTYPE,
 * QCLASS. */
#define QUERY_MAX (DNS_HDR_LEN + NET_HOST_MAX + 2 + DNS_QFIXED_LEN)

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

/* Bounds of the configuration. */
#define TIMEOUT_MS_MAX 60000
#define ATTEMPTS_MAX   5

enum { QA = 0, QAAAA = 1, NQ = 2 };

enum rq_state { RQ_IDLE = 0, RQ_WAIT, RQ_DONE };

/* Why attempts failed, in rising order of what tells the operator most: the final error
 * of a query is the highest kind seen (an answer says more than silence). */
enum fail_kind { FAIL_NONE = 0, FAIL_SEND, FAIL_TIMEOUT, FAIL_SERVER, FAIL_TRUNCATED };

/* One query (A or AAAA) of a name. */
struct rq {
    uint64_t deadline;   /* RQ_WAIT: end of the current attempt */
    uint32_t ttl;        /* least TTL of the addresses, s */
    int status;          /* RQ_DONE: 0 (addresses), NET_RESOLV_ERR_* */
    int send_err;        /* the I/O callback's last error */
    uint16_t id;         /* kept over every attempt */
    uint16_t len;        /* of msg */
    uint8_t state;       /* enum rq_state */
    uint8_t tries;       /* attempts made */
    uint8_t cur;         /* server of the current attempt */
    uint8_t sent;        /* mask of the servers a datagram went to */
    bool cur_sent;       /* the current attempt's datagram went out */
    uint8_t fail;        /* enum fail_kind */
    uint8_t fail_server; /* the server behind |fail| */
    uint8_t fail_rcode;  /* FAIL_SERVER: its RCODE */
    uint8_t from;        /* RQ_DONE by an answer: its server */
    uint8_t naddr;
    struct net_addr addr[NET_RESOLV_MAX_ADDRS];
    uint8_t msg[QUERY_MAX];
};

/* A name: its cached result and its query set. name[0] == 0: a free slot. */
struct entry {
    char name[NET_HOST_MAX + 1]; /* lowercase */
    bool inflight;
    bool have;     /* |res| holds a completed answer (maybe expired) */
    uint64_t used; /* LRU tick */
    struct net_resolv_result res;
    struct rq q[NQ];
};

struct net_resolv {
    struct net_resolv_conf conf;
    struct net_resolv_io io;
    void *io_ctx;
    net_resolv_done_fn *done;
    void *done_ctx;
    uint64_t timeout_ns;
    uint64_t tick;
    struct net_resolv_stats st;
    struct entry e[NET_RESOLV_CACHE_MAX];
};

static const uint16_t qtype[NQ] = {DNS_TYPE_A, DNS_TYPE_AAAA};

const char *net_resolv_strerror(int err)
{
    switch (err) {
    case NET_RESOLV_OK:
        return "success";
    case NET_RESOLV_PENDING:
        return "pending";
    case NET_RESOLV_ERR_INVAL:
        return "invalid argument";
    case NET_RESOLV_ERR_NOMEM:
        return "out of memory";
    case NET_RESOLV_ERR_NAME:
        return "not a host name";
    case NET_RESOLV_ERR_FULL:
        return "too many lookups in flight";
    case NET_RESOLV_ERR_RANDOM:
        return "no random query id";
    case NET_RESOLV_ERR_NXDOMAIN:
        return "no such name (NXDOMAIN)";
    case NET_RESOLV_ERR_NOADDR:
        return "no address (no A or AAAA record)";
    case NET_RESOLV_ERR_SERVER:
        return "DNS server failure";
    case NET_RESOLV_ERR_TRUNCATED:
        return "truncated answer (no TCP fallback)";
    case NET_RESOLV_ERR_TIMEOUT:
        return "DNS timeout";
    case NET_RESOLV_ERR_SEND:
        return "cannot send DNS queries";
    case NET_RESOLV_ERR_DROPPED:
        return "datagram dropped";
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

void net_resolv_conf_default(struct net_resolv_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 2000;
    c->attempts = 2;
    c->ttl_floor_s = 5;
    c->ttl_ceiling_s = 3600;
    c->negative_ttl_s = 30;
    c->failure_ttl_s = 5;
}

static int conf_check(const struct net_resolv_conf *c)
{
    if (c->nservers < 1 || c->nservers > NET_RESOLV_MAX_SERVERS)
        return NET_RESOLV_ERR_INVAL;
    for (unsigned i = 0; i < c->nservers; i++) {
        const struct net_addr *a = &c->servers[i].addr;
        if ((a->family != AF_INET && a->family != AF_INET6) || net_addr_not_unicast(a))
            return NET_RESOLV_ERR_INVAL;
    }
    if (c->timeout_ms < 1 || c->timeout_ms > TIMEOUT_MS_MAX)
        return NET_RESOLV_ERR_INVAL;
    if (c->attempts < 1 || c->attempts > ATTEMPTS_MAX)
        return NET_RESOLV_ERR_INVAL;
    if (c->ttl_floor_s > c->ttl_ceiling_s)
        return NET_RESOLV_ERR_INVAL;
    if (c->failure_ttl_s < 1 || c->failure_ttl_s > 300) /* RFC 9520 §3.2, §3.3 */
        return NET_RESOLV_ERR_INVAL;
    return 0;
}

int net_resolv_new(const struct net_resolv_conf *conf, const struct net_resolv_io *io, void *io_ctx,
                   net_resolv_done_fn *done, void *done_ctx, struct net_resolv **out)
{
    struct net_resolv *r;

    if (out == NULL)
        return NET_RESOLV_ERR_INVAL;
    *out = NULL;
    if (conf == NULL || io == NULL || io->send == NULL || done == NULL || conf_check(conf))
        return NET_RESOLV_ERR_INVAL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NET_RESOLV_ERR_NOMEM;
    r->conf = *conf;
    for (unsigned i = 0; i < r->conf.nservers; i++)
        if (r->conf.servers[i].port == 0)
            r->conf.servers[i].port = NET_RESOLV_DNS_PORT;
    r->io = *io;
    r->io_ctx = io_ctx;
    r->done = done;
    r->done_ctx = done_ctx;
    r->timeout_ns = (uint64_t)conf->timeout_ms * NS_PER_MS;
    *out = r;
    return 0;
}

void net_resolv_del(struct net_resolv *r)
{
    free(r);
}

/* "198.18.0.1:53", "[2001:db8::53]:53". */
static const char *server_str(const struct net_resolv *r, unsigned i, char *buf, size_t len)
{
    const struct net_resolv_server *s = &r->conf.servers[i];
    char a[NET_ADDR_STR_MAX];

    net_addr_str(&s->addr, a, sizeof(a));
    snprintf(buf, len, s->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, (unsigned)s->port);
    return buf;
}

static int set_why(struct net_resolv_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_why(struct net_resolv_result *res, int status, const char *fmt, ...)
{
    va_list ap;

    res->status = status;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof(res->why), fmt, ap);
    va_end(ap);
    return status;
}

/* Checks |name| and writes its lowercase form into |key|. */
static int name_key(const char *name, char key[NET_HOST_MAX + 1], struct net_resolv_result *res)
{
    char why[128] = "";
    struct net_addr a;

    if (net_addr_parse(name, &a) == 0)
        return set_why(res, NET_RESOLV_ERR_NAME,
                       "%.*s: an IP address, not a name (nothing to resolve)", NET_HOST_MAX, name);
    if (net_host_name_check(name, why, sizeof(why)) != 0)
        return set_why(res, NET_RESOLV_ERR_NAME, "%.*s: %s", NET_HOST_MAX, name, why);
    size_t i;
    for (i = 0; name[i] != '\0'; i++)
        key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    key[i] = '\0';
    return 0;
}

static struct entry *entry_find(struct net_resolv *r, const char *key)
{
    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++)
        if (r->e[i].name[0] != '\0' && strcmp(r->e[i].name, key) == 0)
            return &r->e[i];
    return NULL;
}

/* A free slot, else the least recently used name that is not in flight; NULL when every
 * slot is in flight. */
static struct entry *entry_take(struct net_resolv *r, const char *key)
{
    struct entry *victim = NULL;

    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++) {
        struct entry *e = &r->e[i];
        if (e->name[0] == '\0') {
            victim = e;
            break;
        }
        if (!e->inflight && (victim == NULL || e->used < victim->used))
            victim = e;
    }
    if (victim == NULL)
        return NULL;
    if (victim->name[0] != '\0')
        r->st.evictions++;
    memset(victim, 0, sizeof(*victim));
    snprintf(victim->name, sizeof(victim->name), "%s", key);
    return victim;
}

static bool id_in_use(const struct net_resolv *r, uint16_t id)
{
    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++)
        for (int k = 0; k < NQ; k++)
            if (r->e[i].q[k].state == RQ_WAIT && r->e[i].q[k].id == id)
                return true;
    return false;
}

/* A random id that no query in flight uses, nor |sibling| (the id of the set's other
 * query, built but not sent yet; NULL: none). At most 2 * NET_RESOLV_CACHE_MAX of the 65536
 * are taken, so a few draws are plenty. */
static int new_id(const struct net_resolv *r, const uint16_t *sibling, uint16_t *id)
{
    for (int i = 0; i < 16; i++) {
        if (crypto_random(id, sizeof(*id)) != 0)
            return NET_RESOLV_ERR_RANDOM;
        if (!id_in_use(r, *id) && (sibling == NULL || *id != *sibling))
            return 0;
    }
    return NET_RESOLV_ERR_RANDOM;
}

/* Builds the query of type |k| for |e| (c-ares encodes it; RD set, no EDNS). The A query
 * is built first. */
static int rq_build(struct net_resolv *r, struct entry *e, int k)
{
    struct rq *q = &e->q[k];
    unsigned char *buf = NULL;
    int len = 0, rc;

    memset(q, 0, sizeof(*q));
    rc = new_id(r, k == QAAAA ? &e->q[QA].id : NULL, &q->id);
    if (rc != 0)
        return rc;
    rc = ares_create_query(e->name, DNS_CLASS_IN, qtype[k], q->id, 1, &buf, &len, 0);
    if (rc != ARES_SUCCESS)
        return rc == ARES_ENOMEM ? NET_RESOLV_ERR_NOMEM : NET_RESOLV_ERR_NAME;
    if (len < DNS_HDR_LEN || (size_t)len > sizeof(q->msg)) {
        ares_free_string(buf);
        return NET_RESOLV_ERR_NAME;
    }
    memcpy(q->msg, buf, (size_t)len);
    q->len = (uint16_t)len;
    ares_free_string(buf);
    return 0;
}

/* Makes the next attempt: the next server in turn, a fresh deadline. A refused datagram
 * is a lost one: the deadline still runs. */
static void rq_send(struct net_resolv *r, struct rq *q, uint64_t now)
{
    const struct net_resolv_server *s;
    int rc;

    q->cur = (uint8_t)(q->tries % r->conf.nservers);
    q->tries++;
    q->state = RQ_WAIT;
    q->deadline = now + r->timeout_ns;
    s = &r->conf.servers[q->cur];
    rc = r->io.send(r->io_ctx, &s->addr, s->port, q->msg, q->len);
    if (rc < 0) {
        r->st.send_errors++;
        q->cur_sent = false;
        q->send_err = rc;
        return;
    }
    r->st.queries_sent++;
    q->cur_sent = true;
    q->sent |= (uint8_t)(1u << q->cur);
}

static void rq_done(struct rq *q, int status, unsigned from)
{
    q->state = RQ_DONE;
    q->status = status;
    q->from = (uint8_t)from;
}

static const char *rcode_str(unsigned rcode)
{
    switch (rcode) {
    case DNS_RCODE_FORMERR:
        return "FORMERR (format error)";
    case DNS_RCODE_SERVFAIL:
        return "SERVFAIL (server failure)";
    case DNS_RCODE_NOTIMP:
        return "NOTIMP (not implemented)";
    case DNS_RCODE_REFUSED:
        return "REFUSED (query refused)";
    default:
        return NULL;
    }
}

static unsigned popcount8(uint8_t m)
{
    unsigned n = 0;
    for (; m; m &= (uint8_t)(m - 1))
        n++;
    return n;
}

/* The operator's line for a query that failed (status not 0). */
static void rq_why(const struct net_resolv *r, const struct entry *e, const struct rq *q,
                   struct net_resolv_result *res)
{
    char srv[NET_ADDR_STR_MAX];
    const char *rs;

    switch (q->status) {
    case NET_RESOLV_ERR_NXDOMAIN:
        set_why(res, q->status, "%s: NXDOMAIN (no such name) from %s", e->name,
                server_str(r, q->from, srv, sizeof(srv)));
        break;
    case NET_RESOLV_ERR_NOADDR:
        set_why(res, q->status, "%s: no address (no A or AAAA record) from %s", e->name,
                server_str(r, q->from, srv, sizeof(srv)));
        break;
    case NET_RESOLV_ERR_SERVER:
        rs = rcode_str(q->fail_rcode);
        if (rs != NULL)
            set_why(res, q->status, "%s: %s from %s", e->name, rs,
                    server_str(r, q->fail_server, srv, sizeof(srv)));
        else
            set_why(res, q->status, "%s: RCODE %u from %s", e->name, (unsigned)q->fail_rcode,
                    server_str(r, q->fail_server, srv, sizeof(srv)));
        break;
    case NET_RESOLV_ERR_TRUNCATED:
        set_why(res, q->status, "%s: truncated answer (no TCP fallback) from %s", e->name,
                server_str(r, q->fail_server, srv, sizeof(srv)));
        break;
    case NET_RESOLV_ERR_TIMEOUT:
        set_why(res, q->status, "%s: timeout (no answer from %u server(s))", e->name,
                popcount8(q->sent));
        break;
    case NET_RESOLV_ERR_SEND:
        set_why(res, q->status, "%s: cannot send a query to any server (last: %s: %s)", e->name,
                server_str(r, q->fail_server, srv, sizeof(srv)), net_resolv_strerror(q->send_err));
        break;
    default:
        set_why(res, q->status, "%s: %s", e->name, net_resolv_strerror(q->status));
        break;
    }
}

static bool rq_transient(const struct rq *q)
{
    return q->status != 0 && q->status != NET_RESOLV_ERR_NXDOMAIN &&
           q->status != NET_RESOLV_ERR_NOADDR;
}

static uint32_t clamp_ttl(const struct net_resolv *r, uint32_t ttl)
{
    if (ttl < r->conf.ttl_floor_s)
        return r->conf.ttl_floor_s;
    if (ttl > r->conf.ttl_ceiling_s)
        return r->conf.ttl_ceiling_s;
    return ttl;
}

/* Combines the two done queries into the name's result, with how long it is kept: an
 * answer for its TTL, NXDOMAIN or "no address" for negative_ttl_s, a transient failure for
 * failure_ttl_s. */
static void entry_result(const struct net_resolv *r, const struct entry *e, uint64_t now,
                         struct net_resolv_result *res)
{
    const struct rq *a = &e->q[QA], *aaaa = &e->q[QAAAA];
    const struct rq *bad;

    memset(res, 0, sizeof(*res));
    res->n4 = a->naddr;
    memcpy(res->v4, a->addr, sizeof(a->addr[0]) * a->naddr);
    res->n6 = aaaa->naddr;
    memcpy(res->v6, aaaa->addr, sizeof(aaaa->addr[0]) * aaaa->naddr);
    if (res->n4 + res->n6 > 0) {
        uint32_t ttl = UINT32_MAX;
        if (a->naddr > 0)
            ttl = a->ttl;
        if (aaaa->naddr > 0 && aaaa->ttl < ttl)
            ttl = aaaa->ttl;
        res->ttl = clamp_ttl(r, ttl);
        res->expires = now + (uint64_t)res->ttl * NS_PER_S;
        return;
    }
    if (a->status == NET_RESOLV_ERR_NXDOMAIN || aaaa->status == NET_RESOLV_ERR_NXDOMAIN)
        bad = a->status == NET_RESOLV_ERR_NXDOMAIN ? a : aaaa;
    else if (a->status == NET_RESOLV_ERR_NOADDR && aaaa->status == NET_RESOLV_ERR_NOADDR)
        bad = a;
    else
        bad = rq_transient(a) ? a : aaaa;
    rq_why(r, e, bad, res);
    res->ttl = rq_transient(bad) ? r->conf.failure_ttl_s : r->conf.negative_ttl_s;
    res->expires = now + (uint64_t)res->ttl * NS_PER_S;
}

/* Called when a query of |e| is done: completes the set when both are, or at once on
 * NXDOMAIN (the name does not exist for any type: RFC 8020). */
static void entry_settle(struct net_resolv *r, struct entry *e, uint64_t now)
{
    struct rq *a = &e->q[QA], *aaaa = &e->q[QAAAA];
    struct net_resolv_result res;
    char name[NET_HOST_MAX + 1];

    if (!e->inflight)
        return;
    for (int k = 0; k < NQ; k++) {
        struct rq *q = &e->q[k], *other = &e->q[NQ - 1 - k];
        if (q->state == RQ_DONE && q->status == NET_RESOLV_ERR_NXDOMAIN && other->state == RQ_WAIT)
            rq_done(other, NET_RESOLV_ERR_NXDOMAIN, q->from);
    }
    if (a->state != RQ_DONE || aaaa->state != RQ_DONE)
        return;
    e->inflight = false;
    entry_result(r, e, now, &res);
    e->have = true;
    e->res = res;
    r->st.completed++;
    if (res.status != 0)
        r->st.failed++;
    /* Copies: the callback may look names up, which may reuse this slot. */
    memcpy(name, e->name, sizeof(name));
    r->done(r->done_ctx, name, &res);
}

/* An attempt of |q| failed (|kind|, at server |srv|). The current attempt's failure moves
 * on to the next server, or ends the query after the last; a late failure of an earlier
 * attempt is only remembered. */
static void rq_fail(struct net_resolv *r, struct entry *e, struct rq *q, enum fail_kind kind,
                    unsigned srv, unsigned rcode, uint64_t now)
{
    static const int status[] = {
        [FAIL_NONE] = NET_RESOLV_ERR_TIMEOUT,        [FAIL_SEND] = NET_RESOLV_ERR_SEND,
        [FAIL_TIMEOUT] = NET_RESOLV_ERR_TIMEOUT,     [FAIL_SERVER] = NET_RESOLV_ERR_SERVER,
        [FAIL_TRUNCATED] = NET_RESOLV_ERR_TRUNCATED,
    };

    if ((int)kind >= (int)q->fail) {
        q->fail = (uint8_t)kind;
        q->fail_server = (uint8_t)srv;
        q->fail_rcode = (uint8_t)rcode;
    }
    if (srv != (unsigned)q->cur)
        return;
    if ((unsigned)q->tries < r->conf.attempts * r->conf.nservers) {
        rq_send(r, q, now);
        return;
    }
    rq_done(q, status[q->fail], q->fail_server);
    entry_settle(r, e, now);
}

static void fill_pending(const struct entry *e, struct net_resolv_result *res)
{
    memset(res, 0, sizeof(*res));
    if (e->have && e->res.status == 0) {
        *res = e->res;
        res->stale = true;
    }
    res->status = NET_RESOLV_PENDING;
}

int net_resolv_lookup(struct net_resolv *r, const char *name, uint64_t now,
                      struct net_resolv_result *res)
{
    char key[NET_HOST_MAX + 1];
    struct entry *e;
    int rc;

    if (res == NULL)
        return NET_RESOLV_ERR_INVAL;
    memset(res, 0, sizeof(*res));
    if (r == NULL || name == NULL)
        return set_why(res, NET_RESOLV_ERR_INVAL, "resolver: invalid argument");
    rc = name_key(name, key, res);
    if (rc != 0)
        return rc;
    r->st.lookups++;
    e = entry_find(r, key);
    if (e != NULL) {
        e->used = ++r->tick;
        if (e->have && !e->inflight && now < e->res.expires) {
            r->st.cache_hits++;
            *res = e->res;
            return 0;
        }
        r->st.cache_misses++;
        if (e->inflight) {
            r->st.joined++;
            fill_pending(e, res);
            r->st.stale_served += res->stale;
            return NET_RESOLV_PENDING;
        }
    } else {
        r->st.cache_misses++;
        e = entry_take(r, key);
        if (e == NULL)
            return set_why(res, NET_RESOLV_ERR_FULL,
                           "%s: %d lookups in flight already (resolver cache full)", key,
                           NET_RESOLV_CACHE_MAX);
        e->used = ++r->tick;
    }
    for (int k = 0; k < NQ; k++) {
        rc = rq_build(r, e, k);
        if (rc != 0) {
            memset(e->q, 0, sizeof(e->q));
            return set_why(res, rc, "%s: cannot build a query: %s", key, net_resolv_strerror(rc));
        }
    }
    e->inflight = true;
    fill_pending(e, res);
    r->st.stale_served += res->stale;
    for (int k = 0; k < NQ; k++)
        rq_send(r, &e->q[k], now);
    return NET_RESOLV_PENDING;
}

static int drop(uint64_t *counter)
{
    (*counter)++;
    return NET_RESOLV_ERR_DROPPED;
}

static int server_index(const struct net_resolv *r, const struct net_addr *a, uint16_t port)
{
    for (unsigned i = 0; i < r->conf.nservers; i++)
        if (r->conf.servers[i].port == port && net_addr_equal(&r->conf.servers[i].addr, a))
            return (int)i;
    return -1;
}

static bool query_by_id(struct net_resolv *r, uint16_t id, struct entry **pe, struct rq **pq)
{
    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++)
        for (int k = 0; k < NQ; k++)
            if (r->e[i].q[k].state == RQ_WAIT && r->e[i].q[k].id == id) {
                *pe = &r->e[i];
                *pq = &r->e[i].q[k];
                return true;
            }
    return false;
}

/* Is the answer's question ours (one question: the name, in any case, |type|, IN)?
 * Returns 1, 0 (another question) or -1 (unreadable). */
static int question_is(const char *name, uint16_t type, const uint8_t *msg, size_t len)
{
    char *qname = NULL;
    long enclen = 0;
    size_t off;
    int same;

    if (((unsigned)msg[DNS_OFF_QDCOUNT] << 8 | msg[DNS_OFF_QDCOUNT + 1]) != 1)
        return 0;
    if (ares_expand_name(msg + DNS_HDR_LEN, msg, (int)len, &qname, &enclen) != ARES_SUCCESS)
        return -1;
    same = strcasecmp(qname, name) == 0;
    ares_free_string(qname);
    off = DNS_HDR_LEN + (size_t)enclen;
    if (enclen <= 0 || off + DNS_QFIXED_LEN > len)
        return -1;
    if (((unsigned)msg[off] << 8 | msg[off + 1]) != type ||
        ((unsigned)msg[off + 2] << 8 | msg[off + 3]) != DNS_CLASS_IN)
        return 0;
    return same;
}

/* The addresses of a NOERROR answer, parsed by c-ares (it follows CNAME chains and gives
 * each address the least TTL along its chain), without those no peer can have (the
 * unspecified address, multicast, broadcast, IPv4-mapped: net_addr_not_unicast), counted
 * in *|unusable|: a name that answers only those has no address. Returns the count, or -1
 * when the answer does not parse. */
static int parse_addrs(struct rq *q, int k, const uint8_t *msg, size_t len, uint64_t *unusable)
{
    int n = NET_RESOLV_MAX_ADDRS, rc, kept = 0;
    int ttl[NET_RESOLV_MAX_ADDRS];

    if (k == QA) {
        struct ares_addrttl at[NET_RESOLV_MAX_ADDRS];
        rc = ares_parse_a_reply(msg, (int)len, NULL, at, &n);
        for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
            q->addr[kept].family = AF_INET;
            q->addr[kept].u.v4 = at[i].ipaddr;
            ttl[kept] = at[i].ttl;
            if (net_addr_not_unicast(&q->addr[kept]))
                (*unusable)++;
            else
                kept++;
        }
    } else {
        struct ares_addr6ttl at[NET_RESOLV_MAX_ADDRS];
        rc = ares_parse_aaaa_reply(msg, (int)len, NULL, at, &n);
        for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
            q->addr[kept].family = AF_INET6;
            memcpy(&q->addr[kept].u.v6, &at[i].ip6addr, sizeof(q->addr[kept].u.v6));
            ttl[kept] = at[i].ttl;
            if (net_addr_not_unicast(&q->addr[kept]))
                (*unusable)++;
            else
                kept++;
        }
    }
    if (rc == ARES_ENODATA)
        return 0;
    if (rc != ARES_SUCCESS)
        return -1;
    n = kept;
    q->ttl = UINT32_MAX;
    for (int i = 0; i < n; i++) {
        /* RFC 2181 §8: a TTL with the top bit set (negative here) means zero. */
        uint32_t t = ttl[i] < 0 ? 0 : (uint32_t)ttl[i];
        if (t < q->ttl)
            q->ttl = t;
    }
    q->naddr = (uint8_t)n;
    return n;
}

int net_resolv_input(struct net_resolv *r, const struct net_addr *from, uint16_t port,
                     const uint8_t *msg, size_t len, uint64_t now)
{
    struct entry *e;
    struct rq *q;
    unsigned srv, rcode;
    uint16_t id;
    int k, rc;
    bool tc;

    if (r == NULL || from == NULL || (msg == NULL && len > 0))
        return NET_RESOLV_ERR_INVAL;
    rc = server_index(r, from, port);
    if (rc < 0)
        return drop(&r->st.drop_bad_source);
    srv = (unsigned)rc;
    if (len < DNS_HDR_LEN || len > INT_MAX)
        return drop(&r->st.drop_malformed);
    if (!(msg[DNS_OFF_FLAGS1] & DNS_FLAG_QR) || (msg[DNS_OFF_FLAGS1] & DNS_OPCODE_MASK))
        return drop(&r->st.drop_not_response);
    id = (uint16_t)(msg[0] << 8 | msg[1]);
    if (!query_by_id(r, id, &e, &q))
        return drop(&r->st.drop_bad_id);
    if (!(q->sent & (1u << srv)))
        return drop(&r->st.drop_bad_source);
    k = (int)(q - e->q);
    rc = question_is(e->name, qtype[k], msg, len);
    if (rc < 0)
        return drop(&r->st.drop_malformed);
    if (rc == 0)
        return drop(&r->st.drop_question);

    rcode = msg[DNS_OFF_FLAGS2] & DNS_RCODE_MASK;
    tc = (msg[DNS_OFF_FLAGS1] & DNS_FLAG_TC) != 0;
    if (rcode == DNS_RCODE_NXDOMAIN) {
        r->st.answers++;
        r->st.nxdomain++;
        rq_done(q, NET_RESOLV_ERR_NXDOMAIN, srv);
        entry_settle(r, e, now);
        return 0;
    }
    if (rcode != DNS_RCODE_NOERROR) {
        r->st.answers++;
        r->st.server_errors++;
        rq_fail(r, e, q, FAIL_SERVER, srv, rcode, now);
        return 0;
    }
    /* A truncated answer may end in the middle of a record: c-ares refuses it, and it
     * counts as one without an address. */
    rc = parse_addrs(q, k, msg, len, &r->st.unusable);
    if (rc < 0 && !tc)
        return drop(&r->st.drop_malformed);
    r->st.answers++;
    if (tc)
        r->st.truncated++;
    if (rc > 0) {
        rq_done(q, 0, srv);
        entry_settle(r, e, now);
    } else if (tc) {
        rq_fail(r, e, q, FAIL_TRUNCATED, srv, rcode, now);
    } else {
        r->st.nodata++;
        rq_done(q, NET_RESOLV_ERR_NOADDR, srv);
        entry_settle(r, e, now);
    }
    return 0;
}

uint64_t net_resolv_expiry(const struct net_resolv *r)
{
    uint64_t t = UINT64_MAX;

    if (r == NULL)
        return t;
    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++)
        for (int k = 0; k < NQ; k++)
            if (r->e[i].q[k].state == RQ_WAIT && r->e[i].q[k].deadline < t)
                t = r->e[i].q[k].deadline;
    return t;
}

void net_resolv_on_expiry(struct net_resolv *r, uint64_t now)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < NET_RESOLV_CACHE_MAX; i++) {
        struct entry *e = &r->e[i];
        for (int k = 0; k < NQ; k++) {
            struct rq *q = &e->q[k];
            if (q->state != RQ_WAIT || q->deadline > now)
                continue;
            if (q->cur_sent)
                r->st.timeouts++;
            rq_fail(r, e, q, q->cur_sent ? FAIL_TIMEOUT : FAIL_SEND, q->cur, 0, now);
        }
    }
}

int net_resolv_invalidate(struct net_resolv *r, const char *name)
{
    struct net_resolv_result why;
    char key[NET_HOST_MAX + 1];
    struct entry *e;
    int rc;

    if (r == NULL || name == NULL)
        return NET_RESOLV_ERR_INVAL;
    rc = name_key(name, key, &why);
    if (rc != 0)
        return rc;
    e = entry_find(r, key);
    if (e == NULL)
        return 0;
    e->have = false;
    if (!e->inflight)
        memset(e, 0, sizeof(*e));
    return 0;
}

void net_resolv_stats(const struct net_resolv *r, struct net_resolv_stats *out)
{
    if (out == NULL)
        return;
    if (r == NULL)
        memset(out, 0, sizeof(*out));
    else
        *out = r->st;
}
