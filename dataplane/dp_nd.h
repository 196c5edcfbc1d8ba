/* dp_nd.h: IPv6 Neighbor Discovery (RFC 4861) for a host: parse and validate Neighbor
 * Solicitation, Neighbor Advertisement and Router Advertisement; build solicitations
 * (resolution, unicast probes, duplicate address detection, RFC 4862 5.4) and
 * advertisements. Pure code over byte buffers, like dp_arp. */
#ifndef DP_ND_H
#define DP_ND_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>

#include "dp_addr.h"
#include "dp_net.h"
#include "dp_stats.h"

/* What the slow path acts on, from one validated ND message. */
struct dp_nd_msg {
    uint8_t type;          /* DP_ND_NEIGHBOR_SOLICIT, _ADVERT or DP_ND_ROUTER_ADVERT */
    struct dp_addr target; /* NS/NA: the target address; RA: zero */
    uint32_t flags;        /* NA: DP_ND_NA_FLAG_* (host order); else 0 */
    bool has_lladdr;       /* the link-layer address option was present: source (NS,
                            * RA) or target (NA) */
    struct rte_ether_addr lladdr;
    uint16_t router_lifetime_s; /* RA: seconds this router is a default router (0: not) */
    uint32_t mtu;               /* RA: the MTU option, 0 without one */
};

/* Room an ND frame we build needs: Ethernet + IPv6 + a 24-byte NS/NA + one 8-byte
 * link-layer address option. */
#define DP_ND_FRAME_LEN (DP_ETH_HDR_LEN + DP_IPV6_HDR_LEN + DP_ND_NS_LEN + DP_ND_OPT_LLADDR_LEN)

/* Validates the ND message |icmp| (|len| bytes of ICMPv6, whose checksum the caller has
 * verified) carried by |ip| (RFC 4861 6.1.2, 7.1.1, 7.1.2): Hop Limit 255, code 0, the
 * message's minimum length, every option's length non-zero and inside the message, a
 * target that is not multicast; a solicitation from the unspecified address (duplicate
 * address detection) to a solicited-node group and without a source link-layer option;
 * an advertisement to a multicast group not marked solicited; a router advertisement
 * from a link-local source. A link-layer option whose address is not unicast is refused
 * too. Returns 0 with |*out| filled, or -1 with |*why| DP_DROP_ND_MALFORMED (or
 * DP_DROP_ICMP_TYPE for an ICMPv6 type that is none of the three). */
int dp_nd_parse(const struct rte_ipv6_hdr *ip, const uint8_t *icmp, uint16_t len,
                struct dp_nd_msg *out, enum dp_drop *why);

/* Builds a Neighbor Solicitation for |target| from |our_mac| into |frame| (|room| bytes):
 *  - |dst| NULL: resolution, to the solicited-node group of |target| (and its multicast
 *    MAC), from |src| with a source link-layer address option;
 *  - |dst| a MAC: a unicast probe (RFC 4861 7.3.3) to |target| at that MAC, from |src|,
 *    with the option;
 *  - |src| the unspecified address (NULL): duplicate address detection, to the group,
 *    without the option (RFC 4862 5.4.2).
 * Returns the frame length, or -ENOSPC. */
int dp_nd_build_ns(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                   const struct dp_addr *src, const struct dp_addr *target,
                   const struct rte_ether_addr *dst);

/* Builds a Neighbor Advertisement "|target| is at |our_mac|" (from |target|, one of ours)
 * into |frame|: to |dst_ip| at |dst_mac|, flags |flags| (DP_ND_NA_FLAG_*), with a target
 * link-layer address option. Returns the frame length, or -ENOSPC. */
int dp_nd_build_na(uint8_t *frame, uint16_t room, const struct rte_ether_addr *our_mac,
                   const struct dp_addr *target, const struct dp_addr *dst_ip,
                   const struct rte_ether_addr *dst_mac, uint32_t flags);

#endif /* DP_ND_H */
