#!/usr/bin/env bash
# Integration test of the DPDK dataplane (suite 'integration'; needs root, else exit 77).
#
#   dataplane_netns.sh H3DPD DEFAULT_CONF UDP_PEER [IDLE]
#
# IDLE is [dataplane] idle (adaptive by default). With 'interrupt' the worker must find
# net_tap's RX interrupt and sleep on it: everything below then runs against a worker
# that is asleep whenever the peer pauses, and the log must say it slept on interrupts.
#
# In a private network namespace, h3dpd runs on a net_tap port with --no-huge (config
# derived from the default one, with a unique TAP name and EAL file prefix). The TAP's
# kernel side gets 198.18.0.1/24 and its own MAC; the dataplane is 198.18.0.2. Checks:
#   1. the dataplane resolves the kernel side by ARP before anything is sent to it: the
#      kernel's neighbour entry for 198.18.0.2 carries our MAC although the kernel never
#      asked (it can only come from our ARP request), and our table holds the kernel's MAC;
#   2. with that entry deleted, ping -c 5 198.18.0.2 succeeds (our ARP reply + ICMP echo);
#   3. 10,000 UDP datagrams through the echo service: none lost, all byte-exact;
#   4. SIGTERM: exit status 0, and the final counters agree (ARP requests and replies
#      both ways >= 1, 5 ICMP echo replies, >= 10,000 echoed datagrams, the kernel's MAC
#      in our neighbour table).
# Teardown (daemon, namespace, temp dir, EAL runtime dir) always runs (tools/lib/h3dp-env.sh).
set -uo pipefail

H3DPD=${1:?usage: $0 H3DPD DEFAULT_CONF UDP_PEER}
CONF_IN=${2:?default config}
PEER=${3:?udp peer}
IDLE=${4:-adaptive}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need_tun
h3dp_need ip ping

KMAC=02:00:c6:12:00:01     # the kernel side's MAC (locally administered)
KIP=198.18.0.1
DIP=198.18.0.2
ECHO_PORT=9000

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
nsx() { h3dp_ns "$@"; }

# Namespace h3dp-it-PID, TAP h3itPID, file prefix h3dp-it-PID, temp dir: torn down on exit,
# with h3dpd's output shown first if the test failed.
h3dp_env_init it || fail "cannot create a network namespace"
TMP=$H3DP_TMP
LOG=$H3DP_LOG
h3dp_on_exit '[ "$H3DP_EXIT_RC" = 0 ] || { echo "---- h3dpd output ($LOG) ----"; cat "$LOG" 2>/dev/null; }'
IFC=$H3DP_IFC

# The default configuration, made unique to this run.
h3dp_conf_unique "$CONF_IN" "dataplane.udp_echo_port=$ECHO_PORT" "dataplane.idle=$IDLE"
grep -q "iface=$IFC" "$TMP/h3dpd.conf" || fail "default config has no net_tap iface=h3dp0 to rename"
"$H3DPD" --check-config "$TMP/h3dpd.conf" >/dev/null || fail "derived config rejected"

h3dp_ns_bg "$H3DPD" -c "$TMP/h3dpd.conf" >"$LOG" 2>&1
PID=$H3DP_BG_PID
if ! h3dp_wait_log "$LOG" 'h3dpd: running' 200 0.1 "$PID"; then
    kill -0 "$PID" 2>/dev/null || fail "h3dpd exited during start-up"
    fail "h3dpd not running after 20 s"
fi
OUR_MAC=$(sed -n 's/^.*h3dpd: running: port [^ ]* \([0-9A-Fa-f:]*\) .*/\1/p' "$LOG" | tr 'A-F' 'a-f')
[ -n "$OUR_MAC" ] || fail "no MAC in the start-up line"
ok "h3dpd running in $H3DP_NS on $IFC, MAC $OUR_MAC"

# The kernel side. Its own MAC, so that the two ends of the TAP differ (net_tap gives the
# kernel interface the port's MAC).
nsx ip link set "$IFC" address "$KMAC" || fail "cannot set the TAP MAC"
nsx ip addr add "$KIP/24" dev "$IFC" || fail "cannot address the TAP"
nsx ip link set "$IFC" up || fail "cannot bring the TAP up"

# 1. ARP by the dataplane, before any traffic from the kernel: the dataplane keeps its
#    gateway (198.18.0.1, the kernel side) resolved; the kernel learns our MAC from that
#    request only (nothing has been sent to 198.18.0.2 yet).
learned=
for _ in $(seq 60); do
    learned=$(nsx ip neigh show "$DIP" dev "$IFC")
    case "$(echo "$learned" | tr 'A-F' 'a-f')" in *"lladdr $OUR_MAC "*) break ;; esac
    learned=
    sleep 0.1
done
[ -n "$learned" ] || fail "kernel never learned $DIP from an ARP request of the dataplane"
ok "kernel learned $DIP at $OUR_MAC from our ARP request ($learned)"

# 2. ARP reply + ICMP echo: the kernel forgets what it learned, so it must ask us.
nsx ip neigh del "$DIP" dev "$IFC" || fail "cannot flush the kernel's neighbour entry"
nsx ping -c 5 -i 0.2 -W 2 "$DIP" >"$TMP/ping.log" 2>&1 || { cat "$TMP/ping.log"; fail "ping $DIP"; }
ok "ping: $(grep -o '[0-9]* received' "$TMP/ping.log")"

# 3. UDP echo: 10,000 datagrams, windowed, byte-exact, no loss.
nsx python3 "$PEER" "$DIP" "$ECHO_PORT" --count 10000 --window 32 --timeout 5 \
    >"$TMP/peer.log" 2>&1 || { cat "$TMP/peer.log"; fail "UDP echo"; }
ok "$(cat "$TMP/peer.log")"

# 4. Orderly stop and the counters.
kill -TERM "$PID"
h3dp_wait_exit "$PID" 10 || fail "h3dpd did not exit within 10 s of SIGTERM"
rc=$H3DP_RC
[ "$rc" = 0 ] || fail "h3dpd exit status $rc after SIGTERM"
grep -q 'NOTICE h3dpd: stopped' "$LOG" || fail "no orderly stop"
ok "h3dpd exited 0 on SIGTERM"

counter() { # label → the number after it in the final counters (first match)
    sed -n "s/.*$1  *\([0-9][0-9]*\).*/\1/p" "$LOG" | head -1
}
req_out=$(counter 'arp requests out')
rep_in=$(counter 'arp replies in')
icmp=$(counter 'icmp echo replies')
echoed=$(awk '$1 == "worker" { n += $9 } END { print n + 0 }' "$LOG")
[ "${req_out:-0}" -ge 1 ] || fail "counters: arp requests out = ${req_out:-none}"
[ "${rep_in:-0}" -ge 1 ] || fail "counters: arp replies in = ${rep_in:-none}"
req_in=$(counter 'arp requests in')
rep_out=$(counter 'arp replies out')
[ "${req_in:-0}" -ge 1 ] || fail "counters: arp requests in = ${req_in:-none}"
[ "${rep_out:-0}" -ge 1 ] || fail "counters: arp replies out = ${rep_out:-none}"
[ "${icmp:-0}" -ge 5 ] || fail "counters: icmp echo replies = ${icmp:-none}"
[ "$echoed" -ge 10000 ] || fail "counters: echo = $echoed"
kmac_seen=$(grep -i "^  $KIP  *$KMAC " "$LOG")
[ -n "$kmac_seen" ] || fail "neighbour table has no entry $KIP at $KMAC"
if [ "$IDLE" = interrupt ]; then
    grep -q 'sleeps on RX interrupts when idle' "$LOG" ||
        fail "idle = interrupt: the worker did not arm net_tap's RX interrupt"
    ok "idle = interrupt: the worker slept on the RX interrupt"
fi
ok "counters: arp requests out $req_out, replies in $rep_in, requests in $req_in, replies out $rep_out, icmp echo replies $icmp, udp echoed $echoed"
echo "PASS"
