/* net_url.c: the https URL parser (see net_url.h). */
#include "net_url.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char https_scheme[] = "https://";

static int fail(char *why, size_t why_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t why_len, int rc, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 1123 §2.1 host names. Returns NULL or what is wrong. */
static const char *name_problem(const char *h, size_t n)
{
    size_t label = 0;
    bool all_numeric = true;

    if (n == 0)
        return "empty host name";
    if (n > NET_HOST_MAX)
        return "host name longer than 253 characters";
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? h[i] : '.';
        if (c == '.') {
            if (label == 0)
                return "empty label in host name";
            if (h[i - 1] == '-')
                return "host name label ends with '-'";
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return "host name may hold letters, digits, '-' and '.' only";
        if (c == '-' && label == 0)
            return "host name label starts with '-'";
        if (!is_digit(c))
            all_numeric = false;
        if (++label > NET_LABEL_MAX)
            return "host name label longer than 63 characters";
    }
    if (all_numeric)
        return "looks like an IP address, not a host name";
    return NULL;
}

int net_host_name_check(const char *s, char *why, size_t why_len)
{
    const char *p = name_problem(s, strlen(s));
    return p ? fail(why, why_len, -EINVAL, "%s", p) : 0;
}

/* Only digits and dots: a (possibly broken) IPv4 address, never a name. */
static bool looks_numeric(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(h[i]) && h[i] != '.')
            return false;
    return true;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
    unsigned long v = 0;

    if (n == 0 || n > 5 || p[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int net_url_parse(const char *s, unsigned flags, struct net_url *u, char *why, size_t why_len)
{
    const size_t slen = strnlen(s, NET_URL_MAX + 1);
    const size_t scheme_len = sizeof(https_scheme) - 1;
    const char *auth, *end, *aend, *host, *host_end, *port_s = NULL;
    const char *problem;
    size_t hlen;

    memset(u, 0, sizeof(*u));
    if (slen > NET_URL_MAX)
        return fail(why, why_len, -E2BIG, "URL longer than %d bytes", NET_URL_MAX);
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return fail(why, why_len, -EINVAL, "invalid character 0x%02x in URL",
                        (unsigned)(unsigned char)*c);
    if (slen < scheme_len || strncasecmp(s, https_scheme, scheme_len) != 0)
        return fail(why, why_len, -EINVAL, "URL scheme must be https://");
    if (strchr(s, '#'))
        return fail(why, why_len, -EINVAL, "URL must not carry a fragment (#)");
    auth = s + scheme_len;
    end = s + slen;
    aend = auth + strcspn(auth, "/?");
    if (memchr(auth, '@', (size_t)(aend - auth)))
        return fail(why, why_len, -EINVAL, "URL must not carry userinfo (user@)");
    if ((flags & NET_URL_AUTHORITY) && aend != end && !(aend[0] == '/' && aend + 1 == end))
        return fail(why, why_len, -EINVAL,
                    "a path, query or fragment is not allowed here: the URL names a server");
    if (auth == aend)
        return fail(why, why_len, -EINVAL, "missing host in URL");

    if (*auth == '[') {
        host = auth + 1;
        host_end = memchr(host, ']', (size_t)(aend - host));
        if (host_end == NULL)
            return fail(why, why_len, -EINVAL, "unterminated [IPv6] address in URL");
        if (host_end + 1 < aend) {
            if (host_end[1] != ':')
                return fail(why, why_len, -EINVAL, "junk after the host in URL");
            port_s = host_end + 2;
        }
    } else {
        host = auth;
        host_end = memchr(auth, ':', (size_t)(aend - auth));
        if (host_end != NULL)
            port_s = host_end + 1;
        else
            host_end = aend;
    }
    hlen = (size_t)(host_end - host);
    if (hlen == 0)
        return fail(why, why_len, -EINVAL, "missing host in URL");
    if (hlen > NET_HOST_MAX)
        return fail(why, why_len, -EINVAL, "host longer than %d bytes", NET_HOST_MAX);
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';

    u->port = NET_HTTPS_PORT;
    if (port_s != NULL && parse_port(port_s, (size_t)(aend - port_s), &u->port) != 0)
        return fail(why, why_len, -EINVAL, "URL port must be a number in 1..65535");

    if (*auth == '[') {
        if (net_addr_parse(u->host, &u->addr) != 0 || u->addr.family != AF_INET6)
            return fail(why, why_len, -EINVAL, "invalid IPv6 address in URL");
        u->kind = NET_HOST_IPV6;
    } else if (looks_numeric(u->host, hlen)) {
        if (net_addr_parse(u->host, &u->addr) != 0 || u->addr.family != AF_INET)
            return fail(why, why_len, -EINVAL, "invalid IPv4 address in URL");
        u->kind = NET_HOST_IPV4;
    } else if ((problem = name_problem(u->host, hlen)) != NULL) {
        return fail(why, why_len, -EINVAL, "invalid host name in URL: %s", problem);
    } else {
        u->kind = NET_HOST_NAME;
    }

    if (*aend == '\0' || (flags & NET_URL_AUTHORITY)) {
        snprintf(u->path, sizeof(u->path), "/");
    } else {
        /* "https://host?x": the path is empty, the query follows. */
        size_t plen = (size_t)(end - aend) + (*aend == '?');
        if (plen > NET_PATH_MAX)
            return fail(why, why_len, -EINVAL, "URL path longer than %d bytes", NET_PATH_MAX);
        snprintf(u->path, sizeof(u->path), "%s%s", *aend == '?' ? "/" : "", aend);
    }
    return 0;
}

int net_url_list_parse(const char *s, unsigned flags, struct net_url *out, unsigned max,
                       unsigned *n, char *why, size_t why_len)
{
    char one[NET_URL_MAX + 2], reason[192];
    const char *p = s;
    unsigned k = 0;

    *n = 0;
    if (strnlen(s, NET_URL_LIST_MAX + 1) > NET_URL_LIST_MAX)
        return fail(why, why_len, -E2BIG, "URL list longer than %d bytes", NET_URL_LIST_MAX);
    for (;;) {
        const char *e;
        size_t len;
        int rv;

        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strcspn(p, ",");
        len = (size_t)(e - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            return fail(why, why_len, -EINVAL, "URL %u of the list is empty", k + 1);
        if (k == max)
            return fail(why, why_len, -EINVAL, "more than %u URLs in the list", max);
        if (len > NET_URL_MAX)
            return fail(why, why_len, -E2BIG, "URL %u: longer than %d bytes", k + 1,
                        NET_URL_MAX);
        memcpy(one, p, len);
        one[len] = '\0';
        rv = net_url_parse(one, flags, &out[k], reason, sizeof(reason));
        if (rv < 0 && (k || *e)) /* which one of several */
            return fail(why, why_len, rv, "URL %u: %s", k + 1, reason);
        if (rv < 0)
            return fail(why, why_len, rv, "%s", reason);
        k++;
        if (*e == '\0')
            break;
        p = e + 1;
    }
    *n = k;
    return 0;
}

int net_url_origin(const struct net_url *u, char *buf, size_t len)
{
    int n = snprintf(buf, len, u->kind == NET_HOST_IPV6 ? "https://[%s]:%u" : "https://%s:%u",
                     u->host, (unsigned)u->port);
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int net_url_format(const struct net_url *u, char *buf, size_t len)
{
    int n = snprintf(buf, len, u->kind == NET_HOST_IPV6 ? "https://[%s]:%u%s" : "https://%s:%u%s",
                     u->host, (unsigned)u->port, u->path[0] ? u->path : "/");
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

socklen_t net_url_sockaddr(const struct net_url *u, struct sockaddr_storage *ss)
{
    if (u->kind == NET_HOST_NAME) {
        memset(ss, 0, sizeof(*ss));
        return 0;
    }
    return net_addr_sockaddr(&u->addr, u->port, ss);
}
