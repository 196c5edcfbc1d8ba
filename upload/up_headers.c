/* up_headers.c: the headers file (see up_headers.h). Nothing here logs: the values are
 * secrets, and the caller decides where a reason goes. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bfile.h"
#include "up_headers.h"

/* One owned block: the header, |n| h3_header entries, then the strings they point to. */
struct up_headers {
    size_t n;
    size_t size; /* bytes of the block, zeroed on del */
    struct h3_header list[];
};

/* A field as found in the text, before it is copied. */
struct field {
    const char *name, *value;
    size_t nlen, vlen;
};

/* Connection-specific fields, forbidden in HTTP/3 (RFC 9114 §4.2). te would be allowed as
 * "te: trailers", but an upload has no use for it. */
static const char *const conn_specific[] = {"connection",        "keep-alive", "proxy-connection",
                                            "transfer-encoding", "upgrade",    "te"};
/* Fields the engine sets on every request itself (up_batch.c; h3 adds content-length). */
static const char *const set_by_h3dp[] = {"content-type",   "content-length", "content-encoding",
                                          "content-digest", "h3dp-batch",     "h3dp-records",
                                          "h3dp-framing"};
/* HTTP/3 carries the authority in :authority (RFC 9114 §4.3.1). */
static const char *const not_in_h3[] = {"host"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int fail(char *why, size_t whylen, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int rv, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

/* tchar (RFC 9110 §5.6.2): the characters of a token. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* OWS (RFC 9110 §5.6.3). */
static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The entry of |tab| that the token |name| (|nlen| bytes) names, ignoring case, or NULL. */
static const char *lookup(const char *const *tab, size_t n, const char *name, size_t nlen)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        if (strlen(tab[i]) != nlen)
            continue;
        while (j < nlen && ascii_lower((unsigned char)name[j]) == (unsigned char)tab[i][j])
            j++;
        if (j == nlen)
            return tab[i];
    }
    return NULL;
}

/* One line |p| (|n| bytes, its LF or CRLF removed), number |line| of |label|. Returns 1
 * with *|f| set for a field, 0 for a blank or comment line, or a negative errno with the
 * reason in |why|. Never quotes the value, nor a name that is not a valid token. */
static int parse_line(const char *p, size_t n, const char *label, unsigned line, struct field *f,
                      char *why, size_t whylen)
{
    size_t i = 0;
    const char *colon, *v, *e, *hit;

    while (i < n && is_ows((unsigned char)p[i]))
        i++;
    if (i == n || p[i] == '#')
        return 0;
    if (i > 0)
        return fail(why, whylen, -EINVAL,
                    "%s:%u: starts with whitespace (continuation lines are not supported)", label,
                    line);
    if (p[0] == ':') {
        if (n > 1 && is_tchar((unsigned char)p[1]))
            return fail(why, whylen, -EINVAL,
                        "%s:%u: pseudo-header field (name starts with ':'), set by h3dp", label,
                        line);
        return fail(why, whylen, -EINVAL, "%s:%u: empty field name", label, line);
    }
    if (!(colon = memchr(p, ':', n)))
        return fail(why, whylen, -EINVAL,
                    "%s:%u: no ':' after a field name (expected 'Name: value')", label, line);
    f->name = p;
    f->nlen = (size_t)(colon - p);
    for (i = 0; i < f->nlen; i++) {
        if (is_tchar((unsigned char)p[i]))
            continue;
        size_t j = i;
        while (j < f->nlen && is_ows((unsigned char)p[j]))
            j++;
        if (j == f->nlen)
            return fail(why, whylen, -EINVAL, "%s:%u: whitespace between the field name and ':'",
                        label, line);
        return fail(why, whylen, -EINVAL,
                    "%s:%u: field name has a non-token character at column %zu (RFC 9110 §5.6.2)",
                    label, line, i + 1);
    }
    if ((hit = lookup(conn_specific, N_OF(conn_specific), f->name, f->nlen)))
        return fail(why, whylen, -EINVAL,
                    "%s:%u: '%s' is connection-specific, not allowed in HTTP/3 (RFC 9114 §4.2)",
                    label, line, hit);
    if (lookup(not_in_h3, N_OF(not_in_h3), f->name, f->nlen))
        return fail(why, whylen, -EINVAL,
                    "%s:%u: 'host' is not used in HTTP/3 (h3dp sends :authority)", label, line);
    if ((hit = lookup(set_by_h3dp, N_OF(set_by_h3dp), f->name, f->nlen)))
        return fail(why, whylen, -EINVAL, "%s:%u: '%s' is set by h3dp itself", label, line, hit);

    /* The value: OWS trimmed, then field-vchar / obs-text with SP and HTAB (RFC 9110 §5.5). */
    v = colon + 1;
    e = p + n;
    while (v < e && is_ows((unsigned char)*v))
        v++;
    while (e > v && is_ows((unsigned char)e[-1]))
        e--;
    for (const char *q = v; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '\r')
            return fail(why, whylen, -EINVAL, "%s:%u: field '%.*s': bare CR in the value", label,
                        line, (int)f->nlen, f->name);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(why, whylen, -EINVAL,
                        "%s:%u: field '%.*s': control character in the value at column %zu", label,
                        line, (int)f->nlen, f->name, (size_t)(q - p) + 1);
    }
    f->value = v;
    f->vlen = (size_t)(e - v);
    return 1;
}

/* One block holding the |n| fields of |fs|, names lowercased; NULL without memory. */
static struct up_headers *build(const struct field *fs, size_t n)
{
    size_t size = sizeof(struct up_headers) + n * sizeof(struct h3_header);
    struct up_headers *h;
    char *s;

    for (size_t i = 0; i < n; i++)
        size += fs[i].nlen + 1 + fs[i].vlen + 1;
    if (!(h = malloc(size)))
        return NULL;
    h->n = n;
    h->size = size;
    s = (char *)&h->list[n];
    for (size_t i = 0; i < n; i++) {
        h->list[i].name = s;
        for (size_t j = 0; j < fs[i].nlen; j++)
            *s++ = (char)ascii_lower((unsigned char)fs[i].name[j]);
        *s++ = '\0';
        h->list[i].value = s;
        memcpy(s, fs[i].value, fs[i].vlen);
        s += fs[i].vlen;
        *s++ = '\0';
    }
    return h;
}

int up_headers_parse(const char *text, size_t len, const char *label, struct up_headers **out,
                     char *why, size_t whylen)
{
    struct field fs[UP_HEADERS_MAX], f;
    size_t n = 0, pos = 0;
    unsigned line = 0;
    int rv;

    *out = NULL;
    if (!label)
        label = "headers";
    if (len > UP_HEADERS_FILE_MAX)
        return fail(why, whylen, -EFBIG, "%s: larger than %d bytes", label, UP_HEADERS_FILE_MAX);
    while (pos < len) {
        const char *p = text + pos;
        const char *lf = memchr(p, '\n', len - pos);
        size_t ll = lf ? (size_t)(lf - p) : len - pos;

        line++;
        pos += ll + (lf ? 1 : 0);
        if (lf && ll && p[ll - 1] == '\r')
            ll--; /* CRLF */
        if (ll > UP_HEADERS_LINE_MAX)
            return fail(why, whylen, -EFBIG, "%s:%u: line longer than %d bytes", label, line,
                        UP_HEADERS_LINE_MAX);
        if ((rv = parse_line(p, ll, label, line, &f, why, whylen)) < 0)
            return rv;
        if (rv == 0)
            continue;
        if (n == UP_HEADERS_MAX)
            return fail(why, whylen, -E2BIG, "%s:%u: more than %d header fields", label, line,
                        UP_HEADERS_MAX);
        fs[n++] = f;
    }
    if (!(*out = build(fs, n)))
        return fail(why, whylen, -ENOMEM, "%s: out of memory", label);
    return 0;
}

/* The file of |path|, open as |fd| with mode |m|, fit to hold secrets: no access for
 * others. 0 or -EACCES with the reason. */
static int check_mode(mode_t m, const char *path, char *why, size_t whylen)
{
    if (m & (S_IROTH | S_IWOTH)) {
        const char *what = (m & S_IROTH) && (m & S_IWOTH) ? "readable and writable"
                           : m & S_IROTH                  ? "readable"
                                                          : "writable";
        return fail(why, whylen, -EACCES, "%s: %s by others (mode %04o): chmod o-rw %s", path, what,
                    (unsigned)(m & 07777), path);
    }
    return 0;
}

int up_headers_load(const char *path, struct up_headers **out, char *why, size_t whylen)
{
    char reason[128], *buf = NULL;
    size_t got = 0;
    mode_t mode;
    int fd, rv;

    *out = NULL;
    /* A regular file under the limit, opened without blocking: a FIFO or a device is
     * refused before a byte is read (bfile.h). */
    fd = bfile_open(path, UP_HEADERS_FILE_MAX, &mode, reason, sizeof(reason));
    if (fd < 0)
        return fail(why, whylen, fd, "%s: %s", path, reason);
    if ((rv = check_mode(mode, path, why, whylen)) != 0)
        goto out_close;
    if ((rv = bfile_read_fd(fd, UP_HEADERS_FILE_MAX, &buf, &got, reason, sizeof(reason))) < 0) {
        fail(why, whylen, rv, "%s: %s", path, reason);
        goto out_close;
    }
    rv = up_headers_parse(buf, got, path, out, why, whylen);
    explicit_bzero(buf, got);
    free(buf);
out_close:
    close(fd);
    return rv;
}

size_t up_headers_count(const struct up_headers *h)
{
    return h->n;
}

const char *up_headers_name(const struct up_headers *h, size_t i)
{
    return i < h->n ? h->list[i].name : NULL;
}

const char *up_headers_value(const struct up_headers *h, size_t i)
{
    return i < h->n ? h->list[i].value : NULL;
}

const struct h3_header *up_headers_list(const struct up_headers *h)
{
    return h->list;
}

void up_headers_del(struct up_headers *h)
{
    if (!h)
        return;
    explicit_bzero(h, h->size);
    free(h);
}
