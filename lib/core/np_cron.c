// SPDX-License-Identifier: Apache-2.0
#include "np_cron.h"

#include "np_err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
					  "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

struct field {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] stands for lo + i */
};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},	      {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, day_names},
};

/* A number or (for fields with names) a three-letter name at *p; advances *p. */
static int parse_value(const struct field *f, const char **p, int *out)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < f->lo || v > f->hi)
			return -1;
		*out = (int)v;
		*p = s;
		return 0;
	}
	if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) && isalpha((unsigned char)s[2])) {
		for (int i = 0; f->names[i]; i++) {
			if (!strncasecmp(s, f->names[i], 3) && !isalpha((unsigned char)s[3])) {
				*out = f->lo + i;
				*p = s + 3;
				return 0;
			}
		}
	}
	return -1;
}

/* One field (a comma list) of length len at s into the bit set *bits. */
static int parse_field(const struct field *f, const char *s, size_t len, uint64_t *bits)
{
	char buf[128];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
		return -1;
	*bits = 0;
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *p = item;
		int lo, hi, step = 1;
		if (*p == '*') {
			lo = f->lo;
			hi = f->hi;
			p++;
		} else {
			if (parse_value(f, &p, &lo) < 0)
				return -1;
			hi = lo;
			if (*p == '-') {
				p++;
				if (parse_value(f, &p, &hi) < 0 || hi < lo)
					return -1;
			} else if (*p == '/') {
				hi = f->hi; /* "N/S" means from N to the end, as in cronie */
			}
		}
		if (*p == '/') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			long v = 0;
			while (isdigit((unsigned char)*p) && v < 1000)
				v = v * 10 + (*p++ - '0');
			if (v < 1 || v > f->hi)
				return -1;
			step = (int)v;
		}
		if (*p)
			return -1;
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
	}
	return *bits ? 0 : -1;
}

/* The crontab(5) shorthands an admin of cron or mercure types. @reboot has
 * no time to compute and is not one of them. */
static const struct {
	const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

int np_cron_parse(struct np_cron *c, const char *expr, struct np_err *err)
{
	memset(c, 0, sizeof *c);
	const char *p = expr ? expr : "";
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@') {
		size_t n = strcspn(p, " \t");
		if (!p[n + strspn(p + n, " \t")])
			for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
				if (strlen(macros[i].name) == n && !strncasecmp(p, macros[i].name, n))
					return np_cron_parse(c, macros[i].expr, err);
		return np_err_set(err, NP_ERR_PERM,
				  "unknown cron shorthand \"%.*s\" (use @hourly, @daily, @weekly, @monthly, @yearly "
				  "or 5 fields: minute hour day month weekday)",
				  (int)(n > 20 ? 20 : n), p);
	}
	uint64_t bits[5];
	int star[5];
	for (int i = 0; i < 5; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (p == start)
			return np_err_set(err, NP_ERR_PERM,
					  "cron expression needs 5 fields (minute hour day month weekday)");
		star[i] = *start == '*';
		if (parse_field(&fields[i], start, (size_t)(p - start), &bits[i]) < 0)
			return np_err_set(err, NP_ERR_PERM, "invalid cron %s field \"%.*s\"", fields[i].name,
					  (int)(p - start > 40 ? 40 : p - start), start);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p)
		return np_err_set(err, NP_ERR_PERM, "cron expression has more than 5 fields");
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
	c->hour_star = star[1] != 0;
	c->mday_star = star[2] != 0;
	c->wday_star = star[4] != 0;
	return 0;
}

/* Days in each month at most (February in a leap year). */
static const int month_days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int np_cron_fires(const struct np_cron *c)
{
	/* Hours and minutes always have a value; only the days can miss: a
	 * restricted weekday fires in every month (each has every weekday, and
	 * with both day fields restricted either one is enough). */
	if (!c->wday_star)
		return c->wday != 0;
	for (int m = 1; m <= 12; m++)
		if (c->month & (1u << m))
			for (int d = 1; d <= month_days[m]; d++)
				if ((c->mday >> d) & 1)
					return 1;
	return 0;
}

static int day_match(const struct np_cron *c, const struct tm *tm)
{
	if (!(c->month & (1u << (tm->tm_mon + 1))))
		return 0;
	int md = (c->mday >> tm->tm_mday) & 1, wd = (c->wday >> tm->tm_wday) & 1;
	if (c->mday_star || c->wday_star)
		return md && wd;
	return md || wd;
}

int np_cron_match(const struct np_cron *c, const struct tm *tm)
{
	return day_match(c, tm) && ((c->hour >> tm->tm_hour) & 1) && ((c->minute >> tm->tm_min) & 1);
}

/* Wall-clock time of tm as if it were UTC: equal walls give equal values. */
static time_t wall(const struct tm *tm)
{
	struct tm w = *tm;
	return timegm(&w);
}

/* Local midnight starting the day after lt (or the first of the next month). */
static time_t next_day(const struct tm *lt, int month)
{
	struct tm m = *lt;
	if (month) {
		m.tm_mon++;
		m.tm_mday = 1;
	} else {
		m.tm_mday++;
	}
	m.tm_hour = m.tm_min = m.tm_sec = 0;
	m.tm_isdst = -1;
	return mktime(&m);
}

time_t np_cron_next(const struct np_cron *c, time_t after)
{
	time_t t = after - ((after % 60) + 60) % 60 + 60;
	time_t limit = after + (time_t)8 * 366 * 86400;
	while (t <= limit) {
		struct tm lt, pt;
		localtime_r(&t, &lt);
		if (!(c->month & (1u << (lt.tm_mon + 1))) || !day_match(c, &lt)) {
			time_t n = next_day(&lt, !(c->month & (1u << (lt.tm_mon + 1))));
			t = n > t ? n - ((n % 60) + 60) % 60 : t + 60;
			continue;
		}
		time_t prev = t - 60;
		localtime_r(&prev, &pt);
		time_t w = wall(&lt), pw = wall(&pt);
		if (w - pw > 60) {
			/* Spring forward: run what the gap swallowed now. */
			for (time_t g = pw + 60; g < w; g += 60) {
				struct tm gt;
				gmtime_r(&g, &gt);
				if (np_cron_match(c, &gt))
					return t;
			}
		}
		if ((c->hour >> lt.tm_hour) & 1) {
			if ((c->minute >> lt.tm_min) & 1) {
				int repeat = 0;
				if (!c->hour_star) {
					/* Fall back: the same wall time already happened 30 or 60 minutes ago. */
					for (time_t back = 1800; back <= 3600 && !repeat; back += 1800) {
						time_t e = t - back;
						struct tm et;
						localtime_r(&e, &et);
						repeat = wall(&et) == w;
					}
				}
				if (!repeat)
					return t;
			}
			int m = lt.tm_min + 1;
			while (m < 60 && !((c->minute >> m) & 1))
				m++;
			if (m < 60) {
				t += (time_t)(m - lt.tm_min) * 60;
				continue;
			}
		}
		t += (time_t)(60 - lt.tm_min) * 60 - lt.tm_sec;
	}
	return (time_t)-1;
}
