#!/usr/bin/env bash
# Reliability under packet loss, HTTP/3 layer: h3client POSTs BYTES (default 8 MiB) to
# h3sink over kernel UDP inside a private network namespace whose loopback drops 5% of
# the QUIC packets in each direction (nftables numgen; this kernel has no netem); the
# client sends without GSO so that a drop is one QUIC packet, not a 64 KiB batch. Passes
# only if loss really happened (nft counters > 0), the client exits 0 after checking the
# sink's digest receipt, and the sink's final totals show every byte and one 2xx.
# Root only (exit 77 otherwise). usage: rel_h3_loss.sh BUILD_DIR CERTS_DIR [BYTES]
set -eu
BUILD=$1
CERTS=$2
BYTES=${3:-8388608}
PORT=4433
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/h3dp-env.sh
. "$HERE/../../tools/lib/h3dp-env.sh"
h3dp_need_root
h3dp_need nft ip

# A namespace with only lo (h3dp-rel-PID), torn down on exit.
h3dp_env_init rel || h3dp_skip "cannot create a network namespace"
WORK=$H3DP_TMP
# The input hook sees both directions on loopback: 5% of packets to and from the sink.
h3dp_ns nft -f - <<NFT
table inet h3dprel {
	chain c {
		type filter hook input priority 0;
		udp dport $PORT numgen random mod 100 < 5 counter drop
		udp sport $PORT numgen random mod 100 < 5 counter drop
	}
}
NFT

h3dp_ns_bg "$BUILD/tools/h3sink/h3sink" --addr 127.0.0.1 --port $PORT \
	--cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" --json --stats-interval 0 \
	--quiet >"$WORK/sink.out" 2>&1
SINK=$H3DP_BG_PID
h3dp_wait_log "$WORK/sink.out" "^listening on" 100 0.05 ||
	{ echo "FAIL: h3sink did not start"; cat "$WORK/sink.out"; exit 1; }

rc=0
h3dp_ns "$BUILD/tools/h3client/h3client" --addr 127.0.0.1 --port $PORT --host localhost \
	--ca "$CERTS/ca.pem" --method POST --path /rel --body-size "$BYTES" --digest \
	--timeout 60 --no-gso --json >"$WORK/client.out" 2>&1 || rc=$?
kill -USR1 "$SINK"
wait "$SINK" || true

drops=$(h3dp_ns nft list table inet h3dprel | sed -n 's/.*packets \([0-9]*\).*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
final=$(grep '"final":true' "$WORK/sink.out" | tail -n 1)
echo "client exit $rc; packets dropped by nft: $drops"
echo "sink: $final"
fail=0
[ "$rc" = 0 ] || { echo "FAIL: client exit $rc"; cat "$WORK/client.out"; fail=1; }
[ "$drops" -gt 0 ] || { echo "FAIL: no packet was dropped: the test did not test loss"; fail=1; }
echo "$final" | grep -q "\"body_bytes_in\":${BYTES}[,}]" ||
	{ echo "FAIL: sink did not get $BYTES body bytes"; fail=1; }
echo "$final" | grep -q '"responses_2xx":1[,}]' || { echo "FAIL: not exactly one 2xx"; fail=1; }
echo "$final" | grep -q '"digest_ok":1[,}]' || { echo "FAIL: the sink's digest did not match"; fail=1; }
exit $fail
