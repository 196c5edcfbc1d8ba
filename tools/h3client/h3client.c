/*
 * h3client: a small HTTP/3 client on the h3 driver and the kernel UDP backend.
 * Used by the interop tests and tools/bench-h3; handy to check a server by hand.
 *
 *   h3client --addr 127.0.0.1 --port 4433 [--host NAME] [--ca FILE | --insecure]
 *            [--method M] [--path P] [--body-size N [--producer] [--digest]]
 *            [--body-file F] [-n REQUESTS] [-c CONCURRENCY] [--shutdown-early]
 *            [--max-push N] [--expect-status S] [--timeout SEC] [--json]
 *            [--keylog F] [--qlog F] [--out FILE] [--no-gso] [-v]
 *            [--session-file F [--early]]
 *
 * Runs the requests, then a graceful shutdown (GOAWAY, drain, close with
 * H3_NO_ERROR) and waits for the close. With --session-file the TLS session ticket (and
 * the server's 0-RTT transport parameters) is read from F before connecting and the
 * server's new ticket written back to it at the end (the run waits up to a second for
 * one); --early marks the requests replay-safe, so a resumed connection sends them in
 * 0-RTT. Exit status: 0 when every request
 * completed with the expected status class and the close outcome is OK;
 * 1 otherwise; 2 for usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>


#include "crypto.h"
#include "h3.h"
#include "kio.h"
#include "mono.h"
#include "version.h"

#define PATTERN_MOD 251 /* byte i of a generated body is i % 251 (h3sink's /bytes/N) */
#define CHUNK (64u * 1024u)

struct opts {
    const char *addr, *host, *ca, *cert, *key, *method, *path, *body_file, *keylog, *qlog, *out;
    const char *session_file;
    bool early;
    uint16_t port;
    bool insecure, producer, digest, json, shutdown_early, no_gso, verbose;
    uint64_t body_size, n, conc, max_push, timeout_s;
    int expect_status;
};

struct run {
    struct opts o;
    struct h3_conn *conn;
    uint8_t *body;          /* memory body (shared by all requests) */
    uint8_t *chunk;         /* producer pattern, CHUNK + PATTERN_MOD bytes */
    char digest_hdr[80];
    int body_fd;
    uint64_t submitted, done, ok, bad_status, failed, not_processed, cancelled, closed;
    uint64_t bytes_up, bytes_down;
    int first_bad_status;
    int submit_err;
    struct slot *slots, *free_slots;
    FILE *out;              /* --out: response bodies appended here */
    uint64_t first_ok_ns;   /* when the first request completed */
    uint64_t first_done_ns; /* when the last one did */
    uint64_t ticket_wait_until;
};

/* Per-request state: the producer's offset. One slot per concurrent request. */
struct slot {
    struct run *rn;
    uint64_t off;
    struct slot *next;
};

static volatile sig_atomic_t interrupted;

static void on_sig(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void log_line(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "%s\n", line);
}

static void on_complete(struct h3_req *r, void *ud, const struct h3_req_outcome *o)
{
    struct slot *sl = ud;
    struct run *rn = sl->rn;
    (void)r;
    sl->off = 0;
    sl->next = rn->free_slots;
    rn->free_slots = sl;
    rn->done++;
    rn->bytes_up += o->body_sent;
    rn->bytes_down += o->body_recv;
    if (!rn->first_ok_ns && o->result == H3_REQ_COMPLETED)
        rn->first_ok_ns = mono_ns();
    switch (o->result) {
    case H3_REQ_COMPLETED: {
        bool good = rn->o.expect_status ? o->status == rn->o.expect_status
                                        : (o->status >= 200 && o->status < 300);
        if (good) {
            rn->ok++;
        } else {
            rn->bad_status++;
            if (!rn->first_bad_status)
                rn->first_bad_status = o->status;
        }
        break;
    }
    case H3_REQ_FAILED: rn->failed++; break;
    case H3_REQ_NOT_PROCESSED: rn->not_processed++; break;
    case H3_REQ_CANCELLED: rn->cancelled++; break;
    case H3_REQ_CONN_CLOSED: rn->closed++; break;
    }
    if (rn->o.verbose)
        fprintf(stderr, "request stream %" PRId64 ": %s status %d code 0x%" PRIx64
                " sent %" PRIu64 " recv %" PRIu64 "\n",
                o->stream_id, h3_req_result_str(o->result), o->status, o->code, o->body_sent,
                o->body_recv);
}

/* Streams the i % 251 pattern from a static chunk: nothing to free on ack. */
static int produce_pattern(struct h3_req *r, void *ud, const uint8_t **data, size_t *len,
                           bool *eof)
{
    struct slot *sl = ud;
    uint64_t left = sl->rn->o.body_size - sl->off;
    size_t n = left < CHUNK ? (size_t)left : CHUNK;
    (void)r;

    *data = sl->rn->chunk + sl->off % PATTERN_MOD;
    *len = n;
    sl->off += n;
    *eof = sl->off == sl->rn->o.body_size;
    return 0;
}

static void write_body(struct h3_req *r, void *ud, const uint8_t *data, size_t len)
{
    struct slot *sl = ud;
    (void)r;
    if (fwrite(data, 1, len, sl->rn->out) != len)
        sl->rn->submit_err = -EIO;
}

static int submit_one(struct run *rn)
{
    struct h3_req_params rp = { 0 };
    struct h3_header hdr[2];
    size_t nh = 0;

    rp.method = rn->o.method;
    rp.path = rn->o.path;
    rp.sink = rn->out ? H3_SINK_CALLBACK : H3_SINK_COUNT;
    rp.on_data = write_body;
    rp.on_complete = on_complete;
    rp.early = rn->o.early;
    rp.ud = rn->free_slots;
    if (!rp.ud)
        return H3_ERR_NOBUFS;
    if (rn->o.body_file) {
        rp.body = H3_BODY_FILE;
        rp.body_fd = rn->body_fd;
    } else if (rn->o.body_size && rn->o.producer) {
        rp.body = H3_BODY_PRODUCER;
        rp.produce = produce_pattern;
    } else if (rn->o.body_size) {
        rp.body = H3_BODY_MEMORY;
        rp.body_data = rn->body;
        rp.body_len = rn->o.body_size;
    }
    if (rn->digest_hdr[0])
        hdr[nh++] = (struct h3_header){ "content-digest", rn->digest_hdr };
    rp.headers = hdr;
    rp.n_headers = nh;
    int rv = h3_conn_request(rn->conn, &rp, mono_ns(), NULL);
    if (rv == 0) {
        rn->submitted++;
        rn->free_slots = rn->free_slots->next;
    }
    return rv;
}

/* With --session-file: after the requests, wait up to this long for the server's ticket. */
#define TICKET_WAIT_NS 1000000000ULL

static bool ticket_pending(struct run *rn)
{
    struct h3_stats st;
    if (!rn->o.session_file || h3_conn_state(rn->conn) == H3_STATE_CLOSED)
        return false;
    h3_conn_stats(rn->conn, &st);
    if (st.tickets_received > 0)
        return false;
    if (!rn->ticket_wait_until)
        rn->ticket_wait_until = mono_ns() + TICKET_WAIT_NS;
    return mono_ns() < rn->ticket_wait_until;
}

static bool requests_done(void *arg)
{
    struct run *rn = arg;
    if (interrupted)
        return true;
    /* Keep the window full. */
    while (rn->submitted < rn->o.n && rn->submitted - rn->done < rn->o.conc) {
        int rv = submit_one(rn);
        if (rv != 0) {
            rn->submit_err = rv;
            return true;
        }
    }
    if (rn->done == rn->o.n && rn->first_done_ns == 0)
        rn->first_done_ns = mono_ns();
    if (h3_conn_state(rn->conn) == H3_STATE_CLOSED)
        return true;
    return rn->done == rn->o.n && !ticket_pending(rn);
}

static void help(FILE *out)
{
    fprintf(out,
            "usage: h3client --addr IP --port N [options]\n"
            "\n"
            "One HTTP/3 connection over kernel UDP: runs the requests, shuts down gracefully\n"
            "(GOAWAY, drain, close with H3_NO_ERROR) and waits for the close.\n"
            "\n"
            "connection:\n"
            "  --addr IP              server address (IPv4 or IPv6 literal)\n"
            "  --port N               server UDP port\n"
            "  --host NAME            TLS server name and :authority (default: --addr)\n"
            "  --ca FILE              verify the server against this PEM CA bundle\n"
            "                         (default: the system trust store)\n"
            "  --insecure             do not verify the server certificate (labs only)\n"
            "  --cert FILE --key FILE a client certificate, sent when the server asks (mTLS)\n"
            "  --session-file F       TLS session ticket read before connecting, the new one\n"
            "                         written back (waits up to 1 s for it)\n"
            "  --early                requests are replay-safe: sent in 0-RTT when resumed\n"
            "  --no-gso               no UDP GSO on send\n"
            "  --timeout SEC          give up after SEC seconds (default 30)\n"
            "requests:\n"
            "  --method M, --path P   request method and path (default GET /)\n"
            "  --body-size N          a body of N pattern bytes (byte i = i %% 251)\n"
            "  --producer             stream that body from a producer callback\n"
            "  --digest               send content-digest: sha-256 of the in-memory body\n"
            "  --body-file F          the body from file F\n"
            "  -n N                   requests to run (default 1)\n"
            "  -c N                   requests in flight at once (default 1)\n"
            "  --expect-status S      count status S as success (default: any 2xx)\n"
            "  --shutdown-early       submit every request, then shut down at once\n"
            "  --max-push N           the push ID limit asked for in the GOAWAY\n"
            "output:\n"
            "  --json                 one JSON object with the results on stdout\n"
            "  --out FILE             write the response bodies to FILE\n"
            "  --keylog F             TLS secrets, SSLKEYLOGFILE format (default $SSLKEYLOGFILE)\n"
            "  --qlog F               qlog of the connection\n"
            "  -v                     log the connection and every request on stderr\n"
            "  -h, --help             this help\n"
            "  -V, --version          the version\n"
            "\n"
            "exit status: 0 every request completed with the expected status and the close\n"
            "             outcome is OK; 1 otherwise; 2 usage error\n");
}

static void usage(void)
{
    help(stderr);
    exit(2);
}

static uint64_t num(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || s[0] == '-') {
        fprintf(stderr, "h3client: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static int parse(int argc, char **argv, struct opts *o)
{
    enum { OPT_ADDR = 256, OPT_PORT, OPT_HOST, OPT_CA, OPT_INSECURE, OPT_METHOD, OPT_PATH, OPT_BSIZE,
           OPT_PRODUCER, OPT_DIGEST, OPT_BFILE, OPT_EARLY, OPT_MAXPUSH, OPT_EXPECT, OPT_TIMEOUT, OPT_JSON,
           OPT_KEYLOG, OPT_QLOG, OPT_NOGSO, OPT_OUT, OPT_CERT, OPT_KEY, OPT_SESSION,
           OPT_EARLYDATA, OPT_HELP, OPT_VERSION };
    static const struct option lo[] = {
        { "addr", 1, 0, OPT_ADDR }, { "port", 1, 0, OPT_PORT }, { "host", 1, 0, OPT_HOST },
        { "ca", 1, 0, OPT_CA }, { "insecure", 0, 0, OPT_INSECURE }, { "method", 1, 0, OPT_METHOD },
        { "path", 1, 0, OPT_PATH }, { "body-size", 1, 0, OPT_BSIZE },
        { "producer", 0, 0, OPT_PRODUCER }, { "digest", 0, 0, OPT_DIGEST },
        { "body-file", 1, 0, OPT_BFILE }, { "shutdown-early", 0, 0, OPT_EARLY },
        { "max-push", 1, 0, OPT_MAXPUSH }, { "expect-status", 1, 0, OPT_EXPECT },
        { "timeout", 1, 0, OPT_TIMEOUT }, { "json", 0, 0, OPT_JSON }, { "keylog", 1, 0, OPT_KEYLOG },
        { "qlog", 1, 0, OPT_QLOG }, { "no-gso", 0, 0, OPT_NOGSO }, { "out", 1, 0, OPT_OUT }, { "cert", 1, 0, OPT_CERT }, { "key", 1, 0, OPT_KEY },
        { "session-file", 1, 0, OPT_SESSION }, { "early", 0, 0, OPT_EARLYDATA },
        { "help", 0, 0, OPT_HELP }, { "version", 0, 0, OPT_VERSION }, { 0, 0, 0, 0 },
    };
    int ch;

    *o = (struct opts){ .method = "GET", .path = "/", .n = 1, .conc = 1, .timeout_s = 30 };
    while ((ch = getopt_long(argc, argv, "n:c:vhV", lo, NULL)) != -1) {
        switch (ch) {
        case OPT_ADDR: o->addr = optarg; break;
        case OPT_PORT: {
            uint64_t p = num(optarg);
            if (p == 0 || p > 65535)
                usage();
            o->port = (uint16_t)p;
            break;
        }
        case OPT_HOST: o->host = optarg; break;
        case OPT_CA: o->ca = optarg; break;
        case OPT_CERT: o->cert = optarg; break;
        case OPT_KEY: o->key = optarg; break;
        case OPT_SESSION: o->session_file = optarg; break;
        case OPT_EARLYDATA: o->early = true; break;
        case OPT_INSECURE: o->insecure = true; break;
        case OPT_METHOD: o->method = optarg; break;
        case OPT_PATH: o->path = optarg; break;
        case OPT_BSIZE: o->body_size = num(optarg); break;
        case OPT_PRODUCER: o->producer = true; break;
        case OPT_DIGEST: o->digest = true; break;
        case OPT_BFILE: o->body_file = optarg; break;
        case OPT_EARLY: o->shutdown_early = true; break;
        case OPT_MAXPUSH: o->max_push = num(optarg); break;
        case OPT_EXPECT: o->expect_status = (int)num(optarg); break;
        case OPT_TIMEOUT: o->timeout_s = num(optarg); break;
        case OPT_JSON: o->json = true; break;
        case OPT_KEYLOG: o->keylog = optarg; break;
        case OPT_QLOG: o->qlog = optarg; break;
        case OPT_NOGSO: o->no_gso = true; break;
        case OPT_OUT: o->out = optarg; break;
        case 'n': o->n = num(optarg); break;
        case 'c': o->conc = num(optarg); break;
        case 'v': o->verbose = true; break;
        case 'h':
        case OPT_HELP: help(stdout); exit(0);
        case 'V':
        case OPT_VERSION: h3dp_version_print(stdout, "h3client"); exit(0);
        default: usage();
        }
    }
    if (!o->addr || !o->port || o->conc == 0 || optind != argc)
        usage();
    if (!o->cert != !o->key) {
        fprintf(stderr, "h3client: --cert and --key go together\n");
        exit(2);
    }
    if (o->digest && (o->producer || o->body_file || !o->body_size)) {
        fprintf(stderr, "h3client: --digest needs an in-memory --body-size body\n");
        exit(2);
    }
    if (o->early && o->producer) {
        fprintf(stderr, "h3client: --early cannot go with --producer (not replayable)\n");
        exit(2);
    }
    if (o->shutdown_early)
        o->conc = o->n;
    if (o->conc > o->n)
        o->conc = o->n ? o->n : 1;
    return 0;
}

/* RFC 9530 §2 with RFC 8941 byte sequence syntax. */
static int make_digest(struct run *rn)
{
    return crypto_content_digest(rn->body, rn->o.body_size, rn->digest_hdr,
                                 sizeof(rn->digest_hdr)) < 0 ? -1 : 0;
}

static double tv_sec(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    static struct run rn;
    struct sockaddr_storage ss = { 0 };
    socklen_t sl;
    struct kio *kio = NULL;
    struct h3_conn_params p;
    int rc = 1, rv;

    parse(argc, argv, &rn.o);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    signal(SIGPIPE, SIG_IGN);
    rn.body_fd = -1;
    if (rn.o.out && !(rn.out = fopen(rn.o.out, "w"))) {
        fprintf(stderr, "h3client: %s: %s\n", rn.o.out, strerror(errno));
        return 2;
    }

    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, rn.o.addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(rn.o.port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, rn.o.addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(rn.o.port);
        sl = sizeof(*s6);
    } else {
        fprintf(stderr, "h3client: --addr must be an IP address\n");
        return 2;
    }
    if (rn.o.body_file) {
        rn.body_fd = open(rn.o.body_file, O_RDONLY | O_CLOEXEC);
        if (rn.body_fd < 0) {
            fprintf(stderr, "h3client: %s: %s\n", rn.o.body_file, strerror(errno));
            return 2;
        }
    } else if (rn.o.body_size && !rn.o.producer) {
        rn.body = malloc(rn.o.body_size);
        if (!rn.body) {
            fprintf(stderr, "h3client: out of memory for the body\n");
            return 1;
        }
        for (uint64_t i = 0; i < rn.o.body_size; i++)
            rn.body[i] = (uint8_t)(i % PATTERN_MOD);
        if (rn.o.digest && make_digest(&rn) != 0) {
            fprintf(stderr, "h3client: digest failed\n");
            return 1;
        }
    }
    rn.chunk = malloc(CHUNK + PATTERN_MOD);
    rn.slots = calloc(rn.o.conc, sizeof(*rn.slots));
    if (!rn.chunk || !rn.slots)
        return 1;
    for (uint64_t i = rn.o.conc; i-- > 0;) {
        rn.slots[i].rn = &rn;
        rn.slots[i].next = rn.free_slots;
        rn.free_slots = &rn.slots[i];
    }
    for (size_t i = 0; i < CHUNK + PATTERN_MOD; i++)
        rn.chunk[i] = (uint8_t)(i % PATTERN_MOD);

    if ((rv = kio_new((struct sockaddr *)&ss, sl, rn.o.no_gso, &kio)) != 0) {
        fprintf(stderr, "h3client: socket: %s\n", strerror(-rv));
        return 1;
    }
    h3_conn_params_default(&p);
    p.host = rn.o.host ? rn.o.host : rn.o.addr;
    p.port = rn.o.port;
    p.ca_file = rn.o.ca;
    p.cert_file = rn.o.cert;
    p.key_file = rn.o.key;
    p.insecure = rn.o.insecure;
    p.keylog_file = rn.o.keylog ? rn.o.keylog : getenv("SSLKEYLOGFILE");
    p.qlog_file = rn.o.qlog;
    p.max_requests = rn.o.conc;
    p.local = kio_local(kio, &p.local_len);
    p.remote = kio_remote(kio, &p.remote_len);
    p.io = &kio_ops;
    p.io_ctx = kio;
    if (rn.o.verbose)
        p.log = log_line;
    struct h3_session_cache *sc = NULL;
    if (rn.o.session_file) {
        sc = h3_session_cache_new(1);
        if (!sc) {
            fprintf(stderr, "h3client: out of memory\n");
            return 1;
        }
        h3_session_cache_load_file(sc, rn.o.session_file);
        struct h3_session_cache_stats cs;
        h3_session_cache_stats(sc, &cs);
        if (cs.load_rejected)
            fprintf(stderr, "h3client: %s: unusable session file ignored\n",
                    rn.o.session_file);
        p.session_cache = sc;
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = mono_ns();
    if ((rv = h3_conn_new(&p, t0, &rn.conn)) != 0) {
        fprintf(stderr, "h3client: connection: %s\n", h3_strerror(rv));
        kio_del(kio);
        return 1;
    }
    kio_attach(kio, rn.conn);
    uint64_t tmo = rn.o.timeout_s * 1000000000ULL;
    /* The first requests go now, before any answer: in 0-RTT when they may. */
    if (!rn.o.shutdown_early)
        requests_done(&rn);

    if (rn.o.shutdown_early) {
        /* Submit everything, then shut down with it all in flight. */
        requests_done(&rn);
        h3_conn_shutdown(rn.conn, rn.o.max_push, 0, mono_ns());
    }
    do {
        rv = kio_run(&kio, 1, requests_done, &rn, tmo);
    } while (rv == -EINTR && !interrupted);
    uint64_t t1 = mono_ns();
    if (rv == -ETIMEDOUT)
        fprintf(stderr, "h3client: timed out\n");
    if (rn.submit_err)
        fprintf(stderr, "h3client: submit: %s\n", h3_strerror(rn.submit_err));
    if (!rn.o.shutdown_early)
        h3_conn_shutdown(rn.conn, rn.o.max_push, mono_ns() + tmo, mono_ns());
    do {
        rv = kio_run(&kio, 1, NULL, NULL, tmo); /* wait_idle */
    } while (rv == -EINTR && !interrupted);
    if (rv == -ETIMEDOUT || interrupted)
        h3_conn_close(rn.conn, H3_H3_REQUEST_CANCELLED, "timeout", mono_ns());
    getrusage(RUSAGE_SELF, &ru1);

    struct h3_stats st;
    struct kio_stats ks;
    char ob[256];
    h3_conn_stats(rn.conn, &st);
    kio_stats(kio, &ks);
    h3_outcome_str(&st.outcome, ob, sizeof(ob));
    double wall = (double)(t1 - t0) / 1e9;
    double cpu = tv_sec(ru1.ru_utime) - tv_sec(ru0.ru_utime) + tv_sec(ru1.ru_stime) -
                 tv_sec(ru0.ru_stime);
    bool all_ok = rn.ok == rn.o.n && st.outcome.ok && !rn.submit_err;
    /* From the connection's start to the first completed request: what resumption and
     * 0-RTT shorten. */
    double first_ms = rn.first_ok_ns ? (double)(rn.first_ok_ns - t0) / 1e6 : -1;
    char rb[128];

    if (rn.o.json) {
        printf("{\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"bad_status\":%" PRIu64
               ",\"failed\":%" PRIu64 ",\"not_processed\":%" PRIu64 ",\"cancelled\":%" PRIu64
               ",\"conn_closed\":%" PRIu64 ",\"bytes_up\":%" PRIu64 ",\"bytes_down\":%" PRIu64
               ",\"wall_s\":%.6f,\"cpu_s\":%.6f,\"outcome_ok\":%s,\"outcome\":\"%s\","
               "\"goaway_sent_id\":%" PRId64 ",\"goaway_recv_id\":%" PRId64
               ",\"max_push_requested\":%" PRIu64 ",\"max_push_effective\":%" PRIu64
               ",\"alpn\":\"%s\",\"tls\":\"%s\",\"cipher\":\"%s\",\"rtt_min_us\":%" PRIu64
               ",\"pkts_sent\":%" PRIu64 ",\"pkts_recv\":%" PRIu64 ",\"pkts_lost\":%" PRIu64
               ",\"gso\":%s"
               ",\"gso_sends\":%" PRIu64 ",\"sendmmsg\":%" PRIu64
               ",\"resumed\":%s,\"early_data\":\"%s\",\"requests_early\":%" PRIu64
               ",\"requests_early_resent\":%" PRIu64 ",\"tickets\":%" PRIu64
               ",\"first_response_ms\":%.3f}\n",
               rn.o.n, rn.ok, rn.bad_status, rn.failed, rn.not_processed, rn.cancelled,
               rn.closed, rn.bytes_up, rn.bytes_down, wall, cpu, st.outcome.ok ? "true" : "false",
               ob, st.goaway_sent_id, st.goaway_recv_id, st.max_push_requested,
               st.max_push_effective, st.alpn, st.tls_version, st.tls_cipher,
               st.rtt_min_ns / 1000, st.pkts_sent, st.pkts_recv, st.pkts_lost,
               ks.gso ? "true" : "false",
               ks.gso_sends, ks.sendmmsg_calls, st.resumed ? "true" : "false",
               h3_early_data_str(st.early_data), st.requests_early, st.requests_early_resent,
               st.tickets_received, first_ms);
    } else {
        printf("requests %" PRIu64 ": ok %" PRIu64 ", bad status %" PRIu64 " (first %d), failed %"
               PRIu64 ", not processed %" PRIu64 ", cancelled %" PRIu64 ", conn closed %" PRIu64
               "\n",
               rn.o.n, rn.ok, rn.bad_status, rn.first_bad_status, rn.failed, rn.not_processed,
               rn.cancelled, rn.closed);
        printf("bytes up %" PRIu64 " down %" PRIu64 " in %.3f s, cpu %.3f s\n", rn.bytes_up,
               rn.bytes_down, wall, cpu);
        printf("%s %s %s, rtt min %" PRIu64 " us, goaway sent %" PRId64 " recv %" PRId64
               ", max_push requested %" PRIu64 " effective %" PRIu64 "\n",
               st.alpn, st.tls_version, st.tls_cipher, st.rtt_min_ns / 1000, st.goaway_sent_id,
               st.goaway_recv_id, st.max_push_requested, st.max_push_effective);
        printf("outcome: %s\n", ob);
        printf("session: %s, first response after %.3f ms\n",
               h3_stats_resumption_str(&st, rb, sizeof(rb)), first_ms);
    }
    rc = all_ok ? 0 : 1;
    h3_conn_del(rn.conn);
    if (sc) {
        int sv = h3_session_cache_save_file(sc, rn.o.session_file, p.sni ? p.sni : p.host,
                                            rn.o.port);
        if (sv < 0)
            fprintf(stderr, "h3client: %s: %s\n", rn.o.session_file, h3_strerror(sv));
        h3_session_cache_del(sc);
    }
    kio_del(kio);
    free(rn.body);
    free(rn.chunk);
    free(rn.slots);
    if (rn.out && fclose(rn.out) != 0)
        rc = 1;
    if (rn.body_fd >= 0)
        close(rn.body_fd);
    return rc;
}
