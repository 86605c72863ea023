// SPDX-License-Identifier: Apache-2.0
// np-report: build and deliver group reports (Prediction Indexes CSV).
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_groupreport.h"
#include "np_index.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct np_prog_opt opts[] = {
    {"save", 'o', "DIR", "write the report to DIR under the template's file name"},
    {"send", 's', NULL, "build the report and deliver it now (groups.delivery)"},
    {"test", 't', NULL, "Test Delivery with a sample report"},
    {"auto", 'a', NULL, "completion check; auto-send on completion"},
    {"scheduled", 'S', NULL, "send every group's report (the schedule)"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-report",
    .synopsis = "[--home DIR] GROUP              print the group's CSV report\n"
		"[--home DIR] --save DIR GROUP   write it to DIR under the template's name\n"
		"[--home DIR] --send GROUP       build it and deliver it (groups.delivery)\n"
		"[--home DIR] --test             Test Delivery with a sample report\n"
		"[--home DIR] --auto             completion check, auto-send on completion\n"
		"[--home DIR] --scheduled        send every group's report (schedule)",
    .opts = opts,
    .needs = NP_PROG_CONFIG,
    .max_args = 1,
};

struct report_args {
	const char *save;
	int mode;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct report_args *a = p->ctx;
	int want_group = a->mode == 0 || a->mode == 's';
	if (key == NP_PROG_ARGS)
		return p->argc != want_group || (a->save && a->mode) ? NP_PROG_USAGE : NP_PROG_GO;
	if (key == 'o')
		a->save = arg;
	else
		a->mode = key;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct report_args a = {0};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a), exit_code = 0;
	if (rc != NP_PROG_GO)
		return rc;
	const char *group = p.argc ? p.argv[0] : NULL, *home = p.home;
	const struct np_config *cfg = &p.cfg;
	if (a.mode == 't') {
		rc = np_groupreport_test(home, cfg, &err) < 0 ? np_prog_fail(NULL, &err) : 0;
		np_prog_end(&p);
		return rc;
	}
	if ((rc = np_prog_open(&p, NP_PROG_SPOOL | NP_PROG_INDEX)) != NP_PROG_GO) {
		np_prog_end(&p);
		return rc;
	}
	struct np_db *db = p.db;
	if (a.mode == 's') {
		rc = np_groupreport_send(home, db, cfg, group, "manual", &err);
	} else if (a.mode == 'a' || a.mode == 'S') {
		int failed = a.mode == 'a' ? np_groupreport_auto(home, db, cfg, &err)
					   : np_groupreport_scheduled(home, db, cfg, &err);
		if (failed > 0)
			exit_code = NP_EXIT_TEMP; /* retried by the next run */
		rc = failed < 0 ? -1 : 0;
	} else {
		char *csv = NULL;
		size_t len = 0;
		rc = np_groupreport_csv(home, db, cfg, group, &csv, &len, NULL, &err);
		if (rc == 0 && a.save) {
			char name[256], path[PATH_MAX];
			rc = np_groupreport_filename(cfg, group, (time_t)np_now(), name, sizeof name, &err);
			if (rc == 0)
				rc = np_path_join(path, sizeof path, a.save, name, &err);
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
		if (a.mode != 's') /* a failed send was logged with its group by the library */
			np_log_err(NULL, &err);
		exit_code = np_err_exit_code(&err);
	}
	np_prog_end(&p);
	return exit_code;
}
