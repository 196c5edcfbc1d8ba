/* kio.c: kernel UDP backend (see kio.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kio.h"
#include "mono.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define KIO_TX_PKTS       64    /* packets buffered before a sendmmsg */
#define KIO_PKT_ROOM      2048  /* room lent per packet (>= any QUIC datagram we write) */
#define KIO_GSO_MAX_SEGS  64    /* kernel UDP_MAX_SEGMENTS */
#define KIO_GSO_MAX_BYTES 65000 /* under the 65507-byte UDP payload limit */
#define KIO_RX_BATCH      32
#define KIO_RX_ROOM       2048
#define KIO_RX_BUDGET     256 /* datagrams read per readiness before yielding */

struct kio {
    int fd;
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
    struct h3_conn *conn;
    bool gso;
    bool confirm; /* the peer acknowledged data: send the next batch with MSG_CONFIRM */
    /* TX: packets laid out back to back so runs of equal-size packets can go
     * out as one GSO super-datagram without copying. */
    uint8_t tx[KIO_TX_PKTS * KIO_PKT_ROOM];
    size_t tx_used;
    uint32_t tx_len[KIO_TX_PKTS];
    uint8_t tx_ecn[KIO_TX_PKTS]; /* ECN codepoint per packet (a GSO run shares one) */
    size_t tx_n;
    bool v6;  /* IPV6_TCLASS, else IP_TOS */
    bool tos; /* IP_RECVTOS / IPV6_RECVTCLASS on: received datagrams carry their ECN bits */
    /* RX */
    uint8_t rx[KIO_RX_BATCH][KIO_RX_ROOM];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } rx_ctl[KIO_RX_BATCH];
    struct kio_stats st;
};

int kio_new(const struct sockaddr *remote, socklen_t remote_len, bool no_gso, struct kio **out)
{
    struct kio *k;

    *out = NULL;
    if (!remote || remote_len > sizeof(struct sockaddr_storage) ||
        (remote->sa_family != AF_INET && remote->sa_family != AF_INET6))
        return -EINVAL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->fd = socket(remote->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (k->fd < 0) {
        int e = -errno;
        free(k);
        return e;
    }
    if (connect(k->fd, remote, remote_len) != 0)
        goto fail;
    memcpy(&k->remote, remote, remote_len);
    k->remote_len = remote_len;
    k->local_len = sizeof(k->local);
    if (getsockname(k->fd, (struct sockaddr *)&k->local, &k->local_len) != 0)
        goto fail;
    if (!no_gso) {
        int seg = 0;
        socklen_t sl = sizeof(seg);
        /* Probe: kernels with UDP GSO (4.18+) know the option. */
        k->gso = getsockopt(k->fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &sl) == 0;
    }
    k->st.gso = k->gso;
    /* ECN (RFC 9000 13.4): the TOS / traffic class byte of each datagram is read with it,
     * and each packet is sent with the codepoint the driver asks for. */
    {
        int one = 1;
        k->v6 = remote->sa_family == AF_INET6;
        k->tos = k->v6 ? setsockopt(k->fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) == 0
                       : setsockopt(k->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) == 0;
    }
    *out = k;
    return 0;
fail:;
    int e = -errno;
    close(k->fd);
    free(k);
    return e;
}

void kio_del(struct kio *k)
{
    if (!k)
        return;
    close(k->fd);
    free(k);
}

const struct sockaddr *kio_local(const struct kio *k, socklen_t *len)
{
    *len = k->local_len;
    return (const struct sockaddr *)&k->local;
}

const struct sockaddr *kio_remote(const struct kio *k, socklen_t *len)
{
    *len = k->remote_len;
    return (const struct sockaddr *)&k->remote;
}

void kio_attach(struct kio *k, struct h3_conn *c)
{
    k->conn = c;
}

void kio_stats(const struct kio *k, struct kio_stats *st)
{
    *st = k->st;
}

int kio_flush(struct kio *k)
{
    struct mmsghdr msgs[KIO_TX_PKTS];
    struct iovec iov[KIO_TX_PKTS];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl[KIO_TX_PKTS];
    size_t nmsg = 0, off = 0, i = 0;
    int rc = 0;

    if (k->tx_n == 0)
        return 0;
    memset(msgs, 0, sizeof(msgs[0]) * k->tx_n);
    while (i < k->tx_n) {
        /* A GSO run: equal-size segments, the last one may be shorter. */
        size_t seg = k->tx_len[i], j = i + 1, bytes = seg;
        uint8_t ecn = k->tx_ecn[i];
        if (k->gso) {
            while (j < k->tx_n && j - i < KIO_GSO_MAX_SEGS &&
                   bytes + k->tx_len[j] <= KIO_GSO_MAX_BYTES && k->tx_len[j] <= seg &&
                   k->tx_ecn[j] == ecn) {
                bytes += k->tx_len[j];
                if (k->tx_len[j++] < seg)
                    break;
            }
        }
        iov[nmsg] = (struct iovec){.iov_base = k->tx + off, .iov_len = bytes};
        msgs[nmsg].msg_hdr.msg_iov = &iov[nmsg];
        msgs[nmsg].msg_hdr.msg_iovlen = 1;
        if (j - i > 1 || ecn != 0) {
            struct msghdr *h = &msgs[nmsg].msg_hdr;
            struct cmsghdr *cm = (struct cmsghdr *)ctl[nmsg].buf;
            memset(ctl[nmsg].buf, 0, sizeof(ctl[nmsg].buf)); /* padding goes to the kernel */
            h->msg_control = ctl[nmsg].buf;
            h->msg_controllen = 0;
            if (j - i > 1) {
                uint16_t s = (uint16_t)seg;
                cm->cmsg_level = IPPROTO_UDP;
                cm->cmsg_type = UDP_SEGMENT;
                cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                memcpy(CMSG_DATA(cm), &s, sizeof(s));
                h->msg_controllen += CMSG_SPACE(sizeof(uint16_t));
                cm = (struct cmsghdr *)(ctl[nmsg].buf + h->msg_controllen);
                k->st.gso_sends++;
            }
            if (ecn != 0) {
                int tos = ecn; /* the ECN field; DSCP 0 */
                cm->cmsg_level = k->v6 ? IPPROTO_IPV6 : IPPROTO_IP;
                cm->cmsg_type = k->v6 ? IPV6_TCLASS : IP_TOS;
                cm->cmsg_len = CMSG_LEN(sizeof(tos));
                memcpy(CMSG_DATA(cm), &tos, sizeof(tos));
                h->msg_controllen += CMSG_SPACE(sizeof(tos));
            }
        }
        off += bytes;
        nmsg++;
        i = j;
    }
    size_t done = 0;
    /* MSG_CONFIRM (the kernel's upper-layer reachability confirmation, the counterpart of
     * the DPDK path's dp_flow_confirm): the neighbour entry of the route stays REACHABLE
     * without ARP/NDP probes while the peer acknowledges. */
    int flags = k->confirm ? MSG_CONFIRM : 0;
    k->confirm = false;
    while (done < nmsg) {
        int n = sendmmsg(k->fd, msgs + done, (unsigned)(nmsg - done), flags);
        k->st.sendmmsg_calls++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EIO && k->gso) /* no GSO on this path after all */
                k->gso = k->st.gso = false;
            rc = -errno; /* EAGAIN, ECONNREFUSED...: QUIC loss recovery copes */
            k->st.tx_dropped += nmsg - done;
            break;
        }
        done += (size_t)n;
    }
    k->st.dgrams_sent += k->tx_n;
    k->tx_n = 0;
    k->tx_used = 0;
    return rc;
}

static uint8_t *kio_tx_get(void *io, size_t *cap, void **pkt)
{
    struct kio *k = io;

    if (k->tx_n == KIO_TX_PKTS || sizeof(k->tx) - k->tx_used < KIO_PKT_ROOM)
        kio_flush(k);
    *cap = KIO_PKT_ROOM;
    *pkt = k->tx + k->tx_used;
    return k->tx + k->tx_used;
}

static int kio_tx_put(void *io, void *pkt, size_t len, uint8_t ecn)
{
    struct kio *k = io;
    if (pkt != k->tx + k->tx_used || len > KIO_PKT_ROOM)
        return -EINVAL;
    k->tx_ecn[k->tx_n] = ecn & 0x3;
    k->tx_len[k->tx_n++] = (uint32_t)len;
    k->tx_used += len;
    return 0;
}

static void kio_tx_abort(void *io, void *pkt)
{
    (void)io;
    (void)pkt;
}

static void kio_progress(void *io, uint64_t now_ns)
{
    struct kio *k = io;
    (void)now_ns;
    k->confirm = true;
}

const struct h3_io_ops kio_ops = {
    .tx_get = kio_tx_get,
    .tx_put = kio_tx_put,
    .tx_abort = kio_tx_abort,
    .progress = kio_progress,
};

/* The ECN bits a received datagram carried (IP_TOS: one byte; IPV6_TCLASS: an int). */
static uint8_t rx_ecn(struct msghdr *h)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
            return *CMSG_DATA(cm) & 0x3;
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS) {
            int v;
            memcpy(&v, CMSG_DATA(cm), sizeof(v));
            return (uint8_t)(v & 0x3);
        }
    }
    return 0;
}

static void rx_batch(struct kio *k)
{
    struct mmsghdr msgs[KIO_RX_BATCH];
    struct iovec iov[KIO_RX_BATCH];
    size_t total = 0;

    while (total < KIO_RX_BUDGET) {
        for (int i = 0; i < KIO_RX_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = k->rx[i], .iov_len = KIO_RX_ROOM};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
            if (k->tos) {
                msgs[i].msg_hdr.msg_control = k->rx_ctl[i].buf;
                msgs[i].msg_hdr.msg_controllen = sizeof(k->rx_ctl[i].buf);
            }
        }
        int n = recvmmsg(k->fd, msgs, KIO_RX_BATCH, 0, NULL);
        k->st.recvmmsg_calls++;
        if (n <= 0)
            break; /* EAGAIN, or ECONNREFUSED from an ICMP error: QUIC times out */
        uint64_t now = mono_ns();
        for (int i = 0; i < n; i++) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                continue;
            k->st.dgrams_recv++;
            if (k->conn)
                h3_conn_recv(k->conn, k->rx[i], msgs[i].msg_len, rx_ecn(&msgs[i].msg_hdr), now);
        }
        total += (size_t)n;
        if (n < KIO_RX_BATCH)
            break;
    }
}

int kio_fd(const struct kio *k)
{
    return k->fd;
}

void kio_read(struct kio *k)
{
    rx_batch(k);
    kio_flush(k);
}

static bool all_closed(struct kio *const *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (k[i]->conn && h3_conn_state(k[i]->conn) != H3_STATE_CLOSED)
            return false;
    return true;
}

#define KIO_MAX_FDS 64

int kio_run(struct kio *const *k, size_t n, bool (*done)(void *arg), void *arg, uint64_t timeout_ns)
{
    struct pollfd pfd[KIO_MAX_FDS];
    uint64_t start = mono_ns();
    uint64_t limit = timeout_ns ? start + timeout_ns : UINT64_MAX;

    if (n == 0 || n > KIO_MAX_FDS)
        return -EINVAL;
    for (;;) {
        uint64_t now = mono_ns();
        uint64_t next = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            struct h3_conn *c = k[i]->conn;
            if (c && h3_conn_expiry(c) <= now)
                h3_conn_on_expiry(c, now);
            kio_flush(k[i]);
            if (c) {
                uint64_t e = h3_conn_expiry(c);
                if (e < next)
                    next = e;
            }
        }
        if (done ? done(arg) : all_closed(k, n))
            return 0;
        now = mono_ns();
        if (now >= limit)
            return -ETIMEDOUT;
        if (limit < next)
            next = limit;
        struct timespec ts = {0, 0}, *tsp = NULL;
        if (next != UINT64_MAX) {
            uint64_t d = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(d / 1000000000ULL);
            ts.tv_nsec = (long)(d % 1000000000ULL);
            tsp = &ts;
        }
        for (size_t i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = k[i]->fd, .events = POLLIN};
        int rv = ppoll(pfd, n, tsp, NULL);
        if (rv < 0) {
            if (errno == EINTR)
                return -EINTR;
            return -errno;
        }
        for (size_t i = 0; i < n && rv > 0; i++) {
            if (pfd[i].revents & (POLLIN | POLLERR)) {
                rx_batch(k[i]);
                kio_flush(k[i]);
            }
        }
    }
}
