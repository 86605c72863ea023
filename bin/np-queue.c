// SPDX-License-Identifier: Apache-2.0
// np-queue: the one generic runner. Claims each study of spool/FROM, runs
// CMD ARGS... STUDYDIR on it with a concurrency limit and moves it by the
// command's exit status. The loop is lib/pipeline/np_queue_run.c, the
// bookkeeping lib/spool/np_queue.c. See np-queue(1) and np-spool(7).
#include "np_log.h"
#include "np_prog.h"
#include "np_queue_list.h"
#include "np_queue_run.h"
#include "np_spool.h"

#include <stdlib.h>
#include <string.h>

static const struct np_prog_opt opts[] = {
    {"jobs", 'j', "N", "run at most N commands at once (1-64)"},
    {"once", 'o', NULL, "process the studies that are due, wait for them, exit"},
    {"max-attempts", 'm', "N", "also fail a study after N attempts (0: no limit)"},
    {"backoff-base", 'b', "S", "first retry delay in seconds, instead of retry.backoff_base_seconds"},
    {"backoff-cap", 'c', "S", "longest retry delay in seconds, instead of retry.backoff_cap_seconds"},
    {"give-up", 'g', "S", "the give-up window in seconds, instead of retry.give_up_seconds"},
    {"waiting", 'w', NULL, "print the studies waiting to retry after temporary failures"},
    {"poll", 'p', "S", "rescan interval without inotify events (default 5)"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-queue",
    .synopsis = "[--home DIR] [--jobs N] [--once] [--max-attempts N] [--backoff-base S]\n"
		"                [--backoff-cap S] [--give-up S] [--poll S] FROM TO FAIL -- CMD [ARG...]\n"
		"[--home DIR] --waiting     studies waiting to retry after temporary failures",
    .about = "Runs CMD on each study of spool/FROM and moves it to TO (exit 0) or FAIL (1 or 100),\n"
	     "or retries it later (111).",
    .opts = opts,
    .needs = NP_PROG_HOME | NP_PROG_IN_ORDER,
    .max_args = -1,
};

/* The options as parsed: the runner's, or --waiting. */
struct args {
	struct np_queue_opts o;
	int waiting;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct args *a = p->ctx;
	struct np_queue_opts *r = &a->o;
	switch (key) {
	case 'j':
		r->jobs = atoi(arg);
		break;
	case 'o':
		r->once = 1;
		break;
	case 'm':
		r->max_attempts = atoi(arg);
		break;
	case 'b':
		r->base = strtod(arg, NULL);
		break;
	case 'c':
		r->cap = strtod(arg, NULL);
		break;
	case 'g':
		r->give_up = strtod(arg, NULL);
		break;
	case 'w':
		a->waiting = 1;
		break;
	case 'p':
		r->poll = strtod(arg, NULL);
		break;
	case NP_PROG_ARGS:
		if (a->waiting)
			return p->argc ? NP_PROG_USAGE : NP_PROG_GO;
		if (p->argc < 5 || strcmp(p->argv[3], "--") || r->jobs < 1 || r->jobs > NP_QUEUE_MAX_JOBS ||
		    r->max_attempts < 0 || (r->give_up < 0 && r->give_up != -1) || r->poll <= 0)
			return NP_PROG_USAGE;
		r->from = p->argv[0];
		r->to = p->argv[1];
		r->fail = p->argv[2];
		r->cmd = p->argv + 4;
		const char *states[] = {r->from, r->to, r->fail};
		for (int i = 0; i < 3; i++)
			if (!np_spool_state_valid(states[i]) || !strcmp(states[i], "incoming")) {
				np_fatal(NULL, "%s is not a study state np-queue can use", states[i]);
				return NP_EXIT_PERM;
			}
		p->needs |= NP_PROG_SPOOL;
		break;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct args a = {.o = {.jobs = 1, .base = -1, .cap = -1, .give_up = -1, .poll = 5}};
	struct np_prog p;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	return a.waiting ? np_queue_print_waiting(p.home) : np_queue_run(p.home, &a.o);
}
