/* Unit tests of net/net_resolv: the sans-IO DNS stub resolver. A fake I/O captures the
 * queries c-ares built; the answers are made here from the captured bytes (QR set, records
 * appended by hand: test code, not a codec of the module), and fed back with an injected
 * clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_resolv.h"

#define S        1000000000ull /* ns per second */
#define MS       1000000ull    /* ns per millisecond */
#define T0       (1000 * S)    /* the injected clock's start */
#define MAX_SENT 512
#define MAX_DONE 160
#define NAME     "collector.example"

#define TYPE_A         1
#define TYPE_CNAME     5
#define TYPE_AAAA      28
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_REFUSED  5

struct sent {
    struct net_addr server;
    uint16_t port;
    size_t len;
    uint8_t msg[512];
};

struct done {
    char name[NET_HOST_MAX + 1];
    struct net_resolv_result res;
};

struct fx {
    struct net_resolv_conf conf;
    struct net_resolv *r;
    struct sent sent[MAX_SENT];
    size_t nsent;
    int send_rc; /* what the fake send returns */
    struct done done[MAX_DONE];
    size_t ndone;
    /* Set: the callback looks this name up and keeps the outcome. */
    const char *relookup;
    int relookup_rc;
    struct net_resolv_result relookup_res;
};

static int fake_send(void *ctx, const struct net_addr *server, uint16_t port, const uint8_t *msg,
                     size_t len)
{
    struct fx *f = ctx;
    struct sent *s;

    assert_true(f->nsent < MAX_SENT);
    assert_true(len <= sizeof(s->msg));
    s = &f->sent[f->nsent++];
    s->server = *server;
    s->port = port;
    s->len = len;
    memcpy(s->msg, msg, len);
    return f->send_rc;
}

static void on_done(void *ctx, const char *name, const struct net_resolv_result *res)
{
    struct fx *f = ctx;

    assert_true(f->ndone < MAX_DONE);
    snprintf(f->done[f->ndone].name, sizeof(f->done[0].name), "%s", name);
    f->done[f->ndone].res = *res;
    f->ndone++;
    if (f->relookup != NULL)
        f->relookup_rc = net_resolv_lookup(f->r, f->relookup, T0, &f->relookup_res);
}

static const struct net_resolv_io fake_io = {.send = fake_send};

static struct net_addr addr(const char *s)
{
    struct net_addr a;
    assert_int_equal(net_addr_parse(s, &a), 0);
    return a;
}

static void fx_start(struct fx *f)
{
    net_resolv_del(f->r);
    f->r = NULL;
    assert_int_equal(net_resolv_new(&f->conf, &fake_io, f, on_done, f, &f->r), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    net_resolv_conf_default(&f->conf);
    f->conf.servers[0].addr = addr("198.18.0.1");
    f->conf.servers[1].addr = addr("198.18.0.2");
    f->conf.nservers = 2;
    f->conf.timeout_ms = 1000;
    f->conf.attempts = 2;
    f->conf.ttl_floor_s = 5;
    f->conf.ttl_ceiling_s = 3600;
    f->conf.negative_ttl_s = 30;
    fx_start(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    net_resolv_del(f->r);
    free(f);
    return 0;
}

/* --- the test's own message helpers (reading and writing by hand) --- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The wire form of |name| (labels, root) into |p|; returns its length. */
static size_t wire_name(uint8_t *p, const char *name)
{
    size_t n = 0;

    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l);
        n += l;
        name += l + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

static uint16_t sent_id(const struct sent *s)
{
    return get16(s->msg);
}

static uint16_t sent_type(const struct sent *s)
{
    uint8_t w[NET_HOST_MAX + 2];
    size_t n = wire_name(w, NAME);
    return get16(s->msg + 12 + n);
}

struct ans {
    uint8_t b[512];
    size_t len;
};

/* An answer to |q|: its bytes with QR (and RA) set, |rcode|, TC when |tc|. */
static void ans_from(struct ans *a, const struct sent *q, unsigned rcode, bool tc)
{
    memcpy(a->b, q->msg, q->len);
    a->len = q->len;
    a->b[2] |= 0x80 | (tc ? 0x02 : 0);
    a->b[3] = (uint8_t)(0x80 | rcode);
}

/* Appends a record: |owner| NULL is a pointer to the question's name (0xc00c). */
static void ans_rr(struct ans *a, const char *owner, uint16_t type, uint32_t ttl, const void *rd,
                   size_t rdlen)
{
    uint8_t *p = a->b + a->len;

    if (owner == NULL) {
        p[0] = 0xc0;
        p[1] = 12;
        p += 2;
    } else {
        p += wire_name(p, owner);
    }
    put16(p, type);
    put16(p + 2, 1);
    put16(p + 4, (uint16_t)(ttl >> 16));
    put16(p + 6, (uint16_t)ttl);
    put16(p + 8, (uint16_t)rdlen);
    memcpy(p + 10, rd, rdlen);
    p += 10 + rdlen;
    a->len = (size_t)(p - a->b);
    put16(a->b + 6, (uint16_t)(get16(a->b + 6) + 1));
}

static void ans_a(struct ans *a, const char *owner, uint32_t ttl, const char *ip)
{
    struct in_addr v4;
    assert_int_equal(inet_pton(AF_INET, ip, &v4), 1);
    ans_rr(a, owner, TYPE_A, ttl, &v4, sizeof(v4));
}

static void ans_aaaa(struct ans *a, const char *owner, uint32_t ttl, const char *ip)
{
    struct in6_addr v6;
    assert_int_equal(inet_pton(AF_INET6, ip, &v6), 1);
    ans_rr(a, owner, TYPE_AAAA, ttl, &v6, sizeof(v6));
}

static void ans_cname(struct ans *a, const char *owner, uint32_t ttl, const char *target)
{
    uint8_t w[NET_HOST_MAX + 2];
    ans_rr(a, owner, TYPE_CNAME, ttl, w, wire_name(w, target));
}

static int feed_from(struct fx *f, const char *ip, uint16_t port, const struct ans *a, uint64_t now)
{
    struct net_addr from = addr(ip);
    return net_resolv_input(f->r, &from, port, a->b, a->len, now);
}

static int feed(struct fx *f, unsigned srv, const struct ans *a, uint64_t now)
{
    return net_resolv_input(f->r, &f->conf.servers[srv].addr,
                            f->conf.servers[srv].port ? f->conf.servers[srv].port : 53, a->b,
                            a->len, now);
}

/* The |i|th datagram sent: a query of |type| to server |srv|. */
static const struct sent *sent_check(struct fx *f, size_t i, unsigned srv, uint16_t type)
{
    const struct sent *s = &f->sent[i];
    uint16_t port = f->conf.servers[srv].port ? f->conf.servers[srv].port : 53;

    assert_true(i < f->nsent);
    assert_true(net_addr_equal(&s->server, &f->conf.servers[srv].addr));
    assert_int_equal(s->port, port);
    assert_int_equal(sent_type(s), type);
    return s;
}

static uint8_t v4_byte(const struct net_addr *a, int i)
{
    return ((const uint8_t *)&a->u.v4)[i];
}

static void assert_addr(const struct net_addr *a, const char *ip)
{
    char buf[NET_ADDR_STR_MAX];
    assert_string_equal(net_addr_str(a, buf, sizeof(buf)), ip);
}

/* Resolves NAME with one A and one AAAA answer at |now|; the lookup must miss. */
static void resolve(struct fx *f, const char *name, uint64_t now, const char *ip4, uint32_t ttl)
{
    struct net_resolv_result res;
    struct ans a;
    size_t first = f->nsent, ndone = f->ndone;

    assert_int_equal(net_resolv_lookup(f->r, name, now, &res), NET_RESOLV_PENDING);
    assert_int_equal(f->nsent, first + 2);
    ans_from(&a, &f->sent[first], 0, false);
    ans_a(&a, NULL, ttl, ip4);
    assert_int_equal(feed(f, 0, &a, now), 0);
    ans_from(&a, &f->sent[first + 1], 0, false);
    assert_int_equal(feed(f, 0, &a, now), 0);
    assert_int_equal(f->ndone, ndone + 1);
    assert_int_equal(f->done[ndone].res.status, 0);
}

/* --- tests --- */

static void test_query_bytes(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    static const uint8_t qname[] = "\x09"
                                   "collector\x07"
                                   "example";

    assert_int_equal(net_resolv_lookup(f->r, "Collector.EXAMPLE", T0, &res), NET_RESOLV_PENDING);
    assert_int_equal(res.status, NET_RESOLV_PENDING);
    assert_false(res.stale);
    assert_int_equal(res.n4, 0);
    assert_int_equal(res.n6, 0);
    assert_int_equal(f->nsent, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct sent *s = sent_check(f, i, 0, i == 0 ? TYPE_A : TYPE_AAAA);
        /* RFC 1035 §4.1: header, one question, no EDNS (no additional record). */
        assert_int_equal(s->len, 12 + sizeof(qname) + 4);
        assert_int_equal(s->msg[2], 0x01); /* QR 0, opcode QUERY, RD */
        assert_int_equal(s->msg[3], 0x00);
        assert_int_equal(get16(s->msg + 4), 1);
        assert_int_equal(get16(s->msg + 6), 0);
        assert_int_equal(get16(s->msg + 8), 0);
        assert_int_equal(get16(s->msg + 10), 0);
        assert_memory_equal(s->msg + 12, qname, sizeof(qname));      /* lowercase */
        assert_int_equal(get16(s->msg + 12 + sizeof(qname) + 2), 1); /* class IN */
    }
    assert_int_not_equal(sent_id(&f->sent[0]), sent_id(&f->sent[1]));
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1000 * MS);
}

static void test_a_aaaa(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    ans_a(&a, NULL, 200, "198.18.0.10");
    assert_int_equal(feed(f, 0, &a, T0 + 5 * MS), 0);
    assert_int_equal(f->ndone, 0); /* waits for AAAA */
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1000 * MS);
    ans_from(&a, &f->sent[1], 0, false);
    ans_aaaa(&a, NULL, 120, "2001:db8::9");
    assert_int_equal(feed(f, 0, &a, T0 + 6 * MS), 0);
    assert_int_equal(f->ndone, 1);
    assert_string_equal(f->done[0].name, NAME);
    res = f->done[0].res;
    assert_int_equal(res.status, 0);
    assert_false(res.stale);
    assert_int_equal(res.n4, 2);
    assert_int_equal(res.n6, 1);
    assert_addr(&res.v4[0], "198.18.0.9");
    assert_addr(&res.v4[1], "198.18.0.10");
    assert_addr(&res.v6[0], "2001:db8::9");
    assert_int_equal(res.ttl, 120);
    assert_int_equal(res.expires, T0 + 6 * MS + 120 * S);
    assert_string_equal(res.why, "");
    assert_int_equal(net_resolv_expiry(f->r), UINT64_MAX);

    /* From the cache now, in any case. */
    assert_int_equal(net_resolv_lookup(f->r, "COLLECTOR.example", T0 + 10 * S, &res), 0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.n4, 2);
    assert_int_equal(res.n6, 1);
    assert_int_equal(v4_byte(&res.v4[1], 3), 10);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->ndone, 1);

    net_resolv_stats(f->r, &st);
    assert_int_equal(st.lookups, 2);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.cache_misses, 1);
    assert_int_equal(st.joined, 0);
    assert_int_equal(st.queries_sent, 2);
    assert_int_equal(st.answers, 2);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.timeouts + st.nxdomain + st.nodata + st.server_errors + st.truncated, 0);
    assert_int_equal(st.drop_bad_source + st.drop_bad_id + st.drop_not_response + st.drop_question +
                         st.drop_malformed,
                     0);
}

static void test_cname_chain(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    /* collector.example -> edge.cdn.example -> real.example -> A; the chain's least TTL
     * (60, the first CNAME) is the answer's. */
    ans_from(&a, &f->sent[0], 0, false);
    ans_cname(&a, NULL, 60, "edge.cdn.example");
    ans_cname(&a, "edge.cdn.example", 600, "real.example");
    ans_a(&a, "real.example", 300, "198.18.0.77");
    ans_a(&a, "elsewhere.example", 300, "198.18.0.66"); /* not on the chain: ignored */
    assert_int_equal(feed(f, 0, &a, T0), 0);
    /* AAAA: the chain without an AAAA at its end is "no address" for that type. */
    ans_from(&a, &f->sent[1], 0, false);
    ans_cname(&a, NULL, 60, "edge.cdn.example");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, 0);
    assert_int_equal(f->done[0].res.n4, 1);
    assert_int_equal(f->done[0].res.n6, 0);
    assert_addr(&f->done[0].res.v4[0], "198.18.0.77");
    assert_int_equal(f->done[0].res.ttl, 60);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.nodata, 1);
    assert_int_equal(st.answers, 2);
}

static void test_nxdomain_and_negative_expiry(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a, late;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], RCODE_NXDOMAIN, false);
    assert_int_equal(feed(f, 0, &a, T0 + 1 * MS), 0);
    /* NXDOMAIN ends the set: the name has no type at all (RFC 8020). */
    assert_int_equal(f->ndone, 1);
    res = f->done[0].res;
    assert_int_equal(res.status, NET_RESOLV_ERR_NXDOMAIN);
    assert_string_equal(res.why, "collector.example: NXDOMAIN (no such name) from 198.18.0.1:53");
    assert_int_equal(res.n4 + res.n6, 0);
    assert_int_equal(res.ttl, 30);
    assert_int_equal(res.expires, T0 + 1 * MS + 30 * S);
    assert_int_equal(net_resolv_expiry(f->r), UINT64_MAX);

    /* The AAAA answer arrives late: nothing waits for that id any more. */
    ans_from(&late, &f->sent[1], RCODE_NXDOMAIN, false);
    assert_int_equal(feed(f, 0, &late, T0 + 2 * MS), NET_RESOLV_ERR_DROPPED);
    assert_int_equal(f->ndone, 1);

    /* Cached for the negative ttl. */
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 1 * MS + 30 * S - 1, &res), 0);
    assert_int_equal(res.status, NET_RESOLV_ERR_NXDOMAIN);
    assert_string_equal(res.why, "collector.example: NXDOMAIN (no such name) from 198.18.0.1:53");
    assert_int_equal(f->nsent, 2);
    /* Then asked again, with nothing stale to offer. */
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 1 * MS + 30 * S, &res), NET_RESOLV_PENDING);
    assert_false(res.stale);
    assert_int_equal(res.n4 + res.n6, 0);
    assert_int_equal(f->nsent, 4);

    net_resolv_stats(f->r, &st);
    assert_int_equal(st.nxdomain, 1);
    assert_int_equal(st.answers, 1);
    assert_int_equal(st.drop_bad_id, 1);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.cache_misses, 2);
}

/* Addresses no peer can have are left out of answers (found by fuzz_net_resolv: a name
 * answering 0.0.0.0, a multicast group or 255.255.255.255 was handed to connect): the
 * usable ones stay, and a name with only unusable ones has no address. */
static void test_unusable_addresses(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "0.0.0.0");
    ans_a(&a, NULL, 300, "198.18.0.9");
    ans_a(&a, NULL, 300, "224.0.0.1");
    ans_a(&a, NULL, 300, "255.255.255.255");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[1], 0, false);
    ans_aaaa(&a, NULL, 300, "::");
    ans_aaaa(&a, NULL, 300, "ff02::1");
    ans_aaaa(&a, NULL, 300, "::ffff:198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->ndone, 1);
    res = f->done[0].res;
    assert_int_equal(res.status, 0);
    assert_int_equal(res.n4, 1);
    assert_addr(&res.v4[0], "198.18.0.9");
    assert_int_equal(res.n6, 0);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.unusable, 6);

    /* Only unusable ones: no address. */
    assert_int_equal(net_resolv_invalidate(f->r, NAME), 0);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + S, &res), NET_RESOLV_PENDING);
    assert_int_equal(f->nsent, 4);
    for (size_t i = 2; i < 4; i++) {
        ans_from(&a, &f->sent[i], 0, false);
        if (sent_type(&f->sent[i]) == TYPE_A)
            ans_a(&a, NULL, 300, "0.0.0.0");
        else
            ans_aaaa(&a, NULL, 300, "::");
        assert_int_equal(feed(f, 0, &a, T0 + S), 0);
    }
    assert_int_equal(f->ndone, 2);
    assert_int_equal(f->done[1].res.status, NET_RESOLV_ERR_NOADDR);
    assert_int_equal(f->done[1].res.n4 + f->done[1].res.n6, 0);
}

static void test_nodata_both(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    for (size_t i = 0; i < 2; i++) {
        ans_from(&a, &f->sent[i], 0, false);
        assert_int_equal(feed(f, 0, &a, T0), 0);
    }
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, NET_RESOLV_ERR_NOADDR);
    assert_string_equal(f->done[0].res.why,
                        "collector.example: no address (no A or AAAA record) from 198.18.0.1:53");
    assert_int_equal(f->done[0].res.ttl, 30);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 29 * S, &res), 0);
    assert_int_equal(res.status, NET_RESOLV_ERR_NOADDR);
}

static void test_servfail_then_second_server(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], RCODE_SERVFAIL, false);
    assert_int_equal(feed(f, 0, &a, T0 + 1 * MS), 0);
    ans_from(&a, &f->sent[1], RCODE_REFUSED, false);
    assert_int_equal(feed(f, 0, &a, T0 + 2 * MS), 0);
    /* Both moved on to the second server at once, with their ids. */
    assert_int_equal(f->nsent, 4);
    assert_int_equal(sent_id(sent_check(f, 2, 1, TYPE_A)), sent_id(&f->sent[0]));
    assert_int_equal(sent_id(sent_check(f, 3, 1, TYPE_AAAA)), sent_id(&f->sent[1]));
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1 * MS + 1000 * MS);
    assert_int_equal(f->ndone, 0);

    ans_from(&a, &f->sent[2], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 1, &a, T0 + 3 * MS), 0);
    ans_from(&a, &f->sent[3], 0, false);
    ans_aaaa(&a, NULL, 300, "2001:db8::9");
    assert_int_equal(feed(f, 1, &a, T0 + 4 * MS), 0);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, 0);
    assert_int_equal(f->done[0].res.n4, 1);
    assert_int_equal(f->done[0].res.n6, 1);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.server_errors, 2);
    assert_int_equal(st.answers, 4);
    assert_int_equal(st.queries_sent, 4);
    assert_int_equal(st.failed, 0);
}

static void test_servfail_everywhere(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct ans a;

    /* The second server is IPv6, on another port: the error names it as such. */
    f->conf.servers[1].addr = addr("2001:db8::53");
    f->conf.servers[1].port = 5353;
    f->conf.attempts = 1;
    fx_start(f);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[1], 0, false); /* AAAA: no data */
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[0], RCODE_SERVFAIL, false);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->nsent, 3);
    sent_check(f, 2, 1, TYPE_A);
    ans_from(&a, &f->sent[2], RCODE_SERVFAIL, false);
    assert_int_equal(feed(f, 1, &a, T0), 0);
    assert_int_equal(f->nsent, 3); /* attempts = 1: one round */
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, NET_RESOLV_ERR_SERVER);
    assert_string_equal(f->done[0].res.why,
                        "collector.example: SERVFAIL (server failure) from [2001:db8::53]:5353");
    /* A server failure is kept failure_ttl_s (RFC 9520 §3.2): lookups until then get it
     * without asking; the first one after asks again. */
    assert_int_equal(f->done[0].res.expires, T0 + 5 * S);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 1 * MS, &res), 0);
    assert_int_equal(res.status, NET_RESOLV_ERR_SERVER);
    assert_string_equal(res.why,
                        "collector.example: SERVFAIL (server failure) from [2001:db8::53]:5353");
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 5 * S - 1, &res), 0);
    assert_int_equal(f->nsent, 3);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 5 * S, &res), NET_RESOLV_PENDING);
    assert_int_equal(f->nsent, 5);
}

static void test_truncated_with_records(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], 0, true);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[1], 0, false);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->nsent, 2); /* what parsed is used: no retry */
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, 0);
    assert_int_equal(f->done[0].res.n4, 1);
    assert_addr(&f->done[0].res.v4[0], "198.18.0.9");
    assert_int_equal(f->done[0].res.n6, 0);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.nodata, 1);
}

static void test_truncated_without_records(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    f->conf.attempts = 1;
    fx_start(f);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[1], 0, false);
    ans_aaaa(&a, NULL, 300, "2001:db8::9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[0], 0, true);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->nsent, 3); /* the next server */
    sent_check(f, 2, 1, TYPE_A);
    /* A truncated answer cut in the middle of a record is no better. */
    ans_from(&a, &f->sent[2], 0, true);
    ans_a(&a, NULL, 300, "198.18.0.9");
    a.len -= 2;
    assert_int_equal(feed(f, 1, &a, T0), 0);
    assert_int_equal(f->ndone, 1);
    /* The AAAA answer stands: a family is enough. */
    assert_int_equal(f->done[0].res.status, 0);
    assert_int_equal(f->done[0].res.n4, 0);
    assert_int_equal(f->done[0].res.n6, 1);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.truncated, 2);
    assert_int_equal(st.drop_malformed, 0);

    /* Without the other family: the truncation is the error. */
    assert_int_equal(net_resolv_lookup(f->r, "other.example", T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[4], 0, false);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[3], 0, true);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[5], 0, true);
    assert_int_equal(feed(f, 1, &a, T0), 0);
    assert_int_equal(f->ndone, 2);
    assert_string_equal(f->done[1].name, "other.example");
    assert_int_equal(f->done[1].res.status, NET_RESOLV_ERR_TRUNCATED);
    assert_string_equal(f->done[1].res.why,
                        "other.example: truncated answer (no TCP fallback) from 198.18.0.2:53");
}

static void test_wrong_id(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "203.0.113.66");
    uint16_t bad = (uint16_t)(sent_id(&f->sent[0]) + 1);
    if (bad == sent_id(&f->sent[1]))
        bad++;
    put16(a.b, bad);
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.drop_bad_id, 1);
    assert_int_equal(st.answers, 0);
    /* The query still waits, and takes the real answer. */
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1000 * MS);
    resolve(f, "other.example", T0, "198.18.0.1", 60); /* unrelated traffic is fine */
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[1], 0, false);
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->ndone, 2);
    assert_string_equal(f->done[1].name, NAME);
    assert_addr(&f->done[1].res.v4[0], "198.18.0.9");
}

static void test_wrong_source(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "203.0.113.66");
    /* Not a server; a server's address on another port; a server not asked yet. */
    assert_int_equal(feed_from(f, "198.18.0.99", 53, &a, T0), NET_RESOLV_ERR_DROPPED);
    assert_int_equal(feed_from(f, "198.18.0.1", 5353, &a, T0), NET_RESOLV_ERR_DROPPED);
    assert_int_equal(feed(f, 1, &a, T0), NET_RESOLV_ERR_DROPPED);
    assert_int_equal(feed_from(f, "::ffff:198.18.0.1", 53, &a, T0), NET_RESOLV_ERR_DROPPED);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.drop_bad_source, 4);
    assert_int_equal(st.answers, 0);
    assert_int_equal(f->ndone, 0);

    /* After a timeout the query also went to the second server; an answer from either is
     * taken (here the first one's, late). */
    net_resolv_on_expiry(f->r, T0 + 1000 * MS);
    assert_int_equal(f->nsent, 4);
    sent_check(f, 2, 1, TYPE_A);
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0 + 1001 * MS), 0);
    ans_from(&a, &f->sent[1], 0, false);
    assert_int_equal(feed(f, 1, &a, T0 + 1001 * MS), 0);
    assert_int_equal(f->ndone, 1);
    assert_addr(&f->done[0].res.v4[0], "198.18.0.9");
}

static void test_question_mismatch(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;
    uint8_t w[NET_HOST_MAX + 2];
    size_t qn = wire_name(w, NAME);

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    /* Another name (one letter changed). */
    ans_from(&a, &f->sent[0], 0, false);
    a.b[12 + 1] = 'k';
    ans_a(&a, NULL, 300, "203.0.113.66");
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* The AAAA question under the A query's id. */
    ans_from(&a, &f->sent[1], 0, false);
    put16(a.b, sent_id(&f->sent[0]));
    ans_a(&a, NULL, 300, "203.0.113.66");
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* Class CH. */
    ans_from(&a, &f->sent[0], 0, false);
    put16(a.b + 12 + qn + 2, 3);
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* No question. */
    ans_from(&a, &f->sent[0], 0, false);
    put16(a.b + 4, 0);
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.drop_question, 4);
    assert_int_equal(st.answers, 0);
    assert_int_equal(f->ndone, 0);

    /* The same name in another case is the same question (RFC 4343). */
    ans_from(&a, &f->sent[0], 0, false);
    memcpy(a.b + 13, "COLLECTOR", 9);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.answers, 1);
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;
    uint8_t w[NET_HOST_MAX + 2];
    size_t qn = wire_name(w, NAME);

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    /* Shorter than a header. */
    ans_from(&a, &f->sent[0], 0, false);
    a.len = 11;
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* The question cut short. */
    ans_from(&a, &f->sent[0], 0, false);
    a.len = 12 + qn + 2;
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* A compression pointer in the question pointing past the end. */
    ans_from(&a, &f->sent[0], 0, false);
    a.b[12] = 0xc0;
    a.b[13] = 0xff;
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* An answer record cut in the middle (TC clear). */
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "203.0.113.66");
    a.len -= 1;
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* One more record announced than present. */
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "203.0.113.66");
    put16(a.b + 6, 2);
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    /* Not a response (QR clear): our own query echoed. */
    assert_int_equal(
        net_resolv_input(f->r, &f->conf.servers[0].addr, 53, f->sent[0].msg, f->sent[0].len, T0),
        NET_RESOLV_ERR_DROPPED);
    /* Opcode STATUS. */
    ans_from(&a, &f->sent[0], 0, false);
    a.b[2] |= 2 << 3;
    assert_int_equal(feed(f, 0, &a, T0), NET_RESOLV_ERR_DROPPED);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.drop_malformed, 5);
    assert_int_equal(st.drop_not_response, 2);
    assert_int_equal(st.answers, 0);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1000 * MS);
    /* Garbage moves nothing on: the query still takes its answer. */
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(net_resolv_input(f->r, NULL, 53, a.b, a.len, T0), NET_RESOLV_ERR_INVAL);
}

static void test_timeout_retry_then_error(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1 * S);
    net_resolv_on_expiry(f->r, T0 + 1 * S - 1);
    assert_int_equal(f->nsent, 2);
    /* Rounds: s0, s1, s0, s1 (attempts 2 over two servers), one second each. */
    for (unsigned t = 1; t <= 3; t++) {
        net_resolv_on_expiry(f->r, T0 + t * S);
        assert_int_equal(f->nsent, 2 + 2 * t);
        sent_check(f, 2 * t, t % 2, TYPE_A);
        sent_check(f, 2 * t + 1, t % 2, TYPE_AAAA);
        assert_int_equal(sent_id(&f->sent[2 * t]), sent_id(&f->sent[0]));
        assert_int_equal(sent_id(&f->sent[2 * t + 1]), sent_id(&f->sent[1]));
        assert_int_equal(net_resolv_expiry(f->r), T0 + (t + 1) * S);
        assert_int_equal(f->ndone, 0);
    }
    net_resolv_on_expiry(f->r, T0 + 4 * S);
    assert_int_equal(f->nsent, 8);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, NET_RESOLV_ERR_TIMEOUT);
    assert_string_equal(f->done[0].res.why,
                        "collector.example: timeout (no answer from 2 server(s))");
    assert_int_equal(net_resolv_expiry(f->r), UINT64_MAX);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.queries_sent, 8);
    assert_int_equal(st.timeouts, 8);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.failed, 1);
    /* Nothing more happens on later timer runs. */
    net_resolv_on_expiry(f->r, T0 + 100 * S);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->nsent, 8);
}

static void test_send_failure(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;

    f->conf.attempts = 1;
    fx_start(f);
    f->send_rc = -ENETUNREACH;
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    /* A refused datagram is a lost one: the attempt still waits out its timeout. */
    assert_int_equal(net_resolv_expiry(f->r), T0 + 1 * S);
    net_resolv_on_expiry(f->r, T0 + 1 * S);
    net_resolv_on_expiry(f->r, T0 + 2 * S);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].res.status, NET_RESOLV_ERR_SEND);
    assert_string_equal(f->done[0].res.why,
                        "collector.example: cannot send a query to any server (last: "
                        "198.18.0.2:53: Network is unreachable)");
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.send_errors, 4);
    assert_int_equal(st.queries_sent, 0);
    assert_int_equal(st.timeouts, 0);
}

static void test_ttl_expiry_and_stale(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    resolve(f, NAME, T0, "198.18.0.9", 60);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 60 * S - 1, &res), 0);
    assert_int_equal(res.n4, 1);
    assert_int_equal(f->nsent, 2);

    /* Expired: a refresh starts; the old addresses come back flagged stale. */
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 60 * S, &res), NET_RESOLV_PENDING);
    assert_int_equal(res.status, NET_RESOLV_PENDING);
    assert_true(res.stale);
    assert_int_equal(res.n4, 1);
    assert_addr(&res.v4[0], "198.18.0.9");
    assert_int_equal(f->nsent, 4);
    /* A lookup joining the refresh gets the same. */
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 60 * S, &res), NET_RESOLV_PENDING);
    assert_true(res.stale);
    assert_int_equal(f->nsent, 4);

    /* The changed answer replaces the addresses. */
    ans_from(&a, &f->sent[2], 0, false);
    ans_a(&a, NULL, 90, "198.18.0.10");
    assert_int_equal(feed(f, 0, &a, T0 + 61 * S), 0);
    ans_from(&a, &f->sent[3], 0, false);
    assert_int_equal(feed(f, 0, &a, T0 + 61 * S), 0);
    assert_int_equal(f->ndone, 2);
    assert_int_equal(f->done[1].res.status, 0);
    assert_false(f->done[1].res.stale);
    assert_int_equal(f->done[1].res.n4, 1);
    assert_addr(&f->done[1].res.v4[0], "198.18.0.10");
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 61 * S + 90 * S - 1, &res), 0);
    assert_false(res.stale);
    assert_int_equal(res.n4, 1);
    assert_addr(&res.v4[0], "198.18.0.10");
    assert_int_equal(res.expires, T0 + 61 * S + 90 * S);

    net_resolv_stats(f->r, &st);
    assert_int_equal(st.stale_served, 2);
    assert_int_equal(st.joined, 1);
    assert_int_equal(st.cache_hits, 2);
    assert_int_equal(st.cache_misses, 3);
    assert_int_equal(st.lookups, 5);
}

/* A refresh that fails replaces the stale addresses by the failure (kept failure_ttl_s);
 * after it the name is asked again, nothing stale left to serve. */
static void test_failed_refresh_forgets_stale(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;

    f->conf.attempts = 1;
    f->conf.nservers = 1;
    fx_start(f);
    resolve(f, NAME, T0, "198.18.0.9", 60);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 60 * S, &res), NET_RESOLV_PENDING);
    assert_true(res.stale);
    net_resolv_on_expiry(f->r, T0 + 61 * S);
    assert_int_equal(f->ndone, 2);
    assert_int_equal(f->done[1].res.status, NET_RESOLV_ERR_TIMEOUT);
    assert_string_equal(f->done[1].res.why,
                        "collector.example: timeout (no answer from 1 server(s))");
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 62 * S, &res), 0);
    assert_int_equal(res.status, NET_RESOLV_ERR_TIMEOUT);
    assert_int_equal(res.n4, 0);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 66 * S, &res), NET_RESOLV_PENDING);
    assert_false(res.stale);
    assert_int_equal(res.n4, 0);
}

static void test_ttl_clamp(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct ans a;

    resolve(f, "low.example", T0, "198.18.0.9", 1);
    assert_int_equal(f->done[0].res.ttl, 5);
    assert_int_equal(f->done[0].res.expires, T0 + 5 * S);
    resolve(f, "high.example", T0, "198.18.0.9", 100000);
    assert_int_equal(f->done[1].res.ttl, 3600);
    /* RFC 2181 §8: the top bit set reads as zero, then the floor. */
    resolve(f, "odd.example", T0, "198.18.0.9", 0x80000000u);
    assert_int_equal(f->done[2].res.ttl, 5);
    /* The least TTL over both families. */
    assert_int_equal(net_resolv_lookup(f->r, "two.example", T0, &res), NET_RESOLV_PENDING);
    ans_from(&a, &f->sent[6], 0, false);
    ans_a(&a, NULL, 700, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    ans_from(&a, &f->sent[7], 0, false);
    ans_aaaa(&a, NULL, 650, "2001:db8::1");
    ans_aaaa(&a, NULL, 640, "2001:db8::2");
    assert_int_equal(feed(f, 0, &a, T0), 0);
    assert_int_equal(f->done[3].res.ttl, 640);
    assert_int_equal(f->done[3].res.n6, 2);
}

static void test_invalidate(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;

    resolve(f, NAME, T0, "198.18.0.9", 300);
    assert_int_equal(net_resolv_invalidate(f->r, "Collector.Example"), 0);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 1 * S, &res), NET_RESOLV_PENDING);
    assert_false(res.stale); /* the failed addresses are not offered again */
    assert_int_equal(res.n4, 0);
    assert_int_equal(f->nsent, 4);
    /* Invalidated while in flight: the refresh still completes and is cached. */
    assert_int_equal(net_resolv_invalidate(f->r, NAME), 0);
    struct ans a;
    ans_from(&a, &f->sent[2], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.10");
    assert_int_equal(feed(f, 0, &a, T0 + 1 * S), 0);
    ans_from(&a, &f->sent[3], 0, false);
    assert_int_equal(feed(f, 0, &a, T0 + 1 * S), 0);
    assert_int_equal(f->ndone, 2);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 2 * S, &res), 0);
    assert_addr(&res.v4[0], "198.18.0.10");
    /* Unknown names are fine; non-names are not. */
    assert_int_equal(net_resolv_invalidate(f->r, "unknown.example"), 0);
    assert_int_equal(net_resolv_invalidate(f->r, "198.18.0.1"), NET_RESOLV_ERR_NAME);
    assert_int_equal(net_resolv_invalidate(f->r, NULL), NET_RESOLV_ERR_INVAL);
}

static void test_eviction_bound(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    char name[32];

    for (int i = 0; i < NET_RESOLV_CACHE_MAX; i++) {
        snprintf(name, sizeof(name), "n%d.example", i);
        resolve(f, name, T0, "198.18.0.9", 300);
    }
    /* n0 is used again: n1 is now the least recently used. */
    assert_int_equal(net_resolv_lookup(f->r, "n0.example", T0, &res), 0);
    resolve(f, "new.example", T0, "198.18.0.9", 300);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(net_resolv_lookup(f->r, "n0.example", T0, &res), 0);
    assert_int_equal(net_resolv_lookup(f->r, "n2.example", T0, &res), 0);
    assert_int_equal(net_resolv_lookup(f->r, "new.example", T0, &res), 0);
    assert_int_equal(net_resolv_lookup(f->r, "n1.example", T0, &res), NET_RESOLV_PENDING);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.evictions, 2); /* n1 came back in place of n3 */
    assert_int_equal(net_resolv_lookup(f->r, "n3.example", T0, &res), NET_RESOLV_PENDING);
}

static void test_full_of_inflight(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    char name[32];

    for (int i = 0; i < NET_RESOLV_CACHE_MAX; i++) {
        snprintf(name, sizeof(name), "n%d.example", i);
        assert_int_equal(net_resolv_lookup(f->r, name, T0, &res), NET_RESOLV_PENDING);
    }
    assert_int_equal(f->nsent, 2 * NET_RESOLV_CACHE_MAX);
    /* Every id differs. */
    for (size_t i = 0; i < f->nsent; i++)
        for (size_t j = i + 1; j < f->nsent; j++)
            assert_int_not_equal(sent_id(&f->sent[i]), sent_id(&f->sent[j]));
    assert_int_equal(net_resolv_lookup(f->r, "one-more.example", T0, &res), NET_RESOLV_ERR_FULL);
    assert_int_equal(res.status, NET_RESOLV_ERR_FULL);
    assert_string_equal(res.why,
                        "one-more.example: 64 lookups in flight already (resolver cache full)");
    assert_int_equal(f->nsent, 2 * NET_RESOLV_CACHE_MAX);
}

static void test_callback_once(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;
    struct ans a;

    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, &res), NET_RESOLV_PENDING);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0 + 1 * MS, &res), NET_RESOLV_PENDING);
    assert_false(res.stale);
    assert_int_equal(f->nsent, 2); /* one query set per name */
    f->relookup = NAME;            /* the callback asks again: served from the cache */
    ans_from(&a, &f->sent[0], 0, false);
    ans_a(&a, NULL, 300, "198.18.0.9");
    assert_int_equal(feed(f, 0, &a, T0 + 2 * MS), 0);
    /* The duplicate of an answer (second copy) finds nothing waiting. */
    assert_int_equal(feed(f, 0, &a, T0 + 2 * MS), NET_RESOLV_ERR_DROPPED);
    assert_int_equal(f->ndone, 0);
    ans_from(&a, &f->sent[1], 0, false);
    assert_int_equal(feed(f, 0, &a, T0 + 3 * MS), 0);
    assert_int_equal(feed(f, 0, &a, T0 + 3 * MS), NET_RESOLV_ERR_DROPPED);
    net_resolv_on_expiry(f->r, T0 + 100 * S);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->relookup_rc, 0);
    assert_int_equal(f->relookup_res.status, 0);
    assert_addr(&f->relookup_res.v4[0], "198.18.0.9");
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.joined, 1);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.drop_bad_id, 2);
    assert_int_equal(st.timeouts, 0);
}

static void test_names(void **state)
{
    struct fx *f = *state;
    struct net_resolv_result res;
    struct net_resolv_stats st;

    assert_int_equal(net_resolv_lookup(f->r, "198.18.0.1", T0, &res), NET_RESOLV_ERR_NAME);
    assert_int_equal(res.status, NET_RESOLV_ERR_NAME);
    assert_string_equal(res.why, "198.18.0.1: an IP address, not a name (nothing to resolve)");
    assert_int_equal(net_resolv_lookup(f->r, "2001:db8::1", T0, &res), NET_RESOLV_ERR_NAME);
    assert_string_equal(res.why, "2001:db8::1: an IP address, not a name (nothing to resolve)");
    assert_int_equal(net_resolv_lookup(f->r, "bad..example", T0, &res), NET_RESOLV_ERR_NAME);
    assert_string_equal(res.why, "bad..example: empty label in host name");
    assert_int_equal(net_resolv_lookup(f->r, "", T0, &res), NET_RESOLV_ERR_NAME);
    assert_string_equal(res.why, ": empty host name");
    assert_int_equal(net_resolv_lookup(f->r, "under_score.example", T0, &res), NET_RESOLV_ERR_NAME);
    assert_int_equal(net_resolv_lookup(f->r, "trailing.dot.", T0, &res), NET_RESOLV_ERR_NAME);
    assert_int_equal(net_resolv_lookup(f->r, NULL, T0, &res), NET_RESOLV_ERR_INVAL);
    assert_int_equal(net_resolv_lookup(f->r, NAME, T0, NULL), NET_RESOLV_ERR_INVAL);
    assert_int_equal(f->nsent, 0);
    net_resolv_stats(f->r, &st);
    assert_int_equal(st.lookups, 0);
    /* The longest name goes out whole. */
    char longest[NET_HOST_MAX + 1];
    memset(longest, 'a', NET_HOST_MAX);
    for (int i = 63; i < NET_HOST_MAX; i += 64)
        longest[i] = '.';
    longest[NET_HOST_MAX] = '\0';
    assert_int_equal(net_resolv_lookup(f->r, longest, T0, &res), NET_RESOLV_PENDING);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->sent[0].len, 12 + NET_HOST_MAX + 2 + 4);
}

static void test_new_invalid(void **state)
{
    struct fx *f = *state;
    struct net_resolv_conf c;
    struct net_resolv *r = (struct net_resolv *)1;
    const struct net_resolv_io no_send = {0};

    net_resolv_conf_default(&c);
    assert_int_equal(c.timeout_ms, 2000);
    assert_int_equal(c.attempts, 2);
    assert_int_equal(c.ttl_floor_s, 5);
    assert_int_equal(c.ttl_ceiling_s, 3600);
    assert_int_equal(c.negative_ttl_s, 30);
    assert_int_equal(c.failure_ttl_s, 5);
    assert_int_equal(c.nservers, 0);
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    assert_null(r);
    c.servers[0].addr = addr("0.0.0.0");
    c.nservers = 1;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.servers[0].addr = addr("224.0.0.1");
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.servers[0].addr = addr("127.0.0.53");
    c.nservers = NET_RESOLV_MAX_SERVERS + 1;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.nservers = 1;
    c.timeout_ms = 0;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.timeout_ms = 1000;
    c.attempts = 0;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.attempts = 6;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.attempts = 1;
    c.ttl_floor_s = 10;
    c.ttl_ceiling_s = 9;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.ttl_ceiling_s = 10;
    c.failure_ttl_s = 0; /* RFC 9520: failures are kept at least a second */
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.failure_ttl_s = 301;
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    c.failure_ttl_s = 5;
    assert_int_equal(net_resolv_new(&c, &no_send, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    assert_int_equal(net_resolv_new(&c, &fake_io, f, NULL, f, &r), NET_RESOLV_ERR_INVAL);
    assert_int_equal(net_resolv_new(NULL, &fake_io, f, on_done, f, &r), NET_RESOLV_ERR_INVAL);
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, NULL), NET_RESOLV_ERR_INVAL);
    /* Loopback is the caller's call; port 0 means 53. */
    assert_int_equal(net_resolv_new(&c, &fake_io, f, on_done, f, &r), 0);
    struct net_resolv_result res;
    assert_int_equal(net_resolv_lookup(r, NAME, T0, &res), NET_RESOLV_PENDING);
    assert_int_equal(f->sent[0].port, 53);
    assert_addr(&f->sent[0].server, "127.0.0.53");
    net_resolv_del(r); /* with a query set in flight: no callback */
    net_resolv_del(NULL);
    assert_int_equal(f->ndone, 0);
    assert_int_equal(net_resolv_expiry(NULL), UINT64_MAX);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(net_resolv_strerror(0), "success");
    assert_string_equal(net_resolv_strerror(NET_RESOLV_PENDING), "pending");
    assert_string_equal(net_resolv_strerror(NET_RESOLV_ERR_NXDOMAIN), "no such name (NXDOMAIN)");
    assert_string_equal(net_resolv_strerror(NET_RESOLV_ERR_TRUNCATED),
                        "truncated answer (no TCP fallback)");
    assert_string_equal(net_resolv_strerror(NET_RESOLV_ERR_TIMEOUT), "DNS timeout");
    assert_string_equal(net_resolv_strerror(-ENETUNREACH), "Network is unreachable");
    assert_string_equal(net_resolv_strerror(-100000), "unknown error");
    for (int e = NET_RESOLV_ERR_DROPPED; e <= NET_RESOLV_ERR_INVAL; e++)
        assert_string_not_equal(net_resolv_strerror(e), "unknown error");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_query_bytes),
        T(test_a_aaaa),
        T(test_cname_chain),
        T(test_nxdomain_and_negative_expiry),
        T(test_unusable_addresses),
        T(test_nodata_both),
        T(test_servfail_then_second_server),
        T(test_servfail_everywhere),
        T(test_truncated_with_records),
        T(test_truncated_without_records),
        T(test_wrong_id),
        T(test_wrong_source),
        T(test_question_mismatch),
        T(test_malformed),
        T(test_timeout_retry_then_error),
        T(test_send_failure),
        T(test_ttl_expiry_and_stale),
        T(test_failed_refresh_forgets_stale),
        T(test_ttl_clamp),
        T(test_invalidate),
        T(test_eviction_bound),
        T(test_full_of_inflight),
        T(test_callback_once),
        T(test_names),
        T(test_new_invalid),
        T(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
