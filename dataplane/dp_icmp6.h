/* dp_icmp6.h: ICMPv6 (RFC 4443): the message check, the in-place echo reply, and Packet
 * Too Big read back to the datagram of ours it quotes. Neighbor Discovery is dp_nd.h. */
#ifndef DP_ICMP6_H
#define DP_ICMP6_H

#include <stdint.h>

#include <rte_ip.h>

#include "dp_addr.h"
#include "dp_net.h"
#include "dp_stats.h"

/* Validates the ICMPv6 message |icmp| of |len| bytes carried by |ip|: at least
 * DP_ICMP6_HDR_LEN bytes (every type we take has them), checksum over the message and its
 * pseudo-header (always software: there is no offload for it). Returns 0, or -1 with
 * |*why| ICMP_LEN or ICMP_CKSUM. The type is the caller's. */
int dp_icmp6_check(const struct rte_ipv6_hdr *ip, const uint8_t *icmp, uint16_t len,
                   enum dp_drop *why);

/* The datagram of ours a Packet Too Big quotes, as the key of its flow. */
struct dp_icmp6_ptb {
    uint32_t mtu;           /* the MTU of the next-hop link the sender reports */
    struct dp_addr local;   /* the quoted datagram's source: one of our addresses */
    struct dp_addr remote;  /* its destination */
    rte_be16_t local_port;  /* its UDP source port */
    rte_be16_t remote_port; /* its UDP destination port */
};

/* Reads the Packet Too Big |icmp| (|len| bytes, checked by dp_icmp6_check): code 0, and a
 * quoted packet that is an IPv6 UDP datagram with nothing between its fixed header and the
 * UDP header (all we send) whose header survives in full. Returns 0 with |*out| filled,
 * or -1 with |*why| ICMP_TYPE (something else quoted, or not Packet Too Big) or ICMP_LEN
 * (quote cut short). Whether the datagram was ours is the caller's to check. */
int dp_icmp6_ptb_parse(const uint8_t *icmp, uint16_t len, struct dp_icmp6_ptb *out,
                       enum dp_drop *why);

/* Turns the echo request in |frame| (|len| bytes, classified DP_PKT_ICMP_ECHO over IPv6,
 * its ICMPv6 message at |l4_off|) into the echo reply in place: MAC and IP addresses
 * swapped, any extension headers removed (the message moved up behind the fixed header),
 * Hop Limit DP_IPV6_DEFAULT_HOPS, type 129, checksum recomputed; identifier, sequence and
 * data unchanged. Returns the reply's frame length, or -EINVAL when |frame| is not such a
 * request. */
int dp_icmp6_echo_reply(uint8_t *frame, uint16_t len, uint16_t l4_off);

#endif /* DP_ICMP6_H */
