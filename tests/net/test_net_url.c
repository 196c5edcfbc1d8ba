/* Unit tests of net/: the one URL parser (every case the configuration's and the control
 * protocol's former parsers were tested with) and IP addresses as values. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net_addr.h"
#include "net_url.h"

static void test_good(void **state)
{
    static const struct {
        const char *in;
        enum net_host_kind kind;
        const char *host;
        uint16_t port;
        const char *path, *origin, *whole;
    } cases[] = {
        {"https://h3sink.test", NET_HOST_NAME, "h3sink.test", 443, "/", "https://h3sink.test:443",
         "https://h3sink.test:443/"},
        {"https://h3sink.test:4433/", NET_HOST_NAME, "h3sink.test", 4433, "/",
         "https://h3sink.test:4433", "https://h3sink.test:4433/"},
        {"HTTPS://localhost:1", NET_HOST_NAME, "localhost", 1, "/", "https://localhost:1",
         "https://localhost:1/"},
        {"https://198.18.0.2:65535", NET_HOST_IPV4, "198.18.0.2", 65535, "/",
         "https://198.18.0.2:65535", "https://198.18.0.2:65535/"},
        {"https://198.18.0.1:4433/telemetry", NET_HOST_IPV4, "198.18.0.1", 4433, "/telemetry",
         "https://198.18.0.1:4433", "https://198.18.0.1:4433/telemetry"},
        {"https://[::1]:8443", NET_HOST_IPV6, "::1", 8443, "/", "https://[::1]:8443",
         "https://[::1]:8443/"},
        {"https://[2001:db8::1]:8443/v1/logs?x=1", NET_HOST_IPV6, "2001:db8::1", 8443,
         "/v1/logs?x=1", "https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443/v1/logs?x=1"},
        {"https://a-b.c-d.example", NET_HOST_NAME, "a-b.c-d.example", 443, "/",
         "https://a-b.c-d.example:443", "https://a-b.c-d.example:443/"},
        {"https://h?q", NET_HOST_NAME, "h", 443, "/?q", "https://h:443", "https://h:443/?q"},
        {"https://collector.example:443/v1/logs", NET_HOST_NAME, "collector.example", 443,
         "/v1/logs", "https://collector.example:443", "https://collector.example:443/v1/logs"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct net_url u;
        char why[96] = "", out[600];
        if (net_url_parse(cases[i].in, 0, &u, why, sizeof(why)) != 0)
            fail_msg("%s: %s", cases[i].in, why);
        assert_int_equal(u.kind, cases[i].kind);
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
        assert_string_equal(u.path, cases[i].path);
        assert_true(net_url_origin(&u, out, sizeof(out)) > 0);
        assert_string_equal(out, cases[i].origin);
        assert_true(net_url_format(&u, out, sizeof(out)) > 0);
        assert_string_equal(out, cases[i].whole);
        /* The literal's address is parsed once, with the family of its kind. */
        assert_int_equal(u.addr.family, u.kind == NET_HOST_IPV4   ? AF_INET
                                        : u.kind == NET_HOST_IPV6 ? AF_INET6
                                                                  : 0);
    }
}

static void test_bad(void **state)
{
    static const struct {
        const char *in;
        const char *why;
    } cases[] = {
        {"http://h3sink.test", "URL scheme must be https://"},
        {"ftp://h/", "scheme"},
        {"h3sink.test:443", "scheme"},
        {"https://", "missing host"},
        {"https://:443", "missing host"},
        {"https://:443/", "missing host"},
        {"https://user@h3sink.test", "userinfo"},
        {"https://user:pw@h3sink.test:443", "userinfo"},
        {"https://h3sink.test#frag", "fragment"},
        {"https://h/a#frag", "URL must not carry a fragment (#)"},
        {"https://h3sink.test:0", "port"},
        {"https://h3sink.test:65536", "port"},
        {"https://h:65536/", "port"},
        {"https://h3sink.test:", "port"},
        {"https://h:/", "port"},
        {"https://h3sink.test:44a", "port"},
        {"https://h:44x/", "port"},
        {"https://h3sink.test:-1", "port"},
        {"https://h3sink.test:443:1", "port"},
        {"https://h3sink.test:0443", "port"},
        {"https://h3 sink.test", "invalid character 0x20"},
        {"https://h/a b", "invalid character 0x20"},
        {"https://h3sink.test\x01", "invalid character 0x01"},
        {"https://bad_name.test", "invalid host name"},
        {"https://bad_host/", "letters, digits"},
        {"https://-lead.test", "label starts with '-'"},
        {"https://trail-.test", "label ends with '-'"},
        {"https://a..b", "empty label"},
        {"https://999.1.1.1", "invalid IPv4"},
        {"https://1.2.3", "invalid IPv4"},
        {"https://[::1", "unterminated"},
        {"https://[::1/", "unterminated"},
        {"https://[::g]:443", "invalid IPv6"},
        {"https://[zz::1]/", "invalid IPv6"},
        {"https://[1.2.3.4]/", "invalid IPv6"},
        {"https://[::1]x", "junk"},
        {"https://[::1]x/", "junk"},
        {"https://::1:443", "missing host"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct net_url u;
        char why[128] = "";
        int rc = net_url_parse(cases[i].in, 0, &u, why, sizeof(why));
        if (rc != -EINVAL || strstr(why, cases[i].why) == NULL)
            fail_msg("%s: rc %d why '%s', expected '%s'", cases[i].in, rc, why, cases[i].why);
    }
}

static void test_authority_only(void **state)
{
    static const char *const refused[] = {"https://h3sink.test/upload", "https://h3sink.test?x=1",
                                          "https://h3sink.test//", "https://[::1]:1/a"};
    struct net_url u;
    char why[128];
    (void)state;

    assert_int_equal(
        net_url_parse("https://h3sink.test:4433/", NET_URL_AUTHORITY, &u, why, sizeof(why)), 0);
    assert_string_equal(u.path, "/");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(net_url_parse(refused[i], NET_URL_AUTHORITY, &u, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "path, query or fragment"));
    }
}

static void test_limits(void **state)
{
    char big[NET_URL_MAX + 64], why[96];
    struct net_url u;
    size_t off;

    (void)state;
    strcpy(big, "https://");
    memset(big + 8, 'a', sizeof(big) - 9);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(net_url_parse(big, 0, &u, why, sizeof(why)), -E2BIG);

    /* A 64-octet label is one too many; 63 is fine. */
    strcpy(big, "https://");
    off = 8;
    memset(big + off, 'a', NET_LABEL_MAX);
    strcpy(big + off + NET_LABEL_MAX, ".test");
    assert_int_equal(net_url_parse(big, 0, &u, NULL, 0), 0);
    memset(big + off, 'a', NET_LABEL_MAX + 1);
    strcpy(big + off + NET_LABEL_MAX + 1, ".test");
    assert_int_equal(net_url_parse(big, 0, &u, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "longer than 63"));

    /* A host over 253 characters. */
    strcpy(big, "https://");
    for (off = 8; off < 8 + 260; off += 10)
        memcpy(big + off, "abcdefghi.", 10);
    strcpy(big + off, "test");
    assert_int_equal(net_url_parse(big, 0, &u, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "host longer"));

    /* A path over NET_PATH_MAX. */
    strcpy(big, "https://h/");
    memset(big + 10, 'p', NET_PATH_MAX);
    big[10 + NET_PATH_MAX] = '\0';
    assert_int_equal(net_url_parse(big, 0, &u, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "path longer"));
    big[9 + NET_PATH_MAX] = '\0'; /* exactly NET_PATH_MAX with the '/' */
    assert_int_equal(net_url_parse(big, 0, &u, why, sizeof(why)), 0);

    assert_int_equal(net_url_parse("https://h3sink.test", 0, &u, NULL, 0), 0);
    assert_int_equal(net_url_origin(&u, big, 8), -ENOSPC);
    assert_int_equal(net_url_format(&u, big, 8), -ENOSPC);
}

static void test_host_name(void **state)
{
    char long_label[70], why[96];
    (void)state;

    assert_int_equal(net_host_name_check("collector.example", why, sizeof(why)), 0);
    assert_int_equal(net_host_name_check("", why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "empty host name");
    assert_int_equal(net_host_name_check("1.2.3.4", why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "looks like an IP address, not a host name");
    assert_int_equal(net_host_name_check("a_b", why, sizeof(why)), -EINVAL);
    memset(long_label, 'a', sizeof(long_label));
    long_label[64] = '\0';
    assert_int_equal(net_host_name_check(long_label, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "host name label longer than 63 characters");
    long_label[63] = '\0';
    assert_int_equal(net_host_name_check(long_label, why, sizeof(why)), 0);
}

static void test_sockaddr(void **state)
{
    struct sockaddr_storage ss;
    struct net_url u;
    struct net_addr a;
    uint16_t port = 0;
    char text[NET_ADDR_STR_MAX];
    (void)state;

    assert_int_equal(net_url_parse("https://198.18.0.1:4433/x", 0, &u, NULL, 0), 0);
    assert_int_equal(net_url_sockaddr(&u, &ss), sizeof(struct sockaddr_in));
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, htons(4433));
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, inet_addr("198.18.0.1"));
    assert_int_equal(net_addr_from_sockaddr((struct sockaddr *)&ss, &a, &port), 0);
    assert_int_equal(port, 4433);
    assert_true(net_addr_equal(&a, &u.addr));
    assert_string_equal(net_addr_str(&a, text, sizeof(text)), "198.18.0.1");

    assert_int_equal(net_url_parse("https://[fd00::1]", 0, &u, NULL, 0), 0);
    assert_int_equal(net_url_sockaddr(&u, &ss), sizeof(struct sockaddr_in6));
    assert_int_equal(((struct sockaddr_in6 *)&ss)->sin6_port, htons(443));
    assert_int_equal(net_addr_from_sockaddr((struct sockaddr *)&ss, &a, NULL), 0);
    assert_string_equal(net_addr_str(&a, text, sizeof(text)), "fd00::1");

    /* A name has no socket address until it is resolved. */
    assert_int_equal(net_url_parse("https://collector.example", 0, &u, NULL, 0), 0);
    assert_int_equal(net_url_sockaddr(&u, &ss), 0);
}

static void test_addr_classes(void **state)
{
    static const struct {
        const char *in;
        const char *why; /* NULL: a unicast address */
        bool loopback;
    } cases[] = {
        {"198.18.0.1", NULL, false},
        {"127.0.0.1", NULL, true},
        {"0.0.0.0", "unspecified", false},
        {"255.255.255.255", "broadcast", false},
        {"224.0.0.1", "multicast", false},
        {"239.255.255.250", "multicast", false},
        {"fd00::1", NULL, false},
        {"::1", NULL, true},
        {"::", "unspecified", false},
        {"ff02::1", "multicast", false},
        {"::ffff:1.2.3.4", "IPv4-mapped", false},
    };
    struct net_addr a, b;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(net_addr_parse(cases[i].in, &a), 0);
        const char *why = net_addr_not_unicast(&a);
        if (cases[i].why == NULL ? why != NULL : (why == NULL || !strstr(why, cases[i].why)))
            fail_msg("%s: '%s', expected '%s'", cases[i].in, why ? why : "(unicast)",
                     cases[i].why ? cases[i].why : "(unicast)");
        assert_int_equal(net_addr_is_loopback(&a), cases[i].loopback);
    }
    /* A connection's server: on a DPDK port neither loopback nor the port's own address. */
    b = net_addr_v4(inet_addr("198.18.0.2"));
    assert_int_equal(net_addr_parse("127.0.0.1", &a), 0);
    assert_null(net_addr_not_peer(&a, false, &b));
    assert_string_equal(net_addr_not_peer(&a, true, &b),
                        "a loopback address, not reachable through the DPDK port");
    assert_int_equal(net_addr_parse("198.18.0.2", &a), 0);
    assert_null(net_addr_not_peer(&a, false, &b));
    assert_string_equal(net_addr_not_peer(&a, true, &b), "the DPDK port's own address");
    assert_null(net_addr_not_peer(&a, true, NULL));
    assert_int_equal(net_addr_parse("0.0.0.0", &a), 0);
    assert_string_equal(net_addr_not_peer(&a, false, NULL), "the unspecified address");
    assert_int_equal(net_addr_parse("198.18.0.1", &a), 0);
    assert_null(net_addr_not_peer(&a, true, &b));
    assert_int_equal(net_addr_parse("198.18.0.256", &a), -EINVAL);
    assert_int_equal(net_addr_parse("[::1]", &a), -EINVAL);
    assert_int_equal(a.family, 0);
    a = net_addr_v4(inet_addr("198.18.0.2"));
    assert_int_equal(net_addr_parse("198.18.0.2", &b), 0);
    assert_true(net_addr_equal(&a, &b));
    assert_int_equal(net_addr_parse("::198.18.0.2", &b), 0);
    assert_false(net_addr_equal(&a, &b));
}

static void test_list(void **state)
{
    struct net_url u[4];
    unsigned n = 99;
    char why[160];
    (void)state;

    assert_int_equal(net_url_list_parse("https://198.18.0.1:4433/t", 0, u, 4, &n, why, sizeof(why)),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(net_url_list_parse(" https://a.example/v1 ,https://198.18.0.7:4433/v1,"
                                        "\thttps://[fd00::1]/x ",
                                        0, u, 4, &n, why, sizeof(why)),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(u[0].host, "a.example");
    assert_string_equal(u[0].path, "/v1");
    assert_int_equal(u[1].port, 4433);
    assert_int_equal(u[2].kind, NET_HOST_IPV6);
    assert_string_equal(u[2].path, "/x");
    /* One URL: its own reason; in a list: which one. */
    assert_int_equal(net_url_list_parse("http://a/", 0, u, 4, &n, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "URL scheme must be https://");
    assert_int_equal(net_url_list_parse("https://a/, http://b/", 0, u, 4, &n, why, sizeof(why)),
                     -EINVAL);
    assert_string_equal(why, "URL 2: URL scheme must be https://");
    assert_int_equal(net_url_list_parse("https://a/,,https://b/", 0, u, 4, &n, why, sizeof(why)),
                     -EINVAL);
    assert_string_equal(why, "URL 2 of the list is empty");
    assert_int_equal(net_url_list_parse("", 0, u, 4, &n, why, sizeof(why)), -EINVAL);
    assert_int_equal(net_url_list_parse("https://a/,", 0, u, 4, &n, why, sizeof(why)), -EINVAL);
    assert_int_equal(net_url_list_parse("https://a/,https://b/,https://c/", 0, u, 2, &n, why,
                                        sizeof(why)),
                     -EINVAL);
    assert_string_equal(why, "more than 2 URLs in the list");
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),           cmocka_unit_test(test_bad),
        cmocka_unit_test(test_authority_only), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_host_name),      cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_addr_classes), cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
