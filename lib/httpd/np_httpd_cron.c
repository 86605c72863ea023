// SPDX-License-Identifier: Apache-2.0
/* GET /api/settings/cron: when a cron expression fires next. The settings
 * page shows these times under each schedule; they come from np_cron, the
 * parser np-sched uses, in the agent's time zone, so a custom expression is
 * checked with the same rules (and error text) as when it is saved. */
#include "np_cron.h"
#include "np_err.h"
#include "np_httpd_int.h"

#include <stdio.h>
#include <time.h>

#define NEXT_MAX 10

int np__h_settings_cron(struct np_req *r)
{
	char expr[256], msg[128];
	long count = 5;
	int got = np_query_get(r->query, "expr", expr, sizeof expr);
	if (got != 1)
		return np__reply_error(r, 400, "bad_request",
				       "expr: a cron expression is required (at most %zu characters)", sizeof expr - 1);
	if (np_query_long(r->query, "count", 1, NEXT_MAX, &count, msg, sizeof msg) < 0)
		return np__reply_error(r, 400, "bad_request", "%s", msg);
	struct np_cron c;
	struct np_err err = {0};
	if (np_cron_parse(&c, expr, &err) < 0)
		return np__reply_error(r, 400, "bad_request", "expr: %s", err.msg);
	json_t *next = json_array();
	time_t t = time(NULL);
	for (long i = 0; i < count; i++) {
		t = np_cron_next(&c, t);
		if (t == (time_t)-1)
			break;
		struct tm lt, ut;
		char local[64], utc[32];
		localtime_r(&t, &lt);
		gmtime_r(&t, &ut);
		strftime(local, sizeof local, "%Y-%m-%d %H:%M %Z", &lt);
		strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", &ut);
		json_array_append_new(next, json_pack("{s:s,s:s}", "at", utc, "local", local));
	}
	return np__reply_json(r, 200, json_pack("{s:s,s:o}", "expr", expr, "next", next));
}
