/* test_up_target: the collectors (up_target.c) and the failures an operator sees
 * (up_err.c) over the fake service with an injected clock and a fake resolver — the
 * failover list in order, the back-off once every endpoint failed, failback to the first
 * collector, names resolved (pending, addresses, NXDOMAIN, a changed answer, re-resolved
 * when every address failed), last_error and the per-cause counts, log lines rate-limited,
 * the operator's headers on every request. Every step checks the accounting (unit_rig.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_log.h>

#include "unit_rig.h"

#define URL_A "https://192.0.2.1:4433/a"
#define URL_B "https://192.0.2.2:4433/b"

/* The IPv4 address of connection |i| of the fake, as text. */
static const char *conn_addr(struct rig *r, size_t i)
{
    static char buf[INET_ADDRSTRLEN];
    struct fake_conn *c = fake_conn_nth(r->s, i);

    assert_non_null(c);
    assert_int_equal(c->remote.ss_family, AF_INET);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&c->remote)->sin_addr, buf, sizeof(buf));
    return buf;
}

static uint64_t conn_id(struct rig *r, size_t i)
{
    return fake_conn_nth(r->s, i)->id;
}

/* endpoints[|i|].|key| of a new status, as text ("" for null). */
static const char *ep(struct rig *r, size_t i, const char *key)
{
    static char buf[512];
    json_t *st = up_stats_json(r->u, r->now);
    json_t *v = json_object_get(json_array_get(json_object_get(st, "endpoints"), i), key);

    snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(st);
    return buf;
}

static const char *last_error(struct rig *r)
{
    static char buf[512];
    json_t *st = up_stats_json(r->u, r->now);
    json_t *v = json_object_get(st, "last_error");

    snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(st);
    return buf;
}

/* ---------------------------------------------------------------- a fake resolver */

struct fake_dns {
    int answer; /* 1, 0 (pending) or -1 */
    struct net_addr addrs[4];
    unsigned n;
    const char *why;
    unsigned lookups, invalidated;
    char last_name[64];
};

static int fdns_lookup(void *ctx, const char *name, uint64_t now, struct net_addr *out,
                       unsigned max, unsigned *n, char *why, size_t whylen)
{
    struct fake_dns *d = ctx;
    (void)now;

    d->lookups++;
    snprintf(d->last_name, sizeof(d->last_name), "%s", name);
    *n = 0;
    if (d->answer < 0)
        snprintf(why, whylen, "%s", d->why);
    for (unsigned i = 0; d->answer > 0 && i < d->n && i < max; i++)
        out[(*n)++] = d->addrs[i];
    return d->answer;
}

static void fdns_invalidate(void *ctx, const char *name)
{
    struct fake_dns *d = ctx;
    (void)name;
    d->invalidated++;
}

static void fdns_set(struct fake_dns *d, const char *a, const char *b)
{
    d->answer = 1;
    d->n = 0;
    if (a)
        assert_int_equal(net_addr_parse(a, &d->addrs[d->n++]), 0);
    if (b)
        assert_int_equal(net_addr_parse(b, &d->addrs[d->n++]), 0);
}

/* ---------------------------------------------------------------- tests */

static void test_failover_order(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    (void)state;

    rig_conf(&c);
    c.url = URL_A ", " URL_B;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);
    assert_string_equal(conn_addr(&r, 0), "192.0.2.1");
    assert_string_equal(ep(&r, 0, "state"), "active");
    assert_string_equal(ep(&r, 1, "state"), "standby");

    /* The first never comes up: at once to the second (no back-off within a cycle). */
    fake_close(r.s, conn_id(&r, 0), H3_CLOSE_HANDSHAKE_TIMEOUT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);
    assert_string_equal(conn_addr(&r, 1), "192.0.2.2");
    assert_string_equal(ep(&r, 0, "state"), "failed");
    assert_non_null(strstr(ep(&r, 0, "last_error"), "handshake timeout"));
    assert_string_not_equal(ep(&r, 0, "last_error_at"), "");
    assert_string_equal(ep(&r, 1, "state"), "active");
    assert_non_null(strstr(last_error(&r), "https://192.0.2.1:4433 (192.0.2.1)"));
    assert_int_equal(rig_stat(&r, "errors", "connect"), 1);

    /* Up: the batch goes there, with the second collector's path. */
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_string_equal(r.s->reqs[0].path, "/b");
    rig_reply(&r, 0, 200, NULL);
    assert_int_equal(t.acked, 1);
    rig_close(&r);
}

static void test_whole_list_backs_off(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    (void)state;

    rig_conf(&c);
    c.url = URL_A ", " URL_B;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    fake_close(r.s, conn_id(&r, 0), H3_CLOSE_HANDSHAKE_TIMEOUT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);
    /* Both failed in a row: back off (retry_initial_ms: 100 ms) before the first one
     * again. */
    fake_close(r.s, conn_id(&r, 1), H3_CLOSE_TRANSPORT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 2);
    rig_step(&r, 100 * MS - 1);
    assert_int_equal(r.s->connects, 2);
    rig_step(&r, 1);
    assert_int_equal(r.s->connects, 3);
    assert_string_equal(conn_addr(&r, 2), "192.0.2.1");
    fake_establish_all(r.s);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 1);
    rig_close(&r);
}

static void test_failback(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    (void)state;

    rig_conf(&c);
    c.url = URL_A ", " URL_B;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    fake_close(r.s, conn_id(&r, 0), H3_CLOSE_HANDSHAKE_TIMEOUT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    fake_establish_all(r.s); /* on the second */
    rig_poll(&r);
    rig_reply_all(&r, 200);
    /* A minute later, with work, the first is tried again beside the full pool ... */
    rig_step(&r, 60 * SEC);
    test_src_push(&t, 1, 10, 1);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 3);
    assert_string_equal(conn_addr(&r, 2), "192.0.2.1");
    assert_string_equal(ep(&r, 0, "state"), "failed"); /* tried, not up since it failed */
    /* ... and once it is up, the connection to the second one is retired (gracefully). */
    assert_int_equal(fake_conn_nth(r.s, 1)->shutdowns, 0);
    fake_state(r.s, conn_id(&r, 2), H3_STATE_ESTABLISHED);
    rig_poll(&r);
    assert_string_equal(ep(&r, 0, "state"), "active");
    assert_string_equal(ep(&r, 1, "state"), "standby");
    assert_int_equal(fake_conn_nth(r.s, 1)->shutdowns, 1);
    rig_reply_all(&r, 200);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 2);
    rig_close(&r);
}

static void test_names(void **state)
{
    struct fake_dns d = {.answer = 0};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    (void)state;

    rig_conf(&c);
    c.url = "https://collector.test:4433/v1";
    c.resolver = (struct up_resolver){fdns_lookup, fdns_invalidate, &d};
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    assert_string_equal(ep(&r, 0, "state"), "resolving");
    /* Pending: no connection yet. */
    rig_poll(&r);
    assert_int_equal(r.s->connects, 0);
    assert_string_equal(d.last_name, "collector.test");
    /* Two addresses: the first is tried, with the name as the TLS name. */
    fdns_set(&d, "192.0.2.10", "192.0.2.11");
    rig_poll(&r);
    assert_int_equal(r.s->connects, 1);
    assert_string_equal(conn_addr(&r, 0), "192.0.2.10");
    assert_string_equal(fake_conn_nth(r.s, 0)->host, "collector.test");
    assert_string_equal(fake_conn_nth(r.s, 0)->url, "https://collector.test:4433");
    /* It fails: the next address; that fails too: the name is resolved again. */
    fake_close(r.s, conn_id(&r, 0), H3_CLOSE_HANDSHAKE_TIMEOUT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_string_equal(conn_addr(&r, 1), "192.0.2.11");
    assert_int_equal(d.invalidated, 0);
    fake_close(r.s, conn_id(&r, 1), H3_CLOSE_HANDSHAKE_TIMEOUT, H3_REQ_CONN_CLOSED);
    rig_poll(&r);
    assert_int_equal(d.invalidated, 1);
    /* A changed answer after the back-off: the new address gets the next connection. */
    fdns_set(&d, "192.0.2.20", NULL);
    rig_step(&r, 200 * MS);
    assert_int_equal(r.s->connects, 3);
    assert_string_equal(conn_addr(&r, 2), "192.0.2.20");
    assert_string_equal(ep(&r, 0, "address"), "192.0.2.20:4433");
    fake_establish_all(r.s);
    rig_poll(&r);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 1);
    rig_close(&r);
}

static void test_name_errors(void **state)
{
    struct fake_dns d = {.answer = -1, .why = "collector.test: NXDOMAIN (no such name)"};
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char why[256];
    (void)state;

    rig_conf(&c);
    c.url = "https://collector.test/v1";
    c.resolver = (struct up_resolver){fdns_lookup, fdns_invalidate, &d};
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    assert_int_equal(r.s->connects, 0);
    assert_string_equal(ep(&r, 0, "state"), "failed");
    assert_non_null(strstr(ep(&r, 0, "last_error"), "NXDOMAIN"));
    assert_non_null(strstr(last_error(&r), "NXDOMAIN"));
    assert_int_equal(rig_stat(&r, "errors", "dns"), 1);
    /* Only IPv6 addresses and no IPv6 path: no usable address, said so. */
    fdns_set(&d, "2001:db8::1", NULL);
    rig_step(&r, 200 * MS);
    assert_int_equal(r.s->connects, 0);
    assert_non_null(strstr(ep(&r, 0, "last_error"), "no usable address"));
    /* The record stays queued: nothing is lost while the name does not resolve. */
    assert_int_equal(rig_stat(&r, "queued", "records"), 1);
    /* A name without a resolver is refused up front; an IPv6 literal without the path. */
    up_stop(r.u, 0);
    rig_close(&r);
    rig_conf(&c);
    rig_open(&r, &c);
    assert_int_equal(up_target(r.u, "https://collector.test/x", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "no resolver"));
    assert_int_equal(up_target(r.u, "https://[2001:db8::1]/x", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "IPv6"));
    rig_close(&r);
}

/* Log lines are rate-limited per cause: one per 10 s, the next one saying how many were
 * held back; the counts in the status have them all. */
static void test_errors_rate_limited(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char *text = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&text, &len);
    (void)state;

    assert_non_null(log);
    rte_openlog_stream(log);
    rig_conf(&c);
    c.connections = 1;
    c.streams = 50;
    c.retry_limit = 0;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int i = 0; i < 40; i++)
        test_src_push(&t, 1, 10, (uint8_t)i);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    /* 40 answers of 401: 40 failed batches, not retried, one log line. */
    assert_int_equal(rig_reply_all(&r, 401), 40);
    assert_int_equal(t.failed, 40);
    assert_int_equal(rig_stat(&r, "requests", "retried"), 0);
    assert_int_equal(rig_stat(&r, "errors", "auth"), 40);
    assert_non_null(strstr(last_error(&r), "answered 401 (unauthorized)"));
    assert_non_null(strstr(last_error(&r), "not retried"));
    fflush(log);
    unsigned lines = 0;
    for (const char *p = text; (p = strstr(p, "answered 401")); p++)
        lines++;
    assert_int_equal(lines, 1);
    /* 10 s later the next one is logged with the count held back. */
    rig_step(&r, 10 * SEC);
    test_src_push(&t, 1, 10, 99);
    rig_poll(&r);
    assert_int_equal(rig_reply_all(&r, 401), 1);
    fflush(log);
    assert_non_null(strstr(text, "(and 39 more auth failure(s) in the last 10 s)"));
    rte_openlog_stream(NULL);
    fclose(log);
    free(text);
    rig_close(&r);
}

/* The operator's headers go on every request, are replaced for later ones, and their
 * values never appear in the status (names only). */
static void test_operator_headers(void **state)
{
    static const char file1[] = "Authorization: Bearer s3cret-1\nX-Tenant: acme\n";
    static const char file2[] = "Authorization: Bearer s3cret-2\n";
    struct up_headers *h1, *h2;
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char why[256];
    (void)state;

    assert_int_equal(up_headers_parse(file1, sizeof(file1) - 1, "h1", &h1, why, sizeof(why)), 0);
    assert_int_equal(up_headers_parse(file2, sizeof(file2) - 1, "h2", &h2, why, sizeof(why)), 0);
    rig_conf(&c);
    c.streams = 4;
    c.headers = h1;
    c.headers_file = "/etc/h3dp/headers";
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 1, 10, 0);
    rig_poll(&r);
    fake_establish_all(r.s);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_string_equal(fake_header(&r.s->reqs[0], "authorization"), "Bearer s3cret-1");
    assert_string_equal(fake_header(&r.s->reqs[0], "x-tenant"), "acme");
    assert_string_equal(fake_header(&r.s->reqs[0], "h3dp-records"), "1");
    /* Replaced while the first is in flight: the next request has the new ones. */
    up_set_headers(r.u, h2, "/etc/h3dp/headers.new");
    test_src_push(&t, 1, 10, 1);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_string_equal(fake_header(&r.s->reqs[1], "authorization"), "Bearer s3cret-2");
    assert_null(fake_header(&r.s->reqs[1], "x-tenant"));
    json_t *st = up_stats_json(r.u, r.now);
    char *dump = json_dumps(st, 0);
    assert_null(strstr(dump, "s3cret"));
    assert_non_null(strstr(dump, "\"names\": [\"authorization\"]")
                        ?: strstr(dump, "\"names\":[\"authorization\"]"));
    assert_non_null(strstr(dump, "/etc/h3dp/headers.new"));
    free(dump);
    json_decref(st);
    rig_reply_all(&r, 200);
    assert_int_equal(t.acked, 2);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_order),   cmocka_unit_test(test_whole_list_backs_off),
        cmocka_unit_test(test_failback),         cmocka_unit_test(test_names),
        cmocka_unit_test(test_name_errors),      cmocka_unit_test(test_errors_rate_limited),
        cmocka_unit_test(test_operator_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
