#!/bin/sh
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
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v nft >/dev/null && command -v ip >/dev/null || { echo "SKIP: needs nft and ip"; exit 77; }

NS=h3dp-rel-$$
WORK=$(mktemp -d /tmp/h3dp-rel-XXXXXX)
SINK=
cleanup() {
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$NS" link set lo up
# The input hook sees both directions on loopback: 5% of packets to and from the sink.
ip netns exec "$NS" nft -f - <<NFT
table inet h3dprel {
	chain c {
		type filter hook input priority 0;
		udp dport $PORT numgen random mod 100 < 5 counter drop
		udp sport $PORT numgen random mod 100 < 5 counter drop
	}
}
NFT

ip netns exec "$NS" "$BUILD/tools/h3sink/h3sink" --addr 127.0.0.1 --port $PORT \
	--cert "$CERTS/server.pem" --key "$CERTS/server-key.pem" --json --stats-interval 0 \
	--quiet >"$WORK/sink.out" 2>&1 &
SINK=$!
i=0
until grep -q "^listening on" "$WORK/sink.out"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "FAIL: h3sink did not start"; cat "$WORK/sink.out"; exit 1; }
	sleep 0.05
done

rc=0
ip netns exec "$NS" "$BUILD/tools/h3client/h3client" --addr 127.0.0.1 --port $PORT --host localhost \
	--ca "$CERTS/ca.pem" --method POST --path /rel --body-size "$BYTES" --digest \
	--timeout 60 --no-gso --json >"$WORK/client.out" 2>&1 || rc=$?
kill -USR1 "$SINK"
wait "$SINK" || true
SINK=

drops=$(ip netns exec "$NS" nft list table inet h3dprel | sed -n 's/.*packets \([0-9]*\).*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
final=$(grep '"final":true' "$WORK/sink.out" | tail -n 1)
echo "client exit $rc; packets dropped by nft: $drops"
echo "sink: $final"
fail=0
[ "$rc" = 0 ] || { echo "FAIL: client exit $rc"; cat "$WORK/client.out"; fail=1; }
[ "$drops" -gt 0 ] || { echo "FAIL: no packet was dropped: the test did not test loss"; fail=1; }
echo "$final" | grep -q "\"body_bytes_in\":$BYTES[,}]" ||
	{ echo "FAIL: sink did not get $BYTES body bytes"; fail=1; }
echo "$final" | grep -q '"responses_2xx":1[,}]' || { echo "FAIL: not exactly one 2xx"; fail=1; }
echo "$final" | grep -q '"digest_ok":1[,}]' || { echo "FAIL: the sink's digest did not match"; fail=1; }
exit $fail
