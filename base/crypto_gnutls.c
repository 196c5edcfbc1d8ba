/* crypto_gnutls.c: the crypto seam (crypto.h) over GnuTLS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "crypto.h"

/* Base64 text longer than this is refused by crypto_base64_decode (it pads a copy on the
 * stack); h3dp decodes digests and short tokens only. */
#define CRYPTO_BASE64_DECODE_MAX 4096

struct crypto_sha256 {
    gnutls_hash_hd_t hd;
};

int crypto_random(void *buf, size_t len)
{
    return gnutls_rnd(GNUTLS_RND_RANDOM, buf, len) == 0 ? 0 : -EIO;
}

int crypto_random_key(void *buf, size_t len)
{
    return gnutls_rnd(GNUTLS_RND_KEY, buf, len) == 0 ? 0 : -EIO;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ? 0 : -EIO;
}

int crypto_sha256_new(struct crypto_sha256 **h)
{
    struct crypto_sha256 *s = malloc(sizeof(*s));

    if (!s)
        return -ENOMEM;
    if (gnutls_hash_init(&s->hd, GNUTLS_DIG_SHA256) < 0) {
        free(s);
        return -ENOMEM;
    }
    *h = s;
    return 0;
}

int crypto_sha256_update(struct crypto_sha256 *h, const void *data, size_t len)
{
    return gnutls_hash(h->hd, data, len) == 0 ? 0 : -EIO;
}

void crypto_sha256_del(struct crypto_sha256 *h, uint8_t out[CRYPTO_SHA256_LEN])
{
    if (!h)
        return;
    gnutls_hash_deinit(h->hd, out);
    free(h);
}

long crypto_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    gnutls_datum_t d = {(unsigned char *)in, (unsigned)len}, enc = {0};
    long n;

    if (cap < CRYPTO_BASE64_LEN(len) + 1)
        return -ENOSPC;
    if (len == 0) {
        out[0] = '\0';
        return 0;
    }
    if (gnutls_base64_encode2(&d, &enc) != 0)
        return -ENOSPC;
    n = (long)enc.size;
    if ((size_t)n >= cap) {
        gnutls_free(enc.data);
        return -ENOSPC;
    }
    memcpy(out, enc.data, enc.size);
    out[n] = '\0';
    gnutls_free(enc.data);
    return n;
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

long crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    char text[CRYPTO_BASE64_DECODE_MAX + 4];
    gnutls_datum_t d = {(unsigned char *)text, 0}, dec = {0};
    size_t body = len;
    long n;

    if (len > CRYPTO_BASE64_DECODE_MAX)
        return -EINVAL;
    /* GnuTLS skips white space and wants the padding: take the alphabet only, pad here. */
    while (body > 0 && in[body - 1] == '=')
        body--;
    if (len - body > 2 || body % 4 == 1)
        return -EINVAL;
    for (size_t i = 0; i < body; i++)
        if (!is_b64(in[i]))
            return -EINVAL;
    if (body == 0)
        return 0;
    memcpy(text, in, body);
    d.size = (unsigned)body;
    while (d.size % 4)
        text[d.size++] = '=';
    if (gnutls_base64_decode2(&d, &dec) != 0)
        return -EINVAL; /* non-zero trailing bits */
    if (dec.size > cap) {
        gnutls_free(dec.data);
        return -ENOSPC;
    }
    memcpy(out, dec.data, dec.size);
    n = (long)dec.size;
    gnutls_free(dec.data);
    return n;
}

long crypto_content_digest(const void *body, size_t len, char *out, size_t cap)
{
    static const char pre[] = "sha-256=:";
    uint8_t d[CRYPTO_SHA256_LEN];
    long n;

    if (cap < CRYPTO_CONTENT_DIGEST_LEN + 1)
        return -ENOSPC;
    if (crypto_sha256(body, len, d) < 0)
        return -EIO;
    memcpy(out, pre, sizeof(pre) - 1);
    n = crypto_base64_encode(d, sizeof(d), out + sizeof(pre) - 1, cap - sizeof(pre));
    if (n < 0)
        return n;
    n += (long)sizeof(pre) - 1;
    out[n++] = ':';
    out[n] = '\0';
    return n;
}
