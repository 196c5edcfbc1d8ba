/* dp_flowtab.h: per-lcore UDP flow table, (remote ip, remote port, local port) -> flow.
 *
 * Why not rte_hash: rte_hash allocates from EAL memory (rte_zmalloc), so it cannot be unit
 * tested without rte_eal_init, and its generic cuckoo design (signatures, buckets, optional
 * locks) costs more than a few-hundred-entry single-writer table needs. Here: one lcore
 * owns the table (it inserts, deletes and looks up; no locking), open addressing with
 * linear probing over 32-byte slots, load factor <= 1/2, backward-shift deletion (no
 * tombstones, so probe chains never rot), a keyed multiplicative hash (the seed keeps
 * remote-chosen addresses and ports from predicting collisions). The remote address is a
 * dp_addr (IPv4 mapped, or IPv6): one table serves both families. Memory is allocated once
 * at init.
 */
#ifndef DP_FLOWTAB_H
#define DP_FLOWTAB_H

#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "dp_addr.h"

struct dp_flowtab_slot {
    struct dp_addr remote;
    uint32_t ports; /* dp_flowtab_ports(); 0 = empty (port 0 is never valid) */
    void *flow;
};

struct dp_flowtab {
    struct dp_flowtab_slot *slots;
    uint32_t mask; /* number of slots - 1 (power of two) */
    uint32_t count;
    uint32_t max_flows;
    uint32_t shift; /* 64 - log2(slots) */
    uint64_t seed;
};

/* Packs the ports; arguments in network order as found in the received headers. */
static inline uint32_t dp_flowtab_ports(rte_be16_t remote_port, rte_be16_t local_port)
{
    return (uint32_t)remote_port << 16 | local_port;
}

static inline uint32_t dp_flowtab_hash(const struct dp_flowtab *ft, const struct dp_addr *remote,
                                       uint32_t ports)
{
    /* Fibonacci hashing of the keyed value, one multiply per 64-bit word so that every bit
     * of the address and the ports reaches the top bits of the product. */
    uint64_t h = (remote->w64[0] ^ ft->seed) * 0x9e3779b97f4a7c15ULL;

    h = (h ^ remote->w64[1]) * 0xc2b2ae3d27d4eb4fULL;
    return (uint32_t)(((h ^ ports) * 0x9e3779b97f4a7c15ULL) >> ft->shift);
}

/* Sets up |ft| for up to |max_flows| (1..2^24) flows; |seed| keys the hash (pass a random
 * value). Allocates the slots (the only allocation). Returns 0, -EINVAL or -ENOMEM. */
int dp_flowtab_init(struct dp_flowtab *ft, uint32_t max_flows, uint64_t seed);

/* Frees what dp_flowtab_init() allocated; |ft| may then be initialised again. Flows
 * themselves are the caller's. Safe on a zeroed or already freed table. */
void dp_flowtab_free(struct dp_flowtab *ft);

/* Adds |flow| (not NULL) under the key. Returns 0, -EINVAL (remote not unicast, a port 0
 * or flow NULL), -EEXIST (key present), or -ENOSPC (max_flows reached). */
int dp_flowtab_insert(struct dp_flowtab *ft, const struct dp_addr *remote, rte_be16_t remote_port,
                      rte_be16_t local_port, void *flow);

/* Removes the key. Returns 0 or -ENOENT. */
int dp_flowtab_delete(struct dp_flowtab *ft, const struct dp_addr *remote, rte_be16_t remote_port,
                      rte_be16_t local_port);

/* Hot path: returns the flow for the key, or NULL. */
static inline void *dp_flowtab_lookup(const struct dp_flowtab *ft, const struct dp_addr *remote,
                                      rte_be16_t remote_port, rte_be16_t local_port)
{
    uint32_t ports = dp_flowtab_ports(remote_port, local_port);
    uint32_t i = dp_flowtab_hash(ft, remote, ports);

    /* Terminates: the load factor keeps at least half the slots empty. */
    for (;;) {
        const struct dp_flowtab_slot *s = &ft->slots[i];

        if (s->ports == ports && dp_addr_eq(&s->remote, remote))
            return s->flow;
        if (s->ports == 0)
            return NULL;
        i = (i + 1) & ft->mask;
    }
}

/* Number of flows in the table. */
static inline uint32_t dp_flowtab_count(const struct dp_flowtab *ft)
{
    return ft->count;
}

#endif /* DP_FLOWTAB_H */
