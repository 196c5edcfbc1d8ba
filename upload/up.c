/* up.c: the upload engine (see upload.h, docs/UPLOAD.md). Main thread only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <zstd.h>

#include "cfg.h"
#include "cfg_parse.h"
#include "ctl_server.h"
#include "net_url.h"
#include "svc.h"
#include "up_retry.h"
#include "upload.h"

#define UP_MAX_CONNS 64
#define UP_GEN_MAX_BATCHES 4096   /* generator batches queued before it falls behind */
#define UP_RECORD_MAX (64 * 1024) /* largest ingest record */
#define UP_SPOOL_SCAN_NS 250000000ull
#define UP_SPOOL_BUCKETS 1024
#define UP_INGEST_BURST 256       /* records read per poll */
#define UP_RTT_EWMA_SHIFT 3       /* rtt += (sample - rtt) / 8 */
#define UP_ZSTD_LEVEL 1           /* fast: bodies are compressed on the main thread */
/* Body buffers come from power-of-two free lists (4 KiB .. 4 MiB), so a steady upload
 * allocates nothing per request; larger ones (big spool files) are malloc'd and freed. */
#define UP_BUF_MIN_SHIFT 12
#define UP_BUF_CLASSES 11
#define UP_BUF_POOL_MAX (64u << 20) /* bytes the free lists may keep */

enum up_src { UP_SRC_GEN, UP_SRC_SPOOL, UP_SRC_INGEST };

struct up_conn {
    uint64_t id;
    bool used, ready;
    unsigned inflight;
};

struct up_batch {
    struct svc_req r;
    struct up *u;
    struct up_batch *next;      /* queue link */
    struct up_batch *hnext;     /* spool name table link */
    enum up_src src;
    uint64_t seq, records, bytes;
    unsigned attempts;
    uint64_t not_before;
    int slot, last_slot;
    uint8_t *mem;               /* ingest: the records, back to back (a pool buffer) */
    size_t mem_cap;
    uint8_t *z;                 /* the zstd-coded body (a pool buffer), when smaller */
    size_t z_cap;
    void *map;                  /* spool: the file */
    size_t map_len;
    char *name;                 /* spool: file name */
    dev_t dev;                  /* spool: the file sent (a new file under the same name */
    ino_t ino;                  /*        is not removed with it) */
    struct h3_header hdrs[5];
    char h_batch[48], h_records[24], h_digest[64];
};

struct up_queue {
    struct up_batch *head, *tail;
    uint64_t n;
};

struct up_count {
    uint64_t records, bytes;
};

struct up {
    const struct cfg *cfg;
    struct svc *svc;
    struct ctl_server *srv;
    bool has_target;            /* false until [upload] url or `upload target` gives one */
    struct sockaddr_storage remote;
    socklen_t remote_len;
    char host[CFG_STR_MAX], url[CFG_STR_MAX + 16], path[CFG_STR_MAX], content_type[CFG_STR_MAX];
    char target[2 * CFG_STR_MAX + 16]; /* url + path */
    char boot[17];
    unsigned n_conns, streams;
    uint32_t batch_bytes;
    uint64_t linger_ns, retry_initial_ns, retry_max_ns;
    uint32_t retry_limit;
    struct up_conn conns[UP_MAX_CONNS];
    uint64_t next_connect, connect_failures;
    struct up_queue ready, delayed;
    uint64_t seq;
    bool stopping;
    uint64_t stop_deadline, t0;
    /* generator */
    struct up_gen gen;
    bool gen_active;
    uint64_t gen_start, gen_made, gen_behind, gen_last_batch;
    /* spool */
    char spool_dir[CFG_STR_MAX];
    uint64_t spool_next_scan, spool_pending;
    struct up_batch *spool_names[UP_SPOOL_BUCKETS];
    /* ingest: records land in |stage|, then move to a batch of their exact size */
    int ingest_fd;
    char ingest_path[CFG_SOCKET_PATH_MAX];
    bool ingest_readable, ingest_full;
    uint8_t *stage;
    size_t stage_len;
    uint64_t stage_records, stage_first;
    uint64_t ingest_held, ingest_full_events, ingest_oversize;
    uint32_t ingest_queue;
    /* memory: batch and body-buffer free lists, zstd */
    struct up_batch *free_batches;
    void *free_bufs[UP_BUF_CLASSES];
    uint64_t pooled_bytes;
    ZSTD_CCtx *zc;              /* NULL: [upload] compress = none */
    uint8_t *pattern;           /* generator bodies to compress (byte i = i % 251) */
    size_t pattern_len;
    /* accounting (records and bytes) */
    struct up_count accepted, queued, inflight, acked, failed, retried;
    uint64_t requests_sent, requests_acked, requests_retried, requests_failed;
    uint64_t status_4xx, status_5xx, not_processed, conn_errors, maybe_dup;
    uint64_t retry_after_used;     /* retries delayed by the collector's Retry-After */
    uint64_t body_bytes_sent;      /* request bodies handed to connections, as coded */
    uint64_t coded_records, coded_bytes, coded_out; /* zstd: records, bytes in, bytes out */
    uint64_t rtt_ns;
    uint64_t now;
};

/* ---------------------------------------------------------------- accounting */

static void cnt_add(struct up_count *c, const struct up_batch *b)
{
    c->records += b->records;
    c->bytes += b->bytes;
}

static void cnt_sub(struct up_count *c, const struct up_batch *b)
{
    c->records -= b->records;
    c->bytes -= b->bytes;
}

static void q_push(struct up_queue *q, struct up_batch *b)
{
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->n++;
}

static struct up_batch *q_pop(struct up_queue *q)
{
    struct up_batch *b = q->head;
    if (b) {
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
    }
    return b;
}

/* ---------------------------------------------------------------- batches */

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % UP_SPOOL_BUCKETS;
}

static void spool_forget(struct up *u, struct up_batch *b)
{
    struct up_batch **pp = &u->spool_names[name_hash(b->name)];
    while (*pp && *pp != b)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = b->hnext;
    u->spool_pending--;
}

/* The smallest class holding |n| bytes, or -1 (too large for the pool). */
static int buf_class(size_t n)
{
    for (int c = 0; c < UP_BUF_CLASSES; c++)
        if (n <= (size_t)1 << (UP_BUF_MIN_SHIFT + c))
            return c;
    return -1;
}

/* A buffer of at least |n| bytes; *|cap| gets its real size (give both back to buf_put). */
static uint8_t *buf_get(struct up *u, size_t n, size_t *cap)
{
    int c = buf_class(n);
    if (c < 0) {
        *cap = n;
        return malloc(n);
    }
    *cap = (size_t)1 << (UP_BUF_MIN_SHIFT + c);
    void *p = u->free_bufs[c];
    if (p) {
        u->free_bufs[c] = *(void **)p;
        u->pooled_bytes -= *cap;
        return p;
    }
    return malloc(*cap);
}

static void buf_put(struct up *u, uint8_t *p, size_t cap)
{
    int c;
    if (!p)
        return;
    c = buf_class(cap);
    if (c < 0 || ((size_t)1 << (UP_BUF_MIN_SHIFT + c)) != cap ||
        u->pooled_bytes + cap > UP_BUF_POOL_MAX) {
        free(p);
        return;
    }
    *(void **)p = u->free_bufs[c];
    u->free_bufs[c] = p;
    u->pooled_bytes += cap;
}

static struct up_batch *batch_get(struct up *u)
{
    struct up_batch *b = u->free_batches;
    if (!b)
        return calloc(1, sizeof(*b));
    u->free_batches = b->next;
    memset(b, 0, sizeof(*b));
    return b;
}

/* Releases what |b| holds and keeps it for the next batch. */
static void batch_free(struct up *u, struct up_batch *b)
{
    if (b->map)
        munmap(b->map, b->map_len);
    buf_put(u, b->mem, b->mem_cap);
    buf_put(u, b->z, b->z_cap);
    free(b->name);
    b->next = u->free_batches;
    u->free_batches = b;
}

/* [upload] compress = zstd: codes the body of |b| (memory, file or generated bytes) when
 * that makes it smaller; the digest and content-encoding then describe the coded bytes
 * (RFC 9530 §2: the digest covers the content as sent). The source is released. */
static void batch_compress(struct up *u, struct up_batch *b)
{
    const uint8_t *src = b->r.body;
    size_t len = b->r.body ? b->r.body_len : (size_t)b->r.synth_len, zcap, n;
    uint8_t *z;

    if (len == 0)
        return;
    if (!src) { /* generated: the pattern is materialised once and reused */
        if (u->pattern_len < len) {
            uint8_t *p = realloc(u->pattern, len);
            if (!p)
                return;
            for (size_t i = u->pattern_len; i < len; i++)
                p[i] = (uint8_t)(i % 251);
            u->pattern = p;
            u->pattern_len = len;
        }
        src = u->pattern;
    }
    z = buf_get(u, ZSTD_compressBound(len), &zcap);
    if (!z)
        return;
    n = ZSTD_compressCCtx(u->zc, z, zcap, src, len, UP_ZSTD_LEVEL);
    if (ZSTD_isError(n) || n >= len) {
        buf_put(u, z, zcap); /* incompressible: sent as it is */
        return;
    }
    u->coded_records += b->records;
    u->coded_bytes += len;
    u->coded_out += n;
    b->z = z;
    b->z_cap = zcap;
    b->r.body = z;
    b->r.body_len = n;
    b->r.synth_len = 0;
    buf_put(u, b->mem, b->mem_cap);
    b->mem = NULL;
    if (b->map) {
        munmap(b->map, b->map_len);
        b->map = NULL;
    }
}

static void batch_done(void *ud, struct svc_req *r, const struct svc_req_result *res);

/* Fills the request of |b| (headers, body) and queues it: the records are accepted. */
static void batch_accept(struct up *u, struct up_batch *b)
{
    unsigned n = 0;

    b->u = u;
    b->seq = ++u->seq;
    b->slot = b->last_slot = -1;
    if (u->zc)
        batch_compress(u, b);
    snprintf(b->h_batch, sizeof(b->h_batch), "%s-%" PRIu64, u->boot, b->seq);
    snprintf(b->h_records, sizeof(b->h_records), "%" PRIu64, b->records);
    b->hdrs[n++] = (struct h3_header){ "content-type", u->content_type };
    b->hdrs[n++] = (struct h3_header){ "h3dp-batch", b->h_batch };
    b->hdrs[n++] = (struct h3_header){ "h3dp-records", b->h_records };
    if (b->z)
        b->hdrs[n++] = (struct h3_header){ "content-encoding", "zstd" }; /* RFC 8878 §7.2 */
    if (b->r.body && b->r.body_len) {
        /* RFC 9530 content-digest, once per batch: the collector can check the bytes. */
        uint8_t dig[32];
        gnutls_datum_t d = { dig, sizeof(dig) }, enc = { 0 };
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, b->r.body, b->r.body_len, dig) == 0 &&
            gnutls_base64_encode2(&d, &enc) == 0) {
            snprintf(b->h_digest, sizeof(b->h_digest), "sha-256=:%.*s:", (int)enc.size,
                     (const char *)enc.data);
            gnutls_free(enc.data);
            b->hdrs[n++] = (struct h3_header){ "content-digest", b->h_digest };
        }
    }
    b->r.method = "POST";
    b->r.path = u->path;
    b->r.headers = b->hdrs;
    b->r.n_headers = n;
    b->r.done = batch_done;
    b->r.ud = b;
    cnt_add(&u->accepted, b);
    cnt_add(&u->queued, b);
    q_push(&u->ready, b);
}

/* A batch given up on: counted as failed; a spool file is set aside (renamed with a
 * ".failed-" prefix, which the scanner skips) for the operator, never deleted. */
static void batch_fail(struct up *u, struct up_batch *b)
{
    u->requests_failed++;
    cnt_add(&u->failed, b);
    if (b->src == UP_SRC_SPOOL) {
        char from[PATH_MAX], to[PATH_MAX + 16];
        snprintf(from, sizeof(from), "%s/%s", u->spool_dir, b->name);
        snprintf(to, sizeof(to), "%s/.failed-%s", u->spool_dir, b->name);
        if (rename(from, to) != 0)
            fprintf(stderr, "h3dpd: upload: cannot set aside %s: %s\n", from, strerror(errno));
        spool_forget(u, b);
    }
    if (b->src == UP_SRC_INGEST)
        u->ingest_held -= b->records;
    batch_free(u, b);
}

/* Retries: immediately for a request the server did not process (|backoff| false), after
 * the collector's Retry-After when it gave one (|after_ns| >= 0), else after a back-off
 * doubling from retry_initial_ms to retry_max_ms with jitter (50..100%); beyond
 * retry_limit attempts (0 = no limit) the batch fails. */
static void batch_retry(struct up *u, struct up_batch *b, bool backoff, int64_t after_ns)
{
    b->attempts++;
    if (u->retry_limit && b->attempts > u->retry_limit) {
        batch_fail(u, b);
        return;
    }
    cnt_add(&u->retried, b);
    u->requests_retried++;
    cnt_add(&u->queued, b);
    if (!backoff) {
        b->not_before = 0;
        q_push(&u->ready, b);
        return;
    }
    if (after_ns >= 0) {
        u->retry_after_used++;
        b->not_before = u->now + (uint64_t)after_ns;
        q_push(&u->delayed, b);
        return;
    }
    uint64_t d = u->retry_initial_ns;
    for (unsigned i = 1; i < b->attempts && d < u->retry_max_ns; i++)
        d *= 2;
    if (d > u->retry_max_ns)
        d = u->retry_max_ns;
    d = d / 2 + (uint64_t)((double)(d / 2) * ((double)rand() / RAND_MAX));
    b->not_before = u->now + d;
    q_push(&u->delayed, b);
}

static void batch_done(void *ud, struct svc_req *r, const struct svc_req_result *res)
{
    struct up_batch *b = ud;
    struct up *u = b->u;
    int st = res->o.status;
    (void)r;

    if (b->slot >= 0 && u->conns[b->slot].inflight)
        u->conns[b->slot].inflight--;
    b->last_slot = b->slot;
    b->slot = -1;
    cnt_sub(&u->inflight, b);
    if (res->o.result == H3_REQ_COMPLETED && st >= 200 && st < 300) {
        u->requests_acked++;
        cnt_add(&u->acked, b);
        u->rtt_ns = u->rtt_ns ? u->rtt_ns + ((int64_t)res->rtt_ns - (int64_t)u->rtt_ns) /
                                                 (1 << UP_RTT_EWMA_SHIFT)
                              : res->rtt_ns;
        if (b->src == UP_SRC_SPOOL) {
            char path[PATH_MAX];
            struct stat now;
            snprintf(path, sizeof(path), "%s/%s", u->spool_dir, b->name);
            /* Remove the file that was sent, not one renamed over it since. */
            if (lstat(path, &now) == 0 && (now.st_dev != b->dev || now.st_ino != b->ino))
                ;
            else if (unlink(path) != 0 && errno != ENOENT)
                fprintf(stderr, "h3dpd: upload: cannot remove %s: %s\n", path, strerror(errno));
            spool_forget(u, b);
        }
        if (b->src == UP_SRC_INGEST)
            u->ingest_held -= b->records;
        batch_free(u, b);
        return;
    }
    if (res->o.result == H3_REQ_COMPLETED) {
        if (st >= 500)
            u->status_5xx++;
        else if (st >= 400)
            u->status_4xx++;
        if (st == 408 || st == 429 || st >= 500) {
            batch_retry(u, b, true, up_retry_after_ns(res->retry_after, time(NULL)));
            return;
        }
        /* Any other answer is final: the batch failed (counted, never retried). */
        batch_fail(u, b);
        return;
    }
    if (res->o.result == H3_REQ_NOT_PROCESSED) {
        u->not_processed++;
        batch_retry(u, b, false, -1);
        return;
    }
    /* Reset, cancelled, connection closed: the server may have processed it. */
    u->conn_errors++;
    if (res->o.stream_id >= 0)
        u->maybe_dup += b->records;
    batch_retry(u, b, true, -1);
}

/* ---------------------------------------------------------------- connections */

static int slot_of(struct up *u, uint64_t id)
{
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used && u->conns[i].id == id)
            return (int)i;
    return -1;
}

static void c_state(void *ud, uint64_t id, enum h3_state st)
{
    struct up *u = ud;
    int s = slot_of(u, id);
    if (s < 0)
        return;
    u->conns[s].ready = st == H3_STATE_ESTABLISHED;
    if (st == H3_STATE_ESTABLISHED)
        u->connect_failures = 0;
}

static void c_closed(void *ud, uint64_t id, const struct h3_outcome *o)
{
    struct up *u = ud;
    int s = slot_of(u, id);
    (void)o;
    if (s < 0)
        return;
    if (!u->conns[s].ready && u->conns[s].inflight == 0 && o->kind != H3_CLOSE_APPLICATION) {
        /* Never became usable (peer down?): back off before the next attempt. */
        u->connect_failures++;
        uint64_t d = u->retry_initial_ns << (u->connect_failures < 6 ? u->connect_failures : 6);
        u->next_connect = u->now + (d < u->retry_max_ns ? d : u->retry_max_ns);
    }
    u->conns[s] = (struct up_conn){ 0 };
}

static const struct svc_conn_cbs up_cbs = { .on_state = c_state, .on_closed = c_closed };

static bool has_work(const struct up *u)
{
    return u->gen_active || u->ready.n || u->delayed.n || u->inflight.records ||
           u->ingest_held || u->spool_pending;
}

static unsigned pool_upkeep(struct up *u)
{
    unsigned live = 0;

    if (!u->has_target)
        return 0;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used)
            live += u->conns[i].ready || u->conns[i].inflight == 0; /* drainers do not count */
    if (!has_work(u) || u->now < u->next_connect || live >= u->n_conns)
        return 0;
    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        if (u->conns[i].used)
            continue;
        struct svc_conn_params p = {
            .url = u->url, .remote = (const struct sockaddr *)&u->remote,
            .remote_len = u->remote_len,
            .host = u->cfg->tls.sni[0] ? u->cfg->tls.sni : u->host,
            .sni = u->cfg->tls.sni[0] ? u->cfg->tls.sni : NULL, .insecure = -1, .lcore = -1,
        };
        uint64_t id;
        if (svc_connect(u->svc, &p, &up_cbs, u, &id) != 0)
            return 0;
        u->conns[i] = (struct up_conn){ .id = id, .used = true };
        return 1;
    }
    return 0;
}

/* Sends queued batches on ready connections with a free stream, least loaded first,
 * avoiding the connection a retried batch failed on when another one is available. */
static unsigned dispatch(struct up *u)
{
    unsigned n = 0;

    for (struct up_batch **pp = &u->delayed.head; *pp;) {
        struct up_batch *b = *pp;
        if (b->not_before <= u->now) {
            *pp = b->next;
            if (u->delayed.tail == b) {
                u->delayed.tail = NULL;
                for (struct up_batch *x = u->delayed.head; x; x = x->next)
                    u->delayed.tail = x;
            }
            u->delayed.n--;
            q_push(&u->ready, b);
            continue;
        }
        pp = &b->next;
    }
    while (u->ready.head) {
        struct up_batch *b = u->ready.head;
        int best = -1;
        for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
            struct up_conn *c = &u->conns[i];
            if (!c->used || !c->ready || c->inflight >= u->streams)
                continue;
            if (best < 0 || (best == b->last_slot && (int)i != b->last_slot) ||
                (c->inflight < u->conns[best].inflight && (int)i != b->last_slot))
                best = (int)i;
        }
        if (best < 0)
            break;
        int rv = svc_request(u->svc, u->conns[best].id, &b->r);
        if (rv == -ESHUTDOWN || rv == -ENOENT) {
            u->conns[best].ready = false;
            continue;
        }
        if (rv < 0)
            break; /* ring full: next poll */
        q_pop(&u->ready);
        u->conns[best].inflight++;
        b->slot = best;
        cnt_sub(&u->queued, b);
        cnt_add(&u->inflight, b);
        u->requests_sent++;
        u->body_bytes_sent += b->r.body ? b->r.body_len : b->r.synth_len;
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- sources */

static unsigned gen_poll(struct up *u)
{
    unsigned n = 0;
    uint64_t per;

    if (!u->gen_active || u->gen.record_bytes == 0)
        return 0;
    per = u->batch_bytes / u->gen.record_bytes;
    if (per == 0)
        per = 1;
    uint64_t el = u->now - u->gen_start, dur = u->gen.duration_ms * 1000000ull;
    bool time_up = dur && el >= dur;
    if ((time_up && !u->gen.rate) || (u->gen.records && u->gen_made >= u->gen.records) ||
        u->stopping) {
        u->gen_active = false;
        return 0;
    }
    uint64_t due = UINT64_MAX;
    if (u->gen.rate) {
        /* Exactly rate x duration in the end: the last partial batch is not lost to the
         * linger time when the duration runs out. */
        uint64_t t = time_up ? dur : el;
        due = (uint64_t)((double)t / 1e9 * (double)u->gen.rate);
        due = due > u->gen_made ? due - u->gen_made : 0;
    }
    /* As fast as possible: keep every stream busy plus one batch each in the queue. */
    uint64_t cap = u->gen.rate ? UP_GEN_MAX_BATCHES : 2ull * u->n_conns * u->streams;
    while (due > 0 && u->ready.n < cap) {
        uint64_t k = per < due ? per : due;
        if (u->gen.records && k > u->gen.records - u->gen_made)
            k = u->gen.records - u->gen_made;
        if (k == 0)
            break;
        /* At a rate: full batches, or what is due once the linger time has passed. */
        if (u->gen.rate && k < per && !time_up && u->now - u->gen_last_batch < u->linger_ns)
            break;
        struct up_batch *b = batch_get(u);
        if (!b)
            break;
        b->src = UP_SRC_GEN;
        b->records = k;
        b->bytes = k * u->gen.record_bytes;
        b->r.synth_len = b->bytes;
        batch_accept(u, b);
        u->gen_made += k;
        u->gen_last_batch = u->now;
        if (due != UINT64_MAX)
            due -= k;
        n++;
    }
    if (u->gen.rate && due > 0 && due != UINT64_MAX && u->ready.n >= cap)
        u->gen_behind = due; /* the pool cannot keep up with the rate */
    if (time_up && (due == 0 || (u->gen.records && u->gen_made >= u->gen.records)))
        u->gen_active = false;
    return n;
}

static void spool_add(struct up *u, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    unsigned h = name_hash(name);

    for (struct up_batch *b = u->spool_names[h]; b; b = b->hnext)
        if (strcmp(b->name, name) == 0)
            return; /* already queued or in flight */
    snprintf(path, sizeof(path), "%s/%s", u->spool_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    struct up_batch *b = batch_get(u);
    if (!b || !(b->name = strdup(name))) {
        if (b)
            batch_free(u, b);
        close(fd);
        return;
    }
    if (st.st_size > 0) {
        b->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (b->map == MAP_FAILED) {
            b->map = NULL;
            close(fd);
            batch_free(u, b);
            return;
        }
        b->map_len = (size_t)st.st_size;
        b->r.body = b->map;
        b->r.body_len = b->map_len;
    }
    close(fd);
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    b->src = UP_SRC_SPOOL;
    b->records = 1;
    b->bytes = b->map_len;
    b->hnext = u->spool_names[h];
    u->spool_names[h] = b;
    u->spool_pending++;
    batch_accept(u, b);
}

/* Producers write a temporary name (a leading '.', or a .tmp suffix) and rename it in. */
static unsigned spool_poll(struct up *u)
{
    if (!u->spool_dir[0] || u->stopping || u->now < u->spool_next_scan)
        return 0;
    u->spool_next_scan = u->now + UP_SPOOL_SCAN_NS;
    DIR *d = opendir(u->spool_dir);
    if (!d)
        return 0;
    unsigned before = (unsigned)u->spool_pending;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0))
            continue;
        spool_add(u, e->d_name);
    }
    closedir(d);
    return (unsigned)u->spool_pending - before;
}

/* Moves the staged records into a batch of their exact size (a pool buffer). */
static void ingest_flush(struct up *u)
{
    struct up_batch *b;

    if (u->stage_records == 0)
        return;
    b = batch_get(u);
    if (!b || !(b->mem = buf_get(u, u->stage_len, &b->mem_cap))) {
        if (b)
            batch_free(u, b);
        return; /* out of memory: the records stay staged, the next poll tries again */
    }
    memcpy(b->mem, u->stage, u->stage_len);
    b->src = UP_SRC_INGEST;
    b->records = u->stage_records;
    b->bytes = u->stage_len;
    b->r.body = b->mem;
    b->r.body_len = u->stage_len;
    u->stage_records = 0;
    u->stage_len = 0;
    batch_accept(u, b);
}

static unsigned ingest_poll(struct up *u)
{
    unsigned n = 0;

    if (u->ingest_fd < 0)
        return 0;
    if (u->stage_records && (u->stopping || u->now - u->stage_first >= u->linger_ns))
        ingest_flush(u);
    while (u->ingest_readable && !u->stopping && n < UP_INGEST_BURST) {
        if (u->ingest_held >= u->ingest_queue || u->stage_len >= u->batch_bytes) {
            /* Full (or a flush failed): leave the records in the socket; producers get
             * EAGAIN. */
            if (!u->ingest_full)
                u->ingest_full_events++;
            u->ingest_full = true;
            break;
        }
        u->ingest_full = false;
        ssize_t r = recv(u->ingest_fd, u->stage + u->stage_len, UP_RECORD_MAX,
                         MSG_DONTWAIT | MSG_TRUNC);
        if (r < 0) {
            u->ingest_readable = false;
            break;
        }
        if (r > UP_RECORD_MAX) {
            u->ingest_oversize++; /* refused and counted; the producer's record was too big */
            continue;
        }
        if (u->stage_records == 0)
            u->stage_first = u->now;
        u->stage_records++;
        u->stage_len += (size_t)r;
        u->ingest_held++;
        n++;
        if (u->stage_len >= u->batch_bytes)
            ingest_flush(u);
    }
    return n;
}

static void ingest_readable(void *arg)
{
    ((struct up *)arg)->ingest_readable = true;
}

static int ingest_open(struct up *u)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(u->ingest_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u->ingest_path);
    u->stage = malloc((size_t)u->batch_bytes + UP_RECORD_MAX);
    if (!u->stage)
        return -ENOMEM;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(u->ingest_path); /* a leftover from a previous run */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    chmod(u->ingest_path, 0660);
    u->ingest_fd = fd;
    u->ingest_readable = true;
    return 0;
}

/* ---------------------------------------------------------------- API */

/* Points the engine at |url| ("https://IPv4[:PORT][/PATH]": the daemon does no DNS, and
 * the dataplane is IPv4). Returns 0, or -EINVAL with a reason in |why| (may be NULL). */
static int set_target(struct up *u, const char *url, char *why, size_t whylen)
{
    struct net_url cu;
    char reason[256];

    if (net_url_parse(url, 0, &cu, reason, sizeof(reason)) < 0 ||
        (cu.kind != NET_HOST_IPV4 &&
         snprintf(reason, sizeof(reason), "the collector must be given by its IPv4 address "
                                          "(h3dpd does no DNS; IPv6 is not supported yet)"))) {
        if (why)
            snprintf(why, whylen, "%s (got '%s')", reason, url);
        return -EINVAL;
    }
    u->remote_len = net_url_sockaddr(&cu, &u->remote);
    snprintf(u->host, sizeof(u->host), "%s", cu.host);
    net_url_origin(&cu, u->url, sizeof(u->url));
    snprintf(u->path, sizeof(u->path), "%s", cu.path);
    net_url_format(&cu, u->target, sizeof(u->target));
    u->has_target = true;
    return 0;
}

/* `upload target`/`start --url`: a new collector. Only while nothing is queued or in
 * flight for the old one (nothing would be sent twice to different collectors, or
 * stranded); the pool's connections to the old one are shut down gracefully. */
static int retarget(struct up *u, const char *url, char *why, size_t whylen)
{
    char old[sizeof(u->target)];

    if (u->queued.records || u->inflight.records || u->stage_records) {
        snprintf(why, whylen,
                 "%" PRIu64 " records are still queued or in flight for %s: `upload stop` and "
                 "wait until the state is idle first",
                 u->queued.records + u->inflight.records + u->stage_records, u->target);
        return -EBUSY;
    }
    memcpy(old, u->target, sizeof(old));
    if (set_target(u, url, why, whylen) < 0) /* changes nothing when it fails */
        return -EINVAL;
    if (strcmp(old, u->target) == 0)
        return 0;
    for (unsigned i = 0; i < UP_MAX_CONNS; i++)
        if (u->conns[i].used) {
            svc_shutdown(u->svc, u->conns[i].id, 0, 0);
            u->conns[i] = (struct up_conn){ 0 };
        }
    u->next_connect = 0;
    u->connect_failures = 0;
    return 0;
}

struct up *up_new(const struct cfg *cfg, struct svc *svc, int *err)
{
    const struct cfg_upload *c = &cfg->upload;
    struct up *u;
    uint8_t rnd[8];

    u = calloc(1, sizeof(*u));
    if (!u) {
        *err = -ENOMEM;
        return NULL;
    }
    u->cfg = cfg;
    u->svc = svc;
    u->ingest_fd = -1;
    if (c->url_str[0] && set_target(u, c->url_str, NULL, 0) < 0) {
        *err = -EINVAL;
        free(u);
        return NULL;
    }
    snprintf(u->content_type, sizeof(u->content_type), "%s",
             c->content_type[0] ? c->content_type : "application/octet-stream");
    u->n_conns = c->connections < UP_MAX_CONNS ? c->connections : UP_MAX_CONNS;
    if (u->n_conns == 0)
        u->n_conns = 1;
    u->streams = c->streams ? c->streams : 1;
    u->batch_bytes = c->batch_bytes ? c->batch_bytes : 256 * 1024;
    u->linger_ns = (uint64_t)c->linger_ms * 1000000ull;
    u->retry_initial_ns = (uint64_t)(c->retry_initial_ms ? c->retry_initial_ms : 500) * 1000000ull;
    u->retry_max_ns = (uint64_t)(c->retry_max_ms ? c->retry_max_ms : 30000) * 1000000ull;
    u->retry_limit = c->retry_limit;
    u->ingest_queue = c->ingest_queue ? c->ingest_queue : 65536;
    gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(u->boot + 2 * i, 3, "%02x", rnd[i]);
    srand((unsigned)rnd[0] << 8 | rnd[1]);
    snprintf(u->spool_dir, sizeof(u->spool_dir), "%s", c->spool_dir);
    if (u->spool_dir[0] && mkdir(u->spool_dir, 0750) != 0 && errno != EEXIST) {
        *err = -errno;
        free(u);
        return NULL;
    }
    if (c->compress == CFG_COMPRESS_ZSTD && !(u->zc = ZSTD_createCCtx())) {
        *err = -ENOMEM;
        free(u);
        return NULL;
    }
    snprintf(u->ingest_path, sizeof(u->ingest_path), "%s", c->ingest_socket);
    if (u->ingest_path[0]) {
        int rv = ingest_open(u);
        if (rv < 0) {
            *err = rv;
            up_del(u);
            return NULL;
        }
    }
    if (c->generator_rate)
        u->gen = (struct up_gen){ .record_bytes = c->generator_record_bytes, .rate = c->generator_rate };
    return u;
}

int up_gen_start(struct up *u, const struct up_gen *g, uint64_t now_ns)
{
    if (!g->record_bytes || g->record_bytes > (1u << 20))
        return -EINVAL;
    u->gen = *g;
    u->gen_active = true;
    u->gen_start = u->gen_last_batch = now_ns;
    u->gen_made = u->gen_behind = 0;
    u->stopping = false;
    if (!u->t0)
        u->t0 = now_ns;
    return 0;
}

unsigned up_poll(struct up *u, uint64_t now_ns)
{
    unsigned n;

    u->now = now_ns;
    if (!u->t0)
        u->t0 = now_ns;
    if (u->gen.rate && !u->gen_active && u->gen_made == 0 && u->cfg->upload.generator_rate &&
        !u->stopping)
        up_gen_start(u, &u->gen, now_ns); /* [upload] generator_rate: start with the daemon */
    n = gen_poll(u) + spool_poll(u) + ingest_poll(u);
    n += pool_upkeep(u);
    n += dispatch(u);
    if (u->stopping && u->stop_deadline && now_ns >= u->stop_deadline) {
        /* Give up on what was never sent: spool files stay for the next run. */
        struct up_batch *b;
        while ((b = q_pop(&u->ready)) || (b = q_pop(&u->delayed))) {
            cnt_sub(&u->queued, b);
            cnt_sub(&u->accepted, b);
            if (b->src == UP_SRC_SPOOL)
                spool_forget(u, b);
            if (b->src == UP_SRC_INGEST)
                u->ingest_held -= b->records;
            batch_free(u, b);
        }
    }
    return n;
}

void up_stop(struct up *u, uint64_t deadline_ns)
{
    u->stopping = true;
    u->gen_active = false;
    u->stop_deadline = deadline_ns;
    ingest_flush(u);
    /* Spool batches not yet sent stay on disk for the next run. */
    for (struct up_queue *q = &u->ready; q; q = q == &u->ready ? &u->delayed : NULL) {
        struct up_batch *b;
        struct up_queue rest = { 0 };
        while ((b = q_pop(q))) {
            if (b->src == UP_SRC_SPOOL) {
                cnt_sub(&u->queued, b);
                cnt_sub(&u->accepted, b);
                spool_forget(u, b);
                batch_free(u, b);
            } else {
                q_push(&rest, b);
            }
        }
        *q = rest;
    }
}

int up_poll_timeout_ms(const struct up *u)
{
    if (u->has_target && has_work(u))
        return 1; /* linger, retries, the generator's rate: millisecond timers */
    return u->spool_dir[0] && !u->stopping ? (int)(UP_SPOOL_SCAN_NS / 1000000) : -1;
}

bool up_done(const struct up *u)
{
    return u->ready.n == 0 && u->delayed.n == 0 && u->inflight.records == 0 &&
           u->stage_records == 0;
}

json_t *up_stats_json(const struct up *u, uint64_t now_ns)
{
    unsigned open = 0, ready = 0;
    double el = u->t0 && now_ns > u->t0 ? (double)(now_ns - u->t0) / 1e9 : 0;

    for (unsigned i = 0; i < UP_MAX_CONNS; i++) {
        open += u->conns[i].used;
        ready += u->conns[i].used && u->conns[i].ready;
    }
#define UPC(c) "records", (json_int_t)(c).records, "bytes", (json_int_t)(c).bytes
    return json_pack(
        "{s:s, s:s, s:{s:i, s:i, s:i, s:i}, s:I, s:f,"
        " s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:s, s:I, s:I, s:I},"
        " s:{s:b, s:I, s:I, s:I, s:I},"
        " s:{s:s, s:I}, s:{s:s, s:I, s:I, s:I, s:b}}",
        "state", u->stopping ? (up_done(u) ? "stopped" : "stopping")
                 : has_work(u) ? "running" : "idle",
        "url", u->target, "connections", "target", (int)u->n_conns, "open", (int)open, "ready",
        (int)ready, "streams", (int)u->streams, "rtt_us", (json_int_t)(u->rtt_ns / 1000),
        "elapsed_s", el,
        "accepted", UPC(u->accepted), "queued", UPC(u->queued), "in_flight", UPC(u->inflight),
        "acked", UPC(u->acked), "failed", UPC(u->failed), "retried", UPC(u->retried),
        "requests", "sent", (json_int_t)u->requests_sent, "acked",
        (json_int_t)u->requests_acked, "retried", (json_int_t)u->requests_retried, "failed",
        (json_int_t)u->requests_failed, "not_processed", (json_int_t)u->not_processed,
        "conn_errors", (json_int_t)u->conn_errors, "status_4xx", (json_int_t)u->status_4xx,
        "status_5xx", (json_int_t)u->status_5xx, "retry_after",
        (json_int_t)u->retry_after_used, "body_bytes", (json_int_t)u->body_bytes_sent,
        "compress", "codec", u->zc ? "zstd" : "none", "records", (json_int_t)u->coded_records,
        "bytes_in", (json_int_t)u->coded_bytes, "bytes_out", (json_int_t)u->coded_out,
        "generator", "active", u->gen_active, "record_bytes", (json_int_t)u->gen.record_bytes,
        "rate", (json_int_t)u->gen.rate, "made", (json_int_t)u->gen_made, "behind",
        (json_int_t)u->gen_behind,
        "spool", "dir", u->spool_dir, "pending", (json_int_t)u->spool_pending,
        "ingest", "socket", u->ingest_path, "held", (json_int_t)u->ingest_held, "full_events",
        (json_int_t)u->ingest_full_events, "oversize", (json_int_t)u->ingest_oversize, "full",
        u->ingest_full);
#undef UPC
}

/* ---------------------------------------------------------------- the upload command */

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void h_upload(void *ctx, struct ctl_call *call)
{
    struct up *u = ctx;
    const struct ctl_request *rq = ctl_call_request(call);
    const char *action = ctl_request_str(rq, "action");
    uint64_t now = mono_now();

    const char *url = ctl_request_str(rq, "url");
    char why[1024];

    if (url && *url && strcmp(action, "target") != 0 && strcmp(action, "start") != 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "--url goes with upload target or start");
        return;
    }
    if (url && *url) {
        int rv = retarget(u, url, why, sizeof(why));
        if (rv < 0) {
            ctl_call_fail(call, rv == -EBUSY ? CTL_E_BUSY : CTL_E_BAD_URL, "%s", why);
            return;
        }
    } else if (strcmp(action, "target") == 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "upload target needs --url URL");
        return;
    }
    if (strcmp(action, "start") == 0) {
        if (!u->has_target) {
            ctl_call_fail(call, CTL_E_BAD_REQUEST,
                          "no upload target: give --url https://IPv4[:PORT][/PATH] or set "
                          "[upload] url");
            return;
        }
        struct up_gen g = {
            .record_bytes = (uint32_t)ctl_request_u64(
                rq, "record_size",
                u->cfg->upload.generator_record_bytes ? u->cfg->upload.generator_record_bytes
                                                      : 1024),
            .rate = ctl_request_u64(rq, "rate", u->cfg->upload.generator_rate),
            .duration_ms = ctl_request_u64(rq, "duration", 0),
            .records = ctl_request_u64(rq, "records", 0),
        };
        const struct ctl_arg *c = ctl_request_arg(rq, "connections");
        const struct ctl_arg *s = ctl_request_arg(rq, "streams");
        if (c && c->present)
            u->n_conns = c->u < UP_MAX_CONNS ? (unsigned)c->u : UP_MAX_CONNS;
        if (s && s->present)
            u->streams = (unsigned)s->u;
        if (up_gen_start(u, &g, now) < 0) {
            ctl_call_fail(call, CTL_E_BAD_REQUEST, "record_size must be 1..1048576");
            return;
        }
        ctl_call_reply(call, up_stats_json(u, now));
    } else if (strcmp(action, "stop") == 0) {
        /* Sources stop; what is queued or in flight still goes out. */
        u->gen_active = false;
        ctl_call_reply(call, up_stats_json(u, now));
    } else {
        ctl_call_reply(call, up_stats_json(u, now));
    }
}

int up_attach(struct up *u, struct ctl_server *srv)
{
    int rv = ctl_server_register(srv, "upload", h_upload, u);
    if (rv < 0)
        return rv;
    u->srv = srv;
    if (u->ingest_fd >= 0)
        rv = ctl_server_watch(srv, u->ingest_fd, ingest_readable, u);
    return rv;
}

void up_del(struct up *u)
{
    struct up_batch *b;

    if (!u)
        return;
    while ((b = q_pop(&u->ready)) || (b = q_pop(&u->delayed)))
        batch_free(u, b);
    while ((b = u->free_batches)) {
        u->free_batches = b->next;
        free(b);
    }
    for (int c = 0; c < UP_BUF_CLASSES; c++)
        while (u->free_bufs[c]) {
            void *p = u->free_bufs[c];
            u->free_bufs[c] = *(void **)p;
            free(p);
        }
    if (u->ingest_fd >= 0) {
        close(u->ingest_fd);
        unlink(u->ingest_path);
    }
    ZSTD_freeCCtx(u->zc);
    free(u->pattern);
    free(u->stage);
    free(u);
}
