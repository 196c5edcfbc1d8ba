#!/usr/bin/env python3
"""UDP relay that delays: listens on LISTEN_ADDR:LISTEN_PORT and forwards every datagram to
TARGET_ADDR:TARGET_PORT after DELAY_MS, and the answers back after DELAY_MS, with one
upstream socket per client address (each QUIC connection of a client is its own flow).
A one-way delay without netem (this kernel has none). Prints "relay on PORT" once bound
(LISTEN_PORT 0: a port the kernel picks).

usage: udp_delay_relay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS
"""
import asyncio
import socket
import sys


class Up(asyncio.DatagramProtocol):
    """relay -> target, one per client address"""

    def __init__(self, loop, front, client, delay):
        self.loop, self.front, self.client, self.delay = loop, front, client, delay
        self.t = None
        self.waiting = []  # due before the endpoint was ready: sent as soon as it is

    def connection_made(self, transport):
        self.t = transport
        for data in self.waiting:
            transport.sendto(data)
        self.waiting = []

    def forward(self, data):
        if self.t:
            self.t.sendto(data)
        else:
            self.waiting.append(data)

    def datagram_received(self, data, addr):
        self.loop.call_later(self.delay, self.front.sendto, data, self.client)


class Front(asyncio.DatagramProtocol):
    def __init__(self, loop, target, delay):
        self.loop, self.target, self.delay = loop, target, delay
        self.ups = {}
        self.t = None

    def connection_made(self, transport):
        self.t = transport
        print("relay on", transport.get_extra_info("sockname")[1], flush=True)

    def datagram_received(self, data, addr):
        up = self.ups.get(addr)
        if up is None:
            up = self.ups[addr] = Up(self.loop, self.t, addr, self.delay)
            # A socket of our own: no resolver thread (the first datagrams of a client
            # were lost while one started).
            sock = socket.socket(socket.AF_INET6 if ":" in self.target[0] else socket.AF_INET,
                                 socket.SOCK_DGRAM)
            sock.connect(self.target)
            self.loop.create_task(self.loop.create_datagram_endpoint(lambda: up, sock=sock))
        self.loop.call_later(self.delay, up.forward, data)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__.strip().splitlines()[-1])
    laddr, lport, taddr, tport, delay_ms = sys.argv[1:6]
    loop = asyncio.new_event_loop()
    front = Front(loop, (taddr, int(tport)), int(delay_ms) / 1000.0)
    loop.run_until_complete(
        loop.create_datagram_endpoint(lambda: front, local_addr=(laddr, int(lport))))
    loop.run_forever()


if __name__ == "__main__":
    main()
