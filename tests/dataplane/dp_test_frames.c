/* dp_test_frames.c: see dp_test_frames.h. */
#include <string.h>

#include "dp_test_frames.h"

uint16_t tf_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void tf_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint32_t tf_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void tf_put32(uint8_t *p, uint32_t v)
{
    tf_put16(p, (uint16_t)(v >> 16));
    tf_put16(p + 2, (uint16_t)v);
}

uint16_t tf_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += tf_get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void eth(uint8_t *buf, const struct tf_addrs *a, uint16_t type)
{
    memcpy(buf, a->dst_mac, 6);
    memcpy(buf + 6, a->src_mac, 6);
    tf_put16(buf + 12, type);
}

static void ip(uint8_t *p, const struct tf_addrs *a, uint8_t proto, uint16_t l4len)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    tf_put16(p + 2, (uint16_t)(20 + l4len));
    tf_put16(p + 4, 0x1234);
    tf_put16(p + 6, 0x4000); /* DF */
    p[8] = 64;
    p[9] = proto;
    tf_put32(p + 12, a->src_ip);
    tf_put32(p + 16, a->dst_ip);
    tf_put16(p + 10, (uint16_t)~tf_sum(p, 20, 0));
}

void tf_fix_ip(uint8_t *frame)
{
    uint8_t *p = frame + 14;
    size_t hl = (size_t)(p[0] & 0xf) * 4;

    tf_put16(p + 10, 0);
    tf_put16(p + 10, (uint16_t)~tf_sum(p, hl, 0));
}

static uint16_t udp_sum(const uint8_t *frame)
{
    const uint8_t *p = frame + 14;
    size_t hl = (size_t)(p[0] & 0xf) * 4;
    const uint8_t *u = p + hl;
    uint16_t ulen = tf_get16(u + 4);
    uint32_t ph = 0;

    ph += tf_get16(p + 12) + tf_get16(p + 14) + tf_get16(p + 16) + tf_get16(p + 18);
    ph += 17;
    ph += ulen;
    return tf_sum(u, ulen, ph);
}

void tf_fix_udp(uint8_t *frame)
{
    uint8_t *u = frame + 14 + (size_t)(frame[14] & 0xf) * 4;
    uint16_t c;

    tf_put16(u + 6, 0);
    c = (uint16_t)~udp_sum(frame);
    tf_put16(u + 6, c == 0 ? 0xffff : c);
}

int tf_ip_ok(const uint8_t *frame)
{
    return tf_sum(frame + 14, (size_t)(frame[14] & 0xf) * 4, 0) == 0xffff;
}

int tf_udp_ok(const uint8_t *frame)
{
    const uint8_t *u = frame + 14 + (size_t)(frame[14] & 0xf) * 4;

    return tf_get16(u + 6) == 0 || udp_sum(frame) == 0xffff;
}

void tf_fix_icmp(uint8_t *frame)
{
    uint8_t *p = frame + 14;
    size_t hl = (size_t)(p[0] & 0xf) * 4;
    size_t len = tf_get16(p + 2) - hl;

    tf_put16(p + hl + 2, 0);
    tf_put16(p + hl + 2, (uint16_t)~tf_sum(p + hl, len, 0));
}

size_t tf_udp(uint8_t *buf, const struct tf_addrs *a, uint16_t sport, uint16_t dport,
              const uint8_t *payload, uint16_t plen)
{
    uint8_t *u = buf + 34;

    eth(buf, a, 0x0800);
    ip(buf + 14, a, 17, (uint16_t)(8 + plen));
    tf_put16(u, sport);
    tf_put16(u + 2, dport);
    tf_put16(u + 4, (uint16_t)(8 + plen));
    if (plen > 0)
        memcpy(u + 8, payload, plen);
    tf_fix_udp(buf);
    return 42 + (size_t)plen;
}

size_t tf_icmp_echo(uint8_t *buf, const struct tf_addrs *a, uint16_t id, uint16_t seq,
                    uint16_t dlen)
{
    uint8_t *c = buf + 34;
    uint16_t i;

    eth(buf, a, 0x0800);
    ip(buf + 14, a, 1, (uint16_t)(8 + dlen));
    c[0] = 8;
    c[1] = 0;
    tf_put16(c + 4, id);
    tf_put16(c + 6, seq);
    for (i = 0; i < dlen; i++)
        c[8 + i] = (uint8_t)(i * 7 + 3);
    tf_fix_icmp(buf);
    return 42 + (size_t)dlen;
}

size_t tf_arp(uint8_t *buf, const struct tf_addrs *a, uint16_t op, const uint8_t *tha)
{
    uint8_t *p = buf + 14;

    eth(buf, a, 0x0806);
    tf_put16(p, 1);
    tf_put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    tf_put16(p + 6, op);
    memcpy(p + 8, a->src_mac, 6);
    tf_put32(p + 14, a->src_ip);
    memcpy(p + 18, tha, 6);
    tf_put32(p + 24, a->dst_ip);
    return 42;
}

/* ---------------------------------------------------------------- IPv6 */

static void ip6(uint8_t *p, const struct tf_addrs6 *a, uint8_t proto, uint16_t plen)
{
    memset(p, 0, 40);
    p[0] = 0x60;
    p[1] = 0x0a; /* traffic class 0, flow label 0xabcde */
    p[2] = 0xbc;
    p[3] = 0xde;
    tf_put16(p + 4, plen);
    p[6] = proto;
    p[7] = a->hops ? a->hops : 64;
    memcpy(p + 8, a->src_ip, 16);
    memcpy(p + 24, a->dst_ip, 16);
}

/* The pseudo-header sum of the packet whose IPv6 header is at |p|. */
static uint32_t ph6(const uint8_t *p, uint16_t l4_len, uint8_t proto)
{
    uint32_t s = 0;
    int i;

    for (i = 8; i < 40; i += 2)
        s += tf_get16(p + i);
    return s + l4_len + proto;
}

void tf6_fix_l4(uint8_t *frame, size_t l4_off, uint16_t l4_len, uint8_t proto, size_t ck_off)
{
    uint8_t *l4 = frame + l4_off;
    uint16_t c;

    tf_put16(l4 + ck_off, 0);
    c = (uint16_t)~tf_sum(l4, l4_len, ph6(frame + 14, l4_len, proto));
    tf_put16(l4 + ck_off, proto == 17 && c == 0 ? 0xffff : c);
}

int tf6_l4_ok(const uint8_t *frame, size_t l4_off, uint16_t l4_len, uint8_t proto)
{
    if (proto == 17 && tf_get16(frame + l4_off + 6) == 0)
        return 0;
    return tf_sum(frame + l4_off, l4_len, ph6(frame + 14, l4_len, proto)) == 0xffff;
}

size_t tf6_udp(uint8_t *buf, const struct tf_addrs6 *a, uint16_t sport, uint16_t dport,
               const uint8_t *payload, uint16_t plen)
{
    uint8_t *u = buf + 54;

    memcpy(buf, a->dst_mac, 6);
    memcpy(buf + 6, a->src_mac, 6);
    tf_put16(buf + 12, 0x86dd);
    ip6(buf + 14, a, 17, (uint16_t)(8 + plen));
    tf_put16(u, sport);
    tf_put16(u + 2, dport);
    tf_put16(u + 4, (uint16_t)(8 + plen));
    if (plen > 0 && payload != NULL)
        memcpy(u + 8, payload, plen);
    else if (plen > 0)
        memset(u + 8, 0, plen);
    tf6_fix_l4(buf, 54, (uint16_t)(8 + plen), 17, 6);
    return 62 + (size_t)plen;
}

size_t tf6_icmp(uint8_t *buf, const struct tf_addrs6 *a, const uint8_t *msg, uint16_t len)
{
    memcpy(buf, a->dst_mac, 6);
    memcpy(buf + 6, a->src_mac, 6);
    tf_put16(buf + 12, 0x86dd);
    ip6(buf + 14, a, 58, len);
    memcpy(buf + 54, msg, len);
    tf6_fix_l4(buf, 54, len, 58, 2);
    return 54 + (size_t)len;
}

size_t tf6_insert_ext(uint8_t *frame, size_t len, uint8_t type, const uint8_t *ext,
                      uint16_t ext_len)
{
    uint8_t *p = frame + 14;

    memmove(frame + 54 + ext_len, frame + 54, len - 54);
    memcpy(frame + 54, ext, ext_len);
    frame[54] = p[6];
    p[6] = type;
    tf_put16(p + 4, (uint16_t)(tf_get16(p + 4) + ext_len));
    return len + ext_len;
}
