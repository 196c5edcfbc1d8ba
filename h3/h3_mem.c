/* h3_mem.c: one caller-provided allocator feeding ngtcp2, nghttp3 and the driver. */
#include <stdlib.h>

#include "h3_int.h"

static void *libc_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}

static void libc_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static void *libc_calloc(size_t nmemb, size_t size, void *ud)
{
    (void)ud;
    return calloc(nmemb, size);
}

static void *libc_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size);
}

static const struct h3_mem libc_mem = {
    .ud = NULL,
    .malloc = libc_malloc,
    .free = libc_free,
    .calloc = libc_calloc,
    .realloc = libc_realloc,
};

const struct h3_mem *h3_mem_default(void)
{
    return &libc_mem;
}

/* ngtcp2_mem and nghttp3_mem share the (user_data, malloc, free, calloc, realloc)
 * shape, but with their own function types: bridge through the h3_mem table. */
static void *tr_malloc(size_t size, void *ud)
{
    const struct h3_mem *m = ud;
    return m->malloc(size, m->ud);
}

static void tr_free(void *ptr, void *ud)
{
    const struct h3_mem *m = ud;
    m->free(ptr, m->ud);
}

static void *tr_calloc(size_t nmemb, size_t size, void *ud)
{
    const struct h3_mem *m = ud;
    return m->calloc(nmemb, size, m->ud);
}

static void *tr_realloc(void *ptr, size_t size, void *ud)
{
    const struct h3_mem *m = ud;
    return m->realloc(ptr, size, m->ud);
}

void h3_mem_bridge(const struct h3_mem *m, ngtcp2_mem *q, nghttp3_mem *h)
{
    *q = (ngtcp2_mem){ .user_data = (void *)m, .malloc = tr_malloc, .free = tr_free,
                       .calloc = tr_calloc, .realloc = tr_realloc };
    *h = (nghttp3_mem){ .user_data = (void *)m, .malloc = tr_malloc, .free = tr_free,
                        .calloc = tr_calloc, .realloc = tr_realloc };
}

char *h3_mem_strdup(const struct h3_mem *m, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = m->malloc(n, m->ud);
    if (d)
        memcpy(d, s, n);
    return d;
}
