/* dp_slowpath: what the workers hand to the main lcore.
 *
 * Inbound: ARP (answer requests for our address, learn senders and replies), ICMP echo
 * (answer in place), UDP nobody owns (counted, dropped). Outbound: frames whose next hop
 * a worker could not find in the neighbour table: dp_neigh queues them, sends ARP
 * requests (retries, expiry) and releases them with the resolved MAC. The main lcore is
 * the only writer of the neighbour table; workers read it without locks. It sends on its
 * own TX queue (the port's last).
 */
#ifndef H3DP_DP_SLOWPATH_H
#define H3DP_DP_SLOWPATH_H

#include <stdint.h>
#include <stdio.h>

struct dp;

/* Creates the neighbour table (and pins the gateway's MAC when configured).
 * Returns 0 or a negative errno. */
int dp_slowpath_init(struct dp *dp);

/* Frees the neighbour table (and the packets waiting in it). */
void dp_slowpath_free(struct dp *dp);

/* One slow-path iteration on the main lcore: drains the rings, runs the neighbour timers,
 * flushes the TX buffer. Returns the number of packets handled (0 = idle). */
unsigned dp_slowpath_poll(struct dp *dp, uint64_t now_ns);

/* Prints the slow-path and neighbour counters and the neighbour table to |out|. Main
 * lcore (or with the loops stopped). */
void dp_slowpath_stats_print(const struct dp *dp, FILE *out);

#endif
