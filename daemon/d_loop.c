/* d_loop.c: the daemon's event loop (see d_loop.h). Main thread only. */
#include "d_loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define D_LOOP_MAX 16 /* watched fds: control, service, upload sources, metrics */

struct d_watch {
    int fd;
    d_loop_fn *fn;
    void *ctx;
    bool ready;
};

struct d_loop {
    int ep;
    struct d_watch w[D_LOOP_MAX];
    unsigned n;
};

struct d_loop *d_loop_new(int *err)
{
    struct d_loop *l = calloc(1, sizeof(*l));

    if (!l) {
        *err = -ENOMEM;
        return NULL;
    }
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        *err = -errno;
        free(l);
        return NULL;
    }
    return l;
}

void d_loop_del(struct d_loop *l)
{
    if (!l)
        return;
    close(l->ep);
    free(l);
}

int d_loop_watch(struct d_loop *l, int fd, d_loop_fn *fn, void *ctx)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

    if (l->n >= D_LOOP_MAX)
        return -ENOSPC;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        return -errno;
    l->w[l->n++] = (struct d_watch){ .fd = fd, .fn = fn, .ctx = ctx };
    return 0;
}

int d_loop_unwatch(struct d_loop *l, int fd)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->w[i].fd == fd) {
            epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
            l->w[i] = l->w[--l->n];
            return 0;
        }
    return -ENOENT;
}

int d_loop_wait(struct d_loop *l, int timeout_ms)
{
    struct epoll_event evs[D_LOOP_MAX];
    int n = epoll_wait(l->ep, evs, D_LOOP_MAX, timeout_ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++)
        for (unsigned k = 0; k < l->n; k++)
            if (l->w[k].fd == evs[i].data.fd)
                l->w[k].ready = true;
    return n;
}

void d_loop_dispatch(struct d_loop *l, uint64_t now)
{
    for (unsigned k = 0; k < l->n; k++)
        if (l->w[k].ready) {
            l->w[k].ready = false;
            l->w[k].fn(l->w[k].ctx, l->w[k].fd, now);
        }
}
