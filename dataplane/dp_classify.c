/* dp_classify.c: one-pass RX validation and dispatch of an Ethernet frame. */
#include "dp_arp.h"
#include "dp_classify.h"
#include "dp_eth.h"
#include "dp_icmp.h"
#include "dp_ipv4.h"
#include "dp_udp.h"

static enum dp_class classify_arp(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                                  struct dp_pkt_info *out, enum dp_drop *why)
{
    struct dp_arp_msg m;

    if (dp_arp_parse(frame + DP_ETH_HDR_LEN, (uint16_t)(len - DP_ETH_HDR_LEN), &m, why) != 0)
        return DP_PKT_DROP;
    /* Ours, or a gratuitous ARP (sender = target, RFC 5227 §3): an announcement the
     * neighbour table must see to refuse (and count) a claim on a neighbour in use. Other
     * hosts' requests and replies are none of ours. */
    if (m.tpa != ifc->ip && m.spa != m.tpa) {
        *why = DP_DROP_ARP_NOT_US;
        return DP_PKT_DROP;
    }
    out->l3_off = DP_ETH_HDR_LEN;
    out->l4_off = 0;
    out->payload_off = 0;
    out->payload_len = 0;
    out->src_ip = m.spa;
    out->dst_ip = m.tpa;
    out->src_port = 0;
    out->dst_port = 0;
    return DP_PKT_ARP;
}

enum dp_class dp_classify(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                          uint64_t ol_flags, struct dp_pkt_info *out, enum dp_drop *why)
{
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;
    const struct rte_ipv4_hdr *ip;
    uint16_t l4_len;
    uint16_t l4_off = DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN;

    if (unlikely(len < DP_ETH_HDR_LEN)) {
        *why = DP_DROP_TRUNCATED;
        return DP_PKT_DROP;
    }
    if (unlikely(eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV4))) {
        if (eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_ARP)) {
            *why = DP_DROP_ETHERTYPE;
            return DP_PKT_DROP;
        }
        if (!dp_eth_dst_ok(&eh->dst_addr, &ifc->mac, true)) {
            *why = DP_DROP_DST_MAC;
            return DP_PKT_DROP;
        }
        if (!rte_is_unicast_ether_addr(&eh->src_addr)) {
            *why = DP_DROP_SRC_ADDR;
            return DP_PKT_DROP;
        }
        return classify_arp(ifc, frame, len, out, why);
    }
    if (unlikely(!dp_eth_dst_ok(&eh->dst_addr, &ifc->mac, false))) {
        *why = DP_DROP_DST_MAC;
        return DP_PKT_DROP;
    }
    if (unlikely(!rte_is_unicast_ether_addr(&eh->src_addr))) {
        *why = DP_DROP_SRC_ADDR;
        return DP_PKT_DROP;
    }

    ip = (const struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN);
    if (unlikely(dp_ipv4_check(ip, (uint16_t)(len - DP_ETH_HDR_LEN), ol_flags, why) != 0))
        return DP_PKT_DROP;
    if (unlikely(ip->dst_addr != ifc->ip)) {
        *why = DP_DROP_DST_IP;
        return DP_PKT_DROP;
    }
    l4_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - DP_IPV4_HDR_LEN);
    out->l3_off = DP_ETH_HDR_LEN;
    out->l4_off = l4_off;
    out->src_ip = ip->src_addr;
    out->dst_ip = ip->dst_addr;

    if (likely(ip->next_proto_id == DP_IPPROTO_UDP)) {
        const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(frame + l4_off);

        if (unlikely(dp_udp_check(ip, udp, l4_len, ol_flags, why) != 0))
            return DP_PKT_DROP;
        out->src_port = udp->src_port;
        out->dst_port = udp->dst_port;
        out->payload_off = l4_off + DP_UDP_HDR_LEN;
        out->payload_len = (uint16_t)(l4_len - DP_UDP_HDR_LEN);
        return DP_PKT_UDP;
    }
    if (ip->next_proto_id == DP_IPPROTO_ICMP) {
        if (dp_icmp_check((const struct rte_icmp_hdr *)(frame + l4_off), l4_len, why) != 0)
            return DP_PKT_DROP;
        out->src_port = 0;
        out->dst_port = 0;
        out->payload_off = l4_off;
        out->payload_len = l4_len;
        return DP_PKT_ICMP_ECHO;
    }
    *why = DP_DROP_PROTO;
    return DP_PKT_DROP;
}
