// SPDX-License-Identifier: Apache-2.0
// np-atna: send the audit trail to an IHE ATNA audit record repository
// (syslog over TLS or UDP) while atna.enabled, following the index's audit
// and events tables (lib/pipeline/np_atna_follow.c says how nothing is lost).
// The work is lib/pipeline/np_atna_run.c.
#include "np_atna_run.h"
#include "np_prog.h"

/* The option keys are the modes, after NP_PROG_LONG. */
enum {
	O_ONCE = NP_PROG_LONG + NP_ATNA_ONCE,
	O_PRINT = NP_PROG_LONG + NP_ATNA_PRINT,
	O_TEST = NP_PROG_LONG + NP_ATNA_TEST,
	O_SKIP = NP_PROG_LONG + NP_ATNA_SKIP_BACKLOG
};

static const struct np_prog_opt opts[] = {
    {"once", O_ONCE, NULL, "send what waits, then exit (111 when the repository is unreachable)"},
    {"print", O_PRINT, NULL, "write every message the index gives, one XML document a line; sends nothing"},
    {"test", O_TEST, NULL, "send one test message with the saved settings and say what happened"},
    {"skip-backlog", O_SKIP, NULL, "mark every record so far as sent"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-atna",
    .synopsis = "[--home DIR] [--once | --print | --test | --skip-backlog]",
    .about = "Without an option: follows the audit trail and sends it while atna.enabled (the service).",
    .opts = opts,
    .needs = NP_PROG_INDEX,
};

/* One mode at most. */
static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	int *mode = p->ctx;
	if (key == NP_PROG_ARGS)
		return NP_PROG_GO;
	if (*mode)
		return NP_PROG_USAGE;
	*mode = key;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	int mode = 0, rc = np_prog_start(argc, argv, &spec, &p, on_opt, &mode);
	if (rc != NP_PROG_GO)
		return rc;
	rc = np_atna_run(&p, mode ? (enum np_atna_mode)(mode - NP_PROG_LONG) : NP_ATNA_SERVICE);
	np_prog_end(&p);
	return rc;
}
