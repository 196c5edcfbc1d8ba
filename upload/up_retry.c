/* up_retry.c: Retry-After (see up_retry.h). */
#include <string.h>
#include <time.h>

#include "up_retry.h"

int64_t up_retry_after_ns(const char *v, time_t now)
{
    uint64_t s = 0;

    if (!*v)
        return -1;
    if (*v >= '0' && *v <= '9') {
        for (; *v >= '0' && *v <= '9'; v++)
            if ((s = s * 10 + (uint64_t)(*v - '0')) > UP_RETRY_AFTER_MAX_S)
                s = UP_RETRY_AFTER_MAX_S + 1; /* saturate: no overflow on long input */
        if (*v)
            return -1;
    } else {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        /* strptime accepts a one-digit day or spaces the RFC does not: check the length
         * of the fixed-width form first ("Sun, 06 Nov 1994 08:49:37 GMT" is 29 bytes). */
        if (strlen(v) != 29)
            return -1;
        const char *e = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!e || *e)
            return -1;
        time_t at = timegm(&tm);
        s = at > now ? (uint64_t)(at - now) : 0;
    }
    if (s > UP_RETRY_AFTER_MAX_S)
        s = UP_RETRY_AFTER_MAX_S;
    return (int64_t)(s * 1000000000ull);
}
