/* dp_ipv4.c: IPv4 address helpers (the header code is inline in dp_ipv4.h). */
#include <arpa/inet.h>
#include <errno.h>

#include "dp_ipv4.h"

rte_be32_t dp_ipv4_next_hop(rte_be32_t dst, rte_be32_t our_ip, uint8_t prefix_len,
                            rte_be32_t gateway)
{
    uint32_t mask;

    if (prefix_len > 32)
        return gateway;
    mask = prefix_len == 0 ? 0 : ~(uint32_t)0 << (32 - prefix_len);
    if (((rte_be_to_cpu_32(dst) ^ rte_be_to_cpu_32(our_ip)) & mask) == 0)
        return dst;
    return gateway;
}

int dp_ipv4_addr_parse(const char *s, rte_be32_t *out)
{
    struct in_addr a;

    /* inet_pton accepts only the strict dotted-quad form (no octal, no short forms). */
    if (s == NULL || out == NULL || inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *out = a.s_addr;
    return 0;
}
