/* test_d_log: the writer of every log line (daemon/d_log.c) — the level word before each
 * line, the UTC time with [log] timestamps, the journal's priority prefix when the fd is
 * the stream $JOURNAL_STREAM names, a message of several lines, and [log]'s levels per
 * module (d_log_apply) filtering what rte_log lets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_log.h>

#include "cfg.h"
#include "d_log.h"

static int out_fd = -1;
static char path[64];

/* Everything written so far, from the start of the file. */
static const char *written(void)
{
    static char buf[8192];
    ssize_t n = pread(out_fd, buf, sizeof(buf) - 1, 0);

    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/h3dp-test-d-log-XXXXXX");
    out_fd = mkstemp(path);
    return out_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    d_log_close();
    close(out_fd);
    unlink(path);
    unsetenv("JOURNAL_STREAM");
    return 0;
}

static void test_level_word(void **state)
{
    int up = rte_log_register("user.h3dp.upload");
    (void)state;

    unsetenv("JOURNAL_STREAM");
    assert_int_equal(d_log_open(out_fd, false), 0);
    assert_false(d_log_journal());
    rte_log_set_level(up, RTE_LOG_DEBUG);
    rte_log(RTE_LOG_WARNING, up, "upload: collector answered %d\n", 503);
    rte_log(RTE_LOG_ERR, up, "upload: two\nlines\n");
    D_LOG(NOTICE, "running");
    assert_string_equal(written(), "WARNING upload: collector answered 503\n"
                                   "ERROR upload: two\n"
                                   "ERROR lines\n"
                                   "NOTICE h3dpd: running\n");
}

static void test_timestamps(void **state)
{
    const char *w;
    (void)state;

    unsetenv("JOURNAL_STREAM");
    assert_int_equal(d_log_open(out_fd, true), 0);
    D_LOG(WARNING, "timed");
    w = written();
    /* 2025-06-02T09:14:03.512Z WARNING h3dpd: timed */
    assert_int_equal(strlen(w), strlen("2025-06-02T09:14:03.512Z WARNING h3dpd: timed\n"));
    assert_true(w[4] == '-' && w[10] == 'T' && w[19] == '.' && w[23] == 'Z' && w[24] == ' ');
    assert_string_equal(w + 25, "WARNING h3dpd: timed\n");
}

static void test_journal(void **state)
{
    struct stat st;
    char js[64];
    (void)state;

    assert_int_equal(fstat(out_fd, &st), 0);
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    assert_int_equal(d_log_open(out_fd, true), 0);
    assert_true(d_log_journal());
    D_LOG(WARNING, "to the journal");
    D_LOG(INFO, "info");
    /* syslog priorities: warning 4, info 6; no time (journald records it). */
    assert_string_equal(written(), "<4>h3dpd: to the journal\n<6>h3dpd: info\n");
}

static void test_module_levels(void **state)
{
    int up = rte_log_register("user.h3dp.upload");
    struct cfg c;
    (void)state;

    unsetenv("JOURNAL_STREAM");
    cfg_defaults(&c);
    c.log.level = RTE_LOG_NOTICE;
    c.log.modules[2] = RTE_LOG_ERR; /* upload */
    assert_int_equal(d_log_open(out_fd, false), 0);
    d_log_apply(&c.log);
    assert_int_equal(rte_log_get_level(up), RTE_LOG_ERR);
    assert_int_equal(rte_log_get_level(h3dpd_logtype), RTE_LOG_NOTICE);
    rte_log(RTE_LOG_WARNING, up, "upload: filtered\n");
    rte_log(RTE_LOG_ERR, up, "upload: kept\n");
    D_LOG(INFO, "filtered");
    D_LOG(NOTICE, "kept");
    assert_string_equal(written(), "ERROR upload: kept\nNOTICE h3dpd: kept\n");
    /* SIGHUP: the module's own level removed, [log] level applies to it again. */
    c.log.modules[2] = 0;
    c.log.level = RTE_LOG_DEBUG;
    d_log_apply(&c.log);
    assert_int_equal(rte_log_get_level(up), RTE_LOG_DEBUG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_level_word, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_levels, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
