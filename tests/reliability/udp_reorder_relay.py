#!/usr/bin/env python3
"""UDP relay that reorders: listens on LISTEN_PORT, forwards to 127.0.0.1:TARGET_PORT and
back to the last client seen. In each direction, with probability PCT %, a datagram is held
back and sent right after the next one (a swap of two neighbours), which is the reordering
a QUIC receiver must tolerate (RFC 9000 §13.3, RFC 9002 §6.1). Prints "ready" once bound;
on SIGTERM prints "reordered N forwarded M" and exits.

usage: udp_reorder_relay.py LISTEN_PORT TARGET_PORT PCT SEED [ADDR]
(ADDR: the address it listens on and forwards to, default 127.0.0.1)
"""
import random
import selectors
import signal
import socket
import sys


def main():
    listen_port, target_port, pct, seed = (int(x) for x in sys.argv[1:5])
    addr = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
    rng = random.Random(seed)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind((addr, listen_port))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.connect((addr, target_port))
    client = None
    held = {front: None, back: None}
    stats = {"reordered": 0, "forwarded": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    sel.register(front, selectors.EVENT_READ)
    sel.register(back, selectors.EVENT_READ)
    print("ready", flush=True)

    def send(src, data):
        if src is front:
            back.send(data)
        elif client is not None:
            front.sendto(data, client)
        stats["forwarded"] += 1

    while not stop:
        for key, _ in sel.select(0.05):
            src = key.fileobj
            try:
                data, addr = src.recvfrom(65535)
            except OSError:
                continue
            if src is front:
                client = addr
            if held[src] is not None:
                send(src, data)
                send(src, held[src])
                held[src] = None
                stats["reordered"] += 1
            elif rng.randrange(100) < pct:
                held[src] = data
            else:
                send(src, data)
        # A held datagram never waits for long: on a quiet tick it goes out as it is.
        if not sel.select(0):
            for src in (front, back):
                if held[src] is not None:
                    send(src, held[src])
                    held[src] = None
    print(f"reordered {stats['reordered']} forwarded {stats['forwarded']}", flush=True)


if __name__ == "__main__":
    main()
