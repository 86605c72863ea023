// SPDX-License-Identifier: Apache-2.0
// np-stable: turn idle incoming/<StudyInstanceUID>/ folders into stable studies.
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_stable.h"
#include "np_study_ops.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

/* When spool/.marks last changed (a mark written or settled). */
static struct timespec marks_mtime(const char *home)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s/spool/.marks", home);
	if (stat(p, &st) < 0)
		return (struct timespec){0, 0};
	return st.st_mtim;
}

static int run_once(const char *home, struct np_db *db, const struct np_config *cfg)
{
	struct np_err err = {0};
	int done = 0;
	/* Cancels np-httpd could not tell the cloud of (the privilege split). */
	np_study_ops_cloud_handovers(home, db);
	if (np_stable_scan(home, db, cfg, &done, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	return 0;
}

static const struct np_prog_opt opts[] = {
    {"once", '1', NULL, "one pass over incoming/, then exit"},
    {"force", 'f', "ID", "stabilize one study now (StudyInstanceUID or npuid)"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-stable",
    .synopsis = "[--home DIR] [--once]\n[--home DIR] --force UID|NPUID",
    .about = "Moves the studies of spool/incoming/ that stayed quiet for dicom.stabilization_seconds to stable/.",
    .opts = opts,
    .needs = NP_PROG_SPOOL | NP_PROG_CONFIG,
};

struct stable_args {
	const char *force;
	int once;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct stable_args *a = p->ctx;
	if (key == '1')
		a->once = 1;
	else if (key == 'f')
		a->force = arg;
	else if (!a->force)
		p->needs |= NP_PROG_INDEX;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct stable_args a = {0};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	const char *home = p.home;
	if (a.force) {
		char npuid[37];
		np_prog_end(&p);
		if (np_stable_force(home, a.force, npuid, &err) < 0)
			return np_prog_fail(NULL, &err);
		printf("%s\n", npuid);
		return 0;
	}
	struct np_db *db = p.db;
	if (np_stable_recover(home, db, &p.cfg, &err) < 0)
		np_log_err(NULL, &err);
	rc = 0;
	if (a.once) {
		rc = run_once(home, db, &p.cfg);
	} else {
		struct sigaction sa = {0};
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		np_info(NULL, "scanning incoming every %llds, stable after %llds quiet",
			np_config_int(&p.cfg, "dicom.scan_interval_seconds"),
			np_config_int(&p.cfg, "dicom.stabilization_seconds"));
		while (!stop) {
			if (reload) {
				struct np_config fresh;
				reload = 0;
				if (np_config_load(&fresh, home, &err) < 0) {
					np_log_err(NULL, &err);
				} else {
					np_config_free(&p.cfg);
					p.cfg = fresh;
					np_info(NULL, "settings reloaded");
				}
			}
			struct timespec marks0 = marks_mtime(home);
			run_once(home, db, &p.cfg);
			long long ms = 1000 * np_config_int(&p.cfg, "dicom.scan_interval_seconds");
			for (long long slept = 0; slept < ms && !stop && !reload; slept += 100) {
				nanosleep(&(struct timespec){0, 100000000L}, NULL);
				/* A cancel or delete asked of an incoming study
				 * (spool/.marks): a pass now, not at the next tick. */
				struct timespec m = marks_mtime(home);
				if (m.tv_sec != marks0.tv_sec || m.tv_nsec != marks0.tv_nsec)
					break;
			}
		}
	}
	np_prog_end(&p);
	return rc;
}
