/* dp_local: UDP endpoints of the main lcore (see dp_local.h). */
#include "dp_local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dp_ipv4.h"
#include "dp_log.h"
#include "dp_priv.h"
#include "dp_slowpath.h"

/* True when the caller may touch the endpoint list: the slow path that reads it runs on
 * the main lcore, and only while the dataplane runs. */
static bool on_main(const struct dp *dp)
{
    return !atomic_load_explicit(&dp->running, memory_order_acquire) ||
           rte_lcore_id() == rte_get_main_lcore();
}

struct dp_local *dp_local_open(struct dp *dp, uint16_t port, dp_local_rx_cb cb, void *arg)
{
    struct dp_local *l;
    int rc;

    if (dp == NULL || cb == NULL) {
        rte_errno = EINVAL;
        return NULL;
    }
    if (!on_main(dp)) {
        rte_errno = EXDEV;
        return NULL;
    }
    /* Control-plane memory, opened a few times in a run: not from DPDK's heap. */
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    if (port != 0)
        rc = dp_port_claim(dp, port, DP_OWNER_MAIN);
    else
        rc = dp_port_pick(dp, NULL, &dp->ip4, &dp->ip4, 0, 0, DP_OWNER_MAIN, &port);
    if (rc < 0) {
        free(l);
        rte_errno = -rc;
        return NULL;
    }
    l->dp = dp;
    l->port = rte_cpu_to_be_16(port);
    l->cb = cb;
    l->arg = arg;
    l->next = dp->locals;
    dp->locals = l;
    return l;
}

uint16_t dp_local_port(const struct dp_local *l)
{
    return rte_be_to_cpu_16(l->port);
}

bool dp_local_rx(struct dp *dp, const struct dp_addr *src, rte_be16_t src_port, rte_be16_t dst_port,
                 const uint8_t *payload, uint16_t len, uint64_t now_ns)
{
    /* A handful of endpoints at most (a resolver's): a list is the fastest look-up. */
    for (struct dp_local *l = dp->locals; l != NULL; l = l->next) {
        if (l->port != dst_port)
            continue;
        l->rx_pkts++;
        dp->sp.local_rx++;
        /* Last use of |l|: the callback may close it. */
        l->cb(l->arg, src, rte_be_to_cpu_16(src_port), payload, len, now_ns);
        return true;
    }
    return false;
}

int dp_local_send(struct dp_local *l, const struct dp_addr *dst, uint16_t dst_port,
                  const void *data, size_t len)
{
    struct dp *dp = l->dp;
    struct dp_tx_tuple t;
    struct rte_mbuf *m;
    struct dp_addr nh;
    uint16_t hdrs;
    size_t room;
    int rc;

    if (rte_lcore_id() != rte_get_main_lcore())
        return -EXDEV;
    if (dst == NULL || dst_port == 0 || !dp_addr_is_unicast(dst) || dp_addr_eq(dst, &dp->ip4) ||
        dp_iface_is_ip6(&dp->iface, dst) || (data == NULL && len != 0))
        return -EINVAL;
    if (!dp_addr_is_v4(dst) && !dp->iface.ip6_on)
        return -EAFNOSUPPORT;
    hdrs = dp_udp_hdrs_len(dst);
    room = rte_pktmbuf_data_room_size(dp->main_pool) - RTE_PKTMBUF_HEADROOM - hdrs;
    if (len > (dp_addr_is_v4(dst) ? dp->max_payload : dp->max_payload6) || len > room)
        return -EMSGSIZE;
    if (!dp->port.started)
        return -ENETDOWN;
    if (!dp_next_hop(dp, dst, &nh)) {
        dp->sp.drop.n[DP_DROP_NO_NEIGH]++;
        return -EHOSTUNREACH;
    }
    m = rte_pktmbuf_alloc(dp->main_pool);
    if (m == NULL) {
        dp->sp.drop.n[DP_DROP_NO_MBUF]++;
        return -ENOBUFS;
    }
    if (len != 0)
        memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, hdrs), data, len);
    /* The destination MAC is the slow path's to fill, now or after resolution. */
    dp_tx_tuple_init(dp, &t, dst, rte_cpu_to_be_16(dst_port), l->port);
    memset(&t.dst_mac, 0, sizeof(t.dst_mac));
    rc = dp_tx_udp_frame(dp, m, &t, (uint16_t)len);
    if (rc < 0) { /* not reached: len <= max_payload */
        rte_pktmbuf_free(m);
        return -EMSGSIZE;
    }
    l->tx_pkts++;
    dp->sp.local_tx++;
    return dp_slowpath_xmit(dp, m, &nh, dp_now_ns(dp));
}

void dp_local_close(struct dp_local *l)
{
    struct dp *dp;

    if (l == NULL)
        return;
    dp = l->dp;
    if (!on_main(dp)) {
        DP_LOG(ERR, "dp_local_close of port %u off the main lcore while running: refused",
               rte_be_to_cpu_16(l->port));
        return;
    }
    for (struct dp_local **pp = &dp->locals; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    dp_port_release(dp, rte_be_to_cpu_16(l->port));
    free(l);
}

void dp_local_close_all(struct dp *dp)
{
    while (dp->locals != NULL)
        dp_local_close(dp->locals);
}
