/* test_dp_build.c: TX builders (UDP zero copy, ARP, ICMP echo reply) produce frames that
 * dp_classify() accepts on the receiving side and whose checksums verify with an
 * independent RFC 1071 implementation; plus the address helpers. */
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
#include "dp_ipv4.h"
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

    i.mac = *mac;
    i.ip = rte_cpu_to_be_32(ip);
    return i;
}

static struct dp_tx_tuple a_to_b(void)
{
    struct dp_tx_tuple t;

    memset(&t, 0, sizeof(t));
    t.src_mac = a_mac;
    t.dst_mac = b_mac;
    t.src_ip = rte_cpu_to_be_32(A_IP);
    t.dst_ip = rte_cpu_to_be_32(B_IP);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
