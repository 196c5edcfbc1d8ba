/* d_log.c: the daemon's log type, user.h3dp.daemon (the name comes from meson). */
#include "d_log.h"

RTE_LOG_REGISTER_DEFAULT(h3dpd_logtype, INFO);
