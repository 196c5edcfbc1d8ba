#!/usr/bin/env bash
# tests/integration/rss_fallback.sh H3DPD H3CTL: a NIC that offers RSS but refuses to report
# its key falls back to software steering instead of failing (dataplane/dp_port.c,
# docs/DEPLOY.md "RSS"). Two workers each time, no traffic leaves the machine (virtual
# devices, no namespace needed):
#   net_null0                         offers RSS over UDP/IPv4 and reads its key back:
#                                     stats say steering "rss"
#   net_failsafe0,dev(net_null1)      relays net_null's RSS capabilities (a 128-entry RETA,
#                                     UDP/IPv4 hashing) but has no rss_hash_conf_get:
#                                     rte_eth_dev_rss_hash_conf_get fails with ENOTSUP (as
#                                     failsafe does over a real VF): a warning, steering
#                                     "software" with the reason, the daemon serves and exits 0
# Root (EAL, /var/run/dpdk), else SKIP.
set -uo pipefail
h3dpd=$1 h3ctl=$2
# shellcheck source=tools/lib/h3dp-env.sh
. "$(dirname "$0")/../../tools/lib/h3dp-env.sh"
h3dp_need_root "DPDK EAL"
h3dp_need jq
h3dp_tmp_init rssfb || exit 1
fail() {
    echo "FAIL: $*"
    tail -30 "$H3DP_LOG"
    exit 1
}

# run NAME VDEV_ARGS DEVICE: h3dpd on DEVICE with two workers; leaves `stats` in $stats.
run() {
    local name=$1 vdevs=$2 device=$3
    cat >"$H3DP_TMP/$name.conf" <<CONF
[eal]
args = --no-huge -m 256 --no-pci $vdevs
lcores = 0-2
cpus = 0,1,1
file_prefix = $H3DP_PREFIX-$name
[port]
device = $device
ip = 198.18.200.2/24
[dataplane]
io = dpdk
workers = 1-2
mempool_size = 4095
[control]
socket = $H3DP_SOCK
CONF
    H3DP_LOG=$H3DP_TMP/$name.log
    h3dp_bg "$h3dpd" -c "$H3DP_TMP/$name.conf" >"$H3DP_LOG" 2>&1
    local pid=$H3DP_BG_PID
    h3dp_wait_log "$H3DP_LOG" 'h3dpd: running' 200 0.1 "$pid" || fail "$name: h3dpd did not start"
    stats=$("$h3ctl" -s "$H3DP_SOCK" --json stats) || fail "$name: no stats"
    "$h3ctl" -s "$H3DP_SOCK" quit >/dev/null || fail "$name: quit refused"
    h3dp_wait_exit "$pid" 30 || fail "$name: h3dpd still runs after quit"
    [ "$H3DP_RC" = 0 ] || fail "$name: h3dpd exited $H3DP_RC"
    grep -m1 'port .*RX / .*TX queues' "$H3DP_LOG"
}

run null "--vdev=net_null0" net_null0
[ "$(jq -r .port.steering <<<"$stats")" = rss ] || fail "net_null0: steering $(jq -c .port <<<"$stats")"
echo "ok: net_null0: RSS read back, steering rss"

run failsafe "--vdev=net_null1 \"--vdev=net_failsafe0,dev(net_null1)\"" net_failsafe0
grep -q 'port net_failsafe0: cannot read RSS key/RETA (Operation not supported): software steering' \
    "$H3DP_LOG" || fail "net_failsafe0: no read-back warning"
[ "$(jq -r .port.steering <<<"$stats")" = software ] || fail "net_failsafe0: steering $(jq -c .port <<<"$stats")"
why=$(jq -r .port.steering_why <<<"$stats")
[ "$why" = "RSS key/RETA read-back failed: Operation not supported" ] || fail "net_failsafe0: steering_why '$why'"
echo "ok: net_failsafe0: read-back refused, steering software ($why), served and exited 0"
