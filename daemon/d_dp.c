/* d_dp.c: the dataplane's counters and neighbour table as JSON (see d_dp.h). */
#include <stdio.h>

#include "ctl_server.h"
#include "d_dp.h"
#include "dp.h"

#define NS_PER_MS 1000000ull

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

json_t *d_dp_counters_json(const struct dp *dp)
{
    struct dp_counters c;
    json_t *drops = json_object();

    dp_counters_get(dp, &c);
    for (unsigned r = 0; r < DP_DROP__MAX && drops; r++)
        json_object_set_new(drops, dp_drop_name((enum dp_drop)r), u64(c.drop[r]));
    return json_pack(
        "{s:o,"
        " s:{s:o, s:o, s:o},"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o},"
        " s:{s:o, s:o, s:o, s:o, s:o},"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o},"
        " s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o},"
        " s:o}",
        "drops", drops, "rings", "slow_full", u64(c.ring_slow_full), "resolve_full",
        u64(c.ring_resolve_full), "steer_full", u64(c.ring_steer_full), "slow_path", "rx",
        u64(c.slow.rx_pkts), "tx", u64(c.slow.tx_pkts), "tx_dropped", u64(c.slow.tx_dropped),
        "icmp_echo_in", u64(c.slow.icmp_echo_in), "icmp_echo_out", u64(c.slow.icmp_echo_out),
        "resolve_waited", u64(c.slow.resolve_in), "resolve_sent", u64(c.slow.resolve_sent),
        "local_rx", u64(c.slow.local_rx), "local_tx", u64(c.slow.local_tx), "arp", "requests_in",
        u64(c.arp.requests_in), "replies_in", u64(c.arp.replies_in), "requests_out",
        u64(c.arp.requests_out), "replies_out", u64(c.arp.replies_out), "arp_conflict",
        u64(c.arp.conflicts), "nd", "solicits_in", u64(c.nd.solicits_in), "adverts_in",
        u64(c.nd.adverts_in), "solicits_out", u64(c.nd.solicits_out), "adverts_out",
        u64(c.nd.adverts_out), "nd_conflict", u64(c.nd.conflicts), "ra_in", u64(c.nd.ra_in),
        "ra_ignored", u64(c.nd.ra_ignored), "neigh", "entries",
        u64(c.neigh_entries), "solicits", u64(c.neigh.solicits), "probes", u64(c.neigh.probes),
        "resolved", u64(c.neigh.resolved), "confirmed", u64(c.neigh.confirmed), "hints",
        u64(c.neigh_hints), "conflicts", u64(c.neigh.conflicts), "unreachable",
        u64(c.neigh.unreachable), "failed", u64(c.neigh.failed), "expired", u64(c.neigh.expired),
        "table_full", u64(c.neigh.table_full), "queued", u64(c.neigh.queued), "queue_sent",
        u64(c.neigh.queue_sent), "queue_overflow", u64(c.neigh.queue_overflow), "queue_failed",
        u64(c.neigh.queue_failed), "neighbours", d_dp_neigh_json(dp));
}

struct walk {
    json_t *rows;
    uint64_t now;
};

static int neigh_row(void *arg, const struct dp_neigh_view *v)
{
    struct walk *w = arg;
    char addr[DP_ADDR_STR_MAX], mac[RTE_ETHER_ADDR_FMT_SIZE];
    uint64_t since = v->confirmed_ns != 0 ? v->confirmed_ns : v->updated_ns;
    json_t *age;

    dp_addr_str(&v->addr, addr, sizeof(addr));
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", RTE_ETHER_ADDR_BYTES(&v->mac));
    /* Age: since the last confirmation (an answer, or the traffic's progress), else since
     * it was learnt; a static entry has none. */
    if (v->state == DP_NEIGH_PERMANENT)
        age = json_null();
    else
        age = u64(w->now > since ? (w->now - since) / NS_PER_MS : 0);
    json_array_append_new(
        w->rows,
        json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:b}", "address", addr, "mac", mac,
                  "state", dp_neigh_state_name(v->state), "age_ms", age, "confirmations",
                  (json_int_t)v->confirmations, "probes", (json_int_t)v->probes, "conflicts",
                  (json_int_t)v->conflicts, "queued", (json_int_t)v->queued, "in_use", v->in_use));
    return 0;
}

json_t *d_dp_neigh_json(const struct dp *dp)
{
    struct walk w = {.rows = json_array(), .now = dp_now_ns(dp)};

    if (w.rows != NULL)
        (void)dp_neigh_walk(dp, neigh_row, &w);
    return w.rows;
}

static void h_neigh(void *ctx, struct ctl_call *call)
{
    json_t *rows = d_dp_neigh_json(ctx);

    if (rows == NULL) {
        ctl_call_fail(call, CTL_E_INTERNAL, "out of memory");
        return;
    }
    ctl_call_reply(call, json_pack("{s:o}", "neighbours", rows));
}

int d_dp_register(struct ctl_server *srv, struct dp *dp)
{
    return dp != NULL ? ctl_server_register(srv, "neigh", h_neigh, dp) : 0;
}
