// SPDX-License-Identifier: Apache-2.0
/* np_httpd_audit: GET /api/audit, the audit trail for the Audit page and its
 * exports: filtered by action, actor, study and time, in pages, as JSON or as
 * CSV whose cells no spreadsheet runs as a formula. */
#include "np_csv.h"
#include "np_db.h"
#include "np_db_audit.h"
#include "np_err.h"
#include "np_httpd_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_param(struct np_req *r, const char *msg)
{
	return np__reply_error(r, 400, "bad_request", "%s", msg);
}

int np__h_audit(struct np_req *r)
{
	char fmt[8] = "json", action[64] = "", since[40] = "", until[40] = "", actor[256] = "", npuid[64] = "";
	char facets[4] = "", msg[80];
	long limit = 500, offset = 0;
	if (np_query_get(r->query, "format", fmt, sizeof fmt) < 0 || (strcmp(fmt, "json") && strcmp(fmt, "csv")))
		return bad_param(r, "format: json or csv");
	if (np_query_get(r->query, "action", action, sizeof action) < 0 ||
	    np_query_get(r->query, "since", since, sizeof since) < 0 ||
	    np_query_get(r->query, "until", until, sizeof until) < 0)
		return bad_param(r, "action/since/until: malformed or too long");
	if (np_query_get(r->query, "actor", actor, sizeof actor) < 0)
		return bad_param(r, "actor: malformed or too long");
	if (np_query_get(r->query, "npuid", npuid, sizeof npuid) < 0 ||
	    strspn(npuid, "0123456789abcdefABCDEF-") != strlen(npuid))
		return bad_param(r, "npuid: a Neuropacs UID or its beginning (hex digits and -)");
	if (np_query_get(r->query, "facets", facets, sizeof facets) < 0 ||
	    (*facets && strcmp(facets, "0") && strcmp(facets, "1")))
		return bad_param(r, "facets: 0 or 1");
	if (np_query_long(r->query, "limit", 1, 100000, &limit, msg, sizeof msg) < 0 ||
	    np_query_long(r->query, "offset", 0, 100000000, &offset, msg, sizeof msg) < 0)
		return bad_param(r, msg);
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db)
		return np__reply_err(r, &err);
	struct np_db_audit_filter flt = {action, since, until, actor, npuid, limit, offset};
	json_t *items;
	long long total;
	if (np_db_audit_list(db, &flt, &items, &total, &err) < 0)
		return np__reply_error(r, 500, "internal", "database error");
	static const char *const cols[] = {"id",     "ts",    "actor",	"role",	  "client",
					   "action", "npuid", "detail", "outcome"};
	if (!strcmp(fmt, "json")) {
		json_t *o = json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total, "offset",
				      (json_int_t)offset, "limit", (json_int_t)limit);
		if (!strcmp(facets, "1")) {
			json_object_set_new(o, "actions", np_db_audit_distinct(db, "action"));
			json_object_set_new(o, "actors", np_db_audit_distinct(db, "actor"));
		}
		return np__reply_json(r, 200, o);
	}
	char *buf2 = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf2, &len);
	if (!f) {
		json_decref(items);
		return np__reply_error(r, 500, "internal", "out of memory");
	}
	fprintf(f, "id,ts,actor,role,client,action,npuid,detail,outcome\r\n");
	size_t i;
	json_t *o;
	json_array_foreach (items, i, o) {
		for (int c = 0; c < 9; c++) {
			json_t *v = json_object_get(o, cols[c]);
			if (json_is_integer(v))
				fprintf(f, "%lld", (long long)json_integer_value(v));
			else if (json_is_string(v))
				np_csv_cell(f, json_string_value(v)); /* a sign-in name may be "=HYPERLINK(...)" */
			fputs(c < 8 ? "," : "\r\n", f);
		}
	}
	fclose(f);
	json_decref(items);
	int rc = np__reply_bytes(r, 200, "text/csv; charset=utf-8", buf2, len,
				 "Content-Disposition: attachment; filename=\"audit.csv\"\r\n");
	free(buf2);
	return rc;
}
