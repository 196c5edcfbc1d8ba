/* d_telemetry.c: the snapshot behind /h3dp/stats and /h3dp/conns (see d_telemetry.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "d_telemetry.h"
#include "dp.h"
#include "svc.h"
#include "upload.h"

#define TEL_CONNS_MAX 128 /* below RTE_TEL_MAX_DICT_ENTRIES */
#define TEL_NEIGH_MAX 64  /* neighbour entries in /h3dp/stats (next hops: a handful) */
#define NS_PER_MS     1000000ull

struct tel_neigh {
    char addr[DP_ADDR_STR_MAX], mac[RTE_ETHER_ADDR_FMT_SIZE];
    enum dp_neigh_state state;
    uint64_t age_ms;
    uint32_t confirmations, probes, conflicts;
};
#define TEL_PERIOD_NS 1000000000ull

struct tel_conn {
    uint64_t id, requests, requests_done;
    unsigned lcore;
    enum h3_state state;
};

static struct {
    pthread_mutex_t lock;
    struct svc *svc;
    uint16_t port;
    bool have_port;
    uint64_t last;
    /* the snapshot */
    unsigned n_workers, n_conns;
    uint64_t active, known;
    struct svc_worker_stats ws[SVC_MAX_WORKERS];
    struct tel_conn conns[TEL_CONNS_MAX];
    struct rte_eth_stats es;
    struct up *up;
    bool have_up;
    const struct dp *dp; /* NULL: no dataplane counters */
    struct dp_counters dc;
    unsigned n_neigh;
    struct tel_neigh neigh[TEL_NEIGH_MAX];
    uint64_t up_v[8]; /* accepted, queued, in flight, acked, failed, retried (records), acked bytes, rtt us */
} T = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The dataplane's counters as flat keys (drop_REASON, ring_*, arp_*, nd_*, neigh_*) and the
 * neighbour table as a dict of entries keyed by address. Under T.lock. */
static void tel_dataplane(struct rte_tel_data *d)
{
    const struct dp_counters *c = &T.dc;
    const struct {
        const char *name;
        uint64_t v;
    } kv[] = {
        {"ring_slow_full", c->ring_slow_full},
        {"ring_resolve_full", c->ring_resolve_full},
        {"ring_steer_full", c->ring_steer_full},
        {"slow_rx", c->slow.rx_pkts},
        {"slow_tx", c->slow.tx_pkts},
        {"slow_tx_dropped", c->slow.tx_dropped},
        {"arp_requests_in", c->arp.requests_in},
        {"arp_replies_in", c->arp.replies_in},
        {"arp_requests_out", c->arp.requests_out},
        {"arp_replies_out", c->arp.replies_out},
        {"arp_conflict", c->arp.conflicts},
        {"nd_solicits_in", c->nd.solicits_in},
        {"nd_adverts_in", c->nd.adverts_in},
        {"nd_solicits_out", c->nd.solicits_out},
        {"nd_adverts_out", c->nd.adverts_out},
        {"nd_conflict", c->nd.conflicts},
        {"nd_ra_in", c->nd.ra_in},
        {"nd_ra_ignored", c->nd.ra_ignored},
        {"neigh_entries", c->neigh_entries},
        {"neigh_resolved", c->neigh.resolved},
        {"neigh_confirmed", c->neigh.confirmed},
        {"neigh_hints", c->neigh_hints},
        {"neigh_probes", c->neigh.probes},
        {"neigh_conflicts", c->neigh.conflicts},
        {"neigh_unreachable", c->neigh.unreachable},
        {"neigh_failed", c->neigh.failed},
        {"neigh_queue_overflow", c->neigh.queue_overflow},
        {"neigh_queue_failed", c->neigh.queue_failed},
    };
    struct rte_tel_data *tab = rte_tel_data_alloc();
    char name[64];

    for (unsigned r = 0; r < DP_DROP__MAX; r++) {
        snprintf(name, sizeof(name), "drop_%s", dp_drop_name((enum dp_drop)r));
        rte_tel_data_add_dict_u64(d, name, c->drop[r]);
    }
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        rte_tel_data_add_dict_u64(d, kv[i].name, kv[i].v);
    if (!tab)
        return;
    rte_tel_data_start_dict(tab);
    for (unsigned i = 0; i < T.n_neigh; i++) {
        const struct tel_neigh *n = &T.neigh[i];
        struct rte_tel_data *e = rte_tel_data_alloc();
        if (!e)
            break;
        rte_tel_data_start_dict(e);
        rte_tel_data_add_dict_string(e, "mac", n->mac);
        rte_tel_data_add_dict_string(e, "state", dp_neigh_state_name(n->state));
        rte_tel_data_add_dict_u64(e, "age_ms", n->age_ms);
        rte_tel_data_add_dict_u64(e, "confirmations", n->confirmations);
        rte_tel_data_add_dict_u64(e, "probes", n->probes);
        rte_tel_data_add_dict_u64(e, "conflicts", n->conflicts);
        rte_tel_data_add_dict_container(tab, n->addr, e, 0);
    }
    rte_tel_data_add_dict_container(d, "neighbours", tab, 0);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&T.lock);
    rte_tel_data_add_dict_u64(d, "conns_active", T.active);
    rte_tel_data_add_dict_u64(d, "conns_known", T.known);
    if (T.have_port) {
        rte_tel_data_add_dict_u64(d, "port_rx_packets", T.es.ipackets);
        rte_tel_data_add_dict_u64(d, "port_tx_packets", T.es.opackets);
        rte_tel_data_add_dict_u64(d, "port_rx_bytes", T.es.ibytes);
        rte_tel_data_add_dict_u64(d, "port_tx_bytes", T.es.obytes);
        rte_tel_data_add_dict_u64(d, "port_rx_missed", T.es.imissed);
        rte_tel_data_add_dict_u64(d, "port_rx_nombuf", T.es.rx_nombuf);
    }
    if (T.have_up) {
        static const char *const names[8] = {
            "upload_records_accepted", "upload_records_queued", "upload_records_in_flight",
            "upload_records_acked", "upload_records_failed", "upload_records_retried",
            "upload_bytes_acked", "upload_rtt_us",
        };
        for (int k = 0; k < 8; k++)
            rte_tel_data_add_dict_u64(d, names[k], T.up_v[k]);
    }
    if (T.dp)
        tel_dataplane(d);
    for (unsigned i = 0; i < T.n_workers; i++) {
        struct rte_tel_data *w = rte_tel_data_alloc();
        char name[32];
        if (!w)
            break;
        rte_tel_data_start_dict(w);
        rte_tel_data_add_dict_u64(w, "conns", T.ws[i].conns);
        rte_tel_data_add_dict_u64(w, "requests", T.ws[i].requests);
        rte_tel_data_add_dict_u64(w, "busy_cycles", T.ws[i].busy_cycles);
        rte_tel_data_add_dict_u64(w, "idle_cycles", T.ws[i].idle_cycles);
        rte_tel_data_add_dict_u64(w, "arena_bytes", T.ws[i].arena_bytes);
        rte_tel_data_add_dict_u64(w, "arena_peak", T.ws[i].arena_peak);
        snprintf(name, sizeof(name), "lcore_%u", T.ws[i].lcore);
        rte_tel_data_add_dict_container(d, name, w, 0);
    }
    pthread_mutex_unlock(&T.lock);
    return 0;
}

static int tel_conns(const char *cmd, const char *params, struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&T.lock);
    for (unsigned i = 0; i < T.n_conns; i++) {
        struct rte_tel_data *c = rte_tel_data_alloc();
        char name[32];
        if (!c)
            break;
        rte_tel_data_start_dict(c);
        rte_tel_data_add_dict_string(c, "state", h3_state_str(T.conns[i].state));
        rte_tel_data_add_dict_u64(c, "lcore", T.conns[i].lcore);
        rte_tel_data_add_dict_u64(c, "requests", T.conns[i].requests);
        rte_tel_data_add_dict_u64(c, "requests_done", T.conns[i].requests_done);
        snprintf(name, sizeof(name), "conn_%llu", (unsigned long long)T.conns[i].id);
        rte_tel_data_add_dict_container(d, name, c, 0);
    }
    pthread_mutex_unlock(&T.lock);
    return 0;
}

int d_telemetry_init(struct svc *svc, const char *port_name)
{
    int rv;

    T.svc = svc;
    T.have_port = port_name && rte_eth_dev_get_port_by_name(port_name, &T.port) == 0;
    rv = rte_telemetry_register_cmd("/h3dp/stats", tel_stats,
                                    "h3dpd counters: connections, port, worker lcores, "
                                    "dataplane drops and rings, ARP/NDP, neighbours");
    if (rv == 0)
        rv = rte_telemetry_register_cmd("/h3dp/conns", tel_conns,
                                        "h3dpd connections (the first 128): state, lcore, "
                                        "requests");
    return rv;
}

void d_telemetry_set_upload(struct up *u)
{
    T.up = u;
}

void d_telemetry_set_dataplane(const struct dp *dp)
{
    T.dp = dp;
}

static int neigh_snap(void *arg, const struct dp_neigh_view *v)
{
    uint64_t now = *(const uint64_t *)arg;
    uint64_t since = v->confirmed_ns != 0 ? v->confirmed_ns : v->updated_ns;
    struct tel_neigh *n;

    if (T.n_neigh == TEL_NEIGH_MAX)
        return 1;
    n = &T.neigh[T.n_neigh++];
    dp_addr_str(&v->addr, n->addr, sizeof(n->addr));
    snprintf(n->mac, sizeof(n->mac), "%02x:%02x:%02x:%02x:%02x:%02x", RTE_ETHER_ADDR_BYTES(&v->mac));
    n->state = v->state;
    n->age_ms = v->state == DP_NEIGH_PERMANENT || now <= since ? 0 : (now - since) / NS_PER_MS;
    n->confirmations = v->confirmations;
    n->probes = v->probes;
    n->conflicts = v->conflicts;
    return 0;
}

static uint64_t jv(json_t *r, const char *a, const char *b)
{
    json_t *o = json_object_get(r, a);
    return (uint64_t)json_integer_value(b ? json_object_get(o, b) : o);
}

void d_telemetry_refresh(uint64_t now_ns)
{
    if (!T.svc || now_ns - T.last < TEL_PERIOD_NS)
        return;
    T.last = now_ns;
    pthread_mutex_lock(&T.lock);
    T.n_workers = svc_worker_stats(T.svc, T.ws, SVC_MAX_WORKERS);
    T.active = svc_conns_active(T.svc);
    T.known = 0;
    T.n_conns = 0;
    for (uint64_t id = svc_conn_next(T.svc, 0); id; id = svc_conn_next(T.svc, id)) {
        struct svc_conn_info i;
        T.known++;
        if (T.n_conns < TEL_CONNS_MAX && svc_conn_info(T.svc, id, &i) == 0)
            T.conns[T.n_conns++] = (struct tel_conn){
                .id = id, .requests = i.requests_active, .requests_done = i.requests_done,
                .lcore = i.lcore, .state = i.state,
            };
    }
    if (T.have_port)
        rte_eth_stats_get(T.port, &T.es);
    if (T.dp) {
        uint64_t dnow = dp_now_ns(T.dp);
        dp_counters_get(T.dp, &T.dc);
        T.n_neigh = 0;
        (void)dp_neigh_walk(T.dp, neigh_snap, &dnow);
    }
    if (T.up) {
        json_t *r = up_stats_json(T.up, now_ns);
        if (r) {
            T.up_v[0] = jv(r, "accepted", "records");
            T.up_v[1] = jv(r, "queued", "records");
            T.up_v[2] = jv(r, "in_flight", "records");
            T.up_v[3] = jv(r, "acked", "records");
            T.up_v[4] = jv(r, "failed", "records");
            T.up_v[5] = jv(r, "retried", "records");
            T.up_v[6] = jv(r, "acked", "bytes");
            T.up_v[7] = jv(r, "rtt_us", NULL);
            T.have_up = true;
            json_decref(r);
        }
    }
    pthread_mutex_unlock(&T.lock);
}
