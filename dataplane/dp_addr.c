/* dp_addr.c: text of a dataplane address, and back (the rest of dp_addr.h is inline). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "dp_addr.h"

const char *dp_addr_str(const struct dp_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    const void *src = dp_addr_is_v4(a) ? (const void *)&a->w32[3] : (const void *)a->b;

    if (inet_ntop(dp_addr_is_v4(a) ? AF_INET : AF_INET6, src, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

int dp_addr_parse(const char *s, struct dp_addr *out)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (s == NULL || out == NULL)
        return -EINVAL;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        *out = dp_addr_v4(a4.s_addr);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) != 1)
        return -EINVAL;
    *out = dp_addr_v6(a6.s6_addr);
    return dp_addr_is_v4(out) ? -EINVAL : 0;
}
