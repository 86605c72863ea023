// SPDX-License-Identifier: Apache-2.0
// np-deliver: deliver a study's results to the configured destinations.
#include "np_deliver.h"
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct np_prog_opt opts[] = {
    {"dest", 'd', "N", "only destination N (0 the first of delivery.destinations)"},
    {"resend", 'r', NULL, "one new attempt to each destination not delivered yet (with --dest: to N again)"},
    {"failures", 'f', NULL, "failure reports of studies in failed/, and done/ destinations due to retry"},
    {"test", 't', "N|failure|group", "the Test Delivery button: destination N, a failure report or a group report"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-deliver",
    .synopsis = "[--home DIR] [--dest N] STUDYDIR     deliver what is missing\n"
		"[--home DIR] --resend STUDYDIR   one new attempt to each destination not\n"
		"                                 delivered yet\n"
		"[--home DIR] --resend --dest N STUDYDIR   send to destination N again\n"
		"[--home DIR] --failures     failure reports of studies in failed/, and\n"
		"                                 destinations of studies in done/ waiting to retry\n"
		"[--home DIR] --test N|failure|group     the Test Delivery button",
    .about = "exit: 0 finished: every destination sent, or failed for good (a permanent error, or\n"
	     "        temporary ones for retry.give_up_seconds): see deliveries.json\n"
	     "      100 permanent error of the study (no results, bad settings)\n"
	     "      111 a destination is waiting to retry (retry.*), or a temporary error: np-queue\n"
	     "          (results/) or np-deliver --failures (done/, every minute) runs it again",
    .opts = opts,
    .needs = NP_PROG_HOME,
    .max_args = 1,
};

struct deliver_args {
	const char *test;
	int dest, flags, failures;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct deliver_args *a = p->ctx;
	char *end;
	switch (key) {
	case NP_PROG_ARGS:
		return ((a->test || a->failures) ? p->argc || (a->test && a->failures) : p->argc != 1) ? NP_PROG_USAGE
												       : NP_PROG_GO;
	case 'd':
		a->dest = (int)strtol(arg, &end, 10);
		return end == arg || *end || a->dest < 0 ? NP_PROG_USAGE : NP_PROG_GO;
	case 'r':
		a->flags |= NP_DELIVER_RESEND;
		break;
	case 't':
		a->test = arg;
		break;
	case 'f':
		a->failures = 1;
		break;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct deliver_args a = {.dest = -1};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	if (a.test) {
		char msg[512] = "";
		if (np_deliver_test(p.home, a.test, msg, sizeof msg, &err) < 0)
			return np_prog_fail(NULL, &err);
		printf("%s\n", msg);
		return 0;
	}
	if (a.failures) {
		int n = 0;
		rc = np_deliver_failures(p.home, &n, &err);
		if (rc < 0)
			return np_prog_fail(NULL, &err);
		return rc ? NP_EXIT_TEMP : NP_EXIT_OK;
	}
	char dir[PATH_MAX];
	if (!realpath(p.argv[0], dir)) {
		np_error(NULL, "unable to find study folder %s", p.argv[0]);
		return NP_EXIT_PERM;
	}
	const char *npuid = strrchr(dir, '/') + 1;
	int failed = 0;
	rc = np_deliver_study(p.home, dir, a.dest, a.flags, &failed, &err);
	if (rc < 0)
		return np_prog_fail(npuid, &err);
	if (rc == 1)
		return NP_EXIT_TEMP;
	/* Failed destinations are a delivery state, not a processing failure:
	 * the study goes on to done/ and its report stays there for a manual
	 * resend (the events and deliveries.json tell the user). */
	if (failed)
		np_warn(npuid, "finished with failed destinations=%d", failed);
	return NP_EXIT_OK;
}
