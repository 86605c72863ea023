// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_fs.h"

#include "fault.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Number of entries in tmp (besides . and ..). */
static int entries(void)
{
	DIR *d = opendir(tmp);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void write_atomic_replaces_whole(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_write_atomic(at("f.json"), "old", 3, 0640, &err), 0);
	assert_int_equal(np_write_atomic(at("f.json"), "new!", 4, 0600, &err), 0);
	size_t len;
	char *s = np_read_file(at("f.json"), 100, &len, &err);
	assert_string_equal(s, "new!");
	assert_int_equal(len, 4);
	free(s);
	struct stat st;
	assert_int_equal(stat(at("f.json"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(entries(), 1);
}

/* Each failing call leaves the old content and no temporary file. */
static void write_atomic_failures_leave_nothing_half_written(void **state)
{
	(void)state;
	static const struct {
		const char *call;
		int nth, err;
		enum np_err_class cls;
	} cases[] = {
	    {"write", 1, ENOSPC, NP_ERR_TEMP},
	    {"fsync", 1, EIO, NP_ERR_TEMP},
	    {"rename", 1, EXDEV, NP_ERR_PERM},
	};
	assert_int_equal(np_write_atomic(at("m.json"), "{\"v\":1}", 7, 0640, NULL), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct np_err err = {0};
		fault_arm(cases[i].call, cases[i].nth, cases[i].err);
		assert_int_equal(np_write_atomic(at("m.json"), "{\"v\":2}", 7, 0640, &err), -1);
		fault_reset();
		assert_int_equal(err.cls, cases[i].cls);
		assert_int_equal(err.sys, cases[i].err);
		char *s = np_read_file(at("m.json"), 100, NULL, NULL);
		assert_string_equal(s, "{\"v\":1}");
		free(s);
		assert_int_equal(entries(), 1);
	}
}

static void write_atomic_syncs_file_and_folder(void **state)
{
	(void)state;
	int before = fault_calls("fsync");
	assert_int_equal(np_write_atomic(at("s"), "x", 1, 0640, NULL), 0);
	assert_int_equal(fault_calls("fsync") - before, 2);
	/* A failing folder sync is reported: the rename may not be durable. */
	struct np_err err = {0};
	fault_arm("fsync", 2, EIO);
	assert_int_equal(np_write_atomic(at("s"), "y", 1, 0640, &err), -1);
	fault_reset();
	assert_int_equal(err.cls, NP_ERR_TEMP);
}

static void append_line_adds_newline_and_fails_cleanly(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_append_line(at("h.jsonl"), "{\"a\":1}", &err), 0);
	assert_int_equal(np_append_line(at("h.jsonl"), "{\"a\":2}", &err), 0);
	char *s = np_read_file(at("h.jsonl"), 100, NULL, NULL);
	assert_string_equal(s, "{\"a\":1}\n{\"a\":2}\n");
	free(s);
	fault_arm("write", 1, ENOSPC);
	assert_int_equal(np_append_line(at("h.jsonl"), "{\"a\":3}", &err), -1);
	fault_reset();
	assert_int_equal(err.cls, NP_ERR_TEMP);
	s = np_read_file(at("h.jsonl"), 100, NULL, NULL);
	assert_string_equal(s, "{\"a\":1}\n{\"a\":2}\n");
	free(s);
}

static void read_file_limits(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_write_atomic(at("big"), "0123456789", 10, 0640, NULL), 0);
	assert_null(np_read_file(at("big"), 9, NULL, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	char *s = np_read_file(at("big"), 10, NULL, &err);
	assert_string_equal(s, "0123456789");
	free(s);
	assert_null(np_read_file(at("missing"), 10, NULL, &err));
	assert_int_equal(err.sys, ENOENT);
	/* Files whose size is unknown up front (procfs) are read whole too. */
	s = np_read_file("/proc/self/status", 1 << 20, NULL, &err);
	assert_non_null(s);
	assert_non_null(strstr(s, "Name:"));
	free(s);
}

static void rename_durable_and_failure(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_mkdirs(at("a/b/c"), 0750, &err), 0);
	assert_int_equal(np_mkdirs(at("a/b/c"), 0750, &err), 0);
	assert_true(np_is_dir(at("a/b/c")));
	assert_int_equal(np_mkdirs(at("d"), 0750, &err), 0);
	assert_int_equal(np_rename_durable(at("a/b"), at("d/b"), &err), 0);
	assert_true(np_is_dir(at("d/b/c")));
	assert_false(np_exists(at("a/b")));
	fault_arm("rename", 1, EIO);
	assert_int_equal(np_rename_durable(at("d/b"), at("a/b"), &err), -1);
	fault_reset();
	assert_true(np_is_dir(at("d/b")));
	assert_int_equal(np_rename_durable(at("nope"), at("a/x"), &err), -1);
	assert_int_equal(err.sys, ENOENT);
	/* A file in the way of a folder is an error, not a silent success. */
	assert_int_equal(np_write_atomic(at("file"), "x", 1, 0640, NULL), 0);
	assert_int_equal(np_mkdirs(at("file/sub"), 0750, &err), -1);
}

static void rmtree_and_sizes(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_mkdirs(at("t/x/y"), 0750, &err), 0);
	assert_int_equal(np_write_atomic(at("t/x/y/f"), "12345", 5, 0640, NULL), 0);
	assert_int_equal(np_write_atomic(at("t/g"), "123", 3, 0640, NULL), 0);
	assert_int_equal(symlink("/etc", at("t/link")), 0);
	assert_int_equal(np_tree_bytes(at("t")), 8);
	assert_int_equal(np_rmtree(at("t"), &err), 0);
	assert_false(np_exists(at("t")));
	assert_true(np_is_dir("/etc"));
	assert_int_equal(np_rmtree(at("t"), &err), 0);
	char out[16];
	assert_int_equal(np_path_join(out, sizeof out, "/a/", "b", &err), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(np_path_join(out, sizeof out, "/a", "bcdefghijklmnopq", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(write_atomic_replaces_whole, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(write_atomic_failures_leave_nothing_half_written, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(write_atomic_syncs_file_and_folder, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(append_line_adds_newline_and_fails_cleanly, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(read_file_limits, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(rename_durable_and_failure, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(rmtree_and_sizes, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
