/* dp_udp.h: UDP (RFC 768) over IPv4: validation and the zero-copy TX header builder. */
#ifndef DP_UDP_H
#define DP_UDP_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf_core.h>
#include <rte_udp.h>

#include "dp_ipv4.h"
#include "dp_net.h"
#include "dp_stats.h"

/* Addresses of an outgoing datagram; IPs and ports in network byte order. */
struct dp_tx_tuple {
    struct rte_ether_addr src_mac;
    struct rte_ether_addr dst_mac; /* next hop's MAC (from the neighbour table) */
    rte_be32_t src_ip;
    rte_be32_t dst_ip;
    rte_be16_t src_port;
    rte_be16_t dst_port;
    uint8_t tos; /* IPv4 TOS byte: DSCP << 2 | ECN (RFC 3168), 0 by default */
};

/* Offload flags for dp_udp_build(): the NIC computes that checksum. */
#define DP_TX_OFFLOAD_IP_CKSUM  (1u << 0)
#define DP_TX_OFFLOAD_UDP_CKSUM (1u << 1)

/* Writes Ethernet + IPv4 + UDP headers (DP_UDP_HDRS_LEN bytes) at |frame| in front of the
 * |payload_len| bytes the caller already wrote at frame + DP_UDP_HDRS_LEN (zero copy).
 * Checksums are computed in software unless flagged in |offload|:
 *  - DP_TX_OFFLOAD_IP_CKSUM: IPv4 header checksum left 0;
 *  - DP_TX_OFFLOAD_UDP_CKSUM: UDP checksum set to the pseudo-header checksum, as DPDK
 *    requires with RTE_MBUF_F_TX_UDP_CKSUM.
 * The caller sets the matching mbuf fields (ol_flags RTE_MBUF_F_TX_IPV4 | _IP_CKSUM |
 * _UDP_CKSUM, l2_len = DP_ETH_HDR_LEN, l3_len = DP_IPV4_HDR_LEN). |frame| must be 2-byte
 * aligned. Returns the frame length (DP_UDP_HDRS_LEN + payload_len), or -EINVAL if
 * |payload_len| > DP_UDP_MAX_PAYLOAD. Frames under 60 bytes are left for the NIC to pad. */
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

#endif /* DP_UDP_H */
