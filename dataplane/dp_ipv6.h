/* dp_ipv6.h: IPv6 (RFC 8200) header validation with its extension headers, construction,
 * the upper-layer checksum's pseudo-header, and the addresses a host derives: the
 * link-local address from the MAC (RFC 4291 2.5.1 / RFC 2464 4), solicited-node groups and
 * their multicast MACs (RFC 4291 2.7.1 / RFC 2464 7), next-hop choice. */
#ifndef DP_IPV6_H
#define DP_IPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "dp_addr.h"
#include "dp_ipv4.h"
#include "dp_net.h"
#include "dp_stats.h"

/* Extension headers followed before giving up on a packet (RFC 8504 5.3 lets a host bound
 * the chain; a client meets at most one or two). */
#define DP_IPV6_MAX_EXT 8

/* True for fe80::/10 (link-local unicast). */
static inline bool dp_ipv6_is_link_local(const uint8_t *a)
{
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* True for ff00::/8 (multicast). */
static inline bool dp_ipv6_is_multicast(const uint8_t *a)
{
    return a[0] == 0xff;
}

/* True for the unspecified address ::. */
static inline bool dp_ipv6_is_unspecified(const uint8_t *a)
{
    const struct dp_addr ip = dp_addr_v6(a);

    return dp_addr_is_zero(&ip);
}

/* The solicited-node multicast group of |a| (ff02::1:ffXX:XXXX, the low 24 bits of |a|). */
struct dp_addr dp_ipv6_solicited_node(const struct dp_addr *a);

/* True when |group| is the solicited-node group of |a|. */
static inline bool dp_ipv6_is_solicited_node_of(const uint8_t *group, const struct dp_addr *a)
{
    static const uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};

    return memcmp(group, prefix, sizeof(prefix)) == 0 && group[13] == a->b[13] &&
           group[14] == a->b[14] && group[15] == a->b[15];
}

/* True for ff02::1 (all nodes on the link). */
static inline bool dp_ipv6_is_all_nodes(const uint8_t *a)
{
    static const uint8_t all_nodes[DP_ADDR_LEN] = {0xff, 0x02, [15] = 0x01};

    return memcmp(a, all_nodes, DP_ADDR_LEN) == 0;
}

/* The Ethernet address of IPv6 multicast group |group|: 33:33 and its low 32 bits. */
void dp_ipv6_mcast_mac(const struct dp_addr *group, struct rte_ether_addr *mac);

/* The link-local address fe80::/64 with the modified EUI-64 interface identifier of
 * |mac|: the MAC split by ff:fe, the universal/local bit inverted. */
struct dp_addr dp_ipv6_link_local(const struct rte_ether_addr *mac);

/* Sum of an upper-layer packet's IPv6 pseudo-header (RFC 8200 8.1: source, destination,
 * upper-layer length, next header), unfolded, in native-order words like dp_cksum_add(). */
static inline uint64_t dp_ipv6_phdr_sum(const uint8_t *src, const uint8_t *dst, uint32_t l4_len,
                                        uint8_t proto)
{
    uint64_t sum = dp_cksum_add(src, DP_ADDR_LEN, 0);

    sum = dp_cksum_add(dst, DP_ADDR_LEN, sum);
    sum += rte_cpu_to_be_32(l4_len);
    sum += rte_cpu_to_be_32((uint32_t)proto);
    return sum;
}

/* Sum of the upper-layer packet |l4| (|l4_len| bytes, its checksum field as it is) and its
 * pseudo-header, folded, not complemented: 0xffff when the checksum verifies. */
static inline uint16_t dp_ipv6_l4_sum(const struct rte_ipv6_hdr *ip, uint8_t proto, const void *l4,
                                      uint16_t l4_len)
{
    return dp_cksum_fold(
        dp_cksum_add(l4, l4_len, dp_ipv6_phdr_sum(ip->src_addr, ip->dst_addr, l4_len, proto)));
}

/* Where an IPv6 packet's upper-layer data is, after its extension headers. */
struct dp_ipv6_l4 {
    uint16_t off;  /* from the first byte of the IPv6 header */
    uint16_t len;  /* bytes of the upper-layer packet (Payload Length minus extensions) */
    uint8_t proto; /* its protocol (the last Next Header) */
};

/* The ECN codepoint of the IPv6 header at |ip|: the low two bits of its Traffic Class
 * (bits 20-21 of the first word, the high nibble of its second byte). */
static inline uint8_t dp_ipv6_ecn(const struct rte_ipv6_hdr *ip)
{
    return (uint8_t)(((const uint8_t *)ip)[1] >> 4) & DP_ECN_MASK;
}

/* Validates the IPv6 packet at |ip| with |avail| bytes to the end of the frame (Ethernet
 * padding included) and walks its extension headers. Checks, in order: room for the fixed
 * header (TRUNCATED), version (IP_VERSION), Payload Length (0, which only a jumbogram
 * uses: IP_LEN; beyond |avail|: TRUNCATED), Hop Limit 0 (TTL_ZERO), the source (multicast,
 * loopback, IPv4-mapped or -compatible: SRC_ADDR; the unspecified address is left to the
 * caller, which allows it for Neighbor Discovery only); then each extension header: a
 * Hop-by-Hop Options header first only, Destination Options and Hop-by-Hop options all
 * skippable (Pad1, PadN, and any unknown option whose type says "skip"), a Routing header
 * with Segments Left 0 (RFC 8200 4.4: ignored) are skipped; a Fragment header is
 * IP_FRAGMENT; a header cut by the packet's end is TRUNCATED; Hop-by-Hop elsewhere, an
 * option to act upon (Router Alert aside, which says skip; Jumbo Payload, unknown ones that
 * say discard), a Routing header still routing, more than DP_IPV6_MAX_EXT headers,
 * Mobility/HIP/Shim6/experimental headers are IP6_EXTHDR; ESP, AH and No Next Header are
 * PROTO. Returns 0 with |*l4| filled, or -1 with |*why| set. Does not check the
 * destination. */
int dp_ipv6_check(const struct rte_ipv6_hdr *ip, uint16_t avail, struct dp_ipv6_l4 *l4,
                  enum dp_drop *why);

/* Fills a 40-byte IPv6 header at |ip| for a packet carrying |l4_len| bytes of protocol
 * |proto| (no extension headers): traffic class |tc| (DSCP + ECN), flow label |label| (low 20
 * bits), Hop Limit |hops|. |l4_len| must be <= DP_IPV6_MAX_PAYLOAD (the caller checks). */
static inline void dp_ipv6_fill(struct rte_ipv6_hdr *ip, const struct dp_addr *src,
                                const struct dp_addr *dst, uint8_t proto, uint8_t tc,
                                uint32_t label, uint8_t hops, uint16_t l4_len)
{
    ip->vtc_flow = rte_cpu_to_be_32((uint32_t)DP_IPV6_VERSION << 28 | (uint32_t)tc << 20 |
                                    (label & DP_IPV6_FLOW_LABEL_MASK));
    ip->payload_len = rte_cpu_to_be_16(l4_len);
    ip->proto = proto;
    ip->hop_limits = hops;
    memcpy(ip->src_addr, src->b, DP_ADDR_LEN);
    memcpy(ip->dst_addr, dst->b, DP_ADDR_LEN);
}

/* Returns the neighbour to resolve to reach IPv6 |dst|: |dst| itself when it is link-local
 * or inside our prefix |ours|/|prefix_len| (0..128), otherwise |gateway| (all zero when
 * there is none: the caller treats it as unreachable). */
struct dp_addr dp_ipv6_next_hop(const struct dp_addr *dst, const struct dp_addr *ours,
                                uint8_t prefix_len, const struct dp_addr *gateway);

/* True when |a| and |b| share their first |prefix_len| (0..128) bits. */
bool dp_ipv6_same_prefix(const struct dp_addr *a, const struct dp_addr *b, uint8_t prefix_len);

#endif /* DP_IPV6_H */
