/* Unit tests of h3sink's streaming gzip decoder (tools/h3sink/sink_gzip.c): good
 * bodies fed in many piece sizes and through small scratch buffers, optional
 * header fields, empty content, concatenated members (split at every byte),
 * corrupt data, checksums and lengths, truncation at every length, trailing data
 * after a member, an empty body, and that an error stays. Bodies are made here
 * with zlib's deflate, independently of the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "sink_gzip.h"

#define SCRATCH_MAX (16 * 1024)

/* What the decoder gave: checked against the expected content as it comes. */
struct got {
    const uint8_t *want;
    size_t want_len;
    size_t off;      /* decoded bytes so far */
    size_t max_call; /* the largest piece handed out */
    int wrong;       /* a byte differs, or more bytes than expected */
};

static void on_out(void *arg, const uint8_t *p, size_t len)
{
    struct got *g = arg;
    assert_true(len > 0);
    if (len > g->max_call)
        g->max_call = len;
    /* No expected content: only counted. */
    if (g->want != NULL && (g->off + len > g->want_len || memcmp(g->want + g->off, p, len) != 0))
        g->wrong = 1;
    g->off += len;
}

/* gzip |len| bytes of |in| (one member) at |level|; *out_len gets the size. With
 * |head| the member carries those optional header fields (RFC 1952 §2.3.1). */
static uint8_t *gzip_of(const uint8_t *in, size_t len, int level, gz_header *head, size_t *out_len)
{
    z_stream z;
    size_t cap = len + len / 100 + 1024;
    uint8_t *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    if (head != NULL)
        assert_int_equal(deflateSetHeader(&z, head), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* |len| bytes that compress to about half (16 symbols from an LCG). */
static uint8_t *text(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len + 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)('a' + (seed >> 28));
    }
    return b;
}

/* Decode |body| in pieces of |piece| bytes through a |cap|-byte scratch buffer.
 * Returns the result of the last feed, or of finish when all feeds went well. */
static int decode(const uint8_t *body, size_t len, size_t piece, size_t cap, struct got *g,
                  struct sink_gz **keep)
{
    static uint8_t scratch[SCRATCH_MAX];
    struct sink_gz *gz;
    int r = SINK_GZ_OK;

    assert_true(cap <= sizeof(scratch));
    assert_int_equal(sink_gz_new(&gz), SINK_GZ_OK);
    for (size_t o = 0; o < len && r == SINK_GZ_OK; o += piece)
        r = sink_gz_feed(gz, body + o, len - o < piece ? len - o : piece, scratch, cap, on_out, g);
    if (r == SINK_GZ_OK)
        r = sink_gz_finish(gz);
    if (keep != NULL)
        *keep = gz;
    else
        sink_gz_free(gz);
    return r;
}

static void test_good_pieces(void **state)
{
    static const size_t pieces[] = {1, 2, 3, 7, 13, 64, 1000, 1452, 4096, 65536, SIZE_MAX};
    static const size_t caps[] = {1, 7, 4096, SCRATCH_MAX};
    const size_t len = 300000;
    uint8_t *plain = text(len, 3), *z;
    size_t zlen;
    (void)state;

    z = gzip_of(plain, len, 6, NULL, &zlen);
    assert_true(zlen < len);
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
            struct got g = {plain, len, 0, 0, 0};
            struct sink_gz *gz;
            /* Byte-at-a-time through a 1-byte buffer is slow and adds nothing. */
            if (caps[c] == 1 && pieces[p] < 1000)
                continue;
            if (decode(z, zlen, pieces[p], caps[c], &g, &gz) != SINK_GZ_OK)
                fail_msg("piece %zu cap %zu: %s", pieces[p], caps[c], sink_gz_error(gz));
            assert_int_equal(g.off, len);
            assert_false(g.wrong);
            assert_true(g.max_call <= caps[c]);
            assert_int_equal(sink_gz_members(gz), 1);
            assert_string_equal(sink_gz_error(gz), "");
            sink_gz_free(gz);
        }
    }
    free(z);
    free(plain);
}

/* Content that is an exact multiple of the scratch buffer, and highly compressible
 * content (16 MiB of zeros in about 16 KiB): the output is drained fully. */
static void test_full_buffers(void **state)
{
    const size_t len = 4 * SCRATCH_MAX, zeros = 16 << 20;
    uint8_t *plain = text(len, 9), *z, *nul = calloc(zeros, 1);
    size_t zlen;
    struct got g = {plain, len, 0, 0, 0};
    (void)state;

    z = gzip_of(plain, len, 1, NULL, &zlen);
    assert_int_equal(decode(z, zlen, zlen, SCRATCH_MAX, &g, NULL), SINK_GZ_OK);
    assert_int_equal(g.off, len);
    assert_false(g.wrong);
    free(z);

    assert_non_null(nul);
    z = gzip_of(nul, zeros, 9, NULL, &zlen);
    assert_true(zlen < zeros / 500);
    g = (struct got){nul, zeros, 0, 0, 0};
    assert_int_equal(decode(z, zlen, 1000, SCRATCH_MAX, &g, NULL), SINK_GZ_OK);
    assert_int_equal(g.off, zeros);
    assert_false(g.wrong);
    free(z);
    free(nul);
    free(plain);
}

/* FEXTRA, FNAME, FCOMMENT and FHCRC are read and skipped; a member of empty
 * content decodes to nothing. */
static void test_header_fields_and_empty_content(void **state)
{
    static uint8_t extra[] = {'h', '3', 4, 0, 1, 2, 3, 4};
    gz_header head;
    uint8_t *plain = text(5000, 5), *z;
    size_t zlen;
    struct got g = {plain, 5000, 0, 0, 0};
    struct sink_gz *gz;
    (void)state;

    memset(&head, 0, sizeof(head));
    head.text = 1;
    head.time = 1700000000;
    head.os = 3;
    head.extra = extra;
    head.extra_len = sizeof(extra);
    head.name = (Bytef *)"records.jsonl";
    head.comment = (Bytef *)"h3dp test";
    head.hcrc = 1;
    z = gzip_of(plain, 5000, 6, &head, &zlen);
    for (size_t piece = 1; piece <= 7; piece++) {
        g.off = 0;
        assert_int_equal(decode(z, zlen, piece, SCRATCH_MAX, &g, NULL), SINK_GZ_OK);
        assert_int_equal(g.off, 5000);
        assert_false(g.wrong);
    }
    /* A corrupt header CRC (FHCRC) is caught. */
    z[10 + 2 + sizeof(extra) + strlen("records.jsonl") + 1 + strlen("h3dp test") + 1] ^= 1;
    g.off = 0;
    assert_int_equal(decode(z, zlen, zlen, SCRATCH_MAX, &g, &gz), SINK_GZ_CORRUPT);
    assert_string_equal(sink_gz_error(gz), "header crc mismatch");
    sink_gz_free(gz);
    free(z);

    z = gzip_of(plain, 0, 6, NULL, &zlen);
    g = (struct got){plain, 0, 0, 0, 0};
    assert_int_equal(decode(z, zlen, 3, SCRATCH_MAX, &g, &gz), SINK_GZ_OK);
    assert_int_equal(g.off, 0);
    assert_int_equal(sink_gz_members(gz), 1);
    sink_gz_free(gz);
    free(z);
    free(plain);
}

/* Members back to back are one body (RFC 1952 §2.2), split anywhere. */
static void test_concatenated(void **state)
{
    const size_t la = 700, lb = 1300;
    uint8_t *plain = text(la + lb, 17), *za, *zb, *zc, *body;
    size_t a, b, c, len;
    (void)state;

    za = gzip_of(plain, la, 6, NULL, &a);
    zb = gzip_of(plain + la, lb, 1, NULL, &b);
    zc = gzip_of(plain, 0, 6, NULL, &c); /* an empty member between them */
    len = a + c + b;
    body = malloc(len);
    assert_non_null(body);
    memcpy(body, za, a);
    memcpy(body + a, zc, c);
    memcpy(body + a + c, zb, b);
    for (size_t split = 0; split <= len; split++) {
        static uint8_t scratch[512];
        struct got g = {plain, la + lb, 0, 0, 0};
        struct sink_gz *gz;
        assert_int_equal(sink_gz_new(&gz), SINK_GZ_OK);
        assert_int_equal(sink_gz_feed(gz, body, split, scratch, sizeof(scratch), on_out, &g),
                         SINK_GZ_OK);
        assert_int_equal(
            sink_gz_feed(gz, body + split, len - split, scratch, sizeof(scratch), on_out, &g),
            SINK_GZ_OK);
        assert_int_equal(sink_gz_finish(gz), SINK_GZ_OK);
        assert_int_equal(g.off, la + lb);
        assert_false(g.wrong);
        assert_int_equal(sink_gz_members(gz), 3);
        sink_gz_free(gz);
    }
    /* Byte by byte as well. */
    struct got g = {plain, la + lb, 0, 0, 0};
    assert_int_equal(decode(body, len, 1, 64, &g, NULL), SINK_GZ_OK);
    assert_int_equal(g.off, la + lb);
    free(za), free(zb), free(zc), free(body), free(plain);
}

/* Every proper prefix of a member is an error: inside the header, the deflate
 * data or the trailer; a body cut right after a member is not. */
static void test_truncated(void **state)
{
    const size_t len = 3000;
    uint8_t *plain = text(len, 21), *z;
    size_t zlen;
    (void)state;

    z = gzip_of(plain, len, 6, NULL, &zlen);
    for (size_t cut = 1; cut < zlen; cut++) {
        struct got g = {plain, len, 0, 0, 0};
        struct sink_gz *gz;
        int r = decode(z, cut, cut % 5 + 1, SCRATCH_MAX, &g, &gz);
        if (r != SINK_GZ_CORRUPT)
            fail_msg("a body cut at %zu of %zu bytes was taken", cut, zlen);
        assert_false(g.wrong); /* what came out was right, only incomplete */
        assert_string_equal(sink_gz_error(gz),
                            cut < 10 ? "truncated gzip header" : "truncated gzip member");
        assert_int_equal(sink_gz_members(gz), 0);
        sink_gz_free(gz);
    }
    free(z);
    free(plain);
}

static void expect_corrupt(const uint8_t *body, size_t len, const char *why)
{
    static uint8_t scratch[SCRATCH_MAX];
    struct got g = {NULL, 0, 0, 0, 0};
    struct sink_gz *gz;
    int r;

    /* Whole, and in small pieces. */
    for (size_t piece = len; piece >= 1; piece = piece > 3 ? 3 : piece - 1) {
        g.off = 0;
        assert_int_equal(sink_gz_new(&gz), SINK_GZ_OK);
        r = SINK_GZ_OK;
        for (size_t o = 0; o < len && r == SINK_GZ_OK; o += piece)
            r = sink_gz_feed(gz, body + o, len - o < piece ? len - o : piece, scratch,
                             sizeof(scratch), on_out, &g);
        if (r == SINK_GZ_OK)
            r = sink_gz_finish(gz);
        if (r != SINK_GZ_CORRUPT || strcmp(sink_gz_error(gz), why) != 0)
            fail_msg("piece %zu: %d '%s', expected '%s'", piece, r, sink_gz_error(gz), why);
        /* The error stays. */
        assert_int_equal(sink_gz_feed(gz, body, len, scratch, sizeof(scratch), on_out, &g),
                         SINK_GZ_CORRUPT);
        assert_int_equal(sink_gz_finish(gz), SINK_GZ_CORRUPT);
        assert_string_equal(sink_gz_error(gz), why);
        sink_gz_free(gz);
        if (piece == 1)
            break;
    }
}

static void test_corrupt(void **state)
{
    const size_t len = 50000;
    uint8_t *plain = text(len, 33), *z, *bad;
    size_t zlen;
    z_stream zz;
    uint8_t zlib_wrapped[128];
    (void)state;

    z = gzip_of(plain, len, 6, NULL, &zlen);
    bad = malloc(zlen + 8);
    assert_non_null(bad);

    memcpy(bad, z, zlen);
    bad[0] ^= 0xff; /* ID1 */
    expect_corrupt(bad, zlen, "incorrect header check");
    memcpy(bad, z, zlen);
    bad[2] = 7; /* CM: only 8 (deflate) exists */
    expect_corrupt(bad, zlen, "unknown compression method");
    memcpy(bad, z, zlen);
    bad[3] = 0xe0; /* reserved FLG bits */
    expect_corrupt(bad, zlen, "unknown header flags set");
    memcpy(bad, z, zlen);
    bad[zlen - 8] ^= 1; /* CRC32 */
    expect_corrupt(bad, zlen, "incorrect data check");
    memcpy(bad, z, zlen);
    bad[zlen - 1] ^= 1; /* ISIZE */
    expect_corrupt(bad, zlen, "incorrect length check");
    /* Junk in the middle of the deflate data: some error from inflate, or the CRC. */
    memcpy(bad, z, zlen);
    for (size_t i = 0; i < 64; i++)
        bad[zlen / 2 + i] ^= 0xa5;
    {
        struct got g = {plain, len, 0, 0, 0};
        assert_int_equal(decode(bad, zlen, 1000, SCRATCH_MAX, &g, NULL), SINK_GZ_CORRUPT);
    }

    /* A zlib stream (RFC 1950) is not gzip. */
    memset(&zz, 0, sizeof(zz));
    assert_int_equal(deflateInit(&zz, 6), Z_OK);
    zz.next_in = (Bytef *)"hello";
    zz.avail_in = 5;
    zz.next_out = zlib_wrapped;
    zz.avail_out = sizeof(zlib_wrapped);
    assert_int_equal(deflate(&zz, Z_FINISH), Z_STREAM_END);
    expect_corrupt(zlib_wrapped, sizeof(zlib_wrapped) - zz.avail_out, "incorrect header check");
    deflateEnd(&zz);
    free(bad);
    free(z);
    free(plain);
}

/* After a complete member only another member may follow: zero padding, junk or
 * half a header is "trailing data", whatever the pieces. */
static void test_trailing(void **state)
{
    static const struct {
        const char *tail;
        size_t len;
    } tails[] = {
        {"\0", 1},
        {"\0\0\0\0", 4},
        {"junk", 4},
        {"\x1f", 1},
        {"\x1f\x8b", 2},
        {"\x1f\x8b\x08\x00", 4},
        {"\x1f\x8b\x07\x00\0\0\0\0\0\3", 10},
        {"\n", 1},
    };
    uint8_t *plain = text(2000, 41), *z, *body;
    size_t zlen;
    (void)state;

    z = gzip_of(plain, 2000, 6, NULL, &zlen);
    body = malloc(zlen + 16);
    assert_non_null(body);
    memcpy(body, z, zlen);
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        memcpy(body + zlen, tails[i].tail, tails[i].len);
        expect_corrupt(body, zlen + tails[i].len, "trailing data after the last gzip member");
    }
    free(body);
    free(z);
    free(plain);
}

/* An empty body holds no member. */
static void test_empty_body(void **state)
{
    static uint8_t scratch[64];
    struct got g = {NULL, 0, 0, 0, 0};
    struct sink_gz *gz;
    (void)state;
    assert_int_equal(sink_gz_new(&gz), SINK_GZ_OK);
    assert_int_equal(sink_gz_feed(gz, NULL, 0, scratch, sizeof(scratch), on_out, &g), SINK_GZ_OK);
    assert_int_equal(sink_gz_finish(gz), SINK_GZ_CORRUPT);
    assert_string_equal(sink_gz_error(gz), "no gzip member");
    assert_int_equal(g.off, 0);
    sink_gz_free(gz);
    sink_gz_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_pieces),
        cmocka_unit_test(test_full_buffers),
        cmocka_unit_test(test_header_fields_and_empty_content),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_empty_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
