#!/usr/bin/env python3
"""Ingest-socket producer: sends COUNT records of SIZE bytes (JSON lines) to h3dpd's ingest socket
(Unix datagrams, non-blocking). When the daemon's bounded queue is full the send fails
with EAGAIN: the producer counts it, waits 1 ms and sends the same record again, so
nothing is dropped. Prints one JSON line: sent, eagain.

usage: ingest_producer.py SOCKET COUNT SIZE
"""
import json
import socket
import sys
import time


def main():
    path, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = eagain = 0
    deadline = time.monotonic() + 120
    while sent < count:
        # One JSON line of SIZE bytes (the default framing is one record per line).
        head = b'{"seq":%012d,"pad":"' % sent
        rec = head + b"x" * max(0, size - len(head) - 3) + b'"}\n'
        rec = rec[:size] if len(rec) > size else rec
        try:
            s.sendto(rec, path)
            sent += 1
        except BlockingIOError:
            eagain += 1
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
    print(json.dumps({"sent": sent, "eagain": eagain}))
    return 0 if sent == count else 1


if __name__ == "__main__":
    sys.exit(main())
