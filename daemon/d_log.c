/* d_log.c: the daemon's log type, user.h3dp.daemon (the name comes from meson), and the
 * writer of every log line (see d_log.h). */
#include "d_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"

RTE_LOG_REGISTER_DEFAULT(h3dpd_logtype, INFO);

/* A line's prefix: "2025-06-02T09:14:03.512Z WARNING " at most. */
#define D_LOG_PREFIX_MAX 48
/* The stream's buffer: one message is one write (longer ones are cut into several). */
#define D_LOG_BUF 16384

static const char *const level_word[] = {"LOG",     "EMERG",  "ALERT", "CRIT", "ERROR",
                                         "WARNING", "NOTICE", "INFO",  "DEBUG"};

static struct {
    FILE *f;
    int fd;
    atomic_bool timestamps; /* changed by SIGHUP while other threads may log */
    bool journal;
    bool bol; /* the next byte starts a line */
    char buf[D_LOG_BUF];
} L = {.fd = -1};

/* The prefix of a line at the level of the message being written. */
static size_t prefix(char *out, size_t cap)
{
    int lvl = rte_log_cur_msg_loglevel();
    size_t n = 0;

    if (lvl < 1 || lvl > (int)RTE_LOG_DEBUG)
        lvl = RTE_LOG_INFO;
    if (L.journal) /* sd-daemon(3): <N> with the syslog priority, RTE_LOG_EMERG is 1 */
        return (size_t)snprintf(out, cap, "<%d>", lvl - 1);
    if (atomic_load_explicit(&L.timestamps, memory_order_relaxed)) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(out + n, cap - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += (size_t)snprintf(out + n, cap - n, "%s ", level_word[lvl]);
    return n;
}

static int write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(L.fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The stream's write: every line gets its prefix; one write(2) per call when it fits. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
    char out[D_LOG_BUF + 64 * D_LOG_PREFIX_MAX];
    size_t n = 0, i = 0;
    (void)cookie;

    while (i < size) {
        if (L.bol) {
            if (n + D_LOG_PREFIX_MAX > sizeof(out)) {
                if (write_all(out, n) < 0)
                    return -1;
                n = 0;
            }
            n += prefix(out + n, D_LOG_PREFIX_MAX);
            L.bol = false;
        }
        const char *nl = memchr(buf + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (buf + i)) + 1 : size - i;
        if (n + len > sizeof(out)) {
            if (write_all(out, n) < 0 || write_all(buf + i, len) < 0)
                return -1;
            n = 0;
        } else {
            memcpy(out + n, buf + i, len);
            n += len;
        }
        i += len;
        L.bol = nl != NULL;
    }
    if (n && write_all(out, n) < 0)
        return -1;
    return (ssize_t)size;
}

/* $JOURNAL_STREAM is "DEVICE:INODE" of the journal's stream when systemd connected it. */
static bool is_journal(int fd)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int d_log_open(int fd, bool timestamps)
{
    static const cookie_io_functions_t io = {.write = log_write};
    FILE *f;

    d_log_close();
    f = fopencookie(NULL, "w", io);
    if (!f)
        return -errno;
    setvbuf(f, L.buf, _IOFBF, sizeof(L.buf));
    L.fd = fd;
    L.journal = is_journal(fd);
    atomic_store(&L.timestamps, timestamps && !L.journal);
    L.bol = true;
    L.f = f;
    if (rte_openlog_stream(f) != 0) {
        fclose(f);
        L.f = NULL;
        return -EINVAL;
    }
    return 0;
}

void d_log_apply(const struct cfg_log *l)
{
    for (unsigned i = 0; i < CFG_LOG_MODULES; i++) {
        char type[64];
        snprintf(type, sizeof(type), "user.h3dp.%s", cfg_log_module(i));
        rte_log_set_level_pattern(type, l->modules[i] ? l->modules[i] : l->level);
    }
    atomic_store(&L.timestamps, l->timestamps && !L.journal);
}

bool d_log_journal(void)
{
    return L.journal;
}

void d_log_close(void)
{
    if (!L.f)
        return;
    rte_openlog_stream(NULL);
    fclose(L.f);
    L.f = NULL;
}
