/* d_dns.c: the daemon's resolver and its two I/O backends (see d_dns.h). */
#include "d_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ares.h>
#include <rte_errno.h>

#include "cfg.h"
#include "d_log.h"
#include "d_loop.h"
#include "dp.h"
#include "dp_local.h"

#define D_DNS_RX_MAX 1500 /* a UDP answer (no EDNS: 512 bytes; a little room) */

struct d_dns {
    struct net_resolv *r;
    struct net_resolv_conf conf;
    struct dp_local *local; /* io = dpdk */
    int fd4, fd6;           /* io = kernel; -1: none */
    struct d_loop *loop;
    char unusable[256]; /* why no lookup can run ("" when one can) */
    d_dns_done_fn *done;
    void *done_ctx;
    uint64_t rx_dropped; /* datagrams the resolver did not take */
};

/* ---------------------------------------------------------------- I/O backends */

static int send_local(void *ctx, const struct net_addr *server, uint16_t port, const uint8_t *msg,
                      size_t len)
{
    struct d_dns *d = ctx;
    struct dp_addr dst;

    if (server->family == AF_INET)
        dst = dp_addr_v4(server->u.v4.s_addr);
    else if (server->family == AF_INET6)
        dst = dp_addr_v6(server->u.v6.s6_addr);
    else
        return -EAFNOSUPPORT;
    return dp_local_send(d->local, &dst, port, msg, len);
}

static void rx_local(void *arg, const struct dp_addr *src, uint16_t src_port,
                     const uint8_t *payload, uint16_t len, uint64_t now_ns)
{
    struct d_dns *d = arg;
    struct net_addr from = {.family = AF_INET6};

    if (dp_addr_is_v4(src))
        from = net_addr_v4(dp_addr_get_v4(src));
    else
        memcpy(&from.u.v6, src->b, sizeof(from.u.v6));

    if (net_resolv_input(d->r, &from, src_port, payload, len, now_ns) < 0)
        d->rx_dropped++;
}

static int send_kernel(void *ctx, const struct net_addr *server, uint16_t port, const uint8_t *msg,
                       size_t len)
{
    struct d_dns *d = ctx;
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_sockaddr(server, port, &ss);
    int fd = server->family == AF_INET6 ? d->fd6 : d->fd4;

    if (fd < 0 || sl == 0)
        return -EAFNOSUPPORT;
    if (sendto(fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
        return -errno;
    return 0;
}

static void rx_kernel(void *ctx, int fd, uint64_t now)
{
    struct d_dns *d = ctx;
    uint8_t buf[D_DNS_RX_MAX];

    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct net_addr from;
        uint16_t port;
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            return;
        if (net_addr_from_sockaddr((struct sockaddr *)&ss, &from, &port) < 0 ||
            net_resolv_input(d->r, &from, port, buf, (size_t)n, now) < 0)
            d->rx_dropped++;
    }
}

static int kernel_socket(struct d_dns *d, int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err;

    if (fd < 0)
        return -errno;
    if ((err = d_loop_watch(d->loop, fd, rx_kernel, d)) < 0) {
        close(fd);
        return err;
    }
    return fd;
}

/* ---------------------------------------------------------------- servers */

/* The nameserver lines of /etc/resolv.conf, read by c-ares. */
static void system_servers(struct net_resolv_conf *rc, char *why, size_t whylen)
{
    struct ares_addr_port_node *list = NULL;
    ares_channel ch;
    int rv;

    if ((rv = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
        (rv = ares_init(&ch)) != ARES_SUCCESS) {
        snprintf(why, whylen, "cannot read /etc/resolv.conf: %s", ares_strerror(rv));
        return;
    }
    if ((rv = ares_get_servers_ports(ch, &list)) != ARES_SUCCESS)
        snprintf(why, whylen, "cannot read /etc/resolv.conf: %s", ares_strerror(rv));
    for (struct ares_addr_port_node *n = list; n && rc->nservers < NET_RESOLV_MAX_SERVERS;
         n = n->next) {
        struct net_resolv_server *s = &rc->servers[rc->nservers];
        memset(s, 0, sizeof(*s));
        if (n->family == AF_INET) {
            s->addr = net_addr_v4(n->addr.addr4.s_addr);
        } else if (n->family == AF_INET6) {
            s->addr.family = AF_INET6;
            memcpy(&s->addr.u.v6, &n->addr.addr6, sizeof(s->addr.u.v6));
        } else {
            continue;
        }
        s->port = n->udp_port > 0 && n->udp_port < 65536 ? (uint16_t)n->udp_port : 0;
        rc->nservers++;
    }
    ares_free_data(list);
    ares_destroy(ch);
    ares_library_cleanup();
}

/* Keeps the servers the backend can reach; says why when none is left. */
static void usable_servers(struct d_dns *d, bool dpdk, bool dpdk6, bool from_system)
{
    struct net_resolv_conf *rc = &d->conf;
    unsigned k = 0;
    char first_bad[128] = "";

    for (unsigned i = 0; i < rc->nservers; i++) {
        const struct net_addr *a = &rc->servers[i].addr;
        char ip[NET_ADDR_STR_MAX];
        const char *why = NULL;
        if (dpdk && a->family == AF_INET6 && !dpdk6)
            why = "an IPv6 server, and the DPDK port has no IPv6 address ([port] ip6)";
        else if (dpdk && net_addr_is_loopback(a))
            why = "a loopback address, not reachable through the DPDK port";
        if (why) {
            if (!first_bad[0])
                snprintf(first_bad, sizeof(first_bad), "%s: %s", net_addr_str(a, ip, sizeof(ip)),
                         why);
            continue;
        }
        rc->servers[k++] = rc->servers[i];
    }
    rc->nservers = k;
    if (k == 0 && !d->unusable[0])
        snprintf(d->unusable, sizeof(d->unusable), "no usable DNS server%s%s%s; set [dns] servers",
                 first_bad[0] ? " (" : "", first_bad, first_bad[0] ? ")" : "");
    if (k == 0 && from_system && first_bad[0] == '\0' && !d->unusable[0])
        snprintf(d->unusable, sizeof(d->unusable),
                 "no nameserver in /etc/resolv.conf; set [dns] servers");
}

/* ---------------------------------------------------------------- API */

static void on_done(void *ctx, const char *name, const struct net_resolv_result *res)
{
    struct d_dns *d = ctx;

    if (res->status < 0)
        D_LOG(WARNING, "dns: %s", res->why);
    if (d->done)
        d->done(d->done_ctx, name, res);
}

struct d_dns *d_dns_new(const struct cfg *c, struct dp *dp, struct d_loop *loop, int *err,
                        char *why, size_t whylen)
{
    struct d_dns *d = calloc(1, sizeof(*d));
    bool from_system = c->dns.n_servers == 0;
    int rv;

    if (!d) {
        *err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    d->fd4 = d->fd6 = -1;
    d->loop = loop;
    net_resolv_conf_default(&d->conf);
    d->conf.timeout_ms = c->dns.timeout_ms;
    d->conf.attempts = c->dns.attempts;
    for (unsigned i = 0; i < c->dns.n_servers && i < NET_RESOLV_MAX_SERVERS; i++) {
        d->conf.servers[i].addr = c->dns.servers[i];
        d->conf.servers[i].port = c->dns.ports[i];
        d->conf.nservers++;
    }
    if (from_system)
        system_servers(&d->conf, d->unusable, sizeof(d->unusable));
    usable_servers(d, dp != NULL, dp != NULL && dp_ipv6(dp) != NULL, from_system);

    struct net_resolv_io io = {.send = dp ? send_local : send_kernel};
    if (dp) {
        d->local = dp_local_open(dp, 0, rx_local, d);
        if (!d->local) {
            rv = -rte_errno;
            snprintf(why, whylen, "DNS endpoint on the dataplane port: %s", strerror(-rv));
            goto fail;
        }
    } else {
        bool v4 = false, v6 = false;
        for (unsigned i = 0; i < d->conf.nservers; i++) {
            v4 |= d->conf.servers[i].addr.family == AF_INET;
            v6 |= d->conf.servers[i].addr.family == AF_INET6;
        }
        if ((v4 && (d->fd4 = kernel_socket(d, AF_INET)) < 0) ||
            (v6 && (d->fd6 = kernel_socket(d, AF_INET6)) < 0)) {
            rv = v4 && d->fd4 < 0 ? d->fd4 : d->fd6;
            snprintf(why, whylen, "DNS socket: %s", strerror(-rv));
            goto fail;
        }
    }
    if (d->conf.nservers) {
        rv = net_resolv_new(&d->conf, &io, d, on_done, d, &d->r);
        if (rv < 0) {
            snprintf(why, whylen, "cannot start: %s", net_resolv_strerror(rv));
            rv = rv == NET_RESOLV_ERR_NOMEM ? -ENOMEM : -EINVAL;
            goto fail;
        }
    }
    if (d->unusable[0])
        D_LOG(WARNING, "dns: %s: collector names will not resolve", d->unusable);
    return d;
fail:
    d_dns_del(d);
    *err = rv;
    return NULL;
}

void d_dns_del(struct d_dns *d)
{
    if (!d)
        return;
    net_resolv_del(d->r);
    dp_local_close(d->local);
    for (int *fd = &d->fd4; fd <= &d->fd6; fd++)
        if (*fd >= 0) {
            d_loop_unwatch(d->loop, *fd);
            close(*fd);
        }
    free(d);
}

int d_dns_lookup(struct d_dns *d, const char *name, uint64_t now, struct net_resolv_result *res)
{
    if (!d->r) {
        memset(res, 0, sizeof(*res));
        res->status = NET_RESOLV_ERR_SERVER;
        snprintf(res->why, sizeof(res->why), "%s: %s", name, d->unusable);
        return res->status;
    }
    return net_resolv_lookup(d->r, name, now, res);
}

void d_dns_set_done(struct d_dns *d, d_dns_done_fn *fn, void *ctx)
{
    d->done = fn;
    d->done_ctx = ctx;
}

/* struct up_resolver's lookup: addresses now (cached and fresh), 0 while pending, -1 with
 * the reason. Expired addresses are not used while their refresh is in flight: a new
 * connection waits the round trip to the DNS server rather than go where the name no
 * longer points (a collector moved by DNS; connections already open stay). */
static int up_lookup(void *ctx, const char *name, uint64_t now, struct net_addr *out, unsigned max,
                     unsigned *n, char *why, size_t whylen)
{
    struct net_resolv_result res;
    int rv = d_dns_lookup(ctx, name, now, &res);

    *n = 0;
    if (rv < 0 || (rv == 0 && res.status < 0)) {
        snprintf(why, whylen, "%s", res.why);
        return -1;
    }
    if (rv == NET_RESOLV_PENDING)
        return 0;
    for (unsigned i = 0; i < res.n4 && *n < max; i++)
        out[(*n)++] = res.v4[i];
    for (unsigned i = 0; i < res.n6 && *n < max; i++)
        out[(*n)++] = res.v6[i];
    return *n ? 1 : 0;
}

static void up_invalidate(void *ctx, const char *name)
{
    struct d_dns *d = ctx;

    if (d->r)
        net_resolv_invalidate(d->r, name);
}

struct up_resolver d_dns_resolver(struct d_dns *d)
{
    return (struct up_resolver){.lookup = up_lookup, .invalidate = up_invalidate, .ctx = d};
}

void d_dns_poll(struct d_dns *d, uint64_t now)
{
    if (d->r && net_resolv_expiry(d->r) <= now)
        net_resolv_on_expiry(d->r, now);
}

int d_dns_timeout_ms(const struct d_dns *d, uint64_t now)
{
    uint64_t at = d->r ? net_resolv_expiry(d->r) : UINT64_MAX;

    if (at == UINT64_MAX)
        return -1;
    return at <= now ? 0
                     : (int)((at - now + 999999) / 1000000 > 60000 ? 60000
                                                                   : (at - now + 999999) / 1000000);
}

json_t *d_dns_stats_json(const struct d_dns *d)
{
    struct net_resolv_stats st = {0};
    json_t *servers = json_array();

    for (unsigned i = 0; servers && i < d->conf.nservers; i++) {
        char ip[NET_ADDR_STR_MAX], s[NET_ADDR_STR_MAX + 8];
        const struct net_resolv_server *v = &d->conf.servers[i];
        net_addr_str(&v->addr, ip, sizeof(ip));
        snprintf(s, sizeof(s), v->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
                 v->port ? v->port : NET_RESOLV_DNS_PORT);
        json_array_append_new(servers, json_string(s));
    }
    if (d->r)
        net_resolv_stats(d->r, &st);
    return json_pack("{s:s, s:o, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "io",
                     d->local ? "dpdk" : "kernel", "servers", servers, "unusable",
                     d->unusable[0] ? d->unusable : NULL, "lookups", (json_int_t)st.lookups,
                     "cache_hits", (json_int_t)st.cache_hits, "queries_sent",
                     (json_int_t)st.queries_sent, "answers", (json_int_t)st.answers, "timeouts",
                     (json_int_t)st.timeouts, "nxdomain", (json_int_t)st.nxdomain, "failed",
                     (json_int_t)st.failed, "rx_dropped", (json_int_t)d->rx_dropped);
}
