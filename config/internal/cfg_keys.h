/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys: every section and key of the configuration file, in one table:
 * where each key lands in struct cfg, how its value is parsed and checked,
 * and how it is written back by cfg_dump(). Internal to config/.
 */
#ifndef H3DP_CFG_KEYS_H
#define H3DP_CFG_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/* Capacity of the loader's per-key and per-section arrays (checked in cfg_keys.c). */
#define CFG_NKEYS_MAX     96
#define CFG_NSECTIONS_MAX 16

struct cfg_key;
/*
 * Parses value |v| of key |k| into |c|. Returns 0, or -EINVAL with a short
 * reason in |why| (the loader adds file, line, section, key and value).
 */
typedef int cfg_key_parse_fn(const struct cfg_key *k, const char *v, struct cfg *c, char *why,
                             size_t whylen);
/* Formats the value of |k| in |c| as the file would give it; "" = leave the key out. */
typedef void cfg_key_dump_fn(const struct cfg_key *k, const struct cfg *c, char *out,
                             size_t outlen);

enum {
    CFG_K_REQUIRED = 1 << 0, /* no default: the key must be given */
    CFG_K_SUFFIX = 1 << 1,   /* a size: K/M/G suffixes allowed */
    CFG_K_NONEMPTY = 1 << 2, /* a string that must not be empty */
    CFG_K_DPDK = 1 << 3,     /* required only with [dataplane] io = dpdk */
};

struct cfg_key {
    const char *section;
    const char *name;
    cfg_key_parse_fn *parse;
    cfg_key_dump_fn *dump;
    size_t off;  /* member of struct cfg */
    size_t size; /* its size */
    uint64_t min, max;
    const char *const *names; /* enum values */
    unsigned int flags;
};

/* The keys, grouped by section in cfg_sections order. */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;
/* The section names, NULL-terminated. */
extern const char *const cfg_sections[];
extern const size_t cfg_nsections;

/* cfg_key_find returns the index of |name| in |section| in cfg_keys, or -1. */
int cfg_key_find(const char *section, const char *name);

/* cfg_section_find returns the index of |name| in cfg_sections, or -1. */
int cfg_section_find(const char *name);

#endif /* H3DP_CFG_KEYS_H */
