/* svc_bus: the service's messages between the main thread and the worker lcores/threads.
 *
 *   main ──svc_bus_send()──▶ per-worker command ring (single producer, single consumer)
 *   main ◀─svc_bus_drain()── one event ring (multi producer: workers; single consumer)
 *                            + an eventfd that wakes the daemon's event loop
 *
 * Messages are fixed-size structs from a pool preallocated at creation (a multi-producer,
 * multi-consumer rte_ring of free messages), so neither side mallocs per message. The
 * rings are DPDK rte_rings built with rte_ring_init() on memory allocated here, which
 * needs no EAL (unit tests run without it).
 *
 * Wake-ups: workers never make a syscall unless the main lcore said it may sleep. Before
 * sleeping, the main lcore calls svc_bus_arm(): it sets an "armed" flag and re-checks the
 * event ring. A worker that posts an event swaps the flag back to 0 and writes the eventfd
 * only if it was 1. So there is at most one eventfd write per sleep of the main lcore,
 * however many events are posted, and no lost wake-up: either the worker sees the flag or
 * the main lcore's re-check sees the event. (Checking "the ring was empty before my
 * enqueue" instead is racy with several producers: the consumer can drain between a
 * producer's reservation and its commit.)
 */
#ifndef H3DP_SVC_BUS_H
#define H3DP_SVC_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define SVC_MSG_ARG_SIZE 192 /* inline argument bytes; bigger payloads go through |data| */

/* One message. Commands and events share the struct: a worker usually answers a command
 * by filling |status|/|arg| and posting the same message back. */
struct svc_msg {
    uint64_t token;   /* the sender's correlation token; 0 for unsolicited events */
    uint64_t conn_id; /* connection the message is about, 0 if none */
    uint32_t type;    /* command or event kind (defined by the service, svc_int.h) */
    int32_t status;   /* in replies: 0 or a negative error */
    uint16_t worker;  /* target worker (commands) or sender (events) */
    uint16_t len;     /* bytes used in |arg| */
    uint32_t flags;   /* free for the service */
    void *data;       /* optional out-of-line payload, owned by the receiver once sent */
    uint8_t arg[SVC_MSG_ARG_SIZE] __attribute__((aligned(8)));
} __attribute__((aligned(64)));

struct svc_bus;

/* Creates a bus for |n_workers| workers: each command ring and the event ring hold
 * |ring_size| messages (a power of two >= 2), and the pool holds |pool_size| messages.
 * Returns NULL with |*err| = -EINVAL (bad sizes), -ENOMEM, or -errno from eventfd(). */
struct svc_bus *svc_bus_new(unsigned n_workers, unsigned ring_size, unsigned pool_size, int *err);

/* Frees the bus, its rings, pool and eventfd; messages still in flight are freed too (their
 * |data| is not: drain first if it owns memory). NULL is fine. */
void svc_bus_del(struct svc_bus *bus);

/* Takes a zeroed message from the pool (any thread). Returns NULL when the pool is empty:
 * the caller answers E_BUSY. Never allocates. */
struct svc_msg *svc_msg_alloc(struct svc_bus *bus);

/* Returns |msg| to the pool (any thread). NULL is fine. */
void svc_msg_free(struct svc_bus *bus, struct svc_msg *msg);

/* Main lcore: queues |msg| for |worker|. Returns 0, -EINVAL (no such worker) or -ENOBUFS
 * (ring full: the message stays the caller's). Only the main lcore may call this. */
int svc_bus_send(struct svc_bus *bus, unsigned worker, struct svc_msg *msg);

/* Worker |worker|: dequeues up to |max| commands into |msgs|; returns how many. No
 * syscalls, no locks: cheap enough to call every loop iteration. */
unsigned svc_bus_worker_poll(struct svc_bus *bus, unsigned worker, struct svc_msg **msgs,
                             unsigned max);

/* Worker: posts an event or reply to the main lcore, waking it only if it is armed.
 * Returns 0 or -ENOBUFS (event ring full: the message stays the caller's). */
int svc_bus_post(struct svc_bus *bus, struct svc_msg *msg);

/* Main lcore: dequeues up to |max| events into |msgs|; returns how many. */
unsigned svc_bus_drain(struct svc_bus *bus, struct svc_msg **msgs, unsigned max);

/* Main lcore, before blocking on the eventfd: arms the wake-up. Returns true if it is safe
 * to sleep (no event pending), false if events are already waiting (drain them first). */
bool svc_bus_arm(struct svc_bus *bus);

/* Main lcore: consumes the eventfd's counter after it became readable. */
void svc_bus_ack(struct svc_bus *bus);

/* The eventfd to put in the main thread's epoll (readable after a wake-up). */
int svc_bus_eventfd(const struct svc_bus *bus);

/* Number of workers; free messages in the pool; eventfd writes made so far. */
unsigned svc_bus_workers(const struct svc_bus *bus);
unsigned svc_bus_pool_free(const struct svc_bus *bus);
uint64_t svc_bus_wakeups(const struct svc_bus *bus);

#endif
