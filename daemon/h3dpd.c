/* h3dpd: the h3dp daemon. Reads the configuration; with `[dataplane] io = dpdk`
 * initialises EAL from it (nothing hidden added) and runs HTTP/3 connections on the
 * dataplane's worker lcores; with `io = kernel` runs them on worker threads over kernel
 * UDP sockets. The control socket ([control]) takes operator commands (h3ctl).
 *
 * SIGINT/SIGTERM or `quit`: graceful shutdown of every connection (GOAWAY, requests in
 * flight finish, [h3] shutdown_timeout_ms), then an orderly exit 0. A second signal exits
 * at once with status 1. SIGUSR1 prints the dataplane counters (DPDK mode).
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

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_ctl.h"
#include "d_telemetry.h"
#include "dp.h"
#include "kio.h"
#include "mono.h"
#include "svc.h"
#include "upload.h"

RTE_LOG_REGISTER_DEFAULT(h3dpd_logtype, INFO);
#define D_LOG(level, fmt, ...)                                                                     \
    rte_log(RTE_LOG_##level, h3dpd_logtype, "h3dpd: " fmt "\n", ##__VA_ARGS__)

#define EXIT_RUNTIME 1
#define EXIT_CONFIG  2

/* How long the ARP table keeps an entry without news (the config only sets the wait
 * for a reply). */
#define H3DPD_NEIGH_REACHABLE_MS 30000
/* Mbufs rings and flows: sized for the daemon's first set of services. */
#define H3DPD_RING_SIZE 1024
#define H3DPD_MAX_FLOWS 4096

/* Kernel mode: connections per worker thread and the loop's longest sleep. */
#define H3DPD_MAX_CONNS 4096
#define H3DPD_CLOSED_KEEP 256
#define H3DPD_IDLE_MS 200
/* After the graceful-shutdown deadline: the closing period's grace before giving up. */
#define H3DPD_QUIT_GRACE_NS 2000000000ull

static struct dp *_Atomic g_dp;
static atomic_int g_quit; /* signals received: 1 = graceful exit, 2 = exit now */

static void on_signal(int sig)
{
    struct dp *dp = atomic_load(&g_dp);

    if (sig == SIGUSR1) {
        if (dp != NULL)
            dp_request_stats(dp);
        return;
    }
    if (atomic_fetch_add(&g_quit, 1) >= 1) {
        static const char msg[] = "h3dpd: second signal: exiting now\n";
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
            /* nothing more to do */
        }
        _exit(EXIT_RUNTIME);
    }
}

/* What the main loop drives, in both I/O modes. */
struct daemon {
    const struct cfg *cfg;
    struct dp *dp;
    struct svc *svc;
    struct ctl_server *srv;
    struct d_ctl *ctl;
    struct up *up;        /* the upload engine (its target may come later) */
    bool quitting, conns_shut;
    uint64_t quit_deadline, upload_deadline;
    bool done;
};

/* The upload engine from [upload]; without [upload] url it waits for `upload target`. */
static int upload_open(struct daemon *D)
{
    int err = 0;

    D->up = up_new(D->cfg, D->svc, &err);
    if (!D->up) {
        fprintf(stderr, "h3dpd: upload engine: %s\n",
                err == -EINVAL ? "[upload] url must name the collector by its IPv4 address"
                               : strerror(-err));
        return -1;
    }
    if (up_attach(D->up, D->srv) < 0) {
        fprintf(stderr, "h3dpd: upload engine: cannot register its command\n");
        return -1;
    }
    d_ctl_set_upload(D->ctl, D->up);
    d_telemetry_set_upload(D->up);
    return 0;
}

/* Starts the graceful exit once (signal or `quit`): the upload engine's sources stop and
 * what it has in flight finishes, then every connection is shut down gracefully; tells
 * when it is over. */
static void check_quit(struct daemon *D, uint64_t now)
{
    uint64_t t = (uint64_t)D->cfg->h3.shutdown_timeout_ms * 1000000ull;

    if (!D->quitting && (atomic_load(&g_quit) || d_ctl_quit_requested(D->ctl))) {
        D->quitting = true;
        D->upload_deadline = now + (t ? t : 30000000000ull);
        D->quit_deadline = D->upload_deadline + (t ? t : 30000000000ull) + H3DPD_QUIT_GRACE_NS;
        if (D->up)
            up_stop(D->up, D->upload_deadline);
    }
    if (D->quitting && !D->conns_shut &&
        (!D->up || up_done(D->up) || now >= D->upload_deadline)) {
        D->conns_shut = true;
        printf("h3dpd: shutting down %u connection(s) gracefully\n", svc_conns_active(D->svc));
        svc_shutdown_all(D->svc, t);
    }
    if (!D->conns_shut)
        return;
    if (D->quitting && (svc_conns_active(D->svc) == 0 || now >= D->quit_deadline)) {
        if (svc_conns_active(D->svc))
            printf("h3dpd: %u connection(s) still open at the deadline: dropped\n",
                   svc_conns_active(D->svc));
        D->done = true;
    }
}

/* DPDK mode: runs on the main lcore from dp_main_loop, between slow-path work. */
static unsigned main_hook(void *arg, uint64_t now_ns)
{
    struct daemon *D = arg;
    int n = ctl_server_poll(D->srv, 0);
    unsigned work = (n > 0 ? (unsigned)n : 0) + svc_poll(D->svc, now_ns);

    if (D->up)
        work += up_poll(D->up, mono_ns());
    d_telemetry_refresh(now_ns);
    check_quit(D, mono_ns());
    if (D->done)
        dp_request_stop(D->dp);
    return work;
}

static void on_svc_event(void *arg)
{
    struct daemon *D = arg;
    svc_poll(D->svc, 0);
}

/* Kernel mode: the main thread sleeps in the control server's epoll, which also watches
 * the service's eventfd. */
static void kernel_loop(struct daemon *D)
{
    while (!D->done) {
        unsigned work = svc_poll(D->svc, 0);
        if (D->up)
            work += up_poll(D->up, mono_ns());
        /* The upload engine has timers (linger, retries, rate): wake up often while it works. */
        int ut = D->up ? up_poll_timeout_ms(D->up) : -1;
        int timeout = !svc_arm(D->svc) || work ? 0 : ut >= 0 && ut < H3DPD_IDLE_MS ? ut : H3DPD_IDLE_MS;
        if (atomic_load(&g_quit) || D->quitting)
            timeout = timeout ? 20 : 0;
        ctl_server_poll(D->srv, timeout);
        check_quit(D, mono_ns());
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
        fprintf(stderr, "h3dpd: cannot create the directory of %s: %s\n", c->control.socket,
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
    *srv = ctl_server_new(&conf, &err);
    if (!*srv) {
        fprintf(stderr, "h3dpd: control socket %s: %s\n", c->control.socket,
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
    s->insecure = c->tls.insecure;
    s->keylog_file = c->tls.keylog;
    s->qlog_dir = c->h3.qlog_dir;
    s->max_conns = H3DPD_MAX_CONNS;
    s->closed_keep = H3DPD_CLOSED_KEEP;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: h3dpd -c FILE         run the daemon with configuration FILE\n"
                 "       h3dpd --check-config FILE\n"
                 "                             validate FILE, print the error if any, exit 0/2\n"
                 "       h3dpd -h | --help\n"
                 "\n"
                 "Signals: SIGINT/SIGTERM shut connections down gracefully and exit 0\n"
                 "(a second one exits at once, status 1); SIGUSR1 prints the counters.\n"
                 "EAL arguments come from the [eal] section only; see docs/CONFIG.md.\n");
}

static int load(const char *path, struct cfg *c)
{
    char err[512];

    if (cfg_load(path, c, err, sizeof(err)) < 0) {
        fprintf(stderr, "h3dpd: %s\n", err);
        return -1;
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
    d->rx_desc = c->port.rx_desc;
    d->tx_desc = c->port.tx_desc;
    d->mtu = c->port.mtu;

    d->n_workers = 0;
    for (int l = cfg_lcores_next(&dc->workers, -1); l >= 0; l = cfg_lcores_next(&dc->workers, l)) {
        if (d->n_workers == DP_MAX_WORKERS) {
            fprintf(stderr, "h3dpd: [dataplane] workers: at most %d lcores\n", DP_MAX_WORKERS);
            return -1;
        }
        d->worker_lcores[d->n_workers++] = (unsigned)l;
    }
    d->burst = dc->burst;
    d->idle = dc->idle == CFG_IDLE_BUSY ? DP_IDLE_BUSY : DP_IDLE_ADAPTIVE;
    d->idle_spin_polls = dc->idle_spin_polls;
    d->idle_sleep_us = dc->idle_sleep_us;
    d->tx_drain_us = dc->tx_drain_us;
    d->mbufs = dc->mempool_size;
    d->mbuf_cache = dc->mempool_cache;
    d->ring_size = H3DPD_RING_SIZE;
    d->max_flows = H3DPD_MAX_FLOWS;
    d->arp_retry_ms = dc->arp_timeout_ms;
    d->arp_retries = dc->arp_retries + 1; /* the first request plus the retries */
    d->arp_timeout_ms = H3DPD_NEIGH_REACHABLE_MS;
    d->arp_queue = dc->arp_queue;
    d->udp_echo_port = dc->udp_echo_port;
    return 0;
}

static void print_ready(const struct cfg *c, const struct dp_conf *d, const struct dp *dp)
{
    char ip[16];
    uint32_t a = rte_be_to_cpu_32(c->port.ip);

    if (!dp) {
        printf("h3dpd: running: io kernel, %u worker thread(s), control %s\n", d->n_workers,
               c->control.socket);
        fflush(stdout);
        return;
    }
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    printf("h3dpd: running: port %s " RTE_ETHER_ADDR_PRT_FMT " %s/%u, %u worker(s), "
           "udp echo %u, control %s\n",
           d->device, RTE_ETHER_ADDR_BYTES(dp_mac(dp)), ip, c->port.prefix_len, d->n_workers,
           d->udp_echo_port, c->control.socket);
    fflush(stdout);
}

/* Signals go to the main thread only: worker threads are started with them blocked. */
static void block_signals(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int run_kernel(const struct cfg *c, const struct dp_conf *d)
{
    struct daemon D = { .cfg = c };
    struct svc_conf sc;
    int err = 0, status = EXIT_SUCCESS;

    svc_conf_from_cfg(c, d, &sc);
    sc.io = SVC_IO_KERNEL;
    if (control_open(c, &D.srv) < 0)
        return EXIT_RUNTIME;
    block_signals(true);
    D.svc = svc_new(&sc, &err);
    block_signals(false);
    if (!D.svc) {
        fprintf(stderr, "h3dpd: connection service: %s\n", strerror(-err));
        ctl_server_del(D.srv);
        return EXIT_RUNTIME;
    }
    D.ctl = d_ctl_new(c, D.svc, NULL, D.srv, &err);
    if (!D.ctl || ctl_server_watch(D.srv, svc_eventfd(D.svc), on_svc_event, &D) < 0 ||
        upload_open(&D) < 0) {
        fprintf(stderr, "h3dpd: control handlers: %s\n", strerror(-err));
        status = EXIT_RUNTIME;
    } else {
        print_ready(c, d, NULL);
        kernel_loop(&D);
    }
    d_ctl_del(D.ctl);
    svc_del(D.svc);
    up_del(D.up);
    ctl_server_del(D.srv);
    if (status == EXIT_SUCCESS)
        printf("h3dpd: stopped\n");
    return status;
}

static int run(const struct cfg *c, const char *prog)
{
    static struct cfg_argv eal; /* EAL may keep pointers into it until cleanup */
    struct daemon D = { .cfg = c };
    struct svc_conf sc;
    struct dp_conf d;
    struct dp *dp;
    int argc, rc, err = 0, status = EXIT_SUCCESS;

    if (dp_conf_from_cfg(c, &d) < 0)
        return EXIT_CONFIG;
    if (c->dataplane.io == CFG_IO_KERNEL)
        return run_kernel(c, &d);
    argc = cfg_eal_argv(c, prog, &eal);
    if (argc < 0) {
        fprintf(stderr, "h3dpd: cannot build the EAL arguments: %s\n", strerror(-argc));
        return EXIT_CONFIG;
    }
    rc = rte_eal_init(argc, eal.argv);
    if (rc < 0) {
        fprintf(stderr, "h3dpd: EAL init failed: %s\n", rte_strerror(rte_errno));
        return EXIT_RUNTIME;
    }
    dp = dp_new(&d);
    if (dp == NULL) {
        fprintf(stderr, "h3dpd: dataplane setup failed: %s (see the log above)\n",
                rte_strerror(rte_errno));
        rte_eal_cleanup();
        return EXIT_RUNTIME;
    }
    D.dp = dp;
    svc_conf_from_cfg(c, &d, &sc);
    sc.io = SVC_IO_DPDK;
    sc.dp = dp;
    if (control_open(c, &D.srv) < 0) {
        dp_del(dp);
        rte_eal_cleanup();
        return EXIT_RUNTIME;
    }
    D.svc = svc_new(&sc, &err);
    if (D.svc)
        D.ctl = d_ctl_new(c, D.svc, dp, D.srv, &err);
    if (!D.svc || !D.ctl) {
        fprintf(stderr, "h3dpd: connection service: %s\n", strerror(-err));
        svc_del(D.svc);
        ctl_server_del(D.srv);
        dp_del(dp);
        rte_eal_cleanup();
        return EXIT_RUNTIME;
    }
    if (d_telemetry_init(D.svc, d.device) < 0)
        D_LOG(WARNING, "DPDK telemetry commands not registered");
    if (upload_open(&D) < 0) {
        d_ctl_del(D.ctl);
        svc_del(D.svc);
        ctl_server_del(D.srv);
        dp_del(dp);
        rte_eal_cleanup();
        return EXIT_RUNTIME;
    }
    atomic_store(&g_dp, dp);
    rc = dp_start(dp);
    if (rc < 0) {
        fprintf(stderr, "h3dpd: dataplane start failed: %s\n", rte_strerror(-rc));
        status = EXIT_RUNTIME;
    } else {
        print_ready(c, &d, dp);
        D_LOG(INFO, "running; SIGINT/SIGTERM or `h3ctl quit` to stop, SIGUSR1 for counters");
        dp_main_loop(dp, main_hook, &D);
        D_LOG(INFO, "stopping");
    }
    dp_stop(dp);
    d_ctl_del(D.ctl);
    svc_del(D.svc);
    up_del(D.up);
    ctl_server_del(D.srv);
    printf("h3dpd: final counters\n");
    dp_stats_print(dp, stdout);
    fflush(stdout);
    atomic_store(&g_dp, NULL);
    dp_del(dp);
    rte_eal_cleanup();
    if (status == EXIT_SUCCESS)
        printf("h3dpd: stopped\n");
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *check = NULL;
    struct sigaction sa;
    static struct cfg c; /* large: keep it off the stack */
    int opt;

    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
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
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc || (path == NULL) == (check == NULL)) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (check != NULL) {
        if (load(check, &c) < 0)
            return EXIT_CONFIG;
        printf("%s: configuration OK\n", check);
        return EXIT_SUCCESS;
    }
    if (load(path, &c) < 0)
        return EXIT_CONFIG;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    return run(&c, argv[0]);
}
