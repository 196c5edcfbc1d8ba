/* up_acct.c: accounting — every record and byte is in exactly one of queued, in flight,
 * acknowledged or failed once accepted (accepted = the sum; dropped records leave
 * accepted). Main thread only. */
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
