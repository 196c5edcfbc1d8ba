/* d_log: the daemon's log type (user.h3dp.daemon) and its macro, and the one writer of
 * every log line of the process (docs/CONFIG.md, [log]).
 *
 * Every line goes through rte_log — the daemon's and every layer's (user.h3dp.<layer>) and
 * DPDK's own — with rte_log's level filter. d_log_open installs a stream that writes each
 * line to an fd (standard error) as
 *
 *     [TIME ]LEVEL MESSAGE          e.g. "WARNING upload: collector ... answered 503"
 *     <PRIORITY>MESSAGE             when the fd is systemd's journal ($JOURNAL_STREAM)
 *
 * TIME (UTC, milliseconds) only with [log] timestamps. d_log_apply sets the levels of the
 * h3dp types from [log] (at start and on SIGHUP). Main thread for open/apply/close; the
 * writer itself is safe from any thread (the stream's lock). */
#ifndef H3DP_D_LOG_H
#define H3DP_D_LOG_H

#include <stdbool.h>

#include <rte_log.h>

struct cfg_log;

extern int h3dpd_logtype;

#define D_LOG(level, fmt, ...)                                                                     \
    rte_log(RTE_LOG_##level, h3dpd_logtype, "h3dpd: " fmt "\n", ##__VA_ARGS__)

/* Makes rte_log write to |fd| in the line format above: a level word (and the time when
 * |timestamps|), or the journal's priority prefix when |fd| is the stream $JOURNAL_STREAM
 * names. Returns 0 or -errno (rte_log keeps its old stream). */
int d_log_open(int fd, bool timestamps);

/* Applies [log]: the level of every h3dp module (its own, else |l|->level) and the
 * timestamps switch. */
void d_log_apply(const struct cfg_log *l);

/* True when lines go to the journal (then they carry no time: journald records it). */
bool d_log_journal(void);

/* Gives rte_log its default stream back and frees the writer. */
void d_log_close(void);

#endif
