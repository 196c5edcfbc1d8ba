/* h3dpd: the h3dp daemon. Reads the configuration (-c FILE, else H3DPD_DEFAULT_CONFIG:
 * sysconfdir/h3dp/h3dpd.conf, set by meson); with `[dataplane] io = dpdk`
 * initialises EAL from it (nothing hidden added) and runs HTTP/3 connections on the
 * dataplane's worker lcores; with `io = kernel` runs them on worker threads over kernel
 * UDP sockets. The control socket ([control]) takes operator commands (h3ctl).
 *
 * SIGINT/SIGTERM or `quit`: graceful shutdown of every connection (GOAWAY, requests in
 * flight finish, [h3] shutdown_timeout_ms), then an orderly exit 0. A second signal exits
 * at once with status 1. SIGUSR1 prints the dataplane counters (DPDK mode). SIGHUP reads
 * the configuration file again: log levels, the collectors and the upload headers file
 * (tokens rotate) change at once, the keys that need a restart are logged (d_reload.h).
 *
 * Under systemd (Type=notify): READY=1 once it serves, STOPPING=1 when the graceful exit
 * begins, STATUS= with the counters (d_notify).
 *
 * Exit status: 0 after an orderly stop (or a valid --check-config), 1 when the runtime
 * fails (EAL, port, socket, memory) or on a second signal, 2 for usage or configuration
 * errors.
 */
#define RTE_LOG_DEFAULT_LOGTYPE user.h3dp.daemon

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_ctl.h"
#include "d_dns.h"
#include "d_eal_hint.h"
#include "d_log.h"
#include "d_loop.h"
#include "d_metrics.h"
#include "d_notify.h"
#include "d_reload.h"
#include "d_telemetry.h"
#include "d_upload.h"
#include "dp.h"
#include "mono.h"
#include "net_addr.h"
#include "svc.h"
#include "up_headers.h"
#include "upload.h"
#include "version.h"


#define EXIT_RUNTIME 1
#define EXIT_CONFIG  2

/* How long the ARP table keeps an entry without news (the config only sets the wait
 * for a reply). */
#define H3DPD_NEIGH_REACHABLE_MS 30000
/* Mbufs rings: sized for the daemon's first set of services. */
#define H3DPD_RING_SIZE 1024

/* Closed connections remembered for show/wait, and the loop's longest sleep. */
#define H3DPD_CLOSED_KEEP 256
#define H3DPD_IDLE_MS 200
/* After the graceful-shutdown deadline: the closing period's grace before giving up. */
#define H3DPD_QUIT_GRACE_NS 2000000000ull
/* Under systemd: how often STATUS= is refreshed. */
#define H3DPD_STATUS_NS 5000000000ull

static struct dp *_Atomic g_dp;
static atomic_int g_quit;   /* signals received: 1 = graceful exit, 2 = exit now */
static atomic_int g_reload; /* SIGHUP: re-read what can change at run time */

static void on_signal(int sig)
{
    struct dp *dp = atomic_load(&g_dp);

    if (sig == SIGUSR1) {
        if (dp != NULL)
            dp_request_stats(dp);
        return;
    }
    if (sig == SIGHUP) {
        atomic_store(&g_reload, 1);
        return;
    }
    if (atomic_fetch_add(&g_quit, 1) >= 1) {
        static const char msg[] = "WARNING h3dpd: second signal: exiting now\n";
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
            /* nothing more to do */
        }
        _exit(EXIT_RUNTIME);
    }
}

/* What the main loop drives, in both I/O modes. */
struct daemon {
    const struct cfg *cfg;
    struct cfg *live;     /* the same, updated by reloads (SIGHUP) */
    const char *path;     /* the configuration file */
    struct d_reload *reload;
    struct d_metrics *metrics; /* [metrics] listen; NULL: off */
    struct dp *dp;
    struct d_loop *loop;  /* control socket, service events, upload source fds, DNS */
    struct d_dns *dns;    /* collector names */
    struct svc *svc;
    struct ctl_server *srv;
    struct d_ctl *ctl;
    struct d_upload upload; /* the upload engine (its target may come later) */
    bool quitting, conns_shut;
    uint64_t quit_deadline, upload_deadline;
    bool done;
    char ready[192]; /* the readiness line (STATUS= under systemd) */
};

static void on_control(void *ctx, int fd, uint64_t now)
{
    struct daemon *D = ctx;
    (void)fd;
    ctl_server_poll(D->srv, now);
}

static void on_service(void *ctx, int fd, uint64_t now)
{
    struct daemon *D = ctx;
    (void)fd;
    svc_poll(D->svc, now);
}

static void on_metrics(void *ctx, int fd, uint64_t now)
{
    struct daemon *D = ctx;
    (void)fd;
    d_metrics_run(D->metrics, now);
}

static void on_upload(void *ctx, int fd, uint64_t now)
{
    struct daemon *D = ctx;
    (void)now;
    up_readable(D->upload.up, fd);
}

/* The event loop and its first fds: the control socket, the service's eventfd (kernel
 * mode: DPDK mode polls the service every iteration anyway). */
static int loop_open(struct daemon *D)
{
    int err = 0;

    D->loop = d_loop_new(&err);
    if (!D->loop ||
        (err = d_loop_watch(D->loop, ctl_server_fd(D->srv), on_control, D)) < 0 ||
        (err = d_loop_watch(D->loop, svc_eventfd(D->svc), on_service, D)) < 0) {
        D_LOG(ERR, "event loop: %s", strerror(-err));
        return -1;
    }
    return 0;
}

/* The upload engine from [upload] (names through the resolver); without [upload] url it
 * waits for `upload target`. Its fds join the loop. */
static int upload_open(struct daemon *D)
{
    struct up_resolver res = d_dns_resolver(D->dns);
    char why[512] = "";
    int fds[4], err;
    unsigned n;

    /* IPv6 collectors: the kernel reaches them; the DPDK port when it has an address. */
    if (d_upload_open(&D->upload, D->cfg, D->svc, &res, D->dp == NULL || dp_ipv6(D->dp) != NULL,
                      why, sizeof(why)) < 0) {
        D_LOG(ERR, "upload engine: %s", why);
        return -1;
    }
    if (d_upload_register(&D->upload, D->srv) < 0) {
        D_LOG(ERR, "upload engine: cannot register its command");
        return -1;
    }
    n = up_fds(D->upload.up, fds, 4);
    for (unsigned i = 0; i < n; i++)
        if ((err = d_loop_watch(D->loop, fds[i], on_upload, D)) < 0) {
            D_LOG(ERR, "event loop: %s", strerror(-err));
            return -1;
        }
    d_ctl_set_upload(D->ctl, D->upload.up);
    d_telemetry_set_upload(D->upload.up);
    return 0;
}

/* The resolver of collector names: queries through the dataplane port (DPDK mode) or a
 * kernel socket watched by the loop. */
static int dns_open(struct daemon *D)
{
    char why[512] = "";
    int err = 0;

    D->dns = d_dns_new(D->cfg, D->dp, D->loop, &err, why, sizeof(why));
    if (!D->dns) {
        D_LOG(ERR, "resolver: %s", why);
        return -1;
    }
    d_ctl_set_dns(D->ctl, D->dns);
    return 0;
}

/* The Prometheus endpoint ([metrics] listen): MHD's epoll fd joins the loop. A port in use
 * stops the start. */
static int metrics_open(struct daemon *D, const char *port)
{
    struct d_metrics_src src = {
        .svc = D->svc, .dp = D->dp, .port = port, .up = D->upload.up, .dns = D->dns,
        .srv = D->srv, .reload = D->reload,
    };
    char why[512] = "";
    int err;

    if (!D->cfg->metrics.listen_str[0])
        return 0;
    D->metrics = d_metrics_new(&D->cfg->metrics, &src, why, sizeof(why));
    if (!D->metrics) {
        D_LOG(ERR, "metrics: %s", why);
        return -1;
    }
    if ((err = d_loop_watch(D->loop, d_metrics_fd(D->metrics), on_metrics, D)) < 0) {
        D_LOG(ERR, "event loop: %s", strerror(-err));
        return -1;
    }
    return 0;
}

/* SIGHUP: the configuration file again; what can change at run time is put in force, the
 * rest reported as needing a restart (d_reload.h). */
static void check_reload(struct daemon *D)
{
    if (atomic_exchange(&g_reload, 0))
        d_reload_run(D->reload);
}

/* Starts the graceful exit once (signal or `quit`): the upload engine's sources stop and
 * what it has in flight finishes, then every connection is shut down gracefully; tells
 * when it is over. */
static void check_quit(struct daemon *D, uint64_t now)
{
    uint64_t t = (uint64_t)D->cfg->h3.shutdown_timeout_ms * 1000000ull;
    struct up *up = D->upload.up;

    if (!D->quitting && (atomic_load(&g_quit) || d_ctl_quit_requested(D->ctl))) {
        D->quitting = true;
        d_notify_stopping("stopping: uploads finishing, then connections shut down");
        D->upload_deadline = now + (t ? t : 30000000000ull);
        D->quit_deadline = D->upload_deadline + (t ? t : 30000000000ull) + H3DPD_QUIT_GRACE_NS;
        if (up)
            up_stop(up, D->upload_deadline);
    }
    if (D->quitting && !D->conns_shut && (!up || up_done(up) || now >= D->upload_deadline)) {
        D->conns_shut = true;
        D_LOG(NOTICE, "shutting down %u connection(s) gracefully", svc_conns_active(D->svc));
        svc_shutdown_all(D->svc, t);
    }
    if (!D->conns_shut)
        return;
    if (D->quitting && (svc_conns_active(D->svc) == 0 || now >= D->quit_deadline)) {
        if (svc_conns_active(D->svc))
            D_LOG(WARNING, "%u connection(s) still open at the deadline: dropped",
                   svc_conns_active(D->svc));
        D->done = true;
    }
}

/* Under systemd, every few seconds: the readiness line, connections and upload counters as
 * the service's STATUS= (what `systemctl status h3dpd` shows). */
static void notify_status(struct daemon *D, uint64_t now)
{
    json_t *st, *acked, *queued, *failed;

    if (D->quitting || !d_notify_status_due(now, H3DPD_STATUS_NS))
        return;
    if (!D->upload.up) {
        d_notify_status("%s; %u connection(s)", D->ready, svc_conns_active(D->svc));
        return;
    }
    st = up_stats_json(D->upload.up, now);
    acked = json_object_get(json_object_get(st, "acked"), "records");
    queued = json_object_get(json_object_get(st, "queued"), "records");
    failed = json_object_get(json_object_get(st, "failed"), "records");
    d_notify_status("%s; %u connection(s); upload %s: %" JSON_INTEGER_FORMAT
                    " records acknowledged, %" JSON_INTEGER_FORMAT " queued, %" JSON_INTEGER_FORMAT
                    " failed",
                    D->ready, svc_conns_active(D->svc),
                    json_string_value(json_object_get(st, "state")) ?: "?",
                    json_integer_value(acked), json_integer_value(queued),
                    json_integer_value(failed));
    json_decref(st);
}

/* One iteration of the main loop at |now| (read once by the caller after its wait): the
 * ready fds, the service's events, the upload engine, telemetry, the exit. */
static unsigned daemon_step(struct daemon *D, uint64_t now)
{
    unsigned work;

    /* The control server's clock for the answers of this step; its deadlines with no traffic
     * on the socket (deferred requests, idle clients). */
    ctl_server_tick(D->srv, now);
    d_loop_dispatch(D->loop, now);
    if (D->metrics && d_metrics_timeout_ms(D->metrics) == 0)
        d_metrics_run(D->metrics, now); /* MHD's timeouts, work it holds ready */
    check_reload(D);
    d_upload_poll(&D->upload);
    d_dns_poll(D->dns, now);
    work = svc_poll(D->svc, now);
    if (D->upload.up)
        work += up_poll(D->upload.up, now);
    d_telemetry_refresh(now);
    notify_status(D, now);
    check_quit(D, now);
    return work;
}

/* DPDK mode: runs on the main lcore from dp_main_loop, between slow-path work, with the
 * loop's time (TSC-derived ns). */
static unsigned main_hook(void *arg, uint64_t now_ns)
{
    struct daemon *D = arg;
    int n = d_loop_wait(D->loop, 0);
    unsigned work = (n > 0 ? (unsigned)n : 0) + daemon_step(D, now_ns);

    if (D->done)
        dp_request_stop(D->dp);
    return work;
}

/* Kernel mode: the main thread sleeps in the event loop until an fd is readable, a timer of
 * the upload engine or a deferred control request is due, or at most H3DPD_IDLE_MS. */
static void kernel_loop(struct daemon *D)
{
    uint64_t now = mono_ns();
    unsigned work = 0;

    while (!D->done) {
        int ut = D->upload.up ? up_poll_timeout_ms(D->upload.up) : -1;
        int ct = ctl_server_timeout_ms(D->srv, now);
        int dt = d_dns_timeout_ms(D->dns, now);
        int mt = D->metrics ? d_metrics_timeout_ms(D->metrics) : -1;
        int timeout = H3DPD_IDLE_MS;
        if (mt >= 0 && mt < timeout)
            timeout = mt;
        if (dt >= 0 && dt < timeout)
            timeout = dt;
        if (ut >= 0 && ut < timeout)
            timeout = ut;
        if (ct >= 0 && ct < timeout)
            timeout = ct;
        if (work || !svc_arm(D->svc))
            timeout = 0;
        if (atomic_load(&g_quit) || D->quitting)
            timeout = timeout ? 20 : 0;
        d_loop_wait(D->loop, timeout);
        now = mono_ns();
        work = daemon_step(D, now);
    }
}

static int control_open(const struct cfg *c, struct ctl_server **srv)
{
    struct ctl_server_conf conf;
    char dir[sizeof(c->control.socket)];
    int err = 0;

    /* The socket's directory (/run/h3dp by default) may not exist yet. */
    snprintf(dir, sizeof(dir), "%s", c->control.socket);
    if (mkdir(dirname(dir), 0755) != 0 && errno != EEXIST) {
        D_LOG(ERR, "cannot create the directory of %s: %s", c->control.socket,
                strerror(errno));
        return -1;
    }
    ctl_server_conf_defaults(&conf);
    conf.path = c->control.socket;
    if (c->control.uid != CFG_ID_NONE)
        conf.allow_uid = c->control.uid;
    conf.allow_gid = c->control.gid == CFG_ID_NONE ? CTL_NO_GID : c->control.gid;
    conf.max_clients = c->control.max_clients;
    conf.max_line = c->control.max_line;
    conf.idle_timeout_ms = c->control.idle_timeout_ms;
    *srv = ctl_server_new(&conf, &err);
    if (!*srv) {
        D_LOG(ERR, "control socket %s: %s", c->control.socket,
                err == -EADDRINUSE ? "another daemon answers there" : strerror(-err));
        return -1;
    }
    return 0;
}

static void svc_conf_from_cfg(const struct cfg *c, const struct dp_conf *d, struct svc_conf *s)
{
    svc_conf_defaults(s);
    s->n_workers = d->n_workers;
    for (unsigned i = 0; i < d->n_workers; i++)
        s->worker_lcores[i] = d->worker_lcores[i];
    s->idle_timeout_ns = (uint64_t)c->h3.idle_timeout_ms * 1000000ull;
    s->handshake_timeout_ns = (uint64_t)c->h3.handshake_timeout_ms * 1000000ull;
    s->keepalive_ns = (uint64_t)c->h3.keepalive_ms * 1000000ull;
    s->max_streams = c->h3.max_concurrent_streams;
    s->initial_max_data = c->h3.initial_max_data;
    s->initial_max_stream_data = c->h3.initial_max_stream_data;
    s->ca_file = c->tls.ca_file;
    s->cert_file = c->tls.cert_file;
    s->key_file = c->tls.key_file;
    s->insecure = c->tls.insecure;
    s->keylog_file = c->tls.keylog;
    s->qlog_dir = c->h3.qlog_dir;
    s->resumption = c->tls.resumption;
    s->session_dir = c->tls.session_dir;
    s->max_conns = c->h3.max_connections;
    s->closed_keep = H3DPD_CLOSED_KEEP;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: h3dpd [-c FILE]       run the daemon with configuration FILE\n"
                 "                             (default " H3DPD_DEFAULT_CONFIG ")\n"
                 "       h3dpd --check-config FILE\n"
                 "                             validate FILE, print the error if any, exit 0/2\n"
                 "       h3dpd -h | --help     this help\n"
                 "       h3dpd -V | --version  the version\n"
                 "\n"
                 "signals:\n"
                 "  SIGHUP           reload FILE: [log] and [upload] headers_file at once,\n"
                 "                   [upload] url once nothing is queued or in flight for\n"
                 "                   the old collectors; other keys that changed are\n"
                 "                   logged as needing a restart\n"
                 "  SIGTERM, SIGINT  graceful shutdown: GOAWAY, requests in flight finish,\n"
                 "                   exit 0; a second signal exits at once, status 1\n"
                 "  SIGUSR1          print the dataplane counters to the log (io = dpdk)\n"
                 "\n"
                 "exit status: 0 orderly stop or valid --check-config, 1 runtime failure or\n"
                 "             second signal, 2 usage or configuration error\n"
                 "\n"
                 "EAL arguments come from the [eal] section only; see docs/CONFIG.md.\n");
}

/* Loads and validates |path|, then loads the files it names the way the daemon will use
 * them (the trust store, the client certificate and key: a key that does not match is
 * caught here, not at the first connection). */
static int load(const char *path, struct cfg *c)
{
    const struct cfg_tls *t = &c->tls;
    char err[1024];

    if (cfg_load(path, c, err, sizeof(err)) < 0) {
        D_LOG(ERR, "%s", err);
        return -1;
    }
    if (h3_tls_check(t->ca_file[0] ? t->ca_file : NULL, t->insecure,
                     t->cert_file[0] ? t->cert_file : NULL, t->key_file[0] ? t->key_file : NULL,
                     err, sizeof(err)) < 0) {
        D_LOG(ERR, "%s: [tls] %s", path, err);
        return -1;
    }
    if (c->upload.headers_file[0]) {
        struct up_headers *h = NULL;
        if (up_headers_load(c->upload.headers_file, &h, err, sizeof(err)) < 0) {
            D_LOG(ERR, "%s: [upload] headers_file: %s", path, err);
            return -1;
        }
        up_headers_del(h);
    }
    return 0;
}

/* The dataplane's parameters from the validated configuration. */
static int dp_conf_from_cfg(const struct cfg *c, struct dp_conf *d)
{
    const struct cfg_dataplane *dc = &c->dataplane;

    dp_conf_defaults(d);
    d->device = c->port.device_name;
    d->hotplug = c->port.device_in_eal_args ? NULL : c->port.device;
    d->mac = c->port.mac;
    d->ip = c->port.ip;
    d->prefix_len = c->port.prefix_len;
    d->gateway = c->port.gateway;
    d->gateway_mac_set = cfg_mac_is_set(&c->port.gateway_mac);
    d->gateway_mac = c->port.gateway_mac;
    if (c->port.ip6_set) {
        d->ip6_set = true;
        d->ip6 = dp_addr_v6(c->port.ip6.s6_addr);
        d->prefix6_len = c->port.prefix6_len;
        d->gateway6 = dp_addr_v6(c->port.gateway6.s6_addr);
        d->gateway6_mac_set = cfg_mac_is_set(&c->port.gateway6_mac);
        d->gateway6_mac = c->port.gateway6_mac;
        d->accept_ra = c->port.accept_ra;
        d->dad_transmits = (uint8_t)c->port.dad_transmits;
    }
    d->rx_desc = c->port.rx_desc;
    d->tx_desc = c->port.tx_desc;
    d->mtu = c->port.mtu;

    d->n_workers = 0;
    for (int l = cfg_lcores_next(&dc->workers, -1); l >= 0; l = cfg_lcores_next(&dc->workers, l)) {
        if (d->n_workers == DP_MAX_WORKERS) {
            D_LOG(ERR, "[dataplane] workers: at most %d lcores", DP_MAX_WORKERS);
            return -1;
        }
        d->worker_lcores[d->n_workers++] = (unsigned)l;
    }
    d->burst = dc->burst;
    d->idle = dc->idle == CFG_IDLE_BUSY        ? DP_IDLE_BUSY
              : dc->idle == CFG_IDLE_INTERRUPT ? DP_IDLE_INTERRUPT
                                               : DP_IDLE_ADAPTIVE;
    d->idle_spin_polls = dc->idle_spin_polls;
    d->idle_sleep_us = dc->idle_sleep_us;
    d->tx_drain_us = dc->tx_drain_us;
    d->mbufs = dc->mempool_size;
    d->mbuf_cache = dc->mempool_cache;
    d->ring_size = H3DPD_RING_SIZE;
    d->max_flows = dc->max_flows;
    d->arp_retry_ms = dc->arp_timeout_ms;
    d->arp_retries = dc->arp_retries + 1; /* the first request plus the retries */
    d->arp_timeout_ms = H3DPD_NEIGH_REACHABLE_MS;
    d->arp_queue = dc->arp_queue;
    d->udp_echo_port = dc->udp_echo_port;
    return 0;
}

/* The readiness line scripts wait for ("h3dpd: running: ..."), also the service's READY=1
 * and first STATUS= under systemd. */
static void print_ready(struct daemon *D, const struct dp_conf *d)
{
    const struct cfg *c = D->cfg;
    char ip[NET_ADDR_STR_MAX], v6[NET_ADDR_STR_MAX + 8] = "", ll[NET_ADDR_STR_MAX] = "";
    struct net_addr a = net_addr_v4(c->port.ip);

    if (D->dp && dp_ipv6(D->dp)) {
        char s[DP_ADDR_STR_MAX];

        snprintf(v6, sizeof(v6), "%s/%u", dp_addr_str(dp_ipv6(D->dp), s, sizeof(s)),
                 c->port.prefix6_len);
        dp_addr_str(dp_ipv6_ll(D->dp), ll, sizeof(ll));
    }

    if (!D->dp)
        snprintf(D->ready, sizeof(D->ready), "running: io kernel, %u worker thread(s), control %s",
                 d->n_workers, c->control.socket);
    else
        snprintf(D->ready, sizeof(D->ready),
                 "running: port %s " RTE_ETHER_ADDR_PRT_FMT " %s/%u%s%s%s%s, %u worker(s), "
                 "udp echo %u, control %s",
                 d->device, RTE_ETHER_ADDR_BYTES(dp_mac(D->dp)), net_addr_str(&a, ip, sizeof(ip)),
                 c->port.prefix_len, v6[0] ? " " : "", v6, v6[0] ? " " : "", ll, d->n_workers,
                 d->udp_echo_port, c->control.socket);
    D_LOG(NOTICE, "%s", D->ready);
    d_notify_ready(D->ready);
}

/* Signals go to the main thread only: worker threads are started with them blocked. */
static void block_signals(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Everything above the dataplane, in both modes: the control socket, the connection
 * service, the control handlers, the upload engine, the event loop. Returns 0, or -1 after
 * saying why (what was opened is closed by daemon_close). */
static int daemon_open(struct daemon *D, const struct svc_conf *sc, const char *port)
{
    int err = 0;

    if (control_open(D->cfg, &D->srv) < 0)
        return -1;
    if (sc->io == SVC_IO_KERNEL)
        block_signals(true); /* the worker threads inherit the mask */
    D->svc = svc_new(sc, &err);
    if (sc->io == SVC_IO_KERNEL)
        block_signals(false);
    if (!D->svc) {
        D_LOG(ERR, "connection service: %s", strerror(-err));
        return -1;
    }
    D->ctl = d_ctl_new(D->cfg, D->svc, D->dp, D->srv, &err);
    if (!D->ctl) {
        D_LOG(ERR, "control handlers: %s", strerror(-err));
        return -1;
    }
    if (port && d_telemetry_init(D->svc, port) < 0)
        D_LOG(WARNING, "DPDK telemetry commands not registered");
    if (port)
        d_telemetry_set_dataplane(D->dp);
    if (loop_open(D) < 0 || dns_open(D) < 0 || upload_open(D) < 0)
        return -1;
    D->reload = d_reload_new(D->path, D->live, &D->upload);
    if (!D->reload) {
        D_LOG(ERR, "reload: out of memory");
        return -1;
    }
    d_ctl_set_reload(D->ctl, D->reload);
    return metrics_open(D, port);
}

/* Closes what daemon_open opened, in reverse order (DPDK mode: after dp_stop). */
static void daemon_close(struct daemon *D)
{
    d_metrics_del(D->metrics);
    d_ctl_del(D->ctl);
    svc_del(D->svc);
    up_del(D->upload.up);
    d_dns_del(D->dns);
    d_loop_del(D->loop);
    ctl_server_del(D->srv);
    d_reload_del(D->reload);
}

static int run_kernel(struct cfg *c, const char *path, const struct dp_conf *d)
{
    struct daemon D = { .cfg = c, .live = c, .path = path };
    struct svc_conf sc;
    int status = EXIT_RUNTIME;

    svc_conf_from_cfg(c, d, &sc);
    sc.io = SVC_IO_KERNEL;
    if (daemon_open(&D, &sc, NULL) < 0)
        goto out;
    print_ready(&D, d);
    kernel_loop(&D);
    status = EXIT_SUCCESS;
out:
    daemon_close(&D);
    if (status == EXIT_SUCCESS)
        D_LOG(NOTICE, "stopped");
    return status;
}

/* EAL or the port did not come up: says what to do about it on this machine (d_eal_hint:
 * hugepages, the file prefix, privileges, the PCI device's driver, IOMMU/VFIO). */
static void log_eal_failure(const struct cfg *c, const struct cfg_argv *eal,
                            enum d_eal_stage stage, int err, const char *what)
{
    struct d_eal_want w = {
        .prefix = c->eal.file_prefix,
        .pci = c->port.device_kind == CFG_DEVICE_PCI ? c->port.device_name : NULL,
        .root = geteuid() == 0,
        .err = err,
    };
    char hint[512];

    for (int i = 1; i < eal->argc; i++)
        if (strcmp(eal->argv[i], "--no-huge") == 0)
            w.no_huge = true;
    D_LOG(ERR, "%s: %s", what, d_eal_hint("", &w, stage, hint, sizeof(hint)));
}

static int run(struct cfg *c, const char *path, const char *prog)
{
    static struct cfg_argv eal; /* EAL may keep pointers into it until cleanup */
    struct daemon D = { .cfg = c, .live = c, .path = path };
    struct svc_conf sc;
    struct dp_conf d;
    int argc, rc, status = EXIT_RUNTIME;

    if (dp_conf_from_cfg(c, &d) < 0)
        return EXIT_CONFIG;
    if (c->dataplane.io == CFG_IO_KERNEL)
        return run_kernel(c, path, &d);
    argc = cfg_eal_argv(c, prog, &eal);
    if (argc < 0) {
        D_LOG(ERR, "cannot build the EAL arguments: %s", strerror(-argc));
        return EXIT_CONFIG;
    }
    rc = rte_eal_init(argc, eal.argv);
    if (rc < 0) {
        log_eal_failure(c, &eal, D_EAL_INIT, rte_errno, "EAL init failed");
        return EXIT_RUNTIME;
    }
    D.dp = dp_new(&d);
    if (D.dp == NULL) {
        log_eal_failure(c, &eal, D_EAL_PORT, rte_errno, "dataplane setup failed");
        goto out_eal;
    }
    svc_conf_from_cfg(c, &d, &sc);
    sc.io = SVC_IO_DPDK;
    sc.dp = D.dp;
    if (daemon_open(&D, &sc, d.device) < 0)
        goto out_close;
    atomic_store(&g_dp, D.dp);
    rc = dp_start(D.dp);
    if (rc < 0) {
        struct dp_addr dup;
        struct rte_ether_addr mac;
        char s[DP_ADDR_STR_MAX];

        if (rc == -EADDRINUSE && dp_dad_clash(D.dp, &dup, &mac))
            D_LOG(ERR,
                  "dataplane start failed: IPv6 address %s is already used on the link by "
                  RTE_ETHER_ADDR_PRT_FMT " (duplicate address detection)",
                  dp_addr_str(&dup, s, sizeof(s)), RTE_ETHER_ADDR_BYTES(&mac));
        else
            D_LOG(ERR, "dataplane start failed: %s", rte_strerror(-rc));
        goto out_stop;
    }
    print_ready(&D, &d);
    D_LOG(INFO, "running; SIGINT/SIGTERM or `h3ctl quit` to stop, SIGUSR1 for counters");
    dp_main_loop(D.dp, main_hook, &D);
    D_LOG(INFO, "stopping");
    status = EXIT_SUCCESS;
out_stop:
    dp_stop(D.dp);
out_close:
    daemon_close(&D);
    if (D.dp) {
        D_LOG(NOTICE, "final counters");
        dp_stats_print(D.dp, stdout);
        fflush(stdout);
        atomic_store(&g_dp, NULL);
        dp_del(D.dp);
    }
out_eal:
    rte_eal_cleanup();
    if (status == EXIT_SUCCESS)
        D_LOG(NOTICE, "stopped");
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *check = NULL;
    struct sigaction sa;
    static struct cfg c; /* large: keep it off the stack */
    int opt;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (d_log_open(STDERR_FILENO, false) < 0)
        fprintf(stderr, "h3dpd: cannot install the log writer: lines go out unformatted\n");
    while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        case 'V':
            h3dp_version_print(stdout, "h3dpd");
            return EXIT_SUCCESS;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc || (path != NULL && check != NULL)) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (check != NULL) {
        if (load(check, &c) < 0)
            return EXIT_CONFIG;
        printf("%s: configuration OK\n", check);
        return EXIT_SUCCESS;
    }
    if (path == NULL) {
        path = H3DPD_DEFAULT_CONFIG;
        if (access(path, F_OK) != 0) {
            D_LOG(ERR, "no configuration at %s (the default; give one with -c FILE)", path);
            return EXIT_CONFIG;
        }
    }
    if (load(path, &c) < 0)
        return EXIT_CONFIG;
    d_log_apply(&c.log);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    d_notify_init();
    int status = run(&c, path, argv[0]);
    d_log_close();
    return status;
}
