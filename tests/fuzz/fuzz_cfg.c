/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: any file content makes cfg_load() return 0 or -1 with a
 * one-line message, never crash, leak or read out of bounds; what it accepts
 * survives cfg_dump() and loads back identically.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes |len| bytes into a fresh memfd and names it through /proc. */
static int memfile(const void *buf, size_t len, char *path, size_t pathlen)
{
    int fd = memfd_create("h3dp-cfg-fuzz", 0);

    if (fd < 0)
        return -1;
    if (len > 0 && write(fd, buf, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cfg c, again;
    char path[64], path2[64];
    char err[512];
    char *dump = NULL;
    size_t dumplen = 0;
    FILE *f;
    int fd, fd2;

    fd = memfile(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (cfg_load(path, &c, err, sizeof(err)) != 0) {
        if (strchr(err, '\n') != NULL || err[0] == '\0')
            abort(); /* the contract: exactly one non-empty line */
        close(fd);
        return 0;
    }
    close(fd);
    f = open_memstream(&dump, &dumplen);
    if (f == NULL)
        return 0;
    if (cfg_dump(&c, f) != 0)
        abort();
    fclose(f);
    fd2 = memfile(dump, dumplen, path2, sizeof(path2));
    if (fd2 >= 0) {
        if (cfg_load(path2, &again, err, sizeof(err)) != 0 || memcmp(&c, &again, sizeof(c)) != 0)
            abort(); /* an accepted file must round-trip */
        close(fd2);
    }
    free(dump);
    return 0;
}
