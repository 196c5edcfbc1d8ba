#!/usr/bin/env bash
# resume_bench.sh H3CLIENT H3SINK CERTS_DIR [RUNS] [DELAY_MS]
# Time from a connection's start to its first completed request (an upload of 1000 bytes),
# h3client against h3sink over real UDP: RUNS reconnects with a full handshake, then RUNS
# resuming with a session ticket and sending the upload in 0-RTT (each run takes the
# ticket the previous one received). Prints every run and the medians (h3client's
# first_response_ms: from before h3_conn_new to the first on_complete; it includes
# loading the CA file and the TLS work on both ends).
#   DELAY_MS (default 0): 0 = straight over the host's loopback; N > 0 = through a UDP
#   relay on 127.0.0.1 (udp_delay_relay.py, python3 asyncio) that holds every datagram N ms
#   in each direction (the kernel here has no netem).
# Not a test (no pass/fail): numbers for docs/BENCHMARKS.md.
set -u
client=$1 sink=$2 certs=$3 runs=${4:-15} delay=${5:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"
h3dp_tmp_init resume-bench || exit 1
work=$H3DP_TMP
addr=127.0.0.1

"$sink" --addr "$addr" --port 0 --cert "$certs/server.pem" --key "$certs/server-key.pem" \
    --quiet >"$work/sink.log" 2>&1 &
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on [0-9.]*:\([0-9]*\)$/\1/p' "$work/sink.log")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "h3sink did not start"; cat "$work/sink.log"; exit 1; }

if [ "$delay" -gt 0 ]; then # the relay: clients talk to it, it talks to h3sink
    python3 -u "$HERE/udp_delay_relay.py" "$addr" 0 "$addr" "$port" "$delay" \
        >"$work/relay.log" 2>&1 &
    for _ in $(seq 100); do
        rport=$(sed -n 's/^relay on \([0-9]*\)$/\1/p' "$work/relay.log")
        [ -n "$rport" ] && break
        sleep 0.05
    done
    [ -n "$rport" ] || { echo "the relay did not start"; cat "$work/relay.log"; exit 1; }
    port=$rport
fi

one() { # ARGS...: one h3client run, prints first_response_ms resumed early_data
    "$client" --addr "$addr" --port "$port" --host localhost --ca "$certs/ca.pem" --json \
        --method POST --path /up --body-size 1000 --early "$@" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["first_response_ms"], d["resumed"], d["early_data"])'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "h3client -> h3sink $addr:$port, one-way delay ${delay} ms, $runs runs each"
for i in $(seq "$runs"); do one; done | tee "$work/full"
one --session-file "$work/sess" >/dev/null # the first ticket
for i in $(seq "$runs"); do one --session-file "$work/sess"; done | tee "$work/early"
grep -vc 'False not attempted' "$work/full" | grep -qx 0 || echo "warning: a full run resumed"
grep -vc 'True accepted' "$work/early" | grep -qx 0 || echo "warning: a resumed run without 0-RTT"
echo "median first_response_ms: full handshake $(cut -d' ' -f1 "$work/full" | median)," \
    "0-RTT resumption $(cut -d' ' -f1 "$work/early" | median)"
