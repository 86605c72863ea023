// SPDX-License-Identifier: Apache-2.0
/* The settings -> service table: every key of the schema is used by some
 * service (a new key must be placed in the table), and the effects the
 * issue names (ports, AE title, TLS, agent.mode) are right. */
#include "np_config.h"
#include "np_settings_effect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void leaves(json_t *schema, const char *prefix, json_t *out)
{
	json_t *props = json_object_get(schema, "properties");
	if (!json_is_object(props) || !json_object_size(props)) {
		json_array_append_new(out, json_string(prefix));
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach (props, k, v) {
		char p[256];
		snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", k);
		leaves(v, p, out);
	}
}

static void every_schema_key_has_a_service(void **state)
{
	(void)state;
	json_t *keys = json_array();
	leaves(np_config_schema(), "", keys);
	assert_true(json_array_size(keys) > 100);
	json_t *plan = np_effect_plan(keys);
	size_t i;
	json_t *p;
	json_array_foreach (plan, i, p) {
		if (!*json_string_value(json_object_get(p, "service"))) {
			char *s = json_dumps(json_object_get(p, "keys"), JSON_COMPACT);
			fail_msg("keys no service uses (add them to lib/core/np_settings_effect.c): %s", s);
		}
	}
	json_decref(plan);
	json_decref(keys);
}

static const char *plan_str(const char *k1, const char *k2)
{
	static char out[512];
	json_t *keys = json_pack("[s]", k1);
	if (k2)
		json_array_append_new(keys, json_string(k2));
	json_t *plan = np_effect_plan(keys);
	out[0] = 0;
	size_t i;
	json_t *p;
	json_array_foreach (plan, i, p) {
		size_t n = strlen(out);
		snprintf(out + n, sizeof out - n, "%s%s=%s", n ? " " : "",
			 json_string_value(json_object_get(p, "service")),
			 json_string_value(json_object_get(p, "effect")));
	}
	json_decref(plan);
	json_decref(keys);
	return out;
}

static void effects(void **state)
{
	(void)state;
	assert_string_equal(plan_str("http.port", NULL), "np-httpd=restart");
	assert_string_equal(plan_str("tls.enabled", NULL), "np-httpd=restart");
	assert_string_equal(plan_str("tls.cert_file", NULL), "np-httpd=live");
	assert_string_equal(plan_str("http.max_body_mb", NULL), "np-httpd=live");
	assert_string_equal(plan_str("dicom.port", "dicom.tls.port"), "np-recv=reload");
	assert_string_equal(plan_str("dicom.ae_title", NULL), "np-recv=reload deliver=live");
	assert_string_equal(plan_str("dicom.stabilization_seconds", NULL), "np-stable=reload");
	assert_string_equal(plan_str("upload.max_retries", NULL), "upload=live");
	assert_string_equal(plan_str("agent.mode", "deid.jobs"), "prepare=restart");
	assert_string_equal(plan_str("local_processing.image", NULL), "prepare=live");
	assert_string_equal(plan_str("scheduler.poll_cron", "retention.log_days"), "np-sched=reload");
	assert_string_equal(plan_str("retention.log_days", NULL), "np-sched=live");
	/* whole components only */
	assert_int_equal(np_effect_of("dicom.portx", "np-recv"), -1);
	assert_string_equal(plan_str("nosuch.key", NULL), "=live");
	assert_int_equal(np_effect_restart_of("upload"), NP_RESTART_DRAIN);
	assert_int_equal(np_effect_restart_of("np-httpd"), NP_RESTART_SELF);
	assert_int_equal(np_effect_restart_of("demo-cloud"), NP_RESTART_NONE);
}

/* The settings page's restart badges: exactly the schema keys whose change
 * restarts a service, with the services (GET /api/settings/schema). */
static void restarts_for_the_badges(void **state)
{
	(void)state;
	json_t *r = np_effect_restarts(np_config_schema());
	char *s = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s,
			    "{\"agent.mode\":[\"prepare\"],\"http.bind\":[\"np-httpd\"],\"http.port\":[\"np-httpd\"],"
			    "\"http.redirect_port\":[\"np-httpd\"],\"local_processing.max_containers\":[\"prepare\"],"
			    "\"tls.enabled\":[\"np-httpd\"]}");
	free(s);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_schema_key_has_a_service),
	    cmocka_unit_test(effects),
	    cmocka_unit_test(restarts_for_the_badges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
