// SPDX-License-Identifier: Apache-2.0
// np-qc: quality control of one study folder; writes qc.json.
#include "np_config.h"
#include "np_err.h"
#include "np_log.h"
#include "np_qc.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-qc [--home DIR] [--quiet] STUDYDIR\n"
		   "       np-qc [--home DIR] --bypass [--by WHO] STUDYDIR\n"
		   "exit 0 when every check passes (warnings and bypassed checks pass), 1 when one fails\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'}, {"bypass", no_argument, 0, 'b'},
					     {"by", required_argument, 0, 'w'},	  {"quiet", no_argument, 0, 'q'},
					     {"help", no_argument, 0, 'h'},	  {0}};
	const char *home_opt = NULL, *who = "admin";
	int bypass = 0, quiet = 0, c;
	while ((c = getopt_long(argc, argv, "H:bw:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'b':
			bypass = 1;
			break;
		case 'w':
			who = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return NP_EXIT_PERM;
		}
	}
	if (optind + 1 != argc)
		return usage(stderr), NP_EXIT_PERM;
	const char *dir = argv[optind];
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	int rc;
	if (bypass) {
		rc = np_qc_bypass_dir(home, dir, who, &err) < 0 ? np_err_exit_code(&err) : 0;
		if (rc)
			np_log_err(NULL, &err);
	} else {
		json_t *report = NULL;
		int r = np_qc_run(home, &cfg, dir, &report, &err);
		if (r < 0) {
			np_log_err(NULL, &err);
			rc = np_err_exit_code(&err);
		} else {
			rc = r ? NP_EXIT_NO : 0;
			size_t i;
			json_t *ch;
			if (!quiet)
				json_array_foreach (json_object_get(report, "checks"), i, ch)
					printf("%-8s %-20s %s\n", json_string_value(json_object_get(ch, "status")),
					       json_string_value(json_object_get(ch, "id")),
					       json_string_value(json_object_get(ch, "details")));
		}
		json_decref(report);
	}
	np_config_free(&cfg);
	return rc;
}
