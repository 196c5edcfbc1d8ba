/* dp_classify.h: RX classification of one Ethernet frame (the worker's first step).
 *
 * One pass over the headers: validates everything the dataplane accepts (see
 * dp_classify()) and says where the UDP payload is, without copying or writing.
 */
#ifndef DP_CLASSIFY_H
#define DP_CLASSIFY_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_stats.h"

/* Our identity on one port. */
struct dp_iface {
    struct rte_ether_addr mac;
    rte_be32_t ip; /* network order */
};

enum dp_class {
    DP_PKT_DROP = 0,  /* invalid or not for us: count *why and free */
    DP_PKT_ARP,       /* ARP whose target IP is ours, or gratuitous ARP: slow path */
    DP_PKT_ICMP_ECHO, /* ICMP echo request to us: slow path (dp_icmp_echo_reply()) */
    DP_PKT_UDP,       /* UDP datagram to us: flow lookup by (src_ip, src_port, dst_port) */
};

/* Where things are in a classified frame. Offsets from the first byte of the frame; IPs
 * and ports in network order as on the wire. For DP_PKT_ARP: l3_off is the ARP packet,
 * src_ip/dst_ip are its sender/target protocol addresses, the rest is 0. For
 * DP_PKT_ICMP_ECHO: payload is the ICMP message. For DP_PKT_UDP: payload is the UDP data.
 * payload_off + payload_len <= frame length; Ethernet padding is outside the payload. */
struct dp_pkt_info {
    uint16_t l3_off;
    uint16_t l4_off;
    uint16_t payload_off;
    uint16_t payload_len;
    rte_be32_t src_ip;
    rte_be32_t dst_ip;
    rte_be16_t src_port;
    rte_be16_t dst_port;
};

/* Classifies the contiguous frame |frame| of |len| bytes (2-byte aligned, starting at the
 * destination MAC) received on the interface |ifc|. |ol_flags| are the mbuf's RX offload
 * flags, or 0 for none: RTE_MBUF_F_RX_IP_CKSUM_GOOD / RTE_MBUF_F_RX_L4_CKSUM_GOOD (or
 * _NONE) skip the software checksums, _BAD drops, _UNKNOWN checks in software.
 *
 * Accepted: ARP (broadcast or to our MAC) targeting our IP, and gratuitous ARP (sender IP =
 * target IP: an announcement the neighbour table weighs); ICMP echo request and UDP to
 * our MAC and IP. Dropped, with the reason in |*why|: truncated frames, other EtherTypes
 * (VLAN included), other or multicast destination MAC, multicast source MAC, bad IPv4
 * version/IHL, IP options, bad header checksum, bad Total Length, fragments, TTL 0,
 * non-unicast source IP, other destination IP, other protocols, bad UDP length, port 0,
 * bad UDP checksum (0 = no checksum is accepted), bad ICMP length/checksum/type,
 * malformed ARP or ARP between other hosts.
 *
 * Fills |*out| when the result is not DP_PKT_DROP (otherwise its content is unspecified);
 * |*why| is written only on DP_PKT_DROP. Never reads outside [frame, frame + len). */
enum dp_class dp_classify(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                          uint64_t ol_flags, struct dp_pkt_info *out, enum dp_drop *why);

#endif /* DP_CLASSIFY_H */
