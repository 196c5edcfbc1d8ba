#!/usr/bin/env python3
"""Compares the records a producer sent with the records a collector wrote out.

usage: records_compare.py SENT OUT FRAMING DUPLICATES

SENT: the producer's --out file (each record after its 4-byte big-endian length).
OUT: h3sink's --records-out file: lines (FRAMING newline) or length-framed records
(FRAMING length), the decoded content of every accepted upload.
DUPLICATES: the records h3sink reported as repeats of a batch it had accepted
(records_dup): at-least-once delivery may send a batch twice, nothing else may differ.

Passes (exit 0) when every record sent came out byte for byte, nothing came out that was
not sent, and the extra copies are exactly the reported duplicates. Prints one line.
"""
import collections
import struct
import sys


def length_records(data, what):
    recs, off = [], 0
    while off < len(data):
        if off + 4 > len(data):
            sys.exit("%s: truncated length prefix at byte %d" % (what, off))
        (n,) = struct.unpack(">I", data[off:off + 4])
        if off + 4 + n > len(data):
            sys.exit("%s: truncated record at byte %d" % (what, off))
        recs.append(data[off + 4:off + 4 + n])
        off += 4 + n
    return recs


def main():
    sent_path, out_path, framing, dups = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(sent_path, "rb") as f:
        sent = length_records(f.read(), "sent")
    with open(out_path, "rb") as f:
        data = f.read()
    if framing == "newline":
        if data and not data.endswith(b"\n"):
            sys.exit("out: does not end with a newline")
        out = [line + b"\n" for line in data.split(b"\n")[:-1]]
    elif framing == "length":
        out = length_records(data, "out")
    else:
        sys.exit("framing must be newline or length")
    cs, co = collections.Counter(sent), collections.Counter(out)
    missing = cs - co
    foreign = [r for r in co if r not in cs]
    extra = sum((co - cs).values())
    if missing:
        sys.exit("%d record(s) sent never came out, e.g. %r" %
                 (sum(missing.values()), next(iter(missing))[:80]))
    if foreign:
        sys.exit("%d record(s) came out that were never sent, e.g. %r" %
                 (len(foreign), foreign[0][:80]))
    if extra != dups:
        sys.exit("%d extra copies came out, h3sink reported %d duplicates" % (extra, dups))
    print("records: %d sent, %d out (%d duplicates), byte for byte, %d bytes" %
          (len(sent), len(out), extra, sum(len(r) for r in sent)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
