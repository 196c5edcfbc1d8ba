/* dp_lcore: the worker lcore loop (l3fwd style) and the TX path shared by flows, the echo
 * service and the slow path.
 *
 * One iteration: one TSC read (→ ns), the command ring (flow open/close), the steering
 * ring, rx_burst → dp_classify → UDP of a known flow to its callback / the echo service /
 * the owning lcore's steering ring, Packet Too Big likewise to its flow's pmtu callback;
 * ARP, ICMP, Neighbor Discovery, unknown UDP and UDP for the main lcore's endpoints
 * (dp_local) to the slow-path ring;
 * then the TX buffer is flushed when full, when the RX queue was drained or on its TSC
 * deadline. Idle back-off per struct dp_conf. Nothing here allocates, locks or makes a
 * system call, except on the idle path (nanosleep() of the adaptive policy; the interrupt
 * policy's epoll_pwait2() on the RX queues' interrupts, or nanosleep()) and one read of
 * the thread's CPU clock at each end of an idle streak (the worker's CPU without its idle
 * time, dp_lcore_counters()).
 */
#ifndef H3DP_DP_LCORE_H
#define H3DP_DP_LCORE_H

#include <stdint.h>
#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dp.h"

struct dp;
struct dp_worker;
struct dp_txbuf;
struct dp_lcore_stats;
struct dp_lcore_cpu;

/* The worker loop, for rte_eal_remote_launch(); |arg| is its struct dp_worker. Returns 0
 * when dp_request_stop() was called (the TX buffer flushed). */
int dp_lcore_main(void *arg);

/* Sends the |len|-byte UDP payload that sits at dp_udp_hdrs_len(|dst|) into the
 * single-segment |m| from our address (dp_tx_src)/|src_port| to |dst|:|dst_port| (ports
 * network order) with IPv4 TOS / IPv6 Traffic Class |tos| (DSCP << 2 | ECN): builds the
 * headers, sets the offload flags, looks the next hop up without locks and queues |m| in
 * |w|'s TX buffer, or hands it to the slow path to wait for ARP / Neighbor Discovery.
 * Consumes |m|. Returns 0, -EHOSTUNREACH (no next hop) or -ENOBUFS (slow-path ring
 * full). */
int dp_lcore_tx_udp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_addr *dst,
                    rte_be16_t dst_port, rte_be16_t src_port, uint16_t len, uint8_t tos);

/* Sets up |b| for queue |txq| of |port|, flushing at |size| packets; the counters it
 * updates live in |st| (tx_pkts, tx_dropped, drop[DP_DROP_TX_FULL]). */
void dp_txbuf_init(struct dp_txbuf *b, uint16_t port, uint16_t txq, uint16_t size,
                   uint64_t *tx_pkts, uint64_t *tx_dropped, uint64_t *drop_tx_full);

/* Adds |m| to |b|; flushes when |b| is full. The first packet of a burst sets the
 * deadline |now_tsc| + |drain_tsc|. */
void dp_txbuf_put(struct dp_txbuf *b, struct rte_mbuf *m, uint64_t now_tsc, uint64_t drain_tsc);

/* Sends what |b| holds; frees and counts what the queue refused. */
void dp_txbuf_flush(struct dp_txbuf *b);

/* Idle back-off after |empty| consecutive empty iterations: DP_IDLE_BUSY never backs
 * off; DP_IDLE_ADAPTIVE spins idle_spin_polls times, then rte_pause()s as many times,
 * then sleeps idle_sleep_us per iteration; DP_IDLE_INTERRUPT the same but sleeps
 * DP_IDLE_WAKE_NS (the main lcore's back-off; its workers sleep on RX interrupts).
 * Returns 1 when it slept. */
unsigned dp_idle_backoff(const struct dp *dp, enum dp_idle_policy policy, uint32_t empty);

/* The worker thread's CPU time so far and the part of it spent in idle streaks (the
 * current one included), in ns; both 0 before the worker started. Any thread. */
void dp_lcore_cpu_read(const struct dp_lcore_cpu *c, uint64_t *cpu_ns, uint64_t *idle_ns);

/* Prints the per-lcore table (workers + main) to |out|. */
void dp_lcore_stats_print(const struct dp *dp, FILE *out);

#endif
