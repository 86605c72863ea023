// SPDX-License-Identifier: Apache-2.0
/* The study actions of np-httpd: POST /api/studies/{id}/retry and /cancel,
 * DELETE /api/studies/{id}. The work is np_study_ops's (shared with
 * np-study(1)); this file maps its outcome to HTTP and audits it. */
#include "np_err.h"
#include "np_httpd_int.h"
#include "np_study_ops.h"
#include "np_util.h"

#include <stdio.h>
#include <string.h>

/* How long a request waits for a runner to let go of a claimed study before
 * answering 202 (the runner finishes the request by itself later). */
#define STUDYOPS_WAIT_S 5.0

static int study_op(struct np_req *r, const char *action,
		    int (*fn)(const char *, const char *, struct np_study_op *, struct np_err *))
{
	const char *id = r->param[0];
	if (!np_uuid_valid(id))
		return np__reply_error(r, 400, "bad_request", "neuropacsId: expected a UUID");
	char by[160];
	snprintf(by, sizeof by, "%s (%s)", r->actor, np_role_name(r->role));
	struct np_study_op op = {.actor = by, .wait_s = STUDYOPS_WAIT_S};
	struct np_err err = {0};
	char detail[80];
	if (fn(r->srv->home, id, &op, &err) < 0) {
		np__audit(r, action, id, NULL, "failure");
		return np__reply_err(r, &err);
	}
	snprintf(detail, sizeof detail, "state=%s", op.state[0] ? op.state : "-");
	switch (op.status) {
	case NP_STUDY_OP_NOT_FOUND:
		return np__reply_error(r, 404, "not_found", "%s", op.msg);
	case NP_STUDY_OP_REFUSED:
		np__audit(r, action, id, detail, "refused");
		return np__reply_error(r, 409, "conflict", "%s", op.msg);
	case NP_STUDY_OP_PENDING:
		np__audit(r, action, id, detail, "pending");
		return np__reply_json(
		    r, 202,
		    json_pack("{s:s,s:s,s:s,s:b}", "npuid", id, "state", op.now, "message", op.msg, "pending", 1));
	case NP_STUDY_OP_DONE:
		break;
	}
	np__audit(r, action, id, detail, "success");
	return np__reply_json(
	    r, 200, json_pack("{s:s,s:s,s:s,s:b}", "npuid", id, "state", op.now, "message", op.msg, "pending", 0));
}

int np__h_study_retry(struct np_req *r)
{
	return study_op(r, "retry", np_study_retry);
}

int np__h_study_cancel(struct np_req *r)
{
	return study_op(r, "cancel", np_study_cancel);
}

int np__h_study_delete(struct np_req *r)
{
	return study_op(r, "delete", np_study_delete);
}
