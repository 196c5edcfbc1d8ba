/* Unit tests of the h3sink server core without a client: parameters (the fault
 * hook's too), certificate errors, junk and unknown-version datagrams, timers
 * with no connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sink.h"

static const char *certs_dir;

struct sent {
    int n;
    size_t len;
    uint8_t data[1500];
    struct sockaddr_in to;
};

static void on_send(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                    const uint8_t *data, size_t len)
{
    struct sent *s = arg;
    s->n++;
    assert_int_equal(remote_len, sizeof(s->to));
    memcpy(&s->to, remote, sizeof(s->to));
    assert_true(len <= sizeof(s->data));
    memcpy(s->data, data, len);
    s->len = len;
}

static struct sink *new_sink(void)
{
    static char cert[512], key[512];
    struct sink_params p;
    char err[256] = "";
    struct sink *s;
    snprintf(cert, sizeof(cert), "%s/server.pem", certs_dir);
    snprintf(key, sizeof(key), "%s/server-key.pem", certs_dir);
    sink_params_default(&p);
    p.cert_file = cert;
    p.key_file = key;
    s = sink_new(&p, err, sizeof(err));
    if (s == NULL)
        fail_msg("sink_new: %s", err);
    return s;
}

static void addrs(struct sockaddr_in *local, struct sockaddr_in *remote)
{
    memset(local, 0, sizeof(*local));
    memset(remote, 0, sizeof(*remote));
    local->sin_family = remote->sin_family = AF_INET;
    local->sin_port = htons(4433);
    remote->sin_port = htons(50000);
    inet_pton(AF_INET, "127.0.0.1", &local->sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote->sin_addr);
}

static void test_new_errors(void **state)
{
    struct sink_params p;
    char err[256];
    (void)state;
    sink_params_default(&p);
    assert_true(p.max_streams_bidi > 0 && p.initial_max_data > 0 && p.idle_timeout_ns > 0);
    assert_null(sink_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "required"));
    assert_null(sink_new(NULL, NULL, 0));
    p.cert_file = "/nonexistent/cert.pem";
    p.key_file = "/nonexistent/key.pem";
    err[0] = '\0';
    assert_null(sink_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/cert.pem"));
    sink_del(NULL);
}

static void test_keylog_error(void **state)
{
    static char cert[512], key[512];
    struct sink_params p;
    char err[256] = "";
    (void)state;
    snprintf(cert, sizeof(cert), "%s/server.pem", certs_dir);
    snprintf(key, sizeof(key), "%s/server-key.pem", certs_dir);
    sink_params_default(&p);
    p.cert_file = cert;
    p.key_file = key;
    p.keylog_file = "/nonexistent/dir/keylog";
    assert_null(sink_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "key log"));
}

/* The fault hook's status and retry-after are checked by sink_new. */
static void test_fault_params(void **state)
{
    static char cert[512], key[512];
    struct sink_params p;
    struct sink *s;
    char err[256];
    (void)state;
    snprintf(cert, sizeof(cert), "%s/server.pem", certs_dir);
    snprintf(key, sizeof(key), "%s/server-key.pem", certs_dir);
    sink_params_default(&p);
    assert_int_equal(p.fault_status, 0);
    assert_int_equal(p.fault_every, 1);
    assert_int_equal(p.fault_retry_after, 0);
    p.cert_file = cert;
    p.key_file = key;

    static const int bad_status[] = {-1, 1, 99, 600, 1000};
    for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]); i++) {
        p.fault_status = bad_status[i];
        err[0] = '\0';
        assert_null(sink_new(&p, err, sizeof(err)));
        assert_non_null(strstr(err, "100..599"));
    }
    p.fault_status = 503;
    p.fault_retry_after = 1;
    p.fault_retry_after_s = SINK_RETRY_AFTER_MAX + 1;
    err[0] = '\0';
    assert_null(sink_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "retry-after"));

    /* The bounds themselves are fine, and fault_every 0 means 1. */
    static const int good_status[] = {SINK_STATUS_MIN, 429, SINK_STATUS_MAX};
    p.fault_retry_after_s = SINK_RETRY_AFTER_MAX;
    p.fault_every = 0;
    for (size_t i = 0; i < sizeof(good_status) / sizeof(good_status[0]); i++) {
        p.fault_status = good_status[i];
        s = sink_new(&p, err, sizeof(err));
        if (s == NULL)
            fail_msg("sink_new refused status %d: %s", good_status[i], err);
        assert_int_equal(sink_stats(s)->faults_sent, 0);
        sink_del(s);
    }
}

static void test_idle_sink(void **state)
{
    struct sink *s = new_sink();
    struct sent out = {0};
    (void)state;
    assert_true(sink_idle(s));
    assert_true(sink_expiry(s) == UINT64_MAX);
    sink_handle_expiry(s, 1000);
    assert_int_equal(sink_flush(s, 1000, on_send, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(sink_flush(s, 1000, NULL, NULL), -22);
    sink_goaway(s, 2000);
    sink_close_all(s, 0x100, "bye", 3000);
    assert_true(sink_idle(s));
    assert_int_equal(sink_stats(s)->goaways_sent, 0);
    sink_del(s);
}

static void test_junk(void **state)
{
    struct sink *s = new_sink();
    struct sockaddr_in l, r;
    struct sent out = {0};
    uint8_t junk[1300];
    (void)state;
    addrs(&l, &r);
    assert_int_equal(sink_recv(NULL, (void *)&l, sizeof(l), (void *)&r, sizeof(r), junk, 10, 1),
                     -22);
    assert_int_equal(sink_recv(s, NULL, 0, (void *)&r, sizeof(r), junk, 10, 1), -22);
    /* Empty, tiny, random short-header and a too-small Initial-looking datagram. */
    assert_int_equal(sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), junk, 0, 1), 0);
    memset(junk, 0x41, sizeof(junk));
    assert_int_equal(sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), junk, 1, 1), 0);
    assert_int_equal(
        sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), junk, sizeof(junk), 1), 0);
    memset(junk, 0, sizeof(junk));
    junk[0] = 0xc0; /* long header, Initial, version 1, but only 100 bytes */
    junk[4] = 1;
    junk[5] = 8;
    junk[14] = 8;
    assert_int_equal(sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), junk, 100, 1), 0);
    assert_int_equal(sink_stats(s)->pkts_in, 4);
    assert_int_equal(sink_stats(s)->pkts_dropped, 4);
    assert_int_equal(sink_stats(s)->conns_accepted, 0);
    assert_true(sink_idle(s));
    assert_int_equal(sink_flush(s, 2, on_send, &out), 0);
    sink_del(s);
}

/* A long-header datagram of |len| bytes with an unknown version. */
static size_t unknown_version(uint8_t *b, size_t len)
{
    static const uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t scid[8] = {9, 10, 11, 12, 13, 14, 15, 16};
    memset(b, 0, len);
    b[0] = 0xc0;
    b[1] = 0x1a, b[2] = 0x2a, b[3] = 0x3a, b[4] = 0x4a; /* reserved (RFC 9000 §15) */
    b[5] = sizeof(dcid);
    memcpy(b + 6, dcid, sizeof(dcid));
    b[14] = sizeof(scid);
    memcpy(b + 15, scid, sizeof(scid));
    return len;
}

static void test_version_negotiation(void **state)
{
    struct sink *s = new_sink();
    struct sockaddr_in l, r;
    struct sent out = {0};
    uint8_t pkt[1200];
    (void)state;
    addrs(&l, &r);
    /* Too small: no answer (anti-amplification). */
    sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), pkt, unknown_version(pkt, 1199), 1);
    assert_int_equal(sink_flush(s, 1, on_send, &out), 0);
    assert_int_equal(sink_recv(s, (void *)&l, sizeof(l), (void *)&r, sizeof(r), pkt,
                               unknown_version(pkt, 1200), 1),
                     0);
    assert_true(sink_expiry(s) == 0); /* something to send now */
    assert_int_equal(sink_flush(s, 1, on_send, &out), 1);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.to.sin_port, htons(50000));
    /* Version Negotiation (RFC 9000 §17.2.1): version 0, DCID = client's SCID,
     * SCID = client's DCID, then the supported versions including 1. */
    assert_true(out.len >= 7 + 8 + 8 + 4);
    assert_true(out.data[0] & 0x80);
    assert_memory_equal(out.data + 1, "\0\0\0\0", 4);
    assert_int_equal(out.data[5], 8);
    assert_int_equal(out.data[6], 9);
    assert_int_equal(out.data[14], 8);
    assert_int_equal(out.data[15], 1);
    int has_v1 = 0;
    for (size_t i = 23; i + 4 <= out.len; i += 4)
        has_v1 |= memcmp(out.data + i, "\0\0\0\1", 4) == 0;
    assert_true(has_v1);
    assert_int_equal(sink_stats(s)->version_negotiations, 1);
    assert_true(sink_idle(s));
    sink_del(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_errors),          cmocka_unit_test(test_keylog_error),
        cmocka_unit_test(test_idle_sink),           cmocka_unit_test(test_junk),
        cmocka_unit_test(test_version_negotiation), cmocka_unit_test(test_fault_params),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s CERTS_DIR\n", argv[0]);
        return 2;
    }
    certs_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
