/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for h3sink's request handling: the field and body parsers that
 * tools/h3sink/sink.c runs on every request, in its order, on any request — the path
 * (sink_bytes_path), content-encoding (sink_coding_parse), content-digest
 * (sink_digest_parse), h3dp-framing / h3dp-records (sink_rec_header), then the body in
 * pieces of any size through the gzip decoder (sink_gzip.c) into the record splitter
 * (sink_records.c, with the --records-out spool), the end (sink_gz_finish,
 * sink_rec_end), the verdict and the receipt. Nothing crashes, leaks or reads out of
 * bounds; every verdict is one line; the receipt is always written.
 *
 * The input: byte 0 seeds the body's cut points (its top bit: spool the records as
 * --records-out does); then field lines "name: value\n" up to
 * an empty line (the request's fields, names as given, lower case in HTTP/3); the rest is
 * the body as sent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "sink_gzip.h"
#include "sink_http.h"
#include "sink_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct req {
    struct sink_rec rec;
    int coding;
    int digest;
    uint8_t expect[SINK_SHA256_LEN];
    uint64_t decoded;
    int keep; /* --records-out: spool the records (a temporary file per upload) */
};

static void decoded_out(void *arg, const uint8_t *p, size_t len)
{
    struct req *q = arg;

    if (len == 0)
        abort(); /* the decoder hands out > 0 bytes */
    q->decoded += len;
    sink_rec_feed(&q->rec, p, len);
    if (q->keep)
        sink_rec_keep(&q->rec, p, len);
}

/* One field line, as h3_recv_header does. */
static void field(struct req *q, const char *name, size_t nlen, const char *v, size_t vlen)
{
    uint64_t n;

    if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
        int b = sink_bytes_path(v, vlen, SINK_BYTES_MAX, &n);
        if (b < -1 || b > 1 || (b == 1 && n > SINK_BYTES_MAX))
            abort();
        return;
    }
    sink_rec_header(&q->rec, name, nlen, v, vlen);
    if (nlen == 16 && memcmp(name, "content-encoding", 16) == 0) {
        q->coding = sink_coding_parse(v, vlen, q->coding);
        if (q->coding < SINK_CODING_IDENTITY || q->coding > SINK_CODING_GZIP)
            abort();
    } else if (nlen == 14 && memcmp(name, "content-digest", 14) == 0) {
        int d = sink_digest_parse(v, vlen, q->expect);
        if (d != SINK_DIGEST_ABSENT && d != SINK_DIGEST_SHA256 && d != SINK_DIGEST_MALFORMED)
            abort();
        if (q->digest != SINK_DIGEST_MALFORMED)
            q->digest = d;
    } else if (nlen == 12 && memcmp(name, "h3dp-records", 12) == 0) {
        (void)sink_rec_count_parse(v, vlen, &n);
    } else if (nlen == 12 && memcmp(name, "h3dp-framing", 12) == 0) {
        (void)sink_framing_name(sink_framing_parse(v, vlen));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t scratch[16 * 1024];
    struct req q;
    struct sink_gz *gz = NULL;
    struct sink_rec_stats st;
    const char *p, *end, *nl;
    uint32_t cut;
    uint64_t split = 0;
    char why[256], receipt[512];
    int gzerr = SINK_GZ_OK, verdict;
    FILE *out;

    if (size < 1 || size > 1 << 20)
        return 0;
    memset(&q, 0, sizeof(q));
    memset(&st, 0, sizeof(st));
    cut = data[0] * 2654435761u + 1;
    q.keep = data[0] >> 7;
    p = (const char *)data + 1;
    end = (const char *)data + size;
    /* The fields. */
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL && nl != p) {
        const char *colon = memchr(p, ':', (size_t)(nl - p));

        if (colon == p && nl - p > 1) /* a pseudo-header: ":path: /x" */
            colon = memchr(p + 1, ':', (size_t)(nl - p - 1));
        if (colon != NULL) {
            const char *v = colon + 1;

            while (v < nl && *v == ' ')
                v++;
            field(&q, p, (size_t)(colon - p), v, (size_t)(nl - v));
        }
        p = nl + 1;
    }
    if (p < end && *p == '\n')
        p++;
    /* The body, cut into pieces as QUIC may deliver it. */
    while (p < end) {
        size_t n;

        cut = cut * 1103515245u + 12345u;
        n = 1 + (cut >> 16) % 700;
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        if (q.coding == SINK_CODING_GZIP) {
            if (gzerr == SINK_GZ_OK && gz == NULL)
                gzerr = sink_gz_new(&gz);
            if (gzerr == SINK_GZ_OK)
                gzerr = sink_gz_feed(gz, (const uint8_t *)p, n, scratch, sizeof(scratch),
                                     decoded_out, &q);
            if (gzerr != SINK_GZ_OK && (gz == NULL || sink_gz_error(gz) == NULL))
                abort(); /* an error says why */
        } else if (q.coding == SINK_CODING_IDENTITY || q.coding == SINK_CODING_ZSTD) {
            decoded_out(&q, (const uint8_t *)p, n); /* zstd is zstd's own to fuzz */
        }
        p += n;
    }
    if (gz != NULL && gzerr == SINK_GZ_OK) {
        gzerr = sink_gz_finish(gz);
        (void)sink_gz_members(gz);
    }
    sink_gz_free(gz);
    sink_rec_end(&q.rec);
    (void)sink_rec_split(&q.rec, &split);
    why[0] = '\0';
    verdict = sink_rec_verdict(&q.rec, why, sizeof(why));
    if (verdict < 0 && (why[0] == '\0' || strchr(why, '\n') != NULL))
        abort();
    if (sink_receipt(receipt, sizeof(receipt), (uint64_t)(end - (const char *)data), q.decoded,
                     sink_rec_split(&q.rec, &split) ? (int64_t)split : -1,
                     q.digest == SINK_DIGEST_MALFORMED ? "malformed" : "none",
                     verdict < 0 ? why : gzerr != SINK_GZ_OK ? "gzip decode failed" : NULL) < 0)
        abort();
    if (verdict == 0 && gzerr == SINK_GZ_OK) {
        sink_rec_count(&st, &q.rec);
        out = fopen("/dev/null", "w");
        if (out) {
            (void)sink_rec_commit(&q.rec, out);
            fclose(out);
        }
    }
    sink_rec_drop(&q.rec);
    return 0;
}
