// SPDX-License-Identifier: Apache-2.0
// np-heartbeat: the periodic heartbeat to the Neuropacs cloud (v2), carrying
// only what the heartbeat settings allow and never anything about patients.
#include "np_cloud.h"
#include "np_config.h"
#include "np_err.h"
#include "np_log.h"
#include "np_metrics.h"
#include "np_prog.h"

#include <stdio.h>

/* The body: agent identity always; metrics, order counts and health only
 * when their setting is on. Queue counts are numbers per state, no ids. */
static json_t *body_of(const struct np_config *cfg, json_t *snap)
{
	json_t *b = json_pack("{s:O, s:O, s:O, s:O}", "agent_id", json_object_get(snap, "agent_id"), "version",
			      json_object_get(snap, "version"), "runtime", json_object_get(snap, "runtime"), "ts",
			      json_object_get(snap, "ts"));
	if (np_config_bool(cfg, "telemetry.include_system_metrics"))
		json_object_set(b, "system", json_object_get(snap, "system"));
	if (np_config_bool(cfg, "telemetry.include_order_stats"))
		json_object_set(b, "orders", json_object_get(snap, "queues"));
	if (np_config_bool(cfg, "telemetry.include_health")) {
		json_t *svc = json_object_get(snap, "services");
		const char *k;
		json_t *v;
		int up = 0, all = 0;
		json_object_foreach (svc, k, v) {
			all++;
			up += json_is_true(json_object_get(v, "up"));
		}
		json_object_set_new(b, "health",
				    json_pack("{s:s, s:s, s:i, s:i}", "application", up == all ? "ok" : "degraded",
					      "database", "ok", "services_up", up, "services", all));
	}
	return b;
}

/* --print, the only option of its own. */
static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	if (key != NP_PROG_ARGS)
		*(int *)p->ctx = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	static const struct np_prog_opt opts[] = {{"print", NP_PROG_LONG, NULL, "print the body, send nothing"}, {0}};
	static const struct np_prog_spec spec = {
	    .name = "np-heartbeat",
	    .synopsis = "[--home DIR] [--print]",
	    .about = "Sends one heartbeat (cloud protocol v2) with the parts enabled in the\n"
		     "telemetry.* settings; --print shows the body instead of sending it.",
	    .opts = opts,
	    .needs = NP_PROG_CONFIG,
	};
	struct np_prog p;
	int print = 0;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &print);
	if (rc != NP_PROG_GO)
		return rc;
	struct np_cloud *cl = NULL;
	json_t *snap = NULL, *body = NULL;
	struct np_err err = {0};
	rc = 0;
	if (!np_config_bool(&p.cfg, "telemetry.heartbeat_enabled")) {
		np_info(NULL, "heartbeat disabled in the settings");
		goto out;
	}
	if (!print && !np_cloud_configured(&p.cfg)) {
		np_info(NULL, "cloud not configured: no heartbeat sent");
		goto out;
	}
	if ((rc = np_prog_open(&p, NP_PROG_INDEX)) != NP_PROG_GO)
		goto out;
	rc = 0;
	if (!(snap = np_metrics_collect(p.home, &p.cfg, p.db, &err)))
		goto fail;
	body = body_of(&p.cfg, snap);
	if (print) {
		json_dumpf(body, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		goto out;
	}
	if (!(cl = np_cloud_open(&p.cfg, &err)))
		goto fail;
	int r = np_cloud_heartbeat(cl, body, &err);
	if (r < 0)
		goto fail;
	np_info(NULL, r == 1 ? "protocol v1 has no heartbeat: nothing sent" : "heartbeat sent");
	goto out;
fail:
	rc = np_prog_fail(NULL, &err);
out:
	np_cloud_close(cl);
	json_decref(body);
	json_decref(snap);
	np_prog_end(&p);
	return rc;
}
