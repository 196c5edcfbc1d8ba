/* dp_eth.h: Ethernet II header helpers.
 *
 * Frames are contiguous byte buffers whose first byte is the destination MAC. They must be
 * at least 2-byte aligned (mbuf data always is): DPDK's rte_ether_hdr is 2-byte aligned.
 */
#ifndef DP_ETH_H
#define DP_ETH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_net.h"

/* Writes an Ethernet II header (|dst|, |src|, |ethertype| in host order) at |frame|, which
 * must have DP_ETH_HDR_LEN writable bytes. Cannot fail. */
static inline void dp_eth_fill(uint8_t *frame, const struct rte_ether_addr *dst,
                               const struct rte_ether_addr *src, uint16_t ethertype)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)frame;

    rte_ether_addr_copy(dst, &eh->dst_addr);
    rte_ether_addr_copy(src, &eh->src_addr);
    eh->ether_type = rte_cpu_to_be_16(ethertype);
}

/* Returns true when a frame sent to |dst| is for the interface whose MAC is |ours|: our
 * unicast address, or the broadcast address when |allow_bcast| (ARP only). Multicast and
 * other unicast addresses are refused. */
static inline bool dp_eth_dst_ok(const struct rte_ether_addr *dst,
                                 const struct rte_ether_addr *ours, bool allow_bcast)
{
    if (rte_is_same_ether_addr(dst, ours))
        return true;
    return allow_bcast && rte_is_broadcast_ether_addr(dst);
}

/* Parses "aa:bb:cc:dd:ee:ff" into |out|. Returns 0, or -EINVAL when |s| is not a MAC
 * address or is not a unicast address (a neighbour or our own MAC must be unicast). */
int dp_eth_addr_parse(const char *s, struct rte_ether_addr *out);

#endif /* DP_ETH_H */
