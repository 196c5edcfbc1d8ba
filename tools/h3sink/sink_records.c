/* sink_records.c: record splitting of h3sink's uploads (see sink_records.h). */
#include "sink_records.h"

#include <string.h>

/* Copy chunk of sink_rec_commit. */
#define SPOOL_COPY_LEN (16 * 1024)

static const char h3dp_framing[] = "h3dp-framing";
static const char h3dp_records[] = "h3dp-records";

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trim optional whitespace (RFC 9110 §5.6.3) around |*v|. */
static void trim(const char **v, size_t *len)
{
    while (*len > 0 && is_ows(**v))
        (*v)++, (*len)--;
    while (*len > 0 && is_ows((*v)[*len - 1]))
        (*len)--;
}

/* ASCII case-insensitive equality of |a| (|alen| bytes) and the lowercase |lc|. */
static int token_is(const char *a, size_t alen, const char *lc)
{
    size_t n = strlen(lc);
    if (alen != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lc[i])
            return 0;
    }
    return 1;
}

int sink_framing_parse(const char *v, size_t len)
{
    trim(&v, &len);
    if (token_is(v, len, "newline"))
        return SINK_FRAMING_NEWLINE;
    if (token_is(v, len, "length"))
        return SINK_FRAMING_LENGTH;
    if (token_is(v, len, "none"))
        return SINK_FRAMING_NONE;
    return SINK_FRAMING_INVALID;
}

const char *sink_framing_name(int framing)
{
    switch (framing) {
    case SINK_FRAMING_NONE:
        return "none";
    case SINK_FRAMING_NEWLINE:
        return "newline";
    case SINK_FRAMING_LENGTH:
        return "length";
    default:
        return "";
    }
}

int sink_rec_count_parse(const char *v, size_t len, uint64_t *n)
{
    uint64_t r = 0;

    trim(&v, &len);
    if (len == 0 || len > SINK_REC_COUNT_DIGITS)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        r = r * 10 + (uint64_t)(v[i] - '0');
    }
    *n = r;
    return 0;
}

void sink_rec_header(struct sink_rec *r, const char *name, size_t nlen, const char *v, size_t vlen)
{
    if (nlen == sizeof(h3dp_framing) - 1 && memcmp(name, h3dp_framing, nlen) == 0) {
        /* One value only: two field lines would be a list (RFC 9110 §5.3). */
        r->framing = (uint8_t)(r->framing == SINK_FRAMING_ABSENT ? sink_framing_parse(v, vlen)
                                                                 : SINK_FRAMING_INVALID);
    } else if (nlen == sizeof(h3dp_records) - 1 && memcmp(name, h3dp_records, nlen) == 0) {
        if (r->count == SINK_COUNT_ABSENT && sink_rec_count_parse(v, vlen, &r->expect) == 0)
            r->count = SINK_COUNT_OK;
        else
            r->count = SINK_COUNT_BAD;
    }
}

static void rec_fail(struct sink_rec *r, enum sink_rec_err err, uint64_t off)
{
    r->err = (uint8_t)err;
    r->err_off = off;
}

static void feed_newline(struct sink_rec *r, const uint8_t *p, size_t len)
{
    while (len > 0) {
        const uint8_t *nl = memchr(p, '\n', len);
        size_t k;

        if (nl == NULL) {
            r->cur += len;
            r->off += len;
            return;
        }
        k = (size_t)(nl - p);
        if (r->cur + k == 0) {
            rec_fail(r, SINK_REC_EMPTY, r->off);
            r->off += len;
            return;
        }
        r->found++;
        r->cur = 0;
        r->off += k + 1;
        p += k + 1;
        len -= k + 1;
    }
}

static void feed_length(struct sink_rec *r, const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (r->cur > 0) {
            size_t take = r->cur < len ? (size_t)r->cur : len;
            r->cur -= take;
            r->off += take;
            p += take;
            len -= take;
            if (r->cur == 0)
                r->found++;
            continue;
        }
        /* A prefix, possibly continued from the previous piece. */
        r->pre[r->npre++] = *p++;
        r->off++;
        len--;
        if (r->npre < SINK_REC_PREFIX_LEN)
            continue;
        r->npre = 0;
        r->rec_len = (uint64_t)r->pre[0] << 24 | (uint64_t)r->pre[1] << 16 |
                     (uint64_t)r->pre[2] << 8 | r->pre[3];
        r->cur = r->rec_len;
        if (r->cur == 0)
            r->found++; /* an empty record */
    }
}

void sink_rec_feed(struct sink_rec *r, const uint8_t *p, size_t len)
{
    if (r->err != SINK_REC_OK) {
        r->off += len;
        return;
    }
    if (r->framing == SINK_FRAMING_NEWLINE)
        feed_newline(r, p, len);
    else if (r->framing == SINK_FRAMING_LENGTH)
        feed_length(r, p, len);
    else
        r->off += len;
}

void sink_rec_end(struct sink_rec *r)
{
    if (r->err != SINK_REC_OK)
        return;
    if (r->framing == SINK_FRAMING_NEWLINE && r->cur > 0)
        rec_fail(r, SINK_REC_UNTERMINATED, r->off - r->cur);
    else if (r->framing == SINK_FRAMING_LENGTH && r->npre > 0)
        rec_fail(r, SINK_REC_TRUNC_PREFIX, r->off - r->npre);
    else if (r->framing == SINK_FRAMING_LENGTH && r->cur > 0)
        rec_fail(r, SINK_REC_TRUNC_RECORD, r->off - (r->rec_len - r->cur) - SINK_REC_PREFIX_LEN);
}

int sink_rec_split(const struct sink_rec *r, uint64_t *n)
{
    if (r->framing != SINK_FRAMING_NEWLINE && r->framing != SINK_FRAMING_LENGTH)
        return 0;
    *n = r->found;
    return 1;
}

int sink_rec_verdict(const struct sink_rec *r, char *why, size_t cap)
{
    unsigned long long off = (unsigned long long)r->err_off;

    switch (r->framing) {
    case SINK_FRAMING_ABSENT:
        return 0;
    case SINK_FRAMING_INVALID:
        snprintf(why, cap, "framing: h3dp-framing is not one of newline, length, none");
        return -1;
    default:
        break;
    }
    if (r->count != SINK_COUNT_OK) {
        snprintf(why, cap, "framing: h3dp-records %s",
                 r->count == SINK_COUNT_ABSENT ? "missing" : "is not one decimal count");
        return -1;
    }
    switch (r->err) {
    case SINK_REC_EMPTY:
        snprintf(why, cap, "framing: empty record at byte %llu", off);
        return -1;
    case SINK_REC_UNTERMINATED:
        snprintf(why, cap, "framing: record at byte %llu has no newline", off);
        return -1;
    case SINK_REC_TRUNC_PREFIX:
        snprintf(why, cap, "framing: truncated length prefix at byte %llu", off);
        return -1;
    case SINK_REC_TRUNC_RECORD:
        snprintf(why, cap, "framing: truncated record at byte %llu (%llu of %llu bytes)", off,
                 (unsigned long long)(r->rec_len - r->cur), (unsigned long long)r->rec_len);
        return -1;
    default:
        break;
    }
    if (r->framing != SINK_FRAMING_NONE && r->found != r->expect) {
        snprintf(why, cap, "framing: %llu records split, h3dp-records says %llu",
                 (unsigned long long)r->found, (unsigned long long)r->expect);
        return -1;
    }
    return 0;
}

void sink_rec_count(struct sink_rec_stats *st, const struct sink_rec *r)
{
    uint64_t n;
    int i;

    if (r->framing < SINK_FRAMING_NONE || r->framing > SINK_FRAMING_LENGTH)
        return;
    i = r->framing - SINK_FRAMING_NONE;
    st->uploads[i]++;
    if (sink_rec_split(r, &n)) {
        st->records[i] += n;
        st->records_framed += n;
    } else if (r->count == SINK_COUNT_OK) {
        st->records[i] += r->expect;
    }
}

void sink_rec_keep(struct sink_rec *r, const uint8_t *p, size_t len)
{
    if ((r->framing != SINK_FRAMING_NEWLINE && r->framing != SINK_FRAMING_LENGTH) ||
        r->spool_failed || r->err != SINK_REC_OK || len == 0)
        return;
    if (r->spool == NULL && (r->spool = tmpfile()) == NULL) {
        r->spool_failed = 1;
        return;
    }
    if (fwrite(p, 1, len, r->spool) != len)
        r->spool_failed = 1;
}

int sink_rec_commit(struct sink_rec *r, FILE *out)
{
    char buf[SPOOL_COPY_LEN];
    int rv = r->spool_failed ? -1 : 0;

    if (r->spool != NULL && rv == 0) {
        size_t n;
        if (fflush(r->spool) != 0 || fseek(r->spool, 0, SEEK_SET) != 0)
            rv = -1;
        while (rv == 0 && (n = fread(buf, 1, sizeof(buf), r->spool)) > 0)
            if (fwrite(buf, 1, n, out) != n)
                rv = -1;
        if (rv == 0 && (ferror(r->spool) || fflush(out) != 0))
            rv = -1;
    }
    sink_rec_drop(r);
    return rv;
}

void sink_rec_drop(struct sink_rec *r)
{
    if (r->spool != NULL)
        fclose(r->spool);
    r->spool = NULL;
}
