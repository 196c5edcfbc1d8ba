/* test_up_frame: the upload wire format (up_frame.c and its users) over the fake service —
 * record framing (newline, length, none) for the generator, the spool and the ingest
 * socket, h3dp-framing and the content type that follows it, gzip coding (content-encoding
 * gzip, decoded back with zlib), and spool batch ids derived from the file, the same after
 * a restart. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "unit_rig.h"

#define SCAN (250 * MS)

static void connect_pool(struct rig *r)
{
    rig_poll(r);
    fake_establish_all(r->s);
}

static void test_frame_rules(void **state)
{
    uint8_t out[32];
    (void)state;

    /* newline: a '\n' added when missing; an inner newline refuses the record. */
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"abc", 3), 4);
    up_frame_put(UP_FRAMING_NEWLINE, out, (const uint8_t *)"abc", 3);
    assert_memory_equal(out, "abc\n", 4);
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"abc\n", 4), 4);
    assert_true(up_frame_as_is(UP_FRAMING_NEWLINE, (const uint8_t *)"abc\n", 4));
    assert_false(up_frame_as_is(UP_FRAMING_NEWLINE, (const uint8_t *)"abc", 3));
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"a\nb", 3), 0);
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"a\nb\n", 4), 0);
    assert_false(up_frame_as_is(UP_FRAMING_NEWLINE, (const uint8_t *)"a\nb\n", 4));
    /* ... and so does an empty one (an empty line), with or without its '\n'. */
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"", 0), 0);
    assert_int_equal(up_frame_size(UP_FRAMING_NEWLINE, (const uint8_t *)"\n", 1), 0);
    assert_false(up_frame_as_is(UP_FRAMING_NEWLINE, (const uint8_t *)"\n", 1));
    /* length: an empty record is a record (its length 0). */
    assert_int_equal(up_frame_size(UP_FRAMING_LENGTH, (const uint8_t *)"", 0), 4);
    /* length: 4 bytes, big-endian, then the record as it is (newlines and all). */
    assert_int_equal(up_frame_size(UP_FRAMING_LENGTH, (const uint8_t *)"a\nb", 3), 7);
    up_frame_put(UP_FRAMING_LENGTH, out, (const uint8_t *)"a\nb", 3);
    assert_memory_equal(out, "\0\0\0\3a\nb", 7);
    /* none: as it is. */
    assert_int_equal(up_frame_size(UP_FRAMING_NONE, (const uint8_t *)"a\nb", 3), 3);
    assert_true(up_frame_as_is(UP_FRAMING_NONE, (const uint8_t *)"a\nb", 3));
    assert_string_equal(up_framing_name(UP_FRAMING_LENGTH), "length");

    /* In place (the spool, the ingest stage): UP_FRAME_ROOM before the record, one after. */
    uint8_t buf[UP_FRAME_ROOM + 8], *rec = buf + UP_FRAME_ROOM;
    size_t n;
    memcpy(rec, "a\nb", 3);
    assert_ptr_equal(up_frame_in_place(UP_FRAMING_LENGTH, rec, 3, &n), rec - 4);
    assert_int_equal(n, 7);
    assert_memory_equal(rec - 4, "\0\0\0\3a\nb", 7);
    memcpy(rec, "abc", 3);
    assert_ptr_equal(up_frame_in_place(UP_FRAMING_NEWLINE, rec, 3, &n), rec);
    assert_int_equal(n, 4);
    assert_memory_equal(rec, "abc\n", 4);
    memcpy(rec, "abc\n", 4);
    assert_ptr_equal(up_frame_in_place(UP_FRAMING_NEWLINE, rec, 4, &n), rec);
    assert_int_equal(n, 4);
    memset(buf, 'x', sizeof(buf));
    assert_ptr_equal(up_frame_in_place(UP_FRAMING_NONE, rec, 3, &n), rec);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "xxxxxxxxxxxx", sizeof(buf)); /* nothing written */
}

/* The generator's records fit the framing: text lines with their number (newline), the
 * same text behind a length (length), the byte pattern made on the worker (none). */
static void test_generator(void **state)
{
    static const enum up_framing framings[] = { UP_FRAMING_NEWLINE, UP_FRAMING_LENGTH,
                                                UP_FRAMING_NONE };
    (void)state;

    for (size_t f = 0; f < 3; f++) {
        struct up_conf c;
        struct rig r = { 0 };
        struct up_gen g = { .record_bytes = 64, .records = 10 };
        rig_conf(&c);
        c.framing = framings[f];
        c.content_type = NULL;
        rig_open(&r, &c);
        assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
        connect_pool(&r);
        rig_poll(&r);
        assert_int_equal(r.s->requests, 1);
        const struct fake_req *q = &r.s->reqs[0];
        assert_string_equal(fake_header(q, "h3dp-framing"), up_framing_name(framings[f]));
        assert_string_equal(fake_header(q, "h3dp-records"), "10");
        if (framings[f] == UP_FRAMING_NEWLINE) {
            assert_string_equal(fake_header(q, "content-type"), "application/x-ndjson");
            assert_int_equal(q->body_len, 10 * 65);
            for (unsigned k = 0; k < 10; k++) {
                char want[66];
                snprintf(want, sizeof(want), "{\"seq\":%020u,\"pad\":\"%.*s\"}\n", k, 64 - 37,
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
                assert_memory_equal(q->body + 65 * k, want, 65);
            }
            assert_non_null(fake_header(q, "content-digest"));
        } else if (framings[f] == UP_FRAMING_LENGTH) {
            assert_string_equal(fake_header(q, "content-type"), "application/octet-stream");
            assert_int_equal(q->body_len, 10 * 68);
            for (unsigned k = 0; k < 10; k++) {
                assert_memory_equal(q->body + 68 * k, "\0\0\0\x40{\"seq\":", 11);
                assert_int_equal(q->body[68 * k + 4 + 63], '}');
            }
        } else {
            assert_false(q->has_body);
            assert_int_equal(q->synth_len, 640);
        }
        rig_reply_all(&r, 200);
        assert_int_equal(rig_stat(&r, "acked", "records"), 10);
        assert_int_equal(rig_stat(&r, "acked", "bytes"), q->has_body ? q->body_len : 640);
        rig_close(&r);
    }
}

/* Records shorter than the JSON line: the record's number, its last digits. */
static void test_generator_small(void **state)
{
    struct up_conf c;
    struct rig r = { 0 };
    struct up_gen g = { .record_bytes = 3, .records = 12 };
    (void)state;

    rig_conf(&c);
    c.framing = UP_FRAMING_NEWLINE;
    rig_open(&r, &c);
    assert_int_equal(up_gen_start(r.u, &g, r.now), 0);
    connect_pool(&r);
    rig_poll(&r);
    const struct fake_req *q = &r.s->reqs[0];
    assert_int_equal(q->body_len, 12 * 4);
    assert_memory_equal(q->body, "000\n001\n002\n", 12);
    assert_memory_equal(q->body + 44, "011\n", 4);
    rig_reply_all(&r, 200);
    rig_close(&r);
}

static void test_gzip(void **state)
{
    static uint8_t plain[6000], out[8000];
    struct up_conf c;
    struct rig r = { 0 };
    struct test_src t;
    (void)state;

    rig_conf(&c);
    c.compress = UP_COMPRESS_GZIP;
    c.compress_level = 6;
    c.batch_bytes = 1 << 20;
    rig_open(&r, &c);
    test_src_init(&t, &r, false);
    test_src_push(&t, 3, sizeof(plain), 9);
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 7 + 9);
    connect_pool(&r);
    rig_poll(&r);
    const struct fake_req *q = &r.s->reqs[0];
    assert_string_equal(fake_header(q, "content-encoding"), "gzip");
    assert_true(q->body_len < sizeof(plain));
    assert_int_equal(q->body[0], 0x1f); /* the gzip magic (RFC 1952 §2.3.1) */
    assert_int_equal(q->body[1], 0x8b);
    z_stream z = { 0 };
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)q->body;
    z.avail_in = (uInt)q->body_len;
    z.next_out = out;
    z.avail_out = sizeof(out);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(plain));
    inflateEnd(&z);
    json_t *st = up_stats_json(r.u, r.now);
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "compress"), "codec")),
                        "gzip");
    json_decref(st);
    assert_int_equal(rig_stat(&r, "compress", "bytes_in"), sizeof(plain));
    assert_int_equal(rig_stat(&r, "compress", "bytes_out"), q->body_len);
    rig_reply_all(&r, 200);
    assert_int_equal(rig_stat(&r, "acked", "bytes"), sizeof(plain)); /* uncoded bytes */
    rig_close(&r);
}

/* The spool with length framing: each file one record behind its length, of any bytes. */
static void test_spool_length(void **state)
{
    struct up_conf c;
    struct rig r = { 0 };
    (void)state;

    rig_conf(&c);
    c.framing = UP_FRAMING_LENGTH;
    rig_tmpdir(&r);
    c.spool_dir = r.dir;
    write_file(r.dir, "a", "x\ny\0", 4);
    rig_open(&r, &c);
    connect_pool(&r);
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 1);
    assert_int_equal(r.s->reqs[0].body_len, 8);
    assert_memory_equal(r.s->reqs[0].body, "\0\0\0\4x\ny\0", 8);
    assert_int_equal(rig_stat(&r, "accepted", "bytes"), 8);
    rig_reply_all(&r, 200);
    assert_int_equal(dir_entries(r.dir), 0);
    rig_close(&r);
}

/* The spool: each file one record, framed; its batch id derived from the file (the same
 * one after a restart); a file of several lines refused with newline framing. */
static void test_spool(void **state)
{
    struct up_conf c;
    struct rig r = { 0 };
    char id1[64];
    (void)state;

    rig_conf(&c);
    c.framing = UP_FRAMING_NEWLINE;
    c.streams = 8;
    rig_tmpdir(&r);
    c.spool_dir = r.dir;
    write_file(r.dir, "a", "{\"a\":1}", 7);        /* framed: a newline added */
    write_file(r.dir, "b", "{\"b\":2}\n", 8);      /* already a line: sent as it is */
    write_file(r.dir, "c", "{\"c\":3}\n{\"d\":4}\n", 16); /* two lines: refused */
    rig_open(&r, &c);
    connect_pool(&r);
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    assert_int_equal(rig_stat(&r, "spool", "refused"), 1);
    assert_true(file_exists(r.dir, ".failed-c"));
    assert_false(file_exists(r.dir, "c"));
    assert_int_equal(rig_stat(&r, "errors", "io"), 1);
    for (size_t i = 0; i < 2; i++) {
        const struct fake_req *q = &r.s->reqs[i];
        assert_int_equal(q->body_len, 8);
        assert_int_equal(q->body[7], '\n');
        assert_string_equal(fake_header(q, "h3dp-records"), "1");
        assert_memory_equal(fake_header(q, "h3dp-batch"), "s-", 2);
        assert_int_equal(strlen(fake_header(q, "h3dp-batch")), 34);
    }
    long ia = r.s->reqs[0].body[2] == 'a' ? 0 : 1;
    snprintf(id1, sizeof(id1), "%s", fake_header(&r.s->reqs[ia], "h3dp-batch"));
    /* "Crash": the engine goes without an answer; a new one sends the files again with
     * the same ids. */
    up_stop(r.u, 0);
    rig_close(&r);
    memset(&r, 0, sizeof(r));
    rig_tmpdir(&r);
    c.spool_dir = r.dir;
    write_file(r.dir, "a", "{\"a\":1}", 7);
    write_file(r.dir, "a2", "{\"a\":1}", 7); /* the same bytes, another file: another id */
    rig_open(&r, &c);
    connect_pool(&r);
    rig_step(&r, SCAN);
    rig_poll(&r);
    assert_int_equal(r.s->requests, 2);
    const char *x = fake_header(&r.s->reqs[0], "h3dp-batch");
    const char *y = fake_header(&r.s->reqs[1], "h3dp-batch");
    assert_true(strcmp(x, id1) == 0 || strcmp(y, id1) == 0);
    assert_string_not_equal(x, y);
    /* A retry keeps the id. */
    rig_reply_all(&r, 503);
    rig_step(&r, 2 * SEC);
    assert_int_equal(r.s->requests, 4);
    assert_true(strcmp(fake_header(&r.s->reqs[2], "h3dp-batch"), id1) == 0 ||
                strcmp(fake_header(&r.s->reqs[3], "h3dp-batch"), id1) == 0);
    rig_reply_all(&r, 200);
    rig_close(&r);
}

/* The ingest socket: records framed as they are staged; a record of several lines refused
 * and counted with newline framing, never split. */
static void test_ingest(void **state)
{
    static const enum up_framing framings[] = { UP_FRAMING_NEWLINE, UP_FRAMING_LENGTH };
    (void)state;

    for (size_t f = 0; f < 2; f++) {
        struct up_conf c;
        struct rig r = { 0 };
        char path[100];
        int fd, tx;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        rig_conf(&c);
        c.framing = framings[f];
        c.linger_ms = 5;
        rig_tmpdir(&r);
        snprintf(path, sizeof(path), "%s/in.sock", r.dir);
        c.ingest_socket = path;
        rig_open(&r, &c);
        tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        assert_int_equal(sendto(tx, "{\"a\":1}", 7, 0, (struct sockaddr *)&sa, sizeof(sa)), 7);
        assert_int_equal(sendto(tx, "{\"b\":2}\n", 8, 0, (struct sockaddr *)&sa, sizeof(sa)), 8);
        assert_int_equal(sendto(tx, "x\ny", 3, 0, (struct sockaddr *)&sa, sizeof(sa)), 3);
        close(tx);
        assert_int_equal(up_fds(r.u, &fd, 1), 1);
        up_readable(r.u, fd);
        connect_pool(&r);
        rig_step(&r, 10 * MS);
        rig_poll(&r);
        assert_int_equal(r.s->requests, 1);
        const struct fake_req *q = &r.s->reqs[0];
        if (framings[f] == UP_FRAMING_NEWLINE) {
            assert_int_equal(rig_stat(&r, "ingest", "refused"), 1);
            assert_string_equal(fake_header(q, "h3dp-records"), "2");
            assert_int_equal(q->body_len, 16);
            assert_memory_equal(q->body, "{\"a\":1}\n{\"b\":2}\n", 16);
        } else {
            assert_int_equal(rig_stat(&r, "ingest", "refused"), 0);
            assert_string_equal(fake_header(q, "h3dp-records"), "3");
            assert_int_equal(q->body_len, 4 + 7 + 4 + 8 + 4 + 3);
            assert_memory_equal(q->body, "\0\0\0\7{\"a\":1}\0\0\0\x08{\"b\":2}\n\0\0\0\3x\ny",
                                30);
        }
        rig_reply_all(&r, 200);
        rig_close(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_rules), cmocka_unit_test(test_generator),
        cmocka_unit_test(test_generator_small), cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_spool), cmocka_unit_test(test_spool_length), cmocka_unit_test(test_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
