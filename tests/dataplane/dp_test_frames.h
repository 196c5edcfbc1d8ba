/* dp_test_frames.h: crafting Ethernet/IPv4/UDP/ICMP/ARP and IPv6/UDP/ICMPv6 frames for the
 * dataplane tests.
 *
 * Written byte by byte with an independent RFC 1071 checksum (no DPDK helpers), so the
 * tests check dp_* against a second implementation rather than against itself.
 */
#ifndef DP_TEST_FRAMES_H
#define DP_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define TF_BUF_LEN 2048

/* Addresses of a crafted frame; IPs in host order (0xc6120001 = 198.18.0.1). */
struct tf_addrs {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    uint32_t src_ip;
    uint32_t dst_ip;
};

/* RFC 1071 one's complement sum of |len| bytes (big-endian 16-bit words) added to |sum|,
 * folded to 16 bits, not complemented. */
uint16_t tf_sum(const uint8_t *p, size_t len, uint32_t sum);

/* Writes a UDP frame; returns its length. Checksums correct. */
size_t tf_udp(uint8_t *buf, const struct tf_addrs *a, uint16_t sport, uint16_t dport,
              const uint8_t *payload, uint16_t plen);

/* Writes an ICMP echo request (id, seq, |dlen| data bytes of pattern); returns length. */
size_t tf_icmp_echo(uint8_t *buf, const struct tf_addrs *a, uint16_t id, uint16_t seq,
                    uint16_t dlen);

/* Writes an ARP packet (op, sender a->src_mac/src_ip, target tha/dst_ip), Ethernet dst
 * a->dst_mac; returns 42 (unpadded). */
size_t tf_arp(uint8_t *buf, const struct tf_addrs *a, uint16_t op, const uint8_t *tha);

/* Recomputes the IPv4 header checksum of the frame (IHL honoured). */
void tf_fix_ip(uint8_t *frame);
/* Recomputes the UDP checksum (IHL honoured; uses the UDP length field). */
void tf_fix_udp(uint8_t *frame);
/* Recomputes the ICMP checksum over IP Total Length - IHL*4 bytes. */
void tf_fix_icmp(uint8_t *frame);

/* True when the IPv4 header checksum of |frame| verifies. */
int tf_ip_ok(const uint8_t *frame);
/* True when the UDP checksum verifies (or is 0). */
int tf_udp_ok(const uint8_t *frame);

/* ---- IPv6 (RFC 8200): a fixed header, no extension headers unless inserted */

struct tf_addrs6 {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    uint8_t src_ip[16];
    uint8_t dst_ip[16];
    uint8_t hops; /* Hop Limit; 0 is written as 64 */
};

/* Writes an IPv6 UDP frame (|payload| NULL: |plen| zero bytes); returns its length
 * (62 + plen). Checksum correct. */
size_t tf6_udp(uint8_t *buf, const struct tf_addrs6 *a, uint16_t sport, uint16_t dport,
               const uint8_t *payload, uint16_t plen);

/* Writes an IPv6 frame carrying the ICMPv6 message |msg| (|len| bytes: type, code, checksum
 * (overwritten), body); returns its length (54 + len). Checksum correct. */
size_t tf6_icmp(uint8_t *buf, const struct tf_addrs6 *a, const uint8_t *msg, uint16_t len);

/* Inserts the extension header |ext| (|ext_len| bytes, a multiple of 8, its Next Header
 * byte overwritten with the frame's current one) of type |type| right behind the fixed
 * header of the |len|-byte frame, which grows by |ext_len|; returns the new length. The
 * upper-layer checksum stays right (its pseudo-header does not change). */
size_t tf6_insert_ext(uint8_t *frame, size_t len, uint8_t type, const uint8_t *ext,
                      uint16_t ext_len);

/* Recomputes the upper-layer checksum (field at |ck_off| in it: UDP 6, ICMPv6 2) of the
 * protocol |proto| packet at |l4_off| in the frame, |l4_len| bytes. */
void tf6_fix_l4(uint8_t *frame, size_t l4_off, uint16_t l4_len, uint8_t proto, size_t ck_off);

/* True when the upper-layer checksum at |l4_off| verifies (a zero UDP checksum does not). */
int tf6_l4_ok(const uint8_t *frame, size_t l4_off, uint16_t l4_len, uint8_t proto);

uint16_t tf_get16(const uint8_t *p);
void tf_put16(uint8_t *p, uint16_t v);
uint32_t tf_get32(const uint8_t *p);
void tf_put32(uint8_t *p, uint32_t v);

#endif /* DP_TEST_FRAMES_H */
