/* dp_icmp6.c: ICMPv6 check, echo reply and Packet Too Big (see dp_icmp6.h). */
#include <errno.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_udp.h>

#include "dp_eth.h"
#include "dp_icmp6.h"
#include "dp_ipv6.h"

int dp_icmp6_check(const struct rte_ipv6_hdr *ip, const uint8_t *icmp, uint16_t len,
                   enum dp_drop *why)
{
    if (len < DP_ICMP6_HDR_LEN) {
        *why = DP_DROP_ICMP_LEN;
        return -1;
    }
    if (dp_ipv6_l4_sum(ip, DP_IPPROTO_ICMPV6, icmp, len) != 0xffff) {
        *why = DP_DROP_ICMP_CKSUM;
        return -1;
    }
    return 0;
}

int dp_icmp6_ptb_parse(const uint8_t *icmp, uint16_t len, struct dp_icmp6_ptb *out,
                       enum dp_drop *why)
{
    const uint8_t *q = icmp + DP_ICMP6_HDR_LEN;
    const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)q;
    const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(q + DP_IPV6_HDR_LEN);
    uint32_t mtu;

    if (icmp[0] != DP_ICMP6_PKT_TOO_BIG || icmp[1] != 0) {
        *why = DP_DROP_ICMP_TYPE;
        return -1;
    }
    if (len < DP_ICMP6_HDR_LEN + DP_IPV6_HDR_LEN + DP_UDP_HDR_LEN) {
        *why = DP_DROP_ICMP_LEN;
        return -1;
    }
    if ((q[0] >> 4) != DP_IPV6_VERSION || ip->proto != DP_IPPROTO_UDP) {
        *why = DP_DROP_ICMP_TYPE;
        return -1;
    }
    memcpy(&mtu, icmp + 4, 4);
    out->mtu = rte_be_to_cpu_32(mtu);
    out->local = dp_addr_v6(ip->src_addr);
    out->remote = dp_addr_v6(ip->dst_addr);
    out->local_port = udp->src_port;
    out->remote_port = udp->dst_port;
    return 0;
}

int dp_icmp6_echo_reply(uint8_t *frame, uint16_t len, uint16_t l4_off)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
    struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + DP_ETH_HDR_LEN);
    const uint16_t at = DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN;
    struct rte_ether_addr mac;
    uint8_t addr[DP_ADDR_LEN];
    uint16_t end, mlen, ck;
    uint8_t *icmp;

    /* Light re-check: never write out of bounds if the caller did not classify. */
    if (len < at || l4_off < at || eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV6) ||
        (frame[DP_ETH_HDR_LEN] >> 4) != DP_IPV6_VERSION)
        return -EINVAL;
    end = (uint16_t)(at + rte_be_to_cpu_16(ip->payload_len));
    if (end > len || l4_off > end || end - l4_off < DP_ICMP6_HDR_LEN ||
        frame[l4_off] != DP_ICMP6_ECHO_REQUEST || frame[l4_off + 1] != 0)
        return -EINVAL;
    mlen = (uint16_t)(end - l4_off);
    /* Extension headers were for the way in; the reply carries none. */
    if (l4_off != at)
        memmove(frame + at, frame + l4_off, mlen);
    icmp = frame + at;

    rte_ether_addr_copy(&eh->src_addr, &mac);
    rte_ether_addr_copy(&eh->dst_addr, &eh->src_addr);
    rte_ether_addr_copy(&mac, &eh->dst_addr);
    memcpy(addr, ip->src_addr, DP_ADDR_LEN);
    memcpy(ip->src_addr, ip->dst_addr, DP_ADDR_LEN);
    memcpy(ip->dst_addr, addr, DP_ADDR_LEN);
    ip->proto = DP_IPPROTO_ICMPV6;
    ip->hop_limits = DP_IPV6_DEFAULT_HOPS;
    ip->payload_len = rte_cpu_to_be_16(mlen);

    icmp[0] = DP_ICMP6_ECHO_REPLY;
    icmp[2] = 0;
    icmp[3] = 0;
    ck = (uint16_t)~dp_ipv6_l4_sum(ip, DP_IPPROTO_ICMPV6, icmp, mlen);
    memcpy(icmp + 2, &ck, 2);
    return at + mlen;
}
