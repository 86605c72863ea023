// SPDX-License-Identifier: Apache-2.0
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char home[256];

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/np-unit-config.XXXXXX");
	assert_non_null(mkdtemp(home));
	char etc[300];
	snprintf(etc, sizeof etc, "%s/etc", home);
	mkdir(etc, 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	np_rmtree(home, NULL);
	return 0;
}

static void write_settings(const char *json)
{
	char p[300];
	snprintf(p, sizeof p, "%s/etc/neuropacs.json", home);
	assert_int_equal(np_write_atomic(p, json, strlen(json), 0640, NULL), 0);
}

static void defaults_match_the_guide(void **state)
{
	(void)state;
	struct np_config cfg;
	struct np_err err = {0};
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	assert_string_equal(np_config_str(&cfg, "dicom.ae_title"), "NEUROPACS_SCP");
	assert_string_equal(np_config_str(&cfg, "deid.date_handling"), "shift");
	assert_int_equal(np_config_int(&cfg, "deid.shift_range_days"), 365);
	assert_true(np_config_bool(&cfg, "deid.mask_zip"));
	assert_false(np_config_bool(&cfg, "deid.send_accession"));
	assert_false(np_config_bool(&cfg, "deid.remove_software_versions"));
	assert_int_equal(np_config_int(&cfg, "http.port"), 3001);
	np_config_free(&cfg);
}

static void shipped_defaults_equal_schema_defaults(void **state)
{
	(void)state;
	json_t *d = np_schema_defaults(np_config_schema());
	assert_true(json_equal(d, np_config_defaults()));
	/* every shipped key validates and every schema default is shipped */
	struct np_err err = {0};
	assert_int_equal(np_schema_validate(np_config_schema(), np_config_defaults(), &err), 0);
	json_t *copy = json_deep_copy(np_config_defaults());
	np_json_merge(copy, d);
	assert_int_equal(np_schema_validate(np_config_schema(), copy, &err), 0);
	json_decref(copy);
	json_decref(d);
}

static void user_file_overrides_defaults(void **state)
{
	(void)state;
	write_settings("{\"dicom\": {\"port\": 4242, \"allowed_calling_aets\": [\"PACS1\"]}}");
	struct np_config cfg;
	struct np_err err = {0};
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	assert_int_equal(np_config_int(&cfg, "dicom.port"), 4242);
	assert_string_equal(np_config_str(&cfg, "dicom.ae_title"), "NEUROPACS_SCP");
	assert_string_equal(np_config_str(&cfg, "dicom.allowed_calling_aets.0"), "PACS1");
	np_config_free(&cfg);
}

static void bad_value_names_the_key(void **state)
{
	(void)state;
	struct np_config cfg;
	struct np_err err = {0};
	write_settings("{\"dicom\": {\"port\": 70000}}");
	assert_int_equal(np_config_load(&cfg, home, &err), -1);
	assert_int_equal(np_err_exit_code(&err), 100);
	assert_non_null(strstr(err.msg, "dicom.port"));
	assert_non_null(strstr(err.msg, "65535"));
	write_settings("{\"deid\": {\"date_handling\": \"blur\"}}");
	assert_int_equal(np_config_load(&cfg, home, &err), -1);
	assert_non_null(strstr(err.msg, "deid.date_handling"));
	write_settings("{\"dicom\": {\"ae_titel\": \"X\"}}");
	assert_int_equal(np_config_load(&cfg, home, &err), -1);
	assert_non_null(strstr(err.msg, "dicom.ae_titel"));
	write_settings("{\"dicom\": ");
	assert_int_equal(np_config_load(&cfg, home, &err), -1);
	assert_non_null(strstr(err.msg, "invalid JSON"));
}

static void secrets_never_land_in_the_json(void **state)
{
	(void)state;
	struct np_err err = {0};
	json_t *s = json_pack("{s:{s:s, s:s}, s:{s:[{s:s, s:s, s:s}]}}", "cloud", "api_url", "https://cloud.test",
			      "api_key", "KEY-123-SECRET", "delivery", "destinations", "type", "rest", "url",
			      "https://h.test/x", "password", "hunter2-secret");
	assert_int_equal(np_config_save(home, s, &err), 0);
	char p[300];
	snprintf(p, sizeof p, "%s/etc/neuropacs.json", home);
	char *file = np_read_file(p, 1 << 20, NULL, &err);
	assert_non_null(file);
	assert_null(strstr(file, "KEY-123-SECRET"));
	assert_null(strstr(file, "hunter2-secret"));
	free(file);
	char *k = np_config_secret(home, "cloud.api_key", &err);
	assert_string_equal(k, "KEY-123-SECRET");
	free(k);
	k = np_config_secret(home, "delivery.destinations.0.password", &err);
	assert_string_equal(k, "hunter2-secret");
	free(k);
	struct stat st;
	snprintf(p, sizeof p, "%s/etc/secrets/cloud.api_key", home);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct np_config cfg;
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	json_t *m = np_config_masked(&cfg);
	assert_string_equal(np_json_str(m, "cloud.api_key", "?"), "********");
	assert_string_equal(np_json_str(m, "smtp.password", "?"), "");
	json_decref(m);
	np_config_free(&cfg);
	/* saving the masked value keeps the stored secret */
	json_object_set_new(json_object_get(s, "cloud"), "api_key", json_string("********"));
	assert_int_equal(np_config_save(home, s, &err), 0);
	k = np_config_secret(home, "cloud.api_key", &err);
	assert_string_equal(k, "KEY-123-SECRET");
	free(k);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(defaults_match_the_guide, setup, teardown),
	    cmocka_unit_test(shipped_defaults_equal_schema_defaults),
	    cmocka_unit_test_setup_teardown(user_file_overrides_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_value_names_the_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(secrets_never_land_in_the_json, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
