// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_password.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void rules_of_the_guide(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_password_check("Good-Password-12345!", &err), 0);
	assert_int_equal(np_password_check("Sh0rt-Pass!", &err), -1);
	assert_non_null(strstr(err.msg, "15 characters"));
	assert_int_equal(np_password_check("ALL-UPPER-CASE-123!", &err), -1);
	assert_non_null(strstr(err.msg, "lower-case"));
	assert_int_equal(np_password_check("all-lower-case-123!", &err), -1);
	assert_non_null(strstr(err.msg, "upper-case"));
	assert_int_equal(np_password_check("No-Digits-Here-At-All", &err), -1);
	assert_non_null(strstr(err.msg, "number"));
	assert_int_equal(np_password_check("NoSpecialCharacters123", &err), -1);
	assert_non_null(strstr(err.msg, "special"));
	assert_null(strstr(err.msg, "NoSpecial"));
}

static void generated_passwords_follow_the_rules(void **state)
{
	(void)state;
	char a[25], b[25];
	for (int i = 0; i < 200; i++) {
		assert_int_equal(np_password_generate(a, 24, NULL), 0);
		assert_int_equal(strlen(a), 24);
		assert_int_equal(np_password_check(a, NULL), 0);
	}
	assert_int_equal(np_password_generate(b, 24, NULL), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(np_password_generate(a, 8, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rules_of_the_guide),
	    cmocka_unit_test(generated_passwords_follow_the_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
