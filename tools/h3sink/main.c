/*
 * h3sink: an HTTP/3 collector over a kernel UDP socket, around the sink core.
 *
 * One thread: ppoll on one non-blocking UDP socket (signals unblocked only while
 * waiting), recvmmsg batches (UDP GRO when available) into sink_recv, sink_flush
 * into sendmmsg batches (UDP GSO when available), timers from sink_expiry on
 * mono_ns() (base/mono.h).
 *   SIGUSR1          GOAWAY, exit 0 once every connection is drained and closed
 *   SIGHUP           GOAWAY on the current connections, keep serving new ones
 *   SIGUSR2          a 1-RTT key update on every connection that can take one now
 *   SIGTERM, SIGINT  the same, but after --drain-timeout close what is left
 *                    (H3_REQUEST_CANCELLED) and exit 0; a second one closes now
 * Exit codes: 0 done, 1 runtime error, 2 usage error.
 */
#include "mono.h"
#include "sink.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2
#define NS_PER_S     1000000000ULL
/* Messages per sendmmsg / recvmmsg call. */
#define TX_BATCH 32
#define RX_BATCH 16
/* One message: a datagram, or with UDP GSO/GRO several same-sized datagrams to/from
 * one peer (the kernel's limits: 64 segments, 64 KiB per send). */
#define MSG_MAX       65535
#define GSO_BYTES_MAX 65000
#define GSO_SEGS_MAX  64
/* Receive batches per loop turn before flushing, so ACKs keep flowing. */
#define RX_TURNS 8
#define SOCK_BUF (8 << 20)
/* RFC 9114 §8.1 */
#define H3_REQUEST_CANCELLED 0x10cULL

struct opts {
    const char *addr, *port, *cert, *key, *keylog, *records_out;
    int json, quiet;
    double stats_interval; /* < 0: default (1 s on a tty, else off) */
    double drain_timeout;
    struct sink_params p;
};

/* Room for a UDP_SEGMENT/UDP_GRO and an IP_TOS/IPV6_TCLASS (ECN) control message. */
union cmsg_space {
    char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

struct txbatch {
    int fd, gso, v6;
    unsigned n;
    uint64_t dropped;
    struct mmsghdr msg[TX_BATCH];
    struct iovec iov[TX_BATCH];
    struct sockaddr_storage to[TX_BATCH];
    socklen_t tolen[TX_BATCH];
    size_t seg[TX_BATCH]; /* datagram size of the group */
    unsigned nseg[TX_BATCH];
    int ended[TX_BATCH]; /* a shorter datagram ends a GSO group */
    uint8_t ecn[TX_BATCH]; /* ECN codepoint of the group (one per message) */
    union cmsg_space ctl[TX_BATCH];
    uint8_t buf[TX_BATCH][MSG_MAX];
};

struct rxbatch {
    int gro, tos; /* tos: IP_RECVTOS / IPV6_RECVTCLASS on: the ECN bits arrive */
    struct mmsghdr msg[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    union cmsg_space ctl[RX_BATCH];
    uint8_t buf[RX_BATCH][MSG_MAX];
};

static volatile sig_atomic_t sig_goaway, sig_term, sig_goaway_keep, sig_key_update;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        sig_goaway = 1;
    else if (sig == SIGHUP)
        sig_goaway_keep = 1;
    else if (sig == SIGUSR2)
        sig_key_update = 1;
    else
        sig_term++;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: h3sink --addr ADDR --port PORT --cert FILE --key FILE [options]\n"
               "  --addr ADDR            address to bind (IPv4 or IPv6)\n"
               "  --port PORT            UDP port (0: any free port; see the listening line)\n"
               "  --cert FILE, --key FILE  PEM certificate chain and private key\n"
               "  --json                 totals as one JSON object per line on stdout\n"
               "  --max-streams N        concurrent requests per connection (default 100)\n"
               "  --max-data BYTES       connection flow-control window (default 16 MiB)\n"
               "  --max-stream-data BYTES  per-request window (default 4 MiB)\n"
               "  --idle-timeout S       idle timeout in seconds (default 30)\n"
               "  --max-conns N          refuse new connections beyond N open ones (0: no\n"
               "                         limit, the default)\n"
               "  --stats-interval S     print totals every S seconds (0: off; default 1\n"
               "                         when stdout is a tty, else off)\n"
               "  --drain-timeout S      SIGTERM/SIGINT grace period (default 5)\n"
               "  --keylog FILE          append TLS secrets (SSLKEYLOGFILE format)\n"
               "  --client-ca FILE       require a client certificate signed by this CA (mTLS)\n"
               "  --quiet                no human-readable totals\n"
               "  --no-early-data        refuse 0-RTT (tickets still offer it): early\n"
               "                         requests are rejected, clients send them again\n"
               "  --records-out FILE     append the decoded records of accepted newline-\n"
               "                         or length-framed uploads to FILE, as framed\n"
               "  --help, --version      this help; the version\n"
               "test hooks:\n"
               "  --response-delay-ms MS delay every response\n"
               "  --fault-bad-headers    GET /fault/bad-headers gets a malformed response\n"
               "  --fault-status CODE    answer every Nth POST/PUT with CODE (100..599)\n"
               "                         once its body is read\n"
               "  --fault-reject         reset every Nth POST/PUT with H3_REQUEST_REJECTED\n"
               "                         as its headers arrive (not processed)\n"
               "  --fault-every N        N for --fault-status or --fault-reject (default 1)\n"
               "  --fault-retry-after S  send retry-after: S with those answers (0..86400)\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_secs(const char *s, double max, double *out)
{
    char *end;
    double v;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v >= 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_ADDR = 256,
        O_PORT,
        O_CERT,
        O_KEY,
        O_JSON,
        O_MAXSTREAMS,
        O_MAXDATA,
        O_MAXSTREAMDATA,
        O_IDLE,
        O_STATS,
        O_DRAIN,
        O_KEYLOG,
        O_CLIENT_CA,
        O_QUIET,
        O_RECORDS_OUT,
        O_DELAY,
        O_FAULT,
        O_FAULT_STATUS,
        O_FAULT_EVERY,
        O_FAULT_RETRY_AFTER,
        O_FAULT_REJECT,
        O_NO_EARLY,
        O_MAXCONNS,
        O_HELP,
        O_VERSION
    };
    static const struct option lo[] = {
        {"addr", required_argument, NULL, O_ADDR},
        {"port", required_argument, NULL, O_PORT},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"json", no_argument, NULL, O_JSON},
        {"max-streams", required_argument, NULL, O_MAXSTREAMS},
        {"max-data", required_argument, NULL, O_MAXDATA},
        {"max-stream-data", required_argument, NULL, O_MAXSTREAMDATA},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"stats-interval", required_argument, NULL, O_STATS},
        {"drain-timeout", required_argument, NULL, O_DRAIN},
        {"keylog", required_argument, NULL, O_KEYLOG},
        {"client-ca", required_argument, NULL, O_CLIENT_CA},
        {"quiet", no_argument, NULL, O_QUIET},
        {"records-out", required_argument, NULL, O_RECORDS_OUT},
        {"response-delay-ms", required_argument, NULL, O_DELAY},
        {"fault-bad-headers", no_argument, NULL, O_FAULT},
        {"fault-status", required_argument, NULL, O_FAULT_STATUS},
        {"fault-every", required_argument, NULL, O_FAULT_EVERY},
        {"fault-retry-after", required_argument, NULL, O_FAULT_RETRY_AFTER},
        {"fault-reject", no_argument, NULL, O_FAULT_REJECT},
        {"no-early-data", no_argument, NULL, O_NO_EARLY},
        {"max-conns", required_argument, NULL, O_MAXCONNS},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    /* QUIC stream counts and flow-control limits are varints < 2^62 (RFC 9000 §16). */
    const uint64_t varint_max = (1ULL << 62) - 1;
    uint64_t v;
    double d;
    int c, fault_tuned = 0;
    const char *range = "";

    memset(o, 0, sizeof(*o));
    sink_params_default(&o->p);
    o->stats_interval = -1;
    o->drain_timeout = 5;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_ADDR:
            o->addr = optarg;
            break;
        case O_PORT:
            if (parse_u64(optarg, 65535, &v) < 0)
                goto bad;
            o->port = optarg;
            break;
        case O_CERT:
            o->cert = optarg;
            break;
        case O_KEY:
            o->key = optarg;
            break;
        case O_JSON:
            o->json = 1;
            break;
        case O_QUIET:
            o->quiet = 1;
            break;
        case O_KEYLOG:
            o->keylog = optarg;
            break;
        case O_RECORDS_OUT:
            o->records_out = optarg;
            break;
        case O_CLIENT_CA:
            o->p.client_ca_file = optarg;
            break;
        case O_FAULT:
            o->p.fault_bad_response_headers = 1;
            break;
        case O_NO_EARLY:
            o->p.no_early_data = 1;
            break;
        case O_MAXCONNS:
            if (parse_u64(optarg, UINT32_MAX, &v) < 0)
                goto bad;
            o->p.max_conns = v;
            break;
        case O_MAXSTREAMS:
            if (parse_u64(optarg, varint_max, &v) < 0 || v == 0)
                goto bad;
            o->p.max_streams_bidi = v;
            break;
        case O_MAXDATA:
            if (parse_u64(optarg, varint_max, &v) < 0 || v == 0)
                goto bad;
            o->p.initial_max_data = v;
            break;
        case O_MAXSTREAMDATA:
            if (parse_u64(optarg, varint_max, &v) < 0 || v == 0)
                goto bad;
            o->p.initial_max_stream_data_bidi_remote = v;
            break;
        case O_IDLE:
            if (parse_secs(optarg, 86400, &d) < 0 || d <= 0)
                goto bad;
            o->p.idle_timeout_ns = (uint64_t)(d * NS_PER_S);
            break;
        case O_STATS:
            if (parse_secs(optarg, 86400, &o->stats_interval) < 0)
                goto bad;
            break;
        case O_DRAIN:
            if (parse_secs(optarg, 86400, &o->drain_timeout) < 0)
                goto bad;
            break;
        case O_DELAY:
            if (parse_u64(optarg, 3600 * 1000, &v) < 0)
                goto bad;
            o->p.response_delay_ns = v * 1000000ULL;
            break;
        case O_FAULT_STATUS:
            range = " (an HTTP status code, 100..599)";
            if (parse_u64(optarg, SINK_STATUS_MAX, &v) < 0 || v < SINK_STATUS_MIN)
                goto bad;
            o->p.fault_status = (int)v;
            break;
        case O_FAULT_EVERY:
            range = " (a count, at least 1)";
            if (parse_u64(optarg, UINT64_MAX, &v) < 0 || v == 0)
                goto bad;
            o->p.fault_every = v;
            fault_tuned = 1;
            break;
        case O_FAULT_RETRY_AFTER:
            range = " (whole seconds, 0..86400)";
            if (parse_u64(optarg, SINK_RETRY_AFTER_MAX, &v) < 0)
                goto bad;
            o->p.fault_retry_after = 1;
            o->p.fault_retry_after_s = (uint32_t)v;
            fault_tuned = 1;
            break;
        case O_FAULT_REJECT:
            o->p.fault_reject = 1;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        case O_VERSION:
            h3dp_version_print(stdout, "h3sink");
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "h3sink: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->p.fault_reject && (o->p.fault_status != 0 || o->p.fault_retry_after)) {
        fprintf(stderr, "h3sink: --fault-reject goes without --fault-status and "
                        "--fault-retry-after\n");
        return -1;
    }
    if (fault_tuned && o->p.fault_status == 0 && !o->p.fault_reject) {
        fprintf(stderr, "h3sink: --fault-every and --fault-retry-after need --fault-status\n");
        return -1;
    }
    if (!o->addr || !o->port || !o->cert || !o->key) {
        fprintf(stderr, "h3sink: --addr, --port, --cert and --key are required\n");
        usage(stderr);
        return -1;
    }
    if (o->stats_interval < 0)
        o->stats_interval = isatty(STDOUT_FILENO) ? 1 : 0;
    o->p.cert_file = o->cert;
    o->p.key_file = o->key;
    o->p.keylog_file = o->keylog;
    return 0;
bad:
    fprintf(stderr, "h3sink: bad value '%s' for --%s%s\n", optarg, lo[c - O_ADDR].name, range);
    return -1;
}

static int open_socket(const struct opts *o, struct sockaddr_storage *local, socklen_t *local_len,
                       char *shown, size_t shownlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char host[INET6_ADDRSTRLEN], serv[8];
    int fd, one = 1, buf = SOCK_BUF, rv;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rv = getaddrinfo(o->addr, o->port, &hints, &ai);
    if (rv != 0) {
        fprintf(stderr, "h3sink: cannot resolve %s: %s\n", o->addr, gai_strerror(rv));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "h3sink: socket: %s\n", strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    /* Bigger socket buffers absorb bursts (thousands of connections' keep-alives and
     * handshakes at once): past the kernel's cap (rmem_max) where we may (root:
     * CAP_NET_ADMIN), else as much as the cap allows. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "h3sink: cannot bind %s port %s: %s\n", o->addr, o->port, strerror(errno));
        freeaddrinfo(ai);
        close(fd);
        return -1;
    }
    freeaddrinfo(ai);
    *local_len = sizeof(*local);
    if (getsockname(fd, (struct sockaddr *)local, local_len) < 0 ||
        getnameinfo((struct sockaddr *)local, *local_len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        fprintf(stderr, "h3sink: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    snprintf(shown, shownlen, local->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
    return fd;
}

static void tx_flush(struct txbatch *t)
{
    unsigned off = 0;
    for (unsigned i = 0; i < t->n; i++) {
        struct msghdr *h = &t->msg[i].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_name = &t->to[i];
        h->msg_namelen = t->tolen[i];
        h->msg_iov = &t->iov[i];
        h->msg_iovlen = 1;
        if (t->nseg[i] > 1 || t->ecn[i] != 0) {
            struct cmsghdr *cm;
            memset(t->ctl[i].buf, 0, sizeof(t->ctl[i].buf));
            h->msg_control = t->ctl[i].buf;
            h->msg_controllen = 0;
            cm = (struct cmsghdr *)t->ctl[i].buf;
            if (t->nseg[i] > 1) {
                /* UDP GSO: the kernel cuts the buffer into seg[i]-byte datagrams. */
                uint16_t seg = (uint16_t)t->seg[i];
                cm->cmsg_level = SOL_UDP;
                cm->cmsg_type = UDP_SEGMENT;
                cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
                h->msg_controllen += CMSG_SPACE(sizeof(uint16_t));
                cm = (struct cmsghdr *)(t->ctl[i].buf + h->msg_controllen);
            }
            if (t->ecn[i] != 0) {
                /* The ECN codepoint ngtcp2 asked for, in the TOS / traffic class byte. */
                int tos = t->ecn[i];
                cm->cmsg_level = t->v6 ? IPPROTO_IPV6 : IPPROTO_IP;
                cm->cmsg_type = t->v6 ? IPV6_TCLASS : IP_TOS;
                cm->cmsg_len = CMSG_LEN(sizeof(tos));
                memcpy(CMSG_DATA(cm), &tos, sizeof(tos));
                h->msg_controllen += CMSG_SPACE(sizeof(tos));
            }
        }
    }
    while (off < t->n) {
        int n = sendmmsg(t->fd, &t->msg[off], t->n - off, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN or an ICMP error: QUIC loss recovery resends what matters. */
            t->dropped += t->n - off;
            break;
        }
        off += (unsigned)n;
    }
    t->n = 0;
}

static void tx_send(void *arg, const struct sockaddr *remote, socklen_t remote_len,
                    const uint8_t *data, size_t len, uint8_t ecn)
{
    struct txbatch *t = arg;
    unsigned i;

    if (len > MSG_MAX || remote_len > sizeof(t->to[0])) {
        t->dropped++;
        return;
    }
    if (t->gso && t->n > 0) {
        i = t->n - 1;
        if (!t->ended[i] && len <= t->seg[i] && t->nseg[i] < GSO_SEGS_MAX && t->ecn[i] == ecn &&
            t->iov[i].iov_len + len <= GSO_BYTES_MAX && t->tolen[i] == remote_len &&
            memcmp(&t->to[i], remote, remote_len) == 0) {
            memcpy(t->buf[i] + t->iov[i].iov_len, data, len);
            t->iov[i].iov_len += len;
            t->nseg[i]++;
            t->ended[i] = len < t->seg[i];
            return;
        }
    }
    if (t->n == TX_BATCH)
        tx_flush(t);
    i = t->n++;
    memcpy(t->buf[i], data, len);
    memcpy(&t->to[i], remote, remote_len);
    t->tolen[i] = remote_len;
    t->iov[i].iov_base = t->buf[i];
    t->iov[i].iov_len = len;
    t->seg[i] = len;
    t->nseg[i] = 1;
    t->ended[i] = 0;
    t->ecn[i] = ecn;
}

/* The GRO segment size of a received message (0: none) and the ECN bits it arrived with
 * (GRO merges only datagrams with the same TOS). */
static size_t rx_meta(struct msghdr *h, uint8_t *ecn)
{
    size_t seg = 0;

    *ecn = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            int v;
            memcpy(&v, CMSG_DATA(cm), sizeof(v));
            seg = v > 0 ? (size_t)v : 0;
        } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) {
            *ecn = *CMSG_DATA(cm) & 0x3; /* one byte (IP_RECVTOS) */
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS) {
            int v;
            memcpy(&v, CMSG_DATA(cm), sizeof(v));
            *ecn = (uint8_t)(v & 0x3);
        }
    }
    return seg;
}

/* Receive what is queued (bounded); returns -1 on a socket error. */
static int rx_drain(int fd, struct rxbatch *r, struct sink *s, const struct sockaddr_storage *local,
                    socklen_t local_len)
{
    for (int turn = 0; turn < RX_TURNS; turn++) {
        int n;
        for (int i = 0; i < RX_BATCH; i++) {
            struct msghdr *h = &r->msg[i].msg_hdr;
            r->iov[i].iov_base = r->buf[i];
            r->iov[i].iov_len = sizeof(r->buf[i]);
            memset(h, 0, sizeof(*h));
            h->msg_name = &r->from[i];
            h->msg_namelen = sizeof(r->from[i]);
            h->msg_iov = &r->iov[i];
            h->msg_iovlen = 1;
            if (r->gro || r->tos) {
                h->msg_control = r->ctl[i].buf;
                h->msg_controllen = sizeof(r->ctl[i].buf);
            }
        }
        n = recvmmsg(fd, r->msg, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            /* ICMP errors (port unreachable from a gone client) surface here. */
            if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
                continue;
            fprintf(stderr, "h3sink: recvmmsg: %s\n", strerror(errno));
            return -1;
        }
        uint64_t t = mono_ns();
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &r->msg[i].msg_hdr;
            uint8_t ecn = 0;
            size_t len = r->msg[i].msg_len, seg = r->gro || r->tos ? rx_meta(h, &ecn) : 0;
            if (h->msg_flags & MSG_TRUNC)
                continue; /* larger than any QUIC datagram */
            if (seg == 0)
                seg = len;
            /* With GRO one message holds several datagrams of |seg| bytes. */
            for (size_t off = 0; off < len; off += seg) {
                size_t dl = len - off < seg ? len - off : seg;
                if (sink_recv_ecn(s, (const struct sockaddr *)local, local_len,
                                  (const struct sockaddr *)&r->from[i], h->msg_namelen,
                                  r->buf[i] + off, dl, ecn, t) == -ENOMEM) {
                    fprintf(stderr, "h3sink: out of memory\n");
                    return -1;
                }
            }
        }
        if (n < RX_BATCH)
            return 0;
    }
    return 0;
}

struct totals {
    uint64_t start, first_body, last_body, last_body_bytes;
    uint64_t prev_t, prev_bytes;
};

/* The framing totals: records_framed, framing_mismatch, and per h3dp-framing value
 * the accepted uploads and their records; records_out_errors with --records-out. */
static void framing_json(const struct opts *o, json_t *j, const struct sink_rec_stats *f)
{
    json_t *per = json_object();

    json_object_set_new(j, "records_framed", json_integer((json_int_t)f->records_framed));
    json_object_set_new(j, "framing_mismatch", json_integer((json_int_t)f->mismatch));
    for (int i = 0; per != NULL && i < SINK_FRAMING_KINDS; i++)
        json_object_set_new(per, sink_framing_name(SINK_FRAMING_NONE + i),
                            json_pack("{s:I, s:I}", "uploads", (json_int_t)f->uploads[i], "records",
                                      (json_int_t)f->records[i]));
    if (per != NULL)
        json_object_set_new(j, "framing", per);
    if (o->records_out != NULL)
        json_object_set_new(j, "records_out_errors", json_integer((json_int_t)f->out_errors));
}

/* Session resumption and 0-RTT: handshakes that resumed, that accepted early data,
 * tickets sent, requests received in 0-RTT. */
static void early_json(json_t *j, const struct sink_stats *st)
{
    json_object_set_new(j, "connections_refused_limit",
                        json_integer((json_int_t)st->conns_refused_limit));
    json_object_set_new(j, "datagram_in_max", json_integer((json_int_t)st->pkt_in_max));
    json_object_set_new(j, "resumed", json_integer((json_int_t)st->conns_resumed));
    json_object_set_new(j, "early_accepted", json_integer((json_int_t)st->conns_early));
    json_object_set_new(j, "tickets_sent", json_integer((json_int_t)st->tickets_sent));
    json_object_set_new(j, "early_requests", json_integer((json_int_t)st->early_requests));
}

static void print_totals(const struct opts *o, const struct sink *s, struct totals *tt,
                         uint64_t now, int final)
{
    const struct sink_stats *st = sink_stats(s);
    double span =
        tt->last_body > tt->first_body ? (double)(tt->last_body - tt->first_body) / NS_PER_S : 0;
    double avg = span > 0 ? (double)st->body_bytes_in / span / 1e6 : 0;
    double dt = now > tt->prev_t ? (double)(now - tt->prev_t) / NS_PER_S : 0;
    double cur = dt > 0 ? (double)(st->body_bytes_in - tt->prev_bytes) / dt / 1e6 : 0;

    tt->prev_t = now;
    tt->prev_bytes = st->body_bytes_in;
    if (o->json) {
        json_t *j = json_pack(
            "{s:b, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
            " s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "final", final, "uptime_s", (double)(now - tt->start) / NS_PER_S, "connections",
            (json_int_t)st->conns_accepted, "connections_closed", (json_int_t)st->conns_closed,
            "connections_closed_ok", (json_int_t)st->conns_closed_ok, "connections_closed_error",
            (json_int_t)st->conns_closed_error, "connections_idle_timeout",
            (json_int_t)st->conns_idle_timeout, "requests", (json_int_t)st->requests,
            "requests_bad", (json_int_t)st->requests_bad, "responses_2xx",
            (json_int_t)st->responses_2xx, "responses_4xx", (json_int_t)st->responses_4xx,
            "responses_5xx", (json_int_t)st->responses_5xx, "streams_reset",
            (json_int_t)st->streams_reset, "body_bytes_in", (json_int_t)st->body_bytes_in,
            "body_bytes_out", (json_int_t)st->body_bytes_out, "digest_ok",
            (json_int_t)st->digest_ok, "digest_bad", (json_int_t)st->digest_bad, "digest_none",
            (json_int_t)st->digest_none, "goaways_sent", (json_int_t)st->goaways_sent, "rate_mb_s",
            avg, "interval_rate_mb_s", cur, "records", (json_int_t)st->records_2xx, "batches",
            (json_int_t)st->batches_unique, "batches_dup", (json_int_t)st->batches_dup,
            "records_dup", (json_int_t)st->records_dup, "body_bytes_decoded",
            (json_int_t)st->body_bytes_decoded, "decode_errors", (json_int_t)st->decode_errors,
            "faults_sent", (json_int_t)st->faults_sent, "rejects_sent",
            (json_int_t)st->rejects_sent, "uploads_no_length",
            (json_int_t)st->uploads_no_length);
        if (j != NULL)
            framing_json(o, j, &st->framing);
        if (j != NULL)
            early_json(j, st);
        if (j != NULL) {
            json_object_set_new(j, "pkts_in_ect", json_integer((json_int_t)st->pkts_in_ect));
            json_object_set_new(j, "pkts_in_ce", json_integer((json_int_t)st->pkts_in_ce));
            json_object_set_new(j, "key_updates_started",
                                json_integer((json_int_t)st->key_updates_started));
        }
        if (j != NULL && final) {
            /* How the last connections ended (oldest first). */
            json_t *arr = json_array();
            uint64_t first =
                st->conns_closed > SINK_CLOSE_LOG ? st->conns_closed - SINK_CLOSE_LOG : 0;
            for (uint64_t i = first; arr != NULL && i < st->conns_closed; i++) {
                const struct sink_close_rec *r = &st->closes[i % SINK_CLOSE_LOG];
                json_array_append_new(arr, json_pack("{s:I, s:s, s:s}", "code",
                                                     (json_int_t)r->error_code, "kind",
                                                     r->idle  ? "idle"
                                                     : r->app ? "application"
                                                              : "transport",
                                                     "by", r->local ? "local" : "peer"));
            }
            if (arr != NULL)
                json_object_set_new(j, "closes", arr);
        }
        if (j != NULL) {
            char *line = json_dumps(j, JSON_COMPACT);
            if (line != NULL) {
                puts(line);
                free(line);
            }
            json_decref(j);
        }
    } else if (!o->quiet) {
        printf("%s: connections %" PRIu64 " (closed %" PRIu64 ", ok %" PRIu64 ", error %" PRIu64
               ", idle %" PRIu64 ") requests %" PRIu64 " (bad %" PRIu64 ") body in %" PRIu64
               " B (decoded %" PRIu64 " B, decode errors %" PRIu64 ") out %" PRIu64
               " B rate %.1f MB/s (now %.1f)"
               " digest ok %" PRIu64 " bad %" PRIu64 " none %" PRIu64 " goaway %" PRIu64
               " faults %" PRIu64 " records %" PRIu64 " (framed %" PRIu64
               ", framing errors %" PRIu64 ")\n",
               final ? "total" : "stats", st->conns_accepted, st->conns_closed, st->conns_closed_ok,
               st->conns_closed_error, st->conns_idle_timeout, st->requests, st->requests_bad,
               st->body_bytes_in, st->body_bytes_decoded, st->decode_errors, st->body_bytes_out,
               avg, cur, st->digest_ok, st->digest_bad, st->digest_none, st->goaways_sent,
               st->faults_sent, st->records_2xx, st->framing.records_framed, st->framing.mismatch);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct txbatch tx;
    static struct rxbatch rx;
    struct opts o;
    struct sink *s;
    struct sockaddr_storage local;
    socklen_t local_len;
    char err[256], shown[80];
    sigset_t block, orig;
    struct sigaction sa = {0};
    struct totals tt = {0};
    uint64_t deadline = UINT64_MAX, next_stats = UINT64_MAX;
    int fd, draining = 0, rc = 0;

    if (parse_opts(argc, argv, &o) < 0)
        return EXIT_USAGE;
    if (o.records_out != NULL && (o.p.records_out = fopen(o.records_out, "a")) == NULL) {
        fprintf(stderr, "h3sink: cannot open %s: %s\n", o.records_out, strerror(errno));
        return EXIT_RUNTIME;
    }
    s = sink_new(&o.p, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "h3sink: %s\n", err);
        if (o.p.records_out != NULL)
            fclose(o.p.records_out);
        return EXIT_RUNTIME;
    }
    fd = open_socket(&o, &local, &local_len, shown, sizeof(shown));
    if (fd < 0) {
        sink_del(s);
        if (o.p.records_out != NULL)
            fclose(o.p.records_out);
        return EXIT_RUNTIME;
    }
    tx.fd = fd;
    /* UDP GSO/GRO when the kernel has them (Linux >= 4.18 / 5.0): fewer syscalls. */
    {
        int one = 1, zero = 0;
        tx.gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
        rx.gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
        /* ECN (RFC 9000 13.4): the TOS / traffic class of each datagram in, ECT marks out. */
        tx.v6 = local.ss_family == AF_INET6;
        rx.tos = tx.v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) == 0
                       : setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) == 0;
    }

    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Signals are only delivered inside ppoll: no lost wake-ups. */
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);

    tt.start = tt.prev_t = mono_ns();
    if (o.stats_interval > 0)
        next_stats = tt.start + (uint64_t)(o.stats_interval * NS_PER_S);
    printf("listening on %s\n", shown);
    fflush(stdout);

    for (;;) {
        uint64_t now = mono_ns(), wake = sink_expiry(s);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        struct timespec ts, *tsp = NULL;

        if (next_stats < wake)
            wake = next_stats;
        if (deadline < wake)
            wake = deadline;
        if (wake != UINT64_MAX) {
            uint64_t d = wake > now ? wake - now : 0;
            ts.tv_sec = (time_t)(d / NS_PER_S);
            ts.tv_nsec = (long)(d % NS_PER_S);
            tsp = &ts;
        }
        if (ppoll(&pfd, 1, tsp, &orig) < 0 && errno != EINTR) {
            fprintf(stderr, "h3sink: ppoll: %s\n", strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        now = mono_ns();
        if (sig_goaway_keep) {
            /* GOAWAY on the current connections; new ones are still served. */
            sig_goaway_keep = 0;
            sink_goaway_keep_serving(s, now);
        }
        if (sig_key_update) {
            sig_key_update = 0;
            sink_update_keys(s, now);
        }
        if (sig_goaway || sig_term) {
            if (!draining) {
                draining = 1;
                sink_goaway(s, now);
            }
            if (sig_term && deadline == UINT64_MAX)
                deadline = now + (uint64_t)(o.drain_timeout * NS_PER_S);
            if (sig_term > 1)
                deadline = now;
            sig_goaway = 0;
        }
        if (pfd.revents & POLLIN) {
            uint64_t before = sink_stats(s)->body_bytes_in;
            if (rx_drain(fd, &rx, s, &local, local_len) < 0) {
                rc = EXIT_RUNTIME;
                break;
            }
            now = mono_ns();
            if (sink_stats(s)->body_bytes_in != before) {
                if (tt.first_body == 0)
                    tt.first_body = now;
                tt.last_body = now;
            }
        }
        if (sink_expiry(s) <= now)
            sink_handle_expiry(s, now);
        if (now >= deadline)
            sink_close_all(s, H3_REQUEST_CANCELLED, "shutdown deadline", now);
        sink_flush_ecn(s, now, tx_send, &tx);
        tx_flush(&tx);
        if (now >= next_stats) {
            print_totals(&o, s, &tt, now, 0);
            next_stats = now + (uint64_t)(o.stats_interval * NS_PER_S);
        }
        if (draining && (sink_idle(s) || now >= deadline))
            break;
    }
    print_totals(&o, s, &tt, mono_ns(), 1);
    sink_del(s);
    close(fd);
    if (o.p.records_out != NULL && fclose(o.p.records_out) != 0) {
        fprintf(stderr, "h3sink: %s: %s\n", o.records_out, strerror(errno));
        rc = EXIT_RUNTIME;
    }
    return rc;
}
