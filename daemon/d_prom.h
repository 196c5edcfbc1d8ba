/* d_prom: the Prometheus text exposition format, version 0.0.4 — what GET /metrics answers
 * (docs/CONTROL.md "Metrics"). A family is its HELP and TYPE lines, then its samples:
 *
 *     # HELP h3dp_upload_records_total Records by what became of them.
 *     # TYPE h3dp_upload_records_total counter
 *     h3dp_upload_records_total{state="acked"} 4096
 *
 * Label values are escaped (backslash, double quote, newline), HELP text too (backslash,
 * newline). The caller writes each family once, its samples right after it. */
#ifndef H3DP_D_PROM_H
#define H3DP_D_PROM_H

#include <stdint.h>
#include <stdio.h>

/* Where the text goes. */
struct d_prom {
    FILE *f;
};

/* Starts family |name| of |type| ("counter" or "gauge") described by |help|. */
void d_prom_family(const struct d_prom *p, const char *name, const char *type, const char *help);

/* One sample of |name|; the arguments after |v| are label name and value pairs, ended by
 * NULL ("lcore", "1", "state", "busy", NULL). */
void d_prom_u64(const struct d_prom *p, const char *name, uint64_t v, ...)
    __attribute__((sentinel));
void d_prom_f64(const struct d_prom *p, const char *name, double v, ...)
    __attribute__((sentinel));

#endif
