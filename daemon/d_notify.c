/* d_notify: sd_notify for a Type=notify service (see d_notify.h). */
#include "d_notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef H3DP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static bool g_on;
static uint64_t g_next_status;

bool d_notify_init(void)
{
#ifdef H3DP_HAVE_SYSTEMD
    const char *s = getenv("NOTIFY_SOCKET");
    g_on = s != NULL && s[0] != '\0';
#endif
    return g_on;
}

static void send_state(const char *state, const char *status)
{
#ifdef H3DP_HAVE_SYSTEMD
    if (!g_on)
        return;
    /* A failure (the manager went away) changes nothing for the daemon. */
    (void)sd_notifyf(0, "%s%sSTATUS=%s", state, state[0] ? "\n" : "", status);
#else
    (void)state;
    (void)status;
#endif
}

void d_notify_ready(const char *status)
{
    send_state("READY=1", status);
}

void d_notify_stopping(const char *status)
{
    send_state("STOPPING=1", status);
}

void d_notify_status(const char *fmt, ...)
{
    char line[256];
    va_list ap;

    if (!g_on)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    send_state("", line);
}

bool d_notify_status_due(uint64_t now, uint64_t period_ns)
{
    if (!g_on || now < g_next_status)
        return false;
    g_next_status = now + period_ns;
    return true;
}
