/* d_loop: the daemon's event loop on the main thread — one epoll over every fd the main
 * thread serves (the control socket's epoll, the service's eventfd, upload sources' fds,
 * later the metrics endpoint). Waiting and dispatching are two steps so the caller reads
 * the clock once in between and hands the same |now| to everything the iteration runs:
 *
 *     d_loop_wait(loop, timeout);   // kernel mode sleeps here; DPDK mode passes 0
 *     now = <the iteration's time>;
 *     d_loop_dispatch(loop, now);   // callbacks of the fds found readable
 */
#ifndef H3DP_D_LOOP_H
#define H3DP_D_LOOP_H

#include <stdint.h>

struct d_loop;

/* |fd| is readable at |now|. */
typedef void d_loop_fn(void *ctx, int fd, uint64_t now);

/* Creates the loop. Returns NULL with *|err| (-errno of epoll_create1, -ENOMEM). */
struct d_loop *d_loop_new(int *err);

/* Closes the epoll (not the watched fds). NULL is fine. */
void d_loop_del(struct d_loop *l);

/* Watches |fd| for readability; |fn|(|ctx|, |fd|, now) runs from d_loop_dispatch while it is
 * readable (level-triggered). Returns 0, -ENOSPC (too many fds) or -errno of epoll_ctl. */
int d_loop_watch(struct d_loop *l, int fd, d_loop_fn *fn, void *ctx);

/* Stops watching |fd|. Returns 0 or -ENOENT. */
int d_loop_unwatch(struct d_loop *l, int fd);

/* Waits up to |timeout_ms| (0: do not wait, -1: no limit) for a watched fd to become
 * readable and notes which are. Returns how many, 0 on timeout or signal, or -errno. */
int d_loop_wait(struct d_loop *l, int timeout_ms);

/* Runs the callbacks of the fds the last d_loop_wait found readable, at |now|. */
void d_loop_dispatch(struct d_loop *l, uint64_t now);

#endif
