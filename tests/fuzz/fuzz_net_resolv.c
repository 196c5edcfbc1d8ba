/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for DNS answer handling (net/net_resolv.c): a resolver with a lookup
 * in flight (A and AAAA for NAME) is fed any datagrams through net_resolv_input, then its
 * timers and cache are run; nothing crashes, leaks or reads out of bounds, and every
 * result keeps its invariants (addresses of the right family within the limits, an error
 * with one line).
 *
 * The input is a list of datagrams, each: one control byte, a 2-byte big-endian length,
 * that many bytes (cut at the input's end). Control bit 0 picks the query (A or AAAA)
 * whose random id is written over the first two bytes, unless bit 1 is set (the id as
 * given); bit 2 sends it from another address (a stranger); bit 3 runs the timers first
 * (the next attempt goes out: a later answer may be for the second server).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "net_resolv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "collector.test"
#define S    1000000000ull

struct fz {
    uint16_t id[2]; /* the last A and AAAA queries' ids */
    unsigned sent, done;
};

static int fz_send(void *ctx, const struct net_addr *server, uint16_t port, const uint8_t *msg,
                   size_t len)
{
    struct fz *f = ctx;
    uint16_t qtype;
    size_t off = 12;

    (void)server;
    (void)port;
    f->sent++;
    /* The query's type, after its name: remember its id for the answers. */
    while (off < len && msg[off] != 0)
        off += (size_t)msg[off] + 1;
    if (len < 12 || off + 3 > len)
        abort(); /* our own queries are well formed */
    qtype = (uint16_t)(msg[off + 1] << 8 | msg[off + 2]);
    f->id[qtype == 28] = (uint16_t)(msg[0] << 8 | msg[1]);
    return 0;
}

static void check_result(const struct net_resolv_result *res)
{
    if (res->n4 > NET_RESOLV_MAX_ADDRS || res->n6 > NET_RESOLV_MAX_ADDRS)
        abort();
    for (unsigned i = 0; i < res->n4; i++)
        if (res->v4[i].family != AF_INET || net_addr_not_unicast(&res->v4[i]))
            abort();
    for (unsigned i = 0; i < res->n6; i++)
        if (res->v6[i].family != AF_INET6 || net_addr_not_unicast(&res->v6[i]))
            abort();
    if (res->status < 0 && (res->why[0] == '\0' || strchr(res->why, '\n')))
        abort();
    if (strnlen(res->why, sizeof(res->why)) == sizeof(res->why))
        abort();
}

static void fz_done(void *ctx, const char *name, const struct net_resolv_result *res)
{
    struct fz *f = ctx;

    if (strcmp(name, NAME) != 0)
        abort();
    f->done++;
    check_result(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct net_resolv_io io = {.send = fz_send};
    struct net_resolv_conf conf;
    struct net_resolv_result res;
    struct net_resolv *r = NULL;
    struct net_addr stranger;
    struct fz f = {0};
    uint64_t now = 1000 * S;
    size_t off = 0;
    uint8_t *msg;

    net_resolv_conf_default(&conf);
    conf.nservers = 2;
    net_addr_parse("198.18.0.53", &conf.servers[0].addr);
    net_addr_parse("fd00::53", &conf.servers[1].addr);
    net_addr_parse("198.18.0.54", &stranger);
    if (net_resolv_new(&conf, &io, &f, fz_done, &f, &r) != 0)
        return 0;
    if (net_resolv_lookup(r, NAME, now, &res) != NET_RESOLV_PENDING || f.sent != 2)
        abort();
    while (off + 3 <= size) {
        uint8_t ctl = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        const struct net_addr *from = &conf.servers[0].addr;

        off += 3;
        if (len > size - off)
            len = size - off;
        if (ctl & 8) {
            now = net_resolv_expiry(r) == UINT64_MAX ? now : net_resolv_expiry(r);
            net_resolv_on_expiry(r, now);
        }
        if (f.sent > 2 && (f.sent / 2) % 2 == 0)
            from = &conf.servers[1].addr; /* the attempt went to the second server */
        if (ctl & 4)
            from = &stranger;
        /* An exact copy: ASan sees any read past the datagram. */
        msg = malloc(len ? len : 1);
        if (!msg)
            break;
        memcpy(msg, data + off, len);
        if (len >= 2 && !(ctl & 2)) {
            msg[0] = (uint8_t)(f.id[ctl & 1] >> 8);
            msg[1] = (uint8_t)f.id[ctl & 1];
        }
        (void)net_resolv_input(r, from, NET_RESOLV_DNS_PORT, msg, len, now);
        free(msg);
        off += len;
    }
    /* The cache as the daemon sees it next: a lookup, then every timer to its end. */
    if (net_resolv_lookup(r, NAME, now, &res) >= 0)
        check_result(&res);
    for (int i = 0; i < 64 && net_resolv_expiry(r) != UINT64_MAX; i++) {
        now = net_resolv_expiry(r);
        net_resolv_on_expiry(r, now);
    }
    if (net_resolv_expiry(r) != UINT64_MAX)
        abort(); /* every query ends */
    now += 7200 * S;
    if (net_resolv_lookup(r, NAME, now, &res) >= 0)
        check_result(&res);
    net_resolv_del(r);
    return 0;
}
