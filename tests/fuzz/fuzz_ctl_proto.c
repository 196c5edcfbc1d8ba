/* libFuzzer target for the control-message parser: any byte string as a request line must
 * give either a validated request or an error with a known code — never a crash, leak or
 * undefined behaviour — and the reply built from it must be one valid JSON line.
 *
 * Build and run: tools/fuzz ctl_proto (build-fuzz/tests/fuzz/fuzz_ctl_proto; docs/FUZZING.md)
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply_line(char *line, size_t len)
{
    json_error_t jerr;
    json_t *back;

    assert(line != NULL);
    assert(len > 0 && line[len - 1] == '\n');
    assert(memchr(line, '\n', len - 1) == NULL);
    back = json_loadb(line, len - 1, 0, &jerr);
    assert(back != NULL);
    json_decref(back);
    free(line);
}

static void use_args(const struct ctl_request *req)
{
    volatile uint64_t sink = 0;

    for (unsigned i = 0; i < req->cmd->n_fields; i++) {
        const struct ctl_arg *a = ctl_request_arg(req, req->cmd->fields[i].name);
        if (a == NULL)
            continue;
        if (a->s != NULL)
            sink += strlen(a->s);
        if (a->j != NULL)
            sink += json_array_size(a->j);
        sink += a->u + a->b;
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_request req;
    struct ctl_error err;
    size_t len;
    char *line, *copy;

    if (size > CTL_LINE_MAX)
        return 0;
    if (ctl_request_parse(&req, (const char *)data, size, &err) == 0) {
        assert(req.cmd != NULL && req.id != NULL);
        use_args(&req);
        line = ctl_reply_ok(req.id, json_pack("{s:s}", "cmd", req.cmd->name), &len);
    } else {
        assert(err.code > CTL_OK && err.code < CTL_CODE_COUNT);
        assert(ctl_code_from_name(ctl_code_name(err.code)) == (int)err.code);
        line = ctl_reply_error(req.id, err.code, err.message, &len);
    }
    check_reply_line(line, len);
    ctl_request_free(&req);

    /* the scalar parsers on the same bytes as a C string */
    copy = malloc(size + 1);
    if (copy != NULL) {
        struct net_url url;
        uint64_t v;
        char why[128];
        memcpy(copy, data, size);
        copy[size] = '\0';
        for (unsigned flags = 0; flags <= NET_URL_AUTHORITY; flags += NET_URL_AUTHORITY)
            if (net_url_parse(copy, flags, &url, why, sizeof(why)) == 0) {
                char out[NET_URL_MAX + 16];
                assert(url.port >= 1 && url.path[0] == '/');
                assert(net_url_format(&url, out, sizeof(out)) > 0);
            }
        if (ctl_duration_parse(copy, &v) == 0)
            assert(v <= CTL_DURATION_MAX_MS);
        if (ctl_app_error_parse(copy, &v) == 0)
            assert(v <= CTL_QUIC_VARINT_MAX);
        ctl_check_method(copy, why, sizeof(why));
        ctl_check_path(copy, why, sizeof(why));
        ctl_check_header_name(copy, why, sizeof(why));
        ctl_check_header_value(copy, why, sizeof(why));
        free(copy);
    }
    return 0;
}
