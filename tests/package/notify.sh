#!/usr/bin/env bash
# tests/package/notify.sh MODE H3DPD H3CTL CONFIG LISTENER: h3dpd as a Type=notify service
# (daemon/d_notify.c), io MODE, with $NOTIFY_SOCKET pointing at LISTENER (what systemd
# would receive): READY=1 comes once the daemon serves (the control socket answers at once),
# its STATUS= names the port or the worker threads, a STATUS= with the connections and the
# upload counters follows, and SIGTERM brings STOPPING=1 before an orderly exit 0. Root (a
# namespace, a TAP), else SKIP.
set -uo pipefail
mode=$1 h3dpd=$2 h3ctl=$3 conf_in=$4 listener=$5
# shellcheck source=tools/lib/h3dp-env.sh
. "$(dirname "$0")/../../tools/lib/h3dp-env.sh"
h3dp_need_root
[ "$mode" = kernel ] || h3dp_need_tun
h3dp_need python3
h3dp_env_init notify || exit 1
fail() {
    echo "FAIL: $*"
    echo "--- notifications:"
    cat "$H3DP_TMP/notify.log" 2>/dev/null
    echo "--- h3dpd:"
    tail -20 "$H3DP_LOG"
    exit 1
}

h3dp_bg python3 "$listener" "$H3DP_TMP/notify.sock" "$H3DP_TMP/notify.log"
for _ in $(seq 100); do [ -S "$H3DP_TMP/notify.sock" ] && break; sleep 0.05; done
[ -S "$H3DP_TMP/notify.sock" ] || fail "the listener did not bind"

# No collector: the upload engine waits for a target, nothing leaves the namespace.
h3dp_conf "$mode" "$conf_in" 'upload.url='
export NOTIFY_SOCKET=$H3DP_TMP/notify.sock
h3dp_start_daemon "$h3dpd" || fail "h3dpd did not start"
unset NOTIFY_SOCKET
h3dp_wait_log "$H3DP_TMP/notify.log" '^READY=1' 100 0.05 || fail "no READY=1"
"$h3ctl" -s "$H3DP_SOCK" --timeout 2s stats >/dev/null || fail "READY=1 but the control socket does not answer"
ready=$(grep -m1 '^READY=1' "$H3DP_TMP/notify.log")
case $mode in
dpdk) [[ $ready == *"STATUS=running: port net_tap"* ]] || fail "READY=1 without the port: $ready" ;;
*) [[ $ready == *"STATUS=running: io kernel"* ]] || fail "READY=1 without io kernel: $ready" ;;
esac
echo "ok: $ready"
h3dp_wait_log "$H3DP_TMP/notify.log" '^STATUS=running.*connection(s); upload idle: 0 records acknowledged' 100 0.1 ||
    fail "no STATUS= with the counters"
echo "ok: $(grep -m1 'connection(s)' "$H3DP_TMP/notify.log")"
grep -q STOPPING "$H3DP_TMP/notify.log" && fail "STOPPING=1 before any signal"

kill -TERM "$H3DP_DAEMON_PID"
h3dp_wait_exit "$H3DP_DAEMON_PID" 30 || fail "h3dpd still runs 30 s after SIGTERM"
[ "$H3DP_RC" = 0 ] || fail "h3dpd exited $H3DP_RC after SIGTERM"
sleep 0.2 # the listener writes what it got
stopping=$(grep -m1 '^STOPPING=1' "$H3DP_TMP/notify.log") || fail "no STOPPING=1 after SIGTERM"
echo "ok: $stopping; exit 0"
tail -n +"$(grep -n -m1 '^STOPPING=1' "$H3DP_TMP/notify.log" | cut -d: -f1)" "$H3DP_TMP/notify.log" |
    grep -q '^READY=1' && fail "READY=1 after STOPPING=1"
exit 0
