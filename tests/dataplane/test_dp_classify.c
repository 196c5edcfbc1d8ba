/* test_dp_classify.c: dp_classify() accepts valid ARP/ICMP/UDP frames and drops every
 * malformed or misaddressed one with the right reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf_core.h>

#include "dp_classify.h"
#include "dp_ipv6.h"
#include "dp_nd.h"
#include "dp_stats.h"
#include "dp_test_frames.h"

#define OUR_IP  0xc6120002u /* 198.18.0.2 */
#define PEER_IP 0xc6120001u /* 198.18.0.1 */

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6];

static struct dp_iface ifc;
static _Alignas(64) uint8_t buf[TF_BUF_LEN];

static int setup(void **state)
{
    (void)state;
    memcpy(ifc.mac.addr_bytes, our_mac, 6);
    ifc.ip = rte_cpu_to_be_32(OUR_IP);
    ifc.ip6_on = true;
    assert_int_equal(dp_addr_parse("fd00::2", &ifc.ip6), 0);
    ifc.ip6_ll = dp_ipv6_link_local(&ifc.mac);
    return 0;
}

static struct tf_addrs to_us(void)
{
    struct tf_addrs a;

    memcpy(a.src_mac, peer_mac, 6);
    memcpy(a.dst_mac, our_mac, 6);
    a.src_ip = PEER_IP;
    a.dst_ip = OUR_IP;
    return a;
}

/* Classifies a heap copy of exactly |len| bytes, so ASan/valgrind catch any over-read. */
static enum dp_class run(const uint8_t *frame, size_t len, uint64_t ol, struct dp_pkt_info *info,
                         enum dp_drop *why)
{
    uint8_t *copy = malloc(len ? len : 1);
    enum dp_class c;

    assert_non_null(copy);
    memcpy(copy, frame, len);
    c = dp_classify(&ifc, copy, (uint16_t)len, ol, info, why);
    free(copy);
    return c;
}

static void expect_drop(const uint8_t *frame, size_t len, uint64_t ol, enum dp_drop want)
{
    struct dp_pkt_info info;
    enum dp_drop why = DP_DROP__MAX;

    assert_int_equal(run(frame, len, ol, &info, &why), DP_PKT_DROP);
    assert_string_equal(dp_drop_name(why), dp_drop_name(want));
    assert_int_equal(why, want);
}

static size_t udp_frame(uint16_t plen)
{
    struct tf_addrs a = to_us();
    uint8_t payload[1500];
    uint16_t i;

    for (i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i ^ 0x5a);
    return tf_udp(buf, &a, 4433, 50000, payload, plen);
}

static void test_udp_valid(void **state)
{
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len = udp_frame(100);

    (void)state;
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.l3_off, 14);
    assert_int_equal(info.l4_off, 34);
    assert_int_equal(info.payload_off, 42);
    assert_int_equal(info.payload_len, 100);
    assert_true(dp_addr_is_v4(&info.src) && dp_addr_is_v4(&info.dst));
    assert_int_equal(info.ip_version, 4);
    assert_int_equal(rte_be_to_cpu_32(dp_addr_get_v4(&info.src)), PEER_IP);
    assert_int_equal(rte_be_to_cpu_32(dp_addr_get_v4(&info.dst)), OUR_IP);
    assert_int_equal(rte_be_to_cpu_16(info.src_port), 4433);
    assert_int_equal(rte_be_to_cpu_16(info.dst_port), 50000);
    assert_int_equal(buf[info.payload_off + 7], 7 ^ 0x5a);
}

static void test_udp_zero_cksum_and_padding(void **state)
{
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len = udp_frame(3);

    (void)state;
    /* RFC 768 over IPv4: checksum 0 = none, accepted. */
    tf_put16(buf + 40, 0);
    /* Short frame padded to the Ethernet minimum with junk: not part of the payload. */
    memset(buf + len, 0xee, 60 - len);
    assert_int_equal(run(buf, 60, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.payload_len, 3);
    /* Zero-length payload. */
    len = udp_frame(0);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.payload_len, 0);
    assert_int_equal(info.payload_off, 42);
}

static void test_icmp_valid(void **state)
{
    struct tf_addrs a = to_us();
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len = tf_icmp_echo(buf, &a, 77, 3, 56);

    (void)state;
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ICMP_ECHO);
    assert_int_equal(info.payload_off, 34);
    assert_int_equal(info.payload_len, 64);
    /* Odd-length data exercises the checksum's trailing byte. */
    len = tf_icmp_echo(buf, &a, 77, 4, 13);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ICMP_ECHO);
}

static void test_arp_valid(void **state)
{
    struct tf_addrs a = to_us();
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len;

    (void)state;
    memcpy(a.dst_mac, bcast, 6);
    len = tf_arp(buf, &a, 1, zero_mac);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(info.l3_off, 14);
    assert_int_equal(rte_be_to_cpu_32(dp_addr_get_v4(&info.src)), PEER_IP);
    assert_int_equal(rte_be_to_cpu_32(dp_addr_get_v4(&info.dst)), OUR_IP);
    /* Unicast reply to our MAC. */
    memcpy(a.dst_mac, our_mac, 6);
    len = tf_arp(buf, &a, 2, our_mac);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ARP);
    /* RFC 5227 probe: sender IP 0 is legal. */
    memcpy(a.dst_mac, bcast, 6);
    a.src_ip = 0;
    len = tf_arp(buf, &a, 1, zero_mac);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(dp_addr_get_v4(&info.src), 0);
}

static void test_drop_l2(void **state)
{
    struct tf_addrs a = to_us();
    size_t len = udp_frame(20);
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x99};
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

    (void)state;
    expect_drop(buf, 0, 0, DP_DROP_TRUNCATED);
    expect_drop(buf, 13, 0, DP_DROP_TRUNCATED);
    expect_drop(buf, 14 + 19, 0, DP_DROP_TRUNCATED); /* IPv4 header cut */
    expect_drop(buf, len - 1, 0, DP_DROP_TRUNCATED); /* shorter than Total Length */

    tf_put16(buf + 12, 0x86dd); /* IPv6 EtherType, IPv4 bytes: version 4 */
    expect_drop(buf, len, 0, DP_DROP_IP_VERSION);
    ifc.ip6_on = false; /* without an IPv6 address IPv6 is an unknown EtherType */
    expect_drop(buf, len, 0, DP_DROP_ETHERTYPE);
    ifc.ip6_on = true;
    tf_put16(buf + 12, 0x8100); /* 802.1Q tag */
    expect_drop(buf, len, 0, DP_DROP_ETHERTYPE);

    len = udp_frame(20);
    memcpy(buf, other, 6);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    memcpy(buf, bcast, 6); /* broadcast only for ARP */
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    memcpy(buf, mcast, 6);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);

    len = udp_frame(20);
    memcpy(buf + 6, mcast, 6);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);

    /* ARP to another unicast MAC, ARP from a multicast MAC. */
    memcpy(a.dst_mac, other, 6);
    len = tf_arp(buf, &a, 1, zero_mac);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    memcpy(a.dst_mac, bcast, 6);
    memcpy(a.src_mac, mcast, 6);
    len = tf_arp(buf, &a, 1, zero_mac);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);
}

static void test_drop_ipv4(void **state)
{
    size_t len;

    (void)state;
    len = udp_frame(20);
    buf[14] = 0x65; /* version 6 */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_IP_VERSION);

    len = udp_frame(20);
    buf[14] = 0x44; /* IHL 4 */
    expect_drop(buf, len, 0, DP_DROP_IP_HDRLEN);

    /* IHL 6: a 4-byte option (NOP x4) inserted, checksums right: still refused. */
    len = udp_frame(20);
    memmove(buf + 38, buf + 34, len - 34);
    memset(buf + 34, 1, 4);
    buf[14] = 0x46;
    tf_put16(buf + 16, (uint16_t)(tf_get16(buf + 16) + 4));
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len + 4, 0, DP_DROP_IP_OPTIONS);

    len = udp_frame(20);
    buf[24] ^= 0x01; /* corrupt the checksum */
    expect_drop(buf, len, 0, DP_DROP_IP_CKSUM);

    len = udp_frame(20);
    tf_put16(buf + 16, 19); /* Total Length < header */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_IP_LEN);

    len = udp_frame(20);
    tf_put16(buf + 20, 0x2000); /* MF */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_IP_FRAGMENT);
    tf_put16(buf + 20, 0x0001 | 0x4000); /* offset 8 bytes, DF */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_IP_FRAGMENT);

    len = udp_frame(20);
    buf[22] = 0; /* TTL */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_TTL_ZERO);

    len = udp_frame(20);
    tf_put32(buf + 26, 0); /* source 0.0.0.0 */
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);
    tf_put32(buf + 26, 0xe0000001); /* source 224.0.0.1 */
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);
    tf_put32(buf + 26, 0x7f000001); /* source 127.0.0.1: martian */
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);

    len = udp_frame(20);
    tf_put32(buf + 30, 0xc6120003); /* 198.18.0.3: not us */
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);
    tf_put32(buf + 30, 0xffffffff);
    tf_fix_ip(buf);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);

    len = udp_frame(20);
    buf[23] = 6; /* TCP */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_PROTO);
}

static void test_drop_udp(void **state)
{
    size_t len;

    (void)state;
    len = udp_frame(20);
    tf_put16(buf + 38, 27); /* UDP length != IP payload length */
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_UDP_LEN);
    tf_put16(buf + 38, 29);
    expect_drop(buf, len, 0, DP_DROP_UDP_LEN);

    /* IP payload shorter than a UDP header. */
    len = udp_frame(0);
    tf_put16(buf + 16, 20 + 4);
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_UDP_LEN);

    len = udp_frame(20);
    buf[45] ^= 0x80; /* payload byte: checksum now wrong */
    expect_drop(buf, len, 0, DP_DROP_UDP_CKSUM);

    len = udp_frame(20);
    tf_put16(buf + 34, 0);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_UDP_PORT);
    len = udp_frame(20);
    tf_put16(buf + 36, 0);
    tf_fix_udp(buf);
    expect_drop(buf, len, 0, DP_DROP_UDP_PORT);
}

static void test_drop_icmp(void **state)
{
    struct tf_addrs a = to_us();
    size_t len;

    (void)state;
    len = tf_icmp_echo(buf, &a, 1, 1, 8);
    tf_put16(buf + 16, 20 + 4); /* ICMP message of 4 bytes */
    tf_fix_ip(buf);
    expect_drop(buf, len, 0, DP_DROP_ICMP_LEN);

    len = tf_icmp_echo(buf, &a, 1, 1, 8);
    buf[len - 1] ^= 0xff;
    expect_drop(buf, len, 0, DP_DROP_ICMP_CKSUM);

    len = tf_icmp_echo(buf, &a, 1, 1, 8);
    buf[34] = 0; /* echo reply: we never ping, so not wanted */
    tf_fix_icmp(buf);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    buf[34] = 13; /* timestamp */
    tf_fix_icmp(buf);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    buf[34] = 8;
    buf[35] = 1; /* echo with code 1 */
    tf_fix_icmp(buf);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
}

static void test_drop_arp(void **state)
{
    struct tf_addrs a = to_us();
    size_t len;

    (void)state;
    memcpy(a.dst_mac, bcast, 6);
    len = tf_arp(buf, &a, 1, zero_mac);
    expect_drop(buf, len - 1, 0, DP_DROP_TRUNCATED);

    tf_put16(buf + 14, 6); /* htype IEEE 802 */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    len = tf_arp(buf, &a, 1, zero_mac);
    tf_put16(buf + 16, 0x86dd); /* ptype */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    len = tf_arp(buf, &a, 1, zero_mac);
    buf[18] = 8; /* hlen */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    len = tf_arp(buf, &a, 1, zero_mac);
    buf[19] = 16; /* plen */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    len = tf_arp(buf, &a, 3, zero_mac); /* RARP request */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    len = tf_arp(buf, &a, 1, zero_mac);
    buf[22] = 0x01; /* sender MAC multicast */
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);
    a.src_ip = 0xffffffff; /* sender IP broadcast */
    len = tf_arp(buf, &a, 1, zero_mac);
    expect_drop(buf, len, 0, DP_DROP_ARP_MALFORMED);

    a = to_us();
    memcpy(a.dst_mac, bcast, 6);
    a.dst_ip = 0xc6120009; /* who-has another host */
    len = tf_arp(buf, &a, 1, zero_mac);
    expect_drop(buf, len, 0, DP_DROP_ARP_NOT_US);
    len = tf_arp(buf, &a, 2, zero_mac); /* a reply to another host */
    expect_drop(buf, len, 0, DP_DROP_ARP_NOT_US);

    /* Gratuitous ARP (sender = target, RFC 5227): for the slow path, request or reply. */
    a.src_ip = a.dst_ip;
    for (int op = 1; op <= 2; op++) {
        struct dp_pkt_info info;
        enum dp_drop why;

        len = tf_arp(buf, &a, (uint16_t)op, zero_mac);
        assert_int_equal(dp_classify(&ifc, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ARP);
        assert_true(dp_addr_eq(&info.src, &info.dst));
    }
}

static void test_offload_flags(void **state)
{
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len;

    (void)state;
    /* The NIC vouches for the checksums: software checks skipped. */
    len = udp_frame(20);
    buf[24] ^= 0x01;
    buf[45] ^= 0x80;
    assert_int_equal(
        run(buf, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, &info, &why),
        DP_PKT_UDP);
    assert_int_equal(
        run(buf, len, RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE, &info, &why),
        DP_PKT_UDP);
    /* GOOD for IP only: the bad UDP checksum is still caught in software. */
    expect_drop(buf, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD, DP_DROP_UDP_CKSUM);

    /* The NIC says bad: dropped even though the bytes are right. */
    len = udp_frame(20);
    expect_drop(buf, len, RTE_MBUF_F_RX_IP_CKSUM_BAD, DP_DROP_IP_CKSUM);
    expect_drop(buf, len, RTE_MBUF_F_RX_L4_CKSUM_BAD, DP_DROP_UDP_CKSUM);
    expect_drop(buf, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD,
                DP_DROP_UDP_CKSUM);
}

/* ---------------------------------------------------------------- IPv6 */

static const uint8_t peer6[16] = {0xfd, [15] = 0x01};  /* fd00::1 */
static const uint8_t our6[16] = {0xfd, [15] = 0x02};   /* fd00::2 (ifc.ip6) */
static const uint8_t other6[16] = {0xfd, [15] = 0x03}; /* fd00::3 */
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
static const uint8_t our_group[16] = {0xff, 0x02, [11] = 0x01, 0xff, 0x00, 0x00, 0x02};
static const uint8_t group_mac[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x02};
static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
static const uint8_t peer_ll[16] = {0xfe, 0x80, [15] = 0x01}; /* fe80::1 */

static struct tf_addrs6 to_us6(void)
{
    struct tf_addrs6 a;

    memset(&a, 0, sizeof(a));
    memcpy(a.src_mac, peer_mac, 6);
    memcpy(a.dst_mac, our_mac, 6);
    memcpy(a.src_ip, peer6, 16);
    memcpy(a.dst_ip, our6, 16);
    return a;
}

static size_t udp6_frame(uint16_t plen)
{
    struct tf_addrs6 a = to_us6();
    uint8_t payload[1500];
    uint16_t i;

    for (i = 0; i < plen; i++)
        payload[i] = (uint8_t)(i ^ 0xa5);
    return tf6_udp(buf, &a, 4433, 50000, payload, plen);
}

/* ND messages (RFC 4861 4.3-4.4, 4.2): into |m|, returning the length. */
static uint16_t ns_msg(uint8_t *m, const uint8_t *target, const uint8_t *sllao)
{
    memset(m, 0, 32);
    m[0] = DP_ND_NEIGHBOR_SOLICIT;
    memcpy(m + 8, target, 16);
    if (sllao == NULL)
        return 24;
    m[24] = DP_ND_OPT_SRC_LLADDR;
    m[25] = 1;
    memcpy(m + 26, sllao, 6);
    return 32;
}

static uint16_t na_msg(uint8_t *m, const uint8_t *target, uint32_t flags, const uint8_t *tllao)
{
    memset(m, 0, 32);
    m[0] = DP_ND_NEIGHBOR_ADVERT;
    tf_put32(m + 4, flags);
    memcpy(m + 8, target, 16);
    if (tllao == NULL)
        return 24;
    m[24] = DP_ND_OPT_TGT_LLADDR;
    m[25] = 1;
    memcpy(m + 26, tllao, 6);
    return 32;
}

static uint16_t ra_msg(uint8_t *m, uint16_t lifetime, const uint8_t *sllao, uint32_t mtu)
{
    uint16_t len = 16;

    memset(m, 0, 40);
    m[0] = DP_ND_ROUTER_ADVERT;
    m[4] = 64;
    tf_put16(m + 6, lifetime);
    if (mtu != 0) {
        m[len] = DP_ND_OPT_MTU;
        m[len + 1] = 1;
        tf_put32(m + len + 4, mtu);
        len += 8;
    }
    if (sllao != NULL) {
        m[len] = DP_ND_OPT_SRC_LLADDR;
        m[len + 1] = 1;
        memcpy(m + len + 2, sllao, 6);
        len += 8;
    }
    return len;
}

/* A Packet Too Big quoting the first |qlen| bytes of a UDP datagram fd00::2:50000 ->
 * fd00::1:4433 (as we would have sent it). */
static uint16_t ptb_msg(uint8_t *m, uint32_t mtu, uint16_t qlen)
{
    static _Alignas(8) uint8_t dgram[TF_BUF_LEN];
    struct tf_addrs6 a = to_us6();
    size_t dl;

    memcpy(a.src_ip, our6, 16);
    memcpy(a.dst_ip, peer6, 16);
    dl = tf6_udp(dgram, &a, 50000, 4433, NULL, 1400);
    memset(m, 0, 8);
    m[0] = DP_ICMP6_PKT_TOO_BIG;
    tf_put32(m + 4, mtu);
    if (qlen > dl - 14)
        qlen = (uint16_t)(dl - 14);
    memcpy(m + 8, dgram + 14, qlen);
    return (uint16_t)(8 + qlen);
}

/* An ICMPv6 frame |msg| from |src| to |dst| (MAC |dmac|), Hop Limit |hops|. */
static size_t icmp6_frame(const uint8_t *src, const uint8_t *dst, const uint8_t *dmac, uint8_t hops,
                          const uint8_t *msg, uint16_t len)
{
    struct tf_addrs6 a = to_us6();

    memcpy(a.src_ip, src, 16);
    memcpy(a.dst_ip, dst, 16);
    memcpy(a.dst_mac, dmac, 6);
    a.hops = hops;
    return tf6_icmp(buf, &a, msg, len);
}

static void test_udp6_valid(void **state)
{
    static const uint8_t padn[8] = {0, 0, 1, 4, 0, 0, 0, 0};            /* PadN, 4 bytes */
    static const uint8_t ralert[8] = {0, 0, 5, 2, 0, 0, 1, 0};          /* Router Alert, Pad1 x2 */
    static const uint8_t unknown_skip[8] = {0, 0, 0x1e, 4, 1, 2, 3, 4}; /* type 00xxxxxx */
    static const uint8_t routing_done[8] = {0, 0, 4, 0, 0, 0, 0, 0};    /* Segments Left 0 */
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len = udp6_frame(100);

    (void)state;
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.ip_version, 6);
    assert_int_equal(info.l3_off, 14);
    assert_int_equal(info.l4_off, 54);
    assert_int_equal(info.payload_off, 62);
    assert_int_equal(info.payload_len, 100);
    assert_false(dp_addr_is_v4(&info.src));
    assert_memory_equal(info.src.b, peer6, 16);
    assert_memory_equal(info.dst.b, our6, 16);
    assert_int_equal(rte_be_to_cpu_16(info.src_port), 4433);
    assert_int_equal(rte_be_to_cpu_16(info.dst_port), 50000);
    assert_int_equal(buf[info.payload_off + 9], 9 ^ 0xa5);

    /* To our link-local address, from a link-local peer. */
    {
        struct tf_addrs6 a = to_us6();

        memcpy(a.src_ip, peer_ll, 16);
        memcpy(a.dst_ip, ifc.ip6_ll.b, 16);
        len = tf6_udp(buf, &a, 4433, 50001, NULL, 0);
        assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP);
        assert_true(dp_addr_eq(&info.dst, &ifc.ip6_ll));
        assert_int_equal(info.payload_len, 0);
    }

    /* Extension headers a client can meet are walked past: Hop-by-Hop (PadN, Router Alert,
     * an unknown option that says skip), Destination Options, a Routing header done. */
    len = udp6_frame(33);
    len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, padn, 8);
    len = tf6_insert_ext(buf, len, DP_IPPROTO_ROUTING, routing_done, 8);
    len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, unknown_skip, 8);
    len = tf6_insert_ext(buf, len, DP_IPPROTO_HOPOPTS, ralert, 8);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.l4_off, 54 + 32);
    assert_int_equal(info.payload_off, 62 + 32);
    assert_int_equal(info.payload_len, 33);
    assert_int_equal(buf[info.payload_off + 5], 5 ^ 0xa5);

    /* Ethernet padding after a short datagram is not payload. */
    len = udp6_frame(1);
    memset(buf + len, 0xee, 80 - len);
    assert_int_equal(run(buf, 80, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.payload_len, 1);
}

static void test_drop_ipv6(void **state)
{
    static const uint8_t ext[8] = {0, 0, 1, 4, 0, 0, 0, 0};
    static const uint8_t frag[8] = {0, 0, 0, 1, 0, 0, 0, 1};       /* offset 0, M set */
    static const uint8_t routing_on[8] = {0, 0, 4, 1, 0, 0, 0, 0}; /* Segments Left 1 */
    static const uint8_t discard[8] = {0, 0, 0x41, 2, 0, 0, 1, 0}; /* action 01: discard */
    static const uint8_t jumbo[8] = {0, 0, 0xc2, 4, 0, 1, 0, 0};   /* Jumbo Payload */
    static const uint8_t overrun[8] = {0, 0, 1, 9, 0, 0, 0, 0};    /* PadN past the end */
    static const uint8_t bad_src[][16] = {
        {0xff, 0x02, [15] = 1},             /* multicast */
        {[15] = 1},                         /* ::1 */
        {[10] = 0xff, 0xff, 198, 18, 0, 1}, /* ::ffff:198.18.0.1 */
        {[12] = 198, 18, 0, 1},             /* ::198.18.0.1 */
        {0},                                /* :: (UDP) */
    };
    static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
    struct tf_addrs6 a = to_us6();
    size_t len, i;

    (void)state;
    len = udp6_frame(20);
    expect_drop(buf, 14 + 39, 0, DP_DROP_TRUNCATED);
    expect_drop(buf, len - 1, 0, DP_DROP_TRUNCATED); /* Payload Length beyond the frame */
    tf_put16(buf + 18, 0);
    expect_drop(buf, len, 0, DP_DROP_IP_LEN); /* Payload Length 0: a jumbogram */
    len = udp6_frame(20);
    buf[14] = 0x40;
    expect_drop(buf, len, 0, DP_DROP_IP_VERSION);
    len = udp6_frame(20);
    buf[21] = 0;
    expect_drop(buf, len, 0, DP_DROP_TTL_ZERO);
    for (i = 0; i < sizeof(bad_src) / sizeof(bad_src[0]); i++) {
        memcpy(a.src_ip, bad_src[i], 16);
        len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
        expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);
    }
    a = to_us6();
    memcpy(a.dst_ip, other6, 16);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);
    /* UDP to a group of ours (with its MAC): not for UDP. */
    memcpy(a.dst_ip, all_nodes, 16);
    memcpy(a.dst_mac, all_nodes_mac, 6);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);
    /* Another group (ff02::2, all routers): not ours. */
    a.dst_ip[15] = 2;
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);
    /* Our unicast address in a multicast frame; another unicast MAC; broadcast. */
    a = to_us6();
    memcpy(a.dst_mac, group_mac, 6);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    memcpy(a.dst_mac, other_mac, 6);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    memcpy(a.dst_mac, bcast, 6);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    /* A group of ours in the frame of another group. */
    {
        uint8_t m[32];
        uint16_t ml = ns_msg(m, our6, peer_mac);

        len = icmp6_frame(peer6, our_group, all_nodes_mac, 255, m, ml);
        expect_drop(buf, len, 0, DP_DROP_DST_MAC);
    }
    a = to_us6();
    memcpy(a.src_mac, group_mac, 6);
    len = tf6_udp(buf, &a, 4433, 50000, NULL, 4);
    expect_drop(buf, len, 0, DP_DROP_SRC_ADDR);

    /* Extension headers not walked past. */
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_FRAGMENT, frag, 8);
    expect_drop(buf, len, 0, DP_DROP_IP_FRAGMENT);
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_ROUTING, routing_on, 8);
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_DSTOPTS, discard, 8);
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_HOPOPTS, jumbo, 8);
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_DSTOPTS, overrun, 8);
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = tf6_insert_ext(buf, udp6_frame(20), DP_IPPROTO_HOPOPTS, ext, 8);
    len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, ext, 8); /* Hop-by-Hop second */
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = udp6_frame(20);
    for (i = 0; i < DP_IPV6_MAX_EXT + 1; i++)
        len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, ext, 8);
    expect_drop(buf, len, 0, DP_DROP_IP6_EXTHDR);
    len = udp6_frame(20);
    for (i = 0; i < DP_IPV6_MAX_EXT; i++)
        len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, ext, 8);
    {
        struct dp_pkt_info info;
        enum dp_drop why;

        assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_UDP); /* the bound itself */
    }
    /* A header whose length runs past the packet; one cut after its first bytes. */
    len = tf6_insert_ext(buf, udp6_frame(0), DP_IPPROTO_DSTOPTS, ext, 8);
    buf[55] = 3; /* 32 bytes, 16 left */
    expect_drop(buf, len, 0, DP_DROP_TRUNCATED);
    len = tf6_insert_ext(buf, udp6_frame(0), DP_IPPROTO_DSTOPTS, ext, 8);
    tf_put16(buf + 18, 4);
    expect_drop(buf, 58, 0, DP_DROP_TRUNCATED);
    static const uint8_t protos[][2] = {
        {DP_IPPROTO_ESP, DP_DROP_PROTO},           {DP_IPPROTO_AH, DP_DROP_PROTO},
        {DP_IPPROTO_NONE, DP_DROP_PROTO},          {6 /* TCP */, DP_DROP_PROTO},
        {DP_IPPROTO_MOBILITY, DP_DROP_IP6_EXTHDR}, {DP_IPPROTO_HIP, DP_DROP_IP6_EXTHDR},
        {DP_IPPROTO_SHIM6, DP_DROP_IP6_EXTHDR},    {DP_IPPROTO_EXP1, DP_DROP_IP6_EXTHDR},
        {DP_IPPROTO_EXP2, DP_DROP_IP6_EXTHDR},
    };
    for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        len = udp6_frame(20);
        buf[20] = protos[i][0];
        expect_drop(buf, len, 0, (enum dp_drop)protos[i][1]);
    }
}

static void test_drop_udp6(void **state)
{
    const uint64_t good = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    struct dp_pkt_info info;
    enum dp_drop why;
    size_t len;

    (void)state;
    len = udp6_frame(20);
    assert_true(tf6_l4_ok(buf, 54, 28, 17));
    buf[70] ^= 0x10;
    expect_drop(buf, len, 0, DP_DROP_UDP_CKSUM);
    /* The NIC vouches for it: not checked again; says bad: dropped. */
    assert_int_equal(run(buf, len, good, &info, &why), DP_PKT_UDP);
    len = udp6_frame(20);
    expect_drop(buf, len, RTE_MBUF_F_RX_L4_CKSUM_BAD, DP_DROP_UDP_CKSUM);
    /* A zero checksum means none, which IPv6 does not allow, whatever the NIC says. */
    tf_put16(buf + 60, 0);
    expect_drop(buf, len, 0, DP_DROP_UDP_CKSUM);
    expect_drop(buf, len, good, DP_DROP_UDP_CKSUM);

    len = udp6_frame(20);
    tf_put16(buf + 58, 27);
    tf6_fix_l4(buf, 54, 28, 17, 6);
    expect_drop(buf, len, 0, DP_DROP_UDP_LEN);
    len = udp6_frame(0);
    tf_put16(buf + 18, 6); /* upper layer shorter than a UDP header */
    expect_drop(buf, len, 0, DP_DROP_UDP_LEN);
    len = udp6_frame(20);
    tf_put16(buf + 54, 0);
    tf6_fix_l4(buf, 54, 28, 17, 6);
    expect_drop(buf, len, 0, DP_DROP_UDP_PORT);
    len = udp6_frame(20);
    tf_put16(buf + 56, 0);
    tf6_fix_l4(buf, 54, 28, 17, 6);
    expect_drop(buf, len, 0, DP_DROP_UDP_PORT);
}

static void test_icmp6(void **state)
{
    static const uint8_t ext[8] = {0, 0, 1, 4, 0, 0, 0, 0};
    struct dp_pkt_info info;
    enum dp_drop why;
    uint8_t m[64];
    size_t len;
    int i;

    (void)state;
    memset(m, 0, sizeof(m));
    m[0] = DP_ICMP6_ECHO_REQUEST;
    tf_put16(m + 4, 0x1234);
    tf_put16(m + 6, 7);
    for (i = 8; i < 61; i++)
        m[i] = (uint8_t)i;
    len = icmp6_frame(peer6, our6, our_mac, 64, m, 61);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ICMP_ECHO);
    assert_int_equal(info.ip_version, 6);
    assert_int_equal(info.l4_off, 54);
    assert_int_equal(info.payload_off, 54);
    assert_int_equal(info.payload_len, 61);
    len = icmp6_frame(peer_ll, ifc.ip6_ll.b, our_mac, 64, m, 8);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ICMP_ECHO);
    len = tf6_insert_ext(buf, icmp6_frame(peer6, our6, our_mac, 64, m, 16), DP_IPPROTO_DSTOPTS, ext,
                         8);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ICMP_ECHO);
    assert_int_equal(info.l4_off, 62);

    len = icmp6_frame(peer6, all_nodes, all_nodes_mac, 64, m, 16);
    expect_drop(buf, len, 0, DP_DROP_DST_IP); /* no answer to a group */
    len = icmp6_frame(peer6, our6, our_mac, 64, m, 16);
    buf[len - 1] ^= 1;
    expect_drop(buf, len, 0, DP_DROP_ICMP_CKSUM);
    len = icmp6_frame(peer6, our6, our_mac, 64, m, 7);
    expect_drop(buf, len, 0, DP_DROP_ICMP_LEN);
    m[1] = 1;
    len = icmp6_frame(peer6, our6, our_mac, 64, m, 16);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    m[1] = 0;
    /* Types a host client takes no part in. */
    static const uint8_t types[] = {1,   3,   4,   DP_ICMP6_ECHO_REPLY,  130,
                                    131, 132, 143, DP_ND_ROUTER_SOLICIT, DP_ND_REDIRECT,
                                    200};
    for (i = 0; i < (int)sizeof(types); i++) {
        m[0] = types[i];
        len = icmp6_frame(peer6, our6, our_mac, 255, m, 40);
        expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    }
}

static void test_nd(void **state)
{
    static const uint8_t mcast_target[16] = {0xff, 0x02, [15] = 5};
    static const uint8_t unspec[16];
    struct dp_pkt_info info;
    struct dp_nd_msg nd;
    enum dp_drop why;
    uint8_t m[64];
    uint16_t ml;
    size_t len;

    (void)state;
    /* Resolution of our global address: to its solicited-node group. */
    ml = ns_msg(m, our6, peer_mac);
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, ml, &nd, &why),
                     0);
    assert_int_equal(nd.type, DP_ND_NEIGHBOR_SOLICIT);
    assert_memory_equal(nd.target.b, our6, 16);
    assert_true(nd.has_lladdr);
    assert_memory_equal(nd.lladdr.addr_bytes, peer_mac, 6);
    /* Of our link-local address; unicast (a reachability probe); without the option. */
    ml = ns_msg(m, ifc.ip6_ll.b, peer_mac);
    len = icmp6_frame(peer_ll, our_group, group_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    ml = ns_msg(m, our6, NULL);
    len = icmp6_frame(peer6, our6, our_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    /* Duplicate address detection by someone else for our address. */
    len = icmp6_frame(unspec, our_group, group_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    assert_true(dp_addr_is_zero(&info.src));
    /* ... which carries no source link-layer option and goes to the group only. */
    ml = ns_msg(m, our6, peer_mac);
    len = icmp6_frame(unspec, our_group, group_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED);
    ml = ns_msg(m, our6, NULL);
    len = icmp6_frame(unspec, our6, our_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED);
    /* For someone else's address (in a group of ours: the same low 24 bits). */
    {
        uint8_t not_us[16] = {0xfd, 0x01, [13] = 0, 0, 2};

        ml = ns_msg(m, not_us, peer_mac);
        len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
        expect_drop(buf, len, 0, DP_DROP_ND_NOT_US);
    }
    /* RFC 4861 7.1.1 validation. */
    ml = ns_msg(m, our6, peer_mac);
    len = icmp6_frame(peer6, our_group, group_mac, 254, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* from beyond the link */
    m[1] = 1;
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* code */
    m[1] = 0;
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, 20);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* short */
    m[25] = 0;
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* option of length 0 */
    m[25] = 2;
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* option past the end */
    ml = ns_msg(m, our6, bcast);
    len = icmp6_frame(peer6, our_group, group_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* a broadcast link-layer address */
    ml = ns_msg(m, mcast_target, peer_mac);
    len = icmp6_frame(peer6, our6, our_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* multicast target */

    /* Advertisements: solicited to us; unsolicited to all nodes (RFC 4861 7.2.6). */
    ml = na_msg(m, peer6, DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE, peer_mac);
    len = icmp6_frame(peer6, our6, our_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, ml, &nd, &why),
                     0);
    assert_int_equal(nd.flags, DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE);
    assert_memory_equal(nd.target.b, peer6, 16);
    assert_memory_equal(nd.lladdr.addr_bytes, peer_mac, 6);
    ml =
        na_msg(m, peer6, DP_ND_NA_FLAG_OVERRIDE | 0x00ffffff /* reserved bits ignored */, peer_mac);
    len = icmp6_frame(peer6, all_nodes, all_nodes_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, ml, &nd, &why),
                     0);
    assert_int_equal(nd.flags, DP_ND_NA_FLAG_OVERRIDE);
    ml = na_msg(m, peer6, DP_ND_NA_FLAG_SOLICITED, peer_mac);
    len = icmp6_frame(peer6, all_nodes, all_nodes_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* solicited, yet to a group */
    len = icmp6_frame(unspec, all_nodes, all_nodes_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED); /* from nobody */
    ml = na_msg(m, peer6, 0, NULL);
    len = icmp6_frame(peer6, our6, our_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED);

    /* Router advertisements: from a link-local address only. */
    ml = ra_msg(m, 1800, peer_mac, 1400);
    len = icmp6_frame(peer_ll, all_nodes, all_nodes_mac, 255, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, ml, &nd, &why),
                     0);
    assert_int_equal(nd.type, DP_ND_ROUTER_ADVERT);
    assert_int_equal(nd.router_lifetime_s, 1800);
    assert_int_equal(nd.mtu, 1400);
    assert_true(nd.has_lladdr);
    len = icmp6_frame(peer6, all_nodes, all_nodes_mac, 255, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED);
    len = icmp6_frame(peer_ll, all_nodes, all_nodes_mac, 255, m, 12);
    expect_drop(buf, len, 0, DP_DROP_ND_MALFORMED);
}

static void test_ptb(void **state)
{
    struct dp_pkt_info info;
    enum dp_drop why;
    uint8_t m[1300];
    uint16_t ml;
    size_t len;

    (void)state;
    /* A router on the way back to fd00::1 says 1280: as much of ours as fits. */
    ml = ptb_msg(m, 1280, 1232);
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_PTB);
    assert_memory_equal(info.src.b, peer6, 16);
    assert_memory_equal(info.dst.b, our6, 16);
    assert_int_equal(rte_be_to_cpu_16(info.src_port), 4433);
    assert_int_equal(rte_be_to_cpu_16(info.dst_port), 50000);
    assert_int_equal(info.payload_off, 54);
    assert_int_equal(tf_get32(buf + info.payload_off + 4), 1280);
    /* Just the headers of the datagram quoted. */
    ml = ptb_msg(m, 1280, 48);
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_PTB);
    ml = ptb_msg(m, 1280, 47);
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ICMP_LEN);
    /* Not about a datagram of ours: another source, another protocol, code 1. */
    ml = ptb_msg(m, 1280, 100);
    memcpy(m + 8 + 8, other6, 16);
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    ml = ptb_msg(m, 1280, 100);
    m[8 + 6] = 6;
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    ml = ptb_msg(m, 1280, 100);
    m[1] = 1;
    len = icmp6_frame(other6, our6, our_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_ICMP_TYPE);
    /* To a group. */
    ml = ptb_msg(m, 1280, 100);
    len = icmp6_frame(other6, all_nodes, all_nodes_mac, 64, m, ml);
    expect_drop(buf, len, 0, DP_DROP_DST_IP);
}

/* Random corruption of valid frames must never crash or read out of bounds; whatever is
 * accepted must be self-consistent. */
static void test_mutations(void **state)
{
    struct tf_addrs a = to_us();
    uint32_t rnd = 12345;
    unsigned accepted[DP_PKT_PTB + 1] = {0};
    int i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        struct dp_pkt_info info;
        enum dp_drop why = DP_DROP__MAX;
        size_t len;
        enum dp_class c;
        int k;

        switch (i % 9) {
        case 0:
            len = udp_frame((uint16_t)(i % 200));
            break;
        case 1:
            len = tf_icmp_echo(buf, &a, 1, (uint16_t)i, (uint16_t)(i % 64));
            break;
        case 2:
            memcpy(a.dst_mac, bcast, 6);
            len = tf_arp(buf, &a, 1, zero_mac);
            a = to_us();
            break;
        case 3:
            len = udp6_frame((uint16_t)(i % 200));
            break;
        case 4: {
            static const uint8_t opts[16] = {0, 1, 1, 4, 0, 0, 0, 0, 5, 2, 0, 0, 0x1e, 1, 0, 1};

            len = tf6_insert_ext(buf, udp6_frame((uint16_t)(i % 100)),
                                 i & 8 ? DP_IPPROTO_HOPOPTS : DP_IPPROTO_DSTOPTS, opts, 16);
            break;
        }
        case 5: {
            uint8_t m[40] = {DP_ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 2};

            len = icmp6_frame(peer6, our6, our_mac, 64, m, (uint16_t)(8 + i % 32));
            break;
        }
        case 6: {
            uint8_t m[32];

            len = icmp6_frame(peer6, our_group, group_mac, 255, m, ns_msg(m, our6, peer_mac));
            break;
        }
        case 7: {
            uint8_t m[40];

            len = i & 16 ? icmp6_frame(peer_ll, all_nodes, all_nodes_mac, 255, m,
                                       ra_msg(m, 600, peer_mac, 1500))
                         : icmp6_frame(peer6, our6, our_mac, 255, m,
                                       na_msg(m, peer6, DP_ND_NA_FLAG_SOLICITED, peer_mac));
            break;
        }
        default: {
            static uint8_t m[1300];

            len = icmp6_frame(other6, our6, our_mac, 64, m,
                              ptb_msg(m, 1280, (uint16_t)(48 + i % 64)));
            break;
        }
        }
        for (k = 0; k < 3; k++) {
            rnd = rnd * 1103515245u + 12345u;
            buf[(rnd >> 8) % len] ^= (uint8_t)(1u << ((rnd >> 4) & 7));
        }
        rnd = rnd * 1103515245u + 12345u;
        if (i % 9 >= 5 && (rnd & 0x100) && len >= 54 && buf[20] == DP_IPPROTO_ICMPV6 &&
            tf_get16(buf + 18) <= len - 54)
            tf6_fix_l4(buf, 54, tf_get16(buf + 18), DP_IPPROTO_ICMPV6, 2);
        if ((rnd >> 16) % 4 == 0)
            len = (rnd >> 4) % (len + 1);
        c = run(buf, len, i & 1 ? RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0,
                &info, &why);
        if (c == DP_PKT_DROP) {
            assert_true(why < DP_DROP__MAX);
        } else if (c != DP_PKT_ARP) {
            assert_true((size_t)info.payload_off + info.payload_len <= len);
            assert_true(info.l4_off <= info.payload_off);
            assert_int_equal(info.ip_version, dp_addr_is_v4(&info.src) ? 4 : 6);
            accepted[c]++;
        }
    }
    /* Half the frames went through with NIC-verified checksums and half the ICMPv6 ones had
     * their checksum made right again, so the mutations reached past the checksums into
     * every parser: each kind but ARP (whose every field is checked) was accepted somewhere
     * (the run is deterministic). */
    for (i = DP_PKT_ICMP_ECHO; i <= DP_PKT_PTB; i++)
        assert_true(accepted[i] > 0);
}

static void test_drop_names(void **state)
{
    int i, j;

    (void)state;
    for (i = 0; i < DP_DROP__MAX; i++) {
        assert_string_not_equal(dp_drop_name((enum dp_drop)i), "unknown");
        for (j = 0; j < i; j++)
            assert_string_not_equal(dp_drop_name((enum dp_drop)i), dp_drop_name((enum dp_drop)j));
    }
    assert_string_equal(dp_drop_name(DP_DROP__MAX), "unknown");
    assert_string_equal(dp_drop_name((enum dp_drop) - 1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_valid),  cmocka_unit_test(test_udp_zero_cksum_and_padding),
        cmocka_unit_test(test_icmp_valid), cmocka_unit_test(test_arp_valid),
        cmocka_unit_test(test_drop_l2),    cmocka_unit_test(test_drop_ipv4),
        cmocka_unit_test(test_drop_udp),   cmocka_unit_test(test_drop_icmp),
        cmocka_unit_test(test_drop_arp),   cmocka_unit_test(test_offload_flags),
        cmocka_unit_test(test_udp6_valid), cmocka_unit_test(test_drop_ipv6),
        cmocka_unit_test(test_drop_udp6),  cmocka_unit_test(test_icmp6),
        cmocka_unit_test(test_nd),         cmocka_unit_test(test_ptb),
        cmocka_unit_test(test_mutations),  cmocka_unit_test(test_drop_names),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
