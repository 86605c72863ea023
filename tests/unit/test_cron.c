// SPDX-License-Identifier: Apache-2.0
#include "np_cron.h"
#include "np_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Local time "YYYY-MM-DD HH:MM" in the current TZ to epoch seconds. */
static time_t at(const char *s, int isdst)
{
	struct tm tm = {0};
	assert_int_equal(sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min), 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = isdst;
	return mktime(&tm);
}

/* Next firing after `from` as "YYYY-MM-DD HH:MM Z" (Z = zone abbreviation). */
static const char *next_str(const char *expr, time_t from)
{
	static char out[64];
	struct np_cron c;
	struct np_err err = {0};
	assert_int_equal(np_cron_parse(&c, expr, &err), 0);
	time_t t = np_cron_next(&c, from);
	if (t == (time_t)-1)
		return "never";
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%d %H:%M %Z", &tm);
	return out;
}

static void guide_choices(void **state)
{
	(void)state;
	set_tz("UTC");
	time_t t = at("2026-11-27 21:17", 0); /* a Friday */
	assert_string_equal(next_str("* * * * *", t), "2026-11-27 21:18 UTC");
	assert_string_equal(next_str("*/5 * * * *", t), "2026-11-27 21:20 UTC");
	assert_string_equal(next_str("0 * * * *", t), "2026-11-27 22:00 UTC");
	assert_string_equal(next_str("0 0 * * *", t), "2026-11-28 00:00 UTC");
	assert_string_equal(next_str("0 3 * * *", t), "2026-11-28 03:00 UTC");
	assert_string_equal(next_str("0 3 * * 0", t), "2026-11-29 03:00 UTC");
	/* strictly after: a time on the minute does not fire again */
	assert_string_equal(next_str("0 3 * * *", at("2026-11-28 03:00", 0)), "2026-11-29 03:00 UTC");
}

static void ranges_steps_lists_names(void **state)
{
	(void)state;
	set_tz("UTC");
	time_t t = at("2026-11-27 21:17", 0);
	assert_string_equal(next_str("10-40/10 * * * *", t), "2026-11-27 21:20 UTC");
	assert_string_equal(next_str("10-40/10 * * * *", at("2026-11-27 21:41", 0)), "2026-11-27 22:10 UTC");
	assert_string_equal(next_str("5,50 9-17 * * mon-fri", t), "2026-11-30 09:05 UTC");
	assert_string_equal(next_str("0 8 * * MON,wed", t), "2026-11-30 08:00 UTC");
	assert_string_equal(next_str("0 0 1 jan *", t), "2027-01-01 00:00 UTC");
	assert_string_equal(next_str("0 0 * feb-mar sun", t), "2027-02-07 00:00 UTC");
	assert_string_equal(next_str("0 0 * * 7", t), "2026-11-29 00:00 UTC"); /* 7 is Sunday */
	assert_string_equal(next_str("30 4/6 * * *", t), "2026-11-27 22:30 UTC");
	assert_string_equal(next_str("0 0 29 2 *", t), "2028-02-29 00:00 UTC");
	assert_string_equal(next_str("0 0 31 4 *", t), "never"); /* April has 30 days */
	assert_string_equal(next_str("  15   *  *  *  *  ", t), "2026-11-27 22:15 UTC");
}

static void dom_dow_or_rule(void **state)
{
	(void)state;
	set_tz("UTC");
	time_t t = at("2026-11-27 21:17", 0); /* Friday the 27th */
	/* both restricted: the 1st of the month OR any Monday */
	assert_string_equal(next_str("0 12 1 * mon", t), "2026-11-30 12:00 UTC");
	assert_string_equal(next_str("0 12 1 * mon", at("2026-11-30 12:00", 0)), "2026-12-01 12:00 UTC");
	/* one of them '*': only the other one counts */
	assert_string_equal(next_str("0 12 1 * *", t), "2026-12-01 12:00 UTC");
	assert_string_equal(next_str("0 12 * * mon", t), "2026-11-30 12:00 UTC");
	/* a step on '*' still counts as '*' for the rule, as in Vixie cron: both must match */
	assert_string_equal(next_str("0 12 */10 * mon", t), "2026-12-21 12:00 UTC");
}

static void dst_new_york(void **state)
{
	(void)state;
	set_tz("America/New_York");
	/* spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist */
	assert_string_equal(next_str("30 2 * * *", at("2026-03-08 01:00", 0)), "2026-03-08 03:00 EDT");
	assert_string_equal(next_str("30 2 * * *", at("2026-03-08 03:00", 1)), "2026-03-09 02:30 EDT");
	assert_string_equal(next_str("0 3 * * *", at("2026-03-08 01:00", 0)), "2026-03-08 03:00 EDT");
	assert_string_equal(next_str("*/30 * * * *", at("2026-03-08 01:31", 0)), "2026-03-08 03:00 EDT");
	/* fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice */
	time_t first = at("2026-11-01 01:30", 1);
	assert_string_equal(next_str("30 1 * * *", at("2026-11-01 00:00", 1)), "2026-11-01 01:30 EDT");
	assert_string_equal(next_str("30 1 * * *", first), "2026-11-02 01:30 EST");
	/* hourly jobs keep running every real hour */
	assert_string_equal(next_str("30 * * * *", first), "2026-11-01 01:30 EST");
	set_tz("UTC");
}

static void bad_expressions(void **state)
{
	(void)state;
	static const char *const bad[] = {"",
					  "* * * *",
					  "* * * * * *",
					  "60 * * * *",
					  "* 24 * * *",
					  "* * 0 * *",
					  "* * 32 * *",
					  "* * * 13 *",
					  "* * * * 8",
					  "5-1 * * * *",
					  "*/0 * * * *",
					  "*/ * * * *",
					  "1,,2 * * * *",
					  "x * * * *",
					  "* * * foo *",
					  "* * * * mon-",
					  "-1 * * * *",
					  "1-2-3 * * * *",
					  NULL};
	for (int i = 0; bad[i]; i++) {
		struct np_cron c;
		struct np_err err = {0};
		if (np_cron_parse(&c, bad[i], &err) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(err.cls, NP_ERR_PERM);
	}
	struct np_cron c;
	struct np_err err = {0};
	assert_int_equal(np_cron_parse(&c, "* 25 * * *", &err), -1);
	assert_non_null(strstr(err.msg, "hour"));
}

/* The crontab(5) shorthands; @reboot and unknown ones say what to use. */
static void shorthands(void **state)
{
	(void)state;
	set_tz("UTC");
	time_t t = at("2026-11-27 21:17", 0); /* a Friday */
	assert_string_equal(next_str("@hourly", t), "2026-11-27 22:00 UTC");
	assert_string_equal(next_str(" @daily ", t), "2026-11-28 00:00 UTC");
	assert_string_equal(next_str("@midnight", t), "2026-11-28 00:00 UTC");
	assert_string_equal(next_str("@weekly", t), "2026-11-29 00:00 UTC");
	assert_string_equal(next_str("@monthly", t), "2026-12-01 00:00 UTC");
	assert_string_equal(next_str("@yearly", t), "2027-01-01 00:00 UTC");
	assert_string_equal(next_str("@ANNUALLY", t), "2027-01-01 00:00 UTC");
	static const char *const bad[] = {"@reboot", "@hourly 5", "@", "@every 5m", NULL};
	for (int i = 0; bad[i]; i++) {
		struct np_cron c;
		struct np_err err = {0};
		if (np_cron_parse(&c, bad[i], &err) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err.msg, "use @hourly, @daily, @weekly, @monthly, @yearly or 5 fields"));
	}
}

/* Expressions whose days never occur: refused on save (np_valid_cron). */
static void never_fires(void **state)
{
	(void)state;
	static const struct {
		const char *expr;
		int fires;
	} cases[] = {
	    {"0 0 31 2 *", 0},	  {"0 0 30 2 *", 0},   {"0 0 31 4,6,9,11 *", 0}, {"0 0 29 2 *", 1},
	    {"0 0 31 * *", 1},	  {"0 0 31 2,3 *", 1}, {"0 0 31 2 mon", 1},	 {"0 0 * 2 mon", 1},
	    {"0 0 30-31 2 *", 0}, {"* * */10 2 *", 1}, {"@yearly", 1},		 {"0 0 31 feb */2", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct np_cron c;
		assert_int_equal(np_cron_parse(&c, cases[i].expr, NULL), 0);
		if (np_cron_fires(&c) != cases[i].fires)
			fail_msg("np_cron_fires(\"%s\") != %d", cases[i].expr, cases[i].fires);
		/* the static answer agrees with a search of 8 years */
		if ((np_cron_next(&c, 1795000000) != (time_t)-1) != cases[i].fires)
			fail_msg("np_cron_next(\"%s\") disagrees", cases[i].expr);
	}
}

static void match_fields(void **state)
{
	(void)state;
	struct np_cron c;
	assert_int_equal(np_cron_parse(&c, "15 3 * * sat", NULL), 0);
	struct tm tm = {.tm_min = 15, .tm_hour = 3, .tm_mday = 28, .tm_mon = 10, .tm_wday = 6};
	assert_true(np_cron_match(&c, &tm));
	tm.tm_wday = 5;
	assert_false(np_cron_match(&c, &tm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(guide_choices),   cmocka_unit_test(ranges_steps_lists_names),
	    cmocka_unit_test(dom_dow_or_rule), cmocka_unit_test(dst_new_york),
	    cmocka_unit_test(bad_expressions), cmocka_unit_test(match_fields),
	    cmocka_unit_test(shorthands),      cmocka_unit_test(never_fires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
