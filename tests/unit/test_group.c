// SPDX-License-Identifier: Apache-2.0
#include "np_config.h"
#include "np_db.h"
#include "np_db_int.h" /* white-box: np_db_exec */
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_group.h"
#include "np_json.h"
#include "np_groupreport.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char home[256];
static struct np_db *db;

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/np-unit-group.XXXXXX");
	assert_non_null(mkdtemp(home));
	assert_int_equal(np_spool_init(home, NULL), 0);
	db = np_index_open(home, NULL);
	assert_non_null(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	np_db_close(db);
	np_rmtree(home, NULL);
	return 0;
}

/* A study in `state` with the products given as a JSON array text. */
static const char *study(const char *state, const char *products, const char *format)
{
	static char ids[8][37];
	static int n;
	char *id = ids[n++ % 8], dir[512];
	assert_int_equal(np_uuid4(id, NULL), 0);
	assert_int_equal(np_spool_study_dir(home, state, id, dir, sizeof dir, NULL), 0);
	assert_int_equal(np_mkdirs(dir, 0750, NULL), 0);
	json_t *m = np_study_new(id, "dicom", format);
	json_object_set_new(m, "products", json_loads(products, 0, NULL));
	assert_int_equal(np_study_save(dir, m, NULL), 0);
	assert_int_equal(np_db_study_put(db, id, state, m, NULL), 0);
	json_decref(m);
	return id;
}

static const char *manifest_group(const char *id)
{
	static char out[256];
	char state[32], dir[512];
	assert_int_equal(np_spool_find(home, id, state, sizeof state, NULL, NULL), 0);
	np_spool_study_dir(home, state, id, dir, sizeof dir, NULL);
	json_t *m = np_study_load(dir, NULL);
	snprintf(out, sizeof out, "%s", np_json_str(m, "group", "(none)"));
	json_decref(m);
	return out;
}

static void names(void **state)
{
	(void)state;
	assert_true(np_group_name_valid("Trial A"));
	assert_true(np_group_name_valid("a..b: c?"));
	assert_true(np_group_name_valid("Zo\xc3\xab"));
	/* /api/groups/NAME could never reach these */
	assert_false(np_group_name_valid("a/b ../c"));
	assert_false(np_group_name_valid("a\\b"));
	assert_false(np_group_name_valid("."));
	assert_false(np_group_name_valid(".."));
	assert_string_equal(np_group_name_problem("../../x"), "it has a '/' or '\\'");
	assert_string_equal(np_group_name_problem(".."), "it is '.' or '..'");
	assert_string_equal(np_group_name_problem("a\x1b[2J"), "it has a control character (tab, newline, escape...)");
	assert_string_equal(np_group_name_problem("caf\xe9"), "it is not valid UTF-8");
	assert_string_equal(np_group_name_problem("\xed\xa0\x80"), "it is not valid UTF-8"); /* a surrogate */
	assert_false(np_group_name_valid("id:42"));
	assert_true(np_group_name_valid("id:42a"));
	assert_null(np_group_name_problem("Trial A"));
	assert_false(np_group_name_valid(""));
	assert_false(np_group_name_valid(" lead"));
	assert_false(np_group_name_valid("tab\there"));
	/* Characters a reader cannot see, or that reorder what is shown: a name
	 * that looks like another, or hides its end. Named by code point. */
	assert_string_equal(np_group_name_problem("a\xc2\x85"
						  "b"),
			    "it has a control character U+0085");
	assert_string_equal(np_group_name_problem("a\xc2\x80"), "it has a control character U+0080");
	assert_string_equal(np_group_name_problem("a\xc2\x9f"), "it has a control character U+009F");
	assert_string_equal(np_group_name_problem("a\xe2\x80\xae"
						  "b"),
			    "it has an invisible or direction-changing character U+202E");
	assert_string_equal(np_group_name_problem("a\xe2\x80\x8b"
						  "b"),
			    "it has an invisible or direction-changing character U+200B");
	static const char *const hidden[] = {"\xe2\x80\xaa", "\xe2\x80\xac", "\xe2\x81\xa6", "\xe2\x81\xa9",
					     "\xe2\x80\x8e", "\xe2\x80\x8f", "\xd8\x9c",     "\xe2\x80\x8c",
					     "\xe2\x80\x8d", "\xe2\x81\xa0", "\xe2\x81\xa4", "\xef\xbb\xbf",
					     "\xc2\xad",     "\xe2\x80\xa8", "\xe2\x80\xa9", "\xf3\xa0\x80\x81"};
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		char n[32];
		snprintf(n, sizeof n, "a%sb", hidden[i]);
		const char *why = np_group_name_problem(n);
		assert_non_null(why);
		assert_non_null(strstr(why, "invisible or direction-changing character U+"));
	}
	/* Visible letters and punctuation beyond ASCII stay fine. */
	assert_null(np_group_name_problem(
	    "\xc2\xa9 Stud\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7"));
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_false(np_group_name_valid(big));
}

static void same_products_rule(void **state)
{
	(void)state;
	struct np_err err = {0};
	json_t *p = json_pack("[s]", "Atypical/MSAp/PSP-v1.0");
	assert_int_equal(np_group_create(db, "T", p, "d", &err), 0);
	assert_int_equal(np_group_create(db, "T", p, NULL, &err), -1);
	json_decref(p);
	const char *a = study("done", "[\"Atypical/MSAp/PSP-v1.0\"]", "dicom");
	const char *b = study("results", "[\"AIDP\",\"Atypical/MSAp/PSP-v1.0\"]", "dicom");
	assert_int_equal(np_group_assign(home, db, "T", a, &err), 0);
	assert_string_equal(manifest_group(a), "T");
	assert_int_equal(np_group_assign(home, db, "T", b, &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "AIDP"));
	assert_non_null(strstr(err.msg, "same products"));
	assert_string_equal(manifest_group(b), "(none)");
	/* an empty group without products takes them from its first study */
	assert_int_equal(np_group_create(db, "E", NULL, NULL, &err), 0);
	assert_int_equal(np_group_assign(home, db, "E", b, &err), 0);
	json_t *g = np_group_get(db, "E", &err);
	assert_int_equal(json_array_size(json_object_get(g, "products")), 2);
	json_decref(g);
	assert_int_equal(np_group_assign(home, db, "nope", a, &err), -1);
}

static void completion_and_reopen(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_group_create(db, "C", NULL, NULL, &err), 0);
	int became = 0;
	assert_int_equal(np_group_check(db, "C", &became, &err), 0); /* empty is not complete */
	const char *a = study("done", "[\"P\"]", "dicom");
	const char *b = study("uploaded", "[\"P\"]", "dicom");
	assert_int_equal(np_group_assign(home, db, "C", a, &err), 0);
	assert_int_equal(np_group_assign(home, db, "C", b, &err), 0);
	assert_int_equal(np_group_check(db, "C", &became, &err), 0);
	assert_int_equal(np_spool_move(home, db, b, "uploaded", "failed", "test", &err), 0);
	assert_int_equal(np_group_check(db, "C", &became, &err), 1);
	assert_int_equal(became, 1);
	assert_int_equal(np_group_check(db, "C", &became, &err), 1);
	assert_int_equal(became, 0); /* once per completion */
	const char *c = study("ready", "[\"P\"]", "dicom");
	assert_int_equal(np_group_assign(home, db, "C", c, &err), 0); /* re-opens */
	json_t *g = np_group_get(db, "C", &err);
	assert_true(json_is_null(json_object_get(g, "completed_at")));
	assert_false(json_is_true(json_object_get(g, "complete")));
	json_decref(g);
	assert_int_equal(np_group_unassign(home, db, c, &err), 0);
	assert_string_equal(manifest_group(c), "(none)");
	assert_int_equal(np_group_check(db, "C", &became, &err), 1);
	assert_int_equal(became, 1);
}

static void rename_delete_and_rebuild(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_group_create(db, "old", NULL, NULL, &err), 0);
	const char *a = study("done", "[\"P\"]", "dicom");
	assert_int_equal(np_group_assign(home, db, "old", a, &err), 0);
	assert_int_equal(np_group_rename(home, db, "old", "new name", &err), 0);
	assert_string_equal(manifest_group(a), "new name");
	assert_null(np_group_get(db, "old", &err));
	assert_int_equal(np_group_delete(home, db, "new name", 0, &err), -1); /* not empty */
	/* the index is rebuilt from the spool: the group comes back from the manifests */
	np_db_close(db);
	char p[512];
	snprintf(p, sizeof p, "%s/db/agent.sqlite", home);
	unlink(p);
	snprintf(p, sizeof p, "%s/db/agent.sqlite-wal", home);
	unlink(p);
	snprintf(p, sizeof p, "%s/db/agent.sqlite-shm", home);
	unlink(p);
	db = np_index_open(home, &err);
	assert_non_null(db);
	json_t *g = np_group_get(db, "new name", &err);
	assert_non_null(g);
	assert_int_equal(json_integer_value(json_object_get(g, "studies")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(g, "products"), 0)), "P");
	json_decref(g);
	assert_int_equal(np_group_delete(home, db, "new name", 1, &err), 0);
	assert_string_equal(manifest_group(a), "(none)");
}

/* A group named before names were checked is reached by id, renamed and
 * deleted; a name that fails the check is still found by name first. */
static void old_names_by_id(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_db_exec(db, "INSERT INTO groups (name, products) VALUES ('a/b', '[]')", &err), 0);
	json_t *l = np_group_list(db, &err), *g;
	size_t i;
	long long id = 0;
	json_array_foreach (l, i, g) {
		if (!strcmp(json_string_value(json_object_get(g, "name")), "a/b"))
			id = json_integer_value(json_object_get(g, "id"));
	}
	json_decref(l);
	assert_true(id > 0);
	char ref[32], name[256];
	snprintf(ref, sizeof ref, "id:%lld", id);
	assert_int_equal(np_group_resolve(db, ref, name, sizeof name, &err), 0);
	assert_string_equal(name, "a/b");
	char sql[128];
	snprintf(sql, sizeof sql, "INSERT INTO groups (name, products) VALUES ('%s', '[]')", ref);
	assert_int_equal(np_db_exec(db, sql, &err), 0);
	assert_int_equal(np_group_resolve(db, ref, name, sizeof name, &err), 0);
	assert_string_equal(name, ref); /* a group really named so wins (new names cannot be) */
	assert_int_equal(np_group_resolve(db, "id:999999", name, sizeof name, &err), -1);
	assert_string_equal(err.msg, "no group has the id 999999");
	assert_int_equal(np_group_resolve(db, "unknown", name, sizeof name, &err), 0);
	assert_string_equal(name, "unknown"); /* the caller reports it unknown */
	assert_int_equal(np_group_rename(home, db, "a/b", "a-b", &err), 0);
	assert_int_equal(np_group_rename(home, db, "a-b", "a/c", &err), -1);
	assert_string_equal(err.msg, "invalid new group name: it has a '/' or '\\'");
	assert_int_equal(np_group_delete(home, db, "a-b", 0, &err), 0);
}

static void auto_assign(void **state)
{
	(void)state;
	struct np_err err = {0};
	char p[512];
	snprintf(p, sizeof p, "%s/etc/neuropacs.json", home);
	const char *s = "{\"groups\":{\"auto_assign\":true,\"auto_assign_group\":\"Inbox\"}}";
	assert_int_equal(np_write_atomic(p, s, strlen(s), 0640, NULL), 0);
	struct np_config cfg;
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	json_t *m = np_study_new("4b1a7c3e-0000-4000-8000-000000000001", "dicom", "dicom");
	json_object_set_new(m, "products", json_pack("[s]", "P"));
	assert_int_equal(np_group_auto_assign(home, db, &cfg, m, &err), 1);
	assert_string_equal(np_json_str(m, "group", ""), "Inbox");
	assert_int_equal(np_group_auto_assign(home, db, &cfg, m, &err), 0); /* already grouped */
	json_decref(m);
	m = np_study_new("4b1a7c3e-0000-4000-8000-000000000002", "import", "nifti");
	assert_int_equal(np_group_auto_assign(home, db, &cfg, m, &err), 0); /* DICOM only */
	json_decref(m);
	m = np_study_new("4b1a7c3e-0000-4000-8000-000000000003", "dicom", "dicom");
	json_object_set_new(m, "products", json_pack("[s]", "Q"));
	assert_int_equal(np_group_auto_assign(home, db, &cfg, m, &err), 0); /* products differ */
	assert_true(json_is_null(json_object_get(m, "group")));
	json_decref(m);
	np_config_free(&cfg);
}

static void report_file_names(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_config cfg;
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	char out[256];
	time_t t = 1795814820; /* 2026-11-27 */
	assert_int_equal(np_groupreport_filename(&cfg, "Trial A", t, out, sizeof out, &err), 0);
	assert_string_equal(out, "Trial_A_prediction_indexes_2026-11-27.csv");
	assert_int_equal(np_groupreport_filename(&cfg, "../../etc/passwd", t, out, sizeof out, &err), 0);
	assert_null(strchr(out, '/'));
	assert_true(out[0] != '.');
	assert_int_equal(np_groupreport_filename(&cfg, "caf\xc3\xa9 $(x);|`", t, out, sizeof out, &err), 0);
	assert_string_equal(out, "caf_____x_____prediction_indexes_2026-11-27.csv");
	np_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names),
	    cmocka_unit_test_setup_teardown(same_products_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(completion_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(rename_delete_and_rebuild, setup, teardown),
	    cmocka_unit_test_setup_teardown(old_names_by_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(auto_assign, setup, teardown),
	    cmocka_unit_test_setup_teardown(report_file_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
