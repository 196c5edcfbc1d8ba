#!/usr/bin/env bash
# h3_interop.sh H3CLIENT CERTS_DIR PEER CASE [H3SINK]
# The h3 driver (through h3client, kernel UDP backend) against an HTTP/3 server
# on 127.0.0.1:
#   PEER  gtlsserver (ngtcp2's example server) | caddy (quic-go) | h3sink (ours;
#         its path is the 5th argument; GET /bytes/N and POST digest receipts)
#   CASE  get       GET of a 200 kB file, byte-exact
#         post      POST of 1 MB (status 200, every byte acknowledged; Caddy echoes
#                   it back and the echo is compared byte for byte)
#         ipv6      (gtlsserver) GET over [::1], the certificate checked against
#                   its IP address SAN
#         shutdown  8 requests in flight, then shutdown(max_push=3): all complete,
#                   GOAWAY(0) sent, outcome OK (H3_NO_ERROR)
#         resume    (gtlsserver, h3sink) two runs with --session-file --early: the
#                   first saves the server's ticket (mode 0600), the second resumes
#                   and its request goes in 0-RTT, accepted (h3sink counts it early)
#         resume-reject (h3sink --no-early-data) the same, but the server refuses the
#                   early data: the request is sent again after the handshake, once
#         mtls      (caddy, h3sink) the server requires a client certificate signed by
#                   the test client CA: GET with --cert/--key works; without one the
#                   connection fails and the outcome names the TLS alert
#                   (certificate_required; bad_certificate from Caddy)
# Exit 77 (skip) when the peer binary is absent. On the host's loopback: no root needed.
set -u
client=$1 certs=$2 peer=$3 case=$4 sink=${5:-}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"

case $peer in
gtlsserver) command -v gtlsserver >/dev/null || { echo "gtlsserver not installed: skip"; exit 77; } ;;
caddy) command -v caddy >/dev/null || { echo "caddy not installed: skip"; exit 77; } ;;
h3sink) [ -x "$sink" ] || { echo "h3sink binary not given"; exit 2; } ;;
*) echo "unknown peer $peer"; exit 2 ;;
esac

addr=127.0.0.1 host=localhost
if [ "$case" = ipv6 ]; then
    [ "$peer" = gtlsserver ] || { echo "ipv6 case is for gtlsserver"; exit 2; }
    ip -6 addr show dev lo 2>/dev/null | grep -q '::1' || { echo "no ::1 on lo: skip"; exit 77; }
    addr=::1 host=::1
fi

# Temp dir; the peer (and anything else still running) killed on exit.
h3dp_tmp_init interop || exit 1
work=$H3DP_TMP
pid=
fail() { echo "FAIL: $*"; echo "--- $peer log:"; tail -30 "$work/peer.log" 2>/dev/null; exit 1; }

mkdir -p "$work/docroot"
head -c 200000 /dev/urandom >"$work/docroot/file.bin"
echo "hello" >"$work/docroot/index.html"

udp_bound() { # PORT: is something listening on $addr:PORT/udp?
    ss -Hlun "sport = :$1" 2>/dev/null | grep -q .
}

start_gtlsserver() {
    gtlsserver -q -d "$work/docroot" --timeout=10s "$addr" "$port" \
        "$certs/server-key.pem" "$certs/server.pem" >"$work/peer.log" 2>&1 &
    pid=$!
}

start_caddy() {
    local client_auth='' strict=''
    if [ "$case" = mtls ]; then
        client_auth=", \"client_authentication\": {\"trusted_ca_certs_pem_files\": [\"$certs/client-ca.pem\"], \"mode\": \"require_and_verify\"}"
        # Caddy 2.6 turns strict SNI/Host matching on with client authentication, and over
        # HTTP/3 it sees an empty TLS ServerName (caddyserver/caddy#5078): every request
        # would get 421. Off here; the certificate check itself is unaffected.
        strict='"strict_sni_host": false,'
    fi
    cat >"$work/caddy.json" <<EOF
{
  "admin": {"disabled": true},
  "storage": {"module": "file_system", "root": "$work/caddy-data"},
  "apps": {
    "tls": {"certificates": {"load_files": [
      {"certificate": "$certs/server.pem", "key": "$certs/server-key.pem", "tags": ["test"]}]}},
    "http": {"servers": {"h3dp": {
      "listen": ["127.0.0.1:$port"], $strict
      "protocols": ["h1", "h2", "h3"],
      "automatic_https": {"disable": true},
      "tls_connection_policies": [{"certificate_selection": {"any_tag": ["test"]}$client_auth}],
      "routes": [
        {"match": [{"method": ["POST"]}],
         "handle": [{"handler": "static_response", "status_code": 200,
                     "body": "{http.request.body}"}]},
        {"handle": [{"handler": "file_server", "root": "$work/docroot"}]}
      ]}}}
  }
}
EOF
    HOME=$work XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work \
        caddy run --config "$work/caddy.json" >"$work/peer.log" 2>&1 &
    pid=$!
}

start_h3sink() {
    local mtls=()
    [ "$case" = mtls ] && mtls=(--client-ca "$certs/client-ca.pem")
    [ "$case" = resume ] && mtls=(--json --quiet)
    [ "$case" = resume-reject ] && mtls=(--json --quiet --no-early-data)
    "$sink" --addr 127.0.0.1 --port 0 --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" "${mtls[@]}" >"$work/peer.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/peer.log")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    fail "h3sink did not print its listening line"
}

[ "$peer" = h3sink ] && start_h3sink
for _ in 1 2 3 4 5; do
    [ "$peer" = h3sink ] && break
    port=$((20000 + (RANDOM * 7 + $$) % 40000))
    udp_bound "$port" && continue
    "start_$peer"
    for _ in $(seq 100); do
        udp_bound "$port" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    udp_bound "$port" && break
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
done
[ -n "$pid" ] || fail "$peer did not start"

run() { # h3client ARGS...: against the peer, output in $work/out
    timeout 60 "$client" --addr "$addr" --port "$port" --host "$host" \
        --ca "$certs/ca.pem" --timeout 20 --json "$@" >"$work/out" 2>"$work/err"
    rc=$?
    cat "$work/out"
    [ -s "$work/err" ] && sed 's/^/  stderr: /' "$work/err" | tail -5
    return $rc
}

field() { grep -o "\"$1\":[^,}]*" "$work/out" | head -1 | cut -d: -f2-; }

pattern() { # N: the /bytes/N body (byte i = i % 251)
    python3 -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range($1)))"
}

if [ "$peer" = h3sink ]; then
    # h3sink serves /bytes/N and answers POSTs with a JSON receipt.
    pattern 200000 >"$work/docroot/file.bin"
    getpath=/bytes/200000
else
    getpath=/file.bin
fi

case $case in
get)
    run --path "$getpath" --out "$work/got.bin" || fail "GET failed"
    cmp "$work/docroot/file.bin" "$work/got.bin" || fail "GET body differs"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK"
    [ "$(field alpn)" = '"h3"' ] || fail "ALPN is not h3"
    ;;
post)
    run --method POST --path /index.html --body-size 1000000 --out "$work/resp" ||
        fail "POST failed"
    [ "$(field bytes_up)" = 1000000 ] || fail "not all of the body was acknowledged"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK"
    if [ "$peer" = h3sink ]; then # the receipt, with the digest we sent verified
        run --method POST --path /up --body-size 1000000 --digest --out "$work/resp" ||
            fail "POST with digest failed"
        grep -q '"bytes":1000000' "$work/resp" || fail "receipt: $(cat "$work/resp")"
        grep -q '"digest":"ok"' "$work/resp" || fail "digest not verified: $(cat "$work/resp")"
    fi
    if [ "$peer" = caddy ]; then # Caddy echoes the body: check it byte for byte
        pattern 1000000 >"$work/sent"
        cmp "$work/sent" "$work/resp" || fail "echoed body differs"
    fi
    ;;
ipv6)
    run --path "$getpath" --out "$work/got.bin" || fail "GET over IPv6 failed"
    cmp "$work/docroot/file.bin" "$work/got.bin" || fail "GET body differs"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK"
    ;;
shutdown)
    run --path "$getpath" -n 8 --shutdown-early --max-push 3 || fail "shutdown run failed"
    [ "$(field ok)" = 8 ] || fail "not all 8 requests completed"
    [ "$(field bytes_down)" = 1600000 ] || fail "bodies incomplete"
    [ "$(field goaway_sent_id)" = 0 ] || fail "GOAWAY id is not 0"
    [ "$(field max_push_requested)" = 3 ] || fail "requested max_push not reported"
    [ "$(field max_push_effective)" = 0 ] || fail "effective max_push not 0"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK"
    grep -q 'H3_NO_ERROR' "$work/out" || fail "outcome is not H3_NO_ERROR"
    ;;
resume|resume-reject)
    if [ "$peer" = h3sink ]; then
        req=(--method POST --path /up --body-size 1000)
    else
        req=(--path /index.html)
    fi
    sess=$work/session
    run --session-file "$sess" --early "${req[@]}" || fail "first run failed"
    [ "$(field resumed)" = false ] || fail "the first run resumed"
    [ "$(field early_data)" = '"not attempted"' ] || fail "the first run tried 0-RTT"
    [ "$(field tickets)" -ge 1 ] || fail "no ticket received"
    [ -s "$sess" ] || fail "no session file written"
    [ "$(stat -c %a "$sess")" = 600 ] || fail "session file mode $(stat -c %a "$sess")"
    run --session-file "$sess" --early "${req[@]}" || fail "second run failed"
    [ "$(field ok)" = 1 ] || fail "the request did not complete"
    [ "$(field resumed)" = true ] || fail "the second run did not resume"
    [ "$(field requests_early)" = 1 ] || fail "the request was not sent in 0-RTT"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK"
    if [ "$case" = resume ]; then
        [ "$(field early_data)" = '"accepted"' ] || fail "0-RTT not accepted"
        [ "$(field requests_early_resent)" = 0 ] || fail "a request was sent again"
    else
        [ "$(field early_data)" = '"rejected"' ] || fail "0-RTT not rejected"
        [ "$(field requests_early_resent)" = 1 ] || fail "the request was not sent again"
    fi
    if [ "$peer" = h3sink ]; then # the server's side: its final totals
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        pid=
        final=$(grep '"final":true' "$work/peer.log")
        sf() { grep -o "\"$1\":[^,}]*" <<<"$final" | head -1 | cut -d: -f2-; }
        [ "$(sf resumed)" = 1 ] || fail "h3sink counted $(sf resumed) resumed handshakes"
        [ "$(sf requests)" = 2 ] || fail "h3sink saw $(sf requests) requests"
        [ "$(sf body_bytes_in)" = 2000 ] || fail "h3sink got $(sf body_bytes_in) body bytes"
        if [ "$case" = resume ]; then
            [ "$(sf early_requests)" = 1 ] || fail "h3sink: $(sf early_requests) early requests"
        else
            [ "$(sf early_requests)" = 0 ] || fail "h3sink: $(sf early_requests) early requests"
        fi
    fi
    ;;
mtls)
    run --path "$getpath" --out "$work/got.bin" --cert "$certs/client.pem" \
        --key "$certs/client-key.pem" || fail "GET with a client certificate failed"
    cmp "$work/docroot/file.bin" "$work/got.bin" || fail "GET body differs"
    [ "$(field outcome_ok)" = true ] || fail "outcome not OK with the certificate"
    if run --path "$getpath" --out "$work/none.bin"; then
        fail "the server took a client without a certificate"
    fi
    [ "$(field outcome_ok)" = false ] || fail "outcome OK without a certificate"
    # RFC 8446 §4.4.2.4: certificate_required (h3sink/GnuTLS); Go's TLS (Caddy) sends
    # bad_certificate.
    grep -Eq 'TLS alert (certificate_required|bad_certificate)' "$work/out" ||
        fail "the outcome does not name the TLS alert: $(cat "$work/out")"
    ;;
*)
    echo "unknown case $case"; exit 2 ;;
esac
echo "PASS: $peer $case"
