// SPDX-License-Identifier: Apache-2.0
#include "np_queue.h"

#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static int journal_dir(const char *home, const char *stage, char *out, size_t outsz, struct np_err *err)
{
	if (!np_spool_state_valid(stage))
		return np_err_set(err, NP_ERR_PERM, "unknown spool state %s", stage);
	if (snprintf(out, outsz, "%s/spool/%s/.queue", home, stage) >= (int)outsz)
		return np_err_set(err, NP_ERR_PERM, "agent home path too long");
	return 0;
}

static int journal_path(const char *home, const char *stage, const char *id, char *out, size_t outsz,
			struct np_err *err)
{
	char dir[PATH_MAX];
	if (!id || !*id || strchr(id, '/') || id[0] == '.')
		return np_err_set(err, NP_ERR_PERM, "invalid study id");
	if (journal_dir(home, stage, dir, sizeof dir, err) < 0)
		return -1;
	if (snprintf(out, outsz, "%s/%s.json", dir, id) >= (int)outsz)
		return np_err_set(err, NP_ERR_PERM, "study path too long");
	return 0;
}

int np_queue_load(const char *home, const char *stage, const char *id, struct np_queue_entry *e, struct np_err *err)
{
	char path[PATH_MAX];
	memset(e, 0, sizeof *e);
	e->last_exit = -1;
	if (journal_path(home, stage, id, path, sizeof path, err) < 0)
		return -1;
	if (!np_exists(path))
		return 1;
	json_t *o = np_json_load(path, 64 << 10, err);
	if (!o)
		return -1;
	if (!json_is_object(o)) {
		json_decref(o);
		return np_err_set(err, NP_ERR_PERM, "%s: not a JSON object", path);
	}
	e->attempts = (int)np_json_int(o, "attempts", 0);
	json_t *nt = json_object_get(o, "next_try");
	e->next_try = json_is_number(nt) ? json_number_value(nt) : 0;
	e->last_exit = (int)np_json_int(o, "last_exit", -1);
	json_t *si = json_object_get(o, "since"), *hi = json_object_get(o, "hint"), *no = json_object_get(o, "noted");
	e->since = json_is_number(si) ? json_number_value(si) : 0;
	e->hint = json_is_number(hi) ? json_number_value(hi) : 0;
	e->noted = json_is_number(no) ? json_number_value(no) : 0;
	e->held = json_is_true(json_object_get(o, "held"));
	snprintf(e->to, sizeof e->to, "%s", np_json_str(o, "to", ""));
	snprintf(e->reason, sizeof e->reason, "%s", np_json_str(o, "reason", ""));
	snprintf(e->error, sizeof e->error, "%s", np_json_str(o, "error", ""));
	json_decref(o);
	if (e->to[0] && !np_spool_state_valid(e->to))
		return np_err_set(err, NP_ERR_PERM, "%s: unknown state %s", path, e->to);
	return 0;
}

int np_queue_save(const char *home, const char *stage, const char *id, const struct np_queue_entry *e,
		  struct np_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (journal_path(home, stage, id, path, sizeof path, err) < 0 ||
	    journal_dir(home, stage, dir, sizeof dir, err) < 0 || np_mkdirs(dir, 0750, err) < 0)
		return -1;
	json_t *o =
	    json_pack("{s:i, s:f, s:i}", "attempts", e->attempts, "next_try", e->next_try, "last_exit", e->last_exit);
	if (o && e->to[0])
		json_object_set_new(o, "to", json_string(e->to));
	if (o && e->reason[0])
		json_object_set_new(o, "reason", json_string(e->reason));
	if (o && e->since > 0)
		json_object_set_new(o, "since", json_real(e->since));
	if (o && e->hint > 0)
		json_object_set_new(o, "hint", json_real(e->hint));
	if (o && e->noted > 0)
		json_object_set_new(o, "noted", json_real(e->noted));
	if (o && e->error[0])
		json_object_set_new(o, "error", json_string(e->error));
	if (o && e->held)
		json_object_set_new(o, "held", json_true());
	if (!o)
		return np_err_sys(err, ENOMEM, "unable to record the queue state of %s", id);
	int rc = np_json_save(path, o, 0640, err);
	json_decref(o);
	return rc;
}

int np_queue_drop(const char *home, const char *stage, const char *id, struct np_err *err)
{
	char path[PATH_MAX];
	if (journal_path(home, stage, id, path, sizeof path, err) < 0)
		return -1;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : np_err_sys(err, errno, "unable to remove %s", path);
	return np_fsync_parent(path, err);
}

double np_queue_backoff(double base, double cap, int attempts, double rnd)
{
	if (base <= 0 || attempts < 1)
		return 0;
	double d = base * ldexp(1.0, attempts > 60 ? 60 : attempts - 1);
	if (cap > 0 && d > cap)
		d = cap;
	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;
	return d / 2 + d / 2 * rnd;
}

void np_retry_settings(const struct np_config *cfg, struct np_retry *rt)
{
	rt->initial = (double)np_config_int(cfg, "retry.initial_seconds");
	rt->max = (double)np_config_int(cfg, "retry.max_seconds");
	rt->give_up = (double)np_config_int(cfg, "retry.give_up_seconds");
	/* A build whose settings lack the keys: the shipped defaults. */
	if (rt->initial <= 0)
		rt->initial = 60;
	if (rt->max < rt->initial)
		rt->max = rt->initial > 3600 ? rt->initial : 3600;
	if (rt->give_up <= 0)
		rt->give_up = 86400;
}

static int note(const char *dir, const char *error, double next_try, int held, struct np_err *err)
{
	/* dir is <home>/spool/<stage>/.work/<id> when np-queue runs the command. */
	char home[PATH_MAX], stage[64], id[256];
	const char *w = strstr(dir, "/spool/");
	for (const char *p = w; p; p = strstr(p + 1, "/spool/"))
		w = p;
	if (!w || (size_t)(w - dir) >= sizeof home)
		return 0;
	const char *st = w + 7, *work = strchr(st, '/');
	if (!work || (size_t)(work - st) >= sizeof stage || strncmp(work, "/.work/", 7))
		return 0;
	const char *ident = work + 7;
	if (!*ident || strchr(ident, '/') || strlen(ident) >= sizeof id)
		return 0;
	snprintf(home, sizeof home, "%.*s", (int)(w - dir), dir);
	snprintf(stage, sizeof stage, "%.*s", (int)(work - st), st);
	snprintf(id, sizeof id, "%s", ident);
	if (!np_spool_state_valid(stage))
		return 0;
	struct np_queue_entry e;
	if (np_queue_load(home, stage, id, &e, err) < 0)
		return -1;
	snprintf(e.error, sizeof e.error, "%s", error ? error : "");
	e.hint = next_try > 0 ? next_try : 0;
	e.noted = np_now();
	e.held = held;
	return np_queue_save(home, stage, id, &e, err);
}

int np_queue_note(const char *dir, const char *error, double next_try, struct np_err *err)
{
	return note(dir, error, next_try, 0, err);
}

int np_queue_hold(const char *dir, const char *why, double next_try, struct np_err *err)
{
	return note(dir, why, next_try, 1, err);
}

json_t *np_queue_waiting(const char *home, const char *state, const char *id)
{
	struct np_queue_entry e;
	if (!np_spool_state_valid(state) || np_queue_load(home, state, id, &e, NULL) != 0 || e.to[0] ||
	    e.attempts < 1 || (!e.error[0] && !strcmp(state, "uploaded")))
		return NULL;
	char next[32], since[32], exitw[32];
	np_time_iso_at((time_t)e.next_try, next);
	np_time_iso_at((time_t)(e.since > 0 ? e.since : e.next_try), since);
	snprintf(exitw, sizeof exitw, "temporary failure (exit %d)", e.last_exit);
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "stage", state, "reason", e.error[0] ? e.error : exitw,
			 "next_try", next, "since", since, "attempts", e.attempts);
}

/* Steps 2 and 3 of a route: the move and dropping the intent. */
static int finish_route(const char *home, struct np_db *db, const char *stage, const char *id, const char *to,
			const char *reason, struct np_err *err)
{
	struct np_err merr = {0};
	if (np_spool_move(home, db, id, stage, to, reason, &merr) < 0) {
		if (merr.sys != ENOENT) {
			if (err)
				*err = merr;
			return -1;
		}
		/* Neither in the stage nor in `to`: a later runner already moved
		 * it on (only after a crash between rename and history). */
		np_warn(id, "routed study is no longer in %s or %s; dropping its queue entry", stage, to);
	}
	np_crash_point("queue.moved");
	return np_queue_drop(home, stage, id, err);
}

int np_queue_route(const char *home, struct np_db *db, const char *stage, const char *id, const char *to,
		   const char *reason, struct np_err *err)
{
	struct np_queue_entry e;
	if (!np_spool_state_valid(to))
		return np_err_set(err, NP_ERR_PERM, "unknown spool state %s", to);
	if (np_queue_load(home, stage, id, &e, NULL) < 0) {
		memset(&e, 0, sizeof e);
		e.last_exit = -1;
	}
	snprintf(e.to, sizeof e.to, "%s", to);
	snprintf(e.reason, sizeof e.reason, "%s", reason ? reason : "");
	if (np_queue_save(home, stage, id, &e, err) < 0)
		return -1;
	np_crash_point("queue.routing");
	return finish_route(home, db, stage, id, to, reason, err);
}

static int in_stage(const char *home, const char *stage, const char *id)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/spool/%s/%s", home, stage, id) < (int)sizeof p && np_is_dir(p))
		return 1;
	return snprintf(p, sizeof p, "%s/spool/%s/.work/%s", home, stage, id) < (int)sizeof p && np_is_dir(p);
}

int np_queue_recover(const char *home, struct np_db *db, const char *stage, struct np_err *err)
{
	char dir[PATH_MAX];
	if (journal_dir(home, stage, dir, sizeof dir, err) < 0 || np_mkdirs(dir, 0750, err) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return np_err_sys(err, errno, "unable to read %s", dir);
	int n = 0, rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.') {
			/* A temp file of an interrupted np_write_atomic. */
			if (strstr(de->d_name, ".tmp."))
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") || len - 5 >= 256)
			continue;
		char id[256];
		snprintf(id, sizeof id, "%.*s", (int)(len - 5), de->d_name);
		struct np_queue_entry e;
		struct np_err lerr = {0};
		if (np_queue_load(home, stage, id, &e, &lerr) < 0) {
			np_log_err(id, &lerr);
			np_queue_drop(home, stage, id, NULL);
			continue;
		}
		if (e.to[0]) {
			rc = finish_route(home, db, stage, id, e.to, e.reason, err);
			if (rc == 0) {
				np_info(id, "finished interrupted move from=%s to=%s", stage, e.to);
				n++;
			}
		} else if (!in_stage(home, stage, id)) {
			rc = np_queue_drop(home, stage, id, err);
		}
	}
	closedir(d);
	if (rc < 0)
		return -1;
	int back = np_spool_recover(home, stage, err);
	return back < 0 ? -1 : n + back;
}

int np_queue_lock(const char *home, const char *stage, struct np_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (journal_dir(home, stage, dir, sizeof dir, err) < 0 || np_mkdirs(dir, 0750, err) < 0 ||
	    np_path_join(path, sizeof path, dir, ".lock", err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return np_err_set(err, NP_ERR_TEMP, "another np-queue is running on %s", stage);
		return np_err_sys(err, e, "unable to lock %s", path);
	}
	return fd;
}
