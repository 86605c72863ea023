// SPDX-License-Identifier: Apache-2.0
// np-local STUDYDIR: local processing mode (qc-passed -> ready under np-queue).
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_local.h"
#include "np_log.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-local [--home DIR] STUDYDIR\n"
		   "Runs the local preprocessing pipeline (local_processing.* settings) on the study\n"
		   "and keeps only its derived features in STUDYDIR/deid/ for upload.\n");
}

static void event(const char *home, const char *npuid, const char *type, const char *level, const char *detail)
{
	struct np_err e = {0};
	struct np_db *db = np_index_open(home, &e);
	if (!db || np_db_event(db, npuid, type, level, detail, &e) < 0)
		np_log_err(npuid, &e);
	np_db_close(db);
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'}, {"help", no_argument, 0, 'h'}, {0}};
	const char *home_opt = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	if (optind + 1 != argc)
		return usage(stderr), NP_EXIT_PERM;
	char dir[PATH_MAX], home[PATH_MAX];
	const char *npuid;
	struct np_err err = {0};
	if (np_spool_study_arg(argv[optind], dir, sizeof dir, &npuid, &err) < 0) {
		np_log_err(NULL, &err);
		return NP_EXIT_PERM;
	}
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(npuid, &err);
		return np_err_exit_code(&err);
	}
	int rc = np_local_run(home, &cfg, dir, &err);
	np_config_free(&cfg);
	if (rc == NP_LOCAL_OK) {
		np_info(npuid, "local processing completed");
		event(home, npuid, "local_processing_completed", "info", NULL);
		return 0;
	}
	np_log_err(npuid, &err);
	if (rc == NP_LOCAL_FAILED) {
		event(home, npuid, "local_processing_failed", "error", err.msg);
		return NP_EXIT_NO;
	}
	return np_err_exit_code(&err);
}
