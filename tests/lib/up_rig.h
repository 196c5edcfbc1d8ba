/* up_rig: the daemon's upload pieces in one test process — the connection service in
 * kernel mode and the upload engine, stepped the way h3dpd's loop steps them (service
 * events, the engine, its fds). For the engine's tests and the `upload` command's. */
#ifndef H3DP_TEST_UP_RIG_H
#define H3DP_TEST_UP_RIG_H

#include <stdint.h>

#include <jansson.h>

#include "upload.h"

struct svc;

struct up_rig {
    struct svc *s;
    struct up *u;
};

/* A conf like the default configuration's [upload] (no target, no sources) for tests to
 * change. */
void up_rig_conf(struct up_conf *c);

/* Opens the service (|workers| kernel threads, trusting CERTS/ca.pem) and the engine.
 * Fails the test on error. */
void up_rig_open(struct up_rig *r, const struct up_conf *c, unsigned workers, const char *certs);

/* One turn of the loop: the service's events, the engine's fds that are readable, the
 * engine. Returns the engine's work. */
unsigned up_rig_step(struct up_rig *r);

/* Runs the loop until the engine is idle with |want| records acknowledged, or |ms|
 * passed. Returns the last `upload status` (the caller frees it). */
json_t *up_rig_run(struct up_rig *r, uint64_t want, unsigned ms);

/* The graceful end, as h3dpd's: the engine stops, the connections shut down, all freed. */
void up_rig_close(struct up_rig *r);

/* A number from an `upload status`-like object: r.a or r.a.b. */
uint64_t up_rig_get(json_t *r, const char *a, const char *b);

#endif
