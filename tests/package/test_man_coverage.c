/* test_man_coverage CONF_PAGE CTL_PAGE: the man pages' sources (docs/man/NAME.scd) against the
 * tables the programs use, both ways.
 *
 * h3dpd.conf(5): every section of cfg_sections is a "## [section]" heading and every key of
 * cfg_keys a "*key* = ..." entry under its section's heading; nothing else is documented
 * as a key (a key removed from the table must leave the page).
 * h3ctl(8): every command of ctl_cmd_table is a "## name" heading with its "*h3ctl name*"
 * synopsis, and each of its options an "*--opt*" entry under it; no heading names an
 * unknown command and no entry an option its command does not take.
 * Exit 0, or 1 after listing every mismatch. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_keys.h"
#include "ctl_proto.h"

#define LINE_MAX_LEN 1024
#define NAME_LEN     64

static int failures;

static void fail(const char *page, unsigned line, const char *fmt, const char *a, const char *b)
{
    printf("FAIL: %s", page);
    if (line)
        printf(":%u", line);
    printf(": ");
    printf(fmt, a, b);
    printf("\n");
    failures++;
}

/* "## NAME" or "## [NAME]": copies NAME into |out|. */
static bool heading(const char *l, bool bracketed, char *out)
{
    size_t n;

    if (strncmp(l, "## ", 3) != 0)
        return false;
    l += 3;
    if (bracketed && *l++ != '[')
        return false;
    n = strcspn(l, bracketed ? "]" : " \n");
    if (n == 0 || n >= NAME_LEN)
        return false;
    memcpy(out, l, n);
    out[n] = '\0';
    return true;
}

/* A definition term: a line starting "*WORD*" (WORD = a key or an option): copies WORD. */
static bool term(const char *l, char *out)
{
    size_t n;

    if (l[0] != '*')
        return false;
    n = strcspn(l + 1, "*");
    if (n == 0 || n >= NAME_LEN || l[1 + n] != '*')
        return false;
    memcpy(out, l + 1, n);
    out[n] = '\0';
    return true;
}

static FILE *open_page(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static void check_conf(const char *path)
{
    bool seen_key[CFG_NKEYS_MAX] = {false}, seen_sec[CFG_NSECTIONS_MAX] = {false};
    char l[LINE_MAX_LEN], sec[NAME_LEN] = "", name[NAME_LEN];
    unsigned ln = 0;
    bool in_keys = false;
    FILE *f = open_page(path);

    while (fgets(l, sizeof(l), f)) {
        ln++;
        if (l[0] == '#' && l[1] == ' ') /* "# KEYS" and the other top-level sections */
            in_keys = strcmp(l, "# KEYS\n") == 0;
        if (!in_keys)
            continue;
        if (heading(l, true, name)) {
            int s = cfg_section_find(name);
            if (s < 0)
                fail(path, ln, "section [%s] is not in cfg_sections%s", name, "");
            else
                seen_sec[s] = true;
            snprintf(sec, sizeof(sec), "%s", name);
        } else if (term(l, name) && strstr(l, " = ")) {
            int k = cfg_key_find(sec, name);
            if (k < 0)
                fail(path, ln, "[%s] %s is not a key of config/cfg_keys.c", sec, name);
            else
                seen_key[k] = true;
        }
    }
    fclose(f);
    for (size_t s = 0; s < cfg_nsections; s++)
        if (!seen_sec[s])
            fail(path, 0, "no \"## [%s]\" heading%s", cfg_sections[s], "");
    for (size_t k = 0; k < cfg_nkeys; k++)
        if (!seen_key[k])
            fail(path, 0, "[%s] %s: not documented (want \"*key* = ...\" under its heading)",
                 cfg_keys[k].section, cfg_keys[k].name);
    printf("%s: %zu sections, %zu keys checked\n", path, cfg_nsections, cfg_nkeys);
}

static int field_of(const struct ctl_cmd_schema *c, const char *opt)
{
    for (unsigned i = 0; i < c->n_fields; i++)
        if (c->fields[i].cli && strcmp(c->fields[i].cli, opt) == 0)
            return (int)i;
    return -1;
}

static void check_ctl(const char *path)
{
    const struct ctl_cmd_schema *t = ctl_cmd_table(), *cur = NULL;
    bool seen_cmd[CTL_CMD_COUNT] = {false}, synopsis[CTL_CMD_COUNT] = {false};
    bool seen_opt[CTL_CMD_COUNT][CTL_MAX_FIELDS] = {{false}};
    char l[LINE_MAX_LEN], name[NAME_LEN], want[NAME_LEN * 2];
    unsigned ln = 0, nopts = 0;
    bool in_cmds = false;
    FILE *f = open_page(path);

    while (fgets(l, sizeof(l), f)) {
        ln++;
        if (l[0] == '#' && l[1] == ' ') {
            in_cmds = strcmp(l, "# COMMANDS\n") == 0;
            cur = NULL;
        }
        if (!in_cmds)
            continue;
        if (heading(l, false, name)) {
            cur = ctl_cmd_find(name);
            if (!cur)
                fail(path, ln, "\"## %s\": no such command in control/ctl_proto.c%s", name, "");
            else
                seen_cmd[cur->id] = true;
            continue;
        }
        if (!cur)
            continue;
        snprintf(want, sizeof(want), "*h3ctl %s*", cur->name);
        if (strncmp(l, want, strlen(want)) == 0)
            synopsis[cur->id] = true;
        if (term(l, name) && name[0] == '-') {
            int i = field_of(cur, name);
            if (i < 0)
                fail(path, ln, "%s takes no option %s", cur->name, name);
            else
                seen_opt[cur->id][i] = true;
        }
    }
    fclose(f);
    for (unsigned c = 0; c < CTL_CMD_COUNT; c++) {
        if (!seen_cmd[c])
            fail(path, 0, "command %s: no \"## %s\" heading", t[c].name, t[c].name);
        else if (!synopsis[c])
            fail(path, 0, "command %s: no \"*h3ctl %s* ...\" synopsis", t[c].name, t[c].name);
        for (unsigned i = 0; i < t[c].n_fields; i++) {
            if (!t[c].fields[i].cli)
                continue;
            nopts++;
            if (seen_cmd[c] && !seen_opt[c][i])
                fail(path, 0, "%s %s: not documented under its command", t[c].name,
                     t[c].fields[i].cli);
        }
    }
    printf("%s: %d commands, %u options checked\n", path, CTL_CMD_COUNT, nopts);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_man_coverage CONF_PAGE.scd CTL_PAGE.scd\n");
        return 2;
    }
    check_conf(argv[1]);
    check_ctl(argv[2]);
    return failures ? 1 : 0;
}
