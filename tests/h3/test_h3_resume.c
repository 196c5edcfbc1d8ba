/*
 * h3 driver tests, session resumption and 0-RTT (h3_session.c and the early-data paths
 * of h3_conn.c / h3_req.c): a first connection puts the server's ticket into the
 * session cache; a reconnect resumes with it and sends the requests marked early in
 * 0-RTT before the handshake completes (the others wait); a server that refuses early
 * data makes the driver send them again after the handshake, each once; entries are
 * per server, bounded, single use, and survive a save/load through files (corrupt or
 * too open files are ignored).
 * Deterministic: the h3sink core over the in-memory loopback with an injected clock
 * (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "h3_test_rig.h"

#define BODY_LEN 3000

static bool until_ticket(void *arg)
{
    struct env *e = arg;
    struct h3_stats st;
    h3_conn_stats(e->c, &st);
    return st.tickets_received > 0 || h3_conn_state(e->c) == H3_STATE_CLOSED;
}

/* Connect, wait for the server's ticket, close gracefully: the cache has an entry. */
static void first_connection(struct env *e, struct setup *su)
{
    struct h3_stats st;

    connect_ok(e);
    assert_int_equal(run(e, until_ticket, 5 * SEC), 0);
    h3_conn_stats(e->c, &st);
    assert_int_equal(st.tickets_received, 1);
    assert_false(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_NOT_ATTEMPTED);
    assert_int_equal(st.requests_early, 0);
    shutdown_ok(e);
    (void)su;
}

static size_t cache_entries(struct h3_session_cache *sc)
{
    struct h3_session_cache_stats cs;
    h3_session_cache_stats(sc, &cs);
    return cs.entries;
}

/* Two uploads carrying batch ids, as the upload engine sends them. */
static const struct h3_header batch_a[] = {{"h3dp-batch", "batch-a"}, {"h3dp-records", "3"}};
static const struct h3_header batch_b[] = {{"h3dp-batch", "batch-b"}, {"h3dp-records", "4"}};

static void test_ticket_into_cache(void **state)
{
    struct env e;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    struct h3_session_cache_stats cs;
    (void)state;

    assert_non_null(sc);
    struct setup su = {.cache = sc};
    env_start(&e, &su);
    assert_int_equal(cache_entries(sc), 0);
    first_connection(&e, &su);
    h3_session_cache_stats(sc, &cs);
    assert_int_equal(cs.entries, 1);
    assert_int_equal(cs.stored, 1);
    assert_int_equal(cs.taken, 0);
    assert_int_equal(sink_stats(e.sink)->tickets_sent, 1);
    assert_int_equal(sink_stats(e.sink)->conns_resumed, 0);
    env_stop(&e);
    h3_session_cache_del(sc);
}

/* The reconnect resumes and its early requests reach the server before the client's
 * handshake completes; the request not marked early waits for it. */
static void test_resume_early_accepted(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    uint8_t *body = pattern(BODY_LEN);
    char buf[160];
    (void)state;

    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);

    env_reconnect(&e, &su);
    assert_int_equal(cache_entries(sc), 0); /* taken: single use */
    assert_true(h3_conn_early_ready(e.c)); /* 0-RTT keys from the ClientHello */
    assert_int_equal(submit_early(&e, 0, "POST", "/up", body, BODY_LEN, batch_a, 2, true), 0);
    assert_int_equal(submit_early(&e, 1, "POST", "/up", body, BODY_LEN, batch_b, 2, true), 0);
    assert_int_equal(submit_early(&e, 2, "GET", "/bytes/100", NULL, 0, NULL, 0, false), 0);
    e.want = 2;
    assert_int_equal(run(&e, until_sink_has, 5 * SEC), 0);
    /* The server has both early requests, the client is still handshaking. */
    assert_false(e.established);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CONNECTING);
    assert_int_equal(sink_stats(e.sink)->requests, 2);
    assert_int_equal(sink_stats(e.sink)->early_requests, 2);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.early_data, H3_EARLY_PENDING);
    assert_int_equal(st.requests_early, 2);
    assert_int_equal(st.requests_queued, 1); /* the GET */
    assert_int_equal(st.streams_open, 2);

    e.want = 3;
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    assert_non_null(strstr(e.res[0].body, "\"bytes\":3000"));
    assert_int_equal(e.res[0].o.body_sent, BODY_LEN);
    assert_int_equal(e.res[2].body_len, 100);
    assert_true(e.res[2].body_ok);
    /* Per request: the POSTs went early and were answered from the early data. */
    assert_int_equal(e.res[0].o.early, H3_EARLY_ACCEPTED);
    assert_int_equal(e.res[1].o.early, H3_EARLY_ACCEPTED);
    assert_int_equal(e.res[2].o.early, H3_EARLY_NOT_ATTEMPTED);
    assert_false(h3_conn_early_ready(e.c)); /* the handshake is done */
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_ACCEPTED);
    assert_int_equal(st.requests_early, 2);
    assert_int_equal(st.requests_early_resent, 0);
    assert_int_equal(st.requests_started, 3);
    assert_int_equal(st.requests_completed, 3);
    assert_string_equal(h3_stats_resumption_str(&st, buf, sizeof(buf)),
                        "resumed, 0-RTT accepted (2 requests early)");
    const struct sink_stats *ss = sink_stats(e.sink);
    assert_int_equal(ss->conns_resumed, 1);
    assert_int_equal(ss->conns_early, 1);
    assert_int_equal(ss->early_requests, 2);
    assert_int_equal(ss->requests, 3);
    assert_int_equal(ss->batches_unique, 2);
    assert_int_equal(ss->batches_dup, 0);
    assert_int_equal(ss->body_bytes_in, 2 * BODY_LEN);
    /* The resumed connection got a fresh ticket: the next reconnect resumes too. */
    assert_int_equal(run(&e, until_ticket, 5 * SEC), 0);
    shutdown_ok(&e);
    assert_int_equal(cache_entries(sc), 1);
    env_reconnect(&e, &su);
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_NOT_ATTEMPTED); /* nothing marked early */
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
    free(body);
}

/* The server refuses early data: the early requests are sent again after the
 * handshake, each once, and complete normally; nothing is lost or reported failed. */
static void test_resume_early_rejected(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    uint8_t *body = pattern(BODY_LEN);
    char buf[160];
    (void)state;

    struct setup su = {.cache = sc, .no_early_data = true};
    env_start(&e, &su);
    first_connection(&e, &su);

    env_reconnect(&e, &su);
    assert_int_equal(submit_early(&e, 0, "POST", "/up", body, BODY_LEN, batch_a, 2, true), 0);
    assert_int_equal(submit_early(&e, 1, "POST", "/up", body, BODY_LEN, batch_b, 2, true), 0);
    assert_int_equal(submit_early(&e, 2, "GET", "/bytes/100", NULL, 0, NULL, 0, false), 0);
    /* Sent in 0-RTT first. */
    assert_int_equal(run(&e, until_established, 5 * SEC), 0);
    e.want = 3;
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(e.res[i].done);
        assert_int_equal(e.res[i].o.result, H3_REQ_COMPLETED);
        assert_int_equal(e.res[i].o.status, 200);
    }
    assert_non_null(strstr(e.res[0].body, "\"bytes\":3000"));
    assert_non_null(strstr(e.res[1].body, "\"bytes\":3000"));
    assert_int_equal(e.res[0].o.body_sent, BODY_LEN);
    assert_int_equal(e.res[1].o.body_sent, BODY_LEN);
    assert_int_equal(e.res[0].o.early, H3_EARLY_REJECTED);
    assert_int_equal(e.res[1].o.early, H3_EARLY_REJECTED);
    assert_int_equal(e.res[2].o.early, H3_EARLY_NOT_ATTEMPTED);
    /* Re-sent on the streams of a fresh start: ngtcp2 forgot the 0-RTT ones. */
    assert_int_equal(e.res[0].o.stream_id, 0);
    assert_int_equal(e.res[1].o.stream_id, 4);
    assert_int_equal(e.res[2].o.stream_id, 8);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_REJECTED);
    assert_int_equal(st.requests_early, 2);
    assert_int_equal(st.requests_early_resent, 2);
    assert_int_equal(st.requests_started, 3);
    assert_int_equal(st.requests_completed, 3);
    assert_int_equal(st.requests_failed + st.requests_not_processed + st.requests_conn_closed, 0);
    assert_int_equal(st.body_bytes_sent, 2 * BODY_LEN);
    assert_string_equal(h3_stats_resumption_str(&st, buf, sizeof(buf)),
                        "resumed, 0-RTT rejected (2 requests early, 2 sent again)");
    /* The server processed each upload exactly once, in 1-RTT. */
    const struct sink_stats *ss = sink_stats(e.sink);
    assert_int_equal(ss->conns_resumed, 1);
    assert_int_equal(ss->conns_early, 0);
    assert_int_equal(ss->early_requests, 0);
    assert_int_equal(ss->requests, 3);
    assert_int_equal(ss->batches_unique, 2);
    assert_int_equal(ss->batches_dup, 0);
    assert_int_equal(ss->records_2xx, 7);
    assert_int_equal(ss->body_bytes_in, 2 * BODY_LEN);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
    free(body);
}

/* A server restarted (a new ticket key): the ticket is refused, a full handshake; the
 * early requests are sent again after it. */
static void test_ticket_unknown_to_server(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    uint8_t *body = pattern(BODY_LEN);
    char err[128];
    struct sink_params sp;
    char cert[512], key[512];
    (void)state;

    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    /* The same certificate, a new process: new ticket key. */
    sink_del(e.sink);
    snprintf(cert, sizeof(cert), "%s/server.pem", rig_certs_dir());
    snprintf(key, sizeof(key), "%s/server-key.pem", rig_certs_dir());
    sink_params_default(&sp);
    sp.cert_file = cert;
    sp.key_file = key;
    e.sink = sink_new(&sp, err, sizeof(err));
    assert_non_null(e.sink);

    env_reconnect(&e, &su);
    assert_int_equal(submit_early(&e, 0, "POST", "/up", body, BODY_LEN, batch_a, 2, true), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_COMPLETED);
    assert_int_equal(e.res[0].o.status, 200);
    h3_conn_stats(e.c, &st);
    assert_false(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_REJECTED);
    assert_int_equal(st.requests_early, 1);
    assert_int_equal(st.requests_early_resent, 1);
    assert_int_equal(sink_stats(e.sink)->early_requests, 0);
    assert_int_equal(sink_stats(e.sink)->batches_unique, 1);
    assert_int_equal(sink_stats(e.sink)->body_bytes_in, BODY_LEN);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
    free(body);
}

/* A ticket serves only a connection that trusts and presents what its session did: the
 * resumed handshake verifies no certificate. An insecure connection (or one with another
 * CA file or client certificate) makes a full handshake and leaves the entry alone. */
static void test_other_tls_identity_not_used(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    struct h3_session_cache_stats cs;
    (void)state;

    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    struct setup lax = {.cache = sc, .insecure = true};
    env_reconnect(&e, &lax);
    assert_false(h3_conn_early_ready(e.c));
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_false(st.resumed);
    assert_int_equal(run(&e, until_ticket, 5 * SEC), 0);
    shutdown_ok(&e);
    h3_session_cache_stats(sc, &cs);
    assert_int_equal(cs.taken, 0);
    assert_int_equal(cs.entries, 2); /* one per identity */
    env_reconnect(&e, &su);
    assert_true(h3_conn_early_ready(e.c));
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
}

/* An entry is for its server only: another port is another server. */
static void test_other_server_not_used(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    struct h3_session_cache_stats cs;
    (void)state;

    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    struct setup other = {.cache = sc, .server_port = 8443};
    env_reconnect(&e, &other);
    assert_false(h3_conn_early_ready(e.c)); /* no ticket for this server */
    assert_int_equal(submit_early(&e, 0, "GET", "/", NULL, 0, NULL, 0, true), 0);
    connect_ok(&e);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    assert_int_equal(e.res[0].o.status, 200);
    h3_conn_stats(e.c, &st);
    assert_false(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_NOT_ATTEMPTED);
    assert_int_equal(st.requests_early, 0);
    assert_int_equal(sink_stats(e.sink)->early_requests, 0);
    assert_int_equal(sink_stats(e.sink)->conns_resumed, 0);
    assert_int_equal(run(&e, until_ticket, 5 * SEC), 0);
    shutdown_ok(&e);
    h3_session_cache_stats(sc, &cs);
    assert_int_equal(cs.taken, 0); /* port 443's entry untouched */
    assert_int_equal(cs.entries, 2);
    /* The original server still resumes with its own entry. */
    env_reconnect(&e, &su);
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
}

/* At most max_servers entries: the oldest goes. */
static void test_eviction(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(2);
    struct h3_session_cache_stats cs;
    (void)state;

    struct setup su = {.cache = sc, .server_port = 1001};
    env_start(&e, &su);
    first_connection(&e, &su);
    for (uint16_t port = 1002; port <= 1003; port++) {
        struct setup s2 = {.cache = sc, .server_port = port};
        env_reconnect(&e, &s2);
        first_connection(&e, &s2);
    }
    h3_session_cache_stats(sc, &cs);
    assert_int_equal(cs.entries, 2);
    assert_int_equal(cs.stored, 3);
    assert_int_equal(cs.evicted, 1);
    env_reconnect(&e, &su); /* 1001: evicted */
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_false(st.resumed);
    shutdown_ok(&e);
    struct setup s3 = {.cache = sc, .server_port = 1003};
    env_reconnect(&e, &s3);
    connect_ok(&e);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
}

static int count_files(const char *dir, char *first, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            if (n++ == 0 && first)
                snprintf(first, len, "%s/%s", dir, de->d_name);
        }
    closedir(d);
    return n;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[600];
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Save, load into a new cache (a restarted process), resume with 0-RTT from it. */
static void test_persist_round_trip(void **state)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0), *sc2 = h3_session_cache_new(0);
    struct h3_session_cache_stats cs;
    char dir[] = "/tmp/h3dp-sessions-XXXXXX", file[600];
    struct stat sb;
    (void)state;

    assert_non_null(mkdtemp(dir));
    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    assert_int_equal(h3_session_cache_save(sc, dir), 1);
    assert_int_equal(count_files(dir, file, sizeof(file)), 1);
    assert_non_null(strstr(file, "/h3s-"));
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(h3_session_cache_load(sc2, dir), 1);
    h3_session_cache_stats(sc2, &cs);
    assert_int_equal(cs.entries, 1);
    assert_int_equal(cs.loaded, 1);
    assert_int_equal(cs.load_rejected, 0);

    struct setup su2 = {.cache = sc2};
    env_reconnect(&e, &su2);
    /* The ticket is taken: saving now removes the file (a used ticket must not come
     * back after a restart). */
    assert_int_equal(h3_session_cache_save(sc2, dir), 0);
    assert_int_equal(count_files(dir, NULL, 0), 0);
    assert_int_equal(
        submit_early(&e, 0, "POST", "/up", (const uint8_t *)"abc", 3, batch_a, 2, true), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    assert_int_equal(e.res[0].o.status, 200);
    h3_conn_stats(e.c, &st);
    assert_true(st.resumed);
    assert_int_equal(st.early_data, H3_EARLY_ACCEPTED);
    assert_int_equal(sink_stats(e.sink)->early_requests, 1);
    /* The connection's new ticket is saved in its place. */
    assert_int_equal(run(&e, until_ticket, 5 * SEC), 0);
    assert_int_equal(h3_session_cache_save(sc2, dir), 1);
    assert_int_equal(count_files(dir, NULL, 0), 1);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
    h3_session_cache_del(sc2);
    rm_dir(dir);
}

/* Damaged, truncated or too open files are ignored and counted; nothing is fatal. */
static void test_corrupt_files_ignored(void **state)
{
    struct env e;
    struct h3_session_cache *sc = h3_session_cache_new(0), *sc2;
    struct h3_session_cache_stats cs;
    char dir[] = "/tmp/h3dp-sessions-XXXXXX", file[600], copy[700];
    uint8_t buf[16384];
    (void)state;

    assert_non_null(mkdtemp(dir));
    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    env_stop(&e);
    assert_int_equal(h3_session_cache_save(sc, dir), 1);
    count_files(dir, file, sizeof(file));
    int fd = open(file, O_RDWR);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf));
    assert_true(n > 100);

    /* One flipped bit in the ticket: the checksum catches it. */
    buf[n / 2] ^= 0x10;
    assert_int_equal(pwrite(fd, buf, (size_t)n, 0), n);
    close(fd);
    sc2 = h3_session_cache_new(0);
    assert_int_equal(h3_session_cache_load(sc2, dir), 0);
    h3_session_cache_stats(sc2, &cs);
    assert_int_equal(cs.entries, 0);
    assert_int_equal(cs.load_rejected, 1);
    h3_session_cache_del(sc2);

    /* Truncated. */
    buf[n / 2] ^= 0x10;
    fd = open(file, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, buf, (size_t)n - 9), n - 9);
    close(fd);
    sc2 = h3_session_cache_new(0);
    assert_int_equal(h3_session_cache_load(sc2, dir), 0);
    h3_session_cache_stats(sc2, &cs);
    assert_int_equal(cs.load_rejected, 1);
    h3_session_cache_del(sc2);

    /* Intact but readable by others: refused (it holds a resumption secret). */
    fd = open(file, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, buf, (size_t)n), n);
    close(fd);
    assert_int_equal(chmod(file, 0644), 0);
    sc2 = h3_session_cache_new(0);
    assert_int_equal(h3_session_cache_load(sc2, dir), 0);
    h3_session_cache_stats(sc2, &cs);
    assert_int_equal(cs.load_rejected, 1);
    h3_session_cache_del(sc2);

    /* Intact under another server's name: refused. Back at 0600 under its own: loaded. */
    assert_int_equal(chmod(file, 0600), 0);
    snprintf(copy, sizeof(copy), "%s/h3s-0123456789abcdef.session", dir);
    assert_int_equal(link(file, copy), 0);
    sc2 = h3_session_cache_new(0);
    assert_int_equal(h3_session_cache_load(sc2, dir), 1);
    h3_session_cache_stats(sc2, &cs);
    assert_int_equal(cs.entries, 1);
    assert_int_equal(cs.load_rejected, 1);
    h3_session_cache_del(sc2);
    assert_int_equal(h3_session_cache_load(sc, "/nonexistent/h3dp"), H3_ERR_FILE);

    h3_session_cache_del(sc);
    rm_dir(dir);
}

/* The reconnect after a GOAWAY: from the new connection's start to its first completed
 * upload, over a loopback with |delay| each way. A full handshake needs two round trips
 * before the response; 0-RTT one. H3_TEST_DELAY_MS overrides the 20 ms. */
static uint64_t reconnect_time(uint64_t delay, bool resume)
{
    struct env e;
    struct h3_stats st;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    uint8_t *body = pattern(BODY_LEN);

    struct setup su = {.cache = sc, .delay_ns = delay};
    env_start(&e, &su);
    first_connection(&e, &su);
    /* The collector asks its clients to move (GOAWAY); the client reconnects. */
    sink_goaway_keep_serving(e.sink, h3_loop_now(e.loop));
    struct setup again = {.cache = resume ? sc : NULL, .delay_ns = delay};
    uint64_t t0 = h3_loop_now(e.loop);
    env_reconnect(&e, &again);
    assert_int_equal(submit_early(&e, 0, "POST", "/up", body, BODY_LEN, batch_a, 2, true), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_want, 10 * SEC), 0);
    uint64_t t = h3_loop_now(e.loop) - t0;
    assert_int_equal(e.res[0].o.status, 200);
    h3_conn_stats(e.c, &st);
    assert_int_equal(st.resumed, resume);
    assert_int_equal(st.early_data, resume ? H3_EARLY_ACCEPTED : H3_EARLY_NOT_ATTEMPTED);
    shutdown_ok(&e);
    env_stop(&e);
    h3_session_cache_del(sc);
    free(body);
    return t;
}

static void test_time_to_first_response(void **state)
{
    const char *d = getenv("H3_TEST_DELAY_MS");
    uint64_t delay = (d ? strtoull(d, NULL, 10) : 20) * MS;
    (void)state;

    uint64_t full = reconnect_time(delay, false);
    uint64_t early = reconnect_time(delay, true);
    printf("reconnect to first completed upload, %.1f ms one-way delay: full handshake "
           "%.3f ms, 0-RTT resumption %.3f ms\n",
           (double)delay / MS, (double)full / MS, (double)early / MS);
    /* Two round trips against one (plus what the server takes, nothing here). */
    assert_true(full >= 4 * delay && full < 4 * delay + 10 * MS);
    assert_true(early >= 2 * delay && early < 2 * delay + 10 * MS);
}

/* The connection ends before its handshake completes: the request sent early ends
 * CONN_CLOSED with its 0-RTT PENDING (the server had it: it may have processed it). */
static void test_early_conn_lost(void **state)
{
    struct env e;
    struct h3_session_cache *sc = h3_session_cache_new(0);
    uint8_t *body = pattern(BODY_LEN);
    (void)state;

    struct setup su = {.cache = sc};
    env_start(&e, &su);
    first_connection(&e, &su);
    env_reconnect(&e, &su);
    assert_int_equal(submit_early(&e, 0, "POST", "/up", body, BODY_LEN, batch_a, 2, true), 0);
    e.want = 1;
    assert_int_equal(run(&e, until_sink_has, 5 * SEC), 0);
    assert_int_equal(h3_conn_state(e.c), H3_STATE_CONNECTING);
    assert_int_equal(h3_conn_close(e.c, H3_H3_NO_ERROR, NULL, h3_loop_now(e.loop)), 0);
    assert_int_equal(run(&e, until_want, 5 * SEC), 0);
    assert_int_equal(e.res[0].o.result, H3_REQ_CONN_CLOSED);
    assert_int_equal(e.res[0].o.early, H3_EARLY_PENDING);
    env_stop(&e);
    h3_session_cache_del(sc);
    free(body);
}

/* A producer body cannot be replayed after a rejection: not allowed early. */
static int produce_nothing(struct h3_req *r, void *ud, const uint8_t **data, size_t *len, bool *eof)
{
    (void)r;
    (void)ud;
    *data = NULL;
    *len = 0;
    *eof = true;
    return 0;
}

static void test_early_producer_refused(void **state)
{
    struct env e;
    struct h3_req_params rp = {.method = "POST",
                               .path = "/",
                               .body = H3_BODY_PRODUCER,
                               .produce = produce_nothing,
                               .early = true};
    (void)state;

    env_start(&e, &(struct setup){0});
    assert_int_equal(h3_conn_request(e.c, &rp, h3_loop_now(e.loop), NULL), H3_ERR_INVAL);
    rp.early = false;
    assert_int_equal(h3_conn_request(e.c, &rp, h3_loop_now(e.loop), NULL), 0);
    env_stop(&e);
    assert_string_equal(h3_early_data_str(H3_EARLY_REJECTED), "rejected");
    assert_string_equal(h3_early_data_str(H3_EARLY_NOT_ATTEMPTED), "not attempted");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_into_cache),
        cmocka_unit_test(test_resume_early_accepted),
        cmocka_unit_test(test_resume_early_rejected),
        cmocka_unit_test(test_early_conn_lost),
        cmocka_unit_test(test_ticket_unknown_to_server),
        cmocka_unit_test(test_other_server_not_used),
        cmocka_unit_test(test_other_tls_identity_not_used),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_persist_round_trip),
        cmocka_unit_test(test_corrupt_files_ignored),
        cmocka_unit_test(test_early_producer_refused),
        cmocka_unit_test(test_time_to_first_response),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
