// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the request parsing np-httpd does itself: query
 * strings and the /api/studies filter (to SQL), route matching, JSON bodies
 * (depth check, then jansson) and s6-log lines. The first byte picks the
 * parser; the rest is the input. */
#include "np_err.h"
#include "np_httpd_int.h"
#include "np_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	unsigned mode = data[0] % 4;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (mode) {
	case 0: {
		struct np_studies_q q;
		struct np_studies_sql sql;
		char msg[200], out[64];
		np_query_get(s, "q", out, sizeof out);
		np_query_get(s, "", out, 1);
		if (np_studies_q_parse(s, &q, msg, sizeof msg) == 0) {
			np_studies_sql(&q, 1, "npuid", &sql);
			np_studies_sql(&q, 0, "npuid", &sql);
		}
		break;
	}
	case 1: {
		char param[2][NP_HTTPD_PARAM_MAX];
		for (size_t i = 0; i < np_httpd_nroutes; i++)
			np_route_match(np_httpd_routes[i].pattern, s, param);
		break;
	}
	case 2: {
		struct np_err err = {0};
		if (np_json_depth_ok(s, size - 1, 32)) {
			json_t *v = np_json_parse(s, size - 1, "fuzz", &err);
			json_decref(v);
		}
		break;
	}
	default: {
		json_t *e = np_log_line_parse("np-fuzz", s, size - 1);
		json_decref(e);
		break;
	}
	}
	free(s);
	return 0;
}
