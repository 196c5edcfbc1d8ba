/* dp_flow: UDP flows (see dp_flow.h). */
#include "dp_flow.h"

#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp_ipv4.h"
#include "dp_lcore.h"
#include "dp_log.h"
#include "dp_priv.h"

/* Attempts at claiming an automatic port before giving up (another thread may claim the
 * port dp_rss_pick_port() found between the pick and the claim). */
#define DP_FLOW_PICK_TRIES 8

int dp_port_claim(struct dp *dp, uint16_t port, unsigned owner)
{
    atomic_uint *slot = &dp->port_owner[port];
    unsigned cur = atomic_load_explicit(slot, memory_order_acquire);
    unsigned want;

    do {
        /* Only a worker's flows share a port (each with its own remote); the echo
         * service and a main-lcore endpoint own theirs alone. */
        if (cur == 0)
            want = owner | DP_OWNER_REF;
        else if ((cur & DP_OWNER_MASK) == owner && owner <= DP_MAX_WORKERS &&
                 (cur >> 16) < DP_OWNER_MASK)
            want = cur + DP_OWNER_REF;
        else
            return -EADDRINUSE;
    } while (!atomic_compare_exchange_weak_explicit(slot, &cur, want, memory_order_acq_rel,
                                                    memory_order_acquire));
    return 0;
}

void dp_port_release(struct dp *dp, uint16_t port)
{
    atomic_uint *slot = &dp->port_owner[port];
    unsigned cur = atomic_load_explicit(slot, memory_order_acquire);
    unsigned want;

    do {
        if (cur == 0)
            return;
        want = (cur >> 16) <= 1 ? 0 : cur - DP_OWNER_REF;
    } while (!atomic_compare_exchange_weak_explicit(slot, &cur, want, memory_order_acq_rel,
                                                    memory_order_acquire));
}

void dp_flow_apply(struct dp_worker *w, struct dp_flow *f, bool close)
{
    struct dp *dp = w->dp;

    if (!close) {
        int rc = dp_flowtab_insert(&w->ft, &f->remote, f->remote_port, f->local_port, f);

        if (rc == 0)
            atomic_fetch_add_explicit(&w->nflows, 1, memory_order_relaxed);
        else
            DP_LOG(WARNING, "flow open on lcore %u failed: %s", w->lcore_id, rte_strerror(-rc));
        atomic_store_explicit(&f->state, rc == 0 ? DP_FLOW_OPEN : DP_FLOW_FAILED,
                              memory_order_release);
        return;
    }
    if (dp_flowtab_lookup(&w->ft, &f->remote, f->remote_port, f->local_port) == f &&
        dp_flowtab_delete(&w->ft, &f->remote, f->remote_port, f->local_port) == 0)
        atomic_fetch_sub_explicit(&w->nflows, 1, memory_order_relaxed);
    dp_port_release(dp, rte_be_to_cpu_16(f->local_port));
    rte_mempool_put(dp->flow_pool, f);
}

/* True when the caller may touch |w|'s table directly. */
static bool on_owner(const struct dp_worker *w)
{
    return !atomic_load_explicit(&w->dp->running, memory_order_acquire) ||
           rte_lcore_id() == w->lcore_id;
}

static struct dp_worker *pick_worker(struct dp *dp, int lcore)
{
    struct dp_worker *best = NULL;

    for (unsigned i = 0; i < dp->n_workers; i++) {
        struct dp_worker *w = &dp->workers[i];

        if (lcore >= 0) {
            if (w->lcore_id == (unsigned)lcore)
                return w;
            continue;
        }
        if (best == NULL || atomic_load(&w->nflows) < atomic_load(&best->nflows))
            best = w;
    }
    return best;
}

static bool port_in_use(void *arg, uint16_t port)
{
    struct dp *dp = arg;

    return atomic_load_explicit(&dp->port_owner[port], memory_order_relaxed) != 0;
}

int dp_port_pick(struct dp *dp, const struct dp_rss *rss, const struct dp_addr *remote,
                 const struct dp_addr *local, uint16_t remote_port, uint16_t want_q, unsigned owner,
                 uint16_t *port)
{
    /* Without RSS any free port will do. */
    static const struct dp_rss any_queue = {.mode = DP_RSS_NONE, .nb_queues = 1};

    if (rss == NULL)
        rss = &any_queue;
    for (int i = 0; i < DP_FLOW_PICK_TRIES; i++) {
        int rc =
            dp_rss_pick_port(rss, remote, local, remote_port, want_q, DP_FLOW_PORT_LO,
                             DP_FLOW_PORT_HI, dp->port_seed++ * 2654435761u, port, port_in_use, dp);

        if (rc < 0)
            return rc;
        if (dp_port_claim(dp, *port, owner) == 0)
            return 0;
    }
    return -EADDRNOTAVAIL;
}

static int pick_port(struct dp *dp, struct dp_worker *w, const struct dp_flow_params *p,
                     uint16_t *port)
{
    uint16_t want_q = w->n_rxq != 0 ? w->rxqs[0] : 0;

    return dp_port_pick(dp, &dp->rss, &p->remote, dp_tx_src(dp, &p->remote), p->remote_port, want_q,
                        w->index + 1u, port);
}

struct dp_flow *dp_flow_open(struct dp *dp, const struct dp_flow_params *p)
{
    struct dp_worker *w;
    struct dp_flow *f;
    uint16_t port = p->local_port;
    int rc;

    if (p->rx == NULL || p->remote_port == 0 || !dp_addr_is_unicast(&p->remote) ||
        dp_addr_eq(&p->remote, &dp->ip4) || dp_iface_is_ip6(&dp->iface, &p->remote)) {
        rte_errno = EINVAL;
        return NULL;
    }
    if (!dp_addr_is_v4(&p->remote) && !dp->iface.ip6_on) {
        rte_errno = EAFNOSUPPORT;
        return NULL;
    }
    w = pick_worker(dp, p->lcore);
    if (w == NULL) {
        rte_errno = EINVAL;
        return NULL;
    }
    if (port != 0)
        rc = dp_port_claim(dp, port, w->index + 1u);
    else
        rc = pick_port(dp, w, p, &port);
    if (rc < 0) {
        rte_errno = -rc;
        return NULL;
    }
    if (rte_mempool_get(dp->flow_pool, (void **)&f) != 0) {
        dp_port_release(dp, port);
        rte_errno = ENOSPC;
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->dp = dp;
    f->w = w;
    f->remote = p->remote;
    f->local = dp_tx_src(dp, &p->remote);
    f->remote_port = rte_cpu_to_be_16(p->remote_port);
    f->local_port = rte_cpu_to_be_16(port);
    f->hdrs_len = dp_udp_hdrs_len(&p->remote);
    f->max_payload = dp_addr_is_v4(&p->remote) ? dp->max_payload : dp->max_payload6;
    f->rx = p->rx;
    f->pmtu = p->pmtu;
    f->arg = p->arg;
    atomic_init(&f->state, DP_FLOW_OPENING);

    if (on_owner(w)) {
        dp_flow_apply(w, f, false);
        if (atomic_load(&f->state) != DP_FLOW_OPEN) {
            rc = dp_flowtab_lookup(&w->ft, &f->remote, f->remote_port, f->local_port) != NULL
                     ? EEXIST
                     : ENOSPC;
            dp_flow_apply(w, f, true);
            rte_errno = rc;
            return NULL;
        }
        return f;
    }
    if (rte_ring_mp_enqueue(w->cmd, f) != 0) {
        dp_port_release(dp, port);
        rte_mempool_put(dp->flow_pool, f);
        rte_errno = ENOBUFS;
        return NULL;
    }
    return f;
}

bool dp_flow_is_open(const struct dp_flow *f)
{
    return atomic_load_explicit(&f->state, memory_order_acquire) == DP_FLOW_OPEN;
}

unsigned dp_flow_lcore(const struct dp_flow *f)
{
    return f->w->lcore_id;
}

uint16_t dp_flow_local_port(const struct dp_flow *f)
{
    return rte_be_to_cpu_16(f->local_port);
}

uint16_t dp_flow_max_payload(const struct dp_flow *f)
{
    return f->max_payload;
}

const struct dp_addr *dp_flow_local_ip(const struct dp_flow *f)
{
    return f->local;
}

struct rte_mbuf *dp_flow_tx_alloc(struct dp_flow *f, uint8_t **payload, uint16_t *room)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(f->w->pool);
    uint16_t tail;

    if (unlikely(m == NULL))
        return NULL;
    tail = rte_pktmbuf_tailroom(m);
    *payload = rte_pktmbuf_mtod(m, uint8_t *) + f->hdrs_len;
    *room = RTE_MIN((uint16_t)(tail - f->hdrs_len), f->max_payload);
    return m;
}

int dp_flow_tx(struct dp_flow *f, struct rte_mbuf *m, uint16_t len, uint8_t ecn)
{
    struct dp_worker *w = f->w;

    if (unlikely(rte_lcore_id() != w->lcore_id)) {
        rte_pktmbuf_free(m);
        return -EXDEV;
    }
    if (unlikely(len > f->max_payload ||
                 (uint32_t)len + f->hdrs_len > rte_pktmbuf_tailroom(m) + m->data_len)) {
        rte_pktmbuf_free(m);
        return -EMSGSIZE;
    }
    f->tx_pkts++;
    w->st.flow_tx++;
    return dp_lcore_tx_udp(w, m, &f->remote, f->remote_port, f->local_port, len, ecn & DP_ECN_MASK);
}

void dp_flow_confirm(struct dp_flow *f, uint64_t now_ns)
{
    struct dp_worker *w = f->w;
    struct dp_addr nh;

    if (now_ns - f->confirm_ns < DP_FLOW_CONFIRM_NS && f->confirm_ns != 0)
        return;
    f->confirm_ns = now_ns;
    if (likely(dp_next_hop(f->dp, &f->remote, &nh)) &&
        dp_neigh_confirm(f->dp->neigh, &nh, now_ns) == 0)
        w->st.neigh_confirm++;
}

void dp_flow_close(struct dp_flow *f)
{
    struct dp_worker *w;

    if (f == NULL)
        return;
    w = f->w;
    atomic_store_explicit(&f->state, DP_FLOW_CLOSING, memory_order_release);
    if (on_owner(w)) {
        dp_flow_apply(w, f, true);
        return;
    }
    /* The owner is running and drains its ring every iteration: wait for room. */
    while (rte_ring_mp_enqueue(w->cmd, (void *)((uintptr_t)f | DP_CMD_CLOSE)) != 0)
        rte_pause();
}
