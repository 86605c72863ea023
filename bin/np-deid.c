// SPDX-License-Identifier: Apache-2.0
// np-deid: de-identify a folder of DICOM files (or a spool study) for upload.
#include "np_config.h"
#include "np_deid.h"
#include "np_err.h"
#include "np_log.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-deid [options] IN OUT\n"
		   "       np-deid [options] --study STUDYDIR   STUDYDIR/dicom -> STUDYDIR/deid\n"
		   "options (defaults from the deid.* settings):\n"
		   "  --remove-dates | --shift-dates   remove every date/time, or shift dates per study\n"
		   "  --shift-range DAYS               offset range for --shift-dates\n"
		   "  --mask-zip | --no-mask-zip       keep a masked ZIP code of the patient's address\n"
		   "  --keep-accession                 keep Accession Number\n"
		   "  --remove-software-versions       remove Software Versions\n"
		   "  --no-cap-age                     keep ages over 89 as they are\n"
		   "  --jobs N                         parallel files (default: cores)\n"
		   "  --key FILE                       secret for pseudonyms (default HOME/etc/secrets/deid.key)\n"
		   "  --report FILE                    per-tag record of what was done (no values)\n"
		   "  --home DIR                       agent home (else $NP_HOME, else ./var)\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	enum {
		O_REMOVE = 256,
		O_SHIFT,
		O_RANGE,
		O_MASK,
		O_NOMASK,
		O_ACC,
		O_SWV,
		O_NOCAP,
		O_JOBS,
		O_KEY,
		O_REPORT,
		O_STUDY,
		O_HOME
	};
	static const struct option opts[] = {
	    {"remove-dates", no_argument, 0, O_REMOVE},
	    {"shift-dates", no_argument, 0, O_SHIFT},
	    {"shift-range", required_argument, 0, O_RANGE},
	    {"mask-zip", no_argument, 0, O_MASK},
	    {"no-mask-zip", no_argument, 0, O_NOMASK},
	    {"keep-accession", no_argument, 0, O_ACC},
	    {"remove-software-versions", no_argument, 0, O_SWV},
	    {"no-cap-age", no_argument, 0, O_NOCAP},
	    {"jobs", required_argument, 0, O_JOBS},
	    {"key", required_argument, 0, O_KEY},
	    {"report", required_argument, 0, O_REPORT},
	    {"study", required_argument, 0, O_STUDY},
	    {"home", required_argument, 0, O_HOME},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	struct np_err err = {0};
	struct np_deid_opts o;
	struct np_config cfg;
	char home[PATH_MAX], keyp[PATH_MAX];
	const char *home_opt = NULL, *key = NULL, *report = NULL, *study = NULL;
	int set[O_HOME + 1] = {0}, range = 0, jobs = 0, c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'h':
			return usage(stdout), 0;
		case O_RANGE:
			range = (int)strtol(optarg, &end, 10);
			if (*end || range < 1 || range > 3650)
				return np_fatal(NULL, "bad --shift-range (1-3650 days)"), NP_EXIT_PERM;
			break;
		case O_JOBS:
			jobs = (int)strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > 64)
				return np_fatal(NULL, "bad --jobs (1-64)"), NP_EXIT_PERM;
			break;
		case O_KEY:
			key = optarg;
			break;
		case O_REPORT:
			report = optarg;
			break;
		case O_STUDY:
			study = optarg;
			break;
		case O_HOME:
			home_opt = optarg;
			break;
		case '?':
			return usage(stderr), NP_EXIT_PERM;
		default:
			break;
		}
		if (c >= O_REMOVE && c <= O_HOME)
			set[c] = 1;
	}
	if ((study && optind != argc) || (!study && argc - optind != 2))
		return usage(stderr), NP_EXIT_PERM;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	np_deid_opts_init(&o);
	np_deid_opts_config(&o, &cfg);
	np_config_free(&cfg);
	if (set[O_REMOVE])
		o.shift_dates = 0;
	if (set[O_SHIFT])
		o.shift_dates = 1;
	if (range)
		o.shift_range = range;
	if (set[O_MASK])
		o.mask_zip = 1;
	if (set[O_NOMASK])
		o.mask_zip = 0;
	if (set[O_ACC])
		o.keep_accession = 1;
	if (set[O_SWV])
		o.remove_swv = 1;
	if (set[O_NOCAP])
		o.cap_age = 0;
	if (jobs)
		o.jobs = jobs;
	if (!key) {
		snprintf(keyp, sizeof keyp, "%s/etc/secrets/deid.key", home);
		key = keyp;
	}
	if (np_deid_key_load(&o, key, key == keyp, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	int rc;
	if (study) {
		const char *b = strrchr(study, '/');
		b = b && b[1] ? b + 1 : study;
		o.id = b;
		rc = np_deid_study(study, &o, report, &err);
	} else {
		rc = np_deid_run(argv[optind], argv[optind + 1], &o, report, NULL, NULL, &err);
	}
	if (rc < 0) {
		np_log_err(o.id, &err);
		return np_err_exit_code(&err);
	}
	return 0;
}
