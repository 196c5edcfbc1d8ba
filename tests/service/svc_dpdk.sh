#!/usr/bin/env bash
# The connection service in DPDK mode (suite 'integration'; root, else 77).
#
#   svc_dpdk.sh SVC_DPDK_PEER H3SINK CERTS_DIR [LCORES]
#
# In a private namespace: svc_dpdk_peer runs the dataplane on net_tap (--no-huge) as
# 198.18.0.2/24; the TAP's kernel side holds 198.18.0.1 where h3sink listens on 4433.
# LCORES: an EAL --lcores map (default "0,1"; "0@0,1@1,2@1" = two workers on CPU 1).
# Teardown (peer, h3sink, namespace, temp dir, EAL runtime dir) always runs.
set -uo pipefail
PEER_BIN=${1:?usage: $0 SVC_DPDK_PEER H3SINK CERTS_DIR [LCORES]}
SINK=${2:?}
CERTS=${3:?}
LCORES=${4:-0,1}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need_tun
h3dp_need ip

fail() {
    echo "FAIL: $*"
    cat "$H3DP_TMP/peer.log" 2>/dev/null
    echo "---- h3sink ----"
    cat "$H3DP_TMP/sink.log" 2>/dev/null
    exit 1
}

# Namespace h3dp-svc-PID, TAP h3svcPID, file prefix h3dp-svc-PID: torn down on exit.
h3dp_env_init svc || fail "cannot create a network namespace"
TMP=$H3DP_TMP

h3dp_ns_bg "$PEER_BIN" --no-huge -m 512 --no-pci --file-prefix "$H3DP_PREFIX" \
    --lcores="$LCORES" --vdev="net_tap0,iface=$H3DP_IFC" --log-level=lib.eal:error -- \
    net_tap0 198.18.0.2 24 198.18.0.1 198.18.0.1 4433 "$CERTS/ca.pem" \
    >"$TMP/peer.log" 2>&1
PID=$H3DP_BG_PID
# 1: the peer exited; 2: no TAP after 10 s (configuring it fails below)
h3dp_tap_wait "$PID" || [ $? = 2 ] || fail "svc_dpdk_peer exited during start-up"
h3dp_ns ip addr add 198.18.0.1/24 dev "$H3DP_IFC" &&
    h3dp_ns ip link set "$H3DP_IFC" up || fail "cannot configure the TAP"
h3dp_ns_bg "$SINK" --addr 198.18.0.1 --port 4433 --cert "$CERTS/server.pem" \
    --key "$CERTS/server-key.pem" --quiet --stats-interval 0 >"$TMP/sink.log" 2>&1

h3dp_wait_exit "$PID" 90 || fail "svc_dpdk_peer still running after 90 s"
rc=$H3DP_RC
grep -E '^(ok|FAIL|PASS)' "$TMP/peer.log"
[ "$rc" = 0 ] || fail "svc_dpdk_peer exit status $rc"
