/* dp_log: the dataplane runtime's log type (user.h3dp.dataplane) and its macros.
 * DP_LOG is for setup, teardown and the slow path; DP_LOG_DP compiles out above
 * RTE_LOG_DP_LEVEL and is the only one allowed on the hot path (DEBUG at most). */
#ifndef H3DP_DP_LOG_H
#define H3DP_DP_LOG_H

#include <rte_log.h>

extern int dp_logtype;

#define DP_LOG(level, fmt, ...)                                                                    \
    rte_log(RTE_LOG_##level, dp_logtype, "dataplane: " fmt "\n", ##__VA_ARGS__)
#define DP_LOG_DP(level, fmt, ...)                                                                 \
    do {                                                                                           \
        if (RTE_LOG_##level <= RTE_LOG_DP_LEVEL)                                                   \
            DP_LOG(level, fmt, ##__VA_ARGS__);                                                     \
    } while (0)

#endif
