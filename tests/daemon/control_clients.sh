#!/usr/bin/env bash
# The operator is never locked out of h3dpd's control socket (suite 'e2e'; root, else 77).
#
#   control_clients.sh H3DPD H3CTL CONF_IN
#
# h3dpd in kernel mode ([control] group = nogroup, so that an unprivileged user may connect;
# the control server does not depend on the I/O mode):
#   1. idle_timeout_ms = 0 (never): 16 clients of user nobody connect and send nothing; a
#      17th of nobody gets E_BUSY; root's h3ctl still answers (stats counts 17 clients: the
#      slot kept for the operator) and so does h3ctl list
#   2. idle_timeout_ms = 1500: 16 such clients (one of them with half a request line sent)
#      are each cut, none sooner than 1.5 s after they connected, with no other traffic on
#      the socket (the daemon wakes for the deadline); an unprivileged client gets in again;
#      an h3ctl connect deferred for 3 s (a handshake to a port nobody answers) is not idle
#      and gets its handshake-timeout answer; stats counts 16 dropped idle
# Every check prints "ok: ..." or "FAIL: ..."; the script exits 1 at the first failure with
# the daemon's log.
set -uo pipefail
H3DPD=${1:?usage: control_clients.sh H3DPD H3CTL CONF_IN}
H3CTL=$2 CONF_IN=$3
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need ip jq python3
getent group nogroup >/dev/null || h3dp_skip "needs the group nogroup"

fail() {
    echo "FAIL: $*"
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    exit 1
}
ok() { echo "ok: $*"; }
# ctl ARGS...: h3ctl --json; stdout in $OUT, exit status in $RC.
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
}
jv() { jq -r "$1" <<<"$OUT"; }
expect() { # expect DESC CONDITION...
    local d=$1
    shift
    "$@" || fail "$d (h3ctl exit $RC: $OUT $(cat "$H3DP_TMP/ctl.err"))"
    ok "$d"
}
eq() { [ "$1" = "$2" ]; }

h3dp_env_init ctlcl || exit 1
chmod 0711 "$H3DP_TMP" # nobody reaches the socket; the credential check decides

# peers.py SOCKET PHASE: the unprivileged clients (effective uid nobody, gid nogroup: the
# credentials the daemon reads at connect time). Prints "ok: ..."/"FAIL: ..." lines.
cat >"$H3DP_TMP/peers.py" <<'PY'
import os, socket, sys, time
path, phase = sys.argv[1], sys.argv[2]
NOBODY = 65534

def as_nobody(fn):
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        return fn()
    finally:
        os.seteuid(0)
        os.setegid(0)

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def read_line(s, limit):
    s.settimeout(limit)
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except socket.timeout:
        return None
    return buf

bad = 0
if phase == "hold":
    held = as_nobody(lambda: [connect() for _ in range(16)])
    extra = as_nobody(connect)
    line = read_line(extra, 10)
    if line is None or b"E_BUSY" not in line:
        print("FAIL: the 17th unprivileged client was not refused with E_BUSY:", line)
        sys.exit(1)
    print("ok: 16 unprivileged clients hold every slot; the 17th gets E_BUSY")
    sys.stdout.flush()
    sys.stdin.readline()  # the shell's checks run while the 16 are connected
    for s in held:
        s.close()
    sys.exit(0)

# phase "idle": each of N idle clients is cut, none before the idle timeout
limit, n = float(sys.argv[3]), int(sys.argv[4])
t0 = time.monotonic()
held = as_nobody(lambda: [connect() for _ in range(n)])
held[0].sendall(b'{"v":1,"id":1,"cmd":')  # half a line is no request in progress
for i, s in enumerate(held):
    left = max(0.1, 30 - (time.monotonic() - t0))
    line = read_line(s, left)
    cut = time.monotonic() - t0
    if line != b"":
        print(f"FAIL: idle client {i} not cut within 30 s (read {line!r})")
        bad += 1
    elif cut < limit:
        print(f"FAIL: idle client {i} cut after {cut:.2f} s, before the idle timeout {limit} s")
        bad += 1
    s.close()
if not bad:
    print(f"ok: {n} idle clients cut, none before {limit} s")
s = as_nobody(connect)
s.sendall(b'{"v":1,"id":2,"cmd":"list"}\n')
line = read_line(s, 10)
if not line or b'"ok":true' not in line:
    print("FAIL: an unprivileged client after the idle ones: no answer to list:", line)
    bad += 1
else:
    print("ok: an unprivileged client gets in again and is answered")
sys.exit(1 if bad else 0)
PY

# ---------------------------------------------------------------- 1. no idle timeout
h3dp_conf kernel "$CONF_IN" "control.group=nogroup" "control.idle_timeout_ms=0"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
ok "h3dpd running (kernel mode, [control] group nogroup, no idle timeout)"

coproc PEERS { python3 "$H3DP_TMP/peers.py" "$H3DP_SOCK" hold 2>&1; }
peers=$PEERS_PID # bash unsets PEERS_PID when the coprocess ends
exec {to_peers}>&"${PEERS[1]}"
h3dp_track "$peers"
read -r -t 30 line <&"${PEERS[0]}" || fail "peers.py said nothing"
echo "$line"
[[ $line == ok:* ]] || fail "unprivileged clients"
ctl stats
expect "root's h3ctl answered while 16 unprivileged clients hold every slot (17 clients: the kept slot)" \
    eq "$RC $(jv .control.clients) $(jv .control.refused_busy)" "0 17 1"
ctl list
expect "h3ctl list answers too" eq "$RC" 0
echo go >&"$to_peers"
exec {to_peers}>&-
wait "$peers" || fail "peers.py (hold)"
h3dp_untrack "$peers"
kill -TERM "$H3DP_DAEMON_PID"
h3dp_wait_exit "$H3DP_DAEMON_PID" 20 || fail "h3dpd did not stop"
H3DP_DAEMON_PID=

# ---------------------------------------------------------------- 2. idle timeout 1.5 s
h3dp_conf kernel "$CONF_IN" "control.group=nogroup" "control.idle_timeout_ms=1500" \
    "h3.handshake_timeout_ms=3000"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start (idle timeout)"
ok "h3dpd running with [control] idle_timeout_ms = 1500"
python3 "$H3DP_TMP/peers.py" "$H3DP_SOCK" idle 1.5 16 || fail "idle clients"
ctl connect "https://$H3DP_PEER_IP:9"
expect "h3ctl connect waiting 3 s on a handshake is not idle: its answer is the handshake timeout" \
    eq "$RC $(grep -c 'handshake timeout' "$H3DP_TMP/ctl.err")" "1 1"
ctl stats
expect "stats: the 16 idle clients dropped, counted" eq "$RC $(jv .control.dropped_idle)" "0 16"
kill -TERM "$H3DP_DAEMON_PID"
h3dp_wait_exit "$H3DP_DAEMON_PID" 20 || fail "h3dpd did not stop"
H3DP_DAEMON_PID=
expect "SIGTERM: exit status 0" eq "$H3DP_RC" 0
echo PASS
