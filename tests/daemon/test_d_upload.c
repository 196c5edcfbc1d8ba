/* test_d_upload: h3dpd's `upload` command (daemon/d_upload.c) over a real control server,
 * engine and kernel-mode service, against h3sink on loopback: the errors an operator can
 * meet and a target given at run time. Args: H3SINK CERTS_DIR. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_upload.h"
#include "mono.h"
#include "sink_proc.h"
#include "up_rig.h"
#include "upload.h"

static const char *sink_path, *certs;
static struct sink_proc sink;

/* Sends one control line through |fd| (a client the server adopted) and returns the reply,
 * running the loop meanwhile, as h3dpd would. */
static json_t *command(int fd, struct ctl_server *srv, struct up_rig *r, const char *line)
{
    static char buf[16384];
    static size_t have;
    uint64_t end = mono_ns() + 5000000000ull;

    assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    while (mono_ns() < end) {
        ctl_server_poll(srv, mono_ns());
        up_rig_step(r);
        ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t)n;
        char *nl = memchr(buf, '\n', have);
        if (nl) {
            *nl = '\0';
            json_t *j = json_loads(buf, 0, NULL);
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have);
            assert_non_null(j);
            return j;
        }
    }
    fail_msg("no reply to %s", line);
    return NULL;
}

static void assert_error(json_t *rep, const char *code, const char *words)
{
    assert_false(json_is_true(json_object_get(rep, "ok")));
    assert_string_equal(json_string_value(json_object_get(rep, "code")), code);
    const char *msg = json_string_value(json_object_get(rep, "message"));
    if (!msg || !strstr(msg, words))
        fail_msg("message '%s' does not say '%s'", msg ? msg : "(none)", words);
    json_decref(rep);
}

static void test_command(void **state)
{
    static struct cfg c;
    struct ctl_server_conf cc;
    struct up_conf uc;
    struct up_rig r;
    struct d_upload d;
    char line[512], want[128];
    int sp[2], err = 0;
    (void)state;

    assert_int_equal(sink_proc_start(&sink, sink_path, certs, NULL), 0);
    cfg_defaults(&c);
    c.dataplane.io = CFG_IO_KERNEL; /* the rig's service is the kernel one */
    c.upload.connections = 1;
    c.upload.streams = 4;
    c.upload.batch_bytes = 4096;
    d_upload_conf(&c, &uc);
    up_rig_open(&r, &uc, 1, certs);
    ctl_server_conf_defaults(&cc);
    struct ctl_server *srv = ctl_server_new(&cc, &err);
    assert_non_null(srv);
    d = (struct d_upload){ .cfg = &c, .up = r.u };
    assert_int_equal(d_upload_register(&d, srv), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    assert_int_equal(ctl_server_adopt(srv, sp[1]), 0);

    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":1,\"cmd\":\"upload\",\"args\":{\"action\":\"start\"}}\n"),
                 "E_BAD_REQUEST", "no upload target");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":2,\"cmd\":\"upload\",\"args\":{\"action\":\"target\"}}\n"),
                 "E_BAD_REQUEST", "--url");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":3,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"https://collector.example/t\"}}\n"),
                 "E_BAD_URL", "no resolver");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":4,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"http://127.0.0.1/t\"}}\n"),
                 "E_BAD_URL", "https");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":40,\"cmd\":\"upload\",\"args\":{\"action\":\"status\","
                         "\"url\":\"https://127.0.0.1/t\"}}\n"),
                 "E_BAD_REQUEST", "--url goes with");
    /* No server has these addresses; on the DPDK path neither loopback nor our own. */
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":41,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"https://198.18.0.1/t, https://0.0.0.0:1/t\"}}\n"),
                 "E_BAD_URL", "0.0.0.0 is the unspecified address");
    c.dataplane.io = CFG_IO_DPDK;
    c.port.ip = inet_addr("198.18.0.2");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":42,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"https://127.0.0.1/t\"}}\n"),
                 "E_BAD_URL", "127.0.0.1 is a loopback address, not reachable through the DPDK port");
    assert_error(command(sp[0], srv, &r,
                         "{\"v\":1,\"id\":43,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
                         "\"url\":\"https://198.18.0.2:4433/t\"}}\n"),
                 "E_BAD_URL", "198.18.0.2 is the DPDK port's own address");
    c.dataplane.io = CFG_IO_KERNEL;

    /* start --url: the target and a generator run of 2000 records at once. */
    snprintf(line, sizeof(line),
             "{\"v\":1,\"id\":5,\"cmd\":\"upload\",\"args\":{\"action\":\"start\","
             "\"url\":\"https://127.0.0.1:%u/first\",\"rate\":0,\"records\":2000,"
             "\"record_size\":100,\"connections\":2}}\n",
             sink.port);
    json_t *rep = command(sp[0], srv, &r, line);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    json_t *res = json_object_get(rep, "result");
    snprintf(want, sizeof(want), "https://127.0.0.1:%u/first", sink.port);
    assert_string_equal(json_string_value(json_object_get(res, "url")), want);
    assert_int_equal(up_rig_get(res, "connections", "target"), 2);
    assert_int_equal(up_rig_get(res, "generator", "record_bytes"), 100);
    json_decref(rep);
    /* Batches are queued or in flight for the first target: a new one is refused. */
    snprintf(line, sizeof(line),
             "{\"v\":1,\"id\":6,\"cmd\":\"upload\",\"args\":{\"action\":\"target\","
             "\"url\":\"https://127.0.0.1:%u/second\"}}\n",
             sink.port);
    assert_error(command(sp[0], srv, &r, line), "E_BUSY", "queued or in flight");
    json_t *st = up_rig_run(&r, 2000, 20000);
    assert_int_equal(up_rig_get(st, "acked", "records"), 2000);
    json_decref(st);
    /* Idle: the new target is taken. */
    rep = command(sp[0], srv, &r, line);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    snprintf(want, sizeof(want), "https://127.0.0.1:%u/second", sink.port);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "result"), "url")),
                        want);
    json_decref(rep);
    /* stop: the generator stops; status says so. */
    rep = command(sp[0], srv, &r,
                  "{\"v\":1,\"id\":8,\"cmd\":\"upload\",\"args\":{\"action\":\"stop\"}}\n");
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_false(json_is_true(json_object_get(json_object_get(json_object_get(rep, "result"),
                                                              "generator"),
                                              "active")));
    json_decref(rep);

    close(sp[0]);
    ctl_server_del(srv);
    up_rig_close(&r);
    char *fin = sink_proc_stop(&sink, NULL);
    json_t *f = fin ? json_loads(fin, 0, NULL) : NULL;
    free(fin);
    assert_non_null(f);
    assert_int_equal(up_rig_get(f, "records", NULL), 2000);
    json_decref(f);
}

static int kill_sink(void **state)
{
    (void)state;
    sink_proc_kill(&sink);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s H3SINK CERTS_DIR\n", argv[0]);
        return 2;
    }
    sink_path = argv[1];
    certs = argv[2];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_command, kill_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
