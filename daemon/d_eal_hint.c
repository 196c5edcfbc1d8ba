/* d_eal_hint: why EAL or the port did not come up, in terms of this machine (see
 * d_eal_hint.h; the runbook is docs/DEPLOY.md). */
#include "d_eal_hint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the machine says. */
struct sys {
    unsigned long huge_total, huge_free; /* over every page size */
    bool hugetlbfs;                      /* a hugetlbfs is mounted */
    long prefix_holder;                  /* pid holding the prefix's lock, 0 none */
    bool pci_present;                    /* /sys/bus/pci/devices/ADDR exists */
    char pci_driver[64];                 /* its driver, "" none */
    bool iommu;                          /* IOMMU groups exist, or VFIO's no-IOMMU mode */
    bool vfio_dev;                       /* /dev/vfio/vfio exists */
};

static void path(char *out, size_t len, const char *root, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void path(char *out, size_t len, const char *root, const char *fmt, ...)
{
    int n = snprintf(out, len, "%s", root);
    va_list ap;

    if (n < 0 || (size_t)n >= len)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(out + n, len - (size_t)n, fmt, ap);
    va_end(ap);
}

static unsigned long read_ulong(const char *file)
{
    unsigned long v = 0;
    FILE *f = fopen(file, "r");

    if (f) {
        if (fscanf(f, "%lu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static bool exists(const char *file)
{
    struct stat st;
    return stat(file, &st) == 0;
}

static void read_hugepages(const char *root, struct sys *s)
{
    char dir[PATH_MAX], file[PATH_MAX + 300];
    struct dirent *e;
    DIR *d;

    path(dir, sizeof(dir), root, "/sys/kernel/mm/hugepages");
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "hugepages-", 10) != 0)
            continue;
        snprintf(file, sizeof(file), "%s/%s/nr_hugepages", dir, e->d_name);
        s->huge_total += read_ulong(file);
        snprintf(file, sizeof(file), "%s/%s/free_hugepages", dir, e->d_name);
        s->huge_free += read_ulong(file);
    }
    closedir(d);
}

static void read_mounts(const char *root, struct sys *s)
{
    char file[PATH_MAX], line[1024], dev[256], dir[512], type[64];
    FILE *f;

    path(file, sizeof(file), root, "/proc/mounts");
    f = fopen(file, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%255s %511s %63s", dev, dir, type) == 3 &&
            strcmp(type, "hugetlbfs") == 0)
            s->hugetlbfs = true;
    fclose(f);
}

/* EAL's primary process keeps a write lock on DIR/PREFIX/config for its whole life
 * (DIR: /var/run/dpdk as root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk). */
static void read_prefix_lock(const char *root, const struct d_eal_want *w, struct sys *s)
{
    const char *prefix = w->prefix && w->prefix[0] ? w->prefix : "rte";
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char file[PATH_MAX];
    int fd;

    if (w->root)
        path(file, sizeof(file), root, "/var/run/dpdk/%s/config", prefix);
    else
        path(file, sizeof(file), root, "%s/dpdk/%s/config", xdg && xdg[0] ? xdg : "/tmp",
             prefix);
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        s->prefix_holder = fl.l_pid;
    close(fd);
}

static void read_pci(const char *root, const char *pci, struct sys *s)
{
    char file[PATH_MAX], link[PATH_MAX];
    const char *base;
    ssize_t n;

    path(file, sizeof(file), root, "/sys/bus/pci/devices/%s", pci);
    s->pci_present = exists(file);
    path(file, sizeof(file), root, "/sys/bus/pci/devices/%s/driver", pci);
    n = readlink(file, link, sizeof(link) - 1);
    if (n > 0) {
        link[n] = '\0';
        base = strrchr(link, '/');
        base = base ? base + 1 : link;
        if (strlen(base) < sizeof(s->pci_driver))
            memcpy(s->pci_driver, base, strlen(base) + 1);
    }
}

static void read_iommu(const char *root, struct sys *s)
{
    char file[PATH_MAX];
    struct dirent *e;
    DIR *d;
    FILE *f;

    path(file, sizeof(file), root, "/sys/kernel/iommu_groups");
    d = opendir(file);
    if (d) {
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                s->iommu = true;
        closedir(d);
    }
    path(file, sizeof(file), root, "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
    f = fopen(file, "r");
    if (f) {
        if (fgetc(f) == 'Y')
            s->iommu = true;
        fclose(f);
    }
    path(file, sizeof(file), root, "/dev/vfio/vfio");
    s->vfio_dev = exists(file);
}

/* Drivers through which DPDK reaches a PCI NIC: VFIO, UIO, and the bifurcated Mellanox
 * drivers (their DPDK PMDs run beside the kernel driver). */
static bool dpdk_driver(const char *drv)
{
    static const char *const ok[] = {"vfio-pci", "uio_pci_generic", "igb_uio", "mlx5_core",
                                     "mlx4_core", NULL};
    for (unsigned i = 0; ok[i]; i++)
        if (strcmp(drv, ok[i]) == 0)
            return true;
    return false;
}

#define DEPLOY "docs/DEPLOY.md"

/* The PCI device's problem, if any. */
static bool pci_hint(const struct d_eal_want *w, const struct sys *s, char *out, size_t len)
{
    if (!w->pci)
        return false;
    if (!s->pci_present)
        snprintf(out, len, "no PCI device %s on this machine (lspci -D lists them; [port] device)",
                 w->pci);
    else if (!s->pci_driver[0])
        snprintf(out, len,
                 "%s has no driver: bind it to vfio-pci (modprobe vfio-pci; dpdk-devbind.py "
                 "--bind=vfio-pci %s; " DEPLOY ")",
                 w->pci, w->pci);
    else if (!dpdk_driver(s->pci_driver))
        snprintf(out, len,
                 "%s is bound to the kernel driver %s: bind it to vfio-pci (dpdk-devbind.py "
                 "--bind=vfio-pci %s; the kernel interface goes away; " DEPLOY ")",
                 w->pci, s->pci_driver, w->pci);
    else if (strcmp(s->pci_driver, "vfio-pci") == 0 && !s->iommu)
        snprintf(out, len,
                 "%s is bound to vfio-pci but there is no IOMMU: enable VT-d/AMD-Vi in the "
                 "firmware and boot with intel_iommu=on iommu=pt (or amd_iommu=on); " DEPLOY,
                 w->pci);
    else if (strcmp(s->pci_driver, "vfio-pci") == 0 && !s->vfio_dev)
        snprintf(out, len, "%s is bound to vfio-pci but /dev/vfio/vfio is missing (modprobe "
                 "vfio-pci; " DEPLOY ")", w->pci);
    else
        return false;
    return true;
}

const char *d_eal_hint(const char *root, const struct d_eal_want *w, enum d_eal_stage stage,
                       char *out, size_t len)
{
    struct sys s;

    memset(&s, 0, sizeof(s));
    if (!root)
        root = "";
    read_hugepages(root, &s);
    read_mounts(root, &s);
    read_prefix_lock(root, w, &s);
    if (w->pci) {
        read_pci(root, w->pci, &s);
        read_iommu(root, &s);
    }

    if (stage == D_EAL_INIT && s.prefix_holder > 0)
        snprintf(out, len,
                 "file_prefix '%s' is in use by process %ld (another h3dpd or DPDK program): "
                 "stop it, or give this one another [eal] file_prefix",
                 w->prefix && w->prefix[0] ? w->prefix : "rte", s.prefix_holder);
    else if (stage == D_EAL_INIT && !w->no_huge && s.huge_total == 0)
        snprintf(out, len,
                 "no hugepages reserved: see " DEPLOY " (hugepages), or add --no-huge to [eal] "
                 "args for tests");
    else if (stage == D_EAL_INIT && !w->no_huge && !s.hugetlbfs)
        snprintf(out, len,
                 "%lu hugepages reserved but no hugetlbfs mounted: mount -t hugetlbfs nodev "
                 "/dev/hugepages (" DEPLOY ")",
                 s.huge_total);
    else if (stage == D_EAL_INIT && !w->no_huge && s.huge_free == 0)
        snprintf(out, len,
                 "all %lu hugepages are in use (another DPDK process, or files left in the "
                 "hugetlbfs mount by one that crashed: " DEPLOY ")",
                 s.huge_total);
    else if (pci_hint(w, &s, out, len))
        ;
    else if (stage == D_EAL_INIT && !w->root && (w->err == EACCES || w->err == EPERM || !w->no_huge))
        snprintf(out, len,
                 "permission denied: EAL needs root for hugepages, /dev/vfio and the device's "
                 "sysfs files (h3dpd.service runs as root; " DEPLOY ")");
    else if (stage == D_EAL_INIT && (w->err == EACCES || w->err == EPERM))
        snprintf(out, len,
                 "permission denied: check that the hugetlbfs mount, /dev/vfio/* and "
                 "/run/dpdk are writable (a systemd drop-in with PrivateDevices= or "
                 "ProtectSystem=strict hides them; " DEPLOY ")");
    else
        snprintf(out, len, "%s%ssee the log lines above and " DEPLOY,
                 w->err ? strerror(w->err) : "", w->err ? ": " : "");
    return out;
}
