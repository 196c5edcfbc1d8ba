/* net_url: the one parser of h3dp's URLs, "https://HOST[:PORT][/PATH]".
 *
 * HOST is a DNS name (RFC 1123 §2.1: letters, digits, inner hyphens, labels of at most 63
 * octets, at most 253 characters, not all-numeric), a dotted IPv4 address or a bracketed
 * IPv6 address. PORT is 1..65535 (443 when absent, RFC 9110 §4.2.2). PATH starts with '/'
 * and may carry a query; a URL without one gets "/" (a query alone, "https://h?q", gets
 * "/?q"). Refused, each with a one-line reason: another scheme, userinfo ("user@"), a
 * fragment, spaces and control characters, anything longer than NET_URL_MAX.
 *
 * Used by the configuration ([upload] url), the control protocol (connect, upload
 * --url), the upload engine and the daemon. Callers that cannot reach a kind of host yet
 * refuse it themselves with their own error; the parser understands all three. */
#ifndef H3DP_NET_URL_H
#define H3DP_NET_URL_H

#include <stddef.h>
#include <stdint.h>

#include "net_addr.h"

#define NET_URL_MAX    512 /* whole URL, bytes */
#define NET_HOST_MAX   253 /* RFC 1035 §2.3.4: a name is at most 253 characters */
#define NET_LABEL_MAX  63  /* RFC 1035 §2.3.4: a label is at most 63 octets */
#define NET_PATH_MAX   255 /* request target (path and query) */
#define NET_HTTPS_PORT 443 /* RFC 9110 §4.2.2 */

enum net_host_kind {
    NET_HOST_NAME = 0,
    NET_HOST_IPV4,
    NET_HOST_IPV6,
};

struct net_url {
    enum net_host_kind kind;
    char host[NET_HOST_MAX + 1]; /* without brackets for IPv6 */
    uint16_t port;               /* 1..65535, NET_HTTPS_PORT when omitted */
    char path[NET_PATH_MAX + 1]; /* begins with '/', includes any query */
    struct net_addr addr;        /* the address of an IPv4/IPv6 literal host; family 0 for
                                    a name */
};

/* Parse flags. */
#define NET_URL_AUTHORITY 0x1 /* a server, no path or query ("https://h:443" or ".../") */

/* Parses the NUL-terminated |s| into |u|. On error writes a one-line reason (no trailing
 * period, no copy of the input) to |why| (|why_len| bytes, may be NULL) and returns -EINVAL
 * (malformed) or -E2BIG (longer than NET_URL_MAX). */
int net_url_parse(const char *s, unsigned flags, struct net_url *u, char *why, size_t why_len);

/* Parses a list of URLs separated by commas (and optional spaces), e.g. the failover list
 * "https://a.example/v1, https://198.18.0.7:4433/v1", into |out| (|max| entries); *|n|
 * gets the count. Each entry follows net_url_parse with |flags|. Returns 0, or -EINVAL /
 * -E2BIG with "URL N: reason" in |why| (an empty list or entry, more than |max| URLs). */
#define NET_URL_LIST_MAX 1024 /* the whole list, bytes */
int net_url_list_parse(const char *s, unsigned flags, struct net_url *out, unsigned max,
                       unsigned *n, char *why, size_t why_len);

/* Checks that |s| is a valid DNS host name (the rules above). Returns 0, or -EINVAL with
 * the reason in |why|. */
int net_host_name_check(const char *s, char *why, size_t why_len);

/* "https://host:port" (IPv6 in brackets) into |buf|: the server the URL names. Returns the
 * length, or -ENOSPC. */
int net_url_origin(const struct net_url *u, char *buf, size_t len);

/* The whole URL, "https://host:port/path", into |buf|. Returns the length, or -ENOSPC. */
int net_url_format(const struct net_url *u, char *buf, size_t len);

/* The socket address of a literal host, with the URL's port: its length, or 0 when the
 * host is a name (resolve it first). */
socklen_t net_url_sockaddr(const struct net_url *u, struct sockaddr_storage *ss);

#endif
