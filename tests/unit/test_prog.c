// SPDX-License-Identifier: Apache-2.0
#include "np_prog.h"

#include "np_fs.h"

#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum { K_JOBS = NP_PROG_LONG, K_DRY };

static const struct np_prog_opt opts[] = {
    {"quiet", 'q', NULL, "say less"},
    {"jobs", K_JOBS, "N", "parallel jobs"},
    {"dry-run", K_DRY, NULL, "change nothing"},
    {"by", 'w', "WHO", "who asks"},
    {0},
};

/* What the callback saw, in order: "q", "jobs=3", "args=2" ... */
struct seen {
	char log[256];
	int answer_at; /* answer `answer` to the key at this call (1-based), else NP_PROG_GO */
	int answer;
	int calls;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct seen *s = p->ctx;
	size_t n = strlen(s->log);
	if (key == NP_PROG_ARGS)
		snprintf(s->log + n, sizeof s->log - n, "args=%d ", p->argc);
	else if (key == K_JOBS || key == 'w')
		snprintf(s->log + n, sizeof s->log - n, "%s=%s ", key == 'w' ? "by" : "jobs", arg);
	else
		snprintf(s->log + n, sizeof s->log - n, "%s ", key == K_DRY ? "dry" : "q");
	return ++s->calls == s->answer_at ? s->answer : NP_PROG_GO;
}

/* np_prog_start on a NULL-terminated argument list, with stdout and stderr
 * to out (what the program would print; NULL: discarded). */
static int start(const struct np_prog_spec *spec, struct np_prog *p, struct seen *s, char *out, size_t outsz, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	va_start(ap, outsz);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	char path[512];
	snprintf(path, sizeof path, "%s/out.txt", tmp);
	fflush(stdout);
	fflush(stderr);
	int o = dup(1), e = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(o >= 0 && e >= 0 && fd >= 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	int rc = np_prog_start(argc, argv, spec, p, on_opt, s);
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	if (out) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(out, 1, outsz - 1, f) : 0;
		out[n] = 0;
		if (f)
			fclose(f);
	}
	return rc;
}

static const struct np_prog_spec tool = {
    .name = "np-tool",
    .synopsis = "[--home DIR] [--quiet] STUDYDIR\n--jobs N STUDYDIR...",
    .about = "Does one thing.",
    .opts = opts,
    .needs = NP_PROG_HOME,
    .min_args = 1,
    .max_args = 2,
};

static void help_comes_from_the_table(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	char out[2048];
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "--help", "--bogus", NULL), 0);
	assert_string_equal(out, "usage: np-tool [--home DIR] [--quiet] STUDYDIR\n"
				 "       np-tool --jobs N STUDYDIR...\n"
				 "Does one thing.\n"
				 "options:\n"
				 "  -H, --home DIR            agent home (default $NP_HOME, else ./var)\n"
				 "  -q, --quiet               say less\n"
				 "      --jobs N              parallel jobs\n"
				 "      --dry-run             change nothing\n"
				 "  -w, --by WHO              who asks\n"
				 "  -h, --help                print this help and exit\n");
	assert_string_equal(s.log, "");
	np_prog_end(&p);
	/* a program without a home has no --home, and -h is --help */
	static const struct np_prog_spec bare = {.name = "np-bare", .synopsis = "", .opts = opts};
	assert_int_equal(start(&bare, &p, &s, out, sizeof out, "np-bare", "-h", NULL), 0);
	assert_null(strstr(out, "--home"));
	assert_non_null(strstr(out, "usage: np-bare\noptions:\n  -q, --quiet"));
	assert_int_equal(start(&bare, &p, &s, out, sizeof out, "np-bare", "-H", "x", NULL), NP_EXIT_PERM);
}

static void options_short_and_long_then_args(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	assert_int_equal(start(&tool, &p, &s, NULL, 0, "np-tool", "-q", "a", "--jobs", "3", "-wme", "--dry-run", "-H",
			       tmp, "b", NULL),
			 NP_PROG_GO);
	assert_string_equal(s.log, "q jobs=3 by=me dry args=2 ");
	assert_int_equal(p.argc, 2);
	assert_string_equal(p.argv[0], "a");
	assert_string_equal(p.argv[1], "b");
	assert_string_equal(p.home, tmp);
	np_prog_end(&p);
	/* NP_HOME when there is no --home */
	setenv("NP_HOME", at("h2"), 1);
	assert_int_equal(start(&tool, &p, &s, NULL, 0, "np-tool", "a", NULL), NP_PROG_GO);
	assert_string_equal(p.home, at("h2"));
	unsetenv("NP_HOME");
	np_prog_end(&p);
}

static void usage_errors_print_the_help_and_exit_100(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	char out[2048];
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "--bogus", "a", NULL), NP_EXIT_PERM);
	assert_non_null(strstr(out, "usage: np-tool"));
	assert_non_null(strstr(out, "--jobs N"));
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", NULL), NP_EXIT_PERM); /* too few */
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "a", "b", "c", NULL),
			 NP_EXIT_PERM); /* many */
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "a", "--jobs", NULL), NP_EXIT_PERM);
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "-p", "a", NULL), NP_EXIT_PERM);
	/* a long-only option has no short form */
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "-d", "a", NULL), NP_EXIT_PERM);
	assert_string_equal(s.log, "");
	np_prog_end(&p);
}

static void callback_answers_stop_the_start(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {.answer_at = 1, .answer = NP_PROG_USAGE};
	char out[2048];
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "-q", "-q", "a", NULL), NP_EXIT_PERM);
	assert_string_equal(s.log, "q ");
	assert_non_null(strstr(out, "usage: np-tool"));
	/* an exit code of its own: returned as is, nothing printed */
	s = (struct seen){.answer_at = 2, .answer = 0};
	assert_int_equal(start(&tool, &p, &s, out, sizeof out, "np-tool", "-q", "a", NULL), 0);
	assert_string_equal(s.log, "q args=1 ");
	assert_string_equal(out, "");
	np_prog_end(&p);
}

static void in_order_stops_at_the_first_argument(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	struct np_prog_spec spec = tool;
	spec.needs |= NP_PROG_IN_ORDER;
	spec.max_args = -1;
	assert_int_equal(start(&spec, &p, &s, NULL, 0, "np-tool", "-q", "a", "--", "cmd", "-q", NULL), NP_PROG_GO);
	assert_string_equal(s.log, "q args=4 ");
	assert_string_equal(p.argv[1], "--");
	assert_string_equal(p.argv[3], "-q");
	np_prog_end(&p);
	/* without it, options are found after arguments too */
	s = (struct seen){0};
	spec.needs = NP_PROG_HOME;
	assert_int_equal(start(&spec, &p, &s, NULL, 0, "np-tool", "a", "-q", NULL), NP_PROG_GO);
	assert_string_equal(s.log, "q args=1 ");
	np_prog_end(&p);
}

static void opens_what_it_needs(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	char study[600];
	snprintf(study, sizeof study, "%s/spool/done/0b6f3c2e-8a31-4f5e-9c1d-2e3f4a5b6c7d/", tmp);
	struct np_prog_spec spec = tool;
	spec.needs = NP_PROG_SPOOL | NP_PROG_CONFIG | NP_PROG_INDEX | NP_PROG_STUDY;
	assert_int_equal(start(&spec, &p, &s, NULL, 0, "np-tool", "-H", tmp, study, NULL), NP_PROG_GO);
	assert_true(np_is_dir(at("spool/incoming")));
	assert_non_null(p.db);
	assert_non_null(np_config_str(&p.cfg, "dicom.ae_title"));
	assert_string_equal(p.npuid, "0b6f3c2e-8a31-4f5e-9c1d-2e3f4a5b6c7d");
	assert_int_equal(strlen(p.dir), strlen(study) - 1); /* without the trailing slash */
	/* opening again what is open does nothing */
	struct np_db *db = p.db;
	assert_int_equal(np_prog_open(&p, NP_PROG_INDEX | NP_PROG_CONFIG), NP_PROG_GO);
	assert_ptr_equal(p.db, db);
	np_prog_end(&p);
	assert_null(p.db);
}

static void open_failures_are_logged_and_give_their_exit_code(void **state)
{
	(void)state;
	struct np_prog p;
	struct seen s = {0};
	char out[2048];
	struct np_prog_spec spec = tool;
	/* a study folder whose name is not an npuid: 100 */
	spec.needs = NP_PROG_STUDY | NP_PROG_CONFIG;
	assert_int_equal(start(&spec, &p, &s, out, sizeof out, "np-tool", "-H", tmp, "/x/not-a-study", NULL),
			 NP_EXIT_PERM);
	assert_non_null(strstr(out, "np-tool: error: - "));
	np_prog_end(&p);
	/* bad settings: 100, logged with the study's npuid */
	assert_int_equal(np_mkdirs(at("etc"), 0700, NULL), 0);
	FILE *f = fopen(at("etc/neuropacs.json"), "w");
	assert_non_null(f);
	fputs("{\"dicom\": {\"port\": 70000}}", f);
	fclose(f);
	assert_int_equal(start(&spec, &p, &s, out, sizeof out, "np-tool", "-H", tmp,
			       "/x/0b6f3c2e-8a31-4f5e-9c1d-2e3f4a5b6c7d", NULL),
			 NP_EXIT_PERM);
	assert_non_null(strstr(out, "np-tool: error: 0b6f3c2e-8a31-4f5e-9c1d-2e3f4a5b6c7d "));
	assert_non_null(strstr(out, "dicom.port"));
	np_prog_end(&p);
	/* an index that cannot open: fatal for NP_PROG_INDEX, a warning for _SOFT */
	char home[512];
	snprintf(home, sizeof home, "%s", at("h3"));
	assert_int_equal(np_mkdirs(home, 0700, NULL), 0);
	f = fopen(at("h3/db"), "w"); /* a file where the index's folder goes */
	assert_non_null(f);
	fclose(f);
	spec.needs = NP_PROG_INDEX_SOFT;
	assert_int_equal(start(&spec, &p, &s, out, sizeof out, "np-tool", "-H", home, "a", NULL), NP_PROG_GO);
	assert_null(p.db);
	assert_non_null(strstr(out, "np-tool: warning: - index unavailable: "));
	np_prog_end(&p);
	spec.needs = NP_PROG_INDEX;
	int rc = start(&spec, &p, &s, out, sizeof out, "np-tool", "-H", home, "a", NULL);
	assert_true(rc == NP_EXIT_PERM || rc == NP_EXIT_TEMP);
	assert_null(p.db);
	np_prog_end(&p);
}

static void fail_logs_and_maps_the_class(void **state)
{
	(void)state;
	struct np_err e = {0};
	np_err_set(&e, NP_ERR_TEMP, "busy");
	int o = dup(2), fd = open("/dev/null", O_WRONLY);
	dup2(fd, 2);
	close(fd);
	int rc = np_prog_fail(NULL, &e);
	dup2(o, 2);
	close(o);
	assert_int_equal(rc, NP_EXIT_TEMP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(help_comes_from_the_table, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(options_short_and_long_then_args, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(usage_errors_print_the_help_and_exit_100, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(callback_answers_stop_the_start, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(in_order_stops_at_the_first_argument, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(opens_what_it_needs, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(open_failures_are_logged_and_give_their_exit_code, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(fail_logs_and_maps_the_class, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
