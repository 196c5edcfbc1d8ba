#!/usr/bin/env python3
"""collector_backend.py: the application behind Caddy in tests/daemon/collector.sh.

    collector_backend.py ADDR PORT TOTALS_FILE EXPECTED_AUTHORIZATION

An HTTP/1.1 server (Caddy reverse-proxies the collector's uploads to it) that answers
every POST with 200 after reading its body (content-length or chunked), and counts:
requests, records (the sum of the h3dp-records header values), body bytes, distinct
h3dp-batch ids and repeated ones (with their records), and how many requests carried
exactly EXPECTED_AUTHORIZATION (Caddy passes the Authorization field on). After each
request the totals are written to TOTALS_FILE (JSON, replaced atomically), so the test
reads them with jq at any time; GET /totals answers them too. Prints "listening on
ADDR:PORT" once ready. SIGTERM/SIGINT: exit 0.
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Totals:
    def __init__(self, path, auth):
        self.path = path
        self.auth = auth
        self.lock = threading.Lock()
        self.batches = set()
        self.t = {"requests": 0, "records": 0, "bytes": 0, "batches": 0, "batches_dup": 0,
                  "records_dup": 0, "auth_ok": 0, "auth_other": 0, "no_records_header": 0}
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.t, f)
        os.replace(tmp, self.path)

    def add(self, headers, nbytes):
        with self.lock:
            t = self.t
            t["requests"] += 1
            t["bytes"] += nbytes
            if headers.get("Authorization") == self.auth:
                t["auth_ok"] += 1
            else:
                t["auth_other"] += 1
            recs = headers.get("h3dp-records")
            n = int(recs) if recs and recs.isdigit() else 0
            if recs is None:
                t["no_records_header"] += 1
            t["records"] += n
            bid = headers.get("h3dp-batch")
            if bid is not None:
                if bid in self.batches:
                    t["batches_dup"] += 1
                    t["records_dup"] += n
                else:
                    self.batches.add(bid)
                    t["batches"] += 1
            self.write()
            return dict(t)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Caddy reuses its upstream connections

    def log_message(self, fmt, *args):  # quiet
        pass

    def read_body(self):
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return n
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 16))
                    if not d:
                        raise ConnectionError("short chunk")
                    left -= len(d)
                n += size
                self.rfile.readline()  # CRLF after the chunk
        left = int(self.headers.get("Content-Length", "0"))
        while left:
            d = self.rfile.read(min(left, 1 << 16))
            if not d:
                raise ConnectionError("short body")
            left -= len(d)
            n += len(d)
        return n

    def reply(self, status, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = self.read_body()
        TOTALS.add(self.headers, n)
        self.reply(200, {"bytes": n})

    do_PUT = do_POST

    def do_GET(self):
        with TOTALS.lock:
            t = dict(TOTALS.t)
        self.reply(200, t)


def main():
    global TOTALS
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    addr, port, path, auth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    TOTALS = Totals(path, auth)
    srv = ThreadingHTTPServer((addr, port), Handler)
    srv.daemon_threads = True

    def stop(_sig, _frm):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {addr}:{port}", flush=True)
    srv.serve_forever()
    return 0


TOTALS = None
if __name__ == "__main__":
    sys.exit(main())
