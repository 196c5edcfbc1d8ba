/* dp_eth.c: Ethernet address parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dp_eth.h"

int dp_eth_addr_parse(const char *s, struct rte_ether_addr *out)
{
    unsigned int b[DP_ETH_ADDR_LEN];
    char tail;
    int i;

    if (s == NULL || out == NULL)
        return -EINVAL;
    /* Exactly six colon-separated hex octets; %c catches trailing garbage. */
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
        DP_ETH_ADDR_LEN)
        return -EINVAL;
    if (strlen(s) != 3 * DP_ETH_ADDR_LEN - 1)
        return -EINVAL;
    for (i = 0; i < DP_ETH_ADDR_LEN; i++)
        out->addr_bytes[i] = (uint8_t)b[i];
    if (!rte_is_unicast_ether_addr(out) || rte_is_zero_ether_addr(out))
        return -EINVAL;
    return 0;
}
