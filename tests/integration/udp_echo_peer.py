#!/usr/bin/env python3
"""Kernel-side UDP peer for the dataplane echo service.

Sends COUNT datagrams to HOST:PORT with at most WINDOW unanswered at a time, each with a
sequence number and a payload derived from it (sizes vary from 8 bytes to the largest
that fits a 1500-byte MTU), and checks that every one comes back exactly once and byte
for byte. Nothing is retransmitted: a datagram not echoed within TIMEOUT seconds is a
loss and fails the run.

Exit status: 0 all echoed and identical; 1 loss, corruption, duplicates or a timeout;
2 usage. Prints one summary line.
"""
import argparse
import select
import socket
import struct
import sys
import time

MAX_PAYLOAD = 1500 - 20 - 8  # IPv4 without options + UDP header (RFC 791, RFC 768)
SEQ = struct.Struct("!I")


def payload(seq: int) -> bytes:
    """Deterministic content: 4-byte sequence number then a seq-dependent pattern."""
    size = SEQ.size + (seq * 7919) % (MAX_PAYLOAD - SEQ.size + 1)
    body = bytes(((seq + i * 31) & 0xFF) for i in range(size - SEQ.size))
    return SEQ.pack(seq) + body


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds without any echo before giving up")
    ap.add_argument("--progress", action="store_true",
                    help="print a progress line every 2000 datagrams")
    a = ap.parse_args()
    if a.count < 1 or a.window < 1 or not 0 < a.port < 65536:
        ap.error("count, window must be >= 1 and port 1..65535")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect((a.host, a.port))
    s.setblocking(False)

    outstanding = {}
    next_seq = 0
    done = 0
    bad = dups = 0
    echoed = bytearray(a.count)
    start = last_rx = time.monotonic()
    while done < a.count:
        while next_seq < a.count and len(outstanding) < a.window:
            p = payload(next_seq)
            s.send(p)
            outstanding[next_seq] = p
            next_seq += 1
        r, _, _ = select.select([s], [], [], 0.2)
        now = time.monotonic()
        if not r:
            if now - last_rx > a.timeout:
                break
            continue
        while True:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                break
            last_rx = now
            if len(d) < SEQ.size:
                bad += 1
                continue
            (seq,) = SEQ.unpack_from(d)
            if seq >= a.count:
                bad += 1
            elif echoed[seq]:
                dups += 1
            elif outstanding.get(seq) != d:
                bad += 1
            else:
                echoed[seq] = 1
                del outstanding[seq]
                done += 1
                if a.progress and done % 2000 == 0:
                    print(f"  {done:6d} / {a.count} datagrams echoed", flush=True)
    elapsed = time.monotonic() - start
    lost = a.count - done
    ok = lost == 0 and bad == 0 and dups == 0
    print(f"udp echo: sent {next_seq}, echoed {done}, lost {lost}, corrupt {bad}, "
          f"duplicate {dups}, {elapsed:.2f} s, {done / elapsed:.0f} datagrams/s: "
          f"{'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
