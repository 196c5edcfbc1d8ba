/* svc_arena: the per-worker memory arena behind each worker's HTTP/3 drivers (h3_mem).
 *
 * Size classes (16 bytes up to 64 KiB, powers of two and the 1.5x steps between them) with
 * one free list each, carved from 256 KiB chunks taken from libc; bigger blocks go to libc
 * directly. Freed blocks are reused by the same worker; chunks go back to libc only when the
 * arena is deleted. One thread only: no locks, and after warm-up no system calls — the
 * per-packet allocations of ngtcp2/nghttp3 are a free-list pop and push.
 */
#ifndef H3DP_SVC_ARENA_H
#define H3DP_SVC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "h3.h"

struct svc_arena;

struct svc_arena_stats {
    uint64_t in_use;      /* bytes in live blocks (class sizes, headers included) */
    uint64_t peak;        /* highest in_use so far */
    uint64_t footprint;   /* bytes taken from libc (chunks + large blocks) */
    uint64_t allocs, frees, large;
};

/* Creates an arena. Returns NULL when out of memory. */
struct svc_arena *svc_arena_new(void);

/* Frees every chunk (live blocks included: their owners must be gone). NULL is fine. */
void svc_arena_del(struct svc_arena *a);

/* malloc/free/calloc/realloc semantics (16-byte aligned results). */
void *svc_arena_malloc(struct svc_arena *a, size_t size);
void svc_arena_free(struct svc_arena *a, void *ptr);
void *svc_arena_calloc(struct svc_arena *a, size_t nmemb, size_t size);
void *svc_arena_realloc(struct svc_arena *a, void *ptr, size_t size);

/* The usable size of a block from this arena (>= the size asked for). */
size_t svc_arena_usable(const void *ptr);

void svc_arena_stats(const struct svc_arena *a, struct svc_arena_stats *st);

/* An h3_mem table over |a| (for h3_conn_params.mem); valid as long as |a|. */
const struct h3_mem *svc_arena_mem(struct svc_arena *a);

#endif
