/* dp_priv: the runtime's shared internal types (dp.c, dp_lcore.c, dp_slowpath.c,
 * dp_flow.c, dp_local.c). Not for the upper layers: they use dp.h, dp_flow.h and
 * dp_local.h. */
#ifndef H3DP_DP_PRIV_H
#define H3DP_DP_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dp.h"
#include "dp_classify.h"
#include "dp_flow.h"
#include "dp_flowtab.h"
#include "dp_ipv6.h"
#include "dp_local.h"
#include "dp_neigh.h"
#include "dp_port.h"
#include "dp_rss.h"
#include "dp_stats.h"
#include "dp_udp.h"

/* A TX burst being collected for one queue. */
struct dp_txbuf {
    uint16_t n;
    uint16_t size; /* flush when n reaches it (the configured burst) */
    uint16_t port, queue;
    uint64_t deadline_tsc;                         /* flush by then even if not full */
    uint64_t *tx_pkts, *tx_dropped, *drop_tx_full; /* the owner's counters */
    struct rte_mbuf *pkts[DP_BURST_MAX];
};

/* Counters of one lcore; written by that lcore only, read by anyone (may be stale). */
struct dp_lcore_stats {
    uint64_t rx_pkts;
    uint64_t tx_pkts;
    uint64_t tx_dropped;    /* refused by tx_burst (also counted as DP_DROP_TX_FULL) */
    uint64_t busy_cycles;   /* TSC cycles of loop iterations that did work */
    uint64_t idle_cycles;   /* ... that found nothing to do (incl. pauses and sleeps) */
    uint64_t to_slow;       /* frames handed to the slow path */
    uint64_t to_resolve;    /* outgoing frames handed to the slow path for ARP */
    uint64_t steer_out;     /* UDP forwarded to the owning lcore */
    uint64_t steer_in;      /* UDP received from another lcore */
    uint64_t flow_rx;       /* datagrams delivered to flow callbacks */
    uint64_t flow_tx;       /* datagrams sent by flows */
    uint64_t pmtu;          /* Packet Too Big handed to flows */
    uint64_t echo;          /* datagrams answered by the echo service */
    uint64_t neigh_confirm; /* reachability hints given to the neighbour table */
    /* hand-offs refused by a full ring (also in drop ring_full) */
    uint64_t slow_full, resolve_full, steer_full;
    uint64_t sleeps; /* idle sleeps */
    struct dp_drop_stats drop;
};

/* The worker's own CPU time, from its thread CPU clock (not fooled by preemption, unlike
 * the TSC cycle counts): the clock, and how much of it went into idle streaks (from the
 * first empty iteration to the next one that did work). Written by the worker at the two
 * ends of an idle streak only, read by anyone (dp_lcore_counters). */
struct dp_lcore_cpu {
    clockid_t clock;            /* the worker thread's CPU clock; valid once |ready| */
    atomic_bool ready;
    atomic_uint_fast64_t idle_ns;  /* CPU spent in finished idle streaks */
    atomic_uint_fast64_t idle_at;  /* thread CPU time when the current streak began, 0 */
};

/* Per worker lcore state, cache aligned, touched by its lcore only (except the rings and
 * the atomics). */
struct dp_worker {
    struct dp *dp;
    unsigned lcore_id;
    uint16_t index; /* 0 .. n_workers - 1 */
    uint16_t n_rxq; /* RX queues it polls (0: gets its packets by steering) */
    uint16_t rxqs[DP_MAX_WORKERS + 1];
    uint16_t txq;
    struct rte_mempool *pool; /* mbufs of its NUMA socket */
    struct dp_txbuf txb;
    uint64_t now_tsc;       /* the current iteration's timestamp */
    struct rte_ring *cmd;   /* flow open/close posted by other threads (MP/SC) */
    struct rte_ring *steer; /* UDP for its flows from other lcores (MP/SC) */
    struct dp_flowtab ft;
    atomic_uint nflows;  /* flows owned (for least-loaded placement) */
    dp_worker_hook hook; /* the upper layer's per-iteration work, or NULL */
    void *hook_arg;
    dp_worker_timer timer; /* the upper layer's next deadline (interrupt policy), or NULL */
    int epfd;              /* interrupt policy: epoll of its RX queues' interrupts, or -1 */
    bool intr_arm;         /* the device wants rx_intr_enable before each sleep */
    struct dp_lcore_stats st;
    struct dp_lcore_cpu cpu;
} __rte_cache_aligned;

/* Counters of the slow path (main lcore). */
struct dp_slow_stats {
    uint64_t rx_pkts; /* frames from the workers */
    uint64_t arp_req_in, arp_rep_in, arp_req_out, arp_rep_out;
    uint64_t arp_conflict;      /* ARP claims of another MAC for a neighbour, refused */
    uint64_t ns_in, na_out;     /* Neighbor Solicitations for our addresses, answered */
    uint64_t ns_out, na_in;     /* ours (resolution, probes, DAD), and advertisements */
    uint64_t nd_conflict;       /* advertisements of another MAC for a neighbour, refused;
                                 * claims of our own addresses */
    uint64_t ra_in, ra_ignored; /* Router Advertisements, and those not taken */
    uint64_t icmp_echo_in, icmp_echo_out;
    uint64_t resolve_in;   /* outgoing frames that waited for ARP: handed over by the
                            * workers, or the main lcore's own (dp_local) queued */
    uint64_t resolve_sent; /* ... sent after resolution */
    uint64_t local_rx;     /* datagrams delivered to main-lcore endpoints (dp_local) */
    uint64_t local_tx;     /* datagrams sent by them */
    uint64_t tx_pkts, tx_dropped;
    uint64_t busy_cycles, idle_cycles;
    struct dp_drop_stats drop;
};

/* Flow states. */
enum {
    DP_FLOW_OPENING = 1, /* posted to the owner, not yet in its table */
    DP_FLOW_OPEN,
    DP_FLOW_FAILED, /* the owner could not insert it (duplicate or table full) */
    DP_FLOW_CLOSING,
};

struct dp_flow {
    struct dp *dp;
    struct dp_worker *w;
    struct dp_addr remote;
    const struct dp_addr *local; /* the address we send from (dp_tx_src) */
    rte_be16_t remote_port;
    rte_be16_t local_port;
    uint16_t hdrs_len;    /* headers in front of the payload: DP_UDP_HDRS_LEN / _UDP6_ */
    uint16_t max_payload; /* UDP payload that fits the MTU in this family */
    dp_flow_rx_cb rx;
    dp_flow_pmtu_cb pmtu;
    void *arg;
    atomic_int state;
    uint64_t rx_pkts, tx_pkts;
    uint64_t confirm_ns; /* the last dp_flow_confirm handed to the neighbour table; 0 = none */
} __rte_cache_aligned;

/* A UDP endpoint of the main lcore (dp_local.h); main lcore only. */
struct dp_local {
    struct dp *dp;
    struct dp_local *next; /* dp->locals */
    rte_be16_t port;
    dp_local_rx_cb cb;
    void *arg;
    uint64_t rx_pkts, tx_pkts;
};

/* port_owner[] values: low 16 bits = owner (worker index + 1, DP_OWNER_MAIN or
 * DP_OWNER_ECHO), high 16 bits = number of users of the port on that owner (only a
 * worker's flows share a port). 0 = free. A worker hands UDP for a free port or a
 * DP_OWNER_MAIN one to the slow path through the same fall-through of its owner test
 * (DP_OWNER_MAIN is above any worker index + 1): the main lcore's endpoints cost the
 * workers' demultiplexing nothing. */
#define DP_OWNER_MASK 0xffffu
#define DP_OWNER_ECHO 0xffffu
#define DP_OWNER_MAIN 0xfffeu
#define DP_OWNER_REF  0x10000u
#define DP_PORTS      65536

struct dp {
    struct dp_conf conf;
    struct dp_port port;
    struct dp_iface iface;
    struct dp_addr ip4; /* conf.ip, mapped (dp_addr.h) */
    struct dp_rss rss;
    unsigned tx_offload;   /* DP_TX_OFFLOAD_* flags for dp_udp_build() */
    uint64_t tx_ol_flags;  /* matching mbuf ol_flags, IPv4 */
    uint64_t tx_ol_flags6; /* ... IPv6 */
    uint16_t max_payload;  /* UDP payload that fits the MTU, IPv4 */
    uint16_t max_payload6; /* ... IPv6 */

    struct rte_mempool *pools[RTE_MAX_NUMA_NODES];
    struct rte_mempool *main_pool;
    struct rte_mempool *flow_pool;
    struct rte_ring *slow_rx; /* frames for the slow path (workers → main) */
    struct rte_ring *slow_tx; /* outgoing frames waiting for a next hop (workers → main) */
    struct dp_neigh *neigh;
    struct dp_worker *workers; /* n_workers of them */
    unsigned n_workers;
    struct dp_txbuf slow_txb; /* main lcore's TX queue */
    struct dp_slow_stats sp;
    struct dp_local *locals; /* the main lcore's UDP endpoints (main lcore only) */
    uint64_t next_tick_ns;
    uint64_t sp_conflict_log_ns; /* last neighbour conflict logged */
    /* The IPv6 default router: [port] gateway6, or the one Router Advertisements name
     * (accept_ra), all zero for none. The main lcore writes it, the workers read it
     * (dp_router6): a sequence counter, odd while it changes. */
    uint32_t gw6_seq;
    uint64_t gw6_w[2];
    uint64_t ra_router_until_ns; /* the advertised router's lifetime ends (0: none) */
    /* Duplicate address detection (dp_start): our IPv6 addresses are tentative until it
     * ends; a clash is recorded here. */
    bool dad_running;
    bool dad_clash;
    struct dp_addr dad_clash_addr;
    struct rte_ether_addr dad_clash_mac;
    atomic_uint *port_owner; /* DP_PORTS entries, see DP_OWNER_* */
    uint32_t port_seed;

    uint64_t tsc_hz, tsc0, ns_mult, drain_tsc;
    atomic_bool quit;
    atomic_bool stats_req;
    atomic_bool running; /* workers launched */
};

/* Flow commands ride a worker's command ring as tagged pointers: flows are cache
 * aligned, so bit 0 is free to say "close". */
#define DP_CMD_CLOSE ((uintptr_t)1)

/* dp_flow.c: applies an open (insert into the table) or a close (remove, release the
 * local port, free) of |f| on its owner |w|; called by |w|'s lcore, or by anyone while
 * the workers are not running. */
void dp_flow_apply(struct dp_worker *w, struct dp_flow *f, bool close);

/* dp_flow.c: claims local port |port| (host order) for |owner| (see DP_OWNER_*): a free
 * port, or one more reference to a port of the same worker. Returns 0 or -EADDRINUSE.
 * dp_port_release() drops one reference. Any thread (compare-and-swap). */
int dp_port_claim(struct dp *dp, uint16_t port, unsigned owner);
void dp_port_release(struct dp *dp, uint16_t port);

/* dp_flow.c: chooses and claims for |owner| a free automatic port (DP_FLOW_PORT_LO..HI,
 * random start) whose traffic from |remote|:|remote_port| to |local| the RSS model |rss|
 * delivers to RX queue |want_q|; |rss| NULL: any queue (the main lcore, which gets its
 * packets from whichever worker receives them). Writes it (host order) to |*port|.
 * Returns 0, -EADDRNOTAVAIL (none left) or -EINVAL. */
int dp_port_pick(struct dp *dp, const struct dp_rss *rss, const struct dp_addr *remote,
                 const struct dp_addr *local, uint16_t remote_port, uint16_t want_q, unsigned owner,
                 uint16_t *port);

/* dp_local.c: the slow path's UDP delivery to the main lcore's endpoints: calls the
 * callback of the endpoint on |dst_port| (network order) with the datagram and returns
 * true, or returns false when none is open there (the caller counts NO_FLOW). The
 * payload is the caller's until the callback returns. Main lcore only. */
bool dp_local_rx(struct dp *dp, const struct dp_addr *src, rte_be16_t src_port, rte_be16_t dst_port,
                 const uint8_t *payload, uint16_t len, uint64_t now_ns);

/* dp.c → dp_local.c: closes every endpoint still open (dp_del). */
void dp_local_close_all(struct dp *dp);

/* The address we send to |dst| from: our IPv4 address; for IPv6 our link-local address to
 * a link-local destination (RFC 6724 rule 2: matching scope), else our global one. |dst|
 * IPv6 requires IPv6 on (dp->iface.ip6_on). */
static inline const struct dp_addr *dp_tx_src(const struct dp *dp, const struct dp_addr *dst)
{
    if (likely(dp_addr_is_v4(dst)))
        return &dp->ip4;
    return dp_ipv6_is_link_local(dst->b) ? &dp->iface.ip6_ll : &dp->iface.ip6;
}

/* The IPv6 default router into |*r| (any lcore; main-lcore writes, dp_router6_set).
 * Returns false when there is none. A reader that meets the writer mid-update (a few
 * stores, rare) gives up after a few tries rather than wait: |*r| is then all zero and
 * true is returned, so the caller's neighbour lookup misses and the slow path, which
 * reads it settled, routes the packet. */
static inline bool dp_router6(const struct dp *dp, struct dp_addr *r)
{
    for (int i = 0; i < 4; i++) {
        uint32_t s1 = __atomic_load_n(&dp->gw6_seq, __ATOMIC_ACQUIRE), s2;

        r->w64[0] = __atomic_load_n(&dp->gw6_w[0], __ATOMIC_RELAXED);
        r->w64[1] = __atomic_load_n(&dp->gw6_w[1], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        s2 = __atomic_load_n(&dp->gw6_seq, __ATOMIC_RELAXED);
        if (s1 == s2 && !(s1 & 1))
            return !dp_addr_is_zero(r);
    }
    memset(r, 0, sizeof(*r));
    return true;
}

/* Main lcore (or before the workers run): publishes |r| (all zero: none) as the IPv6
 * default router. */
static inline void dp_router6_set(struct dp *dp, const struct dp_addr *r)
{
    uint32_t seq = __atomic_load_n(&dp->gw6_seq, __ATOMIC_RELAXED);

    __atomic_store_n(&dp->gw6_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&dp->gw6_w[0], r->w64[0], __ATOMIC_RELAXED);
    __atomic_store_n(&dp->gw6_w[1], r->w64[1], __ATOMIC_RELAXED);
    __atomic_store_n(&dp->gw6_seq, seq + 2, __ATOMIC_RELEASE);
}

/* The neighbour to resolve to reach |dst|: on-link, |dst| itself; else the gateway of its
 * family. Returns false (|*nh| unspecified) when there is none, or |dst| is IPv6 and the
 * port has no IPv6 address. */
static inline bool dp_next_hop(const struct dp *dp, const struct dp_addr *dst, struct dp_addr *nh)
{
    if (likely(dp_addr_is_v4(dst))) {
        rte_be32_t v4 = dp_ipv4_next_hop(dp_addr_get_v4(dst), dp->conf.ip, dp->conf.prefix_len,
                                         dp->conf.gateway);

        *nh = dp_addr_v4(v4);
        return v4 != 0;
    }
    if (!dp->iface.ip6_on)
        return false;
    if (dp_ipv6_is_link_local(dst->b) ||
        dp_ipv6_same_prefix(dst, &dp->iface.ip6, dp->conf.prefix6_len)) {
        *nh = *dst;
        return true;
    }
    return dp_router6(dp, nh);
}

/* The addresses of a datagram from us (|src_port|) to |dst|:|dst_port| (network order;
 * |dst| IPv4 mapped or IPv6); the destination MAC is the caller's (the next hop's). */
static inline void dp_tx_tuple_init(const struct dp *dp, struct dp_tx_tuple *t,
                                    const struct dp_addr *dst, rte_be16_t dst_port,
                                    rte_be16_t src_port)
{
    t->src_mac = dp->port.mac;
    t->src_ip = *dp_tx_src(dp, dst);
    t->dst_ip = *dst;
    t->src_port = src_port;
    t->dst_port = dst_port;
    t->tos = 0;
    t->flow_label = 0;
}

/* Builds the Ethernet/IP/UDP headers of |t| in front of the |len|-byte payload at
 * dp_udp_hdrs_len(&t->dst_ip) in the single-segment |m|: checksums by the NIC when the
 * port offers them, else in software, and the mbuf's lengths and offload fields to match.
 * The one frame builder of the workers' TX path (dp_lcore_tx_udp) and the main lcore's
 * endpoints (dp_local_send). Returns 0 or -EINVAL (|len| beyond the family's maximum). */
static inline int dp_tx_udp_frame(const struct dp *dp, struct rte_mbuf *m,
                                  const struct dp_tx_tuple *t, uint16_t len)
{
    int flen = dp_udp_build(rte_pktmbuf_mtod(m, uint8_t *), t, len, dp->tx_offload);
    bool v4 = dp_addr_is_v4(&t->dst_ip);

    if (unlikely(flen < 0))
        return flen;
    m->data_len = (uint16_t)flen;
    m->pkt_len = (uint32_t)flen;
    m->ol_flags = v4 ? dp->tx_ol_flags : dp->tx_ol_flags6;
    m->l2_len = DP_ETH_HDR_LEN;
    m->l3_len = v4 ? DP_IPV4_HDR_LEN : DP_IPV6_HDR_LEN;
    return 0;
}

/* TSC → ns since dp_new(), without a division on the hot path. */
static inline uint64_t dp_tsc_ns(const struct dp *dp, uint64_t tsc)
{
    return (uint64_t)(((unsigned __int128)(tsc - dp->tsc0) * dp->ns_mult) >> 32);
}

#endif
