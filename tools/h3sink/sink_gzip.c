/* sink_gzip.c: the streaming gzip decoder of h3sink (see sink_gzip.h). */
#include "sink_gzip.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* windowBits for inflateInit2: the largest window (32 KiB), and 16 to read the
 * gzip wrapper (header, CRC-32, ISIZE) and nothing else: a zlib or raw deflate
 * stream is not "gzip". */
#define GZ_WINDOW_BITS (16 + MAX_WBITS)

struct sink_gz {
    z_stream z;
    gz_header head; /* head.done: 1 once the current member's header is read,
                       -1 when it is not a gzip header */
    int result;     /* enum sink_gz_result; sticky once an error */
    int in_member;  /* bytes of a member seen, but not its end */
    int boundary;   /* a member just ended: reset before the next byte */
    uint64_t members;
    const char *err; /* static text; NULL while all is well */
};

int sink_gz_new(struct sink_gz **out)
{
    struct sink_gz *g = calloc(1, sizeof(*g));

    *out = NULL;
    if (g == NULL)
        return SINK_GZ_NOMEM;
    /* zalloc/zfree/opaque zero: zlib's malloc and free. */
    if (inflateInit2(&g->z, GZ_WINDOW_BITS) != Z_OK) {
        free(g);
        return SINK_GZ_NOMEM;
    }
    /* No buffers for extra, name and comment: zlib skips them. */
    inflateGetHeader(&g->z, &g->head);
    *out = g;
    return SINK_GZ_OK;
}

void sink_gz_free(struct sink_gz *g)
{
    if (g == NULL)
        return;
    inflateEnd(&g->z);
    free(g);
}

/* |what| is a static text (zlib's messages are). */
static int gz_fail(struct sink_gz *g, int result, const char *what)
{
    /* Bytes after a complete member that do not make a member header are not
     * gzip data at all (zero padding, junk). */
    if (result == SINK_GZ_CORRUPT && g->members > 0 && g->head.done != 1)
        what = "trailing data after the last gzip member";
    g->err = what;
    g->result = result;
    return result;
}

/* Feed |len| <= UINT_MAX bytes. */
static int gz_feed(struct sink_gz *g, const uint8_t *in, size_t len, uint8_t *scratch, size_t cap,
                   sink_gz_out_fn *out, void *arg)
{
    int full = 0; /* the last call filled the scratch buffer: zlib may hold more */

    g->z.next_in = (Bytef *)(uintptr_t)in;
    g->z.avail_in = (uInt)len;
    while (g->z.avail_in > 0 || full) {
        size_t n;
        int r;

        if (g->boundary) {
            /* Another member follows (RFC 1952 §2.2). */
            if (inflateReset(&g->z) != Z_OK)
                return gz_fail(g, SINK_GZ_CORRUPT, "inflateReset failed");
            inflateGetHeader(&g->z, &g->head);
            g->boundary = 0;
        }
        if (g->z.avail_in > 0)
            g->in_member = 1;
        g->z.next_out = scratch;
        g->z.avail_out = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
        n = g->z.avail_out;
        r = inflate(&g->z, Z_NO_FLUSH);
        n -= g->z.avail_out;
        full = g->z.avail_out == 0;
        if (n > 0)
            out(arg, scratch, n);
        switch (r) {
        case Z_OK:
            continue;
        case Z_STREAM_END:
            /* zlib has checked the member's CRC-32 and ISIZE. */
            g->members++;
            g->in_member = 0;
            g->boundary = 1;
            full = 0;
            if (g->z.avail_in == 0)
                return SINK_GZ_OK;
            continue;
        case Z_BUF_ERROR:
            /* No progress possible: everything given was taken, more is needed. */
            return SINK_GZ_OK;
        case Z_MEM_ERROR:
            return gz_fail(g, SINK_GZ_NOMEM, "out of memory");
        case Z_NEED_DICT:
            return gz_fail(g, SINK_GZ_CORRUPT, "preset dictionary needed");
        default: /* Z_DATA_ERROR, Z_STREAM_ERROR */
            return gz_fail(g, SINK_GZ_CORRUPT, g->z.msg != NULL ? g->z.msg : "invalid data");
        }
    }
    return SINK_GZ_OK;
}

int sink_gz_feed(struct sink_gz *g, const uint8_t *in, size_t len, uint8_t *scratch, size_t cap,
                 sink_gz_out_fn *out, void *arg)
{
    if (g->result != SINK_GZ_OK)
        return g->result;
    if (cap == 0)
        return gz_fail(g, SINK_GZ_NOMEM, "no output buffer");
    while (len > 0) {
        size_t n = len > UINT_MAX ? UINT_MAX : len;
        int r = gz_feed(g, in, n, scratch, cap, out, arg);
        if (r != SINK_GZ_OK)
            return r;
        in += n;
        len -= n;
    }
    return SINK_GZ_OK;
}

int sink_gz_finish(struct sink_gz *g)
{
    if (g->result != SINK_GZ_OK)
        return g->result;
    if (g->in_member)
        return gz_fail(g, SINK_GZ_CORRUPT,
                       g->head.done == 1 ? "truncated gzip member" : "truncated gzip header");
    if (g->members == 0)
        return gz_fail(g, SINK_GZ_CORRUPT, "no gzip member");
    return SINK_GZ_OK;
}

const char *sink_gz_error(const struct sink_gz *g)
{
    return g->err != NULL ? g->err : "";
}

uint64_t sink_gz_members(const struct sink_gz *g)
{
    return g->members;
}
