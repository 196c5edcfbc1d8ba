/* dp_icmp.c: ICMP echo request validation and in-place echo reply (RFC 792). */
#include <errno.h>

#include <rte_ip.h>

#include "dp_eth.h"
#include "dp_icmp.h"
#include "dp_ipv4.h"

int dp_icmp_check(const struct rte_icmp_hdr *icmp, uint16_t len, enum dp_drop *why)
{
    if (len < DP_ICMP_HDR_LEN) {
        *why = DP_DROP_ICMP_LEN;
        return -1;
    }
    /* The one's complement sum over the message, checksum included, is 0xffff. */
    if (dp_cksum_fold(dp_cksum_add(icmp, len, 0)) != 0xffff) {
        *why = DP_DROP_ICMP_CKSUM;
        return -1;
    }
    if (icmp->icmp_type != DP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
        *why = DP_DROP_ICMP_TYPE;
        return -1;
    }
    return 0;
}

int dp_icmp_echo_reply(uint8_t *frame, uint16_t len)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN);
    struct rte_icmp_hdr *icmp;
    struct rte_ether_addr mac;
    rte_be32_t addr;
    uint16_t tot;

    /* Light re-check: the caller classified the frame, but this must never write out of
     * bounds if it did not. */
    if (len < DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN + DP_ICMP_HDR_LEN ||
        eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_IPV4) ||
        ip->version_ihl != ((DP_IPV4_VERSION << 4) | DP_IPV4_IHL_MIN) ||
        ip->next_proto_id != DP_IPPROTO_ICMP)
        return -EINVAL;
    tot = rte_be_to_cpu_16(ip->total_length);
    if (tot < DP_IPV4_HDR_LEN + DP_ICMP_HDR_LEN || tot > len - DP_ETH_HDR_LEN)
        return -EINVAL;
    icmp = (struct rte_icmp_hdr *)(frame + DP_ETH_HDR_LEN + DP_IPV4_HDR_LEN);
    if (icmp->icmp_type != DP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
        return -EINVAL;

    rte_ether_addr_copy(&eh->src_addr, &mac);
    rte_ether_addr_copy(&eh->dst_addr, &eh->src_addr);
    rte_ether_addr_copy(&mac, &eh->dst_addr);

    addr = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = addr;
    ip->time_to_live = DP_IPV4_DEFAULT_TTL;
    ip->fragment_offset = rte_cpu_to_be_16(DP_IPV4_FLAG_DF);
    ip->packet_id = 0;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    /* Full recomputation rather than RFC 1624's incremental update: Eqn. 3 yields 0x0000
     * instead of 0xffff when the rest of the message is all zeros (type 0, id 0, seq 0, no
     * data), which receivers reject. Echo replies are slow path; correctness first. */
    icmp->icmp_type = DP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum =
        (uint16_t)~dp_cksum_fold(dp_cksum_add(icmp, (size_t)(tot - DP_IPV4_HDR_LEN), 0));

    return DP_ETH_HDR_LEN + tot;
}
