// SPDX-License-Identifier: Apache-2.0
// np-metrics: one snapshot of the agent's operational metrics, stored in the
// index for the UI and /metrics, with threshold alerts. Run by np-sched.
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_metrics.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-metrics [--home DIR] [--json] [--no-store] [--no-alerts]\n"
		   "  --json       print the snapshot as JSON on stdout\n"
		   "  --no-store   do not write the snapshot to the index\n"
		   "  --no-alerts  do not evaluate the alert thresholds\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'}, {"json", no_argument, 0, 'j'},
					     {"no-store", no_argument, 0, 's'},	  {"no-alerts", no_argument, 0, 'a'},
					     {"help", no_argument, 0, 'h'},	  {0}};
	const char *home_opt = NULL;
	int json = 0, store = 1, alerts = 1, c;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			store = 0;
			break;
		case 'a':
			alerts = 0;
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
	struct np_db *db = NULL;
	json_t *snap = NULL;
	int raised = 0;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0)
		goto fail;
	if (np_spool_init(home, &err) < 0 || !(db = np_index_open(home, &err)))
		goto fail_cfg;
	if (!(snap = np_metrics_collect(home, &cfg, db, &err)))
		goto fail_cfg;
	if (store && np_metrics_store(db, snap, &err) < 0)
		goto fail_cfg;
	if (alerts && (raised = np_metrics_alerts(db, &cfg, snap, &err)) < 0)
		goto fail_cfg;
	if (json) {
		json_dumpf(snap, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	}
	np_info(NULL, "metrics collected alerts=%d", raised);
	json_decref(snap);
	np_db_close(db);
	np_config_free(&cfg);
	return 0;
fail_cfg:
	json_decref(snap);
	np_db_close(db);
	np_config_free(&cfg);
fail:
	np_log_err(NULL, &err);
	return np_err_exit_code(&err);
}
