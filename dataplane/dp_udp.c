/* dp_udp.c: zero-copy UDP/IP/Ethernet header builder, both families. */
#include <errno.h>

#include "dp_eth.h"
#include "dp_ipv4.h"
#include "dp_ipv6.h"
#include "dp_udp.h"

/* The UDP header's checksum field: the pseudo-header sum for the NIC to complete, or the
 * whole checksum. |phdr| is the pseudo-header's unfolded sum. */
static rte_be16_t udp_cksum(const struct rte_udp_hdr *udp, uint16_t l4_len, uint64_t phdr,
                            bool offload)
{
    uint16_t ck;

    if (offload) /* the NIC adds the data sum to the pseudo-header sum it finds there */
        return dp_cksum_fold(phdr);
    ck = (uint16_t)~dp_cksum_fold(dp_cksum_add(udp, l4_len, phdr));
    /* RFC 768: a computed 0 is sent as all ones; 0 means "no checksum" (IPv4 only). */
    return ck == 0 ? 0xffff : ck;
}

int dp_udp_build(uint8_t *frame, const struct dp_tx_tuple *t, uint16_t payload_len,
                 unsigned int offload)
{
    bool ol = (offload & DP_TX_OFFLOAD_UDP_CKSUM) != 0;
    struct rte_udp_hdr *udp;
    uint16_t l4_len;
    uint64_t phdr;

    if (dp_addr_is_v4(&t->dst_ip)) {
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN);

        if (payload_len > DP_UDP_MAX_PAYLOAD)
            return -EINVAL;
        l4_len = (uint16_t)(DP_UDP_HDR_LEN + payload_len);
        udp = (struct rte_udp_hdr *)(frame + DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN);
        dp_eth_fill(frame, &t->dst_mac, &t->src_mac, DP_ETHERTYPE_IPV4);
        dp_ipv4_fill(ip, dp_addr_get_v4(&t->src_ip), dp_addr_get_v4(&t->dst_ip), DP_IPPROTO_UDP,
                     t->tos, l4_len, (offload & DP_TX_OFFLOAD_IP_CKSUM) != 0);
        /* Pseudo-header: source, destination, zero + protocol, UDP length (native words). */
        phdr = (uint64_t)ip->src_addr + ip->dst_addr + rte_cpu_to_be_16((uint16_t)DP_IPPROTO_UDP) +
               rte_cpu_to_be_16(l4_len);
    } else {
        struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + DP_ETH_HDR_LEN);

        if (payload_len > DP_UDP6_MAX_PAYLOAD)
            return -EINVAL;
        l4_len = (uint16_t)(DP_UDP_HDR_LEN + payload_len);
        udp = (struct rte_udp_hdr *)(frame + DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN);
        dp_eth_fill(frame, &t->dst_mac, &t->src_mac, DP_ETHERTYPE_IPV6);
        dp_ipv6_fill(ip, &t->src_ip, &t->dst_ip, DP_IPPROTO_UDP, t->tos, t->flow_label,
                     DP_IPV6_DEFAULT_HOPS, l4_len);
        phdr = dp_ipv6_phdr_sum(t->src_ip.b, t->dst_ip.b, l4_len, DP_IPPROTO_UDP);
    }
    udp->src_port = t->src_port;
    udp->dst_port = t->dst_port;
    udp->dgram_len = rte_cpu_to_be_16(l4_len);
    udp->dgram_cksum = 0;
    udp->dgram_cksum = udp_cksum(udp, l4_len, phdr, ol);
    return (int)((uint8_t *)udp - frame) + l4_len;
}
