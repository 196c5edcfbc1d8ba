/* dp_neigh.h: the neighbour (ARP) table: IPv4 next hop -> MAC.
 *
 * One writer, many readers. Only the main lcore (slow path) calls the writer functions
 * (everything but dp_neigh_lookup()); worker lcores call dp_neigh_lookup() concurrently,
 * without locks. Each slot carries a sequence counter (seqlock): the writer makes it odd,
 * changes the slot, makes it even again; a reader retries while it is odd or changed. The
 * memory ordering is explained in dp_neigh.c. Slots are never moved: a slot whose entry
 * died is reused only by an insert whose probe path passes through it, so a reader's
 * linear probe never misses a live entry. A reader miss is always safe: the worker hands
 * the packet to the slow path, which calls dp_neigh_resolve().
 *
 * States (RFC 1122 2.3.2.1 / RFC 4861-like):
 *   INCOMPLETE  request sent, packets queued; retried every retry_ns, FAILED after
 *               max_retries requests without reply
 *   REACHABLE   usable; after reachable_ns becomes STALE, or is dropped if nobody ever
 *               asked for it (created by dp_neigh_learn(create) only, never resolved)
 *   STALE       still usable; re-probed with unicast requests every retry_ns, REACHABLE
 *               again on a reply, FAILED after max_retries probes
 *   FAILED      unusable; resolve fails fast (-EHOSTUNREACH) for failed_hold_ns, then the
 *               slot is free again
 *   PERMANENT   configured statically (e.g. the gateway's MAC from the config); never ages
 *
 * Packets waiting for resolution are opaque (void *, e.g. an mbuf) so the table needs no
 * DPDK memory. Each entry queues at most queue_per_entry of them, all entries together at
 * most queue_total (a pool allocated at init). On resolution they are handed to ops.xmit;
 * when the queue overflows the oldest is freed (Linux behaviour: newer packets matter more)
 * and when resolution fails all are freed, through ops.free_pkt, and counted.
 *
 * Time is an input (now_ns); the table never reads a clock. No allocation after
 * dp_neigh_new().
 */
#ifndef DP_NEIGH_H
#define DP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

struct dp_neigh;

enum dp_neigh_state {
    DP_NEIGH_FREE = 0,
    DP_NEIGH_INCOMPLETE,
    DP_NEIGH_REACHABLE,
    DP_NEIGH_STALE,
    DP_NEIGH_FAILED,
    DP_NEIGH_PERMANENT,
};

/* Callbacks into the slow path. All are called on the writer (main lcore) only. */
struct dp_neigh_ops {
    /* Send an ARP request for |ip|; |dst| NULL: broadcast, else unicast to |dst|. */
    void (*send_arp)(void *arg, rte_be32_t ip, const struct rte_ether_addr *dst);
    /* A queued packet's next hop is resolved: complete its Ethernet header with |mac| and
     * send it (or free it). Ownership passes to the callee. */
    void (*xmit)(void *arg, void *pkt, const struct rte_ether_addr *mac);
    /* Free a packet that will not be sent (overflow, resolution failed, table freed). */
    void (*free_pkt)(void *arg, void *pkt);
    void *arg;
};

struct dp_neigh_params {
    uint32_t capacity;        /* max entries (1..65536); slots = 2 x rounded to pow2 */
    uint16_t queue_per_entry; /* max packets waiting per entry (>= 1) */
    uint32_t queue_total;     /* max packets waiting in the whole table (>= 1) */
    uint8_t max_retries;      /* ARP requests before FAILED (>= 1), RFC 1122: ~3 */
    uint64_t retry_ns;        /* interval between requests (> 0) */
    uint64_t reachable_ns;    /* REACHABLE lifetime before STALE (> 0) */
    uint64_t failed_hold_ns;  /* how long FAILED refuses new resolutions */
};

/* Writer-side counters (read them on the main lcore, or tolerate staleness). */
struct dp_neigh_stats {
    uint64_t arp_sent;       /* requests asked of ops.send_arp */
    uint64_t resolved;       /* INCOMPLETE/STALE/FAILED -> REACHABLE */
    uint64_t failed;         /* entries that went FAILED */
    uint64_t queued;         /* packets queued */
    uint64_t queue_sent;     /* queued packets handed to ops.xmit */
    uint64_t queue_overflow; /* queued packets freed because a queue was full */
    uint64_t queue_failed;   /* queued packets freed because resolution failed */
    uint64_t table_full;     /* resolve/learn refused: no free slot */
    uint64_t expired;        /* unwanted entries dropped at the end of REACHABLE */
};

/* Allocates a table (the only allocation). |ops| must have all three callbacks; it is
 * copied. Returns the table, or NULL with *|err| (if not NULL) set to -EINVAL (bad
 * parameters) or -ENOMEM. */
struct dp_neigh *dp_neigh_new(const struct dp_neigh_params *p, const struct dp_neigh_ops *ops,
                              int *err);

/* Frees the table; queued packets go to ops.free_pkt. NULL is fine. No reader may run. */
void dp_neigh_del(struct dp_neigh *t);

/* Reader side (any lcore, lock-free, wait-free unless the writer updates the very slot):
 * if |ip| has a usable entry (REACHABLE, STALE or PERMANENT) copies its MAC to |*mac| and
 * returns 0; else returns -ENOENT. */
int dp_neigh_lookup(const struct dp_neigh *t, rte_be32_t ip, struct rte_ether_addr *mac);

/* Results of dp_neigh_resolve(). */
#define DP_NEIGH_READY  0 /* |*mac| is valid: send the packet now (caller keeps it) */
#define DP_NEIGH_QUEUED 1 /* the table took the packet; it will go to xmit or free_pkt */

/* Writer: find the MAC for next hop |ip| to send |pkt| (may be NULL: just resolve).
 * Usable entry: returns DP_NEIGH_READY with |*mac|. Otherwise queues |pkt| (freeing the
 * oldest queued packet of the entry if its queue, or the pool, is full) and, for a new
 * entry, sends the first ARP request now; returns DP_NEIGH_QUEUED.
 * Errors (the caller keeps |pkt|): -EINVAL (|ip| not unicast), -EHOSTUNREACH (entry
 * FAILED and held), -ENOSPC (table full of live entries). */
int dp_neigh_resolve(struct dp_neigh *t, rte_be32_t ip, void *pkt, uint64_t now_ns,
                     struct rte_ether_addr *mac);

/* Writer: an ARP packet from |ip| said it is at |mac| (RFC 826 merge). Updates an existing
 * entry (-> REACHABLE, queued packets sent); creates one only if |create| (pass true only
 * for addresses we want, e.g. the sender of a request that targets us when the table has
 * room - never for unsolicited traffic in general). PERMANENT entries are not changed.
 * Returns 0 (updated/created), -ENOENT (no entry and !create), -EINVAL (|ip| not unicast,
 * |mac| not unicast), -ENOSPC (table full). */
int dp_neigh_learn(struct dp_neigh *t, rte_be32_t ip, const struct rte_ether_addr *mac,
                   uint64_t now_ns, bool create);

/* Writer: adds or replaces a PERMANENT entry (static configuration). Queued packets for
 * |ip| are sent. Returns 0, -EINVAL or -ENOSPC. */
int dp_neigh_add_static(struct dp_neigh *t, rte_be32_t ip, const struct rte_ether_addr *mac);

/* Writer: removes the entry for |ip| (queued packets freed). Returns 0 or -ENOENT. */
int dp_neigh_remove(struct dp_neigh *t, rte_be32_t ip);

/* Writer: drives timers: retries and probes (ops.send_arp), REACHABLE -> STALE,
 * -> FAILED (queued packets freed), FAILED -> free. Call every few milliseconds. Returns
 * the earliest time at which something is due (UINT64_MAX if nothing), so the caller may
 * sleep until then. */
uint64_t dp_neigh_tick(struct dp_neigh *t, uint64_t now_ns);

/* A snapshot of one entry, for the control plane. */
struct dp_neigh_view {
    rte_be32_t ip;
    struct rte_ether_addr mac; /* zero while INCOMPLETE */
    enum dp_neigh_state state;
    uint16_t queued;     /* packets waiting */
    uint8_t tries;       /* requests sent in the current INCOMPLETE/STALE round */
    uint64_t updated_ns; /* last confirmation (learn) time */
};

/* Writer: calls |cb| for every entry not FREE; stops early if |cb| returns non-zero and
 * returns that value; else returns 0. */
int dp_neigh_foreach(const struct dp_neigh *t, int (*cb)(void *arg, const struct dp_neigh_view *v),
                     void *arg);

/* Writer: returns the table's counters. */
const struct dp_neigh_stats *dp_neigh_stats(const struct dp_neigh *t);

/* Returns a name for |s| ("reachable"), "unknown" when out of range. */
const char *dp_neigh_state_name(enum dp_neigh_state s);

#endif /* DP_NEIGH_H */
