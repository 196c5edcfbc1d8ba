/* dp_rss.h: software model of the NIC's receive-side scaling, for flow placement.
 *
 * The NIC computes a Toeplitz hash over the headers of every packet it RECEIVES and sends
 * the packet to queue reta[hash & (reta_size - 1)]. For our flows the received packets go
 * remote -> us, so the hash input is (src = remote ip, dst = local ip, src port = remote
 * port, dst port = local port): 12 bytes for IPv4, 36 for IPv6 (the Microsoft RSS
 * specification's input orders). Choosing the local port changes the hash:
 * dp_rss_pick_port() searches for a port whose replies land on the queue of the lcore
 * that owns the flow. Each family has its own mode: a NIC may hash IPv4 UDP by ports and
 * IPv6 only by addresses, or not hash IPv6 at all (it then lands on queue 0, and the
 * runtime steers it in software as it does without RSS).
 *
 * Devices without RSS (TAP, af_packet) use DP_RSS_NONE: every packet arrives on queue 0,
 * any free port will do and the runtime steers packets to their lcore in software.
 *
 * Pure computation over a copy of the key and RETA: no EAL needed. Read-only after init,
 * so any lcore may use a shared struct dp_rss.
 */
#ifndef DP_RSS_H
#define DP_RSS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "dp_addr.h"

#define DP_RSS_KEY_MAX  52  /* longest key in DPDK drivers (i40e/ice); 40 is the usual */
#define DP_RSS_KEY_MIN  16  /* the IPv4 4-tuple (12 bytes) needs 12 + 4 bytes of key */
#define DP_RSS_KEY_MIN6 40  /* the IPv6 4-tuple (36 bytes) needs 36 + 4 */
#define DP_RSS_RETA_MAX 512 /* RTE_ETH_RSS_RETA_SIZE_512 */

enum dp_rss_mode {
    DP_RSS_NONE = 0,    /* no hardware RSS (for this family): queue 0, software steering */
    DP_RSS_TOEPLITZ_L4, /* Toeplitz over src ip, dst ip, src port, dst port (UDP) */
    DP_RSS_TOEPLITZ_L3, /* Toeplitz over src ip, dst ip only (NIC hashes UDP as IP) */
};

struct dp_rss {
    enum dp_rss_mode mode;  /* IPv4 */
    enum dp_rss_mode mode6; /* IPv6 */
    uint16_t nb_queues;
    uint16_t reta_size;                  /* power of two, <= DP_RSS_RETA_MAX */
    uint32_t key_be[DP_RSS_KEY_MAX / 4]; /* key converted for rte_softrss_be() */
    uint16_t reta[DP_RSS_RETA_MAX];
};

/* Sets up |r| for a NIC using Toeplitz with |key| (|key_len| bytes, a multiple of 4,
 * DP_RSS_KEY_MIN..DP_RSS_KEY_MAX, as given to/read from rte_eth_dev_rss_hash_conf_get)
 * and the redirection table |reta| of |reta_size| entries (power of two, each < nb_queues).
 * |mode4| / |mode6|: how the NIC hashes IPv4 / IPv6 UDP (RTE_ETH_RSS_NONFRAG_IPV4_UDP:
 * L4; only IPs: L3; not at all: NONE). An IPv6 mode needs a key of DP_RSS_KEY_MIN6 bytes.
 * Returns 0 or -EINVAL. */
int dp_rss_init(struct dp_rss *r, const uint8_t *key, uint8_t key_len, const uint16_t *reta,
                uint16_t reta_size, uint16_t nb_queues, enum dp_rss_mode mode4,
                enum dp_rss_mode mode6);

/* Sets up |r| for a device without RSS (DP_RSS_NONE). Returns 0 or -EINVAL (no queue). */
int dp_rss_init_none(struct dp_rss *r, uint16_t nb_queues);

/* Returns the Toeplitz hash of the packet (src, dst, src_port, dst_port) (ports in network
 * order; both addresses of one family) as the NIC computes it: over the 12-byte IPv4 or
 * 36-byte IPv6 input in the family's L4 mode, without the ports in L3 mode. 0 when the
 * family's mode is DP_RSS_NONE. */
uint32_t dp_rss_hash(const struct dp_rss *r, const struct dp_addr *src, const struct dp_addr *dst,
                     rte_be16_t src_port, rte_be16_t dst_port);

/* Returns the RX queue the NIC would deliver that packet to (0 when the family's mode is
 * DP_RSS_NONE). */
uint16_t dp_rss_queue(const struct dp_rss *r, const struct dp_addr *src, const struct dp_addr *dst,
                      rte_be16_t src_port, rte_be16_t dst_port);

/* Chooses a local UDP port in [|lo|, |hi|] (host order, 1 <= lo <= hi) for a flow to
 * |remote|:|remote_port| from |local| (same family) such that the packets the remote sends
 * back are delivered by RSS to |want_queue|, and |in_use|(|arg|, port) is false. The
 * search starts at lo + |seed| % (hi - lo + 1) and wraps, so a random seed gives RFC
 * 6056-style unpredictable ports. When the family's mode is DP_RSS_NONE any free port is
 * accepted and |want_queue| is ignored. |in_use| may be NULL (all free). Writes the port
 * (host order) to |*out_port|. Returns 0, -EINVAL (bad range; want_queue >= nb_queues with
 * RSS), or -EADDRNOTAVAIL when no port in the range is free and lands on |want_queue|. */
int dp_rss_pick_port(const struct dp_rss *r, const struct dp_addr *remote,
                     const struct dp_addr *local, uint16_t remote_port, uint16_t want_queue,
                     uint16_t lo, uint16_t hi, uint32_t seed, uint16_t *out_port,
                     bool (*in_use)(void *arg, uint16_t port), void *arg);

#endif /* DP_RSS_H */
