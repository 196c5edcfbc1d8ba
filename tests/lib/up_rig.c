/* up_rig.c: the upload engine over the kernel-mode service in a test (see up_rig.h). */
#include "up_rig.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "mono.h"
#include "svc.h"

void up_rig_conf(struct up_conf *c)
{
    *c = (struct up_conf){
        .connections = 2,
        .streams = 32,
        .batch_bytes = 256u << 10,
        .linger_ms = 100,
        .retry_initial_ms = 500,
        .retry_max_ms = 30000,
        .retry_limit = 10,
        .ingest_queue = 65536,
        .content_type = "application/octet-stream",
        .gen = { .record_bytes = 1024 },
    };
}

void up_rig_open(struct up_rig *r, const struct up_conf *c, unsigned workers, const char *certs)
{
    static char ca[512];
    struct svc_conf sc;
    char why[256] = "";
    int err = 0;

    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    svc_conf_defaults(&sc);
    sc.io = SVC_IO_KERNEL;
    sc.n_workers = workers;
    for (unsigned i = 0; i < workers; i++)
        sc.worker_lcores[i] = i + 1;
    sc.ca_file = ca;
    r->s = svc_new(&sc, &err);
    assert_non_null(r->s);
    r->u = up_new(c, r->s, &err, why, sizeof(why));
    if (!r->u)
        fail_msg("up_new: %d %s", err, why);
}

unsigned up_rig_step(struct up_rig *r)
{
    int fds[4];
    unsigned n = up_fds(r->u, fds, 4);
    uint64_t now = mono_ns();

    for (unsigned i = 0; i < n; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        if (poll(&p, 1, 0) == 1)
            up_readable(r->u, fds[i]);
    }
    svc_poll(r->s, now);
    return up_poll(r->u, now);
}

json_t *up_rig_run(struct up_rig *r, uint64_t want, unsigned ms)
{
    uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull;
    json_t *st = NULL;

    while (mono_ns() < end) {
        up_rig_step(r);
        json_decref(st);
        st = up_stats_json(r->u, mono_ns());
        if (up_rig_get(st, "acked", "records") >= want && up_done(r->u))
            break;
        if (svc_arm(r->s)) {
            struct pollfd p = { .fd = svc_eventfd(r->s), .events = POLLIN };
            poll(&p, 1, 1);
        }
    }
    return st;
}

void up_rig_close(struct up_rig *r)
{
    uint64_t end;

    up_stop(r->u, 0);
    svc_shutdown_all(r->s, 1000000000ull);
    end = mono_ns() + 5000000000ull;
    while (svc_conns_active(r->s) && mono_ns() < end)
        up_rig_step(r);
    up_del(r->u);
    svc_del(r->s);
}

uint64_t up_rig_get(json_t *r, const char *a, const char *b)
{
    json_t *o = json_object_get(r, a);
    return (uint64_t)json_integer_value(b ? json_object_get(o, b) : o);
}
