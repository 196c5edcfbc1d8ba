/* bench_dp_echo: packets/s of the dataplane's UDP echo loop on a loopback vdev.
 *
 *   bench_dp_echo EAL-ARGS -- [-t SECONDS] [-s PAYLOAD] [-k INFLIGHT] [-o]
 *
 * Meant for --vdev=net_ring0 (TX queue i feeds RX queue i back) with two lcores: the
 * main lcore and one worker running the real worker loop (dp_lcore_main, busy polling).
 * The worker's hook injects INFLIGHT crafted UDP datagrams 198.18.0.2:9000 →
 * 198.18.0.2:9000 (our own address and MAC, so every echo comes back to the echo service
 * again). Each round trip is the full path: rx_burst, dp_classify (software checksums:
 * net_ring has no offloads), echo-port demux, header rebuild with a neighbour lookup and
 * software checksums, TX buffer, tx_burst.
 *
 * -o models a NIC with checksum offloads, which net_ring lacks: TX leaves the checksums to
 * "the NIC" (DP_TX_OFFLOAD_*) and, since net_ring hands the very mbuf back, the TX flags
 * carry RX_*_CKSUM_GOOD so the receive side trusts them as it would a NIC's verdict. The
 * checksums are then never computed at all: this measures the loop without the checksum
 * arithmetic a NIC would do, not a NIC.
 *
 * The main lcore samples the echo counter over
 * SECONDS and prints one line:
 *   echo: <pkts/s> pkt/s, <cycles> cycles/pkt, <n> pkts in <s> s, payload <b> B
 * which tools/bench-dataplane parses. Exit 0, or 1 when nothing was echoed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "dp_ipv4.h"
#include "dp_priv.h"
#include "dp_udp.h"
#include "mono.h"

#define ECHO_PORT    9000
#define OUR_IP       RTE_IPV4(198, 18, 0, 2)
#define MAX_INFLIGHT 512

struct bench {
    struct dp *dp;
    uint16_t payload;
    unsigned inflight;
    bool offload;
    atomic_bool injected;
    unsigned injected_n;
};

/* Worker hook: the first call puts the datagrams in flight on the worker's TX queue. */
static unsigned inject(void *arg, unsigned lcore, uint64_t now_ns)
{
    struct bench *b = arg;
    struct dp *dp = b->dp;
    struct dp_worker *w = &dp->workers[0];
    struct rte_mbuf *pkts[MAX_INFLIGHT];
    struct dp_tx_tuple t;
    unsigned n = 0, sent = 0;

    (void)lcore;
    (void)now_ns;
    if (atomic_load_explicit(&b->injected, memory_order_relaxed))
        return 0;
    memset(&t, 0, sizeof(t));
    t.src_mac = *dp_mac(dp);
    t.dst_mac = *dp_mac(dp);
    t.src_ip = dp_addr_v4(dp->conf.ip);
    t.dst_ip = dp_addr_v4(dp->conf.ip);
    t.src_port = rte_cpu_to_be_16(ECHO_PORT);
    t.dst_port = rte_cpu_to_be_16(ECHO_PORT);
    for (; n < b->inflight; n++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
        uint8_t *frame;
        int len;

        if (m == NULL)
            break;
        frame = rte_pktmbuf_mtod(m, uint8_t *);
        memset(frame + DP_UDP_HDRS_LEN, 0xa5, b->payload);
        len = dp_udp_build(frame, &t, b->payload, 0);
        m->data_len = (uint16_t)len;
        m->pkt_len = (uint32_t)len;
        m->ol_flags = dp->tx_ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
        pkts[n] = m;
    }
    while (sent < n) {
        uint16_t k = rte_eth_tx_burst(dp->port.port_id, w->txq, pkts + sent,
                                      (uint16_t)RTE_MIN(n - sent, 32u));

        if (k == 0)
            break;
        sent += k;
    }
    if (sent < n)
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    b->injected_n = sent;
    atomic_store(&b->injected, true);
    return sent;
}

static double mono_s(void)
{
    return (double)mono_ns() / 1e9;
}

int main(int argc, char **argv)
{
    struct dp_conf c;
    struct bench b;
    double secs = 3.0, t0, t1;
    uint64_t e0, e1, busy0, busy1;
    unsigned worker;
    struct dp_addr self;
    int n, opt;

    n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "bench_dp_echo: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    memset(&b, 0, sizeof(b));
    b.payload = 18; /* 60-byte frame: 64 bytes on the wire with the FCS */
    b.inflight = 256;
    while ((opt = getopt(argc, argv, "t:s:k:o")) != -1) {
        switch (opt) {
        case 't':
            secs = atof(optarg);
            break;
        case 's':
            b.payload = (uint16_t)atoi(optarg);
            break;
        case 'k':
            b.inflight = (unsigned)atoi(optarg);
            break;
        case 'o':
            b.offload = true;
            break;
        default:
            fprintf(stderr, "usage: bench_dp_echo EAL-ARGS -- [-t s] [-s bytes] "
                            "[-k inflight] [-o]\n");
            return 2;
        }
    }
    worker = rte_get_next_lcore(-1, 1, 0);
    if (worker >= RTE_MAX_LCORE || secs <= 0 || b.payload < 1 || b.payload > 1472 ||
        b.inflight < 1 || b.inflight > MAX_INFLIGHT || rte_eth_dev_count_avail() < 1) {
        fprintf(stderr, "bench_dp_echo: needs a worker lcore, a port, sane options\n");
        return 2;
    }
    dp_conf_defaults(&c);
    RTE_ETH_FOREACH_DEV(n)
    {
        static char name[RTE_ETH_NAME_MAX_LEN];

        rte_eth_dev_get_name_by_port((uint16_t)n, name);
        c.device = name;
        break;
    }
    c.ip = rte_cpu_to_be_32(OUR_IP);
    c.prefix_len = 24;
    c.n_workers = 1;
    c.worker_lcores[0] = worker;
    c.idle = DP_IDLE_BUSY;
    c.udp_echo_port = ECHO_PORT;
    b.dp = dp_new(&c);
    if (b.dp == NULL) {
        fprintf(stderr, "bench_dp_echo: dp_new: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    /* net_ring's MAC is all-zero (not a valid neighbour address) and cannot be set; it
     * filters nothing, so the dataplane simply gets a MAC of its own here. */
    if (rte_is_zero_ether_addr(&b.dp->port.mac)) {
        b.dp->port.mac = (struct rte_ether_addr){.addr_bytes = {2, 0, 0xc6, 0x12, 0, 2}};
        b.dp->iface.mac = b.dp->port.mac;
    }
    if (b.offload) {
        b.dp->tx_offload = DP_TX_OFFLOAD_IP_CKSUM | DP_TX_OFFLOAD_UDP_CKSUM;
        b.dp->tx_ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM |
                            RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    }
    /* We talk to ourselves: our own address resolves to our own MAC. */
    self = dp_addr_v4(c.ip);
    n = dp_neigh_add_static(b.dp->neigh, &self, dp_mac(b.dp));
    if (n == 0)
        n = dp_worker_hook_set(b.dp, worker, inject, &b);
    if (n == 0)
        n = dp_start(b.dp);
    if (n < 0) {
        fprintf(stderr, "bench_dp_echo: setup failed: %s\n", rte_strerror(-n));
        return 1;
    }
    while (!atomic_load(&b.injected))
        usleep(1000);
    usleep(200 * 1000); /* warm-up */
    t0 = mono_s();
    e0 = b.dp->workers[0].st.echo;
    busy0 = b.dp->workers[0].st.busy_cycles + b.dp->workers[0].st.idle_cycles;
    usleep((useconds_t)(secs * 1e6));
    t1 = mono_s();
    e1 = b.dp->workers[0].st.echo;
    busy1 = b.dp->workers[0].st.busy_cycles + b.dp->workers[0].st.idle_cycles;
    dp_request_stop(b.dp);
    dp_stop(b.dp);
    if (e1 == e0) {
        fprintf(stderr, "bench_dp_echo: nothing echoed (injected %u)\n", b.injected_n);
        dp_stats_print(b.dp, stderr);
        dp_del(b.dp);
        rte_eal_cleanup();
        return 1;
    }
    printf("echo: %.0f pkt/s, %.1f cycles/pkt, %" PRIu64 " pkts in %.2f s, payload %u B, "
           "%u in flight, checksums %s\n",
           (double)(e1 - e0) / (t1 - t0), (double)(busy1 - busy0) / (double)(e1 - e0), e1 - e0,
           t1 - t0, b.payload, b.injected_n, b.offload ? "offloaded (modelled)" : "software");
    dp_del(b.dp);
    rte_eal_cleanup();
    return 0;
}
