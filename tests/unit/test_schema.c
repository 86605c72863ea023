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
    "    \"key\":{\"type\":\"string\",\"writeOnly\":true,\"pattern\":\"^k-\"},"
    "    \"aet\":{\"type\":\"string\",\"maxLength\":16,\"format\":\"ae-title\",\"pattern\":\"^[ -~]*$\"},"
    "    \"pw\":{\"type\":\"string\",\"writeOnly\":true,\"maxLength\":64,\"format\":\"service-password\"},"
    "    \"odd\":{\"type\":\"string\",\"format\":\"not-a-format-we-check\"}}},"
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
	assert_string_equal(check("{\"dicom\":{\"port\":70000}}"), "dicom.port: must be from 1 to 65535 (got 70000)");
	assert_string_equal(check("{\"dicom\":{\"port\":0}}"), "dicom.port: must be from 1 to 65535 (got 0)");
	assert_string_equal(check("{\"dicom\":{\"port\":\"104\"}}"), "dicom.port: must be a whole number (got text)");
	assert_string_equal(check("{\"dicom\":{\"port\":1.5}}"), "dicom.port: must be a whole number (got a number)");
	assert_string_equal(check("{\"dicom\":{\"ae\":\"\"}}"), "dicom.ae: must not be empty");
	assert_string_equal(check("{\"dicom\":{\"ae\":\"ABCDEFGHIJKLMNOPQ\"}}"),
			    "dicom.ae: at most 16 characters (got 17)");
	assert_string_equal(check("{\"dicom\":{\"ae\":\"lower\"}}"), "dicom.ae: does not match the pattern ^[A-Z_]+$");
	assert_string_equal(check("{\"dicom\":{\"mode\":\"c\"}}"), "dicom.mode: must be one of [\"a\",\"b\"]");
	assert_string_equal(check("{\"list\":[1]}"), "list.0: has the wrong type");
	assert_string_equal(check("{\"list\":[\"a\",\"b\",\"c\"]}"), "list: must have at most 2 items (got 3)");
	assert_string_equal(check("{\"nope\":1}"), "nope: is not a known setting");
	assert_string_equal(check("{\"req\":{}}"), "req: the key \"id\" is required");
	assert_string_equal(check("[]"), "(top): must be an object (got a list)");
}

/* "format" runs the checks of np_validate.h, before the pattern (whose
 * regular expression is no message for an admin); an unknown format passes. */
static void formats_are_checked(void **state)
{
	(void)state;
	assert_string_equal(check("{\"dicom\":{\"aet\":\"STORE\\\\SCP\"}}"),
			    "dicom.aet: an AE title cannot contain a backslash");
	assert_string_equal(check("{\"dicom\":{\"aet\":\"A\\tB\"}}"),
			    "dicom.aet: an AE title cannot contain control characters (tab, new line, ...)");
	assert_string_equal(check("{\"dicom\":{\"aet\":\"    \"}}"), "dicom.aet: an AE title cannot be only spaces");
	assert_string_equal(check("{\"dicom\":{\"aet\":\"ABCDEFGHIJKLMNOP\"}}"), "");
	assert_string_equal(check("{\"dicom\":{\"odd\":\"anything\"}}"), "");
	const char *msg = check("{\"dicom\":{\"pw\":\"alllowercase#1234567\"}}");
	assert_string_equal(msg, "dicom.pw: the password needs an upper-case letter");
	msg = check("{\"dicom\":{\"pw\":\"Too-Long-Password-1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}");
	assert_string_equal(msg, "dicom.pw: is too long");
	/* the lenient pass (loading a file saved before the check) skips them */
	json_t *v = json_loads("{\"dicom\":{\"aet\":\"A\\\\B\"}}", 0, NULL);
	struct np_err err = {0};
	assert_int_equal(np_schema_validate_lenient(schema, v, &err), 0);
	assert_int_equal(np_schema_validate(schema, v, &err), -1);
	json_decref(v);
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
	    cmocka_unit_test_setup_teardown(formats_are_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(secrets_are_never_quoted, setup, teardown),
	    cmocka_unit_test_setup_teardown(defaults_and_lookup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
