/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Retry-After parser (upload/up_retry.c): any field value gives
 * -1 or a delay within 0..UP_RETRY_AFTER_MAX_S seconds, at any wall clock time.
 *
 * The input: bytes 0..3 are the wall clock (seconds since the epoch, 1970..2106: what
 * time(NULL) gives on a working system), the rest is the field value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "up_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t now32;
    int64_t ns;
    char *v;

    if (size < sizeof(now32) || size > 4096)
        return 0;
    memcpy(&now32, data, sizeof(now32));
    v = malloc(size - sizeof(now32) + 1);
    if (!v)
        return 0;
    memcpy(v, data + sizeof(now32), size - sizeof(now32));
    v[size - sizeof(now32)] = '\0';
    ns = up_retry_after_ns(v, (time_t)now32);
    if (ns != -1 && (ns < 0 || ns > (int64_t)UP_RETRY_AFTER_MAX_S * 1000000000))
        abort();
    /* Today's clock too: the common case, where dates in the seeds are near. */
    ns = up_retry_after_ns(v, (time_t)1800000000);
    if (ns != -1 && (ns < 0 || ns > (int64_t)UP_RETRY_AFTER_MAX_S * 1000000000))
        abort();
    free(v);
    return 0;
}
