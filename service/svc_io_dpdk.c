/* svc_io_dpdk.c: `[dataplane] io = dpdk` — the worker runs inside the dataplane's worker
 * loop (dp_worker_hook); each connection owns a dp_flow on that lcore; the driver writes
 * each QUIC packet straight into an mbuf (dp_flow_tx_alloc) that dp_flow_tx sends: no copy,
 * no malloc, no lock, no system call per packet. */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_errno.h>

#include "dp.h"
#include "dp_flow.h"
#include "svc_int.h"

static bool d_rx(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
                 struct rte_mbuf *m, uint64_t now_ns)
{
    struct svc_conn *c = arg;
    struct svc_worker *w = c->w;
    (void)f;
    (void)m;

    if (!c->h3)
        return false;
    w->now = now_ns;
    h3_conn_recv(c->h3, payload, len, 0, now_ns);
    svc_worker_touch(w, c);
    return false; /* the dataplane frees the mbuf: the driver copied what it keeps */
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
    (void)ecn;
    return dp_flow_tx(c->flow, pkt, (uint16_t)len);
}

static void d_tx_abort(void *io, void *pkt)
{
    (void)io;
    rte_pktmbuf_free(pkt);
}

static const struct h3_io_ops d_io_ops = {
    .tx_get = d_tx_get,
    .tx_put = d_tx_put,
    .tx_abort = d_tx_abort,
};

static int d_open(struct svc_worker *w, struct svc_conn *c, const struct h3_io_ops **io,
                  void **io_ctx)
{
    const struct sockaddr_in *ra = (const struct sockaddr_in *)&c->remote;
    struct dp_flow_params fp = {
        .remote_ip = ra->sin_addr.s_addr,
        .remote_port = ntohs(ra->sin_port),
        .local_port = 0,
        .lcore = (int)w->lcore,
        .rx = d_rx,
        .arg = c,
    };

    if (c->remote.ss_family != AF_INET)
        return -EAFNOSUPPORT;
    c->flow = dp_flow_open(w->s->conf.dp, &fp);
    if (!c->flow)
        return -rte_errno;
    struct sockaddr_in *la = (struct sockaddr_in *)&c->local;
    memset(la, 0, sizeof(*la));
    la->sin_family = AF_INET;
    la->sin_addr.s_addr = dp_ipv4(w->s->conf.dp);
    la->sin_port = htons(dp_flow_local_port(c->flow));
    c->local_len = sizeof(*la);
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

int svc_dpdk_attach(struct svc_worker *w)
{
    return dp_worker_hook_set(w->s->conf.dp, w->lcore, d_hook, w);
}
