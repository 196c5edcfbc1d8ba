/* test_up_batch: batches (up_batch.c) over the fake service — the request's headers
 * (content-type, h3dp-batch BOOT-SEQ unique and repeated on a retry, h3dp-records,
 * content-digest of the body as sent, content-encoding zstd only when it shrinks the body),
 * the header bound, and the free lists of batches and buffers (reused, no growth in a
 * steady upload). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "crypto.h"
#include "unit_rig.h"

/* The content-digest field value of |len| bytes, computed here from crypto_sha256. */
static void digest_of(const void *p, size_t len, char *out, size_t cap)
{
    uint8_t h[CRYPTO_SHA256_LEN];
    char b64[CRYPTO_BASE64_LEN(CRYPTO_SHA256_LEN) + 1];

    assert_int_equal(crypto_sha256(p, len, h), 0);
    assert_true(crypto_base64_encode(h, sizeof(h), b64, sizeof(b64)) > 0);
    snprintf(out, cap, "sha-256=:%s:", b64);
}

/* Once there is work: opens the pool's connection and reports it established. */
static void connect_pool(struct rig *r)
{
    if (r->s->connects)
        return;
    rig_poll(r);
    assert_int_equal(r->s->connects, 1);
    assert_int_equal(r->s->requests, 0); /* not before it is ready */
    assert_int_equal(fake_establish_all(r->s), 1);
}

/* A batch with a generated body of |len| bytes (the generator's kind). */
static void push_synth(struct test_src *t, uint64_t records, uint64_t len)
{
    struct up_batch *b = up_batch_new(t->s.u);

    assert_non_null(b);
    b->src = &t->s;
    b->records = records;
    b->bytes = len;
    b->r.synth_len = len;
    assert_int_equal(up_enqueue(t->s.u, b), 0);
}

static bool is_hex16(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void test_headers(void **state)
{
    struct up_conf c;
    struct rig r = {0}, r2 = {0};
    struct test_src t;
    char want[128], digest[128];
    const struct fake_req *q;
    uint8_t body[500];

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    assert_int_equal(strlen(r.u->boot), 16);
    assert_true(is_hex16(r.u->boot));

    test_src_push(&t, 3, sizeof(body), 1);
    connect_pool(&r);
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7 + 1);
    digest_of(body, sizeof(body), digest, sizeof(digest));
    test_src_push(&t, 5, 200, 2);
    test_src_push(&t, 1, 50, 3);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1); /* one stream */

    q = &r.s->reqs[0];
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, RIG_PATH);
    assert_int_equal(q->n_headers, 5);
    assert_int_equal(fake_header_count(q, "content-type"), 1);
    assert_int_equal(fake_header_count(q, "h3dp-batch"), 1);
    assert_int_equal(fake_header_count(q, "h3dp-records"), 1);
    assert_string_equal(fake_header(q, "h3dp-framing"), "none");
    assert_int_equal(fake_header_count(q, "content-digest"), 1);
    assert_int_equal(fake_header_count(q, "content-encoding"), 0);
    assert_string_equal(fake_header(q, "content-type"), RIG_CTYPE);
    snprintf(want, sizeof(want), "%s-1", r.u->boot);
    assert_string_equal(fake_header(q, "h3dp-batch"), want);
    assert_string_equal(fake_header(q, "h3dp-records"), "3");
    assert_string_equal(fake_header(q, "content-digest"), digest);
    assert_true(q->has_body);
    assert_int_equal(q->body_len, sizeof(body));
    assert_memory_equal(q->body, body, sizeof(body));

    /* The next batches: the next sequence numbers, their own digests. */
    rig_reply(&r, 0, 200, NULL);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    q = &r.s->reqs[1];
    snprintf(want, sizeof(want), "%s-2", r.u->boot);
    assert_string_equal(fake_header(q, "h3dp-batch"), want);
    assert_string_equal(fake_header(q, "h3dp-records"), "5");
    digest_of(q->body, q->body_len, digest, sizeof(digest));
    assert_string_equal(fake_header(q, "content-digest"), digest);

    /* A retry repeats the batch id and the digest (and the body); meanwhile the next
     * batch goes out with its own. */
    rig_reply(&r, 1, 503, NULL);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);
    snprintf(want, sizeof(want), "%s-3", r.u->boot);
    assert_string_equal(fake_header(&r.s->reqs[2], "h3dp-batch"), want);
    assert_string_equal(fake_header(&r.s->reqs[2], "h3dp-records"), "1");
    rig_reply(&r, 2, 200, NULL);
    rig_step(&r, 1000 * MS); /* past any back-off (at most retry_max) */
    assert_int_equal(r.s->requests, 4);
    q = &r.s->reqs[3];
    snprintf(want, sizeof(want), "%s-2", r.u->boot);
    assert_string_equal(fake_header(q, "h3dp-batch"), want);
    assert_string_equal(fake_header(q, "content-digest"), digest);
    assert_string_equal(fake_header(q, "h3dp-records"), "5");
    assert_int_equal(q->body_len, r.s->reqs[1].body_len);
    assert_memory_equal(q->body, r.s->reqs[1].body, q->body_len);
    assert_int_equal(q->n_headers, 5);
    rig_reply(&r, 3, 200, NULL);
    assert_int_equal(t.acked, 3);
    assert_int_equal(rig_stat(&r, "acked", "records"), 9);
    assert_int_equal(rig_stat(&r, "retried", "records"), 5);

    /* Another run has another boot id: its batch ids do not collide with this one's. */
    rig_open(&r2, &c);
    assert_true(is_hex16(r2.u->boot));
    assert_string_not_equal(r.u->boot, r2.u->boot);
    rig_close(&r2);
    rig_close(&r);
}

static void test_zstd(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char digest[128];
    const struct fake_req *q;
    uint8_t plain[4000], out[5000];
    size_t n;

    (void)state;
    rig_conf(&c);
    c.compress = UP_COMPRESS_ZSTD;
    c.streams = 8;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);

    /* Compressible: coded, sent with content-encoding, digest of the coded bytes. */
    test_src_push(&t, 4, sizeof(plain), 9);
    connect_pool(&r);
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 7 + 9);
    rig_poll(&r);
    q = &r.s->reqs[0];
    assert_int_equal(q->n_headers, 6);
    assert_int_equal(fake_header_count(q, "content-encoding"), 1);
    assert_string_equal(fake_header(q, "content-encoding"), "zstd");
    assert_true(q->body_len < sizeof(plain));
    n = ZSTD_decompress(out, sizeof(out), q->body, q->body_len);
    assert_false(ZSTD_isError(n));
    assert_int_equal(n, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(plain));
    digest_of(q->body, q->body_len, digest, sizeof(digest));
    assert_string_equal(fake_header(q, "content-digest"), digest);
    /* Accounting keeps the uncompressed bytes; the wire bytes are counted apart. */
    assert_int_equal(rig_stat(&r, "accepted", "bytes"), sizeof(plain));
    assert_int_equal(rig_stat(&r, "requests", "body_bytes"), q->body_len);
    assert_int_equal(rig_stat(&r, "compress", "records"), 4);
    assert_int_equal(rig_stat(&r, "compress", "bytes_in"), sizeof(plain));
    assert_int_equal(rig_stat(&r, "compress", "bytes_out"), q->body_len);

    /* A tiny body: zstd's frame is larger than 8 bytes. */
    test_src_push(&t, 1, 8, 5);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    q = &r.s->reqs[1];
    assert_int_equal(q->n_headers, 5);
    assert_null(fake_header(q, "content-encoding"));
    assert_int_equal(q->body_len, 8);
    digest_of(q->body, 8, digest, sizeof(digest));
    assert_string_equal(fake_header(q, "content-digest"), digest);
    assert_int_equal(rig_stat(&r, "compress", "records"), 4); /* unchanged */
    assert_int_equal(rig_stat(&r, "compress", "bytes_in"), sizeof(plain));

    /* A generated body is made in memory and coded. */
    push_synth(&t, 3, 3000);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 3);
    q = &r.s->reqs[2];
    assert_int_equal(q->synth_len, 0);
    assert_true(q->has_body);
    assert_string_equal(fake_header(q, "content-encoding"), "zstd");
    n = ZSTD_decompress(out, sizeof(out), q->body, q->body_len);
    assert_int_equal(n, 3000);
    for (size_t i = 0; i < 3000; i++)
        assert_int_equal(out[i], i % 251);
    digest_of(q->body, q->body_len, digest, sizeof(digest));
    assert_string_equal(fake_header(q, "content-digest"), digest);
    assert_int_equal(rig_stat(&r, "compress", "records"), 7);
    assert_int_equal(rig_reply_all(&r, 200), 3);
    assert_int_equal(rig_stat(&r, "acked", "records"), 8);
    rig_close(&r);
}

/* The incompressible case on its own: the digest is computed when the batch is sealed, so
 * the random body is made before it is queued. */
static void test_zstd_incompressible(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    char digest[128];
    const struct fake_req *q;
    uint8_t rnd[4000];

    (void)state;
    rig_conf(&c);
    c.compress = UP_COMPRESS_ZSTD;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    assert_int_equal(crypto_random(rnd, sizeof(rnd)), 0);
    struct up_batch *b = up_batch_new(r.u);
    b->mem = up_buf_get(r.u, sizeof(rnd), &b->mem_cap);
    memcpy(b->mem, rnd, sizeof(rnd));
    b->r.body = b->mem;
    b->r.body_len = sizeof(rnd);
    b->src = &t.s;
    b->records = 2;
    b->bytes = sizeof(rnd);
    assert_int_equal(up_enqueue(r.u, b), 0);
    connect_pool(&r);
    rig_poll(&r);
    q = &r.s->reqs[0];
    assert_int_equal(q->n_headers, 5);
    assert_null(fake_header(q, "content-encoding"));
    assert_int_equal(q->body_len, sizeof(rnd));
    assert_memory_equal(q->body, rnd, sizeof(rnd));
    digest_of(rnd, sizeof(rnd), digest, sizeof(digest));
    assert_string_equal(fake_header(q, "content-digest"), digest);
    assert_int_equal(rig_stat(&r, "compress", "records"), 0);
    assert_int_equal(rig_stat(&r, "compress", "bytes_out"), 0);
    assert_int_equal(rig_stat(&r, "requests", "body_bytes"), sizeof(rnd));
    rig_reply(&r, 0, 200, NULL);
    rig_close(&r);
}

/* Without compression a generated body goes to the worker as a length: no digest. */
static void test_synth_plain(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    const struct fake_req *q;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    push_synth(&t, 6, 3000);
    connect_pool(&r);
    rig_poll(&r);
    q = &r.s->reqs[0];
    assert_false(q->has_body);
    assert_int_equal(q->synth_len, 3000);
    assert_int_equal(q->n_headers, 4);
    assert_null(fake_header(q, "content-digest"));
    assert_null(fake_header(q, "content-encoding"));
    assert_string_equal(fake_header(q, "h3dp-records"), "6");
    assert_int_equal(rig_stat(&r, "requests", "body_bytes"), 3000);
    rig_reply(&r, 0, 204, NULL);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), 3000);
    rig_close(&r);
}

static void test_header_bound(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    struct up_batch *b;
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);
    test_src_init(&t, &r, false);

    /* A sealed batch: the engine's headers, then room up to UP_HDRS_MAX, no more. */
    b = up_batch_new(r.u);
    b->src = &t.s;
    b->records = 1;
    assert_int_equal(up_batch_seal(r.u, b), 0);
    assert_int_equal(b->r.n_headers, 4); /* no body: no digest */
    assert_ptr_equal(b->r.headers, b->hdrs);
    while (b->r.n_headers < UP_HDRS_MAX)
        assert_int_equal(up_batch_header(b, names[b->r.n_headers % 8], "v"), 0);
    assert_int_equal(up_batch_header(b, "x-one-more", "v"), -ENOSPC);
    assert_int_equal(up_batch_header(b, "x-one-more", "v"), -ENOSPC);
    assert_int_equal(b->r.n_headers, UP_HDRS_MAX);
    assert_string_equal(b->hdrs[UP_HDRS_MAX - 1].name, names[(UP_HDRS_MAX - 1) % 8]);
    up_batch_del(r.u, b);

    /* An empty one takes exactly UP_HDRS_MAX. */
    b = up_batch_new(r.u);
    assert_int_equal(b->r.n_headers, 0);
    for (unsigned i = 0; i < UP_HDRS_MAX; i++)
        assert_int_equal(up_batch_header(b, "x", "y"), 0);
    assert_int_equal(up_batch_header(b, "x", "y"), -ENOSPC);
    assert_int_equal(b->r.n_headers, UP_HDRS_MAX);
    up_batch_del(r.u, b);

    /* Every header the engine adds itself fits. */
    assert_true(UP_HDRS_OWN <= UP_HDRS_MAX);
    rig_close(&r);
}

static unsigned list_len(void *p)
{
    unsigned n = 0;

    for (; p; p = *(void **)p)
        n++;
    return n;
}

static unsigned batches_free(const struct up *u)
{
    unsigned n = 0;

    for (const struct up_batch *b = u->free_batches; b; b = b->next)
        n++;
    return n;
}

static void test_buffer_classes(void **state)
{
    struct up_conf c;
    struct rig r = {0};
    uint8_t *p, *q, *big[17];
    size_t cap, cap2;

    (void)state;
    rig_conf(&c);
    rig_open(&r, &c);

    /* Power-of-two classes from 4 KiB to 4 MiB; larger buffers are not pooled. */
    p = up_buf_get(r.u, 1, &cap);
    assert_int_equal(cap, 4096);
    up_buf_put(r.u, p, cap);
    p = up_buf_get(r.u, 4096, &cap);
    assert_int_equal(cap, 4096);
    up_buf_put(r.u, p, cap);
    p = up_buf_get(r.u, 4097, &cap);
    assert_int_equal(cap, 8192);
    up_buf_put(r.u, p, cap);
    assert_int_equal(r.u->pooled_bytes, 4096 + 8192);
    assert_int_equal(list_len(r.u->free_bufs[0]), 1);
    assert_int_equal(list_len(r.u->free_bufs[1]), 1);

    /* A freed buffer is the next one handed out in its class. */
    q = up_buf_get(r.u, 5000, &cap2);
    assert_ptr_equal(q, p);
    assert_int_equal(cap2, 8192);
    assert_int_equal(r.u->pooled_bytes, 4096);
    up_buf_put(r.u, q, cap2);

    p = up_buf_get(r.u, 4u << 20, &cap);
    assert_int_equal(cap, 4u << 20);
    up_buf_put(r.u, p, cap);
    assert_int_equal(list_len(r.u->free_bufs[10]), 1);
    p = up_buf_get(r.u, (4u << 20) + 1, &cap);
    assert_int_equal(cap, (4u << 20) + 1);
    uint64_t before = r.u->pooled_bytes;
    up_buf_put(r.u, p, cap); /* freed, not kept */
    assert_int_equal(r.u->pooled_bytes, before);

    /* At most 64 MiB are kept. */
    up_batch_pool_free(r.u);
    assert_int_equal(r.u->pooled_bytes, 0);
    for (int i = 0; i < 17; i++)
        big[i] = up_buf_get(r.u, 4u << 20, &cap);
    for (int i = 0; i < 17; i++)
        up_buf_put(r.u, big[i], cap);
    assert_int_equal(r.u->pooled_bytes, 64u << 20);
    assert_int_equal(list_len(r.u->free_bufs[10]), 16);
    rig_close(&r);
}

/* The buffers on the free list of class 0 (4 KiB). */
static unsigned snap(const struct up *u, void **out, unsigned max)
{
    unsigned n = 0;

    for (void *p = u->free_bufs[0]; p; p = *(void **)p)
        if (n < max)
            out[n++] = p;
    return list_len(u->free_bufs[0]);
}

static bool among(void *p, void *const *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (set[i] == p)
            return true;
    return false;
}

/* A steady upload (batch made, sent, acknowledged, again) reuses the same batch and the
 * same buffers: the free lists do not grow. */
static void steady(enum up_compress z, unsigned want_bufs)
{
    struct up_conf c;
    struct rig r = {0};
    struct test_src t;
    struct up_batch *first = NULL;
    void *set[4], *now[4];

    rig_conf(&c);
    c.compress = z;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    for (int i = 0; i < 200; i++) {
        struct up_batch *b = test_src_push(&t, 1, 1000, 0);
        if (i == 0)
            first = b;
        assert_ptr_equal(b, first);
        if (i > 0) {
            assert_true(b->mem == NULL || among(b->mem, set, want_bufs));
            assert_true(b->z == NULL || among(b->z, set, want_bufs));
        }
        connect_pool(&r);
        rig_poll(&r);
        const struct fake_req *q = &r.s->reqs[i];
        if (z == UP_COMPRESS_ZSTD)
            assert_string_equal(fake_header(q, "content-encoding"), "zstd");
        else
            assert_null(fake_header(q, "content-encoding"));
        rig_reply(&r, i, 200, NULL);
        assert_int_equal(batches_free(r.u), 1);
        assert_int_equal(r.u->pooled_bytes, 4096 * want_bufs);
        if (i == 0) {
            assert_int_equal(snap(r.u, set, 4), want_bufs);
            continue;
        }
        assert_int_equal(snap(r.u, now, 4), want_bufs);
        for (unsigned k = 0; k < want_bufs; k++)
            assert_true(among(now[k], set, want_bufs));
    }
    assert_int_equal(t.acked, 200);
    rig_close(&r);
}

static void test_steady_free_lists(void **state)
{
    (void)state;
    steady(UP_COMPRESS_NONE, 1);
}

/* With zstd the body is replaced by the coded one: its buffer goes back at once, the coded
 * one when the batch is done; still the same two buffers every time. */
static void test_steady_free_lists_zstd(void **state)
{
    (void)state;
    steady(UP_COMPRESS_ZSTD, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_zstd_incompressible),
        cmocka_unit_test(test_synth_plain),
        cmocka_unit_test(test_header_bound),
        cmocka_unit_test(test_buffer_classes),
        cmocka_unit_test(test_steady_free_lists),
        cmocka_unit_test(test_steady_free_lists_zstd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
