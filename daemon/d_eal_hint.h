/* d_eal_hint: when EAL or the DPDK port does not come up, one line that says what to do
 * about it in terms of this machine. EAL's own errors are terse or misleading ("Permission
 * denied" when no hugepages are reserved, "Success" when another process holds the file
 * prefix), so h3dpd looks at what EAL needed: hugepages (reserved, mounted, free), the
 * file prefix's lock, privileges, the PCI device's driver, the IOMMU and VFIO.
 *
 * Reads sysfs, procfs and DPDK's runtime directory under |root| ("" on a real machine; a
 * directory laid out like one in the tests). Main thread, start-up only. */
#ifndef H3DP_D_EAL_HINT_H
#define H3DP_D_EAL_HINT_H

#include <stdbool.h>
#include <stddef.h>

/* What the daemon asked of EAL. */
struct d_eal_want {
    bool no_huge;       /* --no-huge among the EAL arguments */
    const char *prefix; /* [eal] file_prefix; "" or NULL = EAL's "rte" */
    const char *pci;    /* the port's PCI address ("0000:03:00.0"), NULL for a vdev */
    bool root;          /* running with euid 0 */
    int err;            /* rte_errno after the failure (0 if EAL left none) */
};

/* Which step failed. */
enum d_eal_stage {
    D_EAL_INIT, /* rte_eal_init */
    D_EAL_PORT, /* the port: not found, not probed, not configured */
};

/* Writes the hint for a failure at |stage| into |out| (always NUL-terminated, never empty:
 * when nothing specific is found it points at EAL's log lines and docs/DEPLOY.md).
 * Returns |out|. */
const char *d_eal_hint(const char *root, const struct d_eal_want *w, enum d_eal_stage stage,
                       char *out, size_t len);

#endif
