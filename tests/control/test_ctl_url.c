/* Unit tests for ctl_url: the https authority accepted by `connect`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_url.h"

static void test_good(void **state)
{
    static const struct {
        const char *in;
        enum ctl_url_host_kind kind;
        const char *host;
        uint16_t port;
        const char *formatted;
    } cases[] = {
        {"https://h3sink.test", CTL_URL_HOST_NAME, "h3sink.test", 443, "https://h3sink.test:443"},
        {"https://h3sink.test:4433/", CTL_URL_HOST_NAME, "h3sink.test", 4433,
         "https://h3sink.test:4433"},
        {"HTTPS://localhost:1", CTL_URL_HOST_NAME, "localhost", 1, "https://localhost:1"},
        {"https://198.18.0.2:65535", CTL_URL_HOST_IPV4, "198.18.0.2", 65535,
         "https://198.18.0.2:65535"},
        {"https://[::1]:8443", CTL_URL_HOST_IPV6, "::1", 8443, "https://[::1]:8443"},
        {"https://[2001:db8::1]", CTL_URL_HOST_IPV6, "2001:db8::1", 443,
         "https://[2001:db8::1]:443"},
        {"https://a-b.c-d.example", CTL_URL_HOST_NAME, "a-b.c-d.example", 443,
         "https://a-b.c-d.example:443"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ctl_url u;
        char why[64] = "", out[300];
        assert_int_equal(ctl_url_parse(cases[i].in, &u, why, sizeof(why)), 0);
        assert_int_equal(u.kind, cases[i].kind);
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
        assert_true(ctl_url_format(&u, out, sizeof(out)) > 0);
        assert_string_equal(out, cases[i].formatted);
    }
}

static void test_bad(void **state)
{
    static const struct {
        const char *in;
        const char *why;
    } cases[] = {
        {"http://h3sink.test", "scheme"},
        {"h3sink.test:443", "scheme"},
        {"https://", "missing host"},
        {"https://:443", "missing host"},
        {"https://user@h3sink.test", "userinfo"},
        {"https://user:pw@h3sink.test:443", "userinfo"},
        {"https://h3sink.test/upload", "path"},
        {"https://h3sink.test?x=1", "query"},
        {"https://h3sink.test#frag", "fragment"},
        {"https://h3sink.test:0", "port"},
        {"https://h3sink.test:65536", "port"},
        {"https://h3sink.test:", "port"},
        {"https://h3sink.test:44a", "port"},
        {"https://h3sink.test:-1", "port"},
        {"https://h3sink.test:443:1", "port"},
        {"https://h3 sink.test", "invalid character"},
        {"https://h3sink.test\x01", "invalid character"},
        {"https://bad_name.test", "invalid host name"},
        {"https://-lead.test", "invalid host name"},
        {"https://trail-.test", "invalid host name"},
        {"https://a..b", "invalid host name"},
        {"https://999.1.1.1", "invalid IPv4"},
        {"https://1.2.3", "invalid IPv4"},
        {"https://[::1", "unterminated"},
        {"https://[::g]:443", "invalid IPv6"},
        {"https://[::1]x", "junk"},
        {"https://::1:443", "missing host"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ctl_url u;
        char why[96] = "";
        int rc = ctl_url_parse(cases[i].in, &u, why, sizeof(why));
        if (rc != -EINVAL || strstr(why, cases[i].why) == NULL)
            fail_msg("%s: rc %d why '%s', expected '%s'", cases[i].in, rc, why, cases[i].why);
    }
}

static void test_limits(void **state)
{
    char big[CTL_URL_MAX + 64], why[64];
    struct ctl_url u;
    size_t off;

    (void)state;
    /* Overlong URL */
    strcpy(big, "https://");
    memset(big + 8, 'a', sizeof(big) - 9);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ctl_url_parse(big, &u, why, sizeof(why)), -E2BIG);

    /* A 64-octet label is one too many; 63 is fine. */
    strcpy(big, "https://");
    off = 8;
    memset(big + off, 'a', CTL_URL_LABEL_MAX);
    strcpy(big + off + CTL_URL_LABEL_MAX, ".test");
    assert_int_equal(ctl_url_parse(big, &u, NULL, 0), 0);
    memset(big + off, 'a', CTL_URL_LABEL_MAX + 1);
    strcpy(big + off + CTL_URL_LABEL_MAX + 1, ".test");
    assert_int_equal(ctl_url_parse(big, &u, NULL, 0), -EINVAL);

    /* A host over 253 characters */
    strcpy(big, "https://");
    for (off = 8; off < 8 + 260; off += 10)
        memcpy(big + off, "abcdefghi.", 10);
    strcpy(big + off, "test");
    assert_int_equal(ctl_url_parse(big, &u, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "host longer"));

    /* format into a short buffer */
    assert_int_equal(ctl_url_parse("https://h3sink.test", &u, NULL, 0), 0);
    assert_int_equal(ctl_url_format(&u, big, 8), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
