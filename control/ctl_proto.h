/* ctl_proto: the h3dp control protocol (version 1), independent of any socket.
 *
 * One JSON object per line each way (docs/CONTROL.md):
 *   request  {"v":1,"id":7,"cmd":"show","args":{"conn":3}}
 *   reply    {"v":1,"id":7,"ok":true,"result":{...}}
 *            {"v":1,"id":7,"ok":false,"code":"E_NO_SUCH_CONN","message":"..."}
 *
 * Commands and their arguments are described by a declarative table (ctl_cmd_table()):
 * the parser validates requests against it and h3ctl builds its command line and --help
 * text from it, so the two can never disagree.
 */
#ifndef H3DP_CTL_PROTO_H
#define H3DP_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "net_url.h"

#define CTL_PROTO_VERSION   1
#define CTL_DEFAULT_SOCKET  "/run/h3dp/h3dpd.sock" /* same default as the config */
#define CTL_SOCKET_ENV      "H3DP_SOCKET"
#define CTL_LINE_MAX        (64 * 1024) /* default request line limit, bytes incl. '\n' */
#define CTL_ID_STR_MAX      64          /* a string request id is at most this long */
#define CTL_MAX_FIELDS      12          /* arguments per command */
#define CTL_ERRMSG_MAX      192
#define CTL_HEADERS_MAX     64 /* request headers per `request` */
#define CTL_DURATION_MAX_MS (24ull * 3600 * 1000)
#define CTL_CONN_ID_MAX     ((1ull << 53) - 1) /* exact in every JSON implementation */
/* RFC 9000 §16: application error codes are variable-length integers, at most 2^62-1. */
#define CTL_QUIC_VARINT_MAX ((1ull << 62) - 1)

/* Stable error codes of the protocol; their names ("E_PARSE"...) are on the wire. */
enum ctl_code {
    CTL_OK = 0,
    CTL_E_PARSE,        /* the line is not JSON */
    CTL_E_VERSION,      /* "v" missing or not a version this daemon speaks */
    CTL_E_BAD_REQUEST,  /* a field is missing, mistyped or out of range (named in message) */
    CTL_E_UNKNOWN_CMD,  /* "cmd" names no command */
    CTL_E_TOO_LONG,     /* the line is longer than the limit */
    CTL_E_BAD_URL,      /* connect: the URL is not https://host[:port] */
    CTL_E_NO_SUCH_CONN, /* no connection has this id */
    CTL_E_CONN_CLOSED,  /* the connection is closed (or closing) and cannot do this */
    CTL_E_BUSY,         /* too many clients, pending requests or queued messages */
    CTL_E_TIMEOUT,      /* a deadline passed before the operation finished */
    CTL_E_PERM,         /* the peer's credentials are not allowed */
    CTL_E_UNSUPPORTED,  /* a known command this daemon does not provide (yet) */
    CTL_E_FAILED,       /* the operation ran and failed (e.g. handshake, I/O, file) */
    CTL_E_INTERNAL,     /* a bug or resource failure inside the daemon */
    CTL_CODE_COUNT
};

/* Returns the wire name of |code| ("E_PARSE"), "OK" for CTL_OK, "E_INTERNAL" if unknown. */
const char *ctl_code_name(enum ctl_code code);

/* Returns the code whose wire name is |name|, or -1. */
int ctl_code_from_name(const char *name);

/* Returns a one-line description of |code| (for docs and h3ctl). */
const char *ctl_code_help(enum ctl_code code);

enum ctl_ftype {
    CTL_F_STRING,    /* JSON string; min/max bound its length; optional check() */
    CTL_F_BOOL,      /* JSON true/false */
    CTL_F_UINT,      /* JSON integer in [min, max] */
    CTL_F_SERVER_URL, /* JSON string, https://host[:port] (net_url_parse, authority only;
                         E_BAD_URL) */
    CTL_F_URL,       /* JSON string, https://host[:port][/path] (net_url_parse; E_BAD_URL) */
    CTL_F_URL_LIST,  /* JSON string, CTL_F_URLs separated by commas (E_BAD_URL) */
    CTL_F_DURATION,  /* JSON number of seconds or string "5s", "500ms", "2m", "1.5" */
    CTL_F_APP_ERROR, /* JSON integer or string "0x10c"/"268": 0..2^62-1 */
    CTL_F_HEADERS,   /* JSON array of [name, value] string pairs */
    CTL_F_ENUM,      /* JSON string, one of choices */
};

struct ctl_field {
    const char *name;
    enum ctl_ftype type;
    bool required;
    uint64_t min, max;          /* CTL_F_UINT value, CTL_F_STRING length */
    const char *const *choices; /* CTL_F_ENUM, NULL-terminated */
    /* Extra check for CTL_F_STRING: returns 0, or -1 and writes why. */
    int (*check)(const char *s, char *why, size_t why_len);
    const char *cli;     /* h3ctl: NULL = positional, else the option ("--sni", "-H") */
    const char *metavar; /* h3ctl: value name in help ("URL", "N"); NULL for flags */
    const char *help;
};

enum ctl_cmd_id {
    CTL_CMD_CONNECT,
    CTL_CMD_LIST,
    CTL_CMD_SHOW,
    CTL_CMD_REQUEST,
    CTL_CMD_SHUTDOWN,
    CTL_CMD_CLOSE,
    CTL_CMD_WAIT,
    CTL_CMD_STATS,
    CTL_CMD_QUIT,
    CTL_CMD_UPLOAD,
    CTL_CMD_NEIGH,
    CTL_CMD_COUNT
};

struct ctl_cmd_schema {
    enum ctl_cmd_id id;
    const char *name;
    const char *summary;
    const struct ctl_field *fields;
    unsigned n_fields;
    const char *exclusive[2]; /* at most one of these two fields may be given */
};

/* Returns the command table (CTL_CMD_COUNT entries, indexed by enum ctl_cmd_id). */
const struct ctl_cmd_schema *ctl_cmd_table(void);

/* Returns the schema of the command called |name|, or NULL. */
const struct ctl_cmd_schema *ctl_cmd_find(const char *name);

/* One validated argument; which member is set follows the field's type. */
struct ctl_arg {
    bool present;
    const char *s; /* STRING, ENUM, URL (the original text); borrowed from the request */
    bool b;        /* BOOL */
    uint64_t u;    /* UINT, APP_ERROR, DURATION (milliseconds) */
    json_t *j;     /* HEADERS (borrowed array of [name, value]) */
};

struct ctl_request {
    json_t *root;                        /* owns everything the request borrows */
    json_t *id;                          /* borrowed; NULL when missing or invalid */
    const struct ctl_cmd_schema *cmd;    /* NULL until the command is known */
    struct ctl_arg args[CTL_MAX_FIELDS]; /* indexed like cmd->fields */
    struct net_url url;                  /* the parsed URL argument, if any (at most one
                                            per command) */
};

struct ctl_error {
    enum ctl_code code;
    char message[CTL_ERRMSG_MAX];
};

/* Parses and validates one request line |line| of |len| bytes (without the newline; need
 * not be NUL-terminated) into |req|. |req->id| is set whenever the id could be read, even
 * on error, so the error reply can echo it. Returns 0 or -EINVAL with |err| filled.
 * Always release |req| with ctl_request_free(), also after an error. */
int ctl_request_parse(struct ctl_request *req, const char *line, size_t len, struct ctl_error *err);

/* Releases what ctl_request_parse() holds; safe on a zeroed or already freed request. */
void ctl_request_free(struct ctl_request *req);

/* Returns the argument called |name| of |req|, or NULL if the command has no such field
 * or it was not given. */
const struct ctl_arg *ctl_request_arg(const struct ctl_request *req, const char *name);

/* Shorthands over ctl_request_arg() returning |dflt| when absent. */
const char *ctl_request_str(const struct ctl_request *req, const char *name);
uint64_t ctl_request_u64(const struct ctl_request *req, const char *name, uint64_t dflt);
bool ctl_request_bool(const struct ctl_request *req, const char *name, bool dflt);

/* Builds a success reply line ("...\n", NUL-terminated, malloc'd) echoing |id| (may be
 * NULL: JSON null) with |result| (reference stolen; NULL means {}). Stores the length
 * without the NUL in |*len|. Returns NULL on allocation failure. */
char *ctl_reply_ok(json_t *id, json_t *result, size_t *len);

/* Builds an error reply line like ctl_reply_ok(). |message| may be NULL. */
char *ctl_reply_error(json_t *id, enum ctl_code code, const char *message, size_t *len);

/* Parses a duration: |s| is "<number>[ms|s|m]" (no unit: seconds). Writes milliseconds to
 * |*ms|; returns 0 or -EINVAL (syntax, negative) or -ERANGE (over CTL_DURATION_MAX_MS). */
int ctl_duration_parse(const char *s, uint64_t *ms);

/* Parses an application error code: decimal or "0x" hex, 0..2^62-1. Returns 0, -EINVAL
 * or -ERANGE. */
int ctl_app_error_parse(const char *s, uint64_t *code);

/* Checks an HTTP method token (RFC 9110 §9.1, §5.6.2). Returns 0 or -1 with |why|. */
int ctl_check_method(const char *s, char *why, size_t why_len);

/* Checks a request target path: origin-form "/..." or "*", visible ASCII only. */
int ctl_check_path(const char *s, char *why, size_t why_len);

/* Checks a header field name: lowercase token, no pseudo-header (RFC 9114 §4.2). */
int ctl_check_header_name(const char *s, char *why, size_t why_len);

/* Checks a header field value: no NUL, CR or LF (RFC 9114 §4.2, RFC 9110 §5.5). */
int ctl_check_header_value(const char *s, char *why, size_t why_len);

#endif
