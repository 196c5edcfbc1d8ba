#!/usr/bin/env bash
# interop.sh H3SINK PATTERN_CHECK CERTS_DIR CASE
# Drives h3sink on 127.0.0.1 (a free port it picks itself) with ngtcp2's example
# client gtlsclient. Cases:
#   get-post  GET /bytes/N byte-exact, TLS key log written, POST of a file counted
#             in the receipt, then SIGUSR1 with a live download (it completes,
#             exit 0) and the final --json totals (no framing from gtlsclient:
#             nothing split, the --records-out file stays empty)
#   sigterm   SIGTERM with a request held in flight: exit 0 after --drain-timeout
#   ipv6      GET /bytes/N over [::1] (skip when there is no IPv6 loopback)
#   fault     --fault-status 503 --fault-every 2: half of the POSTs are 503,
#             counted in faults_sent/responses_5xx and never as accepted
#   cli       usage errors exit 2 (the fault flags' ranges too), unreadable key,
#             unopenable --records-out and busy port exit 1
# Exit 77 (skip) when gtlsclient is missing. On the host's loopback: no root needed.
set -u
sink=$1 check=$2 certs=$3 case=$4
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"
command -v gtlsclient >/dev/null || { echo "gtlsclient not installed: skip"; exit 77; }

# Temp dir; h3sink and the clients still running killed on exit.
h3dp_tmp_init sink || exit 1
work=$H3DP_TMP
pid=
fail() { echo "FAIL: $*"; echo "--- h3sink output:"; cat "$work/out" 2>/dev/null; exit 1; }

# start_sink ARGS...: start h3sink, set $pid and $port.
start_sink() {
    "$sink" --addr 127.0.0.1 --port 0 --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" "$@" >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/out")
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "h3sink died: $(cat "$work/err")"
        sleep 0.05
    done
    fail "h3sink did not print its listening line"
}

# client ARGS... URI...: gtlsclient against the sink, 60 s at most.
client() {
    timeout 60 gtlsclient --no-quic-dump --no-http-dump -q --exit-on-all-streams-close \
        --timeout=10s "$@"
}

# wait_exit SECONDS: wait for h3sink to exit, set $rc.
wait_exit() {
    h3dp_wait_exit "$pid" "$1" || fail "h3sink still running after $1 s"
    rc=$H3DP_RC
    pid=
}

json_field() { # NAME: from the final JSON totals line
    grep '"final":true' "$work/out" | tail -1 | grep -o "\"$1\":[0-9.]*" | cut -d: -f2
}

case $case in
get-post)
    start_sink --json --stats-interval 0 --idle-timeout 3 --keylog "$work/keys" \
        --records-out "$work/records"
    url=https://127.0.0.1:$port
    mkdir "$work/dl"
    n=3000001
    client --download "$work/dl" 127.0.0.1 "$port" "$url/bytes/$n" || fail "GET exit $?"
    "$check" "$work/dl/$n" "$n" || fail "GET /bytes/$n not byte-exact"
    # SSLKEYLOGFILE lines: LABEL <client random, 32 bytes> <secret>.
    grep -Eq '^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,96}$' "$work/keys" ||
        fail "key log: $(head -3 "$work/keys")"
    client --download "$work/dl" 127.0.0.1 "$port" "$url/bytes/0" || fail "GET 0 exit $?"
    "$check" "$work/dl/0" 0 || fail "GET /bytes/0 not empty"

    head -c 5000000 /dev/urandom >"$work/up"
    client --download "$work/dl" -m POST -d "$work/up" 127.0.0.1 "$port" "$url/upload" ||
        fail "POST exit $?"
    grep -qx '{"bytes":5000000,"decoded":5000000,"digest":"none"}' "$work/dl/upload" ||
        fail "POST receipt: $(cat "$work/dl/upload")"

    # Several requests on one connection (2 POSTs of the same file).
    client --download "$work/dl" -m POST -d "$work/up" -n 2 127.0.0.1 "$port" \
        "$url/multi" || fail "POST x2 exit $?"
    grep -qx '{"bytes":5000000,"decoded":5000000,"digest":"none"}' "$work/dl/multi" ||
        fail "POST x2 receipt"

    # Junk /bytes path: 400 with an explanation.
    client --download "$work/dl" 127.0.0.1 "$port" "$url/bytes/12x" || fail "GET junk $?"
    grep -q "bad /bytes/N" "$work/dl/12x" || fail "GET /bytes/12x: $(cat "$work/dl/12x")"

    # SIGUSR1 while a large download is in flight: it completes, then h3sink exits 0.
    big=100000000
    client --download "$work/dl" 127.0.0.1 "$port" "$url/bytes/$big" &
    cpid=$!
    for _ in $(seq 200); do
        [ -s "$work/dl/$big" ] && break
        sleep 0.02
    done
    [ -s "$work/dl/$big" ] || fail "download did not start"
    kill -USR1 "$pid"
    wait "$cpid" || fail "download during GOAWAY: client exit $?"
    "$check" "$work/dl/$big" "$big" || fail "download during GOAWAY not byte-exact"
    wait_exit 10
    [ "$rc" = 0 ] || fail "h3sink exit $rc after SIGUSR1"

    [ "$(json_field goaways_sent)" -ge 1 ] || fail "no GOAWAY counted"
    [ "$(json_field connections)" = 6 ] || fail "connections $(json_field connections) != 6"
    [ "$(json_field requests)" = 7 ] || fail "requests $(json_field requests) != 7"
    [ "$(json_field body_bytes_in)" = 15000000 ] ||
        fail "body_bytes_in $(json_field body_bytes_in) != 15000000"
    [ "$(json_field digest_none)" = 3 ] || fail "digest_none != 3"
    [ "$(json_field digest_bad)" = 0 ] || fail "digest_bad != 0"
    [ "$(json_field responses_4xx)" = 1 ] || fail "responses_4xx != 1"
    [ "$(json_field responses_2xx)" = 6 ] || fail "responses_2xx != 6"
    # No content coding: decoded bytes are the bytes received.
    [ "$(json_field body_bytes_decoded)" = 15000000 ] ||
        fail "body_bytes_decoded $(json_field body_bytes_decoded) != 15000000"
    [ "$(json_field decode_errors)" = 0 ] || fail "decode_errors != 0"
    [ "$(json_field faults_sent)" = 0 ] || fail "faults_sent != 0"
    # gtlsclient sends no h3dp-framing: nothing split, nothing written.
    [ "$(json_field records_framed)" = 0 ] || fail "records_framed != 0"
    [ "$(json_field framing_mismatch)" = 0 ] || fail "framing_mismatch != 0"
    [ "$(json_field records_out_errors)" = 0 ] || fail "records_out_errors != 0"
    zero='{"uploads":0,"records":0}'
    grep '"final":true' "$work/out" |
        grep -qF "\"framing\":{\"none\":$zero,\"newline\":$zero,\"length\":$zero}" ||
        fail "framing totals: $(grep '"final":true' "$work/out")"
    [ -f "$work/records" ] && [ ! -s "$work/records" ] || fail "--records-out file not empty"
    receipt=$(wc -c <"$work/dl/upload")
    [ "$(json_field body_bytes_out)" = $((n + big + 3 * receipt + $(wc -c <"$work/dl/12x"))) ] ||
        fail "body_bytes_out $(json_field body_bytes_out)"
    # The drained connection ended with H3_NO_ERROR (0x100 = 256) from either side
    # (gtlsclient closes as soon as its last stream is done).
    grep '"final":true' "$work/out" |
        grep -Eq '\{"code":256,"kind":"application","by":"(local|peer)"\}\]\}$' ||
        fail "the last connection did not end with H3_NO_ERROR"
    ;;
sigterm)
    start_sink --response-delay-ms 20000 --drain-timeout 1 --stats-interval 0.05 --json
    client 127.0.0.1 "$port" "https://127.0.0.1:$port/held" >/dev/null 2>&1 &
    cpid=$!
    # The request is in flight once the periodic totals count it.
    for _ in $(seq 200); do
        grep -q '"requests":1,' "$work/out" && break
        sleep 0.05
    done
    grep -q '"requests":1,' "$work/out" || fail "the request never arrived"
    start=$(date +%s%N)
    kill -TERM "$pid"
    wait_exit 5
    ms=$((($(date +%s%N) - start) / 1000000))
    [ "$rc" = 0 ] || fail "h3sink exit $rc after SIGTERM"
    [ "$ms" -ge 900 ] || fail "exited after $ms ms, before the 1 s deadline"
    [ "$(json_field requests)" = 1 ] || fail "the held request was not counted"
    [ "$(json_field responses_2xx)" = 0 ] || fail "the held request was answered"
    [ "$(json_field goaways_sent)" = 1 ] || fail "no GOAWAY sent"
    kill "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    ;;
ipv6)
    if ! "$sink" --addr ::1 --port 0 --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" --stats-interval 0 >"$work/out" 2>"$work/err" & then
        :
    fi
    pid=$!
    for _ in $(seq 100); do
        grep -q "^listening" "$work/out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if ! grep -q "^listening" "$work/out"; then
        grep -q "cannot bind" "$work/err" && { echo "no IPv6 loopback: skip"; exit 77; }
        fail "h3sink on ::1: $(cat "$work/err")"
    fi
    port=$(sed -n 's/^listening on \[::1\]:\([0-9]*\)$/\1/p' "$work/out")
    [ -n "$port" ] || fail "listening line: $(cat "$work/out")"
    mkdir "$work/dl"
    client --download "$work/dl" ::1 "$port" "https://[::1]:$port/bytes/70000" ||
        fail "GET over IPv6: exit $?"
    "$check" "$work/dl/70000" 70000 || fail "GET over IPv6 not byte-exact"
    kill -USR1 "$pid"
    wait_exit 10
    [ "$rc" = 0 ] || fail "exit $rc"
    ;;
fault)
    start_sink --json --stats-interval 0 --idle-timeout 3 --fault-status 503 --fault-every 2 \
        --fault-retry-after 3
    url=https://127.0.0.1:$port
    mkdir "$work/dl"
    head -c 300000 /dev/urandom >"$work/up"
    # Four POSTs, one at a time: the 2nd and the 4th are the faulted ones.
    for i in 1 2 3 4; do
        client --download "$work/dl" -m POST -d "$work/up" 127.0.0.1 "$port" "$url/up$i" ||
            fail "POST $i exit $?"
    done
    for i in 1 3; do
        grep -qx '{"bytes":300000,"decoded":300000,"digest":"none"}' "$work/dl/up$i" ||
            fail "POST $i: $(cat "$work/dl/up$i")"
    done
    for i in 2 4; do
        grep -qx '{"fault":"injected","status":503}' "$work/dl/up$i" ||
            fail "POST $i not faulted: $(cat "$work/dl/up$i")"
    done
    # GETs do not count towards N.
    client --download "$work/dl" 127.0.0.1 "$port" "$url/bytes/1000" || fail "GET exit $?"
    "$check" "$work/dl/1000" 1000 || fail "GET during faults"
    kill -USR1 "$pid"
    wait_exit 10
    [ "$rc" = 0 ] || fail "h3sink exit $rc"
    [ "$(json_field faults_sent)" = 2 ] || fail "faults_sent $(json_field faults_sent) != 2"
    [ "$(json_field responses_5xx)" = 2 ] || fail "responses_5xx != 2"
    [ "$(json_field responses_2xx)" = 3 ] || fail "responses_2xx != 3"
    [ "$(json_field requests_bad)" = 0 ] || fail "requests_bad != 0"
    [ "$(json_field digest_none)" = 2 ] || fail "digest_none != 2"
    [ "$(json_field body_bytes_in)" = 1200000 ] || fail "body_bytes_in != 1200000"
    [ "$(json_field body_bytes_decoded)" = 1200000 ] || fail "body_bytes_decoded != 1200000"
    ;;
cli)
    "$sink" --addr 127.0.0.1 >/dev/null 2>"$work/e"; rc=$?
    [ "$rc" = 2 ] && grep -q "required" "$work/e" || fail "missing flags: exit $rc"
    "$sink" --bogus >/dev/null 2>&1; rc=$?
    [ "$rc" = 2 ] || fail "unknown flag: exit $rc"
    "$sink" --addr 127.0.0.1 --port 70000 --cert x --key y 2>"$work/e"; rc=$?
    [ "$rc" = 2 ] && grep -q "bad value '70000' for --port" "$work/e" || fail "bad port: $rc"
    "$sink" --addr 127.0.0.1 --port 0 --cert x --key y --max-streams -1 2>"$work/e"; rc=$?
    [ "$rc" = 2 ] || fail "bad --max-streams: exit $rc"
    # The fault hook's flags: status 100..599, N >= 1, S 0..86400, and the last
    # two only with --fault-status.
    for bad in "--fault-status 99" "--fault-status 600" "--fault-status 5x3" \
        "--fault-status -503" "--fault-status 503 --fault-every 0" \
        "--fault-status 503 --fault-every x" "--fault-status 503 --fault-retry-after 86401" \
        "--fault-status 503 --fault-retry-after -1" "--fault-status 503 --fault-retry-after 1.5"; do
        # shellcheck disable=SC2086 # split the flags on purpose
        "$sink" --addr 127.0.0.1 --port 0 --cert x --key y $bad 2>"$work/e"; rc=$?
        [ "$rc" = 2 ] && grep -q "bad value '.*' for --fault-" "$work/e" ||
            fail "$bad: exit $rc: $(cat "$work/e")"
    done
    grep -q "0..86400" "$work/e" || fail "no range in: $(cat "$work/e")"
    for bad in "--fault-every 2" "--fault-retry-after 5"; do
        # shellcheck disable=SC2086
        "$sink" --addr 127.0.0.1 --port 0 --cert x --key y $bad 2>"$work/e"; rc=$?
        [ "$rc" = 2 ] && grep -q "need --fault-status" "$work/e" || fail "$bad alone: exit $rc"
    done
    for bad in "--fault-reject --fault-status 503" "--fault-reject --fault-retry-after 1"; do
        # shellcheck disable=SC2086
        "$sink" --addr 127.0.0.1 --port 0 --cert x --key y $bad 2>"$work/e"; rc=$?
        [ "$rc" = 2 ] && grep -q "fault-reject goes without" "$work/e" || fail "$bad: exit $rc"
    done
    "$sink" --addr 127.0.0.1 --port 0 --cert "$certs/server.pem" --key /nonexistent \
        2>"$work/e"; rc=$?
    [ "$rc" = 1 ] && grep -q "cannot load certificate" "$work/e" || fail "bad key: exit $rc"
    "$sink" --addr 127.0.0.1 --port 0 --cert "$certs/server.pem" --key "$certs/server-key.pem" \
        --records-out /nonexistent/dir/records 2>"$work/e"; rc=$?
    [ "$rc" = 1 ] && grep -q "cannot open /nonexistent/dir/records" "$work/e" ||
        fail "unopenable --records-out: exit $rc: $(cat "$work/e")"
    "$sink" --addr 256.1.1.1 --port 0 --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" 2>"$work/e"; rc=$?
    [ "$rc" = 1 ] && grep -q "256.1.1.1" "$work/e" || fail "bad address: exit $rc"
    start_sink --stats-interval 0
    "$sink" --addr 127.0.0.1 --port "$port" --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" 2>"$work/e"; rc=$?
    [ "$rc" = 1 ] && grep -q "cannot bind" "$work/e" || fail "busy port: exit $rc"
    kill -USR1 "$pid"
    wait_exit 5
    [ "$rc" = 0 ] || fail "idle h3sink exit $rc after SIGUSR1"
    grep -q "^total: connections 0" "$work/out" || fail "no totals at exit"
    ;;
*)
    echo "unknown case $case"; exit 2 ;;
esac
echo "ok: $case"
