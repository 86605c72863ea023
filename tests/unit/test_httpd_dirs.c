// SPDX-License-Identifier: Apache-2.0
/* np__dir_has: the studies list's cached listings of spool folders answer
 * what the folder holds, never an older listing once it changed. */
#include "np_httpd_int.h"

#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The folder's mtime set ago seconds back: no longer changing. */
static struct timespec settle(const char *dir, int ago)
{
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= ago;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, dir, t, 0), 0);
	return t[0];
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

/* A request's answer for name (a new request each time). */
static int has(const char *dir, const char *name)
{
	struct np_dirs seen;
	memset(&seen, 0, sizeof seen);
	return np__dir_has(&seen, dir, name);
}

static void missing_folder_holds_nothing(void **state)
{
	(void)state;
	assert_int_equal(has(at("nosuch"), "a.json"), 0);
}

static void answers_and_sees_changes(void **state)
{
	(void)state;
	char dir[300], a[320], b[320];
	snprintf(dir, sizeof dir, "%s", at("q"));
	snprintf(a, sizeof a, "%s/a.json", dir);
	snprintf(b, sizeof b, "%s/b.json", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	touch(a);
	/* just changed: not answered from a listing */
	assert_int_equal(has(dir, "a.json"), -1);
	settle(dir, 100);
	assert_int_equal(has(dir, "a.json"), 1);
	assert_int_equal(has(dir, "b.json"), 0);
	assert_int_equal(has(dir, "b.json"), 0); /* from the kept listing */
	touch(b);
	assert_int_equal(has(dir, "b.json"), -1); /* changing: the caller looks */
	settle(dir, 50);
	assert_int_equal(has(dir, "b.json"), 1); /* read again */
	assert_int_equal(unlink(a), 0);
	struct timespec t[2];
	t[0] = t[1] = settle(dir, 40);
	assert_int_equal(has(dir, "a.json"), 0);
	/* a file back, the folder's mtime set back to the very time of the
	 * listing (as a restore may): its ctime still moved */
	touch(a);
	assert_int_equal(utimensat(AT_FDCWD, dir, t, 0), 0);
	assert_int_equal(has(dir, "a.json"), 1);
}

static void one_look_per_request(void **state)
{
	(void)state;
	char dir[300], a[320];
	snprintf(dir, sizeof dir, "%s", at("w"));
	snprintf(a, sizeof a, "%s/x", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	settle(dir, 100);
	struct np_dirs seen;
	memset(&seen, 0, sizeof seen);
	assert_int_equal(np__dir_has(&seen, dir, "x"), 0);
	touch(a);
	settle(dir, 90);
	/* the same request keeps what it saw; the next one sees the file */
	assert_int_equal(np__dir_has(&seen, dir, "x"), 0);
	assert_int_equal(has(dir, "x"), 1);
}

static void large_folder_is_unknown(void **state)
{
	(void)state;
	char dir[300], f[340];
	snprintf(dir, sizeof dir, "%s", at("big"));
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < 600; i++) {
		snprintf(f, sizeof f, "%s/%04d", dir, i);
		touch(f);
	}
	settle(dir, 100);
	assert_int_equal(has(dir, "0001"), -1);
	assert_int_equal(has(dir, "nope"), -1);
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test_setup_teardown(missing_folder_holds_nothing, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(answers_and_sees_changes, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(one_look_per_request, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(large_folder_is_unknown, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
