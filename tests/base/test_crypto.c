/* Unit tests of the crypto seam (base/crypto.h): SHA-256 against the FIPS 180-2 vectors,
 * base64 against RFC 4648 §10 and the edge cases h3dp relies on, random bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

static void test_sha256_vectors(void **state)
{
    /* FIPS 180-2 appendix B.1 ("abc") and the empty message. */
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    static const uint8_t empty[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    uint8_t d[CRYPTO_SHA256_LEN];
    (void)state;

    assert_int_equal(crypto_sha256("abc", 3, d), 0);
    assert_memory_equal(d, abc, 32);
    assert_int_equal(crypto_sha256("", 0, d), 0);
    assert_memory_equal(d, empty, 32);
}

static void test_sha256_incremental(void **state)
{
    uint8_t buf[1000], whole[32], parts[32];
    struct crypto_sha256 *h;
    (void)state;

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    assert_int_equal(crypto_sha256(buf, sizeof(buf), whole), 0);
    assert_int_equal(crypto_sha256_new(&h), 0);
    for (size_t off = 0; off < sizeof(buf); off += 333) {
        size_t n = sizeof(buf) - off < 333 ? sizeof(buf) - off : 333;
        assert_int_equal(crypto_sha256_update(h, buf + off, n), 0);
    }
    crypto_sha256_del(h, parts);
    assert_memory_equal(whole, parts, 32);
    assert_int_equal(crypto_sha256_new(&h), 0);
    crypto_sha256_del(h, NULL); /* discarded: nothing leaks */
    crypto_sha256_del(NULL, NULL);
}

static void test_base64_rfc4648(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char enc[32];
    uint8_t dec[32];
    (void)state;

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(crypto_base64_encode((const uint8_t *)plain[i], n, enc, sizeof(enc)),
                         (long)strlen(coded[i]));
        assert_string_equal(enc, coded[i]);
        assert_int_equal(crypto_base64_decode(coded[i], strlen(coded[i]), dec, sizeof(dec)),
                         (long)n);
        assert_memory_equal(dec, plain[i], n);
    }
}

static void test_base64_edges(void **state)
{
    uint8_t buf[64], back[64];
    char enc[128];
    (void)state;

    /* Padding may be left out (RFC 8941 §4.2.7 asks parsers to accept that). */
    assert_int_equal(crypto_base64_decode("Zm9vYg", 6, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "foob", 4);
    /* Refused: non-zero trailing bits, too much padding, padding inside, a lone
     * character, white space, characters outside the alphabet. */
    assert_int_equal(crypto_base64_decode("Zm9vYh==", 8, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(crypto_base64_decode("Zm9vY===", 8, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(crypto_base64_decode("Zm9v=Yg=", 8, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(crypto_base64_decode("Z", 1, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(crypto_base64_decode("Zm9v YmFy", 9, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(crypto_base64_decode("Zm9v-mFy", 8, buf, sizeof(buf)), -EINVAL);
    /* Output too small, on both sides. */
    assert_int_equal(crypto_base64_decode("Zm9vYmFy", 8, buf, 5), -ENOSPC);
    assert_int_equal(crypto_base64_encode((const uint8_t *)"foob", 4, enc, 8), -ENOSPC);
    /* Round trip of every byte value. */
    for (int i = 0; i < 64; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    long n = crypto_base64_encode(buf, 64, enc, sizeof(enc));
    assert_int_equal(n, CRYPTO_BASE64_LEN(64));
    assert_int_equal(crypto_base64_decode(enc, (size_t)n, back, sizeof(back)), 64);
    assert_memory_equal(back, buf, 64);
}

static void test_content_digest(void **state)
{
    char f[CRYPTO_CONTENT_DIGEST_LEN + 1];
    (void)state;

    /* RFC 9530 appendix B: the digest of {"hello": "world"} (with its trailing newline). */
    assert_int_equal(crypto_content_digest("{\"hello\": \"world\"}\n", 19, f, sizeof(f)),
                     CRYPTO_CONTENT_DIGEST_LEN);
    assert_string_equal(f, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
    assert_int_equal(crypto_content_digest("", 0, f, sizeof(f) - 1), -ENOSPC);
}

static void test_random(void **state)
{
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    (void)state;

    assert_int_equal(crypto_random(a, sizeof(a)), 0);
    assert_int_equal(crypto_random_key(b, sizeof(b)), 0);
    /* 2^-256 to fail by chance. */
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_base64_rfc4648), cmocka_unit_test(test_base64_edges),
        cmocka_unit_test(test_content_digest), cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
