/* dp: the dataplane runtime facade: one DPDK port, worker lcores, the main-lcore slow path.
 *
 * Life cycle (after rte_eal_init()):
 *     dp_new() → [dp_flow_open(), dp_local_open() ...] → dp_start() → dp_main_loop()
 *     → dp_stop() → dp_del()
 * dp_request_stop() may be called from a signal handler at any time.
 *
 * The dataplane knows nothing of the configuration file: the daemon fills struct dp_conf
 * from its validated config.
 */
#ifndef H3DP_DP_H
#define H3DP_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_addr.h"
#include "dp_neigh.h"
#include "dp_stats.h"

/* What a worker does when its RX queue is empty. */
enum dp_idle_policy {
    DP_IDLE_ADAPTIVE,  /* spin, then rte_pause(), then sleep idle_sleep_us */
    DP_IDLE_BUSY,      /* always spin: lowest latency, burns the core */
    DP_IDLE_INTERRUPT, /* spin, then rte_pause(), then sleep until a packet (the RX
                        * queue's interrupt, where the device has one), the upper
                        * layer's next timer (dp_worker_timer_set) or DP_IDLE_WAKE_NS,
                        * whichever comes first; the main lcore sleeps DP_IDLE_WAKE_NS */
};

/* DP_IDLE_INTERRUPT: the longest a sleeping worker or main lcore waits, so packets on a
 * device without RX interrupts and commands from other threads wait at most this long. */
#define DP_IDLE_WAKE_NS 1000000ull

#define DP_MAX_WORKERS 16

struct dp_conf {
    /* port */
    const char *device;        /* DPDK port name: vdev ("net_tap0") or PCI address */
    const char *hotplug;       /* non-NULL: rte_dev_probe() this devargs string first */
    struct rte_ether_addr mac; /* all-zero: keep the device's MAC */
    rte_be32_t ip;             /* our IPv4 address */
    uint8_t prefix_len;        /* on-link prefix of |ip|, 0..32 */
    rte_be32_t gateway;        /* next hop for off-link remotes; 0 = none */
    bool gateway_mac_set;      /* pin a static neighbour entry for the gateway */
    struct rte_ether_addr gateway_mac;
    bool ip6_set; /* IPv6 on: ip6 is our global address, the link-local one
                   * comes from the MAC (EUI-64) */
    struct dp_addr ip6;
    uint8_t prefix6_len;     /* on-link prefix of |ip6|, 1..128 */
    struct dp_addr gateway6; /* next hop for off-link IPv6 remotes (in the prefix, or
                              * link-local); all zero = none */
    bool gateway6_mac_set;   /* pin a static neighbour entry for gateway6 */
    struct rte_ether_addr gateway6_mac;
    bool accept_ra;            /* take the default router from Router Advertisements (when
                                * gateway6 is not set); else they are counted and ignored */
    uint8_t dad_transmits;     /* duplicate address detection: solicitations per address at
                                * start, 1 s apart (RFC 4862 5.1); 0 = none */
    uint16_t rx_desc, tx_desc; /* 0 = device default */
    uint16_t mtu;              /* 0 = leave the device's */
    bool rss;                  /* use hardware RSS when the device can */
    bool offloads;             /* use checksum offloads when the device has them */

    /* lcores */
    unsigned n_workers;                     /* worker lcores, 1..DP_MAX_WORKERS */
    unsigned worker_lcores[DP_MAX_WORKERS]; /* EAL lcore ids, not the main lcore */
    uint16_t burst;                         /* RX/TX burst size, 1..DP_BURST_MAX */
    enum dp_idle_policy idle;
    uint32_t idle_spin_polls; /* adaptive: empty polls spent spinning, then as many
                               * with rte_pause(), then sleeps */
    uint32_t idle_sleep_us;   /* adaptive: length of one idle sleep */
    uint32_t tx_drain_us;     /* flush a partly filled TX buffer after this long */

    /* memory */
    uint32_t mbufs;      /* mbufs per NUMA socket pool */
    uint32_t mbuf_cache; /* per-lcore mempool cache */
    uint32_t ring_size;  /* slow-path, steering and command rings (power of 2) */
    uint32_t max_flows;  /* UDP flows, all lcores together */

    /* neighbours */
    uint32_t arp_timeout_ms; /* entry lifetime without confirmation */
    uint32_t arp_retry_ms;   /* resend an unanswered request after this long */
    uint32_t arp_retries;    /* requests before giving up on a next hop */
    uint32_t arp_queue;      /* packets waiting for resolution, all next hops */

    /* services */
    uint16_t udp_echo_port; /* built-in UDP echo service; 0 = off */
};

#define DP_BURST_MAX 64

struct dp;

/* Fills |c| with the defaults of every field (device NULL, ip 0: the caller sets them). */
void dp_conf_defaults(struct dp_conf *c);

/* Builds the dataplane from |c|: mempools, the port and its queues, per-lcore state,
 * rings, the neighbour table. EAL must be initialised. Returns NULL with rte_errno set:
 * EINVAL (bad conf, too few EAL lcores), ENODEV (no such port), ENOMEM, or what the ethdev
 * layer reported. Messages go to the log. */
struct dp *dp_new(const struct dp_conf *c);

/* Starts the port, checks that nobody else holds our IPv6 addresses (duplicate address
 * detection: conf.dad_transmits Neighbor Solicitations per address, one a second, the
 * main lcore polling the port meanwhile; ARP, echo and the main lcore's endpoints are
 * served as usual) and launches the worker loops on their lcores.
 * Errors: -EALREADY, -EADDRINUSE (another host holds one of our IPv6 addresses: logged
 * with its MAC; dp_dad_clash() says which), or the -errno of the port start / lcore
 * launch. */
int dp_start(struct dp *dp);

/* After dp_start() failed with -EADDRINUSE: writes the address another host holds and
 * that host's MAC, and returns true; false when there was no clash. */
bool dp_dad_clash(const struct dp *dp, struct dp_addr *addr, struct rte_ether_addr *mac);

/* Async-signal-safe: asks every loop (workers and dp_main_loop) to return. */
void dp_request_stop(struct dp *dp);

/* Async-signal-safe: asks dp_main_loop to print the counters on its next iteration. */
void dp_request_stats(struct dp *dp);

/* True once dp_request_stop() was called. */
bool dp_stopping(const struct dp *dp);

/* Hook run by dp_main_loop on every iteration with the loop's timestamp; returns how much
 * work it did (0 = idle) so the loop can back off. For the control plane. */
typedef unsigned (*dp_main_hook)(void *arg, uint64_t now_ns);

/* Hook run by a worker on every loop iteration, after RX, on that worker's lcore: the
 * upper layer's timers and transmissions (dp_flow_tx() is allowed). Returns how much work
 * it did (0 = idle) so the loop can back off. */
typedef unsigned (*dp_worker_hook)(void *arg, unsigned lcore, uint64_t now_ns);

/* Installs |fn| (NULL removes it) on worker lcore |lcore|. Before dp_start() only.
 * Errors: -EINVAL (|lcore| is not a worker), -EBUSY (workers running). */
int dp_worker_hook_set(struct dp *dp, unsigned lcore, dp_worker_hook fn, void *arg);

/* The upper layer's next deadline on a worker, in the dataplane clock (the hook's
 * now_ns); UINT64_MAX: none. Asked only when the worker is about to sleep. */
typedef uint64_t (*dp_worker_timer)(void *arg);

/* Installs |fn| (NULL removes it) on worker lcore |lcore|, called with the hook's |arg|:
 * with DP_IDLE_INTERRUPT the worker does not sleep past it. Before dp_start() only.
 * Errors: -EINVAL (|lcore| is not a worker), -EBUSY (workers running). */
int dp_worker_timer_set(struct dp *dp, unsigned lcore, dp_worker_timer fn);

/* Runs the slow path (ARP, ICMP echo, neighbour resolution, the main lcore's UDP
 * endpoints of dp_local.h) on the calling (main) lcore until dp_request_stop(); calls
 * |hook| (may be NULL) each iteration, after the slow path, then flushes what the hook
 * sent. Idle back-off is always adaptive here, whatever the workers' policy. Returns 0. */
int dp_main_loop(struct dp *dp, dp_main_hook hook, void *hook_arg);

/* Stops the workers (waits for them), then stops and closes the port. Idempotent. */
void dp_stop(struct dp *dp);

/* Frees everything dp_new() made. dp_stop() first if running. NULL is fine. */
void dp_del(struct dp *dp);

/* Prints every counter (port, lcores, drop reasons, slow path, neighbours) as aligned
 * tables to |out|. Safe while running (values may be slightly stale). */
void dp_stats_print(const struct dp *dp, FILE *out);

/* How received datagrams reach their flow's lcore: NULL when the NIC's RSS does it
 * (hash key and RETA read back from the device), else why the lcore owning RX queue 0
 * steers them in software ("one worker", "RSS key/RETA read-back failed: ..."). Fixed at
 * dp_new. */
const char *dp_steering(const struct dp *dp);

/* Our MAC address (valid after dp_new). */
const struct rte_ether_addr *dp_mac(const struct dp *dp);

/* Our IPv4 address (network order); the number of worker lcores and the EAL id of the
 * |index|-th (0 for an index out of range). Fixed at dp_new. */
rte_be32_t dp_ipv4(const struct dp *dp);

/* Our global IPv6 address and our link-local one (from the MAC), or NULL when IPv6 is not
 * configured. Fixed at dp_new. */
const struct dp_addr *dp_ipv6(const struct dp *dp);
const struct dp_addr *dp_ipv6_ll(const struct dp *dp);
unsigned dp_n_workers(const struct dp *dp);
unsigned dp_worker_lcore(const struct dp *dp, unsigned index);

/* Counters of worker lcore |lcore|, or of the main lcore (its slow path and the daemon's
 * hook: busy/idle cycles and frames; flow_rx/flow_tx 0), stale by up to one loop
 * iteration. Returns 0 or -EINVAL when |lcore| is neither. Any thread. */
struct dp_lcore_counters {
    uint64_t busy_cycles, idle_cycles, rx_pkts, tx_pkts, flow_rx, flow_tx;
    uint64_t tsc_hz;
    /* The worker thread's CPU time (its thread CPU clock: preemption not counted) and
     * the part of it spent idle (polling empty queues, pausing, sleeping); cpu_ns -
     * idle_cpu_ns is the CPU that did work. 0 before the worker started. */
    uint64_t cpu_ns, idle_cpu_ns;
};
int dp_lcore_counters(const struct dp *dp, unsigned lcore, struct dp_lcore_counters *out);

/* The drop counters by reason (dp_stats.h), summed over the workers and the main lcore;
 * stale by up to one loop iteration. Any thread. */
struct dp_drop_stats;
void dp_drop_totals(const struct dp *dp, struct dp_drop_stats *out);

/* Current time of the dataplane clock (TSC-based), in nanoseconds. */
uint64_t dp_now_ns(const struct dp *dp);

/* The dataplane's counters for the control plane (dp_counters.c), summed over the worker
 * lcores and the slow path; each may be stale by a loop iteration. */
struct dp_counters {
    uint64_t drop[DP_DROP__MAX]; /* by reason (dp_drop_name()), every lcore */
    /* Hand-offs refused because a ring was full (each also counted as drop ring_full). */
    uint64_t ring_slow_full;    /* worker -> slow path: ARP, ICMP, UDP for the main lcore */
    uint64_t ring_resolve_full; /* worker -> slow path: frames waiting for their next hop */
    uint64_t ring_steer_full;   /* worker -> worker: UDP for another lcore's flow */
    struct {
        uint64_t rx_pkts, tx_pkts, tx_dropped; /* frames in from the workers; its TX queue */
        uint64_t icmp_echo_in, icmp_echo_out;
        uint64_t resolve_in, resolve_sent; /* frames that waited for a next hop; sent */
        uint64_t local_rx, local_tx;       /* datagrams of the main lcore's endpoints */
    } slow;
    struct {
        uint64_t requests_in, replies_in, requests_out, replies_out;
        uint64_t conflicts; /* claims of another MAC for a neighbour, refused (dp_neigh.h) */
    } arp;
    struct { /* IPv6 Neighbor Discovery, the same meanings */
        uint64_t solicits_in, adverts_in, solicits_out, adverts_out;
        uint64_t conflicts;
        uint64_t ra_in, ra_ignored; /* Router Advertisements; not taken ([port] accept_ra) */
    } nd;
    uint64_t neigh_hints; /* reachability confirmations the flows gave the table */
    struct dp_neigh_stats neigh;
    uint32_t neigh_entries; /* entries not free */
};

/* Fills |c|. On the main lcore (the neighbour table's writer; the daemon's hook runs
 * there), or anywhere once the loops have stopped. */
void dp_counters_get(const struct dp *dp, struct dp_counters *c);

/* Calls |cb| for every neighbour entry, as dp_neigh_foreach() (times on the dp_now_ns()
 * clock). Main lcore only. Returns what dp_neigh_foreach() returns. */
int dp_neigh_walk(const struct dp *dp, int (*cb)(void *arg, const struct dp_neigh_view *v),
                  void *arg);

#endif
