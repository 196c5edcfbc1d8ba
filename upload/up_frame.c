/* up_frame.c: record framing — how records are delimited in a request body, so that a
 * collector can split them: one per line (newline, NDJSON), a 4-byte big-endian length
 * before each (length), or back to back (none, for formats whose concatenation is itself
 * valid). The framing in force is sent as h3dp-framing (docs/UPLOAD.md). */
#include <string.h>

#include "up_int.h"

#define UP_LEN_PREFIX 4 /* bytes of the length framing's prefix */

_Static_assert(UP_FRAME_ROOM >= UP_LEN_PREFIX, "room for the prefix");

size_t up_frame_size(enum up_framing f, const uint8_t *rec, size_t len)
{
    switch (f) {
    case UP_FRAMING_NEWLINE:
        /* A newline inside would make two records of one, an empty record an empty line
         * (which a line-splitting collector skips or refuses): refused, never sent. */
        if (len == 0 || (len == 1 && rec[0] == '\n') || memchr(rec, '\n', len - 1))
            return 0;
        return len && rec[len - 1] == '\n' ? len : len + 1;
    case UP_FRAMING_LENGTH:
        return len > UINT32_MAX ? 0 : len + UP_LEN_PREFIX;
    case UP_FRAMING_NONE:
    default:
        return len;
    }
}

void up_frame_put(enum up_framing f, uint8_t *dst, const uint8_t *rec, size_t len)
{
    switch (f) {
    case UP_FRAMING_NEWLINE:
        memcpy(dst, rec, len);
        if (!len || rec[len - 1] != '\n')
            dst[len] = '\n';
        break;
    case UP_FRAMING_LENGTH:
        dst[0] = (uint8_t)(len >> 24);
        dst[1] = (uint8_t)(len >> 16);
        dst[2] = (uint8_t)(len >> 8);
        dst[3] = (uint8_t)len;
        memcpy(dst + UP_LEN_PREFIX, rec, len);
        break;
    case UP_FRAMING_NONE:
    default:
        memcpy(dst, rec, len);
        break;
    }
}

uint8_t *up_frame_in_place(enum up_framing f, uint8_t *rec, size_t len, size_t *flen)
{
    *flen = up_frame_size(f, rec, len);
    if (f == UP_FRAMING_LENGTH) {
        uint8_t *p = rec - UP_LEN_PREFIX;
        p[0] = (uint8_t)(len >> 24);
        p[1] = (uint8_t)(len >> 16);
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        return p;
    }
    if (*flen > len)
        rec[len] = '\n';
    return rec;
}

bool up_frame_as_is(enum up_framing f, const uint8_t *rec, size_t len)
{
    return f == UP_FRAMING_NONE ||
           (f == UP_FRAMING_NEWLINE && len > 1 && rec[len - 1] == '\n' &&
            !memchr(rec, '\n', len - 1));
}

const char *up_framing_name(enum up_framing f)
{
    return f == UP_FRAMING_NEWLINE ? "newline" : f == UP_FRAMING_LENGTH ? "length" : "none";
}
