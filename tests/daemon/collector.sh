#!/usr/bin/env bash
# End-to-end tests of uploads to collectors named by DNS, with credentials, failover and the
# resolver's failures (suite 'e2e'; root, else 77).
#
#   collector.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN BACKEND
#
# h3dpd runs in a private namespace (MODE dpdk: net_tap, the TAP's kernel side holds
# 198.18.0.1; kernel: io = kernel, 198.18.0.1 on the namespace's lo) and resolves names
# only through a dnsmasq started here on 198.18.0.1 ([dns] servers is always set). CASE:
#   auth        Caddy on collector.test:4443 requires a client certificate signed by the test
#               client CA and forwards only "Authorization: Bearer <token>" requests to
#               BACKEND (collector_backend.py: counts requests, h3dp-records, bytes); every
#               other request gets 401. Right token: every record acknowledged and received.
#               Wrong token (dpdk: the headers file rewritten + SIGHUP; kernel: upload
#               target --headers-file): every batch fails once (no retries), one rate-limited
#               log line with 401 (shown with the engine's log filtered at WARNING),
#               last_error says 401. A world-readable headers file is refused. The right
#               token again (dpdk: --headers-file; kernel: SIGHUP): uploads succeed again.
#   nocert      the same Caddy, h3dpd without [tls] cert_file: connect fails naming the TLS
#               alert (with --cert/--key it works); the upload's connections fail with the
#               alert (last_error, the endpoint's state failed, attempts backed off), no
#               request is sent, the records stay queued
#   failover    url = two h3sinks (198.18.0.1, 198.18.0.3); the first is SIGKILLed mid-upload:
#               the upload moves to the second, acked = accepted, nothing failed, the sinks
#               together received every record
#   dns         collector2.test moves from .1 to .3 (dnsmasq --addn-hosts, SIGHUP): after the
#               TTL and a GOAWAY, the new connection goes to .3 (an h3sink on each); NXDOMAIN
#               for an unknown name (connect and upload status)
#   caddy6      (dpdk) IPv6 through the DPDK path: h3dpd has fd00::2/64, collector.test has
#               only an AAAA record (fd00::1), Caddy listens on [fd00::1]:4443 as in auth
#               (mTLS + bearer token, the backend behind it on 198.18.0.1) and serves a
#               1 MiB file: the name resolves to [fd00::1]:4443 (no A answer), every record
#               uploaded is acknowledged and reaches the backend (0 lost, each request with
#               the token), GET of the file byte-exact (SHA-256), a graceful shutdown's
#               outcome is OK
#   dnstimeout  [dns] servers = 198.18.0.9, where nothing answers: connect fails with
#               "timeout" after timeout_ms x attempts; upload status says timeout; (kernel)
#               h3dpd starts with [dns] attempts = 5
# Every check prints "ok: ..." or "FAIL: ..." (with what it got and wanted) and the test goes
# on; it exits 1 at the end if any failed (at once when it cannot go on), with the upload
# status, the daemon's log and the peers' logs.
set -uo pipefail
MODE=${1:?usage: collector.sh MODE CASE H3DPD H3CTL H3SINK CERTS CONF_IN BACKEND}
CASE=${2:?case} H3DPD=${3:?h3dpd} H3CTL=${4:?h3ctl} H3SINK=${5:?h3sink} CERTS=${6:?certs}
CONF_IN=${7:?config} BACKEND=${8:?backend}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

h3dp_need_root
[ "$MODE" = dpdk ] && h3dp_need_tun
h3dp_need ip ss jq python3 dnsmasq
case $CASE in
auth | nocert) h3dp_need caddy ;;
caddy6)
    h3dp_need caddy
    [ "$MODE" = dpdk ] || h3dp_skip "caddy6 is for the DPDK path's IPv6"
    ;;
failover | dns | dnstimeout) ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac

COL=198.18.0.1 COL2=198.18.0.3 # collector addresses in the namespace (COL also runs dnsmasq)
CADDY_PORT=4443 BACKEND_PORT=8080 SINK_PORT=4433
# shellcheck disable=SC2034 # SINK_x_PID are set and read by name (start_sink, stop_sink)
DNSMASQ_PID='' BACKEND_PID='' SINK_A_PID='' SINK_B_PID='' FINAL=''

FAILED=0
# fail MESSAGE: a failure the test cannot go on after: the diagnostics, exit 1.
fail() {
    echo "FAIL: $*"
    diagnostics
    exit 1
}
diagnostics() {
    echo "---- upload status ----"
    "$H3CTL" -s "$H3DP_SOCK" --json upload status 2>&1 | jq -c 'del(.generator, .spool, .ingest, .compress)' 2>&1 | head -c 3000
    echo
    echo "---- h3dpd log ----"
    tail -30 "$H3DP_LOG" 2>/dev/null
    local f
    for f in dnsmasq.log caddy.log backend.out backend.json sinkA.out sinkB.out; do
        [ -s "$H3DP_TMP/$f" ] && { echo "---- $f ----"; tail -8 "$H3DP_TMP/$f"; }
    done
}
ok() { echo "ok: $*"; }
# ctl ARGS...: h3ctl --json; stdout in $OUT, exit status in $RC, stderr in $ERR.
ctl() {
    OUT=$("$H3CTL" -s "$H3DP_SOCK" --json "$@" 2>"$H3DP_TMP/ctl.err")
    RC=$?
    ERR=$(cat "$H3DP_TMP/ctl.err")
}
# jv FILTER [JSON]: a value of the last reply (or of JSON).
jv() { jq -r "$1" <<<"${2:-$OUT}"; }
# expect DESC CONDITION...: "ok: DESC" or "FAIL: DESC" with the last reply; the test goes
# on (the checks after it are independent) and exits 1 at the end.
expect() {
    local d=$1
    shift
    if "$@"; then
        ok "$d"
    else
        echo "FAIL: $d"
        echo "  last reply (h3ctl exit $RC): $(jq -c 'del(.generator, .spool, .ingest, .compress)' <<<"$OUT" 2>/dev/null | head -c 2000) $ERR"
        FAILED=$((FAILED + 1))
    fi
}
eq() { [ "$1" = "$2" ] || { echo "  got:  '$1'"; echo "  want: '$2'"; return 1; }; }
has() { grep -Eq -- "$2" <<<"$1" || { echo "  '$1' does not match /$2/"; return 1; }; }
status() { ctl upload status; }
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
is_idle() { status && [ "$RC" = 0 ] && [ "$(jv .state)" = idle ]; }
# upload_n N: `upload start --rate 0 --records N --record-size 511`, then until idle (20 s).
# A generated record is a JSON line: 511 bytes and its '\n' (framing = newline) make 512.
upload_n() {
    ctl upload start --rate 0 --records "$1" --record-size 511
    [ "$RC" = 0 ] || fail "upload start: $ERR"
    wait_for 20 is_idle || fail "the upload of $1 records did not end (state $(jv .state))"
}
# A headers file of the operator (mode 0600): FILE TOKEN.
headers_file() {
    (umask 077 && printf '# the collector'"'"'s credentials\nAuthorization: Bearer %s\n' "$2" >"$1")
}
# bound PROTO ADDR PORT: something listens there in the namespace (PROTO u or t).
bound() { h3dp_ns ss -Hln"$1" | awk '{print $4}' | grep -Fqx "$2:$3"; }
# count_in FILE REGEX: lines of FILE matching REGEX; count_above FILE REGEX N: more than N.
count_in() { grep -Ec -- "$2" "$1"; }
count_above() { [ "$(count_in "$1" "$2")" -gt "$3" ]; }
daemon_log_count() { count_in "$H3DP_LOG" "$1"; }
# sighup_reload FILE: SIGHUP to h3dpd; waits until its log says it re-read FILE.
sighup_reload() {
    local re="header field\(s\) from $1 \(SIGHUP\)" n
    n=$(daemon_log_count "$re")
    kill -HUP "$H3DP_DAEMON_PID"
    wait_for 5 count_above "$H3DP_LOG" "$re" "$n" || fail "h3dpd did not say it re-read $1 after SIGHUP"
    kill -0 "$H3DP_DAEMON_PID" || fail "h3dpd died on SIGHUP"
}

# ---------------------------------------------------------------- peers
# start_dnsmasq ARGS...: dnsmasq on $COL:53 in the namespace, answering for *.test only from
# what it is given (--local=/test/: any other .test name is NXDOMAIN), every query logged.
start_dnsmasq() {
    h3dp_ns_bg dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root \
        --pid-file="$H3DP_TMP/dnsmasq.pid" --listen-address="$COL" --bind-interfaces \
        --local=/test/ --log-queries --log-facility="$H3DP_TMP/dnsmasq.log" "$@" \
        >"$H3DP_TMP/dnsmasq.out" 2>&1
    DNSMASQ_PID=$H3DP_BG_PID
    wait_for 5 bound u "$COL" 53 || { cat "$H3DP_TMP/dnsmasq.out"; fail "dnsmasq did not start"; }
}
# start_sink NAME ADDR [ARGS...]: h3sink on ADDR:$SINK_PORT, output $H3DP_TMP/sinkNAME.out;
# its PID in SINK_NAME_PID.
start_sink() {
    local name=$1 addr=$2 out=$H3DP_TMP/sink$1.out
    shift 2
    h3dp_ns_bg "$H3SINK" --addr "$addr" --port "$SINK_PORT" --cert "$CERTS/server.pem" \
        --key "$CERTS/server-key.pem" --json --stats-interval 0 "$@" >"$out" 2>&1
    printf -v "SINK_${name}_PID" %s "$H3DP_BG_PID"
    h3dp_wait_log "$out" '^listening on' 100 0.05 "$H3DP_BG_PID" || fail "h3sink $name did not start"
}
# stop_sink NAME: SIGINT, wait; its final totals in $FINAL.
stop_sink() {
    local v=SINK_${1}_PID
    kill -INT "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null
    printf -v "$v" %s ''
    FINAL=$(grep '"final":true' "$H3DP_TMP/sink$1.out" | tail -1)
    [ -n "$FINAL" ] || fail "h3sink $1 printed no final totals"
}
# start_backend TOKEN: the counting application behind Caddy on $COL:$BACKEND_PORT.
start_backend() {
    h3dp_ns_bg python3 "$BACKEND" "$COL" "$BACKEND_PORT" "$H3DP_TMP/backend.json" "Bearer $1" \
        >"$H3DP_TMP/backend.out" 2>&1
    BACKEND_PID=$H3DP_BG_PID
    h3dp_wait_log "$H3DP_TMP/backend.out" '^listening on' 100 0.05 "$BACKEND_PID" ||
        fail "the backend did not start: $(cat "$H3DP_TMP/backend.out")"
}
backend() { jq -r "$1" "$H3DP_TMP/backend.json"; }
# start_caddy TOKEN: Caddy (HTTP/3) on $CADDY_ADDR:$CADDY_PORT ($COL, or [fd00::1] for
# caddy6) with the test server certificate, requiring a client certificate of the test
# client CA; "Authorization: Bearer TOKEN" on /v1/logs goes to the backend, GET /f1m is
# $T/docroot/f1m when it exists, anything else is answered 401. Access log: caddy.log.
CADDY_ADDR=$COL
start_caddy() {
    mkdir -p "$H3DP_TMP/caddy-data"
    cat >"$H3DP_TMP/caddy.json" <<EOF
{
  "admin": {"disabled": true},
  "logging": {"logs": {"default": {"level": "INFO", "encoder": {"format": "json"},
    "writer": {"output": "file", "filename": "$H3DP_TMP/caddy.log"}}}},
  "storage": {"module": "file_system", "root": "$H3DP_TMP/caddy-data"},
  "apps": {
    "tls": {"certificates": {"load_files": [
      {"certificate": "$CERTS/server.pem", "key": "$CERTS/server-key.pem", "tags": ["test"]}]}},
    "http": {"servers": {"collector": {
      "listen": ["$CADDY_ADDR:$CADDY_PORT"],
      "strict_sni_host": false,
      "protocols": ["h1", "h2", "h3"],
      "automatic_https": {"disable": true},
      "logs": {},
      "tls_connection_policies": [{
        "certificate_selection": {"any_tag": ["test"]},
        "client_authentication": {"trusted_ca_certs_pem_files": ["$CERTS/client-ca.pem"],
                                  "mode": "require_and_verify"}}],
      "routes": [
        {"match": [{"path": ["/v1/logs"], "header": {"Authorization": ["Bearer $1"]}}],
         "handle": [{"handler": "reverse_proxy",
                     "upstreams": [{"dial": "$COL:$BACKEND_PORT"}]}]},
        {"match": [{"path": ["/f1m"], "method": ["GET"]}],
         "handle": [{"handler": "file_server", "root": "$H3DP_TMP/docroot"}]},
        {"handle": [{"handler": "static_response", "status_code": 401,
                     "headers": {"Www-Authenticate": ["Bearer"]}, "body": "unauthorized\n"}]}
      ]}}}
  }
}
EOF
    HOME=$H3DP_TMP XDG_DATA_HOME=$H3DP_TMP XDG_CONFIG_HOME=$H3DP_TMP \
        h3dp_ns_bg caddy run --config "$H3DP_TMP/caddy.json" >"$H3DP_TMP/caddy.out" 2>&1
    wait_for 15 bound u "$CADDY_ADDR" "$CADDY_PORT" ||
        { tail -5 "$H3DP_TMP/caddy.out"; fail "Caddy did not start"; }
}
# caddy_status N: requests Caddy answered with status N (its access log).
caddy_status() {
    jq -s "[.[] | select(.msg == \"handled request\" and .status == $1)] | length" \
        "$H3DP_TMP/caddy.log"
}

# ---------------------------------------------------------------- h3dpd
# conf KEY=VALUE...: $H3DP_TMP/h3dpd.conf for MODE with quick failure detection, small
# batches (64 KiB: 128 lines of 512 bytes), short back-offs, a [dns] section (the
# resolver is always ours), then the overrides.
conf() {
    h3dp_conf "$MODE" "$CONF_IN" "tls.ca_file=$CERTS/ca.pem" "h3.handshake_timeout_ms=1000" \
        "h3.idle_timeout_ms=2000" "h3.keepalive_ms=500" "h3.shutdown_timeout_ms=2000" \
        "upload.batch_bytes=64K" "upload.linger_ms=20" "upload.retry_initial_ms=100" \
        "upload.retry_max_ms=500"
    grep -q '^\[dns\]' "$H3DP_TMP/h3dpd.conf" || printf '\n[dns]\n' >>"$H3DP_TMP/h3dpd.conf"
    h3dp_conf_set "dns.servers=$COL" "dns.timeout_ms=500" "dns.attempts=2" "$@"
}
start_daemon() {
    h3dp_start_daemon "$H3DPD" || fail "h3dpd start"
    ok "h3dpd running ($MODE mode)"
}
# add_addr ADDR: a second collector address on the namespace's side of h3dpd's path.
add_addr() {
    if [ "$MODE" = dpdk ]; then
        h3dp_ns ip addr add "$1/24" dev "$H3DP_IFC"
    else
        h3dp_ns ip addr add "$1/24" dev lo
    fi
}

h3dp_env_init "c${MODE:0:1}${CASE:0:5}${CASE:5:1}" || exit 1
T=$H3DP_TMP
mkdir -p "$T/docroot"

# ================================================================ auth
case_auth() {
    local good bad url hdr_a=$T/hdr-a hdr_b=$T/hdr-b hdr_c=$T/hdr-c n1=2000 n2=1280 n3=1000
    good=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    bad=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    url=https://collector.test:$CADDY_PORT/v1/logs
    headers_file "$hdr_a" "$good"
    conf "upload.url=$url" "upload.headers_file=$hdr_a" "tls.cert_file=$CERTS/client.pem" \
        "tls.key_file=$CERTS/client-key.pem" "upload.retry_limit=3"
    # The upload engine's lines below WARNING are filtered out ([log] upload, kept across
    # SIGHUP), so its 401 line showing at all proves its level.
    printf '\n[log]\nupload = warning\n' >>"$T/h3dpd.conf"
    start_daemon
    start_dnsmasq --host-record=collector.test,$COL --local-ttl=60
    start_backend "$good"
    start_caddy "$good"
    ok "dnsmasq (collector.test -> $COL), Caddy on :$CADDY_PORT (mTLS + bearer token), backend"

    # 1. The right token and the client certificate: everything arrives.
    upload_n $n1
    expect "right token: $n1 records accepted = acknowledged ($((n1 * 512)) bytes), none failed or retried" \
        eq "$(jv '[.accepted.records, .acked.records, .acked.bytes, .failed.records, .retried.records, .requests.retried] | @tsv')" \
        "$n1	$n1	$((n1 * 512))	0	0	0"
    expect "right token: $(((n1 + 127) / 128)) requests sent, all acknowledged (128 records per 64 KiB batch)" \
        eq "$(jv '[.requests.sent, .requests.acked, .requests.failed] | @tsv')" \
        "$(((n1 + 127) / 128))	$(((n1 + 127) / 128))	0"
    expect "the backend behind Caddy received all $n1 records and the acknowledged bytes, each request with the token" \
        eq "$(backend '[.records, .bytes, .requests, .auth_ok, .auth_other, .batches_dup] | @tsv')" \
        "$n1	$(jv .acked.bytes)	$(jv .requests.acked)	$(jv .requests.acked)	0	0"
    expect "endpoints[]: collector.test resolved to $COL:$CADDY_PORT, active, no failure; no last_error" \
        eq "$(jv '[(.endpoints | length), .endpoints[0].url, .endpoints[0].address, .endpoints[0].state, .endpoints[0].failures, (.last_error // "null")] | @tsv')" \
        "1	$url	$COL:$CADDY_PORT	active	0	null"
    expect "headers{}: the file and the field's name, never its value" \
        eq "$(jv '[.headers.file, (.headers.names | join(","))] | @tsv')" "$hdr_a	authorization"
    local q
    q=$(grep -c "query\[A\] collector.test from" "$T/dnsmasq.log")
    expect "the name was resolved by our dnsmasq ($q A queries logged)" test "$q" -ge 1

    # 2. A wrong token: every batch fails once, no retry storm, said loudly but once.
    local sent0 failed0 mode_wrong
    sent0=$(jv .requests.sent) failed0=$(jv .requests.failed)
    if [ "$MODE" = dpdk ]; then
        mode_wrong="SIGHUP"
        headers_file "$hdr_a" "$bad"
        sighup_reload "$hdr_a"
        ok "wrong token written to $hdr_a, SIGHUP: h3dpd re-read it"
    else
        mode_wrong="upload target --headers-file"
        headers_file "$hdr_b" "$bad"
        ctl upload target --headers-file "$hdr_b"
        expect "upload target --headers-file (wrong token): taken, status shows the file" \
            eq "$RC $(jv .headers.file)" "0 $hdr_b"
    fi
    upload_n $n2
    local nb2=$((n2 / 128))
    expect "wrong token ($mode_wrong): all $n2 new records failed, none acknowledged" \
        eq "$(jv '[.accepted.records, .acked.records, .failed.records, .queued.records, .in_flight.records] | @tsv')" \
        "$((n1 + n2))	$n1	$n2	0	0"
    expect "no retry storm: $nb2 batches = $nb2 requests sent, each failed once, 0 retried" \
        eq "$(jv "[.requests.sent - $sent0, .requests.failed - $failed0, .requests.retried, .retried.records, .requests.status_4xx, .errors.auth] | @tsv")" \
        "$nb2	$nb2	0	0	$nb2	$nb2"
    wait_for 3 eval '[ "$(caddy_status 401)" -ge $nb2 ]' # its access log is written after the answer
    expect "Caddy answered exactly $nb2 requests with 401; the backend saw none of them" \
        eq "$(caddy_status 401) $(backend .requests) $(backend .auth_other)" "$nb2 $(jv .requests.acked) 0"
    expect "last_error says 401 (and when)" \
        has "$(jv .last_error) $(jv .last_error_at)" "answered 401.* [0-9]{4}-[0-9]{2}-[0-9]{2}T"
    local lines
    lines=$(daemon_log_count "(ERROR|WARNING) upload: .*answered 401")
    expect "one rate-limited log line with 401 for $nb2 failed requests (got $lines), at WARNING or above ([log] upload = warning)" \
        eq "$lines" 1
    grep -- "answered 401" "$H3DP_LOG" | head -1 | sed 's/^/  log: /'

    # A headers file others may read is refused; the old headers stay.
    headers_file "$hdr_c" "$good"
    chmod 644 "$hdr_c"
    ctl upload target --headers-file "$hdr_c"
    expect "a headers file readable by others (0644) is refused (exit 1), the old one stays" \
        eq "$RC $(grep -c "$hdr_c" <<<"$ERR") $(status; jv .headers.file)" \
        "1 1 $([ "$MODE" = dpdk ] && echo "$hdr_a" || echo "$hdr_b")"

    # 3. The right token again.
    if [ "$MODE" = dpdk ]; then
        headers_file "$hdr_b" "$good"
        ctl upload target --headers-file "$hdr_b"
        expect "right token again by upload target --headers-file: taken" eq "$RC $(jv .headers.file)" "0 $hdr_b"
    else
        headers_file "$hdr_b" "$good"
        sighup_reload "$hdr_b"
        ok "right token again written to $hdr_b, SIGHUP: h3dpd re-read it"
    fi
    upload_n $n3
    expect "right token again: the $n3 new records acknowledged, nothing more failed" \
        eq "$(jv '[.accepted.records, .acked.records, .failed.records, .requests.retried] | @tsv')" \
        "$((n1 + n2 + n3))	$((n1 + n3))	$n2	0"
    expect "the backend has $((n1 + n3)) records, the acknowledged bytes, all with the right token" \
        eq "$(backend '[.records, .bytes, .auth_other] | @tsv')" "$((n1 + n3))	$(jv .acked.bytes)	0"
    expect "the token never shows in the daemon's log nor in upload status" \
        eq "$(grep -c -e "$good" -e "$bad" "$H3DP_LOG") $(grep -c -e "$good" -e "$bad" <<<"$OUT")" "0 0"
}

# ================================================================ nocert
# alert_closes: connections `list --all` shows closed by a TLS alert (it remembers the last 256).
alert_closes() {
    ctl list --all
    jv '[.conns[] | select((.outcome.text // "") | test("TLS alert"))] | length'
}
case_nocert() {
    local good url n=500 win=3 closed0 attempts
    good=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    url=https://collector.test:$CADDY_PORT/v1/logs
    headers_file "$T/hdr" "$good"
    conf "upload.url=$url" "upload.headers_file=$T/hdr"
    start_daemon
    start_dnsmasq --host-record=collector.test,$COL --local-ttl=60
    start_backend "$good"
    start_caddy "$good"
    ok "Caddy requires a client certificate; h3dpd has none configured"

    # docs/CONTROL.md: a server that refuses the handshake says why with a TLS alert, and
    # the failure names it.
    ctl connect "https://collector.test:$CADDY_PORT"
    expect "connect without a client certificate: fails (exit 1) naming the TLS alert" \
        eq "$RC $(grep -Ec 'TLS alert (bad_certificate|certificate_required)' <<<"$ERR")" "1 1"
    ctl connect "https://collector.test:$CADDY_PORT" --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem"
    expect "connect with --cert/--key: established (the collector itself works)" \
        eq "$RC $(jv .state)" "0 ESTABLISHED"

    # The upload: every connection is refused at the handshake. Such a connection never came
    # up: the endpoint failed, the next attempt waits (back-off from retry_initial_ms 100 to
    # retry_max_ms 500), and the records wait for the collector (docs/UPLOAD.md).
    closed0=$(alert_closes)
    ctl upload start --rate 0 --records $n --record-size 511
    [ "$RC" = 0 ] || fail "upload start: $ERR"
    sleep $win
    status # first: the connections closed by then are counted in errors.connect ...
    local st=$OUT
    attempts=$(($(alert_closes) - closed0)) # ... and listed by the service (a few more may be)
    OUT=$st
    expect "last_error names the TLS alert (bad_certificate from Caddy, or certificate_required)" \
        has "$(jv .last_error)" "TLS alert (bad_certificate|certificate_required)"
    expect "endpoints[0]: $COL:$CADDY_PORT, state failed, failures > 0, its last_error names the alert" \
        eq "$(jv '[.endpoints[0].address, .endpoints[0].state, .endpoints[0].failures > 0, (.endpoints[0].last_error // "" | test("TLS alert"))] | @tsv')" \
        "$COL:$CADDY_PORT	failed	true	true"
    expect "no record acknowledged nor failed: all $n wait in the queue (none in flight), the state stays running" \
        eq "$(jv '[.accepted.records, .queued.records, .in_flight.records, .acked.records, .failed.records, .state] | @tsv')" \
        "$n	$n	0	0	0	running"
    expect "no request was sent over a handshake the collector refused" \
        eq "$(jv '[.requests.sent, .retried.records] | @tsv')" "0	0"
    # errors.connect was read just before the list: the handshakes refused in between (at most
    # one per pool connection and back-off step) are listed but not yet in it.
    # The bound: each of the pool's 2 connections tries at 0, 0.1, 0.3, 0.7, 1.2, 1.7, 2.2 and
    # 2.7 s at the most (waits 100, 200, 400, then 500 ms), 8 in 3 s: 16, and one listed late
    # each. Without the back-off a refused handshake would be retried hundreds of times.
    expect "attempts back off: $attempts refused handshakes in $win s (1..18), each counted in errors.connect ($(jv .errors.connect), read just before)" \
        test "$attempts" -ge 1 -a "$attempts" -le 18 -a "$(jv .errors.connect)" -le "$attempts" \
        -a "$(jv .errors.connect)" -ge $((attempts - 4))
    expect "one rate-limited upload log line names the alert" \
        eq "$(daemon_log_count "upload: collector .*TLS alert")" 1
    expect "Caddy handled no request, the backend got nothing" \
        eq "$(caddy_status 200)$(caddy_status 401) $(backend .requests)" "00 0"
}

# ================================================================ failover
case_failover() {
    local rate=2000 secs=6 a1 t0 t1 l1
    # The test certificate names 198.18.0.1 but not .3: both are verified as collector.test.
    conf "upload.url=https://$COL:$SINK_PORT/a, https://$COL2:$SINK_PORT/b" \
        "tls.sni=collector.test" "upload.retry_limit=0" "upload.connections=2"
    start_daemon
    add_addr "$COL2"
    start_sink A "$COL" --stats-interval 1
    start_sink B "$COL2"
    ok "h3sink A on $COL, h3sink B on $COL2"

    ctl upload start --rate $rate --record-size 511 --duration ${secs}s
    [ "$RC" = 0 ] || fail "upload start: $ERR"
    sleep 2
    status
    expect "before the kill: endpoints[0] ($COL) active with connections, endpoints[1] standby; acked $(jv .acked.records)" \
        eq "$(jv '[.endpoints[0].address, .endpoints[0].state, (.endpoints[0].connections > 0), .endpoints[1].state, .endpoints[1].connections, (.acked.records > 0)] | @tsv')" \
        "$COL:$SINK_PORT	active	true	standby	0	true"
    kill -KILL "$SINK_A_PID"
    wait "$SINK_A_PID" 2>/dev/null
    t0=$(date +%s%N)
    sleep 0.3
    status
    a1=$(jv .acked.records)
    expect "h3sink A SIGKILLed; $a1 records acknowledged by it, none by B yet (no connection to B)" \
        eq "$(jv .endpoints[1].connections)" 0
    wait_for 10 eval 'status; [ "$(jv .endpoints[1].state)" = active ] && [ "$(jv .acked.records)" -gt "$a1" ]' ||
        fail "the upload did not move to $COL2 within 10 s of the kill"
    t1=$(date +%s%N)
    expect "the upload moved to $COL2 $(((t1 - t0) / 1000000)) ms after the kill: endpoints[1] active, endpoints[0] failed" \
        eq "$(jv '[.endpoints[0].state, (.endpoints[0].failures > 0), .endpoints[1].address, .endpoints[1].state] | @tsv')" \
        "failed	true	$COL2:$SINK_PORT	active"
    wait_for 30 is_idle || fail "the upload did not end"
    expect "nothing lost: accepted = $((rate * secs)) = acknowledged, 0 failed, 0 queued or in flight" \
        eq "$(jv '[.accepted.records, .acked.records, .failed.records, .queued.records, .in_flight.records] | @tsv')" \
        "$((rate * secs))	$((rate * secs))	0	0	0"
    local retried cerr
    retried=$(jv .retried.records) cerr=$(jv .requests.conn_errors)
    stop_sink B
    l1=$(grep '"records"' "$T/sinkA.out" | tail -1 | jq -r '.records // 0')
    local brec bdup union
    brec=$(jv .records "$FINAL") bdup=$(jv .records_dup "$FINAL")
    # A's own count died with it: what it acknowledged before the kill (a1) is a lower bound
    # of what it received, and so is its last once-a-second line (l1).
    [ "$l1" -gt "$a1" ] && a1=$l1
    union=$((a1 + brec))
    expect "h3sink B received $brec records ($bdup repeated), A at least $a1: together $union >= $((rate * secs)) accepted ($((union - rate * secs)) duplicates; $retried records retried, $cerr requests cut)" \
        test "$brec" -gt 0 -a "$union" -ge $((rate * secs)) -a $((brec - bdup)) -ge $((rate * secs - a1))
}

# ================================================================ dns
case_dns() {
    local url2=https://collector2.test:$SINK_PORT/ttl n1=1000 n2=1500 q1
    printf '%s collector2.test\n' "$COL" >"$T/hosts"
    # One connection: the one opened after the GOAWAY must go to the new address (with two,
    # the second one's pick may race with the resolver's answer).
    conf "upload.url=$url2" "upload.connections=1"
    start_daemon
    add_addr "$COL2"
    start_dnsmasq --addn-hosts="$T/hosts" --local-ttl=1
    start_sink A "$COL"
    start_sink B "$COL2"
    ok "dnsmasq: collector2.test -> $COL (TTL 1 s; h3dpd keeps answers at least 5 s); h3sink A on $COL, B on $COL2"

    upload_n $n1
    local t_resolved
    t_resolved=$(date +%s%N)
    expect "upload to collector2.test: $n1 records acknowledged via $COL" \
        eq "$(jv '[.acked.records, .failed.records, .endpoints[0].address, .endpoints[0].state] | @tsv')" \
        "$n1	0	$COL:$SINK_PORT	active"
    q1=$(grep -c "query\[A\] collector2.test" "$T/dnsmasq.log")

    # The answer changes; past the TTL, the collector sends GOAWAY: the new connections
    # must go to the new address.
    printf '%s collector2.test\n' "$COL2" >"$T/hosts"
    local reads
    reads=$(count_in "$T/dnsmasq.log" "read $T/hosts")
    kill -HUP "$DNSMASQ_PID"
    wait_for 5 count_above "$T/dnsmasq.log" "read $T/hosts" "$reads" ||
        fail "dnsmasq did not re-read the hosts file"
    ok "dnsmasq now answers collector2.test -> $COL2"
    # h3dpd keeps an answer at least 5 s (docs/CONFIG.md); the last one came before t_resolved.
    local left_ms=$((6000 - ($(date +%s%N) - t_resolved) / 1000000))
    [ "$left_ms" -le 0 ] || sleep "$((left_ms / 1000)).$(printf %03d $((left_ms % 1000)))"
    kill -HUP "$SINK_A_PID"
    wait_for 10 eval 'status; [ "$(jv .connections.open)" = 0 ]' ||
        fail "the connections to $COL did not close after the GOAWAY"
    ok "past the TTL; h3sink A sent GOAWAY, the pool's connections to it closed"
    upload_n $n2
    expect "the next $n2 records acknowledged, none failed" \
        eq "$(jv '[.accepted.records, .acked.records, .failed.records] | @tsv')" "$((n1 + n2))	$((n1 + n2))	0"
    expect "the name was asked again after the TTL ($(grep -c "query\[A\] collector2.test" "$T/dnsmasq.log") A queries, $q1 before)" \
        test "$(grep -c "query\[A\] collector2.test" "$T/dnsmasq.log")" -gt "$q1"
    expect "endpoints[0] is now $COL2:$SINK_PORT, active" \
        eq "$(jv '[(.endpoints | length), .endpoints[0].address, .endpoints[0].state] | @tsv')" \
        "1	$COL2:$SINK_PORT	active"
    stop_sink A
    local arec
    arec=$(jv .records "$FINAL")
    stop_sink B
    expect "h3sink A received the first $n1 records only, h3sink B (the new address) the $n2 new ones" \
        eq "$arec $(jv .records "$FINAL")" "$n1 $n2"

    # NXDOMAIN: a name dnsmasq does not know.
    ctl connect "https://nosuch.test:$SINK_PORT"
    expect "connect https://nosuch.test: fails (exit 1) with NXDOMAIN" \
        eq "$RC $(grep -c 'nosuch.test.*NXDOMAIN' <<<"$ERR")" "1 1"
    echo "  $ERR"
    ctl upload target --url "https://nosuch.test:$SINK_PORT/x"
    [ "$RC" = 0 ] || fail "upload target nosuch.test: $ERR"
    ctl upload start --rate 0 --records 10 --record-size 511
    wait_for 5 eval 'status; has "$(jv .last_error)" NXDOMAIN >/dev/null 2>&1'
    expect "upload to nosuch.test: last_error and endpoints[0] say NXDOMAIN, state failed, the records stay queued" \
        eq "$(jv '[(.last_error // "" | test("nosuch.test.*NXDOMAIN")), .endpoints[0].state, (.endpoints[0].last_error // "" | test("NXDOMAIN")), .queued.records, .in_flight.records, .errors.dns > 0] | @tsv')" \
        "true	failed	true	10	0	true"
}

# ================================================================ caddy6
case_caddy6() {
    local good url n1=2000 c want q4 q6
    h3dp_ipv6
    CADDY_ADDR="[$H3DP_PEER_IP6]"
    good=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    url=https://collector.test:$CADDY_PORT/v1/logs
    headers_file "$T/hdr" "$good"
    conf "upload.url=$url" "upload.headers_file=$T/hdr" "tls.cert_file=$CERTS/client.pem" \
        "tls.key_file=$CERTS/client-key.pem"
    start_daemon
    # Only an AAAA record: the A query gets no address (NODATA).
    start_dnsmasq --host-record=collector.test,"$H3DP_PEER_IP6" --local-ttl=60
    start_backend "$good"
    head -c 1048576 /dev/urandom >"$T/docroot/f1m"
    start_caddy "$good"
    ok "dnsmasq (collector.test -> $H3DP_PEER_IP6 only), Caddy on $CADDY_ADDR:$CADDY_PORT (mTLS + bearer token), backend"

    upload_n $n1
    expect "upload over IPv6: $n1 records accepted = acknowledged ($((n1 * 512)) bytes), none failed or retried" \
        eq "$(jv '[.accepted.records, .acked.records, .acked.bytes, .failed.records, .retried.records] | @tsv')" \
        "$n1	$n1	$((n1 * 512))	0	0"
    expect "endpoints[]: collector.test resolved to $CADDY_ADDR:$CADDY_PORT, active, no failure" \
        eq "$(jv '[(.endpoints | length), .endpoints[0].address, .endpoints[0].state, .endpoints[0].failures] | @tsv')" \
        "1	$CADDY_ADDR:$CADDY_PORT	active	0"
    expect "the backend behind Caddy received all $n1 records and the acknowledged bytes, each request with the token" \
        eq "$(backend '[.records, .bytes, .requests, .auth_ok, .auth_other, .batches_dup] | @tsv')" \
        "$n1	$(jv .acked.bytes)	$(jv .requests.acked)	$(jv .requests.acked)	0	0"
    q4=$(grep -c "query\[A\] collector.test from" "$T/dnsmasq.log")
    q6=$(grep -c "query\[AAAA\] collector.test from" "$T/dnsmasq.log")
    expect "our dnsmasq was asked for AAAA ($q6) and A ($q4; it has none)" test "$q6" -ge 1 -a "$q4" -ge 1

    ctl connect "https://collector.test:$CADDY_PORT" --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem"
    expect "connect https://collector.test:$CADDY_PORT (client certificate): established" \
        eq "$RC $(jv .state)" "0 ESTABLISHED"
    c=$(jv .conn)
    ctl request "$c" GET /f1m
    want=$(sha256sum "$T/docroot/f1m" | cut -d' ' -f1)
    expect "GET 1 MiB file from Caddy over IPv6: 200, 1048576 bytes, SHA-256 matches" \
        eq "$(jv .status) $(jv .body_bytes) $(jv .body_sha256)" "200 1048576 $want"
    ctl shutdown "$c" --max-push 0 --wait
    expect "shutdown --max-push 0 --wait: outcome OK (H3_NO_ERROR)" \
        eq "$RC $(jv .outcome.ok) $(jv .outcome.code)" "0 true 0x100"
}

# ================================================================ dnstimeout
case_dnstimeout() {
    local dead=198.18.0.9 tmo=400 att=2 t0 t1 ms
    conf "upload.url=https://collector.test:$SINK_PORT/t"
    h3dp_conf_set "dns.servers=$dead" "dns.timeout_ms=$tmo" "dns.attempts=$att"
    start_daemon
    ctl stats
    expect "[dns] servers = $dead (nothing answers there)" eq "$(jv '.dns.servers | join(",")')" "$dead:53"
    t0=$(date +%s%N)
    ctl connect "https://collector.test:$SINK_PORT"
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    echo "  $ERR"
    expect "connect https://collector.test fails (exit 1) with a DNS timeout" \
        eq "$RC $(grep -c 'collector.test: timeout' <<<"$ERR")" "1 1"
    expect "... after $ms ms: timeout_ms x attempts = $((tmo * att)) ms (-50/+500 ms)" \
        test "$ms" -ge $((tmo * att - 50)) -a "$ms" -le $((tmo * att + 500))
    ctl stats
    expect "the resolver sent $att queries for A and $att for AAAA, got no answer" \
        eq "$(jv '[.dns.queries_sent, .dns.answers] | @tsv')" "$((2 * att))	0"

    # The upload engine resolves the same name: its status must say why nothing is sent.
    ctl upload start --rate 0 --records 10 --record-size 511
    [ "$RC" = 0 ] || fail "upload start: $ERR"
    wait_for 4 eval 'status; has "$(jv .last_error)" timeout >/dev/null 2>&1'
    expect "upload status: last_error says the name timed out" \
        has "$(jv .last_error)" "collector.test: timeout"
    expect "endpoints[0]: no address, state failed, its last_error says timeout; errors.dns counted" \
        eq "$(jv '[(.endpoints[0].address // "null"), .endpoints[0].state, (.endpoints[0].last_error // "" | test("timeout")), .errors.dns > 0] | @tsv')" \
        "null	failed	true	true"
    expect "the 10 records stay queued, no request sent" \
        eq "$(jv '[.accepted.records, .queued.records, .requests.sent] | @tsv')" "10	10	0"
    if [ "$MODE" = kernel ]; then
        # docs/CONFIG.md: [dns] attempts 1..5; 6 is refused. (Kernel mode only: a second daemon here.)
        sed -e "s#^socket *=.*#socket = $T/h3dpd2.sock#" -e "s/^attempts *=.*/attempts = 5/" \
            -e "s/^timeout_ms *=.*/timeout_ms = 100/" "$T/h3dpd.conf" >"$T/h3dpd2.conf"
        h3dp_ns_bg "$H3DPD" -c "$T/h3dpd2.conf" >"$T/h3dpd2.log" 2>&1
        local pid2=$H3DP_BG_PID
        h3dp_wait_log "$T/h3dpd2.log" 'h3dpd: running' 50 0.1 "$pid2"
        expect "h3dpd starts with [dns] attempts = 5 (the documented maximum): $(grep -v 'h3dpd: running' "$T/h3dpd2.log" | head -1)" \
            grep -q 'h3dpd: running' "$T/h3dpd2.log"
        kill -TERM "$pid2" 2>/dev/null
        h3dp_wait_exit "$pid2" 5 || kill -KILL "$pid2"
        sed -i "s/^attempts *=.*/attempts = 6/" "$T/h3dpd2.conf"
        local out rc=0
        out=$("$H3DPD" --check-config "$T/h3dpd2.conf" 2>&1) || rc=$?
        expect "[dns] attempts = 6 is refused by --check-config, naming the range (exit $rc: $out)" \
            sh -c '[ "$1" != 0 ] && printf %s "$2" | grep -q "attempts: out of range 1..5"' _ "$rc" "$out"
    fi
}

"case_$CASE"
if [ "$FAILED" != 0 ]; then
    echo "$FAILED check(s) failed"
    diagnostics
    exit 1
fi
echo PASS
