// SPDX-License-Identifier: Apache-2.0
// np-report: build and deliver group reports (Prediction Indexes CSV).
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_groupreport.h"
#include "np_spool.h"
#include "np_util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-report [--home DIR] GROUP              print the group's CSV report\n"
		   "       np-report [--home DIR] --save DIR GROUP   write it to DIR under the template's name\n"
		   "       np-report [--home DIR] --send GROUP       build it and deliver it (groups.delivery)\n"
		   "       np-report [--home DIR] --test             Test Delivery with a sample report\n"
		   "       np-report [--home DIR] --auto             completion check, auto-send on completion\n"
		   "       np-report [--home DIR] --scheduled        send every group's report (schedule)\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'}, {"save", required_argument, 0, 'o'},
					     {"send", no_argument, 0, 's'},	  {"test", no_argument, 0, 't'},
					     {"auto", no_argument, 0, 'a'},	  {"scheduled", no_argument, 0, 'S'},
					     {"help", no_argument, 0, 'h'},	  {0}};
	const char *home_opt = NULL, *save = NULL;
	int mode = 0, c;
	while ((c = getopt_long(argc, argv, "H:o:stah", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'o')
			save = optarg;
		else if (c == 's' || c == 't' || c == 'a' || c == 'S')
			mode = c;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	int want_group = mode == 0 || mode == 's';
	if ((want_group && optind + 1 != argc) || (!want_group && optind != argc) || (save && mode))
		return usage(stderr), NP_EXIT_PERM;
	const char *group = want_group ? argv[optind] : NULL;
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (mode == 't') {
		int rc = np_groupreport_test(home, &cfg, &err);
		if (rc < 0)
			np_log_err(NULL, &err);
		np_config_free(&cfg);
		return rc < 0 ? np_err_exit_code(&err) : 0;
	}
	struct np_db *db = NULL;
	if (np_spool_init(home, &err) < 0 || !(db = np_index_open(home, &err))) {
		np_log_err(NULL, &err);
		np_config_free(&cfg);
		return np_err_exit_code(&err);
	}
	int rc = 0, exit_code = 0;
	if (mode == 's') {
		rc = np_groupreport_send(home, db, &cfg, group, "manual", &err);
	} else if (mode == 'a' || mode == 'S') {
		int failed = mode == 'a' ? np_groupreport_auto(home, db, &cfg, &err)
					 : np_groupreport_scheduled(home, db, &cfg, &err);
		if (failed > 0)
			exit_code = NP_EXIT_TEMP; /* retried by the next run */
		rc = failed < 0 ? -1 : 0;
	} else {
		char *csv = NULL;
		size_t len = 0;
		rc = np_groupreport_csv(home, db, &cfg, group, &csv, &len, NULL, &err);
		if (rc == 0 && save) {
			char name[256], path[PATH_MAX];
			rc = np_groupreport_filename(&cfg, group, (time_t)np_now(), name, sizeof name, &err);
			if (rc == 0)
				rc = np_path_join(path, sizeof path, save, name, &err);
			if (rc == 0)
				rc = np_write_atomic(path, csv, len, 0640, &err);
			if (rc == 0)
				printf("%s\n", path);
		} else if (rc == 0 && fwrite(csv, 1, len, stdout) != len) {
			rc = np_err_sys(&err, EIO, "unable to write the report");
		}
		free(csv);
	}
	if (rc < 0) {
		if (mode != 's') /* a failed send was logged with its group by the library */
			np_log_err(NULL, &err);
		exit_code = np_err_exit_code(&err);
	}
	np_db_close(db);
	np_config_free(&cfg);
	return exit_code;
}
