/* SPDX-License-Identifier: MIT */
/*
 * bfile: small input files (the configuration, PEM files, the headers file) read whole,
 * bounded and typed. A path that names a FIFO, a device, a directory or a file over the
 * caller's limit is refused at once, before a byte is read: /dev/zero or a FIFO never
 * hangs the reader, a 1 GiB file is never read.
 */
#ifndef H3DP_BFILE_H
#define H3DP_BFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * bfile_open opens |path| read-only without blocking (a FIFO does not wait for a writer)
 * and checks that it is a regular file of at most |max| bytes. |st_mode| (may be NULL)
 * receives its mode.
 *
 * Returns the open descriptor, or a negative errno with a one-line reason (without the
 * path) in |why|: the open's own error (-ENOENT, -EACCES, ...), -EISDIR (a directory),
 * -EINVAL (a FIFO, socket or device), -EFBIG (over |max|).
 */
int bfile_open(const char *path, size_t max, mode_t *st_mode, char *why, size_t whylen);

/*
 * bfile_read reads the regular file |path| of at most |max| bytes (bfile_open) into a new
 * buffer |*buf| of |*len| bytes plus a NUL; the caller frees it (explicit_bzero first when
 * it held secrets). A file that grows past |max| while it is read is refused too.
 *
 * Returns 0, or a negative errno with a one-line reason (without the path) in |why|: those
 * of bfile_open, -EIO and read's own errors, -ENOMEM.
 */
int bfile_read(const char *path, size_t max, char **buf, size_t *len, char *why, size_t whylen);

/* bfile_read over an open descriptor (from bfile_open); does not close |fd|. */
int bfile_read_fd(int fd, size_t max, char **buf, size_t *len, char *why, size_t whylen);

/* What a file of mode |m| is, for messages: "a directory", "a FIFO", "a character
 * device", ... ("a regular file" for one). */
const char *bfile_kind(mode_t m);

#endif /* H3DP_BFILE_H */
