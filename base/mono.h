/* mono.h: the one time source of h3dp — CLOCK_MONOTONIC in nanoseconds.
 *
 * Loops read it once per iteration and pass |now| down; modules below the loops take time
 * as an argument and never read a clock themselves (the h3 driver and the dataplane's
 * packet modules are clock-free; the DPDK lcore loops use the TSC, which they convert to
 * the same nanosecond scale). */
#ifndef H3DP_MONO_H
#define H3DP_MONO_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary fixed point (boot); never goes back. */
static inline uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
