/*
 * sink_gzip.h: a streaming decoder for the "gzip" content coding (RFC 9110
 * §8.4.1.3, RFC 1952) on zlib, for h3sink's request bodies.
 *
 * Bodies arrive in pieces of any size; the decoded bytes are handed to a callback
 * in pieces no larger than the caller's scratch buffer, and nothing else is kept:
 * a decoder holds zlib's state and its 32 KiB window (about 40 KiB in all),
 * whatever the body's size. zlib checks every member's CRC-32 and ISIZE.
 *
 * What a body may be: one or more complete gzip members, back to back (RFC 1952
 * §2.2: "a gzip file consists of a series of members"; gzip -d reads them all).
 * Anything after the last complete member that is not the start of another member
 * (zero padding, junk) is an error, as is a body that ends inside a member. An
 * empty body holds no member: the caller decides (h3sink answers 400, as it does
 * for a zstd body without a frame).
 */
#ifndef H3SINK_SINK_GZIP_H
#define H3SINK_SINK_GZIP_H

#include <stddef.h>
#include <stdint.h>

struct sink_gz;

enum sink_gz_result {
    SINK_GZ_OK = 0,       /* so far so good */
    SINK_GZ_CORRUPT = -1, /* not gzip, a bad member, trailing data, or cut short */
    SINK_GZ_NOMEM = -2    /* zlib could not get memory */
};

/* Receives |len| (> 0) decoded bytes at |p|, valid during the call only. */
typedef void sink_gz_out_fn(void *arg, const uint8_t *p, size_t len);

/* Make a decoder. Returns SINK_GZ_OK with *out set, or SINK_GZ_NOMEM. */
int sink_gz_new(struct sink_gz **out);

/* Free |g| (NULL is fine). */
void sink_gz_free(struct sink_gz *g);

/* Decode the next |len| bytes of the body, calling |out| with the decoded bytes,
 * which go through |scratch| (|cap| > 0 bytes). Returns SINK_GZ_OK, or an error
 * that stays: later calls do nothing and return it again. */
int sink_gz_feed(struct sink_gz *g, const uint8_t *in, size_t len, uint8_t *scratch, size_t cap,
                 sink_gz_out_fn *out, void *arg);

/* The body has ended: SINK_GZ_OK when it ended right after a complete member,
 * else the error (a member cut short is SINK_GZ_CORRUPT). */
int sink_gz_finish(struct sink_gz *g);

/* A static text saying why the decoder failed ("" while it has not): zlib's
 * message, or "truncated gzip member", "truncated gzip header", "no gzip member",
 * "trailing data after the last gzip member", "out of memory". */
const char *sink_gz_error(const struct sink_gz *g);

/* Complete members decoded so far. */
uint64_t sink_gz_members(const struct sink_gz *g);

#endif /* H3SINK_SINK_GZIP_H */
