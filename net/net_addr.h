/* net_addr: IP addresses (IPv4 and IPv6) as values, and socket addresses built from them
 * once. Pure C over the socket API's types: no I/O, no allocation. */
#ifndef H3DP_NET_ADDR_H
#define H3DP_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

/* Text of the longest address (INET6_ADDRSTRLEN) with brackets and ":65535". */
#define NET_ADDR_STR_MAX (INET6_ADDRSTRLEN + 8)

struct net_addr {
    sa_family_t family; /* AF_INET or AF_INET6; 0: none */
    union {
        struct in_addr v4; /* network order */
        struct in6_addr v6;
    } u;
};

/* Parses an IPv4 dotted quad or an IPv6 literal (without brackets) from |s|. Returns 0 or
 * -EINVAL. */
int net_addr_parse(const char *s, struct net_addr *a);

/* IPv4 from a network-order 32-bit value. */
struct net_addr net_addr_v4(uint32_t be);

/* Fills |ss| with |a| and |port| (host order) and returns its length (sizeof sockaddr_in or
 * sockaddr_in6), or 0 when |a| has no family. */
socklen_t net_addr_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss);

/* Reads the address and port (host order; NULL: not wanted) of |sa|. Returns 0 or
 * -EAFNOSUPPORT. */
int net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *a, uint16_t *port);

/* The address as text ("198.18.0.1", "2001:db8::1") into |buf|; returns |buf|. */
const char *net_addr_str(const struct net_addr *a, char *buf, size_t len);

/* True when both hold the same family and address. */
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);

/* Why |a| cannot be a unicast peer, or NULL when it can: the unspecified address (0.0.0.0,
 * ::), a multicast group, the IPv4 limited broadcast. Loopback is the caller's call
 * (net_addr_is_loopback): it is fine over the kernel and meaningless on a DPDK port. */
const char *net_addr_not_unicast(const struct net_addr *a);

/* Why |a| cannot be the server of a connection, or NULL when it can: net_addr_not_unicast,
 * then, on a DPDK port (|dpdk|), a loopback address (a port reaches none) or |self|, the
 * port's own address (NULL or family 0: none). */
const char *net_addr_not_peer(const struct net_addr *a, bool dpdk, const struct net_addr *self);

/* 127.0.0.0/8 or ::1. */
bool net_addr_is_loopback(const struct net_addr *a);

#endif
