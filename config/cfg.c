/* SPDX-License-Identifier: MIT */
/*
 * cfg: loading the INI file.
 *
 * Two passes over the file:
 *  0. The file is read once, whole, if it is a regular file of at most
 *     CFG_FILE_MAX bytes (bfile.h); both passes read these bytes.
 *  1. scan(): our own line-by-line reading, which mirrors rte_cfgfile's
 *     grammar. rte_cfgfile_load() only says "NULL" when a line is bad, and
 *     silently skips lines it does not understand or truncates long names;
 *     the scan rejects all of these with the line number, and records the
 *     line of every section and entry for later messages.
 *  2. rte_cfgfile_load() reads them (through a memfd: it takes a path); we walk its sections and entries by
 *     index (the same order as the scan), look each key up in the key table
 *     (cfg_keys.c), parse it into struct cfg, then close the handle.
 * Cross-key rules run last, once every key is known.
 */
#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cfgfile.h>

#include "bfile.h"

#include "cfg_keys.h"
#include "cfg_parse.h"

_Static_assert(CFG_LCORE_MAX == RTE_MAX_LCORE, "CFG_LCORE_MAX must follow RTE_MAX_LCORE");
_Static_assert(CFG_STR_MAX == CFG_VALUE_LEN, "CFG_STR_MAX must follow rte_cfgfile's CFG_VALUE_LEN");

/* rte_cfgfile reads lines with fgets() into CFG_NAME_LEN + CFG_VALUE_LEN + 4 bytes. */
#define CFG_LINE_MAX (CFG_NAME_LEN + CFG_VALUE_LEN + 2)
/* rte_cfgfile_load()'s comment character (CFG_DEFAULT_COMMENT_CHARACTER). */
#define CFG_COMMENT ';'

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

/* ------------------------------------------------------------------ */
/* Error messages                                                        */

struct loader {
    const char *path;
    char *err;
    size_t errlen;
    int key_line[CFG_NKEYS_MAX]; /* line of each key given in the file, 0: not given */
    int section_line[CFG_NSECTIONS_MAX];
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
    cfg_keys[ki].dump(&cfg_keys[ki], c, value, sizeof(value));
    return report(ld, ld->key_line[ki], cfg_keys[ki].section, cfg_keys[ki].name,
                  ld->key_line[ki] ? value : NULL, "%s", why);
}

static size_t key_index(const char *section, const char *name)
{
    int i = cfg_key_find(section, name);

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
    if (lineno == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        return report(ld, lineno, NULL, NULL, NULL,
                      "file starts with a UTF-8 byte order mark: save it without one");
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

static int scan(struct loader *ld, const char *text, size_t len)
{
    FILE *f = fmemopen((void *)text, len, "r");
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    int rc = 0;

    if (len == 0)
        return 0; /* fmemopen() refuses a size of 0: an empty file has no line */
    if (f == NULL)
        return report(ld, 0, NULL, NULL, NULL, "cannot read: %s", strerror(errno));
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        rc = scan_line(ld, buf, (size_t)n, lineno);
    }
    free(buf);
    fclose(f);
    return rc;
}

/*
 * The file's bytes as a file of their own for rte_cfgfile_load(), which takes a path: a
 * memfd named through /proc, so both passes read the same bytes however |path| changes.
 * Returns the descriptor (its name in |name|) or -1 with the reason reported.
 */
static int text_file(struct loader *ld, const char *text, size_t len, char *name, size_t namelen)
{
    int fd = memfd_create("h3dp-cfg", MFD_CLOEXEC);
    size_t off = 0;

    if (fd < 0)
        return report(ld, 0, NULL, NULL, NULL, "memfd: %s", strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            report(ld, 0, NULL, NULL, NULL, "memfd: %s", strerror(w < 0 ? errno : EIO));
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(name, namelen, "/proc/self/fd/%d", fd);
    return fd;
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
        int si = cfg_section_find(name);
        int hline = ld->hdr_line[s];

        if (si < 0) {
            char known[128] = "";

            for (size_t i = 0; i < cfg_nsections; i++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                         i ? ", " : "", cfg_sections[i]);
            return report(ld, hline, name, NULL, NULL, "unknown section (known: %s)", known);
        }
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
            int ki = cfg_key_find(name, ent[i].name);
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
            if (cfg_keys[ki].parse(&cfg_keys[ki], ent[i].value, c, why, sizeof(why)) < 0) {
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
    const size_t kc = key_index("eal", "cpus");
    struct cfg_lcores *w = &c->dataplane.workers;

    if (c->eal.n_cpus && c->eal.n_cpus != cfg_lcores_count(&c->eal.lcores))
        return report_key(ld, c, kc, "%u CPUs for %u lcores: give one CPU per lcore",
                          c->eal.n_cpus, cfg_lcores_count(&c->eal.lcores));

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

static bool given(const struct loader *ld, const char *section, const char *name)
{
    return ld->key_line[key_index(section, name)] != 0;
}

/* [port] ip6 and the keys that need it. */
static int check_port6(struct loader *ld, struct cfg *c)
{
    const size_t kg = key_index("port", "gateway6");
    const struct cfg_port *p = &c->port;
    const struct in6_addr *g = &p->gateway6;
    bool gw = !IN6_IS_ADDR_UNSPECIFIED(g);

    if (!p->ip6_set) {
        if (gw)
            return report_key(ld, c, kg, "given without [port] ip6");
        if (cfg_mac_is_set(&p->gateway6_mac))
            return report_key(ld, c, key_index("port", "gateway6_mac"), "given without [port] ip6");
        if (p->accept_ra)
            return report_key(ld, c, key_index("port", "accept_ra"), "given without [port] ip6");
        return 0;
    }
    if (p->mtu < 1280) /* RFC 8200 5: the minimum link MTU of IPv6 */
        return report_key(
            ld, c, given(ld, "port", "mtu") ? key_index("port", "mtu") : key_index("port", "ip6"),
            "IPv6 needs an MTU of at least 1280 (RFC 8200 5), [port] mtu is %u", p->mtu);
    if (gw) {
        if (IN6_ARE_ADDR_EQUAL(g, &p->ip6))
            return report_key(ld, c, kg, "is our own address");
        if (!IN6_IS_ADDR_LINKLOCAL(g) && !cfg_ipv6_same_prefix(g, &p->ip6, p->prefix6_len))
            return report_key(ld, c, kg,
                              "neither link-local (fe80::/10) nor inside [port] ip6's prefix /%u",
                              p->prefix6_len);
    } else if (cfg_mac_is_set(&p->gateway6_mac)) {
        return report_key(ld, c, key_index("port", "gateway6_mac"),
                          "given without [port] gateway6");
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
    return check_port6(ld, c);
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
    /* Every connection of the DPDK path is a flow of its worker: more connections than
     * flows would fail to open one by one at run time. */
    if (d->io == CFG_IO_DPDK && c->h3.max_connections > d->max_flows) {
        if (given(ld, "h3", "max_connections"))
            return report_key(ld, c, key_index("h3", "max_connections"),
                              "must be at most [dataplane] max_flows (%u): each connection "
                              "is a flow",
                              d->max_flows);
        return report_key(ld, c, key_index("dataplane", "max_flows"),
                          "must be at least [h3] max_connections (%u): each connection is a "
                          "flow",
                          c->h3.max_connections);
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

static int check_upload_urls(struct loader *ld, struct cfg *c)
{
    for (unsigned int i = 0; i < c->upload.n_urls; i++)
        if (c->upload.urls[i].kind == NET_HOST_IPV6 && c->dataplane.io == CFG_IO_DPDK &&
            !c->port.ip6_set)
            return report_key(ld, c, key_index("upload", "url"),
                              "%s: an IPv6 collector, and the DPDK port has no IPv6 address "
                              "(set [port] ip6)",
                              c->upload.urls[i].host);
    return 0;
}

struct net_addr cfg_port_addr(const struct cfg *c, sa_family_t family)
{
    struct net_addr a = {0};

    if (family == AF_INET && c->port.ip != 0)
        a = net_addr_v4(c->port.ip);
    else if (family == AF_INET6 && c->port.ip6_set) {
        a.family = AF_INET6;
        a.u.v6 = c->port.ip6;
    }
    return a;
}

/* On the DPDK path a collector cannot be a loopback address nor the port's own. */
static int check_upload_peers(struct loader *ld, struct cfg *c)
{
    for (unsigned int i = 0; i < c->upload.n_urls; i++) {
        const struct net_url *u = &c->upload.urls[i];
        struct net_addr self = cfg_port_addr(c, u->addr.family);
        const char *bad = u->kind == NET_HOST_NAME
                              ? NULL
                              : net_addr_not_peer(&u->addr, c->dataplane.io == CFG_IO_DPDK, &self);
        if (bad)
            return report_key(ld, c, key_index("upload", "url"), "%s is %s, not a collector",
                              u->host, bad);
    }
    return 0;
}

static int check_compress(struct loader *ld, struct cfg *c)
{
    const struct cfg_upload *u = &c->upload;
    unsigned int max = u->compress == CFG_COMPRESS_GZIP ? 9 : 19;

    if (u->compress_level == 0)
        return 0;
    if (u->compress == CFG_COMPRESS_NONE)
        return report_key(ld, c, key_index("upload", "compress_level"),
                          "given without [upload] compress");
    if (u->compress_level > max)
        return report_key(ld, c, key_index("upload", "compress_level"),
                          "%s levels are 1..%u", cfg_compress_name(u->compress), max);
    return 0;
}

static int check_tls(struct loader *ld, struct cfg *c)
{
    const struct cfg_tls *t = &c->tls;

    if (!t->cert_file[0] != !t->key_file[0])
        return report_key(ld, c, key_index("tls", t->cert_file[0] ? "cert_file" : "key_file"),
                          "needs [tls] %s too (a client certificate and its key go together)",
                          t->cert_file[0] ? "key_file" : "cert_file");
    return 0;
}

static int check(struct loader *ld, struct cfg *c)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        bool needed = !(cfg_keys[i].flags & CFG_K_DPDK) || c->dataplane.io == CFG_IO_DPDK;

        if ((cfg_keys[i].flags & CFG_K_REQUIRED) && needed && ld->key_line[i] == 0)
            return report(ld, 0, cfg_keys[i].section, cfg_keys[i].name, NULL,
                          "required key is missing");
    }
    if (check_lcores(ld, c) < 0 || check_port(ld, c) < 0 || check_dataplane(ld, c) < 0 ||
        check_h3_upload(ld, c) < 0 || check_upload_urls(ld, c) < 0 || check_upload_peers(ld, c) < 0 ||
        check_compress(ld, c) < 0 || check_tls(ld, c) < 0)
        return -1;
    return 0;
}

int cfg_load(const char *path, struct cfg *c, char *err, size_t errlen)
{
    struct loader ld;
    struct rte_cfgfile *file;
    char why[160], name[64];
    char *text = NULL;
    size_t len = 0;
    int rc = -1, rv, fd;

    memset(&ld, 0, sizeof(ld));
    ld.path = path;
    ld.err = err;
    ld.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    cfg_defaults(c);

    /* Read once, bounded: a FIFO, a device or a huge file is refused before a byte. */
    if ((rv = bfile_read(path, CFG_FILE_MAX, &text, &len, why, sizeof(why))) < 0) {
        report(&ld, 0, NULL, NULL, NULL, "%s", why);
        goto out;
    }
    if (scan(&ld, text, len) < 0)
        goto out;
    if ((fd = text_file(&ld, text, len, name, sizeof(name))) < 0)
        goto out;
    file = rte_cfgfile_load(name, CFG_FLAG_EMPTY_VALUES);
    close(fd);
    if (file == NULL) {
        report(&ld, 0, NULL, NULL, NULL, "rte_cfgfile could not read the file");
        goto out;
    }
    rc = load_entries(&ld, file, c);
    rte_cfgfile_close(file);
    if (rc == 0)
        rc = check(&ld, c);
out:
    free(text);
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
    if (c->eal.n_cpus) {
        /* --lcores L@C,...: lcore L runs on CPU C (several lcores may share a CPU). */
        char map[CFG_STR_MAX];
        size_t n = 0;
        unsigned int i = 0;
        for (int l = cfg_lcores_next(&c->eal.lcores, -1); l >= 0 && i < c->eal.n_cpus;
             l = cfg_lcores_next(&c->eal.lcores, l), i++) {
            int k = snprintf(map + n, sizeof(map) - n, "%s%d@%u", i ? "," : "", l,
                             c->eal.cpus[i]);
            if (k < 0 || (size_t)k >= sizeof(map) - n)
                goto toolong;
            n += (size_t)k;
        }
        if (push_arg(out, &used, prog) < 0 || push_arg(out, &used, "--lcores") < 0 ||
            push_arg(out, &used, map) < 0)
            goto toolong;
    } else if (push_arg(out, &used, prog) < 0 || push_arg(out, &used, "-l") < 0 ||
               push_arg(out, &used, c->eal.lcores_str) < 0) {
        goto toolong;
    }
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

/* Writes |v| with its first ';' as "\;" so rte_cfgfile does not take it for a comment: it
 * looks at the first ';' only, and the rest are read as they are. Escaping only that one
 * keeps the line no longer than the one it was read from (found by fuzz_cfg: a value of
 * 255 characters that held "\;" then ";" came back 256 long, refused). */
static void put_value(FILE *f, const char *v)
{
    bool escaped = false;

    for (; *v != '\0'; v++) {
        if (*v == CFG_COMMENT && !escaped) {
            fputc('\\', f);
            escaped = true;
        }
        fputc(*v, f);
    }
}

int cfg_dump(const struct cfg *c, FILE *f)
{
    const char *section = NULL;

    for (size_t i = 0; i < cfg_nkeys; i++) {
        char v[CFG_STR_MAX * 2];

        if (section == NULL || strcmp(section, cfg_keys[i].section) != 0) {
            section = cfg_keys[i].section;
            fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
        }
        cfg_keys[i].dump(&cfg_keys[i], c, v, sizeof(v));
        /* Optional keys left unset are left out; a defaulted worker set is implied. */
        if (v[0] == '\0')
            continue;
        fprintf(f, "%s = ", cfg_keys[i].name);
        put_value(f, v);
        fputc('\n', f);
    }
    return (fflush(f) != 0 || ferror(f)) ? -EIO : 0;
}

unsigned int cfg_diff(const struct cfg *a, const struct cfg *b, cfg_diff_fn *fn, void *ctx)
{
    unsigned int n = 0;

    for (size_t i = 0; i < cfg_nkeys; i++) {
        char va[CFG_STR_MAX * 2], vb[CFG_STR_MAX * 2];

        cfg_keys[i].dump(&cfg_keys[i], a, va, sizeof(va));
        cfg_keys[i].dump(&cfg_keys[i], b, vb, sizeof(vb));
        if (strcmp(va, vb) == 0)
            continue;
        n++;
        if (fn)
            fn(ctx, cfg_keys[i].section, cfg_keys[i].name, va, vb);
    }
    return n;
}
