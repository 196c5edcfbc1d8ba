#!/usr/bin/env bash
# End-to-end test of h3dpd and h3ctl (suite 'e2e'; root, else 77).
#
#   e2e.sh MODE PEER H3DPD H3CTL H3SINK CERTS CONF_IN [FAMILY]
#
# MODE dpdk: h3dpd on net_tap (--no-huge), two worker lcores sharing CPU 1, in a private
# namespace whose TAP side holds 198.18.0.1; MODE kernel: the same daemon with
# [dataplane] io = kernel, 198.18.0.1 on the namespace's lo. PEER h3sink (ours) or
# gtlsserver (ngtcp2's) listens on 198.18.0.1:4433. FAMILY ipv6 (default ipv4): the same
# over IPv6 — h3dpd's port also has fd00::2/64 ([port] ip6), the peer listens on
# [fd00::1]:4433 and every connection goes there; first the kernel side pings fd00::2
# (ping -6) and must have resolved it by Neighbor Discovery. Every check prints "ok: ..."
# or "FAIL: ..."; the script exits 1 at the first failure with the daemon's log.
set -uo pipefail
MODE=${1:?usage: e2e.sh MODE PEER H3DPD H3CTL H3SINK CERTS CONF_IN [FAMILY]}
PEER=$2 H3DPD=$3 H3CTL=$4 H3SINK=$5 CERTS=$6 CONF_IN=$7 FAMILY=${8:-ipv4}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need_tun
h3dp_need ip jq
[ "$PEER" != gtlsserver ] || h3dp_need gtlsserver

fail() {
    echo "FAIL: $*"
    echo "---- h3ctl list ----"
    "$H3CTL" -s "$H3DP_SOCK" list 2>&1 | tail -8
    echo "---- h3dpd log ----"
    tail -40 "$H3DP_LOG" 2>/dev/null
    [ -f "$H3DP_TMP/sink.out" ] && { echo "---- h3sink ----"; tail -5 "$H3DP_TMP/sink.out"; }
    exit 1
}
ok() { echo "ok: $*"; }
OUT='' RC=0
# ctl ARGS...: h3ctl --json; stdout in $OUT, exit status in $RC.
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
}
# jv FILTER: a value of the last reply.
jv() { jq -r "$1" <<<"$OUT"; }
expect() { # expect DESC CONDITION...
    local d=$1
    shift
    "$@" || fail "$d (h3ctl exit $RC: $OUT $(cat "$H3DP_TMP/ctl.err"))"
    ok "$d"
}
eq() { [ "$1" = "$2" ]; }

h3dp_env_init "e2$MODE${PEER:0:1}${FAMILY:3:1}" || exit 1
[ "$FAMILY" = ipv6 ] && h3dp_ipv6
URL=https://$H3DP_PEER_URL_HOST:$H3DP_PEER_PORT
h3dp_conf "$MODE" "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=3000" \
    "h3.shutdown_timeout_ms=10000"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
ok "h3dpd running ($MODE mode, 2 workers, $FAMILY)"

if [ "$FAMILY" = ipv6 ] && [ "$MODE" = dpdk ]; then
    # The kernel side resolves us by Neighbor Discovery and our echo replies come back.
    h3dp_ns ping -6 -c 3 -i 0.2 -W 2 "$H3DP_OUR_IP6" >"$H3DP_TMP/ping.out" 2>&1
    expect "ping -6 $H3DP_OUR_IP6 from the kernel side: 3 echo replies" \
        grep -q '3 packets transmitted, 3 received' "$H3DP_TMP/ping.out"
    nd=$(h3dp_ns ip -6 neigh show "$H3DP_OUR_IP6" dev "$H3DP_IFC")
    expect "the kernel side resolved $H3DP_OUR_IP6 by Neighbor Discovery: $nd" \
        eq "$(awk '{print $3}' <<<"$nd")" "$H3DP_OUR_MAC6"
fi

if [ "$PEER" = gtlsserver ]; then
    mkdir -p "$H3DP_TMP/docroot"
    head -c 1048576 /dev/urandom >"$H3DP_TMP/docroot/f1m"
    h3dp_start_gtlsserver "$CERTS" "$H3DP_TMP/docroot" || fail "gtlsserver start"
    ctl connect "$URL"
    expect "connect to gtlsserver: established" eq "$RC $(jv .state)" "0 ESTABLISHED"
    C=$(jv .conn)
    ctl request "$C" GET /f1m
    want=$(sha256sum "$H3DP_TMP/docroot/f1m" | cut -d' ' -f1)
    expect "GET 1 MiB file: 200, 1048576 bytes, SHA-256 matches" \
        eq "$(jv .status) $(jv .body_bytes) $(jv .body_sha256)" "200 1048576 $want"
    ctl shutdown "$C" --max-push 3 --wait
    expect "shutdown --max-push 3 --wait: outcome OK, push limit 3 requested / 0 effective" \
        eq "$RC $(jv .outcome.ok) $(jv .outcome.code) $(jv .push_limit.requested) $(jv .push_limit.effective)" \
        "0 true 0x100 3 0"
    ctl connect "$URL"
    C=$(jv .conn)
    ctl close "$C" --error 0x10c
    expect "close --error 0x10c: closed as asked (h3ctl exit 0), error outcome with that code" \
        eq "$RC $(jv .outcome.ok) $(jv .outcome.code)" "0 false 0x10c"
    ctl list
    expect "list answers: no open connection" eq "$RC $(jv '.conns | length')" "0 0"
    ctl list --all
    expect "list --all: the 2 closed connections, their outcomes" \
        eq "$RC $(jv '[.conns[] | .state + ":" + .outcome.code] | join(",")')" "0 CLOSED:0x100,CLOSED:0x10c"
    kill -TERM "$H3DP_DAEMON_PID"
    wait "$H3DP_DAEMON_PID"
    rc=$?
    H3DP_DAEMON_PID=
    expect "SIGTERM: exit status 0" eq "$rc" 0
    echo PASS
    exit 0
fi

# ---------------------------------------------------------------- against h3sink
h3dp_start_sink "$H3SINK" "$CERTS" --max-streams 100 || fail "h3sink start"

ctl connect "$URL" --lcore 1
expect "connect --lcore 1: established on lcore 1" eq "$RC $(jv .state) $(jv .lcore)" "0 ESTABLISHED 1"
C1=$(jv .conn)
ctl list
expect "list shows it established" eq "$(jv ".conns[] | select(.id == $C1) | .state")" ESTABLISHED

ctl request "$C1" GET /bytes/1000000
want=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(i % 251 for i in range(1000000))).hexdigest())')
expect "GET /bytes/1000000: 200, 1000000 bytes, SHA-256 of the pattern" \
    eq "$(jv .status) $(jv .body_bytes) $(jv .body_sha256)" "200 1000000 $want"

head -c $((100 << 20)) /dev/urandom >"$H3DP_TMP/body100m"
dig=$(openssl dgst -sha256 -binary "$H3DP_TMP/body100m" | base64 -w0 2>/dev/null ||
      python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$H3DP_TMP/body100m")
ctl request "$C1" POST /upload --data-file "$H3DP_TMP/body100m" -H "content-digest: sha-256=:$dig:"
expect "POST 100 MiB from a file: 200 (h3sink verified the content-digest), all bytes acknowledged" \
    eq "$(jv .status) $(jv .body_sent)" "200 104857600"

ctl connect "$URL" --lcore 2
C2=$(jv .conn)
ctl show "$C2"
expect "second connection on the other worker lcore (2)" eq "$(jv .state) $(jv .lcore)" "ESTABLISHED 2"
ctl request "$C2" GET /bytes/5000
expect "request on lcore 2: 200, 5000 bytes" eq "$(jv .status) $(jv .body_bytes)" "200 5000"

# A key update (RFC 9001 §6) the collector starts (h3sink: SIGUSR2): the connection follows,
# show counts it with the new key phase, requests go on.
ctl show "$C2"
expect "show: key phase 0, no key update yet" eq "$(jv .keys.phase) $(jv .keys.updates)" "0 0"
kill -USR2 "$H3DP_SINK_PID"
for _ in $(seq 50); do
    ctl request "$C2" GET /bytes/5000 # the sink answers in the new phase; we follow
    ctl show "$C2"
    [ "$(jv .keys.updates)" != 0 ] && break
    sleep 0.1
done
expect "h3sink's key update followed: show gives key phase 1, 1 key update" \
    eq "$(jv .keys.phase) $(jv .keys.updates)" "1 1"
ctl request "$C2" GET /bytes/5000
expect "requests after the key update: 200, 5000 bytes" eq "$(jv .status) $(jv .body_bytes)" "200 5000"

# A request in flight when the graceful shutdown starts still completes.
head -c $((32 << 20)) /dev/urandom >"$H3DP_TMP/body32m"
"$H3CTL" -s "$H3DP_SOCK" --json request "$C1" POST /late --data-file "$H3DP_TMP/body32m" \
    >"$H3DP_TMP/late.out" 2>&1 &
late=$!
for _ in $(seq 100); do
    ctl list
    [ "$(jv ".conns[] | select(.id == $C1) | .in_flight")" -ge 1 ] 2>/dev/null && break
    sleep 0.02
done
ctl shutdown "$C1" --max-push 3 --wait
expect "shutdown --max-push 3 --wait: outcome OK (H3_NO_ERROR), push limit requested 3, effective 0" \
    eq "$RC $(jv .outcome.ok) $(jv .outcome.code) $(jv .push_limit.requested) $(jv .push_limit.effective)" \
    "0 true 0x100 3 0"
wait "$late"
lrc=$?
OUT=$(cat "$H3DP_TMP/late.out")
expect "the 32 MiB POST started just before the shutdown completed (200)" \
    eq "$lrc $(jv .status) $(jv .body_sent)" "0 200 33554432"

ctl close "$C2" --error 0x10c
expect "close --error 0x10c: closed as asked (h3ctl exit 0), error outcome carrying 0x10c" \
    eq "$RC $(jv .outcome.ok) $(jv .outcome.code)" "0 false 0x10c"
ctl wait "$C2"
expect "wait on the closed connection returns its outcome" eq "$(jv .outcome.code)" 0x10c

ctl connect "https://$H3DP_PEER_URL_HOST:9"
expect "connect to a port where nothing listens: handshake-timeout error" \
    eq "$RC $(grep -c 'handshake timeout' "$H3DP_TMP/ctl.err")" "1 1"

# Servers no connection can reach are refused up front: no server has 0.0.0.0 (h3ctl's own
# check of the shared schema, exit 2, and the daemon's: E_BAD_URL); a DPDK port reaches
# neither loopback nor its own address (the daemon: E_BAD_URL, exit 1).
ctl connect "https://0.0.0.0:1"
expect "connect https://0.0.0.0:1 refused by h3ctl" eq "$RC $(grep -c 'unspecified address' "$H3DP_TMP/ctl.err")" "2 1"
if [ "$MODE" = dpdk ]; then
    ctl connect "https://127.0.0.1:4433"
    expect "dpdk: connect to loopback: E_BAD_URL" eq "$RC $(grep -c 'E_BAD_URL: 127.0.0.1 is a loopback' "$H3DP_TMP/ctl.err")" "1 1"
    ctl connect "https://198.18.0.2:4433"
    expect "dpdk: connect to our own address: E_BAD_URL" eq "$RC $(grep -c "E_BAD_URL: 198.18.0.2 is the DPDK port's own address" "$H3DP_TMP/ctl.err")" "1 1"
fi

# Bad control input: each its error code, and the daemon keeps answering.
python3 - "$H3DP_SOCK" "$C2" >"$H3DP_TMP/bad.out" 2>&1 <<'PY' || { cat "$H3DP_TMP/bad.out"; fail "bad control input"; }
import json, socket, sys
path, closed = sys.argv[1], int(sys.argv[2])
def ask(line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(line if isinstance(line, bytes) else line.encode())
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return json.loads(buf)
cases = [
    ("malformed JSON", '{"v":1,"id":1,"cmd":\n', "E_PARSE"),
    ("unknown command", '{"v":1,"id":2,"cmd":"frobnicate"}\n', "E_UNKNOWN_CMD"),
    ("missing field", '{"v":1,"id":3,"cmd":"show","args":{}}\n', "E_BAD_REQUEST"),
    ("mistyped field", '{"v":1,"id":4,"cmd":"show","args":{"conn":"one"}}\n', "E_BAD_REQUEST"),
    ("oversize line", b'{"v":1,"id":5,"cmd":"list","pad":"' + b"x" * 70000 + b'"}\n', "E_TOO_LONG"),
    ("bad URL", '{"v":1,"id":6,"cmd":"connect","args":{"url":"ftp://198.18.0.1"}}\n', "E_BAD_URL"),
    ("no server has 0.0.0.0", '{"v":1,"id":60,"cmd":"connect","args":{"url":"https://0.0.0.0:1"}}\n', "E_BAD_URL"),
    ("unknown connection id", '{"v":1,"id":7,"cmd":"show","args":{"conn":999}}\n', "E_NO_SUCH_CONN"),
    ("command on a closed connection",
     '{"v":1,"id":8,"cmd":"request","args":{"conn":%d,"method":"GET","path":"/"}}\n' % closed,
     "E_CONN_CLOSED"),
    ("no version", '{"id":9,"cmd":"list"}\n', "E_VERSION"),
]
bad = 0
for name, line, code in cases:
    r = ask(line)
    got = r.get("code")
    print(("ok" if got == code and r.get("ok") is False else "FAIL") +
          f": {name}: {got} ({r.get('message')})")
    bad += got != code
    r = ask('{"v":1,"id":10,"cmd":"list"}\n')
    if r.get("ok") is not True:
        print("FAIL: list after", name)
        bad += 1
sys.exit(1 if bad else 0)
PY
cat "$H3DP_TMP/bad.out"
ok "bad control input: each its error, list answers after each"

# The upload engine's target from the control plane: a malformed list is refused, a name
# is taken (resolved when there is work), an IP literal URL is taken while the engine is
# idle and shown by status.
ctl upload target --url "https://collector.example/t, ftp://x/"
expect "upload target with a bad URL in the list: refused by h3ctl's own check (exit 2)" \
    eq "$RC $(grep -c 'URL 2: URL scheme must be https://' "$H3DP_TMP/ctl.err")" "2 1"
ctl upload target --url https://collector.example/t
expect "upload target by DNS name: taken, its endpoint resolving" \
    eq "$RC $(jv '.endpoints[0].state')" "0 resolving"
ctl upload target --url "$URL/elsewhere"
expect "upload target by $FAMILY literal while idle: taken, status shows it" \
    eq "$RC $(jv .url) $(jv .state)" "0 $URL/elsewhere idle"

# An upload to that collector: every record acknowledged and received, none lost.
n=3000
ctl upload start --rate 0 --records $n --record-size 511
[ "$RC" = 0 ] || fail "upload start: $(cat "$H3DP_TMP/ctl.err")"
for _ in $(seq 200); do
    ctl upload status
    [ "$(jv .state)" = idle ] && break
    sleep 0.1
done
expect "upload of $n records: accepted = acknowledged = $n, 0 failed, 0 queued or in flight" \
    eq "$(jv '[.accepted.records, .acked.records, .failed.records, .queued.records, .in_flight.records] | @tsv')" \
    "$n	$n	0	0	0"

# The peer's GOAWAY is reported and the connection closes OK.
ctl connect "$URL"
C4=$(jv .conn)
kill -USR1 "$H3DP_SINK_PID"
ctl wait "$C4" --timeout 15s
expect "h3sink GOAWAY (SIGUSR1): the connection closes OK" eq "$RC $(jv .outcome.ok)" "0 true"
ctl show "$C4"
expect "show reports the GOAWAY received (id $(jv .goaway.received_id))" \
    test "$(jv .goaway.received_id)" != null
wait "$H3DP_SINK_PID" 2>/dev/null
H3DP_SINK_PID=
final=$(grep '"final":true' "$H3DP_TMP/sink.out" | tail -1)
expect "h3sink received the $n records, each once (nothing lost): $(jq -c '{records, records_dup}' <<<"$final")" \
    eq "$(jq -r '.records - .records_dup' <<<"$final")" "$n"

# SIGTERM with open connections: graceful, exit 0.
h3dp_start_sink "$H3SINK" "$CERTS" || fail "h3sink restart"
ctl connect "$URL" --lcore 1
ctl connect "$URL" --lcore 2
ctl list
expect "two connections open before SIGTERM" \
    eq "$(jv '[.conns[] | select(.state == "ESTABLISHED")] | length')" 2
if [ "$MODE" = dpdk ] && command -v dpdk-telemetry.py >/dev/null; then
    sleep 1.2 # the telemetry snapshot is refreshed once a second
    tel=$(printf '/h3dp/stats\n/h3dp/conns\n' | dpdk-telemetry.py -f "$H3DP_PREFIX" 2>&1)
    OUT=$(grep '"/h3dp/stats"' <<<"$tel")
    stats_active=$(jq -r '."/h3dp/stats".conns_active' <<<"$OUT" 2>/dev/null)
    OUT=$(grep '"/h3dp/conns"' <<<"$tel")
    conns_est=$(jq -r '[."/h3dp/conns"[] | select(.state == "established")] | length' \
                <<<"$OUT" 2>/dev/null)
    expect "DPDK telemetry: /h3dp/stats conns_active 2, /h3dp/conns lists 2 established" \
        eq "$stats_active $conns_est" "2 2"
fi
kill -TERM "$H3DP_DAEMON_PID"
wait "$H3DP_DAEMON_PID"
rc=$?
H3DP_DAEMON_PID=
h3dp_stop_sink
closed_ok=$(jq -r .connections_closed_ok <<<"$H3DP_SINK_FINAL")
expect "SIGTERM: exit status 0, 2 connections closed gracefully (h3sink counted $closed_ok OK closes)" \
    eq "$rc $(grep -c 'shutting down 2 connection' "$H3DP_LOG") $closed_ok" "0 1 2"
echo PASS
