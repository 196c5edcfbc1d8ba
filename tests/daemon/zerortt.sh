#!/usr/bin/env bash
# Session resumption and 0-RTT through h3dpd (suite 'e2e'; root, else 77).
#
#   zerortt.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN RELAY
#
# h3dpd (MODE dpdk: net_tap; kernel: io = kernel) uploads generated JSON records with one
# connection to 198.18.0.1:4433, a UDP relay (RELAY, udp_delay_relay.py) that holds every
# datagram 20 ms each way in front of the collector on 198.18.0.1:4434: a handshake takes
# at least 40 ms, so the engine always hears that a reconnect can send 0-RTT before the
# handshake is done. CASE:
#   goaway     h3sink sends GOAWAY (SIGHUP) twice mid-upload: each reconnect resumes the
#              session and its first requests go in 0-RTT, accepted (h3dpd's show and
#              upload status, h3sink's resumed/early_accepted/early_requests); nothing lost
#              (acknowledged = generated = h3sink's unique records)
#   reject     the same against h3sink --no-early-data: the early requests are refused
#              with the early data and sent again after the handshake, each once; nothing
#              lost, h3sink saw none early
#   restart    [tls] session_dir: h3dpd uploads, exits (SIGTERM) leaving one 0600 ticket
#              file; a new h3dpd loads it and its first connection resumes with 0-RTT
#   gtlsserver ngtcp2's gtlsserver (GnuTLS, accepts early data for HTTP/3) as the
#              collector (POST /up answered 200 from its docroot): the engine's connection
#              is shut down from h3ctl mid-upload (gtlsserver has no GOAWAY trigger); the
#              replacement resumes and sends in 0-RTT, accepted
set -uo pipefail
MODE=${1:?usage: zerortt.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN RELAY}
CASE=$2 H3DPD=$3 H3CTL=$4 H3SINK=$5 CERTS=$6 CONF_IN=$7 RELAY=$8
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need_tun
h3dp_need ip jq python3
[ "$CASE" != gtlsserver ] || h3dp_need gtlsserver

DELAY_MS=20
fail() {
    echo "FAIL: $*"
    echo "---- h3ctl list ----"
    "$H3CTL" -s "$H3DP_SOCK" list --all 2>&1 | tail -8
    echo "---- upload status ----"
    "$H3CTL" -s "$H3DP_SOCK" --json upload status 2>&1 | jq -c '{state, accepted, acked, failed, requests, resumption}' 2>&1
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    [ -f "$H3DP_TMP/sink.out" ] && { echo "---- h3sink ----"; tail -3 "$H3DP_TMP/sink.out"; }
    exit 1
}
ok() { echo "ok: $*"; }
ctl() { "$H3CTL" -s "$H3DP_SOCK" --json "$@"; }
# wait_idle SECONDS: until the engine has nothing queued or in flight.
wait_idle() {
    local i
    for i in $(seq $(($1 * 10))); do
        [ "$(ctl upload status 2>/dev/null | jq -r .state)" = idle ] && return 0
        sleep 0.1
    done
    return 1
}
# conn_ids: the daemon's connections, closed ones too (list --all), oldest first.
conn_ids() { ctl list --all | jq -r '.conns[].id'; }
# wait_ticket N SECONDS: until there are N connections and the newest has the collector's
# ticket (so the next reconnect has one to resume with, however slow the machine is).
wait_ticket() {
    local i last
    for i in $(seq $(($2 * 10))); do
        mapfile -t ids < <(conn_ids)
        if [ "${#ids[@]}" -ge "$1" ]; then
            last=${ids[${#ids[@]} - 1]}
            [ "$(ctl show "$last" | jq -r .resumption.tickets_received)" -ge 1 ] 2>/dev/null &&
                return 0
        fi
        sleep 0.1
    done
    return 1
}
start_relay() {
    h3dp_ns_bg python3 -u "$RELAY" "$H3DP_PEER_IP" 4433 "$H3DP_PEER_IP" 4434 "$DELAY_MS" \
        >"$H3DP_TMP/relay.out" 2>&1
    h3dp_wait_log "$H3DP_TMP/relay.out" '^relay on 4433' 100 0.05 "$H3DP_BG_PID" ||
        fail "the relay did not start: $(cat "$H3DP_TMP/relay.out")"
}
# check_resumed ID KIND: connection ID resumed, its early data KIND (accepted/rejected),
# at least one request early (the first ones: only requests before the handshake are).
check_resumed() {
    local s
    s=$(ctl show "$1") # exit 1 for a connection that ended in error: the JSON says more
    [ -n "$s" ] || fail "show $1"
    [ "$(jq -r .resumption.resumed <<<"$s")" = true ] || fail "connection $1 did not resume: $s"
    [ "$(jq -r .resumption.early_data <<<"$s")" = "$2" ] ||
        fail "connection $1: early data $(jq -r .resumption.early_data <<<"$s"), want $2"
    [ "$(jq -r .resumption.requests_early <<<"$s")" -ge 1 ] ||
        fail "connection $1 sent nothing in 0-RTT"
    if [ "$2" = rejected ]; then
        [ "$(jq -r .resumption.requests_early_resent <<<"$s")" = \
            "$(jq -r .resumption.requests_early <<<"$s")" ] || fail "connection $1: not every early request sent again"
    fi
    ok "connection $1: $(jq -r .resumption.summary <<<"$s")"
}
# nothing_lost GENERATED [RECEIVED]: the engine acknowledged every generated record, none
# failed; h3sink has them all, RECEIVED (default: GENERATED; more when an earlier daemon
# uploaded to it too) unique records (duplicates only as it counts them).
nothing_lost() {
    local s acc ack failed srec sdup want=${2:-$1}
    s=$(ctl upload status)
    acc=$(jq -r .accepted.records <<<"$s") ack=$(jq -r .acked.records <<<"$s")
    failed=$(jq -r .failed.records <<<"$s")
    [ "$failed" = 0 ] || fail "$failed records failed"
    [ "$acc" = "$1" ] && [ "$ack" = "$1" ] || fail "generated $1, accepted $acc, acknowledged $ack"
    if [ -n "${H3DP_SINK_FINAL:-}" ]; then
        srec=$(jq -r .records <<<"$H3DP_SINK_FINAL") sdup=$(jq -r .records_dup <<<"$H3DP_SINK_FINAL")
        [ $((srec - sdup)) = "$want" ] ||
            fail "h3sink has $((srec - sdup)) unique records, want $want (h3dpd acknowledged $ack)"
        ok "nothing lost: $ack records acknowledged, h3sink has $want ($sdup duplicates reported)"
    else
        ok "nothing lost: $ack records acknowledged"
    fi
}

h3dp_env_init "zr${MODE:0:1}${CASE:0:3}" || exit 1
h3dp_peer_port 4434
EXTRA=()
if [ "$CASE" = restart ]; then
    mkdir -m 0700 "$H3DP_TMP/sessions"
    EXTRA=("tls.session_dir=$H3DP_TMP/sessions")
fi
h3dp_conf "$MODE" "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=3000" \
    "h3.idle_timeout_ms=10000" "h3.keepalive_ms=2000" "h3.shutdown_timeout_ms=5000" \
    "upload.url=https://$H3DP_PEER_IP:4433/up" "upload.connections=1" \
    "upload.batch_bytes=8K" "upload.linger_ms=5" "upload.retry_initial_ms=100" \
    "upload.retry_max_ms=1000" "upload.retry_limit=0" "${EXTRA[@]}"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
if [ "$CASE" = gtlsserver ]; then
    mkdir -p "$H3DP_TMP/docroot"
    echo ok >"$H3DP_TMP/docroot/up"
    h3dp_start_gtlsserver "$CERTS" "$H3DP_TMP/docroot" || fail "gtlsserver start"
else
    SINK_ARGS=()
    [ "$CASE" = reject ] && SINK_ARGS=(--no-early-data)
    h3dp_start_sink "$H3SINK" "$CERTS" "${SINK_ARGS[@]}" || fail "h3sink start"
fi
start_relay
ok "h3dpd ($MODE) -> relay ${DELAY_MS} ms each way -> $CASE collector"

case $CASE in
goaway | reject)
    # 8 s: the GOAWAYs land while records still flow, however slow the machine
    ctl upload start --rate 250 --record-size 256 --duration 8s >/dev/null || fail "upload start"
    sleep 1
    wait_ticket 1 10 || fail "the first connection got no ticket"
    kill -HUP "$H3DP_SINK_PID"
    sleep 1
    wait_ticket 2 10 || fail "no reconnect with a ticket after the first GOAWAY"
    kill -HUP "$H3DP_SINK_PID"
    wait_idle 30 || fail "the upload did not finish"
    mapfile -t ids < <(conn_ids)
    [ "${#ids[@]}" -ge 3 ] || fail "${#ids[@]} connections: the GOAWAYs were not followed by reconnects"
    s=$(ctl show "${ids[0]}")
    [ "$(jq -r .resumption.resumed <<<"$s")" = false ] || fail "the first connection resumed"
    want=accepted
    [ "$CASE" = reject ] && want=rejected
    for id in "${ids[@]:1}"; do check_resumed "$id" "$want"; done
    S=$(ctl upload status)
    res=$(jq -c .resumption <<<"$S")
    sent=$(jq -r .early_sent <<<"$res") acc=$(jq -r .early_accepted <<<"$res")
    rej=$(jq -r .early_rejected <<<"$res")
    [ "$(jq -r .resumed <<<"$res")" = $((${#ids[@]} - 1)) ] || fail "upload status: $res"
    [ "$(jq -r .handshakes <<<"$res")" = "${#ids[@]}" ] || fail "upload status: $res"
    [ "$sent" -ge 2 ] || fail "upload status: $sent requests early"
    if [ "$CASE" = goaway ]; then
        [ "$acc" = "$sent" ] && [ "$rej" = 0 ] || fail "upload status: $res"
    else
        [ "$rej" = "$sent" ] && [ "$acc" = 0 ] || fail "upload status: $res"
    fi
    ok "upload status: resumption $res"
    h3dp_stop_sink
    sres=$(jq -r .resumed <<<"$H3DP_SINK_FINAL") sacc=$(jq -r .early_accepted <<<"$H3DP_SINK_FINAL")
    sreq=$(jq -r .early_requests <<<"$H3DP_SINK_FINAL")
    [ "$sres" = $((${#ids[@]} - 1)) ] || fail "h3sink counted $sres resumed handshakes"
    if [ "$CASE" = goaway ]; then
        [ "$sacc" = "$sres" ] && [ "$sreq" -ge 2 ] && [ "$sreq" -le "$sent" ] ||
            fail "h3sink: early data accepted on $sacc connections, $sreq requests early (h3dpd: $sent)"
    else
        [ "$sacc" = 0 ] && [ "$sreq" = 0 ] ||
            fail "h3sink --no-early-data: early data accepted on $sacc connections, $sreq requests early"
    fi
    ok "h3sink: $sres handshakes resumed, early data accepted on $sacc, $sreq requests early"
    nothing_lost 2000
    ;;
restart)
    ctl upload start --records 300 --rate 300 --record-size 256 >/dev/null || fail "upload start"
    wait_idle 30 || fail "the first upload did not finish"
    s=$(ctl show "$(conn_ids | head -1)")
    [ "$(jq -r .resumption.tickets_received <<<"$s")" -ge 1 ] || fail "no ticket received: $s"
    kill -TERM "$H3DP_DAEMON_PID"
    wait "$H3DP_DAEMON_PID"
    rc=$?
    H3DP_DAEMON_PID=
    [ "$rc" = 0 ] || fail "h3dpd exited $rc"
    mapfile -t files < <(find "$H3DP_TMP/sessions" -name 'h3s-*.session')
    [ "${#files[@]}" = 1 ] || fail "${#files[@]} session files after the exit"
    [ "$(stat -c %a "${files[0]}")" = 600 ] || fail "session file mode $(stat -c %a "${files[0]}")"
    ok "h3dpd exited 0 and left its ticket in $(basename "${files[0]}") (0600)"
    if [ "$MODE" = dpdk ]; then # the old TAP and DPDK runtime dir
        h3dp_ns ip link del "$H3DP_IFC" 2>/dev/null
        rm -rf "/var/run/dpdk/$H3DP_PREFIX"
    fi
    h3dp_start_daemon "$H3DPD" || fail "h3dpd restart"
    S=$(ctl stats)
    [ "$(jq -r .session_cache.loaded <<<"$S")" = 1 ] && [ "$(jq -r .session_cache.entries <<<"$S")" = 1 ] ||
        fail "stats after the restart: $(jq -c .session_cache <<<"$S")"
    ok "restarted h3dpd loaded it: $(jq -c .session_cache <<<"$S")"
    ctl upload start --records 300 --rate 300 --record-size 256 >/dev/null || fail "upload start"
    wait_idle 30 || fail "the upload after the restart did not finish"
    check_resumed "$(conn_ids | head -1)" accepted
    h3dp_stop_sink
    [ "$(jq -r .resumed <<<"$H3DP_SINK_FINAL")" = 1 ] || fail "h3sink: $(jq -c '{resumed, early_accepted}' <<<"$H3DP_SINK_FINAL")"
    ok "h3sink: the second daemon's handshake resumed, $(jq -r .early_requests <<<"$H3DP_SINK_FINAL") requests early"
    nothing_lost 300 600 # the first daemon's 300 too
    ;;
gtlsserver)
    ctl upload start --rate 400 --record-size 256 --duration 4s >/dev/null || fail "upload start"
    sleep 1.5
    first=$(conn_ids | head -1)
    out=$(ctl shutdown "$first" --max-push 0 2>&1) || fail "shutdown $first: $out"
    wait_idle 30 || fail "the upload did not finish"
    mapfile -t ids < <(conn_ids)
    [ "${#ids[@]}" -ge 2 ] || fail "no reconnect after the shutdown"
    check_resumed "${ids[1]}" accepted
    res=$(ctl upload status | jq -c .resumption)
    [ "$(jq -r .early_sent <<<"$res")" -ge 1 ] && [ "$(jq -r .early_rejected <<<"$res")" = 0 ] ||
        fail "upload status: $res"
    ok "upload status: resumption $res"
    nothing_lost 1600
    ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac
echo PASS
