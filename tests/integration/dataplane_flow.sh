#!/usr/bin/env bash
# Integration test of the dataplane's UDP flow API (suite 'integration'; root, else 77).
#
#   dataplane_flow.sh DP_FLOW_PEER [LCORES [NFLOWS]]
#
# LCORES is an EAL --lcores map (default "0,1": main + one worker); "0@0,1@1,2@1" gives
# two workers sharing CPU 1, whose flows then need software steering (net_tap spreads
# received packets over its queues by the kernel's flow hash, without RSS).
# In a private namespace: dp_flow_peer runs the dataplane on net_tap (--no-huge) as
# 198.18.0.2/24 with gateway 198.18.0.1; the TAP's kernel side holds 198.18.0.1 and
# 198.18.0.3 and runs a UDP echo server on 198.18.0.3:7000 (on-link, not the gateway, so
# the dataplane must ARP for it while its first datagrams wait). dp_flow_peer prints its
# checks and exits 0 only if all pass. Teardown always runs.
set -uo pipefail
PEER_BIN=${1:?usage: $0 DP_FLOW_PEER [LCORES [NFLOWS]]}
LCORES=${2:-0,1}
NFLOWS=${3:-1}

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (network namespaces, TAP devices)"
    exit 77
fi
if [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    echo "SKIP: needs /dev/net/tun and iproute2"
    exit 77
fi

NS=h3dp-fl-$$
IFC=h3fl$$
PREFIX=h3dp-fl-$$
TMP=$(mktemp -d /tmp/h3dp-fl.XXXXXX)
PID= SRV=

cleanup() {
    for p in $PID $SRV; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; cat "$TMP/peer.log" 2>/dev/null; exit 1; }

ip netns add "$NS" || fail "cannot create namespace $NS"
ip netns exec "$NS" ip link set lo up

# The kernel echo server first: the dataplane starts sending as soon as it runs.
ip netns exec "$NS" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: the address comes later
s.bind(("198.18.0.3", 7000))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)
' >"$TMP/srv.log" 2>&1 &
SRV=$!
for _ in $(seq 50); do grep -q ready "$TMP/srv.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/srv.log" || fail "kernel echo server did not start"

ip netns exec "$NS" "$PEER_BIN" --no-huge -m 256 --no-pci --file-prefix "$PREFIX" \
    --lcores="$LCORES" --vdev="net_tap0,iface=$IFC" -- \
    net_tap0 198.18.0.2 24 198.18.0.1 198.18.0.3 7000 2000 "$NFLOWS" \
    >"$TMP/peer.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
    ip netns exec "$NS" ip link show "$IFC" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || fail "dp_flow_peer exited during start-up"
    sleep 0.1
done
ip netns exec "$NS" ip link set "$IFC" address 02:00:c6:12:00:01 &&
    ip netns exec "$NS" ip addr add 198.18.0.1/24 dev "$IFC" &&
    ip netns exec "$NS" ip addr add 198.18.0.3/24 dev "$IFC" &&
    ip netns exec "$NS" ip link set "$IFC" up || fail "cannot configure the TAP"

for _ in $(seq 300); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    fail "dp_flow_peer still running after 30 s"
fi
wait "$PID"
rc=$?
PID=
grep -E '^(ok|FAIL|PASS)' "$TMP/peer.log"
[ "$rc" = 0 ] || fail "dp_flow_peer exit status $rc"
