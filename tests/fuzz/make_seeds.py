#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets made by hand (corpus/fuzz_NAME/seed-*):
frames for the classifier, URLs, headers files, Retry-After values, DNS answers, h3sink
requests. Run from anywhere; rewrites only the seed-* files it makes (the same bytes each time). The corpus of
fuzz_ctl_proto (seed*.json) is kept as it is."""
import gzip
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


OUR_MAC, PEER_MAC = bytes([2, 0, 0, 0, 0, 2]), bytes([2, 0, 0, 0, 0, 1])
OUR_IP, PEER_IP = bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1])
OUR_IP6 = bytes.fromhex("fd000000000000000000000000000002")
PEER_IP6 = bytes.fromhex("fd000000000000000000000000000001")


def ipv4(proto, payload, src=PEER_IP, dst=OUR_IP):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(nxt, payload, src=PEER_IP6, dst=OUR_IP6, hops=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, hops, src, dst) + payload


def udp6_dgram(sport, dport, data, src=PEER_IP6, dst=OUR_IP6):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = src + dst + struct.pack("!IxxxB", len(u), 17)
    return u[:6] + struct.pack("!H", csum(pseudo + u) or 0xFFFF) + u[8:]


def icmp6(msg, src=PEER_IP6, dst=OUR_IP6):
    pseudo = src + dst + struct.pack("!IxxxB", len(msg), 58)
    return msg[:2] + struct.pack("!H", csum(pseudo + msg)) + msg[4:]


def udp4(sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = PEER_IP + OUR_IP + struct.pack("!BBH", 0, 17, len(u))
    return u[:6] + struct.pack("!H", csum(pseudo + u) or 0xFFFF) + u[8:]


def eth(etype, payload, dst=OUR_MAC):
    return dst + PEER_MAC + struct.pack("!H", etype) + payload


def cfg():
    with open(os.path.join(HERE, "..", "..", "config", "h3dpd.conf"), "rb") as f:
        put("fuzz_cfg", "shipped", f.read())
    put("fuzz_cfg", "kernel", "[eal]\nlcores = 0-1\nargs = --no-pci\n[dataplane]\nio = kernel\n"
        "[upload]\nurl = https://198.18.0.1:4433/t, https://c.test/t\nheaders_file =\n"
        "[dns]\nservers = 198.18.0.53, [fd00::53]:5353\n[port]\nmtu = 0x5dc\n")


def frames():
    quic = bytes([0xC0, 0, 0, 0, 1]) + bytes(40)
    put("fuzz_dp_classify", "udp", b"\0" + eth(0x0800, ipv4(17, udp4(4433, 40000, quic))))
    put("fuzz_dp_classify", "udp-offload", b"\1" + eth(0x0800, ipv4(17, udp4(4433, 40000, b"x"))))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    put("fuzz_dp_classify", "icmp-echo", b"\0" + eth(0x0800, ipv4(1, icmp)))
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, bytes(6), OUR_IP)
    put("fuzz_dp_classify", "arp-request", b"\0" + eth(0x0806, arp, dst=b"\xff" * 6))
    put("fuzz_dp_classify", "padded", b"\0" + eth(0x0800, ipv4(17, udp4(1, 2, b""))) + bytes(18))
    # IPv6 frames: UDP (also behind a Hop-by-Hop header, and a fragment), ICMPv6 echo,
    # Neighbor Solicitation and Advertisement, Router Advertisement, Packet Too Big.
    udp6 = udp6_dgram(4433, 40000, b"quic")
    put("fuzz_dp_classify", "udp6", b"\0" + eth(0x86DD, ipv6(17, udp6)))
    hbh = bytes([17, 0, 1, 4, 0, 0, 0, 0])  # next UDP, 8 bytes, PadN
    put("fuzz_dp_classify", "udp6-hbh", b"\0" + eth(0x86DD, ipv6(0, hbh + udp6)))
    frag = struct.pack("!BBHI", 17, 0, 1, 7)  # next UDP, offset 0, more fragments, id 7
    put("fuzz_dp_classify", "udp6-frag", b"\0" + eth(0x86DD, ipv6(44, frag + udp6)))
    echo6 = icmp6(struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"ping")
    put("fuzz_dp_classify", "icmp6-echo", b"\0" + eth(0x86DD, ipv6(58, echo6)))
    snm = bytes.fromhex("ff0200000000000000000001ff000002")
    ns = icmp6(struct.pack("!BBHI16s", 135, 0, 0, 0, OUR_IP6) + bytes([1, 1]) + PEER_MAC, dst=snm)
    put("fuzz_dp_classify", "nd-solicit",
        b"\0" + eth(0x86DD, ipv6(58, ns, dst=snm, hops=255), dst=bytes([0x33, 0x33, 0xFF, 0, 0, 2])))
    na = icmp6(struct.pack("!BBHI16s", 136, 0, 0, 0x60000000, PEER_IP6) + bytes([2, 1]) + PEER_MAC)
    put("fuzz_dp_classify", "nd-advert", b"\0" + eth(0x86DD, ipv6(58, na, hops=255)))
    router = bytes.fromhex("fe800000000000000000000000000001")
    all_nodes = bytes.fromhex("ff020000000000000000000000000001")
    ra = icmp6(struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + bytes([1, 1]) + PEER_MAC,
               src=router, dst=all_nodes)
    put("fuzz_dp_classify", "router-advert",
        b"\0" + eth(0x86DD, ipv6(58, ra, src=router, dst=all_nodes, hops=255),
                    dst=bytes([0x33, 0x33, 0, 0, 0, 1])))
    quoted = struct.pack("!IHBB16s16s", 6 << 28, 8 + 1400, 17, 64, OUR_IP6, PEER_IP6) + \
        struct.pack("!HHHH", 40000, 4433, 8 + 1400, 0) + bytes(64)
    ptb = icmp6(struct.pack("!BBHI", 2, 0, 0, 1280) + quoted)
    put("fuzz_dp_classify", "ptb", b"\0" + eth(0x86DD, ipv6(58, ptb)))


def urls():
    seeds = {
        "ipv4": "\x00https://198.18.0.1:4433/telemetry?x=1",
        "ipv6": "\x00https://[fd00::1]:4433/v1",
        "name": "\x80https://collector.example",
        "list": "\x01https://a.example/v1, https://198.18.0.7:4433/v1,https://[::1]/",
        "host": "\x02collector-1.example.test",
        "addr4": "\x03198.18.0.1",
        "addr6": "\x03fd00::1:2:3",
        "bad": "\x00http://user@x:0/#f",
    }
    for k, v in seeds.items():
        put("fuzz_net_url", k, v)


def headers():
    put("fuzz_up_headers", "bearer", "# the collector's token\nAuthorization: Bearer abc.def\n")
    put("fuzz_up_headers", "crlf", "x-tenant: acme\r\nx-api-key:  k1 \r\n\r\n")
    put("fuzz_up_headers", "bad", "Host: x\nconnection: close\nno colon\n")


def retry():
    now = struct.pack("<I", 1800000000)
    put("fuzz_up_retry", "seconds", now + b"120")
    put("fuzz_up_retry", "date", now + b"Sun, 06 Nov 2027 08:49:37 GMT")
    put("fuzz_up_retry", "past", now + b"Sun, 06 Nov 1994 08:49:37 GMT")
    put("fuzz_up_retry", "long", now + b"9" * 40)


def dns_name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"


def dns_answer(qtype, rrs, rcode=0, flags=0x8180):
    q = dns_name("collector.test") + struct.pack("!HH", qtype, 1)
    body = b""
    for rtype, rdata, ttl, name in rrs:
        body += (name if name is not None else b"\xc0\x0c") + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata
    h = struct.pack("!HHHHHH", 0, flags | rcode, 1, len(rrs), 0, 0)
    return h + q + body


def datagram(ctl, msg):
    return bytes([ctl]) + struct.pack("!H", len(msg)) + msg


def dns():
    a = dns_answer(1, [(1, bytes([198, 18, 0, 7]), 300, None), (1, bytes([198, 18, 0, 8]), 60, None)])
    aaaa = dns_answer(28, [(28, bytes.fromhex("fd000000000000000000000000000007"), 300, None)])
    put("fuzz_net_resolv", "a-aaaa", datagram(0, a) + datagram(1, aaaa))
    cname = dns_answer(1, [(5, dns_name("real.test"), 30, None), (1, bytes([198, 18, 0, 9]), 20, dns_name("real.test"))])
    put("fuzz_net_resolv", "cname", datagram(0, cname) + datagram(1, dns_answer(28, [])))
    put("fuzz_net_resolv", "nxdomain", datagram(0, dns_answer(1, [], rcode=3)))
    put("fuzz_net_resolv", "servfail-retry", datagram(0, dns_answer(1, [], rcode=2)) + datagram(8, a) + datagram(9, aaaa))
    put("fuzz_net_resolv", "truncated", datagram(0, dns_answer(1, [], flags=0x8380)) + datagram(1, aaaa))


def sink():
    body = b'{"seq":1}\n{"seq":2}\n'
    put("fuzz_sink_request", "newline",
        b"\x05:path: /telemetry\nh3dp-framing: newline\nh3dp-records: 2\n\n" + body)
    put("fuzz_sink_request", "gzip",
        b"\x85content-encoding: gzip\nh3dp-framing: newline\nh3dp-records: 2\n\n" + gzip.compress(body, mtime=0))
    put("fuzz_sink_request", "gzip-two-members",
        b"\x09content-encoding: x-gzip\n\n" + gzip.compress(b"a", mtime=0) + gzip.compress(b"b", mtime=0))
    length = struct.pack("!I", 3) + b"abc" + struct.pack("!I", 0)
    put("fuzz_sink_request", "length",
        b"\x11h3dp-framing: length\nh3dp-records: 2\ncontent-digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:\n\n" + length)
    put("fuzz_sink_request", "bytes", b"\x00:path: /bytes/1024?x\ncontent-encoding: identity, zstd\n\n")


if __name__ == "__main__":
    cfg()
    frames()
    urls()
    headers()
    retry()
    dns()
    sink()
    sys.exit(0)
