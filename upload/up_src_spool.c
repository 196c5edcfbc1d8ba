/* up_src_spool.c: the spool source — a directory where each regular file is one upload
 * (one record, framed like every record), removed only after a 2xx and set aside as
 * ".failed-NAME" when it fails for good. Producers write a temporary name (a leading '.',
 * or a .tmp suffix) and rename it in; the directory is scanned every UP_SPOOL_SCAN_NS.
 * Durable: what is left is sent again after a restart, under the same batch id (derived
 * from the file's name and content), so a collector can drop what it already has.
 *
 * A file is read into memory when it is taken (at most UP_SPOOL_FILE_MAX bytes; files held
 * at most UP_SPOOL_LOADED_MAX bytes of buffers together, the rest waits for a later scan):
 * what is sent is what was digested, whatever happens to the file meanwhile (a mapping of
 * a file truncated in flight would kill the worker reading it with SIGBUS). A file
 * replaced or changed in place (another inode, size or mtime) while in flight is neither
 * removed nor set aside with the outcome of the bytes sent before: it is sent again, as it
 * is now.
 *
 * A file the spool cannot read, or cannot remove or set aside once its outcome is known
 * (the directory is read-only, say), is reported once (a log line, `upload status`
 * spool.unreadable / spool.stuck) and left alone until it changes or UP_SPOOL_RETRY_NS
 * passed: never read, sent or refused again on every scan. The directory's filesystem is
 * watched: when it is full, producers cannot add files; the status (spool.full,
 * spool.free_bytes) and one log line say so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bfile.h"
#include "crypto.h"
#include "up_int.h"

#define UP_SPOOL_SCAN_NS     250000000ull
#define UP_SPOOL_BUCKETS     1024
#define UP_SPOOL_FILE_MAX    (64u << 20)  /* a larger file is refused (set aside) */
#define UP_SPOOL_LOADED_MAX  (64ull << 20) /* buffers of the files queued or in flight */
#define UP_SPOOL_RETRY_NS    (60ull * 1000000000ull) /* a file left alone is tried again */
#define UP_SPOOL_LOW_BYTES   (1ull << 20)  /* full: less free than this (or 1 %) */

/* A file queued or in flight (b->src_priv): the file as it was read. */
struct spool_file {
    struct spool_file *hnext;   /* name table link */
    dev_t dev;                  /* a file under the same name that is not this one (a */
    ino_t ino;                  /* new inode, or changed since) is not removed or set */
    off_t size;                 /* aside with it */
    struct timespec mtime;
    size_t loaded;              /* buffer bytes held for it */
    char name[];
};

/* What a file left alone waits for. */
enum spool_wait {
    WAIT_READ,   /* it could not be read: taken again when it changes */
    WAIT_REMOVE, /* acknowledged, but could not be removed */
    WAIT_ASIDE,  /* failed or refused, but could not be renamed .failed-NAME */
};

/* A file left alone until it changes or its next_try (never sent again meanwhile). */
struct spool_skip {
    struct spool_skip *hnext;
    enum spool_wait wait;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec ctime;      /* chmod, writes, renames over it change it */
    uint64_t next_try, seen;    /* u->now; the scan that last saw it */
    char name[];
};

struct spool {
    char dir[PATH_MAX];
    uint64_t next_scan, scans, pending, loaded;
    uint64_t refused;           /* files refused (framing, size) and set aside */
    uint64_t waiting[3];        /* files left alone, by enum spool_wait */
    int dir_errno;              /* the directory cannot be read (0: it can) */
    bool full;                  /* its filesystem is full */
    uint64_t free_bytes;        /* for producers, at the last scan (UINT64_MAX: unknown) */
    struct spool_file *names[UP_SPOOL_BUCKETS];
    struct spool_skip *skips[UP_SPOOL_BUCKETS];
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
    sp->free_bytes = UINT64_MAX;
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
    for (unsigned i = 0; i < UP_SPOOL_BUCKETS; i++) {
        while (sp->names[i]) {
            struct spool_file *f = sp->names[i];
            sp->names[i] = f->hnext;
            free(f);
        }
        while (sp->skips[i]) {
            struct spool_skip *k = sp->skips[i];
            sp->skips[i] = k->hnext;
            free(k);
        }
    }
    free(sp);
}

static void path_of(const struct spool *sp, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", sp->dir, name);
}

/* ---------------------------------------------------------------- files left alone */

static struct spool_skip *skip_find(struct spool *sp, const char *name)
{
    for (struct spool_skip *k = sp->skips[name_hash(name)]; k; k = k->hnext)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void skip_drop(struct spool *sp, struct spool_skip *k)
{
    struct spool_skip **pp = &sp->skips[name_hash(k->name)];

    while (*pp && *pp != k)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = k->hnext;
    sp->waiting[k->wait]--;
    free(k);
}

/* What the file |path| is now: stat, or lstat for a link that leads nowhere. */
static int ident(const char *path, struct stat *st)
{
    return stat(path, st) == 0 || lstat(path, st) == 0 ? 0 : -1;
}

static bool same_ident(const struct spool_skip *k, const struct stat *st)
{
    return k->dev == st->st_dev && k->ino == st->st_ino && k->size == st->st_size &&
           k->ctime.tv_sec == st->st_ctim.tv_sec && k->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Leaves |name| alone until it changes or UP_SPOOL_RETRY_NS pass (|wait|: what for), and
 * says why once: |fmt| (after "spool file PATH "). Nothing when the file is gone. */
static void skip_add(struct up_source *s, const char *name, enum spool_wait wait,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void skip_add(struct up_source *s, const char *name, enum spool_wait wait,
                     const char *fmt, ...)
{
    struct spool *sp = s->priv;
    struct up *u = s->u;
    char path[PATH_MAX + NAME_MAX + 2], what[UP_ERR_MAX];
    struct spool_skip *k = skip_find(sp, name);
    struct stat st;
    va_list ap;

    if (k)
        skip_drop(sp, k);
    path_of(sp, name, path, sizeof(path));
    if (ident(path, &st) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    up_error(u, UP_ERR_IO, "spool file %s %s; left alone until it changes (tried again in %llu s)",
             path, what, UP_SPOOL_RETRY_NS / 1000000000ull);
    if (!(k = calloc(1, sizeof(*k) + strlen(name) + 1)))
        return; /* out of memory: it is tried again at the next scan */
    strcpy(k->name, name);
    k->wait = wait;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    k->size = st.st_size;
    k->ctime = st.st_ctim;
    k->next_try = u->now + UP_SPOOL_RETRY_NS;
    k->seen = sp->scans;
    k->hnext = sp->skips[name_hash(name)];
    sp->skips[name_hash(name)] = k;
    sp->waiting[wait]++;
}

/* Renames |name| (which |what|: "failed for good", ...) to .failed-|name|, which the
 * scanner skips; when that fails the file is left alone. Returns 0 or -errno. */
static int set_aside(struct up_source *s, const char *name, const char *what)
{
    struct spool *sp = s->priv;
    char from[PATH_MAX + NAME_MAX + 2], to[PATH_MAX + NAME_MAX + 16];

    path_of(sp, name, from, sizeof(from));
    snprintf(to, sizeof(to), "%s/.failed-%s", sp->dir, name);
    if (rename(from, to) == 0)
        return 0;
    int e = errno;
    if (e != ENOENT)
        skip_add(s, name, WAIT_ASIDE, "%s but cannot be set aside as .failed-%s: %s", what, name,
                 strerror(e));
    return -e;
}

/* Removes |name| (its upload was acknowledged); when that fails the file is left alone
 * (it would be sent again at every scan). Returns 0 or -errno. */
static int remove_sent(struct up_source *s, const char *name)
{
    char path[PATH_MAX + NAME_MAX + 2];

    path_of(s->priv, name, path, sizeof(path));
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    int e = errno;
    skip_add(s, name, WAIT_REMOVE, "was acknowledged but cannot be removed: %s", strerror(e));
    return -e;
}

/* |name|, left alone as |k|, at a scan: still left alone (true), or to be taken as a new
 * file (false, |k| dropped). Its time come, the pending removal or rename is tried again. */
static bool skip_keeps(struct up_source *s, struct spool_skip *k)
{
    struct spool *sp = s->priv;
    char path[PATH_MAX + NAME_MAX + 2];
    struct stat st;

    k->seen = sp->scans;
    path_of(sp, k->name, path, sizeof(path));
    if (ident(path, &st) != 0 || !same_ident(k, &st)) {
        skip_drop(sp, k); /* changed (or gone): a new file */
        return false;
    }
    if (s->u->now < k->next_try)
        return true;
    switch (k->wait) {
    case WAIT_READ:
        skip_drop(sp, k);
        return false;
    case WAIT_REMOVE:
        if (unlink(path) == 0 || errno == ENOENT)
            skip_drop(sp, k);
        else
            k->next_try = s->u->now + UP_SPOOL_RETRY_NS;
        return true;
    case WAIT_ASIDE:
    default: {
        char to[PATH_MAX + NAME_MAX + 16];
        snprintf(to, sizeof(to), "%s/.failed-%s", sp->dir, k->name);
        if (rename(path, to) == 0 || errno == ENOENT)
            skip_drop(sp, k);
        else
            k->next_try = s->u->now + UP_SPOOL_RETRY_NS;
        return true;
    }
    }
}

/* Forgets the files left alone that this scan did not see (gone). */
static void skip_sweep(struct spool *sp)
{
    for (unsigned i = 0; i < UP_SPOOL_BUCKETS; i++)
        for (struct spool_skip *k = sp->skips[i], *next; k; k = next) {
            next = k->hnext;
            if (k->seen != sp->scans)
                skip_drop(sp, k);
        }
}

/* ---------------------------------------------------------------- taking a file */

static void forget(struct spool *sp, struct spool_file *f)
{
    struct spool_file **pp = &sp->names[name_hash(f->name)];

    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    sp->pending--;
    sp->loaded -= f->loaded;
    free(f);
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

/* A file refused for good before it is sent: set aside and counted. */
static void refuse(struct up_source *s, const char *name, const char *why)
{
    struct spool *sp = s->priv;
    char path[PATH_MAX + NAME_MAX + 2];

    sp->refused++;
    path_of(sp, name, path, sizeof(path));
    if (set_aside(s, name, why) == 0)
        up_error(s->u, UP_ERR_IO, "spool file %s %s; kept as .failed-%s", path, why, name);
}

/* Reads |len| bytes of |fd| into |buf|. Returns the bytes read (fewer: it shrank) or
 * -errno. */
static ssize_t read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads file |name| into a batch and queues it. */
static void load(struct up_source *s, const char *name)
{
    struct spool *sp = s->priv;
    struct up *u = s->u;
    char path[PATH_MAX + NAME_MAX + 2], why[UP_ERR_MAX];
    struct stat st, st2;
    struct spool_file *f = NULL;
    struct up_batch *b = NULL;
    uint8_t *rec;
    size_t len;
    ssize_t got;
    int fd;

    path_of(sp, name, path, sizeof(path));
    fd = bfile_open(path, UP_SPOOL_FILE_MAX, NULL, why, sizeof(why));
    if (fd == -EFBIG) {
        refuse(s, name, "is larger than the largest upload (64 MiB)");
        return;
    }
    if (fd == -EISDIR || fd == -EINVAL)
        return; /* a directory, FIFO, socket or device: not an upload */
    if (fd < 0) {
        struct stat lst;
        /* Gone since the directory was read: nothing to do; a link to nowhere, no
         * permission, an I/O error: left alone. Out of descriptors or memory: later. */
        if ((fd == -ENOENT && lstat(path, &lst) != 0) || fd == -EMFILE || fd == -ENFILE ||
            fd == -ENOMEM)
            return;
        skip_add(s, name, WAIT_READ, "cannot be read: %s", why);
        return;
    }
    if (fstat(fd, &st) != 0)
        goto unreadable;
    len = (size_t)st.st_size;
    if (sp->loaded && sp->loaded + len > UP_SPOOL_LOADED_MAX)
        goto later; /* when the files held now are done */
    /* Room for the framing around it: UP_FRAME_ROOM before, a '\n' after. */
    if (!(b = up_batch_new(u)) || !(b->mem = up_buf_get(u, len + UP_FRAME_ROOM + 1, &b->mem_cap)))
        goto later; /* out of memory: a later scan */
    rec = b->mem + UP_FRAME_ROOM;
    got = read_all(fd, rec, len);
    if (got < 0) {
        snprintf(why, sizeof(why), "cannot read: %s", strerror((int)-got));
        goto unreadable_b;
    }
    /* Written to while it was read (a producer not done with it): a later scan. */
    if ((size_t)got != len || fstat(fd, &st2) != 0 || st2.st_size != st.st_size ||
        st2.st_mtim.tv_sec != st.st_mtim.tv_sec || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
        goto later;
    close(fd);
    fd = -1;
    if (!(f = malloc(sizeof(*f) + strlen(name) + 1)))
        goto later;
    strcpy(f->name, name);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->mtime = st.st_mtim;
    f->loaded = b->mem_cap;
    /* The same file, sent again after a crash, carries the same id. */
    if (stable_id(name, rec, len, b->h_batch, sizeof(b->h_batch)) < 0)
        goto later;
    /* Framed where it lies: as it is, or with the length before it, or a '\n' after it. */
    if (!up_frame_as_is(u->framing, rec, len) && up_frame_size(u->framing, rec, len) == 0) {
        /* newline framing: several lines, or none (empty, or a lone '\n') */
        free(f);
        up_batch_del(u, b);
        refuse(s, name,
               len > 1 ? "holds several lines: not one record for framing newline"
                       : "is an empty line: not one record for framing newline");
        return;
    }
    b->r.body = up_frame_in_place(u->framing, rec, len, &b->r.body_len);
    if (b->r.body_len == 0)
        b->r.body = NULL; /* an empty file (framing none): no body */
    b->src = s;
    b->src_priv = f;
    b->records = 1;
    b->bytes = b->r.body_len;
    if (up_enqueue(u, b) < 0)
        goto later;
    f->hnext = sp->names[name_hash(name)];
    sp->names[name_hash(name)] = f;
    sp->pending++;
    sp->loaded += f->loaded;
    return;

unreadable:
    snprintf(why, sizeof(why), "cannot stat: %s", strerror(errno));
unreadable_b:
    if (b)
        up_batch_del(u, b);
    close(fd);
    skip_add(s, name, WAIT_READ, "cannot be read: %s", why);
    return;
later:
    free(f);
    if (b)
        up_batch_del(u, b);
    if (fd >= 0)
        close(fd);
}

/* Entry |name| of the directory at a scan. */
static void take(struct up_source *s, const char *name)
{
    struct spool *sp = s->priv;
    struct spool_skip *k;

    for (struct spool_file *f = sp->names[name_hash(name)]; f; f = f->hnext)
        if (strcmp(f->name, name) == 0)
            return; /* queued or in flight */
    if ((k = skip_find(sp, name)) && skip_keeps(s, k))
        return;
    if (sp->loaded >= UP_SPOOL_LOADED_MAX)
        return; /* enough in memory: a later scan */
    load(s, name);
}

/* The directory's filesystem: full when less than UP_SPOOL_LOW_BYTES (or 1 % of it) is
 * free for producers, or no inode; room again at twice that. Said once each way. */
static void watch_space(struct up_source *s)
{
    struct spool *sp = s->priv;
    struct statvfs v;

    if (statvfs(sp->dir, &v) != 0)
        return;
    uint64_t size = (uint64_t)v.f_blocks * v.f_frsize;
    uint64_t low = size / 100 < UP_SPOOL_LOW_BYTES ? size / 100 : UP_SPOOL_LOW_BYTES;
    bool no_inode = v.f_files && v.f_favail == 0;
    sp->free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
    if (!sp->full && (sp->free_bytes <= low || no_inode)) {
        sp->full = true;
        /* Said as it happens, whatever else the log's rate limit holds back. */
        UP_LOG(WARNING,
                 "spool directory %s is full (%" PRIu64 " bytes%s free): producers cannot add "
                 "files until uploads make room; %" PRIu64 " files queued or in flight",
                 sp->dir, sp->free_bytes, no_inode ? ", no inode" : "", sp->pending);
    } else if (sp->full && sp->free_bytes > 2 * low && !no_inode) {
        sp->full = false;
        UP_LOG(NOTICE, "spool directory %s has room again (%" PRIu64 " bytes free)", sp->dir,
               sp->free_bytes);
    }
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
    if (!d) {
        /* Removed, renamed, no permission: said once; files are taken again once it is
         * back (in-flight ones finish: their removal finds nothing). */
        if (errno != sp->dir_errno)
            up_error(u, UP_ERR_IO, "spool directory %s: %s: no file is taken until it is back",
                     sp->dir, strerror(errno));
        sp->dir_errno = errno;
        return 0;
    }
    if (sp->dir_errno)
        UP_LOG(NOTICE, "spool directory %s is back", sp->dir);
    sp->dir_errno = 0;
    sp->scans++;
    watch_space(s);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0) ||
            e->d_type == DT_DIR)
            continue;
        take(s, e->d_name);
    }
    closedir(d);
    skip_sweep(sp);
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

/* True when the file under |f|'s name is still the one that was sent: same inode, size and
 * mtime. (A rewrite in place to the same size within the filesystem's timestamp
 * granularity is not seen: producers rename new files in.) */
static bool still_sent(const struct spool *sp, const struct spool_file *f)
{
    char path[PATH_MAX + NAME_MAX + 2];
    struct stat now;

    path_of(sp, f->name, path, sizeof(path));
    if (stat(path, &now) != 0)
        return true; /* gone: nothing else to keep */
    return now.st_dev == f->dev && now.st_ino == f->ino && now.st_size == f->size &&
           now.st_mtim.tv_sec == f->mtime.tv_sec && now.st_mtim.tv_nsec == f->mtime.tv_nsec;
}

static void spool_acked(struct up_source *s, struct up_batch *b)
{
    struct spool *sp = s->priv;
    struct spool_file *f = b->src_priv;

    /* Remove the file that was sent, not one renamed over it or written since (the next
     * scan sends that one). */
    if (still_sent(sp, f))
        remove_sent(s, f->name);
    else
        UP_LOG(NOTICE, "%s/%s was replaced or changed while in flight: the new content is sent",
               sp->dir, f->name);
    forget(sp, f);
}

/* Failed for good: renamed with a ".failed-" prefix (which the scanner skips) for the
 * operator, never deleted. */
static void spool_failed(struct up_source *s, struct up_batch *b)
{
    struct spool *sp = s->priv;
    struct spool_file *f = b->src_priv;

    if (!still_sent(sp, f))
        UP_LOG(WARNING, "%s/%s failed for good but was replaced or changed since: the new "
                        "content is sent",
               sp->dir, f->name);
    else if (set_aside(s, f->name, "failed for good") == 0)
        UP_LOG(WARNING, "%s/%s failed for good: kept as .failed-%s", sp->dir, f->name, f->name);
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

    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:s?}", "dir", sp->dir,
                     "pending", (json_int_t)sp->pending, "loaded_bytes", (json_int_t)sp->loaded,
                     "refused", (json_int_t)sp->refused, "unreadable",
                     (json_int_t)sp->waiting[WAIT_READ], "stuck",
                     (json_int_t)(sp->waiting[WAIT_REMOVE] + sp->waiting[WAIT_ASIDE]), "full",
                     sp->full, "free_bytes",
                     sp->free_bytes == UINT64_MAX ? json_null()
                                                  : json_integer((json_int_t)sp->free_bytes),
                     "error", sp->dir_errno ? strerror(sp->dir_errno) : NULL);
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
