/* SPDX-License-Identifier: Apache-2.0 */
/* np_cron: 5-field cron expressions (minute hour day-of-month month
 * day-of-week) evaluated in local time, as in crontab(5): lists "1,5",
 * ranges "1-5", steps "0-59/15" (or star-slash-15) and "10-40/10", month names jan-dec and
 * day names sun-sat, day-of-week 0 or 7 for Sunday. When both day fields are
 * restricted a day matches if either matches (the historical OR rule).
 * Daylight-saving changes: a time skipped by a spring-forward change fires at
 * the first minute after the gap; a time repeated by a fall-back change fires
 * once unless the hour field is "*". The shorthands @yearly (@annually),
 * @monthly, @weekly, @daily (@midnight) and @hourly stand for their
 * crontab(5) expressions; @reboot is refused. */
#ifndef NP_CRON_H
#define NP_CRON_H

#include <stdint.h>
#include <time.h>

struct np_err;

struct np_cron {
	uint64_t minute; /* bit n set: minute n (0-59) */
	uint32_t hour;	 /* 0-23 */
	uint32_t mday;	 /* 1-31 */
	uint16_t month;	 /* 1-12 */
	uint8_t wday;	 /* 0-6, Sunday 0 */
	unsigned hour_star : 1, mday_star : 1, wday_star : 1;
};

/* Parse expr into c. Returns 0, or -1 with a permanent err naming the field
 * and the offending text. */
int np_cron_parse(struct np_cron *c, const char *expr, struct np_err *err);
/* 1 if c fires at some time (29 February counts), 0 if its days never
 * occur, as "0 0 31 2 *" or "0 0 31 4,6 *". */
int np_cron_fires(const struct np_cron *c);
/* 1 if the broken-down local time tm (tm_min, tm_hour, tm_mday, tm_mon,
 * tm_wday) matches, else 0. Ignores daylight-saving rules. */
int np_cron_match(const struct np_cron *c, const struct tm *tm);
/* The first whole minute strictly after `after` at which c fires, in the
 * process's local time zone (TZ), with the daylight-saving rules above.
 * Returns (time_t)-1 when nothing matches within 8 years (e.g. "0 0 30 2 *"). */
time_t np_cron_next(const struct np_cron *c, time_t after);

#endif
