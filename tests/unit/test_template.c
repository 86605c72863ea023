// SPDX-License-Identifier: Apache-2.0
#include "np_config.h"
#include "np_err.h"
#include "np_json.h"
#include "np_template.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct np_tpl_var vars[] = {
    {"npuid", "0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f"},
    {"order_id", "ord-\"1\"\\x"},
    {"detail", "line1\nline2\t\x01"},
    {"group_name", "../etc/passwd"},
};
#define NV (sizeof vars / sizeof vars[0])

static char *render(const char *tpl, enum np_tpl_ctx ctx)
{
	struct np_err err = {0};
	char *s = np_template_render(tpl, ctx, vars, NV, &err);
	assert_non_null(s);
	return s;
}

static void placeholders_and_literal_braces(void **state)
{
	(void)state;
	char *s = render("{\"id\":\"{npuid}\",\"x\":{{npuid},\"p\":\"{product}\"}", NP_TPL_TEXT);
	assert_string_equal(s, "{\"id\":\"0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f\",\"x\":{npuid},\"p\":\"\"}");
	free(s);
	s = render("{ npuid} {Npuid} {} {npuid", NP_TPL_TEXT);
	assert_string_equal(s, "{ npuid} {Npuid} {} {npuid");
	free(s);
}

static void json_context_escapes_values(void **state)
{
	(void)state;
	char *s = render("{\"o\":\"{order_id}\",\"d\":\"{detail}\"}", NP_TPL_JSON);
	assert_string_equal(s, "{\"o\":\"ord-\\\"1\\\"\\\\x\",\"d\":\"line1\\nline2\\t\\u0001\"}");
	json_t *j = np_json_parse(s, strlen(s), "test", NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "d")), "line1\nline2\t\x01");
	json_decref(j);
	free(s);
}

static void line_and_filename_contexts(void **state)
{
	(void)state;
	char *s = render("Subject: {detail}", NP_TPL_LINE);
	assert_null(strchr(s, '\n'));
	free(s);
	s = render("{group_name}.csv", NP_TPL_FILENAME);
	assert_string_equal(s, "_._etc_passwd.csv");
	free(s);
}

static void unknown_placeholders(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_null(np_template_render("x {nope} y", NP_TPL_TEXT, vars, NV, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "{nope}"));
	assert_int_equal(np_template_check("{npuid} {report_base64}", NP_TPL_F_STUDY | NP_TPL_F_REPORT, "x", &err), 0);
	assert_int_equal(np_template_check("{report_base64}", NP_TPL_F_EVENT, "notifications.body_template", &err), -1);
	assert_non_null(strstr(err.msg, "notifications.body_template"));
}

static void settings_are_checked_on_save(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_template_check_settings(np_config_defaults(), &err), 0);
	/* a complete REST destination (its url too), so the template is what is refused */
	json_t *s = json_pack("{s:{s:[{s:s},{s:s, s:s, s:s}]}}", "delivery", "destinations", "type", "none", "type",
			      "rest", "url", "https://ris.example.org/results", "body_template",
			      "{\"a\":\"{npuid}\",\"b\":\"{orderid}\"}");
	assert_int_equal(np_config_check(s, &err), -1);
	assert_non_null(strstr(err.msg, "delivery.destinations.1.body_template"));
	assert_non_null(strstr(err.msg, "{orderid}"));
	json_decref(s);
	s = json_pack("{s:{s:s}}", "groups", "filename_template", "{group_name}_{npuid}.csv");
	assert_int_equal(np_config_check(s, &err), -1);
	json_decref(s);
	s = json_pack("{s:{s:s}}", "notifications", "subject_template", "[agent] {event} {count}");
	assert_int_equal(np_config_check(s, &err), 0);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(placeholders_and_literal_braces), cmocka_unit_test(json_context_escapes_values),
	    cmocka_unit_test(line_and_filename_contexts),      cmocka_unit_test(unknown_placeholders),
	    cmocka_unit_test(settings_are_checked_on_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
