#!/usr/bin/env bash
# The connection service in DPDK mode (suite 'integration'; root, else 77).
#
#   svc_dpdk.sh SVC_DPDK_PEER H3SINK CERTS_DIR [LCORES]
#
# In a private namespace: svc_dpdk_peer runs the dataplane on net_tap (--no-huge) as
# 198.18.0.2/24; the TAP's kernel side holds 198.18.0.1 where h3sink listens on 4433.
# LCORES: an EAL --lcores map (default "0,1"; "0@0,1@1,2@1" = two workers on CPU 1).
set -uo pipefail
PEER_BIN=${1:?usage: $0 SVC_DPDK_PEER H3SINK CERTS_DIR [LCORES]}
SINK=${2:?}
CERTS=${3:?}
LCORES=${4:-0,1}

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (network namespaces, TAP devices)"
    exit 77
fi
if [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    echo "SKIP: needs /dev/net/tun and iproute2"
    exit 77
fi

NS=h3dp-svc-$$
IFC=h3svc$$
PREFIX=h3dp-svc-$$
TMP=$(mktemp -d /tmp/h3dp-svc.XXXXXX)
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
fail() {
    echo "FAIL: $*"
    cat "$TMP/peer.log" 2>/dev/null
    echo "---- h3sink ----"
    cat "$TMP/sink.log" 2>/dev/null
    exit 1
}

ip netns add "$NS" || fail "cannot create namespace $NS"
ip netns exec "$NS" ip link set lo up

ip netns exec "$NS" "$PEER_BIN" --no-huge -m 512 --no-pci --file-prefix "$PREFIX" \
    --lcores="$LCORES" --vdev="net_tap0,iface=$IFC" --log-level=lib.eal:error -- \
    net_tap0 198.18.0.2 24 198.18.0.1 198.18.0.1 4433 "$CERTS/ca.pem" \
    >"$TMP/peer.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
    ip netns exec "$NS" ip link show "$IFC" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || fail "svc_dpdk_peer exited during start-up"
    sleep 0.1
done
ip netns exec "$NS" ip addr add 198.18.0.1/24 dev "$IFC" &&
    ip netns exec "$NS" ip link set "$IFC" up || fail "cannot configure the TAP"
ip netns exec "$NS" "$SINK" --addr 198.18.0.1 --port 4433 --cert "$CERTS/server.pem" \
    --key "$CERTS/server-key.pem" --quiet --stats-interval 0 >"$TMP/sink.log" 2>&1 &
SRV=$!

for _ in $(seq 900); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$PID" 2>/dev/null && fail "svc_dpdk_peer still running after 90 s"
wait "$PID"
rc=$?
PID=
grep -E '^(ok|FAIL|PASS)' "$TMP/peer.log"
[ "$rc" = 0 ] || fail "svc_dpdk_peer exit status $rc"
