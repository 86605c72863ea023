// SPDX-License-Identifier: Apache-2.0
/* np__json_file_texts: what np-httpd derives from a JSON file (a study's
 * manifest) is made once per version of the file, never served from an
 * older version. */
#include "np_httpd_int.h"

#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int made;

static void dump(json_t *v, void *ud, char *out[], int n)
{
	(void)ud;
	(void)n;
	made++;
	out[0] = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void set_mtime(const char *path, struct timespec t)
{
	struct timespec ts[2] = {t, t};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The text for path, and how many times it was made so far. */
static void expect(const char *path, const char *text, int times)
{
	char *out[1] = {NULL};
	assert_int_equal(np__json_file_texts(path, "t", dump, NULL, out, 1), 0);
	assert_string_equal(out[0], text);
	free(out[0]);
	assert_int_equal(made, times);
}

static void kept_until_the_file_changes(void **state)
{
	(void)state;
	char f[300], tmpf[300];
	snprintf(f, sizeof f, "%s", at("m.json"));
	snprintf(tmpf, sizeof tmpf, "%s", at("m.tmp"));
	made = 0;
	write_file(f, "{\"a\":1}");
	expect(f, "{\"a\":1}", 1);
	expect(f, "{\"a\":1}", 2); /* just written: not kept */
	struct timespec old;
	clock_gettime(CLOCK_REALTIME, &old);
	old.tv_sec -= 100;
	set_mtime(f, old);
	expect(f, "{\"a\":1}", 3);
	expect(f, "{\"a\":1}", 3); /* kept */
	/* rewritten in place, same size, mtime set back to the very same
	 * time: ctime moved */
	write_file(f, "{\"a\":2}");
	set_mtime(f, old);
	expect(f, "{\"a\":2}", 4);
	expect(f, "{\"a\":2}", 4);
	/* replaced by rename, as the spool writes it */
	write_file(tmpf, "{\"a\":3}");
	set_mtime(tmpf, old);
	assert_int_equal(rename(tmpf, f), 0);
	expect(f, "{\"a\":3}", 5);
	unlink(f);
	expect(f, "null", 6);
	write_file(f, "not json");
	expect(f, "null", 7);
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test_setup_teardown(kept_until_the_file_changes, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
