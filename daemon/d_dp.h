/* d_dp: the dataplane on the control socket — its counters (`stats`: "dataplane"; the
 * telemetry snapshot) and the neighbour table (`neigh`). DPDK mode only; main lcore (the
 * neighbour table's writer), where the control handlers run. */
#ifndef H3DP_D_DP_H
#define H3DP_D_DP_H

#include <jansson.h>

struct ctl_server;
struct dp;

/* {"drops":{REASON:N,...}, "rings":{...}, "slow_path":{...}, "arp":{...}, "nd":{...},
 * "neigh":{...}, "neighbours":[...]}: see docs/CONTROL.md (stats). New reference. */
json_t *d_dp_counters_json(const struct dp *dp);

/* The neighbour table: one object per entry (address, mac, state, age_ms, confirmations,
 * probes, conflicts, queued, in_use). New reference. */
json_t *d_dp_neigh_json(const struct dp *dp);

/* Registers the `neigh` handler on |srv| (kernel mode registers nothing: the command then
 * answers E_UNSUPPORTED). Returns 0 or a negative error. */
int d_dp_register(struct ctl_server *srv, struct dp *dp);

#endif
