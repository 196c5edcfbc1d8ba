#!/usr/bin/env bash
# h3dpd --check-config on hostile file inputs (no root, no network): the configuration and
# every file it names must be regular files of a sane size, refused at once otherwise
# (/dev/zero or a FIFO used to hang the check), and every file is parsed the way the
# daemon will use it: a PEM that does not parse, a key that does not match, a headers file
# that does not parse is one line on stderr and exit 2.
# Usage: check_config.sh H3DPD CERTS_DIR CONFIG
set -euo pipefail
H3DPD=${1:?h3dpd} CERTS=${2:?certs dir} CONF_IN=${3:?config}
# shellcheck source=tools/lib/h3dp-env.sh
. "$(dirname "$0")/../../tools/lib/h3dp-env.sh"
h3dp_tmp_init chkcfg

fails=0
T=$H3DP_TMP
# check NAME WANT_RC WANT_TEXT CONFIG: --check-config CONFIG exits WANT_RC within 10 s and
# prints exactly one line containing WANT_TEXT.
check() {
    local name=$1 want_rc=$2 want=$3 conf=$4 out rc=0
    out=$(timeout 10 "$H3DPD" --check-config "$conf" 2>&1) || rc=$?
    if [ "$rc" != "$want_rc" ] || [[ $out != *"$want"* ]] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ]; then
        echo "FAIL: $name: exit $rc (want $want_rc), output: $out (want one line with: $want)"
        fails=$((fails + 1))
    else
        echo "ok: $name: $out"
    fi
}
# with KEY=VALUE...: $T/h3dpd.conf from the shipped file with these keys set.
with() {
    h3dp_conf_unique "$CONF_IN" dataplane.io=kernel "$@"
}

mkfifo "$T/fifo"
truncate -s 1G "$T/big"
printf 'not a certificate\n' >"$T/junk.pem"
sed '2s/./#/' "$CERTS/ca.pem" >"$T/broken.pem" # one base64 character spoilt
printf 'authorization: Bearer x\n' >"$T/headers"
printf 'no colon here\n' >"$T/headers.bad"
chmod 0600 "$T/headers" "$T/headers.bad"

# The configuration file itself.
check "config /dev/zero" 2 "/dev/zero: not a regular file (a character device)" /dev/zero
check "config FIFO" 2 "not a regular file (a FIFO)" "$T/fifo"
check "config directory" 2 "not a regular file (a directory)" "$T"
check "config 1 GiB" 2 "larger than 1048576 bytes" "$T/big"

with
check "shipped config" 0 "configuration OK" "$T/h3dpd.conf"

# Every key naming a file the daemon reads: not a regular file, or too big.
for key in tls.ca_file tls.cert_file tls.key_file upload.headers_file; do
    with "$key=/dev/zero"
    check "$key /dev/zero" 2 "not a regular file (a character device)" "$T/h3dpd.conf"
    with "$key=$T/fifo"
    check "$key FIFO" 2 "not a regular file (a FIFO)" "$T/h3dpd.conf"
    with "$key=$T"
    check "$key directory" 2 "not a regular file (a directory)" "$T/h3dpd.conf"
    with "$key=$T/big"
    check "$key 1 GiB" 2 "larger than" "$T/h3dpd.conf"
done

# Regular files that do not parse.
with "tls.ca_file=$T/junk.pem"
check "ca_file not PEM" 2 "trust store $T/junk.pem: no certificates" "$T/h3dpd.conf"
with "tls.ca_file=$T/broken.pem"
check "ca_file broken PEM" 2 "trust store $T/broken.pem:" "$T/h3dpd.conf"
with "tls.ca_file=$CERTS/ca.pem"
check "ca_file good" 0 "configuration OK" "$T/h3dpd.conf"
with "tls.ca_file=$CERTS/ca.pem" "tls.cert_file=$T/junk.pem" "tls.key_file=$CERTS/client-key.pem"
check "cert_file not PEM" 2 "client certificate $T/junk.pem with key" "$T/h3dpd.conf"
with "tls.ca_file=$CERTS/ca.pem" "tls.cert_file=$CERTS/client.pem" "tls.key_file=$T/junk.pem"
check "key_file not PEM" 2 "with key $T/junk.pem:" "$T/h3dpd.conf"
with "tls.ca_file=$CERTS/ca.pem" "tls.cert_file=$CERTS/client.pem" "tls.key_file=$CERTS/server-key.pem"
check "key_file mismatch" 2 "the key does not match the certificate" "$T/h3dpd.conf"
with "tls.ca_file=$CERTS/ca.pem" "tls.cert_file=$CERTS/client.pem" "tls.key_file=$CERTS/client-key.pem"
check "client certificate good" 0 "configuration OK" "$T/h3dpd.conf"
with "upload.headers_file=$T/headers.bad"
check "headers_file does not parse" 2 "[upload] headers_file: $T/headers.bad:1:" "$T/h3dpd.conf"
with "upload.headers_file=$T/headers"
check "headers_file good" 0 "configuration OK" "$T/h3dpd.conf"

if [ "$fails" != 0 ]; then
    echo "check_config: $fails failed"
    exit 1
fi
echo "check_config: all passed"
