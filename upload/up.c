/* up.c: the upload engine's API (upload.h): the source table, the target, the main loop
 * step, stop, the `upload status` counters. Main thread only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "crypto.h"
#include "net_url.h"
#include "up_int.h"

RTE_LOG_REGISTER_DEFAULT(up_logtype, INFO);

/* Every source, in the order they are polled. A new source is a file up_src_NAME.c with
 * its `const struct up_source_ops` and one row here. */
static const struct up_source_ops *const up_source_table[] = {
    &up_src_gen_ops,
    &up_src_spool_ops,
    &up_src_ingest_ops,
};

_Static_assert(sizeof(up_source_table) / sizeof(up_source_table[0]) <= UP_SOURCES_MAX,
               "room for every source");

struct up_source *up_source_find(struct up *u, const struct up_source_ops *ops)
{
    for (unsigned i = 0; i < u->n_sources; i++)
        if (u->sources[i].ops == ops)
            return &u->sources[i];
    return NULL;
}

bool up_has_work(const struct up *u)
{
    if (u->ready.n || u->delayed.n || u->acct.inflight.records)
        return true;
    for (unsigned i = 0; i < u->n_sources; i++)
        if (u->sources[i].ops->busy(&u->sources[i]))
            return true;
    return false;
}

int up_enqueue(struct up *u, struct up_batch *b)
{
    if (up_batch_seal(u, b) < 0)
        return -ENOSPC;
    up_acct_accept(&u->acct, b);
    up_q_push(&u->ready, b);
    return 0;
}

int up_target(struct up *u, const char *list, char *why, size_t whylen)
{
    char old[sizeof(u->target_list)];

    /* Without a target nothing was sent anywhere: what waits for one goes to this one. */
    if (u->n_urls && up_has_work(u)) {
        snprintf(why, whylen,
                 "%" PRIu64 " records are still queued or in flight for %s, or a source is "
                 "active: `upload stop` and wait until the state is idle first",
                 up_acct_pending(&u->acct), u->target_list);
        return -EBUSY;
    }
    memcpy(old, u->target_list, sizeof(old));
    if (up_targets_set(u, list, why, whylen) < 0) /* changes nothing when it fails */
        return -EINVAL;
    if (strcmp(old, u->target_list) != 0)
        up_pool_release(u);
    return 0;
}

static void hset_free(struct up_hset *s)
{
    if (s) {
        up_headers_del(s->h);
        free(s);
    }
}

/* Frees |s| if it is neither current nor held. */
static void hset_maybe_free(struct up *u, struct up_hset *s)
{
    if (!s || s == u->hset || s->refs)
        return;
    for (struct up_hset **pp = &u->hsets_old; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    hset_free(s);
}

void up_hset_hold(struct up *u, struct up_batch *b)
{
    b->hset = u->hset;
    if (b->hset)
        b->hset->refs++;
}

void up_hset_release(struct up *u, struct up_batch *b)
{
    struct up_hset *s = b->hset;

    b->hset = NULL;
    if (s) {
        s->refs--;
        hset_maybe_free(u, s);
    }
}

void up_set_headers(struct up *u, struct up_headers *h, const char *file)
{
    struct up_hset *old = u->hset, *s = NULL;

    if (h && !(s = calloc(1, sizeof(*s)))) {
        up_error(u, UP_ERR_IO, "out of memory for the headers of %s: kept the old ones",
                 file ? file : "?");
        up_headers_del(h);
        return;
    }
    if (s) {
        s->h = h;
        snprintf(s->file, sizeof(s->file), "%s", file ? file : "");
    }
    u->hset = s;
    if (old && old->refs) {
        old->next = u->hsets_old;
        u->hsets_old = old;
    } else {
        hset_free(old);
    }
}

bool up_has_target(const struct up *u)
{
    return u->n_urls > 0;
}

int up_pool_size(struct up *u, unsigned connections, unsigned streams)
{
    if (connections > UP_MAX_CONNS)
        return -EINVAL;
    if (connections)
        u->n_conns = connections;
    if (streams)
        u->streams = streams;
    return 0;
}

static int check_conf(const struct up_conf *c, char *why, size_t whylen)
{
    if (c->connections < 1 || c->connections > UP_MAX_CONNS) {
        snprintf(why, whylen, "connections must be 1..%d", UP_MAX_CONNS);
        return -EINVAL;
    }
    if (!c->streams || !c->batch_bytes || !c->ingest_queue || !c->retry_initial_ms ||
        c->retry_max_ms < c->retry_initial_ms) {
        snprintf(why, whylen, "streams, batch_bytes, ingest_queue and retry_initial_ms must be "
                              "positive, retry_max_ms at least retry_initial_ms");
        return -EINVAL;
    }
    if (c->gen.rate && (!c->gen.record_bytes || c->gen.record_bytes > UP_GEN_RECORD_MAX)) {
        snprintf(why, whylen, "generator records must be 1..%u bytes", UP_GEN_RECORD_MAX);
        return -EINVAL;
    }
    if ((c->content_type && strlen(c->content_type) >= UP_STR_MAX) ||
        (c->sni && strlen(c->sni) >= UP_HOST_MAX)) {
        snprintf(why, whylen, "content type or SNI too long");
        return -EINVAL;
    }
    if (c->compress_level < 0 || c->compress_level > (c->compress == UP_COMPRESS_GZIP ? 9 : 19)) {
        snprintf(why, whylen, "compress_level out of range");
        return -EINVAL;
    }
    return 0;
}

struct up *up_new(const struct up_conf *c, struct svc *svc, int *err, char *why, size_t whylen)
{
    struct up *u;
    uint8_t rnd[8];
    int rv;

    if ((rv = check_conf(c, why, whylen)) < 0)
        goto fail;
    u = calloc(1, sizeof(*u));
    if (!u) {
        rv = -ENOMEM;
        goto fail;
    }
    u->svc = svc;
    u->resolver = c->resolver;
    u->ipv6 = c->ipv6;
    if (c->url && c->url[0] && (rv = up_targets_set(u, c->url, why, whylen)) < 0)
        goto fail_free;
    snprintf(u->sni, sizeof(u->sni), "%s", c->sni ? c->sni : "");
    snprintf(u->content_type, sizeof(u->content_type), "%s",
             c->content_type ? c->content_type : "");
    u->n_conns = c->connections;
    u->streams = c->streams;
    u->batch_bytes = c->batch_bytes;
    u->linger_ns = (uint64_t)c->linger_ms * 1000000ull;
    u->retry_initial_ns = (uint64_t)c->retry_initial_ms * 1000000ull;
    u->retry_max_ns = (uint64_t)c->retry_max_ms * 1000000ull;
    u->retry_limit = c->retry_limit;
    if ((rv = crypto_random(rnd, sizeof(rnd))) < 0) {
        snprintf(why, whylen, "no random bytes for the batch ids");
        goto fail_free;
    }
    for (int i = 0; i < 8; i++)
        snprintf(u->boot + 2 * i, 3, "%02x", rnd[i]);
    srand((unsigned)rnd[0] << 8 | rnd[1]); /* retry jitter */
    u->framing = c->framing;
    u->early_data = c->early_data;
    if (!c->content_type || !c->content_type[0])
        snprintf(u->content_type, sizeof(u->content_type), "%s",
                 c->framing == UP_FRAMING_NEWLINE ? "application/x-ndjson"
                                                  : "application/octet-stream");
    if ((rv = up_codec_init(u, c->compress, c->compress_level)) < 0)
        goto fail_free;
    for (unsigned i = 0; i < sizeof(up_source_table) / sizeof(up_source_table[0]); i++) {
        struct up_source *s = &u->sources[i];
        *s = (struct up_source){ .ops = up_source_table[i], .u = u };
        rv = s->ops->open(s, c, why, whylen);
        u->n_sources++; /* closed by up_del even when open failed half way */
        if (rv < 0)
            goto fail_sources;
    }
    up_set_headers(u, c->headers, c->headers_file); /* owned from here */
    return u;

fail_sources:
    up_del(u);
    *err = rv;
    return NULL;
fail_free:
    up_codec_free(u);
    free(u);
fail:
    if (rv == -ENOMEM)
        snprintf(why, whylen, "out of memory");
    *err = rv;
    return NULL;
}

unsigned up_poll(struct up *u, uint64_t now)
{
    unsigned n = 0;
    struct up_batch *b;

    u->now = now;
    if (!u->t0)
        u->t0 = now;
    for (unsigned i = 0; i < u->n_sources; i++)
        n += u->sources[i].ops->poll(&u->sources[i]);
    n += up_pool_upkeep(u, up_has_work(u));
    n += up_pool_dispatch(u);
    if (u->stopping && u->stop_deadline && now >= u->stop_deadline) {
        /* Give up on what was never sent: spool files stay for the next run. */
        while ((b = up_q_pop(&u->ready)) || (b = up_q_pop(&u->delayed))) {
            up_acct_dropped(&u->acct, b);
            if (b->src->ops->dropped)
                b->src->ops->dropped(b->src, b);
            up_batch_del(u, b);
        }
    }
    return n;
}

void up_stop(struct up *u, uint64_t deadline)
{
    u->stopping = true;
    u->stop_deadline = deadline;
    for (unsigned i = 0; i < u->n_sources; i++)
        if (u->sources[i].ops->stop)
            u->sources[i].ops->stop(&u->sources[i]);
    /* Batches of durable sources not yet sent stay there for the next run. */
    for (struct up_queue *q = &u->ready; q; q = q == &u->ready ? &u->delayed : NULL) {
        struct up_queue rest = { 0 };
        struct up_batch *b;
        while ((b = up_q_pop(q))) {
            if (b->src->ops->durable) {
                up_acct_dropped(&u->acct, b);
                if (b->src->ops->dropped)
                    b->src->ops->dropped(b->src, b);
                up_batch_del(u, b);
            } else {
                up_q_push(&rest, b);
            }
        }
        *q = rest;
    }
}

int up_poll_timeout_ms(const struct up *u)
{
    int t = -1;

    if (u->n_urls && up_has_work(u))
        return 1; /* linger, retries, the generator's rate: millisecond timers */
    for (unsigned i = 0; i < u->n_sources; i++) {
        const struct up_source *s = &u->sources[i];
        int st = s->ops->timeout_ms ? s->ops->timeout_ms(s) : -1;
        if (st >= 0 && (t < 0 || st < t))
            t = st;
    }
    return t;
}

unsigned up_fds(const struct up *u, int *fds, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < u->n_sources && n < max; i++) {
        const struct up_source *s = &u->sources[i];
        int fd = s->ops->fd ? s->ops->fd(s) : -1;
        if (fd >= 0)
            fds[n++] = fd;
    }
    return n;
}

void up_readable(struct up *u, int fd)
{
    for (unsigned i = 0; i < u->n_sources; i++) {
        struct up_source *s = &u->sources[i];
        if (s->ops->fd && s->ops->readable && s->ops->fd(s) == fd)
            s->ops->readable(s);
    }
}

bool up_done(const struct up *u)
{
    return !up_has_work(u);
}

void up_del(struct up *u)
{
    struct up_batch *b;

    if (!u)
        return;
    while ((b = up_q_pop(&u->ready)) || (b = up_q_pop(&u->delayed)))
        up_batch_del(u, b);
    for (unsigned i = 0; i < u->n_sources; i++)
        u->sources[i].ops->close(&u->sources[i]);
    up_batch_pool_free(u);
    up_codec_free(u);
    hset_free(u->hset);
    while (u->hsets_old) {
        struct up_hset *s = u->hsets_old;
        u->hsets_old = s->next;
        hset_free(s);
    }
    free(u);
}

json_t *up_stats_json(const struct up *u, uint64_t now)
{
    const struct up_acct *a = &u->acct;
    unsigned open = 0, ready = 0, early = 0;
    double el = u->t0 && now > u->t0 ? (double)(now - u->t0) / 1e9 : 0;
    json_t *r;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        open += u->conns[i].used;
        ready += u->conns[i].used && u->conns[i].ready;
        early += u->conns[i].used && u->conns[i].early;
    }
#define UPC(c) "records", (json_int_t)(c).records, "bytes", (json_int_t)(c).bytes
    r = json_pack(
        "{s:s, s:s, s:{s:i, s:i, s:i}, s:i, s:I, s:f,"
        " s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:s, s:I, s:I, s:I}, s:{s:I, s:I}}",
        "state", u->stopping ? (up_done(u) ? "stopped" : "stopping")
                 : up_has_work(u) ? "running" : "idle",
        "url", u->target_list, "connections", "target", (int)u->n_conns, "open", (int)open, "ready",
        (int)ready, "streams", (int)u->streams, "rtt_us", (json_int_t)(a->rtt_ns / 1000),
        "elapsed_s", el,
        "accepted", UPC(a->accepted), "queued", UPC(a->queued), "in_flight", UPC(a->inflight),
        "acked", UPC(a->acked), "failed", UPC(a->failed), "retried", UPC(a->retried),
        "requests", "sent", (json_int_t)a->requests_sent, "acked",
        (json_int_t)a->requests_acked, "retried", (json_int_t)a->requests_retried, "failed",
        (json_int_t)a->requests_failed, "not_processed", (json_int_t)a->not_processed,
        "conn_errors", (json_int_t)a->conn_errors, "status_4xx", (json_int_t)a->status_4xx,
        "status_5xx", (json_int_t)a->status_5xx, "retry_after",
        (json_int_t)a->retry_after_used, "body_bytes", (json_int_t)a->body_bytes_sent,
        "compress", "codec", up_codec_name(u->codec), "records", (json_int_t)a->coded_records,
        "bytes_in", (json_int_t)a->coded_bytes, "bytes_out", (json_int_t)a->coded_out,
        "busy_us", "compress", (json_int_t)(a->compress_ns / 1000), "digest",
        (json_int_t)(a->digest_ns / 1000));
#undef UPC
    for (unsigned i = 0; r && i < u->n_sources; i++) {
        const struct up_source *s = &u->sources[i];
        json_object_set_new(r, s->ops->name, s->ops->stats_json(s));
    }
    if (r) {
        /* The operator's headers by name only: their values are secrets. */
        json_t *names = json_array();
        const struct up_headers *h = u->hset ? u->hset->h : NULL;
        for (size_t k = 0; names && h && k < up_headers_count(h); k++)
            json_array_append_new(names, json_string(up_headers_name(h, k)));
        json_object_set_new(r, "headers",
                            json_pack("{s:s?, s:o}", "file",
                                      u->hset && u->hset->file[0] ? u->hset->file : NULL,
                                      "names",
                                      names ? names : json_array()));
        json_object_set_new(json_object_get(r, "connections"), "early", json_integer(early));
        json_object_set_new(
            r, "resumption",
            json_pack("{s:I, s:I, s:I, s:I, s:I}", "handshakes", (json_int_t)a->handshakes,
                      "resumed", (json_int_t)a->resumed, "early_sent",
                      (json_int_t)a->early_sent, "early_accepted",
                      (json_int_t)a->early_accepted, "early_rejected",
                      (json_int_t)a->early_rejected));
        json_object_set_new(r, "endpoints", up_targets_json(u));
        json_t *e = up_err_json(u);
        json_object_update(r, e);
        json_decref(e);
    }
    return r;
}
