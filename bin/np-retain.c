// SPDX-License-Identifier: Apache-2.0
// np-retain: apply the data retention policy (run daily by np-sched).
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_retain.h"

#include <stdio.h>

static const struct np_prog_opt opts[] = {
    {"dry-run", 'n', NULL, "count what would be purged, purge nothing"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-retain",
    .synopsis = "[--home DIR] [--dry-run]",
    .about = "Purges orders (with their PHI), index records and log files older than the\n"
	     "retention periods in the settings (retention.*).",
    .opts = opts,
    .needs = NP_PROG_CONFIG | NP_PROG_INDEX,
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	if (key == 'n')
		*(int *)p->ctx = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct np_err err = {0};
	struct np_retain_counts n = {0};
	int dry = 0, rc = np_prog_start(argc, argv, &spec, &p, on_opt, &dry);
	if (rc != NP_PROG_GO)
		return rc;
	rc = np_retain_run(p.home, &p.cfg, p.db, dry, &n, &err);
	np_info(NULL, "%s studies=%d records=%lld logs=%d", dry ? "would purge" : "purged", n.studies, n.rows, n.logs);
	np_prog_end(&p);
	return rc < 0 ? np_prog_fail(NULL, &err) : 0;
}
