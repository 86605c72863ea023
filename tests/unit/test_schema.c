// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_schema.h"

#include "unit.h"

#include <string.h>

static const char *schema_text =
    "{\"type\":\"object\",\"additionalProperties\":false,\"definitions\":{"
    "  \"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535,\"default\":104}},"
    " \"properties\":{"
    "  \"dicom\":{\"type\":\"object\",\"properties\":{"
    "    \"port\":{\"$ref\":\"#/definitions/port\"},"
    "    \"ae\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":16,\"pattern\":\"^[A-Z_]+$\",\"default\":\"NP\"},"
    "    \"mode\":{\"enum\":[\"a\",\"b\"],\"default\":\"a\"},"
    "    \"key\":{\"type\":\"string\",\"writeOnly\":true,\"pattern\":\"^k-\"}}},"
    "  \"list\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":[\"string\",\"null\"]},\"default\":[]},"
    "  \"req\":{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"string\"}}}}}";

static json_t *schema;

static int setup(void **state)
{
	(void)state;
	schema = json_loads(schema_text, 0, NULL);
	assert_non_null(schema);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(schema);
	return 0;
}

/* Validate text; return the error message ("" when valid). */
static const char *check(const char *text)
{
	static struct np_err err;
	np_err_clear(&err);
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	int rc = np_schema_validate(schema, v, &err);
	json_decref(v);
	assert_int_equal(rc, err.msg[0] ? -1 : 0);
	if (rc < 0)
		assert_int_equal(err.cls, NP_ERR_PERM);
	return err.msg;
}

static void valid_documents_pass(void **state)
{
	(void)state;
	assert_string_equal(check("{}"), "");
	assert_string_equal(
	    check("{\"dicom\":{\"port\":11112,\"ae\":\"NEURO_PACS\",\"mode\":\"b\"},\"list\":[\"x\",null]}"), "");
}

static void each_rule_names_the_key(void **state)
{
	(void)state;
	assert_string_equal(check("{\"dicom\":{\"port\":70000}}"), "dicom.port: must be at most 65535");
	assert_string_equal(check("{\"dicom\":{\"port\":0}}"), "dicom.port: must be at least 1");
	assert_string_equal(check("{\"dicom\":{\"port\":\"104\"}}"), "dicom.port: must be of type integer");
	assert_string_equal(check("{\"dicom\":{\"ae\":\"\"}}"), "dicom.ae: must be at least 1 characters long");
	assert_string_equal(check("{\"dicom\":{\"ae\":\"lower\"}}"), "dicom.ae: does not match the pattern ^[A-Z_]+$");
	assert_string_equal(check("{\"dicom\":{\"mode\":\"c\"}}"), "dicom.mode: must be one of [\"a\",\"b\"]");
	assert_string_equal(check("{\"list\":[1]}"), "list.0: has the wrong type");
	assert_string_equal(check("{\"list\":[\"a\",\"b\",\"c\"]}"), "list: must have at most 2 items");
	assert_string_equal(check("{\"nope\":1}"), "nope: is not a known setting");
	assert_string_equal(check("{\"req\":{}}"), "req: the key \"id\" is required");
	assert_string_equal(check("[]"), "(top): must be of type object");
}

static void secrets_are_never_quoted(void **state)
{
	(void)state;
	const char *msg = check("{\"dicom\":{\"key\":\"SECRET-VALUE\"}}");
	assert_string_equal(msg, "dicom.key: does not have the required form");
	assert_null(strstr(msg, "SECRET"));
}

static void defaults_and_lookup(void **state)
{
	(void)state;
	json_t *d = np_schema_defaults(schema);
	json_t *want =
	    json_loads("{\"dicom\":{\"port\":104,\"ae\":\"NP\",\"mode\":\"a\"},\"list\":[],\"req\":{}}", 0, NULL);
	assert_true(json_equal(d, want));
	json_decref(d);
	json_decref(want);
	json_t *port = np_schema_at(schema, "dicom.port");
	assert_non_null(port);
	assert_int_equal(json_integer_value(json_object_get(port, "maximum")), 65535);
	assert_true(json_is_true(json_object_get(np_schema_at(schema, "dicom.key"), "writeOnly")));
	assert_null(np_schema_at(schema, "dicom.nothing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(valid_documents_pass, setup, teardown),
	    cmocka_unit_test_setup_teardown(each_rule_names_the_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(secrets_are_never_quoted, setup, teardown),
	    cmocka_unit_test_setup_teardown(defaults_and_lookup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
