/* test_log_types: every library of the daemon registers its own rte_log type under its
 * dotted name, so `--log-level=user.h3dp.<module>:debug` reaches it (a type registered
 * without RTE_LOG_DEFAULT_LOGTYPE defined is named "RTE_LOG_DEFAULT_LOGTYPE"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_log.h>

#include "ctl_server.h"
#include "dp.h"
#include "svc.h"
#include "upload.h"

/* One function of each library, so that the object holding its registration is linked
 * (external linkage: the compiler keeps every entry). */
void *const test_linked[];
void *const test_linked[] = { (void *)dp_conf_defaults, (void *)svc_conf_defaults,
                                (void *)up_new, (void *)ctl_server_new };

static void test_names(void **state)
{
    static const char *const names[] = { "user.h3dp.dataplane", "user.h3dp.service",
                                         "user.h3dp.upload", "user.h3dp.control" };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    (void)state;

    for (size_t i = 0; i < 4; i++)
        assert_non_null(test_linked[i]);
    assert_non_null(f);
    rte_log_dump(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strstr(text, names[i]))
            fail_msg("no log type %s (%zu bytes of rte_log_dump)", names[i], len);
    assert_null(strstr(text, "RTE_LOG_DEFAULT_LOGTYPE"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_names) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
