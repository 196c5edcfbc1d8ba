/* d_dns: the daemon's resolver of collector names — net_resolv (sans-IO, c-ares messages)
 * wired to the I/O of the mode in force, so queries go where the data goes:
 *   io = dpdk    a UDP endpoint of the main lcore on the dataplane port (dp_local):
 *                the servers must be reachable through the port (IPv4)
 *   io = kernel  a kernel UDP socket per address family, watched by the daemon's loop
 * Servers: [dns] servers, else the nameserver lines of /etc/resolv.conf (read by c-ares).
 * Main thread only. */
#ifndef H3DP_D_DNS_H
#define H3DP_D_DNS_H

#include <stdint.h>

#include <jansson.h>

#include "net_resolv.h"
#include "upload.h"

struct cfg;
struct d_dns;
struct d_loop;
struct dp;

/* A finished lookup (after net_resolv_lookup said pending). */
typedef void d_dns_done_fn(void *ctx, const char *name, const struct net_resolv_result *res);

/* Creates the resolver. |dp|: the dataplane (io = dpdk; before dp_start), NULL in kernel
 * mode, where the sockets are watched by |loop|. A missing or unusable server (a loopback
 * one on the DPDK path) is not fatal: lookups then fail with the reason, which is logged
 * once here. Returns NULL with *|err| (-ENOMEM, -errno of a socket) and |why|. */
struct d_dns *d_dns_new(const struct cfg *c, struct dp *dp, struct d_loop *loop, int *err,
                        char *why, size_t whylen);

/* Frees everything (the sockets leave |loop|). NULL is fine. */
void d_dns_del(struct d_dns *d);

/* Starts a lookup or answers from the cache (net_resolv_lookup). A lookup that cannot run
 * (no usable server) fails with the reason. */
int d_dns_lookup(struct d_dns *d, const char *name, uint64_t now, struct net_resolv_result *res);

/* Sets the callback of finished lookups (one; NULL: none). */
void d_dns_set_done(struct d_dns *d, d_dns_done_fn *fn, void *ctx);

/* The upload engine's resolver interface over |d|. */
struct up_resolver d_dns_resolver(struct d_dns *d);

/* Main loop step: retries and timeouts at |now|. */
void d_dns_poll(struct d_dns *d, uint64_t now);

/* Milliseconds until the next timer (-1: none). */
int d_dns_timeout_ms(const struct d_dns *d, uint64_t now);

/* The servers and counters (for `stats`). New reference. */
json_t *d_dns_stats_json(const struct d_dns *d);

#endif
