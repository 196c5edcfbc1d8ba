/* svc_bus.c: main thread <-> worker message rings (see svc_bus.h for the wake-up protocol). */
#include "svc_bus.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ring.h>

struct svc_bus {
    unsigned n_workers;
    unsigned pool_size;
    int efd;
    atomic_int armed;
    atomic_uint_fast64_t wakeups;
    struct svc_msg *msgs;    /* the pool's storage */
    struct rte_ring *free;   /* free messages: MP/MC */
    struct rte_ring *events; /* workers -> main: MP/SC */
    struct rte_ring **cmds;  /* main -> worker i: SP/SC */
};

static struct rte_ring *ring_make(const char *kind, unsigned i, unsigned count, unsigned flags,
                                  int *err)
{
    ssize_t sz = rte_ring_get_memsize(count);
    char name[RTE_RING_NAMESIZE];
    struct rte_ring *r;

    if (sz < 0) {
        *err = -EINVAL;
        return NULL;
    }
    r = aligned_alloc(RTE_CACHE_LINE_SIZE, (size_t)RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
    if (r == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    snprintf(name, sizeof(name), "svc_%s%u", kind, i);
    *err = rte_ring_init(r, name, count, flags);
    if (*err != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static bool pow2(unsigned n)
{
    return n >= 2 && (n & (n - 1)) == 0;
}

struct svc_bus *svc_bus_new(unsigned n_workers, unsigned ring_size, unsigned pool_size, int *err)
{
    struct svc_bus *bus;
    unsigned free_cap;

    *err = -EINVAL;
    if (n_workers == 0 || !pow2(ring_size) || pool_size == 0 || ring_size > RTE_RING_SZ_MASK ||
        pool_size >= RTE_RING_SZ_MASK)
        return NULL;
    /* An rte_ring of size N holds N-1: the free ring must hold the whole pool. */
    free_cap = (unsigned)rte_align32pow2(pool_size + 1);
    *err = -ENOMEM;
    bus = calloc(1, sizeof(*bus));
    if (bus == NULL)
        return NULL;
    bus->efd = -1;
    bus->n_workers = n_workers;
    bus->pool_size = pool_size;
    bus->msgs = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(struct svc_msg) * pool_size);
    bus->cmds = calloc(n_workers, sizeof(*bus->cmds));
    if (bus->msgs == NULL || bus->cmds == NULL)
        goto fail;
    bus->free = ring_make("free", 0, free_cap, 0, err);
    if (bus->free == NULL)
        goto fail;
    bus->events = ring_make("ev", 0, ring_size, RING_F_SC_DEQ, err);
    if (bus->events == NULL)
        goto fail;
    for (unsigned i = 0; i < n_workers; i++) {
        bus->cmds[i] = ring_make("cmd", i, ring_size, RING_F_SP_ENQ | RING_F_SC_DEQ, err);
        if (bus->cmds[i] == NULL)
            goto fail;
    }
    for (unsigned i = 0; i < pool_size; i++) {
        struct svc_msg *m = &bus->msgs[i];
        rte_ring_enqueue(bus->free, m);
    }
    bus->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (bus->efd < 0) {
        *err = -errno;
        goto fail;
    }
    atomic_init(&bus->armed, 0);
    atomic_init(&bus->wakeups, 0);
    *err = 0;
    return bus;
fail:
    svc_bus_del(bus);
    return NULL;
}

void svc_bus_del(struct svc_bus *bus)
{
    if (bus == NULL)
        return;
    for (unsigned i = 0; bus->cmds != NULL && i < bus->n_workers; i++)
        free(bus->cmds[i]);
    free(bus->cmds);
    free(bus->events);
    free(bus->free);
    free(bus->msgs);
    if (bus->efd >= 0)
        close(bus->efd);
    free(bus);
}

struct svc_msg *svc_msg_alloc(struct svc_bus *bus)
{
    void *m;

    if (rte_ring_dequeue(bus->free, &m) != 0)
        return NULL;
    memset(m, 0, sizeof(struct svc_msg));
    return m;
}

void svc_msg_free(struct svc_bus *bus, struct svc_msg *msg)
{
    if (msg != NULL)
        rte_ring_enqueue(bus->free, msg); /* cannot fail: the ring holds the whole pool */
}

int svc_bus_send(struct svc_bus *bus, unsigned worker, struct svc_msg *msg)
{
    if (worker >= bus->n_workers)
        return -EINVAL;
    msg->worker = (uint16_t)worker;
    return rte_ring_sp_enqueue(bus->cmds[worker], msg) == 0 ? 0 : -ENOBUFS;
}

unsigned svc_bus_worker_poll(struct svc_bus *bus, unsigned worker, struct svc_msg **msgs,
                             unsigned max)
{
    if (worker >= bus->n_workers)
        return 0;
    return rte_ring_sc_dequeue_burst(bus->cmds[worker], (void **)msgs, max, NULL);
}

int svc_bus_post(struct svc_bus *bus, struct svc_msg *msg)
{
    if (rte_ring_mp_enqueue(bus->events, msg) != 0)
        return -ENOBUFS;
    /* seq_cst exchange after the enqueue pairs with the store + re-check in svc_bus_arm. */
    if (atomic_exchange(&bus->armed, 0) != 0) {
        uint64_t one = 1;
        atomic_fetch_add_explicit(&bus->wakeups, 1, memory_order_relaxed);
        /* EAGAIN (counter saturated) still leaves the fd readable: nothing is lost. */
        if (write(bus->efd, &one, sizeof(one)) < 0)
            return 0;
    }
    return 0;
}

unsigned svc_bus_drain(struct svc_bus *bus, struct svc_msg **msgs, unsigned max)
{
    return rte_ring_sc_dequeue_burst(bus->events, (void **)msgs, max, NULL);
}

bool svc_bus_arm(struct svc_bus *bus)
{
    atomic_store(&bus->armed, 1);
    if (!rte_ring_empty(bus->events)) {
        atomic_store(&bus->armed, 0);
        return false;
    }
    return true;
}

void svc_bus_ack(struct svc_bus *bus)
{
    uint64_t v;

    if (read(bus->efd, &v, sizeof(v)) < 0)
        return; /* EAGAIN: already consumed */
}

int svc_bus_eventfd(const struct svc_bus *bus)
{
    return bus->efd;
}

unsigned svc_bus_workers(const struct svc_bus *bus)
{
    return bus->n_workers;
}

unsigned svc_bus_pool_free(const struct svc_bus *bus)
{
    return rte_ring_count(bus->free);
}

uint64_t svc_bus_wakeups(const struct svc_bus *bus)
{
    return atomic_load_explicit(&bus->wakeups, memory_order_relaxed);
}
