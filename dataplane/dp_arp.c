/* dp_arp.c: ARP (RFC 826) parsing and building for IPv4 over Ethernet. */
#include <errno.h>
#include <string.h>

#include "dp_arp.h"
#include "dp_eth.h"
#include "dp_ipv4.h"

_Static_assert(sizeof(struct rte_arp_hdr) == DP_ARP_PKT_LEN, "RFC 826 packet layout");

int dp_arp_parse(const uint8_t *arp, uint16_t len, struct dp_arp_msg *out, enum dp_drop *why)
{
    const struct rte_arp_hdr *ah = (const struct rte_arp_hdr *)arp;
    uint16_t op;

    if (len < DP_ARP_PKT_LEN) {
        *why = DP_DROP_TRUNCATED;
        return -1;
    }
    op = rte_be_to_cpu_16(ah->arp_opcode);
    if (ah->arp_hardware != rte_cpu_to_be_16(DP_ARP_HTYPE_ETHER) ||
        ah->arp_protocol != rte_cpu_to_be_16(DP_ARP_PTYPE_IPV4) ||
        ah->arp_hlen != DP_ARP_HLEN_ETHER || ah->arp_plen != DP_ARP_PLEN_IPV4 ||
        (op != DP_ARP_OP_REQUEST && op != DP_ARP_OP_REPLY) ||
        !rte_is_unicast_ether_addr(&ah->arp_data.arp_sha) ||
        rte_is_zero_ether_addr(&ah->arp_data.arp_sha) ||
        (ah->arp_data.arp_sip != 0 && !dp_ipv4_is_unicast(ah->arp_data.arp_sip))) {
        *why = DP_DROP_ARP_MALFORMED;
        return -1;
    }
    out->op = op;
    rte_ether_addr_copy(&ah->arp_data.arp_sha, &out->sha);
    out->spa = ah->arp_data.arp_sip;
    rte_ether_addr_copy(&ah->arp_data.arp_tha, &out->tha);
    out->tpa = ah->arp_data.arp_tip;
    return 0;
}

/* Writes Ethernet + ARP (op, sender ours, target |tha|/|tpa|) and zero padding. */
static int arp_build(uint8_t *frame, uint16_t room, uint16_t op,
                     const struct rte_ether_addr *eth_dst, const struct rte_ether_addr *our_mac,
                     rte_be32_t our_ip, const struct rte_ether_addr *tha, rte_be32_t tpa)
{
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(frame + DP_ETH_HDR_LEN);

    if (room < DP_ARP_FRAME_LEN)
        return -ENOSPC;
    memset(frame, 0, DP_ARP_FRAME_LEN);
    dp_eth_fill(frame, eth_dst, our_mac, DP_ETHERTYPE_ARP);
    ah->arp_hardware = rte_cpu_to_be_16(DP_ARP_HTYPE_ETHER);
    ah->arp_protocol = rte_cpu_to_be_16(DP_ARP_PTYPE_IPV4);
    ah->arp_hlen = DP_ARP_HLEN_ETHER;
    ah->arp_plen = DP_ARP_PLEN_IPV4;
    ah->arp_opcode = rte_cpu_to_be_16(op);
    rte_ether_addr_copy(our_mac, &ah->arp_data.arp_sha);
    ah->arp_data.arp_sip = our_ip;
    rte_ether_addr_copy(tha, &ah->arp_data.arp_tha);
    ah->arp_data.arp_tip = tpa;
    return DP_ARP_FRAME_LEN;
}

int dp_arp_build_request(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                         rte_be32_t our_ip, rte_be32_t target_ip, const struct rte_ether_addr *dst)
{
    static const struct rte_ether_addr bcast = {.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    static const struct rte_ether_addr unknown; /* RFC 826: target hardware address unknown */

    return arp_build(frame, room, DP_ARP_OP_REQUEST, dst != NULL ? dst : &bcast, our_mac, our_ip,
                     dst != NULL ? dst : &unknown, target_ip);
}

int dp_arp_build_reply(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                       rte_be32_t our_ip, const struct rte_ether_addr *to_mac, rte_be32_t to_ip)
{
    return arp_build(frame, room, DP_ARP_OP_REPLY, to_mac, our_mac, our_ip, to_mac, to_ip);
}

int dp_arp_reply_in_place(uint8_t *frame, uint16_t len, const struct rte_ether_addr *our_mac,
                          rte_be32_t our_ip)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(frame + DP_ETH_HDR_LEN);
    struct dp_arp_msg m;
    enum dp_drop why;

    if (len < DP_ETH_HDR_LEN + DP_ARP_PKT_LEN ||
        eh->ether_type != rte_cpu_to_be_16(DP_ETHERTYPE_ARP) ||
        dp_arp_parse(frame + DP_ETH_HDR_LEN, (uint16_t)(len - DP_ETH_HDR_LEN), &m, &why) != 0 ||
        m.op != DP_ARP_OP_REQUEST || m.tpa != our_ip)
        return -EINVAL;

    /* RFC 826: swap sender and target, put our addresses in the sender fields. */
    rte_ether_addr_copy(&m.sha, &eh->dst_addr);
    rte_ether_addr_copy(our_mac, &eh->src_addr);
    ah->arp_opcode = rte_cpu_to_be_16(DP_ARP_OP_REPLY);
    rte_ether_addr_copy(&m.sha, &ah->arp_data.arp_tha);
    ah->arp_data.arp_tip = m.spa;
    rte_ether_addr_copy(our_mac, &ah->arp_data.arp_sha);
    ah->arp_data.arp_sip = our_ip;
    return len;
}
