// SPDX-License-Identifier: Apache-2.0
// np-stable: turn idle incoming/<StudyInstanceUID>/ folders into stable studies.
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_stable.h"

#include <getopt.h>
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

static void usage(FILE *f)
{
	fprintf(f, "usage: np-stable [--home DIR] [--once]\n"
		   "       np-stable [--home DIR] --force UID|NPUID\n"
		   "  --once        one pass over incoming/, then exit\n"
		   "  --force ID    stabilize one study now (StudyInstanceUID or npuid)\n");
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
	if (np_stable_scan(home, db, cfg, &done, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	return 0;
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"once", no_argument, 0, '1'},
					     {"force", required_argument, 0, 'f'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL, *force = NULL;
	int once = 0, c;
	while ((c = getopt_long(argc, argv, "H:1f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case '1':
			once = 1;
			break;
		case 'f':
			force = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return NP_EXIT_PERM;
		}
	}
	if (optind != argc)
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_spool_init(home, &err) < 0 ||
	    np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (force) {
		char npuid[37];
		np_config_free(&cfg);
		if (np_stable_force(home, force, npuid, &err) < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		printf("%s\n", npuid);
		return 0;
	}
	struct np_db *db = np_index_open(home, &err);
	if (!db) {
		np_log_err(NULL, &err);
		np_config_free(&cfg);
		return np_err_exit_code(&err);
	}
	if (np_stable_recover(home, db, &cfg, &err) < 0)
		np_log_err(NULL, &err);
	int rc = 0;
	if (once) {
		rc = run_once(home, db, &cfg);
	} else {
		struct sigaction sa = {0};
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		np_info(NULL, "scanning incoming every %llds, stable after %llds quiet",
			np_config_int(&cfg, "dicom.scan_interval_seconds"),
			np_config_int(&cfg, "dicom.stabilization_seconds"));
		while (!stop) {
			if (reload) {
				struct np_config fresh;
				reload = 0;
				if (np_config_load(&fresh, home, &err) < 0) {
					np_log_err(NULL, &err);
				} else {
					np_config_free(&cfg);
					cfg = fresh;
					np_info(NULL, "settings reloaded");
				}
			}
			struct timespec marks0 = marks_mtime(home);
			run_once(home, db, &cfg);
			long long ms = 1000 * np_config_int(&cfg, "dicom.scan_interval_seconds");
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
	np_db_close(db);
	np_config_free(&cfg);
	return rc;
}
