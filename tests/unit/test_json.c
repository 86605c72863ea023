// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_json.h"

#include "fault.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static void dotted_paths_and_arrays(void **state)
{
	(void)state;
	json_t *o = json_loads("{\"dicom\":{\"port\":104,\"tls\":{\"on\":true}},"
			       "\"delivery\":{\"destinations\":[{\"url\":\"a\"},{\"url\":\"b\"}]},\"r\":2.9}",
			       0, NULL);
	assert_int_equal(np_json_int(o, "dicom.port", 0), 104);
	assert_true(np_json_bool(o, "dicom.tls.on", 0));
	assert_string_equal(np_json_str(o, "delivery.destinations.1.url", "?"), "b");
	assert_null(np_json_path(o, "delivery.destinations.2.url"));
	assert_null(np_json_path(o, "delivery.destinations.x"));
	assert_null(np_json_path(o, "dicom.port.deeper"));
	assert_string_equal(np_json_str(o, "dicom.port", "fallback"), "fallback");
	assert_int_equal(np_json_int(o, "missing", -7), -7);
	assert_int_equal(np_json_int(o, "r", 0), 2);
	assert_int_equal(np_json_bool(o, "dicom.port", -1), -1);
	assert_ptr_equal(np_json_path(o, ""), o);
	json_decref(o);
}

static void parse_errors_name_the_place(void **state)
{
	(void)state;
	struct np_err err = {0};
	const char *bad = "{\n  \"a\": 1,\n  \"a\": 2\n}";
	assert_null(np_json_parse(bad, strlen(bad), "settings", &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "settings: invalid JSON at line 3"));
	assert_null(np_json_parse("{\"a\":", 5, "x", &err));
	/* Embedded NULs are not silently truncated. */
	assert_null(np_json_parse("{}\0{}", 5, "x", &err));
}

static void save_is_sorted_indented_and_atomic(void **state)
{
	(void)state;
	struct np_err err = {0};
	json_t *o = json_pack("{s:i, s:s}", "b", 1, "a", "x");
	assert_int_equal(np_json_save(at("o.json"), o, 0640, &err), 0);
	char *s = np_read_file(at("o.json"), 1000, NULL, NULL);
	assert_string_equal(s, "{\n  \"a\": \"x\",\n  \"b\": 1\n}\n");
	free(s);
	fault_arm("rename", 1, ENOSPC);
	json_object_set_new(o, "c", json_true());
	assert_int_equal(np_json_save(at("o.json"), o, 0640, &err), -1);
	fault_reset();
	json_t *back = np_json_load(at("o.json"), 1000, &err);
	assert_null(json_object_get(back, "c"));
	json_decref(back);
	assert_null(np_json_load(at("o.json"), 5, &err));
	json_decref(o);
}

static void merge_is_recursive(void **state)
{
	(void)state;
	json_t *d = json_loads("{\"a\":{\"x\":1,\"y\":2},\"l\":[1,2],\"s\":\"k\"}", 0, NULL);
	json_t *s = json_loads("{\"a\":{\"y\":3,\"z\":4},\"l\":[9],\"n\":null}", 0, NULL);
	assert_int_equal(np_json_merge(d, s), 0);
	json_t *want = json_loads("{\"a\":{\"x\":1,\"y\":3,\"z\":4},\"l\":[9],\"s\":\"k\",\"n\":null}", 0, NULL);
	assert_true(json_equal(d, want));
	json_decref(d);
	json_decref(s);
	json_decref(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dotted_paths_and_arrays),
	    cmocka_unit_test(parse_errors_name_the_place),
	    cmocka_unit_test_setup_teardown(save_is_sorted_indented_and_atomic, tmp_setup, tmp_teardown),
	    cmocka_unit_test(merge_is_recursive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
