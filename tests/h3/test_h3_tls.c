/*
 * h3 driver tests, TLS (h3_tls_gnutls.c): certificate verification against the
 * test CA and the system store, the insecure switch, SSLKEYLOGFILE (and the qlog
 * trace written next to it).
 * Deterministic: the h3sink core over the in-memory loopback with an injected
 * clock (h3_test_rig.h). argv[1]: the test PKI directory (tests/certs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "h3_test_rig.h"

static void tls_fail(const char *cert, const char *expect, bool system_store)
{
    struct env e;
    char buf[512];

    env_start(&e, &(struct setup){.cert = cert, .system_store = system_store});
    assert_int_equal(submit(&e, 0, "GET", "/", NULL, 0, NULL, 0, 0), 0);
    assert_int_equal(run(&e, until_closed, 30 * SEC), 0);
    assert_false(e.established);
    assert_false(e.out.ok);
    assert_int_equal(e.out.err, H3_ERR_TLS_VERIFY);
    assert_int_equal(e.out.kind, H3_CLOSE_TRANSPORT);
    assert_int_equal(e.out.origin, H3_ORIGIN_LOCAL);
    assert_true(e.out.code >= 0x100 && e.out.code <= 0x1ff); /* CRYPTO_ERROR */
    h3_outcome_str(&e.out, buf, sizeof(buf));
    if (!strstr(buf, expect))
        fail_msg("outcome '%s' lacks '%s'", buf, expect);
    /* Never sent: safe to retry elsewhere. */
    assert_int_equal(e.res[0].o.result, H3_REQ_NOT_PROCESSED);
    env_stop(&e);
}

static void test_tls_wrong_name(void **state)
{
    (void)state;
    tls_fail("wrongname", "does not match", false);
}

static void test_tls_unknown_ca(void **state)
{
    (void)state;
    tls_fail("untrusted", "issuer", false);
}

/* The system store does not know the test CA either. */
static void test_tls_system_store(void **state)
{
    (void)state;
    tls_fail("server", "issuer", true);
}

/* The lab switch: no verification at all, so the wrong name gets through. */
static void test_tls_insecure(void **state)
{
    struct env e;
    (void)state;

    env_start(&e, &(struct setup){.cert = "wrongname", .insecure = true});
    connect_ok(&e);
    shutdown_ok(&e);
    env_stop(&e);
}

/* SSLKEYLOGFILE lines and a qlog trace are written when asked for. */
static void test_keylog_qlog(void **state)
{
    struct env e;
    char kl[] = "/tmp/h3dp-keylog-XXXXXX", ql[] = "/tmp/h3dp-qlog-XXXXXX";
    char line[512];
    int kfd = mkstemp(kl), qfd = mkstemp(ql);
    bool hs = false, app = false;
    (void)state;

    assert_true(kfd >= 0 && qfd >= 0);
    close(kfd);
    close(qfd);
    env_start(&e, &(struct setup){.keylog = kl, .qlog = ql});
    connect_ok(&e);
    shutdown_ok(&e);
    env_stop(&e); /* closes both files */
    FILE *f = fopen(kl, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        /* "<LABEL> <64 hex client random> <hex secret>" */
        char label[64], rnd[80], sec[160];
        assert_int_equal(sscanf(line, "%63s %79s %159s", label, rnd, sec), 3);
        assert_int_equal(strlen(rnd), 64);
        hs |= strcmp(label, "CLIENT_HANDSHAKE_TRAFFIC_SECRET") == 0;
        app |= strcmp(label, "CLIENT_TRAFFIC_SECRET_0") == 0;
    }
    fclose(f);
    assert_true(hs && app);
    f = fopen(ql, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "qlog"));
    fclose(f);
    unlink(kl);
    unlink(ql);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tls_tests[] = {
        /* certificate verification */
        cmocka_unit_test(test_tls_wrong_name),
        cmocka_unit_test(test_tls_unknown_ca),
        cmocka_unit_test(test_tls_system_store),
        cmocka_unit_test(test_tls_insecure),
        /* key log (and qlog) files */
        cmocka_unit_test(test_keylog_qlog),
    };
    if (rig_args(argc, argv) != 0)
        return 2;
    return cmocka_run_group_tests(tls_tests, NULL, NULL);
}
