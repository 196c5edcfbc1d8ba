#!/usr/bin/env bash
# Jumbo frames and path MTU discovery end to end (suite 'e2e'; root, else 77).
#
#   jumbo.sh H3DPD H3CTL H3SINK CERTS CONF_IN
#
# h3dpd on net_af_packet over a veth pair of MTU 9000 ([port] mtu = 9000; net_tap and
# net_memif in DPDK 22.11 drop frames over 1522 bytes on TX), in a private namespace whose
# other veth end (198.18.0.1) holds an h3sink. Checks:
#   1. a 16 MiB POST to that h3sink: 200, and h3sink received datagrams of more than 8,000
#      bytes (PMTUD probed the port's size and it got through), and h3ctl show's
#      packet-size histogram counts the POST's datagrams in pkt_size.tx.le_8972;
#   2. a second h3sink behind a narrower link: the namespace routes 198.18.1.0/24 over a
#      veth of MTU 1500 into a second namespace. The same POST: 200 with every byte, and
#      that h3sink's largest datagram is at most 1472 bytes (the 8972-byte probe was
#      lost, the 1472 one got through; the DF bit stops the kernel from fragmenting), and
#      show counts them in pkt_size.tx.le_1472.
set -uo pipefail
H3DPD=${1:?usage: jumbo.sh H3DPD H3CTL H3SINK CERTS CONF_IN}
H3CTL=$2 H3SINK=$3 CERTS=$4 CONF_IN=$5
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need ip jq ethtool

fail() {
    echo "FAIL: $*"
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    for f in "$H3DP_TMP"/sink*.out; do
        [ -f "$f" ] && { echo "---- $f ----"; tail -3 "$f"; }
    done
    exit 1
}
ok() { echo "ok: $*"; }
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
}
jv() { jq -r "$1" <<<"$OUT"; }

h3dp_env_init "jb" || exit 1
NS2=$H3DP_NS-far
h3dp_on_exit "ip netns del $NS2 2>/dev/null || :"
h3dp_ns ip link add vJ mtu 9000 type veth peer name vK mtu 9000 || fail "veth"
h3dp_ns ip addr add "$H3DP_PEER_IP/24" dev vK
for i in vJ vK; do
    h3dp_ns ip link set "$i" up
    # The dataplane verifies UDP checksums: the kernel must fill them in.
    h3dp_ns ethtool -K "$i" tx off rx off >/dev/null 2>&1 || :
done
# Three queue pairs: two workers and the main lcore.
h3dp_conf dpdk "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "port.mtu=9000" \
    "port.device=net_af_packet0" \
    "eal.args=--no-huge -m 512 --no-pci --vdev=net_af_packet0,iface=vJ,blocksz=36864,framesz=9216,framecnt=256,qpairs=3"
h3dp_ns_bg "$H3DPD" -c "$H3DP_TMP/h3dpd.conf" >"$H3DP_LOG" 2>&1
H3DP_DAEMON_PID=$H3DP_BG_PID
h3dp_wait_log "$H3DP_LOG" 'h3dpd: running' 150 0.1 "$H3DP_DAEMON_PID" || fail "h3dpd start"
ok "h3dpd running on net_af_packet over a veth of MTU 9000"

post() { # post URL [CONNECT-ARGS]: a 16 MiB POST on a new connection; sets RC and OUT
    ctl connect "$@"
    [ "$RC" = 0 ] || fail "connect $1: $OUT $(cat "$H3DP_TMP/ctl.err")"
    local c
    c=$(jv .conn)
    sleep 1.5 # path MTU discovery: a lost probe is declared lost after three PTOs
    ctl request "$c" POST /jumbo --data-file "$H3DP_TMP/body"
    [ "$(jv .status) $(jv .body_sent)" = "200 $((16 << 20))" ] ||
        fail "POST to $1: $OUT $(cat "$H3DP_TMP/ctl.err")"
    ctl show "$c" # its packet-size histogram: SHOW_JUMBO (le_8972), SHOW_1500 (le_1472)
    SHOW_JUMBO=$(jv .pkt_size.tx.le_8972) SHOW_1500=$(jv .pkt_size.tx.le_1472)
    ctl shutdown "$c" --wait
}
sink_max() { # the largest datagram in an h3sink's final totals (its output file)
    grep '"final":true' "$1" | tail -1 | jq -r .datagram_in_max
}
head -c $((16 << 20)) /dev/urandom >"$H3DP_TMP/body"

# 1. The near h3sink, on the MTU-9000 link.
h3dp_start_sink "$H3SINK" "$CERTS" || fail "h3sink start"
post "https://$H3DP_PEER_IP:$H3DP_PEER_PORT"
h3dp_stop_sink
cp "$H3DP_TMP/sink.out" "$H3DP_TMP/sink-near.out"
big=$(sink_max "$H3DP_TMP/sink-near.out")
[ "${big:-0}" -gt 8000 ] || fail "largest datagram at the MTU-9000 h3sink: ${big:-none}"
ok "16 MiB POST over MTU 9000: 200; h3sink's largest datagram $big bytes"
# 16 MiB in 8972-byte datagrams is about 1,900 of them: show's histogram counts them.
[ "${SHOW_JUMBO:-0}" -gt 1800 ] || fail "show pkt_size.tx.le_8972: ${SHOW_JUMBO:-none}"
ok "show: $SHOW_JUMBO datagrams in pkt_size.tx.le_8972"

# 2. The far h3sink: 198.18.1.1 in namespace NS2, reached through a veth of MTU 1500.
ip netns add "$NS2" || fail "namespace $NS2"
h3dp_ns ip link add vnear mtu 1500 type veth peer name vfar netns "$NS2" || fail "veth 2"
h3dp_ns ip addr add 198.18.1.2/24 dev vnear
h3dp_ns ip link set vnear up
h3dp_ns sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$NS2" ip addr add 198.18.1.1/24 dev vfar
ip netns exec "$NS2" ip link set vfar up
ip netns exec "$NS2" ip link set lo up
ip netns exec "$NS2" ip route add 198.18.0.0/24 via 198.18.1.2
ip netns exec "$NS2" "$H3SINK" --addr 198.18.1.1 --port "$H3DP_PEER_PORT" \
    --cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" --json --stats-interval 0 \
    >"$H3DP_TMP/sink-far.out" 2>&1 &
far=$!
h3dp_track "$far"
h3dp_wait_log "$H3DP_TMP/sink-far.out" '^listening on' 100 0.05 "$far" || fail "far h3sink"
post "https://198.18.1.1:$H3DP_PEER_PORT" --sni h3sink.test # a name the test certificate has
kill -INT "$far"
wait "$far"
h3dp_untrack "$far"
got=$(grep '"final":true' "$H3DP_TMP/sink-far.out" | tail -1 | jq -r .body_bytes_in)
[ "$got" = $((16 << 20)) ] || fail "far h3sink received $got body bytes"
small=$(sink_max "$H3DP_TMP/sink-far.out")
[ "${small:-0}" -gt 1200 ] && [ "${small:-0}" -le 1472 ] ||
    fail "largest datagram behind the MTU-1500 link: ${small:-none} (want 1201..1472)"
ok "16 MiB POST behind an MTU-1500 link: every byte, largest datagram $small bytes"
# About 11,700 datagrams of 1472 bytes; the lost 8972-byte probes count in le_8972.
[ "${SHOW_1500:-0}" -gt 11000 ] && [ "${SHOW_JUMBO:-0}" -lt 10 ] ||
    fail "show pkt_size.tx: le_1472 ${SHOW_1500:-none}, le_8972 ${SHOW_JUMBO:-none}"
ok "show: $SHOW_1500 datagrams in pkt_size.tx.le_1472, $SHOW_JUMBO in le_8972 (probes)"
echo PASS
