/* sink_proc: the h3sink program as a child process on loopback, for tests that drive a
 * real client (the service, the upload engine) against it. */
#ifndef H3DP_TEST_SINK_PROC_H
#define H3DP_TEST_SINK_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct sink_proc {
    pid_t pid;      /* 0 when not running */
    FILE *out;      /* its standard output */
    uint16_t port;  /* the port the kernel gave it on 127.0.0.1 */
};

/* Starts |exe| on 127.0.0.1 with a kernel-chosen port, the certificate and key in |certs|,
 * --json --quiet --stats-interval 0, then the NULL-terminated |extra| arguments (may be
 * NULL), and waits for its "listening on" line. Returns 0, or -1 (it did not start). */
int sink_proc_start(struct sink_proc *s, const char *exe, const char *certs,
                    const char *const *extra);

/* Stops it gracefully (SIGINT) and reads its output to the end. Returns its last
 * "final" totals line (malloc'd, the caller frees it; NULL if there was none) and its
 * wait status in *|status| (may be NULL). */
char *sink_proc_stop(struct sink_proc *s, int *status);

/* Kills it (SIGKILL) if it still runs: the clean-up after a failed assertion, so that no
 * child keeps the test's output open. */
void sink_proc_kill(struct sink_proc *s);

#endif
