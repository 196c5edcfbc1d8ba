/*
 * sink_http.h: pure HTTP helpers of h3sink (no I/O, no allocation), unit tested.
 *
 * The digest header is `content-digest` (RFC 9530 §2), a Structured Fields
 * dictionary (RFC 8941 §3.2) of algorithm = byte sequence. h3sink verifies the
 * `sha-256` member; other algorithms are ignored. The /bytes/N body pattern is
 * byte i = i % SINK_PATTERN_MOD, so any client can check it byte for byte.
 * `content-encoding` (RFC 9110 §8.4) is reduced to the one coding h3sink
 * decodes, "zstd" (RFC 8878 §7.2) or "gzip" (RFC 9110 §8.4.1.3, also spelled
 * "x-gzip"), or "unsupported".
 */
#ifndef H3SINK_SINK_HTTP_H
#define H3SINK_SINK_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Length of a SHA-256 digest (RFC 6234). */
#define SINK_SHA256_LEN 32
/* The /bytes/N body: byte i is i % SINK_PATTERN_MOD (a prime, so the pattern
 * never lines up with power-of-two packet or buffer sizes). */
#define SINK_PATTERN_MOD 251

enum sink_digest_parse {
    SINK_DIGEST_ABSENT = 0,    /* no sha-256 member: nothing to verify */
    SINK_DIGEST_SHA256 = 1,    /* *out holds the expected SHA-256 */
    SINK_DIGEST_MALFORMED = -1 /* the field value is not a valid dictionary */
};

enum sink_coding {
    SINK_CODING_IDENTITY = 0,    /* no coding (absent, empty or only "identity") */
    SINK_CODING_ZSTD = 1,        /* exactly one "zstd" coding */
    SINK_CODING_UNSUPPORTED = 2, /* any other coding, or more than one */
    SINK_CODING_GZIP = 3         /* exactly one "gzip" (or "x-gzip") coding */
};

/* The codings h3sink decodes, as its 415 answers list them (RFC 9110 §12.5.3). */
#define SINK_ACCEPT_ENCODING "gzip, zstd"

/* Fold one content-encoding field line |v| of |len| bytes into |prev|, the
 * result of the message's earlier content-encoding lines (SINK_CODING_IDENTITY
 * before the first): several lines are one comma-separated list (RFC 9110
 * §5.3). Codings are case-insensitive tokens (RFC 9110 §8.4.1); "identity" and
 * empty list elements are ignored. Returns one of enum sink_coding. */
int sink_coding_parse(const char *v, size_t len, int prev);

/* Parse a content-digest field value |v| of |len| bytes and extract the sha-256
 * member into |out| (SINK_SHA256_LEN bytes). Returns one of enum
 * sink_digest_parse. A sha-256 member whose value is not a byte sequence
 * (":base64:") of exactly 32 bytes is MALFORMED, as is any syntax error. */
int sink_digest_parse(const char *v, size_t len, uint8_t out[SINK_SHA256_LEN]);

/* Parse a request path of the form "/bytes/N" (decimal N, optional "?query").
 * Returns 1 and sets *n when |path| is such a path with 0 <= N <= |max|,
 * 0 when |path| does not start with "/bytes/" (not a /bytes request),
 * -1 when it does but N is empty, not decimal, or above |max|. */
int sink_bytes_path(const char *path, size_t len, uint64_t max, uint64_t *n);

/* Byte |i| of the /bytes/N body. */
static inline uint8_t sink_pattern_byte(uint64_t i)
{
    return (uint8_t)(i % SINK_PATTERN_MOD);
}

/* A read-only buffer holding the pattern from byte 0 for at least
 * SINK_PATTERN_MOD + |*len| bytes; body data at offset o starts at
 * buf + (o % SINK_PATTERN_MOD). Sets *len to the usable run length. */
const uint8_t *sink_pattern_buf(size_t *len);

/* Check |len| bytes at |p| against the pattern starting at body offset |off|.
 * Returns the index of the first wrong byte, or |len| when all match. */
size_t sink_pattern_check(const uint8_t *p, size_t len, uint64_t off);

/* Write the JSON receipt of an upload into |out| (|cap| bytes):
 * {"bytes":N,"decoded":D,"records":R,"digest":"<word>"} plus ,"error":"<error>"
 * when |error| is not NULL; "records" only when |records| >= 0. |bytes|: content
 * bytes received (as sent, before decoding); |decoded|: bytes after removing the
 * content coding; |records|: the records split from the decoded body (-1: not
 * split). Characters of |error| that would need escaping in a JSON string (quote,
 * backslash, controls, non-ASCII) are written as '?'. Returns the length, or -1
 * if |cap| is too small. */
int sink_receipt(char *out, size_t cap, uint64_t bytes, uint64_t decoded, int64_t records,
                 const char *digest_word, const char *error);

#endif /* H3SINK_SINK_HTTP_H */
