/* SPDX-License-Identifier: MIT */
/*
 * cfg: loading the INI file.
 *
 * Two passes over the file:
 *  1. scan(): our own line-by-line reading, which mirrors rte_cfgfile's
 *     grammar. rte_cfgfile_load() only says "NULL" when a line is bad, and
 *     silently skips lines it does not understand or truncates long names;
 *     the scan rejects all of these with the line number, and records the
 *     line of every section and entry for later messages.
 *  2. rte_cfgfile_load() reads the file; we walk its sections and entries by
 *     index (the same order as the scan), look each key up in the key table,
 *     parse it into struct cfg, then close the handle.
 * Cross-key rules run last, once every key is known.
 */
#include "cfg.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cfgfile.h>
#include <rte_mempool.h>

#include "cfg_parse.h"

_Static_assert(CFG_LCORE_MAX == RTE_MAX_LCORE, "CFG_LCORE_MAX must follow RTE_MAX_LCORE");
_Static_assert(CFG_STR_MAX == CFG_VALUE_LEN, "CFG_STR_MAX must follow rte_cfgfile's CFG_VALUE_LEN");

/* rte_cfgfile reads lines with fgets() into CFG_NAME_LEN + CFG_VALUE_LEN + 4 bytes. */
#define CFG_LINE_MAX (CFG_NAME_LEN + CFG_VALUE_LEN + 2)
/* rte_cfgfile_load()'s comment character (CFG_DEFAULT_COMMENT_CHARACTER). */
#define CFG_COMMENT ';'
/* Smallest UDP payload a QUIC path must carry (RFC 9000 section 14). */
#define QUIC_MIN_UDP_PAYLOAD 1200
#define IPV4_HDR_LEN         20 /* RFC 791, without options */
#define UDP_HDR_LEN          8  /* RFC 768 */
#define MTU_MIN              (QUIC_MIN_UDP_PAYLOAD + IPV4_HDR_LEN + UDP_HDR_LEN)
#define MTU_MAX              9000 /* common jumbo frame limit */

/* ------------------------------------------------------------------ */
/* Small helpers of the public API                                      */

bool cfg_lcores_has(const struct cfg_lcores *s, unsigned int lcore)
{
    if (lcore >= CFG_LCORE_MAX)
        return false;
    return (s->bits[lcore / 64] >> (lcore % 64)) & 1;
}

unsigned int cfg_lcores_count(const struct cfg_lcores *s)
{
    unsigned int n = 0;

    for (size_t i = 0; i < CFG_LCORE_MAX / 64; i++)
        n += (unsigned int)__builtin_popcountll(s->bits[i]);
    return n;
}

int cfg_lcores_next(const struct cfg_lcores *s, int prev)
{
    for (int l = prev + 1; l < CFG_LCORE_MAX; l++) {
        if (cfg_lcores_has(s, (unsigned int)l))
            return l;
    }
    return -1;
}

bool cfg_mac_is_set(const struct rte_ether_addr *mac)
{
    for (unsigned int i = 0; i < RTE_ETHER_ADDR_LEN; i++) {
        if (mac->addr_bytes[i] != 0)
            return true;
    }
    return false;
}

static const char *const io_names[] = {"dpdk", "kernel", NULL};
static const char *const idle_names[] = {"adaptive", "busy", NULL};
static const char *const compress_names[] = {"none", "zstd", NULL};

const char *cfg_io_name(enum cfg_io io)
{
    return (unsigned int)io < 2 ? io_names[io] : "?";
}

const char *cfg_idle_name(enum cfg_idle idle)
{
    return (unsigned int)idle < 2 ? idle_names[idle] : "?";
}

const char *cfg_compress_name(enum cfg_compress compress)
{
    return (unsigned int)compress < 2 ? compress_names[compress] : "?";
}

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof(*c));

    c->port.mtu = 1500;
    c->port.rx_desc = 1024;
    c->port.tx_desc = 1024;

    c->dataplane.io = CFG_IO_DPDK;
    c->dataplane.burst = 32;
    c->dataplane.idle = CFG_IDLE_ADAPTIVE;
    c->dataplane.idle_spin_polls = 1000;
    c->dataplane.idle_sleep_us = 100;
    c->dataplane.mempool_size = 8191;
    c->dataplane.mempool_cache = 256;
    c->dataplane.tx_drain_us = 100;
    c->dataplane.udp_echo_port = 0;
    c->dataplane.arp_timeout_ms = 1000;
    c->dataplane.arp_retries = 3;
    c->dataplane.arp_queue = 64;

    snprintf(c->control.socket, sizeof(c->control.socket), "%s", "/run/h3dp/h3dpd.sock");
    c->control.uid = CFG_ID_NONE;
    c->control.gid = CFG_ID_NONE;
    c->control.max_clients = 16;
    c->control.max_line = 65536;

    c->tls.insecure = false;

    c->h3.idle_timeout_ms = 30000;
    c->h3.handshake_timeout_ms = 10000;
    c->h3.keepalive_ms = 10000;
    c->h3.max_concurrent_streams = 100;
    c->h3.shutdown_timeout_ms = 5000;
    c->h3.initial_max_data = 16u << 20;
    c->h3.initial_max_stream_data = 1u << 20;

    c->upload.connections = 2;
    c->upload.streams = 100;
    c->upload.batch_bytes = 256u << 10;
    c->upload.linger_ms = 100;
    c->upload.retry_initial_ms = 500;
    c->upload.retry_max_ms = 30000;
    c->upload.retry_limit = 10;
    snprintf(c->upload.content_type, sizeof(c->upload.content_type), "%s",
             "application/octet-stream");
    c->upload.compress = CFG_COMPRESS_NONE;
    c->upload.generator_record_bytes = 1024;
    c->upload.generator_rate = 0;
}

/* ------------------------------------------------------------------ */
/* The key table                                                         */

struct key;
typedef int key_parse_fn(const struct key *k, const char *v, struct cfg *c, char *why,
                         size_t whylen);
typedef void key_dump_fn(const struct key *k, const struct cfg *c, char *out, size_t outlen);

enum {
    K_REQUIRED = 1 << 0, /* no default: the key must be given */
    K_SUFFIX = 1 << 1,   /* a size: K/M/G suffixes allowed */
    K_NONEMPTY = 1 << 2, /* a string that must not be empty */
    K_DPDK = 1 << 3,     /* required only with [dataplane] io = dpdk */
};

struct key {
    const char *section;
    const char *name;
    key_parse_fn *parse;
    key_dump_fn *dump;
    size_t off;  /* member of struct cfg */
    size_t size; /* its size */
    uint64_t min, max;
    const char *const *names; /* enum values */
    unsigned int flags;
};

#define AT(m) offsetof(struct cfg, m), sizeof(((struct cfg *)0)->m)

static void *member(struct cfg *c, const struct key *k)
{
    return (char *)c + k->off;
}

static const void *cmember(const struct cfg *c, const struct key *k)
{
    return (const char *)c + k->off;
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int parse_uint(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    uint64_t n;
    void *m = member(c, k);

    if (cfg_parse_u64(v, k->flags & K_SUFFIX, k->min, k->max, &n, why, whylen) < 0)
        return -EINVAL;
    switch (k->size) {
    case 2:
        *(uint16_t *)m = (uint16_t)n;
        break;
    case 4:
        *(uint32_t *)m = (uint32_t)n;
        break;
    default:
        *(uint64_t *)m = n;
        break;
    }
    return 0;
}

static void dump_uint(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    const void *m = cmember(c, k);
    uint64_t n;

    switch (k->size) {
    case 2:
        n = *(const uint16_t *)m;
        break;
    case 4:
        n = *(const uint32_t *)m;
        break;
    default:
        n = *(const uint64_t *)m;
        break;
    }
    snprintf(out, outlen, "%llu", (unsigned long long)n);
}

/* A power of two in min..max (descriptor ring sizes). */
static int parse_pow2(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    uint16_t n;

    if (parse_uint(k, v, c, why, whylen) < 0)
        return -EINVAL;
    n = *(uint16_t *)member(c, k);
    if ((n & (n - 1)) != 0)
        return fail(why, whylen, "must be a power of two");
    return 0;
}

static int parse_bool(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    return cfg_parse_bool(v, (bool *)member(c, k), why, whylen);
}

static void dump_bool(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", *(const bool *)cmember(c, k) ? "true" : "false");
}

static int parse_enum(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    unsigned int i;

    if (cfg_parse_enum(v, k->names, &i, why, whylen) < 0)
        return -EINVAL;
    *(int *)member(c, k) = (int)i;
    return 0;
}

static void dump_enum(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", k->names[*(const int *)cmember(c, k)]);
}

static int parse_compress(const struct key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    if (parse_enum(k, v, c, why, whylen) < 0)
        return -EINVAL;
#ifndef H3DP_HAVE_ZSTD
    if (c->upload.compress == CFG_COMPRESS_ZSTD)
        return fail(why, whylen, "this build has no zstd support (libzstd was not found)");
#endif
    return 0;
}

/* Strings: no control characters but tab (they would end up in logs, headers, paths). */
static int parse_str(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    size_t n = strlen(v);

    if ((k->flags & K_NONEMPTY) && n == 0)
        return fail(why, whylen, "must not be empty");
    if (n >= k->size)
        return fail(why, whylen, "longer than %zu characters", k->size - 1);
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f)
            return fail(why, whylen, "contains a control character");
    }
    memcpy(member(c, k), v, n + 1);
    return 0;
}

static void dump_str(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", (const char *)cmember(c, k));
}

/* A file the daemon reads at start: it must be readable now. */
static int parse_readable(const struct key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v != '\0' && access(v, R_OK) != 0)
        return fail(why, whylen, "cannot read: %s", strerror(errno));
    return 0;
}

/* A directory the daemon works in: it must exist now. */
static int parse_dir(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    struct stat st;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0')
        return 0;
    if (stat(v, &st) != 0)
        return fail(why, whylen, "cannot use: %s", strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(why, whylen, "not a directory");
    return 0;
}

/* A file the daemon creates or appends to: its directory must exist now. */
static int parse_newfile(const struct key *k, const char *v, struct cfg *c, char *why,
                         size_t whylen)
{
    char dir[CFG_STR_MAX];
    const char *slash = strrchr(v, '/');
    struct stat st;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0')
        return 0;
    if (v[strlen(v) - 1] == '/')
        return fail(why, whylen, "names a directory, not a file");
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == v)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - v), v);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(why, whylen, "directory %s does not exist", dir);
    return 0;
}

static int parse_socket(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    if (v[0] != '/')
        return fail(why, whylen, "must be an absolute path");
    if (strlen(v) >= CFG_SOCKET_PATH_MAX)
        return fail(why, whylen, "longer than %d characters (the limit of a Unix socket path)",
                    CFG_SOCKET_PATH_MAX - 1);
    return parse_str(k, v, c, why, whylen);
}

/* A user or group: a name that exists, or a numeric id. */
static int parse_id(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen,
                    bool is_user)
{
    uint32_t *id = is_user ? &c->control.uid : &c->control.gid;
    uint64_t n;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0') {
        *id = CFG_ID_NONE;
        return 0;
    }
    if (v[0] >= '0' && v[0] <= '9') {
        if (cfg_parse_u64(v, false, 0, CFG_ID_NONE - 1, &n, why, whylen) < 0)
            return -EINVAL;
        *id = (uint32_t)n;
        return 0;
    }
    if (is_user) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        int rc = getpwnam_r(v, &pw, buf, sizeof(buf), &res);

        if (res == NULL)
            return fail(why, whylen, "no such user%s%s", rc ? ": " : "", rc ? strerror(rc) : "");
        *id = pw.pw_uid;
    } else {
        struct group gr, *res = NULL;
        char buf[4096];
        int rc = getgrnam_r(v, &gr, buf, sizeof(buf), &res);

        if (res == NULL)
            return fail(why, whylen, "no such group%s%s", rc ? ": " : "", rc ? strerror(rc) : "");
        *id = gr.gr_gid;
    }
    return 0;
}

static int parse_user(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    return parse_id(k, v, c, why, whylen, true);
}

static int parse_group(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    return parse_id(k, v, c, why, whylen, false);
}

/* EAL options that other keys own: a second source of truth would be ambiguous. */
static const struct {
    const char *opt;
    const char *owner;
} eal_owned[] = {
    {"-l", "[eal] lcores"},
    {"--lcores", "[eal] lcores"},
    {"-c", "[eal] lcores"},
    {"--main-lcore", "[eal] lcores"},
    {"--master-lcore", "[eal] lcores"},
    {"--file-prefix", "[eal] file_prefix"},
};

static int parse_eal_args(const struct key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    const char *w;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (cfg_split_words(v, c->eal.argbuf, sizeof(c->eal.argbuf), &c->eal.argc, why, whylen) < 0)
        return -EINVAL;
    w = c->eal.argbuf;
    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        for (size_t j = 0; j < sizeof(eal_owned) / sizeof(eal_owned[0]); j++) {
            const char *o = eal_owned[j].opt;
            size_t n = strlen(o);
            bool match = strncmp(w, o, n) == 0 &&
                         (w[n] == '\0' || w[n] == '=' || (o[1] != '-' && w[n] != '\0'));

            if (match)
                return fail(why, whylen, "EAL option %s is set by %s, not here", o,
                            eal_owned[j].owner);
        }
    }
    return 0;
}

static int parse_eal_lcores(const struct key *k, const char *v, struct cfg *c, char *why,
                            size_t whylen)
{
    if (cfg_parse_lcores(v, &c->eal.lcores, why, whylen) < 0)
        return -EINVAL;
    c->eal.main_lcore = (unsigned int)cfg_lcores_next(&c->eal.lcores, -1);
    return parse_str(k, v, c, why, whylen);
}

static int parse_file_prefix(const struct key *k, const char *v, struct cfg *c, char *why,
                             size_t whylen)
{
    /* EAL makes it a directory name under /var/run/dpdk: no '/' and no dot-only names. */
    if (strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
        return fail(why, whylen, "must be a plain name (no '/')");
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\t')
            return fail(why, whylen, "must not contain spaces");
    }
    return parse_str(k, v, c, why, whylen);
}

static int parse_device(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    if (cfg_parse_device(v, &c->port, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_ip_prefix(const struct key *k, const char *v, struct cfg *c, char *why,
                           size_t whylen)
{
    (void)k;
    if (cfg_parse_ipv4_prefix(v, &c->port.ip, &c->port.prefix_len, why, whylen) < 0)
        return -EINVAL;
    c->port.netmask = cfg_ipv4_netmask(c->port.prefix_len);
    return 0;
}

static void dump_ip_prefix(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    uint32_t a = rte_be_to_cpu_32(c->port.ip);

    (void)k;
    snprintf(out, outlen, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff,
             c->port.prefix_len);
}

static int parse_ipv4(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    rte_be32_t *a = member(c, k);

    *a = 0;
    if (*v == '\0')
        return 0; /* optional: empty means not set */
    if (cfg_parse_ipv4(v, a, why, whylen) < 0)
        return -EINVAL;
    if (*a == 0)
        return fail(why, whylen, "0.0.0.0 is not a host address");
    return 0;
}

static void dump_ipv4(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    uint32_t a = rte_be_to_cpu_32(*(const rte_be32_t *)cmember(c, k));

    if (a == 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static int parse_mac(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    memset(member(c, k), 0, sizeof(struct rte_ether_addr));
    if (*v == '\0')
        return 0; /* optional: empty means not set */
    return cfg_parse_mac(v, member(c, k), why, whylen);
}

static void dump_mac(const struct key *k, const struct cfg *c, char *out, size_t outlen)
{
    const struct rte_ether_addr *m = cmember(c, k);

    if (!cfg_mac_is_set(m)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", m->addr_bytes[0], m->addr_bytes[1],
             m->addr_bytes[2], m->addr_bytes[3], m->addr_bytes[4], m->addr_bytes[5]);
}

static int parse_workers(const struct key *k, const char *v, struct cfg *c, char *why,
                         size_t whylen)
{
    if (cfg_parse_lcores(v, &c->dataplane.workers, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_sni(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    /* RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName". */
    if (*v != '\0' && cfg_parse_hostname(v, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_url(const struct key *k, const char *v, struct cfg *c, char *why, size_t whylen)
{
    if (*v != '\0' && cfg_parse_url(v, &c->upload.url, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

/* A media type "type/subtype[; parameters]" (RFC 9110 section 8.3.1). */
static int parse_content_type(const struct key *k, const char *v, struct cfg *c, char *why,
                              size_t whylen)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t t = strspn(v, tchar);

    if (t == 0 || v[t] != '/' || strspn(v + t + 1, tchar) == 0)
        return fail(why, whylen, "not a media type (type/subtype)");
    return parse_str(k, v, c, why, whylen);
}

#define U(sec, key, m, lo, hi)                                                                     \
    {                                                                                              \
        sec, key, parse_uint, dump_uint, AT(m), lo, hi, NULL, 0                                    \
    }
#define SZ(sec, key, m, lo, hi)                                                                    \
    {                                                                                              \
        sec, key, parse_uint, dump_uint, AT(m), lo, hi, NULL, K_SUFFIX                             \
    }
#define B(sec, key, m)                                                                             \
    {                                                                                              \
        sec, key, parse_bool, dump_bool, AT(m), 0, 0, NULL, 0                                      \
    }
#define E(sec, key, m, names, fn)                                                                  \
    {                                                                                              \
        sec, key, fn, dump_enum, AT(m), 0, 0, names, 0                                             \
    }
#define S(sec, key, m, fn, flags)                                                                  \
    {                                                                                              \
        sec, key, fn, dump_str, AT(m), 0, 0, NULL, flags                                           \
    }
#define X(sec, key, m, fn, dfn, flags)                                                             \
    {                                                                                              \
        sec, key, fn, dfn, AT(m), 0, 0, NULL, flags                                                \
    }

static const char *const sections[] = {"eal", "port", "dataplane", "control",
                                       "tls", "h3",   "upload",    NULL};

static const struct key keys[] = {
    S("eal", "args", eal.args, parse_eal_args, 0),
    S("eal", "lcores", eal.lcores_str, parse_eal_lcores, K_REQUIRED),
    S("eal", "file_prefix", eal.file_prefix, parse_file_prefix, 0),

    S("port", "device", port.device, parse_device, K_REQUIRED | K_DPDK),
    X("port", "ip", port.ip, parse_ip_prefix, dump_ip_prefix, K_REQUIRED | K_DPDK),
    X("port", "gateway", port.gateway, parse_ipv4, dump_ipv4, 0),
    X("port", "gateway_mac", port.gateway_mac, parse_mac, dump_mac, 0),
    X("port", "mac", port.mac, parse_mac, dump_mac, 0),
    U("port", "mtu", port.mtu, MTU_MIN, MTU_MAX),
    {"port", "rx_desc", parse_pow2, dump_uint, AT(port.rx_desc), 64, 4096, NULL, 0},
    {"port", "tx_desc", parse_pow2, dump_uint, AT(port.tx_desc), 64, 4096, NULL, 0},

    E("dataplane", "io", dataplane.io, io_names, parse_enum),
    S("dataplane", "workers", dataplane.workers_str, parse_workers, 0),
    U("dataplane", "burst", dataplane.burst, 1, 512),
    E("dataplane", "idle", dataplane.idle, idle_names, parse_enum),
    U("dataplane", "idle_spin_polls", dataplane.idle_spin_polls, 0, 1000000000),
    U("dataplane", "idle_sleep_us", dataplane.idle_sleep_us, 1, 1000000),
    U("dataplane", "mempool_size", dataplane.mempool_size, 64, 1u << 24),
    U("dataplane", "mempool_cache", dataplane.mempool_cache, 0, RTE_MEMPOOL_CACHE_MAX_SIZE),
    U("dataplane", "tx_drain_us", dataplane.tx_drain_us, 0, 100000),
    U("dataplane", "udp_echo_port", dataplane.udp_echo_port, 0, 65535),
    U("dataplane", "arp_timeout_ms", dataplane.arp_timeout_ms, 10, 60000),
    U("dataplane", "arp_retries", dataplane.arp_retries, 0, 100),
    U("dataplane", "arp_queue", dataplane.arp_queue, 1, 65536),

    S("control", "socket", control.socket, parse_socket, K_NONEMPTY),
    S("control", "user", control.user, parse_user, 0),
    S("control", "group", control.group, parse_group, 0),
    U("control", "max_clients", control.max_clients, 1, 4096),
    SZ("control", "max_line", control.max_line, 256, 16u << 20),

    S("tls", "ca_file", tls.ca_file, parse_readable, 0),
    B("tls", "insecure", tls.insecure),
    S("tls", "keylog", tls.keylog, parse_newfile, 0),
    S("tls", "sni", tls.sni, parse_sni, 0),

    U("h3", "idle_timeout_ms", h3.idle_timeout_ms, 0, 3600000),
    U("h3", "handshake_timeout_ms", h3.handshake_timeout_ms, 100, 600000),
    U("h3", "keepalive_ms", h3.keepalive_ms, 0, 3600000),
    U("h3", "max_concurrent_streams", h3.max_concurrent_streams, 1, 1000000),
    U("h3", "shutdown_timeout_ms", h3.shutdown_timeout_ms, 0, 3600000),
    S("h3", "qlog_dir", h3.qlog_dir, parse_dir, 0),
    SZ("h3", "initial_max_data", h3.initial_max_data, 1024, UINT64_C(1) << 40),
    SZ("h3", "initial_max_stream_data", h3.initial_max_stream_data, 1024, UINT64_C(1) << 40),

    S("upload", "url", upload.url_str, parse_url, 0),
    U("upload", "connections", upload.connections, 1, 1024),
    U("upload", "streams", upload.streams, 1, 100000),
    SZ("upload", "batch_bytes", upload.batch_bytes, 1024, 64u << 20),
    U("upload", "linger_ms", upload.linger_ms, 0, 60000),
    U("upload", "retry_initial_ms", upload.retry_initial_ms, 1, 3600000),
    U("upload", "retry_max_ms", upload.retry_max_ms, 1, 3600000),
    U("upload", "retry_limit", upload.retry_limit, 0, 1000000),
    S("upload", "spool_dir", upload.spool_dir, parse_dir, 0),
    S("upload", "content_type", upload.content_type, parse_content_type, K_NONEMPTY),
    E("upload", "compress", upload.compress, compress_names, parse_compress),
    SZ("upload", "generator_record_bytes", upload.generator_record_bytes, 1, 16u << 20),
    U("upload", "generator_rate", upload.generator_rate, 0, 100000000),
};

#define NKEYS     (sizeof(keys) / sizeof(keys[0]))
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]) - 1)

static int find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int find_section(const char *name)
{
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (strcmp(sections[i], name) == 0)
            return (int)i;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Error messages                                                        */

struct loader {
    const char *path;
    char *err;
    size_t errlen;
    int key_line[NKEYS]; /* line of each key given in the file, 0: not given */
    int section_line[NSECTIONS];
    int *entry_line; /* line of every "key = value", in file order */
    int *hdr_line;   /* line of every "[section]", in file order */
    size_t n_entries, n_hdrs;
    char scan_section[CFG_NAME_LEN]; /* the scan's current section, for messages */
};

/*
 * Formats "FILE[:LINE]: [SECTION] [KEY]: WHY [(got 'VALUE')]"; parts that are
 * NULL or 0 are left out. Returns -1 for `return report(...)`.
 */
static int report(struct loader *ld, int line, const char *section, const char *key,
                  const char *value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int report(struct loader *ld, int line, const char *section, const char *key,
                  const char *value, const char *fmt, ...)
{
    char why[512];
    char where[64] = "";
    char what[CFG_NAME_LEN * 2 + 8] = "";
    va_list ap;

    if (ld->err == NULL || ld->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(where, sizeof(where), ":%d", line);
    if (section != NULL && key != NULL)
        snprintf(what, sizeof(what), " [%s] %s:", section, key);
    else if (section != NULL)
        snprintf(what, sizeof(what), " [%s]:", section);
    if (value != NULL)
        snprintf(ld->err, ld->errlen, "%s%s:%s %s (got '%s')", ld->path, where, what, why, value);
    else
        snprintf(ld->err, ld->errlen, "%s%s:%s %s", ld->path, where, what, why);
    return -1;
}

/* Reports a broken rule about key |ki|, quoting its value as written when given. */
static int report_key(struct loader *ld, const struct cfg *c, size_t ki, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int report_key(struct loader *ld, const struct cfg *c, size_t ki, const char *fmt, ...)
{
    char why[512];
    char value[CFG_STR_MAX * 2];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    keys[ki].dump(&keys[ki], c, value, sizeof(value));
    return report(ld, ld->key_line[ki], keys[ki].section, keys[ki].name,
                  ld->key_line[ki] ? value : NULL, "%s", why);
}

static size_t key_index(const char *section, const char *name)
{
    int i = find_key(section, name);

    /* Only called with names from the table above. */
    return i < 0 ? 0 : (size_t)i;
}

/* ------------------------------------------------------------------ */
/* Pass 1: the scan                                                      */

static int push_line(int **arr, size_t *n, int line)
{
    int *p;

    if ((*n & (*n + 1)) == 0 || *n == 0) {
        /* grow at 0, 1, 3, 7, ... entries: capacity is the next power of two */
        p = realloc(*arr, sizeof(int) * (*n * 2 + 2));
        if (p == NULL)
            return -ENOMEM;
        *arr = p;
    }
    (*arr)[(*n)++] = line;
    return 0;
}

/* Strips leading and trailing whitespace in place, as rte_cfgfile does. */
static char *strip(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' ||
                     e[-1] == '\v' || e[-1] == '\f'))
        *--e = '\0';
    return s;
}

static int scan_line(struct loader *ld, char *buf, size_t len, int lineno)
{
    char *s, *cmt, *eq;

    if (memchr(buf, '\0', len) != NULL)
        return report(ld, lineno, NULL, NULL, NULL, "line contains a NUL byte");
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > CFG_LINE_MAX)
        return report(ld, lineno, NULL, NULL, NULL, "line longer than %d characters", CFG_LINE_MAX);
    buf[len] = '\0';
    /* rte_cfgfile: the first ';' starts a comment unless it is written "\;". */
    cmt = strchr(buf, CFG_COMMENT);
    if (cmt != NULL && (cmt == buf || cmt[-1] != '\\'))
        *cmt = '\0';
    s = strip(buf);
    if (*s == '\0')
        return 0;
    if (*s == '#')
        return report(ld, lineno, NULL, NULL, NULL, "comments start with ';', not '#'");
    if (*s == '[') {
        char *end = strchr(s, ']');
        char *name;

        if (end == NULL)
            return report(ld, lineno, NULL, NULL, NULL, "section header without ']'");
        if (end[1] != '\0')
            return report(ld, lineno, NULL, NULL, NULL, "junk after the section header ']'");
        *end = '\0';
        name = strip(s + 1);
        if (*name == '\0')
            return report(ld, lineno, NULL, NULL, NULL, "empty section name");
        if (strlen(name) >= CFG_NAME_LEN)
            return report(ld, lineno, NULL, NULL, NULL, "section name longer than %d characters",
                          CFG_NAME_LEN - 1);
        snprintf(ld->scan_section, sizeof(ld->scan_section), "%s", name);
        return push_line(&ld->hdr_line, &ld->n_hdrs, lineno) < 0
                   ? report(ld, lineno, NULL, NULL, NULL, "out of memory")
                   : 0;
    }
    eq = strchr(s, '=');
    if (eq == NULL)
        return report(ld, lineno, NULL, NULL, NULL, "line is not '[section]' or 'key = value'");
    *eq = '\0';
    if (*strip(s) == '\0')
        return report(ld, lineno, NULL, NULL, NULL, "missing key name before '='");
    if (strlen(strip(s)) >= CFG_NAME_LEN)
        return report(ld, lineno, NULL, NULL, NULL, "key name longer than %d characters",
                      CFG_NAME_LEN - 1);
    if (strlen(strip(eq + 1)) >= CFG_VALUE_LEN)
        return report(ld, lineno, ld->n_hdrs ? ld->scan_section : NULL, strip(s), NULL,
                      "value longer than %d characters", CFG_VALUE_LEN - 1);
    if (ld->n_hdrs == 0)
        return report(ld, lineno, NULL, NULL, NULL, "'%s' comes before any [section]", strip(s));
    return push_line(&ld->entry_line, &ld->n_entries, lineno) < 0
               ? report(ld, lineno, NULL, NULL, NULL, "out of memory")
               : 0;
}

static int scan(struct loader *ld)
{
    FILE *f = fopen(ld->path, "r");
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    int rc = 0;

    if (f == NULL)
        return report(ld, 0, NULL, NULL, NULL, "cannot open: %s", strerror(errno));
    while (rc == 0 && (len = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        rc = scan_line(ld, buf, (size_t)len, lineno);
    }
    if (rc == 0 && ferror(f))
        rc = report(ld, 0, NULL, NULL, NULL, "read error: %s", strerror(errno));
    free(buf);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Pass 2: rte_cfgfile and the keys                                      */

static int load_entries(struct loader *ld, struct rte_cfgfile *file, struct cfg *c)
{
    int nsec = rte_cfgfile_num_sections(file, NULL, 0);
    size_t e = 0;

    if (nsec < 0 || (size_t)nsec != ld->n_hdrs)
        return report(ld, 0, NULL, NULL, NULL, "the file changed while it was being read");
    for (int s = 0; s < nsec; s++) {
        char name[CFG_NAME_LEN];
        struct rte_cfgfile_entry *ent;
        int n = rte_cfgfile_section_num_entries_by_index(file, name, s);
        int si = find_section(name);
        int hline = ld->hdr_line[s];

        if (si < 0)
            return report(ld, hline, name, NULL, NULL,
                          "unknown section (known: eal, port, dataplane, control, tls, h3, "
                          "upload)");
        if (ld->section_line[si] != 0)
            return report(ld, hline, name, NULL, NULL, "duplicate section (first at line %d)",
                          ld->section_line[si]);
        ld->section_line[si] = hline;
        if (n <= 0)
            continue;
        if (e + (size_t)n > ld->n_entries)
            return report(ld, 0, NULL, NULL, NULL, "the file changed while it was being read");
        ent = malloc(sizeof(*ent) * (size_t)n);
        if (ent == NULL)
            return report(ld, hline, name, NULL, NULL, "out of memory");
        n = rte_cfgfile_section_entries_by_index(file, s, name, ent, n);
        for (int i = 0; i < n; i++, e++) {
            char why[256];
            int ki = find_key(name, ent[i].name);
            int line = ld->entry_line[e];

            if (ki < 0) {
                report(ld, line, name, ent[i].name, ent[i].value, "unknown key");
                free(ent);
                return -1;
            }
            if (ld->key_line[ki] != 0) {
                report(ld, line, name, ent[i].name, ent[i].value,
                       "duplicate key (first at line %d)", ld->key_line[ki]);
                free(ent);
                return -1;
            }
            ld->key_line[ki] = line;
            why[0] = '\0';
            if (keys[ki].parse(&keys[ki], ent[i].value, c, why, sizeof(why)) < 0) {
                report(ld, line, name, ent[i].name, ent[i].value, "%s", why);
                free(ent);
                return -1;
            }
        }
        free(ent);
    }
    if (e != ld->n_entries)
        return report(ld, 0, NULL, NULL, NULL, "the file changed while it was being read");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cross-key rules                                                       */

/* Whether the EAL words create vdev |name| (--vdev=NAME[,...] or --vdev NAME[,...]). */
static bool eal_creates_vdev(const struct cfg *c, const char *name)
{
    const char *w = c->eal.argbuf;
    size_t n = strlen(name);
    bool next_is_spec = false;

    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        const char *spec = NULL;

        if (next_is_spec)
            spec = w;
        else if (strncmp(w, "--vdev=", 7) == 0)
            spec = w + 7;
        next_is_spec = strcmp(w, "--vdev") == 0;
        if (spec != NULL && strncmp(spec, name, n) == 0 && (spec[n] == '\0' || spec[n] == ','))
            return true;
    }
    return false;
}

static bool eal_has_word(const struct cfg *c, const char *word)
{
    const char *w = c->eal.argbuf;

    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        if (strcmp(w, word) == 0)
            return true;
    }
    return false;
}

/*
 * Whether the EAL words list PCI device |name| after |shopt| ("-a") or
 * |longopt| ("--allow"), in any of the forms "-a X", "-aX", "--allow X",
 * "--allow=X" (X may carry ",devargs"). *|any| tells whether the option
 * appears at all.
 */
static bool eal_lists_pci(const struct cfg *c, const char *shopt, const char *longopt,
                          const char *name, bool *any)
{
    const char *w = c->eal.argbuf;
    size_t ls = strlen(shopt), ll = strlen(longopt);
    bool next_is_dev = false;

    *any = false;
    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        const char *dev = NULL;
        struct cfg_port p;

        if (next_is_dev)
            dev = w;
        else if (strncmp(w, shopt, ls) == 0 && w[ls] != '\0')
            dev = w + ls;
        else if (strncmp(w, longopt, ll) == 0 && w[ll] == '=')
            dev = w + ll + 1;
        next_is_dev = strcmp(w, shopt) == 0 || strcmp(w, longopt) == 0;
        if (next_is_dev)
            *any = true;
        if (dev == NULL)
            continue;
        *any = true;
        memset(&p, 0, sizeof(p));
        if (cfg_parse_device(dev, &p, NULL, 0) == 0 && p.device_kind == CFG_DEVICE_PCI &&
            strcmp(p.device_name, name) == 0)
            return true;
    }
    return false;
}

static int check_lcores(struct loader *ld, struct cfg *c)
{
    const size_t kw = key_index("dataplane", "workers");
    const size_t kl = key_index("eal", "lcores");
    struct cfg_lcores *w = &c->dataplane.workers;

    if (ld->key_line[kw] == 0) {
        /* Default: every [eal] lcore but the main one. */
        *w = c->eal.lcores;
        w->bits[c->eal.main_lcore / 64] &= ~(UINT64_C(1) << (c->eal.main_lcore % 64));
        if (cfg_lcores_count(w) == 0)
            return report_key(ld, c, kl,
                              "only the main lcore %u is listed: no lcore is left for "
                              "[dataplane] workers",
                              c->eal.main_lcore);
        return 0;
    }
    if (cfg_lcores_has(w, c->eal.main_lcore))
        return report_key(ld, c, kw,
                          "lcore %u is the main lcore (the lowest of [eal] lcores), which "
                          "runs the control plane and slow path",
                          c->eal.main_lcore);
    for (int l = cfg_lcores_next(w, -1); l >= 0; l = cfg_lcores_next(w, l)) {
        if (!cfg_lcores_has(&c->eal.lcores, (unsigned int)l))
            return report_key(ld, c, kw, "lcore %d is not in [eal] lcores", l);
    }
    return 0;
}

static int check_port(struct loader *ld, struct cfg *c)
{
    const size_t kd = key_index("port", "device");
    const size_t kg = key_index("port", "gateway");
    struct cfg_port *p = &c->port;

    if (p->device[0] == '\0') {
        /* io = kernel without a port: nothing to match against [eal] args. */
    } else if (p->device_kind == CFG_DEVICE_VDEV) {
        p->device_in_eal_args = eal_creates_vdev(c, p->device_name);
        if (p->device_in_eal_args && p->device_args[0] != '\0')
            return report_key(ld, c, kd,
                              "vdev %s is also created by --vdev in [eal] args: give its "
                              "arguments in one place only",
                              p->device_name);
    } else {
        bool any;

        if (eal_has_word(c, "--no-pci"))
            return report_key(ld, c, kd, "a PCI device, but [eal] args contain --no-pci");
        if (eal_lists_pci(c, "-b", "--block", p->device_name, &any))
            return report_key(ld, c, kd, "blocked by -b/--block in [eal] args");
        if (!eal_lists_pci(c, "-a", "--allow", p->device_name, &any) && any)
            return report_key(ld, c, kd, "not in the -a/--allow list of [eal] args");
    }
    if (p->gateway != 0) {
        if ((p->gateway & p->netmask) != (p->ip & p->netmask))
            return report_key(ld, c, kg, "not inside [port] ip's prefix /%u", p->prefix_len);
        if (p->gateway == p->ip)
            return report_key(ld, c, kg, "is our own address");
        if (p->prefix_len <= 30 && (p->gateway & ~p->netmask) == ~p->netmask)
            return report_key(ld, c, kg, "is the broadcast address of [port] ip's prefix");
        if (p->prefix_len <= 30 && (p->gateway & ~p->netmask) == 0)
            return report_key(ld, c, kg, "is the network address of [port] ip's prefix");
    } else if (cfg_mac_is_set(&p->gateway_mac)) {
        return report_key(ld, c, key_index("port", "gateway_mac"), "given without [port] gateway");
    }
    return 0;
}

static bool given(const struct loader *ld, const char *section, const char *name)
{
    return ld->key_line[key_index(section, name)] != 0;
}

static int check_dataplane(struct loader *ld, struct cfg *c)
{
    const struct cfg_dataplane *d = &c->dataplane;
    unsigned int rings = (unsigned int)c->port.rx_desc + c->port.tx_desc;

    /* Starting a port fills its RX ring from the pool; TX holds mbufs until they are sent. */
    if (d->mempool_size < rings) {
        if (given(ld, "dataplane", "mempool_size") ||
            (!given(ld, "port", "rx_desc") && !given(ld, "port", "tx_desc")))
            return report_key(ld, c, key_index("dataplane", "mempool_size"),
                              "too small to fill one RX and one TX ring ([port] rx_desc + "
                              "tx_desc = %u)",
                              rings);
        return report_key(ld, c,
                          key_index("port", given(ld, "port", "rx_desc") ? "rx_desc" : "tx_desc"),
                          "rx_desc + tx_desc = %u mbufs do not fit [dataplane] mempool_size (%u)",
                          rings, d->mempool_size);
    }
    /* rte_mempool_create() refuses a cache whose flush threshold (1.5 x size) exceeds n. */
    if ((uint64_t)d->mempool_cache * 3 / 2 > d->mempool_size) {
        if (ld->key_line[key_index("dataplane", "mempool_cache")] == 0)
            return report_key(ld, c, key_index("dataplane", "mempool_size"),
                              "too small for [dataplane] mempool_cache %u (needs at least %u)",
                              d->mempool_cache, d->mempool_cache * 3 / 2);
        return report_key(ld, c, key_index("dataplane", "mempool_cache"),
                          "must be at most mempool_size / 1.5 = %u", d->mempool_size * 2 / 3);
    }
    return 0;
}

static int check_h3_upload(struct loader *ld, struct cfg *c)
{
    const struct cfg_h3 *h = &c->h3;
    const struct cfg_upload *u = &c->upload;

    if (h->keepalive_ms != 0 && h->idle_timeout_ms != 0 && h->keepalive_ms >= h->idle_timeout_ms) {
        if (given(ld, "h3", "keepalive_ms") || !given(ld, "h3", "idle_timeout_ms"))
            return report_key(ld, c, key_index("h3", "keepalive_ms"),
                              "must be below [h3] idle_timeout_ms (%u) to keep the connection "
                              "open",
                              h->idle_timeout_ms);
        return report_key(ld, c, key_index("h3", "idle_timeout_ms"),
                          "must be above [h3] keepalive_ms (%u), or set keepalive_ms = 0",
                          h->keepalive_ms);
    }
    if (u->retry_initial_ms > u->retry_max_ms) {
        if (given(ld, "upload", "retry_initial_ms") || !given(ld, "upload", "retry_max_ms"))
            return report_key(ld, c, key_index("upload", "retry_initial_ms"),
                              "must not exceed [upload] retry_max_ms (%u)", u->retry_max_ms);
        return report_key(ld, c, key_index("upload", "retry_max_ms"),
                          "must be at least [upload] retry_initial_ms (%u)", u->retry_initial_ms);
    }
    return 0;
}

static int check(struct loader *ld, struct cfg *c)
{
    for (size_t i = 0; i < NKEYS; i++) {
        bool needed = !(keys[i].flags & K_DPDK) || c->dataplane.io == CFG_IO_DPDK;

        if ((keys[i].flags & K_REQUIRED) && needed && ld->key_line[i] == 0)
            return report(ld, 0, keys[i].section, keys[i].name, NULL, "required key is missing");
    }
    if (check_lcores(ld, c) < 0 || check_port(ld, c) < 0 || check_dataplane(ld, c) < 0 ||
        check_h3_upload(ld, c) < 0)
        return -1;
    return 0;
}

int cfg_load(const char *path, struct cfg *c, char *err, size_t errlen)
{
    struct loader ld;
    struct rte_cfgfile *file;
    int rc = -1;

    memset(&ld, 0, sizeof(ld));
    ld.path = path;
    ld.err = err;
    ld.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    cfg_defaults(c);

    if (scan(&ld) < 0)
        goto out;
    file = rte_cfgfile_load(path, CFG_FLAG_EMPTY_VALUES);
    if (file == NULL) {
        report(&ld, 0, NULL, NULL, NULL, "rte_cfgfile could not read the file");
        goto out;
    }
    rc = load_entries(&ld, file, c);
    rte_cfgfile_close(file);
    if (rc == 0)
        rc = check(&ld, c);
out:
    free(ld.entry_line);
    free(ld.hdr_line);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* argv and dump                                                         */

/* Appends |s| to out->buf and to argv; -ENAMETOOLONG when it does not fit. */
static int push_arg(struct cfg_argv *out, size_t *used, const char *s)
{
    size_t n = strlen(s) + 1;

    if (*used + n > sizeof(out->buf) || out->argc >= CFG_EAL_ARGV_MAX)
        return -ENAMETOOLONG;
    memcpy(out->buf + *used, s, n);
    out->argv[out->argc++] = out->buf + *used;
    out->argv[out->argc] = NULL;
    *used += n;
    return 0;
}

int cfg_eal_argv(const struct cfg *c, const char *prog, struct cfg_argv *out)
{
    const char *w = c->eal.argbuf;
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    if (push_arg(out, &used, prog) < 0 || push_arg(out, &used, "-l") < 0 ||
        push_arg(out, &used, c->eal.lcores_str) < 0)
        goto toolong;
    if (c->eal.file_prefix[0] != '\0' &&
        (push_arg(out, &used, "--file-prefix") < 0 || push_arg(out, &used, c->eal.file_prefix) < 0))
        goto toolong;
    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        if (push_arg(out, &used, w) < 0)
            goto toolong;
    }
    return out->argc;
toolong:
    memset(out, 0, sizeof(*out));
    return -ENAMETOOLONG;
}

/* Writes |v| escaping ';' as "\;" so rte_cfgfile does not take it for a comment. */
static void put_value(FILE *f, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == CFG_COMMENT)
            fputc('\\', f);
        fputc(*v, f);
    }
}

int cfg_dump(const struct cfg *c, FILE *f)
{
    const char *section = NULL;

    for (size_t i = 0; i < NKEYS; i++) {
        char v[CFG_STR_MAX * 2];

        if (section == NULL || strcmp(section, keys[i].section) != 0) {
            section = keys[i].section;
            fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
        }
        keys[i].dump(&keys[i], c, v, sizeof(v));
        /* Optional keys left unset are left out; a defaulted worker set is implied. */
        if (v[0] == '\0')
            continue;
        fprintf(f, "%s = ", keys[i].name);
        put_value(f, v);
        fputc('\n', f);
    }
    return (fflush(f) != 0 || ferror(f)) ? -EIO : 0;
}
