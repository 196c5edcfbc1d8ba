/*
 * End-to-end tests of the h3sink core in memory: a small ngtcp2 + nghttp3 +
 * GnuTLS client in this file talks to a struct sink through datagram queues,
 * with an injected clock and optional deterministic packet loss. Asserts
 * requests/responses (statuses, bodies, digest verdicts), zstd- and gzip-coded
 * uploads (decoded counts, corrupt and truncated frames and members, unsupported
 * codings), records split by h3dp-framing (newline and length, coded or not,
 * counts that do not match, --records-out byte for byte), the
 * fault hook (every Nth upload answered with a status and retry-after),
 * GOAWAY draining, immediate close, idle timeout, stream limits and malformed
 * messages.
 *
 * Why a third QUIC client, next to the h3 driver and h3client: it is the
 * collector's independent oracle. h3sink is the server every h3dp test uploads
 * to; if its checks were exercised only through our own driver, a bug shared by
 * both (a misread of RFC 9114 framing, of the digest, of GOAWAY) would pass
 * unnoticed. This client is written straight on the libraries' APIs, shares no
 * code with h3/, and can also send what the driver never would (malformed
 * headers, raw frames, stream-limit abuse).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <zlib.h>
#include <zstd.h>

#include "crypto.h"
#include "sink.h"
#include "sink_http.h"

#define NS     1000000000ULL
#define MS     1000000ULL
#define MAXREQ 16
#define MAXQ   4096
#define DGRAM  1500
#define TLS_PRIO                                                                                   \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"                         \
    "+CHACHA20-POLY1305:%DISABLE_TLS13_COMPAT_MODE"

static const char *certs_dir;

struct req {
    int64_t id;
    int status;
    uint64_t body_len;
    int pattern_bad;
    char body[256];
    char retry_after[16], accept_encoding[32]; /* response fields, "" if absent */
    int ended, closed, reset;
    uint64_t close_code;
    const uint8_t *up;
    size_t up_len, up_off;
    int hold_fin; /* the body is sent, its end never: the upload stays open */
};

struct cli {
    ngtcp2_conn *q;
    nghttp3_conn *h;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred;
    ngtcp2_crypto_conn_ref ref;
    struct sockaddr_in local, remote;
    struct req reqs[MAXREQ];
    int nreq;
    int hold_next; /* the next cli_request holds its body's end */
    int64_t goaway_id;
    int got_goaway;
    int closed; /* draining after the server's CONNECTION_CLOSE */
    int fatal;  /* a local error */
    ngtcp2_ccerr peer;
};

struct dgram {
    size_t len;
    uint8_t data[DGRAM];
};

struct net {
    struct sink *s;
    struct cli *c;
    uint64_t now;
    uint32_t rng;
    int loss_pct;
    unsigned nq;
    struct dgram q[MAXQ]; /* sink -> client */
};

static int lost(struct net *n)
{
    if (n->loss_pct == 0)
        return 0;
    n->rng = n->rng * 1103515245u + 12345u;
    return (int)((n->rng >> 16) % 100) < n->loss_pct;
}

/* ------------------------------------------------------------ client callbacks */

static struct req *req_of(struct cli *c, int64_t id)
{
    for (int i = 0; i < c->nreq; i++)
        if (c->reqs[i].id == id)
            return &c->reqs[i];
    return NULL;
}

/* Copy a field value into |dst| (|cap| bytes) as a string, cut if too long. */
static void copy_value(char *dst, size_t cap, const nghttp3_vec *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;
    memcpy(dst, v->base, n);
    dst[n] = '\0';
}

static int h_recv_header(nghttp3_conn *h, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                         nghttp3_rcbuf *value, uint8_t flags, void *cud, void *sud)
{
    struct req *r = req_of(cud, sid);
    nghttp3_vec v = nghttp3_rcbuf_get_buf(value), nm = nghttp3_rcbuf_get_buf(name);
    (void)h, (void)flags, (void)sud;
    if (r == NULL)
        return 0;
    if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
        char b[8] = {0};
        memcpy(b, v.base, v.len < 7 ? v.len : 7);
        r->status = atoi(b);
    } else if (nm.len == strlen("retry-after") && memcmp(nm.base, "retry-after", nm.len) == 0) {
        copy_value(r->retry_after, sizeof(r->retry_after), &v);
    } else if (nm.len == strlen("accept-encoding") &&
               memcmp(nm.base, "accept-encoding", nm.len) == 0) {
        copy_value(r->accept_encoding, sizeof(r->accept_encoding), &v);
    }
    return 0;
}

static int h_recv_data(nghttp3_conn *h, int64_t sid, const uint8_t *data, size_t len, void *cud,
                       void *sud)
{
    struct cli *c = cud;
    struct req *r = req_of(c, sid);
    (void)h, (void)sud;
    if (r != NULL) {
        if (r->body_len + len < sizeof(r->body))
            memcpy(r->body + r->body_len, data, len);
        if (sink_pattern_check(data, len, r->body_len) != len)
            r->pattern_bad = 1;
        r->body_len += len;
    }
    ngtcp2_conn_extend_max_stream_offset(c->q, sid, len);
    ngtcp2_conn_extend_max_offset(c->q, len);
    return 0;
}

static int h_deferred(nghttp3_conn *h, int64_t sid, size_t n, void *cud, void *sud)
{
    struct cli *c = cud;
    (void)h, (void)sud;
    ngtcp2_conn_extend_max_stream_offset(c->q, sid, n);
    ngtcp2_conn_extend_max_offset(c->q, n);
    return 0;
}

static int h_end_stream(nghttp3_conn *h, int64_t sid, void *cud, void *sud)
{
    struct req *r = req_of(cud, sid);
    (void)h, (void)sud;
    if (r)
        r->ended = 1;
    return 0;
}

static int h_stream_close(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct req *r = req_of(cud, sid);
    (void)h, (void)sud;
    if (r) {
        r->closed = 1;
        r->close_code = code;
    }
    return 0;
}

static int h_stop_sending(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct cli *c = cud;
    (void)h, (void)sud;
    return ngtcp2_conn_shutdown_stream_read(c->q, 0, sid, code) ? -1 : 0;
}

static int h_reset_stream(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct cli *c = cud;
    struct req *r = req_of(c, sid);
    (void)h, (void)sud;
    if (r)
        r->reset = 1;
    return ngtcp2_conn_shutdown_stream_write(c->q, 0, sid, code) ? -1 : 0;
}

static int h_shutdown(nghttp3_conn *h, int64_t id, void *cud)
{
    struct cli *c = cud;
    (void)h;
    c->got_goaway = 1;
    c->goaway_id = id;
    return 0;
}

static const nghttp3_callbacks h_cb = {
    .stream_close = h_stream_close,
    .recv_data = h_recv_data,
    .deferred_consume = h_deferred,
    .recv_header = h_recv_header,
    .end_stream = h_end_stream,
    .stop_sending = h_stop_sending,
    .reset_stream = h_reset_stream,
    .shutdown = h_shutdown,
};

static nghttp3_ssize up_read(nghttp3_conn *h, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                             uint32_t *pflags, void *cud, void *sud)
{
    struct req *r = req_of(cud, sid);
    (void)h, (void)sud, (void)veccnt;
    if (r == NULL)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    if (r->hold_fin && r->up_off == r->up_len)
        return NGHTTP3_ERR_WOULDBLOCK;
    vec[0].base = (uint8_t *)(uintptr_t)(r->up + r->up_off);
    vec[0].len = r->up_len - r->up_off;
    r->up_off = r->up_len;
    if (!r->hold_fin)
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 1;
}

static int q_recv_rx_key(ngtcp2_conn *q, ngtcp2_encryption_level level, void *ud)
{
    struct cli *c = ud;
    nghttp3_settings s;
    int64_t ctrl, enc, dec;
    if (level != NGTCP2_ENCRYPTION_LEVEL_1RTT || c->h)
        return 0;
    nghttp3_settings_default(&s);
    if (nghttp3_conn_client_new(&c->h, &h_cb, &s, NULL, c) != 0 ||
        ngtcp2_conn_open_uni_stream(q, &ctrl, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(q, &enc, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(q, &dec, NULL) != 0 ||
        nghttp3_conn_bind_control_stream(c->h, ctrl) != 0 ||
        nghttp3_conn_bind_qpack_streams(c->h, enc, dec) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int q_recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t off,
                              const uint8_t *data, size_t len, void *ud, void *sud)
{
    struct cli *c = ud;
    nghttp3_ssize n;
    (void)off, (void)sud;
    n = nghttp3_conn_read_stream(c->h, sid, data, len, flags & NGTCP2_STREAM_DATA_FLAG_FIN);
    if (n < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    ngtcp2_conn_extend_max_stream_offset(q, sid, (uint64_t)n);
    ngtcp2_conn_extend_max_offset(q, (uint64_t)n);
    return 0;
}

static int q_acked(ngtcp2_conn *q, int64_t sid, uint64_t off, uint64_t len, void *ud, void *sud)
{
    struct cli *c = ud;
    (void)q, (void)off, (void)sud;
    return c->h && nghttp3_conn_add_ack_offset(c->h, sid, len) ? -1 : 0;
}

static int q_stream_close(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                          void *sud)
{
    struct cli *c = ud;
    int rv;
    (void)q, (void)sud;
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
        code = NGHTTP3_H3_NO_ERROR;
    rv = c->h ? nghttp3_conn_close_stream(c->h, sid, code) : 0;
    return rv == 0 || rv == NGHTTP3_ERR_STREAM_NOT_FOUND ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int q_stream_reset(ngtcp2_conn *q, int64_t sid, uint64_t fs, uint64_t code, void *ud,
                          void *sud)
{
    struct cli *c = ud;
    (void)q, (void)fs, (void)code, (void)sud;
    return c->h && nghttp3_conn_shutdown_stream_read(c->h, sid) ? -1 : 0;
}

static int q_extend_stream_data(ngtcp2_conn *q, int64_t sid, uint64_t max, void *ud, void *sud)
{
    struct cli *c = ud;
    (void)q, (void)max, (void)sud;
    return c->h && nghttp3_conn_unblock_stream(c->h, sid) ? -1 : 0;
}

static void q_rand(uint8_t *d, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    gnutls_rnd(GNUTLS_RND_RANDOM, d, len);
}

static int q_new_cid(ngtcp2_conn *q, ngtcp2_cid *cid, uint8_t *token, size_t len, void *ud)
{
    (void)q, (void)ud;
    gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, len);
    cid->datalen = len;
    gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN);
    return 0;
}

static const ngtcp2_callbacks q_cb = {
    .client_initial = ngtcp2_crypto_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_retry = ngtcp2_crypto_recv_retry_cb,
    .recv_stream_data = q_recv_stream_data,
    .acked_stream_data_offset = q_acked,
    .stream_close = q_stream_close,
    .stream_reset = q_stream_reset,
    .extend_max_stream_data = q_extend_stream_data,
    .rand = q_rand,
    .get_new_connection_id = q_new_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
    .recv_rx_key = q_recv_rx_key,
};

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    return ((struct cli *)ref->user_data)->q;
}

static struct cli *cli_new(uint64_t now, uint16_t port)
{
    static const gnutls_datum_t alpn = {(unsigned char *)"h3", 2};
    struct cli *c = calloc(1, sizeof(*c));
    char ca[512];
    ngtcp2_cid dcid, scid;
    ngtcp2_settings set;
    ngtcp2_transport_params tp;
    ngtcp2_path path;

    assert_non_null(c);
    c->local.sin_family = c->remote.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &c->local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &c->remote.sin_addr);
    c->local.sin_port = htons(port);
    c->remote.sin_port = htons(443);
    dcid.datalen = 18;
    scid.datalen = 16;
    gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
    gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
    ngtcp2_settings_default(&set);
    set.initial_ts = now;
    ngtcp2_transport_params_default(&tp);
    tp.initial_max_stream_data_bidi_local = 16 << 20;
    tp.initial_max_data = 64 << 20;
    tp.initial_max_streams_uni = 3;
    tp.initial_max_stream_data_uni = 1 << 20;
    tp.max_idle_timeout = 60 * NS;
    path.local.addr = (ngtcp2_sockaddr *)&c->local;
    path.local.addrlen = sizeof(c->local);
    path.remote.addr = (ngtcp2_sockaddr *)&c->remote;
    path.remote.addrlen = sizeof(c->remote);
    path.user_data = NULL;
    assert_int_equal(ngtcp2_conn_client_new(&c->q, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &q_cb,
                                            &set, &tp, NULL, c),
                     0);
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs_dir);
    assert_int_equal(gnutls_certificate_allocate_credentials(&c->cred), 0);
    assert_true(gnutls_certificate_set_x509_trust_file(c->cred, ca, GNUTLS_X509_FMT_PEM) > 0);
    assert_int_equal(gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA), 0);
    assert_int_equal(gnutls_priority_set_direct(c->tls, TLS_PRIO, NULL), 0);
    assert_int_equal(ngtcp2_crypto_gnutls_configure_client_session(c->tls), 0);
    c->ref.get_conn = get_conn;
    c->ref.user_data = c;
    gnutls_session_set_ptr(c->tls, &c->ref);
    assert_int_equal(gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred), 0);
    assert_int_equal(gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY), 0);
    assert_int_equal(gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, "localhost", 9), 0);
    gnutls_session_set_verify_cert(c->tls, "localhost", 0);
    ngtcp2_conn_set_tls_native_handle(c->q, c->tls);
    return c;
}

static void cli_del(struct cli *c)
{
    if (c == NULL)
        return;
    nghttp3_conn_del(c->h);
    ngtcp2_conn_del(c->q);
    gnutls_deinit(c->tls);
    gnutls_certificate_free_credentials(c->cred);
    free(c);
}

/* Open a request stream. Returns the request, or NULL when the stream limit
 * blocks it. |hdrs| are extra name/value pairs (NULL-terminated). */
static struct req *cli_request(struct cli *c, const char *method, const char *path,
                               const char *const *hdrs, const uint8_t *body, size_t len)
{
    nghttp3_nv nv[12];
    size_t n = 0;
    int64_t sid;
    struct req *r;
    nghttp3_data_reader dr = {up_read};
#define ADD(k, v)                                                                                  \
    nv[n++] = (nghttp3_nv){(uint8_t *)(uintptr_t)(k), (uint8_t *)(uintptr_t)(v), strlen(k),        \
                           strlen(v), NGHTTP3_NV_FLAG_NONE}
    assert_non_null(c->h);
    assert_true(c->nreq < MAXREQ);
    if (ngtcp2_conn_open_bidi_stream(c->q, &sid, NULL) != 0)
        return NULL;
    r = &c->reqs[c->nreq++];
    memset(r, 0, sizeof(*r));
    r->id = sid;
    r->up = body;
    r->up_len = len;
    r->hold_fin = c->hold_next;
    c->hold_next = 0;
    ADD(":method", method);
    ADD(":scheme", "https");
    ADD(":authority", "localhost");
    if (path)
        ADD(":path", path);
    for (; hdrs && hdrs[0]; hdrs += 2)
        ADD(hdrs[0], hdrs[1]);
#undef ADD
    assert_int_equal(nghttp3_conn_submit_request(c->h, sid, nv, n, body ? &dr : NULL, c), 0);
    return r;
}

/* ------------------------------------------------------------ the network */

static void to_client(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                      const uint8_t *data, size_t len)
{
    struct net *n = arg;
    assert_int_equal(remote_len, sizeof(struct sockaddr_in));
    /* Datagrams for a client that is not the current one are lost. */
    if (((const struct sockaddr_in *)remote)->sin_port != n->c->local.sin_port)
        return;
    assert_true(len <= DGRAM);
    assert_true(n->nq < MAXQ);
    n->q[n->nq].len = len;
    memcpy(n->q[n->nq].data, data, len);
    n->nq++;
}

static int cli_write(struct net *n)
{
    struct cli *c = n->c;
    uint8_t buf[DGRAM];
    int sent = 0;
    ngtcp2_path_storage ps;

    if (c->closed || c->fatal)
        return 0;
    ngtcp2_path_storage_zero(&ps);
    for (;;) {
        int64_t sid = -1;
        int fin = 0;
        nghttp3_vec vec[16];
        nghttp3_ssize nvec = 0;
        ngtcp2_ssize ndata, nw;
        if (c->h && ngtcp2_conn_get_max_data_left(c->q)) {
            nvec = nghttp3_conn_writev_stream(c->h, &sid, &fin, vec, 16);
            assert_true(nvec >= 0);
        }
        nw = ngtcp2_conn_writev_stream(c->q, &ps.path, NULL, buf, 1452, &ndata,
                                       NGTCP2_WRITE_STREAM_FLAG_MORE |
                                           (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0),
                                       sid, (const ngtcp2_vec *)vec, (size_t)nvec, n->now);
        if (nw < 0) {
            if (nw == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
                nghttp3_conn_block_stream(c->h, sid);
                continue;
            }
            if (nw == NGTCP2_ERR_STREAM_SHUT_WR) {
                nghttp3_conn_shutdown_stream_write(c->h, sid);
                continue;
            }
            if (nw == NGTCP2_ERR_WRITE_MORE) {
                assert_int_equal(nghttp3_conn_add_write_offset(c->h, sid, (uint64_t)ndata), 0);
                continue;
            }
            c->fatal = 1;
            return sent;
        }
        if (ndata >= 0)
            assert_int_equal(nghttp3_conn_add_write_offset(c->h, sid, (uint64_t)ndata), 0);
        if (nw == 0)
            break;
        sent++;
        if (!lost(n))
            assert_int_equal(sink_recv(n->s, (struct sockaddr *)&c->remote, sizeof(c->remote),
                                       (struct sockaddr *)&c->local, sizeof(c->local), buf,
                                       (size_t)nw, n->now),
                             0);
    }
    ngtcp2_conn_update_pkt_tx_time(c->q, n->now);
    return sent;
}

static void cli_read(struct net *n, const uint8_t *data, size_t len)
{
    struct cli *c = n->c;
    ngtcp2_path path;
    int rv;
    if (c->closed || c->fatal)
        return;
    path.local.addr = (ngtcp2_sockaddr *)&c->local;
    path.local.addrlen = sizeof(c->local);
    path.remote.addr = (ngtcp2_sockaddr *)&c->remote;
    path.remote.addrlen = sizeof(c->remote);
    path.user_data = NULL;
    rv = ngtcp2_conn_read_pkt(c->q, &path, NULL, data, len, n->now);
    if (rv == NGTCP2_ERR_DRAINING) {
        c->closed = 1;
        c->peer = *ngtcp2_conn_get_ccerr(c->q);
    } else if (rv != 0) {
        c->fatal = rv;
    }
}

/* One round: client writes, sink answers, client reads; if nothing moved, jump
 * the clock to the next timer. Returns 0 when nothing can ever happen again. */
static int step(struct net *n)
{
    int moved = cli_write(n);
    n->nq = 0;
    sink_flush(n->s, n->now, to_client, n);
    moved += (int)n->nq;
    for (unsigned i = 0; i < n->nq; i++)
        if (!lost(n))
            cli_read(n, n->q[i].data, n->q[i].len);
    if (moved)
        return 1;
    uint64_t t = sink_expiry(n->s), ct = UINT64_MAX;
    if (!n->c->closed && !n->c->fatal)
        ct = ngtcp2_conn_get_expiry(n->c->q);
    if (ct < t)
        t = ct;
    if (t == UINT64_MAX)
        return 0;
    if (t > n->now)
        n->now = t;
    if (ct <= n->now && ngtcp2_conn_handle_expiry(n->c->q, n->now) != 0)
        n->c->fatal = 1;
    sink_handle_expiry(n->s, n->now);
    return 1;
}

typedef int done_fn(struct net *n);

static int run(struct net *n, done_fn *done, uint64_t limit_ns)
{
    uint64_t end = n->now + limit_ns;
    while (!done(n)) {
        if (n->now > end || !step(n))
            return done(n);
    }
    return 1;
}

static int handshaked(struct net *n)
{
    return n->c->h != NULL && ngtcp2_conn_get_handshake_completed(n->c->q);
}

static int all_closed(struct net *n)
{
    for (int i = 0; i < n->c->nreq; i++)
        if (!n->c->reqs[i].closed)
            return 0;
    return 1;
}

static int sink_gone(struct net *n)
{
    return sink_idle(n->s);
}

static struct sink *new_sink(const struct sink_params *base)
{
    static char cert[512], key[512];
    struct sink_params p;
    char err[256] = "";
    struct sink *s;
    if (base)
        p = *base;
    else
        sink_params_default(&p);
    snprintf(cert, sizeof(cert), "%s/server.pem", certs_dir);
    snprintf(key, sizeof(key), "%s/server-key.pem", certs_dir);
    p.cert_file = cert;
    p.key_file = key;
    s = sink_new(&p, err, sizeof(err));
    if (s == NULL)
        fail_msg("sink_new: %s", err);
    return s;
}

static struct net *net_new(const struct sink_params *p, int loss_pct)
{
    struct net *n = calloc(1, sizeof(*n));
    assert_non_null(n);
    n->now = 1 * NS;
    n->rng = 12345;
    n->loss_pct = loss_pct;
    n->s = new_sink(p);
    n->c = cli_new(n->now, 40000);
    assert_true(run(n, handshaked, 10 * NS));
    return n;
}

static void net_del(struct net *n)
{
    cli_del(n->c);
    sink_del(n->s);
    free(n);
}

static void digest_b64(const uint8_t *body, size_t len, char *out, size_t cap)
{
    uint8_t d[SINK_SHA256_LEN];
    char b64[64];
    assert_int_equal(crypto_sha256(body, len, d), 0);
    assert_true(crypto_base64_encode(d, sizeof(d), b64, sizeof(b64)) > 0);
    snprintf(out, cap, "sha-256=:%s:", b64);
}

/* ------------------------------------------------------------ tests */

static void test_get(void **state)
{
    struct net *n = net_new(NULL, 0);
    struct req *a, *b, *c;
    (void)state;
    assert_int_equal(sink_stats(n->s)->conns_accepted, 1);
    a = cli_request(n->c, "GET", "/bytes/300000", NULL, NULL, 0);
    b = cli_request(n->c, "GET", "/anything/else", NULL, NULL, 0);
    c = cli_request(n->c, "GET", "/bytes/99999999999", NULL, NULL, 0);
    assert_true(run(n, all_closed, 30 * NS));
    assert_int_equal(a->status, 200);
    assert_int_equal(a->body_len, 300000);
    assert_false(a->pattern_bad);
    assert_int_equal(b->status, 200);
    assert_string_equal(b->body, "ok\n");
    assert_int_equal(c->status, 400);
    assert_non_null(strstr(c->body, "bad /bytes/N"));
    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->requests, 3);
    assert_int_equal(st->responses_2xx, 2);
    assert_int_equal(st->responses_4xx, 1);
    assert_true(st->body_bytes_out >= 300000 + 3);
    assert_false(sink_idle(n->s));
    net_del(n);
}

static void test_post_digest(void **state)
{
    size_t len = 1 << 20;
    uint8_t *body = malloc(len);
    char good[128], bad[128];
    const char *h_good[] = {"content-digest", good, NULL};
    const char *h_bad[] = {"content-digest", bad, NULL};
    const char *h_junk[] = {"content-digest", "sha-256=:AAAA:", NULL};
    const char *h_other[] = {"content-digest", "sha-512=:AAAA:", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[5];
    (void)state;
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(i * 7 + (i >> 9));
    digest_b64(body, len, good, sizeof(good));
    digest_b64(body, len - 1, bad, sizeof(bad));
    r[0] = cli_request(n->c, "POST", "/up", h_good, body, len);
    r[1] = cli_request(n->c, "PUT", "/up", h_bad, body, len);
    r[2] = cli_request(n->c, "POST", "/up", h_junk, body, 10);
    r[3] = cli_request(n->c, "POST", "/up", NULL, body, 1000);
    r[4] = cli_request(n->c, "POST", "/up", h_other, body, 0);
    assert_true(run(n, all_closed, 60 * NS));
    assert_int_equal(r[0]->status, 200);
    assert_string_equal(r[0]->body, "{\"bytes\":1048576,\"decoded\":1048576,\"digest\":\"ok\"}\n");
    assert_int_equal(r[1]->status, 400);
    assert_string_equal(r[1]->body,
                        "{\"bytes\":1048576,\"decoded\":1048576,\"digest\":\"mismatch\"}\n");
    assert_int_equal(r[2]->status, 400);
    assert_string_equal(r[2]->body, "{\"bytes\":10,\"decoded\":10,\"digest\":\"malformed\"}\n");
    assert_int_equal(r[3]->status, 200);
    assert_string_equal(r[3]->body, "{\"bytes\":1000,\"decoded\":1000,\"digest\":\"none\"}\n");
    assert_int_equal(r[4]->status, 200);
    assert_string_equal(r[4]->body, "{\"bytes\":0,\"decoded\":0,\"digest\":\"none\"}\n");
    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->digest_ok, 1);
    assert_int_equal(st->digest_bad, 2);
    assert_int_equal(st->digest_none, 2);
    assert_int_equal(st->body_bytes_in, 2 * len + 10 + 1000);
    /* No content coding: decoded is what was received. */
    assert_int_equal(st->body_bytes_decoded, st->body_bytes_in);
    assert_int_equal(st->decode_errors, 0);
    assert_int_equal(st->faults_sent, 0);
    net_del(n);
    free(body);
}

/* Upload batches: records of 2xx answers counted, a repeated batch id counted as a
 * duplicate, a 4xx answer not counted. */
static void test_records_batches(void **state)
{
    static uint8_t body[300];
    const char *b1[] = {"h3dp-batch", "boot-1", "h3dp-records", "3", NULL};
    const char *b2[] = {"h3dp-batch", "boot-2", "h3dp-records", "5", NULL};
    const char *bad[] = {"h3dp-batch", "boot-3", "h3dp-records", "7", "content-digest",
                         "sha-256=:AAAA:", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[4];
    (void)state;
    r[0] = cli_request(n->c, "POST", "/t", b1, body, 300);
    r[1] = cli_request(n->c, "POST", "/t", b2, body, 100);
    r[2] = cli_request(n->c, "POST", "/t", b1, body, 300); /* a retry of batch 1 */
    r[3] = cli_request(n->c, "POST", "/t", bad, body, 10);  /* 400: not counted */
    assert_true(run(n, all_closed, 60 * NS));
    assert_int_equal(r[0]->status, 200);
    assert_int_equal(r[2]->status, 200);
    assert_int_equal(r[3]->status, 400);
    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->records_2xx, 3 + 5 + 3);
    assert_int_equal(st->batches_unique, 2);
    assert_int_equal(st->batches_dup, 1);
    assert_int_equal(st->records_dup, 3);
    net_del(n);
}

static void test_loss(void **state)
{
    size_t len = 2 << 20;
    uint8_t *body = malloc(len);
    char good[128];
    const char *h_good[] = {"content-digest", good, NULL};
    struct net *n;
    struct req *up, *down;
    (void)state;
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(i ^ (i >> 11));
    digest_b64(body, len, good, sizeof(good));
    n = net_new(NULL, 0);
    n->loss_pct = 5;
    up = cli_request(n->c, "POST", "/lossy", h_good, body, len);
    down = cli_request(n->c, "GET", "/bytes/2000000", NULL, NULL, 0);
    assert_true(run(n, all_closed, 300 * NS));
    assert_int_equal(up->status, 200);
    assert_string_equal(up->body, "{\"bytes\":2097152,\"decoded\":2097152,\"digest\":\"ok\"}\n");
    assert_int_equal(down->status, 200);
    assert_int_equal(down->body_len, 2000000);
    assert_false(down->pattern_bad);
    net_del(n);
    free(body);
}

static void test_goaway_drains(void **state)
{
    struct sink_params p;
    struct net *n;
    struct req *r[3];
    (void)state;
    sink_params_default(&p);
    p.response_delay_ns = 200 * MS;
    n = net_new(&p, 0);
    r[0] = cli_request(n->c, "GET", "/a", NULL, NULL, 0);
    r[1] = cli_request(n->c, "GET", "/bytes/100000", NULL, NULL, 0);
    r[2] = cli_request(n->c, "HEAD", "/bytes/5", NULL, NULL, 0);
    /* Let the requests reach the sink, then shut down while they are held. */
    for (int i = 0; i < 4; i++)
        step(n);
    assert_int_equal(sink_stats(n->s)->requests, 3);
    assert_int_equal(sink_stats(n->s)->responses_2xx, 0);
    sink_goaway(n->s, n->now);
    assert_true(run(n, sink_gone, 30 * NS));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i]->status, 200);
        assert_true(r[i]->ended);
    }
    assert_int_equal(r[1]->body_len, 100000);
    assert_int_equal(r[2]->body_len, 0); /* HEAD */
    assert_true(n->c->got_goaway);
    assert_int_equal(n->c->goaway_id, 12); /* next stream after 0, 4, 8 */
    assert_true(n->c->closed);
    assert_int_equal(n->c->peer.type, NGTCP2_CCERR_TYPE_APPLICATION);
    assert_int_equal(n->c->peer.error_code, SINK_H3_NO_ERROR);
    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->goaways_sent, 1);
    assert_int_equal(st->conns_closed, 1);
    assert_int_equal(st->conns_closed_ok, 1);
    assert_int_equal(st->closes[0].error_code, SINK_H3_NO_ERROR);
    assert_true(st->closes[0].local && st->closes[0].app);

    /* New connections are refused after GOAWAY. */
    struct cli *late = cli_new(n->now, 40001), *old = n->c;
    n->c = late;
    run(n, handshaked, 2 * NS);
    assert_null(late->h);
    assert_int_equal(sink_stats(n->s)->conns_accepted, 1);
    n->c = old;
    cli_del(late);
    net_del(n);
}

static void test_close_all(void **state)
{
    struct net *n = net_new(NULL, 0);
    struct req *r;
    (void)state;
    r = cli_request(n->c, "GET", "/x", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(r->status, 200);
    sink_close_all(n->s, 0x10c, "test over", n->now);
    step(n);
    assert_true(n->c->closed);
    assert_int_equal(n->c->peer.type, NGTCP2_CCERR_TYPE_APPLICATION);
    assert_int_equal(n->c->peer.error_code, 0x10c);
    assert_int_equal(n->c->peer.reasonlen, 9);
    assert_int_equal(sink_stats(n->s)->conns_closed_error, 1);
    assert_false(sink_idle(n->s)); /* closing period */
    assert_true(run(n, sink_gone, 10 * NS));
    net_del(n);
}

static void test_idle_timeout(void **state)
{
    struct sink_params p;
    struct net *n;
    (void)state;
    sink_params_default(&p);
    p.idle_timeout_ns = 2 * NS;
    n = net_new(&p, 0);
    /* The client goes silent: only the sink's timers run. */
    n->c->fatal = 1;
    uint64_t start = n->now;

    assert_true(run(n, sink_gone, 10 * NS));
    assert_true(n->now - start >= 1 * NS);
    assert_int_equal(sink_stats(n->s)->conns_idle_timeout, 1);
    assert_true(sink_stats(n->s)->closes[0].idle);
    assert_true(sink_expiry(n->s) == UINT64_MAX);
    net_del(n);
}

static void test_stream_limit(void **state)
{
    struct sink_params p;
    struct net *n;
    struct req *r[3];
    (void)state;
    sink_params_default(&p);
    p.max_streams_bidi = 2;
    n = net_new(&p, 0);
    r[0] = cli_request(n->c, "GET", "/1", NULL, NULL, 0);
    r[1] = cli_request(n->c, "GET", "/2", NULL, NULL, 0);
    assert_null(cli_request(n->c, "GET", "/3", NULL, NULL, 0));
    assert_true(run(n, all_closed, 10 * NS));
    /* Closed streams give credit back (MAX_STREAMS). */
    for (int i = 0; i < 4 && ngtcp2_conn_get_streams_bidi_left(n->c->q) == 0; i++)
        step(n);
    r[2] = cli_request(n->c, "GET", "/3", NULL, NULL, 0);
    assert_non_null(r[2]);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(r[2]->status, 200);
    assert_int_equal(r[0]->status + r[1]->status, 400);
    net_del(n);
}

static void test_malformed(void **state)
{
    struct sink_params p;
    struct net *n;
    struct req *nopath, *fault, *after;
    (void)state;
    sink_params_default(&p);
    p.fault_bad_response_headers = 1;
    n = net_new(&p, 0);
    nopath = cli_request(n->c, "GET", NULL, NULL, NULL, 0);
    fault = cli_request(n->c, "GET", "/fault/bad-headers", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    /* The request without :path is reset by the sink (H3_MESSAGE_ERROR). */
    assert_int_equal(nopath->status, 0);
    assert_int_equal(nopath->close_code, NGHTTP3_H3_MESSAGE_ERROR);
    assert_true(sink_stats(n->s)->requests_bad >= 1);
    /* The client rejects the malformed response: a stream error only. */
    assert_false(fault->ended);
    assert_int_equal(fault->close_code, NGHTTP3_H3_MESSAGE_ERROR);
    after = cli_request(n->c, "GET", "/still/alive", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(after->status, 200);
    assert_false(n->c->closed);
    assert_int_equal(n->c->fatal, 0);
    net_del(n);
}

static int sink_has_request(struct net *n)
{
    return sink_stats(n->s)->requests >= 1;
}

static void test_cancel_held(void **state)
{
    struct sink_params p;
    struct net *n;
    struct req *held, *after;
    (void)state;
    sink_params_default(&p);
    p.response_delay_ns = 500 * MS;
    n = net_new(&p, 0);
    held = cli_request(n->c, "GET", "/held", NULL, NULL, 0);
    assert_true(run(n, sink_has_request, 100 * MS));
    /* The client gives up on the held request (RFC 9114 §4.1.1). */
    assert_int_equal(ngtcp2_conn_shutdown_stream(n->c->q, 0, held->id, 0x10c), 0);
    after = cli_request(n->c, "GET", "/after", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(held->status, 0);
    assert_int_equal(after->status, 200);
    assert_true(sink_stats(n->s)->streams_reset >= 1);
    assert_false(n->c->closed);
    assert_int_equal(n->c->fatal, 0);
    net_del(n);
}

static void test_two_clients(void **state)
{
    struct net *n = net_new(NULL, 0);
    struct cli *a = n->c, *b;
    struct req *ra, *rb;
    (void)state;
    b = cli_new(n->now, 40002);
    n->c = b;
    assert_true(run(n, handshaked, 10 * NS));
    assert_int_equal(sink_stats(n->s)->conns_accepted, 2);
    rb = cli_request(b, "GET", "/bytes/5000", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    n->c = a;
    ra = cli_request(a, "GET", "/bytes/7000", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(ra->body_len, 7000);
    assert_int_equal(rb->body_len, 5000);
    cli_del(b);
    net_del(n);
}

/* Connections whose timers differ: the sink's timer heap expires each at its own time,
 * whatever order they were opened and touched in, and frees them all. */
static void test_idle_many(void **state)
{
    enum { N = 12 };
    struct sink_params p;
    struct cli *cs[N];
    struct net *n;
    (void)state;
    sink_params_default(&p);
    p.idle_timeout_ns = 3 * NS;
    n = net_new(&p, 0);
    cs[0] = n->c;
    for (int i = 1; i < N; i++) {
        n->now += 100 * 1000 * 1000ull; /* opened 100 ms apart */
        cs[i] = cli_new(n->now, (uint16_t)(40000 + 2 * i));
        n->c = cs[i];
        assert_true(run(n, handshaked, 10 * NS));
    }
    /* Touch the first ones again, so the heap order is not the opening order. */
    for (int i = 0; i < 3; i++) {
        n->c = cs[i];
        cli_request(cs[i], "GET", "/bytes/100", NULL, NULL, 0);
        assert_true(run(n, all_closed, 10 * NS));
    }
    assert_int_equal(sink_stats(n->s)->conns_accepted, N);
    for (int i = 0; i < N; i++)
        cs[i]->fatal = 1; /* every client goes silent */
    uint64_t start = n->now;
    assert_true(sink_expiry(n->s) != UINT64_MAX);
    assert_true(run(n, sink_gone, 20 * NS));
    assert_true(n->now - start >= 2 * NS); /* by their idle timers, not at once */
    assert_int_equal(sink_stats(n->s)->conns_idle_timeout, N);
    assert_true(sink_expiry(n->s) == UINT64_MAX);
    for (int i = 1; i < N; i++)
        cli_del(cs[i]);
    n->c = cs[0];
    net_del(n);
}

/* --max-conns: a connection beyond the limit is refused, the open one keeps working. */
static void test_conn_limit(void **state)
{
    struct sink_params p;
    struct net *n;
    struct cli *a, *b;
    struct req *r;
    (void)state;
    sink_params_default(&p);
    p.max_conns = 1;
    n = net_new(&p, 0);
    a = n->c;
    b = cli_new(n->now, 40002);
    n->c = b;
    assert_false(run(n, handshaked, 2 * NS));
    assert_int_equal(sink_stats(n->s)->conns_accepted, 1);
    assert_true(sink_stats(n->s)->conns_refused_limit >= 1);
    cli_del(b);
    n->c = a;
    r = cli_request(a, "GET", "/bytes/3000", NULL, NULL, 0);
    assert_true(run(n, all_closed, 10 * NS));
    assert_int_equal(r->body_len, 3000);
    net_del(n);
}

/* ------------------------------------------------------------ zstd uploads */

/* Zstandard frame magic and skippable frame magic, little-endian (RFC 8878 §3.1.1,
 * §3.1.2). */
static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
static const uint8_t skippable_magic[4] = {0x50, 0x2a, 0x4d, 0x18};
/* Frame_Header_Descriptor 0: no Frame_Content_Size, not single-segment, no
 * checksum, so a Window_Descriptor follows (RFC 8878 §3.1.1.1). */
#define FHD_WINDOWED 0x00
/* Window_Descriptor = Exponent << 3 | Mantissa, window = 2^(10 + Exponent) plus
 * Mantissa eighths: 2^23 is 8 MiB exactly, one mantissa step more is above the
 * limit of the "zstd" coding (RFC 9659). */
#define WD_8MIB       (13 << 3)
#define WD_ABOVE_8MIB ((13 << 3) | 1)
/* Block_Header of an empty Raw_Block that ends the frame (RFC 8878 §3.1.1.2). */
#define LAST_EMPTY_RAW_BLOCK 0x01

/* A frame with only the header above and one empty block: decodes to nothing. */
static size_t empty_frame(uint8_t *out, uint8_t window_descriptor)
{
    memcpy(out, zstd_magic, sizeof(zstd_magic));
    out[4] = FHD_WINDOWED;
    out[5] = window_descriptor;
    out[6] = LAST_EMPTY_RAW_BLOCK;
    out[7] = 0;
    out[8] = 0;
    return 9;
}

/* |len| bytes that compress to about half: 16 symbols from a fixed LCG. */
static uint8_t *half_random(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)('a' + (seed >> 28));
    }
    return b;
}

/* Compress |len| bytes of |in| into a new buffer; *zlen gets its size. With
 * |checksum| the frame carries an XXH64 content checksum (RFC 8878 §3.1.1). */
static uint8_t *zstd_of(const uint8_t *in, size_t len, int checksum, size_t *zlen)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(len);
    uint8_t *z = malloc(cap);
    assert_non_null(cc);
    assert_non_null(z);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, checksum)));
    *zlen = ZSTD_compress2(cc, z, cap, in, len);
    assert_false(ZSTD_isError(*zlen));
    ZSTD_freeCCtx(cc);
    return z;
}

static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* zstd uploads are decoded and counted; the digest covers the compressed bytes. */
static void test_zstd_post(void **state)
{
    const size_t len = 2 << 20, small = 1000, second = 4000;
    uint8_t *plain = half_random(len, 7), *multi;
    size_t zlen, alen, blen, mlen = 0, wlen;
    uint8_t *z, *za, *zb, window_ok[16];
    char over_z[128], over_plain[128], want[160];
    const char *h_good[] = {"content-encoding",
                            "zstd",
                            "content-digest",
                            over_z,
                            "h3dp-records",
                            "4",
                            "h3dp-batch",
                            "z-1",
                            NULL};
    const char *h_plain[] = {"content-encoding", "zstd", "content-digest", over_plain, NULL};
    const char *h_identity[] = {"content-encoding", "identity", NULL};
    const char *h_two_lines[] = {"content-encoding", "identity", "content-encoding", "ZSTD", NULL};
    const char *h_zstd[] = {"content-encoding", "zstd", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[6];
    (void)state;

    z = zstd_of(plain, len, 0, &zlen);
    assert_true(zlen > len / 4 && zlen < len); /* compressed, but many packets */
    /* 2 MiB is a multiple of any power-of-two scratch buffer: the frame ends
     * exactly when the buffer is full, which must not look like a truncation. */
    digest_b64(z, zlen, over_z, sizeof(over_z));
    digest_b64(plain, len, over_plain, sizeof(over_plain));
    /* Two frames with a skippable frame between them (RFC 8878 §3). */
    za = zstd_of(plain, small, 1, &alen);
    zb = zstd_of(plain + small, second, 0, &blen);
    multi = malloc(alen + 8 + 3 + blen);
    assert_non_null(multi);
    memcpy(multi, za, alen);
    mlen = alen;
    memcpy(multi + mlen, skippable_magic, 4);
    multi[mlen + 4] = 3, multi[mlen + 5] = multi[mlen + 6] = multi[mlen + 7] = 0;
    memcpy(multi + mlen + 8, "abc", 3);
    mlen += 8 + 3;
    memcpy(multi + mlen, zb, blen);
    mlen += blen;
    wlen = empty_frame(window_ok, WD_8MIB);

    r[0] = cli_request(n->c, "POST", "/z", h_good, z, zlen);
    r[1] = cli_request(n->c, "PUT", "/z", h_plain, z, zlen);
    r[2] = cli_request(n->c, "POST", "/id", h_identity, plain, small);
    r[3] = cli_request(n->c, "POST", "/multi", h_two_lines, multi, mlen);
    r[4] = cli_request(n->c, "POST", "/window", h_zstd, window_ok, wlen);
    r[5] = cli_request(n->c, "GET", "/bytes/10", h_zstd, NULL, 0);
    assert_true(run(n, all_closed, 60 * NS));

    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"ok\"}\n", zlen, len);
    assert_int_equal(r[0]->status, 200);
    assert_string_equal(r[0]->body, want);
    /* A digest over the decoded content is not the digest of the content sent. */
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"mismatch\"}\n", zlen,
             len);
    assert_int_equal(r[1]->status, 400);
    assert_string_equal(r[1]->body, want);
    assert_int_equal(r[2]->status, 200);
    assert_string_equal(r[2]->body, "{\"bytes\":1000,\"decoded\":1000,\"digest\":\"none\"}\n");
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"none\"}\n", mlen,
             small + second);
    assert_int_equal(r[3]->status, 200);
    assert_string_equal(r[3]->body, want);
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":0,\"digest\":\"none\"}\n", wlen);
    assert_int_equal(r[4]->status, 200);
    assert_string_equal(r[4]->body, want);
    /* Other methods' content is not looked at. */
    assert_int_equal(r[5]->status, 200);
    assert_int_equal(r[5]->body_len, 10);
    for (int i = 0; i < 6; i++)
        assert_string_equal(r[i]->accept_encoding, "");

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->body_bytes_in, 2 * zlen + small + mlen + wlen);
    assert_int_equal(st->body_bytes_decoded, 2 * len + small + small + second);
    assert_int_equal(st->decode_errors, 0);
    assert_int_equal(st->digest_ok, 1);
    assert_int_equal(st->digest_bad, 1);
    assert_int_equal(st->digest_none, 3);
    assert_int_equal(st->responses_2xx, 5);
    assert_int_equal(st->responses_4xx, 1);
    assert_int_equal(st->records_2xx, 4);
    net_del(n);
    free(plain), free(z), free(za), free(zb), free(multi);
}

/* Corrupt, truncated, empty and too-large-window zstd bodies are 400 and counted
 * in decode_errors; other codings are 415 with accept-encoding: gzip, zstd. None
 * of them counts records. */
static void test_zstd_errors(void **state)
{
    const size_t len = 200000;
    uint8_t *plain = half_random(len, 11), *z, *flipped, *badmagic;
    size_t zlen, wlen;
    uint8_t window_big[16];
    char over_flipped[128];
    const char *h_zstd[] = {"content-encoding", "zstd", "h3dp-records", "5", NULL};
    const char *h_flipped[] = {
        "content-encoding", "zstd", "content-digest", over_flipped, "h3dp-records", "5", NULL};
    const char *h_br[] = {"content-encoding", "br", "h3dp-records", "5", NULL};
    const char *h_layered[] = {"content-encoding", "gzip, zstd", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[7];
    (void)state;

    z = zstd_of(plain, len, 1, &zlen);
    assert_true(zlen > 1000);
    flipped = malloc(zlen);
    badmagic = malloc(zlen);
    assert_non_null(flipped);
    assert_non_null(badmagic);
    memcpy(flipped, z, zlen);
    flipped[zlen / 2] ^= 0x5a; /* the content checksum catches what decodes */
    digest_b64(flipped, zlen, over_flipped, sizeof(over_flipped));
    memcpy(badmagic, z, zlen);
    badmagic[0] ^= 0xff;
    wlen = empty_frame(window_big, WD_ABOVE_8MIB);

    r[0] = cli_request(n->c, "POST", "/flipped", h_flipped, flipped, zlen);
    r[1] = cli_request(n->c, "POST", "/truncated", h_zstd, z, zlen - 3);
    r[2] = cli_request(n->c, "PUT", "/empty", h_zstd, (const uint8_t *)"", 0);
    r[3] = cli_request(n->c, "POST", "/magic", h_zstd, badmagic, zlen);
    r[4] = cli_request(n->c, "POST", "/window", h_zstd, window_big, wlen);
    r[5] = cli_request(n->c, "POST", "/br", h_br, plain, 1000);
    r[6] = cli_request(n->c, "PUT", "/layered", h_layered, plain, 10);
    assert_true(run(n, all_closed, 60 * NS));

    for (int i = 0; i < 5; i++) {
        if (r[i]->status != 400 || !has(r[i]->body, "\"error\":\"zstd decode failed: "))
            fail_msg("request %d: %d %s", i, r[i]->status, r[i]->body);
        assert_string_equal(r[i]->accept_encoding, "");
    }
    /* The digest is of the bytes sent, so it still matches. */
    assert_true(has(r[0]->body, "\"digest\":\"ok\""));
    assert_true(has(r[1]->body, "truncated frame"));
    assert_string_equal(r[2]->body, "{\"bytes\":0,\"decoded\":0,\"digest\":\"none\","
                                    "\"error\":\"zstd decode failed: no zstd frame\"}\n");
    assert_true(has(r[3]->body, "\"decoded\":0,"));
    assert_true(has(r[4]->body, "\"decoded\":0,"));
    assert_true(has(r[4]->body, "too much memory"));
    for (int i = 5; i < 7; i++) {
        assert_int_equal(r[i]->status, 415);
        assert_string_equal(r[i]->accept_encoding, "gzip, zstd");
        assert_string_equal(r[i]->body, "{\"error\":\"unsupported content-encoding\","
                                        "\"accept-encoding\":\"gzip, zstd\"}\n");
    }

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->decode_errors, 5);
    assert_int_equal(st->responses_4xx, 7);
    assert_int_equal(st->responses_2xx, 0);
    assert_int_equal(st->requests_bad, 7);
    assert_int_equal(st->records_2xx, 0);
    assert_int_equal(st->digest_ok, 1);
    assert_int_equal(st->digest_none, 4); /* 415 answers give no digest verdict */
    assert_int_equal(st->body_bytes_in, 3 * zlen - 3 + wlen + 1000 + 10);
    /* Only the flipped and truncated frames decode partly; 415 bodies not at all. */
    assert_true(st->body_bytes_decoded < 2 * len);
    net_del(n);
    free(plain), free(z), free(flipped), free(badmagic);
}

static int sink_got_body(struct net *n)
{
    return sink_stats(n->s)->body_bytes_in >= 64 * 1024;
}

/* zstd uploads that end early (stream reset, connection gone) free their
 * decoders: valgrind checks. */
static void test_zstd_cancel(void **state)
{
    const size_t len = 3 << 20;
    uint8_t *plain = malloc(len), *z;
    size_t zlen;
    const char *h_zstd[] = {"content-encoding", "zstd", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *cut, *left;
    (void)state;
    assert_non_null(plain);
    gnutls_rnd(GNUTLS_RND_NONCE, plain, len); /* incompressible: many packets */
    z = zstd_of(plain, len, 0, &zlen);
    cut = cli_request(n->c, "POST", "/cut", h_zstd, z, zlen);
    n->c->hold_next = 1; /* its end never comes: still uploading when the sink goes */
    left = cli_request(n->c, "POST", "/left", h_zstd, z, zlen);
    assert_true(run(n, sink_got_body, 10 * NS));
    assert_true(sink_stats(n->s)->body_bytes_decoded > 0);
    assert_int_equal(ngtcp2_conn_shutdown_stream(n->c->q, 0, cut->id, 0x10c), 0);
    for (int i = 0; i < 8 && !cut->closed; i++)
        step(n);
    assert_true(cut->closed);
    assert_int_equal(cut->status, 0);
    /* The sink's side closes once its own reset is acknowledged. */
    for (int i = 0; i < 8 && sink_stats(n->s)->streams_reset == 0; i++)
        step(n);
    assert_int_equal(sink_stats(n->s)->streams_reset, 1);
    assert_int_equal(sink_stats(n->s)->decode_errors, 0);
    assert_int_equal(sink_stats(n->s)->requests, 2);
    assert_true(sink_stats(n->s)->body_bytes_in < 2 * zlen);
    assert_false(left->closed); /* still uploading when the sink goes */
    net_del(n);
    free(plain), free(z);
}

static struct req *post_and_wait(struct net *n, const char *method, const char *const *hdrs,
                                 const uint8_t *body, size_t len)
{
    struct req *r = cli_request(n->c, method, "/t", hdrs, body, len);
    assert_non_null(r);
    assert_true(run(n, all_closed, 10 * NS));
    return r;
}

/* ------------------------------------------------------------ gzip uploads */

/* One gzip member (RFC 1952) of |len| bytes of |in|, made with zlib's deflate. */
static uint8_t *gzip_of(const uint8_t *in, size_t len, size_t *glen)
{
    z_stream z;
    size_t cap = len + len / 100 + 1024;
    uint8_t *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *glen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* |a| then |b| in a new buffer. */
static uint8_t *concat(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t *c = malloc(alen + blen + 1);
    assert_non_null(c);
    memcpy(c, a, alen);
    if (blen > 0)
        memcpy(c + alen, b, blen);
    return c;
}

/* gzip uploads are decoded and counted as zstd ones are; x-gzip is gzip; members
 * back to back are one body; the digest covers the coded bytes. */
static void test_gzip_post(void **state)
{
    const size_t len = 2 << 20, la = 1000, lb = 4000;
    uint8_t *plain = half_random(len, 5), *g, *ga, *gb, *ge, *multi;
    size_t glen, alen, blen, elen;
    char over_g[128], want[160];
    const char *h_good[] = {
        "content-encoding", "gzip", "content-digest", over_g, "h3dp-records", "4", NULL};
    const char *h_xgzip[] = {"content-encoding", "x-gzip", NULL};
    const char *h_gzip[] = {"content-encoding", "GZIP", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[4];
    (void)state;

    g = gzip_of(plain, len, &glen);
    assert_true(glen > len / 4 && glen < len);
    digest_b64(g, glen, over_g, sizeof(over_g));
    ga = gzip_of(plain, la, &alen);
    gb = gzip_of(plain + la, lb, &blen);
    multi = concat(ga, alen, gb, blen);
    ge = gzip_of(plain, 0, &elen);

    r[0] = cli_request(n->c, "POST", "/g", h_good, g, glen);
    r[1] = cli_request(n->c, "PUT", "/x", h_xgzip, g, glen);
    r[2] = cli_request(n->c, "POST", "/multi", h_gzip, multi, alen + blen);
    r[3] = cli_request(n->c, "POST", "/empty-content", h_gzip, ge, elen);
    assert_true(run(n, all_closed, 60 * NS));

    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"ok\"}\n", glen, len);
    assert_int_equal(r[0]->status, 200);
    assert_string_equal(r[0]->body, want);
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"none\"}\n", glen,
             len);
    assert_int_equal(r[1]->status, 200);
    assert_string_equal(r[1]->body, want);
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"none\"}\n",
             alen + blen, la + lb);
    assert_int_equal(r[2]->status, 200);
    assert_string_equal(r[2]->body, want);
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":0,\"digest\":\"none\"}\n", elen);
    assert_int_equal(r[3]->status, 200);
    assert_string_equal(r[3]->body, want);

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->body_bytes_in, 2 * glen + alen + blen + elen);
    assert_int_equal(st->body_bytes_decoded, 2 * len + la + lb);
    assert_int_equal(st->decode_errors, 0);
    assert_int_equal(st->digest_ok, 1);
    assert_int_equal(st->responses_2xx, 4);
    assert_int_equal(st->records_2xx, 4);
    net_del(n);
    free(plain), free(g), free(ga), free(gb), free(ge), free(multi);
}

/* Corrupt, truncated, empty, not-gzip bodies and data after the last member are
 * 400 and counted in decode_errors; no records. */
static void test_gzip_errors(void **state)
{
    const size_t len = 200000;
    uint8_t *plain = half_random(len, 13), *g, *flipped, *trailing;
    size_t glen;
    char over_flipped[128];
    const char *h_gzip[] = {"content-encoding", "gzip", "h3dp-records", "5", NULL};
    const char *h_flipped[] = {
        "content-encoding", "gzip", "content-digest", over_flipped, "h3dp-records", "5", NULL};
    struct net *n = net_new(NULL, 0);
    struct req *r[5];
    (void)state;

    g = gzip_of(plain, len, &glen);
    flipped = concat(g, glen, NULL, 0);
    flipped[glen / 2] ^= 0x5a; /* inflate or the CRC-32 catches it */
    digest_b64(flipped, glen, over_flipped, sizeof(over_flipped));
    trailing = concat(g, glen, (const uint8_t *)"\0\0\0\0", 4);

    r[0] = cli_request(n->c, "POST", "/flipped", h_flipped, flipped, glen);
    r[1] = cli_request(n->c, "POST", "/truncated", h_gzip, g, glen - 3);
    r[2] = cli_request(n->c, "PUT", "/empty", h_gzip, (const uint8_t *)"", 0);
    r[3] = cli_request(n->c, "POST", "/trailing", h_gzip, trailing, glen + 4);
    r[4] = cli_request(n->c, "POST", "/plain", h_gzip, plain, 1000);
    assert_true(run(n, all_closed, 60 * NS));

    for (int i = 0; i < 5; i++) {
        if (r[i]->status != 400 || !has(r[i]->body, "\"error\":\"gzip decode failed: "))
            fail_msg("request %d: %d %s", i, r[i]->status, r[i]->body);
        assert_false(has(r[i]->body, "\"records\""));
    }
    assert_true(has(r[0]->body, "\"digest\":\"ok\""));
    assert_true(has(r[1]->body, "truncated gzip member"));
    assert_string_equal(r[2]->body, "{\"bytes\":0,\"decoded\":0,\"digest\":\"none\","
                                    "\"error\":\"gzip decode failed: no gzip member\"}\n");
    assert_true(has(r[3]->body, "trailing data after the last gzip member"));
    char want[64];
    snprintf(want, sizeof(want), "\"decoded\":%zu,", len);
    assert_true(has(r[3]->body, want)); /* the member itself decoded in full */
    assert_true(has(r[4]->body, "\"decoded\":0,"));
    assert_true(has(r[4]->body, "incorrect header check"));

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->decode_errors, 5);
    assert_int_equal(st->responses_4xx, 5);
    assert_int_equal(st->requests_bad, 5);
    assert_int_equal(st->records_2xx, 0);
    assert_int_equal(st->framing.mismatch, 0);
    net_del(n);
    free(plain), free(g), free(flipped), free(trailing);
}

/* ------------------------------------------------------------ framed uploads */

/* |n| newline-framed records of 1 to about 200 bytes, as a client of
 * h3dp-framing: newline sends them. */
static uint8_t *newline_records(size_t n, uint32_t seed, size_t *len)
{
    size_t cap = n * 220 + 1, o = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        if (seed % 17 == 0) {
            b[o++] = (uint8_t)('0' + i % 10); /* a one-byte record */
        } else {
            o += (size_t)snprintf((char *)b + o, cap - o, "{\"seq\":%zu,\"v\":\"", i);
            for (uint32_t k = (seed >> 16) % 150; k > 0; k--)
                b[o++] = (uint8_t)('a' + (seed >> (k % 24)) % 26);
            b[o++] = '"', b[o++] = '}';
        }
        b[o++] = '\n';
    }
    *len = o;
    return b;
}

/* |n| length-framed records of 0 to about 600 bytes, any byte values. */
static uint8_t *length_records(size_t n, uint32_t seed, size_t *len)
{
    size_t cap = n * 610, o = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t l = i % 11 == 0 ? 0 : (seed >> 16) % 600;
        b[o++] = (uint8_t)(l >> 24), b[o++] = (uint8_t)(l >> 16), b[o++] = (uint8_t)(l >> 8);
        b[o++] = (uint8_t)l;
        for (uint32_t k = 0; k < l; k++)
            b[o++] = (uint8_t)((seed >> (k % 16)) + k);
    }
    *len = o;
    return b;
}

static struct req *upload(struct net *n, const char *framing, const char *coding, size_t records,
                          const uint8_t *body, size_t len)
{
    char count[24];
    const char *h[] = {"h3dp-framing", framing, "h3dp-records", count, "content-encoding",
                       coding,         NULL};
    struct req *r;
    snprintf(count, sizeof(count), "%zu", records);
    if (coding == NULL)
        h[4] = NULL;
    r = cli_request(n->c, "POST", "/records", h, body, len);
    assert_non_null(r);
    assert_true(run(n, all_closed, 60 * NS));
    return r;
}

static char *file_bytes(FILE *f, size_t *len)
{
    long end;
    char *b;
    assert_int_equal(fflush(f), 0);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    end = ftell(f);
    assert_true(end >= 0);
    b = malloc((size_t)end + 1);
    assert_non_null(b);
    rewind(f);
    assert_int_equal(fread(b, 1, (size_t)end, f), (size_t)end);
    *len = (size_t)end;
    return b;
}

/* newline and length framed bodies, as they are and coded with gzip and zstd, are
 * split into the records announced; the receipt says how many; every newline and
 * length record of an accepted upload comes out of params.records_out byte for
 * byte, as framed; none-framed uploads count by the header and are not written. */
static void test_framed_uploads(void **state)
{
    static const size_t nrec[] = {20000, 5000, 7000, 3000, 4000};
    static const char *coding[] = {NULL, "gzip", "zstd", "gzip", "zstd"};
    uint8_t *plain[5], *sent[5], *other;
    size_t plen[5], slen[5], olen, zlen, outlen, total = 0;
    char want[200];
    struct sink_params p;
    struct net *n;
    struct req *r[6];
    FILE *out = tmpfile();
    char *lines;
    (void)state;

    assert_non_null(out);
    sink_params_default(&p);
    p.records_out = out;
    n = net_new(&p, 0);
    for (int i = 0; i < 5; i++) {
        plain[i] = i < 3 ? newline_records(nrec[i], 100 + (uint32_t)i, &plen[i])
                         : length_records(nrec[i], 100 + (uint32_t)i, &plen[i]);
        if (coding[i] == NULL)
            sent[i] = plain[i], slen[i] = plen[i];
        else if (coding[i][0] == 'g')
            sent[i] = gzip_of(plain[i], plen[i], &slen[i]);
        else
            sent[i] = zstd_of(plain[i], plen[i], 1, &slen[i]);
        total += nrec[i];
    }
    /* One at a time, so their records come out in this order. */
    for (int i = 0; i < 5; i++)
        r[i] = upload(n, i < 3 ? "newline" : "length", coding[i], nrec[i], sent[i], slen[i]);
    other = half_random(3000, 9);
    uint8_t *zo = zstd_of(other, 3000, 0, &zlen);
    r[5] = upload(n, "None", "zstd", 9, zo, zlen);
    olen = 3000;

    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want),
                 "{\"bytes\":%zu,\"decoded\":%zu,\"records\":%zu,\"digest\":\"none\"}\n", slen[i],
                 plen[i], nrec[i]);
        if (r[i]->status != 200 || strcmp(r[i]->body, want) != 0)
            fail_msg("upload %d: %d %s", i, r[i]->status, r[i]->body);
    }
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"decoded\":%zu,\"digest\":\"none\"}\n", zlen,
             olen);
    assert_int_equal(r[5]->status, 200);
    assert_string_equal(r[5]->body, want);

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->records_2xx, total + 9);
    assert_int_equal(st->framing.records_framed, total);
    assert_int_equal(st->framing.mismatch, 0);
    assert_int_equal(st->framing.uploads[SINK_FRAMING_NONE - 1], 1);
    assert_int_equal(st->framing.uploads[SINK_FRAMING_NEWLINE - 1], 3);
    assert_int_equal(st->framing.uploads[SINK_FRAMING_LENGTH - 1], 2);
    assert_int_equal(st->framing.records[SINK_FRAMING_NONE - 1], 9);
    assert_int_equal(st->framing.records[SINK_FRAMING_NEWLINE - 1], nrec[0] + nrec[1] + nrec[2]);
    assert_int_equal(st->framing.records[SINK_FRAMING_LENGTH - 1], nrec[3] + nrec[4]);
    assert_int_equal(st->framing.out_errors, 0);
    assert_int_equal(st->decode_errors, 0);

    /* Records in, records out: the framed uploads' decoded bodies, in order. */
    lines = file_bytes(out, &outlen);
    size_t off = 0;
    for (int i = 0; i < 5; i++)
        off += plen[i];
    assert_int_equal(outlen, off);
    off = 0;
    for (int i = 0; i < 5; i++) {
        assert_memory_equal(lines + off, plain[i], plen[i]);
        off += plen[i];
    }
    free(lines);
    net_del(n);
    fclose(out);
    for (int i = 0; i < 5; i++) {
        if (sent[i] != plain[i])
            free(sent[i]);
        free(plain[i]);
    }
    free(other), free(zo);
}

/* A framed upload that does not split as announced is 400 with a "framing: ..."
 * error and counted in framing_mismatch, and its records are neither counted nor
 * written; a request without h3dp-framing is counted by its header as before; a
 * body that does not decode is a decode error, not a framing one. */
static void test_framing_refused(void **state)
{
    static const uint8_t trunc[] = {0, 0, 0, 5, 'h', 'e', 'l'};
    char digest_bad[128];
    const char *h_csv[] = {"h3dp-framing", "csv", "h3dp-records", "1", NULL};
    const char *h_nocount[] = {"h3dp-framing", "newline", NULL};
    const char *h_old[] = {"h3dp-records", "7", NULL};
    const char *h_twice[] = {
        "h3dp-framing", "newline", "h3dp-framing", "newline", "h3dp-records", "1", NULL};
    const char *h_digest[] = {"h3dp-framing", "newline", "h3dp-records", "2", "content-digest",
                              digest_bad,     NULL};
    uint8_t *g_empty, *z_unterminated, *g_trunc;
    size_t ge, zu, gt, outlen;
    struct sink_params p;
    struct net *n;
    struct req *r[10];
    FILE *out = tmpfile();
    char *lines;
    (void)state;

    assert_non_null(out);
    sink_params_default(&p);
    p.records_out = out;
    n = net_new(&p, 0);
    g_empty = gzip_of((const uint8_t *)"a\n\nb\n", 5, &ge);
    z_unterminated = zstd_of((const uint8_t *)"a\nb", 3, 0, &zu);
    g_trunc = gzip_of(trunc, sizeof(trunc), &gt);
    digest_b64((const uint8_t *)"x", 1, digest_bad, sizeof(digest_bad));

    r[0] = upload(n, "newline", NULL, 4, (const uint8_t *)"a\nb\nc\n", 6);
    r[1] = upload(n, "newline", "gzip", 2, g_empty, ge);
    r[2] = upload(n, "newline", "zstd", 2, z_unterminated, zu);
    r[3] = upload(n, "length", "gzip", 1, g_trunc, gt);
    r[4] = post_and_wait(n, "POST", h_csv, (const uint8_t *)"a\n", 2);
    r[5] = post_and_wait(n, "POST", h_nocount, (const uint8_t *)"a\n", 2);
    r[6] = post_and_wait(n, "PUT", h_twice, (const uint8_t *)"a\n", 2);
    r[7] = post_and_wait(n, "POST", h_old, (const uint8_t *)"a\n", 2);
    r[8] = upload(n, "newline", "gzip", 1, (const uint8_t *)"a\n", 2);
    r[9] = post_and_wait(n, "POST", h_digest, (const uint8_t *)"a\nb\n", 4);

    assert_string_equal(r[0]->body,
                        "{\"bytes\":6,\"decoded\":6,\"records\":3,\"digest\":\"none\","
                        "\"error\":\"framing: 3 records split, h3dp-records says 4\"}\n");
    assert_true(has(r[1]->body, "\"decoded\":5,\"records\":1,"));
    assert_true(has(r[1]->body, "\"error\":\"framing: empty record at byte 2\"}"));
    assert_true(has(r[2]->body, "\"decoded\":3,\"records\":1,"));
    assert_true(has(r[2]->body, "\"error\":\"framing: record at byte 2 has no newline\"}"));
    assert_true(has(r[3]->body, "\"records\":0,"));
    assert_true(
        has(r[3]->body, "\"error\":\"framing: truncated record at byte 0 (3 of 5 bytes)\"}"));
    assert_true(has(r[4]->body, "\"error\":\"framing: h3dp-framing is not one of newline, "
                                "length, none\"}"));
    assert_true(has(r[5]->body, "\"error\":\"framing: h3dp-records missing\"}"));
    assert_true(has(r[6]->body, "\"error\":\"framing: h3dp-framing is not one of"));
    for (int i = 0; i < 7; i++)
        if (r[i]->status != 400)
            fail_msg("request %d: %d %s", i, r[i]->status, r[i]->body);
    /* Old clients: no framing, counted by the header, no "records" in the receipt. */
    assert_int_equal(r[7]->status, 200);
    assert_string_equal(r[7]->body, "{\"bytes\":2,\"decoded\":2,\"digest\":\"none\"}\n");
    /* Not gzip at all: a decode error; the split is not reported. */
    assert_int_equal(r[8]->status, 400);
    assert_true(has(r[8]->body, "gzip decode failed: "));
    assert_false(has(r[8]->body, "records"));
    /* Well framed, wrong digest: 400 for the digest alone. */
    assert_int_equal(r[9]->status, 400);
    assert_string_equal(r[9]->body,
                        "{\"bytes\":4,\"decoded\":4,\"records\":2,\"digest\":\"mismatch\"}\n");

    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->framing.mismatch, 7);
    assert_int_equal(st->decode_errors, 1);
    assert_int_equal(st->records_2xx, 7);
    assert_int_equal(st->framing.records_framed, 0);
    for (int i = 0; i < SINK_FRAMING_KINDS; i++)
        assert_int_equal(st->framing.uploads[i], 0);
    assert_int_equal(st->responses_4xx, 9);
    assert_int_equal(st->requests_bad, 9);
    /* Nothing refused reached the records file. */
    lines = file_bytes(out, &outlen);
    assert_int_equal(outlen, 0);
    free(lines);
    net_del(n);
    fclose(out);
    free(g_empty), free(z_unterminated), free(g_trunc);
}

/* ------------------------------------------------------------ the fault hook */

/* Every 3rd POST/PUT is answered 503 with retry-after, the others normally;
 * GETs do not count; a fault wins over the 415 the upload would get. */
static void test_fault_every(void **state)
{
    static uint8_t body[500];
    static const char *batch[] = {"b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    struct sink_params p;
    struct net *n;
    struct req *r[7], *get;
    (void)state;
    sink_params_default(&p);
    p.fault_status = 503;
    p.fault_every = 3;
    p.fault_retry_after = 1;
    p.fault_retry_after_s = 7;
    n = net_new(&p, 0);
    for (int i = 0; i < 7; i++) {
        const char *h[] = {"h3dp-records", "2", "h3dp-batch", batch[i], NULL, NULL, NULL};
        if (i == 2) {
            get = post_and_wait(n, "GET", NULL, NULL, 0);
            h[4] = "content-encoding", h[5] = "br";
        }
        r[i] = post_and_wait(n, i % 2 ? "PUT" : "POST", h, body, sizeof(body));
    }
    assert_int_equal(get->status, 200);
    assert_string_equal(get->retry_after, "");
    for (int i = 0; i < 7; i++) {
        int faulted = (i + 1) % 3 == 0;
        if (r[i]->status != (faulted ? 503 : 200))
            fail_msg("upload %d: status %d", i + 1, r[i]->status);
        assert_true(r[i]->ended);
        if (faulted) {
            assert_string_equal(r[i]->retry_after, "7");
            assert_string_equal(r[i]->body, "{\"fault\":\"injected\",\"status\":503}\n");
            assert_string_equal(r[i]->accept_encoding, "");
        } else {
            assert_string_equal(r[i]->retry_after, "");
            assert_string_equal(r[i]->body,
                                "{\"bytes\":500,\"decoded\":500,\"digest\":\"none\"}\n");
        }
    }
    const struct sink_stats *st = sink_stats(n->s);
    assert_int_equal(st->faults_sent, 2);
    assert_int_equal(st->responses_5xx, 2);
    assert_int_equal(st->responses_2xx, 6);
    assert_int_equal(st->responses_4xx, 0);
    assert_int_equal(st->requests_bad, 0);
    assert_int_equal(st->records_2xx, 5 * 2);
    assert_int_equal(st->batches_unique, 5);
    assert_int_equal(st->digest_none, 5);
    assert_int_equal(st->body_bytes_in, 7 * sizeof(body));
    net_del(n);
}

/* fault_every 0 means every upload; no retry-after unless asked; a 204 fault has
 * no content (RFC 9110 §6.4.1). */
static void test_fault_all(void **state)
{
    static uint8_t body[100];
    const char *h[] = {"h3dp-records", "3", NULL};
    struct sink_params p;
    struct net *n;
    struct req *a, *b;
    (void)state;
    sink_params_default(&p);
    p.fault_status = 429;
    p.fault_every = 0;
    n = net_new(&p, 0);
    a = post_and_wait(n, "POST", h, body, sizeof(body));
    b = post_and_wait(n, "PUT", h, body, sizeof(body));
    assert_int_equal(a->status, 429);
    assert_int_equal(b->status, 429);
    assert_string_equal(a->retry_after, "");
    assert_string_equal(b->body, "{\"fault\":\"injected\",\"status\":429}\n");
    assert_int_equal(sink_stats(n->s)->faults_sent, 2);
    assert_int_equal(sink_stats(n->s)->responses_4xx, 2);
    assert_int_equal(sink_stats(n->s)->requests_bad, 0);
    assert_int_equal(sink_stats(n->s)->records_2xx, 0);
    net_del(n);

    p.fault_status = 204;
    p.fault_retry_after = 1;
    p.fault_retry_after_s = 0;
    n = net_new(&p, 0);
    a = post_and_wait(n, "POST", h, body, sizeof(body));
    assert_int_equal(a->status, 204);
    assert_true(a->ended);
    assert_int_equal(a->body_len, 0);
    assert_string_equal(a->retry_after, "0");
    /* A 2xx fault still accepts nothing. */
    assert_int_equal(sink_stats(n->s)->responses_2xx, 1);
    assert_int_equal(sink_stats(n->s)->records_2xx, 0);
    assert_int_equal(sink_stats(n->s)->faults_sent, 1);
    net_del(n);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_idle_many),
        cmocka_unit_test(test_conn_limit),
        cmocka_unit_test(test_post_digest),
        cmocka_unit_test(test_records_batches),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_goaway_drains),
        cmocka_unit_test(test_close_all),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_stream_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_two_clients),
        cmocka_unit_test(test_cancel_held),
        cmocka_unit_test(test_zstd_post),
        cmocka_unit_test(test_zstd_errors),
        cmocka_unit_test(test_zstd_cancel),
        cmocka_unit_test(test_gzip_post),
        cmocka_unit_test(test_gzip_errors),
        cmocka_unit_test(test_framed_uploads),
        cmocka_unit_test(test_framing_refused),
        cmocka_unit_test(test_fault_every),
        cmocka_unit_test(test_fault_all),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s CERTS_DIR\n", argv[0]);
        return 2;
    }
    certs_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
