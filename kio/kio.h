/*
 * kio.h: the kernel UDP backend. One connected, non-blocking UDP socket per
 * connection; packets are written by the driver straight into a contiguous TX
 * area and sent in batches with sendmmsg, as UDP GSO super-datagrams when the
 * kernel supports UDP_SEGMENT; received with recvmmsg. kio_run() is a small
 * event loop (ppoll + mono_ns) that drives any number of connections
 * until a condition holds, e.g. until they are closed (wait_idle).
 */
#ifndef H3DP_KIO_H
#define H3DP_KIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "h3.h"

struct kio;

struct kio_stats {
    uint64_t sendmmsg_calls, recvmmsg_calls, dgrams_sent, dgrams_recv;
    uint64_t gso_sends;  /* messages sent as GSO super-datagrams */
    uint64_t tx_dropped; /* datagrams the kernel refused (EAGAIN etc.) */
    bool gso;            /* UDP GSO in use */
};

/* The backend's I/O ops (io ctx = the struct kio). */
extern const struct h3_io_ops kio_ops;

/* Open a UDP socket connected to |remote| (IPv4 or IPv6). |no_gso| disables
 * UDP GSO. Returns 0 or -errno (-EINVAL for a bad address, -ENOMEM). */
int kio_new(const struct sockaddr *remote, socklen_t remote_len, bool no_gso, struct kio **out);

/* Close the socket and free |k| (not the attached connection). NULL is fine. */
void kio_del(struct kio *k);

/* The socket's local and remote addresses, for h3_conn_params. */
const struct sockaddr *kio_local(const struct kio *k, socklen_t *len);
const struct sockaddr *kio_remote(const struct kio *k, socklen_t *len);

/* Attach the connection whose datagrams this socket carries. */
void kio_attach(struct kio *k, struct h3_conn *c);

/* The socket, for an external event loop (readable: call kio_read). */
int kio_fd(const struct kio *k);

/* Read what the socket holds (bounded batch) into the attached connection, then send what
 * the connection wrote in reply. For external event loops; kio_run does this itself. */
void kio_read(struct kio *k);

/* Send what is buffered. Returns 0 or -errno. */
int kio_flush(struct kio *k);

void kio_stats(const struct kio *k, struct kio_stats *st);

/* Drive the |n| backends (each with an attached connection) until |done(arg)|
 * returns true. |timeout_ns|: relative limit, 0 = none. Returns 0, -ETIMEDOUT,
 * -EINTR (a signal arrived: the caller checks its flags and calls again), or
 * -errno from poll. |done| may be NULL: then run until every connection is
 * closed (wait_idle). */
int kio_run(struct kio *const *k, size_t n, bool (*done)(void *arg), void *arg,
            uint64_t timeout_ns);

#endif /* H3DP_KIO_H */
