/* dp_udp.c: zero-copy UDP/IPv4/Ethernet header builder. */
#include <errno.h>

#include "dp_eth.h"
#include "dp_ipv4.h"
#include "dp_udp.h"

int dp_udp_build(uint8_t *frame, const struct dp_tx_tuple *t, uint16_t payload_len,
                 unsigned int offload)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN);
    struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(frame + DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN);
    uint16_t l4_len;

    if (payload_len > DP_UDP_MAX_PAYLOAD)
        return -EINVAL;
    l4_len = (uint16_t)(DP_UDP_HDR_LEN + payload_len);

    dp_eth_fill(frame, &t->dst_mac, &t->src_mac, DP_ETHERTYPE_IPV4);
    dp_ipv4_fill(ip, t->src_ip, t->dst_ip, DP_IPPROTO_UDP, t->tos, l4_len,
                 (offload & DP_TX_OFFLOAD_IP_CKSUM) != 0);

    udp->src_port = t->src_port;
    udp->dst_port = t->dst_port;
    udp->dgram_len = rte_cpu_to_be_16(l4_len);
    udp->dgram_cksum = 0;
    if (offload & DP_TX_OFFLOAD_UDP_CKSUM)
        /* The NIC adds the data sum to the pseudo-header sum it finds in the field. */
        udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, 0);
    else {
        uint16_t ck = (uint16_t)~dp_ipv4_udp_sum(ip, udp, l4_len);

        /* RFC 768: a computed 0 is sent as all ones; 0 means "no checksum". */
        udp->dgram_cksum = ck == 0 ? 0xffff : ck;
    }
    return DP_UDP_HDRS_LEN + payload_len;
}
