/* d_prom.c: the Prometheus text format writer (see d_prom.h). */
#include "d_prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>

static void put_escaped(FILE *f, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (quote && *s == '"')
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}

void d_prom_family(const struct d_prom *p, const char *name, const char *type, const char *help)
{
    fprintf(p->f, "# HELP %s ", name);
    put_escaped(p->f, help, 0);
    fprintf(p->f, "\n# TYPE %s %s\n", name, type);
}

static void labels(const struct d_prom *p, va_list ap)
{
    const char *k = va_arg(ap, const char *);

    if (!k)
        return;
    fputc('{', p->f);
    for (int first = 1; k; k = va_arg(ap, const char *), first = 0) {
        const char *v = va_arg(ap, const char *);
        fprintf(p->f, "%s%s=\"", first ? "" : ",", k);
        put_escaped(p->f, v ? v : "", 1);
        fputc('"', p->f);
    }
    fputc('}', p->f);
}

void d_prom_u64(const struct d_prom *p, const char *name, uint64_t v, ...)
{
    va_list ap;

    fputs(name, p->f);
    va_start(ap, v);
    labels(p, ap);
    va_end(ap);
    fprintf(p->f, " %" PRIu64 "\n", v);
}

void d_prom_f64(const struct d_prom *p, const char *name, double v, ...)
{
    va_list ap;

    fputs(name, p->f);
    va_start(ap, v);
    labels(p, ap);
    va_end(ap);
    if (isnan(v))
        fputs(" NaN\n", p->f);
    else if (isinf(v))
        fputs(v > 0 ? " +Inf\n" : " -Inf\n", p->f);
    else
        fprintf(p->f, " %.9g\n", v);
}
