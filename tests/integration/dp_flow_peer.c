/* dp_flow_peer: exercises the UDP flow API of the dataplane against a kernel UDP echo
 * server (run by dataplane_flow.sh inside a network namespace).
 *
 *   dp_flow_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN GATEWAY REMOTE_IP REMOTE_PORT COUNT
 *                            [NFLOWS]
 *
 * Every EAL worker lcore becomes a dataplane worker; NFLOWS (default 1) flows to the
 * same remote are spread over them (least loaded), COUNT datagrams in all.
 *
 * Checks, in order (exit 0 only if all hold; each prints "ok:" or "FAIL:"):
 *  1. dp_flow_open() before start: automatic local ports in the ephemeral range, flows
 *     spread evenly over the workers; wrong parameters, a port owned by the echo service and a
 * duplicate 3-tuple are refused with the documented errno;
 *  2. COUNT datagrams sent by dp_flow_tx() from the worker hooks (window of 16 per flow,
 *     no retransmission) come back byte-exact through each flow's RX callback, always on
 *     the flow's own lcore (with one RX queue per worker and no RSS, replies land on any
 *     queue: software steering brings them home); REMOTE_IP is not the gateway, so the
 *     first ones wait on the slow path for ARP. Datagram SEQ goes with ECN codepoint
 *     SEQ % 4 (the echo server sends it back with the TOS byte it came with): each echo
 *     arrives with its own; every echo confirms the flow's next hop (dp_flow_confirm), so
 *     the table counts hints (at most one per DP_FLOW_CONFIRM_NS per flow) and the remote's
 *     entry ends REACHABLE with confirmations;
 *  3. dp_flow_close() of every flow and dp_flow_open() from the main lcore while running
 *     (posted to the workers): the new flow on flow 0's explicit port becomes open within
 *     2 s, the port's reference count is then 1, and 0 after the last close;
 *  4. the orderly stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "dp.h"
#include "dp_flow.h"
#include "dp_priv.h"

#define WINDOW    16
#define STALL_NS  (3ULL * 1000 * 1000 * 1000)
#define REOPEN_NS (2ULL * 1000 * 1000 * 1000)
#define ECHO_PORT 9000
#define SEQ_LEN   4

#define MAX_FLOWS 16

struct flow_state {
    struct peer *t;
    struct dp_flow *_Atomic f;
    unsigned lcore;
    uint16_t port;
    uint32_t count;
    uint32_t sent; /* owner lcore only */
    uint8_t *seen; /* COUNT flags, owner lcore only */
    atomic_uint rcvd, bad, dup, wrong_lcore, tx_err, bad_ecn;
};

struct peer {
    struct dp *dp;
    struct flow_state fl[MAX_FLOWS];
    unsigned nflows;
    struct dp_flow *g; /* re-opened on flow 0's port in phase 3 */
    /* main-lcore state machine */
    int phase;
    uint64_t last_progress_ns, phase_ns;
    unsigned last_rcvd;
    int failed;
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

static uint16_t payload_len(uint32_t seq, uint16_t room)
{
    uint16_t len = (uint16_t)(SEQ_LEN + (seq * 7919u) % 1400u);

    return len > room ? room : len;
}

static void fill(uint8_t *p, uint32_t seq, uint16_t len)
{
    uint32_t be = htonl(seq);

    memcpy(p, &be, SEQ_LEN);
    for (uint16_t i = SEQ_LEN; i < len; i++)
        p[i] = (uint8_t)(seq + i * 31u);
}

static bool on_rx(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len, uint8_t ecn,
                  struct rte_mbuf *m, uint64_t now_ns)
{
    struct flow_state *fs = arg;
    uint8_t want[1500];
    uint32_t seq;

    (void)m;
    dp_flow_confirm(f, now_ns);
    if (rte_lcore_id() != fs->lcore)
        atomic_fetch_add(&fs->wrong_lcore, 1);
    if (len < SEQ_LEN) {
        atomic_fetch_add(&fs->bad, 1);
        return false;
    }
    memcpy(&seq, payload, SEQ_LEN);
    seq = ntohl(seq);
    if (seq >= fs->count || len != payload_len(seq, 1472)) {
        atomic_fetch_add(&fs->bad, 1);
        return false;
    }
    fill(want, seq, len);
    if (ecn != (seq & DP_ECN_MASK))
        atomic_fetch_add(&fs->bad_ecn, 1);
    if (memcmp(want, payload, len) != 0) {
        atomic_fetch_add(&fs->bad, 1);
    } else if (fs->seen[seq]) {
        atomic_fetch_add(&fs->dup, 1);
    } else {
        fs->seen[seq] = 1;
        atomic_fetch_add(&fs->rcvd, 1);
    }
    return false;
}

static bool on_rx_ignore(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
                         uint8_t ecn, struct rte_mbuf *m, uint64_t now_ns)
{
    (void)arg, (void)f, (void)payload, (void)len, (void)ecn, (void)m, (void)now_ns;
    return false;
}

/* Worker hook: keep WINDOW datagrams in flight on each flow this lcore owns. */
static unsigned send_more(void *arg, unsigned lcore, uint64_t now_ns)
{
    struct peer *t = arg;
    unsigned n = 0;

    (void)now_ns;
    for (unsigned i = 0; i < t->nflows; i++) {
        struct flow_state *fs = &t->fl[i];
        struct dp_flow *f = atomic_load(&fs->f);

        if (fs->lcore != lcore)
            continue;
        while (f != NULL && fs->sent < fs->count &&
               fs->sent - atomic_load_explicit(&fs->rcvd, memory_order_relaxed) < WINDOW) {
            uint8_t *p;
            uint16_t room, len;
            struct rte_mbuf *m = dp_flow_tx_alloc(f, &p, &room);

            if (m == NULL)
                break;
            len = payload_len(fs->sent, room);
            fill(p, fs->sent, len);
            if (dp_flow_tx(f, m, len, (uint8_t)(fs->sent & DP_ECN_MASK)) < 0) {
                atomic_fetch_add(&fs->tx_err, 1);
                break;
            }
            fs->sent++;
            n++;
        }
    }
    return n;
}

static unsigned total(struct peer *t, size_t off)
{
    unsigned sum = 0;

    for (unsigned i = 0; i < t->nflows; i++)
        sum += atomic_load((atomic_uint *)((char *)&t->fl[i] + off));
    return sum;
}
#define TOTAL(t, field) total((t), offsetof(struct flow_state, field))

/* Main-lcore hook: watches progress, then closes and re-opens from this thread. */
static unsigned main_hook(void *arg, uint64_t now_ns)
{
    struct peer *t = arg;
    unsigned rcvd = TOTAL(t, rcvd);
    uint32_t count = 0;

    for (unsigned i = 0; i < t->nflows; i++)
        count += t->fl[i].count;

    if (t->last_progress_ns == 0)
        t->last_progress_ns = now_ns;
    switch (t->phase) {
    case 0: /* echo exchange */
        if (rcvd != t->last_rcvd) {
            t->last_rcvd = rcvd;
            t->last_progress_ns = now_ns;
        }
        if (rcvd == count) {
            t->phase = 1;
        } else if (now_ns - t->last_progress_ns > STALL_NS) {
            t->failed = 1;
            dp_request_stop(t->dp);
        }
        return 0;
    case 1: /* close from a non-owner thread: posted to the workers */
        for (unsigned i = 0; i < t->nflows; i++) {
            /* the hooks see NULL before the close is applied (ring ordering) */
            struct dp_flow *f = atomic_exchange(&t->fl[i].f, NULL);

            dp_flow_close(f);
        }
        t->phase = 2;
        t->phase_ns = now_ns;
        return 1;
    case 2: { /* the port comes free once the worker applied the close */
        struct dp_flow_params p = {
            .remote_port = 7,
            .local_port = t->fl[0].port,
            .lcore = (int)t->fl[0].lcore,
            .rx = on_rx_ignore,
            .arg = t,
        };

        (void)dp_addr_parse("198.18.0.1", &p.remote);
        if (t->g == NULL)
            t->g = dp_flow_open(t->dp, &p);
        if (t->g != NULL && dp_flow_is_open(t->g)) {
            t->phase = 3;
            dp_request_stop(t->dp);
        } else if (now_ns - t->phase_ns > REOPEN_NS) {
            t->failed = 2;
            dp_request_stop(t->dp);
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* A neighbour entry looked up by address (neigh_find). */
struct neigh_query {
    const struct dp_addr *a;
    struct dp_neigh_view v;
    bool found;
};

/* dp_neigh_foreach callback: copies the entry of q->a. */
static int neigh_find(void *arg, const struct dp_neigh_view *v)
{
    struct neigh_query *q = arg;

    if (!dp_addr_eq(&v->addr, q->a))
        return 0;
    q->v = *v;
    q->found = true;
    return 1;
}

static int parse_ip(const char *s, rte_be32_t *out)
{
    return inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct dp_conf c;
    static struct peer t;
    struct dp_flow_params fp;
    struct dp_flow *x;
    rte_be32_t remote;
    uint32_t count;
    unsigned l, per_worker[DP_MAX_WORKERS] = {0}, lo = UINT32_MAX, hi = 0, ok_ports = 1;
    int n;

    setvbuf(stdout, NULL, _IOLBF, 0);
    n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= n;
    argv += n;
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: dp_flow_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN "
                        "GATEWAY REMOTE_IP REMOTE_PORT COUNT [NFLOWS]\n");
        return 2;
    }
    dp_conf_defaults(&c);
    c.device = argv[1];
    c.prefix_len = (uint8_t)atoi(argv[3]);
    count = (uint32_t)strtoul(argv[7], NULL, 10);
    t.nflows = argc == 9 ? (unsigned)atoi(argv[8]) : 1;
    RTE_LCORE_FOREACH_WORKER(l)
    {
        if (c.n_workers < DP_MAX_WORKERS)
            c.worker_lcores[c.n_workers++] = l;
    }
    if (parse_ip(argv[2], &c.ip) || parse_ip(argv[4], &c.gateway) || parse_ip(argv[5], &remote) ||
        c.n_workers == 0 || count < t.nflows || t.nflows < 1 || t.nflows > MAX_FLOWS) {
        fprintf(stderr, "bad arguments (or no worker lcore)\n");
        return 2;
    }
    c.udp_echo_port = ECHO_PORT;
    c.idle_spin_polls = 1000;
    t.dp = dp_new(&c);
    if (t.dp == NULL) {
        fprintf(stderr, "dp_new: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    /* 1. Opening before start. */
    memset(&fp, 0, sizeof(fp));
    fp.remote = dp_addr_v4(remote);
    fp.remote_port = (uint16_t)atoi(argv[6]);
    fp.lcore = -1;
    fp.rx = on_rx;
    for (unsigned i = 0; i < t.nflows; i++) {
        struct flow_state *fs = &t.fl[i];
        struct dp_flow *f;

        fs->t = &t;
        fs->count = count / t.nflows + (i < count % t.nflows ? 1 : 0);
        fs->seen = calloc(fs->count, 1);
        fp.arg = fs;
        f = dp_flow_open(t.dp, &fp);
        if (f == NULL || fs->seen == NULL || !dp_flow_is_open(f)) {
            printf("FAIL: open flow %u: %s\n", i, rte_strerror(rte_errno));
            return 1;
        }
        atomic_store(&fs->f, f);
        fs->lcore = dp_flow_lcore(f);
        fs->port = dp_flow_local_port(f);
        if (fs->port < DP_FLOW_PORT_LO)
            ok_ports = 0;
        for (unsigned w = 0; w < c.n_workers; w++)
            if (c.worker_lcores[w] == fs->lcore)
                per_worker[w]++;
    }
    for (unsigned w = 0; w < c.n_workers; w++) {
        lo = RTE_MIN(lo, per_worker[w]);
        hi = RTE_MAX(hi, per_worker[w]);
    }
    CHECK(ok_ports, "%u flow(s) opened before start, automatic local ports >= %u (flow 0: %u)",
          t.nflows, DP_FLOW_PORT_LO, t.fl[0].port);
    CHECK(hi - lo <= 1, "flows spread over %u worker(s): %u..%u each", c.n_workers, lo, hi);
    fp.arg = &t.fl[0];
    fp.local_port = t.fl[0].port;
    fp.lcore = (int)t.fl[0].lcore;
    x = dp_flow_open(t.dp, &fp);
    CHECK(x == NULL && rte_errno == EEXIST, "same 3-tuple refused (EEXIST)");
    fp.lcore = -1;
    fp.local_port = ECHO_PORT;
    x = dp_flow_open(t.dp, &fp);
    CHECK(x == NULL && rte_errno == EADDRINUSE, "echo service port refused (EADDRINUSE)");
    fp.local_port = 0;
    fp.remote_port = 0;
    x = dp_flow_open(t.dp, &fp);
    CHECK(x == NULL && rte_errno == EINVAL, "remote port 0 refused (EINVAL)");
    fp.remote_port = (uint16_t)atoi(argv[6]);
    fp.lcore = (int)rte_get_main_lcore();
    x = dp_flow_open(t.dp, &fp);
    CHECK(x == NULL && rte_errno == EINVAL, "main lcore refused as owner (EINVAL)");

    /* 2, 3. Running. */
    for (unsigned w = 0; w < c.n_workers; w++) {
        if (dp_worker_hook_set(t.dp, c.worker_lcores[w], send_more, &t) != 0) {
            printf("FAIL: worker hook\n");
            return 1;
        }
    }
    if (dp_start(t.dp) != 0) {
        printf("FAIL: start\n");
        return 1;
    }
    dp_main_loop(t.dp, main_hook, &t);
    dp_stop(t.dp);
    {
        uint32_t sent = 0;
        uint64_t steered = 0;

        for (unsigned i = 0; i < t.nflows; i++)
            sent += t.fl[i].sent;
        for (unsigned w = 0; w < c.n_workers; w++)
            steered += t.dp->workers[w].st.steer_in;
        CHECK(TOTAL(&t, rcvd) == count && TOTAL(&t, bad) == 0 && TOTAL(&t, dup) == 0 &&
                  TOTAL(&t, tx_err) == 0,
              "%u datagrams sent through dp_flow_tx, %u echoed byte-exact, %u corrupt, "
              "%u duplicate, %u tx errors",
              sent, TOTAL(&t, rcvd), TOTAL(&t, bad), TOTAL(&t, dup), TOTAL(&t, tx_err));
        CHECK(TOTAL(&t, wrong_lcore) == 0,
              "every datagram delivered on its flow's lcore (%" PRIu64
              " steered in software), %u elsewhere",
              steered, TOTAL(&t, wrong_lcore));
    }
    CHECK(TOTAL(&t, bad_ecn) == 0,
          "ECN both ways: every echo arrived with the codepoint it was sent with (%u did not)",
          TOTAL(&t, bad_ecn));
    {
        struct dp_counters dc;
        struct dp_addr ra = dp_addr_v4(remote);
        struct neigh_query q = {.a = &ra};

        dp_counters_get(t.dp, &dc);
        (void)dp_neigh_foreach(t.dp->neigh, neigh_find, &q);
        CHECK(dc.neigh_hints >= 1 && dc.neigh_hints <= TOTAL(&t, rcvd) && q.found &&
                  q.v.state == DP_NEIGH_REACHABLE && q.v.confirmations >= 1,
              "the echoes confirmed the remote's neighbour entry: %" PRIu64
              " hints for %u echoes, entry %s with %u confirmations",
              dc.neigh_hints, TOTAL(&t, rcvd), q.found ? dp_neigh_state_name(q.v.state) : "absent",
              q.found ? q.v.confirmations : 0);
    }
    CHECK(t.dp->sp.resolve_in >= 1 && t.dp->sp.resolve_sent >= 1,
          "first datagrams waited for ARP on the slow path (%" PRIu64 " waited, %" PRIu64
          " sent after resolution)",
          t.dp->sp.resolve_in, t.dp->sp.resolve_sent);
    CHECK(t.phase == 3, "closed all, re-opened port %u from the main lcore while running%s",
          t.fl[0].port,
          t.failed == 2 ? " (timed out)"
          : t.failed    ? " (stalled)"
                        : "");
    CHECK(atomic_load(&t.dp->port_owner[t.fl[0].port]) == (DP_OWNER_REF | 1u),
          "port %u held once (the closed flow's reference released): 0x%x", t.fl[0].port,
          atomic_load(&t.dp->port_owner[t.fl[0].port]));
    dp_stats_print(t.dp, stdout);

    /* 4. Teardown: flows closed directly now that the workers are stopped. */
    dp_flow_close(t.g);
    CHECK(atomic_load(&t.dp->port_owner[t.fl[0].port]) == 0, "port %u free after the last close",
          t.fl[0].port);
    dp_del(t.dp);
    rte_eal_cleanup();
    for (unsigned i = 0; i < t.nflows; i++)
        free(t.fl[i].seen);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
