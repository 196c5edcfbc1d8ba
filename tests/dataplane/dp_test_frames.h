/* dp_test_frames.h: crafting Ethernet/IPv4/UDP/ICMP/ARP frames for the dataplane tests.
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

uint16_t tf_get16(const uint8_t *p);
void tf_put16(uint8_t *p, uint16_t v);
uint32_t tf_get32(const uint8_t *p);
void tf_put32(uint8_t *p, uint32_t v);

#endif /* DP_TEST_FRAMES_H */
