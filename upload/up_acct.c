/* up_acct.c: accounting — every record and byte is in exactly one of queued, in flight,
 * acknowledged or failed once accepted (accepted = the sum; dropped records leave
 * accepted) — and the `upload status` counters. Main thread only. */
#include "up_int.h"

#define UP_RTT_EWMA_SHIFT 3 /* rtt += (sample - rtt) / 8 */

static void add(struct up_count *c, const struct up_batch *b)
{
    c->records += b->records;
    c->bytes += b->bytes;
}

static void sub(struct up_count *c, const struct up_batch *b)
{
    c->records -= b->records;
    c->bytes -= b->bytes;
}

void up_acct_accept(struct up_acct *a, const struct up_batch *b)
{
    add(&a->accepted, b);
    add(&a->queued, b);
}

void up_acct_sent(struct up_acct *a, const struct up_batch *b)
{
    sub(&a->queued, b);
    add(&a->inflight, b);
    a->requests_sent++;
    a->body_bytes_sent += b->r.body ? b->r.body_len : b->r.synth_len;
}

void up_acct_requeue(struct up_acct *a, const struct up_batch *b)
{
    sub(&a->inflight, b);
    add(&a->queued, b);
    add(&a->retried, b);
    a->requests_retried++;
}

void up_acct_acked(struct up_acct *a, const struct up_batch *b, uint64_t rtt_ns)
{
    sub(&a->inflight, b);
    add(&a->acked, b);
    a->requests_acked++;
    a->rtt_ns = a->rtt_ns ? a->rtt_ns + ((int64_t)rtt_ns - (int64_t)a->rtt_ns) /
                                            (1 << UP_RTT_EWMA_SHIFT)
                          : rtt_ns;
}

void up_acct_failed(struct up_acct *a, const struct up_batch *b)
{
    sub(&a->inflight, b);
    add(&a->failed, b);
    a->requests_failed++;
}

void up_acct_dropped(struct up_acct *a, const struct up_batch *b)
{
    sub(&a->queued, b);
    sub(&a->accepted, b);
}

uint64_t up_acct_pending(const struct up_acct *a)
{
    return a->queued.records + a->inflight.records;
}

json_t *up_stats_json(const struct up *u, uint64_t now)
{
    const struct up_acct *a = &u->acct;
    unsigned open = 0, ready = 0;
    double el = u->t0 && now > u->t0 ? (double)(now - u->t0) / 1e9 : 0;
    json_t *r;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        open += u->conns[i].used;
        ready += u->conns[i].used && u->conns[i].ready;
    }
#define UPC(c) "records", (json_int_t)(c).records, "bytes", (json_int_t)(c).bytes
    r = json_pack(
        "{s:s, s:s, s:{s:i, s:i, s:i}, s:i, s:I, s:f,"
        " s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:s, s:I, s:I, s:I}}",
        "state", u->stopping ? (up_done(u) ? "stopped" : "stopping")
                 : up_has_work(u) ? "running" : "idle",
        "url", u->target, "connections", "target", (int)u->n_conns, "open", (int)open, "ready",
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
        "compress", "codec", u->zc ? "zstd" : "none", "records", (json_int_t)a->coded_records,
        "bytes_in", (json_int_t)a->coded_bytes, "bytes_out", (json_int_t)a->coded_out);
#undef UPC
    for (unsigned i = 0; r && i < u->n_sources; i++) {
        const struct up_source *s = &u->sources[i];
        json_object_set_new(r, s->ops->name, s->ops->stats_json(s));
    }
    return r;
}
