/* dp: dataplane runtime facade (see dp.h). */
#include "dp.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "dp_ipv4.h"
#include "dp_ipv6.h"
#include "dp_lcore.h"
#include "dp_log.h"
#include "dp_priv.h"
#include "dp_slowpath.h"
#include "dp_udp.h"

RTE_LOG_REGISTER_DEFAULT(dp_logtype, INFO);

#define DP_NS_PER_S  (1000ULL * 1000 * 1000)
#define DP_NS_PER_US 1000ULL

void dp_conf_defaults(struct dp_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->rss = true;
    c->offloads = true;
    c->n_workers = 0;
    c->burst = 32;
    c->idle = DP_IDLE_ADAPTIVE;
    c->idle_spin_polls = 256;
    c->idle_sleep_us = 100;
    c->tx_drain_us = 100;
    c->mbufs = 8191;
    c->mbuf_cache = 256;
    c->ring_size = 1024;
    c->max_flows = 1024;
    c->arp_timeout_ms = 30000;
    c->arp_retry_ms = 500;
    c->arp_retries = 3;
    c->arp_queue = 256;
}

static int check_conf(const struct dp_conf *c)
{
    if (c->device == NULL || c->device[0] == '\0')
        return DP_LOG(ERR, "no port device configured"), -EINVAL;
    if (!dp_ipv4_is_unicast(c->ip) || c->prefix_len > 32)
        return DP_LOG(ERR, "our IPv4 address/prefix is not a unicast address"), -EINVAL;
    if (c->ip6_set &&
        (!dp_addr_is_unicast(&c->ip6) || dp_addr_is_v4(&c->ip6) ||
         dp_ipv6_is_link_local(c->ip6.b) || c->prefix6_len == 0 || c->prefix6_len > 128))
        return DP_LOG(ERR, "our IPv6 address/prefix is not a global unicast address"), -EINVAL;
    if (c->ip6_set && !dp_addr_is_zero(&c->gateway6) &&
        (!dp_addr_is_unicast(&c->gateway6) || dp_addr_is_v4(&c->gateway6)))
        return DP_LOG(ERR, "the IPv6 gateway is not a unicast IPv6 address"), -EINVAL;
    if (c->n_workers == 0 || c->n_workers > DP_MAX_WORKERS)
        return DP_LOG(ERR, "need 1..%d worker lcores (got %u)", DP_MAX_WORKERS, c->n_workers),
               -EINVAL;
    if (c->burst == 0 || c->burst > DP_BURST_MAX)
        return DP_LOG(ERR, "burst must be 1..%d", DP_BURST_MAX), -EINVAL;
    if (!rte_is_power_of_2(c->ring_size) || c->ring_size < 2 * DP_BURST_MAX)
        return DP_LOG(ERR, "ring size must be a power of 2 >= %d", 2 * DP_BURST_MAX), -EINVAL;
    if (c->max_flows == 0 || c->mbufs == 0 || c->arp_queue == 0 || c->arp_retries == 0 ||
        c->arp_retry_ms == 0 || c->arp_timeout_ms == 0)
        return DP_LOG(ERR, "flow, mbuf, ARP limits must be > 0"), -EINVAL;
    for (unsigned i = 0; i < c->n_workers; i++) {
        unsigned l = c->worker_lcores[i];

        if (l >= RTE_MAX_LCORE || !rte_lcore_is_enabled(l) || l == rte_get_main_lcore()) {
            DP_LOG(ERR, "worker lcore %u is not an EAL worker lcore (check [eal] lcores)", l);
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++)
            if (c->worker_lcores[j] == l)
                return DP_LOG(ERR, "worker lcore %u listed twice", l), -EINVAL;
    }
    return 0;
}

/* An mbuf's data room: a whole frame of the configured MTU in one segment (jumbo frames
 * need no chains on RX or TX), at least DPDK's default. */
static uint16_t mbuf_data_room(const struct dp_conf *c)
{
    uint32_t frame = (uint32_t)c->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;
    uint32_t room = RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(frame, 1024);

    return (uint16_t)RTE_MAX(room, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

static struct rte_mempool *pool_for_socket(struct dp *dp, int socket)
{
    char name[RTE_MEMPOOL_NAMESIZE];
    unsigned s = socket < 0 ? 0 : (unsigned)socket;
    uint16_t room = mbuf_data_room(&dp->conf);

    if (s >= RTE_MAX_NUMA_NODES)
        s = 0;
    if (dp->pools[s] != NULL)
        return dp->pools[s];
    snprintf(name, sizeof(name), "h3dp_mbuf_s%u", s);
    dp->pools[s] =
        rte_pktmbuf_pool_create(name, dp->conf.mbufs, dp->conf.mbuf_cache, 0, room, (int)s);
    if (dp->pools[s] == NULL) /* e.g. --no-huge: memory may not be where asked */
        dp->pools[s] = rte_pktmbuf_pool_create(name, dp->conf.mbufs, dp->conf.mbuf_cache, 0,
                                               room, SOCKET_ID_ANY);
    if (dp->pools[s] == NULL)
        DP_LOG(ERR, "mbuf pool on socket %u (%u mbufs): %s", s, dp->conf.mbufs,
               rte_strerror(rte_errno));
    return dp->pools[s];
}

static int setup_workers(struct dp *dp)
{
    const struct dp_conf *c = &dp->conf;
    char name[RTE_RING_NAMESIZE];

    dp->workers =
        rte_zmalloc("h3dp_workers", sizeof(*dp->workers) * c->n_workers, RTE_CACHE_LINE_SIZE);
    if (dp->workers == NULL)
        return -ENOMEM;
    dp->n_workers = c->n_workers;
    for (unsigned i = 0; i < c->n_workers; i++) {
        struct dp_worker *w = &dp->workers[i];
        int socket = (int)rte_lcore_to_socket_id(c->worker_lcores[i]);
        int rc;

        w->dp = dp;
        w->index = (uint16_t)i;
        w->lcore_id = c->worker_lcores[i];
        w->pool = pool_for_socket(dp, socket);
        if (w->pool == NULL)
            return -ENOMEM;
        for (uint16_t q = (uint16_t)i; q < dp->port.nb_rxq; q += (uint16_t)c->n_workers)
            w->rxqs[w->n_rxq++] = q;
        w->txq = (uint16_t)i;
        w->epfd = -1;
        atomic_init(&w->nflows, 0);
        rc = dp_flowtab_init(&w->ft, c->max_flows, rte_rand());
        if (rc < 0)
            return rc;
        snprintf(name, sizeof(name), "h3dp_cmd_%u", i);
        w->cmd = rte_ring_create(name, c->ring_size, socket, RING_F_SC_DEQ);
        if (w->cmd == NULL)
            return -rte_errno;
        if (c->n_workers > 1) {
            snprintf(name, sizeof(name), "h3dp_steer_%u", i);
            w->steer = rte_ring_create(name, c->ring_size, socket, RING_F_SC_DEQ);
            if (w->steer == NULL)
                return -rte_errno;
        }
    }
    return 0;
}

/* The multicast groups IPv6 needs on the link (all-nodes, our solicited-node groups):
 * the device's filter is told of their MACs; a device without a filter list receives all
 * multicast instead. */
static void port_join_groups(struct dp *dp)
{
    struct dp_addr groups[3];
    struct rte_ether_addr macs[3];
    uint32_t n = 0;
    int rc;

    (void)dp_addr_parse("ff02::1", &groups[0]);
    groups[1] = dp_ipv6_solicited_node(&dp->iface.ip6);
    groups[2] = dp_ipv6_solicited_node(&dp->iface.ip6_ll);
    for (unsigned i = 0; i < 3; i++) {
        dp_ipv6_mcast_mac(&groups[i], &macs[n]);
        if (n == 0 || !rte_is_same_ether_addr(&macs[n], &macs[n - 1]))
            n++;
    }
    rc = rte_eth_dev_set_mc_addr_list(dp->port.port_id, macs, n);
    if (rc == 0)
        return;
    rc = rte_eth_allmulticast_enable(dp->port.port_id);
    if (rc != 0 && rc != -ENOTSUP)
        DP_LOG(WARNING, "port %s: cannot receive IPv6 multicast (Neighbor Discovery): %s",
               dp->port.name, rte_strerror(-rc));
}

/* The port is configured after the pools exist (its RX queues take mbufs from them). */
static int setup_port(struct dp *dp)
{
    const struct dp_conf *c = &dp->conf;
    struct rte_mempool *rx_pools[DP_MAX_WORKERS];
    struct dp_port_conf pc = {
        .device = c->device,
        .n_workers = (uint16_t)c->n_workers,
        .rx_desc = c->rx_desc,
        .tx_desc = c->tx_desc,
        .mtu = c->mtu,
        .want_rss = c->rss,
        .want_offloads = c->offloads,
        .want_rx_intr = c->idle == DP_IDLE_INTERRUPT,
    };
    int rc;

    for (unsigned i = 0; i < c->n_workers; i++) {
        rx_pools[i] = pool_for_socket(dp, (int)rte_lcore_to_socket_id(c->worker_lcores[i]));
        if (rx_pools[i] == NULL)
            return -ENOMEM;
    }
    rc = dp_port_setup(&dp->port, &pc, rx_pools);
    if (rc < 0)
        return rc;
    if (!rte_is_zero_ether_addr(&c->mac)) {
        rc = rte_eth_dev_default_mac_addr_set(dp->port.port_id, (struct rte_ether_addr *)&c->mac);
        if (rc < 0) {
            DP_LOG(ERR, "port %s: cannot set MAC: %s", c->device, rte_strerror(-rc));
            return rc;
        }
        dp->port.mac = c->mac;
    }
    if (dp->port.rss)
        rc = dp_rss_init(&dp->rss, dp->port.rss_key, dp->port.rss_key_len, dp->port.reta,
                         dp->port.reta_size, dp->port.nb_rxq, DP_RSS_TOEPLITZ_L4,
                         dp->port.rss_udp6 ? DP_RSS_TOEPLITZ_L4 : DP_RSS_NONE);
    if (!dp->port.rss || rc < 0) {
        if (dp->port.rss) {
            DP_LOG(WARNING, "RSS model rejected the device's key/RETA: flows are "
                            "steered in software");
            snprintf(dp->port.steer_why, sizeof(dp->port.steer_why),
                     "the device's RSS key (%u bytes) or RETA does not fit the hash model",
                     dp->port.rss_key_len);
            dp->port.rss = false;
        }
        rc = dp_rss_init_none(&dp->rss, dp->port.nb_rxq);
    }
    if (rc < 0)
        return rc;
    dp->tx_offload = 0;
    dp->tx_ol_flags = 0;
    dp->tx_ol_flags6 = 0;
    if (dp->port.tx_ip_cksum) {
        dp->tx_offload |= DP_TX_OFFLOAD_IP_CKSUM;
        dp->tx_ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    }
    if (dp->port.tx_udp_cksum) {
        dp->tx_offload |= DP_TX_OFFLOAD_UDP_CKSUM;
        dp->tx_ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
        dp->tx_ol_flags6 |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
    }
    dp->max_payload = (uint16_t)(dp->port.mtu - DP_IPV4_HDR_LEN - DP_UDP_HDR_LEN);
    dp->max_payload6 = (uint16_t)(dp->port.mtu - DP_IPV6_HDR_LEN - DP_UDP_HDR_LEN);
    /* A device whose MTU was left as it is may have one beyond the mbufs (they are sized
     * from [port] mtu): what one segment holds is the limit then, per family. */
    uint16_t room = (uint16_t)(mbuf_data_room(&dp->conf) - RTE_PKTMBUF_HEADROOM);
    if (dp->max_payload > room - DP_UDP_HDRS_LEN)
        dp->max_payload = (uint16_t)(room - DP_UDP_HDRS_LEN);
    if (dp->max_payload6 > room - DP_UDP6_HDRS_LEN)
        dp->max_payload6 = (uint16_t)(room - DP_UDP6_HDRS_LEN);
    return 0;
}

static int setup_rings(struct dp *dp)
{
    const struct dp_conf *c = &dp->conf;
    int socket = (int)rte_socket_id();

    dp->slow_rx = rte_ring_create("h3dp_slow_rx", c->ring_size, socket, RING_F_SC_DEQ);
    dp->slow_tx = rte_ring_create("h3dp_slow_tx", c->ring_size, socket, RING_F_SC_DEQ);
    if (dp->slow_rx == NULL || dp->slow_tx == NULL)
        return -rte_errno;
    dp->flow_pool = rte_mempool_create("h3dp_flows", c->max_flows, sizeof(struct dp_flow), 0, 0,
                                       NULL, NULL, NULL, NULL, socket, 0);
    if (dp->flow_pool == NULL)
        return -rte_errno;
    dp->port_owner =
        rte_zmalloc("h3dp_port_owner", sizeof(*dp->port_owner) * DP_PORTS, RTE_CACHE_LINE_SIZE);
    if (dp->port_owner == NULL)
        return -ENOMEM;
    return 0;
}

struct dp *dp_new(const struct dp_conf *c)
{
    struct dp *dp;
    int rc;

    rc = check_conf(c);
    if (rc < 0) {
        rte_errno = -rc;
        return NULL;
    }
    dp = rte_zmalloc("h3dp_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
    if (dp == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    dp->conf = *c;
    dp->conf.hotplug = NULL;
    dp->tsc_hz = rte_get_tsc_hz();
    dp->tsc0 = rte_rdtsc();
    dp->ns_mult = (uint64_t)(((unsigned __int128)DP_NS_PER_S << 32) / dp->tsc_hz);
    dp->drain_tsc = (dp->tsc_hz * c->tx_drain_us + DP_NS_PER_S / DP_NS_PER_US - 1) /
                    (DP_NS_PER_S / DP_NS_PER_US);
    dp->port_seed = (uint32_t)rte_rand();
    atomic_init(&dp->quit, false);
    atomic_init(&dp->stats_req, false);
    atomic_init(&dp->running, false);

    if (c->hotplug != NULL) {
        rc = rte_dev_probe(c->hotplug);
        if (rc < 0) {
            DP_LOG(ERR, "cannot probe device '%s': %s", c->hotplug, rte_strerror(-rc));
            goto fail;
        }
    }
    dp->main_pool = pool_for_socket(dp, (int)rte_socket_id());
    rc = dp->main_pool == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = setup_port(dp);
    if (rc == 0)
        rc = setup_workers(dp);
    if (rc == 0)
        rc = setup_rings(dp);
    if (rc == 0)
        rc = dp_slowpath_init(dp);
    if (rc < 0)
        goto fail;
    dp->iface.mac = dp->port.mac;
    dp->iface.ip = c->ip;
    dp->ip4 = dp_addr_v4(c->ip);
    if (c->ip6_set) {
        dp->iface.ip6 = c->ip6;
        dp->iface.ip6_ll = dp_ipv6_link_local(&dp->port.mac);
        dp->iface.ip6_on = true;
        dp_router6_set(dp, &c->gateway6);
        port_join_groups(dp);
    }
    for (unsigned i = 0; i < dp->n_workers; i++) {
        struct dp_worker *w = &dp->workers[i];

        dp_txbuf_init(&w->txb, dp->port.port_id, w->txq, c->burst, &w->st.tx_pkts,
                      &w->st.tx_dropped, &w->st.drop.n[DP_DROP_TX_FULL]);
    }
    dp_txbuf_init(&dp->slow_txb, dp->port.port_id, dp->port.slow_txq, c->burst, &dp->sp.tx_pkts,
                  &dp->sp.tx_dropped, &dp->sp.drop.n[DP_DROP_TX_FULL]);
    if (c->udp_echo_port != 0) {
        rc = dp_port_claim(dp, c->udp_echo_port, DP_OWNER_ECHO);
        if (rc < 0)
            goto fail;
        DP_LOG(INFO, "UDP echo service on port %u", c->udp_echo_port);
    }
    return dp;
fail:
    dp_del(dp);
    rte_errno = -rc;
    return NULL;
}

int dp_start(struct dp *dp)
{
    int rc;

    if (atomic_load(&dp->running))
        return -EALREADY;
    rc = dp_port_start(&dp->port);
    if (rc < 0)
        return rc;
    /* Our IPv6 addresses are ours only once nobody else answers for them. */
    rc = dp_slowpath_dad(dp);
    if (rc < 0) {
        dp_stop(dp);
        return rc;
    }
    atomic_store(&dp->quit, false);
    atomic_store(&dp->running, true);
    for (unsigned i = 0; i < dp->n_workers; i++) {
        struct dp_worker *w = &dp->workers[i];

        rc = rte_eal_remote_launch(dp_lcore_main, w, w->lcore_id);
        if (rc < 0) {
            DP_LOG(ERR, "cannot launch worker on lcore %u: %s", w->lcore_id, rte_strerror(-rc));
            dp_stop(dp);
            return rc;
        }
    }
    return 0;
}

int dp_worker_hook_set(struct dp *dp, unsigned lcore, dp_worker_hook fn, void *arg)
{
    if (atomic_load(&dp->running))
        return -EBUSY;
    for (unsigned i = 0; i < dp->n_workers; i++) {
        if (dp->workers[i].lcore_id == lcore) {
            dp->workers[i].hook = fn;
            dp->workers[i].hook_arg = arg;
            return 0;
        }
    }
    return -EINVAL;
}

int dp_worker_timer_set(struct dp *dp, unsigned lcore, dp_worker_timer fn)
{
    if (atomic_load(&dp->running))
        return -EBUSY;
    for (unsigned i = 0; i < dp->n_workers; i++) {
        if (dp->workers[i].lcore_id == lcore) {
            dp->workers[i].timer = fn;
            return 0;
        }
    }
    return -EINVAL;
}

void dp_request_stop(struct dp *dp)
{
    atomic_store(&dp->quit, true);
}

void dp_request_stats(struct dp *dp)
{
    atomic_store(&dp->stats_req, true);
}

bool dp_stopping(const struct dp *dp)
{
    return atomic_load(&dp->quit);
}

int dp_main_loop(struct dp *dp, dp_main_hook hook, void *hook_arg)
{
    uint64_t prev_tsc = rte_rdtsc();
    bool prev_busy = false;
    uint32_t empty = 0;

    while (!atomic_load_explicit(&dp->quit, memory_order_relaxed)) {
        uint64_t tsc = rte_rdtsc();
        uint64_t now_ns = dp_tsc_ns(dp, tsc);
        unsigned work;

        if (prev_busy)
            dp->sp.busy_cycles += tsc - prev_tsc;
        else
            dp->sp.idle_cycles += tsc - prev_tsc;
        prev_tsc = tsc;

        work = dp_slowpath_poll(dp, now_ns);
        if (hook != NULL)
            work += hook(hook_arg, now_ns);
        /* What the hook sent through dp_local leaves now, in one burst. */
        dp_txbuf_flush(&dp->slow_txb);
        if (atomic_exchange(&dp->stats_req, false)) {
            dp_stats_print(dp, stdout);
            fflush(stdout);
        }
        prev_busy = work != 0;
        if (work != 0) {
            empty = 0;
        } else {
            if (empty != UINT32_MAX)
                empty++;
            /* Never busy: the main lcore shares its core with the control plane and the
             * system; only workers may be configured to spin. With the interrupt
             * policy its sleeps are DP_IDLE_WAKE_NS long, not idle_sleep_us: an idle
             * daemon's main loop then runs 1,000 times a second, not 10,000. */
            (void)dp_idle_backoff(dp, dp->conf.idle == DP_IDLE_INTERRUPT ? DP_IDLE_INTERRUPT
                                                                          : DP_IDLE_ADAPTIVE,
                                  empty);
        }
    }
    return 0;
}

void dp_stop(struct dp *dp)
{
    if (dp == NULL)
        return;
    atomic_store(&dp->quit, true);
    if (atomic_load(&dp->running)) {
        for (unsigned i = 0; i < dp->n_workers; i++)
            (void)rte_eal_wait_lcore(dp->workers[i].lcore_id);
        atomic_store(&dp->running, false);
    }
    if (dp->port.started) {
        dp_txbuf_flush(&dp->slow_txb);
        if (rte_eth_dev_stop(dp->port.port_id) != 0)
            DP_LOG(WARNING, "port %s: stop failed", dp->port.name);
        dp->port.started = false;
    }
}

static void drain_ring(struct rte_ring *r)
{
    void *obj;

    if (r == NULL)
        return;
    while (rte_ring_dequeue(r, &obj) == 0)
        rte_pktmbuf_free(obj);
}

void dp_del(struct dp *dp)
{
    if (dp == NULL)
        return;
    dp_stop(dp);
    dp_local_close_all(dp);
    dp_slowpath_free(dp);
    drain_ring(dp->slow_rx);
    drain_ring(dp->slow_tx);
    if (dp->workers != NULL) {
        for (unsigned i = 0; i < dp->n_workers; i++) {
            struct dp_worker *w = &dp->workers[i];

            drain_ring(w->steer);
            rte_ring_free(w->steer);
            rte_ring_free(w->cmd); /* holds flow pointers, not mbufs: nothing to free */
            dp_flowtab_free(&w->ft);
        }
        rte_free(dp->workers);
    }
    dp_port_close(&dp->port);
    rte_ring_free(dp->slow_rx);
    rte_ring_free(dp->slow_tx);
    rte_mempool_free(dp->flow_pool);
    rte_free(dp->port_owner);
    for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
        rte_mempool_free(dp->pools[s]);
    rte_free(dp);
}

void dp_stats_print(const struct dp *dp, FILE *out)
{
    struct dp_drop_stats sum;
    bool any = false;

    dp_port_stats_print(&dp->port, out);
    dp_lcore_stats_print(dp, out);
    dp_slowpath_stats_print(dp, out);
    dp_drop_totals(dp, &sum);
    fprintf(out, "drops\n");
    for (unsigned r = 0; r < DP_DROP__MAX; r++) {
        if (sum.n[r] == 0)
            continue;
        fprintf(out, "  %-22s %12" PRIu64 "\n", dp_drop_name((enum dp_drop)r), sum.n[r]);
        any = true;
    }
    if (!any)
        fprintf(out, "  %-22s %12d\n", "(none)", 0);
}

const char *dp_steering(const struct dp *dp)
{
    return dp->port.rss ? NULL : dp->port.steer_why;
}

const struct rte_ether_addr *dp_mac(const struct dp *dp)
{
    return &dp->port.mac;
}

rte_be32_t dp_ipv4(const struct dp *dp)
{
    return dp->iface.ip;
}

bool dp_dad_clash(const struct dp *dp, struct dp_addr *addr, struct rte_ether_addr *mac)
{
    if (!dp->dad_clash)
        return false;
    *addr = dp->dad_clash_addr;
    *mac = dp->dad_clash_mac;
    return true;
}

const struct dp_addr *dp_ipv6(const struct dp *dp)
{
    return dp->iface.ip6_on ? &dp->iface.ip6 : NULL;
}

const struct dp_addr *dp_ipv6_ll(const struct dp *dp)
{
    return dp->iface.ip6_on ? &dp->iface.ip6_ll : NULL;
}

unsigned dp_n_workers(const struct dp *dp)
{
    return dp->n_workers;
}

unsigned dp_worker_lcore(const struct dp *dp, unsigned index)
{
    return index < dp->n_workers ? dp->workers[index].lcore_id : 0;
}

int dp_lcore_counters(const struct dp *dp, unsigned lcore, struct dp_lcore_counters *out)
{
    for (unsigned i = 0; i < dp->n_workers; i++) {
        const struct dp_worker *w = &dp->workers[i];
        if (w->lcore_id != lcore)
            continue;
        *out = (struct dp_lcore_counters){
            .busy_cycles = w->st.busy_cycles, .idle_cycles = w->st.idle_cycles,
            .rx_pkts = w->st.rx_pkts, .tx_pkts = w->st.tx_pkts,
            .flow_rx = w->st.flow_rx, .flow_tx = w->st.flow_tx,
            .tsc_hz = rte_get_tsc_hz(),
        };
        dp_lcore_cpu_read(&w->cpu, &out->cpu_ns, &out->idle_cpu_ns);
        return 0;
    }
    if (lcore == rte_get_main_lcore()) {
        *out = (struct dp_lcore_counters){
            .busy_cycles = dp->sp.busy_cycles, .idle_cycles = dp->sp.idle_cycles,
            .rx_pkts = dp->sp.rx_pkts, .tx_pkts = dp->sp.tx_pkts, .tsc_hz = rte_get_tsc_hz(),
        };
        return 0;
    }
    return -EINVAL;
}

void dp_drop_totals(const struct dp *dp, struct dp_drop_stats *out)
{
    *out = dp->sp.drop;
    for (unsigned i = 0; i < dp->n_workers; i++)
        for (unsigned r = 0; r < DP_DROP__MAX; r++)
            out->n[r] += dp->workers[i].st.drop.n[r];
}

uint64_t dp_now_ns(const struct dp *dp)
{
    return dp_tsc_ns(dp, rte_rdtsc());
}
