/* d_notify: tells systemd where the daemon is in its life (a Type=notify service):
 * READY=1 once it serves (control socket open, dataplane started, upload engine up),
 * STOPPING=1 when the graceful exit begins, and a STATUS= line that `systemctl status`
 * shows (the readiness line, then connections and upload counters every few seconds).
 *
 * Through libsystemd's sd_notify. Everything is a no-op when the daemon does not run under
 * systemd ($NOTIFY_SOCKET unset, read once by d_notify_init) or was built without
 * libsystemd. Main thread only; never on a worker. */
#ifndef H3DP_D_NOTIFY_H
#define H3DP_D_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Reads $NOTIFY_SOCKET once. Returns true when the notifications go somewhere. */
bool d_notify_init(void);

/* READY=1 with STATUS=|status|. */
void d_notify_ready(const char *status);

/* STOPPING=1 with STATUS=|status|. */
void d_notify_stopping(const char *status);

/* STATUS=|fmt...| (one line). */
void d_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True at most once every |period_ns| of |now| (the caller's clock): time for a new STATUS
 * line. Always false when not under systemd, so the caller builds nothing. */
bool d_notify_status_due(uint64_t now, uint64_t period_ns);

#endif
