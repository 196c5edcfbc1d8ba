#!/usr/bin/env bash
# What an operator relies on, end to end (suite 'e2e'; root, else 77): the log lines, SIGHUP
# during an upload, and a real Prometheus scraping h3dpd's metrics endpoint.
#
#   ops.sh MODE H3DPD H3CTL H3SINK CERTS CONF_IN
#
# h3dpd (MODE dpdk: net_tap; kernel: io = kernel) uploads generated records to h3sink on
# 198.18.0.1:4433 (answering each request after 200 ms) in a private namespace, with [log] timestamps and [metrics] listen =
# 127.0.0.1:9187 (the namespace's loopback). Prometheus (Debian's) runs there too and
# scrapes it every second.
#   1. log lines: the UTC time and the level before each one
#   2. SIGHUP twice while the generator runs and records are in flight, the file changed: [log] level in force at
#      once, [upload] url pending until the engine is idle then in force, [upload]
#      batch_bytes reported as needing a restart (log line and `stats`); nothing lost:
#      accepted = acknowledged, nothing failed, queued or in flight, h3sink received every
#      record; the daemon runs on
#   3. Prometheus' query API returns the acknowledged records `upload status` gives;
#      `promtool check metrics` finds nothing to say about the scraped text; the families
#      of the mode are there
#   4. (kernel) a second h3dpd on the same metrics port stops at start with the reason;
#      SIGTERM: exit 0
# Every check prints "ok: ..." or "FAIL: ..."; the script exits 1 at the first failure with
# the daemon's log.
set -uo pipefail
MODE=${1:?usage: ops.sh MODE H3DPD H3CTL H3SINK CERTS CONF_IN}
H3DPD=$2 H3CTL=$3 H3SINK=$4 CERTS=$5 CONF_IN=$6
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
[ "$MODE" = dpdk ] && h3dp_need_tun
h3dp_need ip jq curl prometheus promtool

METRICS=127.0.0.1:9187 PROM=127.0.0.1:9090
URL1=https://198.18.0.1:4433/first URL2=https://198.18.0.1:4433/second

fail() {
    echo "FAIL: $*"
    echo "---- upload status ----"
    "$H3CTL" -s "$H3DP_SOCK" --json upload status 2>&1 | jq -c '{state, url, accepted, acked, failed, queued, in_flight, pending_url}' 2>&1 | head -c 2000
    echo
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    [ -s "$H3DP_TMP/prom.log" ] && { echo "---- prometheus ----"; tail -5 "$H3DP_TMP/prom.log"; }
    exit 1
}
ok() { echo "ok: $*"; }
# ctl ARGS...: h3ctl --json; stdout in $OUT, exit status in $RC.
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
}
jv() { jq -r "$1" <<<"${2:-$OUT}"; }
expect() { # expect DESC CONDITION...
    local d=$1
    shift
    "$@" || fail "$d (h3ctl exit $RC: $(head -c 1500 <<<"$OUT") $(cat "$H3DP_TMP/ctl.err"))"
    ok "$d"
}
eq() { [ "$1" = "$2" ] || { echo "  got:  '$1'"; echo "  want: '$2'"; return 1; }; }
# wait_for SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds, 1 when SECONDS have
# passed (by the clock: each CMD may take a while itself).
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
# Some records acknowledged and some in flight (h3sink answers each request after 200 ms).
acked_some() {
    ctl upload status && [ "$(jv .acked.records)" -gt 0 ] && [ "$(jv .in_flight.records)" -gt 0 ]
}
is_idle() { ctl upload status && [ "$(jv .state)" = idle ]; }
reloads_in_log() { grep -c 'SIGHUP: .* re-read' "$H3DP_LOG"; }
# sighup: SIGHUP to h3dpd, then until its log says it re-read the file.
sighup() {
    local n0
    n0=$(reloads_in_log)
    kill -HUP "$H3DP_DAEMON_PID"
    wait_for 10 more_reloads "$n0" || fail "no reload line after SIGHUP"
}
more_reloads() { [ "$(reloads_in_log)" -gt "$1" ]; }
# prom_query EXPR: the value of the first series Prometheus has for EXPR ("" if none).
prom_query() {
    h3dp_ns curl -s --max-time 2 "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // ""' 2>/dev/null
}
prom_has() { [ "$(prom_query "$1")" = "$2" ]; }

h3dp_env_init "op${MODE:0:1}" || exit 1
CONF=$H3DP_TMP/h3dpd.conf
h3dp_conf "$MODE" "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=3000" \
    "upload.url=$URL1" "upload.batch_bytes=64K" "upload.linger_ms=20"
printf '\n[log]\ntimestamps = yes\n\n[metrics]\nlisten = %s\n' "$METRICS" >>"$CONF"
h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
h3dp_start_sink "$H3SINK" "$CERTS" --max-streams 100 --response-delay-ms 200 ||
    fail "h3sink start"
ok "h3dpd running ($MODE mode), h3sink on 198.18.0.1:4433"

# ---------------------------------------------------------------- 1. log lines
expect "log lines start with the UTC time and the level ([log] timestamps)" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z NOTICE h3dpd: running' "$H3DP_LOG"
expect "the metrics endpoint is announced" grep -q "NOTICE h3dpd: metrics on http://$METRICS/metrics" "$H3DP_LOG"

# Prometheus in the namespace, scraping every second.
cat >"$H3DP_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: h3dpd
    static_configs:
      - targets: ['$METRICS']
EOF
h3dp_ns_bg prometheus --config.file="$H3DP_TMP/prometheus.yml" \
    --storage.tsdb.path="$H3DP_TMP/prom" --web.listen-address="$PROM" >"$H3DP_TMP/prom.log" 2>&1
prom_ready() { h3dp_ns curl -sf --max-time 2 "http://$PROM/-/ready" >/dev/null; }
wait_for 60 prom_ready || fail "prometheus did not start"
ok "prometheus running in the namespace, scraping http://$METRICS/metrics"

# ---------------------------------------------------------------- 2. SIGHUP mid-upload
# The generator runs until stopped, so the upload is still going whatever the machine's pace.
ctl upload start --rate 2000 --record-size 511
expect "upload start: 2000 records/s until stopped" eq "$RC" 0
wait_for 30 acked_some || fail "no record acknowledged while others were in flight"
inflight=$(jv .in_flight.records)
sed -i -e "s#^url = .*#url = $URL2#" -e 's/^batch_bytes = .*/batch_bytes = 32K/' \
    -e 's/^timestamps = yes/timestamps = yes\nlevel = notice/' "$CONF"
sighup
ctl upload status
expect "SIGHUP while $inflight records were in flight: the upload goes on ($(jv .in_flight.records) in flight, $(jv .acked.records) acknowledged), the old url in force, the new one pending" \
    eq "$RC $(jv .state) $(jv .url) $(jv .pending_url)" "0 running $URL1 $URL2"
line=$(grep 'SIGHUP: .* re-read' "$H3DP_LOG" | tail -1)
expect "the reload's log line: [log] level in force, [upload] url once idle, [upload] batch_bytes needs a restart" \
    grep -Eq "NOTICE h3dpd: SIGHUP: .* re-read: in force: \[log\] level \('info' -> 'notice'\); once the upload engine is idle: \[upload\] url \('$URL1' -> '$URL2'\); needs a restart: \[upload\] batch_bytes \('65536' -> '32768'\)" <<<"$line"
ctl stats
expect "stats.reload says the same" \
    eq "$(jv '[.reload.ok, .reload.last_result, (.reload.applied | map(.key) | join(",")), (.reload.pending | map(.key) | join(",")), (.reload.restart_needed | map(.key + "=" + .file) | join(","))] | @tsv')" \
    "1	ok	[log] level	[upload] url	[upload] batch_bytes=32768"
# A second SIGHUP, the file unchanged since: nothing new to put in force.
sighup
expect "a second SIGHUP mid-upload: nothing new in force, batch_bytes still needs a restart" \
    grep -q "re-read: nothing to put in force; needs a restart: \[upload\] batch_bytes" <<<"$(grep 'SIGHUP: .* re-read' "$H3DP_LOG" | tail -1)"
ctl upload status
expect "after the second SIGHUP the upload still runs ($(jv .in_flight.records) in flight)" \
    eq "$(jv .state)" running
ctl upload stop
wait_for 60 is_idle || fail "the upload did not end"
N=$(jv .accepted.records)
expect "nothing lost: accepted = acknowledged = $N, none failed, queued or in flight" \
    eq "$(jv '[.accepted.records > 0, .acked.records, .failed.records, .queued.records, .in_flight.records] | @tsv')" \
    "true	$N	0	0	0"
expect "the pending collectors are in force once the engine was idle (and said so)" \
    eq "$(jv .url) $(jv '.pending_url // "none"') $(grep -c "collectors from the reload are in force: $URL2" "$H3DP_LOG")" \
    "$URL2 none 1"
kill -0 "$H3DP_DAEMON_PID" 2>/dev/null || fail "h3dpd is gone"
ACKED=$(jv .acked.records)
ctl upload start --rate 0 --records 100 --record-size 511
wait_for 30 is_idle || fail "the upload to $URL2 did not end"
expect "the next upload goes to the new url: 100 more records acknowledged" \
    eq "$(jv .url) $(jv .acked.records) $(jv .failed.records)" "$URL2 $((ACKED + 100)) 0"
ACKED=$(jv .acked.records)

# ---------------------------------------------------------------- 3. Prometheus
wait_for 30 prom_has 'h3dp_upload_records_total{state="acked"}' "$ACKED" ||
    fail "Prometheus says $(prom_query 'h3dp_upload_records_total{state="acked"}') acknowledged records, upload status $ACKED"
ok "Prometheus' query API: h3dp_upload_records_total{state=\"acked\"} = $ACKED, as upload status"
expect "Prometheus: the target is up, h3dp_reloads_total{result=\"ok\"} = 2" \
    eq "$(prom_query 'up{job="h3dpd"}') $(prom_query 'h3dp_reloads_total{result="ok"}')" "1 2"
h3dp_ns curl -sf --max-time 5 "http://$METRICS/metrics" >"$H3DP_TMP/metrics.txt" || fail "GET /metrics"
lint=$(promtool check metrics <"$H3DP_TMP/metrics.txt" 2>&1)
prc=$?
expect "promtool check metrics: clean ($(grep -c '^# TYPE' "$H3DP_TMP/metrics.txt") families)" eq "$prc:$lint" "0:"
families=(h3dp_upload_records_total h3dp_upload_bytes_total h3dp_upload_records
    h3dp_upload_requests_total h3dp_upload_rtt_seconds h3dp_connections
    h3dp_connections_closed_total h3dp_worker_packets_total h3dp_dns_lookups_total
    h3dp_control_requests_total h3dp_reloads_total)
if [ "$MODE" = dpdk ]; then
    families+=(h3dp_dataplane_drops_total h3dp_port_packets_total h3dp_mempool_objects
        h3dp_lcore_seconds_total)
else
    families+=(h3dp_worker_cpu_seconds_total)
fi
missing=''
for f in "${families[@]}"; do
    grep -q "^# TYPE $f " "$H3DP_TMP/metrics.txt" || missing+=" $f"
done
expect "the $MODE mode's families are there (${#families[@]} checked)" eq "${missing:-none}" none
expect "bytes acknowledged in the metrics = upload status" \
    eq "$(sed -n 's/^h3dp_upload_bytes_total{state="acked"} //p' "$H3DP_TMP/metrics.txt")" "$(jv .acked.bytes)"

# ---------------------------------------------------------------- 4. the port in use, the end
if [ "$MODE" = kernel ]; then
    sed "s#^socket = .*#socket = $H3DP_TMP/second.sock#" "$CONF" >"$H3DP_TMP/second.conf"
    out=$(h3dp_ns timeout 20 "$H3DPD" -c "$H3DP_TMP/second.conf" 2>&1)
    rc=$?
    expect "a second h3dpd on the same metrics port: exit 1, the reason said" \
        eq "$rc $(grep -c "ERROR h3dpd: metrics: cannot listen on $METRICS: Address already in use" <<<"$out")" "1 1"
fi
kill -TERM "$H3DP_DAEMON_PID"
wait "$H3DP_DAEMON_PID"
rc=$?
H3DP_DAEMON_PID=
h3dp_stop_sink
srec=$(jq -r .records <<<"$H3DP_SINK_FINAL") sdup=$(jq -r .records_dup <<<"$H3DP_SINK_FINAL")
expect "SIGTERM: exit 0; h3sink received every acknowledged record ($srec, $sdup duplicates)" \
    eq "$rc $((srec - sdup))" "0 $ACKED"
echo PASS
