#!/usr/bin/env bash
# tests/package/cli.sh VERSION SRCDIR PROGRAM...: every installed program answers --help and
# --version (exit 0, on stdout: "usage:" / "NAME VERSION"), refuses an unknown option with
# status 2; h3dpd --help and h3dpd(8) have the signal table; every script in tools/ answers
# --help with a usage line and does nothing else (run in an empty directory: it must leave
# it empty, and return at once).
set -uo pipefail
version=$1 src=$2
shift 2
# shellcheck source=tools/lib/h3dp-env.sh
. "$src/tools/lib/h3dp-env.sh"
h3dp_tmp_init cli
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

for prog in "$@"; do
    name=$(basename "$prog")
    out=$("$prog" --help 2>"$H3DP_TMP/err") || bad "$name --help: status $?"
    [[ $out == usage:* ]] || bad "$name --help: no usage on stdout: ${out:0:80}"
    out=$("$prog" --version 2>"$H3DP_TMP/err") || bad "$name --version: status $?"
    [[ $out == "$name $version"* ]] || bad "$name --version: '$out' does not start with '$name $version'"
    "$prog" --no-such-option >/dev/null 2>&1
    rc=$?
    [ "$rc" = 2 ] || bad "$name --no-such-option: status $rc, want 2"
    echo "ok: $name: --help, --version ($(head -1 <<<"$out")), bad option -> 2"
    # h3dpd's signal table: one row per signal it handles.
    if [ "$name" = h3dpd ]; then
        help=$("$prog" --help)
        for row in '^signals:$' '^  SIGHUP +reload' '^  SIGTERM, SIGINT +graceful shutdown' \
            '^  SIGUSR1 +print the dataplane counters'; do
            grep -Eq "$row" <<<"$help" || bad "h3dpd --help: no /$row/ in the signal table"
        done
        # ... and the same signals in h3dpd(8)'s SIGNALS section.
        sigs=$(sed -n '/^# SIGNALS/,/^# [A-Z]/p' "$src/docs/man/h3dpd.8.scd")
        for sig in SIGHUP SIGTERM SIGINT SIGUSR1; do
            grep -q "^\*.*$sig" <<<"$sigs" || bad "h3dpd(8): $sig not in SIGNALS"
        done
        echo "ok: h3dpd --help and h3dpd(8): the signal table"
    fi
done

# The scripts: every executable file directly in tools/.
for script in "$src"/tools/*; do
    [ -f "$script" ] && [ -x "$script" ] || continue
    name=tools/$(basename "$script")
    empty=$H3DP_TMP/run-$(basename "$script")
    mkdir -p "$empty"
    out=$(cd "$empty" && timeout 20 "$script" --help 2>"$H3DP_TMP/err")
    rc=$?
    [ "$rc" = 0 ] || bad "$name --help: status $rc ($(head -c 200 "$H3DP_TMP/err"))"
    grep -qi '^usage:' <<<"$out" || bad "$name --help: no usage line on stdout: ${out:0:80}"
    [ -z "$(ls -A "$empty")" ] || bad "$name --help: left $(ls -A "$empty") behind"
    echo "ok: $name --help"
done
exit $fail
