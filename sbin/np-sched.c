// SPDX-License-Identifier: Apache-2.0
// np-sched: run the agent's one-shot jobs on the cron expressions of the
// settings (see np-sched(8)); the scheduler is lib/pipeline/np_sched.c.
#include "np_prog.h"
#include "np_sched.h"

static const struct np_prog_opt opts[] = {
    {"once", 'o', NULL, "run the jobs that are due (or were missed), wait for them, exit"},
    {"list", 'l', NULL, "print the jobs, their schedules and next runs"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-sched",
    .synopsis = "[--home DIR] [--once | --list]",
    .about = "Runs the agent's periodic jobs on their schedules (scheduler.* and the jobs' own settings).",
    .opts = opts,
    .needs = NP_PROG_SPOOL | NP_PROG_INDEX,
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	int *mode = p->ctx;
	if (key != NP_PROG_ARGS && *mode && *mode != key)
		return NP_PROG_USAGE;
	if (key != NP_PROG_ARGS)
		*mode = key;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	int mode = 0;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &mode);
	if (rc != NP_PROG_GO)
		return rc;
	rc = np_sched_run(p.home, p.db, mode == 'o' ? NP_SCHED_ONCE : mode == 'l' ? NP_SCHED_LIST : NP_SCHED_DAEMON);
	np_prog_end(&p);
	return rc;
}
