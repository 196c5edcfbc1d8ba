/* h3_stats.c: read-only views of a connection: state, outcome, statistics. */
#include <inttypes.h>

#include "h3_int.h"

enum h3_state h3_conn_state(const struct h3_conn *c)
{
    return c->state;
}

bool h3_conn_confirmed(const struct h3_conn *c)
{
    return c->confirmed;
}

bool h3_conn_early_ready(const struct h3_conn *c)
{
    return c->state == H3_STATE_CONNECTING && c->early_ok;
}

int64_t h3_conn_goaway_recv_id(const struct h3_conn *c)
{
    return c->goaway_recv_id;
}

bool h3_conn_outcome(const struct h3_conn *c, struct h3_outcome *o)
{
    *o = c->outcome;
    return c->state == H3_STATE_CLOSED;
}

uint64_t h3_conn_rtt(const struct h3_conn *c)
{
    ngtcp2_conn_info ci;

    ngtcp2_conn_get_conn_info(c->qc, &ci);
    return ci.min_rtt == UINT64_MAX ? 0 : ci.smoothed_rtt;
}

void h3_conn_stats(const struct h3_conn *c, struct h3_stats *st)
{
    ngtcp2_conn_info ci;

    memset(st, 0, sizeof(*st));
    st->state = c->state;
    h3_tls_info(c->tls, st->alpn, sizeof(st->alpn), st->tls_version, sizeof(st->tls_version),
                st->tls_cipher, sizeof(st->tls_cipher));
    ngtcp2_conn_get_conn_info(c->qc, &ci);
    st->rtt_min_ns = ci.min_rtt == UINT64_MAX ? 0 : ci.min_rtt;
    st->rtt_smoothed_ns = ci.smoothed_rtt;
    st->rtt_var_ns = ci.rttvar;
    st->cwnd = ci.cwnd;
    st->bytes_in_flight = ci.bytes_in_flight;
    st->pkts_sent = c->pkts_sent;
    st->pkts_recv = c->pkts_recv;
    st->bytes_sent = c->bytes_sent;
    st->bytes_recv = c->bytes_recv;
    st->pkts_recv_dropped = c->pkts_recv_dropped;
    st->pkts_lost = c->pkts_lost_closed;
    for (const struct h3_req *r = c->active.head; r; r = r->next)
        st->pkts_lost += ngtcp2_conn_get_stream_loss_count(c->qc, r->stream_id);
    for (int i = 0; i < 3; i++)
        if (c->uni_ids[i] >= 0)
            st->pkts_lost += ngtcp2_conn_get_stream_loss_count(c->qc, c->uni_ids[i]);
    st->streams_open = c->active.n;
    st->requests_queued = c->queue.n;
    st->requests_started = c->req_started;
    st->requests_completed = c->req_completed;
    st->requests_failed = c->req_failed;
    st->requests_not_processed = c->req_not_processed;
    st->requests_cancelled = c->req_cancelled;
    st->requests_conn_closed = c->req_conn_closed;
    st->body_bytes_sent = c->body_bytes_sent;
    st->body_bytes_recv = c->body_bytes_recv;
    st->goaway_sent_id = c->goaway_sent_id;
    st->goaway_recv_id = c->goaway_recv_id;
    st->max_push_requested = c->max_push_requested;
    st->max_push_effective = 0;
    st->resumed = c->resumed;
    st->early_data = c->early_state;
    st->requests_early = c->req_early;
    st->requests_early_resent = c->req_early_resent;
    st->tickets_received = c->tickets_received;
    st->ecn_rx = (struct h3_ecn_counts){
        .not_ect = c->ecn_rx[NGTCP2_ECN_NOT_ECT],
        .ect1 = c->ecn_rx[NGTCP2_ECN_ECT_1],
        .ect0 = c->ecn_rx[NGTCP2_ECN_ECT_0],
        .ce = c->ecn_rx[NGTCP2_ECN_CE],
    };
    st->ecn_tx = (struct h3_ecn_counts){
        .not_ect = c->ecn_tx[NGTCP2_ECN_NOT_ECT],
        .ect1 = c->ecn_tx[NGTCP2_ECN_ECT_1],
        .ect0 = c->ecn_tx[NGTCP2_ECN_ECT_0],
        .ce = c->ecn_tx[NGTCP2_ECN_CE],
    };
    st->pmtu_reports = c->pmtu_reports;
    memcpy(st->pkt_size_tx, c->size_tx, sizeof(st->pkt_size_tx));
    memcpy(st->pkt_size_rx, c->size_rx, sizeof(st->pkt_size_rx));
    st->key_phase = c->key_phase;
    st->key_updates = c->key_updates;
    st->max_udp_payload = c->qc ? ngtcp2_conn_get_path_max_tx_udp_payload_size(c->qc)
                                : c->max_udp_payload;
    if (st->max_udp_payload > c->pmtu_max)
        st->max_udp_payload = c->pmtu_max;
    st->outcome = c->outcome;
}

const char *h3_stats_resumption_str(const struct h3_stats *st, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (st->early_data == H3_EARLY_NOT_ATTEMPTED)
        snprintf(buf, len, "%s", st->resumed ? "resumed, no 0-RTT" : "full handshake");
    else if (st->early_data == H3_EARLY_REJECTED)
        snprintf(buf, len, "%s, 0-RTT rejected (%" PRIu64 " requests early, %" PRIu64
                 " sent again)", st->resumed ? "resumed" : "full handshake",
                 st->requests_early, st->requests_early_resent);
    else
        snprintf(buf, len, "%s, 0-RTT %s (%" PRIu64 " requests early)",
                 st->resumed ? "resumed" : "resuming", h3_early_data_str(st->early_data),
                 st->requests_early);
    return buf;
}

const uint16_t h3_pkt_size_bounds[H3_PKT_SIZE_BUCKETS - 1] = { 64,   256,  1200, 1452,
                                                               1472, 4096, 8952, 8972 };

size_t h3_pkt_size_bound(unsigned i)
{
    return i < H3_PKT_SIZE_BUCKETS - 1 ? h3_pkt_size_bounds[i] : 0;
}
