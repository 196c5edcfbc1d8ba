/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of config/: the shipped h3dpd.conf, every kind of error with its
 * exact message, defaults, the dump round trip and the EAL argv.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "cfg.h"
#include "cfg_keys.h"

#ifndef H3DP_CONFIG_DOC
#error "H3DP_CONFIG_DOC must name docs/CONFIG.md"
#endif
#ifndef H3DP_DEFAULT_CONFIG
#error "H3DP_DEFAULT_CONFIG must name the built copy of config/h3dpd.conf"
#endif

/* A scratch directory per test, removed in teardown. */
struct fixture {
    char dir[64];
    char path[128];
    char path2[128];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/h3dp-cfg-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/t.conf", fx->dir);
    snprintf(fx->path2, sizeof(fx->path2), "%s/dump.conf", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char ca[160];

    snprintf(ca, sizeof(ca), "%s/ca.pem", fx->dir);
    unlink(fx->path);
    unlink(fx->path2);
    unlink(ca);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static rte_be32_t ip4(const char *s)
{
    struct in_addr a;

    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static void set_lcores(struct cfg_lcores *s, unsigned int lo, unsigned int hi)
{
    for (unsigned int l = lo; l <= hi; l++)
        s->bits[l / 64] |= UINT64_C(1) << (l % 64);
}

/* The smallest valid file: the required keys only (5 lines). */
#define BASE "[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n"

/* ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
    struct cfg a, b;

    (void)state;
    memset(&a, 0xa5, sizeof(a));
    memset(&b, 0x5a, sizeof(b));
    cfg_defaults(&a);
    cfg_defaults(&b);
    /* Padding is zeroed: equal configurations compare equal with memcmp. */
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(a.port.mtu, 1500);
    assert_int_equal(a.port.rx_desc, 1024);
    assert_int_equal(a.dataplane.burst, 32);
    assert_int_equal(a.dataplane.idle, CFG_IDLE_ADAPTIVE);
    assert_int_equal(a.dataplane.io, CFG_IO_DPDK);
    assert_int_equal(a.dataplane.mempool_cache, 256);
    assert_int_equal(a.dataplane.max_flows, 16384); /* 10,000 connections and more */
    assert_int_equal(a.h3.max_connections, 16384);
    assert_string_equal(a.control.socket, "/run/h3dp/h3dpd.sock");
    assert_int_equal(a.control.uid, CFG_ID_NONE);
    assert_int_equal(a.control.gid, CFG_ID_NONE);
    assert_false(a.tls.insecure);
    assert_string_equal(a.tls.ca_file, "");
    assert_true(a.tls.resumption);
    assert_string_equal(a.tls.session_dir, ""); /* tickets in memory only */
    assert_true(a.upload.early_data);
    assert_int_equal(a.upload.compress, CFG_COMPRESS_NONE);
    assert_string_equal(a.upload.content_type, ""); /* from the framing */
    assert_int_equal(a.upload.framing, CFG_FRAMING_NEWLINE);
    assert_int_equal(a.upload.compress_level, 0);
    assert_string_equal(cfg_framing_name(CFG_FRAMING_LENGTH), "length");
    assert_string_equal(cfg_compress_name(CFG_COMPRESS_GZIP), "gzip");
    assert_string_equal(cfg_idle_name(CFG_IDLE_BUSY), "busy");
    assert_string_equal(cfg_idle_name(CFG_IDLE_INTERRUPT), "interrupt");
    assert_string_equal(cfg_io_name(CFG_IO_KERNEL), "kernel");
    assert_string_equal(cfg_compress_name(CFG_COMPRESS_ZSTD), "zstd");
    assert_string_equal(cfg_idle_name((enum cfg_idle)7), "?");
    assert_int_equal(a.log.level, RTE_LOG_INFO);
    assert_false(a.log.timestamps);
    for (unsigned int i = 0; i < CFG_LOG_MODULES; i++)
        assert_int_equal(a.log.modules[i], 0); /* [log] level applies */
    assert_string_equal(a.metrics.listen_str, ""); /* no endpoint */
    assert_string_equal(cfg_log_level_name(RTE_LOG_WARNING), "warning");
    assert_string_equal(cfg_log_level_name(0), "");
    assert_string_equal(cfg_log_level_name(9), "?");
    assert_string_equal(cfg_log_module(2), "upload");
    assert_null(cfg_log_module(CFG_LOG_MODULES));
}

/* The minimal file: every optional key takes its default, workers = lcores - main. */
static void test_minimal(void **state)
{
    struct fixture *fx = *state;
    struct cfg c, d;
    char err[512];

    write_file(fx->path, BASE);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    cfg_defaults(&d);
    assert_int_equal(c.port.mtu, d.port.mtu);
    assert_int_equal(c.eal.main_lcore, 0);
    assert_int_equal(cfg_lcores_count(&c.dataplane.workers), 1);
    assert_true(cfg_lcores_has(&c.dataplane.workers, 1));
    assert_false(cfg_lcores_has(&c.dataplane.workers, 0));
    assert_int_equal(c.port.device_kind, CFG_DEVICE_VDEV);
    assert_string_equal(c.port.device_name, "net_tap0");
    assert_false(c.port.device_in_eal_args);
    assert_int_equal(c.port.gateway, 0);
    assert_false(cfg_mac_is_set(&c.port.gateway_mac));
    assert_false(c.port.ip6_set);
    assert_false(c.port.accept_ra);
    assert_int_equal(c.port.dad_transmits, 1);
    assert_int_equal(c.eal.argc, 0);
}

/* The shipped file loads into exactly the expected struct. */
static void test_shipped(void **state)
{
    struct cfg c, want;
    char err[512];

    (void)state;
    assert_int_equal(cfg_load(H3DP_DEFAULT_CONFIG, &c, err, sizeof(err)), 0);

    cfg_defaults(&want);
    snprintf(want.eal.args, sizeof(want.eal.args), "%s",
             "--no-huge -m 512 --no-pci --vdev=net_tap0,iface=h3dp0");
    memcpy(want.eal.argbuf,
           "--no-huge\0-m\0"
           "512\0--no-pci\0--vdev=net_tap0,iface=h3dp0",
           sizeof("--no-huge\0-m\0"
                  "512\0--no-pci\0--vdev=net_tap0,iface=h3dp0"));
    want.eal.argc = 5;
    snprintf(want.eal.lcores_str, sizeof(want.eal.lcores_str), "0-1");
    set_lcores(&want.eal.lcores, 0, 1);
    want.eal.main_lcore = 0;
    snprintf(want.eal.file_prefix, sizeof(want.eal.file_prefix), "h3dp");

    snprintf(want.port.device, sizeof(want.port.device), "net_tap0");
    snprintf(want.port.device_name, sizeof(want.port.device_name), "net_tap0");
    want.port.device_kind = CFG_DEVICE_VDEV;
    want.port.device_in_eal_args = true;
    want.port.ip = ip4("198.18.0.2");
    want.port.prefix_len = 24;
    want.port.netmask = ip4("255.255.255.0");
    want.port.gateway = ip4("198.18.0.1");

    snprintf(want.dataplane.workers_str, sizeof(want.dataplane.workers_str), "1");
    set_lcores(&want.dataplane.workers, 1, 1);
    want.dataplane.udp_echo_port = 9000;

    snprintf(want.upload.url_str, sizeof(want.upload.url_str), "%s",
             "https://198.18.0.1:4433/telemetry");
    assert_int_equal(net_url_list_parse(want.upload.url_str, 0, want.upload.urls,
                                        CFG_UPLOAD_URLS_MAX, &want.upload.n_urls, NULL, 0),
                     0);
    assert_int_equal(want.upload.n_urls, 1);
    assert_int_equal(want.upload.urls[0].kind, NET_HOST_IPV4);
    assert_string_equal(want.upload.urls[0].host, "198.18.0.1");
    assert_int_equal(want.upload.urls[0].port, 4433);
    assert_string_equal(want.upload.urls[0].path, "/telemetry");

    /* Field by field first, for a readable failure, then the whole struct. */
    assert_string_equal(c.eal.args, want.eal.args);
    assert_int_equal(c.eal.argc, want.eal.argc);
    assert_int_equal(c.port.ip, want.port.ip);
    assert_int_equal(c.port.gateway, want.port.gateway);
    assert_int_equal(c.dataplane.udp_echo_port, 9000);
    assert_int_equal(c.h3.initial_max_data, 16u << 20);
    assert_int_equal(c.upload.batch_bytes, 256u << 10);
    assert_int_equal(c.control.max_line, 65536);
    assert_memory_equal(&c, &want, sizeof(c));
}

/* cfg_dump() writes a file that loads back into an identical struct. */
static void dump_reload(struct fixture *fx, const struct cfg *c)
{
    struct cfg again;
    char err[512];
    FILE *f = fopen(fx->path2, "w");

    assert_non_null(f);
    assert_int_equal(cfg_dump(c, f), 0);
    assert_int_equal(fclose(f), 0);
    if (cfg_load(fx->path2, &again, err, sizeof(err)) != 0)
        fail_msg("reload of the dump failed: %s", err);
    assert_memory_equal(c, &again, sizeof(again));
}

static void test_dump_roundtrip(void **state)
{
    struct fixture *fx = *state;
    struct cfg c;
    char err[512];
    char ca[160];
    char text[2048];

    assert_int_equal(cfg_load(H3DP_DEFAULT_CONFIG, &c, err, sizeof(err)), 0);
    dump_reload(fx, &c);

    /* Every optional key set, odd characters included. */
    snprintf(ca, sizeof(ca), "%s/ca.pem", fx->dir);
    write_file(ca, "not really a certificate\n");
    snprintf(text, sizeof(text),
             "[eal]\n"
             "args = -a 0000:03:00.0 \"--log-level=lib.eal:debug\" --vdev=\"net_null0,x=a\\;b\"\n"
             "lcores = 2,4-6\n"
             "[port]\n"
             "device = 03:00.0\n"
             "ip = 10.1.2.3/31\n"
             "gateway = 10.1.2.2\n"
             "gateway_mac = 02:00:00:AA:bb:01\n"
             "ip6 = FD00:0:0:1::3/56\n"
             "gateway6 = fe80::1\n"
             "gateway6_mac = 02:00:00:00:00:61\n"
             "accept_ra = on\n"
             "dad_transmits = 3\n"
             "mac = 02:00:00:00:00:02\n"
             "mtu = 9000\n"
             "rx_desc = 4096\n"
             "tx_desc = 64\n"
             "[dataplane]\n"
             "io = kernel\n"
             "workers = 5-6\n"
             "idle = busy\n"
             "mempool_size = 0x10000\n"
             "mempool_cache = 512\n"
             "[control]\n"
             "socket = /tmp/x.sock\n"
             "user = root\n"
             "group = 0\n"
             "[tls]\n"
             "ca_file = %s\n"
             "insecure = YES\n"
             "keylog = %s/keys.log\n"
             "sni = h3sink.test\n"
             "[h3]\n"
             "qlog_dir = %s\n"
             "idle_timeout_ms = 0\n"
             "[upload]\n"
             "url = https://198.18.0.9/a?b=c, https://collector.example:4433/v1\n"
             "spool_dir = %s/\n"
             "content_type = application/json\\; charset=utf-8\n"
             "generator_rate = 1000\n"
             "[dns]\n"
             "servers = 198.18.0.1, 198.18.0.3:5353, [fd00::53]:53, fd00::54\n"
             "timeout_ms = 500\n"
             "[log]\n"
             "level = notice\n"
             "timestamps = on\n"
             "upload = debug\n"
             "control =\n"
             "[metrics]\n"
             "listen = [fd00::2]:9100\n",
             ca, fx->dir, fx->dir, fx->dir);
    write_file(fx->path, text);
    if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
        fail_msg("load failed: %s", err);
    assert_int_equal(c.port.device_kind, CFG_DEVICE_PCI);
    assert_string_equal(c.port.device_name, "0000:03:00.0");
    assert_int_equal(c.port.prefix_len, 31);
    assert_int_equal(c.port.gateway_mac.addr_bytes[3], 0xaa);
    assert_true(c.port.ip6_set);
    assert_int_equal(c.port.prefix6_len, 56);
    assert_int_equal(c.port.ip6.s6_addr[0], 0xfd);
    assert_int_equal(c.port.ip6.s6_addr[7], 1);
    assert_int_equal(c.port.ip6.s6_addr[15], 3);
    assert_int_equal(c.port.gateway6.s6_addr[0], 0xfe);
    assert_int_equal(c.port.gateway6_mac.addr_bytes[5], 0x61);
    assert_true(c.port.accept_ra);
    assert_int_equal(c.port.dad_transmits, 3);
    assert_int_equal(c.eal.main_lcore, 2);
    assert_int_equal(cfg_lcores_count(&c.eal.lcores), 4);
    assert_int_equal(c.dataplane.mempool_size, 65536);
    assert_int_equal(c.control.uid, 0);
    assert_int_equal(c.control.gid, 0);
    assert_true(c.tls.insecure);
    assert_int_equal(c.upload.n_urls, 2);
    assert_string_equal(c.upload.urls[0].host, "198.18.0.9");
    assert_int_equal(c.upload.urls[0].port, 443);
    assert_string_equal(c.upload.urls[0].path, "/a?b=c");
    assert_int_equal(c.upload.urls[1].kind, NET_HOST_NAME);
    assert_int_equal(c.upload.urls[1].port, 4433);
    assert_int_equal(c.dns.n_servers, 4);
    assert_int_equal(c.dns.ports[0], 0);
    assert_int_equal(c.dns.ports[1], 5353);
    assert_int_equal(c.dns.servers[2].family, AF_INET6);
    assert_int_equal(c.dns.ports[2], 53);
    assert_int_equal(c.dns.servers[3].family, AF_INET6);
    assert_int_equal(c.dns.timeout_ms, 500);
    assert_int_equal(c.dns.attempts, 2);
    assert_string_equal(c.upload.content_type, "application/json; charset=utf-8");
    assert_int_equal(c.log.level, RTE_LOG_NOTICE);
    assert_true(c.log.timestamps);
    assert_int_equal(c.log.modules[2], RTE_LOG_DEBUG);
    assert_int_equal(c.log.modules[3], 0);
    assert_int_equal(c.metrics.addr.family, AF_INET6);
    assert_int_equal(c.metrics.port, 9100);
    assert_string_equal(c.eal.args,
                        "-a 0000:03:00.0 \"--log-level=lib.eal:debug\" --vdev=\"net_null0,x=a;b\"");
    dump_reload(fx, &c);

    /* io = kernel without a [port] ip (found by fuzz_cfg: the dump wrote 'ip = 0.0.0.0/0',
     * which the loader refuses), with a hexadecimal number (documented: mtu 0x5dc = 1500). */
    write_file(fx->path, "[eal]\nlcores = 0-1\nargs = --no-pci\n[dataplane]\nio = kernel\n"
                         "[port]\nmtu = 0x5dc\n");
    if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
        fail_msg("load failed: %s", err);
    assert_int_equal(c.port.ip, 0);
    assert_int_equal(c.port.mtu, 1500);
    dump_reload(fx, &c);

    /* A value of the longest length with "\;" and then a bare ';' (rte_cfgfile looks at the
     * first ';' only: the rest are read as they are). The dump escaped every ';' and wrote
     * 256 characters, which the loader refuses (found by fuzz_cfg's long run). */
    {
        char line[CFG_STR_MAX + 128];
        int n = snprintf(line, sizeof(line), "[eal]\nlcores = 0-1\n[dataplane]\nio = kernel\n"
                                             "[upload]\ncontent_type = ");
        int start = n;
        n += snprintf(line + n, sizeof(line) - (size_t)n, "text/plain\\; a=1; b=");
        while (n - start < CFG_STR_MAX - 1)
            line[n++] = 'x';
        line[n++] = '\n';
        line[n] = '\0';
        write_file(fx->path, line);
        if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
            fail_msg("load failed: %s", err);
        assert_int_equal(strlen(c.upload.content_type), CFG_STR_MAX - 2);
        assert_memory_equal(c.upload.content_type, "text/plain; a=1; b=x", 20);
        dump_reload(fx, &c);
    }
}

/* ------------------------------------------------------------------ */
/* Errors: one file per case, the exact one-line message.                */

struct bad {
    const char *text; /* the file */
    const char *msg;  /* the message after the file name; NULL: the file is valid */
};

static const struct bad bad_files[] = {
    /* lines rte_cfgfile cannot parse, or would silently misread */
    {"[eal\nlcores = 0-1\n", ":1: section header without ']'"},
    {"lcores = 0-1\n[eal]\n", ":1: 'lcores' comes before any [section]"},
    {BASE "this is not a key\n", ":6: line is not '[section]' or 'key = value'"},
    {BASE "# a comment\n", ":6: comments start with ';', not '#'"},
    {BASE "= 5\n", ":6: missing key name before '='"},
    {BASE "[]\n", ":6: empty section name"},
    {BASE "[port] x\n", ":6: junk after the section header ']'"},
    /* sections and keys */
    {BASE "[bogus]\nx = 1\n",
     ":6: [bogus]: unknown section (known: eal, port, dataplane, control, tls, h3, upload, dns, log, "
     "metrics)"},
    {BASE "colour = blue\n", ":6: [port] colour: unknown key (got 'blue')"},
    {BASE "mtu = 1500\nmtu = 1400\n",
     ":7: [port] mtu: duplicate key (first at line 6) (got '1400')"},
    {BASE "[eal]\nargs = --no-pci\n", ":6: [eal]: duplicate section (first at line 1)"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\n", ": [port] ip: required key is missing"},
    {"[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n", ": [eal] lcores: required key is missing"},
    /* numbers */
    {BASE "mtu = 15x0\n", ":6: [port] mtu: trailing characters after the number (got '15x0')"},
    {BASE "mtu =\n", ":6: [port] mtu: empty, expected a number (got '')"},
    {BASE "mtu = 1K\n", ":6: [port] mtu: trailing characters after the number (got '1K')"},
    {BASE "mtu = 1000\n", ":6: [port] mtu: out of range 1228..9000 (got '1000')"},
    {BASE "mtu = +1500\n", ":6: [port] mtu: not a number (got '+1500')"},
    {BASE "[dataplane]\nburst = -1\n", ":7: [dataplane] burst: must not be negative (got '-1')"},
    {BASE "[dataplane]\nburst = 513\n", ":7: [dataplane] burst: out of range 1..512 (got '513')"},
    {BASE "[dataplane]\nburst = 0x\n", ":7: [dataplane] burst: not a number (got '0x')"},
    {BASE "[h3]\ninitial_max_data = 18446744073709551616\n",
     ":7: [h3] initial_max_data: number too large (got '18446744073709551616')"},
    {BASE "[h3]\ninitial_max_data = 17179869184G\n",
     ":7: [h3] initial_max_data: number too large (got '17179869184G')"},
    {BASE "[h3]\ninitial_max_data = 2T\n",
     ":7: [h3] initial_max_data: trailing characters after the number (suffixes: K, M, G) "
     "(got '2T')"},
    {BASE "rx_desc = 1000\n", ":6: [port] rx_desc: must be a power of two (got '1000')"},
    {BASE "tx_desc = 8192\n", ":6: [port] tx_desc: out of range 64..4096 (got '8192')"},
    /* booleans and enums */
    {BASE "[tls]\ninsecure = maybe\n",
     ":7: [tls] insecure: not a boolean (true/false, yes/no, on/off, 1/0) (got 'maybe')"},
    {BASE "[dataplane]\nidle = lazy\n",
     ":7: [dataplane] idle: must be one of: adaptive, busy, interrupt (got 'lazy')"},
    {BASE "[dataplane]\nio = DPDK\n",
     ":7: [dataplane] io: must be one of: dpdk, kernel (got 'DPDK')"},
    /* addresses */
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 198.18.0.300/24\n",
     ":5: [port] ip: not an IPv4 address (a.b.c.d) (got '198.18.0.300/24')"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 198.18.0.2\n",
     ":5: [port] ip: missing /prefix-length (e.g. 198.18.0.2/24) (got '198.18.0.2')"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 198.18.0.2/33\n",
     ":5: [port] ip: prefix length must be 1..32 (got '198.18.0.2/33')"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 198.18.0.0/24\n",
     ":5: [port] ip: is the network address of its prefix (got '198.18.0.0/24')"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = net_tap0\nip = 127.0.0.1/8\n",
     ":5: [port] ip: loopback addresses (127/8) cannot be used (got '127.0.0.1/8')"},
    {BASE "gateway = 198.18.1.1\n",
     ":6: [port] gateway: not inside [port] ip's prefix /24 (got '198.18.1.1')"},
    {BASE "gateway = 198.18.0.2\n", ":6: [port] gateway: is our own address (got '198.18.0.2')"},
    {BASE "gateway = 198.18.0.255\n",
     ":6: [port] gateway: is the broadcast address of [port] ip's prefix (got '198.18.0.255')"},
    {BASE "gateway = gw\n", ":6: [port] gateway: not an IPv4 address (a.b.c.d) (got 'gw')"},
    {BASE "gateway_mac = 02:00:00:00:00:01\n",
     ":6: [port] gateway_mac: given without [port] gateway (got '02:00:00:00:00:01')"},
    /* IPv6 */
    {BASE "ip6 = fd00::2/64\ngateway6 = fd00::1\ngateway6_mac = 02:00:00:00:00:01\n"
          "accept_ra = yes\ndad_transmits = 0\n",
     NULL},
    {BASE "ip6 = fd00::2/64\ngateway6 = fe80::1\n", NULL},
    {BASE "ip6 = fd00::2\n", ":6: [port] ip6: missing /prefix-length (e.g. fd00::2/64) (got 'fd00::2')"},
    {BASE "ip6 = fd00::2/129\n", ":6: [port] ip6: prefix length must be 1..128 (got 'fd00::2/129')"},
    {BASE "ip6 = fd00::2/0\n", ":6: [port] ip6: prefix length must be 1..128 (got 'fd00::2/0')"},
    {BASE "ip6 = [fd00::2]/64\n",
     ":6: [port] ip6: not an IPv6 address (e.g. fd00::2, without brackets) (got '[fd00::2]/64')"},
    {BASE "ip6 = 198.18.0.2/24\n",
     ":6: [port] ip6: not an IPv6 address (e.g. fd00::2, without brackets) (got '198.18.0.2/24')"},
    {BASE "ip6 = fe80::2/64\n",
     ":6: [port] ip6: a link-local address (fe80::/10): the port's own comes from its MAC; give "
     "the global (or unique local) one (got 'fe80::2/64')"},
    {BASE "ip6 = ::1/128\n",
     ":6: [port] ip6: the unspecified, loopback and IPv4-compatible addresses (::/96) cannot be "
     "used (got '::1/128')"},
    {BASE "ip6 = ::ffff:198.18.0.2/128\n",
     ":6: [port] ip6: an IPv4-mapped address (::ffff:0:0/96): give IPv4 as IPv4 (got "
     "'::ffff:198.18.0.2/128')"},
    {BASE "ip6 = ff02::2/64\n",
     ":6: [port] ip6: multicast addresses (ff00::/8) cannot be used (got 'ff02::2/64')"},
    {BASE "gateway6 = fe80::1\n", ":6: [port] gateway6: given without [port] ip6 (got 'fe80::1')"},
    {BASE "accept_ra = true\n", ":6: [port] accept_ra: given without [port] ip6 (got 'true')"},
    {BASE "gateway6_mac = 02:00:00:00:00:01\n",
     ":6: [port] gateway6_mac: given without [port] ip6 (got '02:00:00:00:00:01')"},
    {BASE "ip6 = fd00::2/64\ngateway6_mac = 02:00:00:00:00:01\n",
     ":7: [port] gateway6_mac: given without [port] gateway6 (got '02:00:00:00:00:01')"},
    {BASE "ip6 = fd00::2/64\ngateway6 = fd01::1\n",
     ":7: [port] gateway6: neither link-local (fe80::/10) nor inside [port] ip6's prefix /64 "
     "(got 'fd01::1')"},
    {BASE "ip6 = fd00::2/64\ngateway6 = fd00::2\n",
     ":7: [port] gateway6: is our own address (got 'fd00::2')"},
    {BASE "ip6 = fd00::2/64\ngateway6 = ff02::1\n",
     ":7: [port] gateway6: multicast addresses (ff00::/8) cannot be used (got 'ff02::1')"},
    {BASE "ip6 = fd00::2/64\ngateway6 = ::\n",
     ":7: [port] gateway6: the unspecified, loopback and IPv4-compatible addresses (::/96) cannot "
     "be used (got '::')"},
    {BASE "mtu = 1279\nip6 = fd00::2/64\n",
     ":6: [port] mtu: IPv6 needs an MTU of at least 1280 (RFC 8200 5), [port] mtu is 1279 (got "
     "'1279')"},
    {BASE "mtu = 1280\nip6 = fd00::2/64\n", NULL},
    {BASE "ip6 = fd00::2/64\ndad_transmits = 11\n",
     ":7: [port] dad_transmits: out of range 0..10 (got '11')"},
    {BASE "gateway_mac = 02:00:00:00:00\n",
     ":6: [port] gateway_mac: not a MAC address (aa:bb:cc:dd:ee:ff) (got '02:00:00:00:00')"},
    {BASE "mac = ff:ff:ff:ff:ff:ff\n",
     ":6: [port] mac: a multicast/broadcast MAC address is not a station address "
     "(got 'ff:ff:ff:ff:ff:ff')"},
    {"[eal]\nlcores = 0-1\n[port]\ndevice = 0000:03:20.0\nip = 198.18.0.2/24\n",
     ":4: [port] device: neither a PCI address (0000:03:00.0) nor a vdev (net_tap0,iface=h3dp0) "
     "(got '0000:03:20.0')"},
    {"[eal]\nlcores = 0-1\nargs = --no-pci\n[port]\ndevice = 0000:03:00.0\nip = 198.18.0.2/24\n",
     ":5: [port] device: a PCI device, but [eal] args contain --no-pci (got '0000:03:00.0')"},
    {"[eal]\nlcores = 0-1\nargs = --vdev net_tap0\n[port]\ndevice = net_tap0,iface=x\n"
     "ip = 198.18.0.2/24\n",
     ":5: [port] device: vdev net_tap0 is also created by --vdev in [eal] args: give its arguments "
     "in one place only (got 'net_tap0,iface=x')"},
    /* lcores and their cross rules */
    {"[eal]\nlcores = 0-x\n", ":2: [eal] lcores: expected an lcore id at 'x' (got '0-x')"},
    {"[eal]\nlcores = 1-0\n", ":2: [eal] lcores: range 1-0 is backwards (got '1-0')"},
    {"[eal]\nlcores = 0,128\n", ":2: [eal] lcores: lcore id above 127 (got '0,128')"},
    {"[eal]\nlcores = 0-2,2\n", ":2: [eal] lcores: lcore 2 listed twice (got '0-2,2')"},
    {"[eal]\nlcores = 3\n[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n",
     ":2: [eal] lcores: only the main lcore 3 is listed: no lcore is left for [dataplane] workers "
     "(got '3')"},
    {BASE "[dataplane]\nworkers = 0-1\n",
     ":7: [dataplane] workers: lcore 0 is the main lcore (the lowest of [eal] lcores), which runs "
     "the control plane and slow path (got '0-1')"},
    {BASE "[dataplane]\nworkers = 1-2\n",
     ":7: [dataplane] workers: lcore 2 is not in [eal] lcores (got '1-2')"},
    /* EAL args */
    {"[eal]\nlcores = 0-1\nargs = --no-huge -l 0-3\n",
     ":3: [eal] args: EAL option -l is set by [eal] lcores, not here (got '--no-huge -l 0-3')"},
    {"[eal]\nlcores = 0-1\nargs = -c0x3\n",
     ":3: [eal] args: EAL option -c is set by [eal] lcores, not here (got '-c0x3')"},
    {"[eal]\nlcores = 0-1\nargs = --file-prefix=x\n",
     ":3: [eal] args: EAL option --file-prefix is set by [eal] file_prefix, not here "
     "(got '--file-prefix=x')"},
    {"[eal]\nlcores = 0-1\nargs = --vdev=\"net_tap0\n",
     ":3: [eal] args: unterminated double quote (got '--vdev=\"net_tap0')"},
    {"[eal]\nlcores = 0-1\nargs = --no-pci -- -x\n",
     ":3: [eal] args: '--' would end the EAL arguments: h3dpd takes no others (got '--no-pci -- "
     "-x')"},
    {"\xef\xbb\xbf[eal]\nlcores = 0-1\n",
     ":1: file starts with a UTF-8 byte order mark: save it without one"},
    {"[eal]\nlcores = 0-1\nfile_prefix = a/b\n",
     ":3: [eal] file_prefix: must be a plain name (no '/') (got 'a/b')"},
    /* dataplane cross rules */
    {BASE "rx_desc = 64\ntx_desc = 64\n[dataplane]\nmempool_size = 600\nmempool_cache = 512\n",
     ":10: [dataplane] mempool_cache: must be at most mempool_size / 1.5 = 400 (got '512')"},
    {BASE "rx_desc = 64\ntx_desc = 64\n[dataplane]\nmempool_size = 300\n",
     ":9: [dataplane] mempool_size: too small for [dataplane] mempool_cache 256 (needs at least "
     "384) (got '300')"},
    {BASE "[dataplane]\nmempool_size = 2047\n",
     ":7: [dataplane] mempool_size: too small to fill one RX and one TX ring ([port] rx_desc + "
     "tx_desc = 2048) (got '2047')"},
    {BASE "[dataplane]\nmax_flows = 1000\n[h3]\nmax_connections = 1001\n",
     ":9: [h3] max_connections: must be at most [dataplane] max_flows (1000): each connection "
     "is a flow (got '1001')"},
    {BASE "[dataplane]\nmax_flows = 1000\n",
     ":7: [dataplane] max_flows: must be at least [h3] max_connections (16384): each "
     "connection is a flow (got '1000')"},
    {BASE "[dataplane]\nmax_flows = 1000\n[h3]\nmax_connections = 1000\n", NULL},
    {BASE "[dataplane]\nio = kernel\nmax_flows = 64\n", NULL},
    {BASE "[dataplane]\nmax_flows = 63\n",
     ":7: [dataplane] max_flows: out of range 64..16777216 (got '63')"},
    {BASE "[dataplane]\nmempool_size = 63\n",
     ":7: [dataplane] mempool_size: out of range 64..16777216 (got '63')"},
    {BASE "[dataplane]\nmempool_cache = 513\n",
     ":7: [dataplane] mempool_cache: out of range 0..512 (got '513')"},
    {BASE "[dataplane]\nmempool_size = 1023\nmempool_cache = 400\nmempool_cache = 1\n",
     ":9: [dataplane] mempool_cache: duplicate key (first at line 8) (got '1')"},
    /* control */
    {BASE "[control]\nsocket = run/h3dpd.sock\n",
     ":7: [control] socket: must be an absolute path (got 'run/h3dpd.sock')"},
    {BASE "[control]\nuser = h3dp-no-such-user\n",
     ":7: [control] user: no such user (got 'h3dp-no-such-user')"},
    {BASE "[control]\ngroup = h3dp-no-such-group\n",
     ":7: [control] group: no such group (got 'h3dp-no-such-group')"},
    {BASE "[control]\nuser = 4294967295\n",
     ":7: [control] user: out of range 0..4294967294 (got '4294967295')"},
    /* tls, h3, upload */
    {BASE "[tls]\nca_file = /nonexistent/h3dp-ca.pem\n",
     ":7: [tls] ca_file: cannot open: No such file or directory (got '/nonexistent/h3dp-ca.pem')"},
    {BASE "[upload]\nurl = https://127.0.0.1:4433/t\n",
     ":7: [upload] url: 127.0.0.1 is a loopback address, not reachable through the DPDK port, not a collector (got 'https://127.0.0.1:4433/t')"},
    {BASE "[upload]\nurl = https://198.18.0.9/t, https://198.18.0.2/t\n",
     ":7: [upload] url: 198.18.0.2 is the DPDK port's own address, not a collector (got 'https://198.18.0.9/t, https://198.18.0.2/t')"},
    {BASE "[tls]\nca_file = /dev/zero\n",
     ":7: [tls] ca_file: not a regular file (a character device) (got '/dev/zero')"},
    {BASE "[tls]\ncert_file = /tmp\n",
     ":7: [tls] cert_file: not a regular file (a directory) (got '/tmp')"},
    {BASE "[tls]\nkeylog = /nonexistent/h3dp/keys\n",
     ":7: [tls] keylog: directory /nonexistent/h3dp does not exist (got '/nonexistent/h3dp/keys')"},
    {BASE "[h3]\nqlog_dir = /nonexistent/h3dp\n",
     ":7: [h3] qlog_dir: cannot use: No such file or directory (got '/nonexistent/h3dp')"},
    {BASE "[upload]\nspool_dir = /dev/null\n",
     ":7: [upload] spool_dir: not a directory (got '/dev/null')"},
    {"[eal]\nlcores = 0-1\nargs = --no-pci\n[dataplane]\nio = kernel\n[port]\nmtu = 1500\n", NULL},
    {BASE "[tls]\nsni = 198.18.0.1\n",
     ":7: [tls] sni: looks like an IP address, not a host name (got '198.18.0.1')"},
    {BASE "[h3]\nidle_timeout_ms = 5000\n",
     ":7: [h3] idle_timeout_ms: must be above [h3] keepalive_ms (10000), or set keepalive_ms = 0 "
     "(got '5000')"},
    {BASE "[h3]\nidle_timeout_ms = 5000\nkeepalive_ms = 0\n", NULL},
    {BASE "[upload]\nretry_max_ms = 100\n",
     ":7: [upload] retry_max_ms: must be at least [upload] retry_initial_ms (500) (got '100')"},
    {BASE "rx_desc = 4096\ntx_desc = 4096\n",
     ":6: [port] rx_desc: rx_desc + tx_desc = 8192 mbufs do not fit [dataplane] mempool_size "
     "(8191) (got '4096')"},
    {"[eal]\nlcores = 0-1\nargs = -a 0000:04:00.0 --allow=0000:05:00.0,x=1\n[port]\n"
     "device = 0000:03:00.0\nip = 198.18.0.2/24\n",
     ":5: [port] device: not in the -a/--allow list of [eal] args (got '0000:03:00.0')"},
    {"[eal]\nlcores = 0-1\nargs = -a 0000:04:00.0 --allow 03:00.0\n[port]\n"
     "device = 0000:03:00.0\nip = 198.18.0.2/24\n",
     NULL},
    {"[eal]\nlcores = 0-1\nargs = -b0000:03:00.0\n[port]\n"
     "device = 03:00.0\nip = 198.18.0.2/24\n",
     ":5: [port] device: blocked by -b/--block in [eal] args (got '03:00.0')"},
    {BASE "[h3]\nkeepalive_ms = 30000\n",
     ":7: [h3] keepalive_ms: must be below [h3] idle_timeout_ms (30000) to keep the connection "
     "open (got '30000')"},
    {BASE "[upload]\nurl = http://198.18.0.1/x\n",
     ":7: [upload] url: URL scheme must be https:// (got 'http://198.18.0.1/x')"},
    {BASE "[upload]\nurl = https://user@198.18.0.1/x\n",
     ":7: [upload] url: URL must not carry userinfo (user@) (got 'https://user@198.18.0.1/x')"},
    {BASE "[upload]\nurl = https://198.18.0.1:0/x\n",
     ":7: [upload] url: URL port must be a number in 1..65535 (got 'https://198.18.0.1:0/x')"},
    {BASE "[upload]\nurl = https://collector.example/x\n", NULL},
    {BASE "[upload]\nurl = https://[2001:db8::1]:4433/x\n",
     ":7: [upload] url: 2001:db8::1: an IPv6 collector, and the DPDK port has no IPv6 address "
     "(set [port] ip6) (got 'https://[2001:db8::1]:4433/x')"},
    {BASE "[dataplane]\nio = kernel\n[upload]\nurl = https://[2001:db8::1]:4433/x\n", NULL},
    {BASE "ip6 = fd00::2/64\n[upload]\nurl = https://[fd00::1]:4433/x, https://198.18.0.1/y\n",
     NULL},
    {BASE "[upload]\nurl = https://198.18.0.1/x, ftp://b/\n",
     ":7: [upload] url: URL 2: URL scheme must be https:// (got 'https://198.18.0.1/x, "
     "ftp://b/')"},
    {BASE "[upload]\nurl = https://0.0.0.0/x\n",
     ":7: [upload] url: 0.0.0.0 is the unspecified address, not a collector (got "
     "'https://0.0.0.0/x')"},
    {BASE "[dns]\nservers = 198.18.0.1:0\n",
     ":7: [dns] servers: server 1: port must be 1..65535 (got '198.18.0.1:0')"},
    {BASE "[dns]\nservers = 198.18.0.1, dns.example\n",
     ":7: [dns] servers: server 2: not an IP address (dns.example) (got '198.18.0.1, "
     "dns.example')"},
    {BASE "[dns]\nservers = 224.0.0.1\n",
     ":7: [dns] servers: server 1: 224.0.0.1 is a multicast address (got '224.0.0.1')"},
    {BASE "[dns]\nattempts = 6\n", ":7: [dns] attempts: out of range 1..5 (got '6')"},
    {BASE "[dns]\nservers = 198.18.0.1,\n",
     ":7: [dns] servers: empty server in the list (got '198.18.0.1,')"},
    {BASE "[log]\nlevel = verbose\n",
     ":7: [log] level: must be one of: emerg, alert, crit, error, warning, notice, info, debug "
     "(got 'verbose')"},
    {BASE "[log]\nlevel =\n", ":7: [log] level: must not be empty (got '')"},
    {BASE "[log]\nservice = WARNING\n",
     ":7: [log] service: must be one of: emerg, alert, crit, error, warning, notice, info, "
     "debug (got 'WARNING')"},
    {BASE "[log]\nh3 = debug\n", ":7: [log] h3: unknown key (got 'debug')"},
    {BASE "[log]\ntimestamps = sometimes\n",
     ":7: [log] timestamps: not a boolean (true/false, yes/no, on/off, 1/0) (got 'sometimes')"},
    {BASE "[metrics]\nlisten = 127.0.0.1:9100\n", NULL},
    {BASE "[metrics]\nlisten = 0.0.0.0:9100\n", NULL},
    {BASE "[metrics]\nlisten = [::]:9100\n", NULL},
    {BASE "[metrics]\nlisten = 127.0.0.1\n",
     ":7: [metrics] listen: expected ADDR:PORT (an IPv6 address goes in brackets: [::1]:9100) "
     "(got '127.0.0.1')"},
    {BASE "[metrics]\nlisten = 127.0.0.1:0\n",
     ":7: [metrics] listen: port must be 1..65535 (got '127.0.0.1:0')"},
    {BASE "[metrics]\nlisten = 127.0.0.1:65536\n",
     ":7: [metrics] listen: port must be 1..65535 (got '127.0.0.1:65536')"},
    {BASE "[metrics]\nlisten = localhost:9100\n",
     ":7: [metrics] listen: 'localhost' is not an IP address (got 'localhost:9100')"},
    {BASE "[metrics]\nlisten = ::1:9100\n",
     ":7: [metrics] listen: expected ADDR:PORT (an IPv6 address goes in brackets: [::1]:9100) "
     "(got '::1:9100')"},
    {BASE "[metrics]\nlisten = [::1]9100\n",
     ":7: [metrics] listen: expected ADDR:PORT or [IPv6]:PORT (got '[::1]9100')"},
    {BASE "[metrics]\nlisten = [127.0.0.1]:9100\n",
     ":7: [metrics] listen: '127.0.0.1' is not an IP address (got '[127.0.0.1]:9100')"},
    {BASE "[metrics]\nlisten = 224.0.0.1:9100\n",
     ":7: [metrics] listen: 224.0.0.1 is a multicast address (got '224.0.0.1:9100')"},
    {BASE "[metrics]\nlisten = 198.18.0.2:http\n",
     ":7: [metrics] listen: port must be 1..65535 (got '198.18.0.2:http')"},
    {BASE "[upload]\nretry_initial_ms = 60000\n",
     ":7: [upload] retry_initial_ms: must not exceed [upload] retry_max_ms (30000) (got '60000')"},
    {BASE "[upload]\ningest_socket = run/ingest.sock\n",
     ":7: [upload] ingest_socket: must be an absolute path (got 'run/ingest.sock')"},
    {"[eal]\nlcores = 0-2\ncpus = 0,1\n[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n",
     ":3: [eal] cpus: 2 CPUs for 3 lcores: give one CPU per lcore (got '0,1')"},
    {BASE "[upload]\ningest_queue = 0\n",
     ":7: [upload] ingest_queue: out of range 1..16777216 (got '0')"},
    {BASE "[upload]\ncontent_type = json\n",
     ":7: [upload] content_type: not a media type (type/subtype) (got 'json')"},
    {BASE "[upload]\ncompress = lz4\n",
     ":7: [upload] compress: must be one of: none, zstd, gzip (got 'lz4')"},
    {BASE "[upload]\ncompress = gzip\ncompress_level = 9\nframing = length\n", NULL},
    {BASE "[upload]\ncompress = gzip\ncompress_level = 10\n",
     ":8: [upload] compress_level: gzip levels are 1..9 (got '10')"},
    {BASE "[upload]\ncompress_level = 3\n",
     ":7: [upload] compress_level: given without [upload] compress (got '3')"},
    {BASE "[upload]\nframing = csv\n",
     ":7: [upload] framing: must be one of: newline, length, none (got 'csv')"},
};

static void test_errors(void **state)
{
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        struct cfg c;
        char err[512];
        char want[640];

        write_file(fx->path, bad_files[i].text);
        if (bad_files[i].msg == NULL) {
            /* a valid neighbour of the bad cases */
            if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
                fail_msg("case %zu: %s", i, err);
            continue;
        }
        memset(err, 'x', sizeof(err));
        snprintf(want, sizeof(want), "%s%s", fx->path, bad_files[i].msg);
        if (cfg_load(fx->path, &c, err, sizeof(err)) != -1)
            fail_msg("case %zu loaded, expected: %s", i, want);
        if (strcmp(err, want) != 0)
            fail_msg("case %zu:\n  got  %s\n  want %s", i, err, want);
        assert_null(strchr(err, '\n'));
    }
}

static void test_error_io(void **state)
{
    struct fixture *fx = *state;
    struct cfg c;
    char err[512];
    char want[256];
    char line[400];
    char text[1024];

    snprintf(want, sizeof(want), "%s/missing.conf: cannot open: No such file or directory",
             fx->dir);
    snprintf(line, sizeof(line), "%s/missing.conf", fx->dir);
    assert_int_equal(cfg_load(line, &c, err, sizeof(err)), -1);
    assert_string_equal(err, want);

    /* A line rte_cfgfile would reject for its length (322 characters is the limit). */
    memset(line, 'a', sizeof(line));
    line[323] = '\0';
    snprintf(text, sizeof(text), BASE "; %s\n", line);
    write_file(fx->path, text);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:6: line longer than 322 characters", fx->path);
    assert_string_equal(err, want);

    /* A value longer than rte_cfgfile keeps (255) would be cut silently: refused. */
    line[256] = '\0';
    snprintf(text, sizeof(text), BASE "[tls]\nkeylog = %s\n", line);
    write_file(fx->path, text);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:7: [tls] keylog: value longer than 255 characters", fx->path);
    assert_string_equal(err, want);
    line[255] = '\0';
    snprintf(text, sizeof(text), BASE "[tls]\nkeylog = %s\n", line);
    write_file(fx->path, text);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), 0);
    assert_int_equal(strlen(c.tls.keylog), 255);

    /* A directory, and a NUL byte in a line. */
    assert_int_equal(cfg_load(fx->dir, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: not a regular file (a directory)", fx->dir);
    assert_string_equal(err, want);
    {
        static const char nul[] = BASE "mtu = 15\0"
                                       "00\n";
        FILE *f = fopen(fx->path, "w");

        assert_non_null(f);
        assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
        assert_int_equal(fclose(f), 0);
    }
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:6: line contains a NUL byte", fx->path);
    assert_string_equal(err, want);

    /* A tiny or absent error buffer is fine. */
    write_file(fx->path, BASE "mtu = 0\n");
    assert_int_equal(cfg_load(fx->path, &c, err, 8), -1);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(cfg_load(fx->path, &c, NULL, 0), -1);
}

/* Every file input bounded and typed: the configuration itself and every key naming a
 * file the daemon reads are refused at once, unread, when they are not a regular file or
 * are too large (/dev/zero and a FIFO used to hang the loader, a 1 GiB file was read
 * whole before its first line was refused). */
static void test_bounded_inputs(void **state)
{
    static const char *const file_keys[][2] = {
        {"tls", "ca_file"}, {"tls", "cert_file"}, {"tls", "key_file"},
        {"upload", "headers_file"}};
    struct fixture *fx = *state;
    char fifo[160], big[160], text[1024], want[512], err[512];
    struct cfg c;
    FILE *f;

    snprintf(fifo, sizeof(fifo), "%s/fifo", fx->dir);
    snprintf(big, sizeof(big), "%s/big", fx->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    f = fopen(big, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)1 << 30), 0); /* 1 GiB, sparse */
    assert_int_equal(fclose(f), 0);

    /* The configuration file. */
    assert_int_equal(cfg_load("/dev/zero", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "/dev/zero: not a regular file (a character device)");
    assert_int_equal(cfg_load(fifo, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);
    assert_string_equal(err, want);
    assert_int_equal(cfg_load(big, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: larger than %d bytes", big, CFG_FILE_MAX);
    assert_string_equal(err, want);
    /* Exactly the limit is read (comment lines filling it after a valid base). */
    {
        char pad[101];
        size_t n = strlen(BASE);

        f = fopen(fx->path, "w");
        assert_non_null(f);
        fputs(BASE, f);
        memset(pad, 'x', sizeof(pad) - 1);
        pad[0] = ';';
        pad[99] = '\n';
        pad[100] = '\0';
        while (n + 100 <= CFG_FILE_MAX) {
            fputs(pad, f);
            n += 100;
        }
        for (; n < CFG_FILE_MAX; n++)
            fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), 0);
        f = fopen(fx->path, "a");
        fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s: larger than %d bytes", fx->path, CFG_FILE_MAX);
        assert_string_equal(err, want);
    }

    /* Every key naming a file the daemon reads. */
    assert_int_equal(truncate(big, (off_t)CFG_INPUT_FILE_MAX + 1), 0);
    for (size_t i = 0; i < sizeof(file_keys) / sizeof(file_keys[0]); i++) {
        const char *sec = file_keys[i][0], *key = file_keys[i][1];
        const char *bad[][2] = {{"/dev/zero", "not a regular file (a character device)"},
                                {fifo, "not a regular file (a FIFO)"},
                                {fx->dir, "not a regular file (a directory)"},
                                {big, NULL}};

        for (size_t j = 0; j < 4; j++) {
            char why[80];

            if (bad[j][1])
                snprintf(why, sizeof(why), "%s", bad[j][1]);
            else
                snprintf(why, sizeof(why), "larger than %d bytes", CFG_INPUT_FILE_MAX);
            snprintf(text, sizeof(text), BASE "[%s]\n%s = %s\n", sec, key, bad[j][0]);
            write_file(fx->path, text);
            assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
            snprintf(want, sizeof(want), "%s:7: [%s] %s: %s (got '%s')", fx->path, sec, key, why,
                     bad[j][0]);
            assert_string_equal(err, want);
        }
    }
    unlink(fifo);
    unlink(big);
}

/* Comments, spacing, CRLF, empty values and accepted spellings. */
/* [tls] session_dir holds session tickets (secrets): a directory of the daemon's user that
 * nobody else can write. */
static void test_session_dir(void **state)
{
    struct fixture *fx = *state;
    struct cfg c;
    char err[512], want[512], dir[128], text[1024];

    snprintf(dir, sizeof(dir), "%s/sessions", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(text, sizeof(text), BASE "[tls]\nsession_dir = %s\nresumption = yes\n"
             "[upload]\nearly_data = no\n", dir);
    write_file(fx->path, text);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), 0);
    assert_string_equal(c.tls.session_dir, dir);
    assert_true(c.tls.resumption);
    assert_false(c.upload.early_data);

    assert_int_equal(chmod(dir, 0770), 0);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:7: [tls] session_dir: writable by group or others (mode 0770; use 0700) "
             "(got '%s')", fx->path, dir);
    assert_string_equal(err, want);
    assert_int_equal(chmod(dir, 0755), 0); /* readable by others: the files are 0600 */
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), 0);
    if (geteuid() == 0) { /* another user's directory */
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
        snprintf(want, sizeof(want),
                 "%s:7: [tls] session_dir: owned by uid 65534, not by the daemon's user (uid 0) "
                 "(got '%s')", fx->path, dir);
        assert_string_equal(err, want);
    }
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:7: [tls] session_dir: cannot use: No such file or directory (got '%s')",
             fx->path, dir);
    assert_string_equal(err, want);
    write_file(fx->path, BASE "[tls]\nsession_dir = /dev/null\n");
    assert_int_equal(cfg_load(fx->path, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:7: [tls] session_dir: not a directory (got '/dev/null')",
             fx->path);
    assert_string_equal(err, want);
}

static void test_syntax(void **state)
{
    struct fixture *fx = *state;
    struct cfg c;
    char err[512];

    write_file(fx->path, "; leading comment\r\n"
                         "[ eal ]  ; spaced header\r\n"
                         "  lcores   =   0,1 ; trailing comment\r\n"
                         "\r\n"
                         "[port]\r\n"
                         "device=net_tap0\r\n"
                         "ip=198.18.0.2/24\r\n"
                         "gateway =\r\n"
                         "[tls]\r\n"
                         "insecure = On\r\n"
                         "sni =\r\n"
                         "[control]\r\n"
                         "max_line = 0x100\r\n"
                         "[upload]\r\n"
                         "batch_bytes = 2k\r\n");
    if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.eal.lcores_str, "0,1");
    assert_int_equal(c.port.gateway, 0);
    assert_true(c.tls.insecure);
    assert_int_equal(c.control.max_line, 256);
    assert_int_equal(c.upload.batch_bytes, 2048);
}

/* ------------------------------------------------------------------ */
/* EAL argv                                                              */

static void test_eal_argv(void **state)
{
    struct fixture *fx = *state;
    struct cfg c;
    struct cfg_argv av;
    char err[512];
    char prog[5000];

    write_file(fx->path, "[eal]\n"
                         "lcores = 0,2\n"
                         "args = --no-huge  \"--vdev=net_tap0,iface=a b\"\t-m 512 "
                         "--log-level=\"lib.eal:debug\" \"\" \"q\\\"x\\\\\"\n"
                         "[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n");
    if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(c.port.device_in_eal_args);
    assert_int_equal(cfg_eal_argv(&c, "/usr/bin/h3dpd", &av), 10);
    assert_int_equal(av.argc, 10);
    assert_string_equal(av.argv[0], "/usr/bin/h3dpd");
    assert_string_equal(av.argv[1], "-l");
    assert_string_equal(av.argv[2], "0,2");
    assert_string_equal(av.argv[3], "--no-huge");
    assert_string_equal(av.argv[4], "--vdev=net_tap0,iface=a b");
    assert_string_equal(av.argv[5], "-m");
    assert_string_equal(av.argv[6], "512");
    assert_string_equal(av.argv[7], "--log-level=lib.eal:debug");
    assert_string_equal(av.argv[8], "");
    assert_string_equal(av.argv[9], "q\"x\\");
    assert_null(av.argv[10]);

    /* With a file prefix; nothing else is added. */
    assert_int_equal(cfg_load(H3DP_DEFAULT_CONFIG, &c, err, sizeof(err)), 0);
    assert_int_equal(cfg_eal_argv(&c, "h3dpd", &av), 10);
    assert_string_equal(av.argv[3], "--file-prefix");
    assert_string_equal(av.argv[4], "h3dp");
    assert_string_equal(av.argv[5], "--no-huge");
    assert_string_equal(av.argv[9], "--vdev=net_tap0,iface=h3dp0");
    assert_null(av.argv[10]);

    /* [eal] cpus: lcores placed on CPUs with --lcores (two workers share CPU 1). */
    write_file(fx->path, "[eal]\nlcores = 0-2\ncpus = 0,1-1,1\nargs = --no-huge\n"
                         "[port]\ndevice = net_tap0\nip = 198.18.0.2/24\n");
    if (cfg_load(fx->path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg_eal_argv(&c, "h3dpd", &av), 4);
    assert_string_equal(av.argv[1], "--lcores");
    assert_string_equal(av.argv[2], "0@0,1@1,2@1");
    assert_string_equal(av.argv[3], "--no-huge");

    memset(prog, 'p', sizeof(prog));
    prog[sizeof(prog) - 1] = '\0';
    assert_int_equal(cfg_eal_argv(&c, prog, &av), -ENAMETOOLONG);
    assert_int_equal(av.argc, 0);
}

/* docs/CONFIG.md has a "## [section]" part per section and a table row per key. */
static void test_docs(void **state)
{
    static char doc[65536];
    FILE *f = fopen(H3DP_CONFIG_DOC, "r");
    size_t n;

    (void)state;
    assert_non_null(f);
    n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    assert_true(n < sizeof(doc) - 1);
    doc[n] = '\0';
    for (size_t i = 0; i < cfg_nkeys; i++) {
        char head[64], row[96];
        const char *part, *next;

        snprintf(head, sizeof(head), "\n## [%s]", cfg_keys[i].section);
        snprintf(row, sizeof(row), "\n| `%s` |", cfg_keys[i].name);
        part = strstr(doc, head);
        if (part == NULL)
            fail_msg("docs/CONFIG.md has no '## [%s]' part", cfg_keys[i].section);
        /* the next part starts after this heading (offsets keep GCC's -Wstringop-overread calm) */
        next = strstr(doc + (size_t)(part - doc) + strlen(head), "\n## ");
        {
            const char *r = strstr(part, row);

            if (r == NULL || (next != NULL && r > next))
                fail_msg("docs/CONFIG.md [%s] has no row for '%s'", cfg_keys[i].section,
                         cfg_keys[i].name);
        }
    }
}

/* cfg_diff names the keys whose values differ, with both values, in the file's order. */
struct diff_seen {
    char text[512];
};

static void diff_cb(void *ctx, const char *section, const char *key, const char *a, const char *b)
{
    struct diff_seen *d = ctx;
    size_t n = strlen(d->text);

    snprintf(d->text + n, sizeof(d->text) - n, "[%s] %s: '%s' -> '%s'; ", section, key, a, b);
}

static void test_diff(void **state)
{
    struct cfg a, b;
    struct diff_seen seen = {""};

    (void)state;
    cfg_defaults(&a);
    cfg_defaults(&b);
    assert_int_equal(cfg_diff(&a, &b, diff_cb, &seen), 0);
    assert_string_equal(seen.text, "");
    b.upload.batch_bytes = 4096;
    b.log.modules[2] = RTE_LOG_DEBUG;
    snprintf(b.upload.url_str, sizeof(b.upload.url_str), "https://198.18.0.1/x");
    assert_int_equal(cfg_diff(&a, &b, diff_cb, &seen), 3);
    assert_string_equal(seen.text, "[upload] url: '' -> 'https://198.18.0.1/x'; "
                                   "[upload] batch_bytes: '262144' -> '4096'; "
                                   "[log] upload: '' -> 'debug'; ");
    assert_int_equal(cfg_diff(&b, &b, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_minimal, setup, teardown),
        cmocka_unit_test(test_shipped),
        cmocka_unit_test_setup_teardown(test_dump_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eal_argv, setup, teardown),
        cmocka_unit_test(test_docs),
        cmocka_unit_test(test_diff),
    };

    return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
