/* dp_addr.h: an IP address as the dataplane keys tables with it (neighbours; flows may
 * follow): IPv6 or IPv4, one 16-byte value.
 *
 * An IPv4 address is held as its IPv4-mapped IPv6 form ::ffff:a.b.c.d (RFC 4291 2.5.5.2),
 * so both families hash and compare as the same two 64-bit words, with no family branch on
 * the fast path. No IPv6 neighbour or peer can have a mapped address (it never appears on
 * the wire), so the form is unambiguous. All-zero (::) is never a valid key: tables use it
 * for "empty".
 *
 * Pure inline C over bytes: no EAL, no socket API types (the upper layers convert from
 * net_addr with dp_addr_v4()/dp_addr_v6()).
 */
#ifndef DP_ADDR_H
#define DP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>

#include "dp_ipv4.h"

#define DP_ADDR_LEN 16
/* "2001:db8::1" or "198.18.0.1" with a terminating NUL (INET6_ADDRSTRLEN). */
#define DP_ADDR_STR_MAX 46

struct dp_addr {
    union {
        uint8_t b[DP_ADDR_LEN]; /* network order, as on the wire */
        uint32_t w32[4];
        uint64_t w64[2];
    };
};

/* The IPv4-mapped prefix as the first 12 bytes: 0:0:0:0:0:ffff. */
static inline struct dp_addr dp_addr_v4(rte_be32_t ip)
{
    struct dp_addr a;

    /* Whole 64-bit stores: a key built with 32-bit stores and hashed with 64-bit loads
     * stalls store-to-load forwarding (measured: 5x the cost of the lookup). */
    a.w64[0] = 0;
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
    a.w64[1] = (uint64_t)ip << 32 | rte_cpu_to_be_32(0x0000ffffu);
#else
    a.w64[1] = (uint64_t)rte_cpu_to_be_32(0x0000ffffu) << 32 | ip;
#endif
    return a;
}

/* An IPv6 address from its 16 wire bytes. */
static inline struct dp_addr dp_addr_v6(const uint8_t b[DP_ADDR_LEN])
{
    struct dp_addr a;

    memcpy(a.b, b, DP_ADDR_LEN);
    return a;
}

static inline bool dp_addr_is_v4(const struct dp_addr *a)
{
    return a->w64[0] == 0 && a->w32[2] == rte_cpu_to_be_32(0x0000ffffu);
}

/* The IPv4 address (network order) of a dp_addr_is_v4() address. */
static inline rte_be32_t dp_addr_get_v4(const struct dp_addr *a)
{
    return a->w32[3];
}

static inline bool dp_addr_eq(const struct dp_addr *a, const struct dp_addr *b)
{
    return ((a->w64[0] ^ b->w64[0]) | (a->w64[1] ^ b->w64[1])) == 0;
}

static inline bool dp_addr_is_zero(const struct dp_addr *a)
{
    return (a->w64[0] | a->w64[1]) == 0;
}

/* A 32-bit hash of every bit of |a| (multiplicative: the high bits are the best mixed,
 * so a table of 2^k slots takes the top k). */
static inline uint32_t dp_addr_hash(const struct dp_addr *a)
{
    uint64_t h = (a->w64[0] * 0x9e3779b97f4a7c15ull) ^ a->w64[1];

    h ^= h >> 32; /* the last bytes of an address (high bits here) reach the low half */
    return (uint32_t)((h * 0xc2b2ae3d27d4eb4full) >> 32);
}

/* True for an address that can be a unicast neighbour or peer on the wire: IPv4 as
 * dp_ipv4_is_unicast(); IPv6 not unspecified (::), not loopback (::1), not multicast
 * (ff00::/8), not IPv4-compatible/mapped forms other than a valid mapped IPv4. */
static inline bool dp_addr_is_unicast(const struct dp_addr *a)
{
    if (dp_addr_is_v4(a))
        return dp_ipv4_is_unicast(dp_addr_get_v4(a));
    if (a->b[0] == 0xff)
        return false;
    /* ::/96 covers :: and ::1 and the deprecated IPv4-compatible forms. */
    return !(a->w64[0] == 0 && a->w32[2] == 0);
}

/* Parses an IPv4 dotted quad or an IPv6 literal (no brackets, no zone) from |s| into
 * |*out|. An IPv4-mapped IPv6 literal ("::ffff:198.18.0.1") is refused: it would read as
 * IPv4. Returns 0, or -EINVAL. */
int dp_addr_parse(const char *s, struct dp_addr *out);

/* Text of |a| ("198.18.0.1" for IPv4, RFC 5952 form for IPv6) into |buf| (|len| >=
 * DP_ADDR_STR_MAX is always enough); returns |buf|. */
const char *dp_addr_str(const struct dp_addr *a, char *buf, size_t len);

#endif /* DP_ADDR_H */
