// SPDX-License-Identifier: Apache-2.0
// np-deid: de-identify a folder of DICOM files (or a spool study) for upload.
#include "np_config.h"
#include "np_deid.h"
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	O_REMOVE = NP_PROG_LONG,
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
	O_END
};

static const struct np_prog_opt opts[] = {
    {"remove-dates", O_REMOVE, NULL, "remove every date/time"},
    {"shift-dates", O_SHIFT, NULL, "shift dates by an offset per study"},
    {"shift-range", O_RANGE, "DAYS", "offset range for --shift-dates (1-3650)"},
    {"mask-zip", O_MASK, NULL, "keep a masked ZIP code of the patient's address"},
    {"no-mask-zip", O_NOMASK, NULL, "remove the ZIP code"},
    {"keep-accession", O_ACC, NULL, "keep Accession Number"},
    {"remove-software-versions", O_SWV, NULL, "remove Software Versions"},
    {"no-cap-age", O_NOCAP, NULL, "keep ages over 89 as they are"},
    {"jobs", O_JOBS, "N", "parallel files (1-64, default: cores)"},
    {"key", O_KEY, "FILE", "secret for pseudonyms (default HOME/etc/secrets/deid.key)"},
    {"report", O_REPORT, "FILE", "per-tag record of what was done (no values)"},
    {"study", O_STUDY, "STUDYDIR", "de-identify STUDYDIR/dicom into STUDYDIR/deid"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-deid",
    .synopsis = "[options] IN OUT\n[options] --study STUDYDIR   STUDYDIR/dicom -> STUDYDIR/deid",
    .about = "De-identifies a folder of DICOM files for upload; the defaults of the options\n"
	     "come from the deid.* settings.",
    .opts = opts,
    .needs = NP_PROG_CONFIG,
    .max_args = 2,
};

struct deid_args {
	const char *key, *report, *study;
	int set[O_END - O_REMOVE], range, jobs;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct deid_args *a = p->ctx;
	char *end;
	switch (key) {
	case NP_PROG_ARGS:
		return (a->study && p->argc) || (!a->study && p->argc != 2) ? NP_PROG_USAGE : NP_PROG_GO;
	case O_RANGE:
		a->range = (int)strtol(arg, &end, 10);
		if (*end || a->range < 1 || a->range > 3650)
			return np_fatal(NULL, "bad --shift-range (1-3650 days)"), NP_EXIT_PERM;
		break;
	case O_JOBS:
		a->jobs = (int)strtol(arg, &end, 10);
		if (*end || a->jobs < 1 || a->jobs > 64)
			return np_fatal(NULL, "bad --jobs (1-64)"), NP_EXIT_PERM;
		break;
	case O_KEY:
		a->key = arg;
		break;
	case O_REPORT:
		a->report = arg;
		break;
	case O_STUDY:
		a->study = arg;
		break;
	}
	a->set[key - O_REMOVE] = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct deid_args a = {0};
	struct np_deid_opts o;
	struct np_err err = {0};
	char keyp[PATH_MAX];
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_deid_opts_init(&o);
	np_deid_opts_config(&o, &p.cfg);
	np_prog_end(&p);
	if (a.set[O_REMOVE - O_REMOVE])
		o.shift_dates = 0;
	if (a.set[O_SHIFT - O_REMOVE])
		o.shift_dates = 1;
	if (a.range)
		o.shift_range = a.range;
	if (a.set[O_MASK - O_REMOVE])
		o.mask_zip = 1;
	if (a.set[O_NOMASK - O_REMOVE])
		o.mask_zip = 0;
	if (a.set[O_ACC - O_REMOVE])
		o.keep_accession = 1;
	if (a.set[O_SWV - O_REMOVE])
		o.remove_swv = 1;
	if (a.set[O_NOCAP - O_REMOVE])
		o.cap_age = 0;
	if (a.jobs)
		o.jobs = a.jobs;
	const char *key = a.key;
	if (!key) {
		snprintf(keyp, sizeof keyp, "%s/etc/secrets/deid.key", p.home);
		key = keyp;
	}
	if (np_deid_key_load(&o, key, key == keyp, &err) < 0)
		return np_prog_fail(NULL, &err);
	if (a.study) {
		const char *b = strrchr(a.study, '/');
		b = b && b[1] ? b + 1 : a.study;
		o.id = b;
		rc = np_deid_study(a.study, &o, a.report, &err);
	} else {
		rc = np_deid_run(p.argv[0], p.argv[1], &o, a.report, NULL, NULL, &err);
	}
	return rc < 0 ? np_prog_fail(o.id, &err) : 0;
}
