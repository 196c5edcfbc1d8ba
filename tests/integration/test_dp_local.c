/* test_dp_local: the EAL-free parts of the main lcore's UDP endpoints (dataplane/dp_local.c)
 * and of the port table they share with the flows (dp_port_claim/dp_port_pick in
 * dp_flow.c), white-box over a struct dp that holds only a port table: who may own a port,
 * automatic ports (range, no collision with the flows' ports, exhaustion), the slow path's
 * delivery to an endpoint's callback (dp_local_rx), closing (also from the callback).
 * Sending needs a port and EAL: tests/integration/dp_local_peer.c covers it.
 * Suite 'unit' (no root); it sits here beside the integration program of the same module.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>

#include "dp_local.h"
#include "dp_priv.h"

static struct dp *fake_dp(void)
{
    struct dp *dp = calloc(1, sizeof(*dp));

    assert_non_null(dp);
    dp->port_owner = calloc(DP_PORTS, sizeof(*dp->port_owner));
    assert_non_null(dp->port_owner);
    dp->conf.ip = rte_cpu_to_be_32(0xc6120002u); /* 198.18.0.2 */
    dp->ip4 = dp_addr_v4(dp->conf.ip);
    dp->port_seed = 12345;
    atomic_init(&dp->running, false);
    return dp;
}

static void fake_dp_free(struct dp *dp)
{
    dp_local_close_all(dp);
    assert_null(dp->locals);
    free(dp->port_owner);
    free(dp);
}

static unsigned owner_of(const struct dp *dp, uint16_t port)
{
    return atomic_load(&dp->port_owner[port]);
}

struct rx_log {
    unsigned calls;
    struct dp_addr src;
    uint16_t src_port;
    const uint8_t *payload;
    uint16_t len;
    uint64_t now_ns;
    struct dp_local *close_me; /* closed from inside the callback */
};

static void on_rx(void *arg, const struct dp_addr *src, uint16_t src_port, const uint8_t *payload,
                  uint16_t len, uint64_t now_ns)
{
    struct rx_log *r = arg;

    r->calls++;
    r->src = *src;
    r->src_port = src_port;
    r->payload = payload;
    r->len = len;
    r->now_ns = now_ns;
    if (r->close_me != NULL) {
        dp_local_close(r->close_me);
        r->close_me = NULL;
    }
}

/* An explicit port is the main lcore's alone: not shared with another endpoint, a
 * worker's flows or the echo service, in either order; closing frees it. */
static void test_explicit_port_exclusive(void **state)
{
    struct dp *dp = fake_dp();
    struct rx_log r = {0};
    struct dp_local *a, *b;

    (void)state;
    a = dp_local_open(dp, 5353, on_rx, &r);
    assert_non_null(a);
    assert_int_equal(dp_local_port(a), 5353);
    assert_int_equal(owner_of(dp, 5353), DP_OWNER_MAIN | DP_OWNER_REF);

    rte_errno = 0;
    b = dp_local_open(dp, 5353, on_rx, &r);
    assert_null(b);
    assert_int_equal(rte_errno, EADDRINUSE);
    assert_int_equal(dp_port_claim(dp, 5353, 1), -EADDRINUSE);             /* a worker */
    assert_int_equal(dp_port_claim(dp, 5353, DP_OWNER_ECHO), -EADDRINUSE); /* the echo */
    assert_int_equal(owner_of(dp, 5353), DP_OWNER_MAIN | DP_OWNER_REF);

    /* The reverse: a worker's port (even with several flows) and the echo port. */
    assert_int_equal(dp_port_claim(dp, 50000, 2), 0);
    assert_int_equal(dp_port_claim(dp, 50000, 2), 0);
    assert_null(dp_local_open(dp, 50000, on_rx, &r));
    assert_int_equal(rte_errno, EADDRINUSE);
    assert_int_equal(dp_port_claim(dp, 9000, DP_OWNER_ECHO), 0);
    assert_null(dp_local_open(dp, 9000, on_rx, &r));
    assert_int_equal(rte_errno, EADDRINUSE);

    dp_local_close(a);
    assert_int_equal(owner_of(dp, 5353), 0);
    assert_null(dp->locals);
    /* Free again: a worker may take it now. */
    assert_int_equal(dp_port_claim(dp, 5353, 1), 0);
    fake_dp_free(dp);
}

static void test_bad_args(void **state)
{
    struct dp *dp = fake_dp();
    struct rx_log r = {0};

    (void)state;
    rte_errno = 0;
    assert_null(dp_local_open(dp, 0, NULL, &r));
    assert_int_equal(rte_errno, EINVAL);
    rte_errno = 0;
    assert_null(dp_local_open(NULL, 0, on_rx, &r));
    assert_int_equal(rte_errno, EINVAL);
    dp_local_close(NULL);
    for (unsigned p = 0; p < DP_PORTS; p++)
        assert_int_equal(owner_of(dp, (uint16_t)p), 0);
    fake_dp_free(dp);
}

/* Automatic ports: in the ephemeral range, all different, never a port a flow holds. */
static void test_automatic_ports(void **state)
{
    struct dp *dp = fake_dp();
    struct rx_log r = {0};
    struct dp_local *l[64];
    uint8_t *seen = calloc(DP_PORTS, 1);

    (void)state;
    assert_non_null(seen);
    /* Workers hold every other port of the range. */
    for (unsigned p = DP_FLOW_PORT_LO; p <= DP_FLOW_PORT_HI; p += 2)
        assert_int_equal(dp_port_claim(dp, (uint16_t)p, 1 + p % 3), 0);
    for (unsigned i = 0; i < 64; i++) {
        uint16_t port;

        l[i] = dp_local_open(dp, 0, on_rx, &r);
        assert_non_null(l[i]);
        port = dp_local_port(l[i]);
        assert_true(port >= DP_FLOW_PORT_LO); /* and <= DP_FLOW_PORT_HI, the largest port */
        assert_true((port - DP_FLOW_PORT_LO) % 2 == 1); /* never a flow's port */
        assert_false(seen[port]);
        seen[port] = 1;
        assert_int_equal(owner_of(dp, port), DP_OWNER_MAIN | DP_OWNER_REF);
    }
    /* ... and a worker's automatic port is never an endpoint's. */
    for (unsigned i = 0; i < 64; i++) {
        uint16_t port;

        assert_int_equal(dp_port_pick(dp, NULL, &dp->ip4, &dp->ip4, 0, 0, 3, &port), 0);
        assert_false(seen[port]);
        assert_int_equal(owner_of(dp, port), 3 | DP_OWNER_REF);
    }
    for (unsigned i = 0; i < 64; i++)
        dp_local_close(l[i]);
    for (unsigned p = 0; p < DP_PORTS; p++)
        if (seen[p])
            assert_int_equal(owner_of(dp, (uint16_t)p), 0);
    free(seen);
    fake_dp_free(dp);
}

/* With the range full, EADDRNOTAVAIL; the one port a close frees is the next one picked. */
static void test_automatic_exhausted(void **state)
{
    struct dp *dp = fake_dp();
    struct rx_log r = {0};
    struct dp_local *a, *b;
    uint16_t last;

    (void)state;
    for (unsigned p = DP_FLOW_PORT_LO; p < DP_FLOW_PORT_HI; p++)
        assert_int_equal(dp_port_claim(dp, (uint16_t)p, 1), 0);
    a = dp_local_open(dp, 0, on_rx, &r);
    assert_non_null(a);
    last = dp_local_port(a);
    assert_int_equal(last, DP_FLOW_PORT_HI);
    rte_errno = 0;
    assert_null(dp_local_open(dp, 0, on_rx, &r));
    assert_int_equal(rte_errno, EADDRNOTAVAIL);
    assert_int_equal(dp_port_pick(dp, NULL, &dp->ip4, &dp->ip4, 0, 0, 1, &last), -EADDRNOTAVAIL);
    /* An explicit port outside the range still works. */
    b = dp_local_open(dp, 53, on_rx, &r);
    assert_non_null(b);
    dp_local_close(a);
    a = dp_local_open(dp, 0, on_rx, &r);
    assert_non_null(a);
    assert_int_equal(dp_local_port(a), DP_FLOW_PORT_HI);
    fake_dp_free(dp); /* closes a and b */
}

/* The slow path's delivery: the endpoint of the destination port gets the datagram
 * (source port in host order, the payload in place, the loop's time); another port is
 * nobody's. */
static void test_rx_dispatch(void **state)
{
    struct dp *dp = fake_dp();
    struct rx_log ra = {0}, rb = {0};
    struct dp_local *a, *b;
    const uint8_t payload[] = "dns reply";
    struct dp_addr peer4 = dp_addr_v4(rte_cpu_to_be_32(0xc6120003u)), peer6;
    const struct dp_addr *peer = &peer4;

    (void)state;
    a = dp_local_open(dp, 5353, on_rx, &ra);
    b = dp_local_open(dp, 0, on_rx, &rb);
    assert_non_null(a);
    assert_non_null(b);

    assert_true(dp_local_rx(dp, peer, rte_cpu_to_be_16(53), rte_cpu_to_be_16(5353), payload,
                            sizeof(payload), 777));
    assert_int_equal(ra.calls, 1);
    assert_int_equal(rb.calls, 0);
    assert_true(dp_addr_eq(&ra.src, &peer4));
    assert_int_equal(ra.src_port, 53);
    assert_ptr_equal(ra.payload, payload);
    assert_int_equal(ra.len, sizeof(payload));
    assert_int_equal(ra.now_ns, 777);

    /* An IPv6 source, as it came. */
    assert_int_equal(dp_addr_parse("fd00::53", &peer6), 0);
    assert_true(dp_local_rx(dp, &peer6, rte_cpu_to_be_16(7000), rte_cpu_to_be_16(dp_local_port(b)),
                            payload, 0, 778));
    assert_int_equal(rb.calls, 1);
    assert_int_equal(rb.len, 0);
    assert_int_equal(rb.src_port, 7000);
    assert_true(dp_addr_eq(&rb.src, &peer6));

    assert_false(dp_local_rx(dp, peer, rte_cpu_to_be_16(53), rte_cpu_to_be_16(5354), payload,
                             sizeof(payload), 779));
    assert_int_equal(ra.calls + rb.calls, 2);
    assert_int_equal(dp->sp.local_rx, 2);
    assert_int_equal(a->rx_pkts, 1);

    /* A callback may close its own endpoint: later datagrams are nobody's. */
    ra.close_me = a;
    assert_true(dp_local_rx(dp, peer, rte_cpu_to_be_16(53), rte_cpu_to_be_16(5353), payload,
                            sizeof(payload), 780));
    assert_int_equal(ra.calls, 2);
    assert_int_equal(owner_of(dp, 5353), 0);
    assert_false(dp_local_rx(dp, peer, rte_cpu_to_be_16(53), rte_cpu_to_be_16(5353), payload,
                             sizeof(payload), 781));
    assert_true(dp_local_rx(dp, peer, rte_cpu_to_be_16(7000), rte_cpu_to_be_16(dp_local_port(b)),
                            payload, 1, 782));
    assert_int_equal(rb.calls, 2);
    fake_dp_free(dp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit_port_exclusive),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_automatic_ports),
        cmocka_unit_test(test_automatic_exhausted),
        cmocka_unit_test(test_rx_dispatch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
