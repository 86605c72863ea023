// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"

#include "unit.h"

#include <errno.h>
#include <string.h>

static void classes_follow_errno(void **state)
{
	(void)state;
	assert_int_equal(np_err_class_of(ENOSPC), NP_ERR_TEMP);
	assert_int_equal(np_err_class_of(EIO), NP_ERR_TEMP);
	assert_int_equal(np_err_class_of(ECONNREFUSED), NP_ERR_TEMP);
	assert_int_equal(np_err_class_of(EACCES), NP_ERR_TEMP);
	assert_int_equal(np_err_class_of(ENOENT), NP_ERR_PERM);
	assert_int_equal(np_err_class_of(EINVAL), NP_ERR_PERM);
	assert_int_equal(np_err_class_of(ENOTDIR), NP_ERR_PERM);
}

static void sys_appends_strerror_and_returns_minus_one(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_err_sys(&err, ENOSPC, "unable to write %s", "manifest.json"), -1);
	assert_string_equal(err.msg, "unable to write manifest.json: No space left on device");
	assert_int_equal(err.sys, ENOSPC);
	assert_int_equal(err.cls, NP_ERR_TEMP);
	assert_int_equal(np_err_exit_code(&err), NP_EXIT_TEMP);
}

static void set_and_exit_codes(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_err_exit_code(&err), 0);
	assert_int_equal(np_err_exit_code(NULL), 0);
	assert_int_equal(np_err_set(&err, NP_ERR_PERM, "bad %d", 7), -1);
	assert_string_equal(err.msg, "bad 7");
	assert_int_equal(err.sys, 0);
	assert_int_equal(np_err_exit_code(&err), NP_EXIT_PERM);
	np_err_clear(&err);
	assert_int_equal(err.cls, NP_ERR_NONE);
	assert_string_equal(err.msg, "");
	/* A NULL report is allowed everywhere. */
	assert_int_equal(np_err_set(NULL, NP_ERR_TEMP, "ignored"), -1);
	assert_int_equal(np_err_sys(NULL, EIO, "ignored"), -1);
}

static void long_messages_are_truncated(void **state)
{
	(void)state;
	struct np_err err = {0};
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	np_err_sys(&err, EIO, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(classes_follow_errno),
	    cmocka_unit_test(sys_appends_strerror_and_returns_minus_one),
	    cmocka_unit_test(set_and_exit_codes),
	    cmocka_unit_test(long_messages_are_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
