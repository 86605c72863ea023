// SPDX-License-Identifier: Apache-2.0
// np-study: retry, cancel or delete one study from a shell (the same library
// calls as the Retry, Cancel and Delete buttons). See np-study(1).
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_study_ops.h"
#include "np_util.h"

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ask on the terminal; anything but "yes" keeps the study. */
static int confirm(const char *home, const char *npuid)
{
	char state[32] = "", line[16] = "";
	int claimed = 0;
	if (!isatty(0)) {
		fprintf(stderr, "np-study: not deleting without --yes (standard input is not a terminal)\n");
		return 0;
	}
	np_spool_find(home, npuid, state, sizeof state, &claimed, NULL);
	fprintf(stderr,
		"Delete study %s%s%s%s? Its images, results and patient data are removed for good.\n"
		"Type yes to delete: ",
		npuid, state[0] ? " (state " : "", state, state[0] ? ")" : "");
	if (!fgets(line, sizeof line, stdin))
		return 0;
	line[strcspn(line, "\r\n")] = 0;
	return !strcmp(line, "yes");
}

static const struct np_prog_opt opts[] = {
    {"wait", 'w', "S", "seconds a step at work on the study gets to let go (default 60)"},
    {"yes", 'y', NULL, "delete without asking"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-study",
    .synopsis = "[--home DIR] [--wait S] retry NPUID    a failed study goes back to where it failed\n"
		"[--home DIR] [--wait S] cancel NPUID   nothing more happens to the study\n"
		"[--home DIR] [--wait S] [--yes] delete NPUID   remove the study and its PHI",
    .about = "exit: 0 done (or left to the step at work on it: see the message), 1 refused or no such\n"
	     "      study, 100 permanent error, 111 temporary error (try again)",
    .opts = opts,
    .needs = NP_PROG_HOME,
    .min_args = 2,
    .max_args = 2,
};

typedef int study_fn(const char *, const char *, struct np_study_op *, struct np_err *);

struct study_args {
	study_fn *fn;
	double wait_s;
	int yes;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct study_args *a = p->ctx;
	char *end;
	if (key == 'y') {
		a->yes = 1;
	} else if (key == 'w') {
		a->wait_s = strtod(arg, &end);
		if (end == arg || *end || a->wait_s < 0)
			return NP_PROG_USAGE;
	} else if (key == NP_PROG_ARGS) {
		const char *cmd = p->argv[0];
		a->fn = !strcmp(cmd, "retry")	 ? np_study_retry
			: !strcmp(cmd, "cancel") ? np_study_cancel
			: !strcmp(cmd, "delete") ? np_study_delete
						 : NULL;
		if (!a->fn)
			return NP_PROG_USAGE;
		if (!np_uuid_valid(p->argv[1])) {
			fprintf(stderr, "np-study: %s is not a study id (expected a UUID)\n", p->argv[1]);
			return NP_EXIT_PERM;
		}
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct study_args a = {.wait_s = 60};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	const char *cmd = p.argv[0], *npuid = p.argv[1], *home = p.home;
	if (a.fn == np_study_delete && !a.yes && !confirm(home, npuid)) {
		fprintf(stderr, "np-study: study %s kept\n", npuid);
		return NP_EXIT_NO;
	}
	char by[160];
	struct passwd *pw = getpwuid(geteuid());
	snprintf(by, sizeof by, "cli:%s", pw ? pw->pw_name : "?");
	struct np_study_op op = {.actor = by, .wait_s = a.wait_s};
	rc = a.fn(home, npuid, &op, &err);
	struct np_db *db = np_index_open(home, NULL);
	char detail[80];
	snprintf(detail, sizeof detail, "state=%s", op.state[0] ? op.state : "-");
	const char *outcome = rc < 0				 ? "failure"
			      : op.status == NP_STUDY_OP_REFUSED ? "refused"
			      : op.status == NP_STUDY_OP_PENDING ? "pending"
			      : op.status == NP_STUDY_OP_DONE	 ? "success"
								 : NULL;
	if (outcome)
		np_study_ops_audit(db, by, cmd, npuid, detail, outcome);
	np_db_close(db);
	if (rc < 0) {
		np_log_err(npuid, &err);
		fprintf(stderr, "np-study: %s\n", err.msg);
		return np_err_exit_code(&err);
	}
	if (op.status == NP_STUDY_OP_REFUSED || op.status == NP_STUDY_OP_NOT_FOUND) {
		fprintf(stderr, "np-study: %s\n", op.msg);
		return NP_EXIT_NO;
	}
	printf("%s%s\n", op.status == NP_STUDY_OP_PENDING ? "pending: " : "", op.msg);
	return NP_EXIT_OK;
}
