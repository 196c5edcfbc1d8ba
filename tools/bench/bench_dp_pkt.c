/* bench_dp_pkt: cycles per packet of the dataplane's pure packet path, no EAL, no NIC.
 *
 *   RX: dp_classify() + dp_flowtab_lookup() over an array of crafted UDP frames spread
 *       over 64 flows (checksums verified in software, or vouched for by RX offload flags
 *       as a NIC with checksum offload would), IPv4 and IPv6 (the table holds both sets);
 *   TX: dp_udp_build() in front of a 1200-byte payload (software checksums, or offload),
 *       IPv4 and IPv6; the next hop's MAC: dp_neigh_lookup() of an IPv4 next hop among 8
 *       neighbours, as every transmitted datagram does.
 *
 * Each case: median of R runs (default 7) of N packets (default 10M), timed with the TSC
 * (rte_rdtsc, inline). With -e it also initialises a minimal EAL (--no-huge --no-pci
 * --no-shconf, one lcore) to compare the flow lookup alone against rte_hash (CRC hash,
 * single and 32-key bulk lookups) on the same 64 flows.
 *
 * Usage: bench_dp_pkt [-n packets] [-r runs] [-e]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mbuf_core.h>

#include "dp_classify.h"
#include "dp_flowtab.h"
#include "dp_ipv6.h"
#include "dp_neigh.h"
#include "dp_net.h"
#include "dp_udp.h"

#define NFLOWS     64
#define NFRAMES    256 /* NFLOWS x 4, cycled: ~512 KiB of frames, like a busy RX ring */
#define FRAME_ROOM 2048
#define MAX_RUNS   31

static uint8_t *frames;
static uint16_t frame_len[NFRAMES];
static struct dp_iface ifc;
static struct dp_flowtab ft;
static int flow_objs[2 * NFLOWS];
static int fam6; /* the case runs over IPv6 */

static const struct rte_ether_addr our_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr peer_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}};

/* Flow f: remote 198.18.1.(f/8+1):(443+f%8) -> us 198.18.0.2:(40000+f); over IPv6
 * (|v6|) remote fd00::1:(f/8+1) -> us fd00::2. */
static struct dp_tx_tuple flow_tuple(int f, int v6)
{
    struct dp_tx_tuple t;

    memset(&t, 0, sizeof(t));
    t.src_mac = peer_mac;
    t.dst_mac = our_mac;
    if (v6) {
        t.src_ip = ifc.ip6;
        t.src_ip.b[13] = 0x01;
        t.src_ip.b[15] = (uint8_t)(f / 8 + 1);
        t.dst_ip = ifc.ip6;
    } else {
        t.src_ip = dp_addr_v4(rte_cpu_to_be_32(0xc6120100u + (uint32_t)(f / 8) + 1));
        t.dst_ip = dp_addr_v4(ifc.ip);
    }
    t.src_port = rte_cpu_to_be_16((uint16_t)(443 + f % 8));
    t.dst_port = rte_cpu_to_be_16((uint16_t)(40000 + f));
    return t;
}

/* Builds the RX frames (remote -> us) with |plen| payload bytes, checksums correct. */
static void make_rx_frames(uint16_t plen)
{
    int i;

    for (i = 0; i < NFRAMES; i++) {
        uint8_t *fr = frames + (size_t)i * FRAME_ROOM;
        struct dp_tx_tuple t = flow_tuple(i % NFLOWS, fam6);
        uint16_t hdrs = dp_udp_hdrs_len(&t.dst_ip);
        uint16_t j;
        int len;

        for (j = 0; j < plen; j++)
            fr[hdrs + j] = (uint8_t)(i + j);
        len = dp_udp_build(fr, &t, plen, 0);
        if (len < 0) {
            fprintf(stderr, "bench: frame build failed\n");
            exit(1);
        }
        frame_len[i] = (uint16_t)len;
    }
}

static uint64_t sink; /* keeps the compiler from dropping the work */

static uint64_t run_rx(uint64_t n, uint64_t ol_flags)
{
    uint64_t t0, t1, acc = 0, i;

    t0 = rte_rdtsc_precise();
    for (i = 0; i < n; i++) {
        uint32_t k = (uint32_t)i & (NFRAMES - 1);
        const uint8_t *fr = frames + (size_t)k * FRAME_ROOM;
        struct dp_pkt_info info;
        enum dp_drop why;

        if (likely(dp_classify(&ifc, fr, frame_len[k], ol_flags, &info, &why) == DP_PKT_UDP)) {
            int *flow = dp_flowtab_lookup(&ft, &info.src, info.src_port, info.dst_port);

            if (likely(flow != NULL))
                acc += (uint64_t)*flow + info.payload_len;
        }
    }
    t1 = rte_rdtsc_precise();
    sink += acc;
    if (acc == 0) {
        fprintf(stderr, "bench: no packet was demultiplexed\n");
        exit(1);
    }
    return t1 - t0;
}

static uint64_t run_tx(uint64_t n, uint16_t plen, unsigned int offload)
{
    uint64_t t0, t1, i;
    struct dp_tx_tuple tup[NFLOWS];
    int f;

    for (f = 0; f < NFLOWS; f++) {
        /* TX: us -> remote. */
        struct dp_tx_tuple r = flow_tuple(f, fam6);

        tup[f] = r;
        tup[f].src_mac = our_mac;
        tup[f].dst_mac = peer_mac;
        tup[f].src_ip = r.dst_ip;
        tup[f].dst_ip = r.src_ip;
        tup[f].src_port = r.dst_port;
        tup[f].dst_port = r.src_port;
    }
    t0 = rte_rdtsc_precise();
    for (i = 0; i < n; i++) {
        uint32_t k = (uint32_t)i & (NFRAMES - 1);

        sink += (uint64_t)dp_udp_build(frames + (size_t)k * FRAME_ROOM, &tup[k % NFLOWS], plen,
                                       offload);
    }
    t1 = rte_rdtsc_precise();
    return t1 - t0;
}

/* Lookup-only comparison: the 64 IPv4 flows' keys, cycled as in the RX case. */
#define LOOKUP_BURST 32

struct lookup_key {
    struct dp_addr remote;
    rte_be16_t remote_port, local_port;
};

static struct lookup_key lookup_keys[NFRAMES];
static struct rte_hash *rh;

static uint64_t run_lookup_flowtab(uint64_t n)
{
    uint64_t t0, t1, acc = 0, i;

    t0 = rte_rdtsc_precise();
    for (i = 0; i < n; i++) {
        const struct lookup_key *k = &lookup_keys[i & (NFRAMES - 1)];
        int *f = dp_flowtab_lookup(&ft, &k->remote, k->remote_port, k->local_port);

        acc += (uint64_t)*f;
    }
    t1 = rte_rdtsc_precise();
    sink += acc;
    return t1 - t0;
}

static uint64_t run_lookup_rte_hash(uint64_t n)
{
    uint64_t t0, t1, acc = 0, i;

    t0 = rte_rdtsc_precise();
    for (i = 0; i < n; i++) {
        void *data;

        if (likely(rte_hash_lookup_data(rh, &lookup_keys[i & (NFRAMES - 1)], &data) >= 0))
            acc += (uint64_t) * (int *)data;
    }
    t1 = rte_rdtsc_precise();
    sink += acc;
    return t1 - t0;
}

static uint64_t run_lookup_rte_hash_bulk(uint64_t n)
{
    const void *keys[LOOKUP_BURST];
    void *data[LOOKUP_BURST];
    uint64_t t0, t1, acc = 0, i, hits;
    int j;

    t0 = rte_rdtsc_precise();
    for (i = 0; i + LOOKUP_BURST <= n; i += LOOKUP_BURST) {
        for (j = 0; j < LOOKUP_BURST; j++)
            keys[j] = &lookup_keys[(i + (uint64_t)j) & (NFRAMES - 1)];
        hits = 0;
        rte_hash_lookup_bulk_data(rh, keys, LOOKUP_BURST, &hits, data);
        for (j = 0; j < LOOKUP_BURST; j++)
            if (hits & (1ULL << j))
                acc += (uint64_t) * (int *)data[j];
    }
    t1 = rte_rdtsc_precise();
    sink += acc;
    return t1 - t0;
}

static uint32_t crc_hash(const void *key, uint32_t len, uint32_t init)
{
    return rte_hash_crc(key, len, init);
}

/* Starts a minimal EAL and fills an rte_hash with the same flows. Returns 0 or -1. */
static int rte_hash_setup(const char *prog)
{
    char prefix[64];
    char *eal_argv[] = {(char *)prog,  "--no-huge",      "-m",    "64", "--no-pci",
                        "--no-shconf", "--no-telemetry", "-l",    "0",  "--file-prefix",
                        prefix,        "--log-level",    "error", NULL};
    struct rte_hash_parameters hp = {
        .name = "bench_flows",
        .entries = 1024,
        .key_len = sizeof(struct lookup_key),
        .hash_func = crc_hash,
        .socket_id = 0,
    };
    int f;

    snprintf(prefix, sizeof(prefix), "h3dp-bench-%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
        fprintf(stderr, "bench: rte_eal_init failed (need root?)\n");
        return -1;
    }
    rh = rte_hash_create(&hp);
    if (rh == NULL) {
        fprintf(stderr, "bench: rte_hash_create failed\n");
        return -1;
    }
    for (f = 0; f < NFLOWS; f++) {
        if (rte_hash_add_key_data(rh, &lookup_keys[f], &flow_objs[f]) < 0) {
            fprintf(stderr, "bench: rte_hash_add_key_data failed\n");
            return -1;
        }
    }
    return 0;
}

/* Frees the hash, stops EAL and removes the (empty) runtime directory it created. */
static void rte_hash_teardown(void)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
    rte_hash_free(rh);
    rte_eal_cleanup();
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench: could not remove %s: %s\n", dir, strerror(errno));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The neighbour table of a worker's TX path: a gateway and a few on-link peers. */
#define NNEIGH 8

static struct dp_neigh *neigh;

static void nop_solicit(void *arg, const struct dp_addr *a, const struct rte_ether_addr *dst)
{
    (void)arg;
    (void)a;
    (void)dst;
}

static void nop_pkt(void *arg, void *pkt, const struct rte_ether_addr *mac)
{
    (void)arg;
    (void)pkt;
    (void)mac;
}

static void nop_free(void *arg, void *pkt)
{
    (void)arg;
    (void)pkt;
}

static int neigh_setup(void)
{
    static const struct dp_neigh_ops ops = {
        .solicit = nop_solicit, .xmit = nop_pkt, .free_pkt = nop_free};
    const struct dp_neigh_params p = {
        .capacity = 256,
        .queue_per_entry = 64,
        .queue_total = 64,
        .max_retries = 3,
        .retry_ns = 1000000000ull,
        .reachable_ns = 30000000000ull,
        .failed_hold_ns = 1000000000ull,
    };
    struct rte_ether_addr mac = peer_mac, m;
    int i;

    neigh = dp_neigh_new(&p, &ops, NULL);
    if (neigh == NULL)
        return -1;
    for (i = 0; i < NNEIGH; i++) {
        struct dp_addr a = dp_addr_v4(rte_cpu_to_be_32(0xc6120100u + (uint32_t)i + 1));

        mac.addr_bytes[5] = (uint8_t)i;
        if (dp_neigh_resolve(neigh, &a, NULL, 0, &m) != DP_NEIGH_QUEUED ||
            dp_neigh_learn(neigh, &a, &mac, DP_NEIGH_MSG_REPLY, 0) != 0)
            return -1;
    }
    return 0;
}

static uint64_t run_lookup_neigh(uint64_t n)
{
    uint64_t t0, t1, acc = 0, i;

    t0 = rte_rdtsc_precise();
    for (i = 0; i < n; i++) {
        rte_be32_t nh = rte_cpu_to_be_32(0xc6120100u + (uint32_t)(i & (NNEIGH - 1)) + 1);
        struct dp_addr a = dp_addr_v4(nh);
        struct rte_ether_addr m;

        if (likely(dp_neigh_lookup(neigh, &a, &m) == 0))
            acc += m.addr_bytes[5];
    }
    t1 = rte_rdtsc_precise();
    sink += acc;
    return t1 - t0;
}

enum kind { RX, TX, LK_FLOWTAB, LK_RTE_HASH, LK_RTE_HASH_BULK, LK_NEIGH };

static void bench(const char *name, enum kind kind, int v6, uint16_t plen, uint64_t flags,
                  uint64_t n, int runs)
{
    uint64_t c[MAX_RUNS];
    int r;

    fam6 = v6;
    if (kind == RX)
        make_rx_frames(plen);
    else
        memset(frames, 0x5a, (size_t)NFRAMES * FRAME_ROOM);
    /* The first run warms caches, branch predictors and the clock; it is not counted. */
    for (r = -1; r < runs; r++) {
        uint64_t cyc;

        switch (kind) {
        case RX:
            cyc = run_rx(n, flags);
            break;
        case TX:
            cyc = run_tx(n, plen, (unsigned int)flags);
            break;
        case LK_FLOWTAB:
            cyc = run_lookup_flowtab(n);
            break;
        case LK_RTE_HASH:
            cyc = run_lookup_rte_hash(n);
            break;
        case LK_NEIGH:
            cyc = run_lookup_neigh(n);
            break;
        default:
            cyc = run_lookup_rte_hash_bulk(n);
            break;
        }
        if (r >= 0)
            c[r] = cyc;
    }
    qsort(c, (size_t)runs, sizeof(c[0]), cmp_u64);
    printf("%-44s %5u  %8.1f  %8.1f  %8.1f\n", name, plen, (double)c[runs / 2] / (double)n,
           (double)c[0] / (double)n, (double)c[runs - 1] / (double)n);
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    int runs = 7, opt, f, with_eal = 0;

    while ((opt = getopt(argc, argv, "n:r:eh")) != -1) {
        switch (opt) {
        case 'e':
            with_eal = 1;
            break;
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [-n packets] [-r runs (1..%d)] [-e]\n", argv[0], MAX_RUNS);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (n == 0 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench: -n must be > 0 and -r within 1..%d\n", MAX_RUNS);
        return 2;
    }

    frames = aligned_alloc(64, (size_t)NFRAMES * FRAME_ROOM);
    if (frames == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    ifc.mac = our_mac;
    ifc.ip = rte_cpu_to_be_32(0xc6120002u);
    ifc.ip6_on = true;
    (void)dp_addr_parse("fd00::2", &ifc.ip6);
    ifc.ip6_ll = dp_ipv6_link_local(&our_mac);
    if (dp_flowtab_init(&ft, 1024, 0x243f6a8885a308d3ull) != 0) {
        fprintf(stderr, "bench: flow table init failed\n");
        return 1;
    }
    for (f = 0; f < 2 * NFLOWS; f++) {
        struct dp_tx_tuple t = flow_tuple(f % NFLOWS, f >= NFLOWS);

        flow_objs[f] = f + 1;
        if (dp_flowtab_insert(&ft, &t.src_ip, t.src_port, t.dst_port, &flow_objs[f]) != 0) {
            fprintf(stderr, "bench: flow insert failed\n");
            return 1;
        }
    }
    for (f = 0; f < NFRAMES; f++) {
        struct dp_tx_tuple t = flow_tuple(f % NFLOWS, 0);

        memset(&lookup_keys[f], 0, sizeof(lookup_keys[f]));
        lookup_keys[f].remote = t.src_ip;
        lookup_keys[f].remote_port = t.src_port;
        lookup_keys[f].local_port = t.dst_port;
    }

    printf("bench_dp_pkt: %llu packets x %d runs per case, %d flows, cycles/packet (TSC)\n",
           (unsigned long long)n, runs, NFLOWS);
    printf("%-44s %5s  %8s  %8s  %8s\n", "case", "plen", "median", "min", "max");
    for (int v6 = 0; v6 <= 1; v6++) {
        const uint64_t verified = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        char name[64];

#define CASE(what) (snprintf(name, sizeof(name), what, v6 ? "IPv6" : "IPv4"), name)
        bench(CASE("RX classify+demux %s, NIC-verified checksums"), RX, v6, 1200, verified, n,
              runs);
        bench(CASE("RX classify+demux %s, NIC-verified checksums"), RX, v6, 64, verified, n, runs);
        bench(CASE("RX classify+demux %s, software checksums"), RX, v6, 64, 0, n, runs);
        bench(CASE("RX classify+demux %s, software checksums"), RX, v6, 1200, 0, n, runs);
        bench(CASE("TX build %s, software checksums"), TX, v6, 1200, 0, n, runs);
        bench(CASE("TX build %s, IP+UDP checksum offload"), TX, v6, 1200,
              DP_TX_OFFLOAD_IP_CKSUM | DP_TX_OFFLOAD_UDP_CKSUM, n, runs);
#undef CASE
    }
    bench("flow lookup only: dp_flowtab", LK_FLOWTAB, 0, 0, 0, n, runs);
    if (neigh_setup() != 0) {
        fprintf(stderr, "bench: neighbour table setup failed\n");
        return 1;
    }
    bench("TX next-hop MAC: dp_neigh_lookup (IPv4)", LK_NEIGH, 0, 0, 0, n, runs);
    dp_neigh_del(neigh);
    if (with_eal) {
        if (rte_hash_setup(argv[0]) != 0)
            return 1;
        bench("flow lookup only: rte_hash (CRC), single", LK_RTE_HASH, 0, 0, 0, n, runs);
        bench("flow lookup only: rte_hash (CRC), bulk 32", LK_RTE_HASH_BULK, 0, 0, 0, n, runs);
        rte_hash_teardown();
    }
    printf("(sink %llu)\n", (unsigned long long)(sink & 1));

    dp_flowtab_free(&ft);
    free(frames);
    return 0;
}
