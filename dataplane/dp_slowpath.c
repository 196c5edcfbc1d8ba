/* dp_slowpath: ARP, ICMP echo and next-hop resolution on the main lcore (see
 * dp_slowpath.h). */
#include "dp_slowpath.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "dp_arp.h"
#include "dp_eth.h"
#include "dp_icmp.h"
#include "dp_icmp6.h"
#include "dp_lcore.h"
#include "dp_log.h"
#include "dp_nd.h"
#include "dp_priv.h"

/* The neighbour table holds next hops only: a handful in practice. */
#define DP_NEIGH_CAPACITY 256
/* How often the neighbour timers run. */
#define DP_NEIGH_TICK_NS (1000 * 1000)
/* FAILED entries refuse new resolutions this long (Linux: about a second). */
#define DP_NEIGH_FAILED_HOLD_NS (1000ULL * 1000 * 1000)
#define NS_PER_MS               (1000ULL * 1000)
/* Refused ARP claims are logged at most this often (each is counted). */
#define DP_CONFLICT_LOG_NS (1000ULL * 1000 * 1000)
/* RFC 4861 10: RetransTimer, the wait after each duplicate address detection solicitation. */
#define DP_DAD_RETRANS_NS (1000ULL * 1000 * 1000)

static void slow_send(struct dp *dp, struct rte_mbuf *m)
{
    dp_txbuf_put(&dp->slow_txb, m, rte_rdtsc(), dp->drain_tsc);
}

/* ARP request for |ip| (broadcast, or unicast to |dst|). */
static void arp_solicit(struct dp *dp, rte_be32_t ip, const struct rte_ether_addr *dst)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(dp->main_pool);
    int len;

    if (m == NULL) {
        dp->sp.tx_dropped++;
        return;
    }
    len = dp_arp_build_request(rte_pktmbuf_mtod(m, uint8_t *), (uint16_t)rte_pktmbuf_tailroom(m),
                               &dp->port.mac, dp->conf.ip, ip, dst);
    if (len < 0) {
        rte_pktmbuf_free(m);
        dp->sp.tx_dropped++;
        return;
    }
    m->data_len = (uint16_t)len;
    m->pkt_len = (uint32_t)len;
    dp->sp.arp_req_out++;
    slow_send(dp, m);
}

/* Neighbor Solicitation for |target|: from the address of ours of its scope with our MAC
 * (to its solicited-node group, or unicast to |dst|), or for duplicate address detection
 * (|dad|: from the unspecified address, to the group). */
static void nd_solicit(struct dp *dp, const struct dp_addr *target,
                       const struct rte_ether_addr *dst, bool dad)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(dp->main_pool);
    int len;

    if (m == NULL) {
        dp->sp.tx_dropped++;
        return;
    }
    len = dp_nd_build_ns(rte_pktmbuf_mtod(m, uint8_t *), (uint16_t)rte_pktmbuf_tailroom(m),
                         &dp->port.mac, dad ? NULL : dp_tx_src(dp, target), target, dst);
    if (len < 0) {
        rte_pktmbuf_free(m);
        dp->sp.tx_dropped++;
        return;
    }
    m->data_len = (uint16_t)len;
    m->pkt_len = (uint32_t)len;
    dp->sp.ns_out++;
    slow_send(dp, m);
}

/* dp_neigh callback: who has |a|? ARP for IPv4, a Neighbor Solicitation for IPv6. */
static void neigh_solicit(void *arg, const struct dp_addr *a, const struct rte_ether_addr *dst)
{
    struct dp *dp = arg;

    if (dp_addr_is_v4(a))
        arp_solicit(dp, dp_addr_get_v4(a), dst);
    else
        nd_solicit(dp, a, dst, false);
}

/* dp_neigh callback: a frame waited for |mac|; its headers are complete otherwise. */
static void neigh_xmit(void *arg, void *pkt, const struct rte_ether_addr *mac)
{
    struct dp *dp = arg;
    struct rte_mbuf *m = pkt;
    struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

    rte_ether_addr_copy(mac, &eh->dst_addr);
    dp->sp.resolve_sent++;
    slow_send(dp, m);
}

static void neigh_free(void *arg, void *pkt)
{
    struct dp *dp = arg;

    dp->sp.drop.n[DP_DROP_NO_NEIGH]++;
    rte_pktmbuf_free(pkt);
}

int dp_slowpath_init(struct dp *dp)
{
    const struct dp_conf *c = &dp->conf;
    struct dp_neigh_params p = {
        .capacity = DP_NEIGH_CAPACITY,
        .queue_per_entry = (uint16_t)RTE_MIN(c->arp_queue, UINT16_MAX),
        .queue_total = c->arp_queue,
        .max_retries = (uint8_t)RTE_MIN(c->arp_retries, UINT8_MAX),
        .retry_ns = (uint64_t)c->arp_retry_ms * NS_PER_MS,
        .reachable_ns = (uint64_t)c->arp_timeout_ms * NS_PER_MS,
        .failed_hold_ns = DP_NEIGH_FAILED_HOLD_NS,
    };
    struct dp_neigh_ops ops = {
        .solicit = neigh_solicit,
        .xmit = neigh_xmit,
        .free_pkt = neigh_free,
        .arg = dp,
    };
    int err = 0;

    dp->neigh = dp_neigh_new(&p, &ops, &err);
    if (dp->neigh == NULL) {
        DP_LOG(ERR, "neighbour table: %s", rte_strerror(-err));
        return err != 0 ? err : -ENOMEM;
    }
    if (c->gateway != 0 && c->gateway_mac_set) {
        struct dp_addr gw = dp_addr_v4(c->gateway);

        err = dp_neigh_add_static(dp->neigh, &gw, &c->gateway_mac);
        if (err < 0) {
            DP_LOG(ERR, "static gateway entry: %s", rte_strerror(-err));
            return err;
        }
    }
    if (c->ip6_set && !dp_addr_is_zero(&c->gateway6) && c->gateway6_mac_set) {
        err = dp_neigh_add_static(dp->neigh, &c->gateway6, &c->gateway6_mac);
        if (err < 0) {
            DP_LOG(ERR, "static IPv6 gateway entry: %s", rte_strerror(-err));
            return err;
        }
    }
    return 0;
}

void dp_slowpath_free(struct dp *dp)
{
    dp_neigh_del(dp->neigh);
    dp->neigh = NULL;
}

/* What an ARP packet tells the neighbour table (enum dp_neigh_msg): a reply to our
 * address answers us; a request for our address comes from a host we are about to answer;
 * anything else (gratuitous ARP: sender = target; requests and replies between other
 * hosts seen through broadcast) is an announcement nobody asked for. */
static enum dp_neigh_msg arp_msg_kind(const struct dp_arp_msg *msg, rte_be32_t our_ip)
{
    if (msg->tpa != our_ip)
        return DP_NEIGH_MSG_ANNOUNCE;
    return msg->op == DP_ARP_OP_REPLY ? DP_NEIGH_MSG_REPLY : DP_NEIGH_MSG_REQUEST;
}

/* A claim of another MAC for a neighbour was refused: counted, and said at most once a
 * second (an attacker must not fill the log). */
static void arp_conflict(struct dp *dp, const struct dp_arp_msg *msg, uint64_t now_ns)
{
    struct dp_addr a = dp_addr_v4(msg->spa);
    char ip[DP_ADDR_STR_MAX];

    dp->sp.arp_conflict++;
    if (now_ns - dp->sp_conflict_log_ns < DP_CONFLICT_LOG_NS && dp->sp_conflict_log_ns != 0)
        return;
    dp->sp_conflict_log_ns = now_ns;
    DP_LOG(WARNING,
           "arp: %s claimed by %02x:%02x:%02x:%02x:%02x:%02x (%s): refused, the known MAC is "
           "probed (arp_conflict %" PRIu64 ")",
           dp_addr_str(&a, ip, sizeof(ip)), RTE_ETHER_ADDR_BYTES(&msg->sha),
           msg->spa == msg->tpa         ? "gratuitous"
           : msg->op == DP_ARP_OP_REPLY ? "reply"
                                        : "request",
           dp->sp.arp_conflict);
}

static void arp_in(struct dp *dp, struct rte_mbuf *m, const struct dp_pkt_info *pi, uint64_t now_ns)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    uint16_t len = rte_pktmbuf_data_len(m);
    struct dp_arp_msg msg;
    enum dp_drop why = DP_DROP_ARP_MALFORMED;
    int rlen;

    if (dp_arp_parse(frame + pi->l3_off, (uint16_t)(len - pi->l3_off), &msg, &why) < 0) {
        dp->sp.drop.n[why]++;
        rte_pktmbuf_free(m);
        return;
    }
    /* The neighbour table decides what the packet may change (RFC 826 merge, without
     * letting an unsolicited claim redirect a neighbour in use). A probe (sender 0.0.0.0)
     * teaches nothing, and nobody teaches us our own address. */
    if (msg.spa != 0 && msg.spa != dp->conf.ip) {
        struct dp_addr a = dp_addr_v4(msg.spa);

        if (dp_neigh_learn(dp->neigh, &a, &msg.sha, arp_msg_kind(&msg, dp->conf.ip), now_ns) ==
            DP_NEIGH_CONFLICT)
            arp_conflict(dp, &msg, now_ns);
    }
    if (msg.op != DP_ARP_OP_REQUEST) {
        dp->sp.arp_rep_in++;
        rte_pktmbuf_free(m);
        return;
    }
    dp->sp.arp_req_in++;
    if (msg.tpa != dp->conf.ip) { /* a gratuitous request: an announcement, no answer */
        rte_pktmbuf_free(m);
        return;
    }
    rlen = dp_arp_reply_in_place(frame, len, &dp->port.mac, dp->conf.ip);
    if (rlen < 0) {
        dp->sp.drop.n[DP_DROP_ARP_NOT_US]++;
        rte_pktmbuf_free(m);
        return;
    }
    m->data_len = (uint16_t)rlen;
    m->pkt_len = (uint32_t)rlen;
    m->ol_flags = 0;
    dp->sp.arp_rep_out++;
    slow_send(dp, m);
}

static void icmp_in(struct dp *dp, struct rte_mbuf *m, const struct dp_pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    int rlen;

    dp->sp.icmp_echo_in++;
    rlen = pi->ip_version == 6 ? dp_icmp6_echo_reply(frame, rte_pktmbuf_data_len(m), pi->l4_off)
                               : dp_icmp_echo_reply(frame, rte_pktmbuf_data_len(m));
    if (rlen < 0) {
        dp->sp.drop.n[DP_DROP_ICMP_TYPE]++;
        rte_pktmbuf_free(m);
        return;
    }
    m->data_len = (uint16_t)rlen;
    m->pkt_len = (uint32_t)rlen;
    m->ol_flags = 0;
    dp->sp.icmp_echo_out++;
    slow_send(dp, m);
}

/* A claim that cannot stand: another MAC for a neighbour in use (refused by the table), or
 * one of our own addresses claimed by someone else. Counted; said at most once a second,
 * sharing ARP's budget. */
static void nd_conflict(struct dp *dp, const struct dp_addr *a, const struct rte_ether_addr *mac,
                        const char *what, uint64_t now_ns)
{
    char ip[DP_ADDR_STR_MAX];

    dp->sp.nd_conflict++;
    if (now_ns - dp->sp_conflict_log_ns < DP_CONFLICT_LOG_NS && dp->sp_conflict_log_ns != 0)
        return;
    dp->sp_conflict_log_ns = now_ns;
    DP_LOG(WARNING,
           "nd: %s claimed by " RTE_ETHER_ADDR_PRT_FMT " (%s): refused (nd_conflict %" PRIu64 ")",
           dp_addr_str(a, ip, sizeof(ip)), RTE_ETHER_ADDR_BYTES(mac), what, dp->sp.nd_conflict);
}

/* During duplicate address detection: |a| (tentative) is someone else's too. */
static void dad_clash(struct dp *dp, const struct dp_addr *a, const struct rte_ether_addr *mac)
{
    if (dp->dad_clash)
        return;
    dp->dad_clash = true;
    dp->dad_clash_addr = *a;
    dp->dad_clash_mac = *mac;
}

/* A Neighbor Solicitation for one of our addresses: the sender learnt (RFC 4861 7.2.3),
 * then answered from the same mbuf (7.2.4): solicited, to the sender; to a duplicate
 * address detection (from ::), unsolicited to all nodes. While our addresses are
 * tentative nothing is answered; another host checking the same address is a clash
 * (RFC 4862 5.4.3). Consumes |m|. */
static void ns_in(struct dp *dp, struct rte_mbuf *m, const struct dp_pkt_info *pi,
                  const struct dp_nd_msg *msg, uint64_t now_ns)
{
    static const struct rte_ether_addr all_nodes_mac = {.addr_bytes = {0x33, 0x33, 0, 0, 0, 1}};
    const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    bool dad = dp_addr_is_zero(&pi->src);
    struct rte_ether_addr to_mac = msg->has_lladdr ? msg->lladdr : eh->src_addr;
    struct dp_addr target = msg->target, to = pi->src;
    uint32_t flags = DP_ND_NA_FLAG_SOLICITED | DP_ND_NA_FLAG_OVERRIDE;
    int len;

    dp->sp.ns_in++;
    if (dp->dad_running) {
        if (dad)
            dad_clash(dp, &target, &eh->src_addr);
        rte_pktmbuf_free(m);
        return;
    }
    if (dad) {
        /* Someone wants our address: our answer makes its detection fail. */
        nd_conflict(dp, &target, &eh->src_addr, "duplicate address detection", now_ns);
        (void)dp_addr_parse("ff02::1", &to);
        to_mac = all_nodes_mac;
        flags = DP_ND_NA_FLAG_OVERRIDE;
    } else if (msg->has_lladdr &&
               dp_neigh_learn(dp->neigh, &pi->src, &msg->lladdr, DP_NEIGH_MSG_REQUEST, now_ns) ==
                   DP_NEIGH_CONFLICT) {
        nd_conflict(dp, &pi->src, &msg->lladdr, "solicitation", now_ns);
    }
    len = dp_nd_build_na(rte_pktmbuf_mtod(m, uint8_t *),
                         (uint16_t)RTE_MIN(m->buf_len - m->data_off, UINT16_MAX), &dp->port.mac,
                         &target, &to, &to_mac, flags);
    if (len < 0) {
        dp->sp.tx_dropped++;
        rte_pktmbuf_free(m);
        return;
    }
    m->data_len = (uint16_t)len;
    m->pkt_len = (uint32_t)len;
    m->ol_flags = 0;
    dp->sp.na_out++;
    slow_send(dp, m);
}

/* A Neighbor Advertisement: what it tells the neighbour table (a solicited one to us is an
 * answer, anything else an announcement), or a claim of one of our addresses. */
static void na_in(struct dp *dp, const struct rte_mbuf *m, const struct dp_pkt_info *pi,
                  const struct dp_nd_msg *msg, uint64_t now_ns)
{
    const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    bool solicited = (msg->flags & DP_ND_NA_FLAG_SOLICITED) && !dp_ipv6_is_multicast(pi->dst.b);
    const struct rte_ether_addr *mac = msg->has_lladdr ? &msg->lladdr : &eh->src_addr;

    dp->sp.na_in++;
    if (dp_iface_is_ip6(&dp->iface, &msg->target)) {
        if (dp->dad_running)
            dad_clash(dp, &msg->target, mac);
        else
            nd_conflict(dp, &msg->target, mac, "our address", now_ns);
        return;
    }
    /* Without the target's link-layer option only an answer to us teaches (RFC 4861 7.2.5:
     * it confirms the MAC the frame came from). */
    if (!msg->has_lladdr && !solicited)
        return;
    if (dp_neigh_learn(dp->neigh, &msg->target, mac,
                       solicited ? DP_NEIGH_MSG_REPLY : DP_NEIGH_MSG_ANNOUNCE,
                       now_ns) == DP_NEIGH_CONFLICT)
        nd_conflict(dp, &msg->target, mac,
                    solicited ? "advertisement" : "unsolicited advertisement", now_ns);
}

/* A Router Advertisement: with accept_ra and no gateway6, its sender (link-local) is the
 * default router for its router lifetime (RFC 4861 6.3.4; the first one heard is kept
 * while it lasts); else counted and ignored. Prefixes are not used (our address is
 * configured). */
static void ra_in(struct dp *dp, const struct dp_pkt_info *pi, const struct dp_nd_msg *msg,
                  uint64_t now_ns)
{
    struct dp_addr cur;
    bool have = dp_router6(dp, &cur);
    char ip[DP_ADDR_STR_MAX];

    dp->sp.ra_in++;
    if (!dp->conf.accept_ra || !dp_addr_is_zero(&dp->conf.gateway6)) {
        dp->sp.ra_ignored++;
        return;
    }
    if (have && !dp_addr_eq(&cur, &pi->src)) {
        dp->sp.ra_ignored++; /* another router while ours lasts */
        return;
    }
    if (msg->has_lladdr)
        (void)dp_neigh_learn(dp->neigh, &pi->src, &msg->lladdr, DP_NEIGH_MSG_ANNOUNCE, now_ns);
    if (msg->router_lifetime_s == 0) {
        if (have) {
            static const struct dp_addr none;

            dp_router6_set(dp, &none);
            dp->ra_router_until_ns = 0;
            DP_LOG(NOTICE, "nd: default router %s withdrawn (router lifetime 0)",
                   dp_addr_str(&pi->src, ip, sizeof(ip)));
        }
        return;
    }
    if (!have) {
        dp_router6_set(dp, &pi->src);
        DP_LOG(NOTICE, "nd: default router %s (Router Advertisement, lifetime %u s)",
               dp_addr_str(&pi->src, ip, sizeof(ip)), msg->router_lifetime_s);
    }
    dp->ra_router_until_ns = now_ns + (uint64_t)msg->router_lifetime_s * NS_PER_S;
}

/* Neighbor Discovery for us (dp_classify said DP_PKT_ND). Consumes |m|. */
static void nd_in(struct dp *dp, struct rte_mbuf *m, const struct dp_pkt_info *pi, uint64_t now_ns)
{
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    struct dp_nd_msg msg;
    enum dp_drop why = DP_DROP_ND_MALFORMED;

    if (dp_nd_parse((const struct rte_ipv6_hdr *)(frame + pi->l3_off), frame + pi->payload_off,
                    pi->payload_len, &msg, &why) < 0) {
        dp->sp.drop.n[why]++;
        rte_pktmbuf_free(m);
        return;
    }
    if (msg.type == DP_ND_NEIGHBOR_SOLICIT) {
        ns_in(dp, m, pi, &msg, now_ns);
        return;
    }
    if (msg.type == DP_ND_NEIGHBOR_ADVERT)
        na_in(dp, m, pi, &msg, now_ns);
    else
        ra_in(dp, pi, &msg, now_ns);
    rte_pktmbuf_free(m);
}

static void frame_in(struct dp *dp, struct rte_mbuf *m, uint64_t now_ns)
{
    struct dp_pkt_info pi;
    enum dp_drop why = DP_DROP_TRUNCATED;

    dp->sp.rx_pkts++;
    /* Classified again: the workers keep no per-packet metadata, and the slow path can
     * afford it. */
    switch (dp_classify(&dp->iface, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
                        m->ol_flags, &pi, &why)) {
    case DP_PKT_ARP:
        arp_in(dp, m, &pi, now_ns);
        return;
    case DP_PKT_ICMP_ECHO:
        icmp_in(dp, m, &pi);
        return;
    case DP_PKT_ND:
        nd_in(dp, m, &pi, now_ns);
        return;
    case DP_PKT_PTB: /* about a flow closed since, or nobody's */
        why = DP_DROP_NO_FLOW;
        break;
    case DP_PKT_UDP:
        if (dp_local_rx(dp, &pi.src, pi.src_port, pi.dst_port,
                        rte_pktmbuf_mtod(m, const uint8_t *) + pi.payload_off, pi.payload_len,
                        now_ns)) {
            rte_pktmbuf_free(m);
            return;
        }
        why = DP_DROP_NO_FLOW;
        break;
    case DP_PKT_DROP:
    default:
        break;
    }
    dp->sp.drop.n[why < DP_DROP__MAX ? why : DP_DROP_TRUNCATED]++;
    rte_pktmbuf_free(m);
}

/* The destination of an outgoing frame we built (Ethernet + IPv4 or IPv6). */
static struct dp_addr frame_dst(const struct rte_mbuf *m)
{
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)frame;

    if (eh->ether_type == rte_cpu_to_be_16(DP_ETHERTYPE_IPV6))
        return dp_addr_v6(((const struct rte_ipv6_hdr *)(frame + DP_ETH_HDR_LEN))->dst_addr);
    return dp_addr_v4(((const struct rte_ipv4_hdr *)(frame + DP_ETH_HDR_LEN))->dst_addr);
}

/* A worker's outgoing frame whose next hop was not in the table: routed again here. */
static void resolve_out(struct dp *dp, struct rte_mbuf *m, uint64_t now_ns)
{
    struct rte_ether_addr mac;
    struct dp_addr dst = frame_dst(m), nh;
    int rc = -EHOSTUNREACH;

    dp->sp.resolve_in++;
    if (dp_next_hop(dp, &dst, &nh))
        rc = dp_neigh_resolve(dp->neigh, &nh, m, now_ns, &mac);
    if (rc == DP_NEIGH_READY) {
        neigh_xmit(dp, m, &mac);
    } else if (rc < 0) {
        dp->sp.drop.n[DP_DROP_NO_NEIGH]++;
        rte_pktmbuf_free(m);
    }
}

int dp_slowpath_xmit(struct dp *dp, struct rte_mbuf *m, const struct dp_addr *nh, uint64_t now_ns)
{
    struct rte_ether_addr mac;
    int rc = dp_neigh_resolve(dp->neigh, nh, m, now_ns, &mac);

    if (rc == DP_NEIGH_READY) {
        rte_ether_addr_copy(&mac, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr);
        slow_send(dp, m);
        return 0;
    }
    if (rc == DP_NEIGH_QUEUED) {
        dp->sp.resolve_in++;
        return 0;
    }
    dp->sp.drop.n[DP_DROP_NO_NEIGH]++;
    rte_pktmbuf_free(m);
    return -EHOSTUNREACH;
}

/* The IPv6 default router: an advertised one whose lifetime ended is forgotten; the one we
 * have is kept resolved ahead of traffic, like the IPv4 gateway. */
static void router6_tick(struct dp *dp, uint64_t now_ns)
{
    struct rte_ether_addr mac;
    struct dp_addr r;
    char ip[DP_ADDR_STR_MAX];

    if (dp->ra_router_until_ns != 0 && now_ns >= dp->ra_router_until_ns && dp_router6(dp, &r)) {
        static const struct dp_addr none;

        dp_router6_set(dp, &none);
        dp->ra_router_until_ns = 0;
        DP_LOG(NOTICE, "nd: default router %s expired (router lifetime over)",
               dp_addr_str(&r, ip, sizeof(ip)));
    }
    if (!dp->dad_running && dp_router6(dp, &r) && dp_neigh_lookup(dp->neigh, &r, &mac) < 0)
        (void)dp_neigh_resolve(dp->neigh, &r, NULL, now_ns, &mac);
}

unsigned dp_slowpath_poll(struct dp *dp, uint64_t now_ns)
{
    struct rte_mbuf *pkts[DP_BURST_MAX];
    unsigned n, work = 0;

    n = rte_ring_sc_dequeue_burst(dp->slow_rx, (void **)pkts, dp->conf.burst, NULL);
    for (unsigned i = 0; i < n; i++)
        frame_in(dp, pkts[i], now_ns);
    work += n;
    n = rte_ring_sc_dequeue_burst(dp->slow_tx, (void **)pkts, dp->conf.burst, NULL);
    for (unsigned i = 0; i < n; i++)
        resolve_out(dp, pkts[i], now_ns);
    work += n;
    if (now_ns >= dp->next_tick_ns) {
        struct rte_ether_addr mac;
        struct dp_addr gw = dp_addr_v4(dp->conf.gateway);

        (void)dp_neigh_tick(dp->neigh, now_ns);
        /* Keep the gateway resolved ahead of traffic: the first packet to an off-link
         * remote then never waits, and a gateway that was down is retried (after the
         * FAILED hold) without waiting for traffic to ask. */
        if (dp->conf.gateway != 0 && dp_neigh_lookup(dp->neigh, &gw, &mac) < 0)
            (void)dp_neigh_resolve(dp->neigh, &gw, NULL, now_ns, &mac);
        if (dp->iface.ip6_on)
            router6_tick(dp, now_ns);
        dp->next_tick_ns = now_ns + DP_NEIGH_TICK_NS;
    }
    /* The slow path answers one at a time: never let a reply wait for company. */
    dp_txbuf_flush(&dp->slow_txb);
    return work;
}

int dp_slowpath_dad(struct dp *dp)
{
    const struct dp_addr *addrs[2] = {&dp->iface.ip6_ll, &dp->iface.ip6};
    struct rte_mbuf *pkts[DP_BURST_MAX];
    char a[DP_ADDR_STR_MAX], b[DP_ADDR_STR_MAX];

    if (!dp->iface.ip6_on || dp->conf.dad_transmits == 0)
        return 0;
    dp->dad_running = true;
    dp->dad_clash = false;
    DP_LOG(INFO, "duplicate address detection of %s and %s: %u solicitation(s) each, 1 s apart",
           dp_addr_str(addrs[0], a, sizeof(a)), dp_addr_str(addrs[1], b, sizeof(b)),
           dp->conf.dad_transmits);
    for (unsigned i = 0; i < dp->conf.dad_transmits && !dp->dad_clash; i++) {
        uint64_t deadline;

        for (unsigned k = 0; k < 2; k++)
            nd_solicit(dp, addrs[k], NULL, true);
        dp_txbuf_flush(&dp->slow_txb);
        deadline = dp_now_ns(dp) + DP_DAD_RETRANS_NS;
        /* The workers do not run yet: the main lcore polls the port itself. */
        while (!dp->dad_clash) {
            uint64_t now = dp_now_ns(dp);
            unsigned n = 0;

            if (now >= deadline)
                break;
            for (uint16_t q = 0; q < dp->port.nb_rxq; q++) {
                uint16_t got = rte_eth_rx_burst(dp->port.port_id, q, pkts, dp->conf.burst);

                for (uint16_t j = 0; j < got; j++)
                    frame_in(dp, pkts[j], now);
                n += got;
            }
            n += dp_slowpath_poll(dp, now);
            if (n == 0)
                rte_delay_us_sleep(1000);
        }
    }
    dp->dad_running = false;
    if (dp->dad_clash) {
        DP_LOG(ERR,
               "duplicate address detection: %s is already used by " RTE_ETHER_ADDR_PRT_FMT
               " on the link: give [port] ip6 another address (or fix the other host)",
               dp_addr_str(&dp->dad_clash_addr, a, sizeof(a)),
               RTE_ETHER_ADDR_BYTES(&dp->dad_clash_mac));
        return -EADDRINUSE;
    }
    DP_LOG(INFO, "duplicate address detection: nobody else holds %s or %s",
           dp_addr_str(addrs[0], a, sizeof(a)), dp_addr_str(addrs[1], b, sizeof(b)));
    return 0;
}

static int print_neigh(void *arg, const struct dp_neigh_view *v)
{
    FILE *out = arg;
    char ip[DP_ADDR_STR_MAX];

    fprintf(out, "  %-25s " RTE_ETHER_ADDR_PRT_FMT "  %-10s %6u queued\n",
            dp_addr_str(&v->addr, ip, sizeof(ip)), RTE_ETHER_ADDR_BYTES(&v->mac),
            dp_neigh_state_name(v->state), v->queued);
    return 0;
}

void dp_slowpath_stats_print(const struct dp *dp, FILE *out)
{
    const struct dp_slow_stats *s = &dp->sp;
    const struct dp_neigh_stats *ns = dp_neigh_stats(dp->neigh);

    fprintf(out, "slow path\n");
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "arp requests in", s->arp_req_in,
            "arp replies out", s->arp_rep_out);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "arp requests out",
            s->arp_req_out, "arp replies in", s->arp_rep_in);
    fprintf(out, "  %-22s %12" PRIu64 "\n", "arp conflicts", s->arp_conflict);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "nd solicitations in", s->ns_in,
            "nd advertisements out", s->na_out);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "nd solicitations out", s->ns_out,
            "nd advertisements in", s->na_in);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "nd conflicts", s->nd_conflict,
            "router adverts in", s->ra_in);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "icmp echo requests",
            s->icmp_echo_in, "icmp echo replies", s->icmp_echo_out);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "waited for arp", s->resolve_in,
            "sent after arp", s->resolve_sent);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "local endpoint rx", s->local_rx,
            "local endpoint tx", s->local_tx);
    fprintf(out, "neighbours\n");
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "resolved", ns->resolved,
            "failed", ns->failed);
    fprintf(out, "  %-22s %12" PRIu64 "   %-22s %12" PRIu64 "\n", "queued", ns->queued,
            "queue overflow", ns->queue_overflow);
    (void)dp_neigh_foreach(dp->neigh, print_neigh, out);
}
