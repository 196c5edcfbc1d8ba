/* d_reload.c: SIGHUP — what the configuration file changed, put in force or reported as
 * needing a restart (see d_reload.h, docs/CONTROL.md "Signals"). */
#include "d_reload.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "d_log.h"
#include "d_upload.h"

struct d_reload {
    char path[PATH_MAX];
    struct cfg *live;
    struct d_upload *up;
    uint64_t ok, failed;
    time_t last_at;
    bool last_failed;
    char error[1024];
    /* The last reload's keys: {"key":"[section] name","running":old,"file":new}. */
    json_t *applied, *pending, *restart;
};

struct d_reload *d_reload_new(const char *path, struct cfg *live, struct d_upload *up)
{
    struct d_reload *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->live = live;
    r->up = up;
    r->applied = json_array();
    r->pending = json_array();
    r->restart = json_array();
    if (!r->applied || !r->pending || !r->restart) {
        d_reload_del(r);
        return NULL;
    }
    return r;
}

void d_reload_del(struct d_reload *r)
{
    if (!r)
        return;
    json_decref(r->applied);
    json_decref(r->pending);
    json_decref(r->restart);
    free(r);
}

/* One reload in progress: the file's configuration and the log line's parts. */
struct pass {
    struct d_reload *r;
    const struct cfg *file;
    bool log_changed, headers_changed;
    char *applied, *pending, *restart, *failed; /* "; "-separated, for the log line */
    size_t applied_len, pending_len, restart_len, failed_len;
    FILE *fa, *fp, *fr, *ff;
};

static void note(json_t *list, FILE *text, const char *section, const char *key,
                 const char *old_value, const char *new_value)
{
    char name[96];

    snprintf(name, sizeof(name), "[%s] %s", section, key);
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:s}", "key", name, "running", old_value, "file", new_value));
    fprintf(text, "%s%s ('%s' -> '%s')", ftell(text) ? ", " : "", name, old_value, new_value);
}

/* The collectors: in force at once, or pending while the engine has work for the old ones.
 * An empty url would leave the engine without collectors: that takes a restart. */
static void reload_url(struct pass *p, const char *old_value, const char *new_value)
{
    struct cfg *live = p->r->live;
    char why[512];
    int rv;

    if (!p->r->up->up || !new_value[0]) {
        note(p->r->restart, p->fr, "upload", "url", old_value, new_value);
        return;
    }
    rv = d_upload_set_url(p->r->up, new_value, why, sizeof(why));
    if (rv < 0) {
        note(p->r->restart, p->fr, "upload", "url", old_value, new_value);
        fprintf(p->ff, "%s[upload] url: %s", ftell(p->ff) ? "; " : "", why);
        return;
    }
    note(rv == 0 ? p->r->applied : p->r->pending, rv == 0 ? p->fa : p->fp, "upload", "url",
         old_value, new_value);
    memcpy(live->upload.url_str, p->file->upload.url_str, sizeof(live->upload.url_str));
    memcpy(live->upload.urls, p->file->upload.urls, sizeof(live->upload.urls));
    live->upload.n_urls = p->file->upload.n_urls;
}

static void reload_headers(struct pass *p, const char *old_value, const char *new_value)
{
    char why[512];

    p->headers_changed = true;
    if (d_upload_reload(p->r->up, new_value, why, sizeof(why)) < 0) {
        fprintf(p->ff, "%s[upload] headers_file: %s", ftell(p->ff) ? "; " : "", why);
        return;
    }
    note(p->r->applied, p->fa, "upload", "headers_file", old_value, new_value);
    memcpy(p->r->live->upload.headers_file, p->file->upload.headers_file,
           sizeof(p->r->live->upload.headers_file));
}

static void on_diff(void *ctx, const char *section, const char *key, const char *old_value,
                    const char *new_value)
{
    struct pass *p = ctx;

    if (strcmp(section, "log") == 0) {
        p->log_changed = true;
        note(p->r->applied, p->fa, section, key, old_value, new_value);
    } else if (strcmp(section, "upload") == 0 && strcmp(key, "url") == 0) {
        reload_url(p, old_value, new_value);
    } else if (strcmp(section, "upload") == 0 && strcmp(key, "headers_file") == 0) {
        reload_headers(p, old_value, new_value);
    } else {
        note(p->r->restart, p->fr, section, key, old_value, new_value);
    }
}

void d_reload_run(struct d_reload *r)
{
    struct cfg *file = malloc(sizeof(*file));
    char why[512];
    struct pass p = {.r = r};

    r->last_at = time(NULL);
    if (!file || cfg_load(r->path, file, r->error, sizeof(r->error)) < 0) {
        if (!file)
            snprintf(r->error, sizeof(r->error), "out of memory");
        r->failed++;
        r->last_failed = true;
        D_LOG(WARNING,
              "SIGHUP: %s; the configuration in force stays (the headers file is "
              "re-read)",
              r->error);
        d_upload_reload(r->up, NULL, why, sizeof(why));
        free(file);
        return;
    }
    r->ok++;
    r->last_failed = false;
    r->error[0] = '\0';
    /* What the last reload that loaded found; a file that does not load keeps them. */
    json_array_clear(r->applied);
    json_array_clear(r->pending);
    json_array_clear(r->restart);
    p.file = file;
    p.fa = open_memstream(&p.applied, &p.applied_len);
    p.fp = open_memstream(&p.pending, &p.pending_len);
    p.fr = open_memstream(&p.restart, &p.restart_len);
    p.ff = open_memstream(&p.failed, &p.failed_len);
    if (!p.fa || !p.fp || !p.fr || !p.ff) {
        D_LOG(ERR, "SIGHUP: out of memory: nothing changed");
        goto out;
    }
    cfg_diff(r->live, file, on_diff, &p);
    if (p.log_changed) {
        d_log_apply(&file->log);
        r->live->log = file->log;
    }
    if (!p.headers_changed && d_upload_reload(r->up, NULL, why, sizeof(why)) < 0)
        fprintf(p.ff, "%s[upload] headers_file: %s", ftell(p.ff) ? "; " : "", why);
    fflush(p.fa);
    fflush(p.fp);
    fflush(p.fr);
    fflush(p.ff);
    if (p.failed_len)
        snprintf(r->error, sizeof(r->error), "%s", p.failed);
    D_LOG(NOTICE, "SIGHUP: %s re-read: %s%s%s%s%s%s%s%s", r->path,
          p.applied_len ? "in force: " : "nothing to put in force", p.applied,
          p.pending_len ? "; once the upload engine is idle: " : "", p.pending,
          p.restart_len ? "; needs a restart: " : "", p.restart,
          p.failed_len ? "; not changed: " : "", p.failed);
out:
    if (p.fa)
        fclose(p.fa);
    if (p.fp)
        fclose(p.fp);
    if (p.fr)
        fclose(p.fr);
    if (p.ff)
        fclose(p.ff);
    free(p.applied);
    free(p.pending);
    free(p.restart);
    free(p.failed);
    free(file);
}

json_t *d_reload_json(const struct d_reload *r)
{
    json_t *applied = json_copy(r->applied), *pending = json_array();
    char at[32] = "";
    struct tm tm;
    size_t i;
    json_t *e;

    /* A pending url the engine has since put in force (or the operator replaced). */
    json_array_foreach(r->pending, i, e)
        json_array_append(r->up->pending_url[0] ? pending : applied, e);
    if (r->last_at && gmtime_r(&r->last_at, &tm))
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:I, s:I, s:s?, s:s?, s:s?, s:o, s:o, s:O}", "file", r->path, "ok",
                     (json_int_t)r->ok, "failed", (json_int_t)r->failed, "last_at",
                     at[0] ? at : NULL, "last_result",
                     !r->last_at      ? NULL
                     : r->last_failed ? "failed"
                                      : "ok",
                     "error", r->error[0] ? r->error : NULL, "applied",
                     applied ? applied : json_array(), "pending", pending, "restart_needed",
                     r->restart);
}

void d_reload_counts(const struct d_reload *r, struct d_reload_counts *out)
{
    *out = (struct d_reload_counts){
        .ok = r->ok,
        .failed = r->failed,
        .restart_needed = (unsigned)json_array_size(r->restart),
    };
}
