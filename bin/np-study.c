// SPDX-License-Identifier: Apache-2.0
// np-study: retry, cancel or delete one study from a shell (the same library
// calls as the Retry, Cancel and Delete buttons). See np-study(1).
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_study_ops.h"
#include "np_util.h"

#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: np-study [--home DIR] [--wait S] retry NPUID    a failed study goes back to where it failed\n"
		"       np-study [--home DIR] [--wait S] cancel NPUID   nothing more happens to the study\n"
		"       np-study [--home DIR] [--wait S] [--yes] delete NPUID   remove the study and its PHI\n"
		"exit: 0 done (or left to the step at work on it: see the message), 1 refused or no such\n"
		"      study, 100 permanent error, 111 temporary error (try again)\n");
}

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

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"yes", no_argument, 0, 'y'},
					     {"wait", required_argument, 0, 'w'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL;
	int yes = 0, c;
	double wait_s = 60;
	while ((c = getopt_long(argc, argv, "H:yw:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'y':
			yes = 1;
			break;
		case 'w':
			wait_s = strtod(optarg, &end);
			if (end == optarg || *end || wait_s < 0)
				return usage(stderr), NP_EXIT_PERM;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), NP_EXIT_PERM;
		}
	}
	if (optind + 2 != argc)
		return usage(stderr), NP_EXIT_PERM;
	const char *cmd = argv[optind], *npuid = argv[optind + 1];
	int (*fn)(const char *, const char *, struct np_study_op *, struct np_err *) =
	    !strcmp(cmd, "retry")    ? np_study_retry
	    : !strcmp(cmd, "cancel") ? np_study_cancel
	    : !strcmp(cmd, "delete") ? np_study_delete
				     : NULL;
	if (!fn)
		return usage(stderr), NP_EXIT_PERM;
	if (!np_uuid_valid(npuid)) {
		fprintf(stderr, "np-study: %s is not a study id (expected a UUID)\n", npuid);
		return NP_EXIT_PERM;
	}
	struct np_err err = {0};
	char home[PATH_MAX];
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (fn == np_study_delete && !yes && !confirm(home, npuid)) {
		fprintf(stderr, "np-study: study %s kept\n", npuid);
		return NP_EXIT_NO;
	}
	char by[160];
	struct passwd *pw = getpwuid(geteuid());
	snprintf(by, sizeof by, "cli:%s", pw ? pw->pw_name : "?");
	struct np_study_op op = {.actor = by, .wait_s = wait_s};
	int rc = fn(home, npuid, &op, &err);
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
