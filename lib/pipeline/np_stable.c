// SPDX-License-Identifier: Apache-2.0
#include "np_stable.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_events.h"
#include "np_db_studies.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_group.h"
#include "np_json.h"
#include "np_log.h"
#include "np_recv_events.h"
#include "np_scan.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_study_ops.h"
#include "np_util.h"
#include "np_wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum why { WHY_QUIET, WHY_MAX_WAIT, WHY_FORCED };
static const char *const why_name[] = {"quiet", "max_wait", "forced"};

static double iso_to_epoch(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return -1;
	return (double)timegm(&tm);
}

/* Read a small file relative to a folder fd into buf; -1 when absent. */
static int read_at(int dfd, const char *name, char *buf, size_t bufsz)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, bufsz - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/* The first arrival of an incoming study: source.json, else the npuid
 * file's mtime, else the folder's. */
static double first_arrival(int dfd, double fallback)
{
	char buf[4096];
	if (read_at(dfd, "source.json", buf, sizeof buf) == 0) {
		json_t *o = json_loads(buf, 0, NULL);
		double t = iso_to_epoch(np_json_str(o, "first_arrival", NULL));
		json_decref(o);
		if (t > 0)
			return t;
	}
	struct stat st;
	if (fstatat(dfd, "npuid", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return (double)st.st_mtim.tv_sec;
	return fallback;
}

static struct np_db *use_db(struct np_db *db, const char *home, struct np_db **own)
{
	*own = NULL;
	if (db)
		return db;
	struct np_err e = {0};
	*own = np_index_open(home, &e);
	if (!*own)
		np_log_err(NULL, &e);
	return *own;
}

void np_stable_index(struct np_db *db, const char *npuid, const char *state, json_t *m, const char *reason)
{
	struct np_err e = {0};
	if (!db)
		return;
	if (np_db_study_put(db, npuid, state, m, &e) < 0)
		np_log_err(npuid, &e);
	char detail[256];
	long long series = np_json_int(m, "counts.series", 0), inst = np_json_int(m, "counts.instances", 0);
	const char *src = np_json_str(m, "source", "dicom");
	if (!np_db_events_has(db, npuid, "study_stabilized")) {
		snprintf(detail, sizeof detail, "source=%s series=%lld instances=%lld reason=%s", src, series, inst,
			 reason);
		if (np_db_event(db, npuid, "study_stabilized", "info", detail, &e) < 0)
			np_log_err(npuid, &e);
	}
	if (!np_db_events_has(db, npuid, "new_dataset_received")) {
		snprintf(detail, sizeof detail, "source=%s format=%s series=%lld instances=%lld", src,
			 np_json_str(m, "format", "dicom"), series, inst);
		if (np_db_event(db, npuid, "new_dataset_received", "info", detail, &e) < 0)
			np_log_err(npuid, &e);
	}
}

/* finish's paths, on the heap: np-httpd's force-stable endpoint builds on
 * a worker thread's small stack. */
struct fin {
	char t[PATH_MAX], dicom[PATH_MAX], p[PATH_MAX], q[PATH_MAX], dst[PATH_MAX], buf[4096];
};

/* A cancel or delete asked of the study (spool/.marks) is settled on the
 * build instead of putting it in stable/. Returns 2 settled, 0 not asked,
 * -1 error. */
static int settle(const char *home, struct np_db *db, const char *npuid, struct fin *f, json_t *m, struct np_err *err)
{
	char now[16] = "";
	int rc = np_study_ops_settle_build(home, db, npuid, f->t, m, now, err);
	if (rc <= 0)
		return rc;
	if (!strcmp(now, "cancelled")) {
		/* Build leftovers go once the study is out of tmp/ (as below). */
		snprintf(f->p, sizeof f->p, "%s/spool/cancelled/%s/reason", home, npuid);
		unlink(f->p);
		snprintf(f->p, sizeof f->p, "%s/spool/cancelled/%s/.build.lock", home, npuid);
		unlink(f->p);
	}
	return 2;
}

/* Steps after the folder left incoming/: tmp/st-<npuid>/dicom exists.
 * Returns 0 stable, 2 settled a cancel or delete (not in stable/), -1. */
static int finish_in(const char *home, struct np_db *db, const struct np_config *cfg, const char *npuid, struct fin *f,
		     struct np_err *err)
{
	char *t = f->t, *dicom = f->dicom, *p = f->p, *q = f->q, *dst = f->dst, *buf = f->buf;
	snprintf(t, PATH_MAX, "%s/spool/tmp/st-%s", home, npuid);
	snprintf(dicom, PATH_MAX, "%s/dicom", t);
	if (np_spool_study_dir(home, "stable", npuid, dst, PATH_MAX, err) < 0)
		return -1;
	/* The receiver's bookkeeping files move up next to the manifest. */
	static const char *const meta[] = {"npuid", "source.json", NULL};
	for (int i = 0; meta[i]; i++) {
		snprintf(p, PATH_MAX, "%s/%s", dicom, meta[i]);
		snprintf(q, PATH_MAX, "%s/%s", t, meta[i]);
		if (np_exists(p) && rename(p, q) < 0)
			return np_err_sys(err, errno, "unable to move %s of the study", meta[i]);
	}
	snprintf(p, PATH_MAX, "%s/.lock", dicom);
	unlink(p);
	/* A delete needs no manifest: the build goes before any scan. */
	int st = settle(home, db, npuid, f, NULL, err);
	if (st != 0)
		return st;
	enum why why = WHY_QUIET;
	int tfd = open(t, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (tfd < 0)
		return np_err_sys(err, errno, "unable to open the study build folder");
	if (read_at(tfd, "reason", buf, sizeof f->buf) == 0)
		for (int i = 0; i <= WHY_FORCED; i++)
			if (!strcmp(buf, why_name[i]))
				why = (enum why)i;
	double first = first_arrival(tfd, np_now());
	char ae[64] = "";
	int unsafe = 0;
	if (read_at(tfd, "source.json", buf, sizeof f->buf) == 0) {
		json_t *o = json_loads(buf, 0, NULL);
		snprintf(ae, sizeof ae, "%s", np_json_str(o, "calling_ae", ""));
		unsafe = np_json_bool(o, "unsafe_study_uid", 0);
		json_decref(o);
	}
	close(tfd);

	json_t *m = np_study_new(npuid, "dicom", "dicom");
	char iso[32];
	np_time_iso_at((time_t)first, iso);
	json_object_set_new(m, "created_at", json_string(iso));
	json_object_set_new(m, "received_at", json_string(iso));
	np_time_iso(iso);
	json_object_set_new(m, "stable_at", json_string(iso));
	json_object_set_new(m, "source_ae", *ae ? json_string(ae) : json_null());
	json_object_set_new(m, "stabilized_by", json_string(why_name[why]));
	if (np_scan_dicom(dicom, cfg, m, err) < 0) {
		/* A study nobody wants any more is not kept in tmp/ for a scan
		 * that fails: it is cancelled with what the manifest has. */
		st = np_study_ops_stopping(home, npuid) ? settle(home, db, npuid, f, m, NULL) : 0;
		json_decref(m);
		if (st == 2)
			np_warn(npuid, "cancelled study could not be read whole: %s", err ? err->msg : "");
		return st == 2 ? 2 : -1;
	}
	if (!json_array_size(json_object_get(m, "products"))) {
		json_object_set_new(m, "products", json_deep_copy(np_config_get(cfg, "dicom.default_products")));
		json_object_set_new(m, "products_source", json_string("default"));
	}
	if (db) {
		/* Same-products rule, group creation and re-opening live in np_group. */
		struct np_err gerr = {0};
		if (np_group_auto_assign(home, db, cfg, m, &gerr) < 0)
			np_log_err(npuid, &gerr);
	} else if (np_config_bool(cfg, "groups.auto_assign") && *np_config_str(cfg, "groups.auto_assign_group")) {
		json_object_set_new(m, "group", json_string(np_config_str(cfg, "groups.auto_assign_group")));
	}
	if (unsafe)
		np_study_flag(m, "unsafe_study_uid");
	if (why == WHY_MAX_WAIT)
		np_study_flag(m, "max_wait_exceeded");
	if (why == WHY_FORCED)
		np_study_flag(m, "forced");
	char link[64] = "";
	if (db)
		np_db_studies_linked(db, np_json_str(m, "study.study_instance_uid", ""), npuid, link);
	if (*link) {
		json_object_set_new(m, "linked_npuid", json_string(link));
		np_study_flag(m, "late_arrival");
	}
	if (json_array_size(json_object_get(m, "study_uids")) > 1)
		np_study_flag(m, "multiple_study_uids");
	if (np_study_save(t, m, err) < 0) {
		json_decref(m);
		return -1;
	}
	/* Asked while the study was scanned: it goes to cancelled/ with its
	 * manifest. A request that comes after this look finds the study in
	 * stable/ (np_study_ops handles it there). */
	st = settle(home, db, npuid, f, m, err);
	if (st != 0) {
		json_decref(m);
		return st;
	}
	snprintf(p, PATH_MAX, "%s/history.jsonl", t);
	if (!np_exists(p) && np_spool_history(t, "incoming", "stable", why_name[why], err) < 0) {
		json_decref(m);
		return -1;
	}
	np_crash_point("stable.manifest");
	if (np_rename_durable(t, dst, err) < 0) {
		json_decref(m);
		return -1;
	}
	np_crash_point("stable.renamed");
	/* Build leftovers go only now: a concurrent recovery must keep seeing
	 * the locked build until the rename. */
	snprintf(p, PATH_MAX, "%s/reason", dst);
	unlink(p);
	snprintf(p, PATH_MAX, "%s/.build.lock", dst);
	unlink(p);
	np_stable_index(db, npuid, "stable", m, why_name[why]);
	np_info(npuid, "study stabilized series=%lld instances=%lld reason=%s%s%s", np_json_int(m, "counts.series", 0),
		np_json_int(m, "counts.instances", 0), why_name[why], *link ? " linked=" : "", link);
	json_decref(m);
	return 0;
}

static int finish(const char *home, struct np_db *db, const struct np_config *cfg, const char *npuid,
		  struct np_err *err)
{
	struct fin *f = malloc(sizeof *f);
	if (!f)
		return np_err_sys(err, ENOMEM, "unable to build the study");
	int rc = finish_in(home, db, cfg, npuid, f, err);
	free(f);
	return rc;
}

/* stabilize's paths, on the heap (see struct fin). */
struct stab {
	char dir[PATH_MAX], t[PATH_MAX], p[PATH_MAX];
};

/* Lock, move out of incoming/, finish. Returns 0 done, 1 busy (an
 * association holds the study), 2 gone (or cancelled or deleted on the
 * way), -1 error. */
static int stabilize_in(const char *home, struct np_db *db, const struct np_config *cfg, const char *uid, enum why why,
			char npuid_out[37], struct stab *b, struct np_err *err)
{
	char *dir = b->dir, *t = b->t, *p = b->p;
	if (np_spool_study_dir(home, "incoming", uid, dir, PATH_MAX, err) < 0)
		return -1;
	int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 2 : np_err_sys(err, errno, "unable to open incoming study");
	int lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (lfd < 0) {
		close(dfd);
		return np_err_sys(err, errno, "unable to open the study lock");
	}
	int rc = -1;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? 1 : np_err_sys(err, errno, "unable to lock the study");
		goto out;
	}
	struct stat a, st;
	if (fstat(dfd, &a) < 0 || stat(dir, &st) < 0 || a.st_ino != st.st_ino || a.st_dev != st.st_dev) {
		rc = 2;
		goto out;
	}
	char npuid[64];
	if (read_at(dfd, "npuid", npuid, sizeof npuid) < 0 || !np_uuid_valid(npuid)) {
		/* np-recv normally writes it; assign one so a re-run reuses it. */
		if (np_uuid4(npuid, err) < 0)
			goto out;
		snprintf(p, PATH_MAX, "%s/npuid", dir);
		char line[40];
		int n = snprintf(line, sizeof line, "%s\n", npuid);
		if (np_write_atomic(p, line, (size_t)n, 0660, err) < 0)
			goto out;
	}
	for (char *c = npuid; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	snprintf(t, PATH_MAX, "%s/spool/tmp/st-%s", home, npuid);
	/* spool/tmp is the back-end's alone (np-recv's partial files are in
	 * incoming/.tmp): under the privilege split of the group neuropacs-keys,
	 * so the build, and the study after it, is out of np-recv's reach */
	if (np_mkdirs(t, 0770, err) < 0)
		goto out;
	int bfd = open(t, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int blk = bfd < 0 ? -1 : openat(bfd, ".build.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (bfd >= 0)
		close(bfd);
	if (blk < 0 || flock(blk, LOCK_EX | LOCK_NB) < 0) {
		if (blk >= 0)
			close(blk);
		rc = np_err_set(err, NP_ERR_TEMP, "study is being built by another process");
		goto out;
	}
	snprintf(p, PATH_MAX, "%s/reason", t);
	if (np_write_atomic(p, why_name[why], strlen(why_name[why]), 0660, err) < 0) {
		close(blk);
		goto out;
	}
	snprintf(p, PATH_MAX, "%s/dicom", t);
	if (rename(dir, p) < 0) {
		/* An admin's delete took the folder first (it does not wait for
		 * the lock an association may hold): nothing to build. */
		int e = errno;
		if (e == ENOENT) {
			struct np_err re = {0};
			if (np_rmtree(t, &re) < 0)
				np_log_err(npuid, &re);
			rc = 2;
		} else {
			rc = np_err_sys(err, e, "unable to move the study out of incoming");
		}
		close(blk);
		goto out;
	}
	if (np_fsync_parent(p, err) < 0 || np_fsync_parent(dir, err) < 0) {
		close(blk);
		goto out;
	}
	np_crash_point("stable.moved");
	/* Out of incoming/: an association that was waiting for the lock sees
	 * the path gone and starts a fresh folder. */
	close(lfd);
	lfd = -1;
	rc = finish(home, db, cfg, npuid, err);
	if (rc == 0 && npuid_out)
		snprintf(npuid_out, 37, "%s", npuid);
	close(blk);
out:
	if (lfd >= 0)
		close(lfd);
	close(dfd);
	return rc;
}

static int stabilize(const char *home, struct np_db *db, const struct np_config *cfg, const char *uid, enum why why,
		     char npuid_out[37], struct np_err *err)
{
	struct stab *b = malloc(sizeof *b);
	if (!b)
		return np_err_sys(err, ENOMEM, "unable to stabilize the study");
	int rc = stabilize_in(home, db, cfg, uid, why, npuid_out, b, err);
	free(b);
	return rc;
}

/* An incoming folder name: a StudyInstanceUID, or np-recv's
 * "unsafe-<32 hex>" for a UID that is not safe as a file name. */
static int incoming_name_valid(const char *name)
{
	if (np_dicom_uid_valid(name))
		return 1;
	if (strncmp(name, "unsafe-", 7) || strlen(name) != 7 + 32)
		return 0;
	for (const char *p = name + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* Index an incoming study so the UI lists it with Stable = No. */
static void index_incoming(struct np_db *db, const char *uid, int dfd, double mtime, long long files)
{
	char npuid[64];
	if (!db || read_at(dfd, "npuid", npuid, sizeof npuid) < 0 || !np_uuid_valid(npuid))
		return;
	json_t *m = np_study_new(npuid, "dicom", "dicom");
	char iso[32], buf[4096];
	np_time_iso_at((time_t)first_arrival(dfd, mtime), iso);
	json_object_set_new(m, "created_at", json_string(iso));
	if (np_dicom_uid_valid(uid))
		json_object_set_new(m, "study", json_pack("{s:s}", "study_instance_uid", uid));
	json_object_set_new(m, "counts",
			    json_pack("{s:I, s:I}", "instances", (json_int_t)files, "series", (json_int_t)0));
	json_object_set_new(m, "products", json_null());
	if (read_at(dfd, "source.json", buf, sizeof buf) == 0) {
		json_t *o = json_loads(buf, 0, NULL);
		if (json_is_string(json_object_get(o, "calling_ae")))
			json_object_set(m, "source_ae", json_object_get(o, "calling_ae"));
		json_decref(o);
	}
	struct np_err e = {0};
	if (np_db_study_put(db, npuid, "incoming", m, &e) < 0)
		np_log_err(npuid, &e);
	json_decref(m);
}

static long long count_instances(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	long long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "npuid") && strcmp(e->d_name, "source.json"))
			n++;
	closedir(d);
	return n;
}

struct scan_ctx {
	struct np_db *db;
	const struct np_config *cfg;
	double now;
	int done;
};

static int scan_one(const char *home, const char *state, const char *uid, const char *dir, void *vctx)
{
	(void)state;
	struct scan_ctx *c = vctx;
	if (!incoming_name_valid(uid)) {
		np_warn(NULL, "ignoring incoming folder that is not a StudyInstanceUID");
		return 0;
	}
	int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return 0;
	struct stat st;
	if (fstat(dfd, &st) < 0) {
		close(dfd);
		return 0;
	}
	double mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	double quiet = c->now - mtime;
	double age = c->now - first_arrival(dfd, mtime);
	index_incoming(c->db, uid, dfd, mtime, count_instances(dfd));
	char npuid[64];
	/* An admin cancelled or deleted the study on arrival: it is taken in
	 * as soon as no association sends it, and its build settles that. */
	int marked = read_at(dfd, "npuid", npuid, sizeof npuid) == 0 && np_study_ops_stopping(home, npuid);
	close(dfd);
	enum why why;
	if (quiet >= (double)np_config_int(c->cfg, "dicom.stabilization_seconds"))
		why = WHY_QUIET;
	else if (age >= 60.0 * (double)np_config_int(c->cfg, "dicom.max_wait_minutes"))
		why = WHY_MAX_WAIT;
	else if (marked)
		why = WHY_FORCED;
	else
		return 0;
	struct np_err e = {0};
	int rc = stabilize(home, c->db, c->cfg, uid, why, NULL, &e);
	if (rc == 0)
		c->done++;
	else if (rc == 1)
		np_debug(NULL, "incoming study quiet but an association holds it quiet_s=%.0f", quiet);
	else if (rc < 0)
		np_log_err(NULL, &e);
	return 0;
}

static int recover_builds(const char *home, struct np_db *db, const struct np_config *cfg, int imports, double min_idle,
			  struct np_err *err);

int np_stable_scan(const char *home, struct np_db *db, const struct np_config *cfg, int *done, struct np_err *err)
{
	/* Instances an association acknowledged but a crash kept from being
	 * durable are written back first: a study is never taken without them. */
	struct np_err werr = {0};
	if (np_wal_recover_all(home, &werr) < 0) {
		np_log_err(NULL, &werr);
		if (done)
			*done = 0;
		return 0; /* nothing is taken until the log is replayed */
	}
	struct np_db *own;
	db = use_db(db, home, &own);
	/* what np-recv recorded since the last scan (it may not open the index) */
	struct np_err eerr = {0};
	if (db && np_recv_events_ingest(home, db, 1000, &eerr) < 0)
		np_log_err(NULL, &eerr);
	/* A build whose process died (np-stable --force killed, np-httpd's
	 * force-stable endpoint) is finished here, not only when np-stable
	 * starts: the study must not wait in tmp/ for a restart. */
	struct np_err rerr = {0};
	int rec = recover_builds(home, db, cfg, 0, 2.0, &rerr);
	if (rec < 0)
		np_log_err(NULL, &rerr);
	struct scan_ctx c = {db, cfg, np_now(), rec > 0 ? rec : 0};
	int rc = np_spool_each(home, "incoming", scan_one, &c, err);
	np_db_close(own);
	/* A scan parses every header of a study and frees it all: give the
	 * pages back, or the daemon keeps the size of its largest study
	 * between passes (glibc returns only the top of the heap by itself). */
	if (c.done)
		malloc_trim(0);
	if (done)
		*done = c.done;
	return rc < 0 ? -1 : 0;
}

struct find_ctx {
	const char *npuid;
	char uid[128];
};

static int find_by_npuid(const char *home, const char *state, const char *uid, const char *dir, void *vctx)
{
	(void)home;
	(void)state;
	struct find_ctx *f = vctx;
	char p[PATH_MAX], buf[64];
	snprintf(p, sizeof p, "%s/npuid", dir);
	struct np_err e = {0};
	char *s = np_read_file(p, 128, NULL, &e);
	if (!s)
		return 0;
	snprintf(buf, sizeof buf, "%.36s", s);
	free(s);
	if (strcasecmp(buf, f->npuid))
		return 0;
	snprintf(f->uid, sizeof f->uid, "%s", uid);
	return 1;
}

int np_stable_force(const char *home, const char *id, char npuid_out[37], struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	struct find_ctx f = {id, ""};
	if (np_uuid_valid(id)) {
		if (np_spool_each(home, "incoming", find_by_npuid, &f, err) < 0) {
			np_config_free(&cfg);
			return -1;
		}
	} else if (incoming_name_valid(id)) {
		snprintf(f.uid, sizeof f.uid, "%s", id);
	} else {
		np_config_free(&cfg);
		return np_err_set(err, NP_ERR_PERM, "not a StudyInstanceUID or npuid");
	}
	struct np_db *own;
	struct np_db *db = use_db(NULL, home, &own);
	int rc = *f.uid ? stabilize(home, db, &cfg, f.uid, WHY_FORCED, npuid_out, err) : 2;
	np_db_close(own);
	np_config_free(&cfg);
	if (rc == 1)
		return np_err_set(err, NP_ERR_TEMP,
				  "an association is still sending this study; try again when it ends");
	if (rc == 2)
		return np_err_sys(err, ENOENT, "no such study waiting in incoming");
	return rc;
}

struct rec_ctx {
	struct np_db *db;
	int n;
};

static int recover_indexed(const char *home, const char *state, const char *npuid, const char *dir, void *vctx)
{
	(void)home;
	struct rec_ctx *c = vctx;
	if (!c->db || !np_uuid_valid(npuid) || np_db_events_has(c->db, npuid, "study_stabilized"))
		return 0;
	json_t *m = np_study_load(dir, NULL);
	if (m) {
		np_stable_index(c->db, npuid, state, m, np_json_str(m, "stabilized_by", "recovered"));
		c->n++;
	}
	json_decref(m);
	return 0;
}

/* Finish or drop the builds in spool/tmp no process holds. Builds (and,
 * with imports, crashed imports) idle for less than min_idle seconds are
 * left alone: a process creates its build folder just before it locks it. */
static int recover_builds(const char *home, struct np_db *db, const struct np_config *cfg, int imports, double min_idle,
			  struct np_err *err)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/spool/tmp", home);
	DIR *d = opendir(tmp);
	if (!d)
		return errno == ENOENT ? 0 : np_err_sys(err, errno, "unable to read spool/tmp");
	double now = np_now();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int imp = imports && !strncmp(e->d_name, "imp-", 4) && np_uuid_valid(e->d_name + 4);
		if (!imp && (strncmp(e->d_name, "st-", 3) || !np_uuid_valid(e->d_name + 3)))
			continue;
		char t[PATH_MAX], p[PATH_MAX];
		snprintf(t, sizeof t, "%s/%s", tmp, e->d_name);
		struct stat st;
		/* a build folder of this user only, never a link to one */
		if (lstat(t, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (min_idle > 0 && now - ((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9) < min_idle)
			continue;
		snprintf(p, sizeof p, "%s/.build.lock", t);
		int blk = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
		if (blk < 0 || flock(blk, LOCK_EX | LOCK_NB) < 0) {
			if (blk >= 0)
				close(blk);
			continue;
		}
		snprintf(p, sizeof p, "%s/dicom", t);
		struct np_err e2 = {0};
		if (!np_is_dir(t)) {
			/* Finished or purged between the look and the lock. */
		} else if (imp || !np_is_dir(p)) {
			/* A crashed import (np-import starts over), or a build
			 * that crashed before the study left incoming/. */
			if (np_rmtree(t, &e2) < 0)
				np_log_err(NULL, &e2);
		} else {
			int rc = finish(home, db, cfg, e->d_name + 3, &e2);
			if (rc < 0)
				np_log_err(e->d_name + 3, &e2);
			else if (rc == 0)
				n++;
		}
		close(blk);
	}
	closedir(d);
	return n;
}

int np_stable_recover(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err)
{
	struct np_db *own;
	db = use_db(db, home, &own);
	int n = recover_builds(home, db, cfg, 1, 0, err);
	if (n < 0) {
		np_db_close(own);
		return -1;
	}
	struct rec_ctx c = {db, 0};
	np_spool_each(home, "stable", recover_indexed, &c, NULL);
	np_db_close(own);
	return n + c.n;
}
