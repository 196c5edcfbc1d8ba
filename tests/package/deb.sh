#!/usr/bin/env bash
# tests/package/deb.sh SRCDIR VERSION: the Debian package, end to end (SLOW: it compiles the
# tree once, about a minute on an idle 2-CPU machine; lintian adds half a minute).
#   1. tools/build-deb builds h3dp_VERSION_*.deb (dpkg-buildpackage -b -us -uc on a copy)
#   2. lintian: no errors and no warnings
#   3. dpkg -i on this machine: Depends from shlibs (DPDK, ngtcp2, ...), /etc/h3dp/h3dpd.conf
#      a conffile, the unit enabled by dh_installsystemd's postinst and clean under
#      `systemd-analyze verify` with its real paths; /usr/bin/h3dpd --version and
#      --check-config /etc/h3dp/h3dpd.conf, h3ctl --version, `man -w` finds every page;
#      the packaged daemon starts without -c (kernel UDP), answers h3ctl on the default
#      socket and quits 0
#   4. dpkg --purge: nothing of it is left (also when a step fails)
# Root, dpkg-buildpackage, debhelper and lintian, else SKIP; SKIP too when an h3dp package
# is installed already (it is left alone). One run at a time (a lock).
set -uo pipefail
src=$1 version=$2
# shellcheck source=tools/lib/h3dp-env.sh
. "$src/tools/lib/h3dp-env.sh"
h3dp_need_root "dpkg -i"
h3dp_need dpkg-buildpackage dh lintian man flock
h3dp_tmp_init deb || exit 1
fail() {
    echo "FAIL: $*"
    exit 1
}
step() { printf '\n== %s (%s s)\n' "$*" "$SECONDS"; }

step "build"
DEB_BUILD_OPTIONS=noautodbgsym "$src/tools/build-deb" "$H3DP_TMP/out" >"$H3DP_TMP/build.log" 2>&1 ||
    { tail -40 "$H3DP_TMP/build.log"; fail "tools/build-deb"; }
deb=$(tail -1 "$H3DP_TMP/build.log")
[[ $deb == "$H3DP_TMP/out/h3dp_${version}_"*.deb && -f $deb ]] || fail "no h3dp_${version}_*.deb: $deb"
echo "ok: $(basename "$deb"), $(stat -c %s "$deb") bytes"

step "lintian"
lintian --fail-on error,warning --display-info "$deb" >"$H3DP_TMP/lintian.log" 2>&1
rc=$?
grep -v '^running with root' "$H3DP_TMP/lintian.log"
[ "$rc" = 0 ] || fail "lintian reports errors or warnings"
echo "ok: lintian: no errors, no warnings"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in librte-eal librte-ethdev libngtcp2 libnghttp3 libgnutls30 libsystemd0 librte-mempool-ring23; do
    [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
echo "ok: Depends: $depends"

# The machine's dpkg state is shared: one install at a time, and never over a real one.
exec 9>/run/lock/h3dp-deb-test.lock
flock -w 600 9 || fail "another deb test holds /run/lock/h3dp-deb-test.lock"
if dpkg-query -W -f '${Status}' h3dp 2>/dev/null | grep -q 'install ok installed'; then
    h3dp_skip "an h3dp package is installed on this machine: not touching it"
fi
purge() {
    dpkg --purge h3dp >"$H3DP_TMP/purge.log" 2>&1 || cat "$H3DP_TMP/purge.log"
}
h3dp_on_exit purge

step "dpkg -i"
dpkg -i "$deb" >"$H3DP_TMP/install.log" 2>&1 || { cat "$H3DP_TMP/install.log"; fail "dpkg -i"; }
out=$(/usr/bin/h3dpd --version) || fail "h3dpd --version"
[[ $out == "h3dpd $version"* ]] || fail "h3dpd --version: $out"
echo "ok: $(head -1 <<<"$out")"
/usr/bin/h3dpd --check-config /etc/h3dp/h3dpd.conf || fail "--check-config /etc/h3dp/h3dpd.conf"
out=$(/usr/bin/h3ctl --version) || fail "h3ctl --version"
[[ $out == "h3ctl $version"* ]] || fail "h3ctl --version: $out"
echo "ok: $(head -1 <<<"$out")"
for page in h3dpd.conf h3dpd h3ctl h3sink; do
    where=$(man -w "$page") || fail "man -w $page"
    [[ $where == /usr/share/man/* ]] || fail "man -w $page: $where"
    echo "ok: man -w $page: $where"
done
dpkg-query -W -f '${Conffiles}\n' h3dp | grep -q '^ /etc/h3dp/h3dpd.conf ' ||
    fail "/etc/h3dp/h3dpd.conf is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/h3dpd.service ] ||
    fail "postinst did not enable h3dpd.service"
echo "ok: conffile /etc/h3dp/h3dpd.conf; h3dpd.service enabled"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify /lib/systemd/system/h3dpd.service 2>&1) ||
        fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    echo "ok: systemd-analyze verify /lib/systemd/system/h3dpd.service (man pages too)"
fi

# The packaged daemon as the unit runs it (no -c; kernel UDP, no collector: nothing leaves).
if [ -e /run/h3dp ]; then
    echo "skip: /run/h3dp exists (an h3dpd may run here): not starting the packaged one"
else
    step "the packaged h3dpd"
    h3dp_on_exit 'rm -rf /run/h3dp'
    h3dp_bg /usr/bin/h3dpd >"$H3DP_TMP/h3dpd.log" 2>&1
    pid=$H3DP_BG_PID
    h3dp_wait_log "$H3DP_TMP/h3dpd.log" 'h3dpd: running: io kernel' 100 0.1 "$pid" ||
        { cat "$H3DP_TMP/h3dpd.log"; fail "the packaged h3dpd did not start"; }
    /usr/bin/h3ctl stats >/dev/null || fail "h3ctl stats on the default socket"
    /usr/bin/h3ctl quit >/dev/null || fail "h3ctl quit"
    h3dp_wait_exit "$pid" 30 || fail "h3dpd did not quit"
    [ "$H3DP_RC" = 0 ] || fail "h3dpd exited $H3DP_RC"
    echo "ok: /usr/bin/h3dpd read /etc/h3dp/h3dpd.conf, served h3ctl on /run/h3dp/h3dpd.sock, quit 0"
fi

step "dpkg --purge"
purge
for f in /usr/bin/h3dpd /etc/h3dp /lib/systemd/system/h3dpd.service \
    /etc/systemd/system/multi-user.target.wants/h3dpd.service /usr/share/man/man5/h3dpd.conf.5.gz; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f left after dpkg --purge"
done
echo "ok: purged, nothing left ($SECONDS s)"
