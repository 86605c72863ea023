// SPDX-License-Identifier: Apache-2.0
// np-local STUDYDIR: local processing mode (qc-passed -> ready under np-queue).
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_local.h"
#include "np_log.h"
#include "np_prog.h"

#include <stdio.h>

static void event(const char *home, const char *npuid, const char *type, const char *level, const char *detail)
{
	struct np_err e = {0};
	struct np_db *db = np_index_open(home, &e);
	if (!db || np_db_event(db, npuid, type, level, detail, &e) < 0)
		np_log_err(npuid, &e);
	np_db_close(db);
}

static const struct np_prog_spec spec = {
    .name = "np-local",
    .synopsis = "[--home DIR] STUDYDIR",
    .about = "Runs the local preprocessing pipeline (local_processing.* settings) on the study\n"
	     "and keeps only its derived features in STUDYDIR/deid/ for upload.",
    .needs = NP_PROG_STUDY | NP_PROG_CONFIG,
    .min_args = 1,
    .max_args = 1,
};

int main(int argc, char **argv)
{
	struct np_prog p;
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, NULL, NULL);
	if (rc != NP_PROG_GO)
		return rc;
	rc = np_local_run(p.home, &p.cfg, p.dir, &err);
	np_prog_end(&p);
	if (rc == NP_LOCAL_OK) {
		np_info(p.npuid, "local processing completed");
		event(p.home, p.npuid, "local_processing_completed", "info", NULL);
		return 0;
	}
	np_log_err(p.npuid, &err);
	if (rc == NP_LOCAL_FAILED) {
		event(p.home, p.npuid, "local_processing_failed", "error", err.msg);
		return NP_EXIT_NO;
	}
	return np_err_exit_code(&err);
}
