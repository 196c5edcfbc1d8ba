/* svc_io_kernel.c: `[dataplane] io = kernel` — one pthread per worker, one connected UDP
 * socket per connection (kio), epoll with a nanosecond timeout from the timer heap and
 * an eventfd the main side writes after queueing commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "kio.h"
#include "mono.h"
#include "svc_int.h"

#define KW_EVENTS 64

static int k_open(struct svc_worker *w, struct svc_conn *c, const struct h3_io_ops **io,
                  void **io_ctx)
{
    socklen_t len;
    const struct sockaddr *la;
    int rv = kio_new((const struct sockaddr *)&c->remote, c->remote_len, false, &c->kio);

    if (rv < 0)
        return rv;
    la = kio_local(c->kio, &len);
    memcpy(&c->local, la, len);
    c->local_len = len;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, kio_fd(c->kio), &ev) != 0) {
        rv = -errno;
        kio_del(c->kio);
        c->kio = NULL;
        return rv;
    }
    *io = &kio_ops;
    *io_ctx = c->kio;
    return 0;
}

static void k_attach(struct svc_worker *w, struct svc_conn *c)
{
    (void)w;
    kio_attach(c->kio, c->h3);
}

static void k_flush(struct svc_worker *w, struct svc_conn *c)
{
    (void)w;
    kio_flush(c->kio);
}

static void k_close(struct svc_worker *w, struct svc_conn *c)
{
    if (!c->kio)
        return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, kio_fd(c->kio), NULL);
    kio_del(c->kio);
    c->kio = NULL;
}

const struct svc_backend svc_kernel_backend = {
    .open = k_open,
    .attach = k_attach,
    .flush = k_flush,
    .close = k_close,
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *k_thread(void *arg)
{
    struct svc_worker *w = arg;
    struct epoll_event evs[KW_EVENTS];

    while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
        uint64_t now = mono_ns();
        unsigned work = svc_worker_step(w, now);
        struct timespec ts = { 0, 0 };
        if (!work) {
            uint64_t next = svc_worker_next_timer(w);
            uint64_t d = next == UINT64_MAX ? 1000000000ull /* re-check stop */
                         : next > now       ? next - now
                                            : 0;
            if (d > 1000000000ull)
                d = 1000000000ull;
            ts.tv_sec = (time_t)(d / 1000000000ull);
            ts.tv_nsec = (long)(d % 1000000000ull);
        }
        int n = epoll_pwait2(w->epfd, evs, KW_EVENTS, &ts, NULL);
        for (int i = 0; i < n; i++) {
            struct svc_conn *c = evs[i].data.ptr;
            if (!c) {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    break;
                continue;
            }
            if (!c->h3)
                continue;
            w->now = mono_ns();
            kio_read(c->kio);
            svc_worker_touch(w, c);
        }
        atomic_store_explicit(&w->ctr.cpu_ns, thread_cpu_ns(), memory_order_relaxed);
    }
    return NULL;
}

int svc_kernel_start(struct svc_worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return -errno;
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wakefd < 0)
        return -errno;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0)
        return -errno;
    int rv = pthread_create(&w->thread, NULL, k_thread, w);
    if (rv != 0)
        return -rv;
    w->thread_started = true;
    char name[16];
    snprintf(name, sizeof(name), "h3dp-w%u", w->idx);
    pthread_setname_np(w->thread, name);
    return 0;
}

void svc_kernel_wake(struct svc_worker *w)
{
    uint64_t one = 1;
    if (write(w->wakefd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, the worker is awake anyway. */
    }
}

void svc_kernel_stop(struct svc_worker *w)
{
    if (w->thread_started) {
        atomic_store_explicit(&w->stop, true, memory_order_release);
        svc_kernel_wake(w);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
    if (w->wakefd >= 0)
        close(w->wakefd);
    if (w->epfd >= 0)
        close(w->epfd);
    w->wakefd = w->epfd = -1;
}
