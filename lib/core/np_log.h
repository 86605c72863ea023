/* SPDX-License-Identifier: Apache-2.0 */
/* np_log: one event = one line on stderr, written with one write(2):
 *   prog: level: <npuid|-> message key=value ...
 * No timestamps (s6-log adds them) and never PHI: callers pass ids, counts,
 * tag numbers only. */
#ifndef NP_LOG_H
#define NP_LOG_H

struct np_err;

enum np_log_level { NP_LOG_FATAL, NP_LOG_ERROR, NP_LOG_WARNING, NP_LOG_INFO, NP_LOG_DEBUG };

/* Set the program name shown on every line; level from $NP_LOG_LEVEL
 * (fatal|error|warning|info|debug, default info). */
void np_log_init(const char *prog);
void np_log_set_level(enum np_log_level lvl);
const char *np_log_prog(void);
/* id is an npuid or NULL for "-". Lines longer than 2 KiB are truncated;
 * newlines in the message are replaced so one event stays one line. */
void np_log(enum np_log_level lvl, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Log err's message at error level (or warning for temporary errors). */
void np_log_err(const char *id, const struct np_err *err);

#define np_fatal(id, ...) np_log(NP_LOG_FATAL, id, __VA_ARGS__)
#define np_error(id, ...) np_log(NP_LOG_ERROR, id, __VA_ARGS__)
#define np_warn(id, ...) np_log(NP_LOG_WARNING, id, __VA_ARGS__)
#define np_info(id, ...) np_log(NP_LOG_INFO, id, __VA_ARGS__)
#define np_debug(id, ...) np_log(NP_LOG_DEBUG, id, __VA_ARGS__)

#endif
