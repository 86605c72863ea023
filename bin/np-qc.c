// SPDX-License-Identifier: Apache-2.0
// np-qc: quality control of one study folder; writes qc.json.
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_qc.h"

#include <stdio.h>

static const struct np_prog_opt opts[] = {
    {"bypass", 'b', NULL, "record a bypass of the study's failed checks (QC passes)"},
    {"by", 'w', "WHO", "the administrator recorded with a bypass (default admin)"},
    {"quiet", 'q', NULL, "print no line per check"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-qc",
    .synopsis = "[--home DIR] [--quiet] STUDYDIR\n[--home DIR] --bypass [--by WHO] STUDYDIR",
    .about = "exit 0 when every check passes (warnings and bypassed checks pass), 1 when one fails",
    .opts = opts,
    .needs = NP_PROG_CONFIG,
    .min_args = 1,
    .max_args = 1,
};

struct qc_opts {
	const char *who;
	int bypass, quiet;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct qc_opts *o = p->ctx;
	if (key == 'b')
		o->bypass = 1;
	else if (key == 'w')
		o->who = arg;
	else if (key == 'q')
		o->quiet = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct qc_opts o = {.who = "admin"};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &o);
	if (rc != NP_PROG_GO)
		return rc;
	const char *dir = p.argv[0];
	if (o.bypass) {
		rc = np_qc_bypass_dir(p.home, dir, o.who, &err) < 0 ? np_prog_fail(NULL, &err) : 0;
	} else {
		json_t *report = NULL;
		int r = np_qc_run(p.home, &p.cfg, dir, &report, &err);
		if (r < 0) {
			rc = np_prog_fail(NULL, &err);
		} else {
			rc = r ? NP_EXIT_NO : 0;
			size_t i;
			json_t *ch;
			if (!o.quiet)
				json_array_foreach (json_object_get(report, "checks"), i, ch)
					printf("%-8s %-20s %s\n", json_string_value(json_object_get(ch, "status")),
					       json_string_value(json_object_get(ch, "id")),
					       json_string_value(json_object_get(ch, "details")));
		}
		json_decref(report);
	}
	np_prog_end(&p);
	return rc;
}
