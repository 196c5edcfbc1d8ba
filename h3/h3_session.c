/*
 * h3_session.c: the session ticket store for resumption and 0-RTT (struct
 * h3_session_cache, see h3.h) and its files.
 *
 * A small array of entries under one mutex: the lock is taken when a connection is
 * created (h3_session_take) and when it receives a ticket (h3_session_put), never per
 * packet. Lookups scan the array: it holds at most max_servers (64 by default) entries.
 *
 * File format (one server per file, all integers big-endian):
 *   "H3DPSES1"  u16 key_len  u16 tp_len  u32 ticket_len  key  tp  ticket
 *   u64 FNV-1a of everything before it
 * named "h3s-<FNV-1a of the key, 16 hex digits>.session". Not a security boundary: the
 * checksum only catches damage; the file's mode (0600, the caller's own) keeps the
 * resumption secret in the ticket from other users.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h3_int.h"

#define FILE_MAGIC     "H3DPSES1"
#define FILE_MAGIC_LEN 8
#define FILE_HDR_LEN   (FILE_MAGIC_LEN + 2 + 2 + 4)
#define FILE_SUM_LEN   8
#define FILE_PREFIX    "h3s-"
#define FILE_SUFFIX    ".session"
#define FILE_NAME_MAX  64
#define FILE_MAX                                                                                   \
    (FILE_HDR_LEN + H3_SESSION_KEY_MAX + H3_SESSION_TP_MAX + H3_SESSION_TICKET_MAX + FILE_SUM_LEN)

struct h3_session_entry {
    bool used;
    char key[H3_SESSION_KEY_MAX];
    uint8_t *ticket;
    size_t ticket_len;
    uint8_t tp[H3_SESSION_TP_MAX];
    size_t tp_len;
    uint64_t seq; /* when it was stored: the smallest is evicted first */
};

struct h3_session_cache {
    pthread_mutex_t lock;
    size_t max;
    uint64_t seq;
    struct h3_session_cache_stats st;
    struct h3_session_entry *e;
};

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#define FNV_INIT 14695981039346656037ULL

struct h3_session_cache *h3_session_cache_new(size_t max_servers)
{
    struct h3_session_cache *sc = calloc(1, sizeof(*sc));

    if (!sc)
        return NULL;
    sc->max = max_servers ? max_servers : H3_SESSION_CACHE_MAX_DEFAULT;
    sc->e = calloc(sc->max, sizeof(*sc->e));
    if (!sc->e || pthread_mutex_init(&sc->lock, NULL) != 0) {
        free(sc->e);
        free(sc);
        return NULL;
    }
    return sc;
}

static void entry_clear(struct h3_session_entry *e)
{
    free(e->ticket);
    memset(e, 0, sizeof(*e));
}

void h3_session_cache_del(struct h3_session_cache *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->max; i++)
        entry_clear(&sc->e[i]);
    pthread_mutex_destroy(&sc->lock);
    free(sc->e);
    free(sc);
}

void h3_session_cache_stats(struct h3_session_cache *sc, struct h3_session_cache_stats *st)
{
    pthread_mutex_lock(&sc->lock);
    *st = sc->st;
    st->entries = 0;
    for (size_t i = 0; i < sc->max; i++)
        st->entries += sc->e[i].used;
    pthread_mutex_unlock(&sc->lock);
}

const char *h3_early_data_str(enum h3_early_data e)
{
    switch (e) {
    case H3_EARLY_NOT_ATTEMPTED:
        return "not attempted";
    case H3_EARLY_PENDING:
        return "pending";
    case H3_EARLY_ACCEPTED:
        return "accepted";
    case H3_EARLY_REJECTED:
        return "rejected";
    }
    return "?";
}

static struct h3_session_entry *find(struct h3_session_cache *sc, const char *key)
{
    for (size_t i = 0; i < sc->max; i++)
        if (sc->e[i].used && strcmp(sc->e[i].key, key) == 0)
            return &sc->e[i];
    return NULL;
}

/* A free slot, else the oldest entry (evicted). Called with the lock held. */
static struct h3_session_entry *slot(struct h3_session_cache *sc)
{
    struct h3_session_entry *old = &sc->e[0];

    for (size_t i = 0; i < sc->max; i++) {
        if (!sc->e[i].used)
            return &sc->e[i];
        if (sc->e[i].seq < old->seq)
            old = &sc->e[i];
    }
    entry_clear(old);
    sc->st.evicted++;
    return old;
}

/* Store under the lock; |ticket| is taken over (freed on failure). */
static void store(struct h3_session_cache *sc, const char *key, uint8_t *ticket, size_t ticket_len,
                  const uint8_t *tp, size_t tp_len, bool keep_newer)
{
    struct h3_session_entry *e = find(sc, key);

    if (e && keep_newer) {
        free(ticket);
        return;
    }
    if (e)
        entry_clear(e);
    else
        e = slot(sc);
    e->used = true;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->ticket = ticket;
    e->ticket_len = ticket_len;
    memcpy(e->tp, tp, tp_len);
    e->tp_len = tp_len;
    e->seq = ++sc->seq;
}

bool h3_session_key(const char *name, const struct sockaddr *remote, const char *ca_file,
                    bool insecure, const char *cert_file, char *key, size_t len)
{
    unsigned port = 0;
    const char *ca = ca_file ? ca_file : "", *cert = cert_file ? cert_file : "";
    uint64_t id = FNV_INIT;

    if (remote->sa_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)remote)->sin_port);
    else if (remote->sa_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)remote)->sin6_port);
    /* The NULs keep the fields apart: ("ab", "") and ("a", "b") differ. */
    id = fnv1a(id, (const uint8_t *)ca, strlen(ca) + 1);
    id = fnv1a(id, (const uint8_t *)(insecure ? "1" : "0"), 2);
    id = fnv1a(id, (const uint8_t *)cert, strlen(cert) + 1);
    int n = snprintf(key, len, "%s|%u|%016" PRIx64, name, port, id);
    return n > 0 && (size_t)n < len;
}

/* The most recent entry of server |prefix| ("<name>|<port>|"), whatever the TLS identity:
 * a program with one configuration (h3client) has at most one. Called with the lock held. */
static struct h3_session_entry *find_server(struct h3_session_cache *sc, const char *prefix)
{
    struct h3_session_entry *best = NULL;
    size_t n = strlen(prefix);

    for (size_t i = 0; i < sc->max; i++)
        if (sc->e[i].used && strncmp(sc->e[i].key, prefix, n) == 0 &&
            (!best || sc->e[i].seq > best->seq))
            best = &sc->e[i];
    return best;
}

bool h3_session_take(struct h3_session_cache *sc, const char *key, uint8_t **ticket,
                     size_t *ticket_len, uint8_t *tp, size_t *tp_len)
{
    struct h3_session_entry *e;

    pthread_mutex_lock(&sc->lock);
    e = find(sc, key);
    if (e) {
        *ticket = e->ticket; /* handed over: single use */
        *ticket_len = e->ticket_len;
        memcpy(tp, e->tp, e->tp_len);
        *tp_len = e->tp_len;
        e->ticket = NULL;
        entry_clear(e);
        sc->st.taken++;
    }
    pthread_mutex_unlock(&sc->lock);
    return e != NULL;
}

void h3_session_put(struct h3_session_cache *sc, const char *key, const uint8_t *ticket,
                    size_t ticket_len, const uint8_t *tp, size_t tp_len)
{
    uint8_t *copy;

    if (ticket_len == 0 || ticket_len > H3_SESSION_TICKET_MAX || tp_len > H3_SESSION_TP_MAX ||
        strlen(key) >= H3_SESSION_KEY_MAX)
        return;
    copy = malloc(ticket_len); /* outside the lock */
    if (!copy)
        return;
    memcpy(copy, ticket, ticket_len);
    pthread_mutex_lock(&sc->lock);
    store(sc, key, copy, ticket_len, tp, tp_len, false);
    sc->st.stored++;
    pthread_mutex_unlock(&sc->lock);
}

/* ------------------------------------------------------------------ files */

static void file_name(const char *key, char *name, size_t len)
{
    snprintf(name, len, FILE_PREFIX "%016" PRIx64 FILE_SUFFIX,
             fnv1a(FNV_INIT, (const uint8_t *)key, strlen(key)));
}

static bool is_our_file(const char *name)
{
    size_t n = strlen(name), pl = strlen(FILE_PREFIX), sl = strlen(FILE_SUFFIX);

    if (n != pl + 16 + sl || strncmp(name, FILE_PREFIX, pl) != 0 ||
        strcmp(name + n - sl, FILE_SUFFIX) != 0)
        return false;
    for (size_t i = pl; i < pl + 16; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return false;
    return true;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Write one entry to |dir|/|fname| (NULL: its own name) through a temporary file. */
static bool save_one(int dfd, const struct h3_session_entry *e, uint8_t *buf, const char *fname)
{
    char name[FILE_NAME_MAX], tmp[NAME_MAX + 1];
    size_t kl = strlen(e->key), n = 0;
    static unsigned tmp_seq;

    memcpy(buf, FILE_MAGIC, FILE_MAGIC_LEN);
    n = FILE_MAGIC_LEN;
    put_be(buf + n, kl, 2);
    put_be(buf + n + 2, e->tp_len, 2);
    put_be(buf + n + 4, e->ticket_len, 4);
    n += 8;
    memcpy(buf + n, e->key, kl);
    n += kl;
    memcpy(buf + n, e->tp, e->tp_len);
    n += e->tp_len;
    memcpy(buf + n, e->ticket, e->ticket_len);
    n += e->ticket_len;
    put_be(buf + n, fnv1a(FNV_INIT, buf, n), 8);
    n += FILE_SUM_LEN;

    file_name(e->key, name, sizeof(name));
    if (!fname)
        fname = name;
    snprintf(tmp, sizeof(tmp), ".h3s.%ld.%u.tmp", (long)getpid(),
             __atomic_add_fetch(&tmp_seq, 1, __ATOMIC_RELAXED));
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = write_all(fd, buf, n) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || renameat(dfd, tmp, dfd, fname) != 0) {
        unlinkat(dfd, tmp, 0);
        return false;
    }
    return true;
}

int h3_session_cache_save(struct h3_session_cache *sc, const char *dir)
{
    struct h3_session_entry *snap;
    size_t n = 0;
    int written = 0;
    uint64_t errors = 0;
    uint8_t *buf;

    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return H3_ERR_FILE;
    snap = calloc(sc->max, sizeof(*snap));
    buf = malloc(FILE_MAX);
    if (!snap || !buf) {
        free(snap);
        free(buf);
        close(dfd);
        return H3_ERR_NOMEM;
    }
    /* Copy under the lock, write without it. */
    pthread_mutex_lock(&sc->lock);
    for (size_t i = 0; i < sc->max; i++) {
        if (!sc->e[i].used)
            continue;
        snap[n] = sc->e[i];
        snap[n].ticket = malloc(sc->e[i].ticket_len);
        if (!snap[n].ticket)
            continue;
        memcpy(snap[n].ticket, sc->e[i].ticket, sc->e[i].ticket_len);
        n++;
    }
    pthread_mutex_unlock(&sc->lock);

    for (size_t i = 0; i < n; i++) {
        if (save_one(dfd, &snap[i], buf, NULL))
            written++;
        else
            errors++;
    }
    /* Files of servers without an entry: their ticket was used (or evicted). */
    DIR *d = fdopendir(dup(dfd));
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            bool keep = false;
            if (!is_our_file(de->d_name))
                continue;
            for (size_t i = 0; i < n && !keep; i++) {
                char name[FILE_NAME_MAX];
                file_name(snap[i].key, name, sizeof(name));
                keep = strcmp(name, de->d_name) == 0;
            }
            if (!keep)
                unlinkat(dfd, de->d_name, 0);
        }
        closedir(d);
    }
    for (size_t i = 0; i < n; i++)
        free(snap[i].ticket);
    free(snap);
    free(buf);
    close(dfd);
    pthread_mutex_lock(&sc->lock);
    sc->st.saved += (uint64_t)written;
    sc->st.save_errors += errors;
    pthread_mutex_unlock(&sc->lock);
    return written;
}

/* Read and check one file; on success the entry's fields are filled and its ticket
 * malloc'ed. */
static bool load_one(int dfd, const char *name, struct h3_session_entry *e, uint8_t *buf,
                     bool check_name)
{
    struct stat st;
    size_t n = 0;
    bool ok = false;

    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) || st.st_size < FILE_HDR_LEN + FILE_SUM_LEN ||
        st.st_size > (off_t)FILE_MAX)
        goto out;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        n += (size_t)r;
    }
    size_t kl = get_be(buf + 8, 2), tl = get_be(buf + 10, 2), sl = get_be(buf + 12, 4);
    if (memcmp(buf, FILE_MAGIC, FILE_MAGIC_LEN) != 0 || kl == 0 || kl >= H3_SESSION_KEY_MAX ||
        tl > H3_SESSION_TP_MAX || sl == 0 || sl > H3_SESSION_TICKET_MAX ||
        FILE_HDR_LEN + kl + tl + sl + FILE_SUM_LEN != n ||
        get_be(buf + n - FILE_SUM_LEN, 8) != fnv1a(FNV_INIT, buf, n - FILE_SUM_LEN) ||
        memchr(buf + FILE_HDR_LEN, '\0', kl))
        goto out;
    memcpy(e->key, buf + FILE_HDR_LEN, kl);
    e->key[kl] = '\0';
    char want[FILE_NAME_MAX];
    file_name(e->key, want, sizeof(want));
    if (check_name && strcmp(want, name) != 0) /* renamed, or another server's */
        goto out;
    memcpy(e->tp, buf + FILE_HDR_LEN + kl, tl);
    e->tp_len = tl;
    e->ticket = malloc(sl);
    if (!e->ticket)
        goto out;
    memcpy(e->ticket, buf + FILE_HDR_LEN + kl + tl, sl);
    e->ticket_len = sl;
    ok = true;
out:
    close(fd);
    return ok;
}

int h3_session_cache_load(struct h3_session_cache *sc, const char *dir)
{
    struct h3_session_entry e;
    uint64_t loaded = 0, rejected = 0;
    struct dirent *de;
    uint8_t *buf;

    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return H3_ERR_FILE;
    DIR *d = fdopendir(dup(dfd));
    buf = malloc(FILE_MAX);
    if (!d || !buf) {
        if (d)
            closedir(d);
        free(buf);
        close(dfd);
        return d ? H3_ERR_NOMEM : H3_ERR_FILE;
    }
    while ((de = readdir(d))) {
        if (!is_our_file(de->d_name))
            continue;
        memset(&e, 0, sizeof(e));
        if (!load_one(dfd, de->d_name, &e, buf, true)) {
            rejected++;
            continue;
        }
        pthread_mutex_lock(&sc->lock);
        store(sc, e.key, e.ticket, e.ticket_len, e.tp, e.tp_len, true);
        pthread_mutex_unlock(&sc->lock);
        loaded++;
    }
    closedir(d);
    close(dfd);
    free(buf);
    pthread_mutex_lock(&sc->lock);
    sc->st.loaded += loaded;
    sc->st.load_rejected += rejected;
    pthread_mutex_unlock(&sc->lock);
    return (int)loaded;
}

/* |path| split into an open directory and the file's name in it. */
static int open_parent(const char *path, char *base, size_t len)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];

    if (slash) {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + (slash == path), path);
        path = slash + 1;
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    if (!*path || strlen(path) >= len)
        return -1;
    snprintf(base, len, "%s", path);
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int h3_session_cache_save_file(struct h3_session_cache *sc, const char *path, const char *name,
                               uint16_t port)
{
    struct h3_session_entry e = {0}, *f;
    char base[NAME_MAX + 1], prefix[H3_SESSION_KEY_MAX];
    int rv = 0;
    uint8_t *buf;

    int n = snprintf(prefix, sizeof(prefix), "%s|%u|", name ? name : "", (unsigned)port);
    if (!name || !*name || n <= 0 || (size_t)n >= sizeof(prefix) - 16)
        return H3_ERR_INVAL;
    int dfd = open_parent(path, base, sizeof(base));
    if (dfd < 0)
        return H3_ERR_FILE;
    pthread_mutex_lock(&sc->lock);
    f = find_server(sc, prefix);
    if (f && (e.ticket = malloc(f->ticket_len))) {
        snprintf(e.key, sizeof(e.key), "%s", f->key);
        memcpy(e.ticket, f->ticket, f->ticket_len);
        e.ticket_len = f->ticket_len;
        memcpy(e.tp, f->tp, f->tp_len);
        e.tp_len = f->tp_len;
    }
    pthread_mutex_unlock(&sc->lock);
    if (!e.ticket) {
        /* None (used and not replaced): the file must not offer it again. */
        if (unlinkat(dfd, base, 0) != 0 && errno != ENOENT)
            rv = H3_ERR_FILE;
    } else if ((buf = malloc(FILE_MAX))) {
        rv = save_one(dfd, &e, buf, base) ? 1 : H3_ERR_FILE;
        free(buf);
    } else {
        rv = H3_ERR_NOMEM;
    }
    free(e.ticket);
    close(dfd);
    pthread_mutex_lock(&sc->lock);
    if (rv == 1)
        sc->st.saved++;
    else if (rv < 0)
        sc->st.save_errors++;
    pthread_mutex_unlock(&sc->lock);
    return rv;
}

int h3_session_cache_load_file(struct h3_session_cache *sc, const char *path)
{
    struct h3_session_entry e = {0};
    char base[NAME_MAX + 1];
    uint8_t *buf = malloc(FILE_MAX);
    bool ok = false;

    int dfd = open_parent(path, base, sizeof(base));
    if (dfd >= 0 && faccessat(dfd, base, F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        close(dfd); /* none yet: not an error */
        free(buf);
        return 0;
    }
    if (buf && dfd >= 0)
        ok = load_one(dfd, base, &e, buf, false);
    if (dfd >= 0)
        close(dfd);
    free(buf);
    pthread_mutex_lock(&sc->lock);
    if (ok) {
        store(sc, e.key, e.ticket, e.ticket_len, e.tp, e.tp_len, true);
        sc->st.loaded++;
    } else {
        sc->st.load_rejected++;
    }
    pthread_mutex_unlock(&sc->lock);
    return ok ? 1 : 0;
}
