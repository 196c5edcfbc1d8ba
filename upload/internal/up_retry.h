/* up_retry: what a collector says about when to retry (RFC 9110 §10.2.3 Retry-After). */
#ifndef H3DP_UP_RETRY_H
#define H3DP_UP_RETRY_H

#include <stdint.h>
#include <time.h>

#define UP_RETRY_AFTER_MAX_S 3600 /* a collector's Retry-After is honoured up to an hour */

/* Parses a Retry-After field value |v|: delay-seconds (1*DIGIT) or an HTTP-date in the
 * preferred IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"), relative to the wall
 * clock |now| (seconds since the epoch). Returns the delay in nanoseconds, clamped to
 * 0..UP_RETRY_AFTER_MAX_S seconds (a date in the past is 0), or -1 when |v| is empty or
 * neither form (the caller then uses its own back-off). */
int64_t up_retry_after_ns(const char *v, time_t now);

#endif
