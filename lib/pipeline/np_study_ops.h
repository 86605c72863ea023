/* SPDX-License-Identifier: Apache-2.0 */
/* np_study_ops: the admin's actions on one study, shared by np-httpd
 * (POST /api/studies/{id}/retry|cancel, DELETE /api/studies/{id}) and
 * np-study(1):
 *   retry   a failed study goes back to the state it failed from;
 *   cancel  nothing more happens to the study (upload, processing,
 *           download, delivery); refused once the cloud reports the order
 *           Completed before its results are in (state results: the
 *           delivery is what is cancelled);
 *   delete  the study folder and its PHI go, in any state; the index keeps
 *           a "study_deleted" event (who, when, from which state) only.
 *
 * A study claimed by a runner (spool/STATE/.work/NPUID) is never moved or
 * removed under the command working on it. The request is written as a
 * mark, spool/.marks/NPUID.json {"action":"cancel"|"delete","by","at"},
 * and the runner settles it when the command ends (np_study_ops_settle,
 * called by np-queue(1)); np-deliver stops before the next destination
 * (np_study_ops_stopping). When no runner holds the stage's lock the claim
 * is stale and the study is handled at once. A study not claimed is moved
 * by one rename of its unclaimed path, which a runner's claim cannot race.
 *
 * An incoming study (spool/incoming/, or np-stable's build of it in
 * spool/tmp/st-NPUID) is np-recv's and np-stable's: cancel only marks it and
 * np-stable settles the mark as it builds the study (np_study_ops_settle_build:
 * the build goes to cancelled/ instead of stable/), at once once no
 * association sends it. Delete removes an incoming folder at once (later
 * instances of an open association are refused); a build in progress is
 * np-stable's to purge. */
#ifndef NP_STUDY_OPS_H
#define NP_STUDY_OPS_H

#include <jansson.h>
#include <stddef.h>

struct np_err;
struct np_db;

enum np_study_op_status {
	NP_STUDY_OP_DONE = 0,	   /* done now (HTTP 200) */
	NP_STUDY_OP_PENDING = 1,   /* asked of the runner at work on it (HTTP 202) */
	NP_STUDY_OP_REFUSED = 2,   /* not possible in this state (HTTP 409); msg says why */
	NP_STUDY_OP_NOT_FOUND = 3, /* no such study (HTTP 404) */
};

struct np_study_op {
	/* in */
	const char *actor; /* operator identity for the record ("admin", "cli:root"); never PHI */
	double wait_s;	   /* how long to wait for a runner to let go of a claimed study */
	/* out */
	enum np_study_op_status status;
	char state[32]; /* state before ("" when not found) */
	char now[32];	/* state after; "deleted" after a delete */
	char msg[400];	/* one line for the user, no PHI */
};

/* Each returns 0 with op->status and op->msg filled, or -1 with err for
 * errors of the system (I/O, database). */
int np_study_retry(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err);
int np_study_cancel(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err);
int np_study_delete(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err);

/* The state a failed study goes back to on retry ("" when it cannot tell),
 * from its history.jsonl, else the index's queue_failed event. */
int np_study_failed_from(const char *home, const char *dir, const char *npuid, char *out, size_t outsz);

/* For np-queue: when a cancel or delete of npuid was asked, carry it out on
 * the study in stage (claimed or not; the caller is that stage's runner and
 * no command works on it) and return 1; 0 when nothing was asked; -1 with
 * err on failure. db may be NULL. */
int np_study_ops_settle(const char *home, struct np_db *db, const char *stage, const char *npuid, struct np_err *err);
/* For np-stable: settle the cancel or delete asked of a study it builds in
 * build (spool/tmp/st-NPUID; the caller holds its .build.lock) instead of
 * putting it in stable/. Delete purges the build and the study's index row;
 * cancel (manifest given: the study's manifest, saved in build) moves the
 * build to cancelled/ with its history line and index row. Stores "deleted"
 * or "cancelled" in now (16 bytes). Returns 1 settled, 0 nothing asked (or a
 * cancel with manifest NULL), -1 with err. db may be NULL. */
int np_study_ops_settle_build(const char *home, struct np_db *db, const char *npuid, const char *build,
			      json_t *manifest, char *now, struct np_err *err);
/* 1 when a cancel or delete of npuid was asked: a command at work on it
 * stops before its next outward step (np-deliver, np-upload). */
int np_study_ops_stopping(const char *home, const char *npuid);

/* A cancel made where the cloud credentials cannot be read (np-httpd under
 * the privilege split: np_cloud_credentials_here) moves the study to
 * cancelled/ at once and hands the cloud's part to the back-end,
 * spool/.marks/NPUID.cloud-cancel.json. For np-stable (the back-end, woken
 * by any change in spool/.marks): tell the cloud of each handed-over cancel, record how it went in the study's
 * order.json and the index (db may be NULL) and drop the hand-over; one
 * the cloud could not be reached for stays for the next pass. Returns how
 * many were done. */
int np_study_ops_cloud_handovers(const char *home, struct np_db *db);

/* Append an audit record for a command-line action (np-httpd has its own,
 * with the client address). */
void np_study_ops_audit(struct np_db *db, const char *actor, const char *action, const char *npuid, const char *detail,
			const char *outcome);

#endif
