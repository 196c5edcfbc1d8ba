/* dp_slowpath: what the workers hand to the main lcore.
 *
 * Inbound: ARP (answer requests for our address, learn senders and replies), Neighbor
 * Discovery (answer solicitations for our IPv6 addresses, learn from advertisements and
 * solicitations, Router Advertisements when configured), ICMP and ICMPv6 echo (answer in
 * place), UDP for the main lcore's endpoints (dp_local: their callbacks), UDP
 * nobody owns (counted, dropped). Outbound: frames whose next hop a worker could not find
 * in the neighbour table, and the main lcore's own (dp_local_send): dp_neigh queues them,
 * sends ARP requests (retries, expiry) and releases them with the resolved MAC. The main
 * lcore is the only writer of the neighbour table; workers read it without locks. It
 * sends on its own TX queue (the port's last).
 */
#ifndef H3DP_DP_SLOWPATH_H
#define H3DP_DP_SLOWPATH_H

#include <stdint.h>
#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dp_addr.h"

struct dp;

/* Creates the neighbour table (and pins the gateway's MAC when configured).
 * Returns 0 or a negative errno. */
int dp_slowpath_init(struct dp *dp);

/* Duplicate address detection of our IPv6 addresses (RFC 4862 5.4), before the workers
 * run: dp->conf.dad_transmits solicitations from the unspecified address per address, 1 s
 * apart, the main lcore polling the port (what arrives meanwhile is served by the slow
 * path; our addresses are tentative: solicitations for them go unanswered). Returns 0
 * (no IPv6, no detection, or nobody else holds them), or -EADDRINUSE after logging the
 * address and the MAC of the host that holds it (an advertisement for it, or another
 * host's detection of it). */
int dp_slowpath_dad(struct dp *dp);

/* Frees the neighbour table (and the packets waiting in it). */
void dp_slowpath_free(struct dp *dp);

/* One slow-path iteration on the main lcore: drains the rings, runs the neighbour timers,
 * flushes the TX buffer. Returns the number of packets handled (0 = idle). */
unsigned dp_slowpath_poll(struct dp *dp, uint64_t now_ns);

/* Sends the frame |m| the main lcore built (Ethernet/IP/UDP headers complete but for
 * the destination MAC) to next hop |nh| (dp_next_hop) on the slow path's TX queue: at once
 * when the neighbour table has |nh|, else after ARP or Neighbor Discovery (the frame waits
 * in the table, like the workers' frames). Consumes |m|. Main lcore only. Returns 0, or
 * -EHOSTUNREACH when |nh| cannot be resolved (failed recently, table full; counted as
 * NO_NEIGH). */
int dp_slowpath_xmit(struct dp *dp, struct rte_mbuf *m, const struct dp_addr *nh, uint64_t now_ns);

/* Prints the slow-path and neighbour counters and the neighbour table to |out|. Main
 * lcore (or with the loops stopped). */
void dp_slowpath_stats_print(const struct dp *dp, FILE *out);

#endif
