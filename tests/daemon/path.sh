#!/usr/bin/env bash
# End-to-end tests of what the network path does to h3dpd's traffic (suite 'e2e'; root,
# else 77).
#
#   path.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN
#
# h3dpd runs in a private namespace (MODE dpdk: net_tap, the TAP's kernel side holds
# 198.18.0.1; kernel: io = kernel, 198.18.0.1 on the namespace's lo), uploading to h3sink on
# 198.18.0.1:4433. CASE:
#   spoof  (dpdk) during the upload, one unsolicited ARP reply and one gratuitous ARP
#          request claim 198.18.0.1 (the collector, also the gateway) at a bogus MAC, sent
#          into the TAP with a raw AF_PACKET socket. The neighbour entry keeps the real MAC,
#          new batches are acknowledged within 3 s of the spoof (more than were in flight
#          at that moment), no connection is lost, nothing is retried or fails, and
#          `stats` (arp_conflict), `neigh` and /h3dp/stats-like counters show the conflict
#   spoof6 (dpdk) the same over IPv6: h3dpd has fd00::2/64 and uploads to h3sink on
#          [fd00::1]:4433; the spoof is a Neighbor Advertisement for fd00::1 with the
#          Solicited and Override flags sent to us (an answer nobody asked for) and an
#          unsolicited one with Override to all nodes, both naming a bogus MAC in the
#          target link-layer address option; the same checks (nd_conflict = 2)
#   ecn    nftables in the namespace marks a quarter of h3sink's ECT(0) packets CE and
#          counts h3dpd's packets by ECN codepoint: `show` counts CE received and ECT(0)
#          sent (ngtcp2's ECN validation held: h3sink echoed the counts), the packets on
#          the wire carried ECT(0) as counted, and h3sink saw them ECT(0)
# Every check prints "ok: ..." or "FAIL: ..." and the test goes on; it exits 1 at the end
# if any failed (at once when it cannot go on), with the daemon's log.
set -uo pipefail
MODE=${1:?usage: path.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN}
CASE=${2:?case} H3DPD=${3:?h3dpd} H3CTL=${4:?h3ctl} H3SINK=${5:?h3sink} CERTS=${6:?certs}
CONF_IN=${7:?config}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
[ "$MODE" = dpdk ] && h3dp_need_tun
h3dp_need ip jq python3
case $CASE in
spoof | spoof6) [ "$MODE" = dpdk ] || h3dp_skip "the spoof cases are for the DPDK path (the kernel has its own ARP and NDP)" ;;
ecn) h3dp_need nft ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac

FAILED=0
fail() {
    echo "FAIL: $*"
    diagnostics
    exit 1
}
diagnostics() {
    echo "---- h3ctl neigh / stats.dataplane ----"
    "$H3CTL" -s "$H3DP_SOCK" neigh 2>&1 | head -5
    "$H3CTL" -s "$H3DP_SOCK" --json stats 2>&1 | jq -c '.dataplane | del(.neighbours)' 2>&1 | head -c 2000
    echo
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    [ -f "$H3DP_TMP/sink.out" ] && { echo "---- h3sink ----"; tail -3 "$H3DP_TMP/sink.out"; }
}
ok() { echo "ok: $*"; }
# ctl ARGS...: h3ctl --json; stdout in $OUT, exit status in $RC, stderr in $ERR.
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
    ERR=$(cat "$H3DP_TMP/ctl.err")
}
jv() { jq -r "$1" <<<"${2:-$OUT}"; }
expect() {
    local d=$1
    shift
    if "$@"; then
        ok "$d"
    else
        echo "FAIL: $d"
        echo "  last reply (h3ctl exit $RC): $(jq -c 'del(.generator, .spool, .ingest, .compress)' <<<"$OUT" 2>/dev/null | head -c 1500) $ERR"
        FAILED=$((FAILED + 1))
    fi
}
eq() { [ "$1" = "$2" ] || { echo "  got:  '$1'"; echo "  want: '$2'"; return 1; }; }
# wait_for SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds, 1 after SECONDS.
wait_for() {
    local i n=$(($1 * 10))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
status() { ctl upload status; }
is_idle() { status && [ "$RC" = 0 ] && [ "$(jv .state)" = idle ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

h3dp_env_init "pa${MODE:0:1}${CASE:0:2}${CASE:5:1}" || exit 1
[ "$CASE" = spoof6 ] && h3dp_ipv6
URL=https://$H3DP_PEER_URL_HOST:$H3DP_PEER_PORT
h3dp_conf "$MODE" "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=3000" \
    "upload.url=$URL/t" "upload.connections=2"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
h3dp_start_sink "$H3SINK" "$CERTS" || fail "h3sink start"
ok "h3dpd ($MODE) and h3sink running"

# ================================================================ spoof, spoof6
# spoof_arp OUR_MAC BOGUS: an unsolicited ARP reply to us, and a gratuitous ARP request
# (sender = target = the collector), both from a MAC nobody has.
spoof_arp() {
    h3dp_ns python3 - "$H3DP_IFC" "$1" "$2" 198.18.0.1 198.18.0.2 <<'PY'
import socket, struct, sys
ifc, ours, bogus, peer, us = sys.argv[1:6]
mac = lambda s: bytes.fromhex(s.replace(":", ""))
def arp(dst, op, sha, spa, tha, tpa):  # RFC 826 over Ethernet, padded to 60 bytes
    return (mac(dst) + mac(bogus) + struct.pack("!H", 0x0806) +
            struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac(sha) + socket.inet_aton(spa) +
            mac(tha) + socket.inet_aton(tpa)).ljust(60, b"\0")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifc, 0))
s.send(arp(ours, 2, bogus, peer, ours, us))                               # reply, unasked
s.send(arp("ff:ff:ff:ff:ff:ff", 1, bogus, peer, "00:00:00:00:00:00", peer))  # gratuitous
PY
}

# spoof_nd OUR_MAC BOGUS: Neighbor Advertisements (RFC 4861 4.4) for the collector from a
# MAC nobody has, naming it in the target link-layer address option: one to us with the
# Solicited and Override flags (an answer nobody asked for), one to all nodes with Override
# (an unsolicited announcement). Valid as 7.1.2 wants them: Hop Limit 255, code 0.
spoof_nd() {
    h3dp_ns python3 - "$H3DP_IFC" "$1" "$2" "$H3DP_PEER_IP6" "$H3DP_OUR_IP6" <<'PY'
import socket, struct, sys
ifc, ours, bogus, peer, us = sys.argv[1:6]
mac = lambda s: bytes.fromhex(s.replace(":", ""))
ip6 = lambda s: socket.inet_pton(socket.AF_INET6, s)
def csum(b):
    b += b"\0" * (len(b) & 1)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def na(dst_mac, dst, flags):
    body = struct.pack("!BBHI", 136, 0, 0, flags << 29) + ip6(peer) + bytes([2, 1]) + mac(bogus)
    src = ip6(peer)
    ck = csum(src + ip6(dst) + struct.pack("!IxxxB", len(body), 58) + body)
    body = body[:2] + struct.pack("!H", ck) + body[4:]
    hdr = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + ip6(dst)
    return mac(dst_mac) + mac(bogus) + struct.pack("!H", 0x86DD) + hdr + body
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifc, 0))
s.send(na(ours, us, 0b011))                            # Solicited + Override, to us
s.send(na("33:33:00:00:00:01", "ff02::1", 0b001))      # Override, to all nodes
PY
}

# spoof_case FAMILY: the upload, the spoof during it, the checks.
spoof_case() {
    local fam=$1 peer us tap_mac our_mac bogus=02:de:ad:be:ef:01 a0 f0 c0 p0 t0 t1 n e proto=arp
    local ipc=(ip)
    [ "$fam" = ipv6 ] && ipc=(ip -6) proto=nd
    peer=$H3DP_PEER_IP us=198.18.0.2
    [ "$fam" = ipv6 ] && us=$H3DP_OUR_IP6
    tap_mac=$(h3dp_ns cat "/sys/class/net/$H3DP_IFC/address")
    # Our MAC, as the collector's kernel learns it (a ping makes it resolve us).
    h3dp_ns ping -c 1 -W 2 "$us" >/dev/null 2>&1
    our_mac=$(h3dp_ns "${ipc[@]}" neigh show "$us" dev "$H3DP_IFC" | awk '{print $3}')
    [ -n "$our_mac" ] || fail "the kernel side has no neighbour entry for $us"
    # The kernel side must not rescue a poisoned h3dpd with its own ARP requests or
    # Neighbor Solicitations (sent when its entry for us goes stale: they carry the real
    # MAC): the test measures h3dpd alone.
    h3dp_ns "${ipc[@]}" neigh replace "$us" lladdr "$our_mac" dev "$H3DP_IFC" nud permanent ||
        fail "cannot pin the kernel's neighbour entry"
    # 12 s: on a loaded machine the steps before the spoof take seconds, and the spoof must
    # land while records still flow.
    ctl upload start --rate 4000 --record-size 511 --duration 12s
    [ "$RC" = 0 ] || fail "upload start: $ERR"
    wait_for 5 eval 'status; [ "$(jv .acked.records)" -gt 2000 ]' || fail "the upload does not get going"
    c0=$(jv .connections.open)
    ctl neigh
    expect "before: $peer is at the TAP's MAC $tap_mac, reachable, in use" \
        eq "$(jv ".neighbours[] | select(.address == \"$peer\") | [.mac, .state, .in_use] | @tsv")" \
        "$tap_mac	reachable	true"
    p0=$(jv ".neighbours[] | select(.address == \"$peer\") | .probes")

    if [ "$fam" = ipv6 ]; then spoof_nd "$our_mac" "$bogus"; else spoof_arp "$our_mac" "$bogus"; fi ||
        fail "spoof not sent"
    t0=$(now_ms)
    status
    a0=$(jv .acked.records) f0=$(jv .in_flight.records)
    [ "$a0" -lt 44000 ] || fail "too late: $a0 of 48000 records acknowledged before the spoof"

    # Acknowledgements resume: more batches acknowledged than were in flight at the spoof,
    # so some were sent after it (to the MAC that answers).
    if wait_for 3 eval 'status; [ "$(jv .acked.records)" -gt $((a0 + f0)) ]'; then
        t1=$(now_ms)
        ok "acknowledgements go on after the spoof: $(jv .acked.records) acked > $a0 acked + $f0 in flight at the spoof, $((t1 - t0)) ms later"
    else
        echo "FAIL: no batch sent after the spoof was acknowledged within 3 s (acked $(jv .acked.records), at the spoof $a0 + $f0 in flight)"
        FAILED=$((FAILED + 1))
    fi
    ctl neigh
    n=$(jv ".neighbours[] | select(.address == \"$peer\")")
    expect "after: $peer still at $tap_mac (usable: reachable or probe), 2 conflicts counted, the old MAC probed ($p0 solicitations before)" \
        eq "$(jv "[.mac, (.state == \"reachable\" or .state == \"probe\"), .conflicts, (.probes > $p0)] | @tsv" "$n")" \
        "$tap_mac	true	2	true"
    ctl stats
    expect "stats: dataplane.$proto.${proto}_conflict = 2, neigh.conflicts = 2, hints from the traffic" \
        eq "$(jv "[.dataplane.$proto.${proto}_conflict, .dataplane.neigh.conflicts, (.dataplane.neigh.hints > 0)] | @tsv")" \
        "2	2	true"
    expect "stats: every drop reason present, no neighbour drop" \
        eq "$(jv '[(.dataplane.drops | length >= 25), .dataplane.drops.no_neigh, .dataplane.rings.resolve_full] | @tsv')" \
        "true	0	0"
    wait_for 20 is_idle || fail "the upload did not end"
    e=$(jv '[.accepted.records, .acked.records, .failed.records, .retried.records, .requests.conn_errors, .connections.open] | @tsv')
    expect "no connection lost: accepted = acked = 48000, nothing failed or retried, no request cut, $c0 connections open as before" \
        eq "$e" "48000	48000	0	0	0	$c0"
    expect "h3dpd's log says it (once, rate-limited)" grep -qi "$proto: $peer claimed by $bogus" "$H3DP_LOG"
    ctl neigh
    expect "later: the traffic keeps confirming it (confirmations grow, reachable)" \
        eq "$(jv ".neighbours[] | select(.address == \"$peer\") | [.state, (.confirmations > 2)] | @tsv")" \
        "reachable	true"
}
case_spoof() { spoof_case ipv4; }
case_spoof6() { spoof_case ipv6; }

# ================================================================ ecn
# nft_count CHAIN COMMENT: the packets the rule with that comment counted.
nft_count() {
    h3dp_ns nft -j list chain ip h3dpecn "$1" |
        jq "[.nftables[] | select(.rule.comment == \"$2\") | .rule.expr[] | select(.counter) | .counter.packets] | add"
}

case_ecn() {
    local c st sink ect0 ce all
    # h3sink -> h3dpd: a quarter of the ECT(0) packets arrive CE (a congested router,
    # RFC 3168); h3dpd -> h3sink: counted by codepoint where they arrive. The rules see the
    # DPDK path's packets on the TAP and the kernel path's on lo.
    h3dp_ns nft -f - <<'NFT' || fail "nftables rules"
table ip h3dpecn {
    chain post {
        type filter hook postrouting priority 0; policy accept;
        udp sport 4433 ip ecn ect0 numgen random mod 4 == 0 ip ecn set ce counter comment "ce"
    }
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        udp dport 4433 ip ecn ect0 counter comment "ect0"
        udp dport 4433 ip ecn ce counter comment "tx_ce"
        udp dport 4433 counter comment "all"
    }
}
NFT
    ctl connect "$URL"
    [ "$RC" = 0 ] || fail "connect: $ERR"
    c=$(jv .conn)
    head -c $((8 << 20)) /dev/urandom >"$H3DP_TMP/body"
    ctl request "$c" POST /upload --data-file "$H3DP_TMP/body"
    expect "POST 8 MiB: 200" eq "$(jv .status)" 200
    ctl request "$c" GET /bytes/4000000
    expect "GET 4 MB: 200" eq "$(jv .status) $(jv .body_bytes)" "200 4000000"
    ctl show "$c"
    st=$OUT
    ce=$(nft_count post ce) ect0=$(nft_count pre ect0) all=$(nft_count pre all)
    expect "show: CE received ($(jv .ecn.rx.ce "$st") of $(jv .packets.recv "$st"); nftables marked $ce)" \
        eq "$(jv '[(.ecn.rx.ce > 0), (.ecn.rx.ect0 > .ecn.rx.ce)] | @tsv' "$st")" "true	true"
    expect "show: ngtcp2 kept ECT(0) on what it sent (validated): ect0 $(jv .ecn.tx.ect0 "$st") of $(jv .packets.sent "$st") packets" \
        test "$(jv '.ecn.tx.ect0 * 10 > .packets.sent * 9' "$st")" = true
    expect "on the wire: every packet h3dpd sent was ECT(0) ($ect0 of $all), none CE" \
        eq "$ect0 $(nft_count pre tx_ce)" "$all 0"
    if [ "$MODE" = dpdk ]; then
        # One frame per datagram: the counts on the wire are h3dpd's own.
        expect "DPDK: as many ECT(0) frames on the wire as h3dpd counted ($(jv .ecn.tx.ect0 "$st"), the last ones after the count)" \
            test "$ect0" -ge "$(jv .ecn.tx.ect0 "$st")"
    fi
    # h3sink sends with UDP GSO (on the TAP too): nftables sees a super-datagram before the
    # kernel cuts it, and its mark is on each segment, so CE datagrams >= marked packets.
    expect "CE received ($(jv .ecn.rx.ce "$st") datagrams) from $ce marked (GSO) packets" \
        test "$(jv .ecn.rx.ce "$st")" -ge "$ce" -a "$ce" -gt 0
    ctl close "$c"
    h3dp_stop_sink
    sink=$H3DP_SINK_FINAL
    expect "h3sink saw ECT(0) datagrams ($(jv .pkts_in_ect "$sink")), no CE" \
        eq "$(jv '[(.pkts_in_ect > 1000), .pkts_in_ce] | @tsv' "$sink")" "true	0"
}

"case_$CASE"
if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED check(s) failed"
    diagnostics
    exit 1
fi
echo PASS
