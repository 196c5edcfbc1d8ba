# h3dp-env.sh: shell helpers to run h3dpd and a peer in a private network namespace.
# Sourced by tests/daemon/e2e.sh, tools/demo and benchmarks. Requires root.
#
#   h3dp_env_init TAG            namespace h3dp-TAG-$$, temp dir, teardown on exit
#   h3dp_conf MODE CONF_IN [K=V...]
#                                $H3DP_TMP/h3dpd.conf from CONF_IN: io MODE (dpdk|kernel),
#                                a unique TAP name and file prefix, the control socket in
#                                the temp dir, two workers sharing CPU 1 (lcores 0-2, cpus
#                                0,1,1), and any "section.key=value" overrides
#   h3dp_start_daemon H3DPD      h3dpd in the namespace; DPDK: the TAP's kernel side gets
#                                198.18.0.1/24; kernel: 198.18.0.1/24 on the namespace's lo.
#                                Waits for "h3dpd: running". $H3DP_DAEMON_PID, log $H3DP_LOG
#   h3dp_start_sink H3SINK CERTS [ARGS...]
#                                h3sink on 198.18.0.1:4433 (--json); $H3DP_SINK_PID,
#                                output $H3DP_TMP/sink.out
#   h3dp_stop_sink               SIGINT, wait; the final JSON totals in $H3DP_SINK_FINAL
#   h3dp_start_gtlsserver CERTS DOCROOT
#   h3dp_ns CMD...               run CMD in the namespace
#
# Addresses: 198.18.0.2 (h3dpd's DPDK port), 198.18.0.1 (the peer). Nothing leaves the
# namespace.

H3DP_PEER_IP=198.18.0.1
H3DP_PEER_PORT=4433

h3dp_env_init() {
    local tag=${1:?tag}
    H3DP_NS=h3dp-$tag-$$
    H3DP_IFC=h3$tag$$
    H3DP_IFC=${H3DP_IFC:0:15}
    H3DP_PREFIX=h3dp-$tag-$$
    H3DP_TMP=$(mktemp -d "/tmp/h3dp-$tag.XXXXXX")
    H3DP_LOG=$H3DP_TMP/h3dpd.log
    H3DP_SOCK=$H3DP_TMP/h3dpd.sock
    H3DP_DAEMON_PID= H3DP_SINK_PID= H3DP_PEER_PID=
    trap h3dp_env_cleanup EXIT
    trap 'exit 1' INT TERM
    ip netns add "$H3DP_NS" || { echo "cannot create namespace $H3DP_NS"; return 1; }
    ip -n "$H3DP_NS" link set lo up
}

h3dp_env_cleanup() {
    local p
    for p in $H3DP_DAEMON_PID $H3DP_SINK_PID $H3DP_PEER_PID; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    ip netns del "$H3DP_NS" 2>/dev/null
    rm -rf "$H3DP_TMP" "/var/run/dpdk/$H3DP_PREFIX"
}

h3dp_ns() {
    ip netns exec "$H3DP_NS" "$@"
}

# h3dp_conf MODE CONF_IN [section.key=value ...]
h3dp_conf() {
    local mode=${1:?mode} in=${2:?config} kv sec key val
    shift 2
    H3DP_MODE=$mode
    sed -e "s/iface=h3dp0/iface=$H3DP_IFC/" \
        -e "s#^file_prefix *=.*#file_prefix = $H3DP_PREFIX#" \
        -e "s#^socket *=.*#socket = $H3DP_SOCK#" \
        -e "s/^io *=.*/io = $mode/" \
        -e "s/^lcores *=.*/lcores = 0-2\ncpus = 0,1,1/" \
        -e "s/^workers *=.*/workers = 1-2/" \
        "$in" >"$H3DP_TMP/h3dpd.conf"
    for kv in "$@"; do
        sec=${kv%%.*} key=${kv#*.} key=${key%%=*} val=${kv#*=}
        if grep -q "^$key *=" "$H3DP_TMP/h3dpd.conf"; then
            sed -i "/^\[$sec\]/,/^\[/ s#^$key *=.*#$key = $val#" "$H3DP_TMP/h3dpd.conf"
        else
            sed -i "/^\[$sec\]/a $key = $val" "$H3DP_TMP/h3dpd.conf"
        fi
    done
}

h3dp_start_daemon() {
    local bin=${1:?h3dpd} i
    # Not through h3dp_ns: a backgrounded function is a subshell, and $! must be the
    # program itself (signals are sent to it). Likewise below.
    ip netns exec "$H3DP_NS" "$bin" -c "$H3DP_TMP/h3dpd.conf" >"$H3DP_LOG" 2>&1 &
    H3DP_DAEMON_PID=$!
    if [ "$H3DP_MODE" = dpdk ]; then
        for i in $(seq 100); do
            h3dp_ns ip link show "$H3DP_IFC" >/dev/null 2>&1 && break
            kill -0 "$H3DP_DAEMON_PID" 2>/dev/null || break
            sleep 0.1
        done
        h3dp_ns ip addr add "$H3DP_PEER_IP/24" dev "$H3DP_IFC" 2>/dev/null &&
            h3dp_ns ip link set "$H3DP_IFC" up || { echo "the TAP did not appear"; return 1; }
    else
        h3dp_ns ip addr add "$H3DP_PEER_IP/24" dev lo 2>/dev/null
    fi
    for i in $(seq 150); do
        grep -q '^h3dpd: running' "$H3DP_LOG" && return 0
        kill -0 "$H3DP_DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "h3dpd did not start:"
    tail -20 "$H3DP_LOG"
    return 1
}

h3dp_start_sink() {
    local bin=${1:?h3sink} certs=${2:?certs} i
    shift 2
    ip netns exec "$H3DP_NS" "$bin" --addr "$H3DP_PEER_IP" --port "$H3DP_PEER_PORT" --cert "$certs/server.pem" \
        --key "$certs/server-key.pem" --json --stats-interval 0 "$@" >"$H3DP_TMP/sink.out" 2>&1 &
    H3DP_SINK_PID=$!
    for i in $(seq 100); do
        grep -q '^listening on' "$H3DP_TMP/sink.out" && return 0
        kill -0 "$H3DP_SINK_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "h3sink did not start:"
    cat "$H3DP_TMP/sink.out"
    return 1
}

h3dp_stop_sink() {
    [ -n "$H3DP_SINK_PID" ] || return 0
    kill -INT "$H3DP_SINK_PID" 2>/dev/null
    wait "$H3DP_SINK_PID" 2>/dev/null
    H3DP_SINK_PID=
    H3DP_SINK_FINAL=$(grep '"final":true' "$H3DP_TMP/sink.out" | tail -1)
}

h3dp_start_gtlsserver() {
    local certs=${1:?certs} docroot=${2:?docroot}
    ip netns exec "$H3DP_NS" gtlsserver -q -d "$docroot" --timeout=30s "$H3DP_PEER_IP" "$H3DP_PEER_PORT" \
        "$certs/server-key.pem" "$certs/server.pem" >"$H3DP_TMP/peer.log" 2>&1 &
    H3DP_PEER_PID=$!
    sleep 0.3
    kill -0 "$H3DP_PEER_PID" 2>/dev/null || { cat "$H3DP_TMP/peer.log"; return 1; }
}
