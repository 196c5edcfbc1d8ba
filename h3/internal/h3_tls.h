/*
 * h3_tls.h: the TLS seam. Everything the driver knows about the TLS library is
 * here: create a client session wired to ngtcp2's crypto helper (ALPN h3, SNI,
 * certificate verification, key log), hand its native handle to ngtcp2, and
 * read back what was negotiated. Another TLS library = another h3_tls_*.c.
 */
#ifndef H3DP_H3_TLS_H
#define H3DP_H3_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <ngtcp2/ngtcp2_crypto.h>

struct h3_tls;

struct h3_tls_params {
    const char *host;        /* name (or IP literal) the certificate must match */
    const char *sni;         /* server name sent; NULL = host unless an IP literal */
    const char *ca_file;     /* PEM trust anchors; NULL = system store */
    bool insecure;           /* no verification */
    const char *cert_file;   /* PEM client certificate; NULL = none */
    const char *key_file;    /* its private key */
    const char *keylog_file; /* SSLKEYLOGFILE path (appended); NULL = none */
    /* Resumption: session data of an earlier connection (gnutls_session_get_data2) to
     * resume, with early data allowed; NULL = a full handshake. Data GnuTLS refuses is
     * ignored (h3_tls_session_refused() says so). */
    const uint8_t *session_data;
    size_t session_len;
    /* Called with the new session data each time the server sends a NewSessionTicket
     * (from inside the handshake functions); NULL = tickets are not kept. */
    void (*on_ticket)(void *ud, const uint8_t *data, size_t len);
    void *ticket_ud;
};

/* Create a client TLS session. |get_conn|/|conn_ud| let ngtcp2's crypto helper
 * find the ngtcp2_conn from the session. On failure writes a one-line reason to
 * |err|. Errors: H3_ERR_NOMEM, H3_ERR_TLS (credentials/CA file/priority),
 * H3_ERR_FILE (keylog file). */
int h3_tls_client_new(const struct h3_tls_params *p, ngtcp2_crypto_get_conn get_conn,
                      void *conn_ud, struct h3_tls **out, char *err, size_t errlen);

/* Free |t| (NULL is fine). */
void h3_tls_del(struct h3_tls *t);

/* The handle for ngtcp2_conn_set_tls_native_handle(). */
void *h3_tls_native_handle(struct h3_tls *t);

/* Negotiated ALPN, protocol version and cipher names ("" before the handshake). */
void h3_tls_info(struct h3_tls *t, char *alpn, size_t alpn_len, char *ver, size_t ver_len,
                 char *cipher, size_t cipher_len);

/* True when the negotiated ALPN is "h3". */
bool h3_tls_alpn_is_h3(struct h3_tls *t);

/* The handshake resumed a session (a PSK was accepted). */
bool h3_tls_resumed(struct h3_tls *t);

/* The server accepted our early data (valid once the handshake completed). */
bool h3_tls_early_data_accepted(struct h3_tls *t);

/* The session data given to h3_tls_client_new was refused by GnuTLS (corrupt, or of
 * another version). */
bool h3_tls_session_refused(const struct h3_tls *t);

/* Why the server certificate was rejected, or NULL if it was not. */
const char *h3_tls_verify_error(const struct h3_tls *t);

/* "certificate_required (Certificate is required)" for the TLS alert |alert| (RFC 8446
 * §6), into |buf|; returns |buf|. */
const char *h3_tls_alert_str(unsigned alert, char *buf, size_t len);

#endif /* H3DP_H3_TLS_H */
