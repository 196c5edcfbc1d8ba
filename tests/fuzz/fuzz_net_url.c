/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the one URL and address parser (net/net_url.c, net/net_addr.c):
 * any string is a URL, a URL list, a host name or an address, or is refused with one
 * non-empty line; what is accepted keeps its invariants and formats back to a URL that
 * parses to the same thing.
 *
 * The input: byte 0 picks the entry point (and the flags), the rest is the text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_addr.h"
#include "net_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line, not empty: the contract of every |why|. */
static void one_line(const char *why)
{
    if (why[0] == '\0' || strchr(why, '\n') != NULL)
        abort();
}

static void check_url(const struct net_url *u, unsigned flags)
{
    struct net_url again;
    struct sockaddr_storage ss;
    char buf[NET_URL_MAX + 64], why[256];

    if (u->port == 0 || u->path[0] != '/' || strlen(u->host) > NET_HOST_MAX)
        abort();
    if (u->kind == NET_HOST_NAME) {
        if (u->addr.family != 0 || net_url_sockaddr(u, &ss) != 0 ||
            net_host_name_check(u->host, why, sizeof(why)) != 0)
            abort();
    } else if (net_url_sockaddr(u, &ss) == 0) {
        abort(); /* a literal has its socket address */
    }
    (void)net_addr_not_unicast(&u->addr);
    if (net_url_origin(u, buf, sizeof(buf)) < 0)
        abort();
    if (net_url_format(u, buf, sizeof(buf)) < 0)
        abort();
    /* Round trip: the formatted URL parses to the same URL. */
    if (net_url_parse(buf, flags, &again, why, sizeof(why)) != 0 || again.kind != u->kind ||
        again.port != u->port || strcmp(again.host, u->host) != 0 ||
        strcmp(again.path, u->path) != 0 || !net_addr_equal(&again.addr, &u->addr))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct net_url list[8];
    struct net_url u;
    struct net_addr a, b;
    char *s, why[256], text[NET_ADDR_STR_MAX];
    unsigned n, mode, flags;
    int rc;

    if (size < 1 || size > 4 * NET_URL_LIST_MAX)
        return 0;
    mode = data[0] % 4;
    flags = (data[0] & 0x80) ? NET_URL_AUTHORITY : 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    why[0] = '\0';
    switch (mode) {
    case 0:
        rc = net_url_parse(s, flags, &u, why, sizeof(why));
        if (rc == 0)
            check_url(&u, flags);
        else if (rc != -EINVAL && rc != -E2BIG)
            abort();
        else
            one_line(why);
        break;
    case 1:
        rc = net_url_list_parse(s, flags, list, 8, &n, why, sizeof(why));
        if (rc == 0) {
            if (n < 1 || n > 8)
                abort();
            for (unsigned i = 0; i < n; i++)
                check_url(&list[i], flags);
        } else {
            one_line(why);
        }
        break;
    case 2:
        if (net_host_name_check(s, why, sizeof(why)) != 0)
            one_line(why);
        break;
    default:
        if (net_addr_parse(s, &a) == 0) {
            struct sockaddr_storage ss;
            uint16_t port = 0;

            if (a.family != AF_INET && a.family != AF_INET6)
                abort();
            net_addr_str(&a, text, sizeof(text));
            /* Text and socket address round trips. */
            if (net_addr_parse(text, &b) != 0 || !net_addr_equal(&a, &b))
                abort();
            if (net_addr_sockaddr(&a, 4433, &ss) == 0 ||
                net_addr_from_sockaddr((const struct sockaddr *)&ss, &b, &port) != 0 ||
                !net_addr_equal(&a, &b) || port != 4433)
                abort();
            (void)net_addr_not_unicast(&a);
            (void)net_addr_is_loopback(&a);
        }
        break;
    }
    free(s);
    return 0;
}
