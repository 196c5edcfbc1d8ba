/* SPDX-License-Identifier: MIT */
/*
 * cfg: the daemon's configuration.
 *
 * An INI file is read with DPDK's rte_cfgfile into a validated, fixed-size
 * struct cfg; the rte_cfgfile handle is closed before cfg_load() returns, so
 * a loaded struct owns no heap memory and can be copied with memcpy().
 * Every key, its type, range and default is documented in docs/CONFIG.md.
 *
 * Conventions of the struct:
 *  - IPv4 addresses are in network byte order (rte_be32_t), 0 = not set.
 *  - Optional MAC addresses are all-zero when not set (cfg_mac_is_set()).
 *  - Optional strings are empty when not set.
 *  - Durations carry their unit in the member name (_ms, _us).
 */
#ifndef H3DP_CFG_H
#define H3DP_CFG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "net_url.h"

/* Longest value rte_cfgfile keeps (CFG_VALUE_LEN - 1), plus the NUL. */
#define CFG_STR_MAX 256
/* Highest lcore id + 1 a list may name; equals this DPDK build's RTE_MAX_LCORE. */
#define CFG_LCORE_MAX 128
/* Upper bound of the EAL argv built by cfg_eal_argv(), including argv[0]. */
#define CFG_EAL_ARGV_MAX 160
/* A Unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL). */
#define CFG_SOCKET_PATH_MAX 108
/* "not configured" value of cfg_control.uid / .gid, as chown(2) uses it. */
#define CFG_ID_NONE ((uint32_t)-1)

/* A set of lcore ids, 0 .. CFG_LCORE_MAX - 1. */
struct cfg_lcores {
    uint64_t bits[CFG_LCORE_MAX / 64];
};

enum cfg_io {
    CFG_IO_DPDK = 0, /* DPDK poll-mode dataplane (production) */
    CFG_IO_KERNEL,   /* kernel UDP sockets (development, baseline) */
};

enum cfg_idle {
    CFG_IDLE_ADAPTIVE = 0, /* spin, then pause, then sleep when idle */
    CFG_IDLE_BUSY,         /* always spin */
    CFG_IDLE_INTERRUPT,    /* spin, then pause, then sleep on RX interrupts */
};

enum cfg_compress {
    CFG_COMPRESS_NONE = 0,
    CFG_COMPRESS_ZSTD,
    CFG_COMPRESS_GZIP,
};

/* How records are delimited in a request body (docs/UPLOAD.md). */
enum cfg_framing {
    CFG_FRAMING_NEWLINE = 0, /* one record per line (NDJSON) */
    CFG_FRAMING_LENGTH,      /* 4-byte big-endian length, then the record */
    CFG_FRAMING_NONE,        /* back to back (formats whose concatenation is valid) */
};

enum cfg_device_kind {
    CFG_DEVICE_PCI = 0, /* device_name is a full PCI address "0000:03:00.0" */
    CFG_DEVICE_VDEV,    /* device_name is a vdev name "net_tap0" */
};

struct cfg_eal {
    char args[CFG_STR_MAX];        /* [eal] args as written */
    char lcores_str[CFG_STR_MAX];  /* [eal] lcores as written; passed to EAL -l */
    struct cfg_lcores lcores;      /* the same, as a set */
    unsigned int main_lcore;       /* lowest id in lcores: EAL's default main lcore */
    char file_prefix[CFG_STR_MAX]; /* empty: EAL's default prefix */
    char cpus_str[CFG_STR_MAX];    /* [eal] cpus as written; empty: lcore N on CPU N */
    uint16_t cpus[CFG_LCORE_MAX];  /* CPU of each lcore, in lcore order */
    unsigned int n_cpus;           /* 0: no mapping (EAL -l), else --lcores L@C,... */
    /* args split into words (quotes removed), NUL-separated in argbuf. */
    char argbuf[CFG_STR_MAX];
    unsigned int argc;
};

struct cfg_port {
    char device[CFG_STR_MAX];      /* as written: PCI address or vdev spec */
    char device_name[CFG_STR_MAX]; /* the ethdev name: full PCI address or vdev name */
    char device_args[CFG_STR_MAX]; /* devargs after the first ',' (may be empty) */
    enum cfg_device_kind device_kind;
    /*
     * True when a --vdev in [eal] args creates device_name. When false for a
     * vdev, the dataplane hot-plugs `device` itself (rte_dev_probe).
     */
    bool device_in_eal_args;
    rte_be32_t ip;                     /* our address */
    uint8_t prefix_len;                /* 1..32 */
    rte_be32_t netmask;                /* derived from prefix_len */
    rte_be32_t gateway;                /* 0: none (only on-link peers reachable) */
    struct rte_ether_addr gateway_mac; /* all-zero: resolve the gateway by ARP */
    /* IPv6: */
    bool ip6_set;             /* [port] ip6 given: IPv6 on the port */
    struct in6_addr ip6;      /* our global IPv6 address */
    uint8_t prefix6_len;      /* 1..128 */
    struct in6_addr gateway6; /* all-zero: none (link-local or in the prefix) */
    /* all-zero: resolve gateway6 by Neighbor Discovery */
    struct rte_ether_addr gateway6_mac;
    bool accept_ra;            /* default router from Router Advertisements */
    uint32_t dad_transmits;    /* duplicate address detection: 0..10 solicitations */
    struct rte_ether_addr mac; /* all-zero: the device's own MAC */
    uint16_t mtu;
    uint16_t rx_desc;
    uint16_t tx_desc;
};

struct cfg_dataplane {
    enum cfg_io io;
    char workers_str[CFG_STR_MAX]; /* as written; empty when defaulted */
    struct cfg_lcores workers;     /* subset of eal.lcores without eal.main_lcore */
    uint16_t burst;
    enum cfg_idle idle;
    uint32_t idle_spin_polls;
    uint32_t idle_sleep_us;
    uint32_t mempool_size;
    uint32_t mempool_cache;
    uint32_t tx_drain_us;
    uint16_t udp_echo_port; /* 0: echo service off */
    uint32_t arp_timeout_ms;
    uint32_t arp_retries;
    uint32_t arp_queue;
    uint32_t max_flows; /* UDP flows of the workers, all lcores together */
};

struct cfg_control {
    char socket[CFG_SOCKET_PATH_MAX];
    char user[CFG_STR_MAX];  /* as written; empty: not set */
    char group[CFG_STR_MAX]; /* as written; empty: not set */
    uint32_t uid;            /* resolved user; CFG_ID_NONE when not set */
    uint32_t gid;            /* resolved group; CFG_ID_NONE when not set */
    uint32_t max_clients;
    uint32_t max_line;
    uint32_t idle_timeout_ms; /* a client with no request in progress is dropped; 0: never */
};

struct cfg_tls {
    char ca_file[CFG_STR_MAX]; /* empty: the system trust store */
    bool insecure;             /* skip server certificate verification (labs only) */
    char cert_file[CFG_STR_MAX]; /* PEM client certificate (mTLS); empty: none */
    char key_file[CFG_STR_MAX];  /* its private key; given with cert_file */
    char keylog[CFG_STR_MAX];  /* empty: no SSLKEYLOGFILE-format key log */
    char sni[CFG_STR_MAX];     /* empty: the URL's host name */
    bool resumption;           /* keep session tickets: resumed handshakes and 0-RTT */
    char session_dir[CFG_STR_MAX]; /* empty: tickets in memory only (lost at restart) */
};

struct cfg_h3 {
    uint32_t idle_timeout_ms; /* 0: no idle timeout (RFC 9000 10.1) */
    uint32_t handshake_timeout_ms;
    uint32_t keepalive_ms; /* 0: no keep-alive */
    uint32_t max_concurrent_streams;
    uint32_t max_connections; /* open at once, all workers together */
    uint32_t shutdown_timeout_ms; /* 0: graceful shutdown waits without deadline */
    char qlog_dir[CFG_STR_MAX];   /* empty: no qlog */
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data;
};

#define CFG_UPLOAD_URLS_MAX 8 /* collectors in the failover list */

struct cfg_upload {
    char url_str[CFG_STR_MAX]; /* as written; empty: upload not configured */
    struct net_url urls[CFG_UPLOAD_URLS_MAX]; /* the failover list, parsed (net/net_url.h) */
    unsigned int n_urls;
    char headers_file[CFG_STR_MAX]; /* empty: no operator headers */
    uint32_t connections;
    uint32_t streams; /* concurrent requests per connection */
    uint32_t batch_bytes;
    uint32_t linger_ms;
    uint32_t retry_initial_ms;
    uint32_t retry_max_ms;
    uint32_t retry_limit;        /* 0: retry without limit */
    char spool_dir[CFG_STR_MAX]; /* empty: no spool directory */
    char ingest_socket[CFG_SOCKET_PATH_MAX]; /* empty: no ingest socket */
    uint32_t ingest_queue;       /* records held in memory before producers get EAGAIN */
    char content_type[CFG_STR_MAX]; /* empty: from the framing */
    enum cfg_framing framing;
    enum cfg_compress compress;
    uint32_t compress_level;         /* 0: the codec's fast default */
    uint32_t generator_record_bytes;
    uint64_t generator_rate; /* records per second; 0: generator off */
    bool early_data;         /* uploads with a memory body may go in 0-RTT */
};

#define CFG_DNS_SERVERS_MAX 4

/* [dns]: the resolver of collector names. */
struct cfg_dns {
    char servers_str[CFG_STR_MAX]; /* as written; empty: /etc/resolv.conf's nameservers */
    struct net_addr servers[CFG_DNS_SERVERS_MAX];
    uint16_t ports[CFG_DNS_SERVERS_MAX];
    unsigned int n_servers;
    uint32_t timeout_ms;           /* per attempt */
    uint32_t attempts;             /* rounds over the servers */
};

/* [log]: rte_log levels (RTE_LOG_EMERG 1 .. RTE_LOG_DEBUG 8) and the line format. */
#define CFG_LOG_MODULES 5 /* dataplane, service, upload, control, daemon: cfg_log_module() */

struct cfg_log {
    uint32_t level;                    /* every h3dp module without a level of its own */
    uint32_t modules[CFG_LOG_MODULES]; /* 0: |level| */
    bool timestamps;                   /* each line starts with the UTC time */
};

/* [metrics]: the Prometheus endpoint. */
struct cfg_metrics {
    char listen_str[CFG_STR_MAX]; /* as written; empty: no endpoint */
    struct net_addr addr;         /* an IP address or the unspecified one (all) */
    uint16_t port;
};

struct cfg {
    struct cfg_eal eal;
    struct cfg_port port;
    struct cfg_dataplane dataplane;
    struct cfg_control control;
    struct cfg_tls tls;
    struct cfg_h3 h3;
    struct cfg_upload upload;
    struct cfg_dns dns;
    struct cfg_log log;
    struct cfg_metrics metrics;
};

/* The EAL argument vector built by cfg_eal_argv(); owns its strings. */
struct cfg_argv {
    int argc;
    char *argv[CFG_EAL_ARGV_MAX + 1]; /* NULL-terminated */
    char buf[4096];                   /* argv[0] (up to ~3 KiB) and the [eal] words */
};

/*
 * cfg_defaults fills |c| with the default of every key (docs/CONFIG.md).
 * Keys without a default (eal.lcores; port.device and port.ip, needed with
 * io = dpdk) are left empty/0; cfg_load() requires them. All padding is zeroed so two structs holding
 * the same configuration compare equal with memcmp().
 */
void cfg_defaults(struct cfg *c);

/* The largest configuration file cfg_load() reads (bytes); a larger one is refused unread. */
#define CFG_FILE_MAX (1024 * 1024)
/* The largest file a key may name for the daemon to read (a CA bundle, a certificate, a key,
 * the headers file): checked at load, each reader keeps its own, maybe smaller, limit. */
#define CFG_INPUT_FILE_MAX (4 * 1024 * 1024)

/*
 * cfg_load reads and validates the INI file |path| into |c|. |c| is set to
 * the defaults first, then overridden by the file. On error, |err| (of
 * |errlen| bytes, may be 0) receives ONE line without a trailing newline:
 *
 *   FILE:LINE: [section] key: what is wrong (got 'value')
 *
 * with the parts that do not apply left out (e.g. "FILE: [port] ip: required
 * key is missing", "FILE:7: line is not '[section]' or 'key = value'").
 *
 * |path| must name a regular file of at most CFG_FILE_MAX bytes: a FIFO,
 * device, directory or larger file is refused at once, unread.
 *
 * Besides the text, it looks at the system where a key names something
 * that must exist when the daemon starts: user and group names, the files
 * it reads (ca_file, cert_file, key_file, headers_file: regular, readable,
 * not over CFG_INPUT_FILE_MAX; their content is parsed by their users, see
 * h3dpd --check-config), existing qlog/spool directories and the key log's
 * directory.
 * Reentrant (no global state); meant for start-up, not the hot path.
 *
 * Returns 0 on success, -1 on any error (unreadable file, syntax, unknown
 * section or key, duplicate section or key, bad value, missing key, a
 * cross-key rule broken). |c| is unspecified after an error.
 */
int cfg_load(const char *path, struct cfg *c, char *err, size_t errlen);

/*
 * cfg_eal_argv builds the EAL command line from [eal] into |out|:
 *   PROG -l LCORES [--file-prefix PREFIX] ARGS...
 * Nothing else is added. |prog| becomes argv[0]. |out| must stay alive as
 * long as EAL may use its strings (until rte_eal_cleanup()).
 *
 * Returns argc (>= 3), or -ENAMETOOLONG if |prog| does not fit.
 */
int cfg_eal_argv(const struct cfg *c, const char *prog, struct cfg_argv *out);

/*
 * cfg_dump writes |c| to |f| as an INI file that cfg_load() reads back into
 * an identical struct. Returns 0, or -EIO if writing failed.
 */
int cfg_dump(const struct cfg *c, FILE *f);

/* Names of enum values as they are written in the file ("?" if out of range). */
/* The port's own address in |family| (AF_INET: [port] ip; AF_INET6: [port] ip6), to refuse
 * as a peer; family 0 when the port has none in that family. */
struct net_addr cfg_port_addr(const struct cfg *c, sa_family_t family);

const char *cfg_io_name(enum cfg_io io);
const char *cfg_idle_name(enum cfg_idle idle);
const char *cfg_compress_name(enum cfg_compress compress);
const char *cfg_framing_name(enum cfg_framing framing);

/* The name of an rte_log level as [log] writes it ("warning"), "" for 0, "?" out of range. */
const char *cfg_log_level_name(uint32_t level);

/* The module of [log] key |i| (0..CFG_LOG_MODULES-1): "dataplane", "service", "upload",
 * "control", "daemon" — its rte_log type is "user.h3dp." followed by it. NULL beyond. */
const char *cfg_log_module(unsigned int i);

/*
 * cfg_diff calls |fn| for every key whose value differs between |a| and |b| (compared as
 * cfg_dump writes them: "" for an optional key left unset), in the file's order, with the
 * two values as text. Returns how many differ. For a reload: what changed in the file.
 */
typedef void cfg_diff_fn(void *ctx, const char *section, const char *key, const char *old_value,
                         const char *new_value);
unsigned int cfg_diff(const struct cfg *a, const struct cfg *b, cfg_diff_fn *fn, void *ctx);

/* cfg_lcores_has returns whether |lcore| is in |s|. */
bool cfg_lcores_has(const struct cfg_lcores *s, unsigned int lcore);
/* cfg_lcores_count returns the number of lcores in |s|. */
unsigned int cfg_lcores_count(const struct cfg_lcores *s);
/*
 * cfg_lcores_next returns the lowest lcore in |s| greater than |prev|, or -1.
 * Iterate with: for (int l = cfg_lcores_next(s, -1); l >= 0; l = cfg_lcores_next(s, l))
 */
int cfg_lcores_next(const struct cfg_lcores *s, int prev);

/* cfg_mac_is_set returns whether an optional MAC address was configured. */
bool cfg_mac_is_set(const struct rte_ether_addr *mac);

#endif /* H3DP_CFG_H */
