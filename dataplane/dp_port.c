/* dp_port: ethdev bring-up for the dataplane (see dp_port.h). */
#include "dp_port.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>

#include "dp_log.h"

/* RSS over the UDP/IPv4 4-tuple: what flow placement (dp_rss) assumes; over the UDP/IPv6
 * one too when the device offers it (else IPv6 lands on queue 0 and is steered). */
#define DP_PORT_RSS_HF  (RTE_ETH_RSS_NONFRAG_IPV4_UDP)
#define DP_PORT_RSS_HF6 (RTE_ETH_RSS_NONFRAG_IPV6_UDP)

/* Whether to ask the device for RSS; when not, why not (in |p->steer_why|). A device that
 * does not give its key size is still tried: the read-back decides (port_read_rss). */
static bool port_can_rss(struct dp_port *p, const struct rte_eth_dev_info *info,
                         const struct dp_port_conf *c)
{
    const char *why = NULL;

    if (!c->want_rss)
        why = "RSS not wanted";
    else if (c->n_workers < 2)
        why = "one worker";
    else if ((info->flow_type_rss_offloads & DP_PORT_RSS_HF) != DP_PORT_RSS_HF)
        why = "the device has no RSS over UDP/IPv4";
    else if (info->max_rx_queues < c->n_workers)
        why = "fewer RX queues than workers";
    else if (info->reta_size == 0 || info->reta_size > DP_PORT_RETA_MAX)
        why = "no usable redirection table";
    else if (info->hash_key_size > DP_PORT_RSS_KEY_MAX)
        why = "RSS key longer than we keep";
    if (why)
        snprintf(p->steer_why, sizeof(p->steer_why), "%s", why);
    return why == NULL;
}

/* Read back the key and RETA the device actually uses, so that flow placement computes
 * the same hash the NIC does. A device that refuses (rte_eth_dev_rss_hash_conf_get or
 * rte_eth_dev_rss_reta_query fails: net_failsafe, some VF drivers) is not an error: the
 * caller falls back to software steering. */
static int port_read_rss(struct dp_port *p, const struct rte_eth_dev_info *info)
{
    struct rte_eth_rss_conf rc = {
        .rss_key = p->rss_key,
        /* The device's key size, or the usual Toeplitz key's when it does not say (the
         * driver corrects it; for the UDP/IPv4 4-tuple only the first 16 bytes count). */
        .rss_key_len = info->hash_key_size ? info->hash_key_size : DP_PORT_RSS_KEY_USUAL,
    };
    struct rte_eth_rss_reta_entry64 reta[DP_PORT_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
    int rc_;

    rc_ = rte_eth_dev_rss_hash_conf_get(p->port_id, &rc);
    if (rc_ < 0)
        return rc_;
    p->rss_key_len = rc.rss_key_len;
    memset(reta, 0, sizeof(reta));
    for (unsigned i = 0; i < RTE_DIM(reta); i++)
        reta[i].mask = UINT64_MAX;
    rc_ = rte_eth_dev_rss_reta_query(p->port_id, reta, p->reta_size);
    if (rc_ < 0)
        return rc_;
    for (unsigned i = 0; i < p->reta_size; i++)
        p->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    return 0;
}

int dp_port_setup(struct dp_port *p, const struct dp_port_conf *c,
                  struct rte_mempool *const rx_pools[])
{
    struct rte_eth_dev_info info;
    struct rte_eth_conf conf;
    uint16_t nb_rxd = c->rx_desc, nb_txd = c->tx_desc;
    int rc, socket;

    memset(p, 0, sizeof(*p));
    if (c->device == NULL || c->n_workers == 0)
        return -EINVAL;
    if (rte_eth_dev_get_port_by_name(c->device, &p->port_id) != 0) {
        DP_LOG(ERR, "port %s: no such DPDK port (is the vdev/PCI device in [eal] args?)",
               c->device);
        return -ENODEV;
    }
    snprintf(p->name, sizeof(p->name), "%s", c->device);
    rc = rte_eth_dev_info_get(p->port_id, &info);
    if (rc < 0)
        return rc;
    snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);

    p->rss = port_can_rss(p, &info, c);
    p->nb_txq = c->n_workers + 1;
    /* Without RSS, a device may still spread received packets over every queue it was
     * created with (net_af_packet's PACKET_FANOUT over its qpairs sockets, net_tap's
     * multiqueue): poll all of them (up to one per TX queue), the workers in turn, and let
     * software steering hand each datagram to its flow's owner. */
    p->nb_rxq = p->rss ? c->n_workers
                       : (uint16_t)RTE_MAX(1, RTE_MIN(info.max_rx_queues, p->nb_txq));
    p->slow_txq = c->n_workers;
    if (info.max_tx_queues < p->nb_txq || info.max_rx_queues < p->nb_rxq) {
        DP_LOG(ERR, "port %s: needs %u TX queues, device has %u", p->name, p->nb_txq,
               info.max_tx_queues);
        return -ENOTSUP;
    }

    memset(&conf, 0, sizeof(conf));
    if (p->rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = DP_PORT_RSS_HF;
        /* The IPv6 4-tuple is 36 bytes: the key must cover 36 + 4 (dp_rss). */
        p->rss_udp6 = (info.flow_type_rss_offloads & DP_PORT_RSS_HF6) == DP_PORT_RSS_HF6 &&
                      info.hash_key_size >= 40;
        if (p->rss_udp6)
            conf.rx_adv_conf.rss_conf.rss_hf |= DP_PORT_RSS_HF6;
        p->reta_size = info.reta_size;
    }
    if (c->want_offloads) {
        uint64_t rxc = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

        p->tx_ip_cksum = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
        p->tx_udp_cksum = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        p->rx_cksum = (info.rx_offload_capa & rxc) == rxc;
        if (p->tx_ip_cksum)
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
        if (p->tx_udp_cksum)
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        if (p->rx_cksum)
            conf.rxmode.offloads |= rxc;
    }
    bool mtu_beyond = false;
    if (c->mtu != 0) {
        if (c->mtu < info.min_mtu) {
            DP_LOG(ERR, "port %s: MTU %u outside the device's range %u..%u", p->name, c->mtu,
                   info.min_mtu, info.max_mtu);
            return -EINVAL;
        }
        /* Virtual devices of DPDK 22.11 (net_tap, net_memif) report a 1500-byte maximum
         * they do not enforce: frames up to the configured MTU still pass. Keep it as
         * what we send (the mbufs hold it) and leave the device's own MTU alone. */
        if (c->mtu > info.max_mtu ||
            (uint32_t)c->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > info.max_rx_pktlen) {
            DP_LOG(WARNING,
                   "port %s: device reports max MTU %u, max frame %u; sending up to [port] "
                   "mtu %u anyway (the path below must carry it: PMTUD finds out)",
                   p->name, info.max_mtu, info.max_rx_pktlen, c->mtu);
            mtu_beyond = true;
        } else {
            conf.rxmode.mtu = c->mtu;
        }
    }
    /* Devices without RX interrupts ignore the request; the workers find out when they
     * ask for the queues' event fds (dp_lcore) and sleep in short steps instead. */
    conf.intr_conf.rxq = c->want_rx_intr ? 1 : 0;

    rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
    if (rc < 0 && p->nb_rxq < p->nb_txq && info.max_rx_queues >= p->nb_txq) {
        /* Some drivers (net_tap) want as many RX as TX queues: the extra RX queues
         * are polled too, by the workers in turn, and software steering sorts it out. */
        DP_LOG(INFO, "port %s: retrying with %u RX queues", p->name, p->nb_txq);
        p->nb_rxq = p->nb_txq;
        rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
    }
    if (rc < 0) {
        DP_LOG(ERR, "port %s: configure: %s", p->name, rte_strerror(-rc));
        return rc;
    }
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
    if (rc < 0)
        return rc;

    socket = rte_eth_dev_socket_id(p->port_id);
    if (socket < 0)
        socket = (int)rte_socket_id();
    for (uint16_t q = 0; q < p->nb_rxq; q++) {
        struct rte_eth_rxconf rxc = info.default_rxconf;

        rxc.offloads = conf.rxmode.offloads;
        rc = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd, (unsigned)socket, &rxc,
                                    rx_pools[q % c->n_workers]);
        if (rc < 0) {
            DP_LOG(ERR, "port %s: RX queue %u: %s", p->name, q, rte_strerror(-rc));
            return rc;
        }
    }
    for (uint16_t q = 0; q < p->nb_txq; q++) {
        struct rte_eth_txconf txc = info.default_txconf;

        txc.offloads = conf.txmode.offloads;
        rc = rte_eth_tx_queue_setup(p->port_id, q, nb_txd, (unsigned)socket, &txc);
        if (rc < 0) {
            DP_LOG(ERR, "port %s: TX queue %u: %s", p->name, q, rte_strerror(-rc));
            return rc;
        }
    }
    rc = rte_eth_macaddr_get(p->port_id, &p->mac);
    if (rc < 0)
        return rc;
    if (mtu_beyond)
        p->mtu = c->mtu;
    else if (rte_eth_dev_get_mtu(p->port_id, &p->mtu) != 0)
        p->mtu = RTE_ETHER_MTU;
    if (p->rss) {
        rc = port_read_rss(p, &info);
        if (rc < 0) {
            DP_LOG(WARNING, "port %s: cannot read RSS key/RETA (%s): software steering", p->name,
                   rte_strerror(-rc));
            snprintf(p->steer_why, sizeof(p->steer_why), "RSS key/RETA read-back failed: %s",
                     rte_strerror(-rc));
            p->rss = false;
            p->rss_udp6 = false;
        }
    }
    DP_LOG(INFO,
           "port %s (%s): %u RX / %u TX queues, RSS %s%s%s, TX cksum offload ip=%d udp=%d, "
           "MTU %u, MAC " RTE_ETHER_ADDR_PRT_FMT,
           p->name, p->driver, p->nb_rxq, p->nb_txq,
           p->rss ? (p->rss_udp6 ? "on (IPv4, IPv6)" : "on (IPv4; IPv6 steered in software)")
                  : "off (software steering: ",
           p->rss ? "" : p->steer_why, p->rss ? "" : ")",
           p->tx_ip_cksum, p->tx_udp_cksum, p->mtu, RTE_ETHER_ADDR_BYTES(&p->mac));
    return 0;
}

int dp_port_start(struct dp_port *p)
{
    int rc = rte_eth_dev_start(p->port_id);

    if (rc < 0) {
        DP_LOG(ERR, "port %s: start: %s", p->name, rte_strerror(-rc));
        return rc;
    }
    p->started = true;
    /* Some vdevs (net_tap) only bring the kernel side up on request; not all support it. */
    (void)rte_eth_dev_set_link_up(p->port_id);
    return 0;
}

void dp_port_close(struct dp_port *p)
{
    if (p->name[0] == '\0')
        return;
    if (p->started) {
        if (rte_eth_dev_stop(p->port_id) != 0)
            DP_LOG(WARNING, "port %s: stop failed", p->name);
        p->started = false;
    }
    (void)rte_eth_dev_close(p->port_id);
    p->name[0] = '\0';
}

void dp_port_stats_print(const struct dp_port *p, FILE *out)
{
    struct rte_eth_stats st;

    if (rte_eth_stats_get(p->port_id, &st) != 0) {
        fprintf(out, "port %s: statistics unavailable\n", p->name);
        return;
    }
    fprintf(out, "port %s (%s)\n", p->name, p->driver);
    fprintf(out, "  %-14s %14" PRIu64 "   %-14s %14" PRIu64 "\n", "rx packets", st.ipackets,
            "tx packets", st.opackets);
    fprintf(out, "  %-14s %14" PRIu64 "   %-14s %14" PRIu64 "\n", "rx bytes", st.ibytes, "tx bytes",
            st.obytes);
    fprintf(out, "  %-14s %14" PRIu64 "   %-14s %14" PRIu64 "\n", "rx missed", st.imissed,
            "tx errors", st.oerrors);
    fprintf(out, "  %-14s %14" PRIu64 "   %-14s %14" PRIu64 "\n", "rx errors", st.ierrors,
            "rx no mbuf", st.rx_nombuf);
}

uint16_t dp_port_rxq_of_hash(const struct dp_port *p, uint32_t hash)
{
    if (!p->rss || p->reta_size == 0)
        return 0;
    return p->reta[hash % p->reta_size];
}
