/* dp_classify.c: one-pass RX validation and dispatch of an Ethernet frame. */
#include "dp_arp.h"
#include "dp_classify.h"
#include "dp_eth.h"
#include "dp_icmp.h"
#include "dp_icmp6.h"
#include "dp_ipv4.h"
#include "dp_ipv6.h"
#include "dp_nd.h"
#include "dp_udp.h"

static inline enum dp_class drop(enum dp_drop *why, enum dp_drop reason)
{
    *why = reason;
    return DP_PKT_DROP;
}

static enum dp_class classify_arp(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                                  struct dp_pkt_info *out, enum dp_drop *why)
{
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;
    struct dp_arp_msg m;

    if (!dp_eth_dst_ok(&eh->dst_addr, &ifc->mac, true))
        return drop(why, DP_DROP_DST_MAC);
    if (!rte_is_unicast_ether_addr(&eh->src_addr))
        return drop(why, DP_DROP_SRC_ADDR);
    if (dp_arp_parse(frame + DP_ETH_HDR_LEN, (uint16_t)(len - DP_ETH_HDR_LEN), &m, why) != 0)
        return DP_PKT_DROP;
    /* Ours, or a gratuitous ARP (sender = target, RFC 5227 §3): an announcement the
     * neighbour table must see to refuse (and count) a claim on a neighbour in use. Other
     * hosts' requests and replies are none of ours. */
    if (m.tpa != ifc->ip && m.spa != m.tpa)
        return drop(why, DP_DROP_ARP_NOT_US);
    out->l3_off = DP_ETH_HDR_LEN;
    out->l4_off = 0;
    out->payload_off = 0;
    out->payload_len = 0;
    out->ip_version = 4;
    out->ecn = 0;
    out->src = dp_addr_v4(m.spa);
    out->dst = dp_addr_v4(m.tpa);
    out->src_port = 0;
    out->dst_port = 0;
    return DP_PKT_ARP;
}

static inline enum dp_class classify_ipv4(const struct dp_iface *ifc, const uint8_t *frame,
                                          uint16_t len, uint64_t ol_flags, struct dp_pkt_info *out,
                                          enum dp_drop *why)
{
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN);
    const uint16_t l4_off = DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN;
    uint16_t l4_len;

    if (unlikely(!dp_eth_dst_ok(&eh->dst_addr, &ifc->mac, false)))
        return drop(why, DP_DROP_DST_MAC);
    if (unlikely(!rte_is_unicast_ether_addr(&eh->src_addr)))
        return drop(why, DP_DROP_SRC_ADDR);
    if (unlikely(dp_ipv4_check(ip, (uint16_t)(len - DP_ETH_HDR_LEN), ol_flags, why) != 0))
        return DP_PKT_DROP;
    if (unlikely(ip->dst_addr != ifc->ip))
        return drop(why, DP_DROP_DST_IP);
    l4_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - DP_IPV4_HDR_LEN);
    out->l3_off = DP_ETH_HDR_LEN;
    out->l4_off = l4_off;
    out->ip_version = 4;
    out->ecn = ip->type_of_service & DP_ECN_MASK;
    out->src = dp_addr_v4(ip->src_addr);
    out->dst = dp_addr_v4(ip->dst_addr);

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
    return drop(why, DP_DROP_PROTO);
}

/* ICMPv6 to one of our addresses (|group|: to a multicast group of ours). */
static enum dp_class classify_icmp6(const struct dp_iface *ifc, const struct rte_ipv6_hdr *ip,
                                    const uint8_t *icmp, bool group, struct dp_pkt_info *out,
                                    enum dp_drop *why)
{
    uint16_t len = out->payload_len;
    bool unspec = dp_ipv6_is_unspecified(ip->src_addr);
    struct dp_icmp6_ptb ptb;
    struct dp_nd_msg nd;

    if (dp_icmp6_check(ip, icmp, len, why) != 0)
        return DP_PKT_DROP;
    switch (icmp[0]) {
    case DP_ICMP6_ECHO_REQUEST:
        if (icmp[1] != 0)
            return drop(why, DP_DROP_ICMP_TYPE);
        if (group) /* we answer our unicast addresses only */
            return drop(why, DP_DROP_DST_IP);
        if (unspec)
            return drop(why, DP_DROP_SRC_ADDR);
        return DP_PKT_ICMP_ECHO;
    case DP_ND_NEIGHBOR_SOLICIT:
    case DP_ND_NEIGHBOR_ADVERT:
    case DP_ND_ROUTER_ADVERT:
        if (dp_nd_parse(ip, icmp, len, &nd, why) != 0)
            return DP_PKT_DROP;
        if (nd.type == DP_ND_NEIGHBOR_SOLICIT) {
            if (!dp_iface_is_ip6(ifc, &nd.target))
                return drop(why, DP_DROP_ND_NOT_US);
        } else if (unspec) { /* advertisements come from an address of their sender */
            return drop(why, DP_DROP_ND_MALFORMED);
        }
        return DP_PKT_ND;
    case DP_ICMP6_PKT_TOO_BIG:
        if (group)
            return drop(why, DP_DROP_DST_IP);
        if (unspec)
            return drop(why, DP_DROP_SRC_ADDR);
        if (dp_icmp6_ptb_parse(icmp, len, &ptb, why) != 0)
            return DP_PKT_DROP;
        if (!dp_iface_is_ip6(ifc, &ptb.local) || !dp_addr_is_unicast(&ptb.remote) ||
            ptb.local_port == 0 || ptb.remote_port == 0)
            return drop(why, DP_DROP_ICMP_TYPE);
        /* The key of the flow the quoted datagram belongs to, as if the remote sent it. */
        out->src = ptb.remote;
        out->dst = ptb.local;
        out->src_port = ptb.remote_port;
        out->dst_port = ptb.local_port;
        return DP_PKT_PTB;
    default:
        return drop(why, DP_DROP_ICMP_TYPE);
    }
}

static inline enum dp_class classify_ipv6(const struct dp_iface *ifc, const uint8_t *frame,
                                          uint16_t len, uint64_t ol_flags, struct dp_pkt_info *out,
                                          enum dp_drop *why)
{
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;
    const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(frame + DP_ETH_HDR_LEN);
    bool mcast_mac = rte_is_multicast_ether_addr(&eh->dst_addr), group = false;
    struct dp_ipv6_l4 l4;
    uint16_t l4_off;

    /* Multicast frames only to an IPv6 group (33:33:...), which must be one of ours. */
    if (unlikely(mcast_mac
                     ? eh->dst_addr.addr_bytes[0] != 0x33 || eh->dst_addr.addr_bytes[1] != 0x33
                     : !rte_is_same_ether_addr(&eh->dst_addr, &ifc->mac)))
        return drop(why, DP_DROP_DST_MAC);
    if (unlikely(!rte_is_unicast_ether_addr(&eh->src_addr)))
        return drop(why, DP_DROP_SRC_ADDR);
    if (unlikely(dp_ipv6_check(ip, (uint16_t)(len - DP_ETH_HDR_LEN), &l4, why) != 0))
        return DP_PKT_DROP;
    out->dst = dp_addr_v6(ip->dst_addr);
    if (likely(dp_iface_is_ip6(ifc, &out->dst))) {
        if (unlikely(mcast_mac))
            return drop(why, DP_DROP_DST_MAC);
    } else if (dp_ipv6_is_all_nodes(ip->dst_addr) ||
               dp_ipv6_is_solicited_node_of(ip->dst_addr, &ifc->ip6) ||
               dp_ipv6_is_solicited_node_of(ip->dst_addr, &ifc->ip6_ll)) {
        /* RFC 2464 7: the group's frames go to 33:33 and its low 32 bits. */
        if (mcast_mac && memcmp(&eh->dst_addr.addr_bytes[2], &ip->dst_addr[12], 4) != 0)
            return drop(why, DP_DROP_DST_MAC);
        group = true;
    } else {
        return drop(why, DP_DROP_DST_IP);
    }
    l4_off = (uint16_t)(DP_ETH_HDR_LEN + l4.off);
    out->l3_off = DP_ETH_HDR_LEN;
    out->l4_off = l4_off;
    out->ip_version = 6;
    out->ecn = dp_ipv6_ecn(ip);
    out->src = dp_addr_v6(ip->src_addr);

    if (likely(l4.proto == DP_IPPROTO_UDP)) {
        const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(frame + l4_off);

        if (unlikely(group))
            return drop(why, DP_DROP_DST_IP);
        if (unlikely(dp_addr_is_zero(&out->src)))
            return drop(why, DP_DROP_SRC_ADDR);
        if (unlikely(dp_udp6_check(ip, udp, l4.len, ol_flags, why) != 0))
            return DP_PKT_DROP;
        out->src_port = udp->src_port;
        out->dst_port = udp->dst_port;
        out->payload_off = (uint16_t)(l4_off + DP_UDP_HDR_LEN);
        out->payload_len = (uint16_t)(l4.len - DP_UDP_HDR_LEN);
        return DP_PKT_UDP;
    }
    if (l4.proto == DP_IPPROTO_ICMPV6) {
        out->src_port = 0;
        out->dst_port = 0;
        out->payload_off = l4_off;
        out->payload_len = l4.len;
        return classify_icmp6(ifc, ip, frame + l4_off, group, out, why);
    }
    return drop(why, DP_DROP_PROTO);
}

enum dp_class dp_classify(const struct dp_iface *ifc, const uint8_t *frame, uint16_t len,
                          uint64_t ol_flags, struct dp_pkt_info *out, enum dp_drop *why)
{
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;

    if (unlikely(len < DP_ETH_HDR_LEN))
        return drop(why, DP_DROP_TRUNCATED);
    if (likely(eh->ether_type == rte_cpu_to_be_16(DP_ETHERTYPE_IPV4)))
        return classify_ipv4(ifc, frame, len, ol_flags, out, why);
    if (eh->ether_type == rte_cpu_to_be_16(DP_ETHERTYPE_IPV6) && ifc->ip6_on)
        return classify_ipv6(ifc, frame, len, ol_flags, out, why);
    if (eh->ether_type == rte_cpu_to_be_16(DP_ETHERTYPE_ARP))
        return classify_arp(ifc, frame, len, out, why);
    return drop(why, DP_DROP_ETHERTYPE);
}
