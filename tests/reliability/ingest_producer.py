#!/usr/bin/env python3
"""Ingest-socket producer: sends COUNT records of SIZE bytes to h3dpd's ingest socket
(Unix datagrams, non-blocking). When the daemon's bounded queue is full the send fails
with EAGAIN: the producer counts it, waits 1 ms and sends the same record again, so
nothing is dropped. Prints one JSON line: sent, eagain.

usage: ingest_producer.py SOCKET COUNT SIZE [--kind json|binary] [--out FILE]

--kind json (default): JSON lines of about SIZE bytes, each ending in '\\n', with a
  sequence number and varying fields (the default framing, newline, is one record per
  line). --kind binary: SIZE +- 50% arbitrary bytes, '\\n' and NUL included (for
  framing = length, which carries any bytes).
--out FILE: every record sent, each after its 4-byte big-endian length, so a test can
  compare them with what the collector got.
"""
import argparse
import json
import random
import socket
import struct
import sys
import time


def json_record(seq, size, rnd):
    head = b'{"seq":%012d,"host":"appliance-%d","temp":%d.%d,"pad":"' % (
        seq, rnd.randrange(64), rnd.randrange(-40, 90), rnd.randrange(10))
    rec = head + bytes(rnd.choice(b"abcdefghij") for _ in range(max(0, size - len(head) - 3)))
    return rec + b'"}\n'


def binary_record(seq, size, rnd):
    n = max(5, rnd.randrange(size // 2, size + size // 2 + 1))
    body = bytes(rnd.choice(b"ab\n\x00\xff{}") for _ in range(n - 4))
    return struct.pack(">I", seq) + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("count", type=int)
    ap.add_argument("size", type=int)
    ap.add_argument("--kind", choices=["json", "binary"], default="json")
    ap.add_argument("--out")
    a = ap.parse_args()
    rnd = random.Random(a.count * 7919 + a.size)
    make = json_record if a.kind == "json" else binary_record
    out = open(a.out, "wb") if a.out else None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = eagain = 0
    deadline = time.monotonic() + 120
    rec = make(0, a.size, rnd)
    while sent < a.count:
        try:
            s.sendto(rec, a.socket)
        except BlockingIOError:
            eagain += 1
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
            continue
        if out:
            out.write(struct.pack(">I", len(rec)) + rec)
        sent += 1
        rec = make(sent, a.size, rnd)
    if out:
        out.close()
    print(json.dumps({"sent": sent, "eagain": eagain}))
    return 0 if sent == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
