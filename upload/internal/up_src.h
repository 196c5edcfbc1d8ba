/* up_src.h: an upload source — where records come from. Each source is one file
 * (up_src_*.c) exporting one `const struct up_source_ops`; the engine's table in up.c lists
 * them. The engine opens every source in the table; an unconfigured one stays inert.
 *
 * A source makes batches (up_batch_new, fill the body and |records|/|bytes|, up_enqueue)
 * and hears back about each one exactly once: acked (2xx), failed (given up), or dropped
 * (never sent: the stop deadline passed). Internal to upload/. */
#ifndef H3DP_UP_SRC_H
#define H3DP_UP_SRC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct up;
struct up_batch;
struct up_conf;
struct up_source;

struct up_source_ops {
    const char *name; /* the key of its counters in `upload status` */
    /* Its records outlive the process (the spool): up_stop drops its queued batches, which
     * stay in the source for the next run, instead of sending them. */
    bool durable;
    /* Sets s->priv from |c|. Returns 0, or -errno with the reason in |why|. */
    int (*open)(struct up_source *s, const struct up_conf *c, char *why, size_t whylen);
    void (*close)(struct up_source *s);
    /* Takes records at u->now; returns the batches made. */
    unsigned (*poll)(struct up_source *s);
    /* The fd to watch for readability, or -1. Optional. */
    int (*fd)(const struct up_source *s);
    /* Its fd became readable. Optional. */
    void (*readable)(struct up_source *s);
    /* The longest the main loop may sleep for this source (-1: no limit). Optional. */
    int (*timeout_ms)(const struct up_source *s);
    /* Records held outside any batch, or work left (it keeps the pool open). */
    bool (*busy)(const struct up_source *s);
    /* up_stop: stop taking records; flush what is staged into batches. Optional. */
    void (*stop)(struct up_source *s);
    /* The outcome of one of its batches. Optional each. */
    void (*acked)(struct up_source *s, struct up_batch *b);
    void (*failed)(struct up_source *s, struct up_batch *b);
    void (*dropped)(struct up_source *s, struct up_batch *b);
    /* Its counters, a new object. */
    json_t *(*stats_json)(const struct up_source *s);
};

struct up_source {
    const struct up_source_ops *ops;
    struct up *u;
    void *priv;
};

extern const struct up_source_ops up_src_gen_ops;
extern const struct up_source_ops up_src_spool_ops;
extern const struct up_source_ops up_src_ingest_ops;

#endif
