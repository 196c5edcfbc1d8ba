/* d_telemetry: h3dpd's counters in DPDK telemetry (/h3dp/stats, /h3dp/conns), readable
 * with dpdk-telemetry.py. DPDK mode only (telemetry is part of EAL).
 *
 * The callbacks run on DPDK's telemetry thread: they read a snapshot that the main loop
 * refreshes (d_telemetry_refresh, about once a second) under a mutex. Workers are never
 * involved. */
#ifndef H3DP_D_TELEMETRY_H
#define H3DP_D_TELEMETRY_H

#include <stdint.h>

struct svc;

/* Registers the commands. Returns 0 or a negative error from rte_telemetry. */
int d_telemetry_init(struct svc *svc, const char *port_name);

struct up;
/* The upload engine to include in /h3dp/stats (NULL: none). */
void d_telemetry_set_upload(struct up *u);

struct dp;
/* The dataplane whose counters and neighbour table /h3dp/stats includes (DPDK mode). */
void d_telemetry_set_dataplane(const struct dp *dp);

/* Main loop: refreshes the snapshot when a second has passed since the last one. */
void d_telemetry_refresh(uint64_t now_ns);

#endif
