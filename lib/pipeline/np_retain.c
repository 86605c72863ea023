// SPDX-License-Identifier: Apache-2.0
#include "np_retain.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_maint.h"
#include "np_db_retain.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const np_retain_states[] = {"done", "failed", "cancelled", "qc-failed", NULL};

struct purge_ctx {
	struct np_db *db;
	double cutoff;
	int dry_run;
	struct np_retain_counts *counts;
	struct np_err *err;
	int failed;
};

/* Time of the study's last state change: history.jsonl is appended at every
 * move; older folders without it fall back to the folder itself. */
static double last_change(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s/history.jsonl", dir);
	if (stat(p, &st) == 0 || stat(dir, &st) == 0)
		return (double)st.st_mtim.tv_sec;
	return 0;
}

static int purge_study(const char *home, const char *state, const char *id, const char *dir, void *vctx)
{
	struct purge_ctx *ctx = vctx;
	if (last_change(dir) >= ctx->cutoff)
		return 0;
	if (ctx->dry_run) {
		ctx->counts->studies++;
		return 0;
	}
	char trash[PATH_MAX];
	struct np_err e = {0};
	if (snprintf(trash, sizeof trash, "%s/spool/tmp/purge-%s", home, id) >= (int)sizeof trash ||
	    np_rmtree(trash, &e) < 0 || np_rename_durable(dir, trash, &e) < 0 || np_rmtree(trash, &e) < 0 ||
	    np_db_study_delete(ctx->db, id, &e) < 0) {
		np_log_err(id, &e);
		if (!ctx->failed && ctx->err)
			*ctx->err = e;
		ctx->failed = 1;
		return 0;
	}
	np_info(id, "purged study state=%s", state);
	np_db_event(ctx->db, id, "study_purged", "info", state, NULL);
	ctx->counts->studies++;
	return 0;
}

/* s6-log keeps "current" and rotated "@<tai64n>.s"/".u" files per service. */
static int purge_logs(const char *home, double cutoff, int dry_run, struct np_retain_counts *counts)
{
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%s/log", home);
	DIR *d = opendir(root);
	if (!d)
		return 0;
	struct dirent *svc;
	while ((svc = readdir(d))) {
		if (svc->d_name[0] == '.')
			continue;
		char sdir[PATH_MAX];
		snprintf(sdir, sizeof sdir, "%s/%s", root, svc->d_name);
		DIR *s = opendir(sdir);
		if (!s)
			continue;
		struct dirent *f;
		while ((f = readdir(s))) {
			if (f->d_name[0] != '@')
				continue;
			char p[PATH_MAX];
			struct stat st;
			snprintf(p, sizeof p, "%s/%s", sdir, f->d_name);
			if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || (double)st.st_mtim.tv_sec >= cutoff)
				continue;
			if (dry_run || unlink(p) == 0)
				counts->logs++;
		}
		closedir(s);
	}
	closedir(d);
	return 0;
}

int np_retain_run(const char *home, const struct np_config *cfg, struct np_db *db, int dry_run,
		  struct np_retain_counts *counts, struct np_err *err)
{
	memset(counts, 0, sizeof *counts);
	double now = np_now();
	double order_cut = now - 86400.0 * (double)np_config_int(cfg, "retention.order_days");
	double rec_cut = now - 86400.0 * (double)np_config_int(cfg, "retention.db_record_days");
	double log_cut = now - 86400.0 * (double)np_config_int(cfg, "retention.log_days");
	struct purge_ctx ctx = {db, order_cut, dry_run, counts, err, 0};
	if (!dry_run && np_db_secure_delete(db, err) < 0)
		return -1;
	for (int i = 0; np_retain_states[i]; i++)
		if (np_spool_each(home, np_retain_states[i], purge_study, &ctx, err) < 0)
			return -1;
	char iso[32];
	np_time_iso_at((time_t)rec_cut, iso);
	static const char *const tables[] = {"events", "metrics", "audit", NULL};
	/* The audit table refuses deletes of rows at or after this cutoff
	 * (trigger audit_no_delete, migration 2). */
	if (!dry_run && np_db_kv_set(db, "audit_purge_before", iso, err) < 0)
		return -1;
	for (int i = 0; tables[i]; i++) {
		long long n = np_db_retain_purge(db, tables[i], iso, dry_run, err);
		if (n < 0)
			return -1;
		counts->rows += n;
	}
	purge_logs(home, log_cut, dry_run, counts);
	/* Old page images of purged rows live on in the WAL until it is
	 * checkpointed and truncated. */
	if (!dry_run && (counts->studies || counts->rows))
		np_db_checkpoint(db);
	return ctx.failed ? -1 : 0;
}
