/* dp_classify.h: RX classification of one Ethernet frame (the worker's first step).
 *
 * One pass over the headers: validates everything the dataplane accepts (see
 * dp_classify()) and says where the UDP payload is, without copying or writing.
 */
#ifndef DP_CLASSIFY_H
#define DP_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_addr.h"
#include "dp_stats.h"

/* Our identity on one port. */
struct dp_iface {
    struct rte_ether_addr mac;
    rte_be32_t ip;         /* IPv4, network order */
    bool ip6_on;           /* IPv6 configured: without it IPv6 frames are an unknown EtherType */
    struct dp_addr ip6;    /* our global (configured) IPv6 address */
    struct dp_addr ip6_ll; /* our link-local address (from the MAC) */
};

enum dp_class {
    DP_PKT_DROP = 0,  /* invalid or not for us: count *why and free */
    DP_PKT_ARP,       /* ARP whose target IP is ours, or gratuitous ARP: slow path */
    DP_PKT_ICMP_ECHO, /* ICMP or ICMPv6 echo request to us: slow path (dp_icmp_echo_reply(),
                       * dp_icmp6_echo_reply()) */
    DP_PKT_UDP,       /* UDP datagram to us: flow lookup by (src, src_port, dst_port) */
    DP_PKT_ND,        /* Neighbor Solicitation for one of our addresses, Neighbor or Router
                       * Advertisement: slow path (dp_nd_parse() passed) */
    DP_PKT_PTB,       /* ICMPv6 Packet Too Big about a UDP datagram we sent: to the flow of
                       * (src, src_port, dst_port), as a datagram from the remote would go */
};

/* Where things are in a classified frame. Offsets from the first byte of the frame; IPs
 * (dp_addr.h: IPv4 mapped) and ports in network order as on the wire. ip_version is 4 or 6
 * (4 for ARP).
 *  - DP_PKT_UDP: src/dst and ports of the datagram, payload = its UDP data.
 *  - DP_PKT_ICMP_ECHO, DP_PKT_ND: l4_off = payload_off = the ICMP(v6) message, payload_len
 *    its length; ports 0.
 *  - DP_PKT_PTB: src = the quoted datagram's destination (the remote), src_port its
 *    destination port, dst = its source (ours), dst_port its source port (our port), so
 *    (src, src_port, dst_port) is its flow's key; payload = the ICMPv6 message.
 *  - DP_PKT_ARP: l3_off = the ARP packet, src/dst = its sender/target protocol addresses,
 *    the rest 0.
 * ecn: the ECN codepoint (RFC 3168: the two low bits of the IPv4 TOS byte or the IPv6
 * Traffic Class) the IP header carried; 0 (Not-ECT) for ARP.
 * payload_off + payload_len <= frame length; Ethernet padding is outside the payload. */
struct dp_pkt_info {
    uint16_t l3_off;
    uint16_t l4_off;
    uint16_t payload_off;
    uint16_t payload_len;
    rte_be16_t src_port;
    rte_be16_t dst_port;
    uint8_t ip_version;
    uint8_t ecn;
    struct dp_addr src;
    struct dp_addr dst;
};

/* Classifies the contiguous frame |frame| of |len| bytes (2-byte aligned, starting at the
 * destination MAC) received on the interface |ifc|. |ol_flags| are the mbuf's RX offload
 * flags, or 0 for none: RTE_MBUF_F_RX_IP_CKSUM_GOOD / RTE_MBUF_F_RX_L4_CKSUM_GOOD (or
 * _NONE) skip the software checksums, _BAD drops, _UNKNOWN checks in software.
 *
 * Accepted: ARP (broadcast or to our MAC) targeting our IPv4 address, and gratuitous ARP (sender IP =
 * target IP: an announcement the neighbour table weighs); ICMP echo request and UDP to our
 * MAC and IPv4 address. With IPv6 (ifc->ip6_on): UDP and ICMPv6 echo request to
 * our MAC and one of our two IPv6 addresses; Neighbor Solicitations for them (also to their
 * solicited-node groups, also from the unspecified address: duplicate address detection),
 * Neighbor and Router Advertisements (also to all-nodes); Packet Too Big about our UDP.
 * Dropped, with the reason in |*why|: truncated frames, other EtherTypes (VLAN included),
 * other destination MAC (multicast only for IPv6 groups of ours, which carry Neighbor
 * Discovery only), multicast source MAC, bad IP version, IPv4 IHL/options/header checksum/
 * Total Length, fragments, TTL or Hop Limit 0, non-unicast source IP, IPv6 extension headers
 * dp_ipv6_check() does not skip, other destination IP, other protocols, bad UDP length,
 * port 0, bad UDP checksum (0 = no checksum is accepted over IPv4 only), bad ICMP(v6)
 * length/checksum/type, malformed ARP or ND, ARP or NS for another address.
 *
 * Fills |*out| when the result is not DP_PKT_DROP (otherwise its content is unspecified);
 * |*why| is written only on DP_PKT_DROP. Never reads outside [frame, frame + len). */
enum dp_class dp_classify(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                          uint64_t ol_flags, struct dp_pkt_info *out, enum dp_drop *why);

/* True when |a| is one of the IPv6 unicast addresses of |ifc|. */
static inline bool dp_iface_is_ip6(const struct dp_iface *ifc, const struct dp_addr *a)
{
    return ifc->ip6_on && (dp_addr_eq(a, &ifc->ip6) || dp_addr_eq(a, &ifc->ip6_ll));
}

#endif /* DP_CLASSIFY_H */
