#!/usr/bin/env bash
# h3dp-env.sh: the shared harness of h3dp's test scripts, the demo and the benchmarks: a
# private network namespace (or just a temp dir on the host's loopback), this run's unique
# names, h3dpd/h3sink/peers in the namespace, and one teardown that always runs. Sourced
# (bash), never executed. Namespaces, TAPs and DPDK need root.
#
# Set-up and teardown
#   h3dp_need_root [WHY]         exit 77 (SKIP, as meson counts it) unless root
#   h3dp_need CMD...             exit 77 unless every CMD is on the PATH
#   h3dp_need_tun                exit 77 without /dev/net/tun
#   h3dp_skip MESSAGE            print "SKIP: MESSAGE", exit 77
#   h3dp_tmp_init TAG            no namespace (loopback tests, benchmarks; no root needed):
#                                temp dir $H3DP_TMP, this run's names (below), the teardown
#   h3dp_env_init TAG            h3dp_tmp_init + the namespace $H3DP_NS with only lo, up
#                                (198.18.0.0/15 and fd00::/8 addresses go on lo or a TAP in it)
#   h3dp_on_exit CMD             add CMD (a string, eval'd) to the teardown; such commands run
#                                first, in the order added, with $H3DP_EXIT_RC = exit status
#   h3dp_track PID...            SIGKILL PID at teardown (a process that is not one of this
#                                shell's background jobs; those are always killed)
#   h3dp_untrack PID...          forget PID (once reaped: its number may be reused)
#   Names, unique per run (they end in the PID): $H3DP_NS h3dp-TAG-PID, $H3DP_IFC (TAP name,
#   <= 15 characters), $H3DP_PREFIX (DPDK --file-prefix; PREFIX-* also belong to the run),
#   $H3DP_SOCK and $H3DP_LOG (h3dpd's control socket and log in $H3DP_TMP).
#   Teardown (EXIT; SIGINT/SIGTERM exit 1): the h3dp_on_exit commands, then SIGKILL to every
#   background job still running, every tracked PID and anything left in the namespace, the
#   namespace deleted, $H3DP_TMP and the DPDK runtime dirs /var/run/dpdk/$H3DP_PREFIX{,-*}
#   removed. The exit status is kept.
#
# Processes
#   h3dp_ns CMD...               run CMD in the namespace
#   h3dp_bg CMD...               CMD in the background; $H3DP_BG_PID is CMD's own PID (so
#                                signals and the exit status are its own). Redirect the call.
#   h3dp_ns_bg CMD...            the same in the namespace
#   h3dp_wait_exit PID SECONDS   0 once PID has exited (its status in $H3DP_RC), 1 if it
#                                still runs after SECONDS
#   h3dp_wait_log FILE REGEX TRIES DELAY [PID]
#                                0 once grep finds REGEX in FILE, polled TRIES times DELAY s
#                                apart; 1 when they run out or PID exits first
#   h3dp_tap_wait PID [TRIES]    0 once the TAP $H3DP_IFC exists in the namespace (polled
#                                every 0.1 s, default 100 times); 1 if PID exits first, 2 after
#
# h3dpd and its peers
#   h3dp_conf MODE CONF_IN [section.key=value...]
#                                $H3DP_TMP/h3dpd.conf from CONF_IN: io MODE (dpdk|kernel),
#                                this run's names (h3dp_conf_unique), two workers sharing CPU 1
#                                (lcores 0-2, cpus 0,1,1), then the overrides
#   h3dp_conf_unique CONF_IN [section.key=value...]
#                                CONF_IN with only this run's TAP name, file prefix and socket
#                                (and the overrides)
#   h3dp_conf_set section.key=value...
#                                set (or add) keys in $H3DP_TMP/h3dpd.conf
#   h3dp_ipv6                    this run speaks IPv6: the peer address $H3DP_PEER_IP becomes
#                                fd00::1 ($H3DP_PEER_URL_HOST [fd00::1]); h3dp_conf* give
#                                h3dpd [port] ip6 = fd00::2/64 and mac = 02:00:00:00:00:02
#                                ($H3DP_OUR_IP6, $H3DP_OUR_MAC6). Call before them.
#   h3dp_start_daemon H3DPD      h3dpd in the namespace; its config's io = dpdk: the TAP's
#                                kernel side gets 198.18.0.1/24 (and fd00::1/64 when the
#                                config has [port] ip6); kernel: the same on the namespace's
#                                lo. Waits for "h3dpd: running".
#                                $H3DP_DAEMON_PID, log $H3DP_LOG
#   h3dp_peer_port PORT          the port h3sink/gtlsserver listen on (default 4433)
#   h3dp_start_sink H3SINK CERTS [ARGS...]
#                                h3sink on 198.18.0.1:$H3DP_PEER_PORT (--json); $H3DP_SINK_PID,
#                                output $H3DP_TMP/sink.out
#   h3dp_stop_sink               SIGINT, wait; the final JSON totals in $H3DP_SINK_FINAL
#   h3dp_start_gtlsserver CERTS DOCROOT
#                                gtlsserver on the same address; $H3DP_PEER_PID
#
# Addresses: 198.18.0.2 (h3dpd's DPDK port), 198.18.0.1 (the peer); with h3dp_ipv6
# fd00::2 and fd00::1 as well. Nothing leaves the namespace.

H3DP_PEER_IP=198.18.0.1
H3DP_PEER_IP4=198.18.0.1
H3DP_PEER_IP6=fd00::1
H3DP_OUR_IP6=fd00::2
H3DP_OUR_MAC6=02:00:00:00:00:02
H3DP_PEER_URL_HOST=198.18.0.1
H3DP_IPV6=''
H3DP_PEER_PORT=4433
H3DP_NS='' H3DP_TMP='' H3DP_PREFIX='' H3DP_IFC='' H3DP_SOCK='' H3DP_LOG=''
H3DP_DAEMON_PID='' H3DP_SINK_PID='' H3DP_PEER_PID='' H3DP_BG_PID='' H3DP_RC=''
H3DP_ON_EXIT=() H3DP_TRACKED=()

# ---------------------------------------------------------------- set-up and teardown
h3dp_skip() {
    echo "SKIP: $*"
    exit 77
}

h3dp_need_root() {
    [ "$(id -u)" = 0 ] || h3dp_skip "needs root (${1:-network namespaces, TAP devices})"
}

h3dp_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || h3dp_skip "needs $c"
    done
}

h3dp_need_tun() {
    [ -c /dev/net/tun ] || h3dp_skip "needs /dev/net/tun"
}

h3dp_tmp_init() {
    local tag=${1:?tag} pid=$$
    H3DP_TMP=$(mktemp -d "/tmp/h3dp-$tag.XXXXXX") || return 1
    trap h3dp_env_cleanup EXIT
    trap 'exit 1' INT TERM
    # The PID is kept whole in the TAP name (IFNAMSIZ: 15 characters); the tag is cut.
    H3DP_IFC=h3${tag:0:$((13 - ${#pid}))}$pid
    H3DP_PREFIX=h3dp-$tag-$pid
    H3DP_LOG=$H3DP_TMP/h3dpd.log
    H3DP_SOCK=$H3DP_TMP/h3dpd.sock
}

h3dp_env_init() {
    local tag=${1:?tag}
    h3dp_tmp_init "$tag" || return 1
    if ! ip netns add "h3dp-$tag-$$"; then
        echo "cannot create namespace h3dp-$tag-$$"
        return 1
    fi
    H3DP_NS=h3dp-$tag-$$
    ip -n "$H3DP_NS" link set lo up
}

h3dp_on_exit() {
    H3DP_ON_EXIT+=("$*")
}

h3dp_track() {
    H3DP_TRACKED+=("$@")
}

h3dp_untrack() {
    local p q keep=()
    for p in "${H3DP_TRACKED[@]}"; do
        for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
        keep+=("$p")
    done
    H3DP_TRACKED=("${keep[@]}")
}

# The EXIT trap. Best effort: nothing here may stop it early or change the exit status.
h3dp_env_cleanup() {
    # shellcheck disable=SC2034 # read by the h3dp_on_exit commands (eval'd strings)
    H3DP_EXIT_RC=$?
    set +eu
    local cmd p pids
    for cmd in "${H3DP_ON_EXIT[@]}"; do
        eval "$cmd"
    done
    pids="$(jobs -pr) ${H3DP_TRACKED[*]}"
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    if [ -n "$H3DP_NS" ]; then # whatever still runs in this run's namespace is ours too
        for p in $(ip netns pids "$H3DP_NS" 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
        ip netns del "$H3DP_NS" 2>/dev/null
    fi
    [ -z "$H3DP_TMP" ] || rm -rf "$H3DP_TMP"
    [ -z "$H3DP_PREFIX" ] || rm -rf "/var/run/dpdk/$H3DP_PREFIX" "/var/run/dpdk/$H3DP_PREFIX"-* 2>/dev/null
    return 0
}

# ---------------------------------------------------------------- processes
h3dp_ns() {
    ip netns exec "$H3DP_NS" "$@"
}

# Not "h3dp_ns CMD &": a backgrounded function is a subshell, and $! must be the program
# itself. Here the simple command is backgrounded (ip netns exec execs CMD).
h3dp_bg() {
    "$@" &
    H3DP_BG_PID=$!
}

h3dp_ns_bg() {
    h3dp_bg ip netns exec "$H3DP_NS" "$@"
}

h3dp_wait_exit() {
    local pid=${1:?pid} secs=${2:?seconds} i
    for ((i = 0; i < secs * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && return 1
    H3DP_RC=0
    # shellcheck disable=SC2034 # read by the scripts that source this file
    wait "$pid" || H3DP_RC=$?
    h3dp_untrack "$pid"
    return 0
}

h3dp_wait_log() {
    local file=${1:?file} re=${2:?regex} tries=${3:?tries} delay=${4:?delay} pid=${5:-} i
    for ((i = 0; i < tries; i++)); do
        grep -q -- "$re" "$file" 2>/dev/null && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            grep -q -- "$re" "$file" 2>/dev/null
            return
        fi
        sleep "$delay"
    done
    grep -q -- "$re" "$file" 2>/dev/null
}

h3dp_tap_wait() {
    local pid=${1:?pid} tries=${2:-100} i
    for ((i = 0; i < tries; i++)); do
        h3dp_ns ip link show "$H3DP_IFC" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 2
}

# ---------------------------------------------------------------- h3dpd and its peers
h3dp_conf_set() {
    local conf=$H3DP_TMP/h3dpd.conf kv sec key val
    for kv in "$@"; do
        sec=${kv%%.*} key=${kv#*.} key=${key%%=*} val=${kv#*=}
        if grep -q "^$key *=" "$conf"; then
            sed -i "/^\[$sec\]/,/^\[/ s#^$key *=.*#$key = $val#" "$conf"
        else
            sed -i "/^\[$sec\]/a $key = $val" "$conf"
        fi
    done
}

h3dp_ipv6() {
    H3DP_IPV6=1
    H3DP_PEER_IP=$H3DP_PEER_IP6
    # shellcheck disable=SC2034 # read by the scripts that source this file
    H3DP_PEER_URL_HOST="[$H3DP_PEER_IP6]"
}

h3dp_conf_unique() {
    local in=${1:?config}
    shift
    sed -e "s/iface=h3dp0/iface=$H3DP_IFC/" \
        -e "s#^file_prefix *=.*#file_prefix = $H3DP_PREFIX#" \
        -e "s#^socket *=.*#socket = $H3DP_SOCK#" \
        "$in" >"$H3DP_TMP/h3dpd.conf"
    # A TAP's two ends share a MAC unless told otherwise, and IPv6 link-local addresses
    # come from it: both ends would claim the same fe80:: address (duplicate address
    # detection fails on one side). IPv6 runs give the DPDK end its own MAC.
    [ -z "$H3DP_IPV6" ] || h3dp_conf_set "port.ip6=$H3DP_OUR_IP6/64" "port.mac=$H3DP_OUR_MAC6"
    h3dp_conf_set "$@"
}

h3dp_conf() {
    local mode=${1:?mode} in=${2:?config}
    shift 2
    h3dp_conf_unique "$in"
    sed -i -e "s/^io *=.*/io = $mode/" \
        -e "s/^lcores *=.*/lcores = 0-2\ncpus = 0,1,1/" \
        -e "s/^workers *=.*/workers = 1-2/" \
        "$H3DP_TMP/h3dpd.conf"
    h3dp_conf_set "$@"
}

h3dp_start_daemon() {
    local bin=${1:?h3dpd} mode v6=''
    mode=$(sed -n 's/^io *= *\([a-z]*\).*/\1/p' "$H3DP_TMP/h3dpd.conf" | head -1)
    grep -q '^ip6 *= *[0-9a-fA-F]' "$H3DP_TMP/h3dpd.conf" && v6=1
    h3dp_ns_bg "$bin" -c "$H3DP_TMP/h3dpd.conf" >"$H3DP_LOG" 2>&1
    H3DP_DAEMON_PID=$H3DP_BG_PID
    if [ "${mode:-dpdk}" = dpdk ]; then
        h3dp_tap_wait "$H3DP_DAEMON_PID" || :
        # nodad: the peer's address is usable at once (no kernel duplicate detection).
        # IPv6: net_tap gives the kernel end the port's MAC too when h3dpd sets it
        # ([port] mac), and the kernel would make its link-local address from whichever MAC
        # the TAP has when it comes up: h3dpd's own fe80:: address when it raced ahead (its
        # duplicate address detection then stopped it). The kernel end gets fe80::1 instead.
        h3dp_ns ip addr add "$H3DP_PEER_IP4/24" dev "$H3DP_IFC" 2>/dev/null &&
            { [ -z "$v6" ] || { h3dp_ns ip link set "$H3DP_IFC" addrgenmode none &&
                h3dp_ns ip -6 addr add fe80::1/64 dev "$H3DP_IFC" nodad &&
                h3dp_ns ip -6 addr add "$H3DP_PEER_IP6/64" dev "$H3DP_IFC" nodad; }; } &&
            h3dp_ns ip link set "$H3DP_IFC" up || { echo "the TAP did not appear"; return 1; }
    else
        h3dp_ns ip addr add "$H3DP_PEER_IP4/24" dev lo 2>/dev/null || :
        [ -z "$H3DP_IPV6" ] || h3dp_ns ip -6 addr add "$H3DP_PEER_IP6/64" dev lo nodad 2>/dev/null || :
    fi
    h3dp_wait_log "$H3DP_LOG" 'h3dpd: running' 150 0.1 "$H3DP_DAEMON_PID" && return 0
    echo "h3dpd did not start:"
    tail -20 "$H3DP_LOG"
    return 1
}

h3dp_peer_port() {
    H3DP_PEER_PORT=${1:?port}
}

h3dp_start_sink() {
    local bin=${1:?h3sink} certs=${2:?certs}
    shift 2
    h3dp_ns_bg "$bin" --addr "$H3DP_PEER_IP" --port "$H3DP_PEER_PORT" \
        --cert "$certs/server.pem" --key "$certs/server-key.pem" --json --stats-interval 0 \
        "$@" >"$H3DP_TMP/sink.out" 2>&1
    H3DP_SINK_PID=$H3DP_BG_PID
    h3dp_wait_log "$H3DP_TMP/sink.out" '^listening on' 100 0.05 "$H3DP_SINK_PID" && return 0
    echo "h3sink did not start:"
    cat "$H3DP_TMP/sink.out"
    return 1
}

h3dp_stop_sink() {
    [ -n "$H3DP_SINK_PID" ] || return 0
    kill -INT "$H3DP_SINK_PID" 2>/dev/null || :
    wait "$H3DP_SINK_PID" 2>/dev/null || :
    H3DP_SINK_PID=
    # shellcheck disable=SC2034 # read by the scripts that source this file
    H3DP_SINK_FINAL=$(grep '"final":true' "$H3DP_TMP/sink.out" | tail -1)
}

h3dp_start_gtlsserver() {
    local certs=${1:?certs} docroot=${2:?docroot}
    h3dp_ns_bg gtlsserver -q -d "$docroot" --timeout=30s "$H3DP_PEER_IP" "$H3DP_PEER_PORT" \
        "$certs/server-key.pem" "$certs/server.pem" >"$H3DP_TMP/peer.log" 2>&1
    H3DP_PEER_PID=$H3DP_BG_PID
    sleep 0.3
    kill -0 "$H3DP_PEER_PID" 2>/dev/null || { cat "$H3DP_TMP/peer.log"; return 1; }
}
