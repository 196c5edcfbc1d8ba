/* dp_nd.c: Neighbor Discovery messages (see dp_nd.h). */
#include <errno.h>
#include <string.h>

#include "dp_eth.h"
#include "dp_ipv6.h"
#include "dp_nd.h"

/* Walks the options from |off| in |icmp| (|len| bytes): every option has a non-zero length
 * and ends inside the message (RFC 4861 4.6). Picks up the link-layer address option of
 * type |ll_type| and the MTU option. Returns 0 or -1. */
static int nd_options(const uint8_t *icmp, uint16_t len, uint16_t off, uint8_t ll_type,
                      struct dp_nd_msg *out)
{
    while (off < len) {
        uint16_t olen;

        if (len - off < 2 || icmp[off + 1] == 0)
            return -1;
        olen = (uint16_t)(icmp[off + 1] * DP_IPV6_EXT_UNIT);
        if (olen > len - off)
            return -1;
        if (icmp[off] == ll_type && olen == DP_ND_OPT_LLADDR_LEN) {
            memcpy(out->lladdr.addr_bytes, icmp + off + 2, RTE_ETHER_ADDR_LEN);
            if (!rte_is_unicast_ether_addr(&out->lladdr) || rte_is_zero_ether_addr(&out->lladdr))
                return -1;
            out->has_lladdr = true;
        } else if (icmp[off] == DP_ND_OPT_MTU && olen == 8) {
            uint32_t mtu;

            memcpy(&mtu, icmp + off + 4, 4);
            out->mtu = rte_be_to_cpu_32(mtu);
        }
        off = (uint16_t)(off + olen);
    }
    return 0;
}

int dp_nd_parse(const struct rte_ipv6_hdr *ip, const uint8_t *icmp, uint16_t len,
                struct dp_nd_msg *out, enum dp_drop *why)
{
    uint8_t type = len > 0 ? icmp[0] : 0;
    uint16_t min;
    uint8_t ll_type;
    int rc;

    memset(out, 0, sizeof(*out));
    out->type = type;
    switch (type) {
    case DP_ND_NEIGHBOR_SOLICIT:
        min = DP_ND_NS_LEN;
        ll_type = DP_ND_OPT_SRC_LLADDR;
        break;
    case DP_ND_NEIGHBOR_ADVERT:
        min = DP_ND_NA_LEN;
        ll_type = DP_ND_OPT_TGT_LLADDR;
        break;
    case DP_ND_ROUTER_ADVERT:
        min = DP_ND_RA_LEN;
        ll_type = DP_ND_OPT_SRC_LLADDR;
        break;
    default:
        *why = DP_DROP_ICMP_TYPE;
        return -1;
    }
    *why = DP_DROP_ND_MALFORMED;
    /* Hop Limit 255: nothing beyond the link (a router would have decremented it). */
    if (len < min || icmp[1] != 0 || ip->hop_limits != DP_ND_HOP_LIMIT)
        return -1;
    if (type != DP_ND_ROUTER_ADVERT) {
        out->target = dp_addr_v6(icmp + 8);
        if (dp_ipv6_is_multicast(out->target.b))
            return -1;
    }
    if (nd_options(icmp, len, min, ll_type, out) != 0)
        return -1;
    switch (type) {
    case DP_ND_NEIGHBOR_SOLICIT:
        rc = dp_ipv6_is_unspecified(ip->src_addr) &&
             (!dp_ipv6_is_solicited_node_of(ip->dst_addr, &out->target) || out->has_lladdr);
        break;
    case DP_ND_NEIGHBOR_ADVERT: {
        uint32_t flags;

        memcpy(&flags, icmp + 4, 4);
        out->flags = rte_be_to_cpu_32(flags) &
                     (DP_ND_NA_FLAG_ROUTER | DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE);
        rc = dp_ipv6_is_multicast(ip->dst_addr) && (out->flags & DP_ND_NA_FLAG_SOLICITED);
        break;
    }
    default: {
        uint16_t life;

        memcpy(&life, icmp + 6, 2);
        out->router_lifetime_s = rte_be_to_cpu_16(life);
        rc = !dp_ipv6_is_link_local(ip->src_addr);
        break;
    }
    }
    return rc ? -1 : 0;
}

/* Writes Ethernet + IPv6 (Hop Limit 255) around the |icmp_len|-byte ICMPv6 message already
 * at its place and sets its checksum. */
static int nd_frame(uint8_t *frame, const struct rte_ether_addr *eth_dst,
                    const struct rte_ether_addr *our_mac, const struct dp_addr *src,
                    const struct dp_addr *dst, uint16_t icmp_len)
{
    struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + DP_ETH_HDR_LEN);
    uint8_t *icmp = frame + DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN;
    uint16_t ck;

    dp_eth_fill(frame, eth_dst, our_mac, DP_ETHERTYPE_IPV6);
    dp_ipv6_fill(ip, src, dst, DP_IPPROTO_ICMPV6, 0, 0, DP_ND_HOP_LIMIT, icmp_len);
    icmp[2] = 0;
    icmp[3] = 0;
    ck = (uint16_t)~dp_ipv6_l4_sum(ip, DP_IPPROTO_ICMPV6, icmp, icmp_len);
    memcpy(icmp + 2, &ck, 2);
    return DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN + icmp_len;
}

/* The link-layer address option of |type| with |mac| at |p|. */
static void nd_lladdr_opt(uint8_t *p, uint8_t type, const struct rte_ether_addr *mac)
{
    p[0] = type;
    p[1] = DP_ND_OPT_LLADDR_LEN / DP_IPV6_EXT_UNIT;
    memcpy(p + 2, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
}

int dp_nd_build_ns(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                   const struct dp_addr *src, const struct dp_addr *target,
                   const struct rte_ether_addr *dst)
{
    static const struct dp_addr unspecified;
    uint8_t *icmp = frame + DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN;
    struct rte_ether_addr group_mac;
    struct dp_addr dst_ip;
    uint16_t len = DP_ND_NS_LEN;

    if (room < DP_ND_FRAME_LEN)
        return -ENOSPC;
    memset(icmp, 0, DP_ND_NS_LEN);
    icmp[0] = DP_ND_NEIGHBOR_SOLICIT;
    memcpy(icmp + 8, target->b, DP_ADDR_LEN);
    if (src != NULL) {
        nd_lladdr_opt(icmp + DP_ND_NS_LEN, DP_ND_OPT_SRC_LLADDR, our_mac);
        len += DP_ND_OPT_LLADDR_LEN;
    }
    if (dst != NULL && src != NULL) {
        dst_ip = *target;
    } else {
        dst_ip = dp_ipv6_solicited_node(target);
        dp_ipv6_mcast_mac(&dst_ip, &group_mac);
        dst = &group_mac;
    }
    return nd_frame(frame, dst, our_mac, src != NULL ? src : &unspecified, &dst_ip, len);
}

int dp_nd_build_na(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                   const struct dp_addr *target, const struct dp_addr *dst_ip,
                   const struct rte_ether_addr *dst_mac, uint32_t flags)
{
    uint8_t *icmp = frame + DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN;
    rte_be32_t f = rte_cpu_to_be_32(flags);

    if (room < DP_ND_FRAME_LEN)
        return -ENOSPC;
    memset(icmp, 0, DP_ND_NA_LEN);
    icmp[0] = DP_ND_NEIGHBOR_ADVERT;
    memcpy(icmp + 4, &f, 4);
    memcpy(icmp + 8, target->b, DP_ADDR_LEN);
    nd_lladdr_opt(icmp + DP_ND_NA_LEN, DP_ND_OPT_TGT_LLADDR, our_mac);
    return nd_frame(frame, dst_mac, our_mac, target, dst_ip, DP_ND_NA_LEN + DP_ND_OPT_LLADDR_LEN);
}
