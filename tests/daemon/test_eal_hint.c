/* Unit tests of daemon/d_eal_hint: the hint for each way EAL or the port fails to come up,
 * on a fake machine (a temporary directory laid out like sysfs, procfs and DPDK's runtime
 * directory). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "d_eal_hint.h"

#define PCI "0000:03:00.0"

struct fake {
    char root[64];
    char hint[512];
};

static void put(struct fake *f, const char *rel, const char *text)
{
    char p[512], cmd[600];
    FILE *o;

    snprintf(p, sizeof(p), "%s%s", f->root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    o = fopen(p, "w");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
}

static void mkdirs(struct fake *f, const char *rel)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s%s'", f->root, rel);
    assert_int_equal(system(cmd), 0);
}

static void driver(struct fake *f, const char *drv)
{
    char link[512], target[128];

    mkdirs(f, "/sys/bus/pci/devices/" PCI);
    snprintf(link, sizeof(link), "%s/sys/bus/pci/devices/" PCI "/driver", f->root);
    snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
}

/* 2 MiB pages: |nr| reserved, |free| free; |mounted|: a hugetlbfs in /proc/mounts. */
static void hugepages(struct fake *f, const char *nr, const char *free_, bool mounted)
{
    put(f, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", nr);
    put(f, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", free_);
    put(f, "/proc/mounts",
        mounted ? "proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n"
                : "proc /proc proc rw 0 0\n");
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/h3dp-eal-hint.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    hugepages(f, "512\n", "512\n", true);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const char *hint(struct fake *f, const struct d_eal_want *w, enum d_eal_stage st)
{
    const char *h = d_eal_hint(f->root, w, st, f->hint, sizeof(f->hint));
    assert_ptr_equal(h, f->hint);
    print_message("  hint: %s\n", h);
    return h;
}

#define assert_has(h, s)                                                                           \
    do {                                                                                           \
        if (!strstr((h), (s)))                                                                     \
            fail_msg("'%s' not in the hint '%s'", (s), (h));                                       \
    } while (0)

static void test_hugepages(void **state)
{
    struct fake *f = *state;
    struct d_eal_want w = {.prefix = "p", .root = true, .err = EACCES};

    hugepages(f, "0\n", "0\n", false);
    assert_has(hint(f, &w, D_EAL_INIT),
               "no hugepages reserved: see docs/DEPLOY.md (hugepages), or add --no-huge");
    hugepages(f, "512\n", "512\n", false);
    assert_has(hint(f, &w, D_EAL_INIT), "512 hugepages reserved but no hugetlbfs mounted");
    hugepages(f, "512\n", "0\n", true);
    assert_has(hint(f, &w, D_EAL_INIT), "all 512 hugepages are in use");
    /* 1 GiB pages count too. */
    hugepages(f, "0\n", "0\n", true);
    put(f, "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "4\n");
    put(f, "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "4\n");
    assert_has(hint(f, &w, D_EAL_INIT), "permission denied: check that the hugetlbfs mount");
    /* With --no-huge none of it matters. */
    hugepages(f, "0\n", "0\n", false);
    w.no_huge = true;
    w.err = ENOMEM;
    assert_has(hint(f, &w, D_EAL_INIT), "Cannot allocate memory: see the log lines above");
}

static void test_permissions(void **state)
{
    struct fake *f = *state;
    struct d_eal_want w = {.prefix = "p", .root = false, .err = EACCES};

    assert_has(hint(f, &w, D_EAL_INIT), "permission denied: EAL needs root");
    w.root = true;
    assert_has(hint(f, &w, D_EAL_INIT), "/run/dpdk are writable");
    w.err = 0;
    assert_has(hint(f, &w, D_EAL_INIT), "see the log lines above and docs/DEPLOY.md");
    assert_true(strncmp(f->hint, "see", 3) == 0); /* no "Success: ..." */
}

/* A child holds EAL's write lock on the prefix's config file, as a running primary does. */
static void test_prefix_in_use(void **state)
{
    struct fake *f = *state;
    struct d_eal_want w = {.prefix = "busy", .no_huge = true, .root = true};
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 8, .l_len = 64};
    char file[256], want[128], c;
    int ready[2], fd;
    pid_t pid;

    put(f, "/var/run/dpdk/busy/config", "0123456789012345678901234567890123456789");
    assert_has(hint(f, &w, D_EAL_INIT), "see the log lines above"); /* nobody holds it */
    snprintf(file, sizeof(file), "%s/var/run/dpdk/busy/config", f->root);
    assert_int_equal(pipe(ready), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fd = open(file, O_RDWR);
        if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    snprintf(want, sizeof(want), "file_prefix 'busy' is in use by process %d", (int)pid);
    assert_has(hint(f, &w, D_EAL_INIT), want);
    /* Another prefix is free. */
    w.prefix = "other";
    assert_has(hint(f, &w, D_EAL_INIT), "see the log lines above");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
}

static void test_pci(void **state)
{
    struct fake *f = *state;
    struct d_eal_want w = {.prefix = "p", .no_huge = false, .pci = PCI, .root = true};

    assert_has(hint(f, &w, D_EAL_PORT), "no PCI device " PCI " on this machine");
    mkdirs(f, "/sys/bus/pci/devices/" PCI);
    assert_has(hint(f, &w, D_EAL_PORT), PCI " has no driver: bind it to vfio-pci");
    driver(f, "ixgbe");
    assert_has(hint(f, &w, D_EAL_PORT),
               PCI " is bound to the kernel driver ixgbe: bind it to vfio-pci (dpdk-devbind.py "
                   "--bind=vfio-pci " PCI);
    /* The same at EAL init (a -a device EAL could not probe). */
    assert_has(hint(f, &w, D_EAL_INIT), "kernel driver ixgbe");
    driver(f, "vfio-pci");
    assert_has(hint(f, &w, D_EAL_PORT), "vfio-pci but there is no IOMMU");
    put(f, "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
    assert_has(hint(f, &w, D_EAL_PORT), "/dev/vfio/vfio is missing");
    put(f, "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
    mkdirs(f, "/sys/kernel/iommu_groups/17");
    put(f, "/dev/vfio/vfio", "");
    assert_has(hint(f, &w, D_EAL_PORT), "see the log lines above"); /* nothing wrong found */
    driver(f, "mlx5_core"); /* bifurcated: DPDK runs beside the kernel driver */
    assert_has(hint(f, &w, D_EAL_PORT), "see the log lines above");
    /* A vdev: no PCI check. */
    w.pci = NULL;
    driver(f, "ixgbe");
    assert_has(hint(f, &w, D_EAL_PORT), "see the log lines above");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hugepages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
