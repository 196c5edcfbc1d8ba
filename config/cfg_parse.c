/* SPDX-License-Identifier: MIT */
#include "cfg_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Writes a reason into |why| and returns -EINVAL, so parsers can `return fail(...)`. */
static int __attribute__((format(printf, 3, 4)))
fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int cfg_parse_u64(const char *s, bool suffix, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t whylen)
{
    unsigned int base = 10;
    uint64_t v = 0;
    const char *p = s;
    int shift = 0;

    if (*p == '-')
        return fail(why, whylen, "must not be negative");
    if (*p == '\0')
        return fail(why, whylen, "empty, expected a number");
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (hex_value(*p) < 0 || (base == 10 && !is_digit(*p)))
        return fail(why, whylen, "not a number");
    for (; *p != '\0'; p++) {
        int d = hex_value(*p);

        if (d < 0 || (unsigned int)d >= base)
            break;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return fail(why, whylen, "number too large");
        v = v * base + (uint64_t)d;
    }
    if (suffix && *p != '\0' && p[1] == '\0') {
        switch (*p) {
        case 'K':
        case 'k':
            shift = 10;
            break;
        case 'M':
        case 'm':
            shift = 20;
            break;
        case 'G':
        case 'g':
            shift = 30;
            break;
        default:
            break;
        }
        if (shift != 0) {
            if (v > (UINT64_MAX >> shift))
                return fail(why, whylen, "number too large");
            v <<= shift;
            p++;
        }
    }
    if (*p != '\0') {
        if (suffix)
            return fail(why, whylen, "trailing characters after the number (suffixes: K, M, G)");
        return fail(why, whylen, "trailing characters after the number");
    }
    if (v < min || v > max)
        return fail(why, whylen, "out of range %llu..%llu", (unsigned long long)min,
                    (unsigned long long)max);
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out, char *why, size_t whylen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return fail(why, whylen, "not a boolean (true/false, yes/no, on/off, 1/0)");
}

int cfg_parse_enum(const char *s, const char *const *names, unsigned int *out, char *why,
                   size_t whylen)
{
    char list[CFG_STR_MAX] = "";
    size_t used = 0;

    for (unsigned int i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    for (unsigned int i = 0; names[i] != NULL && used < sizeof(list); i++) {
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);

        if (n < 0)
            break;
        used += (size_t)n;
    }
    return fail(why, whylen, "must be one of: %s", list);
}

/* Reads a decimal lcore id at *p, advancing it. */
static int lcore_id(const char **p, unsigned int *id, char *why, size_t whylen)
{
    unsigned int v = 0;

    if (!is_digit(**p))
        return fail(why, whylen, "expected an lcore id at '%s'", *p);
    while (is_digit(**p)) {
        v = v * 10 + (unsigned int)(**p - '0');
        (*p)++;
        if (v >= CFG_LCORE_MAX)
            return fail(why, whylen, "lcore id above %d", CFG_LCORE_MAX - 1);
    }
    *id = v;
    return 0;
}

int cfg_parse_lcores(const char *s, struct cfg_lcores *out, char *why, size_t whylen)
{
    const char *p = s;

    memset(out, 0, sizeof(*out));
    if (*p == '\0')
        return fail(why, whylen, "empty lcore list");
    for (;;) {
        unsigned int lo, hi;

        if (lcore_id(&p, &lo, why, whylen) < 0)
            return -EINVAL;
        hi = lo;
        if (*p == '-') {
            p++;
            if (lcore_id(&p, &hi, why, whylen) < 0)
                return -EINVAL;
            if (hi < lo)
                return fail(why, whylen, "range %u-%u is backwards", lo, hi);
        }
        for (unsigned int l = lo; l <= hi; l++) {
            if (cfg_lcores_has(out, l))
                return fail(why, whylen, "lcore %u listed twice", l);
            out->bits[l / 64] |= UINT64_C(1) << (l % 64);
        }
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return fail(why, whylen, "unexpected '%c' (write ids and ranges like 0-3,6)", *p);
        p++;
    }
}

void cfg_format_lcores(const struct cfg_lcores *s, char *buf, size_t buflen)
{
    size_t used = 0;
    int l = cfg_lcores_next(s, -1);

    if (buflen == 0)
        return;
    buf[0] = '\0';
    while (l >= 0 && used < buflen) {
        int hi = l;
        int n;

        while (cfg_lcores_next(s, hi) == hi + 1)
            hi++;
        if (hi == l)
            n = snprintf(buf + used, buflen - used, "%s%d", used ? "," : "", l);
        else
            n = snprintf(buf + used, buflen - used, "%s%d-%d", used ? "," : "", l, hi);
        if (n < 0)
            return;
        used += (size_t)n;
        l = cfg_lcores_next(s, hi);
    }
}

int cfg_parse_ipv4(const char *s, rte_be32_t *out, char *why, size_t whylen)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
        return fail(why, whylen, "not an IPv4 address (a.b.c.d)");
    *out = a.s_addr;
    return 0;
}

int cfg_parse_ipv6(const char *s, struct in6_addr *out, char *why, size_t whylen)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t zero[12];

    if (inet_pton(AF_INET6, s, out) != 1)
        return fail(why, whylen, "not an IPv6 address (e.g. fd00::2, without brackets)");
    if (memcmp(out->s6_addr, zero, 12) == 0)
        return fail(why, whylen,
                    "the unspecified, loopback and IPv4-compatible addresses (::/96) cannot "
                    "be used");
    if (memcmp(out->s6_addr, mapped, 12) == 0)
        return fail(why, whylen, "an IPv4-mapped address (::ffff:0:0/96): give IPv4 as IPv4");
    if (out->s6_addr[0] == 0xff)
        return fail(why, whylen, "multicast addresses (ff00::/8) cannot be used");
    return 0;
}

int cfg_parse_ipv6_prefix(const char *s, struct in6_addr *ip, uint8_t *prefix_len, char *why,
                          size_t whylen)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    uint64_t plen;
    size_t n;

    if (slash == NULL)
        return fail(why, whylen, "missing /prefix-length (e.g. fd00::2/64)");
    n = (size_t)(slash - s);
    if (n >= sizeof(addr))
        return fail(why, whylen, "not an IPv6 address (e.g. fd00::2, without brackets)");
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (cfg_parse_ipv6(addr, ip, why, whylen) < 0)
        return -EINVAL;
    if (slash[1] == '\0' || !is_digit(slash[1]) ||
        cfg_parse_u64(slash + 1, false, 1, 128, &plen, NULL, 0) < 0)
        return fail(why, whylen, "prefix length must be 1..128");
    if (ip->s6_addr[0] == 0xfe && (ip->s6_addr[1] & 0xc0) == 0x80)
        return fail(why, whylen,
                    "a link-local address (fe80::/10): the port's own comes from its MAC; give "
                    "the global (or unique local) one");
    *prefix_len = (uint8_t)plen;
    return 0;
}

bool cfg_ipv6_same_prefix(const struct in6_addr *a, const struct in6_addr *b,
                          unsigned int prefix_len)
{
    unsigned int full = prefix_len / 8, rest = prefix_len % 8;

    if (prefix_len > 128 || memcmp(a->s6_addr, b->s6_addr, full) != 0)
        return false;
    return rest == 0 || ((a->s6_addr[full] ^ b->s6_addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

rte_be32_t cfg_ipv4_netmask(unsigned int prefix_len)
{
    if (prefix_len == 0)
        return 0;
    if (prefix_len >= 32)
        return UINT32_MAX;
    return rte_cpu_to_be_32(~(UINT32_MAX >> prefix_len));
}

int cfg_parse_ipv4_prefix(const char *s, rte_be32_t *ip, uint8_t *prefix_len, char *why,
                          size_t whylen)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    uint64_t plen;
    uint32_t host, mask;
    size_t n;

    if (slash == NULL)
        return fail(why, whylen, "missing /prefix-length (e.g. 198.18.0.2/24)");
    n = (size_t)(slash - s);
    if (n >= sizeof(addr))
        return fail(why, whylen, "not an IPv4 address (a.b.c.d)");
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (cfg_parse_ipv4(addr, ip, why, whylen) < 0)
        return -EINVAL;
    if (slash[1] == '\0' || !is_digit(slash[1]) ||
        cfg_parse_u64(slash + 1, false, 1, 32, &plen, NULL, 0) < 0)
        return fail(why, whylen, "prefix length must be 1..32");
    host = rte_be_to_cpu_32(*ip);
    if (host == 0)
        return fail(why, whylen, "the unspecified address 0.0.0.0 is not a host address");
    if ((host >> 24) == 127)
        return fail(why, whylen, "loopback addresses (127/8) cannot be used");
    if ((host >> 28) == 0xe)
        return fail(why, whylen, "multicast addresses (224/4) cannot be used");
    if ((host >> 28) == 0xf)
        return fail(why, whylen, "reserved/broadcast addresses (240/4) cannot be used");
    mask = rte_be_to_cpu_32(cfg_ipv4_netmask((unsigned int)plen));
    if (plen <= 30 && (host & ~mask) == 0)
        return fail(why, whylen, "is the network address of its prefix");
    if (plen <= 30 && (host & ~mask) == ~mask)
        return fail(why, whylen, "is the broadcast address of its prefix");
    *prefix_len = (uint8_t)plen;
    return 0;
}

int cfg_parse_mac(const char *s, struct rte_ether_addr *out, char *why, size_t whylen)
{
    const char *p = s;

    for (unsigned int i = 0; i < RTE_ETHER_ADDR_LEN; i++) {
        int hi = hex_value(p[0]);
        int lo = hi < 0 ? -1 : hex_value(p[1]);

        if (hi < 0 || lo < 0)
            return fail(why, whylen, "not a MAC address (aa:bb:cc:dd:ee:ff)");
        out->addr_bytes[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (i + 1 < RTE_ETHER_ADDR_LEN) {
            if (*p != ':')
                return fail(why, whylen, "not a MAC address (aa:bb:cc:dd:ee:ff)");
            p++;
        }
    }
    if (*p != '\0')
        return fail(why, whylen, "not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (!cfg_mac_is_set(out))
        return fail(why, whylen, "the all-zero MAC address is not a station address");
    if (out->addr_bytes[0] & RTE_ETHER_GROUP_ADDR)
        return fail(why, whylen, "a multicast/broadcast MAC address is not a station address");
    return 0;
}

/* Parses exactly |digits| hex digits (|digits| == 0: 1..8 digits) at *p. */
static int hex_field(const char **p, unsigned int digits, unsigned int *v)
{
    unsigned int n = 0;

    *v = 0;
    while (hex_value(**p) >= 0 && (digits == 0 ? n < 8 : n < digits)) {
        *v = *v << 4 | (unsigned int)hex_value(**p);
        (*p)++;
        n++;
    }
    return (n == 0 || (digits != 0 && n != digits)) ? -1 : 0;
}

/* Parses a PCI address "DDDD:BB:DD.F" or "BB:DD.F" into the full form. */
static int pci_addr(const char *s, size_t len, char *full, size_t fulllen)
{
    char tmp[32];
    const char *p = tmp;
    unsigned int dom = 0, bus, dev, fn;
    bool has_dom = false;
    int colons = 0;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < len; i++)
        colons += tmp[i] == ':';
    if (colons == 2) {
        has_dom = true;
    } else if (colons != 1) {
        return -1;
    }
    if (has_dom && (hex_field(&p, 4, &dom) < 0 || *p++ != ':'))
        return -1;
    if (hex_field(&p, 2, &bus) < 0 || *p++ != ':')
        return -1;
    if (hex_field(&p, 2, &dev) < 0 || *p++ != '.')
        return -1;
    if (hex_field(&p, 1, &fn) < 0 || *p != '\0')
        return -1;
    /* PCI: 32 devices per bus, 8 functions per device. */
    if (dev > 0x1f || fn > 7)
        return -1;
    snprintf(full, fulllen, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
    return 0;
}

int cfg_parse_device(const char *s, struct cfg_port *p, char *why, size_t whylen)
{
    const char *comma = strchr(s, ',');
    size_t namelen = comma ? (size_t)(comma - s) : strlen(s);

    if (namelen == 0)
        return fail(why, whylen, "empty device name");
    p->device_args[0] = '\0';
    if (comma != NULL) {
        const char *a = comma + 1;

        if (*a == '\0')
            return fail(why, whylen, "empty device arguments after ','");
        /* key=value pairs: a key is never empty. */
        for (const char *k = a; *k != '\0';) {
            const char *end = strchr(k, ',');
            const char *eq = strchr(k, '=');

            if (end == k || eq == k)
                return fail(why, whylen, "empty device argument name");
            k = end ? end + 1 : k + strlen(k);
            if (end && *k == '\0')
                return fail(why, whylen, "trailing ',' in device arguments");
        }
        snprintf(p->device_args, sizeof(p->device_args), "%s", a);
    }
    if (is_alpha(s[0]) && namelen > 2 && memchr(s, ':', namelen) == NULL) {
        for (size_t i = 0; i < namelen; i++) {
            if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
                return fail(why, whylen,
                            "vdev name may hold letters, digits and '_' only (e.g. net_tap0)");
        }
        memcpy(p->device_name, s, namelen);
        p->device_name[namelen] = '\0';
        p->device_kind = CFG_DEVICE_VDEV;
        return 0;
    }
    if (pci_addr(s, namelen, p->device_name, sizeof(p->device_name)) < 0)
        return fail(why, whylen,
                    "neither a PCI address (0000:03:00.0) nor a vdev (net_tap0,iface=h3dp0)");
    p->device_kind = CFG_DEVICE_PCI;
    return 0;
}

int cfg_split_words(const char *s, char *buf, size_t buflen, unsigned int *count, char *why,
                    size_t whylen)
{
    size_t used = 0;
    unsigned int n = 0;
    const char *p = s;

    for (;;) {
        bool in_word = false;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        while (*p != '\0' && (*p != ' ' && *p != '\t')) {
            char ch = *p++;

            in_word = true;
            if (ch == '"') {
                while (*p != '"') {
                    if (*p == '\0')
                        return fail(why, whylen, "unterminated double quote");
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    if (used + 1 >= buflen)
                        return fail(why, whylen, "too long");
                    buf[used++] = *p++;
                }
                p++;
                continue;
            }
            if (used + 1 >= buflen)
                return fail(why, whylen, "too long");
            buf[used++] = ch;
        }
        if (in_word) {
            if (used + 1 > buflen)
                return fail(why, whylen, "too long");
            buf[used++] = '\0';
            n++;
        }
    }
    *count = n;
    return 0;
}

int cfg_parse_servers(const char *s, struct net_addr *addrs, uint16_t *ports, unsigned int max,
                      unsigned int *n, char *why, size_t whylen)
{
    const char *p = s;
    unsigned int k = 0;

    *n = 0;
    while (*p) {
        char item[INET6_ADDRSTRLEN + 16], host[sizeof(item)];
        const char *e = p + strcspn(p, ","), *colon, *bad;
        size_t len;
        uint64_t port = 0;

        while (*p == ' ' || *p == '\t')
            p++;
        len = (size_t)(e - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            return fail(why, whylen, "empty server in the list");
        if (len >= sizeof(item))
            return fail(why, whylen, "server %u is too long", k + 1);
        if (k == max)
            return fail(why, whylen, "more than %u servers", max);
        memcpy(item, p, len);
        item[len] = '\0';
        colon = NULL;
        if (item[0] == '[') {
            char *rb = strchr(item, ']');
            if (!rb || (rb[1] != '\0' && rb[1] != ':'))
                return fail(why, whylen, "server %u: '[' without ']' or junk after it", k + 1);
            *rb = '\0';
            snprintf(host, sizeof(host), "%s", item + 1);
            colon = rb[1] == ':' ? rb + 1 : NULL;
        } else {
            colon = strchr(item, ':');
            if (colon && strchr(colon + 1, ':'))
                colon = NULL; /* a bare IPv6 address: no port */
            snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - item) : (int)len, item);
        }
        if (colon && (cfg_parse_u64(colon + 1, false, 1, 65535, &port, NULL, 0) < 0 ||
                      colon[1] == '0'))
            return fail(why, whylen, "server %u: port must be 1..65535", k + 1);
        if (net_addr_parse(host, &addrs[k]) < 0)
            return fail(why, whylen, "server %u: not an IP address (%s)", k + 1, host);
        if ((bad = net_addr_not_unicast(&addrs[k])) != NULL)
            return fail(why, whylen, "server %u: %s is %s", k + 1, host, bad);
        ports[k++] = (uint16_t)port;
        p = *e ? e + 1 : e;
        if (*e && *p == '\0')
            return fail(why, whylen, "empty server in the list");
    }
    if (k == 0)
        return fail(why, whylen, "no server");
    *n = k;
    return 0;
}

int cfg_parse_listen(const char *s, struct net_addr *addr, uint16_t *port, char *why,
                     size_t whylen)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon, *bad;
    uint64_t n;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return fail(why, whylen, "expected ADDR:PORT or [IPv6]:PORT");
        colon = rb + 1;
        if ((size_t)(rb - s - 1) >= sizeof(host))
            return fail(why, whylen, "not an IP address");
        snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return fail(why, whylen, "expected ADDR:PORT (an IPv6 address goes in brackets: "
                                     "[::1]:9100)");
        if ((size_t)(colon - s) >= sizeof(host))
            return fail(why, whylen, "not an IP address");
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    if (net_addr_parse(host, addr) < 0 || (s[0] == '[') != (addr->family == AF_INET6))
        return fail(why, whylen, "'%s' is not an IP address", host);
    bad = net_addr_not_unicast(addr);
    if (bad && strcmp(bad, "the unspecified address") != 0)
        return fail(why, whylen, "%s is %s", host, bad);
    if (colon[1] == '0' || cfg_parse_u64(colon + 1, false, 1, 65535, &n, NULL, 0) < 0)
        return fail(why, whylen, "port must be 1..65535");
    *port = (uint16_t)n;
    return 0;
}
