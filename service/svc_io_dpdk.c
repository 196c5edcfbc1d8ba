/* svc_io_dpdk.c: `[dataplane] io = dpdk` — the worker runs inside the dataplane's worker
 * loop (dp_worker_hook); each connection owns a dp_flow on that lcore; the driver writes
 * each QUIC packet straight into an mbuf (dp_flow_tx_alloc) that dp_flow_tx sends: no copy,
 * no malloc, no lock, no system call per packet. ECN goes both ways (the codepoint of each
 * received datagram to h3_conn_recv, the one ngtcp2 asks for into each packet's IP header)
 * and the connection's progress confirms the flow's next hop (dp_flow_confirm). */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_errno.h>

#include "dp.h"
#include "dp_flow.h"
#include "svc_int.h"

static bool d_rx(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len, uint8_t ecn,
                 struct rte_mbuf *m, uint64_t now_ns)
{
    struct svc_conn *c = arg;
    struct svc_worker *w = c->w;
    (void)f;
    (void)m;

    if (!c->h3)
        return false;
    w->now = now_ns;
    h3_conn_recv(c->h3, payload, len, ecn, now_ns);
    svc_worker_touch(w, c);
    return false; /* the dataplane frees the mbuf: the driver copied what it keeps */
}

/* A Packet Too Big about one of the connection's datagrams (dp_flow_pmtu_cb): the MTU
 * less the IPv6 and UDP headers bounds the datagrams the driver writes. */
static void d_pmtu(void *arg, struct dp_flow *f, uint32_t mtu, uint64_t now_ns)
{
    struct svc_conn *c = arg;
    (void)f;
    (void)now_ns;

    if (c->h3)
        h3_conn_path_mtu(c->h3, mtu - DP_IPV6_HDR_LEN - DP_UDP_HDR_LEN);
}

static uint8_t *d_tx_get(void *io, size_t *cap, void **pkt)
{
    struct svc_conn *c = io;
    uint8_t *payload;
    uint16_t room;
    struct rte_mbuf *m = dp_flow_tx_alloc(c->flow, &payload, &room);

    if (!m)
        return NULL;
    *cap = room;
    *pkt = m;
    return payload;
}

static int d_tx_put(void *io, void *pkt, size_t len, uint8_t ecn)
{
    struct svc_conn *c = io;
    return dp_flow_tx(c->flow, pkt, (uint16_t)len, ecn);
}

static void d_tx_abort(void *io, void *pkt)
{
    (void)io;
    rte_pktmbuf_free(pkt);
}

/* The peer acknowledged data (h3_io_ops.progress, at most once per received datagram, on
 * the flow's lcore inside d_rx's h3_conn_recv): the flow's next hop works. */
static void d_progress(void *io, uint64_t now_ns)
{
    struct svc_conn *c = io;

    if (c->flow)
        dp_flow_confirm(c->flow, now_ns);
}

static const struct h3_io_ops d_io_ops = {
    .tx_get = d_tx_get,
    .tx_put = d_tx_put,
    .tx_abort = d_tx_abort,
    .progress = d_progress,
};

/* The connection's local address: the flow's source address and port. */
static void d_local_addr(struct svc_conn *c)
{
    const struct dp_addr *ip = dp_flow_local_ip(c->flow);
    uint16_t port = htons(dp_flow_local_port(c->flow));

    memset(&c->local, 0, sizeof(c->local));
    if (dp_addr_is_v4(ip)) {
        struct sockaddr_in *la = (struct sockaddr_in *)&c->local;

        la->sin_family = AF_INET;
        la->sin_addr.s_addr = dp_addr_get_v4(ip);
        la->sin_port = port;
        c->local_len = sizeof(*la);
    } else {
        struct sockaddr_in6 *la = (struct sockaddr_in6 *)&c->local;

        la->sin6_family = AF_INET6;
        memcpy(&la->sin6_addr, ip->b, sizeof(la->sin6_addr));
        la->sin6_port = port;
        c->local_len = sizeof(*la);
    }
}

static int d_open(struct svc_worker *w, struct svc_conn *c, const struct h3_io_ops **io,
                  void **io_ctx)
{
    struct dp_flow_params fp = {
        .local_port = 0,
        .lcore = (int)w->lcore,
        .rx = d_rx,
        .pmtu = d_pmtu,
        .arg = c,
    };

    if (c->remote.ss_family == AF_INET) {
        const struct sockaddr_in *ra = (const struct sockaddr_in *)&c->remote;

        fp.remote = dp_addr_v4(ra->sin_addr.s_addr);
        fp.remote_port = ntohs(ra->sin_port);
    } else if (c->remote.ss_family == AF_INET6) {
        const struct sockaddr_in6 *ra = (const struct sockaddr_in6 *)&c->remote;

        fp.remote = dp_addr_v6(ra->sin6_addr.s6_addr);
        fp.remote_port = ntohs(ra->sin6_port);
    } else {
        return -EAFNOSUPPORT;
    }
    c->flow = dp_flow_open(w->s->conf.dp, &fp);
    if (!c->flow)
        return -rte_errno;
    d_local_addr(c);
    /* Datagrams as large as the port's MTU allows in the flow's family (MTU less the IPv4
     * or IPv6 and UDP headers): PMTUD starts probing there. */
    c->max_udp_payload = dp_flow_max_payload(c->flow);
    *io = &d_io_ops;
    *io_ctx = c;
    return 0;
}

static void d_flush(struct svc_worker *w, struct svc_conn *c)
{
    (void)w;
    (void)c; /* the dataplane loop drains the lcore's TX buffer */
}

static void d_close(struct svc_worker *w, struct svc_conn *c)
{
    (void)w;
    dp_flow_close(c->flow);
    c->flow = NULL;
}

const struct svc_backend svc_dpdk_backend = {
    .open = d_open,
    .attach = NULL,
    .flush = d_flush,
    .close = d_close,
};

static unsigned d_hook(void *arg, unsigned lcore, uint64_t now_ns)
{
    (void)lcore;
    return svc_worker_step(arg, now_ns);
}

/* The worker's next connection timer, so an idle lcore sleeping on interrupts wakes
 * for it (keep-alives, loss recovery, idle timeouts). */
static uint64_t d_timer(void *arg)
{
    return svc_worker_next_timer(arg);
}

int svc_dpdk_attach(struct svc_worker *w)
{
    int rc = dp_worker_hook_set(w->s->conf.dp, w->lcore, d_hook, w);
    if (rc != 0)
        return rc;
    return dp_worker_timer_set(w->s->conf.dp, w->lcore, d_timer);
}
