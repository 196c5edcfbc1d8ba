/* dp_flowtab.c: insert/delete of the per-lcore flow table (lookup is inline). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "dp_flowtab.h"

#define FLOWTAB_MAX_FLOWS (1u << 24)

int dp_flowtab_init(struct dp_flowtab *ft, uint32_t max_flows, uint64_t seed)
{
    uint32_t nslots;

    if (ft == NULL || max_flows == 0 || max_flows > FLOWTAB_MAX_FLOWS)
        return -EINVAL;
    /* At least twice the flows, so probe chains stay short and lookups terminate. */
    nslots = rte_align32pow2(max_flows * 2);
    memset(ft, 0, sizeof(*ft));
    /* aligned_alloc() wants the size to be a multiple of the alignment. */
    ft->slots =
        aligned_alloc(RTE_CACHE_LINE_SIZE,
                      RTE_ALIGN_CEIL((size_t)nslots * sizeof(ft->slots[0]), RTE_CACHE_LINE_SIZE));
    if (ft->slots == NULL)
        return -ENOMEM;
    memset(ft->slots, 0, (size_t)nslots * sizeof(ft->slots[0]));
    ft->mask = nslots - 1;
    ft->max_flows = max_flows;
    ft->shift = 64 - (uint32_t)rte_log2_u32(nslots);
    ft->seed = seed;
    return 0;
}

void dp_flowtab_free(struct dp_flowtab *ft)
{
    if (ft == NULL)
        return;
    free(ft->slots);
    memset(ft, 0, sizeof(*ft));
}

static bool slot_is(const struct dp_flowtab_slot *s, const struct dp_addr *remote, uint32_t ports)
{
    return s->ports == ports && dp_addr_eq(&s->remote, remote);
}

int dp_flowtab_insert(struct dp_flowtab *ft, const struct dp_addr *remote, rte_be16_t remote_port,
                      rte_be16_t local_port, void *flow)
{
    uint32_t ports, i;

    if (remote == NULL || !dp_addr_is_unicast(remote) || remote_port == 0 || local_port == 0 ||
        flow == NULL)
        return -EINVAL;
    ports = dp_flowtab_ports(remote_port, local_port);
    for (i = dp_flowtab_hash(ft, remote, ports); ft->slots[i].ports != 0; i = (i + 1) & ft->mask)
        if (slot_is(&ft->slots[i], remote, ports))
            return -EEXIST;
    if (ft->count >= ft->max_flows)
        return -ENOSPC;
    ft->slots[i].remote = *remote;
    ft->slots[i].ports = ports;
    ft->slots[i].flow = flow;
    ft->count++;
    return 0;
}

int dp_flowtab_delete(struct dp_flowtab *ft, const struct dp_addr *remote, rte_be16_t remote_port,
                      rte_be16_t local_port)
{
    uint32_t ports = dp_flowtab_ports(remote_port, local_port);
    uint32_t i, j;

    if (remote_port == 0 || local_port == 0)
        return -ENOENT;
    for (i = dp_flowtab_hash(ft, remote, ports); !slot_is(&ft->slots[i], remote, ports);
         i = (i + 1) & ft->mask)
        if (ft->slots[i].ports == 0)
            return -ENOENT;

    /* Backward-shift deletion (Knuth 6.4 algorithm R): walk the cluster after the hole
     * and move back every entry whose home slot is not cyclically in (hole, its slot],
     * i.e. whose probe path passes through the hole. */
    for (j = (i + 1) & ft->mask; ft->slots[j].ports != 0; j = (j + 1) & ft->mask) {
        uint32_t home = dp_flowtab_hash(ft, &ft->slots[j].remote, ft->slots[j].ports);

        if (((j - home) & ft->mask) >= ((j - i) & ft->mask)) {
            ft->slots[i] = ft->slots[j];
            i = j;
        }
    }
    memset(&ft->slots[i], 0, sizeof(ft->slots[i]));
    ft->count--;
    return 0;
}
