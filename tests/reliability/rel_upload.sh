#!/usr/bin/env bash
# Reliability of the upload engine on the DPDK path (suite 'reliability'; root, else 77).
#
#   rel_upload.sh CASE H3DPD H3CTL H3SINK CERTS CONF_IN RELAY PRODUCER
#
# h3dpd runs on net_tap in a private namespace and uploads to h3sink on the TAP's kernel
# side (198.18.0.1:4433). CASE:
#   goaway        generator upload; h3sink sends GOAWAY (SIGHUP) twice mid-upload: every
#                 acknowledged record reaches it, nothing fails, duplicates reported
#   sink_restart  spool files; h3sink is killed (SIGKILL) mid-upload and restarted 2 s
#                 later: every file is delivered (the spool empties) and received
#   loss          generator upload through 5% loss each way (nftables; this kernel has no
#                 netem): completes, byte-exact counts
#   reorder       the same through a relay that swaps 5% of neighbouring datagrams
#   daemon_kill   spool files; h3dpd is killed (SIGKILL) mid-upload and restarted: the
#                 spool resumes and empties; every file was received at least once, and
#                 each one received again is a duplicate by its (stable) batch id
#   ingest_flood  a producer floods the ingest socket far beyond [upload] ingest_queue
#                 against a slow collector: it sees EAGAIN (backpressure), and the records
#                 it sent = accepted = acknowledged = received
#   wire_newline  JSON records through the ingest socket with framing = newline and
#                 compress = gzip: h3sink splits the decoded bodies into lines, and the
#                 lines it wrote out are the records sent, byte for byte
#   wire_length   the same with framing = length and records of arbitrary bytes ('\n'
#                 and NUL among them)
set -uo pipefail
CASE=${1:?usage: rel_upload.sh CASE H3DPD H3CTL H3SINK CERTS CONF_IN RELAY PRODUCER}
H3DPD=$2 H3CTL=$3 H3SINK=$4 CERTS=$5 CONF_IN=$6 RELAY=$7 PRODUCER=$8
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
h3dp_need ip jq python3
h3dp_need_tun
[ "$CASE" != loss ] || h3dp_need nft

fail() {
    echo "FAIL: $*"
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    echo "---- upload status ----"
    "$H3CTL" -s "$H3DP_SOCK" --json upload status 2>&1 | head -40
    exit 1
}
ok() { echo "ok: $*"; }
ctl() { "$H3CTL" -s "$H3DP_SOCK" "$@"; }
status() { ctl --json upload status; }
# spool_count [-a]: the spool's files; -a: every entry (temp files being written too) but
# the engine's .failed-* ones.
spool_count() {
    local skip='.*'
    [ "${1:-}" = -a ] && skip='.failed-*'
    find "$SPOOL" -mindepth 1 -maxdepth 1 ! -name "$skip" -printf . 2>/dev/null | wc -c
}
# wait_idle SECONDS: until the engine has nothing queued or in flight (and the spool is empty).
wait_idle() {
    local i
    for i in $(seq $(($1 * 10))); do
        S=$(status 2>/dev/null) || { sleep 0.1; continue; }
        if [ "$(jq -r .state <<<"$S")" = idle ] && [ "$(spool_count -a)" = 0 ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
make_spool() { # make_spool N TAG: N files of 20 KiB, each one JSON line (the default
    # framing, newline: a spool file is one record), written aside and renamed in at once
    local i pad stage=$H3DP_TMP/stage
    pad=$(head -c 20400 /dev/zero | tr '\0' x)
    mkdir -p "$stage"
    for i in $(seq "$1"); do
        printf '{"file":"%s%s","pad":"%s"}\n' "$2" "$i" "$pad" >"$stage/$2$i"
    done
    find "$stage" -mindepth 1 -maxdepth 1 -exec mv -t "$SPOOL" {} +
}

h3dp_env_init "ru${CASE:0:4}" || exit 1
SPOOL=$H3DP_TMP/spool
mkdir -p "$SPOOL"
PORT=4433 EXTRA=()
if [ "$CASE" = reorder ]; then
    PORT=4434 # the relay listens on 4433 and forwards to h3sink on 4434
    EXTRA=("upload.connections=1") # the relay follows one client
fi
# daemon_kill: at most 4 files in flight, each answer held 50 ms (<= 80 files/s), so the
# kill lands mid-upload however fast the machine is.
[ "$CASE" = daemon_kill ] && EXTRA=("upload.connections=1" "upload.streams=4")
[ "$CASE" = wire_newline ] && EXTRA=("upload.framing=newline" "upload.compress=gzip")
[ "$CASE" = wire_length ] && EXTRA=("upload.framing=length" "upload.compress=gzip")
h3dp_conf dpdk "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=2000" \
    "h3.idle_timeout_ms=5000" "h3.keepalive_ms=2000" "upload.spool_dir=$SPOOL" \
    "upload.ingest_socket=$H3DP_TMP/ingest.sock" "upload.ingest_queue=1000" \
    "upload.retry_initial_ms=100" "upload.retry_max_ms=1000" "upload.retry_limit=0" \
    "upload.batch_bytes=64K" "${EXTRA[@]}"
h3dp_peer_port "$PORT"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
SINK_ARGS=()
[ "$CASE" = ingest_flood ] && SINK_ARGS=(--response-delay-ms 20)
[ "$CASE" = daemon_kill ] && SINK_ARGS=(--response-delay-ms 50)
[ "${CASE%_*}" = wire ] && SINK_ARGS=(--records-out "$H3DP_TMP/records.out")
h3dp_start_sink "$H3SINK" "$CERTS" "${SINK_ARGS[@]}" || fail "h3sink start"

case $CASE in
goaway)
    ctl upload start --rate 20000 --record-size 512 --duration 6s >/dev/null || fail "upload start"
    sleep 2
    kill -HUP "$H3DP_SINK_PID"
    sleep 2
    kill -HUP "$H3DP_SINK_PID"
    wait_idle 30 || fail "the upload did not finish"
    ;;
sink_restart)
    make_spool 200 a
    sleep 0.5
    kill -KILL "$H3DP_SINK_PID"
    wait "$H3DP_SINK_PID" 2>/dev/null
    H3DP_SINK_PID=
    cp "$H3DP_TMP/sink.out" "$H3DP_TMP/sink1.out"
    make_spool 100 b # more files while the collector is down
    sleep 2
    h3dp_start_sink "$H3SINK" "$CERTS" || fail "h3sink restart"
    wait_idle 60 || fail "the spool did not empty after the collector came back"
    ;;
loss)
    ip netns exec "$H3DP_NS" nft -f - <<NFT || fail "nft rules"
table inet h3dprel {
    chain in { type filter hook input priority 0; iifname "$H3DP_IFC" udp dport 4433 numgen random mod 100 < 5 counter drop; }
    chain out { type filter hook output priority 0; oifname "$H3DP_IFC" udp sport 4433 numgen random mod 100 < 5 counter drop; }
}
NFT
    ctl upload start --rate 10000 --record-size 1024 --duration 5s >/dev/null || fail "upload start"
    wait_idle 60 || fail "the upload did not finish through loss"
    drops=$(ip netns exec "$H3DP_NS" nft list table inet h3dprel |
        sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
    [ "${drops:-0}" -gt 0 ] || fail "no datagram was dropped"
    ok "impairment: $drops datagrams dropped by nft (5% each way)"
    ;;
reorder)
    ip netns exec "$H3DP_NS" python3 "$RELAY" 4433 4434 5 7 "$H3DP_PEER_IP" \
        >"$H3DP_TMP/relay.out" 2>&1 &
    H3DP_PEER_PID=$!
    sleep 0.3
    ctl upload start --rate 2000 --record-size 1024 --duration 5s >/dev/null || fail "upload start"
    wait_idle 60 || fail "the upload did not finish through reordering"
    kill -TERM "$H3DP_PEER_PID"
    wait "$H3DP_PEER_PID" 2>/dev/null
    H3DP_PEER_PID=
    reordered=$(sed -n 's/.*reordered \([0-9]*\).*/\1/p' "$H3DP_TMP/relay.out")
    [ "${reordered:-0}" -gt 0 ] || fail "no reordering happened"
    ok "impairment: $reordered datagram pairs swapped by the relay"
    ;;
daemon_kill)
    make_spool 300 a
    for i in $(seq 100); do # under way: the first files acknowledged and removed
        [ "$(spool_count)" -lt 300 ] && break
        sleep 0.05
    done
    kill -KILL "$H3DP_DAEMON_PID"
    wait "$H3DP_DAEMON_PID" 2>/dev/null
    H3DP_DAEMON_PID=
    left=$(spool_count)
    ok "h3dpd killed with $left of 300 spool files left"
    [ "$left" -gt 0 ] || fail "the spool emptied before the kill: nothing to resume"
    ip netns exec "$H3DP_NS" ip link del "$H3DP_IFC" 2>/dev/null
    rm -rf "/var/run/dpdk/$H3DP_PREFIX"
    h3dp_start_daemon "$H3DPD" || fail "h3dpd restart"
    wait_idle 60 || fail "the spool did not empty after the restart"
    ;;
ingest_flood)
    out=$(ip netns exec "$H3DP_NS" python3 "$PRODUCER" "$H3DP_TMP/ingest.sock" 20000 200) ||
        fail "producer: $out"
    wait_idle 60 || fail "the ingested records were not all acknowledged"
    sent=$(jq -r .sent <<<"$out") eagain=$(jq -r .eagain <<<"$out")
    [ "$eagain" -gt 0 ] || fail "the producer never saw backpressure"
    ok "producer sent $sent records and was told to retry (EAGAIN) $eagain times"
    ;;
wire_newline | wire_length)
    kind=json
    [ "$CASE" = wire_length ] && kind=binary
    out=$(ip netns exec "$H3DP_NS" python3 "$PRODUCER" "$H3DP_TMP/ingest.sock" 20000 300 \
        --kind "$kind" --out "$H3DP_TMP/records.sent") || fail "producer: $out"
    sent=$(jq -r .sent <<<"$out")
    wait_idle 60 || fail "the ingested records were not all acknowledged"
    ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac

S=$(status)
acc=$(jq -r .accepted.records <<<"$S") ack=$(jq -r .acked.records <<<"$S")
failed=$(jq -r .failed.records <<<"$S") ackb=$(jq -r .acked.bytes <<<"$S")
retried=$(jq -r .retried.records <<<"$S")
h3dp_stop_sink
srec=$(jq -r .records <<<"$H3DP_SINK_FINAL") sdup=$(jq -r .records_dup <<<"$H3DP_SINK_FINAL")
sbytes=$(jq -r .body_bytes_decoded <<<"$H3DP_SINK_FINAL") # = body_bytes_in without coding
echo "engine: accepted $acc, acknowledged $ack ($ackb bytes), failed $failed, retried $retried;" \
    "h3sink: $srec records ($sdup duplicates), $sbytes bytes"
[ "$failed" = 0 ] || fail "$failed records failed"
case $CASE in
sink_restart)
    # Files acknowledged by the killed collector were removed; the rest was sent again to
    # the restarted one (the killed one's counts die with it).
    [ "$(spool_count)" = 0 ] || fail "spool files left"
    [ "$srec" -ge 1 ] && [ "$ack" -ge 300 ] ||
        fail "not every spool file acknowledged (acked $ack of 300)"
    ok "all 300 spool files acknowledged after the collector's restart; it received $srec after it"
    ;;
daemon_kill)
    # A spool file's batch id comes from the file (its name and content), so one sent again
    # after the crash carries the id it had: the collector sees exactly 300 batches and
    # reports every repeat as a duplicate (with boot-time ids each repeat was a new batch).
    [ "$(spool_count)" = 0 ] || fail "spool files left"
    [ "$srec" -ge 300 ] || fail "the collector received $srec of 300 files"
    sbat=$(jq -r .batches <<<"$H3DP_SINK_FINAL")
    [ "$sbat" = 300 ] || fail "h3sink saw $sbat distinct batch ids for 300 files"
    [ "$sdup" -ge 1 ] || fail "no file was received twice: the kill did not test a re-send"
    [ "$sdup" = $((srec - 300)) ] ||
        fail "$((srec - 300)) files were received again but h3sink reports $sdup duplicates"
    ok "the spool resumed: all 300 files received ($srec uploads); the $sdup received again after the crash were all duplicates by batch id"
    ;;
*)
    [ "$acc" = "$ack" ] || fail "accepted $acc != acknowledged $ack"
    [ $((srec - sdup)) = "$ack" ] || fail "h3sink has $((srec - sdup)) unique records, engine acked $ack"
    [ "$sbytes" -ge "$ackb" ] || fail "h3sink got $sbytes bytes < $ackb acknowledged"
    if [ "$CASE" = ingest_flood ] || [ "${CASE%_*}" = wire ]; then
        [ "$acc" = "$sent" ] || fail "producer sent $sent, engine accepted $acc"
    fi
    if [ "${CASE%_*}" = wire ]; then
        framing=${CASE#wire_}
        coded=$(jq -r .compress.bytes_out <<<"$S") plain=$(jq -r .compress.bytes_in <<<"$S")
        [ "$(jq -r .compress.codec <<<"$S")" = gzip ] && [ "$coded" -lt "$plain" ] ||
            fail "the bodies were not sent gzip-coded: $(jq -c .compress <<<"$S")"
        nframed=$(jq -r ".framing.$framing.records" <<<"$H3DP_SINK_FINAL")
        [ "$(jq -r .framing_mismatch <<<"$H3DP_SINK_FINAL")" = 0 ] &&
            [ "$nframed" = "$srec" ] ||
            fail "h3sink split $nframed $framing records of $srec: $(jq -c .framing <<<"$H3DP_SINK_FINAL")"
        cmp=$(python3 "$HERE/records_compare.py" "$H3DP_TMP/records.sent" \
            "$H3DP_TMP/records.out" "$framing" "$sdup") || fail "records out != records in: $cmp"
        ok "$framing framing, gzip ($plain -> $coded bytes): h3sink split every body; $cmp"
    fi
    ok "nothing lost: $ack records acknowledged and received ($sdup duplicates reported)"
    ;;
esac
echo PASS
