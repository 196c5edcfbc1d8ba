/*
 * h3_conn.c: the connection driver. Glues ngtcp2 (QUIC), nghttp3 (HTTP/3) and the
 * TLS seam; owns the state machine, graceful shutdown, the closing period and
 * the packet write loop into the I/O seam's buffers.
 *
 * Re-entrancy: the libraries call us back from inside ngtcp2_conn_read_pkt and
 * friends. Work that would call back into them (starting queued requests,
 * acting on a GOAWAY, closing) is recorded and done in conn_settle() once the
 * library call has returned.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include <ngtcp2/ngtcp2_crypto.h>

#include "crypto.h"
#include "h3_int.h"

#define H3_CID_LEN 18              /* RFC 9000 §17.2: up to 20 bytes */
#define H3_CLOSE_PTO_MULT 3        /* closing period: three PTOs (RFC 9000 §10.2) */
#define H3_STREAMS_UNI 3           /* control + QPACK encoder/decoder (RFC 9114 §6.2) */
#define H3_MIN_UDP_PAYLOAD 1200    /* RFC 9000 §14 */
/* UDP payload of a 1500-byte Ethernet MTU over IPv4 (20 + 8) and IPv6 (40 + 8). */
#define H3_ETH_UDP4_PAYLOAD 1472
#define H3_ETH_UDP6_PAYLOAD 1452
#define H3_VEC_MAX 16
/* The first byte of a short (1-RTT) header: Header Form 0, Key Phase bit (RFC 9000 §17.3.1) */
#define H3_HEADER_FORM_LONG 0x80
#define H3_SHORT_KEY_PHASE  0x04

/* The connection whose packets this thread is writing (conn_write), for encrypt_cb: ngtcp2's
 * encrypt callback has no user data. */
static __thread struct h3_conn *tx_conn;

static void conn_write(struct h3_conn *c, uint64_t now);
static void conn_settle(struct h3_conn *c, uint64_t now);

void h3_conn_params_default(struct h3_conn_params *p)
{
    memset(p, 0, sizeof(*p));
    p->port = 443;
    p->idle_timeout_ns = 30 * NGTCP2_SECONDS;
    p->handshake_timeout_ns = 10 * NGTCP2_SECONDS;
    p->initial_max_data = 16u << 20;
    p->initial_max_stream_data = 4u << 20;
    p->max_requests = 256;
    p->max_udp_payload = 1452;
}

/* ------------------------------------------------------------- outcome */

static void set_outcome(struct h3_conn *c, enum h3_close_kind kind, enum h3_origin origin,
                        uint64_t code, int err, const char *reason, size_t rlen)
{
    struct h3_outcome *o = &c->outcome;

    if (o->kind != H3_CLOSE_NONE)
        return; /* first cause wins */
    o->kind = kind;
    o->origin = origin;
    o->code = code;
    o->ok = kind == H3_CLOSE_APPLICATION && code == H3_H3_NO_ERROR;
    o->err = o->ok ? 0 : err;
    if (reason && rlen) {
        if (rlen >= sizeof(o->reason))
            rlen = sizeof(o->reason) - 1;
        memcpy(o->reason, reason, rlen);
        o->reason[rlen] = '\0';
        for (size_t i = 0; i < rlen; i++) /* peer text: keep it printable */
            if ((unsigned char)o->reason[i] < 0x20 || o->reason[i] == 0x7f)
                o->reason[i] = '?';
    }
}

static void outcome_from_ccerr(struct h3_conn *c, const ngtcp2_ccerr *e, enum h3_origin origin,
                               int err)
{
    enum h3_close_kind kind = H3_CLOSE_TRANSPORT;

    switch (e->type) {
    case NGTCP2_CCERR_TYPE_APPLICATION:
        kind = H3_CLOSE_APPLICATION;
        break;
    case NGTCP2_CCERR_TYPE_IDLE_CLOSE:
        kind = H3_CLOSE_IDLE_TIMEOUT;
        err = H3_ERR_IDLE_TIMEOUT;
        break;
    default:
        break;
    }
    if (!err)
        err = origin == H3_ORIGIN_REMOTE ? H3_ERR_PEER_CLOSED : H3_ERR_QUIC;
    set_outcome(c, kind, origin, e->error_code, err, (const char *)e->reason, e->reasonlen);
}

static void enter_closed(struct h3_conn *c)
{
    if (c->state == H3_STATE_CLOSED)
        return;
    c->state = H3_STATE_CLOSED;
    h3_req_complete_all(c, H3_REQ_CONN_CLOSED, 0);
    if (c->on_closed)
        c->on_closed(c, &c->outcome, c->ud);
}

/* Send CONNECTION_CLOSE with |e|, keep a copy for the closing period. */
static void close_with(struct h3_conn *c, const ngtcp2_ccerr *e, uint64_t now, int err)
{
    void *pkt;
    size_t cap;
    ngtcp2_pkt_info pi = { 0 };

    if (c->state >= H3_STATE_CLOSING)
        return;
    outcome_from_ccerr(c, e, H3_ORIGIN_LOCAL, err);
    /* CLOSING first: requests submitted from on_complete are refused. */
    c->state = H3_STATE_CLOSING;
    c->close_deadline = now + H3_CLOSE_PTO_MULT * ngtcp2_conn_get_pto(c->qc);
    h3_req_complete_all(c, H3_REQ_CONN_CLOSED, e->error_code);

    uint8_t *buf = c->io->tx_get(c->io_ctx, &cap, &pkt);
    if (!buf)
        return; /* nothing sent: the peer will time out */
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->qc, &c->ps.path, &pi, buf, cap, e,
                                                        now);
    if (n <= 0) {
        c->io->tx_abort(c->io_ctx, pkt);
        return;
    }
    c->close_pkt = c->mem.malloc((size_t)n, c->mem.ud);
    if (c->close_pkt) {
        memcpy(c->close_pkt, buf, (size_t)n);
        c->close_len = (size_t)n;
    }
    if (c->io->tx_put(c->io_ctx, pkt, (size_t)n, pi.ecn) == 0) {
        c->pkts_sent++;
        c->bytes_sent += (uint64_t)n;
        c->ecn_tx[pi.ecn & NGTCP2_ECN_MASK]++;
        c->size_tx[h3_pkt_size_bucket((size_t)n)]++;
    }
    c->close_next_resend = 1;
}

static void close_liberr(struct h3_conn *c, int liberr, uint64_t now, int err)
{
    ngtcp2_ccerr e;

    if (c->ccerr_set) {
        e = c->ccerr;
    } else {
        ngtcp2_ccerr_default(&e);
        ngtcp2_ccerr_set_liberr(&e, liberr, NULL, 0);
    }
    close_with(c, &e, now, err);
}

/* Resend the saved close packet on incoming packets, exponentially less often
 * (RFC 9000 §10.2.1). */
static void closing_on_packet(struct h3_conn *c)
{
    void *pkt;
    size_t cap;

    if (!c->close_pkt || ++c->close_rx < c->close_next_resend)
        return;
    c->close_next_resend *= 2;
    uint8_t *buf = c->io->tx_get(c->io_ctx, &cap, &pkt);
    if (!buf)
        return;
    if (cap < c->close_len) {
        c->io->tx_abort(c->io_ctx, pkt);
        return;
    }
    memcpy(buf, c->close_pkt, c->close_len);
    if (c->io->tx_put(c->io_ctx, pkt, c->close_len, 0) == 0) {
        c->pkts_sent++;
        c->bytes_sent += c->close_len;
        c->ecn_tx[NGTCP2_ECN_NOT_ECT]++;
        c->size_tx[h3_pkt_size_bucket(c->close_len)]++;
    }
}

/* The peer closed (we are draining): nothing more may be sent. */
static void on_remote_close(struct h3_conn *c)
{
    if (c->stateless_reset) {
        set_outcome(c, H3_CLOSE_STATELESS_RESET, H3_ORIGIN_REMOTE, 0, H3_ERR_PEER_CLOSED, NULL,
                    0);
    } else {
        outcome_from_ccerr(c, ngtcp2_conn_get_ccerr(c->qc), H3_ORIGIN_REMOTE, 0);
    }
    enter_closed(c);
}

void h3_conn_fail_app(struct h3_conn *c, uint64_t app_code, const char *reason)
{
    if (c->ccerr_set)
        return;
    ngtcp2_ccerr_default(&c->ccerr);
    ngtcp2_ccerr_set_application_error(&c->ccerr, app_code, (const uint8_t *)reason,
                                       reason ? strlen(reason) : 0);
    c->ccerr_set = true;
}

/* ------------------------------------------------------- ngtcp2 callbacks */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    struct h3_conn *c = ref->user_data;
    return c->qc;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    crypto_random(dest, len);
}

static int new_cid_cb(ngtcp2_conn *qc, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                      void *ud)
{
    (void)qc;
    (void)ud;
    if (crypto_random(cid->data, cidlen) != 0 ||
        crypto_random(token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    return 0;
}

int h3_conn_setup_h3(struct h3_conn *c)
{
    nghttp3_settings s;
    int64_t ctrl, qenc, qdec;

    nghttp3_settings_default(&s);
    if (nghttp3_conn_client_new(&c->hc, &h3_req_h3_callbacks, &s, &c->hmem, c) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (ngtcp2_conn_open_uni_stream(c->qc, &ctrl, NULL) != 0 ||
        nghttp3_conn_bind_control_stream(c->hc, ctrl) != 0 ||
        ngtcp2_conn_open_uni_stream(c->qc, &qenc, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(c->qc, &qdec, NULL) != 0 ||
        nghttp3_conn_bind_qpack_streams(c->hc, qenc, qdec) != 0) {
        h3_conn_fail_app(c, H3_H3_INTERNAL_ERROR, "cannot open HTTP/3 streams");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    c->uni_ids[0] = ctrl;
    c->uni_ids[1] = qenc;
    c->uni_ids[2] = qdec;
    return 0;
}

/* HTTP/3 starts as soon as 1-RTT keys exist, so that the server's control
 * stream (sent in 0.5-RTT) finds nghttp3 ready. */
static int recv_rx_key_cb(ngtcp2_conn *qc, ngtcp2_encryption_level level, void *ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    if (level != NGTCP2_ENCRYPTION_LEVEL_1RTT || c->hc)
        return 0;
    return h3_conn_setup_h3(c);
}

static int handshake_completed_cb(ngtcp2_conn *qc, void *ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    if (!h3_tls_alpn_is_h3(c->tls)) {
        h3_conn_fail_app(c, H3_H3_GENERAL_PROTOCOL_ERROR, "ALPN h3 not negotiated");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    c->resumed = h3_tls_resumed(c->tls);
    if (c->early_state == H3_EARLY_PENDING) {
        if (h3_tls_early_data_accepted(c->tls)) {
            c->early_state = H3_EARLY_ACCEPTED;
        } else {
            /* GnuTLS reports the answer only now: tell ngtcp2, which drops every stream
             * and the 0-RTT packets (early_rejected_cb requeues the requests), then start
             * HTTP/3 afresh in 1-RTT. */
            int rv = ngtcp2_conn_tls_early_data_rejected(c->qc);
            if (rv != 0)
                return NGTCP2_ERR_CALLBACK_FAILURE;
            if (!c->hc && (rv = h3_conn_setup_h3(c)) != 0)
                return rv;
        }
    }
    c->early_ok = false; /* from now on everything goes in 1-RTT */
    if (c->state == H3_STATE_CONNECTING)
        c->state = H3_STATE_ESTABLISHED;
    c->established_pending = true;
    return 0;
}

static int handshake_confirmed_cb(ngtcp2_conn *qc, void *ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    c->confirmed = true;
    c->progress = true; /* the server has our Finished */
    return 0;
}

/* ngtcp2 has discarded the streams opened in 0-RTT (RFC 9001 §4.6.2): drop the HTTP/3
 * state that lived on them and queue the requests again. */
static int early_rejected_cb(ngtcp2_conn *qc, void *ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    if (c->early_state == H3_EARLY_PENDING)
        c->early_state = H3_EARLY_REJECTED;
    c->early_ok = false;
    nghttp3_conn_del(c->hc);
    c->hc = NULL;
    c->uni_ids[0] = c->uni_ids[1] = c->uni_ids[2] = -1;
    h3_req_requeue_early(c);
    return 0;
}

/* A NewSessionTicket: keep it with the transport parameters 0-RTT will need. */
static void on_ticket(void *ud, const uint8_t *data, size_t len)
{
    struct h3_conn *c = ud;
    uint8_t tp[H3_SESSION_TP_MAX];
    ngtcp2_ssize n = ngtcp2_conn_encode_0rtt_transport_params(c->qc, tp, sizeof(tp));

    h3_session_put(c->sc, c->sc_key, data, len, tp, n > 0 ? (size_t)n : 0);
    c->tickets_received++;
}

static int recv_stream_data_cb(ngtcp2_conn *qc, uint32_t flags, int64_t stream_id,
                               uint64_t offset, const uint8_t *data, size_t len, void *ud,
                               void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)offset;
    (void)stream_ud;

    if (!c->hc)
        return 0;
    nghttp3_ssize n = nghttp3_conn_read_stream(c->hc, stream_id, data, len,
                                               flags & NGTCP2_STREAM_DATA_FLAG_FIN);
    if (n < 0) {
        h3_conn_fail_app(c, nghttp3_err_infer_quic_app_error_code((int)n),
                         nghttp3_strerror((int)n));
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    ngtcp2_conn_extend_max_stream_offset(c->qc, stream_id, (uint64_t)n);
    ngtcp2_conn_extend_max_offset(c->qc, (uint64_t)n);
    return 0;
}

static int acked_cb(ngtcp2_conn *qc, int64_t stream_id, uint64_t offset, uint64_t datalen,
                    void *ud, void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)offset;
    (void)stream_ud;
    c->progress = true;
    if (c->hc && nghttp3_conn_add_ack_offset(c->hc, stream_id, datalen) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int stream_close_cb(ngtcp2_conn *qc, uint32_t flags, int64_t stream_id,
                           uint64_t app_error_code, void *ud, void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)stream_ud;
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
        app_error_code = NGHTTP3_H3_NO_ERROR;
    /* ngtcp2 1.11 counts lost packets per stream only: keep the total. */
    c->pkts_lost_closed += ngtcp2_conn_get_stream_loss_count(c->qc, stream_id);
    if (!c->hc)
        return 0;
    int rv = nghttp3_conn_close_stream(c->hc, stream_id, app_error_code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) {
        h3_conn_fail_app(c, nghttp3_err_infer_quic_app_error_code(rv), nghttp3_strerror(rv));
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

/* The peer reset its sending side, or asked us to stop sending. */
static int stream_reset_cb(ngtcp2_conn *qc, int64_t stream_id, uint64_t final_size,
                           uint64_t app_error_code, void *ud, void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)final_size;
    (void)app_error_code;
    (void)stream_ud;
    if (c->hc && nghttp3_conn_shutdown_stream_read(c->hc, stream_id) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int stop_sending_cb(ngtcp2_conn *qc, int64_t stream_id, uint64_t app_error_code,
                           void *ud, void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)app_error_code;
    (void)stream_ud;
    if (c->hc && nghttp3_conn_shutdown_stream_read(c->hc, stream_id) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int extend_max_stream_data_cb(ngtcp2_conn *qc, int64_t stream_id, uint64_t max_data,
                                     void *ud, void *stream_ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)max_data;
    (void)stream_ud;
    if (c->hc && nghttp3_conn_unblock_stream(c->hc, stream_id) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int stateless_reset_cb(ngtcp2_conn *qc, const ngtcp2_pkt_stateless_reset *sr, void *ud)
{
    struct h3_conn *c = ud;
    (void)qc;
    (void)sr;
    c->stateless_reset = true;
    return 0;
}

/* Protects a packet we send. Its associated data is the unprotected header: a short
 * header's Key Phase bit is the phase of the 1-RTT keys in use, and a change of it is a key
 * update (RFC 9001 §6), ours or the peer's: ngtcp2 rotates both directions at once. */
static int encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                      const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                      size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
                      const uint8_t *aad, size_t aadlen)
{
    struct h3_conn *c = tx_conn;

    if (c && aadlen > 0 && !(aad[0] & H3_HEADER_FORM_LONG)) {
        uint8_t phase = (aad[0] & H3_SHORT_KEY_PHASE) ? 1 : 0;
        if (phase != c->key_phase) {
            c->key_phase = phase;
            c->key_updates++;
        }
    }
    return ngtcp2_crypto_encrypt_cb(dest, aead, aead_ctx, plaintext, plaintextlen, nonce, noncelen,
                                    aad, aadlen);
}

static const ngtcp2_callbacks quic_callbacks = {
    .client_initial = ngtcp2_crypto_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .handshake_completed = handshake_completed_cb,
    .handshake_confirmed = handshake_confirmed_cb,
    .encrypt = encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = recv_stream_data_cb,
    .acked_stream_data_offset = acked_cb,
    .stream_close = stream_close_cb,
    .recv_stateless_reset = stateless_reset_cb,
    .recv_retry = ngtcp2_crypto_recv_retry_cb,
    .rand = rand_cb,
    .get_new_connection_id = new_cid_cb,
    .update_key = ngtcp2_crypto_update_key_cb,
    .stream_reset = stream_reset_cb,
    .extend_max_stream_data = extend_max_stream_data_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .stream_stop_sending = stop_sending_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
    .recv_rx_key = recv_rx_key_cb,
    .tls_early_data_rejected = early_rejected_cb,
};

static void log_cb(void *ud, const char *fmt, ...)
{
    struct h3_conn *c = ud;
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->log(c->ud, line);
}

static void qlog_cb(void *ud, uint32_t flags, const void *data, size_t len)
{
    struct h3_conn *c = ud;
    fwrite(data, 1, len, c->qlog);
    if (flags & NGTCP2_QLOG_WRITE_FLAG_FIN)
        fflush(c->qlog);
}

/* ------------------------------------------------------------ lifecycle */

static int copy_addr(struct sockaddr_storage *dst, const struct sockaddr *sa, socklen_t len)
{
    if (!sa || len == 0 || len > sizeof(*dst))
        return H3_ERR_INVAL;
    if (!(sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) &&
        !(sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)))
        return H3_ERR_INVAL;
    memset(dst, 0, sizeof(*dst));
    memcpy(dst, sa, len);
    return 0;
}

static int make_authority(struct h3_conn *c, const struct h3_conn_params *p)
{
    char buf[300];

    if (p->authority) {
        c->authority = h3_mem_strdup(&c->mem, p->authority);
    } else {
        bool v6 = strchr(p->host, ':') != NULL; /* IPv6 literal: bracket it */
        if (p->port == 443)
            snprintf(buf, sizeof(buf), v6 ? "[%s]" : "%s", p->host);
        else
            snprintf(buf, sizeof(buf), v6 ? "[%s]:%u" : "%s:%u", p->host, p->port);
        c->authority = h3_mem_strdup(&c->mem, buf);
    }
    return c->authority ? 0 : H3_ERR_NOMEM;
}

int h3_conn_new(const struct h3_conn_params *p, uint64_t now_ns, struct h3_conn **out)
{
    const struct h3_mem *m;
    struct h3_conn *c;
    ngtcp2_cid dcid, scid;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
    char err[256] = "";
    uint8_t *ticket = NULL, early_tp[H3_SESSION_TP_MAX];
    size_t early_tp_len = 0;
    int rv;

    if (!out)
        return H3_ERR_INVAL;
    *out = NULL;
    if (!p || !p->host || !*p->host || strlen(p->host) > 253 || !p->io || !p->io->tx_get ||
        !p->io->tx_put || !p->io->tx_abort || p->max_requests == 0 ||
        p->max_udp_payload < H3_MIN_UDP_PAYLOAD || p->idle_timeout_ns == 0)
        return H3_ERR_INVAL;
    m = p->mem ? p->mem : h3_mem_default();
    if (!m->malloc || !m->free || !m->calloc || !m->realloc)
        return H3_ERR_INVAL;
    c = m->calloc(1, sizeof(*c), m->ud);
    if (!c)
        return H3_ERR_NOMEM;
    c->mem = *m;
    h3_mem_bridge(&c->mem, &c->qmem, &c->hmem);
    c->io = p->io;
    c->io_ctx = p->io_ctx;
    c->on_established = p->on_established;
    c->on_closed = p->on_closed;
    c->log = p->log;
    c->ud = p->ud;
    c->max_streams_cap = p->max_streams;
    c->max_udp_payload = p->max_udp_payload;
    c->pmtu_max = SIZE_MAX;
    c->goaway_sent_id = c->goaway_recv_id = -1;
    c->uni_ids[0] = c->uni_ids[1] = c->uni_ids[2] = -1;
    c->state = H3_STATE_CONNECTING;

    if ((rv = copy_addr(&c->local, p->local, p->local_len)) != 0 ||
        (rv = copy_addr(&c->remote, p->remote, p->remote_len)) != 0 ||
        (rv = make_authority(c, p)) != 0 || (rv = h3_req_pool_init(c, p->max_requests)) != 0)
        goto fail;
    ngtcp2_path_storage_init(&c->ps, (struct sockaddr *)&c->local, p->local_len,
                             (struct sockaddr *)&c->remote, p->remote_len, NULL);

    struct h3_tls_params tp = { .host = p->host, .sni = p->sni, .ca_file = p->ca_file,
                                .insecure = p->insecure, .cert_file = p->cert_file,
                                .key_file = p->key_file, .keylog_file = p->keylog_file };
    if (p->session_cache &&
        h3_session_key(p->sni ? p->sni : p->host, p->remote, p->ca_file, p->insecure,
                       p->cert_file, c->sc_key, sizeof(c->sc_key))) {
        c->sc = p->session_cache;
        tp.on_ticket = on_ticket;
        tp.ticket_ud = c;
        if (h3_session_take(c->sc, c->sc_key, &ticket, &tp.session_len, early_tp,
                            &early_tp_len))
            tp.session_data = ticket;
    }
    rv = h3_tls_client_new(&tp, get_conn, c, &c->tls, err, sizeof(err));
    free(ticket); /* GnuTLS keeps its own copy */
    if (rv != 0) {
        if (c->log && err[0])
            c->log(c->ud, err);
        goto fail;
    }
    if (p->qlog_file && !(c->qlog = fopen(p->qlog_file, "w"))) {
        rv = H3_ERR_FILE;
        goto fail;
    }

    dcid.datalen = scid.datalen = H3_CID_LEN;
    if (crypto_random(dcid.data, dcid.datalen) != 0 ||
        crypto_random(scid.data, scid.datalen) != 0) {
        rv = H3_ERR_TLS;
        goto fail;
    }
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns;
    settings.handshake_timeout = p->handshake_timeout_ns ? p->handshake_timeout_ns : UINT64_MAX;
    settings.max_tx_udp_payload_size = p->max_udp_payload;
    /* PMTUD from the port's size down to the usual Ethernet ones; never a probe of
     * H3_MIN_UDP_PAYLOAD or less (ngtcp2 asserts on one, and 1200 always works). Over
     * IPv6 a 1500-byte link carries 1452 (40 + 8 bytes of headers): 1472 is not tried. */
    {
        static const size_t common[] = { H3_ETH_UDP4_PAYLOAD, H3_ETH_UDP6_PAYLOAD };
        bool v6 = p->remote->sa_family == AF_INET6;
        size_t n = 0;
        if (p->max_udp_payload > H3_MIN_UDP_PAYLOAD && p->max_udp_payload <= UINT16_MAX)
            c->pmtud_probes[n++] = (uint16_t)p->max_udp_payload;
        for (size_t i = v6 ? 1 : 0; i < sizeof(common) / sizeof(common[0]); i++)
            if (common[i] < p->max_udp_payload)
                c->pmtud_probes[n++] = (uint16_t)common[i];
        if (n) {
            settings.pmtud_probes = c->pmtud_probes;
            settings.pmtud_probeslen = n;
        } else {
            settings.no_pmtud = 1;
        }
    }
    if (p->log)
        settings.log_printf = log_cb;
    if (c->qlog)
        settings.qlog_write = qlog_cb;

    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = p->initial_max_stream_data;
    params.initial_max_stream_data_bidi_remote = p->initial_max_stream_data;
    params.initial_max_stream_data_uni = p->initial_max_stream_data;
    params.initial_max_data = p->initial_max_data;
    params.initial_max_streams_bidi = 0; /* servers open no request streams */
    params.initial_max_streams_uni = H3_STREAMS_UNI;
    params.max_idle_timeout = p->idle_timeout_ns;

    rv = ngtcp2_conn_client_new(&c->qc, &dcid, &scid, &c->ps.path, NGTCP2_PROTO_VER_V1,
                                &quic_callbacks, &settings, &params, &c->qmem, c);
    if (rv != 0) {
        c->qc = NULL;
        rv = rv == NGTCP2_ERR_NOMEM ? H3_ERR_NOMEM : H3_ERR_QUIC;
        goto fail;
    }
    ngtcp2_conn_set_tls_native_handle(c->qc, h3_tls_native_handle(c->tls));
    if (p->keepalive_ns)
        ngtcp2_conn_set_keep_alive_timeout(c->qc, p->keepalive_ns);
    /* 0-RTT must respect what the server allowed last time (RFC 9000 §7.4.1). */
    if (tp.session_data && !h3_tls_session_refused(c->tls) && early_tp_len &&
        ngtcp2_conn_decode_and_set_0rtt_transport_params(c->qc, early_tp, early_tp_len) == 0)
        c->early_possible = true;

    *out = c;
    h3_conn_flush(c, now_ns); /* the first Initial */
    /* GnuTLS installed 0-RTT keys while writing the ClientHello if it offers early data:
     * the ticket allowed it. Only then may early requests start before the handshake. */
    if (c->early_possible && c->state == H3_STATE_CONNECTING &&
        ngtcp2_conn_get_0rtt_crypto_ctx(c->qc)->aead.native_handle &&
        ngtcp2_conn_get_streams_uni_left(c->qc) >= H3_STREAMS_UNI)
        c->early_ok = true;
    return 0;
fail:
    h3_conn_del(c);
    return rv;
}

void h3_conn_del(struct h3_conn *c)
{
    if (!c)
        return;
    h3_req_pool_free(c);
    nghttp3_conn_del(c->hc);
    ngtcp2_conn_del(c->qc);
    h3_tls_del(c->tls);
    if (c->qlog)
        fclose(c->qlog);
    c->mem.free(c->close_pkt, c->mem.ud);
    c->mem.free(c->authority, c->mem.ud);
    c->mem.free(c, c->mem.ud);
}

/* ----------------------------------------------------------- the engine */

/* Deferred work; then write. Called at the end of every public entry point. */
static void conn_settle(struct h3_conn *c, uint64_t now)
{
    c->tx_pending = false;
    if (c->state >= H3_STATE_CLOSING)
        return;
    if (c->established_pending) {
        c->established_pending = false;
        if (c->on_established)
            c->on_established(c, c->ud);
        if (c->state >= H3_STATE_CLOSING)
            return;
    }
    if (c->shutdown_requested && !c->goaway_sent && c->hc &&
        c->state >= H3_STATE_ESTABLISHED) {
        /* nghttp3 (client side) sends GOAWAY with push ID 0: it never sends
         * MAX_PUSH_ID, so no push can be in flight (RFC 9114 §5.2, §7.2.7). */
        if (nghttp3_conn_shutdown(c->hc) != 0) {
            close_liberr(c, NGTCP2_ERR_NOMEM, now, H3_ERR_NOMEM);
            return;
        }
        c->goaway_sent = true;
        c->goaway_sent_id = 0;
        c->state = H3_STATE_DRAINING;
    }
    if (c->goaway_pending) {
        c->goaway_pending = false;
        if (c->state == H3_STATE_ESTABLISHED || c->state == H3_STATE_CONNECTING)
            c->state = H3_STATE_DRAINING;
        if (c->hc)
            h3_req_apply_goaway(c, c->goaway_recv_id);
    }
    if (c->shutdown_deadline && now >= c->shutdown_deadline &&
        (c->active.head || c->queue.head)) {
        /* Deadline passed: cancel what is left (RFC 9114 §4.1.1). */
        while (c->active.head) {
            struct h3_req *r = c->active.head;
            ngtcp2_conn_shutdown_stream(c->qc, 0, r->stream_id, H3_H3_REQUEST_CANCELLED);
            nghttp3_conn_shutdown_stream_write(c->hc, r->stream_id);
            h3_req_complete(r, H3_REQ_CANCELLED, H3_H3_REQUEST_CANCELLED);
        }
        while (c->queue.head)
            h3_req_complete(c->queue.head, H3_REQ_CANCELLED, H3_H3_REQUEST_CANCELLED);
    }
    if (c->close_pending) {
        ngtcp2_ccerr e;
        c->close_pending = false;
        ngtcp2_ccerr_default(&e);
        ngtcp2_ccerr_set_application_error(&e, c->close_pending_code,
                                           (const uint8_t *)c->close_pending_reason,
                                           strlen(c->close_pending_reason));
        close_with(c, &e, now, H3_ERR_CLOSED);
        return;
    }
    if (h3_req_pump(c) < 0) {
        close_liberr(c, NGTCP2_ERR_INTERNAL, now, H3_ERR_QUIC);
        return;
    }
    /* Drained: nothing queued or in flight after our or the peer's GOAWAY. */
    if (c->state == H3_STATE_DRAINING && c->hc && !c->active.head && !c->queue.head) {
        ngtcp2_ccerr e;
        ngtcp2_ccerr_default(&e);
        ngtcp2_ccerr_set_application_error(&e, H3_H3_NO_ERROR, NULL, 0);
        conn_write(c, now); /* flush what is left (e.g. final ACKs) first */
        if (c->state < H3_STATE_CLOSING)
            close_with(c, &e, now, 0);
        return;
    }
    conn_write(c, now);
}

static void conn_write(struct h3_conn *c, uint64_t now)
{
    ngtcp2_pkt_info pi = { 0 };
    uint8_t *buf = NULL;
    void *pkt = NULL;
    size_t cap = 0, sent = 0;
    size_t quantum = ngtcp2_conn_get_send_quantum(c->qc);
    size_t need = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->qc);

    struct h3_conn *outer = tx_conn;

    if (c->state >= H3_STATE_CLOSING)
        return;
    if (need > c->pmtu_max)
        need = c->pmtu_max;
    c->in_lib++;
    tx_conn = c;
    for (;;) {
        nghttp3_vec vec[H3_VEC_MAX];
        nghttp3_ssize nvec = 0;
        int64_t sid = -1;
        int fin = 0;

        if (c->hc && ngtcp2_conn_get_max_data_left(c->qc)) {
            nvec = nghttp3_conn_writev_stream(c->hc, &sid, &fin, vec, H3_VEC_MAX);
            if (nvec < 0) {
                h3_conn_fail_app(c, nghttp3_err_infer_quic_app_error_code((int)nvec),
                                 nghttp3_strerror((int)nvec));
                break;
            }
        }
        if (!buf) {
            buf = c->io->tx_get(c->io_ctx, &cap, &pkt);
            if (!buf)
                break;
            if (cap < need) {
                c->io->tx_abort(c->io_ctx, pkt);
                buf = NULL;
                break;
            }
        }
        ngtcp2_ssize ndatalen = -1;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
        /* A Packet Too Big bounds what we write: ngtcp2 fits its packets (and skips MTU
         * probes that would not fit) to the buffer it is given. */
        ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->qc, &c->ps.path, &pi, buf,
                                                   cap < c->pmtu_max ? cap : c->pmtu_max, &ndatalen,
                                                   flags, sid, (const ngtcp2_vec *)vec,
                                                   (size_t)nvec, now);
        if (n < 0) {
            if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
                nghttp3_conn_block_stream(c->hc, sid);
                continue;
            }
            if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
                nghttp3_conn_shutdown_stream_write(c->hc, sid);
                continue;
            }
            if (n == NGTCP2_ERR_WRITE_MORE) {
                if (nghttp3_conn_add_write_offset(c->hc, sid, (size_t)ndatalen) != 0) {
                    h3_conn_fail_app(c, H3_H3_INTERNAL_ERROR, "add_write_offset");
                    break;
                }
                continue;
            }
            c->io->tx_abort(c->io_ctx, pkt);
            buf = NULL;
            c->in_lib--;
            tx_conn = outer;
            close_liberr(c, (int)n, now, H3_ERR_QUIC);
            return;
        }
        if (ndatalen >= 0 && sid >= 0 &&
            nghttp3_conn_add_write_offset(c->hc, sid, (size_t)ndatalen) != 0) {
            h3_conn_fail_app(c, H3_H3_INTERNAL_ERROR, "add_write_offset");
            break;
        }
        if (n == 0) {
            c->io->tx_abort(c->io_ctx, pkt);
            buf = NULL;
            break;
        }
        if (c->io->tx_put(c->io_ctx, pkt, (size_t)n, pi.ecn) == 0) {
            c->pkts_sent++;
            c->bytes_sent += (uint64_t)n;
            c->ecn_tx[pi.ecn & NGTCP2_ECN_MASK]++;
            c->size_tx[h3_pkt_size_bucket((size_t)n)]++;
        }
        buf = NULL;
        sent += (size_t)n;
        if (sent >= quantum)
            break;
    }
    if (buf)
        c->io->tx_abort(c->io_ctx, pkt);
    c->in_lib--;
    tx_conn = outer;
    ngtcp2_conn_update_pkt_tx_time(c->qc, now);
    if (c->ccerr_set)
        close_liberr(c, NGTCP2_ERR_CALLBACK_FAILURE, now, H3_ERR_HTTP3);
}

int h3_conn_update_keys(struct h3_conn *c, uint64_t now_ns)
{
    if (!c)
        return H3_ERR_INVAL;
    /* ngtcp2 asserts a completed handshake; the keys must not turn inside its calls. */
    if ((c->state != H3_STATE_ESTABLISHED && c->state != H3_STATE_DRAINING) || c->in_lib ||
        !ngtcp2_conn_get_handshake_completed(c->qc))
        return H3_ERR_STATE;
    /* ngtcp2 derives the next keys when it reads or writes (a PTO after the previous
     * update was confirmed): an idle connection has not, so write first. */
    h3_conn_flush(c, now_ns);
    if (c->state >= H3_STATE_CLOSING || ngtcp2_conn_initiate_key_update(c->qc, now_ns) != 0)
        return H3_ERR_STATE;
    return h3_conn_flush(c, now_ns);
}

int h3_conn_flush(struct h3_conn *c, uint64_t now_ns)
{
    if (!c)
        return H3_ERR_INVAL;
    if (!c->in_lib)
        conn_settle(c, now_ns);
    return 0;
}

void h3_conn_path_mtu(struct h3_conn *c, size_t max_udp_payload)
{
    if (!c)
        return;
    if (max_udp_payload < H3_MIN_UDP_PAYLOAD)
        max_udp_payload = H3_MIN_UDP_PAYLOAD;
    c->pmtu_reports++;
    if (max_udp_payload < c->pmtu_max)
        c->pmtu_max = max_udp_payload;
}

int h3_conn_recv(struct h3_conn *c, const uint8_t *data, size_t len, uint8_t ecn,
                 uint64_t now_ns)
{
    ngtcp2_pkt_info pi = { .ecn = (uint8_t)(ecn & NGTCP2_ECN_MASK) };

    if (c->state == H3_STATE_CLOSED)
        return H3_ERR_CLOSED;
    c->pkts_recv++;
    c->bytes_recv += len;
    c->ecn_rx[pi.ecn]++;
    c->size_rx[h3_pkt_size_bucket(len)]++;
    if (c->state == H3_STATE_CLOSING) {
        closing_on_packet(c);
        return 0;
    }
    c->in_lib++;
    int rv = ngtcp2_conn_read_pkt(c->qc, &c->ps.path, &pi, data, len, now_ns);
    c->in_lib--;
    if (c->progress) {
        c->progress = false;
        if (c->io->progress)
            c->io->progress(c->io_ctx, now_ns);
    }
    if (rv != 0) {
        switch (rv) {
        case NGTCP2_ERR_DRAINING:
            on_remote_close(c);
            return 0;
        case NGTCP2_ERR_DROP_CONN:
            set_outcome(c, H3_CLOSE_INTERNAL, H3_ORIGIN_LOCAL, 0, H3_ERR_QUIC,
                        "connection dropped", 18);
            enter_closed(c);
            return 0;
        case NGTCP2_ERR_CRYPTO: {
            ngtcp2_ccerr e;
            const char *why = h3_tls_verify_error(c->tls);
            ngtcp2_ccerr_default(&e);
            ngtcp2_ccerr_set_tls_alert(&e, ngtcp2_conn_get_tls_alert(c->qc), NULL, 0);
            if (why)
                set_outcome(c, H3_CLOSE_TRANSPORT, H3_ORIGIN_LOCAL, e.error_code,
                            H3_ERR_TLS_VERIFY, why, strlen(why));
            else
                set_outcome(c, H3_CLOSE_TRANSPORT, H3_ORIGIN_LOCAL, e.error_code, H3_ERR_TLS,
                            "TLS handshake failed", 20);
            close_with(c, &e, now_ns, H3_ERR_TLS);
            return 0;
        }
        default:
            if (c->ccerr_set || ngtcp2_err_is_fatal(rv) || rv == NGTCP2_ERR_CALLBACK_FAILURE) {
                close_liberr(c, rv, now_ns, c->ccerr_set ? H3_ERR_HTTP3 : H3_ERR_QUIC);
                return 0;
            }
            c->pkts_recv_dropped++; /* a bad packet, not a bad connection */
            break;
        }
    }
    conn_settle(c, now_ns);
    return 0;
}

uint64_t h3_conn_expiry(const struct h3_conn *c)
{
    if (c->state == H3_STATE_CLOSED)
        return UINT64_MAX;
    if (c->state == H3_STATE_CLOSING)
        return c->close_deadline;
    if (c->tx_pending)
        return 0;
    uint64_t t = ngtcp2_conn_get_expiry(c->qc);
    if (c->shutdown_deadline && (c->active.head || c->queue.head) && c->shutdown_deadline < t)
        t = c->shutdown_deadline;
    return t;
}

int h3_conn_on_expiry(struct h3_conn *c, uint64_t now_ns)
{
    if (c->state == H3_STATE_CLOSED)
        return 0;
    if (c->state == H3_STATE_CLOSING) {
        if (now_ns >= c->close_deadline)
            enter_closed(c);
        return 0;
    }
    int rv = 0;
    if (ngtcp2_conn_get_expiry(c->qc) <= now_ns) {
        c->in_lib++;
        rv = ngtcp2_conn_handle_expiry(c->qc, now_ns);
        c->in_lib--;
    }
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
        /* RFC 9000 §10.1: the connection is silently discarded. */
        set_outcome(c, H3_CLOSE_IDLE_TIMEOUT, H3_ORIGIN_LOCAL, 0, H3_ERR_IDLE_TIMEOUT, NULL, 0);
        enter_closed(c);
        return 0;
    }
    if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        set_outcome(c, H3_CLOSE_HANDSHAKE_TIMEOUT, H3_ORIGIN_LOCAL, 0,
                    H3_ERR_HANDSHAKE_TIMEOUT, NULL, 0);
        enter_closed(c);
        return 0;
    }
    if (rv != 0) {
        close_liberr(c, rv, now_ns, H3_ERR_QUIC);
        return 0;
    }
    conn_settle(c, now_ns);
    return 0;
}

int h3_conn_shutdown(struct h3_conn *c, uint64_t max_push, uint64_t deadline_ns,
                     uint64_t now_ns)
{
    if (!c)
        return H3_ERR_INVAL;
    if (c->state >= H3_STATE_CLOSING)
        return H3_ERR_STATE;
    if (deadline_ns && (!c->shutdown_deadline || deadline_ns < c->shutdown_deadline))
        c->shutdown_deadline = deadline_ns;
    if (c->shutdown_requested)
        return 0;
    c->shutdown_requested = true;
    c->max_push_requested = max_push;
    if (!c->in_lib)
        conn_settle(c, now_ns);
    return 0;
}

int h3_conn_close(struct h3_conn *c, uint64_t app_error_code, const char *reason,
                  uint64_t now_ns)
{
    if (!c)
        return H3_ERR_INVAL;
    if (c->state >= H3_STATE_CLOSING)
        return H3_ERR_STATE;
    c->close_pending = true;
    c->close_pending_code = app_error_code;
    snprintf(c->close_pending_reason, sizeof(c->close_pending_reason), "%s",
             reason ? reason : "");
    if (!c->in_lib)
        conn_settle(c, now_ns);
    return 0;
}
