// SPDX-License-Identifier: Apache-2.0
/* POST /api/settings/test-atna (admin): the Settings page's Test button of
 * the audit repository. Sends one test message with the saved atna.*
 * settings (enabled or not) and answers what happened (np_atna_test); the
 * test itself is audited, so the repository later receives that record too. */
#include "np_atna.h"
#include "np_err.h"
#include "np_httpd_int.h"

#include <stdio.h>

int np_h_test_atna(struct np_req *r)
{
	char msg[1024] = "", detail[96];
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db)
		return np__reply_err(r, &err);
	snprintf(detail, sizeof detail, "transport=%s", np_config_str(&r->cfg, "atna.transport"));
	if (np_atna_test(&r->cfg, db, r->actor, r->client, msg, sizeof msg, &err) < 0) {
		np__audit(r, "atna_test", NULL, detail, "failure");
		return np__reply_error(r, err.cls == NP_ERR_TEMP ? 502 : 400, "atna_failed", "%s", err.msg);
	}
	np__audit(r, "atna_test", NULL, detail, "success");
	return np__reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", msg));
}
