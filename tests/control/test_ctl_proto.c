/* Unit tests for ctl_proto: request validation (every error code) and reply lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_proto.h"

/* Parses |line| and asserts the error code and a fragment of the message. */
static void expect_error(const char *line, enum ctl_code code, const char *fragment)
{
    struct ctl_request req;
    struct ctl_error err;
    int rc = ctl_request_parse(&req, line, strlen(line), &err);

    if (rc != -EINVAL || err.code != code || strstr(err.message, fragment) == NULL)
        fail_msg("%s\n  got rc %d %s '%s'\n  expected %s '%s'", line, rc, ctl_code_name(err.code),
                 err.message, ctl_code_name(code), fragment);
    ctl_request_free(&req);
}

static void parse_ok(struct ctl_request *req, const char *line)
{
    struct ctl_error err;

    if (ctl_request_parse(req, line, strlen(line), &err) != 0)
        fail_msg("%s\n  unexpected %s '%s'", line, ctl_code_name(err.code), err.message);
}

static void test_envelope_errors(void **state)
{
    (void)state;
    expect_error("{\"v\":1,\"id\":1,\"cmd\":\"list\"", CTL_E_PARSE, "malformed JSON");
    expect_error("not json", CTL_E_PARSE, "malformed JSON");
    expect_error("", CTL_E_PARSE, "malformed JSON");
    expect_error("{\"v\":1,\"id\":1,\"id\":2,\"cmd\":\"list\"}", CTL_E_PARSE, "duplicate");
    expect_error("[1,2]", CTL_E_BAD_REQUEST, "expected a JSON object");
    expect_error("{\"id\":1,\"cmd\":\"list\"}", CTL_E_VERSION, "v: required");
    expect_error("{\"v\":\"1\",\"id\":1,\"cmd\":\"list\"}", CTL_E_VERSION, "v: required");
    expect_error("{\"v\":2,\"id\":1,\"cmd\":\"list\"}", CTL_E_VERSION, "unsupported version 2");
    expect_error("{\"v\":1,\"cmd\":\"list\"}", CTL_E_BAD_REQUEST, "id: required");
    expect_error("{\"v\":1,\"id\":-4,\"cmd\":\"list\"}", CTL_E_BAD_REQUEST, "id: expected");
    expect_error("{\"v\":1,\"id\":[1],\"cmd\":\"list\"}", CTL_E_BAD_REQUEST, "id: expected");
    expect_error("{\"v\":1,\"id\":1}", CTL_E_BAD_REQUEST, "cmd: required");
    expect_error("{\"v\":1,\"id\":1,\"cmd\":7}", CTL_E_BAD_REQUEST, "cmd: expected a string");
    expect_error("{\"v\":1,\"id\":1,\"cmd\":\"lsit\"}", CTL_E_UNKNOWN_CMD, "\"lsit\"");
    expect_error("{\"v\":1,\"id\":1,\"cmd\":\"list\",\"extra\":1}", CTL_E_BAD_REQUEST,
                 "extra: unknown field");
    expect_error("{\"v\":1,\"id\":1,\"cmd\":\"list\",\"args\":[]}", CTL_E_BAD_REQUEST,
                 "args: expected an object");
    expect_error("{\"v\":1,\"id\":1,\"cmd\":\"list\",\"args\":{\"x\":1}}", CTL_E_BAD_REQUEST,
                 "args.x: unknown field for list");
}

static void test_id_echo_on_error(void **state)
{
    struct ctl_request req;
    struct ctl_error err;
    const char *line = "{\"v\":1,\"id\":42,\"cmd\":\"nope\"}";
    char *reply;
    size_t len;

    (void)state;
    assert_int_equal(ctl_request_parse(&req, line, strlen(line), &err), -EINVAL);
    assert_int_equal(err.code, CTL_E_UNKNOWN_CMD);
    assert_non_null(req.id);
    reply = ctl_reply_error(req.id, err.code, err.message, &len);
    assert_non_null(reply);
    assert_int_equal(strlen(reply), len);
    assert_int_equal(reply[len - 1], '\n');
    assert_non_null(strstr(reply, "\"id\":42"));
    assert_non_null(strstr(reply, "\"ok\":false"));
    assert_non_null(strstr(reply, "\"code\":\"E_UNKNOWN_CMD\""));
    free(reply);
    ctl_request_free(&req);

    /* a string id is echoed as a string */
    line = "{\"v\":1,\"id\":\"abc\",\"cmd\":\"list\"}";
    parse_ok(&req, line);
    reply = ctl_reply_ok(req.id, json_pack("{s:i}", "n", 3), &len);
    assert_string_equal(reply, "{\"v\":1,\"id\":\"abc\",\"ok\":true,\"result\":{\"n\":3}}\n");
    free(reply);
    ctl_request_free(&req);
    ctl_request_free(&req); /* idempotent */
}

static void test_field_errors(void **state)
{
    (void)state;
#define REQ(cmd, args) "{\"v\":1,\"id\":1,\"cmd\":\"" cmd "\",\"args\":" args "}"
    expect_error(REQ("show", "{}"), CTL_E_BAD_REQUEST, "args.conn: required");
    expect_error(REQ("show", "{\"conn\":\"3\"}"), CTL_E_BAD_REQUEST,
                 "args.conn: expected a non-negative integer");
    expect_error(REQ("show", "{\"conn\":0}"), CTL_E_BAD_REQUEST,
                 "args.conn: expected an integer in 1..");
    expect_error(REQ("show", "{\"conn\":1.5}"), CTL_E_BAD_REQUEST, "args.conn: expected");
    expect_error(REQ("shutdown", "{\"max_push\":0}"), CTL_E_BAD_REQUEST, "args.conn: required");
    expect_error(REQ("list", "{\"all\":\"yes\"}"), CTL_E_BAD_REQUEST, "args.all: expected true or false");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":-1}"), CTL_E_BAD_REQUEST,
                 "args.max_push: expected a non-negative integer");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":4611686018427387904}"),
                 CTL_E_BAD_REQUEST, "args.max_push: expected an integer in 0..4611686018427387903");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":3,\"wait\":1}"), CTL_E_BAD_REQUEST,
                 "args.wait: expected true or false");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":3,\"timeout\":\"5x\"}"),
                 CTL_E_BAD_REQUEST, "args.timeout: expected a duration");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":3,\"timeout\":-1}"), CTL_E_BAD_REQUEST,
                 "args.timeout: expected a duration");
    expect_error(REQ("shutdown", "{\"conn\":1,\"max_push\":3,\"timeout\":\"25h\"}"),
                 CTL_E_BAD_REQUEST, "args.timeout");
    expect_error(REQ("close", "{\"conn\":1,\"error\":\"0xZZ\"}"), CTL_E_BAD_REQUEST,
                 "args.error: expected an error code");
    expect_error(REQ("close", "{\"conn\":1,\"error\":\"0x4000000000000000\"}"), CTL_E_BAD_REQUEST,
                 "args.error");
    expect_error(REQ("close", "{\"conn\":1,\"error\":true}"), CTL_E_BAD_REQUEST, "args.error");
    expect_error(REQ("connect", "{}"), CTL_E_BAD_REQUEST, "args.url: required");
    expect_error(REQ("connect", "{\"url\":5}"), CTL_E_BAD_REQUEST, "args.url: expected a string");
    expect_error(REQ("connect", "{\"url\":\"http://x\"}"), CTL_E_BAD_URL, "args.url: URL scheme must be https://");
    expect_error(REQ("connect", "{\"url\":\"https://u@x\"}"), CTL_E_BAD_URL, "userinfo");
    expect_error(REQ("connect", "{\"url\":\"https://x:99999\"}"), CTL_E_BAD_URL, "port");
    /* Addresses no server has: refused up front (connect https://0.0.0.0:1 used to pass
     * and fail later with "Invalid argument"). */
    expect_error(REQ("connect", "{\"url\":\"https://0.0.0.0:1\"}"), CTL_E_BAD_URL,
                 "args.url: 0.0.0.0 is the unspecified address, not a server");
    expect_error(REQ("connect", "{\"url\":\"https://255.255.255.255\"}"), CTL_E_BAD_URL,
                 "the broadcast address");
    expect_error(REQ("connect", "{\"url\":\"https://224.0.0.1:4433\"}"), CTL_E_BAD_URL,
                 "a multicast address");
    expect_error(REQ("connect", "{\"url\":\"https://[::]:4433\"}"), CTL_E_BAD_URL,
                 ":: is the unspecified address");
    expect_error(REQ("connect", "{\"url\":\"https://[ff02::1]\"}"), CTL_E_BAD_URL,
                 "a multicast address");
    expect_error(REQ("upload", "{\"action\":\"target\",\"url\":\"https://198.18.0.1, https://0.0.0.0\"}"),
                 CTL_E_BAD_URL, "args.url: 0.0.0.0 is the unspecified address");
    expect_error(REQ("connect", "{\"url\":\"https://x\",\"sni\":\"a b\"}"), CTL_E_BAD_REQUEST,
                 "args.sni: expected a DNS host name");
    expect_error(REQ("connect", "{\"url\":\"https://x\",\"lcore\":128}"), CTL_E_BAD_REQUEST,
                 "args.lcore: expected an integer in 0..127");
    expect_error(REQ("connect", "{\"url\":\"https://x\",\"ca_file\":\"\"}"), CTL_E_BAD_REQUEST,
                 "args.ca_file: expected a string of 1..");
    /* jansson refuses NUL in strings outright: it can never reach a handler. */
    expect_error(REQ("connect", "{\"url\":\"https://x\\u0000y\"}"), CTL_E_PARSE, "malformed JSON");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\"}"), CTL_E_BAD_REQUEST,
                 "args.path: required");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"G T\",\"path\":\"/\"}"),
                 CTL_E_BAD_REQUEST, "args.method: expected an HTTP method token");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"x\"}"),
                 CTL_E_BAD_REQUEST, "args.path: expected a path starting with '/'");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/a b\"}"),
                 CTL_E_BAD_REQUEST, "args.path: expected visible ASCII");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":{}}"),
                 CTL_E_BAD_REQUEST, "args.headers: expected an array");
    expect_error(
        REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":[[\"a\"]]}"),
        CTL_E_BAD_REQUEST, "args.headers[0]: expected [name, value]");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":"
                                "[[\"ok\",\"1\"],[\"Bad\",\"1\"]]}"),
                 CTL_E_BAD_REQUEST, "args.headers[1]: header names must be lowercase");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":"
                                "[[\":path\",\"/x\"]]}"),
                 CTL_E_BAD_REQUEST, "pseudo-header");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"GET\",\"path\":\"/\",\"headers\":"
                                "[[\"x\",\"a\\r\\nb: c\"]]}"),
                 CTL_E_BAD_REQUEST, "CR or LF");
    expect_error(REQ("request", "{\"conn\":1,\"method\":\"POST\",\"path\":\"/\",\"body\":\"x\","
                                "\"body_file\":\"/tmp/x\"}"),
                 CTL_E_BAD_REQUEST, "either body or body_file");
    expect_error(REQ("upload", "{}"), CTL_E_BAD_REQUEST, "args.action: required");
    expect_error(REQ("upload", "{\"action\":\"go\"}"), CTL_E_BAD_REQUEST,
                 "args.action: expected one of start|stop|status");
}

static void test_too_many_headers(void **state)
{
    char line[8192];
    int off;

    (void)state;
    off = snprintf(line, sizeof(line),
                   REQ("request", "{\"conn\":1,\"method\":\"GET\","
                                  "\"path\":\"/\",\"headers\":["));
    off -= 1; /* drop the "}" REQ closes the request with */
    for (int i = 0; i <= CTL_HEADERS_MAX; i++)
        off +=
            snprintf(line + off, sizeof(line) - (size_t)off, "%s[\"h%d\",\"v\"]", i ? "," : "", i);
    snprintf(line + off, sizeof(line) - (size_t)off, "]}}");
    expect_error(line, CTL_E_BAD_REQUEST, "at most 64 headers");
}

static void test_good_requests(void **state)
{
    struct ctl_request req;
    const struct ctl_arg *a;

    (void)state;
    parse_ok(&req, REQ("connect", "{\"url\":\"https://[::1]:4433\",\"sni\":\"h3sink.test\","
                                  "\"insecure\":true,\"lcore\":2}"));
    assert_int_equal(req.cmd->id, CTL_CMD_CONNECT);
    assert_int_equal(req.url.kind, NET_HOST_IPV6);
    assert_int_equal(req.url.port, 4433);
    assert_string_equal(ctl_request_str(&req, "sni"), "h3sink.test");
    assert_true(ctl_request_bool(&req, "insecure", false));
    assert_int_equal(ctl_request_u64(&req, "lcore", 99), 2);
    assert_null(ctl_request_str(&req, "ca_file"));
    assert_null(ctl_request_arg(&req, "nonexistent"));
    ctl_request_free(&req);

    parse_ok(&req, REQ("shutdown", "{\"conn\":7,\"max_push\":3,\"timeout\":\"5s\",\"wait\":true}"));
    assert_int_equal(ctl_request_u64(&req, "conn", 0), 7);
    assert_int_equal(ctl_request_u64(&req, "max_push", 99), 3);
    assert_int_equal(ctl_request_u64(&req, "timeout", 0), 5000);
    assert_true(ctl_request_bool(&req, "wait", false));
    ctl_request_free(&req);

    parse_ok(&req, REQ("shutdown", "{\"conn\":7,\"max_push\":0,\"timeout\":1.5}"));
    assert_int_equal(ctl_request_u64(&req, "max_push", 99), 0);
    assert_int_equal(ctl_request_u64(&req, "timeout", 0), 1500);
    assert_false(ctl_request_bool(&req, "wait", false));
    ctl_request_free(&req);

    /* max_push is optional: the handler's default (0) applies */
    parse_ok(&req, REQ("shutdown", "{\"conn\":7}"));
    assert_null(ctl_request_arg(&req, "max_push"));
    assert_int_equal(ctl_request_u64(&req, "max_push", 0), 0);
    ctl_request_free(&req);

    parse_ok(&req, REQ("list", "{\"all\":true}"));
    assert_true(ctl_request_bool(&req, "all", false));
    ctl_request_free(&req);

    parse_ok(&req, REQ("close", "{\"conn\":7,\"error\":\"0x10c\"}"));
    assert_int_equal(ctl_request_u64(&req, "error", 0), 0x10c);
    ctl_request_free(&req);
    parse_ok(&req, REQ("close", "{\"conn\":7,\"error\":268}"));
    assert_int_equal(ctl_request_u64(&req, "error", 0), 0x10c);
    ctl_request_free(&req);
    parse_ok(&req, REQ("close", "{\"conn\":7,\"error\":null}"));
    assert_int_equal(ctl_request_u64(&req, "error", 0x100), 0x100);
    ctl_request_free(&req);

    parse_ok(&req, REQ("request", "{\"conn\":1,\"method\":\"POST\",\"path\":\"/upload?x=1\","
                                  "\"headers\":[[\"content-type\",\"text/plain\"]],"
                                  "\"body\":\"hello\",\"timeout\":\"500ms\"}"));
    a = ctl_request_arg(&req, "headers");
    assert_non_null(a);
    assert_int_equal(json_array_size(a->j), 1);
    assert_string_equal(ctl_request_str(&req, "body"), "hello");
    assert_int_equal(ctl_request_u64(&req, "timeout", 0), 500);
    ctl_request_free(&req);

    parse_ok(&req, "{\"v\":1,\"id\":0,\"cmd\":\"list\"}");
    assert_int_equal(req.cmd->id, CTL_CMD_LIST);
    ctl_request_free(&req);
    parse_ok(&req, REQ("upload", "{\"action\":\"status\"}"));
    assert_string_equal(ctl_request_str(&req, "action"), "status");
    ctl_request_free(&req);
    parse_ok(&req, REQ("wait", "{\"conn\":1,\"timeout\":\"2m\"}"));
    assert_int_equal(ctl_request_u64(&req, "timeout", 0), 120000);
    ctl_request_free(&req);
}

static void test_every_command_has_schema(void **state)
{
    const struct ctl_cmd_schema *t = ctl_cmd_table();
    static const char *const names[] = {"connect", "list",  "show", "request",
                                        "shutdown", "close", "wait", "stats",
                                        "quit",     "upload", "neigh"};
    (void)state;
    for (unsigned i = 0; i < CTL_CMD_COUNT; i++) {
        assert_int_equal(t[i].id, i);
        assert_string_equal(t[i].name, names[i]);
        assert_ptr_equal(ctl_cmd_find(names[i]), &t[i]);
        assert_true(t[i].n_fields <= CTL_MAX_FIELDS);
        for (unsigned f = 0; f < t[i].n_fields; f++)
            assert_non_null(t[i].fields[f].help);
    }
    assert_null(ctl_cmd_find("LIST"));
}

static void test_codes(void **state)
{
    (void)state;
    for (int i = 0; i < CTL_CODE_COUNT; i++) {
        assert_int_equal(ctl_code_from_name(ctl_code_name((enum ctl_code)i)), i);
        assert_non_null(ctl_code_help((enum ctl_code)i));
    }
    assert_string_equal(ctl_code_name(CTL_E_NO_SUCH_CONN), "E_NO_SUCH_CONN");
    assert_string_equal(ctl_code_name((enum ctl_code)999), "E_INTERNAL");
    assert_int_equal(ctl_code_from_name("E_NOPE"), -1);
}

static void test_durations_and_codes(void **state)
{
    uint64_t v;

    (void)state;
    assert_int_equal(ctl_duration_parse("5s", &v), 0);
    assert_int_equal(v, 5000);
    assert_int_equal(ctl_duration_parse("500ms", &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(ctl_duration_parse("2", &v), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(ctl_duration_parse("0.25", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(ctl_duration_parse("1m", &v), 0);
    assert_int_equal(v, 60000);
    assert_int_equal(ctl_duration_parse("", &v), -EINVAL);
    assert_int_equal(ctl_duration_parse("-1s", &v), -EINVAL);
    assert_int_equal(ctl_duration_parse(" 1s", &v), -EINVAL);
    assert_int_equal(ctl_duration_parse("1h", &v), -EINVAL);
    assert_int_equal(ctl_duration_parse("nan", &v), -EINVAL);
    assert_int_equal(ctl_duration_parse("1e30", &v), -ERANGE);

    assert_int_equal(ctl_app_error_parse("0x10c", &v), 0);
    assert_int_equal(v, 0x10c);
    assert_int_equal(ctl_app_error_parse("256", &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(ctl_app_error_parse("0x3fffffffffffffff", &v), 0);
    assert_int_equal(ctl_app_error_parse("0x4000000000000000", &v), -ERANGE);
    assert_int_equal(ctl_app_error_parse("99999999999999999999999", &v), -ERANGE);
    assert_int_equal(ctl_app_error_parse("0x", &v), -EINVAL);
    assert_int_equal(ctl_app_error_parse("-1", &v), -EINVAL);
    assert_int_equal(ctl_app_error_parse("12z", &v), -EINVAL);
}

static void test_reply_is_one_line(void **state)
{
    json_t *id = json_integer(9);
    size_t len;
    char *line;

    (void)state;
    /* Newlines inside values are escaped: the reply stays one line. */
    line = ctl_reply_ok(id, json_pack("{s:s}", "text", "a\nb"), &len);
    assert_non_null(line);
    assert_ptr_equal(strchr(line, '\n'), line + len - 1);
    free(line);
    /* A message cut inside a UTF-8 sequence still yields valid JSON. */
    line = ctl_reply_error(id, CTL_E_BAD_REQUEST, "bad \xc3", &len);
    assert_non_null(line);
    assert_non_null(strstr(line, "\"message\":\"bad ?\""));
    free(line);
    line = ctl_reply_error(NULL, CTL_E_TOO_LONG, NULL, &len);
    assert_string_equal(line, "{\"v\":1,\"id\":null,\"ok\":false,\"code\":\"E_TOO_LONG\","
                              "\"message\":\"\"}\n");
    free(line);
    line = ctl_reply_ok(NULL, NULL, &len);
    assert_string_equal(line, "{\"v\":1,\"id\":null,\"ok\":true,\"result\":{}}\n");
    free(line);
    json_decref(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_id_echo_on_error),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_good_requests),
        cmocka_unit_test(test_every_command_has_schema),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_durations_and_codes),
        cmocka_unit_test(test_reply_is_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
