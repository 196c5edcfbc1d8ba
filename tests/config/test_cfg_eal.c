/* SPDX-License-Identifier: MIT */
/*
 * Integration test (root): the shipped h3dpd.conf really starts EAL.
 *
 * In a private network namespace (unshare(CLONE_NEWNET): it disappears with
 * this process, taking the TAP device along), the default file with a
 * unique TAP name and file prefix is loaded, its argv from cfg_eal_argv()
 * goes to rte_eal_init(), and what EAL made of it must match struct cfg:
 * the main lcore, the lcore set, the worker lcores and the port found by
 * [port] device. Exit 0 pass, 1 fail, 77 skip (not root, no namespaces).
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "cfg.h"

#define SKIP 77

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* Replaces the one occurrence of |from| in |text| (of |cap| bytes) by |to|. */
static int replace(char *text, size_t cap, const char *from, const char *to)
{
    char *p = strstr(text, from);
    size_t tail;

    if (p == NULL || strstr(p + 1, from) != NULL)
        return -1;
    tail = strlen(p + strlen(from)) + 1;
    if (strlen(text) - strlen(from) + strlen(to) + 1 > cap)
        return -1;
    memmove(p + strlen(to), p + strlen(from), tail);
    memcpy(p, to, strlen(to));
    return 0;
}

/* EAL leaves its runtime files of a --file-prefix behind: remove them. */
static void remove_runtime_dir(const char *prefix)
{
    char dir[256];
    char path[512];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", prefix);
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    char tmpdir[] = "/tmp/h3dp-cfg-eal-XXXXXX";
    char path[64];
    char text[8192];
    char iface[32], prefix[64];
    char err[512];
    struct cfg c;
    struct cfg_argv av;
    FILE *f;
    size_t n;
    uint16_t port;
    int argc;

    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root (network namespace, TAP device)\n");
        return SKIP;
    }
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        fprintf(stderr, "SKIP: the default file uses lcores 0-1, this machine has one CPU\n");
        return SKIP;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return SKIP;
    }

    /* The default file, with names no parallel run uses. */
    f = fopen(H3DP_DEFAULT_CONFIG, "r");
    if (f == NULL) {
        fprintf(stderr, "FAIL: %s: %s\n", H3DP_DEFAULT_CONFIG, strerror(errno));
        return 1;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    snprintf(iface, sizeof(iface), "iface=h3dpc%d", (int)(getpid() % 100000));
    snprintf(prefix, sizeof(prefix), "h3dp-cfg-eal-%d", (int)getpid());
    {
        char fp[96];

        snprintf(fp, sizeof(fp), "file_prefix = %s", prefix);
        if (replace(text, sizeof(text), "iface=h3dp0", iface) < 0 ||
            replace(text, sizeof(text), "file_prefix = h3dp", fp) < 0) {
            fprintf(stderr, "FAIL: the default file no longer has iface=h3dp0 and "
                            "file_prefix = h3dp\n");
            return 1;
        }
    }
    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "FAIL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/h3dpd.conf", tmpdir);
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "FAIL: writing %s\n", path);
        rmdir(tmpdir);
        return 1;
    }
    if (cfg_load(path, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        unlink(path);
        rmdir(tmpdir);
        return 1;
    }
    unlink(path);
    rmdir(tmpdir);

    argc = cfg_eal_argv(&c, "test_cfg_eal", &av);
    CHECK(argc > 0, "cfg_eal_argv: %d", argc);
    if (rte_eal_init(argc, av.argv) < 0) {
        fprintf(stderr, "FAIL: rte_eal_init refused the default file's argv: %s\n",
                rte_strerror(rte_errno));
        remove_runtime_dir(prefix);
        return 1;
    }
    CHECK(rte_get_main_lcore() == c.eal.main_lcore, "main lcore %u, cfg says %u",
          rte_get_main_lcore(), c.eal.main_lcore);
    CHECK(rte_lcore_count() == cfg_lcores_count(&c.eal.lcores), "%u lcores, cfg lists %u",
          rte_lcore_count(), cfg_lcores_count(&c.eal.lcores));
    for (int l = cfg_lcores_next(&c.dataplane.workers, -1); l >= 0;
         l = cfg_lcores_next(&c.dataplane.workers, l)) {
        CHECK(rte_lcore_is_enabled((unsigned int)l), "worker lcore %d is not enabled", l);
        CHECK(rte_get_main_lcore() != (unsigned int)l, "worker lcore %d is the main lcore", l);
    }
    CHECK(c.port.device_in_eal_args, "net_tap0 should come from [eal] args");
    CHECK(rte_eth_dev_get_port_by_name(c.port.device_name, &port) == 0,
          "no port named %s after EAL init", c.port.device_name);
    CHECK(rte_eth_dev_count_avail() == 1, "%u ports, expected 1", rte_eth_dev_count_avail());

    if (rte_eth_dev_get_port_by_name(c.port.device_name, &port) == 0)
        CHECK(rte_eth_dev_close(port) == 0, "closing port %u", port);
    rte_eal_cleanup();
    remove_runtime_dir(prefix);
    if (failures == 0)
        printf("ok: EAL started from the default file (%d args), port %s found\n", argc,
               c.port.device_name);
    return failures == 0 ? 0 : 1;
}
