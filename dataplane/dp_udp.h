/* dp_udp.h: UDP (RFC 768) over IPv4 and IPv6 (RFC 8200 8.1): validation and the zero-copy
 * TX header builder. */
#ifndef DP_UDP_H
#define DP_UDP_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf_core.h>
#include <rte_udp.h>

#include "dp_addr.h"
#include "dp_ipv4.h"
#include "dp_ipv6.h"
#include "dp_net.h"
#include "dp_stats.h"

/* Addresses of an outgoing datagram; ports in network byte order. Both addresses of one
 * family: IPv4 (mapped, dp_addr.h) or IPv6. */
struct dp_tx_tuple {
    struct rte_ether_addr src_mac;
    struct rte_ether_addr dst_mac; /* next hop's MAC (from the neighbour table) */
    struct dp_addr src_ip;
    struct dp_addr dst_ip;
    rte_be16_t src_port;
    rte_be16_t dst_port;
    uint8_t tos;         /* IPv4 TOS byte / IPv6 Traffic Class: DSCP << 2 | ECN (RFC 3168) */
    uint32_t flow_label; /* IPv6 only (RFC 6437): low 20 bits, 0 = none */
};

/* Bytes of Ethernet + IP + UDP headers in front of the payload of a datagram to |dst|. */
static inline uint16_t dp_udp_hdrs_len(const struct dp_addr *dst)
{
    return dp_addr_is_v4(dst) ? DP_UDP_HDRS_LEN : DP_UDP6_HDRS_LEN;
}

/* Offload flags for dp_udp_build(): the NIC computes that checksum. */
#define DP_TX_OFFLOAD_IP_CKSUM  (1u << 0)
#define DP_TX_OFFLOAD_UDP_CKSUM (1u << 1)

/* Writes Ethernet + IP + UDP headers (dp_udp_hdrs_len(&t->dst_ip) bytes: DP_UDP_HDRS_LEN
 * for IPv4, DP_UDP6_HDRS_LEN for IPv6) at |frame| in front of the |payload_len| bytes the
 * caller already wrote right behind them (zero copy). Checksums are computed in software
 * unless flagged in |offload|:
 *  - DP_TX_OFFLOAD_IP_CKSUM: IPv4 header checksum left 0 (IPv6 has none);
 *  - DP_TX_OFFLOAD_UDP_CKSUM: UDP checksum set to the pseudo-header checksum, as DPDK
 *    requires with RTE_MBUF_F_TX_UDP_CKSUM.
 * The caller sets the matching mbuf fields (ol_flags RTE_MBUF_F_TX_IPV4 | _IP_CKSUM or
 * RTE_MBUF_F_TX_IPV6, | _UDP_CKSUM; l2_len = DP_ETH_HDR_LEN, l3_len = the IP header's).
 * |frame| must be 2-byte aligned. Returns the frame length, or -EINVAL if |payload_len| >
 * DP_UDP_MAX_PAYLOAD (IPv4) / DP_UDP6_MAX_PAYLOAD (IPv6). IPv6 UDP checksums are never 0
 * (RFC 8200 8.1: a computed 0 is sent as 0xffff). Frames under 60 bytes are left for the
 * NIC to pad. */
int dp_udp_build(uint8_t *frame, const struct dp_tx_tuple *t, uint16_t payload_len,
                 unsigned int offload);

/* Validates the UDP header at |udp| inside the already validated IPv4 datagram |ip|
 * (|l4_len| = Total Length - IPv4 header length). |ol_flags|: RTE_MBUF_F_RX_L4_CKSUM_GOOD/
 * NONE skip the software checksum, _BAD drops. A zero checksum means "none" (legal over
 * IPv4) and is accepted. Returns 0, or -1 with |*why| set (UDP_LEN, UDP_PORT, UDP_CKSUM). */
static inline int dp_udp_check(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp,
                               uint16_t l4_len, uint64_t ol_flags, enum dp_drop *why)
{
    uint16_t ulen;
    uint64_t ck = ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

    if (l4_len < DP_UDP_HDR_LEN) {
        *why = DP_DROP_UDP_LEN;
        return -1;
    }
    /* RFC 768: Length covers header + data. The IP datagram may not be shorter; a longer
     * one would carry trailing bytes outside the datagram, refuse that too. */
    ulen = rte_be_to_cpu_16(udp->dgram_len);
    if (ulen != l4_len) {
        *why = DP_DROP_UDP_LEN;
        return -1;
    }
    if (udp->src_port == 0 || udp->dst_port == 0) {
        *why = DP_DROP_UDP_PORT;
        return -1;
    }
    if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
        (ck == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN && udp->dgram_cksum != DP_UDP_CKSUM_NONE &&
         dp_ipv4_udp_sum(ip, udp, l4_len) != 0xffff)) {
        *why = DP_DROP_UDP_CKSUM;
        return -1;
    }
    return 0;
}

/* Validates the UDP header at |udp| inside the already validated IPv6 packet |ip|
 * (|l4_len| = the upper-layer length after extension headers). As dp_udp_check(), except
 * that a zero checksum is refused (RFC 8200 8.1: mandatory over IPv6), whatever the NIC
 * says. Returns 0, or -1 with |*why| set (UDP_LEN, UDP_PORT, UDP_CKSUM). */
static inline int dp_udp6_check(const struct rte_ipv6_hdr *ip, const struct rte_udp_hdr *udp,
                                uint16_t l4_len, uint64_t ol_flags, enum dp_drop *why)
{
    uint64_t ck = ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

    if (l4_len < DP_UDP_HDR_LEN || rte_be_to_cpu_16(udp->dgram_len) != l4_len) {
        *why = DP_DROP_UDP_LEN;
        return -1;
    }
    if (udp->src_port == 0 || udp->dst_port == 0) {
        *why = DP_DROP_UDP_PORT;
        return -1;
    }
    if (udp->dgram_cksum == DP_UDP_CKSUM_NONE || ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
        (ck == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN &&
         dp_ipv6_l4_sum(ip, DP_IPPROTO_UDP, udp, l4_len) != 0xffff)) {
        *why = DP_DROP_UDP_CKSUM;
        return -1;
    }
    return 0;
}

#endif /* DP_UDP_H */
