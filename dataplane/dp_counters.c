/* dp_counters.c: the dataplane's counters and neighbour table for the control plane (see
 * dp.h): the per-lcore counters summed, the slow path's, the neighbour table's. */
#include <string.h>

#include "dp.h"
#include "dp_priv.h"

static int count_entry(void *arg, const struct dp_neigh_view *v)
{
    (void)v;
    (*(uint32_t *)arg)++;
    return 0;
}

void dp_counters_get(const struct dp *dp, struct dp_counters *c)
{
    const struct dp_slow_stats *sp = &dp->sp;

    memset(c, 0, sizeof(*c));
    for (unsigned i = 0; i < dp->n_workers; i++) {
        const struct dp_lcore_stats *st = &dp->workers[i].st;

        for (unsigned r = 0; r < DP_DROP__MAX; r++)
            c->drop[r] += st->drop.n[r];
        c->ring_slow_full += st->slow_full;
        c->ring_resolve_full += st->resolve_full;
        c->ring_steer_full += st->steer_full;
        c->neigh_hints += st->neigh_confirm;
    }
    for (unsigned r = 0; r < DP_DROP__MAX; r++)
        c->drop[r] += sp->drop.n[r];
    c->slow.rx_pkts = sp->rx_pkts;
    c->slow.tx_pkts = sp->tx_pkts;
    c->slow.tx_dropped = sp->tx_dropped;
    c->slow.icmp_echo_in = sp->icmp_echo_in;
    c->slow.icmp_echo_out = sp->icmp_echo_out;
    c->slow.resolve_in = sp->resolve_in;
    c->slow.resolve_sent = sp->resolve_sent;
    c->slow.local_rx = sp->local_rx;
    c->slow.local_tx = sp->local_tx;
    c->arp.requests_in = sp->arp_req_in;
    c->arp.replies_in = sp->arp_rep_in;
    c->arp.requests_out = sp->arp_req_out;
    c->arp.replies_out = sp->arp_rep_out;
    c->arp.conflicts = sp->arp_conflict;
    c->nd.solicits_in = sp->ns_in;
    c->nd.adverts_in = sp->na_in;
    c->nd.solicits_out = sp->ns_out;
    c->nd.adverts_out = sp->na_out;
    c->nd.conflicts = sp->nd_conflict;
    c->nd.ra_in = sp->ra_in;
    c->nd.ra_ignored = sp->ra_ignored;
    if (dp->neigh != NULL) {
        c->neigh = *dp_neigh_stats(dp->neigh);
        (void)dp_neigh_foreach(dp->neigh, count_entry, &c->neigh_entries);
    }
}

int dp_neigh_walk(const struct dp *dp, int (*cb)(void *arg, const struct dp_neigh_view *v),
                  void *arg)
{
    return dp->neigh != NULL ? dp_neigh_foreach(dp->neigh, cb, arg) : 0;
}
