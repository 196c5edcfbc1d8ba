/* bench_dp_pkt: cycles per packet of the dataplane's pure packet path, no EAL, no NIC.
 *
 *   RX: dp_classify() + dp_flowtab_lookup() over an array of crafted UDP frames spread
 *       over 64 flows (checksums verified in software, or vouched for by RX offload flags
 *       as a NIC with checksum offload would);
 *   TX: dp_udp_build() in front of a 1200-byte payload (software checksums, or offload).
 *
 * Each case: median of R runs (default 7) of N packets (default 10M), timed with the TSC
 * (rte_rdtsc, inline). Usage: bench_dp_pkt [-n packets] [-r runs]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf_core.h>

#include "dp_classify.h"
#include "dp_flowtab.h"
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
static int flow_objs[NFLOWS];

static const struct rte_ether_addr our_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr peer_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}};

/* Flow f: remote 198.18.1.(f/8+1):(443+f%8) -> us 198.18.0.2:(40000+f). */
static struct dp_tx_tuple flow_tuple(int f)
{
    struct dp_tx_tuple t;

    memset(&t, 0, sizeof(t));
    t.src_mac = peer_mac;
    t.dst_mac = our_mac;
    t.src_ip = rte_cpu_to_be_32(0xc6120100u + (uint32_t)(f / 8) + 1);
    t.dst_ip = ifc.ip;
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
        struct dp_tx_tuple t = flow_tuple(i % NFLOWS);
        uint16_t j;
        int len;

        for (j = 0; j < plen; j++)
            fr[DP_UDP_HDRS_LEN + j] = (uint8_t)(i + j);
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
            int *flow = dp_flowtab_lookup(&ft, info.src_ip, info.src_port, info.dst_port);

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
        struct dp_tx_tuple r = flow_tuple(f);

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

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

enum kind { RX, TX };

static void bench(const char *name, enum kind kind, uint16_t plen, uint64_t flags, uint64_t n,
                  int runs)
{
    uint64_t c[MAX_RUNS];
    int r;

    if (kind == RX)
        make_rx_frames(plen);
    else
        memset(frames, 0x5a, (size_t)NFRAMES * FRAME_ROOM);
    /* Warm-up (caches, branch predictors, frequency). */
    if (kind == RX)
        run_rx(n / 10 + 1, flags);
    else
        run_tx(n / 10 + 1, plen, (unsigned int)flags);
    for (r = 0; r < runs; r++)
        c[r] = kind == RX ? run_rx(n, flags) : run_tx(n, plen, (unsigned int)flags);
    qsort(c, (size_t)runs, sizeof(c[0]), cmp_u64);
    printf("%-44s %5u  %8.1f  %8.1f  %8.1f\n", name, plen, (double)c[runs / 2] / (double)n,
           (double)c[0] / (double)n, (double)c[runs - 1] / (double)n);
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    int runs = 7, opt, f;

    while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
        switch (opt) {
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [-n packets] [-r runs (1..%d)]\n", argv[0], MAX_RUNS);
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
    if (dp_flowtab_init(&ft, 1024, 0x243f6a8885a308d3ull) != 0) {
        fprintf(stderr, "bench: flow table init failed\n");
        return 1;
    }
    for (f = 0; f < NFLOWS; f++) {
        struct dp_tx_tuple t = flow_tuple(f);

        flow_objs[f] = f + 1;
        if (dp_flowtab_insert(&ft, t.src_ip, t.src_port, t.dst_port, &flow_objs[f]) != 0) {
            fprintf(stderr, "bench: flow insert failed\n");
            return 1;
        }
    }

    printf("bench_dp_pkt: %llu packets x %d runs per case, %d flows, cycles/packet (TSC)\n",
           (unsigned long long)n, runs, NFLOWS);
    printf("%-44s %5s  %8s  %8s  %8s\n", "case", "plen", "median", "min", "max");
    bench("RX classify+demux, NIC-verified checksums", RX, 1200,
          RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, n, runs);
    bench("RX classify+demux, NIC-verified checksums", RX, 64,
          RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, n, runs);
    bench("RX classify+demux, software checksums", RX, 64, 0, n, runs);
    bench("RX classify+demux, software checksums", RX, 1200, 0, n, runs);
    bench("TX build, software checksums", TX, 1200, 0, n, runs);
    bench("TX build, IP+UDP checksum offload", TX, 1200,
          DP_TX_OFFLOAD_IP_CKSUM | DP_TX_OFFLOAD_UDP_CKSUM, n, runs);
    printf("(sink %llu)\n", (unsigned long long)(sink & 1));

    dp_flowtab_free(&ft);
    free(frames);
    return 0;
}
