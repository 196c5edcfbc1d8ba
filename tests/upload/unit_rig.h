/* unit_rig: the upload engine over the fake connection service (fake_svc.h) with an
 * injected clock, for the unit tests of upload/. Every step checks the accounting identity
 * (accepted = queued + in flight + acked + failed, in records and bytes, in the engine and
 * in `upload status`), that queued matches the batches in the queues, and in flight the
 * requests the fake holds. */
#ifndef H3DP_TEST_UNIT_RIG_H
#define H3DP_TEST_UNIT_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fake_svc.h"
#include "up_int.h"

#define MS  1000000ull
#define SEC 1000000000ull
#define T0  (1000 * SEC) /* the first up_poll's time */

/* The collector of rig_conf, and what the engine derives from it. */
#define RIG_URL    "https://192.0.2.1:4433/ingest"
#define RIG_ORIGIN "https://192.0.2.1:4433"
#define RIG_PATH   "/ingest"
#define RIG_CTYPE  "application/x-h3dp-test"

struct rig {
    struct svc *s;
    struct up *u;
    uint64_t now;
    char dir[64]; /* a temporary directory (rig_tmpdir), removed by rig_close */
};

/* A conf with RIG_URL as the target, 1 connection of 1 stream, batches of 1000 bytes or
 * 10 ms, retries from 100 ms to 1 s without limit, framing none, no compression, no
 * source. */
void rig_conf(struct up_conf *c);

/* Makes r->dir, a fresh temporary directory. */
void rig_tmpdir(struct rig *r);

/* Opens the fake service and the engine (the clock at T0; rand() seeded with 1 for the
 * retry jitter). Fails the test on error. */
void rig_open(struct rig *r, const struct up_conf *c);

/* Completes what is still pending (CANCELLED), deletes the engine and the fake (checking
 * it saw no invalid or corrupted request) and the temporary directory. */
void rig_close(struct rig *r);

/* up_poll at r->now, then the checks. Returns the engine's work. */
unsigned rig_poll(struct rig *r);
/* Moves the clock |ns| forward and polls. */
unsigned rig_step(struct rig *r, uint64_t ns);

/* The checks above (called by every rig_* that changes the engine). */
void rig_check(struct rig *r);

/* Reply |status| (with |retry_after| or NULL) / fail (|result|, |stream_id|) request |i|
 * of the fake, then the checks. */
void rig_reply(struct rig *r, long i, int status, const char *retry_after);
void rig_fail(struct rig *r, long i, enum h3_req_result result, int64_t stream_id);
/* Replies |status| to every pending request; returns how many. */
unsigned rig_reply_all(struct rig *r, int status);

/* A number from `upload status`: a.b, or a alone when |b| is NULL (from |st|, or from a
 * new status at r->now). Fails the test when there is none. */
uint64_t json_get(json_t *st, const char *a, const char *b);
uint64_t rig_stat(struct rig *r, const char *a, const char *b);

/* A source outside the engine's table for white-box tests: batches of |records| records
 * with a memory body of |bytes| bytes (byte i = i * 7 + seed), queued with up_enqueue.
 * Counts what the engine tells it. */
struct test_src {
    struct up_source s;
    unsigned acked, failed, dropped;
    uint64_t acked_records, failed_records, dropped_records;
};

void test_src_init(struct test_src *t, struct rig *r, bool durable);
struct up_batch *test_src_push(struct test_src *t, uint64_t records, size_t bytes, uint8_t seed);

/* Writes |len| bytes of |data| to |dir|/|name|. Fails the test on error. */
void write_file(const char *dir, const char *name, const void *data, size_t len);
bool file_exists(const char *dir, const char *name);
/* The number of entries in |dir| (without . and ..). */
unsigned dir_entries(const char *dir);

#endif
