// SPDX-License-Identifier: Apache-2.0
#include "np_study_ops.h"

#include "np_cloud.h"
#include "np_config.h"
#include "np_db.h"
#include "np_db_audit.h"
#include "np_db_events.h"
#include "np_db_maint.h"
#include "np_db_studies.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_password.h"
#include "np_queue.h"
#include "np_spool.h"
#include "np_study_status.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- marks: spool/.marks/NPUID.json ---- */

static int mark_path(const char *home, const char *npuid, char *out, size_t outsz)
{
	if (!np_uuid_valid(npuid))
		return -1;
	return snprintf(out, outsz, "%s/spool/.marks/%s.json", home, npuid) < (int)outsz ? 0 : -1;
}

/* The action asked ("cancel" or "delete") in action, who asked in by;
 * returns 1 when there is a mark, else 0. */
static int mark_get(const char *home, const char *npuid, char *action, size_t asz, char *by, size_t bsz)
{
	char p[PATH_MAX];
	if (mark_path(home, npuid, p, sizeof p) < 0 || !np_exists(p))
		return 0;
	json_t *o = np_json_load(p, 4096, NULL);
	snprintf(action, asz, "%s", np_json_str(o, "action", "cancel"));
	if (by)
		snprintf(by, bsz, "%s", np_json_str(o, "by", "-"));
	json_decref(o);
	return 1;
}

static int mark_set(const char *home, const char *npuid, const char *action, const char *by, struct np_err *err)
{
	char p[PATH_MAX], dir[PATH_MAX], at[32];
	snprintf(dir, sizeof dir, "%s/spool/.marks", home);
	if (mark_path(home, npuid, p, sizeof p) < 0)
		return np_err_set(err, NP_ERR_PERM, "not a study id");
	if (np_mkdirs(dir, 0750, err) < 0)
		return -1;
	np_time_iso(at);
	json_t *o = json_pack("{s:s,s:s,s:s}", "action", action, "by", by ? by : "-", "at", at);
	int rc = o ? np_json_save(p, o, 0640, err) : np_err_sys(err, ENOMEM, "unable to record the request");
	json_decref(o);
	return rc;
}

static void mark_drop(const char *home, const char *npuid)
{
	char p[PATH_MAX];
	if (mark_path(home, npuid, p, sizeof p) == 0 && unlink(p) == 0)
		np_fsync_parent(p, NULL);
}

int np_study_ops_stopping(const char *home, const char *npuid)
{
	char action[16];
	return mark_get(home, npuid, action, sizeof action, NULL, 0);
}

/* ---- finding a study ---- */

struct incoming_find {
	const char *npuid;
	char uid[256];
};

static int incoming_one(const char *home, const char *state, const char *id, const char *dir, void *vctx)
{
	(void)home, (void)state;
	struct incoming_find *f = vctx;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/npuid", dir);
	char *s = np_read_file(p, 128, NULL, NULL);
	int hit = s && !strncasecmp(s, f->npuid, 36);
	free(s);
	if (hit)
		snprintf(f->uid, sizeof f->uid, "%s", id);
	return hit;
}

/* np-stable's build of npuid (spool/tmp/st-NPUID with its dicom/): the
 * study is still "incoming" there, on its way to stable/ or cancelled/. */
static int build_path(const char *home, const char *npuid, char *dir, size_t dsz)
{
	/* dir serves for both paths: np-httpd runs this on a small stack. */
	int n = snprintf(dir, dsz, "%s/spool/tmp/st-%s/dicom", home, npuid);
	if (n < 0 || (size_t)n >= dsz)
		return 0;
	int is = np_is_dir(dir);
	dir[n - 6] = 0;
	return is;
}

/* One look for npuid, in the order a study moves: incoming/ (found by its
 * npuid file), np-stable's build, the spool states. */
static int locate_once(const char *home, const char *npuid, char *state, size_t ssz, int *claimed, int *building,
		       char *dir, size_t dsz, struct np_err *err)
{
	*claimed = *building = 0;
	struct incoming_find f = {npuid, ""};
	if (np_spool_each(home, "incoming", incoming_one, &f, err) < 0)
		return -1;
	if (f.uid[0]) {
		snprintf(state, ssz, "incoming");
		snprintf(dir, dsz, "%s/spool/incoming/%s", home, f.uid);
		return 0;
	}
	if (build_path(home, npuid, dir, dsz)) {
		snprintf(state, ssz, "incoming");
		*building = 1;
		return 0;
	}
	int rc = np_spool_find(home, npuid, state, ssz, claimed, err);
	if (rc != 0)
		return rc;
	if (*claimed)
		snprintf(dir, dsz, "%s/spool/%s/.work/%s", home, state, npuid);
	else
		snprintf(dir, dsz, "%s/spool/%s/%s", home, state, npuid);
	return 0;
}

/* Where npuid is: state, claimed, in np-stable's build, and its folder.
 * Every move is one rename and the places are looked at in the order a
 * study goes through them, but a claim given back moves backwards: a miss
 * counts only when a second look agrees (else a study on its way would be
 * reported deleted). Returns 0 found, 1 not found, -1 error. */
static int locate(const char *home, const char *npuid, char *state, size_t ssz, int *claimed, int *building, char *dir,
		  size_t dsz, struct np_err *err)
{
	int rc = locate_once(home, npuid, state, ssz, claimed, building, dir, dsz, err);
	if (rc == 1) {
		usleep(20000);
		rc = locate_once(home, npuid, state, ssz, claimed, building, dir, dsz, err);
	}
	return rc;
}

/* The runner lock of stage when no runner holds it (the study's claim is
 * then left over from a stopped runner), else -1. */
static int runner_absent(const char *home, const char *stage)
{
	struct np_err e = {0};
	return np_queue_lock(home, stage, &e);
}

/* ---- purge ---- */

/* Remove a study folder: one rename out of the spool (it is gone for every
 * reader at once), then the tree. np-recv may still be storing instances of
 * an incoming study through its open folder: each pass removes what is
 * there, and once the folder itself is gone no more can land in it. */
static int purge_dir(const char *home, const char *dir, const char *npuid, struct np_err *err)
{
	char trash[PATH_MAX];
	if (snprintf(trash, sizeof trash, "%s/spool/tmp/purge-%s", home, npuid) >= (int)sizeof trash)
		return np_err_set(err, NP_ERR_PERM, "agent home path too long");
	if (np_rmtree(trash, err) < 0)
		return -1;
	if (rename(dir, trash) < 0)
		return errno == ENOENT ? 1 : np_err_sys(err, errno, "unable to remove the study folder");
	np_fsync_parent(dir, NULL);
	for (int i = 0;; i++) {
		struct np_err e = {0};
		if (np_rmtree(trash, &e) == 0)
			return 0;
		if (i >= 50) {
			if (err)
				*err = e;
			return -1;
		}
		usleep(100000);
	}
}

/* The index keeps no PHI of a deleted study: its row goes with
 * secure_delete on (the freed pages are zeroed), the search index is merged
 * so the deleted terms leave its segments, and the WAL is checkpointed and
 * truncated. One event row remains as the tombstone. */
static void db_purge(const char *home, struct np_db *db, const char *npuid, const char *state, const char *by)
{
	struct np_err e = {0};
	struct np_db *own = db ? NULL : np_index_open(home, &e);
	struct np_db *d = db ? db : own;
	if (!d) {
		np_log_err(npuid, &e);
		return;
	}
	char detail[200], at[32];
	np_time_iso(at);
	snprintf(detail, sizeof detail, "deleted by %s at %s from state %s", by ? by : "-", at, state);
	if (np_db_secure_delete(d, &e) < 0 || np_db_study_delete(d, npuid, &e) < 0 ||
	    np_db_studies_search_optimize(d, &e) < 0 ||
	    np_db_event(d, npuid, "study_deleted", "warning", detail, &e) < 0)
		np_log_err(npuid, &e);
	np_db_checkpoint(d);
	np_db_close(own);
}

/* Delete the study folder dir of state: purge_dir, then, once it is gone,
 * its index row and the log line (with how, e.g. " while receiving").
 * Returns purge_dir's answer. */
static int delete_study(const char *home, struct np_db *db, const char *dir, const char *npuid, const char *state,
			const char *by, const char *how, struct np_err *err)
{
	int rc = purge_dir(home, dir, npuid, err);
	if (rc == 0) {
		db_purge(home, db, npuid, state, by);
		np_info(npuid, "deleted state=%s by=%s%s", state, by, how);
	}
	return rc;
}

static void drop_journals(const char *home, const char *npuid)
{
	for (int i = 1; np_spool_states[i]; i++)
		np_queue_drop(home, np_spool_states[i], npuid, NULL);
}

/* ---- cancel in place ---- */

/* order.json of dir says Cancelled (by whom and how far it went). */
static void order_cancelled(const char *home, struct np_db *db, const char *dir, const char *npuid, const char *scope,
			    const char *info)
{
	struct np_err e = {0};
	json_t *order = np_order_load(dir, &e);
	if (!order) {
		np_log_err(npuid, &e);
		return;
	}
	const char *ost = np_json_str(order, "status", "");
	if (!strcmp(ost, NP_ORDER_CANCELLED)) {
		json_decref(order);
		return;
	}
	/* A completed order stays Completed: only its delivery was cancelled. */
	char status[32];
	snprintf(status, sizeof status, "%s", !strcmp(ost, NP_ORDER_COMPLETED) ? ost : NP_ORDER_CANCELLED);
	struct np_db *own = db ? NULL : np_index_open(home, NULL);
	np_order_set_status(order, db ? db : own, npuid, status, (int)np_json_int(order, "progress", 0), info);
	if (scope)
		json_object_set_new(order, "cancel_scope", json_string(scope));
	if (np_order_save(dir, order, &e) < 0)
		np_log_err(npuid, &e);
	json_decref(order);
	np_db_close(own);
}

/* ---- the runner's side ---- */

int np_study_ops_settle(const char *home, struct np_db *db, const char *stage, const char *npuid, struct np_err *err)
{
	char action[16], by[128], dir[PATH_MAX];
	if (!mark_get(home, npuid, action, sizeof action, by, sizeof by))
		return 0;
	snprintf(dir, sizeof dir, "%s/spool/%s/.work/%s", home, stage, npuid);
	if (!np_is_dir(dir))
		snprintf(dir, sizeof dir, "%s/spool/%s/%s", home, stage, npuid);
	if (!np_is_dir(dir))
		return 0;
	if (!strcmp(action, "delete")) {
		if (delete_study(home, db, dir, npuid, stage, by, "", err) < 0)
			return -1;
	} else {
		order_cancelled(home, db, dir, npuid, NULL, "cancelled locally");
		char reason[200];
		snprintf(reason, sizeof reason, "cancelled by %s", by);
		if (np_spool_move(home, db, npuid, stage, "cancelled", reason, err) < 0)
			return -1;
		np_info(npuid, "cancelled state=%s by=%s", stage, by);
	}
	np_queue_drop(home, stage, npuid, NULL);
	mark_drop(home, npuid);
	return 1;
}

int np_study_ops_settle_build(const char *home, struct np_db *db, const char *npuid, const char *build,
			      json_t *manifest, char *now, struct np_err *err)
{
	char action[16], by[128];
	if (!mark_get(home, npuid, action, sizeof action, by, sizeof by))
		return 0;
	if (!strcmp(action, "delete")) {
		if (purge_dir(home, build, npuid, err) < 0)
			return -1;
		db_purge(home, db, npuid, "incoming", by);
		drop_journals(home, npuid);
		mark_drop(home, npuid);
		np_info(npuid, "deleted state=incoming by=%s", by);
		snprintf(now, 16, "deleted");
		return 1;
	}
	if (!manifest)
		return 0;
	char todir[PATH_MAX], dst[PATH_MAX], reason[200];
	snprintf(todir, sizeof todir, "%s/spool/cancelled", home);
	snprintf(dst, sizeof dst, "%s/%s", todir, npuid);
	snprintf(reason, sizeof reason, "cancelled by %s", by);
	if (np_mkdirs(todir, 0750, err) < 0)
		return -1;
	if (np_is_dir(dst))
		return np_err_set(err, NP_ERR_PERM, "a cancelled study with this id already exists");
	/* A build has no history of its own: a line there is this one, left
	 * by a run that stopped before the rename. */
	char hist[PATH_MAX];
	snprintf(hist, sizeof hist, "%s/history.jsonl", build);
	if (!np_exists(hist) && np_spool_history(build, "incoming", "cancelled", reason, err) < 0)
		return -1;
	if (np_rename_durable(build, dst, err) < 0)
		return -1;
	struct np_err e = {0};
	struct np_db *own = db ? NULL : np_index_open(home, &e);
	if (!db && !own)
		np_log_err(npuid, &e);
	else if (np_db_study_put(db ? db : own, npuid, "cancelled", manifest, &e) < 0)
		np_log_err(npuid, &e);
	np_db_close(own);
	mark_drop(home, npuid);
	np_info(npuid, "cancelled state=incoming by=%s", by);
	snprintf(now, 16, "cancelled");
	return 1;
}

/* ---- cancel and delete, the caller's side ---- */

/* What to do with the study once found: move an unclaimed one by a rename
 * of its unclaimed path (a runner claiming it meanwhile makes the rename
 * fail with ENOENT: look again). Returns 0 done, 1 look again, -1 error. */
static int act_unclaimed(const char *home, const char *action, const char *state, const char *dir, const char *npuid,
			 const char *by, struct np_err *err)
{
	if (!strcmp(action, "delete")) {
		int rc = delete_study(home, NULL, dir, npuid, state, by, "", err);
		if (rc == 0)
			np_queue_drop(home, state, npuid, NULL);
		return rc;
	}
	/* Paths on the heap: np-httpd runs this on a worker thread's small stack. */
	char reason[200], *dst = malloc(PATH_MAX), *todir = malloc(PATH_MAX);
	if (!dst || !todir) {
		free(dst);
		free(todir);
		return np_err_sys(err, ENOMEM, "unable to cancel the study");
	}
	snprintf(todir, PATH_MAX, "%s/spool/cancelled", home);
	snprintf(dst, PATH_MAX, "%s/%s", todir, npuid);
	int rc = np_mkdirs(todir, 0750, err) < 0 ? -1 : 0;
	if (rc == 0 && np_is_dir(dst))
		rc = np_err_set(err, NP_ERR_PERM, "a cancelled study with this id already exists");
	if (rc == 0)
		order_cancelled(home, NULL, dir, npuid, NULL, NULL);
	if (rc == 0 && rename(dir, dst) < 0)
		rc = errno == ENOENT ? 1 : np_err_sys(err, errno, "unable to move the study to cancelled");
	if (rc == 0) {
		np_fsync_dir(todir, NULL);
		np_fsync_parent(dir, NULL);
	}
	free(dst);
	free(todir);
	if (rc != 0)
		return rc;
	/* The rename is done; np_spool_move finds the study in cancelled/ and
	 * adds the history line and the index update only. */
	snprintf(reason, sizeof reason, "cancelled by %s", by);
	if (np_spool_move(home, NULL, npuid, state, "cancelled", reason, err) < 0)
		return -1;
	np_queue_drop(home, state, npuid, NULL);
	np_info(npuid, "cancelled state=%s by=%s", state, by);
	return 0;
}

/* Incoming studies are np-recv's and np-stable's: np-stable takes the
 * folder's lock exclusively before it moves it, np-recv shares it while an
 * association may write. Deleting takes it too when it can; when an
 * association still sends, the folder goes anyway and the instances that
 * follow are refused (their folder is gone). */
static int delete_incoming(const char *home, const char *dir, const char *npuid, const char *by, struct np_err *err)
{
	int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 1 : np_err_sys(err, errno, "unable to open the incoming study");
	int lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	int locked = lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0;
	struct stat a, b;
	int rc = 1;
	if (fstat(dfd, &a) == 0 && stat(dir, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		rc = delete_study(home, NULL, dir, npuid, "incoming", by, locked ? "" : " while receiving", err);
	}
	if (lfd >= 0)
		close(lfd);
	close(dfd);
	return rc;
}

/* Wait until the runner has settled the mark (it removes it). */
static int wait_settled(const char *home, const char *npuid, double wait_s)
{
	char action[16];
	double until = np_mono() + wait_s;
	while (mark_get(home, npuid, action, sizeof action, NULL, 0)) {
		if (np_mono() >= until)
			return 0;
		usleep(50000);
	}
	return 1;
}

/* A build np-stable's process left behind (it died): its .build.lock,
 * held, when nobody holds it; else -1. */
static int build_abandoned(const char *dir)
{
	int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return -1;
	int lk = openat(dfd, ".build.lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (lk >= 0 && flock(lk, LOCK_EX | LOCK_NB) < 0) {
		close(lk);
		lk = -1;
	}
	return lk;
}

/* Wait until npuid has left incoming/ and np-stable's build (np-stable
 * settled the mark: it is cancelled or gone; or the mark came after the
 * build looked and it is in stable/). Returns 1 left, 0 still there at
 * until, -1 error. */
static int wait_incoming(const char *home, const char *npuid, double until, char *dir, struct np_err *err)
{
	for (;;) {
		char state[32];
		int claimed, building;
		int f = locate(home, npuid, state, sizeof state, &claimed, &building, dir, PATH_MAX, err);
		if (f != 0)
			return f < 0 ? -1 : 1;
		if (strcmp(state, "incoming"))
			return 1;
		if (np_mono() >= until)
			return 0;
		usleep(50000);
	}
}

static int run_op_in(const char *home, const char *npuid, const char *action, const char *by, struct np_study_op *op,
		     char *dir, struct np_err *err)
{
	double until = np_mono() + op->wait_s;
	int del = !strcmp(action, "delete");
	for (int tries = 0; tries < 50; tries++) {
		char state[32];
		int claimed = 0, building = 0;
		int f = locate(home, npuid, state, sizeof state, &claimed, &building, dir, PATH_MAX, err);
		if (f < 0)
			return -1;
		if (f == 1 || (!del && !strcmp(state, "cancelled"))) {
			/* Gone (deleted) or cancelled: by us or by the runner that
			 * settled the mark. */
			mark_drop(home, npuid);
			snprintf(op->now, sizeof op->now, "%s", f == 1 ? "deleted" : "cancelled");
			op->status = NP_STUDY_OP_DONE;
			return 0;
		}
		int rc, lk;
		if (!strcmp(state, "incoming") && del && !building) {
			rc = delete_incoming(home, dir, npuid, by, err);
		} else if (!strcmp(state, "incoming") && del && (lk = build_abandoned(dir)) >= 0) {
			rc = delete_study(home, NULL, dir, npuid, "incoming", by, "", err);
			close(lk);
		} else if (!strcmp(state, "incoming")) {
			/* np-stable's to settle: it takes a marked study in at once
			 * once no association sends it, and its build ends in
			 * cancelled/ (or purged) instead of stable/. np-httpd never
			 * builds a study itself. */
			int w = wait_incoming(home, npuid, until, dir, err);
			if (w < 0)
				return -1;
			if (w == 0) {
				op->status = NP_STUDY_OP_PENDING;
				snprintf(op->now, sizeof op->now, "incoming");
				snprintf(op->msg, sizeof op->msg,
					 "the study is still being received or stabilized; it is %s as soon as it is "
					 "complete",
					 del ? "deleted" : "cancelled");
				return 0;
			}
			rc = 1;
		} else if (!claimed) {
			rc = act_unclaimed(home, action, state, dir, npuid, by, err);
		} else {
			lk = runner_absent(home, state);
			if (lk >= 0) {
				/* No runner: the claim is stale and no command works on it. */
				rc = np_study_ops_settle(home, NULL, state, npuid, err) < 0 ? -1 : 1;
				close(lk);
			} else if (wait_settled(home, npuid, op->wait_s)) {
				rc = 1;
			} else {
				op->status = NP_STUDY_OP_PENDING;
				snprintf(op->now, sizeof op->now, "%s", state);
				snprintf(op->msg, sizeof op->msg,
					 "the %s step is at work on the study; it is %s when that step ends", state,
					 del ? "deleted" : "cancelled");
				return 0;
			}
		}
		if (rc < 0)
			return -1;
		if (rc == 0) {
			mark_drop(home, npuid);
			snprintf(op->now, sizeof op->now, "%s", del ? "deleted" : "cancelled");
			op->status = NP_STUDY_OP_DONE;
			return 0;
		}
		usleep(20000);
	}
	return np_err_set(err, NP_ERR_TEMP, "the study keeps changing state; try again in a minute");
}

static int run_op(const char *home, const char *npuid, const char *action, struct np_study_op *op, struct np_err *err)
{
	/* The folder path on the heap: np-httpd runs this on a worker thread's small stack. */
	char *dir = malloc(PATH_MAX);
	if (!dir)
		return np_err_sys(err, ENOMEM, "unable to find the study");
	int rc = run_op_in(home, npuid, action, op->actor && *op->actor ? op->actor : "-", op, dir, err);
	free(dir);
	return rc;
}

static void refuse(struct np_study_op *op, const char *fmt, const char *a, const char *b)
{
	op->status = NP_STUDY_OP_REFUSED;
	snprintf(op->msg, sizeof op->msg, fmt, a, b);
}

static int begin(const char *home, const char *npuid, struct np_study_op *op, char *dir, size_t dsz, int *claimed,
		 struct np_err *err)
{
	op->status = NP_STUDY_OP_DONE;
	op->state[0] = op->now[0] = op->msg[0] = 0;
	if (!np_uuid_valid(npuid))
		return np_err_set(err, NP_ERR_PERM, "not a study id (expected a UUID)");
	int building = 0;
	int f = locate(home, npuid, op->state, sizeof op->state, claimed, &building, dir, dsz, err);
	if (f < 0)
		return -1;
	if (f == 1) {
		op->status = NP_STUDY_OP_NOT_FOUND;
		snprintf(op->msg, sizeof op->msg, "no study %s", npuid);
		return 1;
	}
	return 0;
}

int np_study_delete(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err)
{
	char dir[PATH_MAX];
	int claimed = 0;
	int b = begin(home, npuid, op, dir, sizeof dir, &claimed, err);
	if (b < 0)
		return -1;
	const char *by = op->actor && *op->actor ? op->actor : "-";
	if (b == 1) {
		/* Only in the index (a stale row): its PHI goes all the same. */
		struct np_db *db = np_index_open(home, err);
		if (!db)
			return -1;
		int indexed = np_db_studies_has(db, npuid);
		if (indexed) {
			db_purge(home, db, npuid, "unknown", by);
			op->status = NP_STUDY_OP_DONE;
			snprintf(op->now, sizeof op->now, "deleted");
			snprintf(op->msg, sizeof op->msg, "study %s deleted (it was only in the index)", npuid);
		}
		np_db_close(db);
		return 0;
	}
	if (mark_set(home, npuid, "delete", by, err) < 0)
		return -1;
	if (run_op(home, npuid, "delete", op, err) < 0)
		return -1;
	if (op->status == NP_STUDY_OP_DONE) {
		drop_journals(home, npuid);
		snprintf(op->msg, sizeof op->msg, "study %s deleted with all its data", npuid);
	}
	return 0;
}

/* ---- the cloud cancel handed to the back-end ---- */

/* spool/.marks/NPUID.cloud-cancel.json {"order_id","by","at"}: a cancel the
 * cloud is still to be told of. np-httpd writes it under the privilege
 * split (it may not read the cloud credentials); np-stable, a back-end
 * service that wakes on any change in spool/.marks, tells the cloud. */
#define HANDOVER_SUFFIX ".cloud-cancel.json"

static int handover_path(const char *home, const char *npuid, char *out, size_t outsz)
{
	if (!np_uuid_valid(npuid))
		return -1;
	return snprintf(out, outsz, "%s/spool/.marks/%s" HANDOVER_SUFFIX, home, npuid) < (int)outsz ? 0 : -1;
}

static int handover_set(const char *home, const char *npuid, const char *oid, const char *by, struct np_err *err)
{
	char p[PATH_MAX], at[32];
	if (handover_path(home, npuid, p, sizeof p) < 0)
		return np_err_set(err, NP_ERR_PERM, "not a study id");
	np_time_iso(at);
	json_t *o = json_pack("{s:s,s:s,s:s}", "order_id", oid, "by", by ? by : "-", "at", at);
	int rc = o ? np_json_save(p, o, 0640, err) : np_err_sys(err, ENOMEM, "unable to record the request");
	json_decref(o);
	return rc;
}

/* The cancelled study's order.json says how the cloud took the cancel. */
static void order_told(const char *home, const char *npuid, const char *scope, const char *info)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/spool/cancelled/%s", home, npuid);
	json_t *order = np_is_dir(dir) ? np_order_load(dir, NULL) : NULL;
	if (!order)
		return;
	json_object_set_new(order, "cancel_scope", json_string(scope));
	json_object_set_new(order, "info", json_string(info));
	struct np_err e = {0};
	if (np_order_save(dir, order, &e) < 0)
		np_log_err(npuid, &e);
	json_decref(order);
}

/* Tell the cloud of one handed-over cancel. 1 when done with it (told, or
 * nothing more to do), 0 to try again at the next pass. */
static int handover_one(const char *home, struct np_db *db, const struct np_config *cfg, const char *npuid,
			const char *path)
{
	json_t *o = np_json_load(path, 4096, NULL);
	char oid[128], by[128], info[300];
	snprintf(oid, sizeof oid, "%s", np_json_str(o, "order_id", ""));
	snprintf(by, sizeof by, "%s", np_json_str(o, "by", "-"));
	json_decref(o);
	if (!oid[0] || !np_cloud_configured(cfg)) {
		np_warn(npuid, "cancel at the cloud dropped: %s",
			oid[0] ? "the cloud is not configured" : "no order id");
		return 1;
	}
	struct np_err e = {0};
	struct np_cloud *cl = np_cloud_open(cfg, &e);
	int rc = cl ? np_cloud_cancel(cl, oid, &e) : -1;
	np_cloud_close(cl);
	if (rc < 0 && e.cls == NP_ERR_TEMP) {
		np_warn(npuid, "cancel at the cloud: not reachable, tried again at the next pass: %s", e.msg);
		return 0;
	}
	const char *scope = rc == 0 ? "cloud" : "local";
	if (rc == 0)
		snprintf(info, sizeof info, "cancelled by %s; the back-end told the cloud", by);
	else if (rc == 1)
		snprintf(info, sizeof info,
			 "cancelled by %s: cloud protocol v1 has no cancel, the cloud may still process the order", by);
	else
		snprintf(info, sizeof info,
			 "cancelled by %s: the cloud refused the cancel, the order may still be processed", by);
	if (rc < 0)
		np_warn(npuid, "cancel at the cloud failed: %s", e.msg);
	else
		np_info(npuid, "cancel at the cloud order=%s scope=%s by=%s", oid, scope, by);
	order_told(home, npuid, scope, info);
	if (db)
		np_db_event(db, npuid, "study_cancelled", rc < 0 ? "warning" : "info", info, NULL);
	return 1;
}

int np_study_ops_cloud_handovers(const char *home, struct np_db *db)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/spool/.marks", home);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct np_config cfg;
	int loaded = 0, n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(HANDOVER_SUFFIX);
		char npuid[40], p[PATH_MAX];
		if (len != 36 + sl || strcmp(e->d_name + 36, HANDOVER_SUFFIX))
			continue;
		snprintf(npuid, sizeof npuid, "%.36s", e->d_name);
		if (handover_path(home, npuid, p, sizeof p) < 0)
			continue;
		if (!loaded) {
			struct np_err err = {0};
			if (np_config_load(&cfg, home, &err) < 0) {
				np_log_err(NULL, &err);
				break;
			}
			loaded = 1;
		}
		/* Not this process's either (a service of the wrong groups): left for the one that can. */
		if (!np_cloud_credentials_here(&cfg))
			break;
		if (handover_one(home, db, &cfg, npuid, p) && unlink(p) == 0) {
			np_fsync_parent(p, NULL);
			n++;
		}
	}
	closedir(d);
	if (loaded)
		np_config_free(&cfg);
	return n;
}

/* Cancel at the cloud when an order is there and not finished. Fills scope
 * ("cloud", "local", or "back-end" when handed to the back-end: set
 * *handover) and a note for the message. */
static void cloud_cancel(const char *home, json_t *order, const char *npuid, const char **scope, char *note,
			 size_t notesz, int *handover)
{
	const char *oid = np_json_str(order, "order_id", NULL);
	*scope = "local";
	note[0] = 0;
	*handover = 0;
	if (!oid)
		return;
	struct np_err e = {0};
	struct np_config cfg;
	if (np_config_load(&cfg, home, &e) < 0) {
		snprintf(note, notesz, ": the cloud was not told (%s)", e.msg);
		return;
	}
	const char *proto = np_config_str(&cfg, "cloud.protocol");
	if (np_cloud_configured(&cfg) && (!proto || strcmp(proto, "v2"))) {
		/* v1 has no cancel call: nobody could tell the cloud */
		snprintf(note, notesz, ": cloud protocol v1 has no cancel, the cloud may still process the order");
	} else if (np_cloud_configured(&cfg) && !np_cloud_credentials_here(&cfg)) {
		/* The privilege split: np-httpd may not read the cloud
		 * credentials. The back-end tells the cloud shortly after. */
		*scope = "back-end";
		*handover = 1;
		snprintf(note, notesz, "; the cloud will be told by the back-end");
	} else if (np_cloud_configured(&cfg)) {
		struct np_cloud *cl = np_cloud_open(&cfg, &e);
		int rc = cl ? np_cloud_cancel(cl, oid, &e) : -1;
		np_cloud_close(cl);
		if (rc == 0)
			*scope = "cloud";
		else if (rc == 1)
			snprintf(note, notesz,
				 ": cloud protocol v1 has no cancel, the cloud may still process the order");
		else {
			np_warn(npuid, "cancel at the cloud failed: %s", e.msg);
			snprintf(note, notesz, ": the cloud could not be told (%s), the order may still be processed",
				 e.cls == NP_ERR_TEMP ? "not reachable" : "it refused");
		}
	}
	np_config_free(&cfg);
}

/* What a cancel of the delivery leaves sent: destinations that had the
 * results before the cancel keep them (deliveries.json of the study, now in
 * cancelled/). */
static void delivered_before(const char *home, const char *npuid, char *out, size_t outsz)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/spool/cancelled/%s", home, npuid);
	json_t *d = np_study_delivery(dir, "cancelled");
	long sent = np_json_int(d, "sent", 0), total = np_json_int(d, "total", 0);
	json_decref(d);
	if (sent)
		snprintf(out, outsz,
			 "delivery cancelled: %ld of %ld destination%s had already received the results; the others "
			 "are not sent",
			 sent, total, total == 1 ? "" : "s");
	else
		snprintf(out, outsz, "delivery cancelled: the results are not sent");
}

int np_study_cancel(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err)
{
	char dir[PATH_MAX];
	int claimed = 0;
	int b = begin(home, npuid, op, dir, sizeof dir, &claimed, err);
	if (b != 0)
		return b < 0 ? -1 : 0;
	const char *by = op->actor && *op->actor ? op->actor : "-";
	if (np_spool_state_terminal(op->state)) {
		refuse(op, "study %s is already %s", npuid, op->state);
		return 0;
	}
	json_t *order = strcmp(op->state, "incoming") ? np_order_load(dir, NULL) : NULL;
	const char *ost = np_json_str(order, "status", "");
	if (!strcmp(ost, NP_ORDER_COMPLETED) && strcmp(op->state, "results")) {
		/* The cloud is done: there is no order left to cancel, and its
		 * results are on their way (cancel their delivery once they are
		 * in, state results). */
		json_decref(order);
		refuse(op,
		       "the Neuropacs cloud has already completed the order of study %s%s; it can no longer be "
		       "cancelled",
		       npuid, "");
		return 0;
	}
	if (mark_set(home, npuid, "cancel", by, err) < 0) {
		json_decref(order);
		return -1;
	}
	const char *scope = "local";
	char note[200] = "", oid[128];
	int handover = 0;
	snprintf(oid, sizeof oid, "%s", np_json_str(order, "order_id", ""));
	if (order && strcmp(ost, NP_ORDER_COMPLETED) && strcmp(ost, NP_ORDER_CANCELLED))
		cloud_cancel(home, order, npuid, &scope, note, sizeof note, &handover);
	json_decref(order);
	if (strcmp(op->state, "incoming")) {
		char info[300];
		snprintf(info, sizeof info, "cancelled by %s%s", by, note);
		order_cancelled(home, NULL, dir, npuid, scope, info);
	}
	if (run_op(home, npuid, "cancel", op, err) < 0)
		return -1;
	/* Handed over once the study is out of the runners' way (or marked
	 * for its runner): the back-end then finds its order.json settled. */
	if (handover && handover_set(home, npuid, oid, by, err) < 0)
		return -1;
	if (op->status == NP_STUDY_OP_PENDING && handover)
		snprintf(op->msg + strlen(op->msg), sizeof op->msg - strlen(op->msg), "%s", note);
	if (op->status == NP_STUDY_OP_DONE) {
		struct np_db *db = np_index_open(home, NULL);
		char detail[300];
		snprintf(detail, sizeof detail, "cancelled by %s in state %s (%s)%s", by, op->state, scope, note);
		if (db)
			np_db_event(db, npuid, "study_cancelled", "info", detail, NULL);
		np_db_close(db);
		char sent[160] = "";
		if (!strcmp(op->state, "results"))
			delivered_before(home, npuid, sent, sizeof sent);
		snprintf(op->msg, sizeof op->msg, "%s%s",
			 !strcmp(op->state, "results") ? sent
			 : !strcmp(scope, "cloud")     ? "order cancelled at the Neuropacs cloud"
			 : handover		       ? "cancelled here"
			 : note[0]		       ? "cancelled locally only"
						       : "cancelled before upload",
			 note);
	}
	return 0;
}

/* ---- retry ---- */

static int from_history(const char *dir, char *out, size_t outsz)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/history.jsonl", dir);
	char *buf = np_read_file(p, 16 << 20, NULL, NULL);
	if (!buf)
		return 0;
	out[0] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		if (o && !strcmp(np_json_str(o, "to", ""), "failed"))
			snprintf(out, outsz, "%s", np_json_str(o, "from", ""));
		json_decref(o);
	}
	free(buf);
	return out[0] != 0;
}

static int from_events(const char *home, const char *npuid, char *out, size_t outsz)
{
	struct np_db *db = np_index_open(home, NULL);
	char d[256];
	out[0] = 0;
	if (db && np_db_events_last_detail(db, npuid, "queue_failed", "stage=", d, sizeof d))
		snprintf(out, outsz, "%.*s", (int)strcspn(d + 6, " "), d + 6);
	np_db_close(db);
	return out[0] != 0;
}

int np_study_failed_from(const char *home, const char *dir, const char *npuid, char *out, size_t outsz)
{
	if (!from_history(dir, out, outsz) && !from_events(home, npuid, out, outsz))
		return 0;
	if (!np_spool_state_valid(out) || np_spool_state_terminal(out) || !strcmp(out, "incoming")) {
		out[0] = 0;
		return 0;
	}
	return 1;
}

/* A new cloud order on retry: the failed one is kept beside it as
 * order-failed-N.json (no PHI) and its results (a failure report) go. */
static int reset_order(const char *dir, struct np_err *err)
{
	char p[PATH_MAX], q[PATH_MAX];
	snprintf(p, sizeof p, "%s/order.json", dir);
	if (np_exists(p)) {
		for (int n = 1;; n++) {
			snprintf(q, sizeof q, "%s/order-failed-%d.json", dir, n);
			if (!np_exists(q))
				break;
		}
		if (np_rename_durable(p, q, err) < 0)
			return -1;
	}
	snprintf(p, sizeof p, "%s/results", dir);
	if (np_rmtree(p, err) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/deliveries.json", dir);
	if (unlink(p) < 0 && errno != ENOENT)
		return np_err_sys(err, errno, "unable to reset the deliveries");
	return 0;
}

/* Delivery retry: the destinations that failed for good start over. */
static int reset_deliveries(const char *dir, struct np_err *err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/deliveries.json", dir);
	if (!np_exists(p))
		return 0;
	json_t *st = np_json_load(p, 4 << 20, err);
	if (!st)
		return -1;
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(st, "destinations"), i, e) {
		if (strcmp(np_json_str(e, "state", ""), "sent") && strcmp(np_json_str(e, "state", ""), "skipped")) {
			json_object_set_new(e, "state", json_string("pending"));
			json_object_set_new(e, "attempts", json_integer(0));
			json_object_set_new(e, "next_attempt", json_real(0));
		}
	}
	int rc = np_json_save(p, st, 0640, err);
	json_decref(st);
	return rc;
}

int np_study_retry(const char *home, const char *npuid, struct np_study_op *op, struct np_err *err)
{
	char dir[PATH_MAX];
	int claimed = 0;
	int b = begin(home, npuid, op, dir, sizeof dir, &claimed, err);
	if (b != 0)
		return b < 0 ? -1 : 0;
	const char *by = op->actor && *op->actor ? op->actor : "-";
	if (strcmp(op->state, "failed")) {
		refuse(op, "study %s is %s; only a failed study can be retried", npuid, op->state);
		return 0;
	}
	char from[32], to[32], p[PATH_MAX];
	if (!np_study_failed_from(home, dir, npuid, from, sizeof from)) {
		refuse(op, "study %s: the state it failed from is not recorded; it cannot be retried%s", npuid, "");
		return 0;
	}
	snprintf(to, sizeof to, "%s", from);
	json_t *order = np_order_load(dir, NULL);
	const char *ost = np_json_str(order, "status", "");
	/* A failed, expired or cancelled order cannot be polled back to life:
	 * the study is uploaded again as a new order. An upload that failed
	 * starts over too (the cloud may have refused that order for good). */
	int new_order =
	    !strcmp(from, "ready") ||
	    (!strcmp(from, "uploaded") &&
	     (!strcmp(ost, NP_ORDER_FAILED) || !strcmp(ost, NP_ORDER_EXPIRED) || !strcmp(ost, NP_ORDER_CANCELLED)));
	json_decref(order);
	if (new_order) {
		snprintf(p, sizeof p, "%s/deid", dir);
		snprintf(to, sizeof to, "%s", np_is_dir(p) ? "ready" : "qc-passed");
		if (reset_order(dir, err) < 0)
			return -1;
	} else if (!strcmp(from, "results") && reset_deliveries(dir, err) < 0) {
		return -1;
	}
	/* A fresh start: no attempts counted, no back-off pending. */
	np_queue_drop(home, to, npuid, NULL);
	mark_drop(home, npuid);
	struct np_db *db = np_index_open(home, NULL);
	if (db && new_order) {
		np_db_study_set(db, npuid, "order_status", NULL, NULL);
		np_db_study_set(db, npuid, "order_progress", NULL, NULL);
		np_db_study_set(db, npuid, "order_id", NULL, NULL);
	}
	char reason[200];
	snprintf(reason, sizeof reason, "retry by %s", by);
	if (np_spool_move(home, db, npuid, "failed", to, reason, err) < 0) {
		np_db_close(db);
		return -1;
	}
	char detail[200];
	snprintf(detail, sizeof detail, "retry by %s: failed in %s, back to %s%s", by, from, to,
		 new_order ? " (new cloud order)" : "");
	if (db)
		np_db_event(db, npuid, "study_retried", "info", detail, NULL);
	np_db_close(db);
	/* the study leaves failed; failed_in is the state it failed in */
	np_info(npuid, "retry from=failed to=%s failed_in=%s by=%s", to, from, by);
	snprintf(op->now, sizeof op->now, "%s", to);
	snprintf(op->msg, sizeof op->msg, "study %s goes back to %s%s", npuid, to,
		 new_order ? " and is uploaded again as a new order" : "");
	return 0;
}

void np_study_ops_audit(struct np_db *db, const char *actor, const char *action, const char *npuid, const char *detail,
			const char *outcome)
{
	char ts[32];
	np_time_iso(ts);
	if (!db) {
		np_error(npuid, "unable to write the audit record action=%s", action);
		return;
	}
	struct np_err e = {0};
	struct np_db_audit_rec rec = {ts, actor, "admin", "local", action, npuid, detail, outcome};
	if (np_db_audit_append(db, &rec, &e) < 0)
		np_error(npuid, "unable to write the audit record action=%s: %s", action, e.msg);
}
