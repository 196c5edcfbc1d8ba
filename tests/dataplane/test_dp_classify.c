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
    assert_int_equal(rte_be_to_cpu_32(info.src_ip), PEER_IP);
    assert_int_equal(rte_be_to_cpu_32(info.dst_ip), OUR_IP);
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
    assert_int_equal(rte_be_to_cpu_32(info.src_ip), PEER_IP);
    assert_int_equal(rte_be_to_cpu_32(info.dst_ip), OUR_IP);
    /* Unicast reply to our MAC. */
    memcpy(a.dst_mac, our_mac, 6);
    len = tf_arp(buf, &a, 2, our_mac);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ARP);
    /* RFC 5227 probe: sender IP 0 is legal. */
    memcpy(a.dst_mac, bcast, 6);
    a.src_ip = 0;
    len = tf_arp(buf, &a, 1, zero_mac);
    assert_int_equal(run(buf, len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(info.src_ip, 0);
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

    tf_put16(buf + 12, 0x86dd); /* IPv6 */
    expect_drop(buf, len, 0, DP_DROP_ETHERTYPE);
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
        assert_int_equal(info.src_ip, info.dst_ip);
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

/* Random corruption of valid frames must never crash or read out of bounds; whatever is
 * accepted must be self-consistent. */
static void test_mutations(void **state)
{
    struct tf_addrs a = to_us();
    uint32_t rnd = 12345;
    int i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        struct dp_pkt_info info;
        enum dp_drop why = DP_DROP__MAX;
        size_t len;
        enum dp_class c;
        int k;

        switch (i % 3) {
        case 0:
            len = udp_frame((uint16_t)(i % 200));
            break;
        case 1:
            len = tf_icmp_echo(buf, &a, 1, (uint16_t)i, (uint16_t)(i % 64));
            break;
        default:
            memcpy(a.dst_mac, bcast, 6);
            len = tf_arp(buf, &a, 1, zero_mac);
            a = to_us();
            break;
        }
        for (k = 0; k < 3; k++) {
            rnd = rnd * 1103515245u + 12345u;
            buf[(rnd >> 8) % len] ^= (uint8_t)(1u << ((rnd >> 4) & 7));
        }
        rnd = rnd * 1103515245u + 12345u;
        if ((rnd >> 16) % 4 == 0)
            len = (rnd >> 4) % (len + 1);
        c = run(buf, len, 0, &info, &why);
        if (c == DP_PKT_DROP) {
            assert_true(why < DP_DROP__MAX);
        } else if (c != DP_PKT_ARP) {
            assert_true((size_t)info.payload_off + info.payload_len <= len);
        }
    }
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
        cmocka_unit_test(test_mutations),  cmocka_unit_test(test_drop_names),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
