/* d_upload: the daemon's side of the upload engine — its parameters from [upload] and
 * [tls], the operator's headers file (loaded at start, re-read on SIGHUP, replaced by
 * `upload target --headers-file`), and the `upload` control command
 * (start|stop|status|target). Main thread only. */
#ifndef H3DP_D_UPLOAD_H
#define H3DP_D_UPLOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct ctl_server;
struct svc;
struct up;
struct up_conf;
struct up_resolver;

/* What the `upload` command works on. */
struct d_upload {
    const struct cfg *cfg;
    struct up *up;
    char headers_file[PATH_MAX]; /* the headers file in force ("" : none) */
    char pending_url[1024];      /* collectors a reload gave while the engine was busy: put
                                    in force once nothing is queued or in flight ("": none) */
};

/* Fills |uc| from the validated configuration |c| (strings point into |c|; no headers). */
void d_upload_conf(const struct cfg *c, struct up_conf *uc);

/* Loads [upload] headers_file (when set) and creates the engine over |svc|, with the
 * resolver |res| (NULL: none) and IPv6 collectors when |ipv6|. Returns 0, or -1 with a
 * one-line reason in |why|. */
int d_upload_open(struct d_upload *d, const struct cfg *c, struct svc *svc,
                  const struct up_resolver *res, bool ipv6, char *why, size_t whylen);

/* SIGHUP: re-reads the headers file in force, or |path| when given (the configuration now
 * names another). A file that no longer loads keeps the old headers (logged). Returns 0 or
 * -1 with the reason in |why|. */
int d_upload_reload(struct d_upload *d, const char *path, char *why, size_t whylen);

/* SIGHUP: the collectors |url| from the configuration. Returns 0 (in force), 1 (the engine
 * has records queued or in flight for the old ones: kept pending, put in force by
 * d_upload_poll once it has none) or -1 with the reason in |why|. */
int d_upload_set_url(struct d_upload *d, const char *url, char *why, size_t whylen);

/* Main loop: puts a pending url in force once the engine allows it. */
void d_upload_poll(struct d_upload *d);

/* Registers the `upload` command for |d| (which must outlive |srv|'s use of it). Returns 0
 * or a negative error. */
int d_upload_register(struct d_upload *d, struct ctl_server *srv);

#endif
