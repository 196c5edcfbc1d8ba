/* SPDX-License-Identifier: MIT */
/* Unit tests of config/cfg_parse: each value syntax, valid and malformed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "cfg_parse.h"

static void test_u64(void **state)
{
    uint64_t v;
    char why[128];

    (void)state;
    assert_int_equal(cfg_parse_u64("0", false, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cfg_parse_u64("007", false, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 7); /* decimal, never octal */
    assert_int_equal(
        cfg_parse_u64("0xFFffFFffFFffFFff", false, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(
        cfg_parse_u64("18446744073709551615", false, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(
        cfg_parse_u64("18446744073709551616", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "number too large");
    assert_int_equal(
        cfg_parse_u64("0x10000000000000000", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "number too large");

    assert_int_equal(cfg_parse_u64("4K", true, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(cfg_parse_u64("3m", true, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, 3u << 20);
    assert_int_equal(cfg_parse_u64("0x2G", true, 0, UINT64_MAX, &v, why, sizeof(why)), 0);
    assert_int_equal(v, UINT64_C(2) << 30);
    assert_int_equal(cfg_parse_u64("4KB", true, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_u64("K", true, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "not a number");
    assert_int_equal(cfg_parse_u64("4K", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "trailing characters after the number");
    assert_int_equal(cfg_parse_u64("1 2", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_u64(" 1", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_u64("-0", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "must not be negative");
    assert_int_equal(cfg_parse_u64("1.5", false, 0, UINT64_MAX, &v, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_u64("9", false, 10, 20, &v, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "out of range 10..20");
    assert_int_equal(cfg_parse_u64("21", false, 10, 20, &v, NULL, 0), -EINVAL);
    assert_int_equal(cfg_parse_u64("20", false, 10, 20, &v, NULL, 0), 0);
}

static void test_bool_enum(void **state)
{
    static const char *const names[] = {"busy", "adaptive", NULL};
    bool b;
    unsigned int i;
    char why[128];

    (void)state;
    assert_int_equal(cfg_parse_bool("TRUE", &b, why, sizeof(why)), 0);
    assert_true(b);
    assert_int_equal(cfg_parse_bool("off", &b, why, sizeof(why)), 0);
    assert_false(b);
    assert_int_equal(cfg_parse_bool("0", &b, why, sizeof(why)), 0);
    assert_false(b);
    assert_int_equal(cfg_parse_bool("2", &b, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_bool("", &b, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_bool("yess", &b, why, sizeof(why)), -EINVAL);

    assert_int_equal(cfg_parse_enum("adaptive", names, &i, why, sizeof(why)), 0);
    assert_int_equal(i, 1);
    assert_int_equal(cfg_parse_enum("Busy", names, &i, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "must be one of: busy, adaptive");
}

static void test_lcores(void **state)
{
    struct cfg_lcores s;
    char why[128];
    char buf[64];

    (void)state;
    assert_int_equal(cfg_parse_lcores("0-3,6,8-9,127", &s, why, sizeof(why)), 0);
    assert_int_equal(cfg_lcores_count(&s), 8);
    assert_true(cfg_lcores_has(&s, 127));
    assert_false(cfg_lcores_has(&s, 5));
    assert_false(cfg_lcores_has(&s, 128));
    assert_int_equal(cfg_lcores_next(&s, -1), 0);
    assert_int_equal(cfg_lcores_next(&s, 3), 6);
    assert_int_equal(cfg_lcores_next(&s, 127), -1);
    cfg_format_lcores(&s, buf, sizeof(buf));
    assert_string_equal(buf, "0-3,6,8-9,127");
    assert_int_equal(cfg_parse_lcores("63-64", &s, why, sizeof(why)), 0);
    cfg_format_lcores(&s, buf, sizeof(buf));
    assert_string_equal(buf, "63-64");

    assert_int_equal(cfg_parse_lcores("", &s, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "empty lcore list");
    assert_int_equal(cfg_parse_lcores("0,", &s, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_lcores("0;1", &s, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "unexpected ';' (write ids and ranges like 0-3,6)");
    assert_int_equal(cfg_parse_lcores("0-", &s, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_lcores("(0-1)@2", &s, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_lcores("99999999999", &s, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "lcore id above 127");
}

static void test_ipv4(void **state)
{
    rte_be32_t ip;
    uint8_t plen;
    char why[128];

    (void)state;
    assert_int_equal(cfg_parse_ipv4_prefix("198.18.0.2/24", &ip, &plen, why, sizeof(why)), 0);
    assert_int_equal(ip, inet_addr("198.18.0.2"));
    assert_int_equal(plen, 24);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.1/32", &ip, &plen, why, sizeof(why)), 0);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.0/31", &ip, &plen, why, sizeof(why)), 0);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.255/24", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "is the broadcast address of its prefix");
    assert_int_equal(cfg_parse_ipv4_prefix("224.0.0.1/4", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("0.0.0.0/8", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("255.255.255.255/32", &ip, &plen, why, sizeof(why)),
                     -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.1/0", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.1/", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.1/+8", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.0.1/24x", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("010.0.0.1/24", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_ipv4_prefix("10.0.1/24", &ip, &plen, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_ipv4_netmask(0), 0);
    assert_int_equal(cfg_ipv4_netmask(32), UINT32_MAX);
    assert_int_equal(cfg_ipv4_netmask(20), inet_addr("255.255.240.0"));
}

static void test_mac(void **state)
{
    struct rte_ether_addr m;
    char why[128];

    (void)state;
    assert_int_equal(cfg_parse_mac("02:aB:0c:dd:EE:ff", &m, why, sizeof(why)), 0);
    assert_int_equal(m.addr_bytes[0], 0x02);
    assert_int_equal(m.addr_bytes[1], 0xab);
    assert_int_equal(m.addr_bytes[5], 0xff);
    assert_int_equal(cfg_parse_mac("00:00:00:00:00:00", &m, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "the all-zero MAC address is not a station address");
    assert_int_equal(cfg_parse_mac("01:00:5e:00:00:01", &m, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_mac("02:00:00:00:00:0", &m, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_mac("02-00-00-00-00-01", &m, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_mac("02:00:00:00:00:01:", &m, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_mac("02:00:00:00:00:0g", &m, why, sizeof(why)), -EINVAL);
}

static void test_device(void **state)
{
    struct cfg_port p;
    char why[160];

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_int_equal(cfg_parse_device("0000:03:00.0", &p, why, sizeof(why)), 0);
    assert_int_equal(p.device_kind, CFG_DEVICE_PCI);
    assert_string_equal(p.device_name, "0000:03:00.0");
    assert_int_equal(cfg_parse_device("AF:1F.7", &p, why, sizeof(why)), 0);
    assert_string_equal(p.device_name, "0000:af:1f.7");
    assert_int_equal(cfg_parse_device("0001:03:00.1,rxq_pkt_pad_en=1", &p, why, sizeof(why)), 0);
    assert_string_equal(p.device_name, "0001:03:00.1");
    assert_string_equal(p.device_args, "rxq_pkt_pad_en=1");
    assert_int_equal(cfg_parse_device("net_tap0,iface=h3dp0,persist", &p, why, sizeof(why)), 0);
    assert_int_equal(p.device_kind, CFG_DEVICE_VDEV);
    assert_string_equal(p.device_name, "net_tap0");
    assert_string_equal(p.device_args, "iface=h3dp0,persist");
    assert_int_equal(cfg_parse_device("net_null0", &p, why, sizeof(why)), 0);
    assert_string_equal(p.device_args, "");

    assert_int_equal(cfg_parse_device("0000:03:00.8", &p, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_device("03:00", &p, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_device("0000:003:00.0", &p, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_device("net-tap0", &p, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "vdev name may hold letters, digits and '_' only (e.g. net_tap0)");
    assert_int_equal(cfg_parse_device("net_tap0,", &p, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "empty device arguments after ','");
    assert_int_equal(cfg_parse_device("net_tap0,a=1,", &p, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_device("net_tap0,=1", &p, why, sizeof(why)), -EINVAL);
    assert_int_equal(cfg_parse_device(",a=1", &p, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "empty device name");
}

static void test_split_words(void **state)
{
    char buf[64];
    unsigned int n;
    char why[128];

    (void)state;
    assert_int_equal(cfg_split_words("", buf, sizeof(buf), &n, why, sizeof(why)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cfg_split_words(" \t ", buf, sizeof(buf), &n, why, sizeof(why)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cfg_split_words("a \"b c\"d e\"\"", buf, sizeof(buf), &n, why, sizeof(why)),
                     0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "a\0b cd\0e", 9);
    assert_int_equal(cfg_split_words("\"a\\\\b\\c\"", buf, sizeof(buf), &n, why, sizeof(why)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(buf, "a\\b\\c"); /* only \" and \\ are escapes */
    assert_int_equal(cfg_split_words("a \"b", buf, sizeof(buf), &n, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "unterminated double quote");
    assert_int_equal(cfg_split_words("abcdef", buf, 4, &n, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "too long");
    assert_int_equal(cfg_split_words("abc", buf, 4, &n, why, sizeof(why)), 0);
    assert_int_equal(cfg_split_words("ab c", buf, 4, &n, why, sizeof(why)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),         cmocka_unit_test(test_bool_enum),
        cmocka_unit_test(test_lcores),      cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_mac),         cmocka_unit_test(test_device),
        cmocka_unit_test(test_split_words),
    };

    return cmocka_run_group_tests_name("cfg_parse", tests, NULL, NULL);
}
