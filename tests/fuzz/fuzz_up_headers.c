/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the headers file parser (upload/up_headers.c): any bytes are a
 * list of fields or are refused with one non-empty line and a negative errno; the fields
 * accepted have valid lower-case names and values without CR, LF or NUL, within the
 * limits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "up_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct up_headers *h = NULL;
    char why[512] = "";
    int rc;

    rc = up_headers_parse((const char *)data, size, "fuzz", &h, why, sizeof(why));
    if (rc < 0) {
        if (h != NULL || why[0] == '\0' || strchr(why, '\n') != NULL)
            abort();
        if (rc != -EINVAL && rc != -EFBIG && rc != -E2BIG && rc != -ENOMEM)
            abort();
        return 0;
    }
    if (rc != 0 || h == NULL || up_headers_count(h) > UP_HEADERS_MAX)
        abort();
    for (size_t i = 0; i < up_headers_count(h); i++) {
        const char *n = up_headers_name(h, i), *v = up_headers_value(h, i);

        if (n == NULL || v == NULL || n[0] == '\0' || n[0] == ':')
            abort();
        for (const char *p = n; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                abort();
        if (strpbrk(v, "\r\n") != NULL || strlen(v) > UP_HEADERS_LINE_MAX)
            abort();
    }
    if (up_headers_name(h, up_headers_count(h)) != NULL)
        abort();
    up_headers_del(h);
    return 0;
}
