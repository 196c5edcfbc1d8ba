/* ctl_url: the `connect` command's target, an https authority without a path.
 *
 * Accepted: "https://HOST[:PORT][/]" where HOST is a DNS name, a dotted IPv4 address or a
 * bracketed IPv6 address. Rejected: any other scheme, userinfo ("user@"), a path, query or
 * fragment, empty or out-of-range ports, and anything longer than CTL_URL_MAX.
 */
#ifndef H3DP_CTL_URL_H
#define H3DP_CTL_URL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_URL_MAX        512 /* whole URL, bytes */
#define CTL_URL_HOST_MAX   253 /* RFC 1035 §2.3.4: a name is at most 253 characters */
#define CTL_URL_LABEL_MAX  63  /* RFC 1035 §2.3.4: a label is at most 63 octets */
#define CTL_URL_HTTPS_PORT 443 /* RFC 9110 §4.2.2 */

enum ctl_url_host_kind {
    CTL_URL_HOST_NAME = 0,
    CTL_URL_HOST_IPV4,
    CTL_URL_HOST_IPV6,
};

struct ctl_url {
    enum ctl_url_host_kind kind;
    char host[CTL_URL_HOST_MAX + 1]; /* without brackets for IPv6 */
    uint16_t port;                   /* 1..65535, CTL_URL_HTTPS_PORT when omitted */
};

/* Parses |s| (NUL-terminated) into |url|. On error writes a one-line reason to |why| (of
 * |why_len| bytes, may be NULL) and returns -EINVAL (malformed) or -E2BIG (too long). */
int ctl_url_parse(const char *s, struct ctl_url *url, char *why, size_t why_len);

/* Formats |url| back as "https://host:port" into |buf|; returns the length written or
 * -ENOSPC when |len| is too small. */
int ctl_url_format(const struct ctl_url *url, char *buf, size_t len);

#endif
