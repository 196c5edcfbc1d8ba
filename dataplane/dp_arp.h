/* dp_arp.h: ARP (RFC 826) for IPv4 over Ethernet: parse, validate, build. */
#ifndef DP_ARP_H
#define DP_ARP_H

#include <stdint.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_net.h"
#include "dp_stats.h"

/* The fields of an ARP packet the slow path acts on (IPs in network order). */
struct dp_arp_msg {
    uint16_t op;               /* DP_ARP_OP_REQUEST or DP_ARP_OP_REPLY */
    struct rte_ether_addr sha; /* sender hardware address */
    rte_be32_t spa;            /* sender protocol address; 0 in an RFC 5227 probe */
    struct rte_ether_addr tha; /* target hardware address */
    rte_be32_t tpa;            /* target protocol address */
};

/* Room an ARP frame needs: Ethernet header + ARP packet, padded to the Ethernet minimum. */
#define DP_ARP_FRAME_LEN DP_ETH_MIN_FRAME_LEN

/* Parses the ARP packet at |arp| (|len| bytes after the Ethernet header). Accepts only
 * Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4) with op request or reply, a
 * unicast sender MAC and a sender IP that is unicast or 0 (probe). Returns 0 and fills
 * |*out|, or -1 with |*why| = DP_DROP_TRUNCATED or DP_DROP_ARP_MALFORMED. */
int dp_arp_parse(const uint8_t *arp, uint16_t len, struct dp_arp_msg *out, enum dp_drop *why);

/* Builds an ARP request "who has |target_ip|? tell |our_ip|" from |our_mac| into |frame|
 * (|room| bytes, 2-byte aligned). Sent to |dst| (NULL: broadcast; a MAC: unicast probe
 * of a stale entry, RFC 1122 2.3.2.1). Returns the frame length (DP_ARP_FRAME_LEN, zero
 * padded), or -ENOSPC if |room| is too small. */
int dp_arp_build_request(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                         rte_be32_t our_ip, rte_be32_t target_ip, const struct rte_ether_addr *dst);

/* Builds the ARP reply "|our_ip| is at |our_mac|" to the requester |to_mac|/|to_ip| into
 * |frame| (|room| bytes). Returns DP_ARP_FRAME_LEN, or -ENOSPC. */
int dp_arp_build_reply(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                       rte_be32_t our_ip, const struct rte_ether_addr *to_mac, rte_be32_t to_ip);

/* Turns the ARP request in |frame| (|len| bytes, classified DP_PKT_ARP) into the reply
 * from |our_mac|/|our_ip| in place, so the slow path can send the same buffer back.
 * Returns the frame length to send, or -EINVAL if |frame| is not an ARP request for
 * |our_ip|. */
int dp_arp_reply_in_place(uint8_t *frame, uint16_t len, const struct rte_ether_addr *our_mac,
                          rte_be32_t our_ip);

#endif /* DP_ARP_H */
