#!/usr/bin/env bash
# tests/daemon/eal_hint.sh H3DPD: when EAL or the port does not come up, h3dpd says what to
# do on this machine (daemon/d_eal_hint.c), not just EAL's errno:
#   no --no-huge on a machine without hugepages -> "no hugepages reserved: see docs/DEPLOY.md"
#     (EAL itself says "Permission denied"; skipped where hugepages are reserved)
#   the file prefix of a running h3dpd        -> "file_prefix '...' is in use by process PID"
#     (EAL leaves rte_errno 0: it printed "Success"); the first daemon runs on
#   a PCI address this machine does not have -> "no PCI device ... (lspci -D ...)"
# Each failing start exits 1. Root (EAL, /var/run/dpdk), else SKIP.
set -uo pipefail
h3dpd=$1
# shellcheck source=tools/lib/h3dp-env.sh
. "$(dirname "$0")/../../tools/lib/h3dp-env.sh"
h3dp_need_root "DPDK EAL"
h3dp_tmp_init ealhint || exit 1
fail() {
    echo "FAIL: $*"
    exit 1
}

conf() { # NAME EAL_ARGS DEVICE PREFIX
    cat >"$H3DP_TMP/$1.conf" <<CONF
[eal]
args = $2
lcores = 0-1
file_prefix = $4
[port]
device = $3
ip = 198.18.201.2/24
[dataplane]
io = dpdk
mempool_size = 4095
mempool_cache = 64
[control]
socket = $H3DP_TMP/$1.sock
CONF
}
expect_fail() { # NAME HINT: h3dpd with NAME.conf exits 1 with HINT in its last error line
    "$h3dpd" -c "$H3DP_TMP/$1.conf" >"$H3DP_TMP/$1.log" 2>&1
    local rc=$? line
    line=$(grep 'h3dpd: .*failed: ' "$H3DP_TMP/$1.log" | tail -1)
    [ "$rc" = 1 ] || fail "$1: status $rc, want 1: $(tail -3 "$H3DP_TMP/$1.log")"
    [[ $line == *"$2"* ]] || fail "$1: '$line' lacks '$2'"
    echo "ok: $1: $line"
}

total=$(cat /sys/kernel/mm/hugepages/*/nr_hugepages 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
if [ "$total" = 0 ]; then
    conf huge "-m 256 --no-pci --vdev=net_null0" net_null0 "$H3DP_PREFIX-huge"
    expect_fail huge "EAL init failed: no hugepages reserved: see docs/DEPLOY.md (hugepages), or add --no-huge to [eal] args for tests"
else
    echo "skip: $total hugepages reserved here: the no-hugepages hint is not tested"
fi

conf first "--no-huge -m 256 --no-pci --vdev=net_null0" net_null0 "$H3DP_PREFIX-dup"
h3dp_bg "$h3dpd" -c "$H3DP_TMP/first.conf" >"$H3DP_TMP/first.log" 2>&1
first=$H3DP_BG_PID
h3dp_wait_log "$H3DP_TMP/first.log" 'h3dpd: running' 200 0.1 "$first" || fail "the first h3dpd did not start"
conf second "--no-huge -m 256 --no-pci --vdev=net_null0" net_null0 "$H3DP_PREFIX-dup"
expect_fail second "EAL init failed: file_prefix '$H3DP_PREFIX-dup' is in use by process $first (another h3dpd or DPDK program)"
kill -0 "$first" || fail "the first h3dpd died"
kill -TERM "$first"
h3dp_wait_exit "$first" 30 || fail "the first h3dpd did not stop"

pci=0000:ff:1f.7
[ ! -e "/sys/bus/pci/devices/$pci" ] || h3dp_skip "this machine has a PCI device $pci"
conf pci "--no-huge -m 256 -a $pci" "$pci" "$H3DP_PREFIX-pci"
expect_fail pci "no PCI device $pci on this machine (lspci -D lists them"
exit 0
