/* up_src_gen.c: the generator source — records of a given size at a given rate, or as fast
 * as the pool takes them, for the demo and benchmarks. With framing none the bodies are
 * generated on the worker (byte i = i % 251, zero copy), so a batch here is only a count;
 * with newline or length framing the records must fit the framing (the pattern holds
 * newlines), so they are text made here: {"seq":N,"pad":"xx...x"} of the requested size,
 * N the record's number in the run, then framed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "up_int.h"

#define UP_GEN_MAX_BATCHES 4096 /* batches queued at a rate before the generator falls behind */

#define GEN_SEQ_DIGITS 20 /* a uint64_t in decimal */
#define GEN_HEAD       "{\"seq\":"
#define GEN_MID        ",\"pad\":\""
#define GEN_TAIL       "\"}"
#define GEN_JSON_MIN   (sizeof(GEN_HEAD) - 1 + GEN_SEQ_DIGITS + sizeof(GEN_MID) - 1 + \
                        sizeof(GEN_TAIL) - 1)

struct gen {
    struct up_gen g, conf;  /* running parameters; [upload] generator_* */
    uint8_t *tmpl;          /* a record of g.record_bytes, its number to be written */
    size_t seq_at;          /* where the number goes in it */
    size_t seq_len;         /* how many digits */
    bool active;
    bool started; /* up_gen_start ran: the configured run does not start again */
    uint64_t start, made, behind, last_batch;
};

static int gen_open(struct up_source *s, const struct up_conf *c, char *why, size_t whylen)
{
    struct gen *g = calloc(1, sizeof(*g));

    (void)why;
    (void)whylen;
    if (!g)
        return -ENOMEM;
    g->conf = c->gen;
    if (c->gen.rate)
        g->g = c->gen; /* shown in the counters before it starts */
    s->priv = g;
    return 0;
}

static void gen_close(struct up_source *s)
{
    struct gen *g = s->priv;

    if (g)
        free(g->tmpl);
    free(g);
}

/* The text of a record of |n| bytes: JSON with its number when it fits, else the number's
 * last |n| digits. */
static int gen_template(struct gen *g, size_t n)
{
    uint8_t *t = realloc(g->tmpl, n);

    if (!t)
        return -ENOMEM;
    g->tmpl = t;
    memset(t, '0', n); /* the number's digits until a record is written */
    if (n >= GEN_JSON_MIN) {
        size_t o = 0;
        memcpy(t, GEN_HEAD, sizeof(GEN_HEAD) - 1);
        o = sizeof(GEN_HEAD) - 1;
        g->seq_at = o;
        o += GEN_SEQ_DIGITS;
        memcpy(t + o, GEN_MID, sizeof(GEN_MID) - 1);
        o += sizeof(GEN_MID) - 1;
        memset(t + o, 'x', n - o - (sizeof(GEN_TAIL) - 1));
        memcpy(t + n - (sizeof(GEN_TAIL) - 1), GEN_TAIL, sizeof(GEN_TAIL) - 1);
        g->seq_len = GEN_SEQ_DIGITS;
    } else {
        g->seq_at = 0;
        g->seq_len = n;
    }
    return 0;
}

/* Writes record |seq| (the template with its number) at |dst|. */
static void gen_record(const struct gen *g, uint8_t *dst, uint64_t seq)
{
    memcpy(dst, g->tmpl, g->g.record_bytes);
    for (size_t i = g->seq_len; i-- > 0; seq /= 10)
        dst[g->seq_at + i] = (uint8_t)('0' + seq % 10);
}

/* A batch of |k| records from number |seq| on, framed, in memory. */
static int gen_fill(struct up *u, const struct gen *g, struct up_batch *b, uint64_t k,
                    uint64_t seq)
{
    size_t rb = g->g.record_bytes, fs = up_frame_size(u->framing, g->tmpl, rb);
    uint8_t *p;

    if (fs == 0 || !(b->mem = up_buf_get(u, (size_t)k * fs, &b->mem_cap)))
        return -ENOMEM;
    p = b->mem;
    for (uint64_t i = 0; i < k; i++, p += fs) {
        if (u->framing == UP_FRAMING_LENGTH) { /* the 4-byte big-endian length, then it */
            p[0] = (uint8_t)(rb >> 24);
            p[1] = (uint8_t)(rb >> 16);
            p[2] = (uint8_t)(rb >> 8);
            p[3] = (uint8_t)rb;
            gen_record(g, p + 4, seq + i);
        } else { /* newline: the text holds none, one ends it */
            gen_record(g, p, seq + i);
            p[rb] = '\n';
        }
    }
    b->r.body = b->mem;
    b->r.body_len = (size_t)k * fs;
    b->bytes = b->r.body_len;
    return 0;
}

int up_gen_start(struct up *u, const struct up_gen *p, uint64_t now)
{
    struct up_source *s = up_source_find(u, &up_src_gen_ops);
    struct gen *g;

    if (!s || !p->record_bytes || p->record_bytes > UP_GEN_RECORD_MAX)
        return -EINVAL;
    g = s->priv;
    if (u->framing != UP_FRAMING_NONE && gen_template(g, p->record_bytes) < 0)
        return -ENOMEM;
    g->g = *p;
    g->active = true;
    g->started = true;
    g->start = g->last_batch = now;
    g->made = g->behind = 0;
    u->stopping = false;
    if (!u->t0)
        u->t0 = now;
    return 0;
}

void up_gen_stop(struct up *u)
{
    struct up_source *s = up_source_find(u, &up_src_gen_ops);

    if (s)
        ((struct gen *)s->priv)->active = false;
}

static unsigned gen_poll(struct up_source *s)
{
    struct gen *g = s->priv;
    struct up *u = s->u;
    unsigned n = 0;
    uint64_t per, el, dur, due = UINT64_MAX, cap;
    bool time_up;

    if (g->conf.rate && !g->started && !u->stopping)
        up_gen_start(u, &g->conf, u->now); /* [upload] generator_rate: with the daemon */
    if (!g->active || g->g.record_bytes == 0)
        return 0;
    per = u->batch_bytes / (u->framing == UP_FRAMING_NONE
                                 ? g->g.record_bytes
                                 : up_frame_size(u->framing, g->tmpl, g->g.record_bytes));
    if (per == 0)
        per = 1;
    el = u->now - g->start;
    dur = g->g.duration_ms * 1000000ull;
    time_up = dur && el >= dur;
    if ((time_up && !g->g.rate) || (g->g.records && g->made >= g->g.records) || u->stopping) {
        g->active = false;
        return 0;
    }
    if (g->g.rate) {
        /* Exactly rate x duration in the end: the last partial batch is not lost to the
         * linger time when the duration runs out. */
        uint64_t t = time_up ? dur : el;
        due = (uint64_t)((unsigned __int128)t * g->g.rate / 1000000000u); /* no rounding */
        due = due > g->made ? due - g->made : 0;
    }
    /* As fast as possible: keep every stream busy plus one batch each in the queue. */
    cap = g->g.rate ? UP_GEN_MAX_BATCHES : 2ull * u->n_conns * u->streams;
    while (due > 0 && u->ready.n < cap) {
        uint64_t k = per < due ? per : due;
        struct up_batch *b;
        if (g->g.records && k > g->g.records - g->made)
            k = g->g.records - g->made;
        if (k == 0)
            break;
        /* At a rate: full batches, or what is due once the linger time has passed. */
        if (g->g.rate && k < per && !time_up && u->now - g->last_batch < u->linger_ns)
            break;
        b = up_batch_new(u);
        if (!b)
            break;
        b->src = s;
        b->records = k;
        if (u->framing == UP_FRAMING_NONE) { /* made on the worker */
            b->bytes = k * g->g.record_bytes;
            b->r.synth_len = b->bytes;
        } else if (gen_fill(u, g, b, k, g->made) < 0) {
            up_batch_del(u, b);
            break;
        }
        if (up_enqueue(u, b) < 0) {
            up_batch_del(u, b);
            break;
        }
        g->made += k;
        g->last_batch = u->now;
        if (due != UINT64_MAX)
            due -= k;
        n++;
    }
    if (g->g.rate && due > 0 && due != UINT64_MAX && u->ready.n >= cap)
        g->behind = due; /* the pool cannot keep up with the rate */
    if (time_up && (due == 0 || (g->g.records && g->made >= g->g.records)))
        g->active = false;
    return n;
}

static bool gen_busy(const struct up_source *s)
{
    return ((const struct gen *)s->priv)->active;
}

static void gen_stop(struct up_source *s)
{
    ((struct gen *)s->priv)->active = false;
}

static json_t *gen_stats(const struct up_source *s)
{
    const struct gen *g = s->priv;

    return json_pack("{s:b, s:I, s:I, s:I, s:I}", "active", g->active, "record_bytes",
                     (json_int_t)g->g.record_bytes, "rate", (json_int_t)g->g.rate, "made",
                     (json_int_t)g->made, "behind", (json_int_t)g->behind);
}

const struct up_source_ops up_src_gen_ops = {
    .name = "generator",
    .open = gen_open,
    .close = gen_close,
    .poll = gen_poll,
    .busy = gen_busy,
    .stop = gen_stop,
    .stats_json = gen_stats,
};
