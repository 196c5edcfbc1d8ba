/* up_src_ingest.c: the ingest source — a Unix datagram socket (SOCK_DGRAM, mode 0660), one
 * record of at most UP_RECORD_MAX bytes per datagram. Records are framed as they are staged
 * in one buffer (newline: a '\n' added when missing, a record with an inner newline refused
 * and counted; length: a 4-byte length before it) and moved into a batch of their exact
 * size at batch_bytes or after linger_ms. At most ingest_queue records are held (staged,
 * queued or in flight); beyond that the socket is not read and producers' non-blocking
 * sends fail with EAGAIN. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "up_int.h"

#define UP_RECORD_MAX   (64 * 1024) /* largest ingest record */
#define UP_INGEST_BURST 256         /* records read per poll */

struct ingest {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool readable, full;
    uint8_t *stage;             /* records back to back, batch_bytes + one record */
    size_t stage_len;
    uint64_t stage_records, stage_first;
    uint64_t held, full_events, oversize, refused;
    uint32_t queue;             /* [upload] ingest_queue */
};

static int ingest_open(struct up_source *s, const struct up_conf *c, char *why, size_t whylen)
{
    struct ingest *in = calloc(1, sizeof(*in));
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int e;

    if (!in)
        return -ENOMEM;
    in->fd = -1;
    in->queue = c->ingest_queue;
    s->priv = in;
    if (!c->ingest_socket || !c->ingest_socket[0])
        return 0;
    if (strlen(c->ingest_socket) >= sizeof(sa.sun_path)) {
        snprintf(why, whylen, "ingest socket path longer than %zu bytes",
                 sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    snprintf(in->path, sizeof(in->path), "%s", c->ingest_socket);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in->path);
    in->stage = malloc((size_t)c->batch_bytes + UP_RECORD_MAX + UP_FRAME_ROOM);
    if (!in->stage)
        return -ENOMEM;
    in->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (in->fd < 0)
        goto fail;
    unlink(in->path); /* a leftover from a previous run */
    if (bind(in->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    chmod(in->path, 0660);
    in->readable = true;
    return 0;
fail:
    e = -errno;
    snprintf(why, whylen, "ingest socket %s: %s", in->path, strerror(errno));
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    in->path[0] = '\0';
    return e;
}

static void ingest_close(struct up_source *s)
{
    struct ingest *in = s->priv;

    if (!in)
        return;
    if (in->fd >= 0) {
        close(in->fd);
        unlink(in->path);
    }
    free(in->stage);
    free(in);
}

/* Moves the staged records into a batch of their exact size (a pool buffer). */
static void flush(struct up_source *s)
{
    struct ingest *in = s->priv;
    struct up *u = s->u;
    struct up_batch *b;

    if (in->stage_records == 0)
        return;
    b = up_batch_new(u);
    if (!b || !(b->mem = up_buf_get(u, in->stage_len, &b->mem_cap))) {
        if (b)
            up_batch_del(u, b);
        return; /* out of memory: the records stay staged, the next poll tries again */
    }
    memcpy(b->mem, in->stage, in->stage_len);
    b->src = s;
    b->records = in->stage_records;
    b->bytes = in->stage_len;
    b->r.body = b->mem;
    b->r.body_len = in->stage_len;
    if (up_enqueue(u, b) < 0) {
        up_batch_del(u, b);
        return;
    }
    in->stage_records = 0;
    in->stage_len = 0;
}

static unsigned ingest_poll(struct up_source *s)
{
    struct ingest *in = s->priv;
    struct up *u = s->u;
    unsigned n = 0;

    if (in->fd < 0)
        return 0;
    if (in->stage_records && (u->stopping || u->now - in->stage_first >= u->linger_ns))
        flush(s);
    while (in->readable && !u->stopping && n < UP_INGEST_BURST) {
        ssize_t r;
        if (in->held >= in->queue || in->stage_len >= u->batch_bytes) {
            /* Full (or a flush failed): leave the records in the socket; producers get
             * EAGAIN. */
            if (!in->full)
                in->full_events++;
            in->full = true;
            break;
        }
        in->full = false;
        /* Received past the room the framing may need in front of it, then framed in
         * place (memmove: the record and its frame overlap). */
        uint8_t *rec = in->stage + in->stage_len + UP_FRAME_ROOM;
        r = recv(in->fd, rec, UP_RECORD_MAX, MSG_DONTWAIT | MSG_TRUNC);
        if (r < 0) {
            in->readable = false;
            break;
        }
        if (r > UP_RECORD_MAX) {
            in->oversize++; /* refused and counted; the producer's record was too big */
            continue;
        }
        size_t fs = up_frame_size(u->framing, rec, (size_t)r);
        if (fs == 0 || (u->framing == UP_FRAMING_NEWLINE && r == 0)) {
            in->refused++; /* several lines, or nothing: not one record; never split */
            continue;
        }
        const uint8_t *framed = up_frame_in_place(u->framing, rec, (size_t)r, &fs);
        memmove(in->stage + in->stage_len, framed, fs); /* back to back */
        r = (ssize_t)fs;
        if (in->stage_records == 0)
            in->stage_first = u->now;
        in->stage_records++;
        in->stage_len += (size_t)r;
        in->held++;
        n++;
        if (in->stage_len >= u->batch_bytes)
            flush(s);
    }
    return n;
}

static int ingest_fd(const struct up_source *s)
{
    return ((const struct ingest *)s->priv)->fd;
}

static void ingest_readable(struct up_source *s)
{
    ((struct ingest *)s->priv)->readable = true;
}

static bool ingest_busy(const struct up_source *s)
{
    const struct ingest *in = s->priv;

    return in->held != 0;
}

static void ingest_stop(struct up_source *s)
{
    flush(s);
}

static void ingest_done(struct up_source *s, struct up_batch *b)
{
    ((struct ingest *)s->priv)->held -= b->records;
}

static json_t *ingest_stats(const struct up_source *s)
{
    const struct ingest *in = s->priv;

    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:b}", "socket", in->path, "held",
                     (json_int_t)in->held, "full_events", (json_int_t)in->full_events,
                     "oversize", (json_int_t)in->oversize, "refused", (json_int_t)in->refused,
                     "full", in->full);
}

const struct up_source_ops up_src_ingest_ops = {
    .name = "ingest",
    .open = ingest_open,
    .close = ingest_close,
    .poll = ingest_poll,
    .fd = ingest_fd,
    .readable = ingest_readable,
    .busy = ingest_busy,
    .stop = ingest_stop,
    .acked = ingest_done,
    .failed = ingest_done,
    .dropped = ingest_done,
    .stats_json = ingest_stats,
};
