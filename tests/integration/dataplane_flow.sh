#!/usr/bin/env bash
# Integration test of the dataplane's UDP flow API, or of the main lcore's UDP endpoints
# (suite 'integration'; root, else 77).
#
#   dataplane_flow.sh PEER [LCORES [NFLOWS]]
#
# PEER is dp_flow_peer (flows on the workers) or dp_local_peer (an endpoint of the main
# lcore, dp_local.h; NFLOWS idle flows beside it); both take the same arguments.
# LCORES is an EAL --lcores map (default "0,1": main + one worker); "0@0,1@1,2@1" gives
# two workers sharing CPU 1, whose flows then need software steering (net_tap spreads
# received packets over its queues by the kernel's flow hash, without RSS).
# In a private namespace: PEER runs the dataplane on net_tap (--no-huge) as
# 198.18.0.2/24 with gateway 198.18.0.1; the TAP's kernel side holds 198.18.0.1 and
# 198.18.0.3 and runs a UDP echo server on 198.18.0.3:7000 (on-link, not the gateway, so
# the dataplane must ARP for it while its first datagrams wait; each echo goes back with
# the TOS byte, ECN bits included, its datagram came with). A datagram starting with
# "BOUNCE" and a 2-byte port goes back to that port of the sender instead (dp_local_peer's
# datagram to an unused port). PEER prints its checks and exits 0 only if all pass.
# Teardown always runs (tools/lib/h3dp-env.sh).
set -uo pipefail
PEER_BIN=${1:?usage: $0 PEER [LCORES [NFLOWS]]}
NAME=$(basename "$PEER_BIN")
LCORES=${2:-0,1}
NFLOWS=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need_tun
h3dp_need ip

fail() { echo "FAIL: $*"; cat "$H3DP_TMP/peer.log" 2>/dev/null; exit 1; }

# Namespace h3dp-fl-PID, TAP h3flPID, file prefix h3dp-fl-PID: torn down on exit.
h3dp_env_init fl || fail "cannot create a network namespace"
TMP=$H3DP_TMP

# The kernel echo server first: the dataplane starts sending as soon as it runs.
h3dp_ns_bg python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: the address comes later
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
s.bind(("198.18.0.3", 7000))
print("ready", flush=True)
while True:
    d, anc, _, a = s.recvmsg(65536, socket.CMSG_SPACE(1))
    if d[:6] == b"BOUNCE" and len(d) >= 8:
        a = (a[0], int.from_bytes(d[6:8], "big"))
    # Back with the TOS byte it came with (ECN included): dp_flow_peer checks it.
    tos = [c[2][:1] for c in anc if c[0] == socket.IPPROTO_IP and c[1] == socket.IP_TOS]
    s.sendmsg([d], [(socket.IPPROTO_IP, socket.IP_TOS, tos[0])] if tos else [], 0, a)
' >"$TMP/srv.log" 2>&1
h3dp_wait_log "$TMP/srv.log" ready 50 0.1 || fail "kernel echo server did not start"

h3dp_ns_bg "$PEER_BIN" --no-huge -m 256 --no-pci --file-prefix "$H3DP_PREFIX" \
    --lcores="$LCORES" --vdev="net_tap0,iface=$H3DP_IFC" -- \
    net_tap0 198.18.0.2 24 198.18.0.1 198.18.0.3 7000 2000 "$NFLOWS" \
    >"$TMP/peer.log" 2>&1
PID=$H3DP_BG_PID
# 1: the peer exited; 2: no TAP after 10 s (configuring it fails below)
h3dp_tap_wait "$PID" || [ $? = 2 ] || fail "$NAME exited during start-up"
h3dp_ns ip link set "$H3DP_IFC" address 02:00:c6:12:00:01 &&
    h3dp_ns ip addr add 198.18.0.1/24 dev "$H3DP_IFC" &&
    h3dp_ns ip addr add 198.18.0.3/24 dev "$H3DP_IFC" &&
    h3dp_ns ip link set "$H3DP_IFC" up || fail "cannot configure the TAP"

h3dp_wait_exit "$PID" 30 || fail "$NAME still running after 30 s"
rc=$H3DP_RC
grep -E '^(ok|FAIL|PASS)' "$TMP/peer.log"
[ "$rc" = 0 ] || fail "$NAME exit status $rc"
