/* dp_port: bring up one DPDK ethdev port for the h3dp dataplane.
 *
 * One RX queue per worker lcore when the device can spread traffic with RSS (else a single
 * RX queue and software steering), one TX queue per worker plus one for the main lcore's
 * slow path. Checksum offloads are enabled when the device offers them; the flags that
 * ended up enabled are recorded so the TX path knows what to compute in software.
 */
#ifndef H3DP_DP_PORT_H
#define H3DP_DP_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mempool.h>

/* Largest RSS key and redirection table we keep a copy of (bytes / entries). */
#define DP_PORT_RSS_KEY_MAX 64
#define DP_PORT_RETA_MAX    512
/* The key length asked for when the device does not report one (40: the Toeplitz key of
 * most NICs and of DPDK's own default). */
#define DP_PORT_RSS_KEY_USUAL 40

/* What the caller asks for. */
struct dp_port_conf {
    const char *device; /* ethdev name: PCI address or vdev name ("net_tap0") */
    uint16_t n_workers; /* worker lcores: one TX queue each, RX queues if RSS */
    uint16_t rx_desc;   /* descriptors per RX queue (0 = device default) */
    uint16_t tx_desc;   /* descriptors per TX queue (0 = device default) */
    uint16_t mtu;       /* IP MTU to set (0 = leave the device's) */
    bool want_rss;      /* use hardware RSS when the device supports it */
    bool want_offloads; /* use checksum offloads when the device offers them */
    bool want_rx_intr;  /* ask for RX queue interrupts (the interrupt idle policy) */
};

/* What we got. */
struct dp_port {
    uint16_t port_id;
    uint16_t nb_rxq;   /* n_workers with RSS, else 1 (nb_txq if the driver insists);
                        * queue q is polled by worker q % n_workers */
    uint16_t nb_txq;   /* n_workers + 1; queue n_workers belongs to the main lcore */
    uint16_t slow_txq; /* = n_workers */
    uint16_t mtu;
    bool rss;          /* hardware RSS spreads RX over nb_rxq queues */
    bool rss_udp6;     /* ... IPv6 UDP too, by ports (RTE_ETH_RSS_NONFRAG_IPV6_UDP) */
    char steer_why[96]; /* !rss: why flows are steered in software */
    bool tx_ip_cksum;  /* RTE_ETH_TX_OFFLOAD_IPV4_CKSUM enabled */
    bool tx_udp_cksum; /* RTE_ETH_TX_OFFLOAD_UDP_CKSUM enabled */
    bool rx_cksum;     /* RTE_ETH_RX_OFFLOAD_CHECKSUM enabled (ol_flags are meaningful) */
    bool started;
    struct rte_ether_addr mac;
    char name[RTE_ETH_NAME_MAX_LEN];
    char driver[32];
    uint8_t rss_key[DP_PORT_RSS_KEY_MAX];
    uint8_t rss_key_len;
    uint16_t reta_size;
    uint16_t reta[DP_PORT_RETA_MAX]; /* RX queue for each RETA entry */
};

/* Find |c->device|, configure it and set up its queues; RX queue q takes mbufs from
 * |rx_pools[q % n_workers]| (the pool of its worker's socket). Does not start the port. |p| is
 * filled in. Errors: -ENODEV (no such port), -ENOTSUP (too few queues), -EINVAL (bad conf), or the
 * -errno of the failing ethdev call. */
int dp_port_setup(struct dp_port *p, const struct dp_port_conf *c,
                  struct rte_mempool *const rx_pools[]);

/* Start the port (and set its link up).
 * Errors: -errno from rte_eth_dev_start(). */
int dp_port_start(struct dp_port *p);

/* Stop (if started) and close the port. Safe to call twice. */
void dp_port_close(struct dp_port *p);

/* Print rte_eth_stats of the port as an aligned table to |out|. */
void dp_port_stats_print(const struct dp_port *p, FILE *out);

/* The RX queue that the RSS hash |hash| lands on (0 when RSS is off). */
uint16_t dp_port_rxq_of_hash(const struct dp_port *p, uint32_t hash);

#endif
