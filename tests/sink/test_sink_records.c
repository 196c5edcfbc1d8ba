/* Unit tests of h3sink's record splitter (tools/h3sink/sink_records.c): the
 * h3dp-framing and h3dp-records values, newline and length framing split at every
 * offset (two and three pieces, byte by byte, length prefixes straddling pieces),
 * empty and unterminated records, truncated prefixes and records, count
 * mismatches, "none", requests without framing, the totals and the
 * --records-out spool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sink_records.h"

static void header(struct sink_rec *r, const char *name, const char *value)
{
    sink_rec_header(r, name, strlen(name), value, strlen(value));
}

/* A splitter for |framing| ("newline", ...) expecting |count| records (NULL: no
 * h3dp-records). */
static struct sink_rec rec_new(const char *framing, const char *count)
{
    struct sink_rec r;
    memset(&r, 0, sizeof(r));
    if (framing != NULL)
        header(&r, "h3dp-framing", framing);
    if (count != NULL)
        header(&r, "h3dp-records", count);
    return r;
}

/* Feed |body| cut at |a| and |b| (a <= b <= len) and end it. */
static void split3(struct sink_rec *r, const uint8_t *body, size_t len, size_t a, size_t b)
{
    sink_rec_feed(r, body, a);
    sink_rec_feed(r, body + a, b - a);
    sink_rec_feed(r, body + b, len - b);
    sink_rec_end(r);
}

static int verdict(const struct sink_rec *r, char *why)
{
    why[0] = '\0';
    return sink_rec_verdict(r, why, 128);
}

static void test_framing_values(void **state)
{
    uint64_t n = 99;
    (void)state;
    assert_int_equal(sink_framing_parse("newline", 7), SINK_FRAMING_NEWLINE);
    assert_int_equal(sink_framing_parse(" Length\t", 8), SINK_FRAMING_LENGTH);
    assert_int_equal(sink_framing_parse("NONE", 4), SINK_FRAMING_NONE);
    assert_int_equal(sink_framing_parse("", 0), SINK_FRAMING_INVALID);
    assert_int_equal(sink_framing_parse("csv", 3), SINK_FRAMING_INVALID);
    assert_int_equal(sink_framing_parse("newline, length", 15), SINK_FRAMING_INVALID);
    assert_int_equal(sink_framing_parse("new line", 8), SINK_FRAMING_INVALID);
    assert_int_equal(sink_framing_parse("newlines", 8), SINK_FRAMING_INVALID);
    assert_int_equal(sink_framing_parse("newline\0", 8), SINK_FRAMING_INVALID);
    assert_string_equal(sink_framing_name(SINK_FRAMING_NEWLINE), "newline");
    assert_string_equal(sink_framing_name(SINK_FRAMING_LENGTH), "length");
    assert_string_equal(sink_framing_name(SINK_FRAMING_NONE), "none");
    assert_string_equal(sink_framing_name(SINK_FRAMING_INVALID), "");

    assert_int_equal(sink_rec_count_parse("0", 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sink_rec_count_parse(" 12\t", 4, &n), 0);
    assert_int_equal(n, 12);
    assert_int_equal(sink_rec_count_parse("999999999999999", 15, &n), 0);
    assert_int_equal(n, 999999999999999ULL);
    static const char *bad[] = {
        "", " ", "1x", "-1", "+1", "1 2", "0x10", "1.0", "1000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 7;
        if (sink_rec_count_parse(bad[i], strlen(bad[i]), &n) != -1 || n != 7)
            fail_msg("took h3dp-records '%s'", bad[i]);
    }
}

static void test_headers(void **state)
{
    struct sink_rec r;
    char why[128];
    (void)state;

    r = rec_new("newline", "3");
    assert_int_equal(r.framing, SINK_FRAMING_NEWLINE);
    assert_int_equal(r.count, SINK_COUNT_OK);
    assert_int_equal(r.expect, 3);
    /* Other fields, and names that only start alike, are not looked at. */
    header(&r, "h3dp-framingx", "length");
    header(&r, "h3dp-record", "9");
    header(&r, "content-type", "application/x-ndjson");
    assert_int_equal(r.framing, SINK_FRAMING_NEWLINE);
    assert_int_equal(r.expect, 3);
    /* A second line of either makes it invalid, even with the same value. */
    header(&r, "h3dp-framing", "newline");
    assert_int_equal(r.framing, SINK_FRAMING_INVALID);
    assert_int_equal(verdict(&r, why), -1);
    assert_string_equal(why, "framing: h3dp-framing is not one of newline, length, none");
    r = rec_new("length", "3");
    header(&r, "h3dp-records", "3");
    assert_int_equal(r.count, SINK_COUNT_BAD);
    assert_int_equal(verdict(&r, why), -1);
    assert_string_equal(why, "framing: h3dp-records is not one decimal count");
    r = rec_new("length", NULL);
    assert_int_equal(verdict(&r, why), -1);
    assert_string_equal(why, "framing: h3dp-records missing");
    r = rec_new("none", "5x");
    assert_int_equal(verdict(&r, why), -1);
    r = rec_new("csv", "1");
    assert_int_equal(verdict(&r, why), -1);
    /* Without h3dp-framing nothing is checked, whatever h3dp-records says. */
    r = rec_new(NULL, "5x");
    assert_int_equal(verdict(&r, why), 0);
    r = rec_new(NULL, NULL);
    assert_int_equal(verdict(&r, why), 0);
}

/* Records of newline framing: 1 byte, a few bytes, 300 bytes, bytes of every
 * value but '\n'. */
static size_t newline_body(uint8_t *b, size_t *records)
{
    size_t o = 0, n = 0;
    static const char *small[] = {"a", "bb", "{\"k\":1}", "\t \r"};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++, n++) {
        memcpy(b + o, small[i], strlen(small[i]));
        o += strlen(small[i]);
        b[o++] = '\n';
    }
    for (int i = 0; i < 300; i++)
        b[o++] = (uint8_t)('A' + i % 26);
    b[o++] = '\n', n++;
    for (int v = 0; v < 256; v++)
        if (v != '\n')
            b[o++] = (uint8_t)v;
    b[o++] = '\n', n++;
    b[o++] = 'z', b[o++] = '\n', n++;
    *records = n;
    return o;
}

static void test_newline_every_offset(void **state)
{
    uint8_t body[1024];
    size_t records, len = newline_body(body, &records);
    char count[16], why[128];
    uint64_t n;
    (void)state;
    snprintf(count, sizeof(count), "%zu", records);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b += (a % 7 == 0 ? 1 : 61)) {
            struct sink_rec r = rec_new("newline", count);
            split3(&r, body, len, a, b);
            if (r.err != SINK_REC_OK || r.found != records)
                fail_msg("cut at %zu and %zu: err %d, %llu records", a, b, r.err,
                         (unsigned long long)r.found);
            assert_int_equal(r.off, len);
            assert_int_equal(verdict(&r, why), 0);
            assert_int_equal(sink_rec_split(&r, &n), 1);
            assert_int_equal(n, records);
        }
    }
    /* Byte by byte. */
    struct sink_rec r = rec_new("newline", count);
    for (size_t i = 0; i < len; i++)
        sink_rec_feed(&r, body + i, 1);
    sink_rec_end(&r);
    assert_int_equal(r.found, records);
    assert_int_equal(verdict(&r, why), 0);
    /* An empty body holds no records, and says so. */
    r = rec_new("newline", "0");
    sink_rec_end(&r);
    assert_int_equal(verdict(&r, why), 0);
    assert_int_equal(sink_rec_split(&r, &n), 1);
    assert_int_equal(n, 0);
}

/* |body| (|len| bytes, NUL-terminated text) as newline framing, cut at every
 * offset: the same error at the same byte every time. */
static void newline_error(const char *body, const char *count, int err, uint64_t off,
                          uint64_t found, const char *why_want)
{
    size_t len = strlen(body);
    char why[128];
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            struct sink_rec r = rec_new("newline", count);
            split3(&r, (const uint8_t *)body, len, a, b);
            if (r.err != err || r.err_off != off || r.found != found)
                fail_msg("'%s' cut at %zu, %zu: err %d at %llu, %llu records", body, a, b, r.err,
                         (unsigned long long)r.err_off, (unsigned long long)r.found);
            assert_int_equal(r.off, len);
            assert_int_equal(verdict(&r, why), -1);
            assert_string_equal(why, why_want);
        }
    }
}

static void test_newline_errors(void **state)
{
    (void)state;
    /* A record is at least one byte: an empty line is an error, wherever it is. */
    newline_error("\n", "1", SINK_REC_EMPTY, 0, 0, "framing: empty record at byte 0");
    newline_error("a\n\nb\n", "2", SINK_REC_EMPTY, 2, 1, "framing: empty record at byte 2");
    newline_error("abc\ndef\n\n", "2", SINK_REC_EMPTY, 8, 2, "framing: empty record at byte 8");
    /* The body ends with '\n'. */
    newline_error("a\nbcd", "2", SINK_REC_UNTERMINATED, 2, 1,
                  "framing: record at byte 2 has no newline");
    newline_error("x", "1", SINK_REC_UNTERMINATED, 0, 0,
                  "framing: record at byte 0 has no newline");
    /* Well framed, but not as many as announced. */
    newline_error("a\nb\n", "3", SINK_REC_OK, 0, 2,
                  "framing: 2 records split, h3dp-records says 3");
    newline_error("a\nb\nc\n", "2", SINK_REC_OK, 0, 3,
                  "framing: 3 records split, h3dp-records says 2");
    newline_error("", "1", SINK_REC_OK, 0, 0, "framing: 0 records split, h3dp-records says 1");
    /* The first error counts; later bytes are only counted. */
    newline_error("\n\nabc", "0", SINK_REC_EMPTY, 0, 0, "framing: empty record at byte 0");
}

static size_t put_record(uint8_t *b, const uint8_t *p, uint32_t len)
{
    b[0] = (uint8_t)(len >> 24), b[1] = (uint8_t)(len >> 16), b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
    if (len > 0)
        memcpy(b + 4, p, len);
    return 4 + (size_t)len;
}

/* Records of 0, 1, 3, 10 ('\n's inside are just bytes), 255 and 256 bytes. */
static size_t length_body(uint8_t *b, size_t *records)
{
    static const uint32_t lens[] = {0, 1, 3, 10, 255, 256, 0};
    uint8_t data[256];
    size_t o = 0;
    for (int i = 0; i < 256; i++)
        data[i] = (uint8_t)(i % 3 == 0 ? '\n' : i);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        o += put_record(b + o, data, lens[i]);
    *records = sizeof(lens) / sizeof(lens[0]);
    return o;
}

static void test_length_every_offset(void **state)
{
    uint8_t body[1024];
    size_t records, len = length_body(body, &records);
    char count[16], why[128];
    uint64_t n;
    (void)state;
    snprintf(count, sizeof(count), "%zu", records);
    /* Every pair of cuts: each prefix straddles pieces in every way. */
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            struct sink_rec r = rec_new("length", count);
            split3(&r, body, len, a, b);
            if (r.err != SINK_REC_OK || r.found != records)
                fail_msg("cut at %zu and %zu: err %d, %llu records", a, b, r.err,
                         (unsigned long long)r.found);
            assert_int_equal(verdict(&r, why), 0);
        }
    }
    struct sink_rec r = rec_new("length", count);
    for (size_t i = 0; i < len; i++)
        sink_rec_feed(&r, body + i, 1);
    sink_rec_end(&r);
    assert_int_equal(verdict(&r, why), 0);
    assert_int_equal(sink_rec_split(&r, &n), 1);
    assert_int_equal(n, records);

    /* A record longer than 64 KiB (the prefix's high bytes matter). */
    const uint32_t big = 70000;
    uint8_t *bb = calloc(1, 2 * (4 + big));
    assert_non_null(bb);
    size_t blen = put_record(bb, bb + 2 * (4 + big) - big, big);
    blen += put_record(bb + blen, bb, 2);
    for (size_t a = 0; a <= blen; a += (a < 8 || a + 8 > blen) ? 1 : 997) {
        r = rec_new("length", "2");
        split3(&r, bb, blen, a, a);
        assert_int_equal(r.found, 2);
        assert_int_equal(verdict(&r, why), 0);
    }
    free(bb);
}

static void test_length_errors(void **state)
{
    uint8_t body[64];
    size_t len;
    char why[128];
    (void)state;

    /* A body ending inside a length prefix: 1, 2 or 3 of its bytes, cut anywhere. */
    for (size_t extra = 1; extra < 4; extra++) {
        len = put_record(body, (const uint8_t *)"hello", 5);
        memset(body + len, 0, extra);
        len += extra;
        for (size_t a = 0; a <= len; a++) {
            for (size_t b = a; b <= len; b++) {
                struct sink_rec r = rec_new("length", "1");
                split3(&r, body, len, a, b);
                assert_int_equal(r.err, SINK_REC_TRUNC_PREFIX);
                assert_int_equal(r.err_off, 9);
                assert_int_equal(r.found, 1);
                assert_int_equal(verdict(&r, why), -1);
                assert_string_equal(why, "framing: truncated length prefix at byte 9");
            }
        }
    }
    /* A body ending inside a record. */
    len = put_record(body, (const uint8_t *)"hi", 2);
    len += put_record(body + len, (const uint8_t *)"hello", 5) - 3;
    for (size_t a = 0; a <= len; a++) {
        struct sink_rec r = rec_new("length", "2");
        split3(&r, body, len, a, len);
        assert_int_equal(r.err, SINK_REC_TRUNC_RECORD);
        assert_int_equal(r.err_off, 6);
        assert_int_equal(verdict(&r, why), -1);
        assert_string_equal(why, "framing: truncated record at byte 6 (2 of 5 bytes)");
    }
    /* A huge length with a few bytes after it; a lone prefix of 0xffffffff. */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'};
    struct sink_rec r = rec_new("length", "1");
    sink_rec_feed(&r, huge, sizeof(huge));
    sink_rec_end(&r);
    assert_int_equal(verdict(&r, why), -1);
    assert_string_equal(why, "framing: truncated record at byte 0 (3 of 4294967295 bytes)");
    /* Well framed, wrong count; an empty body is zero records. */
    len = put_record(body, (const uint8_t *)"a", 1);
    r = rec_new("length", "2");
    split3(&r, body, len, 2, 3);
    assert_int_equal(verdict(&r, why), -1);
    assert_string_equal(why, "framing: 1 records split, h3dp-records says 2");
    r = rec_new("length", "0");
    sink_rec_end(&r);
    assert_int_equal(verdict(&r, why), 0);
    /* An empty record is a record in length framing. */
    r = rec_new("length", "1");
    sink_rec_feed(&r, (const uint8_t *)"\0\0\0\0", 4);
    sink_rec_end(&r);
    assert_int_equal(r.found, 1);
    assert_int_equal(verdict(&r, why), 0);
}

/* "none" and no framing: nothing is split, the header is the count. */
static void test_none_and_absent(void **state)
{
    char why[128];
    uint64_t n = 42;
    struct sink_rec r = rec_new("none", "7");
    (void)state;
    sink_rec_feed(&r, (const uint8_t *)"\n\n\nxyz", 6);
    sink_rec_end(&r);
    assert_int_equal(r.found, 0);
    assert_int_equal(r.off, 6);
    assert_int_equal(sink_rec_split(&r, &n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(verdict(&r, why), 0);
    r = rec_new(NULL, "7");
    sink_rec_feed(&r, (const uint8_t *)"\n\n", 2);
    sink_rec_end(&r);
    assert_int_equal(sink_rec_split(&r, &n), 0);
    assert_int_equal(verdict(&r, why), 0);
}

static void test_totals(void **state)
{
    struct sink_rec_stats st;
    struct sink_rec r;
    (void)state;
    memset(&st, 0, sizeof(st));
    r = rec_new("newline", "2");
    sink_rec_feed(&r, (const uint8_t *)"a\nb\n", 4);
    sink_rec_end(&r);
    sink_rec_count(&st, &r);
    r = rec_new("length", "1");
    sink_rec_feed(&r, (const uint8_t *)"\0\0\0\1x", 5);
    sink_rec_end(&r);
    sink_rec_count(&st, &r);
    r = rec_new("none", "5");
    sink_rec_count(&st, &r);
    r = rec_new(NULL, "9");
    sink_rec_count(&st, &r);
    assert_int_equal(st.records_framed, 3);
    assert_int_equal(st.uploads[SINK_FRAMING_NONE - 1], 1);
    assert_int_equal(st.uploads[SINK_FRAMING_NEWLINE - 1], 1);
    assert_int_equal(st.uploads[SINK_FRAMING_LENGTH - 1], 1);
    assert_int_equal(st.records[SINK_FRAMING_NONE - 1], 5);
    assert_int_equal(st.records[SINK_FRAMING_NEWLINE - 1], 2);
    assert_int_equal(st.records[SINK_FRAMING_LENGTH - 1], 1);
    assert_int_equal(st.mismatch, 0);
}

static size_t file_text(FILE *f, char *buf, size_t cap)
{
    size_t n;
    assert_int_equal(fflush(f), 0);
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    return n;
}

/* --records-out: an upload's records are written only when it is committed,
 * whole, whatever pieces they came in; dropped uploads leave nothing. */
static void test_spool(void **state)
{
    static const char a[] = "first\nsecond\n", b[] = "third\n";
    FILE *out = tmpfile();
    char buf[256];
    struct sink_rec ra = rec_new("newline", "2"), rb = rec_new("newline", "1");
    struct sink_rec rc = rec_new("newline", "1"), rd = rec_new("length", "1");
    struct sink_rec re = rec_new("newline", "0");
    (void)state;
    assert_non_null(out);
    /* Interleaved pieces of two uploads. */
    for (size_t i = 0; i < sizeof(a) - 1; i += 4) {
        size_t n = sizeof(a) - 1 - i < 4 ? sizeof(a) - 1 - i : 4;
        sink_rec_feed(&ra, (const uint8_t *)a + i, n);
        sink_rec_keep(&ra, (const uint8_t *)a + i, n);
        if (i < sizeof(b) - 1) {
            n = sizeof(b) - 1 - i < 4 ? sizeof(b) - 1 - i : 4;
            sink_rec_feed(&rb, (const uint8_t *)b + i, n);
            sink_rec_keep(&rb, (const uint8_t *)b + i, n);
        }
    }
    sink_rec_end(&ra);
    sink_rec_end(&rb);
    assert_int_equal(sink_rec_commit(&rb, out), 0);
    assert_null(rb.spool);
    assert_int_equal(sink_rec_commit(&ra, out), 0);
    assert_int_equal(file_text(out, buf, sizeof(buf)), strlen(b) + strlen(a));
    assert_string_equal(buf, "third\nfirst\nsecond\n");
    /* A refused upload is dropped; bytes after a framing error are not kept. */
    sink_rec_feed(&rc, (const uint8_t *)"x\n\ny\n", 5);
    sink_rec_keep(&rc, (const uint8_t *)"x\n\ny\n", 5);
    sink_rec_keep(&rc, (const uint8_t *)"more\n", 5);
    sink_rec_drop(&rc);
    assert_null(rc.spool);
    sink_rec_drop(&rc);
    /* Length framing is kept as framed; an upload of no records writes nothing. */
    sink_rec_feed(&rd, (const uint8_t *)"\0\0\0\1x", 5);
    sink_rec_keep(&rd, (const uint8_t *)"\0\0\0\1x", 5);
    assert_non_null(rd.spool);
    sink_rec_end(&rd);
    assert_int_equal(sink_rec_commit(&rd, out), 0);
    sink_rec_end(&re);
    assert_int_equal(sink_rec_commit(&re, out), 0);
    assert_int_equal(fseek(out, 0, SEEK_END), 0);
    assert_int_equal(ftell(out), strlen(a) + strlen(b) + 5);
    assert_int_equal(fseek(out, -5, SEEK_END), 0);
    assert_int_equal(fread(buf, 1, 5, out), 5);
    assert_memory_equal(buf, "\0\0\0\1x", 5);
    assert_int_equal(fseek(out, 0, SEEK_END), 0);
    /* A spool that failed makes the commit fail (and writes nothing). */
    struct sink_rec rf = rec_new("newline", "1");
    sink_rec_keep(&rf, (const uint8_t *)"ok\n", 3);
    rf.spool_failed = 1;
    assert_int_equal(sink_rec_commit(&rf, out), -1);
    assert_null(rf.spool);
    assert_int_equal(ftell(out), strlen(a) + strlen(b) + 5);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_values),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_newline_every_offset),
        cmocka_unit_test(test_newline_errors),
        cmocka_unit_test(test_length_every_offset),
        cmocka_unit_test(test_length_errors),
        cmocka_unit_test(test_none_and_absent),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_spool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
