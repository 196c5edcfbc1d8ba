/* test_up_headers: the upload headers file — syntax (RFC 9110 §5.1, §5.5), the fields HTTP/3
 * and h3dp reserve (RFC 9114 §4.2), the limits, and the file's type and permissions. Every
 * refusal is checked for its exact one-line reason, and that the reason never quotes the
 * secret on the line. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "up_headers.h"

#define SECRET "s3cr3t"

/* ------------------------------------------------------------------------ helpers */

static struct up_headers *parse_ok(const char *text, size_t len)
{
    struct up_headers *h = NULL;
    char why[256] = "";
    int rv = up_headers_parse(text, len, "h", &h, why, sizeof(why));
    if (rv != 0)
        fail_msg("refused (%d): %s", rv, why);
    assert_non_null(h);
    return h;
}

/* Refused with |rv| and exactly |want| as the reason, which does not quote |secret|. */
static void refused(const char *text, size_t len, int rv, const char *want, const char *secret)
{
    struct up_headers *h = (struct up_headers *)1;
    char why[512] = "";
    int got = up_headers_parse(text, len, "h", &h, why, sizeof(why));
    if (got != rv || strcmp(why, want) != 0)
        fail_msg("text \"%.60s\": got %d \"%s\", want %d \"%s\"", text, got, why, rv, want);
    assert_null(h);
    assert_null(strchr(why, '\n'));
    if (secret && strstr(why, secret))
        fail_msg("reason quotes the secret: \"%s\"", why);
}

static void assert_field(const struct up_headers *h, size_t i, const char *name, const char *value)
{
    assert_string_equal(up_headers_name(h, i), name);
    assert_string_equal(up_headers_value(h, i), value);
    assert_ptr_equal(up_headers_list(h)[i].name, up_headers_name(h, i));
    assert_ptr_equal(up_headers_list(h)[i].value, up_headers_value(h, i));
}

/* A temp directory per test (mkdtemp), emptied and removed afterwards. */
static char tmpdir[64];

static int dir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/h3dp-hdr-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
    return rmdir(tmpdir);
}

static const char *tmp_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    return p;
}

/* Writes |len| bytes of |text| to |name| in the temp dir with mode |mode| (umask aside). */
static const char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
    const char *p = tmp_path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
    return p;
}

static int load(const char *path, struct up_headers **h, char *why, size_t whylen)
{
    *h = (struct up_headers *)1;
    why[0] = '\0';
    return up_headers_load(path, h, why, whylen);
}

/* ------------------------------------------------------------------------ good files */

static void test_good_file(void **state)
{
    (void)state;
    static const char text[] = "# the collector's credentials\n"
                               "\n"
                               "   # indented comment\n"
                               "\t# tab-indented comment\n"
                               " \t \n"
                               "Authorization: Bearer eyJ.abc-_~+/=\r\n"
                               "X-Tenant:\t acme corp \t\r\n"
                               "\r\n"
                               "x-tag: one\n"
                               "X-TAG: two\n"
                               "x-tag:three\n"
                               "x-hash: a#b # not a comment\n"
                               "x-empty:\n"
                               "x-blank: \t \n"
                               "x-!#$%&'*+.^_`|~09: tokens\n"
                               "x-obs: caf\xc3\xa9 \x80\xff\n"
                               "x-colons: a:b::c\n"
                               "x-last: no newline";
    struct up_headers *h = parse_ok(text, sizeof(text) - 1);

    assert_int_equal(up_headers_count(h), 12);
    assert_field(h, 0, "authorization", "Bearer eyJ.abc-_~+/=");
    assert_field(h, 1, "x-tenant", "acme corp");
    assert_field(h, 2, "x-tag", "one");
    assert_field(h, 3, "x-tag", "two");
    assert_field(h, 4, "x-tag", "three");
    assert_field(h, 5, "x-hash", "a#b # not a comment");
    assert_field(h, 6, "x-empty", "");
    assert_field(h, 7, "x-blank", "");
    assert_field(h, 8, "x-!#$%&'*+.^_`|~09", "tokens");
    assert_field(h, 9, "x-obs", "caf\xc3\xa9 \x80\xff");
    assert_field(h, 10, "x-colons", "a:b::c");
    assert_field(h, 11, "x-last", "no newline");
    assert_null(up_headers_name(h, 12));
    assert_null(up_headers_value(h, 12));
    up_headers_del(h);
}

static void test_empty_files(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "\n", "# only\r\n  # comments\n\n", "  \t "};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct up_headers *h = parse_ok(texts[i], strlen(texts[i]));
        assert_int_equal(up_headers_count(h), 0);
        assert_null(up_headers_name(h, 0));
        up_headers_del(h);
    }
    up_headers_del(NULL);
}

/* A line of |n| bytes "x-token: vvv..." followed by |end|; *|len| its length. */
static char *long_line(const char *prefix, size_t n, const char *end, size_t *len)
{
    size_t pl = strlen(prefix), hl = strlen("x-token: "), el = strlen(end);
    char *t = malloc(pl + n + el + 1);
    assert_non_null(t);
    memcpy(t, prefix, pl);
    memcpy(t + pl, "x-token: ", hl);
    memset(t + pl + hl, 'v', n - hl);
    memcpy(t + pl + n, end, el + 1);
    *len = pl + n + el;
    return t;
}

static void test_long_values(void **state)
{
    (void)state;
    size_t len;
    char *t;
    struct up_headers *h;

    /* A real token: an 8 KiB value. */
    t = long_line("", strlen("x-token: ") + 8192, "\n", &len);
    h = parse_ok(t, len);
    assert_int_equal(up_headers_count(h), 1);
    assert_int_equal(strlen(up_headers_value(h, 0)), 8192);
    up_headers_del(h);
    free(t);
    /* The limit: a line of exactly UP_HEADERS_LINE_MAX bytes, with LF, CRLF or nothing. */
    static const char *const ends[] = {"\n", "\r\n", ""};
    for (size_t i = 0; i < 3; i++) {
        t = long_line("# c\n", UP_HEADERS_LINE_MAX, ends[i], &len);
        h = parse_ok(t, len);
        assert_int_equal(strlen(up_headers_value(h, 0)), UP_HEADERS_LINE_MAX - 9);
        up_headers_del(h);
        free(t);
    }
    /* One byte more is refused, the value unquoted. */
    for (size_t i = 0; i < 3; i++) {
        t = long_line("# c\n", UP_HEADERS_LINE_MAX + 1, ends[i], &len);
        refused(t, len, -EFBIG, "h:2: line longer than 16384 bytes", "vvvvvvvv");
        free(t);
    }
    /* Over the limit even as a comment. */
    t = long_line("#", UP_HEADERS_LINE_MAX, "\n", &len);
    refused(t, len, -EFBIG, "h:1: line longer than 16384 bytes", NULL);
    free(t);
}

static void test_header_limit(void **state)
{
    (void)state;
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof(text), "# %d fields\n", UP_HEADERS_MAX);
    struct up_headers *h;

    for (int i = 0; i < UP_HEADERS_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "X-Key-%d: v%d\n\n", i, i);
    h = parse_ok(text, n);
    assert_int_equal(up_headers_count(h), UP_HEADERS_MAX);
    for (size_t i = 0; i < UP_HEADERS_MAX; i++) {
        char name[32], value[32];
        snprintf(name, sizeof(name), "x-key-%zu", i);
        snprintf(value, sizeof(value), "v%zu", i);
        assert_field(h, i, name, value);
    }
    up_headers_del(h);
    /* Blank lines and comments do not count; the 33rd field (line 67) does. */
    n += (size_t)snprintf(text + n, sizeof(text) - n, "# more\nx-extra: " SECRET "\n");
    refused(text, n, -E2BIG, "h:67: more than 32 header fields", SECRET);
}

static void test_size_limit(void **state)
{
    (void)state;
    size_t len = UP_HEADERS_FILE_MAX;
    char *t = malloc(len + 1);
    struct up_headers *h;

    assert_non_null(t);
    /* Exactly the limit: comment lines, and one field at the end. */
    memset(t, '#', len);
    for (size_t i = 100; i < len; i += 100)
        t[i] = '\n';
    memcpy(t + len - 8, "\nx-a: b\n", 8);
    h = parse_ok(t, len);
    assert_int_equal(up_headers_count(h), 1);
    up_headers_del(h);
    t[len] = '\n';
    refused(t, len + 1, -EFBIG, "h: larger than 65536 bytes", NULL);
    free(t);
}

/* ------------------------------------------------------------------------ refused lines */

struct bad {
    const char *line; /* the third line of a file */
    size_t len;
    int rv;
    const char *why;
};

#define BAD(l, rv, why)                                                                            \
    {                                                                                              \
        l, sizeof(l) - 1, rv, why                                                                  \
    }

static void test_refused_lines(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        /* Syntax. */
        BAD("Authorization Bearer " SECRET, -EINVAL,
            "h:3: no ':' after a field name (expected 'Name: value')"),
        BAD(SECRET, -EINVAL, "h:3: no ':' after a field name (expected 'Name: value')"),
        BAD(": " SECRET, -EINVAL, "h:3: empty field name"),
        BAD(":" SECRET, -EINVAL, "h:3: pseudo-header field (name starts with ':'), set by h3dp"),
        BAD(":authority: " SECRET, -EINVAL,
            "h:3: pseudo-header field (name starts with ':'), set by h3dp"),
        BAD("authorization : Bearer " SECRET, -EINVAL,
            "h:3: whitespace between the field name and ':'"),
        BAD("authorization\t: Bearer " SECRET, -EINVAL,
            "h:3: whitespace between the field name and ':'"),
        BAD("  x-api-key: " SECRET, -EINVAL,
            "h:3: starts with whitespace (continuation lines are not supported)"),
        BAD("\tx-api-key: " SECRET, -EINVAL,
            "h:3: starts with whitespace (continuation lines are not supported)"),
        BAD("x(y): " SECRET, -EINVAL,
            "h:3: field name has a non-token character at column 2 (RFC 9110 §5.6.2)"),
        BAD("x y: " SECRET, -EINVAL,
            "h:3: field name has a non-token character at column 2 (RFC 9110 §5.6.2)"),
        BAD("x-k\xc3\xa9y: " SECRET, -EINVAL,
            "h:3: field name has a non-token character at column 4 (RFC 9110 §5.6.2)"),
        BAD("x-\x01: " SECRET, -EINVAL,
            "h:3: field name has a non-token character at column 3 (RFC 9110 §5.6.2)"),
        /* A secret pasted where the name goes is not quoted either. */
        BAD("Bearer " SECRET ": x", -EINVAL,
            "h:3: field name has a non-token character at column 7 (RFC 9110 §5.6.2)"),
        BAD("x\"" SECRET "\": x", -EINVAL,
            "h:3: field name has a non-token character at column 2 (RFC 9110 §5.6.2)"),
        /* Connection-specific (RFC 9114 §4.2), and host. */
        BAD("connection: " SECRET, -EINVAL,
            "h:3: 'connection' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)"),
        BAD("Connection: close", -EINVAL,
            "h:3: 'connection' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)"),
        BAD("Keep-Alive: " SECRET, -EINVAL,
            "h:3: 'keep-alive' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)"),
        BAD("proxy-connection: " SECRET, -EINVAL,
            "h:3: 'proxy-connection' is connection-specific, not allowed in HTTP/3 (RFC 9114 "
            "§4.2)"),
        BAD("Transfer-Encoding: " SECRET, -EINVAL,
            "h:3: 'transfer-encoding' is connection-specific, not allowed in HTTP/3 (RFC 9114 "
            "§4.2)"),
        BAD("upgrade: " SECRET, -EINVAL,
            "h:3: 'upgrade' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)"),
        BAD("TE: trailers", -EINVAL,
            "h:3: 'te' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)"),
        BAD("Host: " SECRET, -EINVAL, "h:3: 'host' is not used in HTTP/3 (h3dp sends :authority)"),
        /* Set by h3dp itself. */
        BAD("Content-Type: " SECRET, -EINVAL, "h:3: 'content-type' is set by h3dp itself"),
        BAD("content-length: " SECRET, -EINVAL, "h:3: 'content-length' is set by h3dp itself"),
        BAD("content-encoding: " SECRET, -EINVAL, "h:3: 'content-encoding' is set by h3dp itself"),
        BAD("Content-Digest: " SECRET, -EINVAL, "h:3: 'content-digest' is set by h3dp itself"),
        BAD("h3dp-batch: " SECRET, -EINVAL, "h:3: 'h3dp-batch' is set by h3dp itself"),
        BAD("H3DP-Records: " SECRET, -EINVAL, "h:3: 'h3dp-records' is set by h3dp itself"),
        BAD("h3dp-framing: " SECRET, -EINVAL, "h:3: 'h3dp-framing' is set by h3dp itself"),
        /* Values: control characters, bare CR. */
        BAD("X-Key: " SECRET "\x01" SECRET, -EINVAL,
            "h:3: field 'X-Key': control character in the value at column 14"),
        BAD("x-key: " SECRET "\x7f", -EINVAL,
            "h:3: field 'x-key': control character in the value at column 14"),
        BAD("x-key: " SECRET "\0" SECRET, -EINVAL,
            "h:3: field 'x-key': control character in the value at column 14"),
        BAD("x-key: " SECRET "\x1b[0m", -EINVAL,
            "h:3: field 'x-key': control character in the value at column 14"),
        BAD("x-key: " SECRET "\r" SECRET, -EINVAL, "h:3: field 'x-key': bare CR in the value"),
        BAD("x-key: " SECRET "\r\r", -EINVAL, "h:3: field 'x-key': bare CR in the value"),
        BAD("x-key: " SECRET "\r\rx-b: c", -EINVAL, "h:3: field 'x-key': bare CR in the value"),
    };
    static const char head[] = "x-ok: fine\n# comment\n";
    char text[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t hl = sizeof(head) - 1;
        memcpy(text, head, hl);
        memcpy(text + hl, bad[i].line, bad[i].len);
        /* As the last line, then followed by more lines (LF, then CRLF). */
        refused(text, hl + bad[i].len, bad[i].rv, bad[i].why, SECRET);
        memcpy(text + hl + bad[i].len, "\nx-after: 1\n", 12);
        refused(text, hl + bad[i].len + 12, bad[i].rv, bad[i].why, SECRET);
        memcpy(text + hl + bad[i].len, "\r\nx-after: 1\r\n", 14);
        refused(text, hl + bad[i].len + 14, bad[i].rv, bad[i].why, SECRET);
    }
    /* A CR as the last byte (no LF) is a bare CR, not a line end. */
    refused("x-key: " SECRET "\r", 14, -EINVAL, "h:1: field 'x-key': bare CR in the value", SECRET);
}

static void test_why_buffers(void **state)
{
    (void)state;
    struct up_headers *h = (struct up_headers *)1;
    char small[8];

    assert_int_equal(up_headers_parse("x", 1, "h", &h, NULL, 0), -EINVAL);
    assert_null(h);
    memset(small, 'z', sizeof(small));
    assert_int_equal(up_headers_parse("x", 1, "h", &h, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "h:1: no");
    /* No label: "headers". */
    char why[128];
    assert_int_equal(up_headers_parse("x", 1, NULL, &h, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "headers:1: no ':' after a field name (expected 'Name: value')");
}

/* ------------------------------------------------------------------------ files */

static void test_load_modes_ok(void **state)
{
    (void)state;
    static const mode_t ok[] = {0600, 0640, 0400, 0440, 0660};
    static const char text[] = "Authorization: Bearer " SECRET "\nX-Tenant: acme\n";
    struct up_headers *h;
    char why[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *p = write_file("ok", text, sizeof(text) - 1, ok[i]);
        if (load(p, &h, why, sizeof(why)) != 0)
            fail_msg("mode %04o refused: %s", (unsigned)ok[i], why);
        assert_int_equal(up_headers_count(h), 2);
        assert_field(h, 0, "authorization", "Bearer " SECRET);
        assert_field(h, 1, "x-tenant", "acme");
        up_headers_del(h);
    }
    /* A symlink to a good file is followed (a mounted secret is often one). */
    char target[256];
    snprintf(target, sizeof(target), "%s", tmp_path("ok"));
    assert_int_equal(symlink(target, tmp_path("link")), 0);
    assert_int_equal(load(tmp_path("link"), &h, why, sizeof(why)), 0);
    assert_int_equal(up_headers_count(h), 2);
    up_headers_del(h);
}

static void test_load_modes_refused(void **state)
{
    (void)state;
    static const struct {
        mode_t mode;
        const char *what;
    } bad[] = {
        {0644, "readable by others (mode 0644)"},
        {0604, "readable by others (mode 0604)"},
        {0606, "readable and writable by others (mode 0606)"},
        {0602, "writable by others (mode 0602)"},
        {0666, "readable and writable by others (mode 0666)"},
        {0777, "readable and writable by others (mode 0777)"},
        {04604, "readable by others (mode 4604)"},
    };
    static const char text[] = "x-api-key: " SECRET "\n";
    struct up_headers *h;
    char why[512], want[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *p = write_file("secret", text, sizeof(text) - 1, bad[i].mode);
        assert_int_equal(load(p, &h, why, sizeof(why)), -EACCES);
        assert_null(h);
        snprintf(want, sizeof(want), "%s: %s: chmod o-rw %s", p, bad[i].what, p);
        assert_string_equal(why, want);
        assert_null(strstr(why, SECRET));
    }
}

static void test_load_not_regular(void **state)
{
    (void)state;
    struct up_headers *h;
    char why[512], want[512];
    const char *p;

    p = tmp_path("dir");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(load(p, &h, why, sizeof(why)), -EISDIR);
    assert_null(h);
    snprintf(want, sizeof(want), "%s: not a regular file (a directory)", p);
    assert_string_equal(why, want);

    /* A FIFO with no writer: refused at once, not waited on (SIGALRM ends a hang). */
    p = tmp_path("fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    alarm(5);
    assert_int_equal(load(p, &h, why, sizeof(why)), -EINVAL);
    alarm(0);
    assert_null(h);
    snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", p);
    assert_string_equal(why, want);

    p = tmp_path("missing");
    assert_int_equal(load(p, &h, why, sizeof(why)), -ENOENT);
    assert_null(h);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", p);
    assert_string_equal(why, want);

    /* A dangling symlink is a missing file. */
    char target[256];
    snprintf(target, sizeof(target), "%s", tmp_path("nowhere"));
    assert_int_equal(symlink(target, tmp_path("dangling")), 0);
    assert_int_equal(load(tmp_path("dangling"), &h, why, sizeof(why)), -ENOENT);

    /* Unreadable by us (root reads it anyway: skipped then). */
    if (geteuid() != 0) {
        p = write_file("wo", "x: y\n", 5, 0200);
        assert_int_equal(load(p, &h, why, sizeof(why)), -EACCES);
        snprintf(want, sizeof(want), "%s: cannot open: Permission denied", p);
        assert_string_equal(why, want);
    }
}

static void test_load_size(void **state)
{
    (void)state;
    size_t len = UP_HEADERS_FILE_MAX;
    char *t = malloc(len + 1);
    struct up_headers *h;
    char why[512], want[512];
    const char *p;
    int fd;

    assert_non_null(t);
    memset(t, '#', len + 1);
    for (size_t i = 100; i < len; i += 100)
        t[i] = '\n';
    memcpy(t + len - 8, "\nx-a: b\n", 8);
    p = write_file("max", t, len, 0600);
    assert_int_equal(load(p, &h, why, sizeof(why)), 0);
    assert_int_equal(up_headers_count(h), 1);
    up_headers_del(h);

    p = write_file("over", t, len + 1, 0600);
    assert_int_equal(load(p, &h, why, sizeof(why)), -EFBIG);
    assert_null(h);
    snprintf(want, sizeof(want), "%s: larger than 65536 bytes", p);
    assert_string_equal(why, want);
    free(t);

    /* A sparse 1 GiB file: refused by its size, not read. */
    p = write_file("huge", "", 0, 0600);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0);
    close(fd);
    assert_int_equal(load(p, &h, why, sizeof(why)), -EFBIG);
    snprintf(want, sizeof(want), "%s: larger than 65536 bytes", p);
    assert_string_equal(why, want);
}

static void test_load_syntax(void **state)
{
    (void)state;
    static const char text[] = "# tokens\r\nAuthorization: Bearer ok\r\nx-api-key " SECRET "\r\n";
    struct up_headers *h;
    char why[512], want[512];
    const char *p = write_file("bad", text, sizeof(text) - 1, 0600);

    assert_int_equal(load(p, &h, why, sizeof(why)), -EINVAL);
    assert_null(h);
    snprintf(want, sizeof(want), "%s:3: no ':' after a field name (expected 'Name: value')", p);
    assert_string_equal(why, want);
    assert_null(strstr(why, SECRET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_refused_lines),
        cmocka_unit_test(test_why_buffers),
        cmocka_unit_test_setup_teardown(test_load_modes_ok, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_modes_refused, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_not_regular, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_size, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_syntax, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
