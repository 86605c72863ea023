// SPDX-License-Identifier: Apache-2.0
// np-deliver: deliver a study's results to the configured destinations.
#include "np_deliver.h"
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
	fprintf(f, "usage: np-deliver [--home DIR] [--dest N] STUDYDIR     deliver what is missing\n"
		   "       np-deliver [--home DIR] --resend STUDYDIR   one new attempt to each destination not\n"
		   "                                  delivered yet\n"
		   "       np-deliver [--home DIR] --resend --dest N STUDYDIR   send to destination N again\n"
		   "       np-deliver [--home DIR] --failures     failure reports of studies in failed/, and\n"
		   "                                  destinations of studies in done/ waiting to retry\n"
		   "       np-deliver [--home DIR] --test N|failure|group     the Test Delivery button\n"
		   "exit: 0 finished: every destination sent, or failed for good (a permanent error, or\n"
		   "        temporary ones for retry.give_up_seconds): see deliveries.json\n"
		   "      100 permanent error of the study (no results, bad settings)\n"
		   "      111 a destination is waiting to retry (retry.*), or a temporary error: np-queue\n"
		   "          (results/) or np-deliver --failures (done/, every minute) runs it again\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"dest", required_argument, 0, 'd'},
					     {"resend", no_argument, 0, 'r'},
					     {"failures", no_argument, 0, 'f'},
					     {"test", required_argument, 0, 't'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL, *test = NULL;
	int dest = -1, flags = 0, failures = 0, c;
	while ((c = getopt_long(argc, argv, "H:d:rft:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'd':
			dest = (int)strtol(optarg, &end, 10);
			if (end == optarg || *end || dest < 0)
				return usage(stderr), NP_EXIT_PERM;
			break;
		case 'r':
			flags |= NP_DELIVER_RESEND;
			break;
		case 't':
			test = optarg;
			break;
		case 'f':
			failures = 1;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), NP_EXIT_PERM;
		}
	}
	if ((test || failures) ? optind != argc || (test && failures) : optind + 1 != argc)
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (test) {
		char msg[512] = "";
		if (np_deliver_test(home, test, msg, sizeof msg, &err) < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		printf("%s\n", msg);
		return 0;
	}
	if (failures) {
		int n = 0, rc = np_deliver_failures(home, &n, &err);
		if (rc < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		return rc ? NP_EXIT_TEMP : NP_EXIT_OK;
	}
	char dir[PATH_MAX];
	if (!realpath(argv[optind], dir)) {
		np_error(NULL, "unable to find study folder %s", argv[optind]);
		return NP_EXIT_PERM;
	}
	const char *npuid = strrchr(dir, '/') + 1;
	int failed = 0;
	int rc = np_deliver_study(home, dir, dest, flags, &failed, &err);
	if (rc < 0) {
		np_log_err(npuid, &err);
		return np_err_exit_code(&err);
	}
	if (rc == 1)
		return NP_EXIT_TEMP;
	/* Failed destinations are a delivery state, not a processing failure:
	 * the study goes on to done/ and its report stays there for a manual
	 * resend (the events and deliveries.json tell the user). */
	if (failed)
		np_warn(npuid, "finished with failed destinations=%d", failed);
	return NP_EXIT_OK;
}
