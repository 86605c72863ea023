// SPDX-License-Identifier: Apache-2.0
/* GET /api/conformance: the DICOM Conformance Statement (np_conformance.h),
 * HTML by default or ?format=json, generated from the same tables as
 * np-conformance(7), so the page, the manual and the code agree. Public: it
 * describes the product with its shipped defaults, nothing of the site. */
#include "np_conformance.h"
#include "np_httpd_int.h"

#include <stdlib.h>
#include <string.h>

int np__h_conformance(struct np_req *r)
{
	char fmt[16] = "html";
	if (np_query_get(r->query, "format", fmt, sizeof fmt) < 0 || (strcmp(fmt, "html") && strcmp(fmt, "json")))
		return np__reply_error(r, 400, "bad_request", "format: html or json");
	int json = !strcmp(fmt, "json");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return np__reply_error(r, 500, "internal", "out of memory");
	int rc = np_conformance_write(m, json ? NP_CONF_JSON : NP_CONF_HTML);
	if (fclose(m) != 0 || rc < 0) {
		free(buf);
		return np__reply_error(r, 500, "internal", "unable to write the conformance statement");
	}
	int st = np__reply_bytes(r, 200, json ? "application/json" : "text/html; charset=utf-8", buf, len,
				 "Cache-Control: no-cache\r\n");
	free(buf);
	return st;
}
