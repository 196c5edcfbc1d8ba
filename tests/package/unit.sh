#!/usr/bin/env bash
# tests/package/unit.sh UNIT H3DPD CONF BINDIR: the systemd unit meson generates
# (dist/h3dpd.service.in) passes `systemd-analyze verify` without a word (its ExecStart
# pointed at this build's h3dpd: BINDIR/h3dpd is not installed here), is a Type=notify
# service with the settings docs/DEPLOY.md promises, and the configuration installed with
# it (dist/h3dpd.conf) passes --check-config on this machine and puts the control socket in
# the unit's RuntimeDirectory. SKIP (77) without systemd-analyze.
set -uo pipefail
unit=$1 h3dpd=$(realpath "$2") conf=$3 bindir=$4
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d /tmp/h3dp-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

grep -q "^ExecStart=$bindir/h3dpd -c " "$unit" || bad "ExecStart does not run $bindir/h3dpd -c"
sed "s#^ExecStart=$bindir/h3dpd #ExecStart=$h3dpd #" "$unit" >"$tmp/h3dpd.service"
out=$(systemd-analyze verify --man=no "$tmp/h3dpd.service" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || bad "systemd-analyze verify (status $rc): $out"
echo "ok: systemd-analyze verify: no findings"

for want in '^Type=notify$' '^RuntimeDirectory=h3dp$' '^Restart=on-failure$' \
    '^RestartPreventExitStatus=2$' '^ExecReload=/bin/kill -HUP \$MAINPID$' \
    '^NoNewPrivileges=yes$' '^ProtectSystem=full$' '^LimitMEMLOCK=infinity$' \
    '^WantedBy=multi-user.target$'; do
    grep -q "$want" "$unit" || bad "the unit lacks $want"
done
# The unit's configuration is the one h3dpd reads without -c.
config=$(sed -n 's#^ExecStart=[^ ]* -c ##p' "$unit")
grep -qF "(default $config)" <<<"$("$h3dpd" --help)" || bad "h3dpd's default config is not $config"

"$h3dpd" --check-config "$conf" >"$tmp/check" 2>&1 || bad "--check-config $conf: $(cat "$tmp/check")"
sock=$(sed -n 's/^socket *= *//p' "$conf")
[[ $sock == /run/h3dp/* ]] || bad "the packaged control socket '$sock' is not in RuntimeDirectory /run/h3dp"
echo "ok: $conf passes --check-config; control socket $sock"
exit $fail
