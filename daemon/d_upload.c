/* d_upload.c: the upload engine's parameters and its control command (see d_upload.h,
 * docs/CONTROL.md). */
#include "d_upload.h"

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "ctl_server.h"
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
        .compress = u->compress == CFG_COMPRESS_ZSTD ? UP_COMPRESS_ZSTD : UP_COMPRESS_NONE,
        .gen = { .record_bytes = u->generator_record_bytes, .rate = u->generator_rate },
    };
}

static void h_upload(void *ctx, struct ctl_call *call)
{
    struct d_upload *d = ctx;
    struct up *u = d->up;
    const struct ctl_request *rq = ctl_call_request(call);
    const char *action = ctl_request_str(rq, "action");
    const char *url = ctl_request_str(rq, "url");
    uint64_t now = ctl_server_now(ctl_call_server(call));
    char why[1024];

    if (url && *url && strcmp(action, "target") != 0 && strcmp(action, "start") != 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "--url goes with upload target or start");
        return;
    }
    if (url && *url) {
        int rv = up_target(u, url, why, sizeof(why));
        if (rv < 0) {
            ctl_call_fail(call, rv == -EBUSY ? CTL_E_BUSY : CTL_E_BAD_URL, "%s", why);
            return;
        }
    } else if (strcmp(action, "target") == 0) {
        ctl_call_fail(call, CTL_E_BAD_REQUEST, "upload target needs --url URL");
        return;
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
                          "no upload target: give --url https://IPv4[:PORT][/PATH] or set "
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
    ctl_call_reply(call, up_stats_json(u, now));
}

int d_upload_register(struct d_upload *d, struct ctl_server *srv)
{
    return ctl_server_register(srv, "upload", h_upload, d);
}
