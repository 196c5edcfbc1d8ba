/* up_err.c: failures an operator can see — the engine's last error (upload status:
 * last_error, last_error_at) and WARNING log lines, at most one per cause per
 * UP_ERR_INTERVAL_NS, the next one saying how many were held back. A collector that is
 * down or refuses every request must not flood the log, nor go unnoticed. */
#include <stdarg.h>
#include <stdio.h>

#include "up_int.h"

#define UP_ERR_INTERVAL_NS (10ull * 1000000000ull)

static const char *const cause_name[UP_ERR_CAUSES] = {
    [UP_ERR_CONNECT] = "connect", [UP_ERR_AUTH] = "auth", [UP_ERR_4XX] = "http-4xx",
    [UP_ERR_5XX] = "http-5xx",    [UP_ERR_DNS] = "dns",   [UP_ERR_IO] = "io",
};

void up_error(struct up *u, enum up_err_cause c, const char *fmt, ...)
{
    struct up_err_state *e = &u->err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->last, sizeof(e->last), fmt, ap);
    va_end(ap);
    e->last_at = time(NULL);
    e->count[c]++;
    if (e->logged_at[c] && u->now - e->logged_at[c] < UP_ERR_INTERVAL_NS) {
        e->held[c]++;
        return;
    }
    if (e->held[c])
        rte_log(c == UP_ERR_AUTH ? RTE_LOG_ERR : RTE_LOG_WARNING, up_logtype,
                "upload: %s (and %llu more %s failure(s) in the last %llu s)\n", e->last,
                (unsigned long long)e->held[c], cause_name[c],
                (unsigned long long)((u->now - e->logged_at[c]) / 1000000000ull));
    else
        rte_log(c == UP_ERR_AUTH ? RTE_LOG_ERR : RTE_LOG_WARNING, up_logtype, "upload: %s\n",
                e->last);
    e->logged_at[c] = u->now ? u->now : 1;
    e->held[c] = 0;
}

json_t *up_err_json(const struct up *u)
{
    const struct up_err_state *e = &u->err;
    json_t *counts = json_object();
    struct tm tm;
    char at[32] = "";

    for (unsigned c = 0; counts && c < UP_ERR_CAUSES; c++)
        json_object_set_new(counts, cause_name[c], json_integer((json_int_t)e->count[c]));
    if (e->last_at && gmtime_r(&e->last_at, &tm))
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s?, s:s?, s:o}", "last_error", e->last[0] ? e->last : NULL,
                     "last_error_at", at[0] ? at : NULL, "errors", counts);
}
