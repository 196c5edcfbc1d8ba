/* tests/upload/test_up_protobuf (suite unit): with framing = none a batch's body is its
 * records back to back, which suits formats whose concatenation is itself valid. Checked
 * here for protobuf rather than taken on faith: two serialized Export messages (an
 * OTLP-like message of our own, tests/upload/proto/telemetry.proto, encoded by protobuf-c)
 * go through the ingest socket as two records; the one request body the collector gets
 * decodes as a single Export whose repeated field holds both lists in order, whose
 * singular scalar is the last message's, and whose singular sub-message is the merge of
 * both (protobuf's documented merge of concatenated messages). With framing = length the
 * same records stay two messages, each after its length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_svc.h"
#include "telemetry.pb-c.h"
#include "unit_rig.h"

/* Serializes an Export of |n| records numbered from |seq0|, with |producer| and a resource
 * of which only the fields given (non-NULL) are set. The caller frees the result. */
static uint8_t *export_pack(uint64_t seq0, size_t n, const char *producer, const char *host,
                            const char *region, size_t *len)
{
    H3dp__Test__Export e = H3DP__TEST__EXPORT__INIT;
    H3dp__Test__Resource res = H3DP__TEST__RESOURCE__INIT;
    H3dp__Test__Record recs[8], *rp[8];
    char bodies[8][32];
    uint8_t *buf;

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        h3dp__test__record__init(&recs[i]);
        recs[i].seq = seq0 + i;
        snprintf(bodies[i], sizeof(bodies[i]), "line %llu", (unsigned long long)(seq0 + i));
        recs[i].body = bodies[i];
        rp[i] = &recs[i];
    }
    e.n_records = n;
    e.records = rp;
    e.producer = (char *)producer;
    if (host)
        res.host = (char *)host;
    if (region)
        res.region = (char *)region;
    e.resource = &res;
    *len = h3dp__test__export__get_packed_size(&e);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(h3dp__test__export__pack(&e, buf), *len);
    return buf;
}

/* Sends |a| and |b| as two records through the engine's ingest socket with |framing|;
 * returns the one request the fake service got. */
static const struct fake_req *send_two(struct rig *r, enum up_framing framing, const uint8_t *a,
                                       size_t alen, const uint8_t *b, size_t blen)
{
    struct up_conf c;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char path[100];
    int tx, fd;

    rig_conf(&c);
    c.framing = framing;
    c.linger_ms = 5;
    rig_tmpdir(r);
    snprintf(path, sizeof(path), "%s/in.sock", r->dir);
    c.ingest_socket = path;
    rig_open(r, &c);
    tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(tx >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(sendto(tx, a, alen, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)alen);
    assert_int_equal(sendto(tx, b, blen, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)blen);
    close(tx);
    assert_int_equal(up_fds(r->u, &fd, 1), 1);
    up_readable(r->u, fd);
    rig_poll(r);
    fake_establish_all(r->s);
    rig_step(r, 10 * MS);
    rig_poll(r);
    assert_int_equal(r->s->requests, 1);
    assert_string_equal(fake_header(&r->s->reqs[0], "h3dp-records"), "2");
    return &r->s->reqs[0];
}

static void test_concatenation_is_the_merge(void **state)
{
    struct rig r = { 0 };
    size_t alen, blen;
    uint8_t *a = export_pack(1, 3, "first", "appliance-1", NULL, &alen);
    uint8_t *b = export_pack(4, 2, "second", NULL, "eu-west", &blen);
    (void)state;

    const struct fake_req *q = send_two(&r, UP_FRAMING_NONE, a, alen, b, blen);
    assert_string_equal(fake_header(q, "h3dp-framing"), "none");
    assert_int_equal(q->body_len, alen + blen); /* back to back, nothing between */
    H3dp__Test__Export *m = h3dp__test__export__unpack(NULL, q->body_len, q->body);
    assert_non_null(m);
    /* repeated: both lists, in order */
    assert_int_equal(m->n_records, 5);
    for (size_t i = 0; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "line %zu", i + 1);
        assert_int_equal(m->records[i]->seq, i + 1);
        assert_string_equal(m->records[i]->body, want);
    }
    /* singular scalar: the last message's */
    assert_string_equal(m->producer, "second");
    /* singular message: merged field by field */
    assert_non_null(m->resource);
    assert_string_equal(m->resource->host, "appliance-1");
    assert_string_equal(m->resource->region, "eu-west");
    h3dp__test__export__free_unpacked(m, NULL);
    rig_reply_all(&r, 200);
    rig_close(&r);
    free(a);
    free(b);
}

/* framing = length keeps them two messages: each decodes by itself after its length. */
static void test_length_keeps_them_apart(void **state)
{
    struct rig r = { 0 };
    size_t alen, blen;
    uint8_t *a = export_pack(1, 3, "first", "appliance-1", NULL, &alen);
    uint8_t *b = export_pack(4, 2, "second", NULL, "eu-west", &blen);
    (void)state;

    const struct fake_req *q = send_two(&r, UP_FRAMING_LENGTH, a, alen, b, blen);
    assert_int_equal(q->body_len, 4 + alen + 4 + blen);
    size_t off = 0;
    for (int k = 0; k < 2; k++) {
        size_t n = (size_t)q->body[off] << 24 | (size_t)q->body[off + 1] << 16 |
                   (size_t)q->body[off + 2] << 8 | q->body[off + 3];
        H3dp__Test__Export *m = h3dp__test__export__unpack(NULL, n, q->body + off + 4);
        assert_non_null(m);
        assert_int_equal(m->n_records, k == 0 ? 3 : 2);
        assert_int_equal(m->records[0]->seq, k == 0 ? 1 : 4);
        assert_string_equal(m->producer, k == 0 ? "first" : "second");
        h3dp__test__export__free_unpacked(m, NULL);
        off += 4 + n;
    }
    assert_int_equal(off, q->body_len);
    rig_reply_all(&r, 200);
    rig_close(&r);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concatenation_is_the_merge),
        cmocka_unit_test(test_length_keeps_them_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
