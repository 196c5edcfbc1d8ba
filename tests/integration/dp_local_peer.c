/* dp_local_peer: exercises the main lcore's UDP endpoints (dataplane/dp_local.h) against a
 * kernel UDP echo server (run by dataplane_flow.sh inside a network namespace).
 *
 *   dp_local_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN GATEWAY REMOTE_IP REMOTE_PORT COUNT
 *                             [NFLOWS]
 *
 * Every EAL worker lcore becomes a dataplane worker. NFLOWS (default 1) worker flows are
 * opened beside the endpoint (they carry no traffic: their ports must not collide with it).
 *
 * Checks, in order (exit 0 only if all hold; each prints "ok:" or "FAIL:"):
 *  1. before start: an automatic endpoint port in the ephemeral range, none of the flows'
 *     ports; the flows' ports, the echo service's and the endpoint's own refused to
 *     dp_local_open(), the endpoint's refused to dp_flow_open() (EADDRINUSE); an explicit
 *     port opens and closes; dp_local_send() refuses before the port starts (ENETDOWN);
 *  2. on the main lcore, from the main hook: errors of dp_local_send() (EMSGSIZE one byte
 *     beyond the MTU's payload, EINVAL, EHOSTUNREACH without a route); then COUNT
 *     datagrams (window 16, no retransmission, sizes up to the MTU's payload), spread over
 *     NEP endpoints, come back byte-exact through the callback of the endpoint that sent
 *     each, always on the main lcore. REMOTE_IP is on-link and not the gateway: the first
 *     datagram is sent while its MAC is unknown and waits for the main lcore's ARP. The
 *     echoes arrive on a worker's RX queue and are handed over on the slow-path ring
 *     (counted). Which worker: the TAP's kernel side (tun's automatic queue choice) sends
 *     a flow's packets to the queue the flow was last written from, here the slow path's
 *     TX queue (n_workers), whose RX half net_tap makes the first worker poll; with RSS
 *     on a NIC any worker may get them, through the same hand-over;
 *  3. a datagram to an unused port is still NO_FLOW: the echo server bounces one
 *     ("BOUNCE" + port) to a port nobody owns, and the slow path's NO_FLOW counter rises
 *     by one;
 *  4. the orderly stop: the endpoint's port is free after dp_local_close(); dp_del()
 *     closes an endpoint left open.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp.h"
#include "dp_flow.h"
#include "dp_local.h"
#include "dp_priv.h"

#define WINDOW      16
#define STALL_NS    (3ULL * 1000 * 1000 * 1000)
#define BOUNCE_NS   (2ULL * 1000 * 1000 * 1000)
#define KERNEL_NS   (10ULL * 1000 * 1000 * 1000)
#define ECHO_PORT   9000
#define FIXED_PORT  5353
#define UNUSED_PORT 5999
#define SEQ_LEN     4
#define MAX_FLOWS   16
#define NEP         4 /* endpoints the datagrams are spread over: datagram i uses i % NEP */

struct peer;

struct ep {
    struct peer *t;
    struct dp_local *l;
    unsigned idx;
};

struct peer {
    struct dp *dp;
    struct dp_local *l; /* = ep[0].l */
    struct ep ep[NEP];
    rte_be32_t remote;
    struct dp_addr rip; /* |remote| as a dp_addr */
    uint16_t remote_port;
    uint16_t max_payload;
    uint32_t count, sent;
    uint8_t *seen;
    /* callback results (main lcore) */
    unsigned rcvd, bad, dup, wrong_lcore, wrong_src, wrong_ep;
    unsigned tx_err;
    int first_tx_rc;
    bool first_unresolved; /* the remote's MAC was unknown when datagram 0 left */
    bool errors_ok;
    bool kernel_up; /* the gateway (the TAP's kernel side) answered ARP */
    /* main-hook state machine */
    int phase;
    uint64_t last_progress_ns, phase_ns, no_flow0;
    unsigned last_rcvd;
    int failed;
};

struct flow_rx {
    atomic_uint n;
};

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: " __VA_ARGS__);                                                            \
        } else {                                                                                   \
            printf("FAIL: " __VA_ARGS__);                                                          \
            failures++;                                                                            \
        }                                                                                          \
        printf("\n");                                                                              \
    } while (0)

/* Sizes from SEQ_LEN to the MTU's payload; datagram 1 is the largest. */
static uint16_t payload_len(const struct peer *t, uint32_t seq)
{
    if (seq == 1)
        return t->max_payload;
    return (uint16_t)(SEQ_LEN + (seq * 7919u) % (t->max_payload - SEQ_LEN + 1u));
}

static void fill(uint8_t *p, uint32_t seq, uint16_t len)
{
    uint32_t be = htonl(seq);

    memcpy(p, &be, SEQ_LEN);
    for (uint16_t i = SEQ_LEN; i < len; i++)
        p[i] = (uint8_t)(seq + i * 31u);
}

static void on_rx(void *arg, const struct dp_addr *src, uint16_t src_port, const uint8_t *payload,
                  uint16_t len, uint64_t now_ns)
{
    struct ep *e = arg;
    struct peer *t = e->t;
    uint8_t want[1500];
    uint32_t seq;

    (void)now_ns;
    if (rte_lcore_id() != rte_get_main_lcore())
        t->wrong_lcore++;
    if (!dp_addr_eq(src, &t->rip) || src_port != t->remote_port)
        t->wrong_src++;
    if (len < SEQ_LEN) {
        t->bad++;
        return;
    }
    memcpy(&seq, payload, SEQ_LEN);
    seq = ntohl(seq);
    if (seq >= t->count || len != payload_len(t, seq)) {
        t->bad++;
        return;
    }
    if (seq % NEP != e->idx)
        t->wrong_ep++;
    fill(want, seq, len);
    if (memcmp(want, payload, len) != 0) {
        t->bad++;
    } else if (t->seen[seq]) {
        t->dup++;
    } else {
        t->seen[seq] = 1;
        t->rcvd++;
    }
}

static bool on_flow_rx(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
                       uint8_t ecn, struct rte_mbuf *m, uint64_t now_ns)
{
    struct flow_rx *fr = arg;

    (void)f, (void)payload, (void)len, (void)ecn, (void)m, (void)now_ns;
    atomic_fetch_add(&fr->n, 1);
    return false;
}

/* The error returns of dp_local_send(), from the main lcore while running. Nothing of it
 * reaches the wire. */
static bool send_errors(struct peer *t)
{
    static uint8_t big[65536];
    struct dp *dp = t->dp;
    rte_be32_t off_link4;
    struct dp_addr off_link;
    rte_be32_t gw = dp->conf.gateway;
    uint64_t tx0 = dp->sp.local_tx;
    int e_size, e_port, e_self, e_null, e_route;

    inet_pton(AF_INET, "10.9.8.7", &off_link4);
    off_link = dp_addr_v4(off_link4);
    e_size = dp_local_send(t->l, &t->rip, t->remote_port, big, (size_t)dp->max_payload + 1);
    e_port = dp_local_send(t->l, &t->rip, 0, big, 10);
    e_self = dp_local_send(t->l, &dp->ip4, t->remote_port, big, 10);
    e_null = dp_local_send(t->l, &t->rip, t->remote_port, NULL, 10);
    /* Without a gateway an off-link address has no route (the workers send nothing now:
     * no one else reads the gateway meanwhile). */
    dp->conf.gateway = 0;
    e_route = dp_local_send(t->l, &off_link, t->remote_port, big, 10);
    dp->conf.gateway = gw;
    CHECK(e_size == -EMSGSIZE && e_port == -EINVAL && e_self == -EINVAL && e_null == -EINVAL &&
              e_route == -EHOSTUNREACH && dp->sp.local_tx == tx0,
          "dp_local_send refuses %u bytes (%d), port 0 (%d), our own address (%d), no data "
          "(%d), no route (%d); nothing sent",
          dp->max_payload + 1u, e_size, e_port, e_self, e_null, e_route);
    return e_size == -EMSGSIZE && e_route == -EHOSTUNREACH;
}

/* Main hook: the exchange, then the bounce to an unused port. */
static unsigned main_hook(void *arg, uint64_t now_ns)
{
    struct peer *t = arg;
    struct dp *dp = t->dp;
    unsigned n = 0;

    if (t->last_progress_ns == 0)
        t->last_progress_ns = now_ns;
    switch (t->phase) {
    case 0: /* errors, then COUNT datagrams with WINDOW in flight */
        if (!t->kernel_up) {
            struct rte_ether_addr mac;

            /* The slow path resolves the gateway by itself: once it has, the script has
             * brought the TAP's kernel side up (the remote is another address there,
             * still unresolved). */
            struct dp_addr gw = dp_addr_v4(dp->conf.gateway), remote = dp_addr_v4(t->remote);

            if (dp_neigh_lookup(dp->neigh, &gw, &mac) != 0) {
                if (now_ns - t->last_progress_ns > KERNEL_NS) {
                    t->failed = 3;
                    dp_request_stop(dp);
                }
                return 0;
            }
            t->kernel_up = true;
            t->last_progress_ns = now_ns;
            t->errors_ok = send_errors(t);
            t->first_unresolved = dp_neigh_lookup(dp->neigh, &remote, &mac) != 0;
        }
        while (t->sent < t->count && t->sent - t->rcvd < WINDOW) {
            uint8_t buf[1500];
            uint16_t len = payload_len(t, t->sent);
            int rc;

            fill(buf, t->sent, len);
            rc = dp_local_send(t->ep[t->sent % NEP].l, &t->rip, t->remote_port, buf, len);
            if (t->sent == 0)
                t->first_tx_rc = rc;
            if (rc < 0) {
                t->tx_err++;
                break;
            }
            t->sent++;
            n++;
        }
        if (t->rcvd != t->last_rcvd) {
            t->last_rcvd = t->rcvd;
            t->last_progress_ns = now_ns;
        }
        if (t->rcvd == t->count) {
            t->phase = 1;
        } else if (now_ns - t->last_progress_ns > STALL_NS) {
            t->failed = 1;
            dp_request_stop(dp);
        }
        return n;
    case 1: { /* the echo server sends this one to UNUSED_PORT instead */
        uint8_t msg[8] = {'B', 'O', 'U', 'N', 'C', 'E', UNUSED_PORT >> 8, UNUSED_PORT & 0xff};

        t->no_flow0 = dp->sp.drop.n[DP_DROP_NO_FLOW];
        if (dp_local_send(t->l, &t->rip, t->remote_port, msg, sizeof(msg)) != 0)
            t->tx_err++;
        t->phase = 2;
        t->phase_ns = now_ns;
        return 1;
    }
    case 2:
        if (dp->sp.drop.n[DP_DROP_NO_FLOW] > t->no_flow0) {
            t->phase = 3;
            dp_request_stop(dp);
        } else if (now_ns - t->phase_ns > BOUNCE_NS) {
            t->failed = 2;
            dp_request_stop(dp);
        }
        return 0;
    default:
        return 0;
    }
}

static int parse_ip(const char *s, rte_be32_t *out)
{
    return inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct peer t;
    static struct flow_rx frx;
    struct dp_conf c;
    struct dp_flow *flows[MAX_FLOWS];
    struct dp_flow_params fp;
    struct dp_local *x;
    unsigned l, nflows, clash = 0, refused = 0;
    uint16_t lport;
    int n, rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: dp_local_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN "
                        "GATEWAY REMOTE_IP REMOTE_PORT COUNT [NFLOWS]\n");
        return 2;
    }
    dp_conf_defaults(&c);
    c.device = argv[1];
    c.prefix_len = (uint8_t)atoi(argv[3]);
    t.remote_port = (uint16_t)atoi(argv[6]);
    t.count = (uint32_t)strtoul(argv[7], NULL, 10);
    nflows = argc == 9 ? (unsigned)atoi(argv[8]) : 1;
    RTE_LCORE_FOREACH_WORKER(l)
    {
        if (c.n_workers < DP_MAX_WORKERS)
            c.worker_lcores[c.n_workers++] = l;
    }
    if (parse_ip(argv[2], &c.ip) || parse_ip(argv[4], &c.gateway) || parse_ip(argv[5], &t.remote) ||
        c.n_workers == 0 || t.count < 2 || t.remote_port == 0 || nflows > MAX_FLOWS) {
        fprintf(stderr, "bad arguments (or no worker lcore)\n");
        return 2;
    }
    t.rip = dp_addr_v4(t.remote);
    c.udp_echo_port = ECHO_PORT;
    c.idle_spin_polls = 1000;
    t.dp = dp_new(&c);
    if (t.dp == NULL) {
        fprintf(stderr, "dp_new: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    /* The MTU's UDP payload (1472 on the TAP), within what one mbuf holds. */
    t.max_payload = (uint16_t)RTE_MIN(t.dp->max_payload, 1472);
    t.seen = calloc(t.count, 1);
    if (t.seen == NULL)
        return 1;

    /* 1. Ports, before start: the flows first, then the endpoint. */
    memset(&fp, 0, sizeof(fp));
    fp.remote = t.rip;
    fp.remote_port = t.remote_port;
    fp.lcore = -1;
    fp.rx = on_flow_rx;
    fp.arg = &frx;
    for (unsigned i = 0; i < nflows; i++) {
        flows[i] = dp_flow_open(t.dp, &fp);
        if (flows[i] == NULL) {
            printf("FAIL: open flow %u: %s\n", i, rte_strerror(rte_errno));
            return 1;
        }
    }
    for (unsigned i = 0; i < NEP; i++) {
        t.ep[i].t = &t;
        t.ep[i].idx = i;
        t.ep[i].l = dp_local_open(t.dp, 0, on_rx, &t.ep[i]);
        if (t.ep[i].l == NULL) {
            printf("FAIL: dp_local_open: %s\n", rte_strerror(rte_errno));
            return 1;
        }
    }
    t.l = t.ep[0].l;
    lport = dp_local_port(t.l);
    for (unsigned i = 0; i < nflows; i++) {
        uint16_t p = dp_flow_local_port(flows[i]);

        for (unsigned j = 0; j < NEP; j++)
            clash += p == dp_local_port(t.ep[j].l);
        x = dp_local_open(t.dp, p, on_rx, &t.ep[0]);
        if (x == NULL && rte_errno == EADDRINUSE)
            refused++;
        dp_local_close(x);
    }
    CHECK(lport >= DP_FLOW_PORT_LO && clash == 0 &&
              atomic_load(&t.dp->port_owner[lport]) == (DP_OWNER_MAIN | DP_OWNER_REF),
          "automatic endpoint ports (%u, ...: %u) in the ephemeral range, owned by the main "
          "lcore, none of the %u flows' ports",
          lport, NEP, nflows);
    CHECK(refused == nflows, "the flows' ports refused to dp_local_open (EADDRINUSE): %u of %u",
          refused, nflows);
    x = dp_local_open(t.dp, ECHO_PORT, on_rx, &t.ep[0]);
    rc = x == NULL ? rte_errno : 0;
    dp_local_close(x);
    x = dp_local_open(t.dp, lport, on_rx, &t.ep[0]);
    CHECK(rc == EADDRINUSE && x == NULL && rte_errno == EADDRINUSE,
          "the echo service's port and the endpoint's own refused (EADDRINUSE)");
    dp_local_close(x);
    fp.local_port = lport;
    CHECK(dp_flow_open(t.dp, &fp) == NULL && rte_errno == EADDRINUSE,
          "the endpoint's port refused to dp_flow_open (EADDRINUSE)");
    x = dp_local_open(t.dp, FIXED_PORT, on_rx, &t.ep[0]);
    CHECK(x != NULL && dp_local_port(x) == FIXED_PORT, "explicit port %u opened", FIXED_PORT);
    dp_local_close(x);
    CHECK(atomic_load(&t.dp->port_owner[FIXED_PORT]) == 0 &&
              atomic_load(&t.dp->port_owner[UNUSED_PORT]) == 0,
          "port %u free after dp_local_close; port %u unused", FIXED_PORT, UNUSED_PORT);
    rc = dp_local_send(t.l, &t.rip, t.remote_port, "x", 1);
    CHECK(rc == -ENETDOWN, "dp_local_send before dp_start refused (%d)", rc);

    /* 2, 3. Running. */
    if (dp_start(t.dp) != 0) {
        printf("FAIL: start\n");
        return 1;
    }
    dp_main_loop(t.dp, main_hook, &t);
    dp_stop(t.dp);
    {
        uint64_t handed = 0;
        unsigned handing = 0;
        char per_worker[256];
        size_t off = 0;

        for (unsigned w = 0; w < t.dp->n_workers; w++) {
            const struct dp_lcore_stats *s = &t.dp->workers[w].st;

            handed += s->to_slow;
            handing += s->to_slow != 0;
            off +=
                (size_t)snprintf(per_worker + off, sizeof(per_worker) - off,
                                 "%s lcore %u: %" PRIu64 " received, %" PRIu64 " handed over",
                                 w ? ";" : "", t.dp->workers[w].lcore_id, s->rx_pkts, s->to_slow);
            if (off >= sizeof(per_worker))
                off = sizeof(per_worker) - 1;
        }
        CHECK(t.errors_ok, "send errors checked on the main lcore while running");
        CHECK(t.rcvd == t.count && t.bad == 0 && t.dup == 0 && t.tx_err == 0 && t.wrong_src == 0 &&
                  t.wrong_ep == 0,
              "%u datagrams (4..%u bytes) sent through dp_local_send from %u endpoints, %u "
              "echoed byte-exact to their sender, %u corrupt, %u duplicate, %u from elsewhere, "
              "%u to another endpoint, %u tx errors",
              t.sent, t.max_payload, NEP, t.rcvd, t.bad, t.dup, t.wrong_src, t.wrong_ep, t.tx_err);
        CHECK(t.wrong_lcore == 0, "every echo delivered on the main lcore (%u elsewhere)",
              t.wrong_lcore);
        CHECK(t.first_unresolved && t.first_tx_rc == 0 && t.seen[0] && t.dp->sp.resolve_in >= 1 &&
                  t.dp->sp.resolve_sent >= 1,
              "datagram 0 left while %s's MAC was unknown (rc %d), waited for the main lcore's "
              "ARP and came back (%" PRIu64 " waited, %" PRIu64 " sent after resolution)",
              argv[5], t.first_tx_rc, t.dp->sp.resolve_in, t.dp->sp.resolve_sent);
        CHECK(handed >= t.count && t.dp->sp.local_rx == t.count &&
                  t.dp->sp.local_tx == (uint64_t)t.count + 1,
              "echoes received by %u of %u worker(s) and handed to the slow path (%s); %" PRIu64
              " delivered to the endpoints, %" PRIu64 " sent by them",
              handing, t.dp->n_workers, per_worker, t.dp->sp.local_rx, t.dp->sp.local_tx);
        CHECK(t.phase == 3 && t.dp->sp.drop.n[DP_DROP_NO_FLOW] == t.no_flow0 + 1,
              "a datagram to unused port %u counted as NO_FLOW (%" PRIu64 " -> %" PRIu64 ")%s",
              UNUSED_PORT, t.no_flow0, t.dp->sp.drop.n[DP_DROP_NO_FLOW],
              t.failed == 3   ? " (the kernel side never answered ARP)"
              : t.failed == 2 ? " (timed out)"
              : t.failed == 1 ? " (exchange stalled)"
                              : "");
        CHECK(atomic_load(&frx.n) == 0, "the idle flows received nothing (%u)",
              atomic_load(&frx.n));
    }
    dp_stats_print(t.dp, stdout);

    /* 4. Teardown. */
    for (unsigned i = 0; i < NEP; i++)
        dp_local_close(t.ep[i].l);
    CHECK(atomic_load(&t.dp->port_owner[lport]) == 0 && t.dp->locals == NULL,
          "port %u free after dp_local_close, no endpoint left", lport);
    dp_local_close(NULL);
    for (unsigned i = 0; i < nflows; i++)
        dp_flow_close(flows[i]);
    x = dp_local_open(t.dp, FIXED_PORT, on_rx, &t.ep[0]); /* left for dp_del to close */
    CHECK(x != NULL, "an endpoint re-opened after dp_stop (dp_del closes it)");
    dp_del(t.dp);
    rte_eal_cleanup();
    free(t.seen);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
