// SPDX-License-Identifier: Apache-2.0
/* POST /api/settings/test-atna (admin): the Settings page's Test button of
 * the audit repository. Sends one test message with the saved atna.*
 * settings (enabled or not) and answers what happened (np_atna_test); the
 * test itself is audited, so the repository later receives that record too. */
#include "np_atna.h"
#include "np_err.h"
#include "np_httpd_int.h"

#include <pthread.h>
#include <stdio.h>

struct job {
	struct np_req *r;
	struct np_db *db;
	char msg[1024];
	struct np_err err;
	int rc;
};

static void *test_thread(void *arg)
{
	struct job *j = arg;
	j->rc = np_atna_test(&j->r->cfg, j->db, j->r->actor, j->r->client, j->msg, sizeof j->msg, &j->err);
	return NULL;
}

int np__h_test_atna(struct np_req *r)
{
	struct job j = {.r = r, .rc = -1};
	char detail[96];
	j.db = np__db(r->srv, &j.err);
	if (!j.db)
		return np__reply_err(r, &j.err);
	snprintf(detail, sizeof detail, "transport=%s", np_config_str(&r->cfg, "atna.transport"));
	/* A TLS handshake (OpenSSL) wants more stack than CivetWeb's workers
	 * have: the test runs on a thread of its own with a full-size one. */
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 8 << 20);
	if (pthread_create(&t, &a, test_thread, &j) == 0)
		pthread_join(t, NULL);
	else
		np_err_set(&j.err, NP_ERR_TEMP, "unable to start the test");
	pthread_attr_destroy(&a);
	if (j.rc < 0) {
		np__audit(r, "atna_test", NULL, detail, "failure");
		return np__reply_error(r, j.err.cls == NP_ERR_TEMP ? 502 : 400, "atna_failed", "%s", j.err.msg);
	}
	np__audit(r, "atna_test", NULL, detail, "success");
	return np__reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", j.msg));
}
