/* svc_arena.c: size-class free lists over big chunks (see svc_arena.h). */
#include <stdlib.h>
#include <string.h>

#include "svc_arena.h"

#define ARENA_HDR 16u                /* keeps blocks 16-byte aligned */
#define ARENA_MAX_SHIFT 16           /* largest class: 64 KiB */
#define ARENA_CHUNK (256u * 1024u)
/* Classes: multiples of 16 up to 128 (8 classes), then eight steps per octave, 2^k + j *
 * 2^(k-3) for k = 7..15, j = 1..8: 144, 160, ..., 256, 288, ..., 61440, 65536. A block
 * wastes at most 1/8 of its size (the 1.5x steps used before wasted up to 1/3: about
 * 12 KB of each idle connection's ngtcp2/nghttp3 state). */
#define ARENA_SMALL 128u
#define ARENA_STEPS 8u
#define ARENA_NCLASS (ARENA_SMALL / 16 + ARENA_STEPS * (ARENA_MAX_SHIFT - 7))
#define ARENA_LARGE 0xffffu

struct blk_hdr {
    uint32_t cls;  /* class index, or ARENA_LARGE */
    uint32_t pad;
    uint64_t size; /* usable size */
};

struct free_blk {
    struct free_blk *next;
};

struct chunk {
    struct chunk *next;
    uint64_t pad; /* keeps the data 16-byte aligned */
};

struct svc_arena {
    struct free_blk *free[ARENA_NCLASS];
    struct chunk *chunks;
    uint8_t *bump, *bump_end; /* the current chunk's unused tail */
    struct svc_arena_stats st;
    struct h3_mem mem;
};

_Static_assert(sizeof(struct blk_hdr) == ARENA_HDR, "header size");
_Static_assert(sizeof(struct chunk) % 16 == 0, "chunk header alignment");

static size_t class_size(unsigned c)
{
    if (c < ARENA_SMALL / 16)
        return 16 * (size_t)(c + 1);
    c -= ARENA_SMALL / 16;
    unsigned k = 7 + c / ARENA_STEPS, j = c % ARENA_STEPS + 1;
    return ((size_t)1 << k) + ((size_t)j << (k - 3));
}

/* The smallest class holding |size| (>= 1) bytes, or -1 when larger than every class. */
static int class_of(size_t size)
{
    if (size <= ARENA_SMALL)
        return (int)((size + 15) / 16) - 1;
    if (size > (1u << ARENA_MAX_SHIFT))
        return -1;
    unsigned k = 63 - (unsigned)__builtin_clzll((unsigned long long)size - 1); /* 2^k < size */
    size_t over = size - ((size_t)1 << k), step = (size_t)1 << (k - 3);
    unsigned j = (unsigned)((over + step - 1) / step); /* 1..8 */
    return (int)(ARENA_SMALL / 16 + ARENA_STEPS * (k - 7) + j - 1);
}

struct svc_arena *svc_arena_new(void)
{
    struct svc_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->mem = (struct h3_mem){ .ud = a };
    return a;
}

void svc_arena_del(struct svc_arena *a)
{
    if (!a)
        return;
    while (a->chunks) {
        struct chunk *c = a->chunks;
        a->chunks = c->next;
        free(c);
    }
    free(a);
}

static void account(struct svc_arena *a, size_t bytes)
{
    a->st.in_use += bytes;
    if (a->st.in_use > a->st.peak)
        a->st.peak = a->st.in_use;
    a->st.allocs++;
}

void *svc_arena_malloc(struct svc_arena *a, size_t size)
{
    int c = class_of(size ? size : 1);
    struct blk_hdr *h;

    if (c < 0) {
        if (size > SIZE_MAX - ARENA_HDR)
            return NULL;
        h = aligned_alloc(16, (ARENA_HDR + size + 15) & ~(size_t)15);
        if (!h)
            return NULL;
        *h = (struct blk_hdr){ .cls = ARENA_LARGE, .size = size };
        a->st.large++;
        a->st.footprint += ARENA_HDR + size;
        account(a, ARENA_HDR + size);
        return h + 1;
    }
    size_t csz = class_size((unsigned)c);
    struct free_blk *f = a->free[c];
    if (f) {
        a->free[c] = f->next;
        h = (struct blk_hdr *)f - 1;
    } else {
        size_t need = ARENA_HDR + ((csz + 15) & ~(size_t)15); /* keep the next aligned */
        if ((size_t)(a->bump_end - a->bump) < need) {
            /* The tail of the old chunk is left unused: at most one block's worth. */
            struct chunk *ch = malloc(ARENA_CHUNK);
            if (!ch)
                return NULL;
            ch->next = a->chunks;
            a->chunks = ch;
            a->bump = (uint8_t *)(ch + 1);
            a->bump_end = (uint8_t *)ch + ARENA_CHUNK;
            a->st.footprint += ARENA_CHUNK;
        }
        h = (struct blk_hdr *)a->bump;
        a->bump += need;
        h->cls = (uint32_t)c;
        h->size = csz;
    }
    account(a, ARENA_HDR + csz);
    return h + 1;
}

void svc_arena_free(struct svc_arena *a, void *ptr)
{
    if (!ptr)
        return;
    struct blk_hdr *h = (struct blk_hdr *)ptr - 1;
    a->st.frees++;
    a->st.in_use -= ARENA_HDR + h->size;
    if (h->cls == ARENA_LARGE) {
        a->st.footprint -= ARENA_HDR + h->size;
        free(h);
        return;
    }
    struct free_blk *f = ptr;
    f->next = a->free[h->cls];
    a->free[h->cls] = f;
}

void *svc_arena_calloc(struct svc_arena *a, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        return NULL;
    void *p = svc_arena_malloc(a, nmemb * size);
    if (p)
        memset(p, 0, nmemb * size);
    return p;
}

void *svc_arena_realloc(struct svc_arena *a, void *ptr, size_t size)
{
    if (!ptr)
        return svc_arena_malloc(a, size);
    if (size == 0) {
        svc_arena_free(a, ptr);
        return NULL;
    }
    size_t have = svc_arena_usable(ptr);
    if (size <= have && class_of(size) == class_of(have))
        return ptr;
    void *n = svc_arena_malloc(a, size);
    if (!n)
        return NULL;
    memcpy(n, ptr, have < size ? have : size);
    svc_arena_free(a, ptr);
    return n;
}

size_t svc_arena_usable(const void *ptr)
{
    return ((const struct blk_hdr *)ptr - 1)->size;
}

void svc_arena_stats(const struct svc_arena *a, struct svc_arena_stats *st)
{
    *st = a->st;
}

static void *m_malloc(size_t size, void *ud)
{
    return svc_arena_malloc(ud, size);
}

static void m_free(void *ptr, void *ud)
{
    svc_arena_free(ud, ptr);
}

static void *m_calloc(size_t nmemb, size_t size, void *ud)
{
    return svc_arena_calloc(ud, nmemb, size);
}

static void *m_realloc(void *ptr, size_t size, void *ud)
{
    return svc_arena_realloc(ud, ptr, size);
}

const struct h3_mem *svc_arena_mem(struct svc_arena *a)
{
    a->mem.malloc = m_malloc;
    a->mem.free = m_free;
    a->mem.calloc = m_calloc;
    a->mem.realloc = m_realloc;
    return &a->mem;
}
