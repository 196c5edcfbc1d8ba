/* Unit tests for ctl_server: dispatch, async replies, limits and misbehaving clients, over
 * real Unix sockets in a temporary directory. The server runs in the test's thread: the
 * helpers step it with t_step() (as the daemon's loop does) while they wait for client data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "ctl_test_util.h"

#define NOBODY 65534 /* uid/gid of nobody/nogroup on Debian */

struct fixture {
    char dir[64];
    char path[100];
    struct ctl_server_conf conf;
    struct ctl_server *srv;
    uint64_t token; /* last deferred token */
    unsigned deferred;
    size_t big; /* size of the "stats" result string */
};

/* ---- fake handlers ---- */

static void h_list(void *ctx, struct ctl_call *call)
{
    uid_t uid = 1;
    pid_t pid = 0;

    (void)ctx;
    /* the peer is this very process (same host, same test) */
    assert_int_equal(ctl_call_peer(call, &uid, &pid), 0);
    assert_int_equal(uid, geteuid());
    assert_int_equal(pid, getpid());
    ctl_call_reply(call, json_pack("{s:[]}", "conns"));
}

static void h_show(void *ctx, struct ctl_call *call)
{
    uint64_t conn = ctl_request_u64(ctl_call_request(call), "conn", 0);

    (void)ctx;
    if (conn == 404) {
        ctl_call_fail(call, CTL_E_NO_SUCH_CONN, "no connection %llu", (unsigned long long)conn);
        return;
    }
    ctl_call_reply(call, json_pack("{s:I}", "conn", (json_int_t)conn));
}

static void h_wait(void *ctx, struct ctl_call *call)
{
    struct fixture *f = ctx;
    uint64_t ms = ctl_request_u64(ctl_call_request(call), "timeout", 0);
    uint64_t token = ctl_call_defer(call, (uint32_t)ms);

    if (token != 0) { /* 0: refused with E_BUSY, already answered */
        f->token = token;
        f->deferred++;
    }
}

static void h_stats(void *ctx, struct ctl_call *call)
{
    struct fixture *f = ctx;
    char *s = malloc(f->big + 1);

    memset(s, 'x', f->big);
    s[f->big] = '\0';
    ctl_call_reply(call, json_pack("{s:s}", "blob", s));
    free(s);
}

static void h_quit_silent(void *ctx, struct ctl_call *call)
{
    (void)ctx;
    (void)call; /* answers nothing: the server must answer E_INTERNAL for it */
}

static int start(struct fixture *f)
{
    int err = 0;

    f->srv = ctl_server_new(&f->conf, &err);
    if (f->srv == NULL)
        fail_msg("ctl_server_new: %s", strerror(-err));
    assert_int_equal(ctl_server_register(f->srv, "list", h_list, f), 0);
    assert_int_equal(ctl_server_register(f->srv, "show", h_show, f), 0);
    assert_int_equal(ctl_server_register(f->srv, "wait", h_wait, f), 0);
    assert_int_equal(ctl_server_register(f->srv, "stats", h_stats, f), 0);
    assert_int_equal(ctl_server_register(f->srv, "quit", h_quit_silent, f), 0);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/h3dp-ctltest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/h3dpd.sock", f->dir);
    ctl_server_conf_defaults(&f->conf);
    f->conf.path = f->path;
    f->big = 16;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ctl_server_del(f->srv);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct tclient *client_new(struct fixture *f)
{
    struct tclient *c = calloc(1, sizeof(*c));

    c->fd = t_connect(f->path);
    assert_true(c->fd >= 0);
    return c;
}

static void client_del(struct tclient *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* Sends |req| and asserts the reply contains every NULL-terminated fragment. */
static void roundtrip(struct fixture *f, struct tclient *c, const char *req, ...)
{
    char line[4096];
    va_list ap;
    const char *frag;

    assert_int_equal(t_send(c->fd, req), 0);
    if (t_line(f->srv, c, line, sizeof(line), 3000) != 0)
        fail_msg("no reply to %s", req);
    va_start(ap, req);
    while ((frag = va_arg(ap, const char *)) != NULL)
        if (strstr(line, frag) == NULL)
            fail_msg("reply to %s\n  %s\n  lacks %s", req, line, frag);
    va_end(ap);
}

/* ---- tests ---- */

static void test_dispatch(void **state)
{
    struct fixture *f = *state;
    struct tclient *c;
    struct stat st;

    start(f);
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(ctl_server_register(f->srv, "list", h_list, f), -EEXIST);
    assert_int_equal(ctl_server_register(f->srv, "nope", h_list, f), -ENOENT);

    c = client_new(f);
    roundtrip(f, c, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"id\":1", "\"ok\":true",
              "\"result\":{\"conns\":[]}", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":2,\"cmd\":\"show\",\"args\":{\"conn\":404}}\n", "\"id\":2",
              "\"ok\":false", "\"code\":\"E_NO_SUCH_CONN\"", "no connection 404", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":3,\"cmd\":\"connect\",\"args\":{\"url\":\"https://x\"}}\n",
              "\"id\":3", "E_UNSUPPORTED", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":4,\"cmd\":\"quit\"}\n", "\"id\":4", "E_INTERNAL", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":5,\"cmd\":\"bogus\"}\n", "\"id\":5", "E_UNKNOWN_CMD", NULL);
    roundtrip(f, c, "{oops\n", "\"id\":null", "E_PARSE", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":6,\"cmd\":\"show\",\"args\":{\"conn\":\"x\"}}\n",
              "E_BAD_REQUEST", "args.conn: expected a non-negative integer", NULL);
    roundtrip(f, c, "{\"v\":1,\"id\":7,\"cmd\":\"connect\",\"args\":{\"url\":\"http://x\"}}\n",
              "E_BAD_URL", NULL);
    /* CRLF and blank lines are tolerated */
    roundtrip(f, c, "\n\r\n{\"v\":1,\"id\":8,\"cmd\":\"list\"}\r\n", "\"id\":8", "\"ok\":true",
              NULL);
    /* pipelined: two requests in one write, answered in order */
    {
        char l1[512], l2[512];
        assert_int_equal(t_send(c->fd,
                                "{\"v\":1,\"id\":10,\"cmd\":\"show\",\"args\":{\"conn\":1}}\n"
                                "{\"v\":1,\"id\":11,\"cmd\":\"show\",\"args\":{\"conn\":2}}\n"),
                         0);
        assert_int_equal(t_line(f->srv, c, l1, sizeof(l1), 3000), 0);
        assert_int_equal(t_line(f->srv, c, l2, sizeof(l2), 3000), 0);
        assert_non_null(strstr(l1, "\"id\":10"));
        assert_non_null(strstr(l1, "\"conn\":1"));
        assert_non_null(strstr(l2, "\"id\":11"));
        assert_non_null(strstr(l2, "\"conn\":2"));
    }
    /* a request split over several writes */
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":12,"), 0);
    t_step(f->srv, 5);
    roundtrip(f, c, "\"cmd\":\"list\"}\n", "\"id\":12", "\"ok\":true", NULL);
    client_del(c);
}

static void test_async_reply(void **state)
{
    struct fixture *f = *state;
    struct tclient *c;
    struct ctl_server_stats st;
    char line[1024];

    start(f);
    c = client_new(f);
    assert_int_equal(
        t_send(c->fd, "{\"v\":1,\"id\":\"w1\",\"cmd\":\"wait\",\"args\":{\"conn\":3}}\n"), 0);
    /* nothing arrives while the request is pending, other requests still work */
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 50), -1);
    assert_int_equal(f->deferred, 1);
    assert_int_equal(ctl_server_npending(f->srv), 1);
    roundtrip(f, c, "{\"v\":1,\"id\":2,\"cmd\":\"list\"}\n", "\"id\":2", NULL);

    assert_int_equal(ctl_server_reply(f->srv, f->token, json_pack("{s:b}", "closed", 1)), 0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_string_equal(line, "{\"v\":1,\"id\":\"w1\",\"ok\":true,\"result\":{\"closed\":true}}");
    assert_int_equal(ctl_server_npending(f->srv), 0);
    /* the token is spent */
    assert_int_equal(ctl_server_reply(f->srv, f->token, NULL), -ENOENT);
    assert_int_equal(ctl_server_fail(f->srv, 0, CTL_E_FAILED, "x"), -ENOENT);
    assert_int_equal(ctl_server_fail(f->srv, 12345678901ull, CTL_E_FAILED, "x"), -ENOENT);

    /* a deferred error */
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":5,\"cmd\":\"wait\",\"args\":{\"conn\":3}}\n"),
                     0);
    while (f->deferred < 2)
        t_step(f->srv, 1);
    assert_int_equal(ctl_server_fail(f->srv, f->token, CTL_E_CONN_CLOSED, "conn %d closed", 3), 0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":5"));
    assert_non_null(strstr(line, "E_CONN_CLOSED"));
    assert_non_null(strstr(line, "conn 3 closed"));
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.discarded, 3);
    client_del(c);
}

static void test_async_timeout(void **state)
{
    struct fixture *f = *state;
    struct tclient *c;
    struct ctl_server_stats st;
    char line[1024];
    uint64_t t0;

    f->conf.pending_timeout_ms = 100;
    start(f);
    c = client_new(f);
    t0 = t_now_ms();
    /* the handler passes the request's own timeout (60 ms) as the deadline */
    assert_int_equal(
        t_send(c->fd,
               "{\"v\":1,\"id\":9,\"cmd\":\"wait\",\"args\":{\"conn\":1,\"timeout\":0.06}}\n"),
        0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_true(t_now_ms() - t0 >= 60);
    assert_non_null(strstr(line, "\"id\":9"));
    assert_non_null(strstr(line, "E_TIMEOUT"));
    /* a late answer is discarded */
    assert_int_equal(ctl_server_reply(f->srv, f->token, json_object()), -ENOENT);
    /* the configured default deadline applies when the handler gives 0 */
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":10,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "E_TIMEOUT"));
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.timeouts, 2);
    /* the loop sleeps until the nearest deadline (ctl_server_timeout_ms), no longer */
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":11,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    while (f->deferred < 3)
        t_step(f->srv, 1);
    t0 = t_now_ms();
    while (ctl_server_npending(f->srv) > 0 && t_now_ms() - t0 < 2000)
        t_step(f->srv, -1);
    assert_int_equal(ctl_server_npending(f->srv), 0);
    client_del(c);
}

static void test_async_client_gone(void **state)
{
    struct fixture *f = *state;
    struct tclient *c, *d;

    start(f);
    c = client_new(f);
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":1,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    while (f->deferred < 1)
        t_step(f->srv, 1);
    close(c->fd);
    c->fd = -1;
    while (ctl_server_nclients(f->srv) > 0)
        t_step(f->srv, 1);
    /* a new client may reuse the slot: the old token must not reach it */
    d = client_new(f);
    roundtrip(f, d, "{\"v\":1,\"id\":2,\"cmd\":\"list\"}\n", "\"id\":2", NULL);
    assert_int_equal(ctl_server_reply(f->srv, f->token, json_object()), -ENOTCONN);
    assert_int_equal(ctl_server_npending(f->srv), 0);
    roundtrip(f, d, "{\"v\":1,\"id\":3,\"cmd\":\"list\"}\n", "\"id\":3", NULL);
    client_del(c);
    client_del(d);
}

static void test_pending_limits(void **state)
{
    struct fixture *f = *state;
    struct tclient *c, *d;
    char line[512];

    f->conf.max_client_pending = 2;
    f->conf.max_pending = 3;
    start(f);
    c = client_new(f);
    d = client_new(f);
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":1,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"
                                   "{\"v\":1,\"id\":2,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"
                                   "{\"v\":1,\"id\":3,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    /* the third of one client is refused: per-client limit */
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":3"));
    assert_non_null(strstr(line, "E_BUSY"));
    assert_int_equal(ctl_server_npending(f->srv), 2);
    /* another client gets one more, then hits the global limit */
    roundtrip(f, d, "{\"v\":1,\"id\":4,\"cmd\":\"list\"}\n", "\"id\":4", NULL);
    assert_int_equal(t_send(d->fd, "{\"v\":1,\"id\":5,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    while (ctl_server_npending(f->srv) < 3)
        t_step(f->srv, 1);
    roundtrip(f, d, "{\"v\":1,\"id\":6,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n", "\"id\":6",
              "E_BUSY", NULL);
    /* answering one frees a slot */
    assert_int_equal(ctl_server_reply(f->srv, f->token, NULL), 0);
    assert_int_equal(t_line(f->srv, d, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":5"));
    roundtrip(f, d, "{\"v\":1,\"id\":7,\"cmd\":\"list\"}\n", "\"id\":7", NULL);
    assert_int_equal(ctl_server_npending(f->srv), 2);
    client_del(c);
    client_del(d);
}

static void test_half_close(void **state)
{
    struct fixture *f = *state;
    struct tclient *c;
    char line[512];

    start(f);
    c = client_new(f);
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":1,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    shutdown(c->fd, SHUT_WR);
    while (f->deferred < 1)
        t_step(f->srv, 1);
    for (int i = 0; i < 10; i++)
        t_step(f->srv, 1);
    assert_int_equal(ctl_server_nclients(f->srv), 1); /* kept for the pending reply */
    assert_int_equal(ctl_server_reply(f->srv, f->token, NULL), 0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":1"));
    assert_int_equal(t_wait_eof(f->srv, c, 3000), 0);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
    client_del(c);
}

static void test_many_clients(void **state)
{
    struct fixture *f = *state;
    enum { N = 12 };
    struct tclient *c[N];
    char req[128], line[512], want[32];

    start(f);
    for (int i = 0; i < N; i++)
        c[i] = client_new(f);
    for (int i = 0; i < N; i++) {
        snprintf(req, sizeof(req), "{\"v\":1,\"id\":%d,\"cmd\":\"show\",\"args\":{\"conn\":%d}}\n",
                 100 + i, i + 1);
        assert_int_equal(t_send(c[i]->fd, req), 0);
    }
    for (int i = N - 1; i >= 0; i--) {
        assert_int_equal(t_line(f->srv, c[i], line, sizeof(line), 3000), 0);
        snprintf(want, sizeof(want), "\"id\":%d", 100 + i);
        assert_non_null(strstr(line, want));
    }
    assert_int_equal(ctl_server_nclients(f->srv), N);
    for (int i = 0; i < N; i++)
        client_del(c[i]);
}

static void test_client_limit(void **state)
{
    struct fixture *f = *state;
    struct tclient *c[3], *extra, *op;
    struct ctl_server_stats st;
    char line[512];

    f->conf.max_clients = 3;
    start(f);
    for (int i = 0; i < 3; i++) {
        c[i] = client_new(f);
        roundtrip(f, c[i], "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    }
    /* One more slot is kept for the operator (root, allow_uid: this test's own uid). */
    op = client_new(f);
    roundtrip(f, op, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    extra = client_new(f);
    assert_int_equal(t_line(f->srv, extra, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "E_BUSY"));
    assert_int_equal(t_wait_eof(f->srv, extra, 3000), 0);
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.refused_busy, 1);
    client_del(op);
    while (ctl_server_nclients(f->srv) > 3)
        t_step(f->srv, 1);
    /* a slot freed is a slot available */
    client_del(c[0]);
    while (ctl_server_nclients(f->srv) > 2)
        t_step(f->srv, 1);
    c[0] = client_new(f);
    roundtrip(f, c[0], "{\"v\":1,\"id\":2,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    for (int i = 0; i < 3; i++)
        client_del(c[i]);
    client_del(extra);
}

/* Idle clients: 16 clients that connect and send nothing hold every ordinary slot; the
 * operator's h3ctl still gets in (the kept slot); after [control] idle_timeout_ms without a
 * request they are dropped (counted), while a client waiting on a deferred request (`wait`)
 * is not idle and stays. Times are given to ctl_server_poll: no test waits 30 s. */
static void test_idle_clients(void **state)
{
    struct fixture *f = *state;
    struct tclient *idle[16], *waiter, *op;
    struct ctl_server_stats st;
    uint64_t t0;
    char line[512];

    start(f); /* defaults: 16 clients, 30 s idle timeout */
    assert_int_equal(f->conf.max_clients, 16);
    assert_int_equal(f->conf.idle_timeout_ms, 30000);
    waiter = client_new(f);
    assert_int_equal(t_send(waiter->fd, "{\"v\":1,\"id\":9,\"cmd\":\"wait\","
                                        "\"args\":{\"conn\":1,\"timeout\":600}}\n"),
                     0);
    while (ctl_server_npending(f->srv) == 0)
        t_step(f->srv, 1);
    for (int i = 0; i < 15; i++)
        idle[i] = client_new(f);
    while (ctl_server_nclients(f->srv) < 16)
        t_step(f->srv, 1);
    /* Every ordinary slot is held: the operator's h3ctl is served anyway. */
    op = client_new(f);
    roundtrip(f, op, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    assert_int_equal(ctl_server_nclients(f->srv), 17);
    client_del(op);
    while (ctl_server_nclients(f->srv) > 16)
        t_step(f->srv, 1);
    idle[15] = client_new(f);
    while (ctl_server_nclients(f->srv) < 17)
        t_step(f->srv, 1);

    /* The loop is told when to wake for the idle ones. */
    t0 = ctl_server_now(f->srv);
    assert_true(ctl_server_timeout_ms(f->srv, t0) > 0);
    assert_true(ctl_server_timeout_ms(f->srv, t0) <= 30000);
    ctl_server_poll(f->srv, t0 + 29000000000ull);
    assert_int_equal(ctl_server_nclients(f->srv), 17);
    ctl_server_poll(f->srv, t0 + 31000000000ull);
    assert_int_equal(ctl_server_nclients(f->srv), 1); /* the waiter */
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.dropped_idle, 16);
    assert_int_equal(ctl_server_npending(f->srv), 1);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(t_wait_eof(f->srv, idle[i], 3000), 0);
        client_del(idle[i]);
    }
    /* The waiter still gets its answer. */
    assert_int_equal(ctl_server_reply(f->srv, f->token, json_pack("{s:s}", "state", "CLOSED")), 0);
    assert_int_equal(t_line(f->srv, waiter, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "CLOSED"));
    client_del(waiter);
}

/* Steps the server at the given (test-made) time: accepts, then reads, then answers. */
static void poll_at(struct fixture *f, uint64_t now)
{
    for (int i = 0; i < 3; i++)
        ctl_server_poll(f->srv, now);
}

/* Reads and throws away what |fd| holds; returns the byte count. */
static size_t drain(int fd)
{
    char buf[65536];
    size_t total = 0;
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        total += (size_t)n;
    return total;
}

/* What counts as activity for the idle timeout, in test-made time (1 s timeout): a request
 * does, half a line does not; taking bytes of a long reply does, leaving it unread does not. */
static void test_idle_activity(void **state)
{
    struct fixture *f = *state;
    struct tclient *a, *b, *c, *d, *late;
    struct ctl_server_stats st;
    const uint64_t ms = 1000000ull, t0 = 1000000 * ms;
    char line[512];

    f->conf.idle_timeout_ms = 1000;
    f->big = 900 * 1024; /* more than the socket buffers hold, less than max_outbuf */
    start(f);
    a = client_new(f);
    b = client_new(f);
    c = client_new(f);
    poll_at(f, t0);
    assert_int_equal(ctl_server_nclients(f->srv), 3);
    assert_int_equal(ctl_server_timeout_ms(f->srv, t0), 1000);
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":"), 0);
    poll_at(f, t0 + 500 * ms);
    assert_int_equal(t_send(a->fd, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n"), 0);
    poll_at(f, t0 + 900 * ms);
    assert_int_equal(t_line(NULL, a, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"ok\":true"));
    poll_at(f, t0 + 999 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 3);
    /* b never sent anything, c half a line: idle since t0; a asked at 900 ms */
    poll_at(f, t0 + 1000 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    assert_int_equal(t_wait_eof(NULL, b, 3000), 0);
    assert_int_equal(t_wait_eof(NULL, c, 3000), 0);
    assert_int_equal(ctl_server_timeout_ms(f->srv, t0 + 1000 * ms), 900);

    /* A long reply that a reads part of at 2.5 s: active then, not cut at 3 s. */
    assert_int_equal(t_send(a->fd, "{\"v\":1,\"id\":2,\"cmd\":\"stats\"}\n"), 0);
    poll_at(f, t0 + 1800 * ms);
    assert_true(drain(a->fd) > 0);
    poll_at(f, t0 + 2500 * ms); /* writable again: more of the reply goes */
    poll_at(f, t0 + 3000 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    /* Then it stops reading: idle from 2.5 s, cut at 3.5 s. */
    poll_at(f, t0 + 3499 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    poll_at(f, t0 + 3500 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.dropped_idle, 3);
    assert_int_equal(st.dropped_slow, 0);
    assert_int_equal(ctl_server_timeout_ms(f->srv, t0 + 3500 * ms), -1);

    /* A waiter answered outside ctl_server_poll (a worker's event) is idle from the loop
     * time ctl_server_tick gave, not from its request's; ticks expire with no traffic. */
    d = client_new(f);
    poll_at(f, t0 + 4000 * ms);
    assert_int_equal(t_send(d->fd, "{\"v\":1,\"id\":3,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"),
                     0);
    poll_at(f, t0 + 4000 * ms);
    assert_int_equal(ctl_server_npending(f->srv), 1);
    ctl_server_tick(f->srv, t0 + 9000 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    assert_int_equal(ctl_server_reply(f->srv, f->token, NULL), 0);
    assert_int_equal(t_line(NULL, d, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":3"));
    ctl_server_tick(f->srv, t0 + 9999 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    ctl_server_tick(f->srv, t0 + 10000 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.dropped_idle, 4);

    /* With nobody left, a client that connects and says nothing is still seen to. */
    late = client_new(f);
    poll_at(f, t0 + 11000 * ms);
    ctl_server_tick(f->srv, t0 + 11999 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    ctl_server_tick(f->srv, t0 + 12000 * ms);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
    client_del(a);
    client_del(b);
    client_del(c);
    client_del(d);
    client_del(late);
}

/* The kept slot is the operator's only: unprivileged clients (a child dropped to nobody,
 * allowed by group) stop at max_clients, root gets the one more, and only one. */
static void test_operator_slot(void **state)
{
    struct fixture *f = *state;
    struct ctl_server_stats st;
    struct tclient *op, *op2;
    int up[2], down[2], status = -1;
    char line[512], r = 0;
    pid_t pid;

    if (geteuid() != 0)
        skip(); /* needs a peer that is not the operator: root drops one to nobody */
    f->conf.max_clients = 3;
    f->conf.allow_gid = NOBODY;
    start(f);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(f->path, 0666), 0);
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct tclient held[3], extra = {.fd = -1};
        char ok;
        close(up[0]);
        close(down[1]);
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(77);
        for (int i = 0; i < 3; i++)
            held[i].fd = t_connect(f->path);
        extra.fd = t_connect(f->path);
        ok = held[0].fd >= 0 && held[1].fd >= 0 && held[2].fd >= 0 && extra.fd >= 0 &&
                     t_line(NULL, &extra, line, sizeof(line), 3000) == 0 &&
                     strstr(line, "E_BUSY") != NULL
                 ? 'y'
                 : 'n';
        if (write(up[1], &ok, 1) != 1 || read(down[0], &ok, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    for (uint64_t t = t_now_ms(); r == 0 && t_now_ms() - t < 5000;) {
        struct pollfd p = {.fd = up[0], .events = POLLIN};
        t_step(f->srv, 1);
        if (poll(&p, 1, 0) == 1 && read(up[0], &r, 1) != 1)
            break;
    }
    if (r == 0) { /* the child could not drop to nobody (77) or failed */
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
            skip();
        fail_msg("the unprivileged child reported nothing (status %d)", status);
    }
    assert_int_equal(r, 'y'); /* 3 unprivileged held, the 4th got E_BUSY */
    assert_int_equal(ctl_server_nclients(f->srv), 3);
    op = client_new(f);
    roundtrip(f, op, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    assert_int_equal(ctl_server_nclients(f->srv), 4);
    op2 = client_new(f);
    assert_int_equal(t_line(f->srv, op2, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "E_BUSY"));
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.refused_busy, 2);
    client_del(op2);
    client_del(op);
    while (ctl_server_nclients(f->srv) > 3)
        t_step(f->srv, 1);
    op = client_new(f); /* the kept slot is free again */
    roundtrip(f, op, "{\"v\":1,\"id\":2,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
    client_del(op);
    assert_int_equal(write(down[1], "x", 1), 1);
    while (waitpid(pid, &status, WNOHANG) != pid)
        t_step(f->srv, 1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(up[0]);
    close(down[1]);
}

static void test_slow_client(void **state)
{
    struct fixture *f = *state;
    struct tclient *slow, *good;
    struct ctl_server_stats st;
    uint64_t t0;
    char req[64 * 64];

    f->conf.max_outbuf = 256 * 1024;
    f->big = 32 * 1024;
    start(f);
    slow = client_new(f);
    good = client_new(f);
    /* The slow client asks for many large replies and never reads them. */
    req[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(req, "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}\n");
    while (ctl_server_nclients(f->srv) < 2)
        t_step(f->srv, 1);
    t0 = t_now_ms();
    while (ctl_server_nclients(f->srv) == 2 && t_now_ms() - t0 < 5000) {
        /* best effort: never block the test on the slow client's full socket */
        if (send(slow->fd, req, strlen(req), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
            break;
        t_step(f->srv, 1);
        /* the other client is served all along */
        roundtrip(f, good, "{\"v\":1,\"id\":2,\"cmd\":\"show\",\"args\":{\"conn\":5}}\n",
                  "\"id\":2", "\"conn\":5", NULL);
    }
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.dropped_slow, 1);
    assert_int_equal(ctl_server_nclients(f->srv), 1);
    roundtrip(f, good, "{\"v\":1,\"id\":3,\"cmd\":\"list\"}\n", "\"id\":3", NULL);
    client_del(slow);
    client_del(good);
}

static void test_vanish_mid_reply(void **state)
{
    struct fixture *f = *state;
    struct tclient *c, *d;

    f->conf.max_outbuf = 8 * 1024 * 1024;
    f->big = 4 * 1024 * 1024; /* far more than the socket buffers hold */
    start(f);
    c = client_new(f);
    assert_int_equal(t_send(c->fd, "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}\n"), 0);
    while (ctl_server_nclients(f->srv) == 0)
        t_step(f->srv, 1);
    for (int i = 0; i < 20; i++)
        t_step(f->srv, 1); /* the reply is now partly sent, partly buffered */
    close(c->fd);                   /* gone without reading */
    c->fd = -1;
    for (uint64_t t0 = t_now_ms(); ctl_server_nclients(f->srv) > 0 && t_now_ms() - t0 < 3000;)
        t_step(f->srv, 1);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
    f->big = 16;
    d = client_new(f);
    roundtrip(f, d, "{\"v\":1,\"id\":2,\"cmd\":\"stats\"}\n", "\"id\":2", "\"ok\":true", NULL);
    client_del(c);
    client_del(d);
}

static void test_line_limit(void **state)
{
    struct fixture *f = *state;
    struct tclient *c;
    struct ctl_server_stats st;
    static char big[5002];
    char line[512];
    const char *head = "{\"v\":1,\"id\":1,\"cmd\":\"list\",\"args\":{},\"pad\":\"";

    f->conf.max_line = 1024;
    start(f);
    c = client_new(f);
    /* 5000 bytes without a newline: one E_TOO_LONG, the rest of the line is skipped */
    memset(big, 'a', 5000);
    big[5000] = '\0';
    assert_int_equal(t_send(c->fd, big), 0);
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "E_TOO_LONG"));
    assert_int_equal(t_send(c->fd, big), 0);
    assert_int_equal(t_send(c->fd, "tail\n{\"v\":1,\"id\":2,\"cmd\":\"list\"}\n"), 0);
    /* the connection stays usable and the next request is answered */
    assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"id\":2"));
    assert_non_null(strstr(line, "\"ok\":true"));
    /* exactly max_line bytes including the newline is accepted (and parsed) */
    {
        size_t h = strlen(head);
        memcpy(big, head, h);
        memset(big + h, 'b', 1024 - h - 3);
        memcpy(big + 1024 - 3, "\"}\n", 4);
        assert_int_equal(strlen(big), 1024);
        roundtrip(f, c, big, "\"id\":1", "pad: unknown field", NULL);
        big[1024 - 1] = 'c'; /* one more byte makes it too long */
        memcpy(big + 1024, "\n", 2);
        roundtrip(f, c, big, "E_TOO_LONG", NULL);
    }
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.too_long, 2);
    {
        json_t *j = ctl_server_stats_json(f->srv);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "too_long")), 2);
        assert_int_equal(json_integer_value(json_object_get(j, "clients")), 1);
        assert_int_equal(json_integer_value(json_object_get(j, "requests")), st.requests);
        json_decref(j);
    }
    client_del(c);
}

static void test_peer_check_policy(void **state)
{
    struct ctl_server_conf conf;
    gid_t groups[] = {5, 1234};

    (void)state;
    ctl_server_conf_defaults(&conf);
    conf.allow_uid = 1000;
    conf.allow_gid = 1234;
    assert_true(ctl_peer_allowed(&conf, 0, 0, NULL, 0));        /* root */
    assert_true(ctl_peer_allowed(&conf, 1000, 100, NULL, 0));   /* the user */
    assert_true(ctl_peer_allowed(&conf, 1001, 1234, NULL, 0));  /* primary group */
    assert_true(ctl_peer_allowed(&conf, 1001, 100, groups, 2)); /* supplementary group */
    assert_false(ctl_peer_allowed(&conf, 1001, 100, groups, 1));
    assert_false(ctl_peer_allowed(&conf, NOBODY, NOBODY, NULL, 0));
    conf.allow_gid = CTL_NO_GID;
    assert_false(ctl_peer_allowed(&conf, 1001, 1234, groups, 2));
}

/* Root is always allowed, so as root the refused peer is a child that drops to nobody;
 * otherwise the server is configured with a uid/gid this process does not have. */
static void test_peer_refused(void **state)
{
    struct fixture *f = *state;
    struct ctl_server_stats st;
    char line[512];

    f->conf.allow_uid = geteuid() == 0 ? 4242 : geteuid() + 1;
    f->conf.allow_gid = CTL_NO_GID;
    start(f);
    if (geteuid() != 0) {
        struct tclient *c = client_new(f);
        assert_int_equal(t_line(f->srv, c, line, sizeof(line), 3000), 0);
        assert_non_null(strstr(line, "E_PERM"));
        assert_int_equal(t_wait_eof(f->srv, c, 3000), 0);
        client_del(c);
    } else {
        pid_t pid;
        int status = -1;
        /* let nobody reach the socket file: the credential check is what must refuse */
        assert_int_equal(chmod(f->dir, 0755), 0);
        assert_int_equal(chmod(f->path, 0666), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct tclient c = {.fd = -1};
            int ok;
            /* no CAP_SETUID (restricted container): cannot test this way */
            if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
                _exit(77);
            c.fd = t_connect(f->path);
            ok = c.fd >= 0 && t_line(NULL, &c, line, sizeof(line), 3000) == 0 &&
                 strstr(line, "E_PERM") != NULL && t_wait_eof(NULL, &c, 3000) == 0;
            _exit(ok ? 0 : 1);
        }
        for (uint64_t t0 = t_now_ms(); t_now_ms() - t0 < 5000;) {
            t_step(f->srv, 1);
            if (waitpid(pid, &status, WNOHANG) == pid)
                break;
        }
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            ctl_server_del(f->srv);
            f->srv = NULL;
            skip();
        }
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    ctl_server_get_stats(f->srv, &st);
    assert_int_equal(st.refused_perm, 1);
    assert_int_equal(st.accepted, 0);
    assert_int_equal(ctl_server_nclients(f->srv), 0);
}

static void test_socket_file(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct ctl_server *second;
    int fd, err = 0;

    /* a stale socket left by a dead daemon is replaced */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    start(f);
    /* a live one is not */
    second = ctl_server_new(&f->conf, &err);
    assert_null(second);
    assert_int_equal(err, -EADDRINUSE);
    {
        struct tclient *c = client_new(f);
        roundtrip(f, c, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n", "\"ok\":true", NULL);
        client_del(c);
    }
    ctl_server_del(f->srv);
    f->srv = NULL;
    assert_int_equal(access(f->path, F_OK), -1); /* removed on exit */
    /* a file that is not a socket is never removed */
    fd = open(f->path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    assert_null(ctl_server_new(&f->conf, &err));
    assert_int_equal(err, -EEXIST);
    assert_int_equal(access(f->path, F_OK), 0);
    unlink(f->path);
    /* bad configurations */
    f->conf.max_clients = 0;
    assert_null(ctl_server_new(&f->conf, &err));
    assert_int_equal(err, -EINVAL);
    f->conf.max_clients = 4;
    f->conf.path = "/tmp/this-path-is-far-too-long-for-a-unix-socket-address-"
                   "0123456789012345678901234567890123456789012345678901234567890123456789";
    assert_null(ctl_server_new(&f->conf, &err));
    assert_int_equal(err, -ENAMETOOLONG);
    /* group ownership when configured (root can chown to any group) */
    if (geteuid() == 0) {
        struct stat st;
        f->conf.path = f->path;
        f->conf.allow_gid = NOBODY;
        start(f);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_gid, NOBODY);
        assert_int_equal(st.st_mode & 0777, 0660);
    }
}

static void adopt_pair(struct fixture *f, int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    (void)f;
}

static void test_adopt_and_deadlines(void **state)
{
    struct fixture *f = *state;
    struct tclient c = {.fd = -1};
    int sv[2];
    char line[256];

    f->conf.path = NULL; /* no listening socket at all */
    f->conf.idle_timeout_ms = 0; /* only the deferred request's deadline here */
    start(f);
    adopt_pair(f, sv);
    assert_int_equal(ctl_server_adopt(f->srv, sv[0]), 0);
    c.fd = sv[1];
    assert_int_equal(t_send(c.fd, "{\"v\":1,\"id\":1,\"cmd\":\"list\"}\n"), 0);
    assert_int_equal(t_line(f->srv, &c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "\"conns\":[]"));

    /* The server reads no clock: a deferred request's deadline is counted from the time of
     * the poll that deferred it, and only a poll at or past it expires the request. */
    assert_int_equal(ctl_server_timeout_ms(f->srv, 0), -1);
    assert_int_equal(t_send(c.fd, "{\"v\":1,\"id\":2,\"cmd\":\"wait\",\"args\":{\"conn\":1}}\n"), 0);
    while (ctl_server_npending(f->srv) == 0)
        ctl_server_poll(f->srv, 1000000000ull);
    assert_int_equal(ctl_server_now(f->srv), 1000000000ull);
    assert_int_equal(ctl_server_timeout_ms(f->srv, 1000000000ull), (int)f->conf.pending_timeout_ms);
    assert_int_equal(ctl_server_timeout_ms(f->srv, 1500000000ull),
                     (int)f->conf.pending_timeout_ms - 500);
    ctl_server_poll(f->srv, 1000000000ull + (uint64_t)f->conf.pending_timeout_ms * 1000000ull - 1);
    assert_int_equal(ctl_server_npending(f->srv), 1);
    ctl_server_poll(f->srv, 1000000000ull + (uint64_t)f->conf.pending_timeout_ms * 1000000ull);
    assert_int_equal(ctl_server_npending(f->srv), 0);
    assert_int_equal(ctl_server_timeout_ms(f->srv, 0), -1);
    assert_int_equal(t_line(NULL, &c, line, sizeof(line), 3000), 0);
    assert_non_null(strstr(line, "E_TIMEOUT"));
    close(c.fd);
    f->conf.path = f->path;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_activity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanish_mid_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_limit, setup, teardown),
        cmocka_unit_test(test_peer_check_policy),
        cmocka_unit_test_setup_teardown(test_peer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_and_deadlines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
