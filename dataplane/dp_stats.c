/* dp_stats.c: names of the drop reasons. */
#include <stddef.h>

#include "dp_stats.h"

/* Indexed by enum dp_drop; the static assertion keeps it complete. */
static const char *const drop_names[] = {
    [DP_DROP_TRUNCATED] = "truncated",
    [DP_DROP_ETHERTYPE] = "ethertype",
    [DP_DROP_DST_MAC] = "dst_mac",
    [DP_DROP_SRC_ADDR] = "src_addr",
    [DP_DROP_IP_VERSION] = "ip_version",
    [DP_DROP_IP_HDRLEN] = "ip_hdrlen",
    [DP_DROP_IP_OPTIONS] = "ip_options",
    [DP_DROP_IP_CKSUM] = "ip_cksum",
    [DP_DROP_IP_LEN] = "ip_len",
    [DP_DROP_IP_FRAGMENT] = "ip_fragment",
    [DP_DROP_IP6_EXTHDR] = "ip6_exthdr",
    [DP_DROP_TTL_ZERO] = "ttl_zero",
    [DP_DROP_DST_IP] = "dst_ip",
    [DP_DROP_PROTO] = "proto",
    [DP_DROP_UDP_LEN] = "udp_len",
    [DP_DROP_UDP_CKSUM] = "udp_cksum",
    [DP_DROP_UDP_PORT] = "udp_port",
    [DP_DROP_ICMP_LEN] = "icmp_len",
    [DP_DROP_ICMP_CKSUM] = "icmp_cksum",
    [DP_DROP_ICMP_TYPE] = "icmp_type",
    [DP_DROP_ARP_MALFORMED] = "arp_malformed",
    [DP_DROP_ARP_NOT_US] = "arp_not_us",
    [DP_DROP_ND_MALFORMED] = "nd_malformed",
    [DP_DROP_ND_NOT_US] = "nd_not_us",
    [DP_DROP_NO_FLOW] = "no_flow",
    [DP_DROP_NO_NEIGH] = "no_neigh",
    [DP_DROP_RING_FULL] = "ring_full",
    [DP_DROP_TX_FULL] = "tx_full",
    [DP_DROP_NO_MBUF] = "no_mbuf",
};

_Static_assert(sizeof(drop_names) / sizeof(drop_names[0]) == DP_DROP__MAX,
               "every drop reason needs a name");

const char *dp_drop_name(enum dp_drop why)
{
    if ((unsigned int)why >= DP_DROP__MAX || drop_names[why] == NULL)
        return "unknown";
    return drop_names[why];
}
