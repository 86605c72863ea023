// SPDX-License-Identifier: Apache-2.0
// np-metrics: one snapshot of the agent's operational metrics, stored in the
// index for the UI and /metrics, with threshold alerts. Run by np-sched.
#include "np_err.h"
#include "np_log.h"
#include "np_metrics.h"
#include "np_prog.h"

#include <stdio.h>

enum { O_JSON = NP_PROG_LONG, O_NO_STORE, O_NO_ALERTS };

static const struct np_prog_opt opts[] = {
    {"json", O_JSON, NULL, "print the snapshot as JSON on stdout"},
    {"no-store", O_NO_STORE, NULL, "do not write the snapshot to the index"},
    {"no-alerts", O_NO_ALERTS, NULL, "do not evaluate the alert thresholds"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-metrics",
    .synopsis = "[--home DIR] [--json] [--no-store] [--no-alerts]",
    .about = "Takes one snapshot of the agent's metrics, stores it in the index and raises threshold alerts.",
    .opts = opts,
    .needs = NP_PROG_SPOOL | NP_PROG_CONFIG | NP_PROG_INDEX,
};

struct metrics_opts {
	int json, store, alerts;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	struct metrics_opts *o = p->ctx;
	if (key == O_JSON)
		o->json = 1;
	else if (key == O_NO_STORE)
		o->store = 0;
	else if (key == O_NO_ALERTS)
		o->alerts = 0;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct metrics_opts o = {.store = 1, .alerts = 1};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &o), raised = 0;
	if (rc != NP_PROG_GO)
		return rc;
	json_t *snap = np_metrics_collect(p.home, &p.cfg, p.db, &err);
	if (!snap || (o.store && np_metrics_store(p.db, snap, &err) < 0) ||
	    (o.alerts && (raised = np_metrics_alerts(p.db, &p.cfg, snap, &err)) < 0)) {
		rc = np_prog_fail(NULL, &err);
	} else {
		if (o.json) {
			json_dumpf(snap, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			putchar('\n');
		}
		np_info(NULL, "metrics collected alerts=%d", raised);
		rc = 0;
	}
	json_decref(snap);
	np_prog_end(&p);
	return rc;
}
