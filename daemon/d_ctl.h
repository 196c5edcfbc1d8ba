/* d_ctl: the daemon's control commands — connect, list, show, request, shutdown, close,
 * wait, stats, quit — over the connection service (svc.h). Main thread only.
 *
 * Handlers that need a worker (connect, show, request, shutdown --wait, close, wait) defer
 * their answer (ctl_call_defer) and answer from the service's callbacks, which run from
 * svc_poll() on the same thread: the control loop never blocks on a worker. */
#ifndef H3DP_D_CTL_H
#define H3DP_D_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct cfg;
struct ctl_server;
struct dp;
struct svc;
struct d_ctl;

/* Registers the handlers on |srv|. |dp| is NULL in kernel mode. Returns NULL with *|err|. */
struct d_ctl *d_ctl_new(const struct cfg *cfg, struct svc *svc, struct dp *dp,
                        struct ctl_server *srv, int *err);

/* Answers what is still pending with E_FAILED ("daemon exiting") and frees. NULL is fine. */
void d_ctl_del(struct d_ctl *d);

struct up;
/* The upload engine whose counters `stats` includes (NULL: none). */
void d_ctl_set_upload(struct d_ctl *d, struct up *u);

struct d_dns;
/* The resolver `connect` asks for names (NULL: names are refused); its counters join
 * `stats`. */
void d_ctl_set_dns(struct d_ctl *d, struct d_dns *dns);

struct d_reload;
/* The SIGHUP reloader whose last outcome `stats` includes as "reload" (NULL: none). */
void d_ctl_set_reload(struct d_ctl *d, const struct d_reload *r);

/* True once `quit` was accepted (the caller starts the graceful exit). */
bool d_ctl_quit_requested(const struct d_ctl *d);

/* The `stats` result and the connection list (closed ones too when |all|). New references. */
json_t *d_ctl_stats_json(struct d_ctl *d);
json_t *d_ctl_list_json(struct d_ctl *d, bool all);

#endif
