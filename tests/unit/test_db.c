// SPDX-License-Identifier: Apache-2.0
#include "np_db.h"
#include "np_db_int.h" /* white-box: reads the tables with SQL of its own */
#include "np_index.h"
#include "np_err.h"
#include "np_spool.h"
#include "np_study.h"

#include "unit.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void mkstudy(const char *state, const char *id, const char *name)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/spool/%s/%s", tmp, state, id);
	assert_int_equal(np_mkdirs(dir, 0750, NULL), 0);
	json_t *m = np_study_new(id, "dicom", "dicom");
	json_object_set_new(json_object_get(m, "patient"), "name", json_string(name));
	json_object_set_new(json_object_get(m, "counts"), "instances", json_integer(12));
	assert_int_equal(np_study_save(dir, m, NULL), 0);
	json_decref(m);
}

/* First column of the first row of sql, as text ("" if none). */
static const char *one(struct np_db *db, const char *sql)
{
	static char out[256];
	sqlite3_stmt *st;
	out[0] = 0;
	assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void open_migrates_and_uses_wal(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_db *db = np_db_open(tmp, &err);
	assert_non_null(db);
	int v = atoi(one(db, "PRAGMA user_version"));
	assert_true(v >= 1);
	assert_string_equal(one(db, "PRAGMA journal_mode"), "wal");
	assert_string_equal(one(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				    " ('studies','events','groups','audit','sessions','metrics','kv')"),
			    "7");
	np_db_close(db);
	/* Re-opening keeps the version; a newer schema is refused. */
	db = np_db_open(tmp, &err);
	assert_int_equal(atoi(one(db, "PRAGMA user_version")), v);
	assert_int_equal(np_db_exec(db, "PRAGMA user_version = 9999", &err), 0);
	np_db_close(db);
	assert_null(np_db_open(tmp, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "newer"));
}

static void missing_file_is_rebuilt_from_the_spool(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkstudy("qc-failed", "s1", "CANARY^ONE");
	mkstudy("done", "s2", "CANARY^TWO");
	mkstudy("ready", "s3", "CANARY^THREE");
	assert_int_equal(np_spool_claim(tmp, "ready", "s3", &err), 0);
	struct np_db *db = np_index_open(tmp, &err);
	assert_non_null(db);
	assert_string_equal(one(db, "SELECT group_concat(npuid || '=' || state, ' ') FROM"
				    " (SELECT * FROM studies ORDER BY npuid)"),
			    "s1=qc-failed s2=done s3=ready");
	assert_string_equal(one(db, "SELECT patient_name FROM studies WHERE npuid='s2'"), "CANARY^TWO");
	assert_string_equal(one(db, "SELECT instances FROM studies WHERE npuid='s2'"), "12");
	assert_int_equal(np_db_kv_set(db, "agent_id", "A1", &err), 0);
	np_db_close(db);
	/* Delete the database (and its WAL): the next open rebuilds the studies. */
	unlink(at("db/agent.sqlite"));
	unlink(at("db/agent.sqlite-wal"));
	unlink(at("db/agent.sqlite-shm"));
	np_rmtree(at("spool/done/s2"), NULL);
	/* A new file opened below the index (np_spool_move's own open) stays
	 * empty, and the next np_index_open still fills it. */
	db = np_db_open(tmp, &err);
	assert_non_null(db);
	assert_string_equal(one(db, "SELECT count(*) FROM studies"), "0");
	np_db_close(db);
	db = np_index_open(tmp, &err);
	assert_non_null(db);
	assert_string_equal(one(db, "SELECT count(*) FROM studies"), "2");
	assert_null(np_db_kv_get(db, "agent_id"));
	/* np_index_rebuild drops rows of studies that left the spool. */
	np_rmtree(at("spool/qc-failed/s1"), NULL);
	assert_int_equal(np_index_rebuild(db, &err), 0);
	assert_string_equal(one(db, "SELECT group_concat(npuid) FROM studies"), "s3");
	np_db_close(db);
}

static void rows_columns_events_kv(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	struct np_db *db = np_db_open(tmp, &err);
	assert_non_null(db);
	/* A state change for a study the index does not know yet adds it. */
	mkstudy("stable", "s9", "CANARY^NINE");
	assert_int_equal(np_spool_move(tmp, db, "s9", "stable", "qc-passed", "test", &err), 0);
	assert_string_equal(one(db, "SELECT patient_name || '/' || stable FROM studies WHERE npuid='s9'"),
			    "CANARY^NINE/1");
	assert_int_equal(np_db_study_set(db, "s9", "qc_result", "passed", &err), 0);
	assert_int_equal(np_db_study_set(db, "s9", "patient_name; DROP TABLE studies", "x", &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	/* A put from the manifest keeps what other stages recorded. */
	assert_int_equal(np_db_study_put(db, "s9", "qc-passed", NULL, &err), 0);
	assert_string_equal(one(db, "SELECT qc_result || '/' || state FROM studies WHERE npuid='s9'"),
			    "passed/qc-passed");
	assert_int_equal(np_db_event(db, "s9", "qc_passed", NULL, "checks=12", &err), 0);
	assert_int_equal(np_db_event(db, NULL, "low_disk", "warning", "free=5%", &err), 0);
	assert_string_equal(one(db, "SELECT group_concat(type || ':' || level || ':' || notified, ' ') FROM events"),
			    "qc_passed:info:0 low_disk:warning:0");
	assert_int_equal(np_db_study_delete(db, "s9", &err), 0);
	assert_string_equal(one(db, "SELECT count(*) FROM studies"), "0");
	assert_null(np_db_kv_get(db, "k"));
	assert_int_equal(np_db_kv_set(db, "k", "v1", &err), 0);
	assert_int_equal(np_db_kv_set(db, "k", "v2", &err), 0);
	char *v = np_db_kv_get(db, "k");
	assert_string_equal(v, "v2");
	free(v);
	assert_int_equal(np_db_exec(db, "not sql", &err), -1);
	assert_int_equal(np_db_exec(db, "UPDATE audit SET actor='x'", &err), 0);
	assert_int_equal(np_db_exec(db,
				    "INSERT INTO audit (ts, action) VALUES ('t','login');"
				    " UPDATE audit SET actor='x'",
				    &err),
			 -1);
	np_db_close(db);
}

/* The search index (migration 3) follows every write of np_db. */
static void search_index_follows_the_rows(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	mkstudy("stable", "s1", "CANARY^ONE");
	struct np_db *db = np_index_open(tmp, &err);
	assert_non_null(db);
	const char *hits = "SELECT group_concat(npuid) FROM studies WHERE rowid IN"
			   " (SELECT rowid FROM studies_fts WHERE studies_fts MATCH '\"anary^on\"')";
	assert_string_equal(one(db, hits), "s1");
	assert_string_equal(one(db, "SELECT rowid FROM studies WHERE npuid='s1'"), "1");
	/* np_db_study_put of a known study updates it in place (same rowid),
	 * keeping what later stages set. */
	assert_int_equal(np_db_study_set(db, "s1", "order_id", "ORD-42", &err), 0);
	assert_int_equal(np_db_study_put(db, "s1", "qc-passed", NULL, &err), 0);
	assert_string_equal(one(db, "SELECT rowid || '/' || state || '/' || order_id FROM studies WHERE npuid='s1'"),
			    "1/qc-passed/ORD-42");
	assert_string_equal(one(db, "SELECT group_concat(rowid) FROM studies_fts WHERE studies_fts MATCH"
				    " '{order_id} : \"rd-4\"'"),
			    "1");
	/* The put without a manifest cleared the name: no longer found. */
	assert_string_equal(one(db, hits), "");
	assert_string_equal(one(db, "SELECT count(*) FROM studies_fts"), "1");
	assert_int_equal(np_db_study_delete(db, "s1", &err), 0);
	assert_string_equal(one(db, "SELECT count(*) FROM studies_fts"), "0");
	mkstudy("done", "s2", "CANARY^TWO");
	assert_int_equal(np_index_rebuild(db, &err), 0);
	assert_string_equal(one(db, "SELECT group_concat(npuid) FROM studies WHERE rowid IN"
				    " (SELECT rowid FROM studies_fts WHERE studies_fts MATCH '\"canary^two\"')"),
			    "s2");
	/* s1 is back too: it is still in the spool. */
	assert_string_equal(one(db, "SELECT count(*) || '/' || (SELECT count(*) FROM studies) FROM studies_fts"),
			    "2/2");
	np_db_close(db);
}

/* Services that start together open a fresh index at once: each must get
 * it, none may run a migration step another already ran ("table studies
 * already exists" from np-atna at the first start of a home). */
static void fresh_index_opened_by_many_at_once(void **state)
{
	(void)state;
	assert_int_equal(np_spool_init(tmp, NULL), 0);
	for (int round = 0; round < 5; round++) {
		char db[600];
		snprintf(db, sizeof db, "%s/db/agent.sqlite", tmp);
		unlink(db);
		int go[2];
		assert_int_equal(pipe(go), 0);
		pid_t kids[8];
		for (int i = 0; i < 8; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				char c;
				close(go[1]);
				if (read(go[0], &c, 1) < 0)
					_exit(2);
				struct np_err err = {0};
				struct np_db *d = np_db_open(tmp, &err);
				if (!d)
					fprintf(stderr, "# %s\n", err.msg);
				np_db_close(d);
				_exit(d ? 0 : 1);
			}
		}
		close(go[0]);
		close(go[1]); /* every child reads end of file at once */
		int failed = 0;
		for (int i = 0; i < 8; i++) {
			int st = 0;
			waitpid(kids[i], &st, 0);
			failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
		assert_int_equal(failed, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(open_migrates_and_uses_wal, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(missing_file_is_rebuilt_from_the_spool, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(rows_columns_events_kv, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(search_index_follows_the_rows, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(fresh_index_opened_by_many_at_once, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
