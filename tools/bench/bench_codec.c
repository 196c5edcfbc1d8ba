/* bench_codec: what coding and digesting an upload's batches costs the main thread, on
 * telemetry-like text rather than the generator's (which compresses a hundredfold).
 *
 * The corpus: JSON lines of about RECORD bytes (a timestamp, one of 64 hosts, one of 16
 * metrics, a value, and a message of words from a small vocabulary, as log lines have),
 * cut into batches of BATCH bytes as the engine cuts them. Each batch is coded exactly as
 * upload/up_batch.c does (gzip: deflateInit2(level, Z_DEFLATED, 15 + 16, 8,
 * Z_DEFAULT_STRATEGY) reset per batch; zstd: ZSTD_compressCCtx at the level) and its
 * RFC 9530 content-digest computed (base/crypto: SHA-256 + base64). Reported per codec
 * and level: input MB/s on one core (thread CPU time), the coded size over the plain
 * size, and the share of one core that coding plus the digest take at RATE records/s.
 *
 * usage: bench_codec [RATE [RECORD [BATCH [MB]]]]   (50000 1024 262144 256) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>
#include <zstd.h>

#include "crypto.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* The corpus: |total| bytes of JSON lines of about |rec| bytes. */
static uint8_t *corpus(size_t total, size_t rec, size_t *len)
{
    static const char *const metric[] = {
        "cpu.user", "cpu.system", "mem.used", "mem.free", "disk.read", "disk.write",
        "net.rx_bytes", "net.tx_bytes", "net.rx_drops", "temp.board", "temp.cpu",
        "fan.rpm", "psu.watts", "queue.depth", "latency.p99", "errors.crc",
    };
    static const char *const word[] = {
        "link", "up", "down", "flow", "table", "entry", "added", "removed", "timeout",
        "retry", "session", "port", "queue", "threshold", "exceeded", "restored", "sensor",
        "reading", "ok", "warning", "critical", "interface", "eth0", "eth1", "vlan",
        "neighbor", "route", "update", "config", "applied", "checksum", "mismatch",
    };
    uint8_t *buf = malloc(total + rec + 256);
    size_t off = 0;
    uint64_t ts = 1764460800000ull;

    if (!buf)
        return NULL;
    for (uint64_t seq = 0; off < total; seq++) {
        char *p = (char *)buf + off;
        int n = sprintf(p,
                        "{\"seq\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"host\":\"appliance-%02u\","
                        "\"metric\":\"%s\",\"value\":%u.%03u,\"msg\":\"",
                        seq, ts += rnd() % 40, (unsigned)(rnd() % 64), metric[rnd() % 16],
                        (unsigned)(rnd() % 100000), (unsigned)(rnd() % 1000));
        while ((size_t)n + 12 < rec) {
            const char *w = word[rnd() % 32];
            n += sprintf(p + n, "%s ", w);
        }
        n += sprintf(p + n, "\"}\n");
        off += (size_t)n;
    }
    *len = off;
    return buf;
}

struct result {
    double mbps, ratio, share;
};

static struct result run(int codec, int level, const uint8_t *data, size_t len, size_t batch,
                         double rate, size_t rec)
{
    size_t cap = compressBound((uLong)batch) + ZSTD_compressBound(batch) + 64, out = 0;
    uint8_t *z = malloc(cap);
    z_stream zs;
    ZSTD_CCtx *zc = NULL;
    char digest[128];
    double t0, t;

    memset(&zs, 0, sizeof(zs));
    if (codec == 1 && deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(1);
    if (codec == 2 && !(zc = ZSTD_createCCtx()))
        exit(1);
    t0 = cpu_s();
    for (size_t off = 0; off < len; off += batch) {
        size_t n = len - off < batch ? len - off : batch, m = n;
        const uint8_t *body = data + off;
        if (codec == 1) {
            deflateReset(&zs);
            zs.next_in = (Bytef *)(uintptr_t)body;
            zs.avail_in = (uInt)n;
            zs.next_out = z;
            zs.avail_out = (uInt)cap;
            if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
                exit(1);
            m = cap - zs.avail_out;
            body = z;
        } else if (codec == 2) {
            m = ZSTD_compressCCtx(zc, z, cap, body, n, level);
            if (ZSTD_isError(m))
                exit(1);
            body = z;
        }
        if (crypto_content_digest(body, m, digest, sizeof(digest)) <= 0)
            exit(1);
        out += m;
    }
    t = cpu_s() - t0;
    if (codec == 1)
        deflateEnd(&zs);
    ZSTD_freeCCtx(zc);
    free(z);
    return (struct result){ .mbps = (double)len / t / 1e6,
                            .ratio = (double)out / (double)len,
                            .share = rate * (double)rec / ((double)len / t) };
}

int main(int argc, char **argv)
{
    double rate = argc > 1 ? atof(argv[1]) : 50000;
    size_t rec = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
    size_t batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 256 << 10;
    size_t mb = argc > 4 ? strtoul(argv[4], NULL, 10) : 256, len;
    static const struct {
        const char *name;
        int codec, level;
    } cases[] = { { "none (digest only)", 0, 0 }, { "gzip 1", 1, 1 }, { "gzip 6", 1, 6 },
                  { "zstd 1", 2, 1 }, { "zstd 3", 2, 3 } };

    if (rate <= 0 || rec < 64 || batch < rec || mb == 0) {
        fprintf(stderr, "usage: bench_codec [RATE [RECORD [BATCH [MB]]]]\n");
        return 2;
    }
    uint8_t *data = corpus(mb << 20, rec, &len);
    if (!data)
        return 1;
    printf("bench_codec: %zu MB of JSON telemetry lines of ~%zu bytes, batches of %zu bytes; "
           "share of one core at %.0f records/s (%.1f MB/s)\n",
           len >> 20, rec, batch, rate, rate * (double)rec / 1e6);
    printf("  %-20s %10s %10s %14s\n", "codec + digest", "MB/s", "out/in", "core share");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result best = { 0 };
        for (int k = 0; k < 3; k++) { /* best of three: the least disturbed run */
            struct result r = run(cases[i].codec, cases[i].level, data, len, batch, rate, rec);
            if (r.mbps > best.mbps)
                best = r;
        }
        printf("  %-20s %10.1f %10.3f %13.1f%%\n", cases[i].name, best.mbps, best.ratio,
               best.share * 100);
    }
    free(data);
    return 0;
}
