/* up_src_spool.c: the spool source — a directory where each regular file is one upload
 * (one record, framed like every record), removed only after a 2xx and set aside as
 * ".failed-NAME" when it fails for good. Producers write a temporary name (a leading '.',
 * or a .tmp suffix) and rename it in; the directory is scanned every UP_SPOOL_SCAN_NS.
 * Durable: what is left is sent again after a restart, under the same batch id (derived
 * from the file's name and content), so a collector can drop what it already has. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "up_int.h"

#define UP_SPOOL_SCAN_NS 250000000ull
#define UP_SPOOL_BUCKETS 1024

/* A file queued or in flight (b->src_priv). */
struct spool_file {
    struct spool_file *hnext;   /* name table link */
    dev_t dev;                  /* the file sent: a new file under the same name is */
    ino_t ino;                  /* not removed with it */
    char name[];
};

struct spool {
    char dir[PATH_MAX];
    uint64_t next_scan, pending;
    uint64_t refused;           /* files the framing refuses (set aside) */
    struct spool_file *names[UP_SPOOL_BUCKETS];
};

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % UP_SPOOL_BUCKETS;
}

static int spool_open(struct up_source *s, const struct up_conf *c, char *why, size_t whylen)
{
    struct spool *sp = calloc(1, sizeof(*sp));

    if (!sp)
        return -ENOMEM;
    s->priv = sp;
    if (!c->spool_dir || !c->spool_dir[0])
        return 0;
    if (strlen(c->spool_dir) >= sizeof(sp->dir)) {
        snprintf(why, whylen, "spool directory path too long");
        return -ENAMETOOLONG;
    }
    snprintf(sp->dir, sizeof(sp->dir), "%s", c->spool_dir);
    if (mkdir(sp->dir, 0750) != 0 && errno != EEXIST) {
        int e = -errno;
        snprintf(why, whylen, "spool directory %s: %s", sp->dir, strerror(errno));
        return e;
    }
    return 0;
}

static void spool_close(struct up_source *s)
{
    struct spool *sp = s->priv;

    if (!sp)
        return;
    for (unsigned i = 0; i < UP_SPOOL_BUCKETS; i++)
        while (sp->names[i]) {
            struct spool_file *f = sp->names[i];
            sp->names[i] = f->hnext;
            free(f);
        }
    free(sp);
}

static void forget(struct spool *sp, struct spool_file *f)
{
    struct spool_file **pp = &sp->names[name_hash(f->name)];

    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    sp->pending--;
    free(f);
}

static int stable_id(const char *name, const void *data, size_t len, char *id, size_t cap);
static int frame(struct up_source *s, struct up_batch *b, const char *name);

static void add(struct up_source *s, const char *name)
{
    struct spool *sp = s->priv;
    struct up *u = s->u;
    char path[PATH_MAX + NAME_MAX + 2];
    unsigned h = name_hash(name);
    struct spool_file *f;
    struct up_batch *b;
    struct stat st;
    int fd;

    for (f = sp->names[h]; f; f = f->hnext)
        if (strcmp(f->name, name) == 0)
            return; /* already queued or in flight */
    snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    b = up_batch_new(u);
    f = malloc(sizeof(*f) + strlen(name) + 1);
    if (!b || !f) {
        if (b)
            up_batch_del(u, b);
        free(f);
        close(fd);
        return;
    }
    strcpy(f->name, name);
    if (st.st_size > 0) {
        b->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (b->map == MAP_FAILED) {
            b->map = NULL;
            close(fd);
            free(f);
            up_batch_del(u, b);
            return;
        }
        b->map_len = (size_t)st.st_size;
    }
    close(fd);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    /* The same file, sent again after a crash, carries the same id. */
    if (stable_id(name, b->map, b->map_len, b->h_batch, sizeof(b->h_batch)) < 0 ||
        frame(s, b, name) < 0) {
        free(f);
        up_batch_del(u, b);
        return;
    }
    b->src = s;
    b->src_priv = f;
    b->records = 1;
    b->bytes = b->r.body_len;
    if (up_enqueue(u, b) < 0) {
        free(f);
        up_batch_del(u, b);
        return;
    }
    f->hnext = sp->names[h];
    sp->names[h] = f;
    sp->pending++;
}

/* The batch id of file |name| with |len| bytes at |data|: "s-" and the first 128 bits of
 * SHA-256(name, NUL, content) in hex. Returns 0 or -EIO. */
static int stable_id(const char *name, const void *data, size_t len, char *id, size_t cap)
{
    struct crypto_sha256 *h;
    uint8_t d[CRYPTO_SHA256_LEN];

    if (crypto_sha256_new(&h) < 0)
        return -EIO;
    if (crypto_sha256_update(h, name, strlen(name) + 1) < 0 ||
        (len && crypto_sha256_update(h, data, len) < 0)) {
        crypto_sha256_del(h, NULL);
        return -EIO;
    }
    crypto_sha256_del(h, d);
    snprintf(id, cap, "s-");
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 + 2 * i, cap - 2 - 2 * (size_t)i, "%02x", d[i]);
    return 0;
}

/* Frames the file's record: as it is when it already fits (framing none, or a line that
 * ends in a newline), else a framed copy. A file the framing refuses (newline: several
 * lines, or nothing) is set aside as .failed-NAME and counted. Returns 0 or -1. */
static int frame(struct up_source *s, struct up_batch *b, const char *name)
{
    struct spool *sp = s->priv;
    struct up *u = s->u;
    const uint8_t *rec = b->map ? b->map : (const uint8_t *)"";
    size_t len = b->map_len, fs;

    if (up_frame_as_is(u->framing, rec, len)) {
        b->r.body = b->map;
        b->r.body_len = len;
        return 0;
    }
    fs = up_frame_size(u->framing, rec, len);
    if (fs == 0) { /* newline framing: several lines, or none (empty, or a lone '\n') */
        char from[PATH_MAX + NAME_MAX + 2], to[PATH_MAX + NAME_MAX + 16];
        sp->refused++;
        snprintf(from, sizeof(from), "%s/%s", sp->dir, name);
        snprintf(to, sizeof(to), "%s/.failed-%s", sp->dir, name);
        if (rename(from, to) != 0)
            UP_LOG(WARNING, "cannot set aside %s: %s", from, strerror(errno));
        up_error(u, UP_ERR_IO,
                 "spool file %s %s: not one record for framing newline; kept as .failed-%s",
                 from, len > 1 ? "holds several lines" : "is an empty line", name);
        return -1;
    }
    if (!(b->mem = up_buf_get(u, fs, &b->mem_cap)))
        return -1;
    up_frame_put(u->framing, b->mem, rec, len);
    if (b->map) {
        munmap(b->map, b->map_len);
        b->map = NULL;
    }
    b->r.body = b->mem;
    b->r.body_len = fs;
    return 0;
}

static unsigned spool_poll(struct up_source *s)
{
    struct spool *sp = s->priv;
    struct up *u = s->u;
    uint64_t before = sp->pending;
    struct dirent *e;
    DIR *d;

    if (!sp->dir[0] || u->stopping || u->now < sp->next_scan)
        return 0;
    sp->next_scan = u->now + UP_SPOOL_SCAN_NS;
    d = opendir(sp->dir);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0))
            continue;
        add(s, e->d_name);
    }
    closedir(d);
    return (unsigned)(sp->pending - before);
}

static int spool_timeout_ms(const struct up_source *s)
{
    const struct spool *sp = s->priv;

    return sp->dir[0] && !s->u->stopping ? (int)(UP_SPOOL_SCAN_NS / 1000000) : -1;
}

static bool spool_busy(const struct up_source *s)
{
    return ((const struct spool *)s->priv)->pending != 0;
}

static void spool_acked(struct up_source *s, struct up_batch *b)
{
    struct spool *sp = s->priv;
    struct spool_file *f = b->src_priv;
    char path[PATH_MAX + NAME_MAX + 2];
    struct stat now;

    snprintf(path, sizeof(path), "%s/%s", sp->dir, f->name);
    /* Remove the file that was sent, not one renamed over it since. */
    if (lstat(path, &now) == 0 && (now.st_dev != f->dev || now.st_ino != f->ino))
        ;
    else if (unlink(path) != 0 && errno != ENOENT)
        UP_LOG(WARNING, "cannot remove %s: %s", path, strerror(errno));
    forget(sp, f);
}

/* Failed for good: renamed with a ".failed-" prefix (which the scanner skips) for the
 * operator, never deleted. */
static void spool_failed(struct up_source *s, struct up_batch *b)
{
    struct spool *sp = s->priv;
    struct spool_file *f = b->src_priv;
    char from[PATH_MAX + NAME_MAX + 2], to[PATH_MAX + NAME_MAX + 16];
    struct stat now;

    snprintf(from, sizeof(from), "%s/%s", sp->dir, f->name);
    snprintf(to, sizeof(to), "%s/.failed-%s", sp->dir, f->name);
    /* Set aside the file that was sent, not one renamed over it since (never sent: the
     * next scan takes it). */
    if (lstat(from, &now) == 0 && (now.st_dev != f->dev || now.st_ino != f->ino))
        UP_LOG(WARNING, "%s failed for good but was replaced since: the new file is sent", from);
    else if (rename(from, to) != 0)
        UP_LOG(WARNING, "cannot set aside %s: %s", from, strerror(errno));
    else
        UP_LOG(WARNING, "%s failed for good: kept as %s", from, to);
    forget(sp, f);
}

/* Not sent (stop): the file stays for the next run. */
static void spool_dropped(struct up_source *s, struct up_batch *b)
{
    forget(s->priv, b->src_priv);
}

static json_t *spool_stats(const struct up_source *s)
{
    const struct spool *sp = s->priv;

    return json_pack("{s:s, s:I, s:I}", "dir", sp->dir, "pending", (json_int_t)sp->pending,
                     "refused", (json_int_t)sp->refused);
}

const struct up_source_ops up_src_spool_ops = {
    .name = "spool",
    .durable = true,
    .open = spool_open,
    .close = spool_close,
    .poll = spool_poll,
    .timeout_ms = spool_timeout_ms,
    .busy = spool_busy,
    .acked = spool_acked,
    .failed = spool_failed,
    .dropped = spool_dropped,
    .stats_json = spool_stats,
};
