/*
 * sink_records.h: splitting an upload's decoded body into records, as the client
 * says it framed them (h3sink; the rules are in tools/h3sink/README.md).
 *
 * A client sends `h3dp-framing: newline | length | none` next to
 * `h3dp-records: N`. The body, once its content coding is removed, is:
 *   newline  records of one or more bytes, each followed by '\n' (a record holds
 *            no '\n'). The body is exactly the records with their '\n's: an empty
 *            line, or bytes after the last '\n', is a framing error.
 *   length   records, each a 4-byte big-endian length L followed by L bytes
 *            (L = 0 is an empty record). A body that ends inside a length or a
 *            record is a framing error.
 *   none     records that cannot be split: counted by h3dp-records alone.
 * A framed upload must carry exactly one h3dp-records, a plain decimal count (at
 * most 15 digits), and the split count must equal it. Requests without
 * h3dp-framing are not split (the header count is taken as it is).
 *
 * The splitter is streaming: pieces of any size, a length prefix may straddle
 * pieces, and it keeps a few counters, never the body. An all-zero struct
 * sink_rec is a fresh one. No I/O, no allocation, except the optional spool
 * (sink_rec_keep/commit/drop) for h3sink's --records-out.
 */
#ifndef H3SINK_SINK_RECORDS_H
#define H3SINK_SINK_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sink_framing {
    SINK_FRAMING_ABSENT = 0, /* no h3dp-framing */
    SINK_FRAMING_NONE = 1,
    SINK_FRAMING_NEWLINE = 2,
    SINK_FRAMING_LENGTH = 3,
    SINK_FRAMING_INVALID = 4 /* another value, or more than one field line */
};

/* The framings counted in struct sink_rec_stats: index = framing - 1. */
#define SINK_FRAMING_KINDS 3

/* The 4-byte length prefix of length framing. */
#define SINK_REC_PREFIX_LEN 4
/* Digits of an h3dp-records value (as an RFC 8941 integer). */
#define SINK_REC_COUNT_DIGITS 15

enum sink_rec_err {
    SINK_REC_OK = 0,
    SINK_REC_EMPTY,        /* newline: '\n' with no record before it */
    SINK_REC_UNTERMINATED, /* newline: bytes after the last '\n' */
    SINK_REC_TRUNC_PREFIX, /* length: the body ends inside a length prefix */
    SINK_REC_TRUNC_RECORD  /* length: the body ends inside a record */
};

enum sink_rec_count {
    SINK_COUNT_ABSENT = 0,
    SINK_COUNT_OK = 1,
    SINK_COUNT_BAD = 2 /* not a plain decimal, too long, or repeated */
};

struct sink_rec {
    uint8_t framing; /* enum sink_framing */
    uint8_t count;   /* enum sink_rec_count of h3dp-records */
    uint8_t err;     /* enum sink_rec_err: the first framing error, then sticky */
    uint8_t npre;    /* length: prefix bytes held in pre[] */
    uint8_t pre[SINK_REC_PREFIX_LEN];
    uint8_t spool_failed; /* --records-out: a write to the spool failed */
    uint64_t expect;      /* h3dp-records, when count is SINK_COUNT_OK */
    uint64_t found;       /* complete records so far */
    uint64_t off;         /* decoded bytes fed */
    uint64_t cur;         /* newline: bytes of the unfinished record;
                             length: bytes of the current record still to come */
    uint64_t rec_len;     /* length: the current record's length */
    uint64_t err_off;     /* decoded offset the error refers to */
    FILE *spool;          /* --records-out: this upload's records until it is answered */
};

/* Totals, part of struct sink_stats. "Accepted" is answered 2xx, as `records`. */
struct sink_rec_stats {
    uint64_t records_framed; /* records split from accepted uploads (newline, length) */
    uint64_t mismatch;       /* uploads answered 400 for their framing */
    uint64_t uploads[SINK_FRAMING_KINDS]; /* accepted uploads by framing (none, newline, length) */
    uint64_t records[SINK_FRAMING_KINDS]; /* their records: split, or h3dp-records for none */
    uint64_t out_errors; /* --records-out: accepted uploads whose records were not written */
};

/* The h3dp-framing value |v| (|len| bytes): a case-insensitive token with optional
 * surrounding whitespace. Returns SINK_FRAMING_NONE, _NEWLINE, _LENGTH or _INVALID. */
int sink_framing_parse(const char *v, size_t len);

/* "none", "newline", "length" for those framings, else "". */
const char *sink_framing_name(int framing);

/* A strict h3dp-records value: 1 to SINK_REC_COUNT_DIGITS decimal digits, optional
 * surrounding whitespace. Returns 0 with *n set, or -1. */
int sink_rec_count_parse(const char *v, size_t len, uint64_t *n);

/* Note one request field line: h3dp-framing and h3dp-records (lowercase |name|, as
 * HTTP/3 has them) are taken, a second line of either is invalid; others ignored. */
void sink_rec_header(struct sink_rec *r, const char *name, size_t nlen, const char *v, size_t vlen);

/* Split the next |len| decoded body bytes. Does nothing without a splitting
 * framing (newline, length) or after an error. */
void sink_rec_feed(struct sink_rec *r, const uint8_t *p, size_t len);

/* The body ended: a record or length prefix left unfinished is an error. */
void sink_rec_end(struct sink_rec *r);

/* 1 with *n = the records split when the framing splits (newline, length), else 0. */
int sink_rec_split(const struct sink_rec *r, uint64_t *n);

/* After sink_rec_end, for an upload whose body decoded: 0 when it has no
 * h3dp-framing or its framing holds, else -1 with the reason in |why| (|cap|
 * bytes, "framing: ..."), when the framing is invalid, h3dp-records is missing or
 * bad, the body does not split, or the split count differs from h3dp-records. */
int sink_rec_verdict(const struct sink_rec *r, char *why, size_t cap);

/* An accepted upload: count it in |st| (nothing without h3dp-framing). */
void sink_rec_count(struct sink_rec_stats *st, const struct sink_rec *r);

/* --records-out: keep the next |len| decoded bytes of a newline-framed upload in
 * the spool (a temporary file made on the first byte). Bytes after a framing
 * error are not kept (the upload will be refused). A failure is remembered. */
void sink_rec_keep(struct sink_rec *r, const uint8_t *p, size_t len);

/* The upload was accepted: append its spooled records to |out| (flushed) and drop
 * the spool. Returns 0, or -1 when they could not all be kept or written. A
 * newline-framed upload without records writes nothing and returns 0. */
int sink_rec_commit(struct sink_rec *r, FILE *out);

/* Drop the spool, if any (refused or cancelled upload). */
void sink_rec_drop(struct sink_rec *r);

#endif /* H3SINK_SINK_RECORDS_H */
