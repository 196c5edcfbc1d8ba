/* dp_neigh.h: the neighbour table: next hop (IPv4 or IPv6, struct dp_addr) -> MAC.
 *
 * One table for both families, one machinery: resolution with a queue of waiting packets,
 * retries and expiry, reachability confirmation, and spoof resistance. The table knows no
 * protocol: it asks the slow path to solicit (ops.solicit: ARP for IPv4, Neighbor
 * Solicitation for IPv6) and is told what the answers and announcements said
 * (dp_neigh_learn with the kind of message, enum dp_neigh_msg).
 *
 * One writer, many readers. Only the main lcore (slow path) calls the writer functions;
 * worker lcores call dp_neigh_lookup() and dp_neigh_confirm() concurrently, without locks.
 * Each slot carries a sequence counter (seqlock): the writer makes it odd, changes the
 * slot, makes it even again; a reader retries while it is odd or changed. The memory
 * ordering is explained in dp_neigh.c. Slots are never moved: a slot whose entry died is
 * reused only by an insert whose probe path passes through it, so a reader's linear probe
 * never misses a live entry. A reader miss is always safe: the worker hands the packet to
 * the slow path, which calls dp_neigh_resolve().
 *
 * States (RFC 4861 7.3.2, RFC 1122 2.3.2.1):
 *   INCOMPLETE  solicitation broadcast (IPv6: multicast), packets queued; retried every
 *               retry_ns, FAILED after max_retries without an answer
 *   REACHABLE   usable; confirmed within reachable_ns, by an answer to our solicitation or
 *               by the traffic through it (dp_neigh_confirm: the upper layer saw the peer
 *               acknowledge new data, RFC 4861 7.3.1). Without confirmation for
 *               reachable_ns: PROBE if we use it, dropped if nobody ever asked for it
 *   STALE       usable, never confirmed: learnt from the neighbour's own request or
 *               announcement. Confirmation makes it REACHABLE; once we use it, PROBE
 *               after retry_ns unless confirmed; unused, dropped after reachable_ns
 *   PROBE       usable while unicast solicitations to the known MAC ask whether it is
 *               still there (every retry_ns, max_retries of them); a confirmation makes
 *               it REACHABLE; without one it falls back to broadcast resolution
 *               (INCOMPLETE: whoever answers now wins)
 *   FAILED      unusable; resolve fails fast (-EHOSTUNREACH) for failed_hold_ns, then the
 *               slot is free again
 *   PERMANENT   configured statically (e.g. the gateway's MAC); never ages, never changes
 *
 * Spoof resistance (RFC 5227 2.4 habits): a MAC is replaced only through INCOMPLETE. An
 * announcement, an unsolicited reply or a request that names a different MAC for a usable
 * entry (a conflict) does not change it: the conflict is counted, and a REACHABLE entry
 * goes to PROBE at once (one unicast solicitation to the MAC we have). If the known MAC
 * answers, or the traffic confirms it, the claim is dismissed; if it stays silent, the
 * entry falls back to broadcast resolution like any unconfirmed one. PERMANENT entries
 * count the conflict and change nothing. So a spoofed ARP reply or gratuitous ARP (or
 * Neighbor Advertisement) never redirects traffic that is flowing, and a real move of an
 * address to another MAC is followed after the probes (max_retries x retry_ns).
 *
 * Packets waiting for resolution are opaque (void *, e.g. an mbuf) so the table needs no
 * DPDK memory. Each entry queues at most queue_per_entry of them, all entries together at
 * most queue_total (a pool allocated at init). On resolution they are handed to ops.xmit;
 * when the queue overflows the oldest is freed (Linux behaviour: newer packets matter more)
 * and when resolution fails all are freed, through ops.free_pkt, and counted.
 *
 * Time is an input (now_ns, one clock for all lcores); the table never reads a clock. No
 * allocation after dp_neigh_new().
 */
#ifndef DP_NEIGH_H
#define DP_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp_addr.h"

struct dp_neigh;

enum dp_neigh_state {
    DP_NEIGH_FREE = 0,
    DP_NEIGH_INCOMPLETE,
    DP_NEIGH_REACHABLE,
    DP_NEIGH_STALE,
    DP_NEIGH_PROBE,
    DP_NEIGH_FAILED,
    DP_NEIGH_PERMANENT,
};

/* What a packet from a neighbour told us, for dp_neigh_learn(). The resolver (ARP, NDP)
 * classifies; the table decides what it may change. */
enum dp_neigh_msg {
    /* An answer addressed to us: an ARP reply whose target is our address, a Neighbor
     * Advertisement with the Solicited flag. It resolves an INCOMPLETE entry and confirms
     * one whose MAC it repeats; naming another MAC for a usable entry, it is a conflict
     * (nobody asked that MAC: our probes go to the one we have). */
    DP_NEIGH_MSG_REPLY,
    /* An announcement nobody asked for: gratuitous ARP (request or reply), an ARP reply to
     * someone else, a Neighbor Advertisement without the Solicited flag. Never creates an
     * entry or confirms one; completes an INCOMPLETE/FAILED one as STALE. */
    DP_NEIGH_MSG_ANNOUNCE,
    /* The sender of a request for our address: an ARP request (RFC 826 merge), a
     * Neighbor Solicitation with a source link-layer address option (RFC 4861 7.2.3). May
     * create an entry (STALE, not in use: we are about to answer it), never confirms. */
    DP_NEIGH_MSG_REQUEST,
};

/* Callbacks into the slow path. All are called on the writer (main lcore) only. */
struct dp_neigh_ops {
    /* Ask who has |addr|: an ARP request (IPv4) or a Neighbor Solicitation (IPv6).
     * |dst| NULL: to everyone (broadcast; IPv6: the solicited-node multicast group), else
     * unicast to |dst| (a probe of the MAC we have). */
    void (*solicit)(void *arg, const struct dp_addr *addr, const struct rte_ether_addr *dst);
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
    uint8_t max_retries;      /* solicitations per round (broadcast or unicast), >= 1;
                               * RFC 1122: ~3, RFC 4861 MAX_*CAST_SOLICIT: 3 */
    uint64_t retry_ns;        /* interval between solicitations (> 0), RETRANS_TIMER */
    uint64_t reachable_ns;    /* confirmation lifetime (> 0), REACHABLE_TIME */
    uint64_t failed_hold_ns;  /* how long FAILED refuses new resolutions */
};

/* Writer-side counters (read them on the main lcore, or tolerate staleness). */
struct dp_neigh_stats {
    uint64_t solicits;       /* broadcast solicitations asked of ops.solicit */
    uint64_t probes;         /* unicast solicitations (probes of a known MAC) */
    uint64_t resolved;       /* INCOMPLETE/FAILED -> usable */
    uint64_t confirmed;      /* confirmations: answers repeating the MAC, traffic hints */
    uint64_t conflicts;      /* messages naming another MAC for a usable or static entry */
    uint64_t unreachable;    /* PROBE rounds without an answer (-> broadcast resolution) */
    uint64_t failed;         /* entries that went FAILED */
    uint64_t queued;         /* packets queued */
    uint64_t queue_sent;     /* queued packets handed to ops.xmit */
    uint64_t queue_overflow; /* queued packets freed because a queue was full */
    uint64_t queue_failed;   /* queued packets freed because resolution failed */
    uint64_t table_full;     /* resolve/learn refused: no free slot */
    uint64_t expired;        /* unused entries dropped when unconfirmed */
};

/* Allocates a table (the only allocation). |ops| must have all three callbacks; it is
 * copied. Returns the table, or NULL with *|err| (if not NULL) set to -EINVAL (bad
 * parameters) or -ENOMEM. */
struct dp_neigh *dp_neigh_new(const struct dp_neigh_params *p, const struct dp_neigh_ops *ops,
                              int *err);

/* Frees the table; queued packets go to ops.free_pkt. NULL is fine. No reader may run. */
void dp_neigh_del(struct dp_neigh *t);

/* Reader side (any lcore, lock-free, wait-free unless the writer updates the very slot):
 * if |a| has a usable entry (REACHABLE, STALE, PROBE or PERMANENT) copies its MAC to
 * |*mac| and returns 0; else returns -ENOENT. */
int dp_neigh_lookup(const struct dp_neigh *t, const struct dp_addr *a, struct rte_ether_addr *mac);

/* Reader side (any lcore, lock-free): upper-layer reachability confirmation (RFC 4861
 * 7.3.1): traffic through next hop |a| made forward progress at |now_ns| (the peer
 * acknowledged data we sent through it). Keeps a REACHABLE entry REACHABLE without ARP or
 * NDP and confirms a STALE or PROBE one (seen by the writer's next dp_neigh_tick). Costs a
 * lookup and at most one compare-and-swap on the slot; callers rate-limit it (dp_flow
 * does, per flow). Returns 0, or -ENOENT when |a| has no usable entry. */
int dp_neigh_confirm(struct dp_neigh *t, const struct dp_addr *a, uint64_t now_ns);

/* Results of dp_neigh_resolve() and dp_neigh_learn(). */
#define DP_NEIGH_READY    0 /* resolve: |*mac| is valid: send the packet now (caller keeps it) */
#define DP_NEIGH_QUEUED   1 /* resolve: the table took the packet; it goes to xmit or free_pkt */
#define DP_NEIGH_CONFLICT 2 /* learn: another MAC was claimed for a usable/static entry: kept */

/* Writer: find the MAC for next hop |a| to send |pkt| (may be NULL: just resolve) and mark
 * the entry in use (kept fresh by probing). Usable entry: returns DP_NEIGH_READY with
 * |*mac|. Otherwise queues |pkt| (freeing the oldest queued packet of the entry if its
 * queue, or the pool, is full) and, for a new entry, solicits now; returns DP_NEIGH_QUEUED.
 * Errors (the caller keeps |pkt|): -EINVAL (|a| not unicast), -EHOSTUNREACH (entry FAILED
 * and held), -ENOSPC (table full of live entries). */
int dp_neigh_resolve(struct dp_neigh *t, const struct dp_addr *a, void *pkt, uint64_t now_ns,
                     struct rte_ether_addr *mac);

/* Writer: a |msg| from |a| said it is at |mac| (see enum dp_neigh_msg for what each kind
 * may change). Returns 0 (taken, confirmed, or nothing to change), DP_NEIGH_CONFLICT (a
 * different MAC for a usable or PERMANENT entry: refused, counted, a REACHABLE entry
 * probed; the caller counts it per protocol), -ENOENT (no entry, and |msg| creates none),
 * -EINVAL (|a| or |mac| not unicast), -ENOSPC (table full). */
int dp_neigh_learn(struct dp_neigh *t, const struct dp_addr *a, const struct rte_ether_addr *mac,
                   enum dp_neigh_msg msg, uint64_t now_ns);

/* Writer: adds or replaces a PERMANENT entry (static configuration). Queued packets for
 * |a| are sent. Returns 0, -EINVAL or -ENOSPC. */
int dp_neigh_add_static(struct dp_neigh *t, const struct dp_addr *a,
                        const struct rte_ether_addr *mac);

/* Writer: removes the entry for |a| (queued packets freed). Returns 0 or -ENOENT. */
int dp_neigh_remove(struct dp_neigh *t, const struct dp_addr *a);

/* Writer: drives timers and takes in the readers' confirmations: retries and probes
 * (ops.solicit), REACHABLE -> PROBE, PROBE -> INCOMPLETE, -> FAILED (queued packets
 * freed), FAILED -> free. Call every few milliseconds. Returns the earliest time at which
 * something is due (UINT64_MAX if nothing), so the caller may sleep until then. */
uint64_t dp_neigh_tick(struct dp_neigh *t, uint64_t now_ns);

/* A snapshot of one entry, for the control plane. */
struct dp_neigh_view {
    struct dp_addr addr;
    struct rte_ether_addr mac; /* zero while INCOMPLETE/FAILED */
    enum dp_neigh_state state;
    bool in_use;            /* resolved for our traffic (else learnt, dropped when stale) */
    uint16_t queued;        /* packets waiting */
    uint8_t tries;          /* solicitations sent in the current INCOMPLETE/PROBE round */
    uint64_t confirmed_ns;  /* last confirmation (answer or traffic hint); 0 = never */
    uint64_t updated_ns;    /* last change of MAC or state */
    uint32_t confirmations; /* answers repeating the MAC and traffic hints taken */
    uint32_t probes;        /* solicitations sent for it (broadcast and unicast) */
    uint32_t conflicts;     /* claims of another MAC refused */
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
