/* test_d_prom: the Prometheus text writer (daemon/d_prom.c) — HELP and TYPE lines, label
 * values and help text escaped as the exposition format wants (a port or pool name with a
 * quote, a backslash or a newline must not break the scrape), numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "d_prom.h"

static void test_format(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const struct d_prom p = {.f = f};
    (void)state;

    assert_non_null(f);
    d_prom_family(&p, "h3dp_x_total", "counter", "Help with a \\ and a\nnewline.");
    d_prom_u64(&p, "h3dp_x_total", 18446744073709551615ull, NULL);
    d_prom_u64(&p, "h3dp_x_total", 7, "port", "net_tap0,iface=\"a\\b\"\n", "direction", "rx", NULL);
    d_prom_family(&p, "h3dp_y_seconds", "gauge", "Seconds.");
    d_prom_f64(&p, "h3dp_y_seconds", 0.0013, "lcore", "1", NULL);
    d_prom_f64(&p, "h3dp_y_seconds", NAN, NULL);
    d_prom_f64(&p, "h3dp_y_seconds", -INFINITY, NULL);
    fclose(f);
    assert_string_equal(text, "# HELP h3dp_x_total Help with a \\\\ and a\\nnewline.\n"
                              "# TYPE h3dp_x_total counter\n"
                              "h3dp_x_total 18446744073709551615\n"
                              "h3dp_x_total{port=\"net_tap0,iface=\\\"a\\\\b\\\"\\n\","
                              "direction=\"rx\"} 7\n"
                              "# HELP h3dp_y_seconds Seconds.\n"
                              "# TYPE h3dp_y_seconds gauge\n"
                              "h3dp_y_seconds{lcore=\"1\"} 0.0013\n"
                              "h3dp_y_seconds NaN\n"
                              "h3dp_y_seconds -Inf\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_format)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
