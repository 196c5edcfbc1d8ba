/* dp_stats.h: why the dataplane dropped a packet, and the counters for it.
 *
 * Every reason has its own counter. The counters are per lcore (plain uint64_t, written by
 * one lcore only); readers sum them and tolerate slightly stale values.
 */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stdint.h>

enum dp_drop {
    DP_DROP_TRUNCATED = 0, /* frame shorter than its headers or its IP Total Length */
    DP_DROP_ETHERTYPE,     /* neither IPv4, ARP nor (with an IPv6 address) IPv6; VLAN tags */
    DP_DROP_DST_MAC,       /* unicast to another MAC, broadcast non-ARP, multicast other than
                            * an IPv6 group of ours carrying Neighbor Discovery */
    DP_DROP_SRC_ADDR,      /* source MAC multicast/broadcast or source IP not unicast */
    DP_DROP_IP_VERSION,    /* IP version field is not 4 (IPv4) or 6 (IPv6) */
    DP_DROP_IP_HDRLEN,     /* IHL < 5 */
    DP_DROP_IP_OPTIONS,    /* IHL > 5: options are not supported */
    DP_DROP_IP_CKSUM,      /* bad IPv4 header checksum (software or NIC) */
    DP_DROP_IP_LEN,        /* Total Length smaller than the IPv4 header; IPv6 Payload Length 0 */
    DP_DROP_IP_FRAGMENT,   /* IPv4: MF set or non-zero fragment offset; IPv6: Fragment header */
    DP_DROP_IP6_EXTHDR,    /* IPv6 extension header we do not process (see dp_ipv6_check) */
    DP_DROP_TTL_ZERO,      /* TTL / Hop Limit 0 on arrival */
    DP_DROP_DST_IP,        /* not addressed to one of our addresses (or groups, for ND) */
    DP_DROP_PROTO,         /* IP protocol neither UDP nor ICMP/ICMPv6 (IPv6: nor ESP, AH) */
    DP_DROP_UDP_LEN,       /* UDP length < 8 or disagreeing with the IP length */
    DP_DROP_UDP_CKSUM,     /* bad UDP checksum (software or NIC); 0 over IPv6 */
    DP_DROP_UDP_PORT,      /* UDP source or destination port 0 */
    DP_DROP_ICMP_LEN,      /* ICMP message shorter than its header */
    DP_DROP_ICMP_CKSUM,    /* bad ICMP checksum */
    DP_DROP_ICMP_TYPE,     /* ICMP other than echo request; ICMPv6 other than echo request,
                            * Neighbor Discovery and Packet Too Big */
    DP_DROP_ARP_MALFORMED, /* wrong hardware/protocol type or lengths, unknown opcode */
    DP_DROP_ARP_NOT_US,    /* ARP whose target protocol address is not ours */
    DP_DROP_ND_MALFORMED,  /* Neighbor Discovery failing RFC 4861 7.1 / 6.1 validation; a
                            * Packet Too Big that is not about one of our UDP datagrams */
    DP_DROP_ND_NOT_US,     /* Neighbor Solicitation for an address that is not ours */
    DP_DROP_NO_FLOW,       /* UDP to us but no flow owns (remote ip, remote port, local port) */
    DP_DROP_NO_NEIGH,      /* next hop unresolved and the resolution queue is full/failed */
    DP_DROP_RING_FULL,     /* hand-off ring to another lcore full */
    DP_DROP_TX_FULL,       /* TX queue refused the packet */
    DP_DROP_NO_MBUF,       /* no mbuf left for a datagram the main lcore sends (dp_local) */
    DP_DROP__MAX
};

/* Per-reason drop counters. */
struct dp_drop_stats {
    uint64_t n[DP_DROP__MAX];
};

/* Returns a stable lower-case name for |why| ("ip_cksum"), usable as a telemetry key;
 * "unknown" for a value out of range. Never NULL. */
const char *dp_drop_name(enum dp_drop why);

#endif /* DP_STATS_H */
