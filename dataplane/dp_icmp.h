/* dp_icmp.h: ICMP echo (RFC 792) validation and the in-place echo reply. */
#ifndef DP_ICMP_H
#define DP_ICMP_H

#include <stdint.h>

#include <rte_icmp.h>

#include "dp_net.h"
#include "dp_stats.h"

/* Validates the ICMP message |icmp| of |len| bytes (IP Total Length - IP header length):
 * length >= DP_ICMP_HDR_LEN, checksum over the whole message, type echo request code 0.
 * ICMP has no checksum offload, so this is always software. Returns 0, or -1 with |*why|
 * set (ICMP_LEN, ICMP_CKSUM, ICMP_TYPE). */
int dp_icmp_check(const struct rte_icmp_hdr *icmp, uint16_t len, enum dp_drop *why);

/* Turns the echo request in |frame| (|len| bytes, a frame dp_classify() returned as
 * DP_PKT_ICMP_ECHO) into its echo reply in place: swaps MAC and IP addresses, type 0,
 * fresh TTL, both checksums recomputed.
 * Identifier, sequence number and data are echoed unchanged (RFC 792). Returns the reply's
 * frame length (Ethernet padding trimmed), or -EINVAL if |frame| is not such a request. */
int dp_icmp_echo_reply(uint8_t *frame, uint16_t len);

#endif /* DP_ICMP_H */
