/* dp_local: UDP endpoints of the main lcore, for the control-plane traffic the daemon's
 * main thread originates itself (first user: the DNS queries of its resolver, which must
 * leave through the dataplane port, not the kernel).
 *
 * An endpoint is a local UDP port (any remote may send to it) owned by the main lcore.
 * Whichever worker receives a datagram for it hands the frame to the slow-path ring, as
 * it does ARP and ICMP (the workers' demultiplexing pays nothing for it: the port's owner
 * is neither a worker nor the echo service); the slow path (dp_main_loop, before the
 * main hook of the same iteration) validates the frame again and calls the endpoint's
 * callback. Sending copies the payload into an mbuf, builds the headers as the flows do,
 * resolves the next hop with the neighbour table (the main lcore is its writer: on a miss
 * the frame waits for ARP) and transmits on the slow path's own TX queue, flushed by the
 * main loop in the same iteration.
 *
 * Threads: everything here runs on the main lcore (dp_local_open() and dp_local_close()
 * also before dp_start() or after dp_stop()). Ports come from the same port table as the
 * flows': an endpoint's port is never a flow's or the echo service's, nor the reverse.
 * Counters: the slow path's "local endpoint rx/tx"; drops by reason (dp_stats.h).
 */
#ifndef H3DP_DP_LOCAL_H
#define H3DP_DP_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "dp_addr.h"

struct dp;
struct dp_local;

/* Receive callback, on the main lcore, from dp_main_loop() with the loop's |now_ns|:
 * a datagram from |src| (IPv4 mapped, or IPv6):|src_port| (host order). |src|, |payload|/
 * |len| (the UDP payload) are valid until the callback returns (the mbuf is freed then).
 * The callback may call dp_local_send() and dp_local_close(), its own endpoint's
 * included. */
typedef void (*dp_local_rx_cb)(void *arg, const struct dp_addr *src, uint16_t src_port,
                               const uint8_t *payload, uint16_t len, uint64_t now_ns);

/* Opens a UDP endpoint of the main lcore on |port| (host order; 0 = automatic: a free
 * port of the ephemeral range DP_FLOW_PORT_LO..HI, random start). |cb| is called for
 * every datagram to it. Before dp_start(), after dp_stop() or on the main lcore.
 * Returns the endpoint, or NULL with rte_errno: EINVAL (|dp| or |cb| NULL), EADDRINUSE
 * (|port| is a flow's, the echo service's or another endpoint's), EADDRNOTAVAIL (no
 * automatic port left), ENOMEM, EXDEV (another thread while the dataplane runs). */
struct dp_local *dp_local_open(struct dp *dp, uint16_t port, dp_local_rx_cb cb, void *arg);

/* The endpoint's local port (host order). */
uint16_t dp_local_port(const struct dp_local *l);

/* Sends the |len| bytes at |data| to |dst| (IPv4 mapped, or IPv6):|dst_port| (host
 * order) from the endpoint's port: copies them into an mbuf, builds the Ethernet/IP/UDP
 * headers (checksums offloaded when the port can, as for the flows), resolves the next
 * hop (on-link: |dst|, else the gateway of its family) in the neighbour table — on a miss
 * the frame waits while ARP or Neighbor Discovery runs — and queues it on the slow path's
 * TX queue. Main lcore only, while the port is started (between dp_start() and dp_stop()).
 * Returns 0 (sent, or waiting for resolution), or -EMSGSIZE (|len| beyond the MTU's UDP
 * payload or an mbuf), -EHOSTUNREACH (no route: off-link without a gateway; or the next
 * hop failed to resolve lately), -EAFNOSUPPORT (IPv6 without an IPv6 address on the
 * port), -ENOBUFS (no mbuf), -EINVAL (|dst| not a unicast address or ours, |dst_port| 0,
 * |data| NULL with |len| > 0), -EXDEV (not the main lcore), -ENETDOWN (port not started).
 * Drops are counted by reason (NO_NEIGH, NO_MBUF). */
int dp_local_send(struct dp_local *l, const struct dp_addr *dst, uint16_t dst_port,
                  const void *data, size_t len);

/* Closes the endpoint: its port is free again at once; datagrams for it still in the
 * slow-path ring are then nobody's (NO_FLOW). |l| is freed. NULL is fine. On the main
 * lcore, or while the dataplane is not running (from another thread while it runs: refused
 * with a log message, the endpoint stays open); dp_del() closes what is left. */
void dp_local_close(struct dp_local *l);

#endif
