/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the RX classifier (dataplane/dp_classify.c): any frame of any
 * length, with any of the RX offload flag combinations a driver may set, is classified
 * without reading outside it, and what is accepted lies inside the frame.
 *
 * The input: byte 0 picks the offload flags (low 3 bits) and whether the interface has
 * IPv6 (bit 3 clear: it has), the rest is the frame, from the destination MAC. The
 * interface is otherwise fixed (fuzz_iface): the seeds (corpus/fuzz_dp_classify) are frames
 * to it, IPv4 and IPv6, and the fuzzer walks from them into every EtherType, extension
 * header and ICMPv6 message the classifier knows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf_core.h>

#include "dp_classify.h"
#include "dp_ipv6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzzed interface: 02:00:00:00:00:02, 198.18.0.2 and, with |ip6|, fd00::2 and the
 * link-local address of the MAC (the seeds' destinations). */
static void fuzz_iface(struct dp_iface *ifc, bool ip6)
{
    static const uint8_t mac[RTE_ETHER_ADDR_LEN] = {0x02, 0, 0, 0, 0, 0x02};
    static const uint8_t ip[4] = {198, 18, 0, 2};
    static const uint8_t ip6_global[DP_ADDR_LEN] = {0xfd, [15] = 0x02};

    memset(ifc, 0, sizeof(*ifc));
    memcpy(ifc->mac.addr_bytes, mac, sizeof(mac));
    memcpy(&ifc->ip, ip, sizeof(ip));
    ifc->ip6_on = ip6;
    if (ip6) {
        ifc->ip6 = dp_addr_v6(ip6_global);
        ifc->ip6_ll = dp_ipv6_link_local(&ifc->mac);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t flags[8] = {
        0,
        RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
        RTE_MBUF_F_RX_IP_CKSUM_BAD,
        RTE_MBUF_F_RX_L4_CKSUM_BAD | RTE_MBUF_F_RX_IP_CKSUM_GOOD,
        RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
        RTE_MBUF_F_RX_IP_CKSUM_GOOD,
        RTE_MBUF_F_RX_L4_CKSUM_GOOD,
        RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN,
    };
    struct dp_iface ifc;
    struct dp_pkt_info out;
    enum dp_drop why = DP_DROP__MAX;
    enum dp_class k;
    uint8_t *frame;
    uint16_t len;

    if (size < 1 || size - 1 > UINT16_MAX)
        return 0;
    len = (uint16_t)(size - 1);
    /* A copy of exactly |len| bytes, 2-byte aligned as the contract asks: ASan sees any
     * read past its end. */
    frame = malloc(len ? len : 1);
    if (!frame)
        return 0;
    memcpy(frame, data + 1, len);
    fuzz_iface(&ifc, !(data[0] & 8));
    k = dp_classify(&ifc, frame, len, flags[data[0] & 7], &out, &why);
    if (k == DP_PKT_DROP) {
        if ((unsigned)why >= DP_DROP__MAX)
            abort(); /* a drop always says why */
    } else if ((size_t)out.payload_off + out.payload_len > len || out.l3_off > len ||
               out.l4_off > len) {
        abort(); /* what is accepted lies inside the frame */
    }
    free(frame);
    return 0;
}
