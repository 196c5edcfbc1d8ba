/* h3dpd: the h3dp daemon. Reads the configuration, initialises EAL from it (nothing
 * hidden added), runs the dataplane until SIGINT/SIGTERM, then tears everything down in
 * order and prints the counters. SIGUSR1 prints the counters while running.
 *
 * Exit status: 0 after an orderly stop (or a valid --check-config), 1 when the runtime
 * fails (EAL, port, memory), 2 for usage or configuration errors.
 */
#define RTE_LOG_DEFAULT_LOGTYPE user.h3dp.daemon

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "cfg.h"
#include "dp.h"

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

static struct dp *_Atomic g_dp;
static atomic_int g_early_stop; /* a signal came before the dataplane existed */

static void on_signal(int sig)
{
    struct dp *dp = atomic_load(&g_dp);

    if (sig == SIGUSR1) {
        if (dp != NULL)
            dp_request_stats(dp);
        return;
    }
    atomic_store(&g_early_stop, 1);
    if (dp != NULL)
        dp_request_stop(dp);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: h3dpd -c FILE         run the daemon with configuration FILE\n"
                 "       h3dpd --check-config FILE\n"
                 "                             validate FILE, print the error if any, exit 0/2\n"
                 "       h3dpd -h | --help\n"
                 "\n"
                 "Signals: SIGINT/SIGTERM stop (exit 0), SIGUSR1 prints the counters.\n"
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

    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    printf("h3dpd: running: port %s " RTE_ETHER_ADDR_PRT_FMT " %s/%u, %u worker(s), "
           "udp echo %u\n",
           d->device, RTE_ETHER_ADDR_BYTES(dp_mac(dp)), ip, c->port.prefix_len, d->n_workers,
           d->udp_echo_port);
    fflush(stdout);
}

static int run(const struct cfg *c, const char *prog)
{
    static struct cfg_argv eal; /* EAL may keep pointers into it until cleanup */
    struct dp_conf d;
    struct dp *dp;
    int argc, rc, status = EXIT_SUCCESS;

    if (c->dataplane.io != CFG_IO_DPDK) {
        fprintf(stderr, "h3dpd: [dataplane] io: the daemon runs the DPDK dataplane; "
                        "io = kernel is for the h3 tools\n");
        return EXIT_CONFIG;
    }
    if (dp_conf_from_cfg(c, &d) < 0)
        return EXIT_CONFIG;
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
    atomic_store(&g_dp, dp);
    if (atomic_load(&g_early_stop))
        dp_request_stop(dp);
    rc = dp_start(dp);
    if (rc < 0) {
        fprintf(stderr, "h3dpd: dataplane start failed: %s\n", rte_strerror(-rc));
        status = EXIT_RUNTIME;
    } else {
        print_ready(c, &d, dp);
        D_LOG(INFO, "running; SIGINT/SIGTERM to stop, SIGUSR1 for counters");
        dp_main_loop(dp, NULL, NULL);
        D_LOG(INFO, "stopping");
    }
    dp_stop(dp);
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
