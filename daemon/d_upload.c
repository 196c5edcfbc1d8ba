/* d_upload.c: the upload engine's parameters and its control command (see d_upload.h,
 * docs/CONTROL.md). */
#include "d_upload.h"

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "ctl_server.h"
#include "d_log.h"
#include "up_headers.h"
#include "upload.h"

void d_upload_conf(const struct cfg *c, struct up_conf *uc)
{
    const struct cfg_upload *u = &c->upload;

    *uc = (struct up_conf){
        .url = u->url_str,
        .sni = c->tls.sni,
        .connections = u->connections,
        .streams = u->streams,
        .batch_bytes = u->batch_bytes,
        .linger_ms = u->linger_ms,
        .retry_initial_ms = u->retry_initial_ms,
        .retry_max_ms = u->retry_max_ms,
        .retry_limit = u->retry_limit,
        .spool_dir = u->spool_dir,
        .ingest_socket = u->ingest_socket,
        .ingest_queue = u->ingest_queue,
        .content_type = u->content_type,
        .framing = u->framing == CFG_FRAMING_LENGTH ? UP_FRAMING_LENGTH
                   : u->framing == CFG_FRAMING_NONE ? UP_FRAMING_NONE
                                                    : UP_FRAMING_NEWLINE,
        .compress = u->compress == CFG_COMPRESS_ZSTD   ? UP_COMPRESS_ZSTD
                    : u->compress == CFG_COMPRESS_GZIP ? UP_COMPRESS_GZIP
                                                       : UP_COMPRESS_NONE,
        .compress_level = (int)u->compress_level,
        .early_data = u->early_data,
        .gen = { .record_bytes = u->generator_record_bytes, .rate = u->generator_rate },
    };
}

int d_upload_open(struct d_upload *d, const struct cfg *c, struct svc *svc,
                  const struct up_resolver *res, bool ipv6, char *why, size_t whylen)
{
    struct up_conf uc;
    struct up_headers *h = NULL;
    int err = 0;

    d->cfg = c;
    d_upload_conf(c, &uc);
    if (c->upload.headers_file[0] && up_headers_load(c->upload.headers_file, &h, why, whylen) < 0)
        return -1;
    snprintf(d->headers_file, sizeof(d->headers_file), "%s", c->upload.headers_file);
    uc.headers = h;
    uc.headers_file = d->headers_file;
    if (res)
        uc.resolver = *res;
    uc.ipv6 = ipv6;
    d->up = up_new(&uc, svc, &err, why, whylen);
    if (!d->up) {
        up_headers_del(h);
        return -1;
    }
    return 0;
}

/* Loads |path| and puts its headers in force; |who| says why (for the log). Returns 0, or
 * -1 with the reason in |why| (the old headers stay). */
static int set_headers(struct d_upload *d, const char *path, const char *who, char *why,
                       size_t whylen)
{
    struct up_headers *h = NULL;

    if (up_headers_load(path, &h, why, whylen) < 0)
        return -1;
    up_set_headers(d->up, h, path);
    if (d->headers_file != path)
        snprintf(d->headers_file, sizeof(d->headers_file), "%s", path);
    D_LOG(NOTICE, "upload: %zu header field(s) from %s (%s)", up_headers_count(h), path, who);
    return 0;
}

int d_upload_reload(struct d_upload *d, const char *path, char *why, size_t whylen)
{
    if (!d->up)
        return 0;
    if (path && !path[0] && d->headers_file[0]) { /* the configuration names none now */
        up_set_headers(d->up, NULL, NULL);
        D_LOG(NOTICE, "upload: no operator header fields from now on (SIGHUP)");
        d->headers_file[0] = '\0';
        return 0;
    }
    if (!path)
        path = d->headers_file;
    if (!path[0])
        return 0;
    if (set_headers(d, path, "SIGHUP", why, whylen) < 0) {
        D_LOG(WARNING, "upload: the headers file did not reload, the old headers stay: %s", why);
        return -1;
    }
    return 0;
}

int d_upload_set_url(struct d_upload *d, const char *url, char *why, size_t whylen)
{
    int rv;

    d->pending_url[0] = '\0';
    rv = up_target(d->up, url, why, whylen);
    if (rv == -EBUSY) {
        snprintf(d->pending_url, sizeof(d->pending_url), "%s", url);
        return 1;
    }
    return rv < 0 ? -1 : 0;
}

void d_upload_poll(struct d_upload *d)
{
    char why[512];

    if (!d->pending_url[0] || up_target(d->up, d->pending_url, why, sizeof(why)) == -EBUSY)
        return;
    D_LOG(NOTICE, "upload: the collectors from the reload are in force: %s", d->pending_url);
    d->pending_url[0] = '\0';
}

static void h_upload(void *ctx, struct ctl_call *call)
{
    struct d_upload *d = ctx;
    struct up *u = d->up;
    const struct ctl_request *rq = ctl_call_request(call);
    const char *action = ctl_request_str(rq, "action");
    const char *url = ctl_request_str(rq, "url");
    const char *hfile = ctl_request_str(rq, "headers_file");
    uint64_t now = ctl_server_now(ctl_call_server(call));
    char why[1024];

    if (url && *url && strcmp(action, "target") != 0 && strcmp(action, "start") != 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "--url goes with upload target or start");
        return;
    }
    if (hfile && strcmp(action, "target") != 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "--headers-file goes with upload target");
        return;
    }
    if (strcmp(action, "target") == 0 && !(url && *url) && !hfile) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST,
                      "upload target needs --url URL[,URL...] or --headers-file FILE");
        return;
    }
    /* The headers first: a file that does not load changes nothing. */
    if (hfile && set_headers(d, hfile, "upload target", why, sizeof(why)) < 0) {
        ctl_call_fail(call, CTL_E_FAILED, "%s", why);
        return;
    }
    if (url && *url) {
        struct net_url list[8];
        unsigned n = 0;
        int rv;

        /* The protocol refused what no server has; the data path refuses the rest here. */
        if (net_url_list_parse(url, 0, list, 8, &n, why, sizeof(why)) == 0)
            for (unsigned i = 0; i < n; i++) {
                struct net_addr self = cfg_port_addr(d->cfg, list[i].addr.family);
                const char *bad = list[i].kind == NET_HOST_NAME
                                      ? NULL
                                      : net_addr_not_peer(&list[i].addr,
                                                          d->cfg->dataplane.io == CFG_IO_DPDK,
                                                          &self);
                if (bad) {
                    ctl_call_fail(call, CTL_E_BAD_URL, "%s is %s, not a collector",
                                  list[i].host, bad);
                    return;
                }
            }
        rv = up_target(u, url, why, sizeof(why));
        if (rv < 0) {
            ctl_call_fail(call, rv == -EBUSY ? CTL_E_BUSY : CTL_E_BAD_URL, "%s", why);
            return;
        }
        if (d->pending_url[0]) /* the operator's word comes after the reload's */
            D_LOG(NOTICE, "upload: the collectors of the last reload (%s) are dropped for %s",
                  d->pending_url, url);
        d->pending_url[0] = '\0';
    }
    if (strcmp(action, "start") == 0) {
        const struct cfg_upload *cu = &d->cfg->upload;
        struct up_gen g = {
            .record_bytes = (uint32_t)ctl_request_u64(rq, "record_size",
                                                      cu->generator_record_bytes),
            .rate = ctl_request_u64(rq, "rate", cu->generator_rate),
            .duration_ms = ctl_request_u64(rq, "duration", 0),
            .records = ctl_request_u64(rq, "records", 0),
        };
        if (!up_has_target(u)) {
            ctl_call_fail(call, CTL_E_BAD_REQUEST,
                          "no upload target: give --url https://HOST[:PORT][/PATH] or set "
                          "[upload] url");
            return;
        }
        if (up_pool_size(u, (unsigned)ctl_request_u64(rq, "connections", 0),
                         (unsigned)ctl_request_u64(rq, "streams", 0)) < 0) {
            ctl_call_fail(call, CTL_E_BAD_REQUEST, "connections must be 1..%d", UP_MAX_CONNS);
            return;
        }
        if (up_gen_start(u, &g, now) < 0) {
            ctl_call_fail(call, CTL_E_BAD_REQUEST, "record_size must be 1..%u",
                          UP_GEN_RECORD_MAX);
            return;
        }
    } else if (strcmp(action, "stop") == 0) {
        up_gen_stop(u); /* what is queued or in flight still goes out */
    }
    json_t *r = up_stats_json(u, now);
    if (r && d->pending_url[0])
        json_object_set_new(r, "pending_url", json_string(d->pending_url));
    ctl_call_reply(call, r);
}

int d_upload_register(struct d_upload *d, struct ctl_server *srv)
{
    return ctl_server_register(srv, "upload", h_upload, d);
}
