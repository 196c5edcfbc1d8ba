/* Unit tests of h3sink's pure helpers: content-digest parsing, /bytes/N
 * paths, the body pattern, content-encoding folding (zstd, gzip, x-gzip) and the
 * receipt (with and without records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>

#include "sink.h"
#include "sink_http.h"

static int parse(const char *v, uint8_t out[SINK_SHA256_LEN])
{
    return sink_digest_parse(v, strlen(v), out);
}

/* SHA-256("") from RFC 6234 / FIPS 180-2, as base64. */
#define EMPTY_SHA256_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_digest_valid(void **state)
{
    uint8_t out[SINK_SHA256_LEN], want[SINK_SHA256_LEN];
    (void)state;
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, "", 0, want), 0);

    memset(out, 0, sizeof(out));
    assert_int_equal(parse("sha-256=:" EMPTY_SHA256_B64 ":", out), SINK_DIGEST_SHA256);
    assert_memory_equal(out, want, SINK_SHA256_LEN);

    /* Other members, parameters and whitespace around commas. */
    memset(out, 0, sizeof(out));
    assert_int_equal(parse("  sha-512=:AAAA:;x=1 ,\tsha-256=:" EMPTY_SHA256_B64 ":;p=\"a\"", out),
                     SINK_DIGEST_SHA256);
    assert_memory_equal(out, want, SINK_SHA256_LEN);

    /* Padding is optional in structured fields. */
    assert_int_equal(parse("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU:", out),
                     SINK_DIGEST_SHA256);
    assert_memory_equal(out, want, SINK_SHA256_LEN);
}

static void test_digest_absent(void **state)
{
    uint8_t out[SINK_SHA256_LEN];
    (void)state;
    assert_int_equal(parse("sha-512=:AAAA:", out), SINK_DIGEST_ABSENT);
    assert_int_equal(parse("md5=:AAAA:, unixsum=12, flag", out), SINK_DIGEST_ABSENT);
    assert_int_equal(parse("token=abc/def, str=\"x\\\"y\", b=?1, d=-1.5", out), SINK_DIGEST_ABSENT);
}

static void test_digest_malformed(void **state)
{
    uint8_t out[SINK_SHA256_LEN];
    (void)state;
    static const char *bad[] = {
        "",                                                       /* empty */
        "   ",                                                    /* only spaces */
        "SHA-256=:" EMPTY_SHA256_B64 ":",                         /* keys are lowercase */
        "sha-256",                                                /* boolean, not bytes */
        "sha-256=abc",                                            /* token, not bytes */
        "sha-256=\"" EMPTY_SHA256_B64 "\"",                       /* string, not bytes */
        "sha-256=:AAAA:",                                         /* 3 bytes, not 32 */
        "sha-256=:" EMPTY_SHA256_B64,                             /* unterminated */
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu!U=:", /* bad char */
        "sha-256=:" EMPTY_SHA256_B64 ":,",                        /* trailing comma */
        "sha-256=:" EMPTY_SHA256_B64 ": x",                       /* junk after member */
        ",sha-256=:" EMPTY_SHA256_B64 ":",                        /* leading comma */
        "sha-256=:" EMPTY_SHA256_B64 ":;",                        /* empty parameter */
        "a=\"unterminated",
        "a=?2",
        "a=1234567890123456", /* integer too long */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], out) != SINK_DIGEST_MALFORMED)
            fail_msg("accepted malformed value #%zu: '%s'", i, bad[i]);
    }
    /* Embedded NUL inside the length is junk too. */
    assert_int_equal(sink_digest_parse("sha-256\0=:x:", 12, out), SINK_DIGEST_MALFORMED);
}

static int bytes_path(const char *p, uint64_t max, uint64_t *n)
{
    return sink_bytes_path(p, strlen(p), max, n);
}

static void test_bytes_path(void **state)
{
    uint64_t n = 7;
    (void)state;
    assert_int_equal(bytes_path("/bytes/0", SINK_BYTES_MAX, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(bytes_path("/bytes/1048576", SINK_BYTES_MAX, &n), 1);
    assert_int_equal(n, 1048576);
    assert_int_equal(bytes_path("/bytes/42?x=1", SINK_BYTES_MAX, &n), 1);
    assert_int_equal(n, 42);
    assert_int_equal(bytes_path("/bytes/68719476736", SINK_BYTES_MAX, &n), 1);
    assert_int_equal(n, SINK_BYTES_MAX);
    assert_int_equal(bytes_path("/bytes/68719476737", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/99999999999999999999999", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/18446744073709551616", UINT64_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/18446744073709551615", UINT64_MAX, &n), 1);
    assert_true(n == UINT64_MAX);
    assert_int_equal(bytes_path("/bytes/", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/?a", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/-1", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/+1", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/1k", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/1/2", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/ 1", SINK_BYTES_MAX, &n), -1);
    assert_int_equal(bytes_path("/bytes/5", 4, &n), -1);
    assert_int_equal(bytes_path("/bytes", SINK_BYTES_MAX, &n), 0);
    assert_int_equal(bytes_path("/byte/5", SINK_BYTES_MAX, &n), 0);
    assert_int_equal(bytes_path("/", SINK_BYTES_MAX, &n), 0);
}

static void test_pattern(void **state)
{
    size_t run;
    const uint8_t *pat = sink_pattern_buf(&run);
    uint8_t buf[1000];
    (void)state;
    assert_true(run >= 4096);
    assert_int_equal(sink_pattern_byte(0), 0);
    assert_int_equal(sink_pattern_byte(250), 250);
    assert_int_equal(sink_pattern_byte(251), 0);
    assert_int_equal(sink_pattern_byte(1000000007ULL), 1000000007ULL % 251);
    /* Any offset o: the run starting at pat + o % 251 is the body from o. */
    for (uint64_t o = 0; o < 600; o += 37) {
        const uint8_t *p = pat + o % SINK_PATTERN_MOD;
        for (size_t i = 0; i < run; i += 97)
            assert_int_equal(p[i], sink_pattern_byte(o + i));
        assert_int_equal(sink_pattern_check(p, run, o), run);
    }
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = sink_pattern_byte(12345 + i);
    assert_int_equal(sink_pattern_check(buf, sizeof(buf), 12345), sizeof(buf));
    buf[777] ^= 1;
    assert_int_equal(sink_pattern_check(buf, sizeof(buf), 12345), 777);
    assert_int_equal(sink_pattern_check(buf, sizeof(buf), 12346), 0);
}

static void test_receipt(void **state)
{
    static const char plain[] = "{\"bytes\":1234,\"decoded\":99999,\"digest\":\"ok\"}\n";
    static const char with_err[] =
        "{\"bytes\":7,\"decoded\":0,\"digest\":\"none\",\"error\":\"zstd: bad\"}\n";
    char out[128];
    (void)state;
    assert_int_equal(sink_receipt(out, sizeof(out), 1234, 99999, -1, "ok", NULL),
                     sizeof(plain) - 1);
    assert_string_equal(out, plain);
    /* Exactly big enough (with the NUL), and one byte short. */
    assert_int_equal(sink_receipt(out, sizeof(plain), 1234, 99999, -1, "ok", NULL),
                     sizeof(plain) - 1);
    assert_int_equal(sink_receipt(out, sizeof(plain) - 1, 1234, 99999, -1, "ok", NULL), -1);
    assert_int_equal(sink_receipt(out, 10, 1234, 0, -1, "ok", NULL), -1);

    assert_int_equal(sink_receipt(out, sizeof(out), 7, 0, -1, "none", "zstd: bad"),
                     sizeof(with_err) - 1);
    assert_string_equal(out, with_err);
    assert_int_equal(sink_receipt(out, sizeof(with_err), 7, 0, -1, "none", "zstd: bad"),
                     sizeof(with_err) - 1);
    assert_int_equal(sink_receipt(out, sizeof(with_err) - 1, 7, 0, -1, "none", "zstd: bad"), -1);
    /* Nothing in the error can break the JSON string. */
    assert_true(sink_receipt(out, sizeof(out), 1, 1, -1, "ok", "a\"b\\c\nd\xc3") > 0);
    assert_string_equal(out,
                        "{\"bytes\":1,\"decoded\":1,\"digest\":\"ok\",\"error\":\"a?b?c?d?\"}\n");
    /* With the records split from the body (0 is a count too). */
    static const char framed[] =
        "{\"bytes\":10,\"decoded\":20,\"records\":3,\"digest\":\"none\"}\n";
    assert_int_equal(sink_receipt(out, sizeof(out), 10, 20, 3, "none", NULL), sizeof(framed) - 1);
    assert_string_equal(out, framed);
    assert_int_equal(sink_receipt(out, sizeof(framed), 10, 20, 3, "none", NULL),
                     sizeof(framed) - 1);
    assert_int_equal(sink_receipt(out, sizeof(framed) - 1, 10, 20, 3, "none", NULL), -1);
    assert_true(sink_receipt(out, sizeof(out), 0, 0, 0, "ok", "framing: x") > 0);
    assert_string_equal(out, "{\"bytes\":0,\"decoded\":0,\"records\":0,\"digest\":\"ok\","
                             "\"error\":\"framing: x\"}\n");
}

static int coding(const char *v, int prev)
{
    return sink_coding_parse(v, strlen(v), prev);
}

static void test_coding(void **state)
{
    (void)state;
    assert_int_equal(coding("zstd", SINK_CODING_IDENTITY), SINK_CODING_ZSTD);
    assert_int_equal(coding("ZStd", SINK_CODING_IDENTITY), SINK_CODING_ZSTD);
    assert_int_equal(coding(" \tzstd\t ", SINK_CODING_IDENTITY), SINK_CODING_ZSTD);
    assert_int_equal(coding("identity", SINK_CODING_IDENTITY), SINK_CODING_IDENTITY);
    assert_int_equal(coding("", SINK_CODING_IDENTITY), SINK_CODING_IDENTITY);
    assert_int_equal(coding(" , ,", SINK_CODING_IDENTITY), SINK_CODING_IDENTITY);
    assert_int_equal(coding("identity, zstd,", SINK_CODING_IDENTITY), SINK_CODING_ZSTD);
    assert_int_equal(coding("zstd ,IDENTITY", SINK_CODING_IDENTITY), SINK_CODING_ZSTD);
    /* gzip, and x-gzip as its alias (RFC 9110 §8.4.1.3). */
    assert_int_equal(coding("gzip", SINK_CODING_IDENTITY), SINK_CODING_GZIP);
    assert_int_equal(coding("GZip", SINK_CODING_IDENTITY), SINK_CODING_GZIP);
    assert_int_equal(coding("x-gzip", SINK_CODING_IDENTITY), SINK_CODING_GZIP);
    assert_int_equal(coding("X-GZIP ,identity", SINK_CODING_IDENTITY), SINK_CODING_GZIP);
    assert_int_equal(coding("gzip", SINK_CODING_GZIP), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("identity", SINK_CODING_GZIP), SINK_CODING_GZIP);
    assert_int_equal(coding("gzip, gzip", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("gzip, zstd", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("zstd", SINK_CODING_GZIP), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("gzip", SINK_CODING_ZSTD), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("xgzip", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("x-gzi", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("deflate", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("br, zstd", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("zstd, gzip", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("zstd, zstd", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("zstdx", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("zst", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("z std", SINK_CODING_IDENTITY), SINK_CODING_UNSUPPORTED);
    /* Several field lines fold as one list. */
    assert_int_equal(coding("zstd", SINK_CODING_ZSTD), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("identity", SINK_CODING_ZSTD), SINK_CODING_ZSTD);
    assert_int_equal(coding("", SINK_CODING_ZSTD), SINK_CODING_ZSTD);
    assert_int_equal(coding("zstd", SINK_CODING_UNSUPPORTED), SINK_CODING_UNSUPPORTED);
    assert_int_equal(coding("identity", SINK_CODING_UNSUPPORTED), SINK_CODING_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_valid),     cmocka_unit_test(test_digest_absent),
        cmocka_unit_test(test_digest_malformed),
        cmocka_unit_test(test_bytes_path),       cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_receipt),          cmocka_unit_test(test_coding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
