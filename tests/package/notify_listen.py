#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT: what systemd's notify socket would receive.

Binds a Unix datagram socket at SOCKET (a Type=notify service's $NOTIFY_SOCKET) and appends
every message to OUT as one line, its fields ("READY=1", "STATUS=...") joined by '|'.
Runs until killed."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1, encoding="utf-8") as out:
    while True:
        msg = sock.recv(65536).decode("utf-8", "replace")
        out.write(msg.strip("\n").replace("\n", "|") + "\n")
