/* dp_flow: UDP flows for the upper layer (the HTTP/3 drivers).
 *
 * A flow is (remote IP address, remote port, local port) owned by one worker lcore (IPv4,
 * or IPv6 when the port has an IPv6 address; dp_addr.h holds both). Its
 * receive callback and every dp_flow_tx() run on that lcore only, so the upper layer keeps
 * per-connection state without locks. The local port is chosen so that the NIC's RSS hash
 * of the reply traffic lands on the owner's RX queue; on devices without RSS the lcore
 * reading RX queue 0 forwards the packets to the owner through a ring.
 *
 * Threads: dp_flow_open()/dp_flow_close() may be called from any EAL thread. Before
 * dp_start(), or on the owning lcore, they take effect at once; from another thread while
 * the workers run, they are posted to the owner's command ring and take effect on its next
 * loop iteration (dp_flow_is_open() tells when). Nothing on the RX/TX path allocates,
 * locks or makes a system call.
 */
#ifndef H3DP_DP_FLOW_H
#define H3DP_DP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dp_addr.h"
#include "dp_net.h"

struct dp;
struct dp_flow;

/* Receive callback, on the owning lcore. |payload|/|len| is the UDP payload inside |m|
 * (one segment), |ecn| the ECN codepoint its IP header carried (DP_ECN_MASK bits: what
 * QUIC's ECN validation counts, RFC 9000 13.4). Return true to keep |m| (the callee frees
 * it later with rte_pktmbuf_free()), false to let the dataplane free it on return. */
typedef bool (*dp_flow_rx_cb)(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
                              uint8_t ecn, struct rte_mbuf *m, uint64_t now_ns);

/* Packet Too Big callback, on the owning lcore: an ICMPv6 Packet Too Big quoting one of
 * the flow's datagrams reports |mtu| for the path (RFC 8201; never below DP_IPV6_MIN_MTU:
 * smaller reports are raised to it). */
typedef void (*dp_flow_pmtu_cb)(void *arg, struct dp_flow *f, uint32_t mtu, uint64_t now_ns);

struct dp_flow_params {
    struct dp_addr remote; /* unicast: IPv4 (dp_addr_v4) or IPv6 */
    uint16_t remote_port;  /* host order, != 0 */
    uint16_t local_port;   /* host order; 0 = automatic (ephemeral, RSS-aware) */
    int lcore;             /* owning EAL lcore (a worker); -1 = least loaded */
    dp_flow_rx_cb rx;      /* not NULL */
    dp_flow_pmtu_cb pmtu;  /* NULL: Packet Too Big is counted and dropped */
    void *arg;
};

/* Ephemeral range for automatic local ports (RFC 6335 dynamic ports). */
#define DP_FLOW_PORT_LO 49152
#define DP_FLOW_PORT_HI 65535

/* Opens a flow. Returns it, or NULL with rte_errno: EINVAL (bad params, lcore not a
 * worker, remote not unicast or ours), EAFNOSUPPORT (IPv6 remote without an IPv6 address
 * on the port), EADDRINUSE (local port owned by another lcore, the echo service or a
 * main-lcore endpoint of dp_local.h), EADDRNOTAVAIL (no automatic port left), ENOSPC
 * (flow limit), ENOBUFS (command ring full), EEXIST (same 3-tuple already open, when
 * opened synchronously). */
struct dp_flow *dp_flow_open(struct dp *dp, const struct dp_flow_params *p);

/* True when the flow is in its lcore's table (receives packets). */
bool dp_flow_is_open(const struct dp_flow *f);

/* The owning EAL lcore, the local port (host order), the local address the flow sends
 * from (our IPv4 address; for IPv6 the link-local one to a link-local remote, else the
 * global one). */
unsigned dp_flow_lcore(const struct dp_flow *f);
uint16_t dp_flow_local_port(const struct dp_flow *f);
const struct dp_addr *dp_flow_local_ip(const struct dp_flow *f);

/* The largest UDP payload the flow can send: the port's MTU less the IPv4 or IPv6 header
 * (by the remote's family) and the UDP header, within one mbuf. */
uint16_t dp_flow_max_payload(const struct dp_flow *f);

/* Allocates a TX mbuf for |f| with the flow's header room reserved (DP_UDP_HDRS_LEN for
 * IPv4, DP_UDP6_HDRS_LEN for IPv6): the caller writes up to |*room| payload bytes at
 * |*payload| and calls dp_flow_tx(). |*room| is bounded by the port MTU. Returns NULL
 * when the pool is empty. Owning lcore only. */
struct rte_mbuf *dp_flow_tx_alloc(struct dp_flow *f, uint8_t **payload, uint16_t *room);

/* Sends |len| payload bytes written into |m| (from dp_flow_tx_alloc()) with ECN codepoint
 * |ecn| (its DP_ECN_MASK bits go into the IPv4 TOS byte / IPv6 Traffic Class, DSCP 0):
 * prepends Ethernet/IP/UDP headers, checksums (offloaded when the port can), resolves
 * the next hop (packets wait on the slow path while ARP or Neighbor Discovery runs) and
 * queues the frame in the lcore's TX buffer. |m| is consumed in every case. Owning lcore
 * only. Returns 0, -EXDEV (not the owning lcore), -EMSGSIZE (len beyond the room),
 * -EHOSTUNREACH (no route: off-link and no gateway), -ENOBUFS (slow-path ring full). */
int dp_flow_tx(struct dp_flow *f, struct rte_mbuf *m, uint16_t len, uint8_t ecn);

/* Upper-layer reachability confirmation (RFC 4861 7.3.1), owning lcore only: the peer
 * acknowledged data the flow sent, so the flow's next hop (the remote on-link, else the
 * gateway of its family) answers at the MAC we send to. Handed to the neighbour table
 * (dp_neigh_confirm: lock-free, at most one compare-and-swap) at most once per
 * DP_FLOW_CONFIRM_NS per flow, later calls in that interval cost a compare; counted as the
 * lcore's neigh_confirm (dataplane.neigh.hints). Keeps the entry REACHABLE without probes
 * and dismisses a spoofed ARP/NDP claim while the traffic flows. */
void dp_flow_confirm(struct dp_flow *f, uint64_t now_ns);

/* The interval of dp_flow_confirm's rate limit: the neighbour table keeps confirmation
 * times in ~1 ms units, a finer one would change nothing. */
#define DP_FLOW_CONFIRM_NS (1ull << 20)

/* Closes the flow: it stops receiving, its local port is released and |f| is freed
 * (at once or on the owner's next iteration). |f| must not be used afterwards. NULL is
 * fine. */
void dp_flow_close(struct dp_flow *f);

#endif
