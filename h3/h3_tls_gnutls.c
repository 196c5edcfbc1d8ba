/* h3_tls_gnutls.c: the TLS seam implemented with GnuTLS + ngtcp2_crypto_gnutls. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "bfile.h"
#include "h3.h"
#include "h3_tls.h"

/* The largest PEM file read (a CA bundle: Debian's whole store is about 200 KB). */
#define H3_TLS_FILE_MAX (4 * 1024 * 1024)

/* ALPN for HTTP/3 (RFC 9114 §3.1). */
static const char H3_ALPN[] = "h3";

/* TLS 1.3 only (RFC 9001 §4.2), QUIC-capable AEADs (RFC 9001 §5.3), no
 * middlebox compatibility mode (RFC 9001 §8.4). */
static const char H3_TLS_PRIORITY[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:%DISABLE_TLS13_COMPAT_MODE";

/* Certificate credentials (the parsed trust store, and the client certificate when one is
 * configured) are shared by every session with the same trust anchors and client
 * certificate: loading a CA bundle per connection would cost its parse time and tens of KB
 * to MBs per connection. So is the parsed priority string (about 4 KB and a
 * parse per connection otherwise). Entries live while a session uses them; the lock is
 * taken only when a connection is created or freed, never per packet. GnuTLS allows
 * credentials and a priority cache to be used by sessions in several threads once they
 * are set up (both are read-only then). */
struct h3_cred {
    struct h3_cred *next;
    char *ca_file; /* NULL: the system store */
    bool insecure; /* no trust anchors at all */
    char *cert_file, *key_file; /* the client certificate; NULL: none */
    unsigned refs;
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio; /* H3_TLS_PRIORITY */
};

static pthread_mutex_t cred_lock = PTHREAD_MUTEX_INITIALIZER;
static struct h3_cred *cred_list;

static bool str_eq(const char *a, const char *b)
{
    return (!a || !b) ? !a && !b : strcmp(a, b) == 0;
}

static bool cred_match(const struct h3_cred *e, const struct h3_tls_params *p)
{
    if (!str_eq(e->cert_file, p->cert_file) || !str_eq(e->key_file, p->key_file))
        return false;
    if (e->insecure || p->insecure)
        return e->insecure == p->insecure;
    return str_eq(e->ca_file, p->ca_file);
}

static void cred_free(struct h3_cred *e)
{
    if (!e)
        return;
    if (e->cred)
        gnutls_certificate_free_credentials(e->cred);
    if (e->prio)
        gnutls_priority_deinit(e->prio);
    free(e->ca_file);
    free(e->cert_file);
    free(e->key_file);
    free(e);
}

/* Reads the PEM file |path| (a regular file of at most H3_TLS_FILE_MAX bytes: a FIFO or
 * /dev/zero never blocks the caller) into |d|. 0, or -1 with a one-line reason. */
static int pem_read(const char *what, const char *path, gnutls_datum_t *d, char *err,
                    size_t errlen)
{
    char why[128], *buf;
    size_t len;

    if (bfile_read(path, H3_TLS_FILE_MAX, &buf, &len, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, why);
        return -1;
    }
    d->data = (unsigned char *)buf;
    d->size = (unsigned int)len;
    return 0;
}

static void pem_free(gnutls_datum_t *d)
{
    if (d->data) {
        explicit_bzero(d->data, d->size);
        free(d->data);
    }
    d->data = NULL;
}

/* Loads the trust anchors (unless |insecure|) and the client certificate into |cred|.
 * Returns 0 or -1 with a one-line reason naming the file. */
static int cred_load(gnutls_certificate_credentials_t cred, const char *ca_file, bool insecure,
                     const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    gnutls_datum_t ca = {0}, cert = {0}, key = {0};
    int rv, rc = -1;

    if (!insecure) {
        if (ca_file) {
            if (pem_read("trust store", ca_file, &ca, err, errlen) < 0)
                return -1;
            rv = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
            pem_free(&ca);
        } else {
            rv = gnutls_certificate_set_x509_system_trust(cred);
        }
        if (rv <= 0) {
            snprintf(err, errlen, "trust store %s: %s", ca_file ? ca_file : "(system)",
                     rv < 0 ? gnutls_strerror(rv) : "no certificates");
            return -1;
        }
    }
    if (cert_file || key_file) {
        if (!cert_file || !key_file) {
            snprintf(err, errlen, "a client certificate needs both a certificate and a key");
            return -1;
        }
        if (pem_read("client certificate", cert_file, &cert, err, errlen) < 0 ||
            pem_read("client key", key_file, &key, err, errlen) < 0)
            goto out;
        rv = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
        if (rv < 0) {
            snprintf(err, errlen, "client certificate %s with key %s: %s", cert_file, key_file,
                     rv == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
                         ? "the key does not match the certificate"
                         : gnutls_strerror(rv));
            goto out;
        }
    }
    rc = 0;
out:
    pem_free(&cert);
    pem_free(&key);
    return rc;
}

static struct h3_cred *cred_get(const struct h3_tls_params *p, char *err, size_t errlen)
{
    struct h3_cred *e;
    int rv;

    pthread_mutex_lock(&cred_lock);
    for (e = cred_list; e; e = e->next)
        if (cred_match(e, p)) {
            e->refs++;
            pthread_mutex_unlock(&cred_lock);
            return e;
        }
    e = calloc(1, sizeof(*e));
    if (!e || (p->ca_file && !p->insecure && !(e->ca_file = strdup(p->ca_file))) ||
        (p->cert_file && !(e->cert_file = strdup(p->cert_file))) ||
        (p->key_file && !(e->key_file = strdup(p->key_file)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    e->insecure = p->insecure;
    if ((rv = gnutls_priority_init(&e->prio, H3_TLS_PRIORITY, NULL)) != 0) {
        e->prio = NULL;
        snprintf(err, errlen, "priority: %s", gnutls_strerror(rv));
        goto fail;
    }
    if ((rv = gnutls_certificate_allocate_credentials(&e->cred)) != 0) {
        e->cred = NULL;
        snprintf(err, errlen, "credentials: %s", gnutls_strerror(rv));
        goto fail;
    }
    if (cred_load(e->cred, p->ca_file, p->insecure, p->cert_file, p->key_file, err, errlen) < 0)
        goto fail;
    e->refs = 1;
    e->next = cred_list;
    cred_list = e;
    pthread_mutex_unlock(&cred_lock);
    return e;
fail:
    cred_free(e);
    pthread_mutex_unlock(&cred_lock);
    return NULL;
}

int h3_tls_check(const char *ca_file, bool insecure, const char *cert_file, const char *key_file,
                 char *err, size_t errlen)
{
    gnutls_certificate_credentials_t cred;
    int rv;

    if ((rv = gnutls_certificate_allocate_credentials(&cred)) != 0) {
        snprintf(err, errlen, "credentials: %s", gnutls_strerror(rv));
        return H3_ERR_TLS;
    }
    rv = cred_load(cred, ca_file, insecure, cert_file, key_file, err, errlen);
    gnutls_certificate_free_credentials(cred);
    return rv < 0 ? H3_ERR_TLS : 0;
}

const char *h3_tls_alert_str(unsigned alert, char *buf, size_t len)
{
    const char *name = alert < 256 ? gnutls_alert_get_strname((gnutls_alert_description_t)alert)
                                   : NULL;
    const char *text = alert < 256 ? gnutls_alert_get_name((gnutls_alert_description_t)alert)
                                   : NULL;
    size_t o = 0;

    if (len == 0)
        return buf;
    if (!name) {
        snprintf(buf, len, "alert %u", alert);
        return buf;
    }
    if (strncmp(name, "GNUTLS_A_", 9) == 0)
        name += 9;
    /* RFC 8446 §6 spells them in lower case: certificate_required. */
    for (; *name && o + 1 < len; name++)
        buf[o++] = (char)(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name);
    buf[o] = '\0';
    if (text && o + 4 < len)
        snprintf(buf + o, len - o, " (%s)", text);
    return buf;
}

static void cred_put(struct h3_cred *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&cred_lock);
    if (--e->refs == 0) {
        struct h3_cred **pp = &cred_list;
        while (*pp != e)
            pp = &(*pp)->next;
        *pp = e->next;
        cred_free(e);
    }
    pthread_mutex_unlock(&cred_lock);
}

struct h3_tls {
    /* First member: gnutls_session_get_ptr() yields it for ngtcp2's helper and
     * our callbacks recover the struct from it. */
    ngtcp2_crypto_conn_ref ref;
    gnutls_session_t session;
    struct h3_cred *cred;
    FILE *keylog;
    bool insecure;
    bool session_refused;
    void (*on_ticket)(void *ud, const uint8_t *data, size_t len);
    void *ticket_ud;
    char *host;
    char verify_err[192];
};

static struct h3_tls *tls_of(gnutls_session_t s)
{
    return (struct h3_tls *)gnutls_session_get_ptr(s);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int verify_cb(gnutls_session_t s)
{
    struct h3_tls *t = tls_of(s);
    unsigned int status = 0;

    if (t->insecure)
        return 0;
    int rv = gnutls_certificate_verify_peers3(s, t->host, &status);
    if (rv < 0) {
        snprintf(t->verify_err, sizeof(t->verify_err), "certificate check failed: %s",
                 gnutls_strerror(rv));
        return -1;
    }
    if (status == 0)
        return 0;
    gnutls_datum_t out = { 0 };
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
        snprintf(t->verify_err, sizeof(t->verify_err), "%s", (const char *)out.data);
        gnutls_free(out.data);
    } else {
        snprintf(t->verify_err, sizeof(t->verify_err), "certificate rejected (0x%x)", status);
    }
    return -1;
}

static void hex(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* SSLKEYLOGFILE format: "<LABEL> <client_random hex> <secret hex>". */
static int keylog_cb(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
    struct h3_tls *t = tls_of(s);
    gnutls_datum_t crand, srand;

    gnutls_session_get_random(s, &crand, &srand);
    fprintf(t->keylog, "%s ", label);
    hex(t->keylog, crand.data, crand.size);
    fputc(' ', t->keylog);
    hex(t->keylog, secret->data, secret->size);
    fputc('\n', t->keylog);
    fflush(t->keylog);
    return 0;
}

/* A NewSessionTicket arrived (RFC 8446 §4.6.1): hand the session data, which now holds
 * it, to the owner. Runs inside gnutls_handshake_write (ngtcp2's CRYPTO data path). */
static int ticket_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg)
{
    struct h3_tls *t = tls_of(s);
    gnutls_datum_t d = { 0 };
    (void)when;
    (void)msg;

    if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || !incoming || !t->on_ticket)
        return 0;
    if (gnutls_session_get_data2(s, &d) == 0 && d.size > 0)
        t->on_ticket(t->ticket_ud, d.data, d.size);
    gnutls_free(d.data);
    return 0; /* a ticket we cannot keep is no reason to fail the connection */
}

int h3_tls_client_new(const struct h3_tls_params *p, ngtcp2_crypto_get_conn get_conn,
                      void *conn_ud, struct h3_tls **out, char *err, size_t errlen)
{
    struct h3_tls *t;
    int rv, ret = H3_ERR_TLS;

    *out = NULL;
    if (!p->host || !*p->host) {
        snprintf(err, errlen, "no host name");
        return H3_ERR_INVAL;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return H3_ERR_NOMEM;
    t->ref.get_conn = get_conn;
    t->ref.user_data = conn_ud;
    t->insecure = p->insecure;
    t->host = strdup(p->host);
    if (!t->host) {
        ret = H3_ERR_NOMEM;
        goto fail;
    }
    if (!(t->cred = cred_get(p, err, errlen)))
        goto fail;
    /* GNUTLS_ENABLE_EARLY_DATA: offer 0-RTT when resuming with a ticket that allows it;
     * without session data it changes nothing. */
    if ((rv = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA |
                                           GNUTLS_ENABLE_EARLY_DATA)) != 0) {
        snprintf(err, errlen, "gnutls_init: %s", gnutls_strerror(rv));
        goto fail;
    }
    if ((rv = gnutls_priority_set(t->session, t->cred->prio)) != 0 ||
        (rv = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred->cred)) != 0) {
        snprintf(err, errlen, "session setup: %s", gnutls_strerror(rv));
        goto fail;
    }
    if (ngtcp2_crypto_gnutls_configure_client_session(t->session) != 0) {
        snprintf(err, errlen, "ngtcp2_crypto_gnutls_configure_client_session failed");
        goto fail;
    }
    gnutls_session_set_ptr(t->session, &t->ref);
    gnutls_session_set_verify_function(t->session, verify_cb);
    if (p->session_data && p->session_len &&
        gnutls_session_set_data(t->session, p->session_data, p->session_len) != 0)
        t->session_refused = true; /* a full handshake instead */
    if (p->on_ticket) {
        t->on_ticket = p->on_ticket;
        t->ticket_ud = p->ticket_ud;
        gnutls_handshake_set_hook_function(t->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                           GNUTLS_HOOK_POST, ticket_hook);
    }

    gnutls_datum_t alpn = { .data = (unsigned char *)H3_ALPN, .size = sizeof(H3_ALPN) - 1 };
    if ((rv = gnutls_alpn_set_protocols(t->session, &alpn, 1, GNUTLS_ALPN_MANDATORY)) != 0) {
        snprintf(err, errlen, "ALPN: %s", gnutls_strerror(rv));
        goto fail;
    }
    const char *sni = p->sni ? p->sni : (is_ip_literal(p->host) ? NULL : p->host);
    if (sni && *sni &&
        (rv = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, sni, strlen(sni))) != 0) {
        snprintf(err, errlen, "SNI: %s", gnutls_strerror(rv));
        goto fail;
    }
    if (p->keylog_file) {
        t->keylog = fopen(p->keylog_file, "a");
        if (!t->keylog) {
            snprintf(err, errlen, "keylog %s: %m", p->keylog_file);
            ret = H3_ERR_FILE;
            goto fail;
        }
        gnutls_session_set_keylog_function(t->session, keylog_cb);
    }
    *out = t;
    return 0;
fail:
    h3_tls_del(t);
    return ret;
}

void h3_tls_del(struct h3_tls *t)
{
    if (!t)
        return;
    if (t->session)
        gnutls_deinit(t->session);
    cred_put(t->cred);
    if (t->keylog)
        fclose(t->keylog);
    free(t->host);
    free(t);
}

void *h3_tls_native_handle(struct h3_tls *t)
{
    return t->session;
}

void h3_tls_info(struct h3_tls *t, char *alpn, size_t alpn_len, char *ver, size_t ver_len,
                 char *cipher, size_t cipher_len)
{
    gnutls_datum_t a = { 0 };

    snprintf(alpn, alpn_len, "%s", "");
    snprintf(ver, ver_len, "%s", "");
    snprintf(cipher, cipher_len, "%s", "");
    if (!t || !t->session)
        return;
    if (gnutls_alpn_get_selected_protocol(t->session, &a) == 0)
        snprintf(alpn, alpn_len, "%.*s", (int)a.size, (const char *)a.data);
    const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
    const char *c = gnutls_cipher_get_name(gnutls_cipher_get(t->session));
    snprintf(ver, ver_len, "%s", v ? v : "");
    snprintf(cipher, cipher_len, "%s", c ? c : "");
}

bool h3_tls_alpn_is_h3(struct h3_tls *t)
{
    gnutls_datum_t a = { 0 };

    return gnutls_alpn_get_selected_protocol(t->session, &a) == 0 &&
           a.size == sizeof(H3_ALPN) - 1 && memcmp(a.data, H3_ALPN, a.size) == 0;
}

bool h3_tls_resumed(struct h3_tls *t)
{
    return t && t->session && gnutls_session_is_resumed(t->session) != 0;
}

bool h3_tls_early_data_accepted(struct h3_tls *t)
{
    return t && t->session && (gnutls_session_get_flags(t->session) & GNUTLS_SFLAGS_EARLY_DATA);
}

bool h3_tls_session_refused(const struct h3_tls *t)
{
    return t && t->session_refused;
}

const char *h3_tls_verify_error(const struct h3_tls *t)
{
    return t && t->verify_err[0] ? t->verify_err : NULL;
}
