// SPDX-License-Identifier: Apache-2.0
// np-heartbeat: the periodic heartbeat to the Neuropacs cloud (v2), carrying
// only what the heartbeat settings allow and never anything about patients.
#include "np_cloud.h"
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_metrics.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-heartbeat [--home DIR] [--print]\n"
		   "Sends one heartbeat (cloud protocol v2) with the parts enabled in the\n"
		   "telemetry.* settings; --print shows the body instead of sending it.\n");
}

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

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {
	    {"home", required_argument, 0, 'H'}, {"print", no_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0}};
	const char *home_opt = NULL;
	int print = 0, c;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'p')
			print = 1;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	int rc = 0;
	struct np_db *db = NULL;
	struct np_cloud *cl = NULL;
	json_t *snap = NULL, *body = NULL;
	if (!np_config_bool(&cfg, "telemetry.heartbeat_enabled")) {
		np_info(NULL, "heartbeat disabled in the settings");
		goto out;
	}
	if (!print && !np_cloud_configured(&cfg)) {
		np_info(NULL, "cloud not configured: no heartbeat sent");
		goto out;
	}
	if (!(db = np_index_open(home, &err)) || !(snap = np_metrics_collect(home, &cfg, db, &err)))
		goto fail;
	body = body_of(&cfg, snap);
	if (print) {
		json_dumpf(body, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		goto out;
	}
	if (!(cl = np_cloud_open(&cfg, &err)))
		goto fail;
	int r = np_cloud_heartbeat(cl, body, &err);
	if (r < 0)
		goto fail;
	np_info(NULL, r == 1 ? "protocol v1 has no heartbeat: nothing sent" : "heartbeat sent");
	goto out;
fail:
	np_log_err(NULL, &err);
	rc = np_err_exit_code(&err);
out:
	np_cloud_close(cl);
	json_decref(body);
	json_decref(snap);
	np_db_close(db);
	np_config_free(&cfg);
	return rc;
}
