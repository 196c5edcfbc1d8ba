/* dp_ipv6.c: IPv6 header walk and address derivations (see dp_ipv6.h). */
#include "dp_ipv6.h"

/* Walks the options of a Hop-by-Hop or Destination Options header (|p|, |len| bytes, its
 * first two bytes being Next Header and Hdr Ext Len). Returns 0 when every option may be
 * skipped (RFC 8200 4.2: Pad1, and any option whose two high-order type bits are 00), -1 when
 * one asks us to act (discard, or discard and answer: what we do not implement) or runs
 * past the header. */
static int ipv6_opts_skippable(const uint8_t *p, uint16_t len)
{
    uint16_t i = 2;

    while (i < len) {
        uint8_t type = p[i];

        if (type == DP_IPV6_OPT_PAD1) {
            i++;
            continue;
        }
        if (i + 2u > len || i + 2u + p[i + 1] > len)
            return -1;
        if (DP_IPV6_OPT_ACTION(type) != 0)
            return -1;
        i = (uint16_t)(i + 2u + p[i + 1]);
    }
    return 0;
}

int dp_ipv6_check(const struct rte_ipv6_hdr *ip, uint16_t avail, struct dp_ipv6_l4 *l4,
                  enum dp_drop *why)
{
    const uint8_t *base = (const uint8_t *)ip;
    uint16_t plen, off, end;
    uint8_t nh;
    unsigned n;

    if (avail < DP_IPV6_HDR_LEN) {
        *why = DP_DROP_TRUNCATED;
        return -1;
    }
    if ((base[0] >> 4) != DP_IPV6_VERSION) {
        *why = DP_DROP_IP_VERSION;
        return -1;
    }
    plen = rte_be_to_cpu_16(ip->payload_len);
    if (plen == 0) {
        *why = DP_DROP_IP_LEN;
        return -1;
    }
    if (plen > avail - DP_IPV6_HDR_LEN) {
        *why = DP_DROP_TRUNCATED;
        return -1;
    }
    if (ip->hop_limits == 0) {
        *why = DP_DROP_TTL_ZERO;
        return -1;
    }
    if (!dp_ipv6_is_unspecified(ip->src_addr)) {
        struct dp_addr src = dp_addr_v6(ip->src_addr);

        if (!dp_addr_is_unicast(&src) || dp_addr_is_v4(&src)) {
            *why = DP_DROP_SRC_ADDR;
            return -1;
        }
    }

    nh = ip->proto;
    off = DP_IPV6_HDR_LEN;
    end = (uint16_t)(DP_IPV6_HDR_LEN + plen);
    for (n = 0;; n++) {
        const uint8_t *h = base + off;
        uint16_t hlen;

        switch (nh) {
        case DP_IPPROTO_HOPOPTS:
        case DP_IPPROTO_DSTOPTS:
        case DP_IPPROTO_ROUTING:
            break;
        case DP_IPPROTO_FRAGMENT:
            *why = DP_DROP_IP_FRAGMENT;
            return -1;
        case DP_IPPROTO_ESP:
        case DP_IPPROTO_AH:
        case DP_IPPROTO_NONE:
            *why = DP_DROP_PROTO;
            return -1;
        case DP_IPPROTO_MOBILITY:
        case DP_IPPROTO_HIP:
        case DP_IPPROTO_SHIM6:
        case DP_IPPROTO_EXP1:
        case DP_IPPROTO_EXP2:
            *why = DP_DROP_IP6_EXTHDR;
            return -1;
        default:
            l4->off = off;
            l4->len = (uint16_t)(end - off);
            l4->proto = nh;
            return 0;
        }
        if (n == DP_IPV6_MAX_EXT || (nh == DP_IPPROTO_HOPOPTS && off != DP_IPV6_HDR_LEN)) {
            *why = DP_DROP_IP6_EXTHDR;
            return -1;
        }
        /* Next Header and Hdr Ext Len, then a length in 8-octet units past the first. */
        if (end - off < DP_IPV6_EXT_UNIT) {
            *why = DP_DROP_TRUNCATED;
            return -1;
        }
        hlen = (uint16_t)((h[1] + 1u) * DP_IPV6_EXT_UNIT);
        if (hlen > end - off) {
            *why = DP_DROP_TRUNCATED;
            return -1;
        }
        if (nh == DP_IPPROTO_ROUTING ? h[3] != 0 : ipv6_opts_skippable(h, hlen) != 0) {
            /* Routing: Segments Left (byte 3) not 0 means we are asked to forward. */
            *why = DP_DROP_IP6_EXTHDR;
            return -1;
        }
        nh = h[0];
        off = (uint16_t)(off + hlen);
    }
}

struct dp_addr dp_ipv6_solicited_node(const struct dp_addr *a)
{
    struct dp_addr g = {.b = {0xff, 0x02, [11] = 0x01, [12] = 0xff}};

    g.b[13] = a->b[13];
    g.b[14] = a->b[14];
    g.b[15] = a->b[15];
    return g;
}

void dp_ipv6_mcast_mac(const struct dp_addr *group, struct rte_ether_addr *mac)
{
    mac->addr_bytes[0] = 0x33;
    mac->addr_bytes[1] = 0x33;
    memcpy(&mac->addr_bytes[2], &group->b[12], 4);
}

struct dp_addr dp_ipv6_link_local(const struct rte_ether_addr *mac)
{
    struct dp_addr ll = {.b = {0xfe, 0x80}};
    const uint8_t *m = mac->addr_bytes;

    ll.b[8] = m[0] ^ 0x02; /* the universal/local bit, inverted (RFC 4291 appendix A) */
    ll.b[9] = m[1];
    ll.b[10] = m[2];
    ll.b[11] = 0xff;
    ll.b[12] = 0xfe;
    ll.b[13] = m[3];
    ll.b[14] = m[4];
    ll.b[15] = m[5];
    return ll;
}

bool dp_ipv6_same_prefix(const struct dp_addr *a, const struct dp_addr *b, uint8_t prefix_len)
{
    unsigned full = prefix_len / 8, rest = prefix_len % 8;

    if (prefix_len > 128)
        return false;
    if (memcmp(a->b, b->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a->b[full] ^ b->b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

struct dp_addr dp_ipv6_next_hop(const struct dp_addr *dst, const struct dp_addr *ours,
                                uint8_t prefix_len, const struct dp_addr *gateway)
{
    if (dp_ipv6_is_link_local(dst->b) || dp_ipv6_same_prefix(dst, ours, prefix_len))
        return *dst;
    return *gateway;
}
