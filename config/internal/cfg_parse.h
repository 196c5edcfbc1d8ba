/* SPDX-License-Identifier: MIT */
/*
 * cfg_parse: value parsers of the configuration file, one per value syntax.
 *
 * Each parser reads a whole, already whitespace-trimmed value. On success it
 * returns 0 and fills its output; on error it returns -EINVAL, leaves the
 * output unspecified, and writes a short reason (no value, no newline) into
 * |why| (|whylen| bytes), e.g. "not a number" or "lcore 200 is above 127".
 * The loader (cfg.c) adds file, line, section, key and the offending value.
 */
#ifndef H3DP_CFG_PARSE_H
#define H3DP_CFG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/*
 * cfg_parse_u64 parses an unsigned number: decimal, or hexadecimal with a
 * 0x prefix. With |suffix|, one of K, M, G (binary: 2^10, 2^20, 2^30) may
 * follow. Rejects signs, junk, empty values and values above |max| or below
 * |min|, and overflow.
 */
int cfg_parse_u64(const char *s, bool suffix, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t whylen);

/* cfg_parse_bool accepts true/false, yes/no, on/off, 1/0 (any letter case). */
int cfg_parse_bool(const char *s, bool *out, char *why, size_t whylen);

/*
 * cfg_parse_enum finds |s| in the NULL-terminated |names| (exact match) and
 * stores its index in |out|.
 */
int cfg_parse_enum(const char *s, const char *const *names, unsigned int *out, char *why,
                   size_t whylen);

/*
 * cfg_parse_lcores parses an EAL core list: comma-separated ids and
 * inclusive ranges ("0-1", "0,1", "0-3,6"). Ids are below CFG_LCORE_MAX;
 * an id may appear once.
 */
int cfg_parse_lcores(const char *s, struct cfg_lcores *out, char *why, size_t whylen);

/* cfg_format_lcores writes |s| as a core list ("0-3,6") into |buf|. */
void cfg_format_lcores(const struct cfg_lcores *s, char *buf, size_t buflen);

/* cfg_parse_ipv4 parses a dotted-quad IPv4 address (network byte order out). */
int cfg_parse_ipv4(const char *s, rte_be32_t *out, char *why, size_t whylen);

/*
 * cfg_parse_ipv4_prefix parses "A.B.C.D/LEN" (LEN 1..32) for a host address:
 * rejects unspecified, loopback, multicast, reserved and broadcast addresses,
 * and the network and broadcast address of the prefix (for LEN <= 30).
 */
int cfg_parse_ipv4_prefix(const char *s, rte_be32_t *ip, uint8_t *prefix_len, char *why,
                          size_t whylen);

/*
 * cfg_parse_ipv6 parses an IPv6 literal (no brackets, no zone) into |out|; refuses the
 * unspecified, loopback and multicast addresses and the IPv4-mapped/-compatible forms.
 */
int cfg_parse_ipv6(const char *s, struct in6_addr *out, char *why, size_t whylen);

/*
 * cfg_parse_ipv6_prefix parses "ADDR/LEN" (LEN 1..128) for our own address: what
 * cfg_parse_ipv6 refuses, and a link-local address (fe80::/10: the port's comes from its
 * MAC), are refused.
 */
int cfg_parse_ipv6_prefix(const char *s, struct in6_addr *ip, uint8_t *prefix_len, char *why,
                          size_t whylen);

/* cfg_ipv6_same_prefix: true when |a| and |b| share their first |prefix_len| bits. */
bool cfg_ipv6_same_prefix(const struct in6_addr *a, const struct in6_addr *b,
                          unsigned int prefix_len);

/* cfg_ipv4_netmask returns the netmask of |prefix_len| (0..32), network order. */
rte_be32_t cfg_ipv4_netmask(unsigned int prefix_len);

/*
 * cfg_parse_mac parses "aa:bb:cc:dd:ee:ff" (hex, either case) and rejects the
 * all-zero and group (multicast/broadcast) addresses.
 */
int cfg_parse_mac(const char *s, struct rte_ether_addr *out, char *why, size_t whylen);

/*
 * cfg_parse_device parses a DPDK device: a PCI address "DDDD:BB:DD.F" (or
 * "BB:DD.F", domain 0) or a vdev spec "name[,key=value,...]" whose name is
 * letters, digits and '_' starting with a letter. Fills |p|'s device_name
 * (PCI addresses in full lower-case form), device_args and device_kind.
 */
int cfg_parse_device(const char *s, struct cfg_port *p, char *why, size_t whylen);

/*
 * cfg_parse_listen parses a listening address "IPv4:PORT" or "[IPv6]:PORT" (PORT 1..65535,
 * required) into |addr| and |port|. The address may be the unspecified one (0.0.0.0, [::]:
 * every interface); multicast, broadcast and IPv4-mapped addresses are refused.
 */
int cfg_parse_listen(const char *s, struct net_addr *addr, uint16_t *port, char *why,
                     size_t whylen);

/*
 * cfg_parse_servers parses a list of servers "IP[:PORT]" / "[IPv6]:PORT" / "IPv6" separated
 * by commas (spaces allowed) into |addrs| and |ports| (0 when not given), at most |max|;
 * *|n| gets the count. Refuses the unspecified, broadcast and multicast addresses.
 */
int cfg_parse_servers(const char *s, struct net_addr *addrs, uint16_t *ports, unsigned int max,
                      unsigned int *n, char *why, size_t whylen);

/*
 * cfg_split_words splits |s| into whitespace-separated words. Double quotes
 * group characters (including spaces) into a word and are removed; inside
 * them \" and \\ stand for " and \. The words are stored NUL-separated in
 * |buf|; |*count| receives their number.
 */
int cfg_split_words(const char *s, char *buf, size_t buflen, unsigned int *count, char *why,
                    size_t whylen);

#endif /* H3DP_CFG_PARSE_H */
