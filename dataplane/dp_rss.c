/* dp_rss.c: Toeplitz RSS model (rte_softrss_be over the NIC's key) and port selection. */
#include <errno.h>
#include <string.h>

#include <rte_thash.h>

#include "dp_rss.h"

int dp_rss_init(struct dp_rss *r, const uint8_t *key, uint8_t key_len, const uint16_t *reta,
                uint16_t reta_size, uint16_t nb_queues, enum dp_rss_mode mode4,
                enum dp_rss_mode mode6)
{
    uint32_t raw[DP_RSS_KEY_MAX / 4];
    uint16_t i;

    if (r == NULL || key == NULL || reta == NULL || nb_queues == 0 || key_len < DP_RSS_KEY_MIN ||
        key_len > DP_RSS_KEY_MAX || key_len % 4 != 0 || reta_size == 0 ||
        reta_size > DP_RSS_RETA_MAX || (reta_size & (reta_size - 1)) != 0 ||
        mode4 > DP_RSS_TOEPLITZ_L3 || mode6 > DP_RSS_TOEPLITZ_L3 ||
        (mode6 != DP_RSS_NONE && key_len < DP_RSS_KEY_MIN6))
        return -EINVAL;
    for (i = 0; i < reta_size; i++)
        if (reta[i] >= nb_queues)
            return -EINVAL;

    memset(r, 0, sizeof(*r));
    r->mode = mode4;
    r->mode6 = mode6;
    r->nb_queues = nb_queues;
    r->reta_size = reta_size;
    /* The key is a byte string; rte_softrss_be() wants it as host-order 32-bit words.
     * Copy first: |key| need not be 4-byte aligned. */
    memcpy(raw, key, key_len);
    rte_convert_rss_key(raw, r->key_be, key_len);
    memcpy(r->reta, reta, reta_size * sizeof(reta[0]));
    return 0;
}

int dp_rss_init_none(struct dp_rss *r, uint16_t nb_queues)
{
    if (r == NULL || nb_queues == 0)
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->mode = DP_RSS_NONE;
    r->mode6 = DP_RSS_NONE;
    r->nb_queues = nb_queues;
    return 0;
}

static enum dp_rss_mode rss_mode(const struct dp_rss *r, const struct dp_addr *a)
{
    return dp_addr_is_v4(a) ? r->mode : r->mode6;
}

uint32_t dp_rss_hash(const struct dp_rss *r, const struct dp_addr *src, const struct dp_addr *dst,
                     rte_be16_t src_port, rte_be16_t dst_port)
{
    /* Toeplitz input order (Microsoft RSS specification): source address, destination
     * address, source port, destination port, each most significant byte first, taken by
     * rte_softrss_be() as host-order 32-bit words. */
    uint32_t in[RTE_THASH_V6_L4_LEN];
    enum dp_rss_mode mode = rss_mode(r, src);
    uint32_t n = 0;

    if (mode == DP_RSS_NONE)
        return 0;
    if (dp_addr_is_v4(src)) {
        in[n++] = rte_be_to_cpu_32(dp_addr_get_v4(src));
        in[n++] = rte_be_to_cpu_32(dp_addr_get_v4(dst));
    } else {
        for (int i = 0; i < 4; i++)
            in[n++] = rte_be_to_cpu_32(src->w32[i]);
        for (int i = 0; i < 4; i++)
            in[n++] = rte_be_to_cpu_32(dst->w32[i]);
    }
    if (mode == DP_RSS_TOEPLITZ_L4)
        in[n++] = (uint32_t)rte_be_to_cpu_16(src_port) << 16 | rte_be_to_cpu_16(dst_port);
    return rte_softrss_be(in, n, (const uint8_t *)r->key_be);
}

uint16_t dp_rss_queue(const struct dp_rss *r, const struct dp_addr *src, const struct dp_addr *dst,
                      rte_be16_t src_port, rte_be16_t dst_port)
{
    if (rss_mode(r, src) == DP_RSS_NONE)
        return 0;
    /* NICs index the RETA with the hash's least significant bits. */
    return r->reta[dp_rss_hash(r, src, dst, src_port, dst_port) & (r->reta_size - 1u)];
}

int dp_rss_pick_port(const struct dp_rss *r, const struct dp_addr *remote,
                     const struct dp_addr *local, uint16_t remote_port, uint16_t want_queue,
                     uint16_t lo, uint16_t hi, uint32_t seed, uint16_t *out_port,
                     bool (*in_use)(void *arg, uint16_t port), void *arg)
{
    uint32_t range, i, start;
    rte_be16_t rport = rte_cpu_to_be_16(remote_port);
    enum dp_rss_mode mode;

    if (r == NULL || remote == NULL || local == NULL || out_port == NULL || lo == 0 || lo > hi)
        return -EINVAL;
    mode = rss_mode(r, remote);
    if (mode != DP_RSS_NONE && want_queue >= r->nb_queues)
        return -EINVAL;
    range = (uint32_t)hi - lo + 1;
    start = seed % range;

    /* Without the ports in the hash the queue does not depend on our choice. */
    if (mode == DP_RSS_TOEPLITZ_L3 && dp_rss_queue(r, remote, local, rport, 0) != want_queue)
        return -EADDRNOTAVAIL;

    for (i = 0; i < range; i++) {
        uint16_t port = (uint16_t)(lo + (start + i) % range);

        if (in_use != NULL && in_use(arg, port))
            continue;
        /* RX direction: the NIC hashes what the remote sends us, so the remote is the
         * source and our port is the destination port. */
        if (mode == DP_RSS_TOEPLITZ_L4 &&
            dp_rss_queue(r, remote, local, rport, rte_cpu_to_be_16(port)) != want_queue)
            continue;
        *out_port = port;
        return 0;
    }
    return -EADDRNOTAVAIL;
}
