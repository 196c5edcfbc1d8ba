#!/usr/bin/env bash
# tests/package/install.sh BUILD_DIR BINDIR CONFIG UNITDIR MANDIR DOCDIR man|noman:
# `meson install`
# (into a temporary DESTDIR, nothing rebuilt) puts the programs, the configuration, the
# systemd unit, the man pages (noman: the build found no scdoc) and the docs where they
# belong, and nothing else in BINDIR (h3client and the benchmarks stay in the build tree).
set -uo pipefail
build=$1 bindir=$2 config=$3 unitdir=$4 mandir=$5 docdir=$6 man=$7
dest=$(mktemp -d /tmp/h3dp-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest.log" 2>&1 ||
    { cat "$dest.log"; rm -f "$dest.log"; echo "FAIL: meson install"; exit 1; }
rm -f "$dest.log"
for f in "$bindir/h3dpd" "$bindir/h3ctl" "$bindir/h3sink"; do
    [ -x "$dest$f" ] || bad "$f not installed (or not executable)"
done
extra=$(find "$dest$bindir" -type f ! -name h3dpd ! -name h3ctl ! -name h3sink)
[ -z "$extra" ] || bad "unexpected programs in $bindir: $extra"
[ -f "$dest$config" ] || bad "$config not installed"
grep -q '^io = kernel' "$dest$config" || bad "$config is not the packaged configuration"
[ -f "$dest$unitdir/h3dpd.service" ] || bad "$unitdir/h3dpd.service not installed"
for page in man8/h3dpd.8 man8/h3ctl.8 man5/h3dpd.conf.5 man1/h3sink.1; do
    [ "$man" = noman ] || [ -s "$dest$mandir/$page" ] || bad "$mandir/$page not installed"
done
for doc in README.md CONFIG.md CONTROL.md UPLOAD.md DEPLOY.md h3sink.md examples/h3dpd-tap.conf; do
    [ -s "$dest$docdir/$doc" ] || bad "$docdir/$doc not installed"
done
find "$dest" -type f | sed "s#^$dest##" | sort
exit $fail
