// SPDX-License-Identifier: Apache-2.0
// np-cloud: the cloud actions of the Settings and Studies pages from a shell
// (the same library calls np-httpd makes).
#include "np_cloud.h"
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_json.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_study_ops.h"

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cloud's QC report of a study's order, printed as the cloud sends it. */
static int qc(const char *home, const char *npuid, const char *fmt, char *msg, size_t msgsz, struct np_err *err)
{
	char state[32], dir[PATH_MAX];
	int claimed = 0;
	int f = np_spool_find(home, npuid, state, sizeof state, &claimed, err);
	if (f != 0)
		return f < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "study %s not found", npuid);
	snprintf(dir, sizeof dir, "%s/spool/%s/%s%s", home, state, claimed ? ".work/" : "", npuid);
	json_t *o = np_order_load(dir, err);
	const char *oid = o ? np_json_str(o, "order_id", NULL) : NULL;
	struct np_config cfg;
	int rc = -1;
	if (!oid) {
		if (o)
			np_err_set(err, NP_ERR_PERM, "study %s has no cloud order yet", npuid);
	} else if (np_config_load(&cfg, home, err) == 0) {
		struct np_cloud *cl = np_cloud_open(&cfg, err);
		char *out = NULL;
		rc = cl ? np_cloud_qc_check(cl, oid, fmt, &out, err) : -1;
		if (rc == 1)
			snprintf(msg, msgsz, "protocol v2 has no QC check call");
		else if (rc == 0)
			fputs(out, stdout);
		rc = rc < 0 ? -1 : 0;
		free(out);
		np_cloud_close(cl);
		np_config_free(&cfg);
	}
	json_decref(o);
	return rc;
}

/* Cancel as the Studies page's Cancel button does (np_study_cancel): what
 * follows stops (upload, processing, download, or the delivery of a study in
 * results) and the order is cancelled at the cloud where the protocol can;
 * refused once the cloud reports the order Completed before its results are
 * in. Audited as np-study(1) does. */
static int cancel(const char *home, const char *npuid, char *msg, size_t msgsz, struct np_err *err)
{
	char by[160];
	struct passwd *pw = getpwuid(geteuid());
	snprintf(by, sizeof by, "cli:%s", pw ? pw->pw_name : "?");
	/* as np-study: a runner at work on the study gets a minute to let go */
	struct np_study_op op = {.actor = by, .wait_s = 60};
	int rc = np_study_cancel(home, npuid, &op, err);
	const char *outcome = rc < 0				 ? "failure"
			      : op.status == NP_STUDY_OP_REFUSED ? "refused"
			      : op.status == NP_STUDY_OP_PENDING ? "pending"
			      : op.status == NP_STUDY_OP_DONE	 ? "success"
								 : NULL;
	if (outcome) {
		char detail[80];
		snprintf(detail, sizeof detail, "state=%s", op.state[0] ? op.state : "-");
		struct np_db *db = np_index_open(home, NULL);
		np_study_ops_audit(db, by, "cancel", npuid, detail, outcome);
		np_db_close(db);
	}
	if (rc < 0)
		return -1;
	if (op.status == NP_STUDY_OP_REFUSED || op.status == NP_STUDY_OP_NOT_FOUND)
		return np_err_set(err, NP_ERR_PERM, "%s", op.msg);
	snprintf(msg, msgsz, "%s%s", op.status == NP_STUDY_OP_PENDING ? "pending: " : "", op.msg);
	return 0;
}

static const struct np_prog_spec spec = {
    .name = "np-cloud",
    .synopsis = "[--home DIR] refresh-token\n"
		"[--home DIR] status NPUID     check a study's order now\n"
		"[--home DIR] cancel NPUID     cancel a study as the Cancel button does\n"
		"[--home DIR] list-orders      orders visible to the service user (v2)\n"
		"[--home DIR] qc NPUID [txt|csv|json]   the cloud's QC check of an uploaded order (v1)",
    .needs = NP_PROG_HOME,
    .min_args = 1,
    .max_args = -1,
};

int main(int argc, char **argv)
{
	struct np_prog p;
	int rc = np_prog_start(argc, argv, &spec, &p, NULL, NULL);
	if (rc != NP_PROG_GO)
		return rc;
	const char *cmd = p.argv[0], *arg = p.argc > 1 ? p.argv[1] : NULL, *home = p.home;
	struct np_err err = {0};
	char msg[512] = "";
	rc = -1;
	if (!strcmp(cmd, "refresh-token")) {
		rc = np_cloud_refresh_token(home, msg, sizeof msg, &err);
	} else if (!strcmp(cmd, "cancel") && arg) {
		rc = cancel(home, arg, msg, sizeof msg, &err);
	} else if (!strcmp(cmd, "status") && arg) {
		json_t *o = NULL;
		rc = np_cloud_check_status(home, arg, &o, &err);
		if (rc == 1)
			snprintf(msg, sizeof msg, "no cloud order yet");
		else if (rc == 0)
			snprintf(msg, sizeof msg, "%s %lld%% %s", np_json_str(o, "status", "?"),
				 np_json_int(o, "progress", 0), np_json_str(o, "info", ""));
		json_decref(o);
		rc = rc < 0 ? -1 : 0;
	} else if (!strcmp(cmd, "qc") && arg) {
		rc = qc(home, arg, p.argc > 2 ? p.argv[2] : "txt", msg, sizeof msg, &err);
	} else if (!strcmp(cmd, "list-orders")) {
		struct np_config cfg;
		if (np_config_load(&cfg, home, &err) == 0) {
			struct np_cloud *cl = np_cloud_open(&cfg, &err);
			json_t *out = NULL;
			rc = cl ? np_cloud_list_orders(cl, &out, &err) : -1;
			if (rc == 1)
				snprintf(msg, sizeof msg, "protocol v1 has no list of orders");
			else if (rc == 0)
				json_dumpf(out, stdout, JSON_INDENT(2)), putchar('\n');
			rc = rc < 0 ? -1 : 0;
			json_decref(out);
			np_cloud_close(cl);
			np_config_free(&cfg);
		}
	} else {
		return np_prog_usage(&p);
	}
	np_prog_end(&p);
	if (rc < 0)
		return np_prog_fail(arg, &err);
	if (msg[0])
		printf("%s\n", msg);
	return 0;
}
