#!/usr/bin/env bash
# Reliability under reordering, HTTP/3 layer: h3client POSTs BYTES (default 8 MiB) to
# h3sink through udp_reorder_relay.py, which swaps 5% of neighbouring datagrams in each
# direction, all on the loopback of a private network namespace. Passes only if the relay
# really reordered (count > 0), the client exits 0 and the sink's final totals show every
# byte, one 2xx and a matching digest. Root only (exit 77 otherwise).
# usage: rel_h3_reorder.sh BUILD_DIR CERTS_DIR RELAY [BYTES]
set -eu
BUILD=$1
CERTS=$2
RELAY=$3
BYTES=${4:-8388608}
SINK_PORT=4433
RELAY_PORT=4434
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"
h3dp_need_root
h3dp_need ip python3

# A namespace with only lo (h3dp-reo-PID), torn down on exit.
h3dp_env_init reo || h3dp_skip "cannot create a network namespace"
WORK=$H3DP_TMP

wait_for() { # FILE PATTERN WHAT
	h3dp_wait_log "$1" "$2" 100 0.05 || { echo "FAIL: $3 did not start"; cat "$1"; exit 1; }
}
h3dp_ns_bg "$BUILD/tools/h3sink/h3sink" --addr 127.0.0.1 --port $SINK_PORT \
	--cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" --json --stats-interval 0 \
	--quiet >"$WORK/sink.out" 2>&1
SINK=$H3DP_BG_PID
wait_for "$WORK/sink.out" "^listening on" h3sink
h3dp_ns_bg python3 "$RELAY" $RELAY_PORT $SINK_PORT 5 $$ >"$WORK/relay.out" 2>&1
RPID=$H3DP_BG_PID
wait_for "$WORK/relay.out" "^ready" relay

rc=0
h3dp_ns "$BUILD/tools/h3client/h3client" --addr 127.0.0.1 --port $RELAY_PORT --host localhost \
	--ca "$CERTS/ca.pem" --method POST --path /rel --body-size "$BYTES" --digest \
	--timeout 60 --no-gso --json >"$WORK/client.out" 2>&1 || rc=$?
kill -USR1 "$SINK"
wait "$SINK" || true
kill -TERM "$RPID"
wait "$RPID" || true

reordered=$(sed -n 's/^reordered \([0-9]*\) .*/\1/p' "$WORK/relay.out")
final=$(grep '"final":true' "$WORK/sink.out" | tail -n 1)
echo "client exit $rc; relay: $(tail -n 1 "$WORK/relay.out")"
echo "sink: $final"
fail=0
[ "$rc" = 0 ] || { echo "FAIL: client exit $rc"; cat "$WORK/client.out"; fail=1; }
[ "${reordered:-0}" -gt 0 ] || { echo "FAIL: nothing was reordered: the test did not test reordering"; fail=1; }
echo "$final" | grep -q "\"body_bytes_in\":${BYTES}[,}]" ||
	{ echo "FAIL: sink did not get $BYTES body bytes"; fail=1; }
echo "$final" | grep -q '"responses_2xx":1[,}]' || { echo "FAIL: not exactly one 2xx"; fail=1; }
echo "$final" | grep -q '"digest_ok":1[,}]' || { echo "FAIL: the sink's digest did not match"; fail=1; }
exit $fail
