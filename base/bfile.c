/* SPDX-License-Identifier: MIT */
/* bfile.c: bounded reads of small input files (see bfile.h). */
#include "bfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *why, size_t whylen, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int rv, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

const char *bfile_kind(mode_t m)
{
    if (S_ISREG(m))
        return "a regular file";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    return "not a file";
}

int bfile_open(const char *path, size_t max, mode_t *st_mode, char *why, size_t whylen)
{
    struct stat st;
    int fd, rv;

    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rv = -errno;
        return fail(why, whylen, rv, "cannot open: %s", strerror(-rv));
    }
    if (fstat(fd, &st) != 0) {
        rv = -errno;
        fail(why, whylen, rv, "cannot stat: %s", strerror(-rv));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = fail(why, whylen, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
                  "not a regular file (%s)", bfile_kind(st.st_mode));
        goto fail;
    }
    if ((unsigned long long)st.st_size > max) {
        rv = fail(why, whylen, -EFBIG, "larger than %zu bytes", max);
        goto fail;
    }
    if (st_mode)
        *st_mode = st.st_mode;
    return fd;
fail:
    close(fd);
    return rv;
}

int bfile_read_fd(int fd, size_t max, char **buf, size_t *len, char *why, size_t whylen)
{
    struct stat st;
    size_t cap, got = 0;
    char *b, *nb;
    int rv;

    *buf = NULL;
    *len = 0;
    /* The size it has now, plus one byte to see it grow (then the buffer grows too, up to
     * one byte over |max|): a small file costs a small buffer. */
    cap = fstat(fd, &st) == 0 && (unsigned long long)st.st_size < max ? (size_t)st.st_size + 1
                                                                          : max + 1;
    b = malloc(cap + 1);
    if (!b)
        return fail(why, whylen, -ENOMEM, "out of memory");
    for (;;) {
        ssize_t r;

        if (got == cap) {
            if (cap > max)
                break; /* read one byte over: too large */
            cap = cap > max / 2 ? max + 1 : 2 * cap;
            /* Not realloc: the old copy may hold secrets (a key, the headers file). */
            if (!(nb = malloc(cap + 1))) {
                rv = fail(why, whylen, -ENOMEM, "out of memory");
                goto fail;
            }
            memcpy(nb, b, got);
            explicit_bzero(b, got);
            free(b);
            b = nb;
        }
        r = read(fd, b + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rv = -errno;
            fail(why, whylen, rv, "cannot read: %s", strerror(-rv));
            goto fail;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got > max) {
        rv = fail(why, whylen, -EFBIG, "larger than %zu bytes", max); /* it grew */
        goto fail;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
fail:
    explicit_bzero(b, got);
    free(b);
    return rv;
}

int bfile_read(const char *path, size_t max, char **buf, size_t *len, char *why, size_t whylen)
{
    int fd = bfile_open(path, max, NULL, why, whylen);
    int rv;

    *buf = NULL;
    *len = 0;
    if (fd < 0)
        return fd;
    rv = bfile_read_fd(fd, max, buf, len, why, whylen);
    close(fd);
    return rv;
}
