/* up_target.c: the collectors — the failover list of URLs, the endpoints each stands for
 * (an IP literal's address, or every address of a name from the resolver, refreshed when
 * its TTL runs out), and which endpoint new connections go to: the first one that works.
 * A connection that never comes up moves the cursor to the next endpoint; when every
 * endpoint of the list failed in a row the pool backs off, and a name whose addresses all
 * failed is resolved again. Away from the first collector, the first one is tried again
 * every UP_FAILBACK_NS. Main thread only. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "up_int.h"

#define UP_FAILBACK_NS (60ull * 1000000000ull)

/* Copies |src| into |dst| (|cap| bytes), cut short if it must be. */
static void set_text(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

int up_targets_set(struct up *u, const char *list, char *why, size_t whylen)
{
    struct net_url parsed[UP_URLS_MAX];
    char reason[256];
    unsigned n;

    if (net_url_list_parse(list, 0, parsed, UP_URLS_MAX, &n, reason, sizeof(reason)) < 0) {
        snprintf(why, whylen, "%s (got '%s')", reason, list);
        return -EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct net_url *p = &parsed[i];
        if (p->kind == NET_HOST_NAME && !u->resolver.lookup) {
            snprintf(why, whylen, "'%s' is a name and no resolver is configured", p->host);
            return -EINVAL;
        }
        if (p->kind == NET_HOST_IPV6 && !u->ipv6) {
            snprintf(why, whylen,
                     "%s: an IPv6 collector, and the DPDK port has no IPv6 address ([port] ip6) "
                     "(got '%s')",
                     p->host, list);
            return -EINVAL;
        }
        if (p->kind != NET_HOST_NAME && net_addr_not_unicast(&p->addr)) {
            snprintf(why, whylen, "%s is %s, not a collector (got '%s')", p->host,
                     net_addr_not_unicast(&p->addr), list);
            return -EINVAL;
        }
    }
    memset(u->urls, 0, sizeof(u->urls));
    for (unsigned i = 0; i < n; i++) {
        struct up_url *t = &u->urls[i];
        t->u = parsed[i];
        net_url_origin(&t->u, t->origin, sizeof(t->origin));
        net_url_format(&t->u, t->target, sizeof(t->target));
        if (t->u.kind == NET_HOST_NAME) {
            t->resolving = true;
        } else {
            t->ep[0].addr = t->u.addr;
            t->n_ep = 1;
        }
    }
    u->n_urls = n;
    u->cur_url = u->cur_ep = 0;
    u->cycle_failures = 0;
    u->failback_at = 0;
    snprintf(u->target_list, sizeof(u->target_list), "%s", list);
    return 0;
}

static unsigned n_endpoints(const struct up *u)
{
    unsigned n = 0;

    for (unsigned i = 0; i < u->n_urls; i++)
        n += u->urls[i].n_ep ? u->urls[i].n_ep : 1; /* a name without addresses counts once */
    return n;
}

/* Moves the cursor to the next endpoint of the list (wrapping). */
static void advance(struct up *u)
{
    const struct up_url *t = &u->urls[u->cur_url];

    if (u->cur_ep + 1 < t->n_ep) {
        u->cur_ep++;
        return;
    }
    u->cur_ep = 0;
    u->cur_url = (u->cur_url + 1) % u->n_urls;
    if (u->failback_at == 0 && (u->cur_url || u->cur_ep))
        u->failback_at = u->now + UP_FAILBACK_NS;
}

/* A failed attempt: counted for the cycle; once every endpoint failed in a row, back off
 * before the next attempt: retry_initial after the first failed cycle, doubling after each
 * further one, up to retry_max (as a batch's retries, without their jitter). */
static void cycle_failed(struct up *u)
{
    uint64_t d = u->retry_initial_ns;

    u->cycle_failures++;
    if (u->cycle_failures < n_endpoints(u))
        return;
    u->cycle_failures = 0;
    u->connect_failures++;
    for (uint64_t i = 1; i < u->connect_failures && d < u->retry_max_ns; i++)
        d *= 2;
    u->next_connect = u->now + (d < u->retry_max_ns ? d : u->retry_max_ns);
}

/* The resolver's answer for name |t|: keeps what is known of addresses still there. */
static void refresh(struct up_url *t, const struct net_addr *a, unsigned n)
{
    struct up_endpoint old[UP_ADDRS_MAX];
    unsigned n_old = t->n_ep;

    memcpy(old, t->ep, sizeof(old));
    memset(t->ep, 0, sizeof(t->ep));
    for (unsigned i = 0; i < n && i < UP_ADDRS_MAX; i++) {
        t->ep[i].addr = a[i];
        for (unsigned k = 0; k < n_old; k++)
            if (net_addr_equal(&old[k].addr, &a[i]))
                t->ep[i] = old[k];
    }
    t->n_ep = n < UP_ADDRS_MAX ? n : UP_ADDRS_MAX;
}

/* Asks the resolver for name |t| (a cache hit when fresh). 1: addresses, 0: pending, -1:
 * failed (recorded). */
static int resolve(struct up *u, struct up_url *t)
{
    struct net_addr a[2 * UP_ADDRS_MAX], usable[UP_ADDRS_MAX];
    char why[2 * UP_ERR_MAX];
    unsigned n = 0, k = 0;
    int rv;

    rv = u->resolver.lookup(u->resolver.ctx, t->u.host, u->now, a, 2 * UP_ADDRS_MAX, &n, why,
                            sizeof(why));
    if (rv == 0)
        return 0;
    for (unsigned i = 0; rv > 0 && i < n && k < UP_ADDRS_MAX; i++)
        if ((a[i].family == AF_INET || u->ipv6) && !net_addr_not_unicast(&a[i]))
            usable[k++] = a[i];
    if (rv > 0 && k == 0)
        snprintf(why, sizeof(why), "%s: no usable address (%u answer(s)%s)", t->u.host, n,
                 u->ipv6 ? "" : "; the DPDK port has no IPv6 address ([port] ip6)");
    if (rv < 0 || k == 0) {
        t->resolving = false;
        t->n_ep = 0;
        set_text(t->dns_error, sizeof(t->dns_error), why);
        t->dns_error_at = time(NULL);
        up_error(u, UP_ERR_DNS, "collector %s: %s", t->origin, why);
        return -1;
    }
    t->resolving = false;
    t->dns_error[0] = '\0';
    refresh(t, usable, k);
    if (u->cur_url == (unsigned)(t - u->urls) && u->cur_ep >= t->n_ep)
        u->cur_ep = 0;
    return 1;
}

void up_targets_tick(struct up *u)
{
    /* A while away from the first collector: try it again. */
    if (u->failback_at && u->now >= u->failback_at) {
        u->failback_at = 0;
        u->cur_url = u->cur_ep = 0;
    }
}

int up_targets_pick(struct up *u, unsigned *url, struct net_addr *addr)
{
    if (u->n_urls == 0)
        return -1;
    for (unsigned tries = 0; tries <= u->n_urls; tries++) {
        struct up_url *t = &u->urls[u->cur_url];
        if (t->u.kind == NET_HOST_NAME) {
            int rv = resolve(u, t);
            if (rv == 0)
                return 0;
            if (rv < 0) { /* the whole name failed (no endpoints): on to the next URL */
                advance(u);
                cycle_failed(u);
                if (u->now < u->next_connect)
                    return -1;
                continue;
            }
        }
        *url = u->cur_url;
        *addr = t->ep[u->cur_ep].addr;
        return 1;
    }
    return -1;
}

static struct up_endpoint *find(struct up *u, unsigned url, const struct net_addr *addr)
{
    if (url >= u->n_urls)
        return NULL;
    for (unsigned i = 0; i < u->urls[url].n_ep; i++)
        if (net_addr_equal(&u->urls[url].ep[i].addr, addr))
            return &u->urls[url].ep[i];
    return NULL;
}

bool up_targets_is_current(const struct up *u, unsigned url, const struct net_addr *addr)
{
    return url == u->cur_url && u->cur_ep < u->urls[url].n_ep &&
           net_addr_equal(&u->urls[url].ep[u->cur_ep].addr, addr);
}

void up_targets_up(struct up *u, unsigned url, const struct net_addr *addr)
{
    struct up_endpoint *e = find(u, url, addr);

    if (e)
        e->failures = 0;
    u->cycle_failures = 0;
    u->connect_failures = 0;
}

void up_targets_failed(struct up *u, unsigned url, const struct net_addr *addr, const char *why)
{
    struct up_endpoint *e = find(u, url, addr);
    char a[NET_ADDR_STR_MAX];

    if (!e)
        return; /* an address the name no longer has */
    e->failures++;
    set_text(e->last_error, sizeof(e->last_error), why);
    e->last_error_at = time(NULL);
    up_error(u, UP_ERR_CONNECT, "collector %s (%s): %s", u->urls[url].origin,
             net_addr_str(addr, a, sizeof(a)), why);
    if (up_targets_is_current(u, url, addr))
        advance(u);
    /* Every address of a name failed: ask the resolver again (it may have moved). */
    if (u->urls[url].u.kind == NET_HOST_NAME && u->resolver.invalidate) {
        bool all = true;
        for (unsigned i = 0; i < u->urls[url].n_ep; i++)
            all = all && u->urls[url].ep[i].failures > 0;
        if (all)
            u->resolver.invalidate(u->resolver.ctx, u->urls[url].u.host);
    }
    cycle_failed(u);
}

static json_t *time_json(time_t t)
{
    struct tm tm;
    char buf[32];

    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

json_t *up_targets_json(const struct up *u)
{
    json_t *a = json_array();

    for (unsigned i = 0; a && i < u->n_urls; i++) {
        const struct up_url *t = &u->urls[i];
        if (t->n_ep == 0) {
            json_array_append_new(a, json_pack("{s:s, s:n, s:s, s:s?, s:o}", "url", t->target,
                                               "address", "state",
                                               t->resolving ? "resolving" : "failed", "last_error",
                                               t->dns_error[0] ? t->dns_error : NULL,
                                               "last_error_at", time_json(t->dns_error_at)));
            continue;
        }
        for (unsigned k = 0; k < t->n_ep; k++) {
            const struct up_endpoint *e = &t->ep[k];
            char addr[NET_ADDR_STR_MAX + 8], ip[NET_ADDR_STR_MAX];
            unsigned conns = 0;
            for (unsigned c = 0; c < UP_MAX_CONNS; c++)
                conns += u->conns[c].used && u->conns[c].url == i &&
                         net_addr_equal(&u->conns[c].addr, &e->addr);
            net_addr_str(&e->addr, ip, sizeof(ip));
            snprintf(addr, sizeof(addr), e->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
                     (unsigned)t->u.port);
            bool cur = i == u->cur_url && k == u->cur_ep;
            json_array_append_new(a,
                                  json_pack("{s:s, s:s, s:s, s:i, s:i, s:s?, s:o}", "url",
                                            t->target, "address", addr, "state",
                                            e->failures ? "failed" /* none up since */
                                            : cur       ? "active"
                                                        : "standby",
                                            "connections", (int)conns, "failures", (int)e->failures,
                                            "last_error", e->last_error[0] ? e->last_error : NULL,
                                            "last_error_at", time_json(e->last_error_at)));
        }
    }
    return a;
}
