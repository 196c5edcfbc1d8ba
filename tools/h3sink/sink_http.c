/* sink_http.c: pure HTTP helpers of h3sink (see sink_http.h). */
#include "sink_http.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

/* Pattern buffer: 64 periods, so one vector covers many packets. */
#define PATTERN_PERIODS 64
static uint8_t pattern[SINK_PATTERN_MOD * PATTERN_PERIODS];
static int pattern_ready;

const uint8_t *sink_pattern_buf(size_t *len)
{
    if (!pattern_ready) {
        for (size_t i = 0; i < sizeof(pattern); i++)
            pattern[i] = sink_pattern_byte(i);
        pattern_ready = 1;
    }
    *len = sizeof(pattern) - SINK_PATTERN_MOD;
    return pattern;
}

size_t sink_pattern_check(const uint8_t *p, size_t len, uint64_t off)
{
    unsigned v = (unsigned)(off % SINK_PATTERN_MOD);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != v)
            return i;
        if (++v == SINK_PATTERN_MOD)
            v = 0;
    }
    return len;
}

/* The base64 alphabet (RFC 4648 §4): what a Structured Fields byte sequence may hold
 * besides '=' (RFC 8941 §3.3.5). Decoding goes through the crypto seam. */
static int is_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* --- RFC 8941 dictionary scanning (only as much as content-digest needs) --- */

struct scan {
    const char *p, *end;
};

static int is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}
static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void skip_sp(struct scan *s)
{
    while (s->p < s->end && *s->p == ' ')
        s->p++;
}

static void skip_ows(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
}

/* key: lcalpha or star, then lcalpha, DIGIT, underscore, dash, dot or star. */
static int scan_key(struct scan *s, const char **k, size_t *klen)
{
    const char *b = s->p;
    if (s->p >= s->end || !(is_lcalpha(*s->p) || *s->p == '*'))
        return -1;
    s->p++;
    while (s->p < s->end && (is_lcalpha(*s->p) || is_digit(*s->p) || *s->p == '_' || *s->p == '-' ||
                             *s->p == '.' || *s->p == '*'))
        s->p++;
    *k = b;
    *klen = (size_t)(s->p - b);
    return 0;
}

static int is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One bare item (RFC 8941 §3.3). A byte sequence has its base64 text returned. */
static int scan_bare_item(struct scan *s, const char **bs, size_t *bslen)
{
    *bs = NULL;
    if (s->p >= s->end)
        return -1;
    char c = *s->p;
    if (c == ':') {
        const char *b = ++s->p;
        while (s->p < s->end && *s->p != ':') {
            if (!is_b64_char((unsigned char)*s->p) && *s->p != '=')
                return -1;
            s->p++;
        }
        if (s->p >= s->end)
            return -1;
        *bs = b;
        *bslen = (size_t)(s->p - b);
        s->p++;
        return 0;
    }
    if (c == '"') {
        s->p++;
        while (s->p < s->end && *s->p != '"') {
            if (*s->p == '\\') {
                s->p++;
                if (s->p >= s->end || (*s->p != '"' && *s->p != '\\'))
                    return -1;
            } else if ((unsigned char)*s->p < 0x20 || (unsigned char)*s->p > 0x7e) {
                return -1;
            }
            s->p++;
        }
        if (s->p >= s->end)
            return -1;
        s->p++;
        return 0;
    }
    if (c == '?') {
        s->p++;
        if (s->p >= s->end || (*s->p != '0' && *s->p != '1'))
            return -1;
        s->p++;
        return 0;
    }
    if (c == '-' || is_digit(c)) {
        int digits = 0, dot = 0;
        if (c == '-')
            s->p++;
        while (s->p < s->end && (is_digit(*s->p) || (*s->p == '.' && !dot))) {
            if (*s->p == '.')
                dot = 1;
            else
                digits++;
            s->p++;
        }
        return digits > 0 && digits <= 15 ? 0 : -1;
    }
    if (is_alpha(c) || c == '*') {
        s->p++;
        while (s->p < s->end && (is_tchar(*s->p) || *s->p == ':' || *s->p == '/'))
            s->p++;
        return 0;
    }
    return -1;
}

/* parameters = *( ";" *SP key [ "=" bare-item ] ) */
static int scan_params(struct scan *s)
{
    while (s->p < s->end && *s->p == ';') {
        const char *k, *bs;
        size_t klen, bslen;
        s->p++;
        skip_sp(s);
        if (scan_key(s, &k, &klen) < 0)
            return -1;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            if (scan_bare_item(s, &bs, &bslen) < 0)
                return -1;
        }
    }
    return 0;
}

int sink_digest_parse(const char *v, size_t len, uint8_t out[SINK_SHA256_LEN])
{
    struct scan s = {v, v + len};
    int found = SINK_DIGEST_ABSENT;

    skip_sp(&s);
    skip_ows(&s);
    if (s.p == s.end)
        return SINK_DIGEST_MALFORMED; /* an empty field is not a dictionary member */
    for (;;) {
        const char *k, *bs = NULL;
        size_t klen, bslen = 0;
        int has_value = 0;

        if (scan_key(&s, &k, &klen) < 0)
            return SINK_DIGEST_MALFORMED;
        if (s.p < s.end && *s.p == '=') {
            s.p++;
            if (scan_bare_item(&s, &bs, &bslen) < 0)
                return SINK_DIGEST_MALFORMED;
            has_value = 1;
        }
        if (scan_params(&s) < 0)
            return SINK_DIGEST_MALFORMED;
        if (klen == 7 && memcmp(k, "sha-256", 7) == 0) {
            /* Later members override earlier ones (RFC 8941 §4.2.2). */
            uint8_t tmp[SINK_SHA256_LEN + 3];
            if (!has_value || bs == NULL ||
                crypto_base64_decode(bs, bslen, tmp, sizeof(tmp)) != SINK_SHA256_LEN)
                return SINK_DIGEST_MALFORMED;
            memcpy(out, tmp, SINK_SHA256_LEN);
            found = SINK_DIGEST_SHA256;
        }
        skip_ows(&s);
        if (s.p == s.end)
            return found;
        if (*s.p != ',')
            return SINK_DIGEST_MALFORMED;
        s.p++;
        skip_ows(&s);
        if (s.p == s.end)
            return SINK_DIGEST_MALFORMED; /* trailing comma */
    }
}

int sink_bytes_path(const char *path, size_t len, uint64_t max, uint64_t *n)
{
    static const char prefix[] = "/bytes/";
    const size_t plen = sizeof(prefix) - 1;
    uint64_t v = 0;
    size_t i;

    if (len < plen || memcmp(path, prefix, plen) != 0)
        return 0;
    for (i = plen; i < len && path[i] != '?'; i++) {
        if (!is_digit(path[i]))
            return -1;
        unsigned d = (unsigned)(path[i] - '0');
        if (d > max || v > max / 10 || v * 10 > max - d)
            return -1;
        v = v * 10 + d;
    }
    if (i == plen)
        return -1;
    *n = v;
    return 1;
}

int sink_receipt(char *out, size_t cap, uint64_t bytes, uint64_t decoded, int64_t records,
                 const char *digest_word, const char *error)
{
    char rec[40] = "";
    int n;
    size_t o;

    if (records >= 0)
        snprintf(rec, sizeof(rec), ",\"records\":%lld", (long long)records);
    n = snprintf(out, cap, "{\"bytes\":%llu,\"decoded\":%llu%s,\"digest\":\"%s\"",
                 (unsigned long long)bytes, (unsigned long long)decoded, rec, digest_word);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    o = (size_t)n;
    if (error != NULL) {
        static const char key[] = ",\"error\":\"";
        size_t elen = strlen(error);
        if (o + sizeof(key) - 1 + elen >= cap)
            return -1;
        memcpy(out + o, key, sizeof(key) - 1);
        o += sizeof(key) - 1;
        for (size_t i = 0; i < elen; i++) {
            unsigned char ch = (unsigned char)error[i];
            /* Printable ASCII needs no escape except these two (RFC 8259 §7). */
            out[o++] = ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
        }
        out[o++] = '"';
    }
    if (o + 2 >= cap)
        return -1;
    out[o++] = '}';
    out[o++] = '\n';
    out[o] = '\0';
    return (int)o;
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

int sink_coding_parse(const char *v, size_t len, int prev)
{
    size_t i = 0;
    int r = prev;

    while (i < len) {
        size_t b, e;
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        b = i;
        while (i < len && v[i] != ',')
            i++;
        e = i;
        while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (i < len)
            i++; /* the comma */
        if (e == b || token_is(v + b, e - b, "identity"))
            continue;
        /* Two codings (zstd over gzip, zstd over zstd) would need two decoders:
         * not something h3sink does. "x-gzip" is "gzip" (RFC 9110 §8.4.1.3). */
        if (r != SINK_CODING_IDENTITY)
            r = SINK_CODING_UNSUPPORTED;
        else if (token_is(v + b, e - b, "zstd"))
            r = SINK_CODING_ZSTD;
        else if (token_is(v + b, e - b, "gzip") || token_is(v + b, e - b, "x-gzip"))
            r = SINK_CODING_GZIP;
        else
            r = SINK_CODING_UNSUPPORTED;
    }
    return r;
}
