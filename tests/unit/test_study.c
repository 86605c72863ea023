// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_json.h"
#include "np_schema.h"
#include "np_study.h"

#include "fault.h"
#include "unit.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void new_manifest_has_the_documented_keys(void **state)
{
	(void)state;
	json_t *m = np_study_new("0b9f0f4e-1111-4222-8333-944444444444", "dicom", "dicom");
	assert_non_null(m);
	assert_int_equal(np_json_int(m, "manifest_version", 0), 1);
	assert_string_equal(np_json_str(m, "npuid", ""), "0b9f0f4e-1111-4222-8333-944444444444");
	assert_string_equal(np_json_str(m, "source", ""), "dicom");
	static const char *const keys[] = {
	    "created_at", "study", "patient", "series",	    "counts", "transfer_syntaxes",
	    "products",	  "flags", "group",   "study_name", NULL};
	for (int i = 0; keys[i]; i++)
		assert_non_null(json_object_get(m, keys[i]));
	assert_int_equal(np_json_int(m, "counts.instances", -1), 0);
	assert_true(json_is_null(json_object_get(m, "group")));
	json_decref(m);
}

static void save_load_round_trip(void **state)
{
	(void)state;
	struct np_err err = {0};
	json_t *m = np_study_new("id", "import", "nifti");
	np_study_flag(m, "max_wait_exceeded");
	np_study_flag(m, "max_wait_exceeded");
	np_study_flag(m, "qc_bypassed");
	assert_int_equal(json_array_size(json_object_get(m, "flags")), 2);
	assert_int_equal(np_study_save(tmp, m, &err), 0);
	struct stat st;
	assert_int_equal(stat(at("manifest.json"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	json_t *back = np_study_load(tmp, &err);
	assert_true(json_equal(m, back));
	json_decref(back);
	/* A failed save keeps the previous manifest. */
	json_object_set_new(m, "study_name", json_string("changed"));
	fault_arm("fsync", 1, EIO);
	assert_int_equal(np_study_save(tmp, m, &err), -1);
	fault_reset();
	back = np_study_load(tmp, &err);
	assert_true(json_is_null(json_object_get(back, "study_name")));
	json_decref(back);
	json_decref(m);
}

static void bad_manifests_are_permanent_errors(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_null(np_study_load(tmp, &err));
	assert_int_equal(err.sys, ENOENT);
	assert_int_equal(np_write_atomic(at("manifest.json"), "[1,2]", 5, 0640, NULL), 0);
	assert_null(np_study_load(tmp, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_int_equal(np_write_atomic(at("manifest.json"), "{\"a\":", 5, 0640, NULL), 0);
	assert_null(np_study_load(tmp, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	json_t *m = json_object();
	np_study_flag(m, "x");
	assert_int_equal(json_array_size(json_object_get(m, "flags")), 1);
	json_decref(m);
}

/* share/schema/manifest.schema.json describes what np_study_new makes and
 * what np-stable fills in (tests run from the top of the tree). */
static void manifests_match_the_schema(void **state)
{
	(void)state;
	struct np_err err = {0};
	json_t *schema = np_json_load("share/schema/manifest.schema.json", 1 << 20, &err);
	assert_non_null(schema);
	json_t *m = np_study_new("0b9f0f4e-1111-4222-8333-944444444444", "dicom", "dicom");
	assert_int_equal(np_schema_validate(schema, m, &err), 0);
	json_t *filled =
	    json_loads("{\"study\":{\"study_instance_uid\":\"1.2.3\",\"accession_number\":\"A1\"},"
		       "\"patient\":{\"name\":\"CANARY^X\",\"age\":null,\"sex\":\"F\"},"
		       "\"series\":[{\"series_instance_uid\":\"1.2.3.4\",\"number\":3,\"instances\":6,"
		       "\"transfer_syntaxes\":[\"1.2.840.10008.1.2.1\"],\"diffusion\":{\"b_values\":[0,1000]}}],"
		       "\"counts\":{\"series\":1,\"instances\":6,\"bytes\":100,\"unreadable\":0},"
		       "\"products\":[\"PD\"],\"group\":\"g1\",\"stable_at\":\"2026-11-27T22:04:48.115Z\"}",
		       0, NULL);
	assert_int_equal(np_json_merge(m, filled), 0);
	assert_int_equal(np_schema_validate(schema, m, &err), 0);
	json_object_set_new(m, "npuid", json_string("../../etc"));
	assert_int_equal(np_schema_validate(schema, m, &err), -1);
	assert_non_null(strstr(err.msg, "npuid"));
	json_object_set_new(m, "npuid", json_string("0b9f0f4e-1111-4222-8333-944444444444"));
	json_object_set_new(json_object_get(m, "counts"), "instances", json_integer(-1));
	assert_int_equal(np_schema_validate(schema, m, &err), -1);
	assert_non_null(strstr(err.msg, "counts.instances"));
	json_decref(filled);
	json_decref(m);
	json_decref(schema);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(new_manifest_has_the_documented_keys),
	    cmocka_unit_test_setup_teardown(save_load_round_trip, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(bad_manifests_are_permanent_errors, tmp_setup, tmp_teardown),
	    cmocka_unit_test(manifests_match_the_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
