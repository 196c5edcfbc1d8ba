/*
 * sink.c: the I/O-independent HTTP/3 server core of h3sink (see sink.h).
 *
 * One struct sink holds the TLS credentials, a connection-ID map and the list of
 * connections. Each connection is an ngtcp2 server conn + an nghttp3 server conn
 * + a GnuTLS session. Request streams come from a pool (no malloc per request in
 * steady state); bodies are counted and, when a content-digest is given, hashed,
 * never stored. A zstd- or gzip-coded upload gets a decoder for the life of its
 * body; the decoded bytes go to one scratch buffer per sink and are only counted
 * and split into records (sink_records.c). Response bodies point into static or
 * per-stream memory.
 */
#include "sink.h"
#include "sink_gzip.h"
#include "sink_http.h"
#include "sink_early.h"
#include "sink_records.h"
#include "crypto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Length of the connection IDs we issue (RFC 9000 §5.1 allows up to 20). */
#define SINK_SCIDLEN   18
#define CIDMAP_BUCKETS 4096
/* Stateless replies (Version Negotiation, refusals) waiting for sink_flush. */
#define PEND_MAX  16
#define PKT_BUF   1500
#define TXBUF_LEN 65536
/* A local closing period lasts 3 x PTO (RFC 9000 §10.2). */
#define CLOSE_PTO_MULT 3
/* nghttp3_conn_writev_stream vector count. */
#define H3_VEC 16
/* Unidirectional streams a client needs: control, QPACK encoder and decoder
 * (RFC 9114 §6.2, RFC 9204 §4.2). */
#define H3_UNI_STREAMS 3
#define H3_UNI_WINDOW  (256 * 1024)
/* Our QPACK decoder limits, sent as SETTINGS_QPACK_MAX_TABLE_CAPACITY and
 * SETTINGS_QPACK_BLOCKED_STREAMS (RFC 9204 §5). */
#define QPACK_MAX_TABLE_CAPACITY 4096
#define QPACK_BLOCKED_STREAMS    100
#define HANDSHAKE_TIMEOUT_NS     (10ULL * 1000000000ULL)
/* HTTP status codes (RFC 9110 §15). */
#define HTTP_OK                     200
#define HTTP_NO_CONTENT             204
#define HTTP_NOT_MODIFIED           304
#define HTTP_BAD_REQUEST            400
#define HTTP_UNSUPPORTED_MEDIA_TYPE 415
#define HTTP_INTERNAL_SERVER_ERROR  500
/* The "zstd" content coding caps the window at 8 MB (RFC 8878 §3.1.1.1.2, made a
 * requirement for HTTP by RFC 9659): larger frames are rejected, which bounds a
 * request's decoder memory. */
#define ZSTD_HTTP_WINDOWLOG_MAX 23
/* Decoded bytes are only counted, so the output buffer can be small: zstd keeps
 * the window itself and hands it out in pieces of this size. */
#define ZSTD_SCRATCH_LEN (16 * 1024)
/* A response body built per stream: receipts, error texts. */
#define RESP_SMALL_LEN 256
#define ERR_TEXT_LEN   128
/* TLS 1.3 only; no middlebox compatibility mode in QUIC (RFC 9001 §8.4). */
#define TLS_PRIORITY                                                                               \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"                         \
    "+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"                   \
    "+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE"

enum method { M_OTHER, M_GET, M_HEAD, M_POST, M_PUT };
/* How decoding a zstd or gzip body went. */
enum zstate { Z_OK, Z_CORRUPT, Z_NOMEM };
enum cstate { C_OPEN, C_CLOSING, C_DRAINING };

struct sconn;

struct sstream {
    struct sstream *next, *prev; /* live list of the conn, or the pool free list */
    struct sstream *dnext;       /* delayed-response list */
    struct sconn *c;
    int64_t id;
    uint8_t method;
    uint8_t digest; /* enum sink_digest_parse */
    int8_t bytes;   /* sink_bytes_path() result for :path */
    uint8_t fault;  /* :path is /fault/bad-headers */
    uint8_t delayed;
    uint8_t responded;
    uint8_t coding;   /* enum sink_coding of content-encoding */
    uint8_t zstate;   /* enum zstate */
    uint8_t injected; /* answered with params.fault_status */
    uint8_t rejected; /* reset by params.fault_reject: nothing more is done with it */
    uint8_t has_length; /* content-length came */
    uint64_t bytes_n;
    uint64_t body_in;
    uint64_t decoded; /* body bytes with the content coding removed */
    ZSTD_DStream *zd; /* zstd uploads, from the first body byte to the end */
    size_t zneed;     /* last ZSTD_decompressStream() result: 0 at a frame end */
    const char *zerr; /* static text of a decode failure */
    /* gzip uploads, from the first body byte to the end */
    struct sink_gz *gz;
    /* h3dp-framing: the record splitter (and the --records-out spool) */
    struct sink_rec rec;
    uint64_t resp_off, resp_len;
    const uint8_t *resp_buf; /* NULL: the /bytes pattern */
    uint64_t respond_at;
    struct crypto_sha256 *hash;
    uint8_t expect[SINK_SHA256_LEN];
    char small[RESP_SMALL_LEN];
    uint64_t records; /* h3dp-records */
    uint64_t batch;   /* hash of h3dp-batch, 0: none */
};

struct cident {
    struct cident *next;      /* bucket chain */
    struct cident *conn_next; /* the conn's CIDs */
    struct sconn *c;
    uint8_t len;
    uint8_t data[NGTCP2_MAX_CIDLEN];
};

struct sconn {
    struct sink *s;
    struct sconn *next, *prev;
    ngtcp2_conn *q;
    nghttp3_conn *h;
    gnutls_session_t tls;
    ngtcp2_crypto_conn_ref ref;
    ngtcp2_ccerr ccerr;
    int ccerr_set;
    enum cstate state;
    int goaway;
    int recorded;
    uint64_t close_deadline;
    uint8_t *close_pkt;
    size_t close_len;
    int close_send;
    uint64_t close_rx;
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
    struct cident *cids;
    struct sstream *live;
    struct sstream *delayed;
    /* Timers and writes cost O(active connections), not O(all): the sink keeps every
     * connection in a min-heap by its next expiry, and a list of the connections that may
     * have something to send (a packet arrived, a timer ran, a response became due). */
    uint64_t expiry;              /* its key in s->heap */
    size_t heap_idx;              /* its index in s->heap */
    struct sconn *dnext, *dprev;  /* s->dirty */
    bool dirty;
};

struct pending {
    struct sockaddr_storage to;
    socklen_t tolen;
    size_t len;
    uint8_t buf[PKT_BUF];
};

struct sink {
    struct sink_params p;
    bool client_cert; /* mTLS: a client certificate is required (--client-ca) */
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    FILE *keylog;
    struct sink_early early; /* session tickets, 0-RTT, anti-replay */
    uint8_t reset_secret[32];
    struct sconn *conns;
    size_t nconns;
    struct sconn **heap; /* min-heap of every connection by expiry */
    size_t heap_cap;
    struct sconn *dirty; /* connections to write at the next sink_flush */
    int refusing;
    uint64_t uploads;  /* POST/PUT requests seen: the fault hook counts them */
    uint64_t *batches; /* open-addressing set of h3dp-batch hashes (0 = empty slot) */
    size_t batches_cap, batches_n;
    struct cident *cidmap[CIDMAP_BUCKETS];
    struct sstream *pool;
    struct sink_stats st;
    uint64_t now; /* the latest timestamp handed to the API */
    unsigned npend;
    struct pending pend[PEND_MAX];
    uint8_t tx[TXBUF_LEN];
    uint8_t zscratch[ZSTD_SCRATCH_LEN];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- timers */

static void heap_set(struct sink *s, size_t i, struct sconn *c)
{
    s->heap[i] = c;
    c->heap_idx = i;
}

/* Restores the heap order around |i| after its key changed. */
static void heap_fix(struct sink *s, size_t i)
{
    struct sconn *c = s->heap[i];

    while (i > 0 && s->heap[(i - 1) / 2]->expiry > c->expiry) {
        heap_set(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t key = c->expiry;
        if (l < s->nconns && s->heap[l]->expiry < key) {
            m = l;
            key = s->heap[l]->expiry;
        }
        if (l + 1 < s->nconns && s->heap[l + 1]->expiry < key)
            m = l + 1;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m]);
        i = m;
    }
    heap_set(s, i, c);
}

/* The connection's next deadline: ngtcp2's (loss recovery, ACK delay, pacing, idle),
 * a delayed response's, or the end of its closing or draining period. */
static uint64_t conn_expiry(const struct sconn *c)
{
    if (c->state != C_OPEN)
        return c->close_deadline;
    uint64_t e = ngtcp2_conn_get_expiry(c->q);
    for (const struct sstream *st = c->delayed; st; st = st->dnext)
        if (st->respond_at < e)
            e = st->respond_at;
    return e;
}

static void conn_retime(struct sconn *c)
{
    c->expiry = conn_expiry(c);
    heap_fix(c->s, c->heap_idx);
}

/* |c| may have something to send: sink_flush will write it. */
static void conn_mark(struct sconn *c)
{
    struct sink *s = c->s;

    if (c->dirty)
        return;
    c->dirty = true;
    c->dprev = NULL;
    c->dnext = s->dirty;
    if (s->dirty)
        s->dirty->dprev = c;
    s->dirty = c;
}

static void conn_unmark(struct sconn *c)
{
    if (!c->dirty)
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        c->s->dirty = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dirty = false;
    c->dnext = c->dprev = NULL;
}

/* ---------------------------------------------------------------- CID map */

static unsigned cid_hash(const uint8_t *d, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ d[i]) * 16777619u;
    return h % CIDMAP_BUCKETS;
}

static struct sconn *cid_find(const struct sink *s, const uint8_t *d, size_t len)
{
    for (struct cident *e = s->cidmap[cid_hash(d, len)]; e; e = e->next)
        if (e->len == len && memcmp(e->data, d, len) == 0)
            return e->c;
    return NULL;
}

static int cid_add(struct sconn *c, const uint8_t *d, size_t len)
{
    struct cident *e;
    unsigned b;
    if (len > NGTCP2_MAX_CIDLEN)
        return -EINVAL;
    if (cid_find(c->s, d, len) != NULL)
        return 0;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    e->c = c;
    e->len = (uint8_t)len;
    memcpy(e->data, d, len);
    b = cid_hash(d, len);
    e->next = c->s->cidmap[b];
    c->s->cidmap[b] = e;
    e->conn_next = c->cids;
    c->cids = e;
    return 0;
}

static void cid_unlink_bucket(struct sink *s, struct cident *e)
{
    struct cident **pp = &s->cidmap[cid_hash(e->data, e->len)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
}

static void cid_del(struct sconn *c, const uint8_t *d, size_t len)
{
    for (struct cident **pp = &c->cids; *pp; pp = &(*pp)->conn_next) {
        struct cident *e = *pp;
        if (e->len == len && memcmp(e->data, d, len) == 0) {
            cid_unlink_bucket(c->s, e);
            *pp = e->conn_next;
            free(e);
            return;
        }
    }
}

/* ---------------------------------------------------------------- streams */

static struct sstream *stream_get(struct sconn *c, int64_t id)
{
    struct sink *s = c->s;
    struct sstream *st = s->pool;
    if (st != NULL)
        s->pool = st->next;
    else if ((st = malloc(sizeof(*st))) == NULL)
        return NULL;
    memset(st, 0, sizeof(*st));
    st->c = c;
    st->id = id;
    st->next = c->live;
    if (c->live)
        c->live->prev = st;
    c->live = st;
    return st;
}

static void zstd_free(struct sstream *st)
{
    ZSTD_freeDStream(st->zd);
    st->zd = NULL;
}

static void stream_put(struct sstream *st)
{
    struct sconn *c = st->c;
    struct sink *s = c->s;
    crypto_sha256_del(st->hash, NULL);
    st->hash = NULL;
    zstd_free(st);
    sink_gz_free(st->gz);
    st->gz = NULL;
    sink_rec_drop(&st->rec);
    if (st->delayed) {
        for (struct sstream **pp = &c->delayed; *pp; pp = &(*pp)->dnext)
            if (*pp == st) {
                *pp = st->dnext;
                break;
            }
    }
    if (st->prev)
        st->prev->next = st->next;
    else
        c->live = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->next = s->pool;
    s->pool = st;
}

/* ---------------------------------------------------------------- closing */

static int ccerr_ok(const ngtcp2_ccerr *e)
{
    if (e->type == NGTCP2_CCERR_TYPE_APPLICATION)
        return e->error_code == NGHTTP3_H3_NO_ERROR;
    return e->type == NGTCP2_CCERR_TYPE_TRANSPORT && e->error_code == NGTCP2_NO_ERROR;
}

static void record_close(struct sconn *c, const ngtcp2_ccerr *e, int local, int idle)
{
    struct sink_stats *st = &c->s->st;
    struct sink_close_rec *r;
    if (c->recorded)
        return;
    c->recorded = 1;
    r = &st->closes[st->conns_closed % SINK_CLOSE_LOG];
    memset(r, 0, sizeof(*r));
    r->local = (uint8_t)local;
    r->idle = (uint8_t)idle;
    if (idle) {
        st->conns_idle_timeout++;
    } else {
        r->error_code = e->error_code;
        r->app = e->type == NGTCP2_CCERR_TYPE_APPLICATION;
        if (ccerr_ok(e))
            st->conns_closed_ok++;
        else
            st->conns_closed_error++;
    }
    st->conns_closed++;
}

static void conn_free(struct sconn *c)
{
    struct sink *s = c->s;
    while (c->live)
        stream_put(c->live);
    while (c->cids) {
        struct cident *e = c->cids;
        c->cids = e->conn_next;
        cid_unlink_bucket(s, e);
        free(e);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    conn_unmark(c);
    s->nconns--;
    if (c->heap_idx < s->nconns) { /* the last entry takes its place */
        heap_set(s, c->heap_idx, s->heap[s->nconns]);
        heap_fix(s, c->heap_idx);
    }
    nghttp3_conn_del(c->h);
    ngtcp2_conn_del(c->q);
    if (c->tls)
        gnutls_deinit(c->tls);
    free(c->close_pkt);
    free(c);
}

/* Enter the closing period: write CONNECTION_CLOSE with c->ccerr once, keep it
 * to answer later packets, free the conn after 3 x PTO. */
static void conn_start_closing(struct sconn *c, uint64_t now)
{
    ngtcp2_path_storage ps;
    ngtcp2_ssize n;

    if (c->state != C_OPEN)
        return;
    if (!c->ccerr_set)
        ngtcp2_ccerr_set_application_error(&c->ccerr, NGHTTP3_H3_INTERNAL_ERROR, NULL, 0);
    record_close(c, &c->ccerr, 1, 0);
    c->close_pkt = malloc(PKT_BUF);
    ngtcp2_path_storage_zero(&ps);
    n = c->close_pkt == NULL ? -1
                             : ngtcp2_conn_write_connection_close(
                                   c->q, &ps.path, NULL, c->close_pkt, PKT_BUF, &c->ccerr, now);
    c->state = C_CLOSING;
    c->close_deadline = now + CLOSE_PTO_MULT * ngtcp2_conn_get_pto(c->q);
    if (n <= 0) {
        /* Nothing can be sent (no keys yet, or no memory): just forget it. */
        c->close_len = 0;
        c->close_deadline = now;
        return;
    }
    c->close_len = (size_t)n;
    c->close_send = 1;
}

static void conn_close_app(struct sconn *c, uint64_t code, const char *reason, uint64_t now)
{
    ngtcp2_ccerr_set_application_error(&c->ccerr, code, (const uint8_t *)reason,
                                       reason ? strlen(reason) : 0);
    c->ccerr_set = 1;
    conn_start_closing(c, now);
}

/* React to an ngtcp2 error from read_pkt / handle_expiry / write. Never frees |c|:
 * a connection to drop silently is marked draining with a deadline of |now|, and
 * sink_flush / sink_handle_expiry free it. */
static void conn_error(struct sconn *c, int rv, uint64_t now)
{
    switch (rv) {
    case NGTCP2_ERR_DRAINING:
        record_close(c, ngtcp2_conn_get_ccerr(c->q), 0, 0);
        c->state = C_DRAINING;
        c->close_deadline = now + CLOSE_PTO_MULT * ngtcp2_conn_get_pto(c->q);
        return;
    case NGTCP2_ERR_IDLE_CLOSE:
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
    case NGTCP2_ERR_DROP_CONN:
        record_close(c, NULL, 0, 1);
        c->state = C_DRAINING;
        c->close_deadline = now;
        return;
    case NGTCP2_ERR_CLOSING:
        return;
    case NGTCP2_ERR_CRYPTO:
        if (!c->ccerr_set) {
            ngtcp2_ccerr_set_tls_alert(&c->ccerr, ngtcp2_conn_get_tls_alert(c->q), NULL, 0);
            c->ccerr_set = 1;
        }
        conn_start_closing(c, now);
        return;
    default:
        if (!c->ccerr_set) {
            ngtcp2_ccerr_set_liberr(&c->ccerr, rv, NULL, 0);
            c->ccerr_set = 1;
        }
        conn_start_closing(c, now);
        return;
    }
}

/* Fail the connection from inside a callback with an HTTP/3 error. */
static int cb_fail(struct sconn *c, int h3rv)
{
    if (!c->ccerr_set) {
        ngtcp2_ccerr_set_application_error(&c->ccerr, nghttp3_err_infer_quic_app_error_code(h3rv),
                                           NULL, 0);
        c->ccerr_set = 1;
    }
    return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* ---------------------------------------------------------------- responses */

static nghttp3_ssize h3_read_data(nghttp3_conn *h, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                                  uint32_t *pflags, void *cud, void *sud)
{
    struct sstream *st = sud;
    struct sconn *c = cud;
    uint64_t left;
    size_t run;
    const uint8_t *pat;

    (void)h;
    (void)sid;
    if (st == NULL || veccnt == 0)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    left = st->resp_len - st->resp_off;
    if (left == 0) {
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
        return 0;
    }
    if (st->resp_buf != NULL) {
        vec[0].base = (uint8_t *)(uintptr_t)(st->resp_buf + st->resp_off);
        vec[0].len = (size_t)left;
    } else {
        pat = sink_pattern_buf(&run);
        vec[0].base = (uint8_t *)(uintptr_t)(pat + st->resp_off % SINK_PATTERN_MOD);
        vec[0].len = left < run ? (size_t)left : run;
    }
    st->resp_off += vec[0].len;
    c->s->st.body_bytes_out += vec[0].len;
    if (st->resp_off == st->resp_len)
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 1;
}

static const nghttp3_data_reader body_reader = {h3_read_data};

#define NV(n, v, vl)                                                                               \
    {                                                                                              \
        (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl),                 \
            NGHTTP3_NV_FLAG_NONE                                                                   \
    }

static void count_status(struct sink *s, int status)
{
    if (status >= 200 && status < 300)
        s->st.responses_2xx++;
    else if (status >= 400 && status < 500)
        s->st.responses_4xx++;
    else if (status >= 500)
        s->st.responses_5xx++;
}

/* Inserts |h| into the batch set; returns 1 if it was there already, -1 out of memory. */
static int batch_seen(struct sink *s, uint64_t h)
{
    if (s->batches_n * 2 >= s->batches_cap) {
        size_t cap = s->batches_cap ? 2 * s->batches_cap : 4096;
        uint64_t *t = calloc(cap, sizeof(*t));
        if (t == NULL)
            return -1;
        for (size_t i = 0; i < s->batches_cap; i++) {
            uint64_t k = s->batches[i];
            if (k == 0)
                continue;
            size_t j = k & (cap - 1);
            while (t[j] != 0)
                j = (j + 1) & (cap - 1);
            t[j] = k;
        }
        free(s->batches);
        s->batches = t;
        s->batches_cap = cap;
    }
    size_t j = h & (s->batches_cap - 1);
    while (s->batches[j] != 0) {
        if (s->batches[j] == h)
            return 1;
        j = (j + 1) & (s->batches_cap - 1);
    }
    s->batches[j] = h;
    s->batches_n++;
    return 0;
}

/* Counts the records of a 2xx-answered upload and repeats of its batch id; the
 * records of a newline- or length-framed one go to params.records_out. */
static void count_records(struct sink *s, struct sstream *st, int status)
{
    if (status < 200 || status >= 300)
        return;
    s->st.records_2xx += st->records;
    if (st->method == M_POST || st->method == M_PUT) {
        sink_rec_count(&s->st.framing, &st->rec);
        if (s->p.records_out != NULL &&
            (st->rec.framing == SINK_FRAMING_NEWLINE || st->rec.framing == SINK_FRAMING_LENGTH) &&
            sink_rec_commit(&st->rec, s->p.records_out) < 0)
            s->st.framing.out_errors++;
    }
    if (st->batch == 0)
        return;
    if (batch_seen(s, st->batch) == 1) {
        s->st.batches_dup++;
        s->st.records_dup += st->records;
    } else {
        s->st.batches_unique++;
    }
}

/* Finish the digest and pick the receipt word and status for a POST/PUT. */
static int upload_verdict(struct sink *s, struct sstream *st, const char **word)
{
    uint8_t got[SINK_SHA256_LEN];
    switch ((int8_t)st->digest) {
    case SINK_DIGEST_MALFORMED:
        s->st.digest_bad++;
        *word = "malformed";
        return HTTP_BAD_REQUEST;
    case SINK_DIGEST_SHA256:
        if (st->hash == NULL) {
            *word = "error";
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        crypto_sha256_del(st->hash, got);
        st->hash = NULL;
        if (memcmp(got, st->expect, SINK_SHA256_LEN) != 0) {
            s->st.digest_bad++;
            *word = "mismatch";
            return HTTP_BAD_REQUEST;
        }
        s->st.digest_ok++;
        *word = "ok";
        return HTTP_OK;
    default:
        s->st.digest_none++;
        *word = "none";
        return HTTP_OK;
    }
}

static int is_upload(const struct sstream *st)
{
    return st->method == M_POST || st->method == M_PUT;
}

/* 1xx, 204 and 304 responses never have content (RFC 9110 §6.4.1). */
static int status_has_content(int code)
{
    return code >= HTTP_OK && code != HTTP_NO_CONTENT && code != HTTP_NOT_MODIFIED;
}

/* Status and body (in st->small) of a POST/PUT that the fault hook leaves alone:
 * 415 for a coding we cannot decode, else the receipt with the digest verdict
 * and, when the zstd or gzip data did not decode or the records did not split as
 * announced, 400 with the reason. */
static int upload_answer(struct sink *s, struct sstream *st)
{
    static const char unsupported[] = "{\"error\":\"unsupported content-encoding\","
                                      "\"accept-encoding\":\"" SINK_ACCEPT_ENCODING "\"}\n";
    char err[ERR_TEXT_LEN];
    const char *word, *error = NULL;
    int64_t records = -1;
    uint64_t split;
    int code, n;

    if (st->coding == SINK_CODING_UNSUPPORTED) {
        memcpy(st->small, unsupported, sizeof(unsupported));
        st->resp_len = sizeof(unsupported) - 1;
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    code = upload_verdict(s, st, &word);
    if (st->zstate == Z_NOMEM) {
        error = "out of memory";
        code = HTTP_INTERNAL_SERVER_ERROR;
    } else if (st->zstate == Z_CORRUPT) {
        snprintf(err, sizeof(err), "%s decode failed: %s",
                 st->coding == SINK_CODING_GZIP ? "gzip" : "zstd", st->zerr);
        error = err;
        s->st.decode_errors++;
        if (code < HTTP_BAD_REQUEST)
            code = HTTP_BAD_REQUEST;
    } else {
        /* The body decoded: did it split as the client framed it? */
        if (sink_rec_split(&st->rec, &split))
            records = (int64_t)split;
        if (sink_rec_verdict(&st->rec, err, sizeof(err)) < 0) {
            error = err;
            s->st.framing.mismatch++;
            if (code < HTTP_BAD_REQUEST)
                code = HTTP_BAD_REQUEST;
        }
    }
    n = sink_receipt(st->small, sizeof(st->small), st->body_in, st->decoded, records, word, error);
    st->resp_len = n < 0 ? 0 : (uint64_t)n;
    return code;
}

static int submit_response(struct sconn *c, struct sstream *st)
{
    struct sink *s = c->s;
    char status[4], clen[24], retry[12];
    const char *ctype = "text/plain";
    int code = HTTP_OK, rv, with_body = st->method != M_HEAD;
    nghttp3_nv nva[6];
    size_t nvlen = 0;

    st->responded = 1;
    st->resp_buf = (const uint8_t *)st->small;
    if (st->injected) {
        code = s->p.fault_status;
        st->resp_len = (uint64_t)snprintf(st->small, sizeof(st->small),
                                          "{\"fault\":\"injected\",\"status\":%d}\n", code);
        ctype = "application/json";
        s->st.faults_sent++;
    } else if (is_upload(st)) {
        code = upload_answer(s, st);
        ctype = "application/json";
    } else if (st->bytes < 0) {
        code = HTTP_BAD_REQUEST;
        st->resp_len =
            (uint64_t)snprintf(st->small, sizeof(st->small), "bad /bytes/N (0 <= N <= %llu)\n",
                               (unsigned long long)SINK_BYTES_MAX);
    } else if (st->bytes > 0) {
        st->resp_buf = NULL;
        st->resp_len = st->bytes_n;
        ctype = "application/octet-stream";
    } else {
        st->resp_len = (uint64_t)snprintf(st->small, sizeof(st->small), "ok\n");
    }
    /* An injected fault is the server's doing, not a bad request, and its
     * upload was not accepted: no records. */
    if (code >= HTTP_BAD_REQUEST && !st->injected)
        s->st.requests_bad++;
    count_status(s, code);
    if (!st->injected)
        count_records(s, st, code);
    if (!status_has_content(code))
        st->resp_len = 0;

    snprintf(status, sizeof(status), "%d", code);
    snprintf(clen, sizeof(clen), "%llu", (unsigned long long)st->resp_len);
    if (st->fault && s->p.fault_bad_response_headers)
        /* :status must be a three-digit code (RFC 9114 §4.3.2): a malformed
         * response, so the client resets the stream (H3_MESSAGE_ERROR). */
        nva[nvlen++] = (nghttp3_nv)NV(":status", "2x0", 3);
    else
        nva[nvlen++] = (nghttp3_nv)NV(":status", status, strlen(status));
    nva[nvlen++] = (nghttp3_nv)NV("server", "h3sink", 6);
    if (status_has_content(code)) {
        nva[nvlen++] = (nghttp3_nv)NV("content-type", ctype, strlen(ctype));
        nva[nvlen++] = (nghttp3_nv)NV("content-length", clen, strlen(clen));
    }
    if (st->injected && s->p.fault_retry_after) {
        snprintf(retry, sizeof(retry), "%u", (unsigned)s->p.fault_retry_after_s);
        nva[nvlen++] = (nghttp3_nv)NV("retry-after", retry, strlen(retry));
    }
    /* Which codings the request could have used (RFC 9110 §15.5.16). */
    if (code == HTTP_UNSUPPORTED_MEDIA_TYPE && !st->injected)
        nva[nvlen++] = (nghttp3_nv)NV("accept-encoding", SINK_ACCEPT_ENCODING,
                                      sizeof(SINK_ACCEPT_ENCODING) - 1);
    if (!with_body)
        st->resp_len = 0;
    rv = nghttp3_conn_submit_response(c->h, st->id, nva, nvlen,
                                      st->resp_len > 0 ? &body_reader : NULL);
    if (rv != 0)
        return rv;
    return 0;
}

/* ---------------------------------------------------------------- nghttp3 callbacks */

static int h3_stream_close(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct sconn *c = cud;
    (void)h;
    if (ngtcp2_is_bidi_stream(sid)) {
        ngtcp2_conn_extend_max_streams_bidi(c->q, 1);
        /* Cancelled, reset or malformed by either side. */
        if (code != NGHTTP3_H3_NO_ERROR)
            c->s->st.streams_reset++;
    }
    if (sud != NULL)
        stream_put(sud);
    return 0;
}

static void zstd_fail(struct sstream *st, enum zstate why, const char *text)
{
    st->zstate = (uint8_t)why;
    st->zerr = text;
    zstd_free(st);
}

/* |len| decoded body bytes of |st| at |p| (an upload's content with its coding
 * removed, or another request's body as it is): counted, and an upload's split
 * into records (and kept for params.records_out). */
static void decoded_out(struct sink *s, struct sstream *st, const uint8_t *p, size_t len)
{
    st->decoded += len;
    s->st.body_bytes_decoded += len;
    if (!is_upload(st))
        return;
    sink_rec_feed(&st->rec, p, len);
    if (s->p.records_out != NULL)
        sink_rec_keep(&st->rec, p, len);
}

/* Decode |len| bytes of a zstd upload's body as they arrive, counting the output
 * in the scratch buffer; zstd itself checks each frame's content size and
 * checksum when the frame carries them (RFC 8878 §3.1.1). The decoder is made
 * on the first byte, so a request without a body allocates nothing. */
static void zstd_feed(struct sink *s, struct sstream *st, const uint8_t *data, size_t len)
{
    ZSTD_inBuffer in = {data, len, 0};

    if (st->zstate != Z_OK)
        return;
    if (st->zd == NULL) {
        st->zd = ZSTD_createDStream();
        if (st->zd == NULL || ZSTD_isError(ZSTD_DCtx_setParameter(st->zd, ZSTD_d_windowLogMax,
                                                                  ZSTD_HTTP_WINDOWLOG_MAX))) {
            zstd_fail(st, Z_NOMEM, NULL);
            return;
        }
    }
    for (;;) {
        ZSTD_outBuffer out = {s->zscratch, sizeof(s->zscratch), 0};
        size_t r = ZSTD_decompressStream(st->zd, &out, &in);

        decoded_out(s, st, s->zscratch, out.pos);
        if (ZSTD_isError(r)) {
            zstd_fail(st,
                      ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? Z_NOMEM : Z_CORRUPT,
                      ZSTD_getErrorName(r));
            return;
        }
        st->zneed = r;
        /* A full scratch buffer may leave decoded bytes inside zstd: ask again,
         * unless the frame is done (0): another call would only wait for the
         * next frame's header and say so. */
        if (in.pos == in.size && (out.pos < out.size || r == 0))
            return;
    }
}

static void gzip_fail(struct sstream *st, int why)
{
    st->zstate = (uint8_t)(why == SINK_GZ_NOMEM ? Z_NOMEM : Z_CORRUPT);
    st->zerr = st->gz != NULL ? sink_gz_error(st->gz) : NULL; /* a static text */
    sink_gz_free(st->gz);
    st->gz = NULL;
}

struct gz_sink {
    struct sink *s;
    struct sstream *st;
};

static void gzip_out(void *arg, const uint8_t *p, size_t len)
{
    struct gz_sink *g = arg;
    decoded_out(g->s, g->st, p, len);
}

/* Decode |len| bytes of a gzip upload's body as they arrive (sink_gzip.c), the
 * output through the scratch buffer; the decoder is made on the first byte. */
static void gzip_feed(struct sink *s, struct sstream *st, const uint8_t *data, size_t len)
{
    struct gz_sink g = {s, st};
    int r;

    if (st->zstate != Z_OK)
        return;
    if (st->gz == NULL && (r = sink_gz_new(&st->gz)) != SINK_GZ_OK) {
        gzip_fail(st, r);
        return;
    }
    r = sink_gz_feed(st->gz, data, len, s->zscratch, sizeof(s->zscratch), gzip_out, &g);
    if (r != SINK_GZ_OK)
        gzip_fail(st, r);
}

/* Count |len| body bytes of |st| with their content coding removed. */
static void body_decode(struct sink *s, struct sstream *st, const uint8_t *data, size_t len)
{
    /* Other methods' bodies are not looked at: counted as they are. */
    if (!is_upload(st) || st->coding == SINK_CODING_IDENTITY)
        decoded_out(s, st, data, len);
    else if (st->coding == SINK_CODING_ZSTD)
        zstd_feed(s, st, data, len);
    else if (st->coding == SINK_CODING_GZIP)
        gzip_feed(s, st, data, len);
    /* An unsupported coding cannot be decoded: 415, nothing counted. */
}

/* The body is complete: a zstd body must have ended on a frame boundary, with at
 * least one frame (RFC 8878 §3), a gzip body right after a member, with at least
 * one (RFC 1952 §2.2); the record splitter sees the end. Frees the decoders. */
static void body_end(struct sstream *st)
{
    int r;

    if (is_upload(st) && st->coding == SINK_CODING_ZSTD && st->zstate == Z_OK) {
        if (st->zd == NULL)
            zstd_fail(st, Z_CORRUPT, "no zstd frame");
        else if (st->zneed != 0)
            zstd_fail(st, Z_CORRUPT, "truncated frame");
    }
    if (is_upload(st) && st->coding == SINK_CODING_GZIP && st->zstate == Z_OK) {
        if (st->gz == NULL) {
            st->zstate = Z_CORRUPT;
            st->zerr = "no gzip member";
        } else if ((r = sink_gz_finish(st->gz)) != SINK_GZ_OK) {
            gzip_fail(st, r);
        }
    }
    zstd_free(st);
    sink_gz_free(st->gz);
    st->gz = NULL;
    sink_rec_end(&st->rec);
}

static int h3_recv_data(nghttp3_conn *h, int64_t sid, const uint8_t *data, size_t len, void *cud,
                        void *sud)
{
    struct sconn *c = cud;
    struct sstream *st = sud;
    (void)h;
    c->s->st.body_bytes_in += len;
    if (st != NULL && !st->rejected) {
        st->body_in += len;
        /* The digest covers the content as sent, before decoding (RFC 9530 §2). */
        if (st->hash != NULL && crypto_sha256_update(st->hash, data, len) < 0)
            return NGHTTP3_ERR_CALLBACK_FAILURE;
        body_decode(c->s, st, data, len);
    }
    ngtcp2_conn_extend_max_stream_offset(c->q, sid, len);
    ngtcp2_conn_extend_max_offset(c->q, len);
    return 0;
}

static int h3_deferred_consume(nghttp3_conn *h, int64_t sid, size_t consumed, void *cud, void *sud)
{
    struct sconn *c = cud;
    (void)h;
    (void)sud;
    ngtcp2_conn_extend_max_stream_offset(c->q, sid, consumed);
    ngtcp2_conn_extend_max_offset(c->q, consumed);
    return 0;
}

static int h3_begin_headers(nghttp3_conn *h, int64_t sid, void *cud, void *sud)
{
    struct sconn *c = cud;
    struct sstream *st;
    if (sud != NULL)
        return 0;
    st = stream_get(c, sid);
    if (st == NULL)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    nghttp3_conn_set_stream_user_data(h, sid, st);
    return 0;
}

static enum method parse_method(const uint8_t *v, size_t len)
{
    if (len == 3 && memcmp(v, "GET", 3) == 0)
        return M_GET;
    if (len == 4 && memcmp(v, "HEAD", 4) == 0)
        return M_HEAD;
    if (len == 4 && memcmp(v, "POST", 4) == 0)
        return M_POST;
    if (len == 3 && memcmp(v, "PUT", 3) == 0)
        return M_PUT;
    return M_OTHER;
}

static int h3_recv_header(nghttp3_conn *h, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *cud, void *sud)
{
    static const char fault_path[] = "/fault/bad-headers";
    static const char content_encoding[] = "content-encoding";
    struct sstream *st = sud;
    nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
    nghttp3_vec n;
    (void)h;
    (void)sid;
    (void)flags;
    (void)cud;
    if (st == NULL)
        return 0;
    switch (token) {
    case NGHTTP3_QPACK_TOKEN__METHOD:
        st->method = (uint8_t)parse_method(v.base, v.len);
        return 0;
    case NGHTTP3_QPACK_TOKEN_CONTENT_LENGTH:
        st->has_length = 1;
        return 0;
    case NGHTTP3_QPACK_TOKEN__PATH:
        st->bytes =
            (int8_t)sink_bytes_path((const char *)v.base, v.len, SINK_BYTES_MAX, &st->bytes_n);
        st->fault = v.len == sizeof(fault_path) - 1 &&
                    memcmp(v.base, fault_path, sizeof(fault_path) - 1) == 0;
        return 0;
    default:
        break;
    }
    n = nghttp3_rcbuf_get_buf(name);
    sink_rec_header(&st->rec, (const char *)n.base, n.len, (const char *)v.base, v.len);
    if (n.len == sizeof(content_encoding) - 1 &&
        memcmp(n.base, content_encoding, sizeof(content_encoding) - 1) == 0) {
        st->coding = (uint8_t)sink_coding_parse((const char *)v.base, v.len, st->coding);
        return 0;
    }
    if (n.len == 12 && memcmp(n.base, "h3dp-records", 12) == 0) {
        uint64_t r = 0;
        for (size_t i = 0; i < v.len && v.base[i] >= '0' && v.base[i] <= '9' && r < (1ull << 40);
             i++)
            r = r * 10 + (uint64_t)(v.base[i] - '0');
        st->records = r;
        return 0;
    }
    if (n.len == 10 && memcmp(n.base, "h3dp-batch", 10) == 0) {
        uint64_t hv = 1469598103934665603ull; /* FNV-1a */
        for (size_t i = 0; i < v.len; i++)
            hv = (hv ^ v.base[i]) * 1099511628211ull;
        st->batch = hv ? hv : 1;
        return 0;
    }
    if (n.len == 14 && memcmp(n.base, "content-digest", 14) == 0) {
        int d = sink_digest_parse((const char *)v.base, v.len, st->expect);
        /* A malformed field anywhere makes the request's digest malformed. */
        if ((int8_t)st->digest != SINK_DIGEST_MALFORMED)
            st->digest = (uint8_t)d;
        if (d == SINK_DIGEST_SHA256 && st->hash == NULL &&
            crypto_sha256_new(&st->hash) < 0)
            st->hash = NULL;
    }
    return 0;
}

static int h3_end_headers(nghttp3_conn *h, int64_t sid, int fin, void *cud, void *sud)
{
    struct sconn *c = cud;
    struct sstream *st = sud;
    struct sink *s = c->s;
    (void)h;
    s->st.requests++;
    /* Before the handshake completed only 0-RTT packets carry requests (RFC 9001 §4.6). */
    if (!ngtcp2_conn_get_handshake_completed(c->q))
        s->st.early_requests++;
    if (st != NULL && is_upload(st)) {
        s->uploads++;
        st->injected = s->p.fault_status != 0 && s->uploads % s->p.fault_every == 0;
        if (!fin && !st->has_length)
            s->st.uploads_no_length++;
        if (s->p.fault_reject && s->uploads % s->p.fault_every == 0) {
            /* Refused before any processing (RFC 9114 §4.1.1): STOP_SENDING and
             * RESET_STREAM with H3_REQUEST_REJECTED, as nghttp3 itself refuses a
             * stream above its GOAWAY; what still arrives for it is ignored. */
            st->rejected = 1;
            s->st.rejects_sent++;
            if (ngtcp2_conn_shutdown_stream(c->q, 0, sid, NGHTTP3_H3_REQUEST_REJECTED) != 0)
                return NGHTTP3_ERR_CALLBACK_FAILURE;
        }
    }
    return 0;
}

static int h3_end_stream(nghttp3_conn *h, int64_t sid, void *cud, void *sud)
{
    struct sconn *c = cud;
    struct sstream *st = sud;
    (void)h;
    (void)sid;
    if (st == NULL || st->responded || st->delayed || st->rejected)
        return 0;
    body_end(st);
    if (c->s->p.response_delay_ns > 0) {
        st->delayed = 1;
        st->respond_at = c->s->now + c->s->p.response_delay_ns;
        st->dnext = c->delayed;
        c->delayed = st;
        return 0;
    }
    return submit_response(c, st) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_stop_sending(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct sconn *c = cud;
    (void)h;
    (void)sud;
    return ngtcp2_conn_shutdown_stream_read(c->q, 0, sid, code) == 0 ? 0
                                                                     : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_reset_stream(nghttp3_conn *h, int64_t sid, uint64_t code, void *cud, void *sud)
{
    struct sconn *c = cud;
    (void)h;
    (void)sud;
    if (code == NGHTTP3_H3_MESSAGE_ERROR)
        c->s->st.requests_bad++;
    return ngtcp2_conn_shutdown_stream_write(c->q, 0, sid, code) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static const nghttp3_callbacks h3_callbacks = {
    .stream_close = h3_stream_close,
    .recv_data = h3_recv_data,
    .deferred_consume = h3_deferred_consume,
    .begin_headers = h3_begin_headers,
    .recv_header = h3_recv_header,
    .end_headers = h3_end_headers,
    .end_stream = h3_end_stream,
    .stop_sending = h3_stop_sending,
    .reset_stream = h3_reset_stream,
};

static int h3_setup(struct sconn *c)
{
    nghttp3_settings hs;
    const ngtcp2_transport_params *lp;
    int64_t ctrl, enc, dec;
    int rv;

    nghttp3_settings_default(&hs);
    hs.qpack_max_dtable_capacity = QPACK_MAX_TABLE_CAPACITY;
    hs.qpack_blocked_streams = QPACK_BLOCKED_STREAMS;
    rv = nghttp3_conn_server_new(&c->h, &h3_callbacks, &hs, NULL, c);
    if (rv != 0)
        return rv;
    lp = ngtcp2_conn_get_local_transport_params(c->q);
    nghttp3_conn_set_max_client_streams_bidi(c->h, lp->initial_max_streams_bidi);
    if (ngtcp2_conn_open_uni_stream(c->q, &ctrl, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(c->q, &enc, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(c->q, &dec, NULL) != 0)
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    rv = nghttp3_conn_bind_control_stream(c->h, ctrl);
    if (rv == 0)
        rv = nghttp3_conn_bind_qpack_streams(c->h, enc, dec);
    return rv;
}

/* ---------------------------------------------------------------- ngtcp2 callbacks */

static void q_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    if (crypto_random(dest, len) != 0)
        memset(dest, 0, len);
}

static int q_get_new_cid(ngtcp2_conn *q, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *ud)
{
    struct sconn *c = ud;
    (void)q;
    if (crypto_random(cid->data, cidlen) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    if (ngtcp2_crypto_generate_stateless_reset_token(token, c->s->reset_secret,
                                                     sizeof(c->s->reset_secret), cid) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return cid_add(c, cid->data, cid->datalen) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int q_remove_cid(ngtcp2_conn *q, const ngtcp2_cid *cid, void *ud)
{
    (void)q;
    cid_del(ud, cid->data, cid->datalen);
    return 0;
}

static int q_recv_tx_key(ngtcp2_conn *q, ngtcp2_encryption_level level, void *ud)
{
    struct sconn *c = ud;
    int rv;
    (void)q;
    if (level != NGTCP2_ENCRYPTION_LEVEL_1RTT || c->h != NULL)
        return 0;
    rv = h3_setup(c);
    return rv == 0 ? 0 : cb_fail(c, rv);
}

static int q_recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t off,
                              const uint8_t *data, size_t len, void *ud, void *sud)
{
    struct sconn *c = ud;
    nghttp3_ssize n;
    (void)off;
    (void)sud;
    if (c->h == NULL)
        return 0;
    n = nghttp3_conn_read_stream(c->h, sid, data, len, flags & NGTCP2_STREAM_DATA_FLAG_FIN);
    if (n < 0)
        return cb_fail(c, (int)n);
    ngtcp2_conn_extend_max_stream_offset(q, sid, (uint64_t)n);
    ngtcp2_conn_extend_max_offset(q, (uint64_t)n);
    return 0;
}

static int q_acked(ngtcp2_conn *q, int64_t sid, uint64_t off, uint64_t len, void *ud, void *sud)
{
    struct sconn *c = ud;
    int rv;
    (void)q;
    (void)off;
    (void)sud;
    if (c->h == NULL)
        return 0;
    rv = nghttp3_conn_add_ack_offset(c->h, sid, len);
    return rv == 0 ? 0 : cb_fail(c, rv);
}

static int q_stream_close(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                          void *sud)
{
    struct sconn *c = ud;
    int rv;
    (void)sud;
    if (c->h == NULL)
        return 0;
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
        code = NGHTTP3_H3_NO_ERROR;
    rv = nghttp3_conn_close_stream(c->h, sid, code);
    if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
        if (ngtcp2_is_bidi_stream(sid))
            ngtcp2_conn_extend_max_streams_bidi(q, 1);
        return 0;
    }
    return rv == 0 ? 0 : cb_fail(c, rv);
}

/* RESET_STREAM and STOP_SENDING both end our interest in reading |sid|. */
static int sconn_shutdown_read(struct sconn *c, int64_t sid)
{
    int rv;
    if (c->h == NULL)
        return 0;
    rv = nghttp3_conn_shutdown_stream_read(c->h, sid);
    return rv == 0 ? 0 : cb_fail(c, rv);
}

static int q_stream_reset(ngtcp2_conn *q, int64_t sid, uint64_t final_size, uint64_t code, void *ud,
                          void *sud)
{
    (void)q;
    (void)final_size;
    (void)code;
    (void)sud;
    return sconn_shutdown_read(ud, sid);
}

static int q_stop_sending(ngtcp2_conn *q, int64_t sid, uint64_t code, void *ud, void *sud)
{
    (void)q;
    (void)code;
    (void)sud;
    return sconn_shutdown_read(ud, sid);
}

static int q_extend_remote_bidi(ngtcp2_conn *q, uint64_t max, void *ud)
{
    struct sconn *c = ud;
    (void)q;
    if (c->h != NULL)
        nghttp3_conn_set_max_client_streams_bidi(c->h, max);
    return 0;
}

static int q_extend_stream_data(ngtcp2_conn *q, int64_t sid, uint64_t max, void *ud, void *sud)
{
    struct sconn *c = ud;
    int rv;
    (void)q;
    (void)max;
    (void)sud;
    if (c->h == NULL)
        return 0;
    rv = nghttp3_conn_unblock_stream(c->h, sid);
    return rv == 0 ? 0 : cb_fail(c, rv);
}

/* The client's Finished arrived: count a resumption and 0-RTT, and give the client a
 * ticket for the next connection (RFC 8446 §4.6.1), sent in 1-RTT CRYPTO frames. */
static int q_handshake_completed(ngtcp2_conn *q, void *ud)
{
    struct sconn *c = ud;
    (void)q;
    if (sink_early_resumed(c->tls))
        c->s->st.conns_resumed++;
    if (sink_early_accepted(c->tls))
        c->s->st.conns_early++;
    if (sink_early_send_ticket(c->tls) == 0)
        c->s->st.tickets_sent++;
    return 0;
}

static const ngtcp2_callbacks quic_callbacks = {
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = q_recv_stream_data,
    .acked_stream_data_offset = q_acked,
    .stream_close = q_stream_close,
    .rand = q_rand,
    .get_new_connection_id = q_get_new_cid,
    .remove_connection_id = q_remove_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .stream_reset = q_stream_reset,
    .extend_max_remote_streams_bidi = q_extend_remote_bidi,
    .extend_max_stream_data = q_extend_stream_data,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .stream_stop_sending = q_stop_sending,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
    .recv_tx_key = q_recv_tx_key,
    .handshake_completed = q_handshake_completed,
};

/* ---------------------------------------------------------------- TLS */

static ngtcp2_conn *tls_get_conn(ngtcp2_crypto_conn_ref *ref)
{
    return ((struct sconn *)ref->user_data)->q;
}

static int tls_keylog(gnutls_session_t tls, const char *label, const gnutls_datum_t *secret)
{
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(tls);
    struct sconn *c = ref->user_data;
    gnutls_datum_t crand, srand;
    FILE *f = c->s->keylog;

    if (f == NULL)
        return 0;
    gnutls_session_get_random(tls, &crand, &srand);
    fprintf(f, "%s ", label);
    for (unsigned i = 0; i < crand.size; i++)
        fprintf(f, "%02x", crand.data[i]);
    fputc(' ', f);
    for (unsigned i = 0; i < secret->size; i++)
        fprintf(f, "%02x", secret->data[i]);
    fputc('\n', f);
    fflush(f);
    return 0;
}

static int tls_new(struct sconn *c)
{
    static const gnutls_datum_t alpn = {(unsigned char *)"h3", 2};
    struct sink *s = c->s;

    /* GNUTLS_NO_AUTO_SEND_TICKET (in sink_early_session_flags): GnuTLS would send
     * its tickets from inside the handshake call; q_handshake_completed sends one once
     * ngtcp2 has the handshake complete. */
    if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA |
                                 sink_early_session_flags()) != 0) {
        c->tls = NULL;
        return -ENOMEM;
    }
    c->ref.get_conn = tls_get_conn;
    c->ref.user_data = c;
    gnutls_session_set_ptr(c->tls, &c->ref);
    if (gnutls_priority_set(c->tls, s->prio) != 0 ||
        ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0 ||
        gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, s->cred) != 0 ||
        gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0 ||
        sink_early_session(&s->early, c->tls) != 0)
        return -EINVAL;
    if (s->client_cert) {
        /* mTLS: no certificate, or one the client CA did not sign, fails the handshake
         * with a TLS alert (certificate_required, unknown_ca, ...). */
        gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(c->tls, NULL, 0);
    }
    if (s->keylog != NULL)
        gnutls_session_set_keylog_function(c->tls, tls_keylog);
    return 0;
}

/* ---------------------------------------------------------------- connections */

/* Create the connection for a client's first Initial. Returns it, or NULL with
 * *err = -ENOMEM (out of memory) or -EPROTO (refused by ngtcp2 or GnuTLS). */
static struct sconn *conn_new(struct sink *s, const ngtcp2_pkt_hd *hd, const struct sockaddr *local,
                              socklen_t local_len, const struct sockaddr *remote,
                              socklen_t remote_len, uint64_t now, int *err)
{
    struct sconn *c = calloc(1, sizeof(*c));
    ngtcp2_settings set;
    ngtcp2_transport_params tp;
    ngtcp2_cid scid;
    ngtcp2_path path;
    int rv;

    *err = -ENOMEM;
    if (c == NULL)
        return NULL;
    *err = -EPROTO;
    c->s = s;
    memcpy(&c->local, local, local_len);
    memcpy(&c->remote, remote, remote_len);
    c->local_len = local_len;
    c->remote_len = remote_len;
    ngtcp2_ccerr_default(&c->ccerr);

    scid.datalen = SINK_SCIDLEN;
    if (crypto_random(scid.data, scid.datalen) != 0)
        goto fail;

    ngtcp2_settings_default(&set);
    set.initial_ts = now;
    set.handshake_timeout = HANDSHAKE_TIMEOUT_NS;
    /* Let the receive windows grow (auto-tuning) up to 4x their initial size. */
    set.max_window = 4 * s->p.initial_max_data;
    set.max_stream_window = 4 * s->p.initial_max_stream_data_bidi_remote;

    ngtcp2_transport_params_default(&tp);
    tp.initial_max_stream_data_bidi_remote = s->p.initial_max_stream_data_bidi_remote;
    tp.initial_max_stream_data_uni = H3_UNI_WINDOW;
    tp.initial_max_data = s->p.initial_max_data;
    tp.initial_max_streams_bidi = s->p.max_streams_bidi;
    tp.initial_max_streams_uni = H3_UNI_STREAMS;
    tp.max_idle_timeout = s->p.idle_timeout_ns;
    tp.original_dcid = hd->dcid;
    tp.original_dcid_present = 1;
    tp.stateless_reset_token_present = 1;
    if (ngtcp2_crypto_generate_stateless_reset_token(tp.stateless_reset_token, s->reset_secret,
                                                     sizeof(s->reset_secret), &scid) != 0)
        goto fail;

    path.local.addr = (ngtcp2_sockaddr *)&c->local;
    path.local.addrlen = local_len;
    path.remote.addr = (ngtcp2_sockaddr *)&c->remote;
    path.remote.addrlen = remote_len;
    path.user_data = NULL;
    rv = ngtcp2_conn_server_new(&c->q, &hd->scid, &scid, &path, hd->version, &quic_callbacks, &set,
                                &tp, NULL, c);
    if (rv != 0) {
        c->q = NULL;
        *err = rv == NGTCP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
        goto fail;
    }
    rv = tls_new(c);
    if (rv != 0) {
        *err = rv;
        goto fail;
    }
    ngtcp2_conn_set_tls_native_handle(c->q, c->tls);

    if (s->nconns == s->heap_cap) {
        size_t cap = s->heap_cap ? 2 * s->heap_cap : 64;
        struct sconn **h = realloc(s->heap, cap * sizeof(*h));
        if (h == NULL) {
            *err = -ENOMEM;
            goto fail;
        }
        s->heap = h;
        s->heap_cap = cap;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    c->expiry = 0; /* fixed by the write that follows its first packet */
    heap_set(s, s->nconns, c);
    s->nconns++;
    heap_fix(s, c->heap_idx);
    if (cid_add(c, hd->dcid.data, hd->dcid.datalen) != 0 ||
        cid_add(c, scid.data, scid.datalen) != 0) {
        c->recorded = 1;
        conn_free(c);
        *err = -ENOMEM;
        return NULL;
    }
    s->st.conns_accepted++;
    return c;

fail:
    if (c->tls)
        gnutls_deinit(c->tls);
    ngtcp2_conn_del(c->q);
    free(c);
    return NULL;
}

static void queue_pending(struct sink *s, const struct sockaddr *to, socklen_t tolen,
                          const uint8_t *data, size_t len)
{
    struct pending *p;
    if (s->npend >= PEND_MAX || len > PKT_BUF || tolen > sizeof(p->to)) {
        s->st.pkts_dropped++;
        return;
    }
    p = &s->pend[s->npend++];
    memcpy(&p->to, to, tolen);
    p->tolen = tolen;
    memcpy(p->buf, data, len);
    p->len = len;
}

static void send_version_negotiation(struct sink *s, const ngtcp2_version_cid *vc,
                                     const struct sockaddr *remote, socklen_t remote_len,
                                     size_t dgramlen)
{
    static const uint32_t versions[] = {NGTCP2_PROTO_VER_V1, NGTCP2_PROTO_VER_V2};
    uint8_t buf[PKT_BUF], r;
    ngtcp2_ssize n;

    /* Only answer datagrams big enough to be a client's first flight
     * (RFC 9000 §6.1, §14.1): no amplification. */
    if (dgramlen < NGTCP2_MAX_UDP_PAYLOAD_SIZE) {
        s->st.pkts_dropped++;
        return;
    }
    q_rand(&r, 1, NULL);
    n = ngtcp2_pkt_write_version_negotiation(buf, sizeof(buf), r, vc->scid, vc->scidlen, vc->dcid,
                                             vc->dcidlen, versions,
                                             sizeof(versions) / sizeof(versions[0]));
    if (n <= 0) {
        s->st.pkts_dropped++;
        return;
    }
    s->st.version_negotiations++;
    queue_pending(s, remote, remote_len, buf, (size_t)n);
}

static void refuse_initial(struct sink *s, const ngtcp2_pkt_hd *hd, const struct sockaddr *remote,
                           socklen_t remote_len)
{
    uint8_t buf[PKT_BUF];
    ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
        buf, sizeof(buf), hd->version, &hd->scid, &hd->dcid, NGTCP2_CONNECTION_REFUSED, NULL, 0);
    s->st.pkts_dropped++;
    if (n > 0)
        queue_pending(s, remote, remote_len, buf, (size_t)n);
}

static void conn_recv(struct sconn *c, const struct sockaddr *local, socklen_t local_len,
                      const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data,
                      size_t len, uint8_t ecn, uint64_t now)
{
    ngtcp2_pkt_info pi = {.ecn = (uint8_t)(ecn & NGTCP2_ECN_MASK)};
    ngtcp2_path path;
    int rv;

    switch (c->state) {
    case C_CLOSING:
        /* Answer with the same close, backing off exponentially (RFC 9000 §10.2.1). */
        c->close_rx++;
        if ((c->close_rx & (c->close_rx - 1)) == 0)
            c->close_send = 1;
        return;
    case C_DRAINING:
        return;
    case C_OPEN:
        break;
    }
    path.local.addr = (ngtcp2_sockaddr *)(uintptr_t)local;
    path.local.addrlen = local_len;
    path.remote.addr = (ngtcp2_sockaddr *)(uintptr_t)remote;
    path.remote.addrlen = remote_len;
    path.user_data = NULL;
    rv = ngtcp2_conn_read_pkt(c->q, &path, &pi, data, len, now);
    if (rv != 0)
        conn_error(c, rv, now);
}

/* Where sink_flush()/sink_flush_ecn() hand the datagrams. */
struct sink_out {
    sink_send_fn *send;         /* without ECN, or */
    sink_send_ecn_fn *send_ecn; /* with the codepoint ngtcp2 asked for */
    void *arg;
};

static void out_send(const struct sink_out *o, const struct sockaddr *remote, socklen_t remote_len,
                     const uint8_t *data, size_t len, uint8_t ecn)
{
    if (o->send_ecn != NULL)
        o->send_ecn(o->arg, remote, remote_len, data, len, ecn);
    else
        o->send(o->arg, remote, remote_len, data, len);
}

/* Write everything |c| has to send. Returns the number of datagrams. */
static int conn_write(struct sink *s, struct sconn *c, uint64_t now, const struct sink_out *o)
{
    ngtcp2_pkt_info pi = {0};
    ngtcp2_path_storage ps;
    int sent = 0;

    if (c->state == C_CLOSING) {
        if (c->close_send && c->close_len > 0) {
            out_send(o, (struct sockaddr *)&c->remote, c->remote_len, c->close_pkt, c->close_len,
                     0);
            s->st.pkts_out++;
            s->st.bytes_out += c->close_len;
            sent++;
        }
        c->close_send = 0;
        return sent;
    }
    if (c->state != C_OPEN)
        return 0;

    ngtcp2_path_storage_zero(&ps);
    size_t maxlen = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->q);
    if (maxlen > sizeof(s->tx))
        maxlen = sizeof(s->tx);
    for (;;) {
        int64_t sid = -1;
        int fin = 0;
        nghttp3_vec vec[H3_VEC];
        nghttp3_ssize nvec = 0;
        ngtcp2_ssize ndatalen, nwrite;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        int rv;

        if (c->h != NULL && ngtcp2_conn_get_max_data_left(c->q) > 0) {
            nvec = nghttp3_conn_writev_stream(c->h, &sid, &fin, vec, H3_VEC);
            if (nvec < 0) {
                conn_close_app(c, nghttp3_err_infer_quic_app_error_code((int)nvec), NULL, now);
                return sent + conn_write(s, c, now, o);
            }
        }
        if (fin)
            flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        nwrite = ngtcp2_conn_writev_stream(c->q, &ps.path, &pi, s->tx, maxlen, &ndatalen, flags,
                                           sid, (const ngtcp2_vec *)vec, (size_t)nvec, now);
        if (nwrite < 0) {
            switch (nwrite) {
            case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                nghttp3_conn_block_stream(c->h, sid);
                continue;
            case NGTCP2_ERR_STREAM_SHUT_WR:
                nghttp3_conn_shutdown_stream_write(c->h, sid);
                continue;
            case NGTCP2_ERR_WRITE_MORE:
                rv = nghttp3_conn_add_write_offset(c->h, sid, (uint64_t)ndatalen);
                if (rv != 0) {
                    conn_close_app(c, nghttp3_err_infer_quic_app_error_code(rv), NULL, now);
                    return sent + conn_write(s, c, now, o);
                }
                continue;
            default:
                conn_error(c, (int)nwrite, now);
                return sent + conn_write(s, c, now, o);
            }
        }
        if (ndatalen >= 0 && c->h != NULL) {
            rv = nghttp3_conn_add_write_offset(c->h, sid, (uint64_t)ndatalen);
            if (rv != 0) {
                conn_close_app(c, nghttp3_err_infer_quic_app_error_code(rv), NULL, now);
                return sent + conn_write(s, c, now, o);
            }
        }
        if (nwrite == 0)
            break;
        out_send(o, (struct sockaddr *)ps.path.remote.addr, ps.path.remote.addrlen, s->tx,
                 (size_t)nwrite, pi.ecn);
        s->st.pkts_out++;
        s->st.bytes_out += (uint64_t)nwrite;
        sent++;
    }
    ngtcp2_conn_update_pkt_tx_time(c->q, now);
    return sent;
}

/* Submit delayed responses that are due. */
static void conn_run_delayed(struct sconn *c, uint64_t now)
{
    struct sstream **pp = &c->delayed;
    while (*pp) {
        struct sstream *st = *pp;
        if (st->respond_at > now) {
            pp = &st->dnext;
            continue;
        }
        *pp = st->dnext;
        st->delayed = 0;
        /* A stream the peer gave up on meanwhile is not an error of the connection. */
        int rv = submit_response(c, st);
        if (rv != 0 && nghttp3_err_is_fatal(rv)) {
            conn_close_app(c, nghttp3_err_infer_quic_app_error_code(rv), NULL, now);
            return;
        }
    }
}

/* ---------------------------------------------------------------- public API */

void sink_params_default(struct sink_params *p)
{
    memset(p, 0, sizeof(*p));
    p->max_streams_bidi = 100;
    p->initial_max_data = 16ULL << 20;
    p->initial_max_stream_data_bidi_remote = 4ULL << 20;
    p->idle_timeout_ns = 30ULL * 1000000000ULL;
    p->fault_every = 1;
}

struct sink *sink_new(const struct sink_params *p, char *err, size_t errlen)
{
    struct sink *s;
    struct sink_params d;
    int rv;

    if (p == NULL || p->cert_file == NULL || p->key_file == NULL) {
        set_err(err, errlen, "certificate and key files are required");
        return NULL;
    }
    if (p->fault_status != 0 &&
        (p->fault_status < SINK_STATUS_MIN || p->fault_status > SINK_STATUS_MAX)) {
        set_err(err, errlen, "fault status %d is not an HTTP status code (%d..%d)", p->fault_status,
                SINK_STATUS_MIN, SINK_STATUS_MAX);
        return NULL;
    }
    if (p->fault_reject && p->fault_status != 0) {
        set_err(err, errlen, "fault reject and fault status are exclusive");
        return NULL;
    }
    if (p->fault_retry_after && p->fault_retry_after_s > SINK_RETRY_AFTER_MAX) {
        set_err(err, errlen, "fault retry-after %u s is above %d s",
                (unsigned)p->fault_retry_after_s, SINK_RETRY_AFTER_MAX);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    sink_params_default(&d);
    s->p = *p;
    if (s->p.max_streams_bidi == 0)
        s->p.max_streams_bidi = d.max_streams_bidi;
    if (s->p.initial_max_data == 0)
        s->p.initial_max_data = d.initial_max_data;
    if (s->p.initial_max_stream_data_bidi_remote == 0)
        s->p.initial_max_stream_data_bidi_remote = d.initial_max_stream_data_bidi_remote;
    if (s->p.idle_timeout_ns == 0)
        s->p.idle_timeout_ns = d.idle_timeout_ns;
    if (s->p.fault_every == 0)
        s->p.fault_every = d.fault_every;
    s->p.cert_file = s->p.key_file = s->p.keylog_file = NULL; /* not kept */

    if (gnutls_certificate_allocate_credentials(&s->cred) != 0) {
        set_err(err, errlen, "out of memory");
        s->cred = NULL;
        goto fail;
    }
    rv = gnutls_certificate_set_x509_key_file(s->cred, p->cert_file, p->key_file,
                                              GNUTLS_X509_FMT_PEM);
    if (rv != 0) {
        set_err(err, errlen, "cannot load certificate %s / key %s: %s", p->cert_file, p->key_file,
                gnutls_strerror(rv));
        goto fail;
    }
    if (p->client_ca_file != NULL &&
        (rv = gnutls_certificate_set_x509_trust_file(s->cred, p->client_ca_file,
                                                     GNUTLS_X509_FMT_PEM)) <= 0) {
        set_err(err, errlen, "cannot load client CA %s: %s", p->client_ca_file,
                rv < 0 ? gnutls_strerror(rv) : "no certificates");
        goto fail;
    }
    s->client_cert = p->client_ca_file != NULL;
    if (gnutls_priority_init(&s->prio, TLS_PRIORITY, NULL) != 0) {
        set_err(err, errlen, "TLS priority string rejected by GnuTLS");
        s->prio = NULL;
        goto fail;
    }
    if (crypto_random_key(s->reset_secret, sizeof(s->reset_secret)) != 0) {
        set_err(err, errlen, "no randomness");
        goto fail;
    }
    if ((rv = sink_early_init(&s->early, p->no_early_data != 0)) != 0) {
        set_err(err, errlen, "session tickets: %s", gnutls_strerror(rv));
        goto fail;
    }
    if (p->keylog_file != NULL) {
        s->keylog = fopen(p->keylog_file, "a");
        if (s->keylog == NULL) {
            set_err(err, errlen, "cannot open key log %s: %s", p->keylog_file, strerror(errno));
            goto fail;
        }
    }
    return s;
fail:
    sink_del(s);
    return NULL;
}

void sink_del(struct sink *s)
{
    if (s == NULL)
        return;
    while (s->conns) {
        s->conns->recorded = 1;
        conn_free(s->conns);
    }
    while (s->pool) {
        struct sstream *st = s->pool;
        s->pool = st->next;
        free(st);
    }
    free(s->batches);
    free(s->heap);
    if (s->prio)
        gnutls_priority_deinit(s->prio);
    if (s->cred)
        gnutls_certificate_free_credentials(s->cred);
    if (s->keylog)
        fclose(s->keylog);
    sink_early_free(&s->early);
    free(s);
}

int sink_recv(struct sink *s, const struct sockaddr *local, socklen_t local_len,
              const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data, size_t len,
              uint64_t now_ns)
{
    return sink_recv_ecn(s, local, local_len, remote, remote_len, data, len, 0, now_ns);
}

int sink_recv_ecn(struct sink *s, const struct sockaddr *local, socklen_t local_len,
                  const struct sockaddr *remote, socklen_t remote_len, const uint8_t *data,
                  size_t len, uint8_t ecn, uint64_t now_ns)
{
    ngtcp2_version_cid vc;
    ngtcp2_pkt_hd hd;
    struct sconn *c;
    int rv;

    if (s == NULL || local == NULL || remote == NULL || (data == NULL && len > 0) ||
        local_len > sizeof(struct sockaddr_storage) || remote_len > sizeof(struct sockaddr_storage))
        return -EINVAL;
    s->now = now_ns;
    s->st.pkts_in++;
    s->st.bytes_in += len;
    if (len > s->st.pkt_in_max)
        s->st.pkt_in_max = len;
    if (len == 0) {
        s->st.pkts_dropped++;
        return 0;
    }
    rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, SINK_SCIDLEN);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
        send_version_negotiation(s, &vc, remote, remote_len, len);
        return 0;
    }
    if (rv != 0) {
        s->st.pkts_dropped++;
        return 0;
    }
    c = cid_find(s, vc.dcid, vc.dcidlen);
    if (c == NULL) {
        if (ngtcp2_accept(&hd, data, len) != 0) {
            s->st.pkts_dropped++;
            return 0;
        }
        if (s->refusing) {
            refuse_initial(s, &hd, remote, remote_len);
            return 0;
        }
        if (s->p.max_conns != 0 && s->nconns >= s->p.max_conns) {
            s->st.conns_refused_limit++;
            refuse_initial(s, &hd, remote, remote_len);
            return 0;
        }
        c = conn_new(s, &hd, local, local_len, remote, remote_len, now_ns, &rv);
        if (c == NULL) {
            s->st.pkts_dropped++;
            return rv == -ENOMEM ? -ENOMEM : 0;
        }
    }
    if ((ecn & NGTCP2_ECN_MASK) == NGTCP2_ECN_CE)
        s->st.pkts_in_ce++;
    else if ((ecn & NGTCP2_ECN_MASK) != NGTCP2_ECN_NOT_ECT)
        s->st.pkts_in_ect++;
    conn_recv(c, local, local_len, remote, remote_len, data, len, ecn, now_ns);
    conn_mark(c);
    return 0;
}

static int flush_out(struct sink *s, uint64_t now_ns, const struct sink_out *o)
{
    int sent = 0;
    struct sconn *c;

    s->now = now_ns;
    for (unsigned i = 0; i < s->npend; i++) {
        struct pending *p = &s->pend[i];
        out_send(o, (struct sockaddr *)&p->to, p->tolen, p->buf, p->len, 0);
        s->st.pkts_out++;
        s->st.bytes_out += p->len;
        sent++;
    }
    s->npend = 0;
    /* Only the connections a packet or a timer touched: the others have nothing to send
     * before their expiry, when sink_handle_expiry marks them. */
    while ((c = s->dirty) != NULL) {
        conn_unmark(c);
        if (c->state == C_OPEN && c->delayed)
            conn_run_delayed(c, now_ns);
        sent += conn_write(s, c, now_ns, o);
        /* Graceful shutdown ends once every request stream is closed. */
        if (c->state == C_OPEN && c->goaway && (c->h == NULL || nghttp3_conn_is_drained(c->h))) {
            conn_close_app(c, NGHTTP3_H3_NO_ERROR, NULL, now_ns);
            sent += conn_write(s, c, now_ns, o);
        }
        if (c->state != C_OPEN && c->close_deadline <= now_ns)
            conn_free(c);
        else
            conn_retime(c);
    }
    return sent;
}

int sink_flush(struct sink *s, uint64_t now_ns, sink_send_fn *send, void *arg)
{
    const struct sink_out o = {.send = send, .arg = arg};

    if (s == NULL || send == NULL)
        return -EINVAL;
    return flush_out(s, now_ns, &o);
}

int sink_flush_ecn(struct sink *s, uint64_t now_ns, sink_send_ecn_fn *send, void *arg)
{
    const struct sink_out o = {.send_ecn = send, .arg = arg};

    if (s == NULL || send == NULL)
        return -EINVAL;
    return flush_out(s, now_ns, &o);
}

uint64_t sink_expiry(const struct sink *s)
{
    if (s == NULL)
        return UINT64_MAX;
    if (s->npend > 0 || s->dirty != NULL)
        return 0;
    return s->nconns ? s->heap[0]->expiry : UINT64_MAX;
}

void sink_handle_expiry(struct sink *s, uint64_t now_ns)
{
    struct sconn *due = NULL, *c;

    if (s == NULL)
        return;
    s->now = now_ns;
    /* Take every due connection off the top first (its key parked at UINT64_MAX), so a
     * deadline that stays due after handling waits for the next call. */
    while (s->nconns && s->heap[0]->expiry <= now_ns) {
        c = s->heap[0];
        c->expiry = UINT64_MAX;
        heap_fix(s, 0);
        conn_unmark(c);
        c->dnext = due; /* a private list until handled */
        due = c;
    }
    while ((c = due) != NULL) {
        due = c->dnext;
        c->dnext = NULL;
        if (c->state != C_OPEN) {
            if (c->close_deadline <= now_ns) {
                conn_free(c);
                continue;
            }
        } else if (ngtcp2_conn_get_expiry(c->q) <= now_ns) {
            int rv = ngtcp2_conn_handle_expiry(c->q, now_ns);
            if (rv != 0) {
                conn_error(c, rv, now_ns);
                if (c->state != C_OPEN && c->close_deadline <= now_ns) {
                    conn_free(c); /* idle timeout: nothing to send */
                    continue;
                }
            }
        }
        if (c->state == C_OPEN && c->delayed)
            conn_run_delayed(c, now_ns);
        conn_retime(c);
        conn_mark(c);
    }
}

void sink_goaway(struct sink *s, uint64_t now_ns)
{
    if (s == NULL)
        return;
    s->refusing = 1;
    sink_goaway_keep_serving(s, now_ns);
}

void sink_goaway_keep_serving(struct sink *s, uint64_t now_ns)
{
    if (s == NULL)
        return;
    for (struct sconn *c = s->conns; c; c = c->next) {
        if (c->state != C_OPEN || c->goaway)
            continue;
        c->goaway = 1;
        conn_mark(c);
        if (c->h != NULL) {
            if (nghttp3_conn_shutdown(c->h) == 0)
                s->st.goaways_sent++;
            else
                conn_close_app(c, NGHTTP3_H3_INTERNAL_ERROR, NULL, now_ns);
        }
    }
}

int sink_update_keys(struct sink *s, uint64_t now_ns)
{
    int n = 0;

    if (s == NULL)
        return 0;
    for (struct sconn *c = s->conns; c; c = c->next) {
        /* ngtcp2 asserts a completed handshake; it refuses an update before the handshake
         * is confirmed, while the previous one is not, and within 3 PTOs of that. */
        if (c->state != C_OPEN || !ngtcp2_conn_get_handshake_completed(c->q))
            continue;
        if (ngtcp2_conn_initiate_key_update(c->q, now_ns) != 0) {
            /* ngtcp2 derives the next keys when it reads or writes, a PTO after the
             * previous update was confirmed: an idle connection writes at the next flush,
             * and a later call may succeed. */
            conn_mark(c);
            continue;
        }
        s->st.key_updates_started++;
        conn_mark(c);
        n++;
    }
    return n;
}

void sink_close_all(struct sink *s, uint64_t app_error_code, const char *reason, uint64_t now_ns)
{
    if (s == NULL)
        return;
    s->refusing = 1;
    for (struct sconn *c = s->conns; c; c = c->next)
        if (c->state == C_OPEN) {
            conn_close_app(c, app_error_code, reason, now_ns);
            conn_mark(c);
        }
}

int sink_idle(const struct sink *s)
{
    return s == NULL || s->nconns == 0;
}

const struct sink_stats *sink_stats(const struct sink *s)
{
    return &s->st;
}
