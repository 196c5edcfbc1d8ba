/* h3ctl: the operator CLI for h3dpd's control socket (docs/CONTROL.md).
 *
 *   h3ctl [-s SOCKET] [--json] [--timeout DURATION] COMMAND ARGS...
 *
 * Commands, their arguments and their --help text all come from the protocol's command
 * table (ctl_cmd_table()), so the CLI and the daemon validate the same way. Requests are
 * validated locally with the daemon's own parser before anything is sent.
 *
 * Exit status: 0 success; 1 the operation failed (an error reply; a `wait` or `shutdown
 * --wait` whose connection ended with an error; a `close` whose connection ended otherwise
 * than asked); 2 usage error; 3 the daemon cannot be reached or did not answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_proto.h"
#include "mono.h"
#include "version.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
};

#define DEFAULT_REPLY_TIMEOUT_MS 30000
#define REPLY_GRACE_MS           10000 /* on top of a command's own timeout */
#define COL_GAP                  2
/* Real numbers: the daemon sends at most 6 significant digits; --json keeps what came (up
 * to 15, the digits a double always carries), tables show 6. */
#define JSON_REALS JSON_REAL_PRECISION(15)

struct opts {
    const char *socket;
    bool json;
    bool timeout_set;
    uint64_t timeout_ms; /* 0 = wait forever */
    json_t **capture;    /* upload --watch: keep the result instead of printing it */
};

/* ---- help ---------------------------------------------------------------------------- */

static void field_usage(const struct ctl_field *f, char *buf, size_t len)
{
    const char *mv = f->metavar != NULL ? f->metavar : "";

    if (f->cli == NULL)
        snprintf(buf, len, f->required ? "%s" : "[%s]", mv);
    else if (f->type == CTL_F_BOOL)
        snprintf(buf, len, f->required ? "%s" : "[%s]", f->cli);
    else
        snprintf(buf, len, f->required ? "%s %s" : "[%s %s]", f->cli, mv);
}

static void cmd_help(FILE *out, const struct ctl_cmd_schema *cmd)
{
    char buf[128];

    fprintf(out, "usage: h3ctl [global options] %s", cmd->name);
    for (unsigned i = 0; i < cmd->n_fields; i++) {
        field_usage(&cmd->fields[i], buf, sizeof(buf));
        fprintf(out, " %s", buf);
        if (cmd->fields[i].type == CTL_F_HEADERS)
            fprintf(out, "...");
    }
    fprintf(out, "\n\n%s\n", cmd->summary);
    if (cmd->n_fields > 0)
        fprintf(out, "\narguments:\n");
    for (unsigned i = 0; i < cmd->n_fields; i++) {
        const struct ctl_field *f = &cmd->fields[i];
        if (f->cli == NULL)
            snprintf(buf, sizeof(buf), "%s", f->metavar);
        else if (f->type == CTL_F_BOOL)
            snprintf(buf, sizeof(buf), "%s", f->cli);
        else
            snprintf(buf, sizeof(buf), "%s %s", f->cli, f->metavar);
        fprintf(out, "  %-26s %s%s\n", buf, f->help, f->required && f->cli ? " (required)" : "");
    }
    if (cmd->exclusive[0] != NULL) {
        const char *opt[2] = {cmd->exclusive[0], cmd->exclusive[1]};
        for (unsigned i = 0; i < cmd->n_fields; i++)
            for (unsigned k = 0; k < 2; k++)
                if (strcmp(cmd->fields[i].name, cmd->exclusive[k]) == 0 && cmd->fields[i].cli)
                    opt[k] = cmd->fields[i].cli;
        fprintf(out, "\n%s and %s exclude each other.\n", opt[0], opt[1]);
    }
}

static void global_help(FILE *out)
{
    const struct ctl_cmd_schema *t = ctl_cmd_table();

    fprintf(out,
            "usage: h3ctl [-s SOCKET] [--json] [--timeout DURATION] COMMAND [ARGS...]\n"
            "       h3ctl COMMAND --help\n\n"
            "Drive the h3dp daemon (h3dpd) through its control socket.\n\n"
            "global options:\n"
            "  -s, --socket SOCKET        control socket (default $%s or %s)\n"
            "  --json                     print the raw JSON result instead of tables\n"
            "  --timeout DURATION         how long to wait for the reply (default 30s, or\n"
            "                             the command's own --timeout plus 10s; wait and\n"
            "                             shutdown --wait wait forever by default)\n"
            "  -h, --help                 this help\n"
            "  -V, --version              the version\n\n"
            "commands:\n",
            CTL_SOCKET_ENV, CTL_DEFAULT_SOCKET);
    for (unsigned i = 0; i < CTL_CMD_COUNT; i++)
        fprintf(out, "  %-10s %s\n", t[i].name, t[i].summary);
    fprintf(out, "\nexit status: 0 success, 1 operation failed (an error reply; wait or\n"
                 "             shutdown --wait: the connection ended with an error; close:\n"
                 "             it ended otherwise than asked), 2 usage error,\n"
                 "             3 daemon unreachable or no reply\n");
}

/* ---- building the request ---------------------------------------------------------- */

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "h3ctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd != NULL)
        fprintf(stderr, "\nsee: h3ctl %s --help\n", cmd);
    else
        fprintf(stderr, "\nsee: h3ctl --help\n");
    return EXIT_USAGE;
}

static int parse_uint(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > (unsigned long long)INT64_MAX)
        return -1;
    *v = x;
    return 0;
}

/* "Name: value" -> ["name", "value"] (names are lowercased, as HTTP/3 requires). */
static json_t *header_pair(const char *s)
{
    const char *colon = strchr(s, ':');
    char *name;
    json_t *pair;

    if (colon == NULL || colon == s)
        return NULL;
    name = strndup(s, (size_t)(colon - s));
    if (name == NULL)
        return NULL;
    for (char *c = name; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    colon++;
    while (*colon == ' ' || *colon == '\t')
        colon++;
    pair = json_pack("[ss]", name, colon);
    free(name);
    return pair;
}

/* The daemon may run in another directory: send it absolute paths. */
static json_t *abs_path(const char *p)
{
    char cwd[PATH_MAX], *full;
    json_t *s;

    if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        return json_string(p);
    if (asprintf(&full, "%s/%s", cwd, p) < 0)
        return NULL;
    s = json_string(full);
    free(full);
    return s;
}

static int set_value(const struct ctl_cmd_schema *cmd, const struct ctl_field *f, json_t *args,
                     const char *val)
{
    uint64_t u;
    json_t *v = NULL;

    switch (f->type) {
    case CTL_F_BOOL:
        v = json_true();
        break;
    case CTL_F_UINT:
        if (parse_uint(val, &u) != 0)
            return usage_error(cmd->name, "%s: expected a non-negative integer, got '%s'",
                               f->cli ? f->cli : f->metavar, val);
        v = json_integer((json_int_t)u);
        break;
    case CTL_F_DURATION:
        if (ctl_duration_parse(val, &u) != 0)
            return usage_error(cmd->name, "%s: expected a duration like 5s, 500ms or 2m, got '%s'",
                               f->cli, val);
        v = json_string(val);
        break;
    case CTL_F_APP_ERROR:
        if (ctl_app_error_parse(val, &u) != 0)
            return usage_error(cmd->name, "%s: expected an error code like 0x10c, got '%s'", f->cli,
                               val);
        v = json_string(val);
        break;
    case CTL_F_HEADERS: {
        json_t *arr = json_object_get(args, f->name), *pair = header_pair(val);
        if (pair == NULL)
            return usage_error(cmd->name, "%s: expected 'name: value', got '%s'", f->cli, val);
        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(args, f->name, arr);
        }
        json_array_append_new(arr, pair);
        return EXIT_OK;
    }
    case CTL_F_STRING:
        if (strcmp(f->name, "body_file") == 0 || strcmp(f->name, "ca_file") == 0 ||
            strcmp(f->name, "cert_file") == 0 || strcmp(f->name, "key_file") == 0 ||
            strcmp(f->name, "headers_file") == 0) {
            v = abs_path(val);
            break;
        }
        /* fall through */
    case CTL_F_SERVER_URL:
    case CTL_F_URL:
    case CTL_F_URL_LIST:
    case CTL_F_ENUM:
        v = json_string(val);
        break;
    }
    if (v == NULL)
        return usage_error(cmd->name, "%s: invalid text (not UTF-8?)", f->name);
    if (json_object_get(args, f->name) != NULL) {
        json_decref(v);
        return usage_error(cmd->name, "%s given twice", f->cli ? f->cli : f->metavar);
    }
    json_object_set_new(args, f->name, v);
    return EXIT_OK;
}

/* Turns "COMMAND ARGS..." into the request's args object. */
static int build_args(const struct ctl_cmd_schema *cmd, int argc, char **argv, json_t *args)
{
    unsigned next_pos = 0;
    int rc;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const struct ctl_field *f = NULL;
        char opt[64];

        if (a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9')) {
            const char *eq = strchr(a, '=');
            size_t n = eq ? (size_t)(eq - a) : strlen(a);
            if (n >= sizeof(opt))
                return usage_error(cmd->name, "unknown option %s", a);
            memcpy(opt, a, n);
            opt[n] = '\0';
            for (unsigned k = 0; k < cmd->n_fields; k++)
                if (cmd->fields[k].cli != NULL && strcmp(cmd->fields[k].cli, opt) == 0)
                    f = &cmd->fields[k];
            if (f == NULL)
                return usage_error(cmd->name, "unknown option %s for %s", opt, cmd->name);
            if (f->type == CTL_F_BOOL) {
                if (eq != NULL)
                    return usage_error(cmd->name, "%s takes no value", opt);
            } else if (eq != NULL) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                return usage_error(cmd->name, "%s needs a value (%s)", opt, f->metavar);
            }
        } else {
            while (next_pos < cmd->n_fields && cmd->fields[next_pos].cli != NULL)
                next_pos++;
            if (next_pos == cmd->n_fields)
                return usage_error(cmd->name, "unexpected argument '%s'", a);
            f = &cmd->fields[next_pos++];
            val = a;
        }
        rc = set_value(cmd, f, args, val);
        if (rc != EXIT_OK)
            return rc;
    }
    for (unsigned k = 0; k < cmd->n_fields; k++) {
        const struct ctl_field *f = &cmd->fields[k];
        if (f->required && json_object_get(args, f->name) == NULL)
            return usage_error(cmd->name, "missing %s", f->cli ? f->cli : f->metavar);
    }
    return EXIT_OK;
}

/* ---- talking to the daemon --------------------------------------------------------- */

static uint64_t now_ms(void)
{
    return mono_ns() / 1000000;
}

static int connect_daemon(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line (malloc'd, without '\n'). Returns NULL with errno = ETIMEDOUT, or
 * ECONNRESET when the daemon closed without a full line. */
static char *read_line(int fd, uint64_t timeout_ms)
{
    uint64_t end = timeout_ms ? now_ms() + timeout_ms : 0;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);

    while (buf != NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int wait = -1, r;
        ssize_t n;
        char *nl;

        if (end != 0) {
            uint64_t now = now_ms();
            if (now >= end) {
                errno = ETIMEDOUT;
                break;
            }
            wait = (int)(end - now > INT_MAX ? INT_MAX : end - now);
        }
        r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ETIMEDOUT;
            break;
        }
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ECONNRESET;
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        nl = memchr(buf, '\n', len);
        if (nl != NULL) {
            *nl = '\0';
            return buf;
        }
    }
    free(buf);
    return NULL;
}

/* ---- human output ------------------------------------------------------------------ */

/* A real number for people: 6 significant digits ("28.8686", "0.5"), whole digits past a
 * million ("1234568"), never "28.868600000000001". */
static char *real_text(double d)
{
    char buf[64];

    if (!isfinite(d))
        snprintf(buf, sizeof(buf), "%s", isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
    else if (fabs(d) >= 1e6)
        snprintf(buf, sizeof(buf), "%.0f", d);
    else
        snprintf(buf, sizeof(buf), "%.6g", d);
    return strdup(buf);
}

static char *scalar_text(json_t *v)
{
    char *s = NULL;

    if (json_is_real(v))
        return real_text(json_real_value(v));
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_null(v))
        return strdup("-");
    if (json_is_true(v))
        return strdup("yes");
    if (json_is_false(v))
        return strdup("no");
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REALS);
    return s != NULL ? s : strdup("?");
}

/* [[name, value], ...] (HTTP headers) reads better as "name: value, name: value". */
static char *pairs_text(json_t *v)
{
    size_t i, len = 0;
    json_t *p;
    char *out;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return NULL;
    json_array_foreach(v, i, p)
    {
        if (json_array_size(p) != 2 || !json_is_string(json_array_get(p, 0)) ||
            !json_is_string(json_array_get(p, 1)))
            return NULL;
        len +=
            json_string_length(json_array_get(p, 0)) + json_string_length(json_array_get(p, 1)) + 4;
    }
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    json_array_foreach(v, i, p)
    {
        if (i > 0)
            strcat(out, ", ");
        strcat(out, json_string_value(json_array_get(p, 0)));
        strcat(out, ": ");
        strcat(out, json_string_value(json_array_get(p, 1)));
    }
    return out;
}

static bool is_table(json_t *v)
{
    size_t i;
    json_t *e;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    json_array_foreach(v, i, e) if (!json_is_object(e)) return false;
    return true;
}

/* Collects "key: value" pairs, flattening nested objects into dotted keys; arrays of
 * objects are left for tables. */
struct kv {
    char *key;
    char *val;
};

struct kvs {
    struct kv *v;
    size_t n, cap;
};

static void kv_add(struct kvs *k, const char *key, char *val)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        struct kv *nv = realloc(k->v, cap * sizeof(*nv));
        if (nv == NULL) {
            free(val);
            return;
        }
        k->v = nv;
        k->cap = cap;
    }
    k->v[k->n].key = strdup(key);
    k->v[k->n].val = val;
    k->n++;
}

static void flatten(json_t *obj, const char *prefix, struct kvs *k, json_t *tables)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        char name[256];
        snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
        if (json_is_object(v) && json_object_size(v) > 0)
            flatten(v, name, k, tables);
        else if (is_table(v))
            json_object_set(tables, name, v);
        else {
            char *t = pairs_text(v);
            kv_add(k, name, t != NULL ? t : scalar_text(v));
        }
    }
}

static void print_kvs(const struct kvs *k)
{
    size_t w = 0;

    for (size_t i = 0; i < k->n; i++)
        if (strlen(k->v[i].key) > w)
            w = strlen(k->v[i].key);
    for (size_t i = 0; i < k->n; i++)
        printf("%-*s  %s\n", (int)w + 1, k->v[i].key, k->v[i].val);
    (void)COL_GAP;
}

static void print_table(json_t *rows)
{
    json_t *cols = json_array(), *row;
    size_t i, ncol, *width;
    const char *key;
    json_t *v;

    /* columns: every scalar key, in order of first appearance */
    json_array_foreach(rows, i, row)
    {
        json_object_foreach(row, key, v)
        {
            size_t c;
            json_t *col;
            bool seen = false;
            json_array_foreach(cols, c, col) if (strcmp(json_string_value(col), key) == 0) seen =
                true;
            if (!seen)
                json_array_append_new(cols, json_string(key));
        }
    }
    ncol = json_array_size(cols);
    width = calloc(ncol ? ncol : 1, sizeof(*width));
    for (size_t c = 0; c < ncol; c++)
        width[c] = strlen(json_string_value(json_array_get(cols, c)));
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncol; c++) {
            v = json_object_get(row, json_string_value(json_array_get(cols, c)));
            char *t = scalar_text(v != NULL ? v : json_null());
            if (strlen(t) > width[c])
                width[c] = strlen(t);
            free(t);
        }
    }
    for (size_t c = 0; c < ncol; c++) {
        const char *h = json_string_value(json_array_get(cols, c));
        for (const char *p = h; *p; p++)
            putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        printf("%*s", c + 1 < ncol ? (int)(width[c] - strlen(h) + COL_GAP) : 0, "");
    }
    putchar('\n');
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncol; c++) {
            v = json_object_get(row, json_string_value(json_array_get(cols, c)));
            char *t = scalar_text(v != NULL ? v : json_null());
            if (c + 1 < ncol)
                printf("%-*s", (int)(width[c] + COL_GAP), t);
            else
                printf("%s", t);
            free(t);
        }
        putchar('\n');
    }
    free(width);
    json_decref(cols);
}

static void print_human(json_t *result)
{
    struct kvs k = {0};
    json_t *tables = json_object(), *rows;
    const char *name;
    bool first = true;

    if (!json_is_object(result)) {
        char *t = scalar_text(result);
        printf("%s\n", t);
        free(t);
        json_decref(tables);
        return;
    }
    flatten(result, "", &k, tables);
    print_kvs(&k);
    json_object_foreach(tables, name, rows)
    {
        /* a result that is just one list prints as a bare table */
        if (k.n > 0 || json_object_size(tables) > 1 || !first)
            printf("%s%s:\n", (k.n > 0 || !first) ? "\n" : "", name);
        print_table(rows);
        first = false;
    }
    if (k.n == 0 && json_object_size(tables) == 0) {
        /* empty lists still say so */
        const char *key;
        json_t *v;
        json_object_foreach(result, key, v) if (json_is_array(v)) printf("no %s\n", key);
    }
    for (size_t i = 0; i < k.n; i++) {
        free(k.v[i].key);
        free(k.v[i].val);
    }
    free(k.v);
    json_decref(tables);
}

/* ---- list: fixed columns --------------------------------------------------------- */

/* "1.32ms", "45.1ms", "2.31s"; "-" before the first RTT sample. */
static void rtt_text(json_t *v, char *buf, size_t len)
{
    double ms = json_is_integer(v) ? (double)json_integer_value(v) / 1000.0 : -1;

    if (ms < 0)
        snprintf(buf, len, "-");
    else if (ms < 1000)
        snprintf(buf, len, "%.*fms", ms < 10 ? 2 : 1, ms);
    else
        snprintf(buf, len, "%.2fs", ms / 1000);
}

/* "45s", "12m03s", "3h04m", "2d03h". */
static void age_text(json_t *v, char *buf, size_t len)
{
    uint64_t s = json_is_integer(v) ? (uint64_t)json_integer_value(v) / 1000 : 0;

    if (s < 60)
        snprintf(buf, len, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

/* The close outcome in a few words: "ok", "handshake timeout", "CRYPTO_ERROR (peer)",
 * "H3_REQUEST_CANCELLED (local)"; "-" while open. `show ID` has the whole of it. */
static void outcome_text(json_t *o, char *buf, size_t len)
{
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *by = json_string_value(json_object_get(o, "by"));

    if (!json_is_object(o))
        snprintf(buf, len, "-");
    else if (json_is_true(json_object_get(o, "ok")))
        snprintf(buf, len, "ok");
    else if (kind && strcmp(kind, "application") != 0 && strcmp(kind, "transport") != 0) {
        snprintf(buf, len, "%s", kind);
        for (char *p = buf; *p; p++)
            if (*p == '_')
                *p = ' ';
    } else
        snprintf(buf, len, "%s (%s)", name ? name : "error", by ? by : "?");
}

#define LIST_COLS 9
#define LIST_CELL 288 /* a URL is at most 255 bytes (svc_conn_info) */

/* `list`: always the same columns, the heading even when no connection is listed. */
static void print_list(json_t *result)
{
    static const char *const head[LIST_COLS] = {"ID",   "STATE", "URL", "LCORE",  "IN_FLIGHT",
                                                "DONE", "RTT",   "AGE", "OUTCOME"};
    json_t *rows = json_object_get(result, "conns");
    size_t n = json_array_size(rows), width[LIST_COLS];
    char *cell = calloc((n ? n : 1) * LIST_COLS, LIST_CELL);

    if (!cell)
        return;
    for (size_t c = 0; c < LIST_COLS; c++)
        width[c] = strlen(head[c]);
    for (size_t r = 0; r < n; r++) {
        json_t *row = json_array_get(rows, r);
        char *t = cell + r * LIST_COLS * LIST_CELL;

        snprintf(t, LIST_CELL, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(row, "id")));
        snprintf(t + LIST_CELL, LIST_CELL, "%s",
                 json_string_value(json_object_get(row, "state")) ?: "?");
        snprintf(t + 2 * LIST_CELL, LIST_CELL, "%s",
                 json_string_value(json_object_get(row, "url")) ?: "?");
        snprintf(t + 3 * LIST_CELL, LIST_CELL, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(row, "lcore")));
        snprintf(t + 4 * LIST_CELL, LIST_CELL, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(row, "in_flight")));
        snprintf(t + 5 * LIST_CELL, LIST_CELL, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(row, "done")));
        rtt_text(json_object_get(row, "rtt_us"), t + 6 * LIST_CELL, LIST_CELL);
        age_text(json_object_get(row, "age_ms"), t + 7 * LIST_CELL, LIST_CELL);
        outcome_text(json_object_get(row, "outcome"), t + 8 * LIST_CELL, LIST_CELL);
        for (size_t c = 0; c < LIST_COLS; c++)
            if (strlen(t + c * LIST_CELL) > width[c])
                width[c] = strlen(t + c * LIST_CELL);
    }
    for (size_t r = 0; r <= n; r++)
        for (size_t c = 0; c < LIST_COLS; c++) {
            const char *t = r == 0 ? head[c] : cell + ((r - 1) * LIST_COLS + c) * LIST_CELL;
            if (c + 1 < LIST_COLS)
                printf("%-*s", (int)(width[c] + COL_GAP), t);
            else
                printf("%s\n", t);
        }
    free(cell);
}

/* ---- exit status -------------------------------------------------------------------- */

/* Did the operation do what was asked? `close` asked for a close with an error code: the
 * connection closed by us with that code (default 0x100) is a success whatever the code;
 * one that ended otherwise (the peer first, a timeout) is not. `wait` and `shutdown --wait`
 * report a connection that ended with an error as a failure. */
static bool outcome_failed(const struct ctl_cmd_schema *cmd, json_t *args, json_t *result)
{
    json_t *o = json_object_get(result, "outcome");
    uint64_t want = 0x100, got;

    if (!json_is_object(o))
        return false;
    if (cmd->id != CTL_CMD_CLOSE)
        return json_is_false(json_object_get(o, "ok"));
    if (json_is_string(json_object_get(args, "error")))
        ctl_app_error_parse(json_string_value(json_object_get(args, "error")), &want);
    else if (json_is_integer(json_object_get(args, "error")))
        want = (uint64_t)json_integer_value(json_object_get(args, "error"));
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *by = json_string_value(json_object_get(o, "by"));
    const char *kind = json_string_value(json_object_get(o, "kind"));
    return !code || ctl_app_error_parse(code, &got) != 0 || got != want || !by ||
           strcmp(by, "local") != 0 || !kind || strcmp(kind, "application") != 0;
}

/* ---- main -------------------------------------------------------------------------- */

static uint64_t reply_timeout(const struct opts *o, const struct ctl_cmd_schema *cmd, json_t *args)
{
    uint64_t t;
    json_t *v = json_object_get(args, "timeout");

    if (o->timeout_set)
        return o->timeout_ms;
    if (json_is_string(v) && ctl_duration_parse(json_string_value(v), &t) == 0)
        return t + REPLY_GRACE_MS;
    if (cmd->id == CTL_CMD_WAIT ||
        (cmd->id == CTL_CMD_SHUTDOWN && json_is_true(json_object_get(args, "wait"))))
        return 0;
    return DEFAULT_REPLY_TIMEOUT_MS;
}

static int run(const struct opts *o, const struct ctl_cmd_schema *cmd, json_t *args)
{
    static const json_int_t req_id = 1;
    json_t *req, *reply, *v;
    struct ctl_request check;
    struct ctl_error err;
    char *line, *rline;
    json_error_t jerr;
    size_t len;
    int fd, rc;

    req = json_pack("{s:i,s:I,s:s,s:O}", "v", CTL_PROTO_VERSION, "id", req_id, "cmd", cmd->name,
                    "args", args);
    line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (line == NULL)
        return usage_error(cmd->name, "cannot encode the request");
    /* the daemon's own validation, before anything is sent */
    if (ctl_request_parse(&check, line, strlen(line), &err) != 0) {
        ctl_request_free(&check);
        free(line);
        return usage_error(cmd->name, "%s", err.message);
    }
    ctl_request_free(&check);
    len = strlen(line);
    rline = realloc(line, len + 2);
    if (rline == NULL) {
        free(line);
        return EXIT_FAILED;
    }
    line = rline;
    memcpy(line + len, "\n", 2);

    fd = connect_daemon(o->socket);
    if (fd < 0) {
        fprintf(stderr, "h3ctl: cannot reach h3dpd at %s: %s\n", o->socket, strerror(errno));
        free(line);
        return EXIT_UNREACHABLE;
    }
    if (send_all(fd, line, len + 1) != 0) {
        fprintf(stderr, "h3ctl: sending to h3dpd at %s: %s\n", o->socket, strerror(errno));
        free(line);
        close(fd);
        return EXIT_UNREACHABLE;
    }
    free(line);
    rline = read_line(fd, reply_timeout(o, cmd, args));
    close(fd);
    if (rline == NULL) {
        if (errno == ETIMEDOUT)
            fprintf(stderr, "h3ctl: no reply from h3dpd (timeout)\n");
        else
            fprintf(stderr, "h3ctl: h3dpd closed the connection: %s\n", strerror(errno));
        return EXIT_UNREACHABLE;
    }
    reply = json_loads(rline, 0, &jerr);
    free(rline);
    if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok"))) {
        fprintf(stderr, "h3ctl: malformed reply from h3dpd\n");
        json_decref(reply);
        return EXIT_FAILED;
    }
    v = json_object_get(reply, "id");
    if (json_is_true(json_object_get(reply, "ok"))) {
        json_t *result = json_object_get(reply, "result");
        if (!json_is_integer(v) || json_integer_value(v) != req_id) {
            fprintf(stderr, "h3ctl: reply for another request id\n");
            json_decref(reply);
            return EXIT_FAILED;
        }
        if (o->capture) {
            *o->capture = json_incref(result);
        } else if (o->json) {
            char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REALS);
            printf("%s\n", s != NULL ? s : "null");
            free(s);
        } else if (cmd->id == CTL_CMD_LIST) {
            print_list(result);
        } else {
            print_human(result);
        }
        rc = outcome_failed(cmd, args, result) ? EXIT_FAILED : EXIT_OK;
    } else {
        const char *code = json_string_value(json_object_get(reply, "code"));
        const char *msg = json_string_value(json_object_get(reply, "message"));
        if (o->json) {
            json_t *e =
                json_pack("{s:s,s:s}", "code", code ? code : "?", "message", msg ? msg : "");
            char *s = json_dumps(e, JSON_INDENT(2));
            printf("%s\n", s != NULL ? s : "{}");
            free(s);
            json_decref(e);
        }
        fprintf(stderr, "h3ctl: %s: %s\n", code ? code : "error", msg ? msg : "");
        rc = EXIT_FAILED;
    }
    json_decref(reply);
    return rc;
}

static uint64_t jget(json_t *r, const char *a, const char *b)
{
    json_t *o = json_object_get(r, a);
    return (uint64_t)json_integer_value(b ? json_object_get(o, b) : o);
}

/* upload status --watch: one live line a second (records/s and MB/s acknowledged over the
 * last second, in flight, retries, failures, RTT) until the engine is idle or stopped.
 * On a terminal the line is redrawn in place; otherwise one line per second. */
static int watch_upload(struct opts *o, const struct ctl_cmd_schema *cmd, json_t *args)
{
    bool tty = isatty(STDOUT_FILENO);
    uint64_t prev_rec = 0, prev_bytes = 0;
    uint64_t prev_t = 0;
    int rc = EXIT_OK, idle_polls = 0;

    json_object_set_new(args, "action", json_string("status"));
    for (;;) {
        json_t *r = NULL;
        o->capture = &r;
        rc = run(o, cmd, args);
        if (rc != EXIT_OK || !r)
            break;
        uint64_t t = mono_ns();
        uint64_t rec = jget(r, "acked", "records"), bytes = jget(r, "acked", "bytes");
        double dt = prev_t ? (double)(t - prev_t) / 1e9 : 0;
        double rps = dt > 0 ? (double)(rec - prev_rec) / dt : 0;
        double mbs = dt > 0 ? (double)(bytes - prev_bytes) / dt / 1e6 : 0;
        const char *state = json_string_value(json_object_get(r, "state"));
        printf("%s%-8s %10.0f rec/s %8.1f MB/s  acked %10" PRIu64 "  in flight %6" PRIu64
               "  retried %6" PRIu64 "  failed %4" PRIu64 "  rtt %6.2f ms%s",
               tty ? "\r" : "", state ? state : "?", rps, mbs, rec,
               jget(r, "in_flight", "records"), jget(r, "retried", "records"),
               jget(r, "failed", "records"), (double)jget(r, "rtt_us", NULL) / 1e3,
               tty ? "\033[K" : "\n");
        fflush(stdout);
        prev_rec = rec;
        prev_bytes = bytes;
        prev_t = t;
        bool idle = state && (strcmp(state, "idle") == 0 || strcmp(state, "stopped") == 0);
        json_decref(r);
        if (idle && ++idle_polls >= 2)
            break;
        if (!idle)
            idle_polls = 0;
        sleep(1);
    }
    if (tty)
        printf("\n");
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {.socket = getenv(CTL_SOCKET_ENV)};
    const struct ctl_cmd_schema *cmd;
    json_t *args;
    int i, rc;

    if (o.socket == NULL || o.socket[0] == '\0')
        o.socket = CTL_DEFAULT_SOCKET;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            global_help(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            h3dp_version_print(stdout, "h3ctl");
            return EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
            if (++i == argc)
                return usage_error(NULL, "%s needs a path", a);
            o.socket = argv[i];
        } else if (strcmp(a, "--timeout") == 0) {
            if (++i == argc || ctl_duration_parse(argv[i], &o.timeout_ms) != 0)
                return usage_error(NULL, "--timeout needs a duration like 5s, 500ms or 2m");
            o.timeout_set = true;
        } else {
            return usage_error(NULL, "unknown option %s", a);
        }
    }
    if (i == argc) {
        global_help(stderr);
        return EXIT_USAGE;
    }
    cmd = ctl_cmd_find(argv[i]);
    if (cmd == NULL)
        return usage_error(NULL, "unknown command '%s'", argv[i]);
    for (int k = i + 1; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            cmd_help(stdout, cmd);
            return EXIT_OK;
        }
    args = json_object();
    rc = build_args(cmd, argc - i - 1, argv + i + 1, args);
    if (rc == EXIT_OK && cmd->id == CTL_CMD_UPLOAD && json_is_true(json_object_get(args, "watch"))) {
        const char *act = json_string_value(json_object_get(args, "action"));
        if (act && strcmp(act, "status") != 0)
            rc = usage_error(cmd->name, "--watch goes with status");
        else
            rc = watch_upload(&o, cmd, args);
    } else if (rc == EXIT_OK) {
        rc = run(&o, cmd, args);
    }
    json_decref(args);
    return rc;
}
