// SPDX-License-Identifier: Apache-2.0
// Fuzz np_cron_parse on arbitrary text and, when it parses, check that
// np_cron_next returns a later whole minute that matches (in UTC, where
// there are no daylight-saving gaps).
#include "np_cron.h"
#include "np_err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char expr[257];
	memcpy(expr, data, size);
	expr[size] = 0;
	setenv("TZ", "UTC", 1);
	struct np_cron c;
	struct np_err err = {0};
	if (np_cron_parse(&c, expr, &err) < 0)
		return 0;
	time_t from = 1795814820; /* 2026-11-27T21:27:00Z */
	time_t t = np_cron_next(&c, from);
	if (t != (time_t)-1) {
		struct tm tm;
		gmtime_r(&t, &tm);
		if (t <= from || t % 60 != 0 || !np_cron_match(&c, &tm))
			abort();
	}
	return 0;
}
