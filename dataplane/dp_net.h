/* dp_net.h: wire constants of the protocols the dataplane speaks, named after their RFCs
 * (Ethernet, ARP, IPv4, IPv6, ICMP, ICMPv6, Neighbor Discovery, UDP).
 *
 * Values are in host byte order; convert with rte_cpu_to_be_16() etc. when comparing with
 * header fields. Only what the dataplane uses is here.
 */
#ifndef DP_NET_H
#define DP_NET_H

/* IEEE 802.3 / Ethernet II */
#define DP_ETH_ADDR_LEN      6  /* octets in a MAC address */
#define DP_ETH_HDR_LEN       14 /* dst MAC, src MAC, EtherType (no 802.1Q tag) */
#define DP_ETH_MIN_FRAME_LEN 60 /* minimum frame without the 4-byte FCS; pad up to it */
#define DP_ETHERTYPE_IPV4    0x0800
#define DP_ETHERTYPE_ARP     0x0806
#define DP_ETHERTYPE_IPV6    0x86dd

/* RFC 826: ARP for IPv4 over Ethernet */
#define DP_ARP_HTYPE_ETHER 1      /* ar$hrd: Ethernet (10Mb) */
#define DP_ARP_PTYPE_IPV4  0x0800 /* ar$pro: the EtherType of the protocol */
#define DP_ARP_HLEN_ETHER  6      /* ar$hln */
#define DP_ARP_PLEN_IPV4   4      /* ar$pln */
#define DP_ARP_OP_REQUEST  1      /* ares_op$REQUEST */
#define DP_ARP_OP_REPLY    2      /* ares_op$REPLY */
#define DP_ARP_PKT_LEN     28     /* fixed header + two (MAC, IPv4) pairs */

/* RFC 791: IPv4 */
#define DP_IPV4_VERSION       4
#define DP_IPV4_IHL_MIN       5      /* header length in 32-bit words without options */
#define DP_IPV4_HDR_LEN       20     /* DP_IPV4_IHL_MIN * 4 */
#define DP_IPV4_FLAG_DF       0x4000 /* Don't Fragment (in the flags/fragment-offset field) */
#define DP_IPV4_FLAG_MF       0x2000 /* More Fragments */
#define DP_IPV4_FRAG_OFF_MASK 0x1fff
#define DP_IPV4_MAX_LEN       65535 /* Total Length is 16 bits */
#define DP_IPV4_DEFAULT_TTL   64    /* RFC 1700 / RFC 1122 recommended default */
#define DP_IPPROTO_ICMP       1     /* RFC 790 assigned numbers */
#define DP_IPPROTO_UDP        17

/* RFC 3168 5: the ECN field, the two low bits of the IPv4 TOS byte and of the IPv6 Traffic
 * Class: Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3 (the values ngtcp2 uses too). */
#define DP_ECN_MASK 0x3

/* RFC 8200: IPv6 */
#define DP_IPV6_VERSION         6
#define DP_IPV6_HDR_LEN         40    /* fixed header; extension headers follow it */
#define DP_IPV6_MAX_PAYLOAD     65535 /* Payload Length is 16 bits (no jumbograms, RFC 2675) */
#define DP_IPV6_DEFAULT_HOPS    64    /* IANA recommended default Hop Limit (as for IPv4) */
#define DP_IPV6_MIN_MTU         1280  /* RFC 8200 5: every link carries this much */
#define DP_IPV6_FLOW_LABEL_MASK 0xfffffu
#define DP_IPPROTO_HOPOPTS      0   /* Hop-by-Hop Options (RFC 8200 4.3), first only */
#define DP_IPPROTO_ROUTING      43  /* Routing header (4.4) */
#define DP_IPPROTO_FRAGMENT     44  /* Fragment header (4.5) */
#define DP_IPPROTO_ESP          50  /* RFC 4303 */
#define DP_IPPROTO_AH           51  /* RFC 4302 */
#define DP_IPPROTO_ICMPV6       58  /* RFC 4443 */
#define DP_IPPROTO_NONE         59  /* No Next Header (4.7) */
#define DP_IPPROTO_DSTOPTS      60  /* Destination Options (4.6) */
#define DP_IPPROTO_MOBILITY     135 /* RFC 6275: extension headers we do not process */
#define DP_IPPROTO_HIP          139 /* RFC 7401 */
#define DP_IPPROTO_SHIM6        140 /* RFC 5533 */
#define DP_IPPROTO_EXP1         253 /* RFC 3692 experimentation */
#define DP_IPPROTO_EXP2         254
#define DP_IPV6_EXT_UNIT        8          /* extension header lengths count 8-octet units */
#define DP_IPV6_OPT_PAD1        0          /* the one-byte option (4.2) */
#define DP_IPV6_OPT_ACTION(t)   ((t) >> 6) /* 0: skip an unknown option; else discard */

/* RFC 4443: ICMPv6 */
#define DP_ICMP6_HDR_LEN      8 /* type, code, checksum, 4 bytes of the message */
#define DP_ICMP6_PKT_TOO_BIG  2 /* MTU in the 4 bytes, then the invoking packet */
#define DP_ICMP6_ECHO_REQUEST 128
#define DP_ICMP6_ECHO_REPLY   129

/* RFC 4861: Neighbor Discovery */
#define DP_ND_ROUTER_SOLICIT    133
#define DP_ND_ROUTER_ADVERT     134
#define DP_ND_NEIGHBOR_SOLICIT  135
#define DP_ND_NEIGHBOR_ADVERT   136
#define DP_ND_REDIRECT          137
#define DP_ND_HOP_LIMIT         255 /* 7.1: ND messages are sent with, and need, 255 */
#define DP_ND_NS_LEN            24  /* ICMPv6 header + reserved + target */
#define DP_ND_NA_LEN            24  /* ICMPv6 header + flags + target */
#define DP_ND_RA_LEN            16  /* ICMPv6 header + hop limit .. retrans timer */
#define DP_ND_OPT_SRC_LLADDR    1   /* 4.6.1 */
#define DP_ND_OPT_TGT_LLADDR    2
#define DP_ND_OPT_MTU           5 /* 4.6.4 */
#define DP_ND_OPT_LLADDR_LEN    8 /* type, length 1 (8 octets), 6-byte MAC */
#define DP_ND_NA_FLAG_ROUTER    0x80000000u
#define DP_ND_NA_FLAG_SOLICITED 0x40000000u
#define DP_ND_NA_FLAG_OVERRIDE  0x20000000u

/* RFC 792: ICMP echo */
#define DP_ICMP_HDR_LEN      8 /* type, code, checksum, identifier, sequence */
#define DP_ICMP_ECHO_REPLY   0
#define DP_ICMP_ECHO_REQUEST 8

/* RFC 768: UDP */
#define DP_UDP_HDR_LEN 8
#define DP_UDP_CKSUM_NONE                                                                          \
    0 /* IPv4 only: sender computed no checksum (RFC 8200 8.1: an                                  \
       * IPv6 receiver discards it) */

/* Headroom a zero-copy UDP transmit reserves in front of its payload: IPv4, IPv6. */
#define DP_UDP_HDRS_LEN  (DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN + DP_UDP_HDR_LEN)
#define DP_UDP6_HDRS_LEN (DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN + DP_UDP_HDR_LEN)
/* Largest UDP payload an IPv4 datagram without options can carry; an IPv6 one without
 * extension headers (Payload Length counts the UDP header but not the IPv6 one). */
#define DP_UDP_MAX_PAYLOAD  (DP_IPV4_MAX_LEN - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN)
#define DP_UDP6_MAX_PAYLOAD (DP_IPV6_MAX_PAYLOAD - DP_UDP_HDR_LEN)

#endif /* DP_NET_H */
