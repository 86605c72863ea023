// SPDX-License-Identifier: Apache-2.0
#include "np_spool.h"

#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_study.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const np_spool_states[] = {"incoming", "stable", "qc-passed", "qc-failed", "ready", "uploaded",
				       "results",  "done",   "failed",	  "cancelled", NULL};

int np_spool_state_valid(const char *name)
{
	for (int i = 0; np_spool_states[i]; i++)
		if (!strcmp(name, np_spool_states[i]))
			return 1;
	return 0;
}

int np_spool_state_terminal(const char *name)
{
	return !strcmp(name, "done") || !strcmp(name, "failed") || !strcmp(name, "cancelled");
}

int np_home_resolve(const char *opt, char *out, size_t outsz, struct np_err *err)
{
	const char *h = opt && *opt ? opt : getenv("NP_HOME");
	if (!h || !*h)
		h = "./var";
	if (h[0] == '/') {
		if (snprintf(out, outsz, "%s", h) >= (int)outsz)
			return np_err_set(err, NP_ERR_PERM, "agent home path too long");
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return np_err_sys(err, errno, "unable to get the current directory");
		if (snprintf(out, outsz, "%s/%s", cwd, h[0] == '.' && h[1] == '/' ? h + 2 : h) >= (int)outsz)
			return np_err_set(err, NP_ERR_PERM, "agent home path too long");
	}
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
	return 0;
}

int np_spool_init(const char *home, struct np_err *err)
{
	static const char *const dirs[] = {
	    "etc", "db", "log", "spool", "spool/tmp", "spool/events", "spool/incoming", NP_RECV_TMP, NULL};
	char p[PATH_MAX];
	if (np_mkdirs(home, 0750, err) < 0)
		return -1;
	/* 0770 less the umask: np-recv and the back-end are two users of one
	 * group under the privilege split (umask 007); elsewhere 0750 */
	for (int i = 0; dirs[i]; i++) {
		snprintf(p, sizeof p, "%s/%s", home, dirs[i]);
		if (np_mkdirs(p, 0770, err) < 0)
			return -1;
	}
	snprintf(p, sizeof p, "%s/etc/secrets", home);
	if (np_mkdirs(p, 0700, err) < 0)
		return -1;
	for (int i = 0; np_spool_states[i]; i++) {
		snprintf(p, sizeof p, "%s/spool/%s", home, np_spool_states[i]);
		if (np_mkdirs(p, 0770, err) < 0)
			return -1;
	}
	return 0;
}

static int valid_id(const char *id)
{
	return id && *id && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

int np_spool_study_dir(const char *home, const char *state, const char *id, char *out, size_t outsz, struct np_err *err)
{
	if (!valid_id(id))
		return np_err_set(err, NP_ERR_PERM, "invalid study id");
	if (snprintf(out, outsz, "%s/spool/%s/%s", home, state, id) >= (int)outsz)
		return np_err_set(err, NP_ERR_PERM, "study path too long");
	return 0;
}

static int work_dir(const char *home, const char *state, const char *id, char *out, size_t outsz, struct np_err *err)
{
	if (!valid_id(id))
		return np_err_set(err, NP_ERR_PERM, "invalid study id");
	if (snprintf(out, outsz, "%s/spool/%s/.work%s%s", home, state, id ? "/" : "", id ? id : "") >= (int)outsz)
		return np_err_set(err, NP_ERR_PERM, "study path too long");
	return 0;
}

int np_spool_find(const char *home, const char *npuid, char *state, size_t statesz, int *claimed, struct np_err *err)
{
	char p[PATH_MAX];
	for (int i = 0; np_spool_states[i]; i++) {
		for (int w = 0; w < 2; w++) {
			int rc = w ? work_dir(home, np_spool_states[i], npuid, p, sizeof p, err)
				   : np_spool_study_dir(home, np_spool_states[i], npuid, p, sizeof p, err);
			if (rc < 0)
				return -1;
			if (np_is_dir(p)) {
				snprintf(state, statesz, "%s", np_spool_states[i]);
				if (claimed)
					*claimed = w;
				return 0;
			}
		}
	}
	return 1;
}

/* dir/history.jsonl opened for appending (and reading its last byte). */
static int history_open(const char *dir, struct np_err *err)
{
	char path[PATH_MAX];
	if (np_path_join(path, sizeof path, dir, "history.jsonl", err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	return fd;
}

/* Append one record through fd and fsync it. A power loss can leave a torn
 * last line without its newline; start on a fresh line so the new record
 * stays parseable on its own. */
static int history_append(int fd, const char *from, const char *to, const char *reason, struct np_err *err)
{
	char ts[32];
	np_time_iso(ts);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "from", from ? from : "", "to", to, "reason",
			      reason ? reason : "");
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	struct stat st;
	char c = '\n', *rec = NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &c, 1, st.st_size - 1) != 1)
		c = '\n';
	if (!line || asprintf(&rec, "%s%s\n", c == '\n' ? "" : "\n", line) < 0) {
		free(line);
		return np_err_sys(err, ENOMEM, "unable to record history");
	}
	free(line);
	size_t n = strlen(rec), off = 0;
	while (off < n) {
		ssize_t w = write(fd, rec + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			free(rec);
			return np_err_sys(err, errno, "unable to record history");
		}
		off += (size_t)w;
	}
	free(rec);
	if (fsync(fd) < 0)
		return np_err_sys(err, errno, "unable to record history");
	return 0;
}

int np_spool_history(const char *dir, const char *from, const char *to, const char *reason, struct np_err *err)
{
	int fd = history_open(dir, err);
	if (fd < 0)
		return -1;
	int rc = history_append(fd, from, to, reason, err);
	close(fd);
	return rc;
}

/* The last "to" recorded in dir/history.jsonl, in out ("" if none). */
static void history_last_to(const char *dir, char *out, size_t outsz)
{
	char path[PATH_MAX];
	out[0] = 0;
	if (snprintf(path, sizeof path, "%s/history.jsonl", dir) >= (int)sizeof path)
		return;
	size_t len;
	char *buf = np_read_file(path, 16 << 20, &len, NULL);
	if (!buf)
		return;
	while (len && buf[len - 1] == '\n')
		buf[--len] = 0;
	char *last = strrchr(buf, '\n');
	json_t *o = json_loads(last ? last + 1 : buf, 0, NULL);
	snprintf(out, outsz, "%s", np_json_str(o, "to", ""));
	json_decref(o);
	free(buf);
}

int np_spool_move(const char *home, struct np_db *db, const char *id, const char *from, const char *to,
		  const char *reason, struct np_err *err)
{
	char src[PATH_MAX], srcw[PATH_MAX], dst[PATH_MAX], todir[PATH_MAX];
	if (!np_spool_state_valid(from) || !np_spool_state_valid(to))
		return np_err_set(err, NP_ERR_PERM, "unknown spool state %s or %s", from, to);
	if (np_spool_study_dir(home, from, id, src, sizeof src, err) < 0 ||
	    work_dir(home, from, id, srcw, sizeof srcw, err) < 0 ||
	    np_spool_study_dir(home, to, id, dst, sizeof dst, err) < 0)
		return -1;
	snprintf(todir, sizeof todir, "%s/spool/%s", home, to);
	if (np_mkdirs(todir, 0770, err) < 0)
		return -1;
	const char *have = np_is_dir(srcw) ? srcw : np_is_dir(src) ? src : NULL;
	if (have) {
		if (np_is_dir(dst))
			return np_err_set(err, NP_ERR_PERM, "cannot move to %s: a study with this id is already there",
					  to);
		/* The history file is opened before the rename and written
		 * through its descriptor after it: the next stage's runner may
		 * claim the study from <to> the moment it lands there. */
		int hfd = history_open(have, err);
		if (hfd < 0)
			return -1;
		if (np_rename_durable(have, dst, err) < 0) {
			close(hfd);
			return -1;
		}
		np_crash_point("move.renamed");
		int rc = history_append(hfd, from, to, reason, err);
		close(hfd);
		if (rc < 0)
			return -1;
	} else if (!np_is_dir(dst)) {
		return np_err_sys(err, ENOENT, "study %s is not in %s", id, from);
	} else {
		/* Re-run after a crash between the rename and the history
		 * line: the study is already in <to>; append only if the line
		 * is missing. */
		char last[64] = "";
		history_last_to(dst, last, sizeof last);
		if (strcmp(last, to) && np_spool_history(dst, from, to, reason, err) < 0)
			return -1;
	}
	np_crash_point("move.history");
	struct np_err dberr = {0};
	struct np_db *own = db ? NULL : np_db_open(home, &dberr);
	int rc = db || own ? np_db_study_state(db ? db : own, id, to, &dberr) : -1;
	if (rc == 1) {
		/* not indexed yet (index rebuilt or older than the study) */
		json_t *m = np_study_load(dst, NULL);
		rc = np_db_study_put(db ? db : own, id, to, m, &dberr);
		json_decref(m);
	}
	if (rc < 0)
		np_log_err(id, &dberr);
	np_db_close(own);
	return 0;
}

int np_spool_claim(const char *home, const char *state, const char *id, struct np_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX], wd[PATH_MAX];
	if (np_spool_study_dir(home, state, id, src, sizeof src, err) < 0 ||
	    work_dir(home, state, id, dst, sizeof dst, err) < 0)
		return -1;
	snprintf(wd, sizeof wd, "%s/spool/%s/.work", home, state);
	if (np_mkdirs(wd, 0770, err) < 0)
		return -1;
	if (rename(src, dst) < 0) {
		if (errno == ENOENT)
			return 1;
		return np_err_sys(err, errno, "unable to claim study %s", id);
	}
	np_crash_point("claim.renamed");
	if (np_fsync_dir(wd, err) < 0)
		return -1;
	snprintf(wd, sizeof wd, "%s/spool/%s", home, state);
	return np_fsync_dir(wd, err);
}

int np_spool_unclaim(const char *home, const char *state, const char *id, struct np_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	if (work_dir(home, state, id, src, sizeof src, err) < 0 ||
	    np_spool_study_dir(home, state, id, dst, sizeof dst, err) < 0)
		return -1;
	if (!np_is_dir(src))
		return np_is_dir(dst) ? 0 : np_err_sys(err, ENOENT, "study %s is not claimed in %s", id, state);
	return np_rename_durable(src, dst, err);
}

int np_spool_recover(const char *home, const char *state, struct np_err *err)
{
	char wd[PATH_MAX];
	snprintf(wd, sizeof wd, "%s/spool/%s/.work", home, state);
	DIR *d = opendir(wd);
	if (!d)
		return errno == ENOENT ? 0 : np_err_sys(err, errno, "unable to read %s", wd);
	int n = 0, rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (np_spool_unclaim(home, state, e->d_name, err) < 0) {
			rc = -1;
			break;
		}
		np_info(e->d_name, "recovered claimed study state=%s", state);
		n++;
	}
	closedir(d);
	return rc < 0 ? -1 : n;
}

/* One folder of a listing. The name is allocated: a million studies in
 * done took 264 MB as char[256], 64 so. */
struct entry {
	char *name;
	double mtime;
};

static int by_mtime(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int each_in(const char *home, const char *state, const char *sub, np_spool_fn fn, void *ctx, struct np_err *err)
{
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof dirpath, "%s/spool/%s%s", home, state, sub);
	DIR *d = opendir(dirpath);
	if (!d)
		return errno == ENOENT ? 0 : np_err_sys(err, errno, "unable to read %s", dirpath);
	size_t n = 0, cap = 64;
	struct entry *v = malloc(cap * sizeof *v);
	if (!v) {
		closedir(d);
		return np_err_sys(err, ENOMEM, "unable to list %s", dirpath);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 256)
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dirpath, e->d_name) >= (int)sizeof p || stat(p, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			struct entry *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv) {
				for (size_t i = 0; i < n; i++)
					free(v[i].name);
				free(v);
				closedir(d);
				return np_err_sys(err, ENOMEM, "unable to list %s", dirpath);
			}
			v = nv;
		}
		if (!(v[n].name = strdup(e->d_name)))
			continue;
		v[n].mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof *v, by_mtime);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dirpath, v[i].name);
		rc = fn(home, state, v[i].name, p, ctx);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

int np_spool_each(const char *home, const char *state, np_spool_fn fn, void *ctx, struct np_err *err)
{
	return each_in(home, state, "", fn, ctx, err);
}

int np_spool_each_study(const char *home, np_spool_fn fn, void *ctx, struct np_err *err)
{
	for (int i = 1; np_spool_states[i]; i++) {
		int rc = each_in(home, np_spool_states[i], "", fn, ctx, err);
		if (rc == 0)
			rc = each_in(home, np_spool_states[i], "/.work", fn, ctx, err);
		if (rc)
			return rc;
	}
	return 0;
}

int np_spool_study_arg(const char *arg, char *dir, size_t dirsz, const char **npuid, struct np_err *err)
{
	if (snprintf(dir, dirsz, "%s", arg) >= (int)dirsz)
		return np_err_set(err, NP_ERR_PERM, "study folder path too long");
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = 0;
	const char *base = strrchr(dir, '/');
	*npuid = base ? base + 1 : dir;
	if (!np_uuid_valid(*npuid))
		return np_err_set(err, NP_ERR_PERM, "%s is not a study folder (its name must be the study's npuid)",
				  dir);
	return 0;
}
