/* End-to-end: h3ctl against fake_h3dpd (the real control server and worker rings with
 * canned connections). Runs the real h3ctl binary and checks its output (POSIX extended
 * regex, per line) and exit status: 0 success, 1 failed operation, 2 usage, 3 unreachable.
 *
 * usage: test_h3ctl H3CTL FAKE_H3DPD
 */
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 16

static const char *h3ctl, *fake;
static char dir[64], sock[100];
static pid_t daemon_pid = -1;
static int fails;

struct check {
    const char *name;
    int rc;
    const char *pattern;        /* NULL: output not checked */
    const char *args[MAX_ARGS]; /* after "h3ctl -s SOCK" */
};

/* Runs h3ctl with |args|; returns its exit status and its stdout+stderr in |out|. */
static int run_h3ctl(const char *const *args, char *out, size_t out_len, bool with_socket)
{
    const char *argv[MAX_ARGS + 4];
    int p[2], n = 0, status;
    size_t len = 0;
    pid_t pid;

    argv[n++] = h3ctl;
    if (with_socket) {
        argv[n++] = "-s";
        argv[n++] = sock;
    }
    for (int i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(h3ctl, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        ssize_t r = read(p[0], out + len, out_len - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == out_len - 1)
            break;
    }
    out[len] = '\0';
    close(p[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void report(const char *name, bool ok, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        printf("ok   %s\n", name);
        return;
    }
    fails++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void run_check(const struct check *c, bool with_socket)
{
    static char out[1 << 16];
    int rc = run_h3ctl(c->args, out, sizeof(out), with_socket);

    if (rc != c->rc) {
        report(c->name, false, "exit %d, want %d\n%s", rc, c->rc, out);
        return;
    }
    if (c->pattern != NULL) {
        regex_t re;
        int m;
        if (regcomp(&re, c->pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) != 0) {
            report(c->name, false, "bad pattern %s", c->pattern);
            return;
        }
        m = regexec(&re, out, 0, NULL, 0);
        regfree(&re);
        if (m != 0) {
            report(c->name, false, "output lacks /%s/\n%s", c->pattern, out);
            return;
        }
    }
    report(c->name, true, NULL);
}

#define CHECKS(arr) run_checks(arr, sizeof(arr) / sizeof(arr[0]))

static void run_checks(const struct check *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_check(&c[i], true);
}

static const struct check before_daemon[] = {
    {"unreachable", 3, "cannot reach h3dpd", {"list"}},
};

static const struct check usage[] = {
    {"usage-no-command", 2, "usage: h3ctl", {NULL}},
    {"usage-unknown-cmd", 2, "unknown command 'frobnicate'", {"frobnicate"}},
    {"usage-unknown-opt", 2, "unknown option --bogus", {"list", "--bogus"}},
    {"usage-missing-arg", 2, "missing ID", {"shutdown"}},
    {"usage-bad-number", 2, "expected a non-negative integer", {"show", "abc"}},
    {"usage-bad-duration",
     2,
     "expected a duration",
     {"shutdown", "1", "--max-push", "3", "--timeout", "5x"}},
    {"usage-bad-url",
     2,
     "args.url: URL must not carry userinfo",
     {"connect", "https://u@h3sink.test"}},
    {"usage-bad-url-path", 2, "path, query or fragment", {"connect", "https://h3sink.test/x"}},
    {"usage-bad-header",
     2,
     "expected 'name: value'",
     {"request", "1", "GET", "/", "-H", "novalue"}},
    {"usage-both-bodies",
     2,
     "either body or body_file",
     {"request", "1", "POST", "/", "--data", "x", "--data-file", "/etc/hostname"}},
    {"usage-extra-arg", 2, "unexpected argument 'x'", {"list", "x"}},
    {"usage-bad-error", 2, "expected an error code", {"close", "1", "--error", "0xZZ"}},
    {"usage-upload-action", 2, "expected one of start", {"upload", "go"}},
    {"help", 0, "^usage: h3ctl \\[-s SOCKET\\]", {"--help"}},
    {"help-exit-codes", 0, "3 daemon unreachable", {"--help"}},
    {"cmd-help",
     0,
     "--max-push N +push ID limit requested for the GOAWAY, default 0",
     {"shutdown", "--help"}},
    {"cmd-help-list", 0, "--all +closed connections too", {"list", "--help"}},
    {"cmd-help-request", 0, "-H 'NAME: VALUE'", {"request", "--help"}},
};

static const struct check ops[] = {
    /* 0: normal operation, human tables */
    {"list-empty", 0, "^ID +STATE +URL +LCORE +IN_FLIGHT +DONE +RTT +AGE +OUTCOME\n$", {"list"}},
    {"connect",
     0,
     "^conn +1$",
     {"connect", "https://h3sink.test:4433", "--sni", "h3sink.test", "--insecure"}},
    {"connect-2", 0, "^conn +2$", {"connect", "https://[::1]:4433", "--lcore", "2"}},
    {"list-table", 0, "^ID +STATE +URL +LCORE +IN_FLIGHT +DONE +RTT +AGE +OUTCOME$", {"list"}},
    {"list-row",
     0,
     "^1 +ESTABLISHED +https://h3sink.test:4433 +[0-9]+ +0 +0 +1.32ms +12m34s +-$",
     {"list"}},
    {"list-row-2", 0, "^2 +ESTABLISHED +https://\\[::1\\]:4433 +2 ", {"list"}},
    {"show", 0, "^push_limit.requested +0$", {"show", "1"}},
    {"show-rtt", 0, "^rtt.smoothed_ms +0.5$", {"show", "1"}},
    {"show-real", 0, "^elapsed_s +28.8686$", {"show", "1"}},
    {"show-real-json", 0, "\"elapsed_s\": 28.8686,$", {"--json", "show", "1"}},
    {"request",
     0,
     "^status +200$",
     {"request", "1", "POST", "/upload", "-H", "Content-Type: text/plain", "--data", "hello"}},
    {"request-bytes", 0, "^body_bytes +5$", {"request", "1", "POST", "/upload", "--data=hello"}},
    {"stats", 0, "^LCORE +ROLE +BUSY_CYCLES +IDLE_CYCLES$", {"stats"}},
    {"stats-kv", 0, "^control.requests +[0-9]+$", {"stats"}},
    {"neigh",
     0,
     "^ADDRESS +MAC +STATE +AGE_MS +CONFIRMATIONS +PROBES +CONFLICTS +QUEUED +IN_USE$",
     {"neigh"}},
    {"neigh-row", 0, "^198.18.0.1 +02:00:00:00:00:01 +reachable +120 +42 +1 +2 +0 +yes$",
     {"neigh"}},
    {"neigh-static", 0, "^198.18.0.254 +02:00:00:00:00:fe +permanent +- +0 +0 +0 +0 +yes$",
     {"neigh"}},
    {"neigh-json", 0, "\"conflicts\": 2", {"--json", "neigh"}},
    {"json", 0, "\"status\": 200", {"--json", "request", "1", "GET", "/"}},
    /* 1: failed operations */
    {"no-such-conn", 1, "E_NO_SUCH_CONN: no connection 9", {"show", "9"}},
    {"no-such-conn-json", 1, "\"code\": \"E_NO_SUCH_CONN\"", {"--json", "show", "9"}},
    {"handshake-fail", 1, "E_FAILED: handshake timeout", {"connect", "https://unreachable.test"}},
    {"upload-unsupported", 1, "E_UNSUPPORTED", {"upload", "status"}},
    /* shutdown --wait: deferred through the worker rings; outcome OK */
    {"shutdown-wait",
     0,
     "^outcome.reason +H3_NO_ERROR$",
     {"shutdown", "1", "--max-push", "3", "--timeout", "5s", "--wait"}},
    {"shutdown-limit", 0, "^push_limit.requested +3$", {"show", "1"}},
    {"shutdown-effective", 0, "^push_limit.effective +0$", {"show", "1"}},
    {"closed-request", 1, "E_CONN_CLOSED", {"request", "1", "GET", "/"}},
    {"wait-closed", 0, "^outcome.ok +yes$", {"wait", "1"}},
    /* close with an error code: closed as asked -> 0; wait on it: ended with an error -> 1 */
    {"close-error", 0, "^outcome.code +0x10c$", {"close", "2", "--error", "0x10c"}},
    {"close-again", 1, "E_CONN_CLOSED", {"close", "2"}},
    {"wait-closed-error", 1, "^outcome.code +0x10c$", {"wait", "2"}},
    {"list-no-closed", 0, "^ID +STATE[^\n]*\n$", {"list"}},
    {"list-all",
     0,
     "^2 +CLOSED +https://\\[::1\\]:4433 +2 +0 +0 +1.32ms +12m34s +"
     "H3_REQUEST_CANCELLED \\(local\\)$",
     {"list", "--all"}},
    {"list-all-ok", 0, "^1 +CLOSED .* ok$", {"list", "--all"}},
    /* shutdown without --wait returns at once; wait then gets the outcome */
    {"connect-3", 0, "^conn +3$", {"connect", "https://h3sink.test"}},
    {"shutdown-nowait", 0, "^state +DRAINING$", {"shutdown", "3"}},
    {"shutdown-default-push", 0, "^push_limit.requested +0$", {"show", "3"}},
    {"wait-after", 0, "^outcome.ok +yes$", {"wait", "3", "--timeout", "5s"}},
    /* a wait that times out in the daemon (E_TIMEOUT) -> 1 */
    {"connect-4", 0, "^conn +4$", {"connect", "https://h3sink.test"}},
    {"wait-timeout", 1, "E_TIMEOUT", {"wait", "4", "--timeout", "200ms"}},
    /* the client's own reply timeout -> 3 */
    {"reply-timeout", 3, "no reply", {"--timeout", "300ms", "wait", "4"}},
    {"list-after", 0, "^4 +ESTABLISHED", {"list"}},
    {"quit", 0, "^state +exiting$", {"quit"}},
};

static const struct check after_quit[] = {
    {"after-quit", 3, "cannot reach", {"list"}},
};

static void cleanup(void)
{
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    unlink(sock);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    struct stat st;
    int status;

    if (argc != 3) {
        fprintf(stderr, "usage: %s H3CTL FAKE_H3DPD\n", argv[0]);
        return 2;
    }
    h3ctl = argv[1];
    fake = argv[2];
    snprintf(dir, sizeof(dir), "/tmp/h3dp-h3ctl-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(sock, sizeof(sock), "%s/h3dpd.sock", dir);
    atexit(cleanup);

    CHECKS(before_daemon);
    {
        /* $H3DP_SOCKET is the default socket */
        static const struct check env = {
            "env-socket", 3, "cannot reach h3dpd at /tmp/h3dp-h3ctl", {"list"}};
        setenv("H3DP_SOCKET", sock, 1);
        run_check(&env, false);
        unsetenv("H3DP_SOCKET");
    }

    daemon_pid = fork();
    if (daemon_pid == 0) {
        execl(fake, fake, sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && stat(sock, &st) != 0; i++)
        usleep(25000);
    report("daemon-started", stat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "no socket %s", sock);
    if (fails)
        return 1;
    report("socket-mode-0660", (st.st_mode & 0777) == 0660, "mode %o", st.st_mode & 0777);

    CHECKS(usage);
    CHECKS(ops);
    report("daemon-exit-0",
           waitpid(daemon_pid, &status, 0) == daemon_pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == 0,
           "daemon status %d", status);
    daemon_pid = -1;
    CHECKS(after_quit);

    if (fails) {
        printf("%d check(s) failed\n", fails);
        return 1;
    }
    printf("all h3ctl checks passed\n");
    return 0;
}
