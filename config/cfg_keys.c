/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys: the defaults, the key table and the value handlers.
 *
 * Adding a key: a member in struct cfg (cfg.h), its default in
 * cfg_defaults(), one line in cfg_keys[] (a generic handler or a new one
 * here), a row in docs/CONFIG.md, and a case in tests/config/test_cfg.c.
 */
#include "cfg_keys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_mempool.h>

#include "bfile.h"
#include "cfg_parse.h"

/* Smallest UDP payload a QUIC path must carry (RFC 9000 section 14). */
#define QUIC_MIN_UDP_PAYLOAD 1200
#define IPV4_HDR_LEN         20 /* RFC 791, without options */
#define UDP_HDR_LEN          8  /* RFC 768 */
#define MTU_MIN              (QUIC_MIN_UDP_PAYLOAD + IPV4_HDR_LEN + UDP_HDR_LEN)
#define MTU_MAX              9000 /* common jumbo frame limit */

static const char *const io_names[] = {"dpdk", "kernel", NULL};
static const char *const idle_names[] = {"adaptive", "busy", "interrupt", NULL};
static const char *const compress_names[] = {"none", "zstd", "gzip", NULL};
static const char *const framing_names[] = {"newline", "length", "none", NULL};
/* Indexed by rte_log level (RTE_LOG_EMERG = 1 .. RTE_LOG_DEBUG = 8); 0 is "not set". */
static const char *const log_level_names[] = {"",        "emerg",  "alert", "crit", "error",
                                              "warning", "notice", "info",  "debug", NULL};
static const char *const log_modules[CFG_LOG_MODULES] = {"dataplane", "service", "upload",
                                                         "control", "daemon"};

const char *cfg_io_name(enum cfg_io io)
{
    return (unsigned int)io < 2 ? io_names[io] : "?";
}

const char *cfg_idle_name(enum cfg_idle idle)
{
    return (unsigned int)idle < 3 ? idle_names[idle] : "?";
}

const char *cfg_compress_name(enum cfg_compress compress)
{
    return (unsigned int)compress < 3 ? compress_names[compress] : "?";
}

const char *cfg_framing_name(enum cfg_framing framing)
{
    return (unsigned int)framing < 3 ? framing_names[framing] : "?";
}

const char *cfg_log_level_name(uint32_t level)
{
    return level <= RTE_LOG_DEBUG ? log_level_names[level] : "?";
}

const char *cfg_log_module(unsigned int i)
{
    return i < CFG_LOG_MODULES ? log_modules[i] : NULL;
}

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof(*c));

    c->port.mtu = 1500;
    c->port.rx_desc = 1024;
    c->port.tx_desc = 1024;
    c->port.dad_transmits = 1; /* RFC 4862 5.1 DupAddrDetectTransmits */

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
    c->dataplane.max_flows = 16384;

    snprintf(c->control.socket, sizeof(c->control.socket), "%s", "/run/h3dp/h3dpd.sock");
    c->control.uid = CFG_ID_NONE;
    c->control.gid = CFG_ID_NONE;
    c->control.max_clients = 16;
    c->control.max_line = 65536;
    c->control.idle_timeout_ms = 30000;

    c->tls.insecure = false;
    c->tls.resumption = true;

    c->h3.idle_timeout_ms = 30000;
    c->h3.handshake_timeout_ms = 10000;
    c->h3.keepalive_ms = 10000;
    c->h3.max_concurrent_streams = 100;
    c->h3.max_connections = 16384;
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
    c->upload.framing = CFG_FRAMING_NEWLINE; /* content_type empty: from the framing */
    c->upload.ingest_queue = 65536;
    c->upload.compress = CFG_COMPRESS_NONE;
    c->upload.generator_record_bytes = 1024;
    c->upload.generator_rate = 0;
    c->upload.early_data = true;

    c->dns.timeout_ms = 2000;
    c->dns.attempts = 2;

    c->log.level = RTE_LOG_INFO;
    c->log.timestamps = false;
}

#define AT(m) .off = offsetof(struct cfg, m), .size = sizeof(((struct cfg *)0)->m)

static void *member(struct cfg *c, const struct cfg_key *k)
{
    return (char *)c + k->off;
}

static const void *cmember(const struct cfg *c, const struct cfg_key *k)
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

static int parse_uint(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    uint64_t n;
    void *m = member(c, k);

    if (cfg_parse_u64(v, k->flags & CFG_K_SUFFIX, k->min, k->max, &n, why, whylen) < 0)
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

static void dump_uint(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
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
static int parse_pow2(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    uint16_t n;

    if (parse_uint(k, v, c, why, whylen) < 0)
        return -EINVAL;
    n = *(uint16_t *)member(c, k);
    if ((n & (n - 1)) != 0)
        return fail(why, whylen, "must be a power of two");
    return 0;
}

static int parse_bool(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    return cfg_parse_bool(v, (bool *)member(c, k), why, whylen);
}

static void dump_bool(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", *(const bool *)cmember(c, k) ? "true" : "false");
}

static int parse_enum(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    unsigned int i;

    if (cfg_parse_enum(v, k->names, &i, why, whylen) < 0)
        return -EINVAL;
    *(int *)member(c, k) = (int)i;
    return 0;
}

static void dump_enum(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", k->names[*(const int *)cmember(c, k)]);
}

static int parse_compress(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    return parse_enum(k, v, c, why, whylen);
}

/* Strings: no control characters but tab (they would end up in logs, headers, paths). */
static int parse_str(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                     size_t whylen)
{
    size_t n = strlen(v);

    if ((k->flags & CFG_K_NONEMPTY) && n == 0)
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

static void dump_str(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", (const char *)cmember(c, k));
}

/* A file the daemon reads at start: a regular file, readable now, of a sane size (its
 * content is parsed by its reader: h3dpd --check-config does that too). */
static int parse_readable(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    int fd;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0')
        return 0;
    fd = bfile_open(v, CFG_INPUT_FILE_MAX, NULL, why, whylen);
    if (fd < 0)
        return -EINVAL;
    close(fd);
    return 0;
}

/* A directory the daemon works in: it must exist now. */
static int parse_dir(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                     size_t whylen)
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

/* A directory that holds secrets (session tickets): a directory now, the daemon's user's,
 * which it can read, write and search, and that nobody else can write (the files in it are
 * 0600; a directory others may write would let them swap the daemon's files). */
static int parse_private_dir(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                             size_t whylen)
{
    struct stat st;

    if (parse_dir(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0')
        return 0;
    if (stat(v, &st) != 0)
        return fail(why, whylen, "cannot use: %s", strerror(errno));
    if (st.st_uid != geteuid())
        return fail(why, whylen, "owned by uid %u, not by the daemon's user (uid %u)",
                    (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(why, whylen, "writable by group or others (mode %04o; use 0700)",
                    (unsigned)(st.st_mode & 07777));
    if (access(v, R_OK | W_OK | X_OK) != 0)
        return fail(why, whylen, "cannot read, write and search it: %s", strerror(errno));
    return 0;
}

/* A file the daemon creates or appends to: its directory must exist now. */
static int parse_newfile(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
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

static int parse_socket(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                        size_t whylen)
{
    if (v[0] != '/')
        return fail(why, whylen, "must be an absolute path");
    if (strlen(v) >= CFG_SOCKET_PATH_MAX)
        return fail(why, whylen, "longer than %d characters (the limit of a Unix socket path)",
                    CFG_SOCKET_PATH_MAX - 1);
    return parse_str(k, v, c, why, whylen);
}

/*
 * Resolves a user or group name. The entry's strings need a buffer whose size
 * is not known in advance (a group lists its members): grow it on ERANGE.
 */
static int lookup_id(const char *name, bool is_user, uint32_t *id, char *why, size_t whylen)
{
    size_t len = 4096;
    int rc = ERANGE;

    while (rc == ERANGE && len <= (16u << 20)) {
        char *buf = malloc(len);

        if (buf == NULL)
            return fail(why, whylen, "out of memory");
        if (is_user) {
            struct passwd pw, *res = NULL;

            rc = getpwnam_r(name, &pw, buf, len, &res);
            if (rc == 0 && res != NULL)
                *id = pw.pw_uid;
            else if (rc == 0)
                rc = ENOENT;
        } else {
            struct group gr, *res = NULL;

            rc = getgrnam_r(name, &gr, buf, len, &res);
            if (rc == 0 && res != NULL)
                *id = gr.gr_gid;
            else if (rc == 0)
                rc = ENOENT;
        }
        free(buf);
        len *= 4;
    }
    if (rc == ENOENT)
        return fail(why, whylen, "no such %s", is_user ? "user" : "group");
    if (rc != 0)
        return fail(why, whylen, "cannot look up the %s: %s", is_user ? "user" : "group",
                    strerror(rc));
    return 0;
}

/* A user or group: a name that exists, or a numeric id. */
static int parse_id(const struct cfg_key *k, const char *v, struct cfg *c, char *why, size_t whylen,
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
    return lookup_id(v, is_user, id, why, whylen);
}

static int parse_user(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    return parse_id(k, v, c, why, whylen, true);
}

static int parse_group(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                       size_t whylen)
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

static int parse_eal_args(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    const char *w;

    if (parse_str(k, v, c, why, whylen) < 0)
        return -EINVAL;
    if (cfg_split_words(v, c->eal.argbuf, sizeof(c->eal.argbuf), &c->eal.argc, why, whylen) < 0)
        return -EINVAL;
    w = c->eal.argbuf;
    for (unsigned int i = 0; i < c->eal.argc; i++, w += strlen(w) + 1) {
        if (strcmp(w, "--") == 0)
            return fail(why, whylen, "'--' would end the EAL arguments: h3dpd takes no others");
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

static int parse_eal_lcores(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                            size_t whylen)
{
    if (cfg_parse_lcores(v, &c->eal.lcores, why, whylen) < 0)
        return -EINVAL;
    c->eal.main_lcore = (unsigned int)cfg_lcores_next(&c->eal.lcores, -1);
    return parse_str(k, v, c, why, whylen);
}

/* [eal] cpus: "0,1,1" or "0-1,1": the CPU of each lcore in turn (lcores may share one). */
static int parse_eal_cpus(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                          size_t whylen)
{
    const char *p = v;

    c->eal.n_cpus = 0;
    while (*p != '\0') {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi;
        if (end == p || lo >= CFG_LCORE_MAX)
            return fail(why, whylen, "expected CPU numbers 0..%d separated by ',' (ranges a-b)",
                        CFG_LCORE_MAX - 1);
        hi = lo;
        if (*end == '-') {
            p = end + 1;
            hi = strtoul(p, &end, 10);
            if (end == p || hi >= CFG_LCORE_MAX || hi < lo)
                return fail(why, whylen, "bad CPU range");
        }
        for (unsigned long cpu = lo; cpu <= hi; cpu++) {
            if (c->eal.n_cpus == CFG_LCORE_MAX)
                return fail(why, whylen, "more than %d CPUs", CFG_LCORE_MAX);
            c->eal.cpus[c->eal.n_cpus++] = (uint16_t)cpu;
        }
        if (*end == ',' && end[1] != '\0')
            end++;
        else if (*end != '\0')
            return fail(why, whylen, "expected CPU numbers separated by ','");
        p = end;
    }
    return parse_str(k, v, c, why, whylen);
}

static int parse_file_prefix(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
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

static int parse_device(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                        size_t whylen)
{
    if (cfg_parse_device(v, &c->port, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_ip_prefix(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                           size_t whylen)
{
    (void)k;
    if (cfg_parse_ipv4_prefix(v, &c->port.ip, &c->port.prefix_len, why, whylen) < 0)
        return -EINVAL;
    c->port.netmask = cfg_ipv4_netmask(c->port.prefix_len);
    return 0;
}

static void dump_ip_prefix(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    uint32_t a = rte_be_to_cpu_32(c->port.ip);

    (void)k;
    if (a == 0 && c->port.prefix_len == 0) {
        out[0] = '\0'; /* not set (io = kernel): left out, as it was */
        return;
    }
    snprintf(out, outlen, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff,
             c->port.prefix_len);
}

static int parse_ip6_prefix(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                            size_t whylen)
{
    (void)k;
    c->port.ip6_set = false;
    memset(&c->port.ip6, 0, sizeof(c->port.ip6));
    if (*v == '\0')
        return 0; /* optional: empty means no IPv6 */
    if (cfg_parse_ipv6_prefix(v, &c->port.ip6, &c->port.prefix6_len, why, whylen) < 0)
        return -EINVAL;
    c->port.ip6_set = true;
    return 0;
}

static void dump_ip6_prefix(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    char a[INET6_ADDRSTRLEN];

    (void)k;
    if (!c->port.ip6_set || inet_ntop(AF_INET6, &c->port.ip6, a, sizeof(a)) == NULL) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%s/%u", a, c->port.prefix6_len);
}

static int parse_ipv6(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
{
    struct in6_addr *a = member(c, k);

    memset(a, 0, sizeof(*a));
    if (*v == '\0')
        return 0; /* optional: empty means not set */
    return cfg_parse_ipv6(v, a, why, whylen);
}

static void dump_ipv6(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    const struct in6_addr *a = cmember(c, k);

    if (IN6_IS_ADDR_UNSPECIFIED(a) || inet_ntop(AF_INET6, a, out, (socklen_t)outlen) == NULL)
        out[0] = '\0';
}

static int parse_ipv4(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                      size_t whylen)
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

static void dump_ipv4(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    uint32_t a = rte_be_to_cpu_32(*(const rte_be32_t *)cmember(c, k));

    if (a == 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static int parse_mac(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                     size_t whylen)
{
    memset(member(c, k), 0, sizeof(struct rte_ether_addr));
    if (*v == '\0')
        return 0; /* optional: empty means not set */
    return cfg_parse_mac(v, member(c, k), why, whylen);
}

static void dump_mac(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    const struct rte_ether_addr *m = cmember(c, k);

    if (!cfg_mac_is_set(m)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", m->addr_bytes[0], m->addr_bytes[1],
             m->addr_bytes[2], m->addr_bytes[3], m->addr_bytes[4], m->addr_bytes[5]);
}

static int parse_workers(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                         size_t whylen)
{
    if (cfg_parse_lcores(v, &c->dataplane.workers, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_sni(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                     size_t whylen)
{
    /* RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName". */
    if (*v != '\0' && net_host_name_check(v, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

static int parse_url(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                     size_t whylen)
{
    if (*v == '\0')
        return parse_str(k, v, c, why, whylen);
    if (net_url_list_parse(v, 0, c->upload.urls, CFG_UPLOAD_URLS_MAX, &c->upload.n_urls, why,
                           whylen) < 0)
        return -EINVAL;
    for (unsigned int i = 0; i < c->upload.n_urls; i++) {
        const struct net_url *u = &c->upload.urls[i];
        const char *bad = u->kind == NET_HOST_NAME ? NULL : net_addr_not_unicast(&u->addr);
        if (bad)
            return fail(why, whylen, "%s is %s, not a collector", u->host, bad);
    }
    return parse_str(k, v, c, why, whylen);
}

/* [dns] servers: "IP[:PORT]" or "[IPv6]:PORT" separated by commas. */
static int parse_dns_servers(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                             size_t whylen)
{
    if (*v != '\0' && cfg_parse_servers(v, c->dns.servers, c->dns.ports, CFG_DNS_SERVERS_MAX,
                                         &c->dns.n_servers, why, whylen) < 0)
        return -EINVAL;
    return parse_str(k, v, c, why, whylen);
}

/* A media type "type/subtype[; parameters]" (RFC 9110 section 8.3.1). */
static int parse_content_type(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                              size_t whylen)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t t = strspn(v, tchar);

    if (*v == '\0') /* the framing's default */
        return parse_str(k, v, c, why, whylen);
    if (t == 0 || v[t] != '/' || strspn(v + t + 1, tchar) == 0)
        return fail(why, whylen, "not a media type (type/subtype)");
    return parse_str(k, v, c, why, whylen);
}

/* An rte_log level by name; a module's may be empty (the [log] level applies). */
static int parse_log_level(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                           size_t whylen)
{
    unsigned int i;

    if (*v == '\0') {
        if (k->flags & CFG_K_NONEMPTY)
            return fail(why, whylen, "must not be empty");
        *(uint32_t *)member(c, k) = 0;
        return 0;
    }
    /* names[0] is "" (not set): look from "emerg" on so the message lists real levels. */
    if (cfg_parse_enum(v, log_level_names + 1, &i, why, whylen) < 0)
        return -EINVAL;
    *(uint32_t *)member(c, k) = i + 1;
    return 0;
}

static void dump_log_level(const struct cfg_key *k, const struct cfg *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", cfg_log_level_name(*(const uint32_t *)cmember(c, k)));
}

/* [metrics] listen: "IPv4:PORT" or "[IPv6]:PORT"; empty: no endpoint. */
static int parse_listen(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                        size_t whylen)
{
    if (*v != '\0' &&
        cfg_parse_listen(v, &c->metrics.addr, &c->metrics.port, why, whylen) < 0)
        return -EINVAL;
    if (*v == '\0') {
        memset(&c->metrics.addr, 0, sizeof(c->metrics.addr));
        c->metrics.port = 0;
    }
    return parse_str(k, v, c, why, whylen);
}

/*
 * Table rows: U unsigned number, SZ size (K/M/G), B boolean, E enum,
 * S string with its own parser, X anything with its own parser and dumper.
 */
/* clang-format off */
#define ROW(sec, key, m, p, d, lo, hi, nm, fl)                                                     \
    { .section = sec, .name = key, .parse = p, .dump = d, AT(m), .min = lo, .max = hi,             \
      .names = nm, .flags = fl }
#define U(sec, key, m, lo, hi)    ROW(sec, key, m, parse_uint, dump_uint, lo, hi, NULL, 0)
#define SZ(sec, key, m, lo, hi)   ROW(sec, key, m, parse_uint, dump_uint, lo, hi, NULL, CFG_K_SUFFIX)
#define P2(sec, key, m, lo, hi)   ROW(sec, key, m, parse_pow2, dump_uint, lo, hi, NULL, 0)
#define B(sec, key, m)            ROW(sec, key, m, parse_bool, dump_bool, 0, 0, NULL, 0)
#define E(sec, key, m, nm, p)     ROW(sec, key, m, p, dump_enum, 0, 0, nm, 0)
#define S(sec, key, m, p, fl)     ROW(sec, key, m, p, dump_str, 0, 0, NULL, fl)
#define X(sec, key, m, p, d, fl)  ROW(sec, key, m, p, d, 0, 0, NULL, fl)
/* clang-format on */

const char *const cfg_sections[] = {"eal", "port",   "dataplane", "control", "tls",
                                    "h3",  "upload", "dns",       "log",     "metrics", NULL};

const struct cfg_key cfg_keys[] = {
    S("eal", "args", eal.args, parse_eal_args, 0),
    S("eal", "lcores", eal.lcores_str, parse_eal_lcores, CFG_K_REQUIRED),
    S("eal", "file_prefix", eal.file_prefix, parse_file_prefix, 0),
    S("eal", "cpus", eal.cpus_str, parse_eal_cpus, 0),

    S("port", "device", port.device, parse_device, CFG_K_REQUIRED | CFG_K_DPDK),
    X("port", "ip", port.ip, parse_ip_prefix, dump_ip_prefix, CFG_K_REQUIRED | CFG_K_DPDK),
    X("port", "gateway", port.gateway, parse_ipv4, dump_ipv4, 0),
    X("port", "gateway_mac", port.gateway_mac, parse_mac, dump_mac, 0),
    X("port", "ip6", port.ip6, parse_ip6_prefix, dump_ip6_prefix, 0),
    X("port", "gateway6", port.gateway6, parse_ipv6, dump_ipv6, 0),
    X("port", "gateway6_mac", port.gateway6_mac, parse_mac, dump_mac, 0),
    B("port", "accept_ra", port.accept_ra),
    U("port", "dad_transmits", port.dad_transmits, 0, 10),
    X("port", "mac", port.mac, parse_mac, dump_mac, 0),
    U("port", "mtu", port.mtu, MTU_MIN, MTU_MAX),
    P2("port", "rx_desc", port.rx_desc, 64, 4096),
    P2("port", "tx_desc", port.tx_desc, 64, 4096),

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
    U("dataplane", "max_flows", dataplane.max_flows, 64, 1u << 24),

    S("control", "socket", control.socket, parse_socket, CFG_K_NONEMPTY),
    S("control", "user", control.user, parse_user, 0),
    S("control", "group", control.group, parse_group, 0),
    U("control", "max_clients", control.max_clients, 1, 4096),
    SZ("control", "max_line", control.max_line, 256, 16u << 20),
    U("control", "idle_timeout_ms", control.idle_timeout_ms, 0, 3600000),

    S("tls", "ca_file", tls.ca_file, parse_readable, 0),
    B("tls", "insecure", tls.insecure),
    S("tls", "cert_file", tls.cert_file, parse_readable, 0),
    S("tls", "key_file", tls.key_file, parse_readable, 0),
    S("tls", "keylog", tls.keylog, parse_newfile, 0),
    S("tls", "sni", tls.sni, parse_sni, 0),
    B("tls", "resumption", tls.resumption),
    S("tls", "session_dir", tls.session_dir, parse_private_dir, 0),

    U("h3", "idle_timeout_ms", h3.idle_timeout_ms, 0, 3600000),
    U("h3", "handshake_timeout_ms", h3.handshake_timeout_ms, 100, 600000),
    U("h3", "keepalive_ms", h3.keepalive_ms, 0, 3600000),
    U("h3", "max_concurrent_streams", h3.max_concurrent_streams, 1, 1000000),
    U("h3", "max_connections", h3.max_connections, 1, 1000000),
    U("h3", "shutdown_timeout_ms", h3.shutdown_timeout_ms, 0, 3600000),
    S("h3", "qlog_dir", h3.qlog_dir, parse_dir, 0),
    SZ("h3", "initial_max_data", h3.initial_max_data, 1024, UINT64_C(1) << 40),
    SZ("h3", "initial_max_stream_data", h3.initial_max_stream_data, 1024, UINT64_C(1) << 40),

    S("upload", "url", upload.url_str, parse_url, 0),
    S("upload", "headers_file", upload.headers_file, parse_readable, 0),
    U("upload", "connections", upload.connections, 1, 64), /* UP_MAX_CONNS */
    U("upload", "streams", upload.streams, 1, 100000),
    SZ("upload", "batch_bytes", upload.batch_bytes, 1024, 64u << 20),
    U("upload", "linger_ms", upload.linger_ms, 0, 60000),
    U("upload", "retry_initial_ms", upload.retry_initial_ms, 1, 3600000),
    U("upload", "retry_max_ms", upload.retry_max_ms, 1, 3600000),
    U("upload", "retry_limit", upload.retry_limit, 0, 1000000),
    S("upload", "spool_dir", upload.spool_dir, parse_dir, 0),
    S("upload", "ingest_socket", upload.ingest_socket, parse_socket, 0),
    U("upload", "ingest_queue", upload.ingest_queue, 1, 16u << 20),
    S("upload", "content_type", upload.content_type, parse_content_type, 0),
    E("upload", "framing", upload.framing, framing_names, parse_enum),
    E("upload", "compress", upload.compress, compress_names, parse_compress),
    U("upload", "compress_level", upload.compress_level, 0, 19),
    SZ("upload", "generator_record_bytes", upload.generator_record_bytes, 1, 1u << 20),
    U("upload", "generator_rate", upload.generator_rate, 0, 100000000),
    B("upload", "early_data", upload.early_data),
    S("dns", "servers", dns.servers_str, parse_dns_servers, 0),
    U("dns", "timeout_ms", dns.timeout_ms, 100, 60000),
    U("dns", "attempts", dns.attempts, 1, 5), /* net_resolv's bound */

    X("log", "level", log.level, parse_log_level, dump_log_level, CFG_K_NONEMPTY),
    B("log", "timestamps", log.timestamps),
    /* One per module, in cfg_log_module() order. */
    X("log", "dataplane", log.modules[0], parse_log_level, dump_log_level, 0),
    X("log", "service", log.modules[1], parse_log_level, dump_log_level, 0),
    X("log", "upload", log.modules[2], parse_log_level, dump_log_level, 0),
    X("log", "control", log.modules[3], parse_log_level, dump_log_level, 0),
    X("log", "daemon", log.modules[4], parse_log_level, dump_log_level, 0),

    S("metrics", "listen", metrics.listen_str, parse_listen, 0),
};

const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);
const size_t cfg_nsections = sizeof(cfg_sections) / sizeof(cfg_sections[0]) - 1;

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= CFG_NKEYS_MAX, "raise CFG_NKEYS_MAX");
_Static_assert(sizeof(cfg_sections) / sizeof(cfg_sections[0]) - 1 <= CFG_NSECTIONS_MAX,
               "raise CFG_NSECTIONS_MAX");

int cfg_key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

int cfg_section_find(const char *name)
{
    for (size_t i = 0; i < cfg_nsections; i++) {
        if (strcmp(cfg_sections[i], name) == 0)
            return (int)i;
    }
    return -1;
}
