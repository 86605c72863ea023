// SPDX-License-Identifier: Apache-2.0
#include "np_db.h"
#include "np_db_studies.h"
#include "np_err.h"
#include "np_json.h"
#include "np_spool.h"
#include "np_study.h"

#include "fault.h"
#include "unit.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#define ID "0b9f0f4e-1111-4222-8333-944444444444"

static void mkstudy(const char *state, const char *id)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/spool/%s/%s", tmp, state, id);
	assert_int_equal(np_mkdirs(dir, 0750, NULL), 0);
	json_t *m = np_study_new(id, "test", "dicom");
	assert_int_equal(np_study_save(dir, m, NULL), 0);
	json_decref(m);
}

static char *history(const char *state, const char *id)
{
	char p[600];
	snprintf(p, sizeof p, "%s/spool/%s/%s/history.jsonl", tmp, state, id);
	return np_read_file(p, 1 << 20, NULL, NULL);
}

static int lines(const char *s)
{
	int n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static void home_and_layout(void **state)
{
	(void)state;
	char out[512];
	struct np_err err = {0};
	assert_int_equal(np_home_resolve("/x/y//", out, sizeof out, &err), 0);
	assert_string_equal(out, "/x/y");
	setenv("NP_HOME", "/from/env", 1);
	assert_int_equal(np_home_resolve(NULL, out, sizeof out, &err), 0);
	assert_string_equal(out, "/from/env");
	unsetenv("NP_HOME");
	assert_int_equal(np_home_resolve(NULL, out, sizeof out, &err), 0);
	assert_non_null(strstr(out, "/var"));
	assert_true(out[0] == '/');
	assert_int_equal(np_spool_init(tmp, &err), 0);
	assert_int_equal(np_spool_init(tmp, &err), 0);
	for (int i = 0; np_spool_states[i]; i++) {
		char p[600];
		snprintf(p, sizeof p, "spool/%s", np_spool_states[i]);
		assert_true(np_is_dir(at(p)));
	}
	struct stat st;
	assert_int_equal(stat(at("etc/secrets"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(np_spool_state_valid("qc-failed"));
	assert_false(np_spool_state_valid("tmp"));
	assert_true(np_spool_state_terminal("cancelled"));
	assert_false(np_spool_state_terminal("ready"));
	assert_int_equal(np_spool_study_dir(tmp, "ready", "../etc", out, sizeof out, &err), -1);
	assert_int_equal(np_spool_study_dir(tmp, "ready", "..", out, sizeof out, &err), -1);
}

static void move_records_history_and_index(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkstudy("stable", ID);
	struct np_db *db = np_db_open(tmp, &err);
	assert_non_null(db);
	assert_int_equal(np_spool_move(tmp, db, ID, "stable", "qc-passed", "qc ok", &err), 0);
	char st[32];
	int claimed = -1;
	assert_int_equal(np_spool_find(tmp, ID, st, sizeof st, &claimed, &err), 0);
	assert_string_equal(st, "qc-passed");
	assert_int_equal(claimed, 0);
	char *h = history("qc-passed", ID);
	assert_int_equal(lines(h), 1);
	json_t *rec = json_loads(h, JSON_DISABLE_EOF_CHECK, NULL);
	assert_string_equal(np_json_str(rec, "from", ""), "stable");
	assert_string_equal(np_json_str(rec, "to", ""), "qc-passed");
	assert_string_equal(np_json_str(rec, "reason", ""), "qc ok");
	json_decref(rec);
	free(h);
	struct np_db_study_brief row;
	np_db_studies_brief(db, ID, &row);
	assert_string_equal(row.state, "qc-passed");
	/* Running the same move again is a no-op: converges, no second line. */
	assert_int_equal(np_spool_move(tmp, db, ID, "stable", "qc-passed", "qc ok", &err), 0);
	h = history("qc-passed", ID);
	assert_int_equal(lines(h), 1);
	free(h);
	np_db_close(db);
}

static void rerun_after_crash_between_rename_and_history(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkstudy("ready", ID);
	/* The crash: the folder was renamed, nothing else happened. */
	char a[600], b[600];
	snprintf(a, sizeof a, "%s/spool/ready/%s", tmp, ID);
	snprintf(b, sizeof b, "%s/spool/uploaded/%s", tmp, ID);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "ready", "uploaded", "r", &err), 0);
	char *h = history("uploaded", ID);
	assert_int_equal(lines(h), 1);
	free(h);
	/* A torn last line (power loss mid-append) does not swallow the next record. */
	snprintf(a, sizeof a, "%s/history.jsonl", b);
	FILE *f = fopen(a, "a");
	fputs("{\"ts\":\"2026", f);
	fclose(f);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "uploaded", "results", "r", &err), 0);
	h = history("results", ID);
	assert_int_equal(lines(h), 3);
	const char *last = strrchr(h, '{');
	json_t *rec = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
	assert_string_equal(np_json_str(rec, "to", ""), "results");
	json_decref(rec);
	free(h);
}

static void move_refuses_and_reports(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "stable", "qc-passed", "", &err), -1);
	assert_int_equal(err.sys, ENOENT);
	mkstudy("stable", ID);
	mkstudy("qc-passed", ID);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "stable", "qc-passed", "", &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "stable", "nowhere", "", &err), -1);
	/* A failing rename leaves the study where it was. */
	fault_arm("rename", 1, EIO);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "stable", "ready", "", &err), -1);
	fault_reset();
	assert_int_equal(err.cls, NP_ERR_TEMP);
	char st[32];
	int claimed;
	np_rmtree(at("spool/qc-passed/" ID), NULL);
	assert_int_equal(np_spool_find(tmp, ID, st, sizeof st, &claimed, &err), 0);
	assert_string_equal(st, "stable");
	assert_int_equal(np_spool_find(tmp, "0b9f0f4e-0000-4222-8333-944444444444", st, sizeof st, &claimed, &err), 1);
}

static void claim_unclaim_recover(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkstudy("ready", ID);
	mkstudy("ready", "second");
	assert_int_equal(np_spool_claim(tmp, "ready", ID, &err), 0);
	assert_int_equal(np_spool_claim(tmp, "ready", ID, &err), 1);
	char st[32];
	int claimed = 0;
	assert_int_equal(np_spool_find(tmp, ID, st, sizeof st, &claimed, &err), 0);
	assert_int_equal(claimed, 1);
	assert_int_equal(np_spool_unclaim(tmp, "ready", ID, &err), 0);
	assert_int_equal(np_spool_unclaim(tmp, "ready", ID, &err), 0);
	assert_true(np_is_dir(at("spool/ready/" ID)));
	assert_int_equal(np_spool_claim(tmp, "ready", ID, &err), 0);
	assert_int_equal(np_spool_claim(tmp, "ready", "second", &err), 0);
	assert_int_equal(np_spool_recover(tmp, "ready", &err), 2);
	assert_int_equal(np_spool_recover(tmp, "ready", &err), 0);
	assert_true(np_is_dir(at("spool/ready/second")));
	/* A claimed study moves straight out of .work. */
	assert_int_equal(np_spool_claim(tmp, "ready", ID, &err), 0);
	assert_int_equal(np_spool_move(tmp, NULL, ID, "ready", "uploaded", "", &err), 0);
	assert_true(np_is_dir(at("spool/uploaded/" ID)));
	assert_false(np_exists(at("spool/ready/.work/" ID)));
	assert_int_equal(np_spool_unclaim(tmp, "ready", "absent", &err), -1);
}

static int collect(const char *home, const char *state, const char *id, const char *dir, void *ctx)
{
	(void)home, (void)dir;
	char *out = ctx;
	strcat(out, state);
	strcat(out, ":");
	strcat(out, id);
	strcat(out, " ");
	return strcmp(id, "stop") ? 0 : 42;
}

static void walks_oldest_first(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	const char *ids[] = {"b", "c", "a"};
	for (int i = 0; i < 3; i++) {
		mkstudy("stable", ids[i]);
		char p[600];
		snprintf(p, sizeof p, "%s/spool/stable/%s", tmp, ids[i]);
		struct utimbuf t = {1000 + i, 1000 + i};
		assert_int_equal(utime(p, &t), 0);
	}
	mkstudy("done", "d");
	assert_int_equal(np_spool_claim(tmp, "stable", "c", &err), 0);
	char out[256] = "";
	assert_int_equal(np_spool_each(tmp, "stable", collect, out, &err), 0);
	assert_string_equal(out, "stable:b stable:a ");
	out[0] = 0;
	assert_int_equal(np_spool_each_study(tmp, collect, out, &err), 0);
	assert_string_equal(out, "stable:b stable:a stable:c done:d ");
	mkstudy("failed", "stop");
	mkstudy("failed", "zzz");
	char p[600];
	snprintf(p, sizeof p, "%s/spool/failed/stop", tmp);
	struct utimbuf t = {10, 10};
	utime(p, &t);
	out[0] = 0;
	assert_int_equal(np_spool_each(tmp, "failed", collect, out, &err), 42);
	assert_string_equal(out, "failed:stop ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(home_and_layout, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(move_records_history_and_index, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(rerun_after_crash_between_rename_and_history, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(move_refuses_and_reports, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(claim_unclaim_recover, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(walks_oldest_first, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
