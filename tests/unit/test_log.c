// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_log.h"

#include "fault.h"
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Run fn with stderr redirected to a file; return what was written. */
static char *capture(void (*fn)(void))
{
	fflush(stderr);
	int saved = dup(2);
	int fd = open(at("stderr"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
	fn();
	dup2(saved, 2);
	close(saved);
	return np_read_file(at("stderr"), 1 << 20, NULL, NULL);
}

static int writes;

static void one_info(void)
{
	int before = fault_calls("write");
	np_info("0b9f0f4e-1111-4222-8333-944444444444", "moved to=%s count=%d", "qc-passed", 3);
	writes = fault_calls("write") - before;
}

static void line_format_and_one_write(void **state)
{
	(void)state;
	np_log_init("/usr/bin/np-test");
	char *out = capture(one_info);
	assert_string_equal(out, "np-test: info: 0b9f0f4e-1111-4222-8333-944444444444 moved to=qc-passed count=3\n");
	assert_int_equal(writes, 1);
	free(out);
}

static void injected(void)
{
	np_warn(NULL, "name=%s", "DOE^JOHN\nnp-test: info: - forged line\r");
}

static void newlines_cannot_forge_lines(void **state)
{
	(void)state;
	np_log_init("np-test");
	char *out = capture(injected);
	assert_string_equal(out, "np-test: warning: - name=DOE^JOHN np-test: info: - forged line \n");
	free(out);
}

static void debug_filtered(void)
{
	np_debug(NULL, "hidden"), np_error(NULL, "shown");
}

static void levels_filter(void **state)
{
	(void)state;
	np_log_init("np-test");
	np_log_set_level(NP_LOG_INFO);
	char *out = capture(debug_filtered);
	assert_string_equal(out, "np-test: error: - shown\n");
	free(out);
	setenv("NP_LOG_LEVEL", "debug", 1);
	np_log_init("np-test");
	out = capture(debug_filtered);
	assert_string_equal(out, "np-test: debug: - hidden\nnp-test: error: - shown\n");
	free(out);
	unsetenv("NP_LOG_LEVEL");
	np_log_set_level(NP_LOG_INFO);
}

static void long_line(void)
{
	static char big[5000];
	memset(big, 'a', sizeof big - 1);
	np_info(NULL, "%s", big);
}

static void long_lines_truncated_but_terminated(void **state)
{
	(void)state;
	np_log_init("np-test");
	char *out = capture(long_line);
	size_t n = strlen(out);
	assert_true(n <= 2048);
	assert_int_equal(out[n - 1], '\n');
	assert_null(strchr(out, '\n') != out + n - 1 ? out : NULL);
	free(out);
}

static void errs(void)
{
	struct np_err t = {0}, p = {0};
	np_err_set(&t, NP_ERR_TEMP, "disk busy");
	np_err_set(&p, NP_ERR_PERM, "bad input");
	np_log_err("id1", &t);
	np_log_err("id2", &p);
	np_log_err("id3", NULL);
}

static void errors_by_class(void **state)
{
	(void)state;
	np_log_init("np-test");
	char *out = capture(errs);
	assert_string_equal(out, "np-test: warning: id1 disk busy\nnp-test: error: id2 bad input\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(line_format_and_one_write, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(newlines_cannot_forge_lines, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(levels_filter, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(long_lines_truncated_but_terminated, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(errors_by_class, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
