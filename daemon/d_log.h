/* d_log: the daemon's log type (user.h3dp.daemon, registered in d_log.c) and its macro.
 * Every line goes through rte_log: its level filter (--log-level=user.h3dp.daemon:debug in
 * [eal] args) and its stream (stdout once EAL is up, stderr before or in kernel mode). */
#ifndef H3DP_D_LOG_H
#define H3DP_D_LOG_H

#include <rte_log.h>

extern int h3dpd_logtype;

#define D_LOG(level, fmt, ...)                                                                     \
    rte_log(RTE_LOG_##level, h3dpd_logtype, "h3dpd: " fmt "\n", ##__VA_ARGS__)

#endif
