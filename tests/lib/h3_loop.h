/*
 * h3_loop.h: the in-memory loopback backend for deterministic tests.
 *
 * Two directions (client->server, server->client), each a ring of datagram
 * slots with a one-way delay and seeded random loss and reordering, driven by
 * an injected clock. The client side is an h3_io_ops backend (packets are
 * written straight into ring slots); the server side sends with h3_loop_send().
 * h3_loop_run() advances the clock from event to event (deliveries and both
 * endpoints' timers) until a condition holds: no real time passes.
 */
#ifndef H3DP_H3_LOOP_H
#define H3DP_H3_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3_io.h"

enum h3_loop_dir { H3_LOOP_C2S = 0, H3_LOOP_S2C = 1 };

struct h3_loop_params {
    uint64_t seed;           /* PRNG seed for loss/reorder decisions */
    uint32_t loss_ppm[2];    /* per direction, parts per million dropped */
    uint32_t reorder_ppm[2]; /* per direction, chance a datagram overtakes the previous */
    uint64_t delay_ns[2];    /* one-way delay per direction; 5 ms */
    uint32_t ce_ppm[2];      /* per direction, chance an ECN-capable datagram arrives
                                marked CE (a congested router, RFC 3168 §5) */
    size_t slots;            /* datagrams a direction holds; 4096 */
    size_t slot_size;        /* largest datagram; 2048 */
    uint64_t start_ns;       /* initial clock value; 1 s */
};

/* ECN codepoints (RFC 3168), as the datagrams carry them. */
#define H3_LOOP_ECN_NOT_ECT 0
#define H3_LOOP_ECN_ECT1    1
#define H3_LOOP_ECN_ECT0    2
#define H3_LOOP_ECN_CE      3

struct h3_loop_stats {
    uint64_t sent[2], delivered[2], lost[2], reordered[2], overflow[2];
    uint64_t ecn_sent[2][4]; /* datagrams by the ECN codepoint their sender gave them */
    uint64_t ce_marked[2];   /* ECN-capable datagrams the loop marked CE */
    uint64_t progress; /* the client driver's reachability hints (h3_io_ops.progress) */
    uint64_t last_progress_ns; /* when the last one came (0: never) */
    size_t max_len[2]; /* the largest datagram sent (lost ones included) */
};

/* One endpoint as the loop sees it. */
struct h3_loop_ep {
    void *ctx;
    void (*recv)(void *ctx, const uint8_t *data, size_t len, uint8_t ecn, uint64_t now);
    uint64_t (*expiry)(void *ctx);              /* UINT64_MAX = none */
    void (*on_expiry)(void *ctx, uint64_t now);
    void (*flush)(void *ctx, uint64_t now);     /* may be NULL */
};

struct h3_loop;

/* Fill |p| with defaults (no loss, no reordering, 5 ms each way). */
void h3_loop_params_default(struct h3_loop_params *p);

/* Create a loopback. Returns NULL on bad parameters or out of memory. */
struct h3_loop *h3_loop_new(const struct h3_loop_params *p);
void h3_loop_del(struct h3_loop *l);

/* I/O ops for the client side (io ctx = the loop): packets go C2S. */
extern const struct h3_io_ops h3_loop_client_ops;

/* Queue a copy of a datagram with ECN codepoint |ecn| in direction |dir| (server side:
 * S2C). Subject to loss/reorder/CE marking. Returns 0, or -ENOBUFS/-EMSGSIZE when dropped for room. */
int h3_loop_send(struct h3_loop *l, enum h3_loop_dir dir, const uint8_t *data, size_t len,
                 uint8_t ecn);

uint64_t h3_loop_now(const struct h3_loop *l);
/* Idle time passes: the clock moves on to |to_ns| (never back). h3_loop_run stops short of
 * its limit when nothing is due before it; timers passed meanwhile run at the next
 * h3_loop_run. */
void h3_loop_advance(struct h3_loop *l, uint64_t to_ns);
void h3_loop_stats(const struct h3_loop *l, struct h3_loop_stats *st);

/* Forget the largest datagram sizes seen so far (h3_loop_stats.max_len). */
void h3_loop_reset_max_len(struct h3_loop *l);

/* Change loss rates on the fly (e.g. after the handshake). */
void h3_loop_set_loss(struct h3_loop *l, uint32_t c2s_ppm, uint32_t s2c_ppm);

/* Run events until |done(arg)| is true. Returns 0 when it is, -ETIMEDOUT when the
 * clock would pass |until_ns|, -EDEADLK when nothing is left to happen. */
int h3_loop_run(struct h3_loop *l, const struct h3_loop_ep *client,
                const struct h3_loop_ep *server, bool (*done)(void *arg), void *arg,
                uint64_t until_ns);

#endif /* H3DP_H3_LOOP_H */
