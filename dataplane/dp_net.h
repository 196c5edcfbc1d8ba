/* dp_net.h: wire constants of the protocols the dataplane speaks, named after their RFCs.
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

/* RFC 792: ICMP echo */
#define DP_ICMP_HDR_LEN      8 /* type, code, checksum, identifier, sequence */
#define DP_ICMP_ECHO_REPLY   0
#define DP_ICMP_ECHO_REQUEST 8

/* RFC 768: UDP */
#define DP_UDP_HDR_LEN    8
#define DP_UDP_CKSUM_NONE 0 /* IPv4 only: sender computed no checksum */

/* Headroom a zero-copy UDP transmit reserves in front of its payload. */
#define DP_UDP_HDRS_LEN (DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN + DP_UDP_HDR_LEN)
/* Largest UDP payload an IPv4 datagram without options can carry. */
#define DP_UDP_MAX_PAYLOAD (DP_IPV4_MAX_LEN - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN)

#endif /* DP_NET_H */
