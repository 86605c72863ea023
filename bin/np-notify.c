// SPDX-License-Identifier: Apache-2.0
// np-notify: send event notifications by e-mail or webhook.
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_notify.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-notify [--home DIR] EVENT [--study NPUID] [--detail TEXT] [--level LEVEL]\n"
		   "       np-notify [--home DIR] --pending     send recorded events not yet notified\n"
		   "       np-notify [--home DIR] --test        the Test Notification button\n"
		   "exit: 0 sent (or the event is disabled), 100 permanent error, 111 retry later\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {
	    {"home", required_argument, 0, 'H'},   {"study", required_argument, 0, 's'},
	    {"detail", required_argument, 0, 'd'}, {"level", required_argument, 0, 'l'},
	    {"pending", no_argument, 0, 'p'},	   {"test", no_argument, 0, 't'},
	    {"help", no_argument, 0, 'h'},	   {0}};
	const char *home_opt = NULL, *npuid = NULL, *detail = NULL, *level = "info";
	int pending = 0, test = 0, c;
	while ((c = getopt_long(argc, argv, "H:s:d:l:pth", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 's':
			npuid = optarg;
			break;
		case 'd':
			detail = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 'p':
			pending = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), NP_EXIT_PERM;
		}
	}
	if ((pending || test) ? optind != argc || (pending && test) : optind + 1 != argc)
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (pending) {
		int sent = 0, failed = 0;
		if (np_notify_pending(home, &sent, &failed, &err) < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		return failed ? NP_EXIT_TEMP : NP_EXIT_OK;
	}
	if (test) {
		char msg[256] = "";
		if (np_notify_test(home, msg, sizeof msg, &err) < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		printf("%s\n", msg);
		return 0;
	}
	const char *type = argv[optind];
	if (!np_notify_event_known(type)) {
		np_error(npuid, "unknown event %s", type);
		return NP_EXIT_PERM;
	}
	struct np_config cfg;
	if (np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	struct np_db *db = npuid ? np_index_open(home, NULL) : NULL;
	struct np_notify_event ev = {type, npuid, level, detail, NULL};
	int rc = np_notify_send(&cfg, db, &ev, 0, 3, &err);
	np_db_close(db);
	np_config_free(&cfg);
	if (rc < 0) {
		np_log_err(npuid, &err);
		return np_err_exit_code(&err);
	}
	if (rc == 0)
		np_info(npuid, "notified event=%s", type);
	return 0;
}
