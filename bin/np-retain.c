// SPDX-License-Identifier: Apache-2.0
// np-retain: apply the data retention policy (run daily by np-sched).
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_retain.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-retain [--home DIR] [--dry-run]\n"
		   "Purges orders (with their PHI), index records and log files older than the\n"
		   "retention periods in the settings (retention.*).\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {
	    {"home", required_argument, 0, 'H'}, {"dry-run", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'}, {0}};
	const char *home_opt = NULL;
	int dry = 0, c;
	while ((c = getopt_long(argc, argv, "H:nh", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'n')
			dry = 1;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	if (optind != argc)
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	struct np_db *db = np_index_open(home, &err);
	struct np_retain_counts n = {0};
	int rc = db ? np_retain_run(home, &cfg, db, dry, &n, &err) : -1;
	if (db)
		np_info(NULL, "%s studies=%d records=%lld logs=%d", dry ? "would purge" : "purged", n.studies, n.rows,
			n.logs);
	if (rc < 0)
		np_log_err(NULL, &err);
	np_db_close(db);
	np_config_free(&cfg);
	return rc < 0 ? np_err_exit_code(&err) : 0;
}
