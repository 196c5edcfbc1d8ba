/* net_addr.c: IP addresses as values (see net_addr.h). */
#include "net_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int net_addr_parse(const char *s, struct net_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
        a->family = AF_INET6;
        return 0;
    }
    memset(a, 0, sizeof(*a));
    return -EINVAL;
}

struct net_addr net_addr_v4(uint32_t be)
{
    struct net_addr a = {.family = AF_INET};

    a.u.v4.s_addr = be;
    return a;
}

socklen_t net_addr_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        s4->sin_addr = a->u.v4;
        return sizeof(*s4);
    }
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        s6->sin6_addr = a->u.v6;
        return sizeof(*s6);
    }
    return 0;
}

int net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *a, uint16_t *port)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a->family = AF_INET;
        a->u.v4 = s4->sin_addr;
        if (port)
            *port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a->family = AF_INET6;
        a->u.v6 = s6->sin6_addr;
        if (port)
            *port = ntohs(s6->sin6_port);
        return 0;
    }
    return -EAFNOSUPPORT;
}

const char *net_addr_str(const struct net_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (!a->family || !inet_ntop(a->family, &a->u, buf, (socklen_t)len))
        buf[0] = '\0';
    return buf;
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
    if (a->family != b->family)
        return false;
    if (a->family == AF_INET)
        return a->u.v4.s_addr == b->u.v4.s_addr;
    if (a->family == AF_INET6)
        return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
    return true;
}

const char *net_addr_not_unicast(const struct net_addr *a)
{
    if (a->family == AF_INET) {
        uint32_t h = ntohl(a->u.v4.s_addr);
        if (h == 0)
            return "the unspecified address";
        if (h == 0xffffffffu)
            return "the broadcast address";
        if ((h >> 28) == 0xe) /* 224.0.0.0/4, RFC 5771 */
            return "a multicast address";
        return NULL;
    }
    if (a->family == AF_INET6) {
        if (IN6_IS_ADDR_UNSPECIFIED(&a->u.v6))
            return "the unspecified address";
        if (IN6_IS_ADDR_MULTICAST(&a->u.v6))
            return "a multicast address";
        if (IN6_IS_ADDR_V4MAPPED(&a->u.v6))
            return "an IPv4-mapped address (write the IPv4 address)";
        return NULL;
    }
    return "not an IP address";
}

const char *net_addr_not_peer(const struct net_addr *a, bool dpdk, const struct net_addr *self)
{
    const char *why = net_addr_not_unicast(a);

    if (why || !dpdk)
        return why;
    if (net_addr_is_loopback(a))
        return "a loopback address, not reachable through the DPDK port";
    if (self && self->family && net_addr_equal(a, self))
        return "the DPDK port's own address";
    return NULL;
}

bool net_addr_is_loopback(const struct net_addr *a)
{
    if (a->family == AF_INET)
        return (ntohl(a->u.v4.s_addr) >> 24) == 127;
    if (a->family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&a->u.v6);
    return false;
}
