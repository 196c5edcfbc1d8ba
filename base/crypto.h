/* crypto.h: the small crypto seam — random bytes, SHA-256, base64 (RFC 4648 §4).
 *
 * Everything outside the TLS seam (h3/h3_tls_*.c) that needs a digest, random bytes or
 * base64 calls these, so the crypto library is named in two files only: this seam's
 * implementation (crypto_gnutls.c) and the TLS seam's. No function here allocates except
 * crypto_sha256_new. */
#ifndef H3DP_CRYPTO_H
#define H3DP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
/* Characters of the padded base64 text of |n| bytes, without the NUL. */
#define CRYPTO_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Fills |buf| with |len| unpredictable bytes (connection ids, reset tokens, nonces).
 * Returns 0 or -EIO. */
int crypto_random(void *buf, size_t len);

/* As crypto_random, for long-lived secrets (keys). Returns 0 or -EIO. */
int crypto_random_key(void *buf, size_t len);

/* SHA-256 of |len| bytes at |data| into |out|. Returns 0 or -EIO. */
int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* An incremental SHA-256. */
struct crypto_sha256;

/* Starts a digest. Returns 0 with *|h| set, or -ENOMEM. */
int crypto_sha256_new(struct crypto_sha256 **h);

/* Adds |len| bytes. Returns 0 or -EIO. */
int crypto_sha256_update(struct crypto_sha256 *h, const void *data, size_t len);

/* Writes the digest into |out| (NULL: discard it) and frees |h| (NULL is fine). */
void crypto_sha256_del(struct crypto_sha256 *h, uint8_t out[CRYPTO_SHA256_LEN]);

/* Encodes |len| bytes as padded base64 into |out| (|cap| bytes, room for
 * CRYPTO_BASE64_LEN(len) + 1). Returns the text length, or -ENOSPC. */
long crypto_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decodes base64 text |in| of |len| characters ('=' padding optional, nothing but the
 * alphabet otherwise) into |out| (|cap| bytes). Returns the decoded length, or -EINVAL
 * (bad character, padding or trailing bits) or -ENOSPC (|out| too small). */
long crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* The RFC 9530 Content-Digest field value of |len| bytes at |body|: "sha-256=:BASE64:"
 * (an RFC 8941 byte sequence), NUL-terminated into |out| (|cap| bytes; 56 are enough).
 * Returns the text length, -ENOSPC or -EIO. */
#define CRYPTO_CONTENT_DIGEST_LEN (sizeof("sha-256=::") - 1 + CRYPTO_BASE64_LEN(CRYPTO_SHA256_LEN))
long crypto_content_digest(const void *body, size_t len, char *out, size_t cap);

#endif
