/* d_reload: SIGHUP — the configuration file read again and compared with the one in force,
 * key by key (cfg_diff). What can change safely at run time is put in force:
 *
 *     [log] *               levels and timestamps (d_log_apply)
 *     [upload] url          the collectors (at once, or once nothing is queued or in flight
 *                           for the old ones: pending until then)
 *     [upload] headers_file the operator's headers (re-read on every SIGHUP, even when the
 *                           file's name did not change or the configuration does not load)
 *
 * every other key that differs is reported as needing a restart (the running daemon keeps
 * its value). The outcome goes to the log (one line) and to `stats` ("reload"). A file that
 * does not load changes nothing but the headers. Main thread only. */
#ifndef H3DP_D_RELOAD_H
#define H3DP_D_RELOAD_H

#include <stdint.h>

#include <jansson.h>

struct cfg;
struct d_reload;
struct d_upload;

/* The reloader of |path| for the configuration in force |live| (updated in place with what
 * a reload puts in force) and the upload engine's side |up|. NULL without memory. */
struct d_reload *d_reload_new(const char *path, struct cfg *live, struct d_upload *up);

/* Frees |r|. NULL is fine. */
void d_reload_del(struct d_reload *r);

/* SIGHUP: reads the file, applies, reports. */
void d_reload_run(struct d_reload *r);

/* The last reloads for `stats` (count, when, result, error, applied, pending,
 * restart_needed). New reference, NULL without memory. */
json_t *d_reload_json(const struct d_reload *r);

/* Counters for the metrics: reloads that loaded (ok) and that did not (failed); keys that
 * differ from the file and wait for a restart. */
struct d_reload_counts {
    uint64_t ok, failed;
    unsigned restart_needed;
};
void d_reload_counts(const struct d_reload *r, struct d_reload_counts *out);

#endif
