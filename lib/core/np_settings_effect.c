// SPDX-License-Identifier: Apache-2.0
/* np_settings_effect: the settings -> service table (see np_settings_effect.h).
 * Derived from the code: which program reads which keys, and when.
 *   np-httpd   reads its settings per request; listening ports and TLS on/off
 *              only at start (CivetWeb cannot re-bind); certificate files are
 *              re-read by PUT /api/settings itself.
 *   np-recv    re-reads dicom.* on SIGHUP and re-opens its listener when the
 *              address changed; open associations keep their settings.
 *   np-stable  re-reads on SIGHUP between two scans.
 *   np-sched   re-reads its cron expressions on SIGHUP; its jobs (np-poll,
 *              np-metrics, np-retain, np-heartbeat, np-report, np-notify,
 *              np-deliver --failures) read the settings at each run.
 *   qc, prepare, upload, deliver: np-queue runs np-qc, np-deid or np-local,
 *              np-upload, np-deliver once per study, each reading the settings
 *              at its start; only prepare's run script reads settings
 *              (agent.mode, local_processing.max_containers) for np-queue;
 *              np-queue reads retry.* at each temporary failure.
 *   np-atna    re-reads its settings on SIGHUP (and when etc/neuropacs.json
 *              changes on disk) and reconnects to the audit repository. */
#include "np_settings_effect.h"

#include <stdio.h>
#include <string.h>

const char *const np_effect_services[] = {"np-httpd", "np-recv", "np-stable", "np-sched", "qc",
					  "prepare",  "upload",	 "deliver",   "np-atna",  NULL};

struct rule {
	const char *key; /* a dotted key or a prefix of whole components */
	const char *service;
	enum np_effect effect;
};

static const struct rule rules[] = {
    /* np-httpd */
    {"http", "np-httpd", NP_EFFECT_LIVE},
    {"http.port", "np-httpd", NP_EFFECT_RESTART},
    {"http.bind", "np-httpd", NP_EFFECT_RESTART},
    {"http.redirect_port", "np-httpd", NP_EFFECT_RESTART},
    {"tls", "np-httpd", NP_EFFECT_LIVE},
    {"tls.enabled", "np-httpd", NP_EFFECT_RESTART},
    {"saml", "np-httpd", NP_EFFECT_LIVE},
    {"cloud.service_user", "np-httpd", NP_EFFECT_LIVE},
    {"cloud.service_password", "np-httpd", NP_EFFECT_LIVE},
    {"cloud.show_external_orders", "np-httpd", NP_EFFECT_LIVE},
    /* np-recv: all of it on SIGHUP (new listener when the address changed) */
    {"dicom.ae_title", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.bind", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.port", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.allowed_calling_aets", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.max_associations", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.max_associations_per_address", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.max_pdu_bytes", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.artim_seconds", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.idle_seconds", "np-recv", NP_EFFECT_RELOAD},
    {"dicom.tls", "np-recv", NP_EFFECT_RELOAD},
    /* np-stable */
    {"dicom.stabilization_seconds", "np-stable", NP_EFFECT_RELOAD},
    {"dicom.max_wait_minutes", "np-stable", NP_EFFECT_RELOAD},
    {"dicom.scan_interval_seconds", "np-stable", NP_EFFECT_RELOAD},
    {"dicom.default_products", "np-stable", NP_EFFECT_RELOAD},
    {"dicom.product_tag", "np-stable", NP_EFFECT_RELOAD},
    {"groups.auto_assign", "np-stable", NP_EFFECT_RELOAD},
    {"groups.auto_assign_group", "np-stable", NP_EFFECT_RELOAD},
    /* np-sched: cron expressions on SIGHUP, the rest read by its jobs */
    {"scheduler", "np-sched", NP_EFFECT_RELOAD},
    {"groups.schedule_cron", "np-sched", NP_EFFECT_RELOAD},
    {"groups.schedule_enabled", "np-sched", NP_EFFECT_RELOAD},
    {"telemetry.heartbeat_cron", "np-sched", NP_EFFECT_RELOAD},
    {"telemetry.heartbeat_enabled", "np-sched", NP_EFFECT_RELOAD},
    {"telemetry", "np-sched", NP_EFFECT_LIVE},
    {"retention", "np-sched", NP_EFFECT_LIVE},
    {"groups", "np-sched", NP_EFFECT_LIVE},
    {"notifications", "np-sched", NP_EFFECT_LIVE},
    {"failure_delivery", "np-sched", NP_EFFECT_LIVE},
    {"smtp", "np-sched", NP_EFFECT_LIVE},
    {"agent.runtime", "np-sched", NP_EFFECT_LIVE},
    {"cloud", "np-sched", NP_EFFECT_LIVE},
    /* qc: np-qc per study */
    {"qc", "qc", NP_EFFECT_LIVE},
    {"dicom.product_tag", "qc", NP_EFFECT_LIVE},
    /* prepare: np-deid or np-local per study; the run script picks them */
    {"agent.mode", "prepare", NP_EFFECT_RESTART},
    {"local_processing.max_containers", "prepare", NP_EFFECT_RESTART},
    {"local_processing", "prepare", NP_EFFECT_LIVE},
    {"deid", "prepare", NP_EFFECT_LIVE},
    /* upload: np-upload per study */
    {"upload", "upload", NP_EFFECT_LIVE},
    {"cloud", "upload", NP_EFFECT_LIVE},
    {"dicom.default_products", "upload", NP_EFFECT_LIVE},
    /* deliver: np-deliver per study (dicom.ae_title is its calling AE) */
    {"delivery", "deliver", NP_EFFECT_LIVE},
    {"smtp", "deliver", NP_EFFECT_LIVE},
    {"dicom.ae_title", "deliver", NP_EFFECT_LIVE},
    /* np-queue reads its retry schedule at each temporary failure */
    {"retry", "upload", NP_EFFECT_LIVE},
    {"retry", "deliver", NP_EFFECT_LIVE},
    /* np-atna: all of atna.* on SIGHUP */
    {"atna", "np-atna", NP_EFFECT_RELOAD},
};

/* A rule names key itself or one of its parents ("dicom.tls" names
 * "dicom.tls.port", never "dicom.tlsx"). */
static int covers(const char *rule, const char *key)
{
	size_t n = strlen(rule);
	return !strncmp(rule, key, n) && (key[n] == 0 || key[n] == '.');
}

int np_effect_of(const char *key, const char *service)
{
	int best = -1;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (!strcmp(rules[i].service, service) && covers(rules[i].key, key) && (int)rules[i].effect > best)
			best = (int)rules[i].effect;
	return best;
}

const char *np_effect_name(enum np_effect e)
{
	return e == NP_EFFECT_RESTART ? "restart" : e == NP_EFFECT_RELOAD ? "reload" : "live";
}

enum np_restart np_effect_restart_of(const char *service)
{
	if (!strcmp(service, "np-httpd"))
		return NP_RESTART_SELF;
	if (!strcmp(service, "qc") || !strcmp(service, "prepare") || !strcmp(service, "upload") ||
	    !strcmp(service, "deliver"))
		return NP_RESTART_DRAIN;
	/* np-recv, np-stable and np-sched apply all of their settings on SIGHUP. */
	return NP_RESTART_NONE;
}

json_t *np_effect_plan(json_t *changed)
{
	json_t *plan = json_array(), *unknown = json_array();
	for (int s = 0; np_effect_services[s]; s++) {
		json_t *keys = json_array();
		int best = -1;
		size_t i;
		json_t *k;
		json_array_foreach (changed, i, k) {
			int e = np_effect_of(json_string_value(k), np_effect_services[s]);
			if (e < 0)
				continue;
			json_array_append(keys, k);
			if (e > best)
				best = e;
		}
		if (best < 0)
			json_decref(keys);
		else
			json_array_append_new(plan, json_pack("{s:s,s:s,s:o}", "service", np_effect_services[s],
							      "effect", np_effect_name(best), "keys", keys));
	}
	size_t i;
	json_t *k;
	json_array_foreach (changed, i, k) {
		int used = 0;
		for (int s = 0; np_effect_services[s] && !used; s++)
			used = np_effect_of(json_string_value(k), np_effect_services[s]) >= 0;
		if (!used)
			json_array_append(unknown, k);
	}
	if (json_array_size(unknown))
		json_array_append_new(plan,
				      json_pack("{s:s,s:s,s:o}", "service", "", "effect", "live", "keys", unknown));
	else
		json_decref(unknown);
	return plan;
}

static void restarts_of(json_t *node, json_t *defs, const char *prefix, json_t *out)
{
	const char *ref = json_string_value(json_object_get(node, "$ref"));
	if (ref && strrchr(ref, '/'))
		node = json_object_get(defs, strrchr(ref, '/') + 1);
	json_t *props = json_object_get(node, "properties");
	if (json_is_object(props)) {
		const char *k;
		json_t *v;
		json_object_foreach (props, k, v) {
			char p[256];
			snprintf(p, sizeof p, "%s.%s", prefix, k);
			restarts_of(v, defs, p, out);
		}
		return;
	}
	json_t *who = json_array();
	for (int s = 0; np_effect_services[s]; s++)
		if (np_effect_of(prefix, np_effect_services[s]) == NP_EFFECT_RESTART)
			json_array_append_new(who, json_string(np_effect_services[s]));
	if (json_array_size(who))
		json_object_set_new(out, prefix, who);
	else
		json_decref(who);
}

json_t *np_effect_restarts(json_t *schema)
{
	json_t *out = json_object(), *defs = json_object_get(schema, "definitions");
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(schema, "properties"), k, v)
		restarts_of(v, defs, k, out);
	return out;
}
