/* ctl_url: parse and validate the https authority given to `connect`. */
#include "ctl_url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 1123 §2.1 host names: labels of letters, digits and inner hyphens. */
static int valid_dns_name(const char *h, size_t n)
{
    size_t label = 0;
    char prev = '.';

    if (n == 0 || n > CTL_URL_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || prev == '-')
                return 0;
            label = 0;
        } else if (is_alnum(c) || (c == '-' && label > 0)) {
            if (++label > CTL_URL_LABEL_MAX)
                return 0;
        } else {
            return 0;
        }
        prev = c;
    }
    return prev != '-';
}

/* A host made only of digits and dots must be a dotted quad: "1.2.3" or "999.1.1.1" are
 * not names, they are broken addresses. */
static int looks_numeric(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return 0;
    return 1;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
    unsigned long v = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int ctl_url_parse(const char *s, struct ctl_url *url, char *why, size_t why_len)
{
    const size_t slen = strnlen(s, CTL_URL_MAX + 1);
    const size_t scheme_len = sizeof(https_scheme) - 1;
    const char *auth, *end, *host, *host_end, *port_s = NULL;
    struct in6_addr a6;
    struct in_addr a4;
    size_t hlen;

    memset(url, 0, sizeof(*url));
    if (slen > CTL_URL_MAX)
        return fail(why, why_len, -E2BIG, "longer than %d bytes", CTL_URL_MAX);
    if (slen < scheme_len || strncasecmp(s, https_scheme, scheme_len) != 0)
        return fail(why, why_len, -EINVAL, "scheme must be https://");
    auth = s + scheme_len;
    end = s + slen;
    /* A single trailing "/" is the empty path; anything after it is not an authority. */
    if (end > auth && end[-1] == '/')
        end--;
    for (const char *c = auth; c < end; c++) {
        if (*c == '@')
            return fail(why, why_len, -EINVAL, "userinfo is not allowed");
        if (*c == '/' || *c == '?' || *c == '#')
            return fail(why, why_len, -EINVAL, "a path, query or fragment is not allowed");
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return fail(why, why_len, -EINVAL, "invalid character 0x%02x",
                        (unsigned)(unsigned char)*c);
    }
    if (auth == end)
        return fail(why, why_len, -EINVAL, "missing host");

    if (*auth == '[') {
        host = auth + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (host_end == NULL)
            return fail(why, why_len, -EINVAL, "unterminated [IPv6] address");
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return fail(why, why_len, -EINVAL, "junk after ]");
            port_s = host_end + 2;
        }
    } else {
        host = auth;
        host_end = memchr(auth, ':', (size_t)(end - auth));
        if (host_end != NULL)
            port_s = host_end + 1;
        else
            host_end = end;
    }
    hlen = (size_t)(host_end - host);
    if (hlen == 0)
        return fail(why, why_len, -EINVAL, "missing host");
    if (hlen > CTL_URL_HOST_MAX)
        return fail(why, why_len, -EINVAL, "host longer than %d bytes", CTL_URL_HOST_MAX);
    memcpy(url->host, host, hlen);
    url->host[hlen] = '\0';

    url->port = CTL_URL_HTTPS_PORT;
    if (port_s != NULL && parse_port(port_s, (size_t)(end - port_s), &url->port) != 0)
        return fail(why, why_len, -EINVAL, "port must be a number in 1..65535");

    if (*auth == '[') {
        if (inet_pton(AF_INET6, url->host, &a6) != 1)
            return fail(why, why_len, -EINVAL, "invalid IPv6 address");
        url->kind = CTL_URL_HOST_IPV6;
    } else if (looks_numeric(url->host, hlen)) {
        if (inet_pton(AF_INET, url->host, &a4) != 1)
            return fail(why, why_len, -EINVAL, "invalid IPv4 address");
        url->kind = CTL_URL_HOST_IPV4;
    } else {
        if (!valid_dns_name(url->host, hlen))
            return fail(why, why_len, -EINVAL, "invalid host name");
        url->kind = CTL_URL_HOST_NAME;
    }
    return 0;
}

int ctl_url_format(const struct ctl_url *url, char *buf, size_t len)
{
    int n;

    if (url->kind == CTL_URL_HOST_IPV6)
        n = snprintf(buf, len, "https://[%s]:%u", url->host, (unsigned)url->port);
    else
        n = snprintf(buf, len, "https://%s:%u", url->host, (unsigned)url->port);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}
