/* test_dp_build.c: TX builders (UDP zero copy over IPv4 and IPv6, ARP, ICMP and ICMPv6
 * echo replies, Neighbor Solicitation/Advertisement) produce frames that dp_classify()
 * accepts on the receiving side and whose checksums verify with an independent RFC 1071
 * implementation; plus the address helpers of both families. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_arp.h"
#include "dp_classify.h"
#include "dp_eth.h"
#include "dp_icmp.h"
#include "dp_icmp6.h"
#include "dp_ipv4.h"
#include "dp_ipv6.h"
#include "dp_nd.h"
#include "dp_net.h"
#include "dp_udp.h"
#include "dp_test_frames.h"

#define A_IP 0xc6120001u /* 198.18.0.1 */
#define B_IP 0xc6120002u /* 198.18.0.2 */

static const struct rte_ether_addr a_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x0a}};
static const struct rte_ether_addr b_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x0b}};
static _Alignas(64) uint8_t buf[TF_BUF_LEN];

static struct dp_iface iface(const struct rte_ether_addr *mac, uint32_t ip)
{
    struct dp_iface i;

    memset(&i, 0, sizeof(i));
    i.mac = *mac;
    i.ip = rte_cpu_to_be_32(ip);
    return i;
}

/* fd00::a (A) and fd00::b (B), with their link-local addresses. */
static struct dp_addr ip6(const char *s)
{
    struct dp_addr a;

    assert_int_equal(dp_addr_parse(s, &a), 0);
    return a;
}

static struct dp_iface iface6(const struct rte_ether_addr *mac, uint32_t ip, const char *ip6s)
{
    struct dp_iface i = iface(mac, ip);

    i.ip6_on = true;
    i.ip6 = ip6(ip6s);
    i.ip6_ll = dp_ipv6_link_local(mac);
    return i;
}

static struct dp_tx_tuple a_to_b(void)
{
    struct dp_tx_tuple t;

    memset(&t, 0, sizeof(t));
    t.src_mac = a_mac;
    t.dst_mac = b_mac;
    t.src_ip = dp_addr_v4(rte_cpu_to_be_32(A_IP));
    t.dst_ip = dp_addr_v4(rte_cpu_to_be_32(B_IP));
    t.src_port = rte_cpu_to_be_16(50123);
    t.dst_port = rte_cpu_to_be_16(443);
    return t;
}

static void fill_payload(uint16_t len, uint8_t seed)
{
    uint16_t i;

    for (i = 0; i < len; i++)
        buf[DP_UDP_HDRS_LEN + i] = (uint8_t)(i * 31 + seed);
}

static void check_udp_roundtrip(uint16_t plen, uint8_t seed)
{
    struct dp_tx_tuple t = a_to_b();
    struct dp_iface rx = iface(&b_mac, B_IP);
    struct dp_pkt_info info;
    enum dp_drop why;
    int len;
    uint16_t i;

    fill_payload(plen, seed);
    len = dp_udp_build(buf, &t, plen, 0);
    assert_int_equal(len, DP_UDP_HDRS_LEN + plen);
    /* Independent checks of what is on the wire. */
    assert_true(tf_ip_ok(buf));
    assert_true(tf_udp_ok(buf));
    assert_int_not_equal(tf_get16(buf + 40), 0); /* we always send a checksum */
    assert_int_equal(tf_get16(buf + 12), 0x0800);
    assert_int_equal(buf[14], 0x45);
    assert_int_equal(tf_get16(buf + 16), 28 + plen);
    assert_int_equal(tf_get16(buf + 20), 0x4000); /* DF, no fragment */
    assert_int_equal(buf[22], 64);
    assert_int_equal(buf[23], 17);
    assert_int_equal(tf_get16(buf + 38), 8 + plen);
    /* The receiver accepts it and finds the payload in place, untouched. */
    assert_int_equal(dp_classify(&rx, buf, (uint16_t)len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.payload_off, DP_UDP_HDRS_LEN);
    assert_int_equal(info.payload_len, plen);
    assert_int_equal(rte_be_to_cpu_16(info.src_port), 50123);
    assert_int_equal(rte_be_to_cpu_16(info.dst_port), 443);
    for (i = 0; i < plen; i++)
        assert_int_equal(buf[DP_UDP_HDRS_LEN + i], (uint8_t)(i * 31 + seed));
}

static void test_udp_build_sw(void **state)
{
    static const uint16_t sizes[] = {0, 1, 2, 3, 17, 64, 1199, 1200, 1252, 1472};
    size_t i;
    int s;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (s = 0; s < 16; s++)
            check_udp_roundtrip(sizes[i], (uint8_t)s);
}

/* A datagram whose checksum computes to 0 must carry 0xffff (RFC 768). */
static void test_udp_build_cksum_zero(void **state)
{
    struct dp_tx_tuple t = a_to_b();
    uint16_t c;

    (void)state;
    memset(buf + DP_UDP_HDRS_LEN, 0, 10);
    assert_int_equal(dp_udp_build(buf, &t, 10, 0), DP_UDP_HDRS_LEN + 10);
    c = tf_get16(buf + 40);
    /* Put the checksum value into the last payload word: the data sum becomes 0xffff and
     * the checksum to send becomes 0. */
    tf_put16(buf + DP_UDP_HDRS_LEN + 8, c);
    assert_int_equal(dp_udp_build(buf, &t, 10, 0), DP_UDP_HDRS_LEN + 10);
    assert_int_equal(tf_get16(buf + 40), 0xffff);
    assert_true(tf_udp_ok(buf));
}

static void test_udp_build_offload(void **state)
{
    struct dp_tx_tuple t = a_to_b();
    uint32_t ph;

    (void)state;
    t.tos = 0x02; /* ECT(0) */
    fill_payload(100, 1);
    assert_int_equal(dp_udp_build(buf, &t, 100, DP_TX_OFFLOAD_IP_CKSUM | DP_TX_OFFLOAD_UDP_CKSUM),
                     DP_UDP_HDRS_LEN + 100);
    assert_int_equal(tf_get16(buf + 24), 0); /* the NIC fills it */
    assert_int_equal(buf[15], 0x02);
    /* UDP field = pseudo-header sum (not complemented): src, dst, zero+proto, length. */
    ph = (A_IP >> 16) + (A_IP & 0xffff) + (B_IP >> 16) + (B_IP & 0xffff) + 17 + 108;
    assert_int_equal(tf_get16(buf + 40), tf_sum(NULL, 0, ph));

    /* IP offload only: UDP checksum complete in software. */
    assert_int_equal(dp_udp_build(buf, &t, 100, DP_TX_OFFLOAD_IP_CKSUM), DP_UDP_HDRS_LEN + 100);
    assert_int_equal(tf_get16(buf + 24), 0);
    tf_fix_ip(buf);
    assert_true(tf_udp_ok(buf));
    /* UDP offload only: IP checksum complete. */
    assert_int_equal(dp_udp_build(buf, &t, 100, DP_TX_OFFLOAD_UDP_CKSUM), DP_UDP_HDRS_LEN + 100);
    assert_true(tf_ip_ok(buf));
}

static void test_udp_build_too_big(void **state)
{
    struct dp_tx_tuple t = a_to_b();

    (void)state;
    assert_int_equal(dp_udp_build(buf, &t, DP_UDP_MAX_PAYLOAD + 1, 0), -EINVAL);
}

static void test_arp_request(void **state)
{
    struct dp_iface rx = iface(&b_mac, B_IP);
    struct dp_pkt_info info;
    struct dp_arp_msg m;
    enum dp_drop why;
    int len;
    int i;

    (void)state;
    memset(buf, 0xaa, 64);
    len = dp_arp_build_request(buf, sizeof(buf), &a_mac, rte_cpu_to_be_32(A_IP),
                               rte_cpu_to_be_32(B_IP), NULL);
    assert_int_equal(len, DP_ARP_FRAME_LEN);
    for (i = 0; i < 6; i++)
        assert_int_equal(buf[i], 0xff);
    for (i = 42; i < 60; i++)
        assert_int_equal(buf[i], 0); /* padding zeroed, no stale bytes leak */
    assert_int_equal(dp_classify(&rx, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(dp_arp_parse(buf + 14, (uint16_t)(len - 14), &m, &why), 0);
    assert_int_equal(m.op, DP_ARP_OP_REQUEST);
    assert_memory_equal(&m.sha, &a_mac, 6);
    assert_int_equal(rte_be_to_cpu_32(m.spa), A_IP);
    assert_int_equal(rte_be_to_cpu_32(m.tpa), B_IP);
    assert_true(rte_is_zero_ether_addr(&m.tha));

    /* Unicast re-probe of a stale entry. */
    len = dp_arp_build_request(buf, sizeof(buf), &a_mac, rte_cpu_to_be_32(A_IP),
                               rte_cpu_to_be_32(B_IP), &b_mac);
    assert_int_equal(len, DP_ARP_FRAME_LEN);
    assert_memory_equal(buf, &b_mac, 6);
    assert_int_equal(dp_classify(&rx, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ARP);

    assert_int_equal(dp_arp_build_request(buf, 59, &a_mac, 1, 2, NULL), -ENOSPC);
    assert_int_equal(dp_arp_build_reply(buf, 10, &a_mac, 1, &b_mac, 2), -ENOSPC);
}

static void test_arp_reply(void **state)
{
    struct dp_iface rx_a = iface(&a_mac, A_IP);
    struct dp_pkt_info info;
    struct dp_arp_msg m;
    enum dp_drop why;
    int len;

    (void)state;
    /* A asks for B; B answers in place; A accepts the answer. */
    len = dp_arp_build_request(buf, sizeof(buf), &a_mac, rte_cpu_to_be_32(A_IP),
                               rte_cpu_to_be_32(B_IP), NULL);
    assert_int_equal(dp_arp_reply_in_place(buf, (uint16_t)len, &b_mac, rte_cpu_to_be_32(B_IP)),
                     len);
    assert_memory_equal(buf, &a_mac, 6);
    assert_memory_equal(buf + 6, &b_mac, 6);
    assert_int_equal(dp_classify(&rx_a, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(dp_arp_parse(buf + 14, (uint16_t)(len - 14), &m, &why), 0);
    assert_int_equal(m.op, DP_ARP_OP_REPLY);
    assert_memory_equal(&m.sha, &b_mac, 6);
    assert_int_equal(rte_be_to_cpu_32(m.spa), B_IP);
    assert_memory_equal(&m.tha, &a_mac, 6);
    assert_int_equal(rte_be_to_cpu_32(m.tpa), A_IP);

    /* A reply is not a request; a request for someone else is not ours to answer. */
    assert_int_equal(dp_arp_reply_in_place(buf, (uint16_t)len, &b_mac, rte_cpu_to_be_32(B_IP)),
                     -EINVAL);
    len = dp_arp_build_request(buf, sizeof(buf), &a_mac, rte_cpu_to_be_32(A_IP),
                               rte_cpu_to_be_32(B_IP + 1), NULL);
    assert_int_equal(dp_arp_reply_in_place(buf, (uint16_t)len, &b_mac, rte_cpu_to_be_32(B_IP)),
                     -EINVAL);
    assert_int_equal(dp_arp_reply_in_place(buf, 41, &b_mac, rte_cpu_to_be_32(B_IP + 1)), -EINVAL);

    /* The builder gives the same reply as the in-place conversion. */
    len = dp_arp_build_reply(buf, sizeof(buf), &b_mac, rte_cpu_to_be_32(B_IP), &a_mac,
                             rte_cpu_to_be_32(A_IP));
    assert_int_equal(len, DP_ARP_FRAME_LEN);
    assert_int_equal(dp_classify(&rx_a, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ARP);
    assert_int_equal(dp_arp_parse(buf + 14, (uint16_t)(len - 14), &m, &why), 0);
    assert_int_equal(m.op, DP_ARP_OP_REPLY);
    assert_memory_equal(&m.tha, &a_mac, 6);
}

static void test_icmp_echo_reply(void **state)
{
    struct dp_iface rx_b = iface(&b_mac, B_IP);
    struct tf_addrs a;
    struct dp_pkt_info info;
    enum dp_drop why;
    uint8_t orig[TF_BUF_LEN];
    uint16_t dlen;
    uint16_t seq = 0;

    (void)state;
    memcpy(a.src_mac, &a_mac, 6);
    memcpy(a.dst_mac, &b_mac, 6);
    a.src_ip = A_IP;
    a.dst_ip = B_IP;
    /* Many sizes and identifiers: the incremental checksum must hold in every case,
     * including the carry and 0x0000/0xffff corners RFC 1624 is about. */
    for (dlen = 0; dlen < 300; dlen++) {
        size_t len = tf_icmp_echo(buf, &a, (uint16_t)(dlen * 257), seq++, dlen);
        size_t plen = len < 60 ? 60 : len; /* Ethernet padding trimmed by the reply */
        uint16_t ck;
        int rlen;

        memset(buf + len, 0, plen - len);
        assert_int_equal(dp_classify(&rx_b, buf, (uint16_t)plen, 0, &info, &why), DP_PKT_ICMP_ECHO);
        memcpy(orig, buf, plen);
        rlen = dp_icmp_echo_reply(buf, (uint16_t)plen);
        assert_int_equal(rlen, (int)len);
        assert_memory_equal(buf, orig + 6, 6);
        assert_memory_equal(buf + 6, orig, 6);
        assert_memory_equal(buf + 26, orig + 30, 4);
        assert_memory_equal(buf + 30, orig + 26, 4);
        assert_true(tf_ip_ok(buf));
        assert_int_equal(buf[34], 0);
        assert_int_equal(buf[35], 0);
        assert_memory_equal(buf + 38, orig + 38, len - 38); /* id, seq, data echoed */
        ck = tf_sum(buf + 34, len - 34, 0);
        assert_int_equal(ck, 0xffff);
    }
    /* Not an echo request. */
    assert_int_equal(dp_icmp_echo_reply(buf, 60), -EINVAL);
    assert_int_equal(dp_icmp_echo_reply(buf, 20), -EINVAL);
}

/* ---------------------------------------------------------------- IPv6 */

static struct dp_tx_tuple a_to_b6(void)
{
    struct dp_tx_tuple t = a_to_b();

    t.src_ip = ip6("fd00::a");
    t.dst_ip = ip6("fd00::b");
    return t;
}

static void check_udp6_roundtrip(const struct dp_tx_tuple *t, const struct dp_iface *rx,
                                 uint16_t plen, uint8_t seed)
{
    struct dp_pkt_info info;
    enum dp_drop why;
    uint16_t i;
    int len;

    for (i = 0; i < plen; i++)
        buf[DP_UDP6_HDRS_LEN + i] = (uint8_t)(i * 31 + seed);
    len = dp_udp_build(buf, t, plen, 0);
    assert_int_equal(len, DP_UDP6_HDRS_LEN + plen);
    assert_int_equal(dp_udp_hdrs_len(&t->dst_ip), DP_UDP6_HDRS_LEN);
    /* Independent checks of what is on the wire (RFC 8200 3, 8.1). */
    assert_int_equal(tf_get16(buf + 12), 0x86dd);
    assert_int_equal(tf_get32(buf + 14), 0x60000000u | (uint32_t)t->tos << 20 | t->flow_label);
    assert_int_equal(tf_get16(buf + 18), 8 + plen);
    assert_int_equal(buf[20], 17);
    assert_int_equal(buf[21], 64);
    assert_memory_equal(buf + 22, t->src_ip.b, 16);
    assert_memory_equal(buf + 38, t->dst_ip.b, 16);
    assert_int_equal(tf_get16(buf + 58), 8 + plen);
    assert_true(tf6_l4_ok(buf, 54, (uint16_t)(8 + plen), 17));
    assert_int_equal(dp_classify(rx, buf, (uint16_t)len, 0, &info, &why), DP_PKT_UDP);
    assert_int_equal(info.ecn, t->tos & 3);
    assert_int_equal(info.payload_off, DP_UDP6_HDRS_LEN);
    assert_int_equal(info.payload_len, plen);
    assert_true(dp_addr_eq(&info.src, &t->src_ip));
    assert_int_equal(rte_be_to_cpu_16(info.src_port), 50123);
    for (i = 0; i < plen; i++)
        assert_int_equal(buf[DP_UDP6_HDRS_LEN + i], (uint8_t)(i * 31 + seed));
}

static void test_udp6_build(void **state)
{
    static const uint16_t sizes[] = {0, 1, 2, 3, 17, 64, 1199, 1200, 1232, 1452};
    struct dp_iface rx = iface6(&b_mac, B_IP, "fd00::b");
    struct dp_tx_tuple t = a_to_b6();
    size_t i;
    int s;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (s = 0; s < 8; s++)
            check_udp6_roundtrip(&t, &rx, sizes[i], (uint8_t)s);
    /* Traffic class and flow label; link-local to link-local. */
    t.tos = 0xb9; /* DSCP 46 (EF), ECN CE */
    t.flow_label = 0xabcde;
    check_udp6_roundtrip(&t, &rx, 100, 1);
    t.src_ip = dp_ipv6_link_local(&a_mac);
    t.dst_ip = rx.ip6_ll;
    check_udp6_roundtrip(&t, &rx, 100, 2);

    /* A computed 0 goes out as 0xffff: 0 would mean none, which IPv6 forbids. */
    t = a_to_b6();
    memset(buf + DP_UDP6_HDRS_LEN, 0, 10);
    assert_int_equal(dp_udp_build(buf, &t, 10, 0), DP_UDP6_HDRS_LEN + 10);
    tf_put16(buf + DP_UDP6_HDRS_LEN + 8, tf_get16(buf + 60));
    assert_int_equal(dp_udp_build(buf, &t, 10, 0), DP_UDP6_HDRS_LEN + 10);
    assert_int_equal(tf_get16(buf + 60), 0xffff);
    assert_true(tf6_l4_ok(buf, 54, 18, 17));

    assert_int_equal(dp_udp_build(buf, &t, DP_UDP6_MAX_PAYLOAD + 1, 0), -EINVAL);
}

static void test_udp6_build_offload(void **state)
{
    struct dp_tx_tuple t = a_to_b6();
    uint32_t ph = 17 + 108;
    int i;

    (void)state;
    assert_int_equal(dp_udp_build(buf, &t, 100, DP_TX_OFFLOAD_IP_CKSUM | DP_TX_OFFLOAD_UDP_CKSUM),
                     DP_UDP6_HDRS_LEN + 100);
    /* UDP field = the pseudo-header sum (not complemented), as DPDK's helper computes it. */
    for (i = 0; i < 16; i += 2)
        ph += tf_get16(t.src_ip.b + i) + tf_get16(t.dst_ip.b + i);
    assert_int_equal(tf_get16(buf + 60), tf_sum(NULL, 0, ph));
    assert_int_equal(
        *(const rte_be16_t *)(buf + 60),
        rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)(buf + 14), RTE_MBUF_F_TX_UDP_CKSUM));
}

/* ECN (RFC 3168) both ways, each codepoint under two DSCPs: the builder writes the TOS /
 * Traffic Class byte whole, the IPv4 header checksum stays right (software: it verifies;
 * offload: left 0 for the NIC, which sums the TOS byte as it finds it), and the
 * classifier hands the codepoint back in dp_pkt_info.ecn. */
static void test_udp_build_ecn(void **state)
{
    static const uint8_t dscp[] = {0x00, 0xb8 /* EF */};
    struct dp_iface rx4 = iface(&b_mac, B_IP), rx6 = iface6(&b_mac, B_IP, "fd00::b");
    struct dp_pkt_info info;
    enum dp_drop why;

    (void)state;
    for (size_t d = 0; d < sizeof(dscp); d++) {
        for (uint8_t ecn = 0; ecn < 4; ecn++) {
            struct dp_tx_tuple t = a_to_b();
            uint16_t ck;

            t.tos = dscp[d] | ecn;
            fill_payload(50, ecn);
            assert_int_equal(dp_udp_build(buf, &t, 50, 0), DP_UDP_HDRS_LEN + 50);
            assert_int_equal(buf[15], dscp[d] | ecn);
            assert_true(tf_ip_ok(buf));
            assert_true(tf_udp_ok(buf));
            ck = tf_get16(buf + 24);
            memset(&info, 0xee, sizeof(info));
            assert_int_equal(dp_classify(&rx4, buf, DP_UDP_HDRS_LEN + 50, 0, &info, &why),
                             DP_PKT_UDP);
            assert_int_equal(info.ecn, ecn);
            /* The header checksum covers the TOS byte: another codepoint, another sum. */
            buf[15] ^= 1;
            assert_false(tf_ip_ok(buf));
            assert_int_equal(dp_classify(&rx4, buf, DP_UDP_HDRS_LEN + 50, 0, &info, &why),
                             DP_PKT_DROP);
            assert_int_equal(why, DP_DROP_IP_CKSUM);
            /* Offloaded: 0 for the NIC; completed, it is the software one. */
            assert_int_equal(dp_udp_build(buf, &t, 50, DP_TX_OFFLOAD_IP_CKSUM),
                             DP_UDP_HDRS_LEN + 50);
            assert_int_equal(buf[15], dscp[d] | ecn);
            assert_int_equal(tf_get16(buf + 24), 0);
            tf_fix_ip(buf);
            assert_int_equal(tf_get16(buf + 24), ck);
            /* NIC-verified checksums: the codepoint is still read from the header. */
            assert_int_equal(dp_classify(&rx4, buf, DP_UDP_HDRS_LEN + 50,
                                         RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                                         &info, &why),
                             DP_PKT_UDP);
            assert_int_equal(info.ecn, ecn);

            t = a_to_b6();
            t.tos = dscp[d] | ecn;
            t.flow_label = 0xfffff; /* the label's bits stay out of the codepoint */
            assert_int_equal(dp_udp_build(buf, &t, 50, DP_TX_OFFLOAD_UDP_CKSUM),
                             DP_UDP6_HDRS_LEN + 50);
            assert_int_equal(tf_get32(buf + 14) >> 20 & 0xff, dscp[d] | ecn);
            assert_int_equal(dp_classify(&rx6, buf, DP_UDP6_HDRS_LEN + 50,
                                         RTE_MBUF_F_RX_L4_CKSUM_GOOD, &info, &why),
                             DP_PKT_UDP);
            assert_int_equal(info.ecn, ecn);
        }
    }
}

static void test_icmp6_echo_reply(void **state)
{
    static const uint8_t ext[8] = {0, 0, 1, 4, 0, 0, 0, 0};
    struct tf_addrs6 a;
    uint8_t orig[TF_BUF_LEN], msg[400];
    uint16_t dlen;

    (void)state;
    memset(&a, 0, sizeof(a));
    memcpy(a.src_mac, &a_mac, 6);
    memcpy(a.dst_mac, &b_mac, 6);
    memcpy(a.src_ip, ip6("fd00::a").b, 16);
    memcpy(a.dst_ip, ip6("fd00::b").b, 16);
    a.hops = 17;
    for (dlen = 0; dlen < 300; dlen++) {
        size_t len;
        uint16_t l4_off = 54;
        int rlen, i;

        memset(msg, 0, 8);
        msg[0] = DP_ICMP6_ECHO_REQUEST;
        tf_put16(msg + 4, (uint16_t)(dlen * 257));
        tf_put16(msg + 6, dlen);
        for (i = 0; i < dlen; i++)
            msg[8 + i] = (uint8_t)(i * 7 + dlen);
        len = tf6_icmp(buf, &a, msg, (uint16_t)(8 + dlen));
        if (dlen % 3 == 0) { /* with a Destination Options header on the way in */
            len = tf6_insert_ext(buf, len, DP_IPPROTO_DSTOPTS, ext, 8);
            l4_off += 8;
        }
        memcpy(orig, buf, len);
        rlen = dp_icmp6_echo_reply(buf, (uint16_t)len, l4_off);
        assert_int_equal(rlen, 54 + 8 + dlen);
        assert_memory_equal(buf, orig + 6, 6);
        assert_memory_equal(buf + 6, orig, 6);
        assert_memory_equal(buf + 22, orig + 38, 16);
        assert_memory_equal(buf + 38, orig + 22, 16);
        assert_int_equal(buf[20], 58); /* no extension header on the way out */
        assert_int_equal(buf[21], 64);
        assert_int_equal(tf_get16(buf + 18), 8 + dlen);
        assert_int_equal(buf[54], DP_ICMP6_ECHO_REPLY);
        assert_int_equal(buf[55], 0);
        assert_memory_equal(buf + 58, msg + 4, 4u + dlen); /* id, seq, data echoed */
        assert_true(tf6_l4_ok(buf, 54, (uint16_t)(8 + dlen), 58));
    }
    /* Not an echo request; cut; an offset outside. */
    assert_int_equal(dp_icmp6_echo_reply(buf, 62, 54), -EINVAL);
    assert_int_equal(dp_icmp6_echo_reply(buf, 40, 54), -EINVAL);
    {
        size_t len = tf6_icmp(buf, &a, msg, 8);

        buf[54] = DP_ICMP6_ECHO_REQUEST;
        assert_int_equal(dp_icmp6_echo_reply(buf, (uint16_t)len, 58), -EINVAL);
        assert_int_equal(dp_icmp6_echo_reply(buf, (uint16_t)len, 20), -EINVAL);
    }
}

static void test_nd_build(void **state)
{
    struct dp_iface ifa = iface6(&a_mac, A_IP, "fd00::a"), ifb = iface6(&b_mac, B_IP, "fd00::b");
    static const uint8_t group_b[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x0b};
    struct dp_pkt_info info;
    struct dp_nd_msg m;
    enum dp_drop why;
    struct dp_addr all_nodes = ip6("ff02::1");
    int len;

    (void)state;
    /* A resolves B: to B's solicited-node group, from A with A's MAC. */
    len = dp_nd_build_ns(buf, sizeof(buf), &a_mac, &ifa.ip6, &ifb.ip6, NULL);
    assert_int_equal(len, 86);
    assert_memory_equal(buf, group_b, 6);
    assert_memory_equal(buf + 38, ip6("ff02::1:ff00:b").b, 16);
    assert_int_equal(buf[21], 255);
    assert_true(tf6_l4_ok(buf, 54, 32, 58));
    assert_int_equal(dp_classify(&ifb, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, 32, &m, &why),
                     0);
    assert_int_equal(m.type, DP_ND_NEIGHBOR_SOLICIT);
    assert_true(dp_addr_eq(&m.target, &ifb.ip6));
    assert_true(m.has_lladdr);
    assert_memory_equal(&m.lladdr, &a_mac, 6);
    /* Not for A (it is not A's address). */
    assert_int_equal(dp_classify(&ifa, buf, (uint16_t)len, 0, &info, &why), DP_PKT_DROP);
    /* Unicast reachability probe of B's link-local address at B's MAC. */
    len = dp_nd_build_ns(buf, sizeof(buf), &a_mac, &ifa.ip6_ll, &ifb.ip6_ll, &b_mac);
    assert_memory_equal(buf, &b_mac, 6);
    assert_memory_equal(buf + 38, ifb.ip6_ll.b, 16);
    assert_true(tf6_l4_ok(buf, 54, 32, 58));
    assert_int_equal(dp_classify(&ifb, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ND);
    /* Duplicate address detection of fd00::b by A: from ::, no option, to the group. */
    len = dp_nd_build_ns(buf, sizeof(buf), &a_mac, NULL, &ifb.ip6, NULL);
    assert_int_equal(len, 78);
    assert_memory_equal(buf, group_b, 6);
    assert_true(dp_ipv6_is_unspecified(buf + 22));
    assert_true(tf6_l4_ok(buf, 54, 24, 58));
    assert_int_equal(dp_classify(&ifb, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, 24, &m, &why),
                     0);
    assert_false(m.has_lladdr);

    /* B answers A: solicited, override, with B's MAC. */
    len = dp_nd_build_na(buf, sizeof(buf), &b_mac, &ifb.ip6, &ifa.ip6, &a_mac,
                         DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE);
    assert_int_equal(len, 86);
    assert_memory_equal(buf, &a_mac, 6);
    assert_memory_equal(buf + 22, ifb.ip6.b, 16);
    assert_true(tf6_l4_ok(buf, 54, 32, 58));
    assert_int_equal(dp_classify(&ifa, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ND);
    assert_int_equal(dp_nd_parse((const struct rte_ipv6_hdr *)(buf + 14), buf + 54, 32, &m, &why),
                     0);
    assert_int_equal(m.type, DP_ND_NEIGHBOR_ADVERT);
    assert_int_equal(m.flags, DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE);
    assert_true(dp_addr_eq(&m.target, &ifb.ip6));
    assert_memory_equal(&m.lladdr, &b_mac, 6);
    /* B defends its address against a duplicate address detection: to all nodes. */
    {
        struct rte_ether_addr mc;

        dp_ipv6_mcast_mac(&all_nodes, &mc);
        len = dp_nd_build_na(buf, sizeof(buf), &b_mac, &ifb.ip6, &all_nodes, &mc,
                             DP_ND_NA_FLAG_OVERRIDE);
        assert_int_equal(dp_classify(&ifa, buf, (uint16_t)len, 0, &info, &why), DP_PKT_ND);
    }

    assert_int_equal(dp_nd_build_ns(buf, 85, &a_mac, &ifa.ip6, &ifb.ip6, NULL), -ENOSPC);
    assert_int_equal(dp_nd_build_na(buf, 85, &b_mac, &ifb.ip6, &ifa.ip6, &a_mac, 0), -ENOSPC);
}

static void test_ipv6_addr_helpers(void **state)
{
    static const struct rte_ether_addr intel = {.addr_bytes = {0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c}};
    struct dp_addr a, gw = ip6("fe80::1"), none, g;
    struct rte_ether_addr mac;
    char s[DP_ADDR_STR_MAX];

    (void)state;
    memset(&none, 0, sizeof(none));
    /* RFC 4291 appendix A: the universal/local bit inverted, ff:fe in the middle. */
    a = dp_ipv6_link_local(&intel);
    assert_string_equal(dp_addr_str(&a, s, sizeof(s)), "fe80::21b:21ff:fe3a:4b5c");
    a = dp_ipv6_link_local(&a_mac);
    assert_string_equal(dp_addr_str(&a, s, sizeof(s)), "fe80::ff:fe00:a");
    assert_true(dp_ipv6_is_link_local(a.b));
    /* RFC 4291 2.7.1 and RFC 2464 7. */
    a = ip6("fd00::1:abcd:ef01");
    g = dp_ipv6_solicited_node(&a);
    assert_string_equal(dp_addr_str(&g, s, sizeof(s)), "ff02::1:ffcd:ef01");
    assert_true(dp_ipv6_is_solicited_node_of(g.b, &a));
    assert_false(dp_ipv6_is_solicited_node_of(g.b, &gw));
    dp_ipv6_mcast_mac(&g, &mac);
    assert_memory_equal(&mac, ((const uint8_t[]){0x33, 0x33, 0xff, 0xcd, 0xef, 0x01}), 6);
    assert_true(dp_ipv6_is_all_nodes(ip6("ff02::1").b));
    assert_false(dp_ipv6_is_all_nodes(ip6("ff02::2").b));

    /* Next hop: in the prefix or link-local: itself; else the gateway, or none. */
    a = ip6("fd00::1:2");
    g = ip6("fd00::5");
    a = dp_ipv6_next_hop(&a, &g, 64, &gw);
    assert_string_equal(dp_addr_str(&a, s, sizeof(s)), "fd00::1:2");
    a = ip6("fd01::1");
    a = dp_ipv6_next_hop(&a, &g, 64, &gw);
    assert_true(dp_addr_eq(&a, &gw));
    a = ip6("fe80::77");
    a = dp_ipv6_next_hop(&a, &g, 64, &none);
    assert_string_equal(dp_addr_str(&a, s, sizeof(s)), "fe80::77");
    a = ip6("fd01::1");
    a = dp_ipv6_next_hop(&a, &g, 64, &none);
    assert_true(dp_addr_is_zero(&a));
    a = ip6("fd00::8000:0:0:1");
    assert_true(dp_ipv6_same_prefix(&a, &g, 64));
    assert_false(dp_ipv6_same_prefix(&a, &g, 65));
    assert_true(dp_ipv6_same_prefix(&a, &g, 0));
    assert_true(dp_ipv6_same_prefix(&g, &g, 128));
    assert_false(dp_ipv6_same_prefix(&g, &g, 129));
    a = ip6("fd00::2"); /* ...0010 against ...0101 */
    assert_true(dp_ipv6_same_prefix(&a, &g, 125));
    assert_false(dp_ipv6_same_prefix(&a, &g, 126));

    /* dp_addr: both families in one value. */
    a = ip6("198.18.0.1");
    assert_true(dp_addr_is_v4(&a));
    assert_int_equal(rte_be_to_cpu_32(dp_addr_get_v4(&a)), 0xc6120001);
    assert_string_equal(dp_addr_str(&a, s, sizeof(s)), "198.18.0.1");
    assert_true(dp_addr_is_unicast(&a));
    a = ip6("fd00::1");
    assert_false(dp_addr_is_v4(&a));
    assert_true(dp_addr_is_unicast(&a));
    assert_int_equal(dp_addr_parse("::ffff:198.18.0.1", &a), -EINVAL); /* ambiguous */
    assert_int_equal(dp_addr_parse("fd00::1%eth0", &a), -EINVAL);
    assert_int_equal(dp_addr_parse("[fd00::1]", &a), -EINVAL);
    assert_int_equal(dp_addr_parse("", &a), -EINVAL);
    assert_int_equal(dp_addr_parse(NULL, &a), -EINVAL);
    a = ip6("::");
    assert_false(dp_addr_is_unicast(&a));
    a = ip6("::1");
    assert_false(dp_addr_is_unicast(&a));
    a = ip6("::198.18.0.1");
    assert_false(dp_addr_is_unicast(&a));
    a = ip6("ff02::1");
    assert_false(dp_addr_is_unicast(&a));
    a = ip6("224.0.0.1");
    assert_false(dp_addr_is_unicast(&a));
    a = ip6("fd00::1");
    g = ip6("fd00::1");
    assert_true(dp_addr_eq(&a, &g));
    g.b[0] = 0xfc;
    assert_false(dp_addr_eq(&a, &g));
    assert_string_equal(dp_addr_str(&a, s, 3), "?");
}

static void test_addr_helpers(void **state)
{
    struct rte_ether_addr mac;
    rte_be32_t ip;
    rte_be32_t me = rte_cpu_to_be_32(0xc6120002), gw = rte_cpu_to_be_32(0xc6120001);

    (void)state;
    assert_int_equal(dp_eth_addr_parse("02:00:00:00:00:0b", &mac), 0);
    assert_memory_equal(&mac, &b_mac, 6);
    assert_int_equal(dp_eth_addr_parse("02:00:00:00:00:0B", &mac), 0);
    assert_int_equal(dp_eth_addr_parse("02:00:00:00:00", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("02:00:00:00:00:0b:", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("02:00:00:00:00:0bx", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("2:0:0:0:0:b", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("ff:ff:ff:ff:ff:ff", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("01:00:5e:00:00:01", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse("00:00:00:00:00:00", &mac), -EINVAL);
    assert_int_equal(dp_eth_addr_parse(NULL, &mac), -EINVAL);

    assert_int_equal(dp_ipv4_addr_parse("198.18.0.1", &ip), 0);
    assert_int_equal(rte_be_to_cpu_32(ip), 0xc6120001);
    assert_int_equal(dp_ipv4_addr_parse("198.18.0", &ip), -EINVAL);
    assert_int_equal(dp_ipv4_addr_parse("198.18.0.256", &ip), -EINVAL);
    assert_int_equal(dp_ipv4_addr_parse("198.18.0.1 ", &ip), -EINVAL);

    assert_true(dp_ipv4_is_unicast(rte_cpu_to_be_32(0xc6120001)));
    assert_false(dp_ipv4_is_unicast(0));
    assert_false(dp_ipv4_is_unicast(rte_cpu_to_be_32(0x00000001)));
    assert_false(dp_ipv4_is_unicast(rte_cpu_to_be_32(0xe0000001)));
    assert_false(dp_ipv4_is_unicast(rte_cpu_to_be_32(0x7f000001)));
    assert_true(dp_ipv4_is_unicast(rte_cpu_to_be_32(0xdfffffff)));
    assert_false(dp_ipv4_is_unicast(rte_cpu_to_be_32(0xffffffff)));

    /* On link (/24) -> itself; off link -> gateway; /0 -> everything on link. */
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0xc6120063), me, 24, gw),
                     rte_cpu_to_be_32(0xc6120063));
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0xc6130063), me, 24, gw), gw);
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0xc6130063), me, 15, gw),
                     rte_cpu_to_be_32(0xc6130063));
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0x08080808), me, 0, gw),
                     rte_cpu_to_be_32(0x08080808));
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0xc6120003), me, 32, gw), gw);
    assert_int_equal(dp_ipv4_next_hop(rte_cpu_to_be_32(0xc6120003), me, 33, gw), gw);
}

static void test_cksum_adjust(void **state)
{
    uint8_t data[8] = {0x12, 0x34, 0xff, 0xff, 0x00, 0x01, 0xab, 0xcd};
    uint32_t rnd = 99;
    int i;

    (void)state;
    /* Incremental update equals recomputation for random word changes. */
    for (i = 0; i < 100000; i++) {
        uint16_t ck = (uint16_t)~tf_sum(data, sizeof(data), 0);
        rte_be16_t stored = rte_cpu_to_be_16(ck), old_w, new_w, upd;
        int w;

        rnd = rnd * 1103515245u + 12345u;
        w = (int)((rnd >> 8) % 4);
        memcpy(&old_w, data + 2 * w, 2);
        tf_put16(data + 2 * w, (uint16_t)(rnd >> 16));
        memcpy(&new_w, data + 2 * w, 2);
        upd = dp_cksum_adjust16(stored, old_w, new_w);
        /* Verifies: the data plus the updated checksum sums to 0xffff. */
        assert_int_equal(tf_sum(data, sizeof(data), rte_be_to_cpu_16(upd)), 0xffff);
    }
}

/* dp_cksum_add()/dp_cksum_fold() equal the byte-wise RFC 1071 sum for every length and
 * start offset (the stored checksum is the native-order complement). */
static void test_cksum_fast(void **state)
{
    static uint8_t data[1600];
    uint32_t rnd = 4242;
    size_t len, off, i;

    (void)state;
    for (i = 0; i < sizeof(data); i++) {
        rnd = rnd * 1103515245u + 12345u;
        data[i] = (uint8_t)(rnd >> 16);
    }
    for (off = 0; off < 8; off += 2) {
        for (len = 0; len < 1500; len += (len < 80 ? 1 : 37)) {
            uint16_t native = dp_cksum_fold(dp_cksum_add(data + off, len, 0));

            assert_int_equal(rte_be_to_cpu_16(native), tf_sum(data + off, len, 0));
        }
    }
    /* All ones data: the end-around carry must fold to 0xffff, never 0. */
    memset(data, 0xff, sizeof(data));
    assert_int_equal(dp_cksum_fold(dp_cksum_add(data, sizeof(data), 0)), 0xffff);
    memset(data, 0, sizeof(data));
    assert_int_equal(dp_cksum_fold(dp_cksum_add(data, sizeof(data), 0)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_build_sw),      cmocka_unit_test(test_udp_build_cksum_zero),
        cmocka_unit_test(test_udp_build_offload), cmocka_unit_test(test_udp_build_too_big),
        cmocka_unit_test(test_arp_request),       cmocka_unit_test(test_arp_reply),
        cmocka_unit_test(test_icmp_echo_reply),   cmocka_unit_test(test_addr_helpers),
        cmocka_unit_test(test_cksum_adjust),      cmocka_unit_test(test_cksum_fast),
        cmocka_unit_test(test_udp6_build),        cmocka_unit_test(test_udp6_build_offload),
        cmocka_unit_test(test_icmp6_echo_reply),  cmocka_unit_test(test_nd_build),
        cmocka_unit_test(test_ipv6_addr_helpers), cmocka_unit_test(test_udp_build_ecn),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
