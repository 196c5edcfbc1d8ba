/* ctl_proto: control protocol v1 — command table, request validation, reply lines. */
#include "ctl_proto.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN   8192 /* request target, bytes */
#define METHOD_MAX_LEN 32
#define FILE_PATH_MAX  4096 /* PATH_MAX on Linux */
#define SNI_MAX_LEN    253  /* RFC 6066 §3: a DNS host name */
#define LCORE_MAX      127 /* RTE_MAX_LCORE - 1 in Debian's DPDK 22.11 build (config: CFG_LCORE_MAX) */
#define BODY_MAX_LEN   CTL_LINE_MAX

/* ---- error codes ------------------------------------------------------------------ */

static const struct {
    const char *name;
    const char *help;
} codes[CTL_CODE_COUNT] = {
    [CTL_OK] = {"OK", "success"},
    [CTL_E_PARSE] = {"E_PARSE", "the request line is not valid JSON"},
    [CTL_E_VERSION] = {"E_VERSION", "\"v\" is missing or names an unsupported version"},
    [CTL_E_BAD_REQUEST] = {"E_BAD_REQUEST", "a field is missing, mistyped or out of range"},
    [CTL_E_UNKNOWN_CMD] = {"E_UNKNOWN_CMD", "\"cmd\" names no known command"},
    [CTL_E_TOO_LONG] = {"E_TOO_LONG", "the request line is longer than the limit"},
    [CTL_E_BAD_URL] = {"E_BAD_URL", "the URL is not https://host[:port]"},
    [CTL_E_NO_SUCH_CONN] = {"E_NO_SUCH_CONN", "no connection has this id"},
    [CTL_E_CONN_CLOSED] = {"E_CONN_CLOSED", "the connection is closed or closing"},
    [CTL_E_BUSY] = {"E_BUSY", "too many clients, pending requests or queued commands"},
    [CTL_E_TIMEOUT] = {"E_TIMEOUT", "a deadline passed before the operation finished"},
    [CTL_E_PERM] = {"E_PERM", "the peer's user/group is not allowed"},
    [CTL_E_UNSUPPORTED] = {"E_UNSUPPORTED", "the command is known but not provided"},
    [CTL_E_FAILED] = {"E_FAILED", "the operation ran and failed"},
    [CTL_E_INTERNAL] = {"E_INTERNAL", "an internal error in the daemon"},
};

const char *ctl_code_name(enum ctl_code code)
{
    if ((unsigned)code >= CTL_CODE_COUNT)
        return codes[CTL_E_INTERNAL].name;
    return codes[code].name;
}

int ctl_code_from_name(const char *name)
{
    for (int i = 0; i < CTL_CODE_COUNT; i++)
        if (strcmp(codes[i].name, name) == 0)
            return i;
    return -1;
}

const char *ctl_code_help(enum ctl_code code)
{
    if ((unsigned)code >= CTL_CODE_COUNT)
        return codes[CTL_E_INTERNAL].help;
    return codes[code].help;
}

/* ---- value checks ------------------------------------------------------------------ */

static int set_why(char *why, size_t why_len, const char *msg)
{
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s", msg);
    return -1;
}

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int ctl_check_method(const char *s, char *why, size_t why_len)
{
    if (*s == '\0')
        return set_why(why, why_len, "expected an HTTP method");
    for (const char *c = s; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return set_why(why, why_len, "expected an HTTP method token (RFC 9110 section 9.1)");
    return 0;
}

int ctl_check_path(const char *s, char *why, size_t why_len)
{
    if (strcmp(s, "*") == 0)
        return 0;
    if (s[0] != '/')
        return set_why(why, why_len, "expected a path starting with '/'");
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return set_why(why, why_len, "expected visible ASCII only (percent-encode the rest)");
    return 0;
}

int ctl_check_header_name(const char *s, char *why, size_t why_len)
{
    if (*s == '\0')
        return set_why(why, why_len, "empty header name");
    if (*s == ':')
        return set_why(why, why_len, "pseudo-header fields are set by the daemon");
    for (const char *c = s; *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            return set_why(why, why_len, "header names must be lowercase (RFC 9114 section 4.2)");
        if (!is_tchar((unsigned char)*c))
            return set_why(why, why_len, "header name is not a token (RFC 9110 section 5.1)");
    }
    return 0;
}

int ctl_check_header_value(const char *s, char *why, size_t why_len)
{
    for (const char *c = s; *c; c++)
        if (*c == '\r' || *c == '\n')
            return set_why(why, why_len, "header value must not contain CR or LF");
    return 0;
}

static int check_sni(const char *s, char *why, size_t why_len)
{
    if (net_host_name_check(s, NULL, 0) != 0)
        return set_why(why, why_len, "expected a DNS host name");
    return 0;
}

int ctl_duration_parse(const char *s, uint64_t *ms)
{
    char *end;
    double v, mult = 1000.0;

    if (!(s[0] >= '0' && s[0] <= '9'))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s)
        return -EINVAL;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000.0;
    else if (strcmp(end, "ms") == 0)
        mult = 1.0;
    else if (strcmp(end, "m") == 0)
        mult = 60000.0;
    else
        return -EINVAL;
    v *= mult;
    if (!(v >= 0.0) || v > (double)CTL_DURATION_MAX_MS)
        return -ERANGE;
    *ms = (uint64_t)llround(v);
    return 0;
}

int ctl_app_error_parse(const char *s, uint64_t *code)
{
    int base = 10;
    char *end;
    unsigned long long v;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!((s[0] >= '0' && s[0] <= '9') ||
          (base == 16 && ((s[0] >= 'a' && s[0] <= 'f') || (s[0] >= 'A' && s[0] <= 'F')))))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, base);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v > CTL_QUIC_VARINT_MAX)
        return -ERANGE;
    *code = v;
    return 0;
}

/* ---- command table ----------------------------------------------------------------- */

#define CONN_FIELD                                                                                 \
    {                                                                                              \
        .name = "conn", .type = CTL_F_UINT, .required = true, .min = 1, .max = CTL_CONN_ID_MAX,    \
        .metavar = "ID", .help = "connection id (from connect/list)"                               \
    }

static const struct ctl_field connect_fields[] = {
    {.name = "url",
     .type = CTL_F_SERVER_URL,
     .required = true,
     .metavar = "URL",
     .help = "https://host[:port] of the HTTP/3 server (no path)"},
    {.name = "sni",
     .type = CTL_F_STRING,
     .min = 1,
     .max = SNI_MAX_LEN,
     .check = check_sni,
     .cli = "--sni",
     .metavar = "NAME",
     .help = "TLS server name (default: the URL's host)"},
    {.name = "ca_file",
     .type = CTL_F_STRING,
     .min = 1,
     .max = FILE_PATH_MAX,
     .cli = "--ca",
     .metavar = "FILE",
     .help = "PEM CA file on the daemon's host (default: system store)"},
    {.name = "cert_file",
     .type = CTL_F_STRING,
     .min = 1,
     .max = FILE_PATH_MAX,
     .cli = "--cert",
     .metavar = "FILE",
     .help = "PEM client certificate on the daemon's host, presented when the server asks "
             "(default: [tls] cert_file); with --key"},
    {.name = "key_file",
     .type = CTL_F_STRING,
     .min = 1,
     .max = FILE_PATH_MAX,
     .cli = "--key",
     .metavar = "FILE",
     .help = "PEM private key of --cert (default: [tls] key_file)"},
    {.name = "insecure",
     .type = CTL_F_BOOL,
     .cli = "--insecure",
     .help = "do not verify the server certificate (labs only)"},
    {.name = "lcore",
     .type = CTL_F_UINT,
     .min = 0,
     .max = LCORE_MAX,
     .cli = "--lcore",
     .metavar = "N",
     .help = "worker lcore to run on (default: least loaded)"},
};

static const struct ctl_field show_fields[] = {CONN_FIELD};

static const struct ctl_field request_fields[] = {
    CONN_FIELD,
    {.name = "method",
     .type = CTL_F_STRING,
     .required = true,
     .min = 1,
     .max = METHOD_MAX_LEN,
     .check = ctl_check_method,
     .metavar = "METHOD",
     .help = "GET, POST, PUT, ..."},
    {.name = "path",
     .type = CTL_F_STRING,
     .required = true,
     .min = 1,
     .max = PATH_MAX_LEN,
     .check = ctl_check_path,
     .metavar = "PATH",
     .help = "request target, e.g. /upload"},
    {.name = "headers",
     .type = CTL_F_HEADERS,
     .cli = "-H",
     .metavar = "'NAME: VALUE'",
     .help = "extra request header (repeatable)"},
    {.name = "body",
     .type = CTL_F_STRING,
     .min = 0,
     .max = BODY_MAX_LEN,
     .cli = "--data",
     .metavar = "STR",
     .help = "request body given inline"},
    {.name = "body_file",
     .type = CTL_F_STRING,
     .min = 1,
     .max = FILE_PATH_MAX,
     .cli = "--data-file",
     .metavar = "PATH",
     .help = "request body read from this file on the daemon's host"},
    {.name = "timeout",
     .type = CTL_F_DURATION,
     .cli = "--timeout",
     .metavar = "DURATION",
     .help = "cancel the request after this long (5s, 500ms, 2m)"},
};

static const struct ctl_field list_fields[] = {
    {.name = "all",
     .type = CTL_F_BOOL,
     .cli = "--all",
     .help = "closed connections too (the last 256 are remembered)"},
};

static const struct ctl_field shutdown_fields[] = {
    CONN_FIELD,
    {.name = "max_push",
     .type = CTL_F_UINT,
     .min = 0,
     .max = CTL_QUIC_VARINT_MAX,
     .cli = "--max-push",
     .metavar = "N",
     .help = "push ID limit requested for the GOAWAY, default 0 (the effective limit is "
             "reported; always 0: no server push)"},
    {.name = "timeout",
     .type = CTL_F_DURATION,
     .cli = "--timeout",
     .metavar = "DURATION",
     .help = "cancel what is still in flight after this long, then close"},
    {.name = "wait",
     .type = CTL_F_BOOL,
     .cli = "--wait",
     .help = "reply only when the connection is closed, with its outcome"},
};

static const struct ctl_field close_fields[] = {
    CONN_FIELD,
    {.name = "error",
     .type = CTL_F_APP_ERROR,
     .cli = "--error",
     .metavar = "CODE",
     .help = "HTTP/3 application error code, e.g. 0x10c (default 0x100 H3_NO_ERROR)"},
};

static const struct ctl_field wait_fields[] = {
    CONN_FIELD,
    {.name = "timeout",
     .type = CTL_F_DURATION,
     .cli = "--timeout",
     .metavar = "DURATION",
     .help = "give up (E_TIMEOUT) after this long; default: wait forever"},
};

static const char *const upload_actions[] = {"start", "stop", "status", "target", NULL};

static const struct ctl_field upload_fields[] = {
    {.name = "action",
     .type = CTL_F_ENUM,
     .required = true,
     .choices = upload_actions,
     .metavar = "start|stop|status|target",
     .help = "start the generator, stop it, show the counters, or set the collector"},
    {.name = "url",
     .type = CTL_F_URL_LIST,
     .cli = "--url",
     .metavar = "URL[,URL...]",
     .help = "target, start: the collectors, https://HOST[:PORT][/PATH], a failover list "
             "separated by commas (default [upload] url); only while nothing is queued or in "
             "flight"},
    {.name = "headers_file",
     .type = CTL_F_STRING,
     .min = 1,
     .max = FILE_PATH_MAX,
     .cli = "--headers-file",
     .metavar = "FILE",
     .help = "target: the header fields added to every upload request (Name: value lines; "
             "default [upload] headers_file); values are never shown"},
    {.name = "connections",
     .type = CTL_F_UINT, .min = 1, .max = 64,
     .cli = "--connections", .metavar = "N",
     .help = "start: connections in the pool (default [upload] connections)"},
    {.name = "streams",
     .type = CTL_F_UINT, .min = 1, .max = 1000,
     .cli = "--streams", .metavar = "N",
     .help = "start: concurrent requests per connection (default [upload] streams)"},
    {.name = "record_size",
     .type = CTL_F_UINT, .min = 1, .max = 1048576,
     .cli = "--record-size", .metavar = "BYTES",
     .help = "start: generated record size (default 1024)"},
    {.name = "rate",
     .type = CTL_F_UINT, .min = 0, .max = 100000000,
     .cli = "--rate", .metavar = "N",
     .help = "start: records per second, 0 = as fast as the pool takes them"},
    {.name = "duration",
     .type = CTL_F_DURATION,
     .cli = "--duration", .metavar = "DURATION",
     .help = "start: stop generating after this long (default: until stopped)"},
    {.name = "records",
     .type = CTL_F_UINT, .min = 1, .max = CTL_CONN_ID_MAX,
     .cli = "--records", .metavar = "N",
     .help = "start: stop generating after this many records"},
    {.name = "watch",
     .type = CTL_F_BOOL,
     .cli = "--watch",
     .help = "status (h3ctl): redraw a live line every second until the upload is idle"},
};

#define FIELDS(a) .fields = (a), .n_fields = sizeof(a) / sizeof((a)[0])

static const struct ctl_cmd_schema cmd_table[CTL_CMD_COUNT] = {
    [CTL_CMD_CONNECT] = {CTL_CMD_CONNECT, "connect", "open an HTTP/3 connection; returns its id",
                         FIELDS(connect_fields)},
    [CTL_CMD_LIST] = {CTL_CMD_LIST, "list", "list open connections (--all: closed ones too)",
                      FIELDS(list_fields)},
    [CTL_CMD_SHOW] = {CTL_CMD_SHOW, "show", "show one connection in detail", FIELDS(show_fields)},
    [CTL_CMD_REQUEST] = {CTL_CMD_REQUEST, "request",
                         "send an HTTP request; returns status, headers, body size and digest",
                         FIELDS(request_fields), .exclusive = {"body", "body_file"}},
    [CTL_CMD_SHUTDOWN] = {CTL_CMD_SHUTDOWN, "shutdown",
                          "graceful shutdown: GOAWAY, let requests finish, close with H3_NO_ERROR",
                          FIELDS(shutdown_fields)},
    [CTL_CMD_CLOSE] = {CTL_CMD_CLOSE, "close", "close a connection at once with an error code",
                       FIELDS(close_fields)},
    [CTL_CMD_WAIT] = {CTL_CMD_WAIT, "wait",
                      "wait until a connection is closed; returns the outcome",
                      FIELDS(wait_fields)},
    [CTL_CMD_STATS] = {CTL_CMD_STATS, "stats",
                       "daemon counters: ports, lcores, mempools, dataplane drops, neighbours",
                       .n_fields = 0},
    [CTL_CMD_QUIT] = {CTL_CMD_QUIT, "quit", "graceful daemon exit", .n_fields = 0},
    [CTL_CMD_UPLOAD] = {CTL_CMD_UPLOAD, "upload",
                        "telemetry upload engine: start the generator, stop, status, set the collector",
                        FIELDS(upload_fields)},
    [CTL_CMD_NEIGH] = {CTL_CMD_NEIGH, "neigh",
                       "the dataplane's neighbour table (ARP, NDP): address, MAC, state, age, "
                       "confirmations, probes",
                       .n_fields = 0},
};

const struct ctl_cmd_schema *ctl_cmd_table(void)
{
    return cmd_table;
}

const struct ctl_cmd_schema *ctl_cmd_find(const char *name)
{
    for (unsigned i = 0; i < CTL_CMD_COUNT; i++)
        if (strcmp(cmd_table[i].name, name) == 0)
            return &cmd_table[i];
    return NULL;
}

/* ---- request parsing --------------------------------------------------------------- */

static int perr(struct ctl_error *err, enum ctl_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct ctl_error *err, enum ctl_code code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int parse_headers(const char *name, json_t *v, struct ctl_error *err)
{
    char why[96];
    size_t i;
    json_t *pair;

    if (!json_is_array(v))
        return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected an array of [name, value]", name);
    if (json_array_size(v) > CTL_HEADERS_MAX)
        return perr(err, CTL_E_BAD_REQUEST, "args.%s: at most %d headers", name, CTL_HEADERS_MAX);
    json_array_foreach(v, i, pair)
    {
        json_t *hn = json_array_get(pair, 0), *hv = json_array_get(pair, 1);
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_string(hn) ||
            !json_is_string(hv))
            return perr(err, CTL_E_BAD_REQUEST,
                        "args.%s[%zu]: expected [name, value] with two strings", name, i);
        /* Embedded NULs would truncate the name or value silently. */
        if (strlen(json_string_value(hn)) != json_string_length(hn) ||
            strlen(json_string_value(hv)) != json_string_length(hv))
            return perr(err, CTL_E_BAD_REQUEST, "args.%s[%zu]: NUL character", name, i);
        if (ctl_check_header_name(json_string_value(hn), why, sizeof(why)) != 0 ||
            ctl_check_header_value(json_string_value(hv), why, sizeof(why)) != 0)
            return perr(err, CTL_E_BAD_REQUEST, "args.%s[%zu]: %s", name, i, why);
    }
    return 0;
}

static int parse_field(struct ctl_request *req, const struct ctl_field *f, json_t *v,
                       struct ctl_arg *a, struct ctl_error *err)
{
    char why[128];
    int rc;

    switch (f->type) {
    case CTL_F_STRING:
    case CTL_F_ENUM:
    case CTL_F_SERVER_URL:
    case CTL_F_URL:
    case CTL_F_URL_LIST:
        if (!json_is_string(v))
            return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected a string", f->name);
        a->s = json_string_value(v);
        if (strlen(a->s) != json_string_length(v))
            return perr(err, CTL_E_BAD_REQUEST, "args.%s: NUL character in string", f->name);
        if (f->type == CTL_F_URL_LIST) {
            struct net_url list[8];
            unsigned n;
            rc = net_url_list_parse(a->s, 0, list, 8, &n, why, sizeof(why));
            if (rc != 0)
                return perr(err, CTL_E_BAD_URL, "args.%s: %s", f->name, why);
            for (unsigned i = 0; i < n; i++)
                if (list[i].kind != NET_HOST_NAME && net_addr_not_unicast(&list[i].addr))
                    return perr(err, CTL_E_BAD_URL, "args.%s: %s is %s, not a server",
                                f->name, list[i].host, net_addr_not_unicast(&list[i].addr));
            req->url = list[0];
        } else if (f->type == CTL_F_URL || f->type == CTL_F_SERVER_URL) {
            rc = net_url_parse(a->s, f->type == CTL_F_SERVER_URL ? NET_URL_AUTHORITY : 0,
                               &req->url, why, sizeof(why));
            if (rc != 0)
                return perr(err, CTL_E_BAD_URL, "args.%s: %s", f->name, why);
            /* No server has these: refused here, not when the connection fails. */
            if (req->url.kind != NET_HOST_NAME && net_addr_not_unicast(&req->url.addr))
                return perr(err, CTL_E_BAD_URL, "args.%s: %s is %s, not a server", f->name,
                            req->url.host, net_addr_not_unicast(&req->url.addr));
        } else if (f->type == CTL_F_ENUM) {
            const char *const *c;
            for (c = f->choices; *c != NULL; c++)
                if (strcmp(*c, a->s) == 0)
                    break;
            if (*c == NULL)
                return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected one of %s", f->name,
                            f->metavar);
        } else {
            size_t n = json_string_length(v);
            if (n < f->min || n > f->max)
                return perr(err, CTL_E_BAD_REQUEST,
                            "args.%s: expected a string of %llu..%llu bytes", f->name,
                            (unsigned long long)f->min, (unsigned long long)f->max);
            if (f->check != NULL && f->check(a->s, why, sizeof(why)) != 0)
                return perr(err, CTL_E_BAD_REQUEST, "args.%s: %s", f->name, why);
        }
        return 0;
    case CTL_F_BOOL:
        if (!json_is_boolean(v))
            return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected true or false", f->name);
        a->b = json_is_true(v);
        return 0;
    case CTL_F_UINT:
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected a non-negative integer",
                        f->name);
        a->u = (uint64_t)json_integer_value(v);
        if (a->u < f->min || a->u > f->max)
            return perr(err, CTL_E_BAD_REQUEST, "args.%s: expected an integer in %llu..%llu",
                        f->name, (unsigned long long)f->min, (unsigned long long)f->max);
        return 0;
    case CTL_F_DURATION:
        if (json_is_string(v)) {
            rc = ctl_duration_parse(json_string_value(v), &a->u);
        } else if (json_is_number(v)) {
            double secs = json_number_value(v);
            rc = (secs >= 0.0 && secs * 1000.0 <= (double)CTL_DURATION_MAX_MS) ? 0 : -ERANGE;
            if (rc == 0)
                a->u = (uint64_t)llround(secs * 1000.0);
        } else {
            rc = -EINVAL;
        }
        if (rc != 0)
            return perr(err, CTL_E_BAD_REQUEST,
                        "args.%s: expected a duration (seconds, or \"5s\", \"500ms\", \"2m\") "
                        "up to 24h",
                        f->name);
        return 0;
    case CTL_F_APP_ERROR:
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            (uint64_t)json_integer_value(v) <= CTL_QUIC_VARINT_MAX) {
            a->u = (uint64_t)json_integer_value(v);
            return 0;
        }
        if (json_is_string(v) && ctl_app_error_parse(json_string_value(v), &a->u) == 0)
            return 0;
        return perr(err, CTL_E_BAD_REQUEST,
                    "args.%s: expected an error code 0..2^62-1 (integer or \"0x10c\")", f->name);
    case CTL_F_HEADERS:
        a->j = v;
        return parse_headers(f->name, v, err);
    }
    return perr(err, CTL_E_INTERNAL, "args.%s: unknown field type", f->name);
}

static int parse_args(struct ctl_request *req, json_t *args, struct ctl_error *err)
{
    const struct ctl_cmd_schema *cmd = req->cmd;
    const char *key;
    json_t *v;

    if (args == NULL)
        args = json_object(); /* borrowed from nothing: an empty view, freed below */
    else
        json_incref(args);
    if (!json_is_object(args)) {
        json_decref(args);
        return perr(err, CTL_E_BAD_REQUEST, "args: expected an object");
    }
    json_object_foreach(args, key, v)
    {
        unsigned i;
        for (i = 0; i < cmd->n_fields; i++)
            if (strcmp(cmd->fields[i].name, key) == 0)
                break;
        if (i == cmd->n_fields) {
            perr(err, CTL_E_BAD_REQUEST, "args.%.64s: unknown field for %s", key, cmd->name);
            json_decref(args);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; i < cmd->n_fields; i++) {
        const struct ctl_field *f = &cmd->fields[i];
        v = json_object_get(args, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required) {
                json_decref(args);
                return perr(err, CTL_E_BAD_REQUEST, "args.%s: required", f->name);
            }
            continue;
        }
        if (parse_field(req, f, v, &req->args[i], err) != 0) {
            json_decref(args);
            return -EINVAL;
        }
        req->args[i].present = true;
    }
    json_decref(args);
    if (cmd->exclusive[0] != NULL && ctl_request_arg(req, cmd->exclusive[0]) != NULL &&
        ctl_request_arg(req, cmd->exclusive[1]) != NULL)
        return perr(err, CTL_E_BAD_REQUEST, "args: give either %s or %s, not both",
                    cmd->exclusive[0], cmd->exclusive[1]);
    return 0;
}

int ctl_request_parse(struct ctl_request *req, const char *line, size_t len, struct ctl_error *err)
{
    json_error_t jerr;
    json_t *v, *cmd, *id;
    const char *key;

    memset(req, 0, sizeof(*req));
    err->code = CTL_OK;
    err->message[0] = '\0';

    req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req->root == NULL)
        return perr(err, CTL_E_PARSE, "malformed JSON at column %d: %s", jerr.column, jerr.text);
    if (!json_is_object(req->root))
        return perr(err, CTL_E_BAD_REQUEST, "request: expected a JSON object");

    id = json_object_get(req->root, "id");
    if (json_is_integer(id) && json_integer_value(id) >= 0)
        req->id = id;
    else if (json_is_string(id) && json_string_length(id) <= CTL_ID_STR_MAX)
        req->id = id;

    v = json_object_get(req->root, "v");
    if (!json_is_integer(v))
        return perr(err, CTL_E_VERSION,
                    "v: required integer protocol version (this daemon "
                    "speaks %d)",
                    CTL_PROTO_VERSION);
    if (json_integer_value(v) != CTL_PROTO_VERSION)
        return perr(err, CTL_E_VERSION, "v: unsupported version %lld (this daemon speaks %d)",
                    (long long)json_integer_value(v), CTL_PROTO_VERSION);
    if (id == NULL)
        return perr(err, CTL_E_BAD_REQUEST, "id: required");
    if (req->id == NULL)
        return perr(err, CTL_E_BAD_REQUEST,
                    "id: expected a non-negative integer or a string of at most %d bytes",
                    CTL_ID_STR_MAX);
    json_object_foreach(req->root, key, v)
    {
        if (strcmp(key, "v") != 0 && strcmp(key, "id") != 0 && strcmp(key, "cmd") != 0 &&
            strcmp(key, "args") != 0)
            return perr(err, CTL_E_BAD_REQUEST, "%.64s: unknown field", key);
    }
    cmd = json_object_get(req->root, "cmd");
    if (cmd == NULL)
        return perr(err, CTL_E_BAD_REQUEST, "cmd: required");
    if (!json_is_string(cmd))
        return perr(err, CTL_E_BAD_REQUEST, "cmd: expected a string");
    req->cmd = ctl_cmd_find(json_string_value(cmd));
    if (req->cmd == NULL)
        return perr(err, CTL_E_UNKNOWN_CMD, "cmd: unknown command \"%.64s\"",
                    json_string_value(cmd));
    return parse_args(req, json_object_get(req->root, "args"), err);
}

void ctl_request_free(struct ctl_request *req)
{
    json_decref(req->root);
    memset(req, 0, sizeof(*req));
}

const struct ctl_arg *ctl_request_arg(const struct ctl_request *req, const char *name)
{
    if (req->cmd == NULL)
        return NULL;
    for (unsigned i = 0; i < req->cmd->n_fields; i++)
        if (strcmp(req->cmd->fields[i].name, name) == 0)
            return req->args[i].present ? &req->args[i] : NULL;
    return NULL;
}

const char *ctl_request_str(const struct ctl_request *req, const char *name)
{
    const struct ctl_arg *a = ctl_request_arg(req, name);
    return a != NULL ? a->s : NULL;
}

uint64_t ctl_request_u64(const struct ctl_request *req, const char *name, uint64_t dflt)
{
    const struct ctl_arg *a = ctl_request_arg(req, name);
    return a != NULL ? a->u : dflt;
}

bool ctl_request_bool(const struct ctl_request *req, const char *name, bool dflt)
{
    const struct ctl_arg *a = ctl_request_arg(req, name);
    return a != NULL ? a->b : dflt;
}

/* ---- replies ----------------------------------------------------------------------- */

static char *dump_line(json_t *obj, size_t *len)
{
    char *s, *line;
    size_t n;

    if (obj == NULL)
        return NULL;
    /* Compact output escapes control characters, so the reply is exactly one line. */
    s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(obj);
    if (s == NULL)
        return NULL;
    n = strlen(s);
    line = realloc(s, n + 2);
    if (line == NULL) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    if (len != NULL)
        *len = n + 1;
    return line;
}

static json_t *reply_head(json_t *id, bool ok)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (json_object_set_new(o, "v", json_integer(CTL_PROTO_VERSION)) != 0 ||
        json_object_set(o, "id", id != NULL ? id : json_null()) != 0 ||
        json_object_set_new(o, "ok", json_boolean(ok)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *ctl_reply_ok(json_t *id, json_t *result, size_t *len)
{
    json_t *o = reply_head(id, true);

    if (result == NULL)
        result = json_object();
    if (o == NULL || json_object_set_new(o, "result", result) != 0) {
        if (o == NULL)
            json_decref(result);
        json_decref(o);
        return NULL;
    }
    return dump_line(o, len);
}

/* Messages quote client input, possibly cut in the middle of a UTF-8 sequence: fall back
 * to an ASCII-only copy when the text is not valid UTF-8. */
static json_t *message_string(const char *message)
{
    char ascii[CTL_ERRMSG_MAX];
    json_t *s;
    size_t i;

    if (message == NULL)
        message = "";
    s = json_string(message);
    if (s != NULL)
        return s;
    for (i = 0; message[i] != '\0' && i + 1 < sizeof(ascii); i++)
        ascii[i] = ((unsigned char)message[i] < 0x80) ? message[i] : '?';
    ascii[i] = '\0';
    return json_string(ascii);
}

char *ctl_reply_error(json_t *id, enum ctl_code code, const char *message, size_t *len)
{
    json_t *o = reply_head(id, false);

    if (o == NULL || json_object_set_new(o, "code", json_string(ctl_code_name(code))) != 0 ||
        json_object_set_new(o, "message", message_string(message)) != 0) {
        json_decref(o);
        return NULL;
    }
    return dump_line(o, len);
}
