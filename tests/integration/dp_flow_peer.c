/* dp_flow_peer: exercises the UDP flow API of the dataplane against a kernel UDP echo
 * server (run by dataplane_flow.sh inside a network namespace).
 *
 *   dp_flow_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN GATEWAY REMOTE_IP REMOTE_PORT COUNT
 *
 * Checks, in order (exit 0 only if all hold; each prints "ok:" or "FAIL:"):
 *  1. dp_flow_open() before start: automatic local port in the ephemeral range, on the
 *     only worker; wrong parameters, a port owned by the echo service and a duplicate
 *     3-tuple are refused with the documented errno;
 *  2. COUNT datagrams sent by dp_flow_tx() from a worker hook (window of 16, no
 *     retransmission) come back byte-exact through the flow's RX callback; REMOTE_IP is
 *     not the gateway, so the first ones wait on the slow path for ARP;
 *  3. dp_flow_close() and dp_flow_open() from the main lcore while running (posted to
 *     the worker): the new flow on the same explicit port becomes open within 2 s, the
 *     port's reference count is then 1, and 0 after the last close;
 *  4. the orderly stop.
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
#include "dp_priv.h"

#define WINDOW 16
#define STALL_NS (3ULL * 1000 * 1000 * 1000)
#define REOPEN_NS (2ULL * 1000 * 1000 * 1000)
#define ECHO_PORT 9000
#define SEQ_LEN 4

struct peer {
	struct dp *dp;
	struct dp_flow *f;   /* the flow under test */
	struct dp_flow *g;   /* re-opened on the same port in phase 3 */
	uint16_t port;
	uint32_t count;
	uint32_t sent;       /* worker only */
	atomic_uint rcvd, bad, dup, tx_err;
	uint8_t *seen;       /* COUNT flags, worker only */
	/* main-lcore state machine */
	int phase;
	uint64_t last_progress_ns, phase_ns;
	unsigned last_rcvd;
	int failed;
};

static int failures;

#define CHECK(cond, ...)                               \
	do {                                           \
		if (cond) {                            \
			printf("ok: " __VA_ARGS__);    \
		} else {                               \
			printf("FAIL: " __VA_ARGS__);  \
			failures++;                    \
		}                                      \
		printf("\n");                          \
	} while (0)

static uint16_t
payload_len(uint32_t seq, uint16_t room)
{
	uint16_t len = (uint16_t)(SEQ_LEN + (seq * 7919u) % 1400u);

	return len > room ? room : len;
}

static void
fill(uint8_t *p, uint32_t seq, uint16_t len)
{
	uint32_t be = htonl(seq);

	memcpy(p, &be, SEQ_LEN);
	for (uint16_t i = SEQ_LEN; i < len; i++)
		p[i] = (uint8_t)(seq + i * 31u);
}

static bool
on_rx(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
      struct rte_mbuf *m, uint64_t now_ns)
{
	struct peer *t = arg;
	uint8_t want[1500];
	uint32_t seq;

	(void)f;
	(void)m;
	(void)now_ns;
	if (len < SEQ_LEN) {
		atomic_fetch_add(&t->bad, 1);
		return false;
	}
	memcpy(&seq, payload, SEQ_LEN);
	seq = ntohl(seq);
	if (seq >= t->count || len != payload_len(seq, 1472)) {
		atomic_fetch_add(&t->bad, 1);
		return false;
	}
	fill(want, seq, len);
	if (memcmp(want, payload, len) != 0) {
		atomic_fetch_add(&t->bad, 1);
	} else if (t->seen[seq]) {
		atomic_fetch_add(&t->dup, 1);
	} else {
		t->seen[seq] = 1;
		atomic_fetch_add(&t->rcvd, 1);
	}
	return false;
}

static bool
on_rx_ignore(void *arg, struct dp_flow *f, const uint8_t *payload, uint16_t len,
	     struct rte_mbuf *m, uint64_t now_ns)
{
	(void)arg, (void)f, (void)payload, (void)len, (void)m, (void)now_ns;
	return false;
}

/* Worker hook: keep WINDOW datagrams in flight. */
static unsigned
send_more(void *arg, unsigned lcore, uint64_t now_ns)
{
	struct peer *t = arg;
	unsigned n = 0;

	(void)lcore;
	(void)now_ns;
	while (t->f != NULL && t->sent < t->count &&
	       t->sent - atomic_load_explicit(&t->rcvd, memory_order_relaxed) < WINDOW) {
		uint8_t *p;
		uint16_t room, len;
		struct rte_mbuf *m = dp_flow_tx_alloc(t->f, &p, &room);

		if (m == NULL)
			break;
		len = payload_len(t->sent, room);
		fill(p, t->sent, len);
		if (dp_flow_tx(t->f, m, len) < 0) {
			atomic_fetch_add(&t->tx_err, 1);
			break;
		}
		t->sent++;
		n++;
	}
	return n;
}

/* Main-lcore hook: watches progress, then closes and re-opens from this thread. */
static unsigned
main_hook(void *arg, uint64_t now_ns)
{
	struct peer *t = arg;
	unsigned rcvd = atomic_load(&t->rcvd);

	if (t->last_progress_ns == 0)
		t->last_progress_ns = now_ns;
	switch (t->phase) {
	case 0: /* echo exchange */
		if (rcvd != t->last_rcvd) {
			t->last_rcvd = rcvd;
			t->last_progress_ns = now_ns;
		}
		if (rcvd == t->count) {
			t->phase = 1;
		} else if (now_ns - t->last_progress_ns > STALL_NS) {
			t->failed = 1;
			dp_request_stop(t->dp);
		}
		return 0;
	case 1: { /* close from a non-owner thread: posted to the worker */
		struct dp_flow *f = t->f;

		t->f = NULL; /* the worker hook sees it next iteration at the latest */
		dp_flow_close(f);
		t->phase = 2;
		t->phase_ns = now_ns;
		return 1;
	}
	case 2: { /* the port comes free once the worker applied the close */
		struct dp_flow_params p = {
			.remote_ip = 0, .remote_port = 7, .local_port = t->port, .lcore = -1,
			.rx = on_rx_ignore, .arg = t,
		};

		inet_pton(AF_INET, "198.18.0.1", &p.remote_ip);
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

static int
parse_ip(const char *s, rte_be32_t *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct dp_conf c;
	struct peer t;
	struct dp_flow_params fp;
	struct dp_flow *x;
	rte_be32_t remote;
	unsigned worker;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	if (argc != 8) {
		fprintf(stderr, "usage: dp_flow_peer EAL-ARGS -- DEVICE LOCAL_IP PREFIX_LEN "
				"GATEWAY REMOTE_IP REMOTE_PORT COUNT\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	dp_conf_defaults(&c);
	c.device = argv[1];
	c.prefix_len = (uint8_t)atoi(argv[3]);
	t.count = (uint32_t)strtoul(argv[7], NULL, 10);
	worker = rte_get_next_lcore(-1, 1, 0);
	if (parse_ip(argv[2], &c.ip) || parse_ip(argv[4], &c.gateway) ||
	    parse_ip(argv[5], &remote) || worker >= RTE_MAX_LCORE || t.count == 0) {
		fprintf(stderr, "bad arguments (or no worker lcore)\n");
		return 2;
	}
	c.n_workers = 1;
	c.worker_lcores[0] = worker;
	c.udp_echo_port = ECHO_PORT;
	c.idle_spin_polls = 1000;
	t.seen = calloc(t.count, 1);
	t.dp = dp_new(&c);
	if (t.seen == NULL || t.dp == NULL) {
		fprintf(stderr, "dp_new: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	/* 1. Opening before start. */
	memset(&fp, 0, sizeof(fp));
	fp.remote_ip = remote;
	fp.remote_port = (uint16_t)atoi(argv[6]);
	fp.lcore = -1;
	fp.rx = on_rx;
	fp.arg = &t;
	t.f = dp_flow_open(t.dp, &fp);
	CHECK(t.f != NULL && dp_flow_is_open(t.f), "flow opened before start");
	if (t.f == NULL)
		return 1;
	t.port = dp_flow_local_port(t.f);
	CHECK(t.port >= DP_FLOW_PORT_LO && dp_flow_lcore(t.f) == worker,
	      "automatic local port %u, lcore %u", t.port, dp_flow_lcore(t.f));
	fp.local_port = t.port;
	x = dp_flow_open(t.dp, &fp);
	CHECK(x == NULL && rte_errno == EEXIST, "same 3-tuple refused (EEXIST)");
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
	if (dp_worker_hook_set(t.dp, worker, send_more, &t) != 0 || dp_start(t.dp) != 0) {
		printf("FAIL: start\n");
		return 1;
	}
	dp_main_loop(t.dp, main_hook, &t);
	dp_stop(t.dp);
	CHECK(atomic_load(&t.rcvd) == t.count && atomic_load(&t.bad) == 0 &&
		      atomic_load(&t.dup) == 0 && atomic_load(&t.tx_err) == 0,
	      "%u datagrams sent through dp_flow_tx, %u echoed byte-exact, %u corrupt, "
	      "%u duplicate, %u tx errors",
	      t.sent, atomic_load(&t.rcvd), atomic_load(&t.bad), atomic_load(&t.dup),
	      atomic_load(&t.tx_err));
	CHECK(t.dp->sp.resolve_in >= 1 && t.dp->sp.resolve_sent >= 1,
	      "first datagrams waited for ARP on the slow path (%" PRIu64 " waited, %" PRIu64
	      " sent after resolution)",
	      t.dp->sp.resolve_in, t.dp->sp.resolve_sent);
	CHECK(t.phase == 3, "closed and re-opened port %u from the main lcore while running%s",
	      t.port, t.failed == 2 ? " (timed out)" : "");
	CHECK(atomic_load(&t.dp->port_owner[t.port]) == (DP_OWNER_REF | 1u),
	      "port %u held once (the closed flow's reference released): 0x%x", t.port,
	      atomic_load(&t.dp->port_owner[t.port]));
	dp_stats_print(t.dp, stdout);

	/* 4. Teardown: flows closed directly now that the workers are stopped. */
	dp_flow_close(t.g);
	CHECK(atomic_load(&t.dp->port_owner[t.port]) == 0, "port %u free after the last close",
	      t.port);
	dp_del(t.dp);
	rte_eal_cleanup();
	free(t.seen);
	printf("%s\n", failures == 0 ? "PASS" : "FAIL");
	return failures == 0 ? 0 : 1;
}
