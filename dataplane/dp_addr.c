/* dp_addr.c: text of a dataplane address (the rest of dp_addr.h is inline). */
#include <arpa/inet.h>
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
