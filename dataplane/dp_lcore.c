/* dp_lcore: worker loop and TX path (see dp_lcore.h). */
#include "dp_lcore.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include "dp_ipv4.h"
#include "dp_log.h"
#include "dp_priv.h"
#include "dp_udp.h"

#define DP_CMD_BURST 8

void dp_txbuf_init(struct dp_txbuf *b, uint16_t port, uint16_t txq, uint16_t size,
                   uint64_t *tx_pkts, uint64_t *tx_dropped, uint64_t *drop_tx_full)
{
    memset(b, 0, sizeof(*b));
    b->port = port;
    b->queue = txq;
    b->size = size > DP_BURST_MAX ? DP_BURST_MAX : size;
    b->tx_pkts = tx_pkts;
    b->tx_dropped = tx_dropped;
    b->drop_tx_full = drop_tx_full;
}

void dp_txbuf_flush(struct dp_txbuf *b)
{
    uint16_t sent;

    if (b->n == 0)
        return;
    sent = rte_eth_tx_burst(b->port, b->queue, b->pkts, b->n);
    *b->tx_pkts += sent;
    if (unlikely(sent < b->n)) {
        uint16_t lost = b->n - sent;

        rte_pktmbuf_free_bulk(&b->pkts[sent], lost);
        *b->tx_dropped += lost;
        *b->drop_tx_full += lost;
    }
    b->n = 0;
}

void dp_txbuf_put(struct dp_txbuf *b, struct rte_mbuf *m, uint64_t now_tsc, uint64_t drain_tsc)
{
    if (b->n == 0)
        b->deadline_tsc = now_tsc + drain_tsc;
    b->pkts[b->n++] = m;
    if (b->n >= b->size)
        dp_txbuf_flush(b);
}

int dp_lcore_tx_udp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_addr *dst,
                    rte_be16_t dst_port, rte_be16_t src_port, uint16_t len, uint8_t tos)
{
    struct dp *dp = w->dp;
    struct dp_tx_tuple t;
    struct dp_addr nh;
    bool resolved;
    int rc;

    if (unlikely(!dp_next_hop(dp, dst, &nh))) {
        w->st.drop.n[DP_DROP_NO_NEIGH]++;
        rte_pktmbuf_free(m);
        return -EHOSTUNREACH;
    }
    dp_tx_tuple_init(dp, &t, dst, dst_port, src_port);
    t.tos = tos;
    resolved = dp_neigh_lookup(dp->neigh, &nh, &t.dst_mac) == 0;
    if (!resolved)
        memset(&t.dst_mac, 0, sizeof(t.dst_mac));
    rc = dp_tx_udp_frame(dp, m, &t, len);
    if (unlikely(rc < 0)) {
        w->st.drop.n[DP_DROP_UDP_LEN]++;
        rte_pktmbuf_free(m);
        return rc;
    }
    if (likely(resolved)) {
        dp_txbuf_put(&w->txb, m, w->now_tsc, dp->drain_tsc);
        return 0;
    }
    /* The slow path owns ARP and Neighbor Discovery: it routes the frame again by its
     * destination and queues it until the next hop answers. */
    if (unlikely(rte_ring_mp_enqueue(dp->slow_tx, m) != 0)) {
        w->st.drop.n[DP_DROP_RING_FULL]++;
        w->st.resolve_full++;
        rte_pktmbuf_free(m);
        return -ENOBUFS;
    }
    w->st.to_resolve++;
    return 0;
}

static inline void to_slow(struct dp_worker *w, struct rte_mbuf *m)
{
    if (unlikely(rte_ring_mp_enqueue(w->dp->slow_rx, m) != 0)) {
        w->st.drop.n[DP_DROP_RING_FULL]++;
        w->st.slow_full++;
        rte_pktmbuf_free(m);
        return;
    }
    w->st.to_slow++;
}

/* The built-in echo service: the datagram goes back to its sender from the same mbuf. */
static void echo(struct dp_worker *w, struct rte_mbuf *m, const struct dp_pkt_info *pi)
{
    /* dp_classify accepts no IP options and no VLAN tag; an IPv6 datagram may have come
     * with extension headers: the payload must sit right after the fixed headers, where
     * dp_lcore_tx_udp() expects it. */
    if (unlikely(pi->payload_off != dp_udp_hdrs_len(&pi->src) || m->nb_segs != 1)) {
        w->st.drop.n[DP_DROP_TRUNCATED]++;
        rte_pktmbuf_free(m);
        return;
    }
    w->st.echo++;
    (void)dp_lcore_tx_udp(w, m, &pi->src, pi->src_port, pi->dst_port, pi->payload_len, 0);
}

/* A datagram for |f|: its payload and the ECN codepoint it arrived with. */
static inline void deliver(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m,
                           const struct dp_pkt_info *pi, uint64_t now_ns)
{
    f->rx_pkts++;
    w->st.flow_rx++;
    if (!f->rx(f->arg, f, rte_pktmbuf_mtod(m, const uint8_t *) + pi->payload_off, pi->payload_len,
               pi->ecn, m, now_ns))
        rte_pktmbuf_free(m);
}

/* A Packet Too Big about one of |f|'s datagrams. */
static void deliver_pmtu(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m,
                         const struct dp_pkt_info *pi, uint64_t now_ns)
{
    const uint8_t *icmp = rte_pktmbuf_mtod(m, const uint8_t *) + pi->payload_off;
    uint32_t mtu;

    memcpy(&mtu, icmp + 4, sizeof(mtu));
    mtu = rte_be_to_cpu_32(mtu);
    /* RFC 8201 4: a report below the IPv6 minimum link MTU is raised to it. */
    if (mtu < DP_IPV6_MIN_MTU)
        mtu = DP_IPV6_MIN_MTU;
    w->st.pmtu++;
    if (f->pmtu != NULL)
        f->pmtu(f->arg, f, mtu, now_ns);
    rte_pktmbuf_free(m);
}

/* Marks the checksums of |m| verified before it goes to another lcore, which classifies it
 * again without paying for them twice. */
static inline void mark_verified(struct rte_mbuf *m)
{
    m->ol_flags = (m->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
                  RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

/* UDP to us (or a Packet Too Big about our UDP, |ptb|): the echo service, a flow of this
 * lcore, another lcore's flow, or the slow path: nobody's port (NO_FLOW there) or a
 * main-lcore endpoint's (DP_OWNER_MAIN, which the owner tests below let through: no test
 * of its own). */
static void udp_in(struct dp_worker *w, struct rte_mbuf *m, const struct dp_pkt_info *pi, bool ptb,
                   uint64_t now_ns)
{
    struct dp *dp = w->dp;
    unsigned owner = atomic_load_explicit(&dp->port_owner[rte_be_to_cpu_16(pi->dst_port)],
                                          memory_order_acquire) &
                     DP_OWNER_MASK;
    struct dp_flow *f;

    if (owner == (unsigned)w->index + 1) {
        f = dp_flowtab_lookup(&w->ft, &pi->src, pi->src_port, pi->dst_port);
        if (likely(f != NULL)) {
            if (unlikely(ptb))
                deliver_pmtu(w, f, m, pi, now_ns);
            else
                deliver(w, f, m, pi, now_ns);
            return;
        }
    } else if (owner == DP_OWNER_ECHO && !ptb) {
        echo(w, m, pi);
        return;
    } else if (owner != 0 && owner <= dp->n_workers) {
        mark_verified(m);
        if (unlikely(rte_ring_mp_enqueue(dp->workers[owner - 1].steer, m) != 0)) {
            w->st.drop.n[DP_DROP_RING_FULL]++;
            w->st.steer_full++;
            rte_pktmbuf_free(m);
            return;
        }
        w->st.steer_out++;
        return;
    }
    to_slow(w, m);
}

static void rx_one(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ns)
{
    struct dp_pkt_info pi;
    enum dp_drop why = DP_DROP_TRUNCATED;

    switch (dp_classify(&w->dp->iface, rte_pktmbuf_mtod(m, const uint8_t *),
                        rte_pktmbuf_data_len(m), m->ol_flags, &pi, &why)) {
    case DP_PKT_UDP:
        udp_in(w, m, &pi, false, now_ns);
        return;
    case DP_PKT_PTB:
        udp_in(w, m, &pi, true, now_ns);
        return;
    case DP_PKT_ARP:
    case DP_PKT_ICMP_ECHO:
    case DP_PKT_ND:
        to_slow(w, m);
        return;
    case DP_PKT_DROP:
    default:
        w->st.drop.n[why < DP_DROP__MAX ? why : DP_DROP_TRUNCATED]++;
        rte_pktmbuf_free(m);
        return;
    }
}

/* A frame steered to us was classified by its receiver (checksums marked verified): only
 * our flow table is left. Classified again for its offsets, which IPv6 extension headers
 * move. */
static void steered_one(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ns)
{
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    struct dp_pkt_info pi;
    enum dp_drop why = DP_DROP_TRUNCATED;
    enum dp_class c;
    struct dp_flow *f;

    w->st.steer_in++;
    c = dp_classify(&w->dp->iface, frame, rte_pktmbuf_data_len(m), m->ol_flags, &pi, &why);
    f = c == DP_PKT_UDP || c == DP_PKT_PTB
            ? dp_flowtab_lookup(&w->ft, &pi.src, pi.src_port, pi.dst_port)
            : NULL;
    if (unlikely(f == NULL)) {
        to_slow(w, m);
        return;
    }
    if (unlikely(c == DP_PKT_PTB))
        deliver_pmtu(w, f, m, &pi, now_ns);
    else
        deliver(w, f, m, &pi, now_ns);
}

static unsigned do_cmds(struct dp_worker *w)
{
    void *cmds[DP_CMD_BURST];
    unsigned n = rte_ring_sc_dequeue_burst(w->cmd, cmds, DP_CMD_BURST, NULL);

    for (unsigned i = 0; i < n; i++) {
        uintptr_t v = (uintptr_t)cmds[i];

        dp_flow_apply(w, (struct dp_flow *)(v & ~DP_CMD_CLOSE), v & DP_CMD_CLOSE);
    }
    return n;
}

unsigned dp_idle_backoff(const struct dp *dp, enum dp_idle_policy policy, uint32_t empty)
{
    uint32_t spin = dp->conf.idle_spin_polls;

    if (policy == DP_IDLE_BUSY || empty <= spin)
        return 0;
    if (empty <= 2 * spin) {
        rte_pause();
        return 0;
    }
    /* Idle path only: a short sleep gives the core back (the kernel side needs it). */
    uint64_t ns = policy == DP_IDLE_INTERRUPT ? DP_IDLE_WAKE_NS
                                              : (uint64_t)dp->conf.idle_sleep_us * 1000;
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
                           .tv_nsec = (long)(ns % 1000000000ull) };
    nanosleep(&ts, NULL);
    return 1;
}

/* The interrupt policy: an epoll of the worker's RX queue interrupts, when the device
 * has them for every queue the worker polls (net_tap does; net_memif and net_af_packet
 * in DPDK 22.11 do not: the worker then sleeps DP_IDLE_WAKE_NS at a time). */
static void intr_setup(struct dp_worker *w)
{
    struct dp *dp = w->dp;
    int ep;

    if (dp->conf.idle != DP_IDLE_INTERRUPT || w->n_rxq == 0)
        return;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return;
    for (uint16_t q = 0; q < w->n_rxq; q++) {
        int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(dp->port.port_id, w->rxqs[q]);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = q };

        int rc = fd < 0 ? -ENOTSUP : rte_eth_dev_rx_intr_disable(dp->port.port_id, w->rxqs[q]);

        /* A device without enable/disable (net_tap: the queue's fd is the TAP itself,
         * readable while frames wait) needs no arming. */
        if (rc == -ENOTSUP && fd >= 0)
            rc = 0;
        else if (rc == 0)
            w->intr_arm = true;
        if (fd < 0 || rc != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            DP_LOG(INFO, "worker %u: port %s has no RX interrupt on queue %u: idle sleeps "
                         "of %llu us",
                   w->index, dp->port.name, w->rxqs[q], DP_IDLE_WAKE_NS / 1000);
            close(ep);
            return;
        }
    }
    w->epfd = ep;
    DP_LOG(INFO, "worker %u: sleeps on RX interrupts when idle", w->index);
}

/* Sleeps until a packet arrives (RX interrupt), the upper layer's next timer or at most
 * DP_IDLE_WAKE_NS (commands from other threads are seen then). Returns 1 when it slept. */
static unsigned intr_sleep(struct dp_worker *w, uint64_t now_ns)
{
    struct dp *dp = w->dp;
    uint64_t until = now_ns + DP_IDLE_WAKE_NS, t;
    struct epoll_event evs[DP_MAX_WORKERS + 1];

    if (w->timer != NULL && (t = w->timer(w->hook_arg)) < until)
        until = t;
    if (until <= now_ns)
        return 0;
    uint64_t ns = until - now_ns;
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
                           .tv_nsec = (long)(ns % 1000000000ull) };
    if (w->epfd < 0) {
        nanosleep(&ts, NULL);
        return 1;
    }
    for (uint16_t q = 0; w->intr_arm && q < w->n_rxq; q++)
        (void)rte_eth_dev_rx_intr_enable(dp->port.port_id, w->rxqs[q]);
    /* A packet that came between the last poll and the enable: its queue's fd is
     * readable already (level-triggered) or raised by the enable, so no sleep then. */
    (void)epoll_pwait2(w->epfd, evs, RTE_DIM(evs), &ts, NULL);
    for (uint16_t q = 0; w->intr_arm && q < w->n_rxq; q++)
        (void)rte_eth_dev_rx_intr_disable(dp->port.port_id, w->rxqs[q]);
    return 1;
}

static uint64_t cpu_clock_ns(clockid_t clock)
{
    struct timespec ts;

    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An idle streak begins (the first empty iteration after work) or ends (the first
 * iteration with work after it): one thread-CPU clock read at each end, so the cost is
 * per streak, not per iteration. The streak's end is known only once that iteration has
 * done its work: |work_ns| (its TSC length) is taken back out of the streak. */
static void idle_begin(struct dp_lcore_cpu *c)
{
    uint64_t t = cpu_clock_ns(c->clock);

    atomic_store_explicit(&c->idle_at, t ? t : 1, memory_order_release);
}

static void idle_end(struct dp_lcore_cpu *c, uint64_t work_ns)
{
    uint64_t at = atomic_load_explicit(&c->idle_at, memory_order_relaxed);
    uint64_t t = cpu_clock_ns(c->clock);

    if (at != 0 && t > at + work_ns)
        atomic_fetch_add_explicit(&c->idle_ns, t - at - work_ns, memory_order_relaxed);
    atomic_store_explicit(&c->idle_at, 0, memory_order_release);
}

void dp_lcore_cpu_read(const struct dp_lcore_cpu *c, uint64_t *cpu_ns, uint64_t *idle_ns)
{
    *cpu_ns = *idle_ns = 0;
    if (!atomic_load_explicit(&c->ready, memory_order_acquire))
        return;
    /* The worker may end a streak between our reads: retry until |idle_at| is stable, so
     * a streak is counted once, either finished or in progress. */
    for (int tries = 0; tries < 100; tries++) {
        uint64_t at = atomic_load_explicit(&c->idle_at, memory_order_acquire);
        uint64_t idle = atomic_load_explicit(&c->idle_ns, memory_order_acquire);
        uint64_t now = cpu_clock_ns(c->clock);

        if (atomic_load_explicit(&c->idle_at, memory_order_acquire) != at)
            continue;
        *cpu_ns = now;
        *idle_ns = idle + (at != 0 && now > at ? now - at : 0);
        return;
    }
}

int dp_lcore_main(void *arg)
{
    struct dp_worker *w = arg;
    struct dp *dp = w->dp;
    struct rte_mbuf *pkts[DP_BURST_MAX];
    const uint16_t burst = dp->conf.burst;
    uint64_t prev_tsc = rte_rdtsc();
    bool prev_busy = false;
    uint32_t empty = 0;

    if (pthread_getcpuclockid(pthread_self(), &w->cpu.clock) == 0)
        atomic_store_explicit(&w->cpu.ready, true, memory_order_release);
    intr_setup(w);
    DP_LOG(INFO, "worker %u on lcore %u: %u RX queue(s) from %u, TX queue %u", w->index,
           w->lcore_id, w->n_rxq, w->n_rxq ? w->rxqs[0] : 0, w->txq);
    while (!atomic_load_explicit(&dp->quit, memory_order_relaxed)) {
        uint64_t tsc = rte_rdtsc();
        uint64_t now_ns = dp_tsc_ns(dp, tsc);
        unsigned work = 0;
        uint16_t nrx = 0;

        w->now_tsc = tsc;

        if (prev_busy)
            w->st.busy_cycles += tsc - prev_tsc;
        else
            w->st.idle_cycles += tsc - prev_tsc;
        prev_tsc = tsc;

        work += do_cmds(w);
        if (w->steer != NULL) {
            unsigned n = rte_ring_sc_dequeue_burst(w->steer, (void **)pkts, burst, NULL);

            for (unsigned i = 0; i < n; i++)
                steered_one(w, pkts[i], now_ns);
            work += n;
        }
        for (uint16_t q = 0; q < w->n_rxq; q++) {
            uint16_t n = rte_eth_rx_burst(dp->port.port_id, w->rxqs[q], pkts, burst);

            w->st.rx_pkts += n;
            for (uint16_t i = 0; i < n; i++) {
                if (i + 1 < n)
                    rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
                rx_one(w, pkts[i], now_ns);
            }
            work += n;
            if (n > nrx)
                nrx = n;
        }
        if (w->hook != NULL)
            work += w->hook(w->hook_arg, w->lcore_id, now_ns);
        /* Flush when the queue is drained (nothing more to batch with) or on time. */
        if (w->txb.n != 0 && (nrx < burst || tsc >= w->txb.deadline_tsc))
            dp_txbuf_flush(&w->txb);

        prev_busy = work != 0;
        if (work != 0) {
            if (empty != 0)
                idle_end(&w->cpu, dp_tsc_ns(dp, rte_rdtsc()) - now_ns);
            empty = 0;
        } else {
            if (empty == 0)
                idle_begin(&w->cpu);
            if (empty != UINT32_MAX)
                empty++;
            if (dp->conf.idle == DP_IDLE_INTERRUPT && empty > 2 * dp->conf.idle_spin_polls)
                w->st.sleeps += intr_sleep(w, now_ns);
            else
                w->st.sleeps += dp_idle_backoff(dp, dp->conf.idle, empty);
        }
    }
    dp_txbuf_flush(&w->txb);
    if (w->epfd >= 0) {
        close(w->epfd);
        w->epfd = -1;
    }
    DP_LOG(INFO, "worker %u on lcore %u: stopped", w->index, w->lcore_id);
    return 0;
}

static void pct(char *buf, size_t len, uint64_t part, uint64_t total)
{
    if (total == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)total);
}

void dp_lcore_stats_print(const struct dp *dp, FILE *out)
{
    /* Cycles in millions: a day at 3 GHz still fits the column. */
    const double M = 1e6;
    char busy[16];

    fprintf(out, "lcores\n  %-8s %6s %12s %12s %10s %10s %10s %10s %10s %7s %12s %12s\n", "role",
            "lcore", "rx pkts", "tx pkts", "tx drops", "to slow", "steered", "flow rx", "echo",
            "busy", "busy Mcyc", "idle Mcyc");
    for (unsigned i = 0; i < dp->n_workers; i++) {
        const struct dp_worker *w = &dp->workers[i];
        const struct dp_lcore_stats *s = &w->st;

        pct(busy, sizeof(busy), s->busy_cycles, s->busy_cycles + s->idle_cycles);
        fprintf(out,
                "  %-8s %6u %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
                " %10" PRIu64 " %10" PRIu64 " %7s %12.1f %12.1f\n",
                "worker", w->lcore_id, s->rx_pkts, s->tx_pkts, s->tx_dropped,
                s->to_slow + s->to_resolve, s->steer_out, s->flow_rx, s->echo, busy,
                (double)s->busy_cycles / M, (double)s->idle_cycles / M);
    }
    pct(busy, sizeof(busy), dp->sp.busy_cycles, dp->sp.busy_cycles + dp->sp.idle_cycles);
    fprintf(out,
            "  %-8s %6u %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10s %10s %10s %10s %7s %12.1f"
            " %12.1f\n",
            "main", rte_get_main_lcore(), dp->sp.rx_pkts, dp->sp.tx_pkts, dp->sp.tx_dropped, "-",
            "-", "-", "-", busy, (double)dp->sp.busy_cycles / M, (double)dp->sp.idle_cycles / M);
}
