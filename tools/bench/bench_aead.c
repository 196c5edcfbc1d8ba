/* bench_aead: the AEAD-only floor of an HTTP/3 upload, in CPU seconds per GiB.
 *
 * Seals (and separately opens) N bytes of payload in 1200-byte QUIC packets with
 * AES-128-GCM through GnuTLS, the cipher and library ngtcp2_crypto_gnutls uses for
 * TLS_AES_128_GCM_SHA256. Each packet: a 12-byte nonce made as RFC 9001 §5.3 says (the
 * IV XORed with the packet number), a short-header-sized AAD, a 16-byte tag. With -p it
 * also applies RFC 9001 §5.4.3 header protection (one AES-ECB block per packet, done as
 * one AES-128-CBC block with a zero IV) so the floor matches what a sender pays per packet.
 *
 * No QUIC, no HTTP/3, no syscalls: whatever the full stack spends above this figure is
 * framing, congestion control, copies and I/O. Each case: median of R runs (default 5)
 * of process CPU time (user+sys, CLOCK_PROCESS_CPUTIME_ID), scaled to seconds per GiB.
 *
 * Usage: bench_aead [-m MiB per run (default 1024)] [-r runs] [-p]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

/* RFC 9000 §14: the smallest datagram every path must carry; the packet size we send. */
#define BENCH_PKT_SIZE 1200
/* RFC 9001 §5.3: AEAD_AES_128_GCM key, IV (nonce) and tag lengths. */
#define BENCH_KEY_LEN 16
#define BENCH_IV_LEN  12
#define BENCH_TAG_LEN 16
/* RFC 9000 §17.3.1 short header: 1 flag byte + 8-byte DCID (ours) + up to 4-byte PN. */
#define BENCH_HDR_LEN (1 + 8 + 4)
/* RFC 9001 §5.4.2: the header-protection sample is 16 bytes. */
#define BENCH_HP_SAMPLE_LEN 16
/* Ciphertext payload per packet: what is left once header and tag are in. */
#define BENCH_PAYLOAD_LEN (BENCH_PKT_SIZE - BENCH_HDR_LEN - BENCH_TAG_LEN)
#define BENCH_MAX_RUNS    31

enum bench_dir { BENCH_SEAL, BENCH_OPEN };

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nonce of packet |pn|: the IV with the packet number XORed into its low bytes. */
static void make_nonce(uint8_t *nonce, const uint8_t *iv, uint64_t pn)
{
    memcpy(nonce, iv, BENCH_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[BENCH_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* One run: |npkts| packets in direction |dir|; returns CPU seconds or a negative value. */
static double run_once(gnutls_aead_cipher_hd_t aead, gnutls_cipher_hd_t hp, enum bench_dir dir,
                       uint64_t npkts, const uint8_t *iv, uint8_t *plain, uint8_t *sealed,
                       size_t sealed_len)
{
    uint8_t hdr[BENCH_HDR_LEN] = {0x40};
    uint8_t nonce[BENCH_IV_LEN];
    uint8_t mask[BENCH_HP_SAMPLE_LEN];
    double t0 = cpu_now();

    for (uint64_t pn = 0; pn < npkts; pn++) {
        make_nonce(nonce, iv, dir == BENCH_OPEN ? 0 : pn);
        hdr[BENCH_HDR_LEN - 1] = (uint8_t)pn;
        if (dir == BENCH_SEAL) {
            uint8_t out[BENCH_PAYLOAD_LEN + BENCH_TAG_LEN];
            size_t out_len = sizeof(out);

            if (gnutls_aead_cipher_encrypt(aead, nonce, sizeof(nonce), hdr, sizeof(hdr),
                                           BENCH_TAG_LEN, plain, BENCH_PAYLOAD_LEN, out,
                                           &out_len) < 0)
                return -1;
            if (hp != NULL) {
                /* Zero IV each packet: one CBC block equals one ECB block. */
                uint8_t zero[16] = {0};

                gnutls_cipher_set_iv(hp, zero, sizeof(zero));
                if (gnutls_cipher_encrypt2(hp, out, BENCH_HP_SAMPLE_LEN, mask, sizeof(mask)) < 0)
                    return -1;
                hdr[0] ^= mask[0] & 0x1f;
            }
        } else {
            uint8_t out[BENCH_PAYLOAD_LEN];
            size_t out_len = sizeof(out);

            /* Opens the same genuine packet (pn 0) each time: authenticates for real. */
            hdr[BENCH_HDR_LEN - 1] = 0;
            if (gnutls_aead_cipher_decrypt(aead, nonce, sizeof(nonce), hdr, sizeof(hdr),
                                           BENCH_TAG_LEN, sealed, sealed_len, out, &out_len) < 0)
                return -1;
        }
    }
    return cpu_now() - t0;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-m MiB per run (1..65536)] [-r runs (1..%d)] [-p]\n", argv0,
            BENCH_MAX_RUNS);
}

int main(int argc, char **argv)
{
    long mib = 1024, runs = 5;
    int with_hp = 0, opt, rc = 1;
    uint8_t key[BENCH_KEY_LEN], hp_key[BENCH_KEY_LEN], iv[BENCH_IV_LEN];
    uint8_t plain[BENCH_PAYLOAD_LEN];
    uint8_t sealed[BENCH_PAYLOAD_LEN + BENCH_TAG_LEN];
    size_t sealed_len = sizeof(sealed);
    gnutls_aead_cipher_hd_t aead = NULL;
    gnutls_cipher_hd_t hp = NULL;

    while ((opt = getopt(argc, argv, "m:r:p")) != -1) {
        char *end;

        switch (opt) {
        case 'm':
            mib = strtol(optarg, &end, 10);
            if (*end != '\0' || mib < 1 || mib > 65536) {
                usage(argv[0]);
                return 2;
            }
            break;
        case 'r':
            runs = strtol(optarg, &end, 10);
            if (*end != '\0' || runs < 1 || runs > BENCH_MAX_RUNS) {
                usage(argv[0]);
                return 2;
            }
            break;
        case 'p':
            with_hp = 1;
            break;
        default:
            usage(argv[0]);
            return 2;
        }
    }

    if (gnutls_rnd(GNUTLS_RND_NONCE, key, sizeof(key)) < 0 ||
        gnutls_rnd(GNUTLS_RND_NONCE, hp_key, sizeof(hp_key)) < 0 ||
        gnutls_rnd(GNUTLS_RND_NONCE, iv, sizeof(iv)) < 0 ||
        gnutls_rnd(GNUTLS_RND_NONCE, plain, sizeof(plain)) < 0) {
        fprintf(stderr, "bench_aead: gnutls_rnd failed\n");
        return 1;
    }

    gnutls_datum_t kd = {key, sizeof(key)}, hkd = {hp_key, sizeof(hp_key)};
    uint8_t zero_iv[16] = {0};
    gnutls_datum_t ivd = {zero_iv, sizeof(zero_iv)};

    if (gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_AES_128_GCM, &kd) < 0) {
        fprintf(stderr, "bench_aead: AES-128-GCM not available\n");
        return 1;
    }
    if (with_hp && gnutls_cipher_init(&hp, GNUTLS_CIPHER_AES_128_CBC, &hkd, &ivd) < 0) {
        fprintf(stderr, "bench_aead: AES-128-CBC not available\n");
        goto out;
    }

    /* The packet the open runs authenticate: pn 0, header with PN byte 0. */
    {
        uint8_t hdr[BENCH_HDR_LEN] = {0x40};
        uint8_t nonce[BENCH_IV_LEN];

        make_nonce(nonce, iv, 0);
        if (gnutls_aead_cipher_encrypt(aead, nonce, sizeof(nonce), hdr, sizeof(hdr), BENCH_TAG_LEN,
                                       plain, sizeof(plain), sealed, &sealed_len) < 0) {
            fprintf(stderr, "bench_aead: seal failed\n");
            goto out;
        }
    }

    uint64_t bytes = (uint64_t)mib << 20;
    uint64_t npkts = (bytes + BENCH_PAYLOAD_LEN - 1) / BENCH_PAYLOAD_LEN;
    double gib = (double)(npkts * BENCH_PAYLOAD_LEN) / (double)(1ULL << 30);

    printf("bench_aead: AES-128-GCM (GnuTLS %s), %lu MiB per run in %d-byte packets "
           "(%d payload bytes), %ld runs, median\n",
           gnutls_check_version(NULL), (unsigned long)mib, BENCH_PKT_SIZE, BENCH_PAYLOAD_LEN, runs);
    for (int d = 0; d < 2; d++) {
        double t[BENCH_MAX_RUNS];
        enum bench_dir dir = d == 0 ? BENCH_SEAL : BENCH_OPEN;

        for (long r = 0; r < runs; r++) {
            t[r] = run_once(aead, dir == BENCH_SEAL ? hp : NULL, dir, npkts, iv, plain, sealed,
                            sealed_len);
            if (t[r] < 0) {
                fprintf(stderr, "bench_aead: cipher call failed\n");
                goto out;
            }
        }
        qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
        double med = t[runs / 2] / gib;
        printf("  %-14s %7.3f s CPU/GiB  %8.0f MiB/s  %6.0f ns/packet  (min %.3f max %.3f)\n",
               dir == BENCH_SEAL ? (with_hp ? "seal+hp" : "seal") : "open", med, 1024.0 / med,
               med * 1e9 * BENCH_PAYLOAD_LEN / (double)(1ULL << 30), t[0] / gib, t[runs - 1] / gib);
    }
    rc = 0;
out:
    if (hp != NULL)
        gnutls_cipher_deinit(hp);
    gnutls_aead_cipher_deinit(aead);
    return rc;
}
