// SPDX-License-Identifier: Apache-2.0
#include "np_db_kv.h"

#include "np_db_int.h"

#include <stdlib.h>
#include <string.h>

static int exec2(struct np_db *db, const char *sql, const char *a, const char *b, struct np_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return np__db_fail(db, err, NULL);
	np__db_text(st, 1, a);
	if (b)
		np__db_text(st, 2, b);
	int rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : np__db_fail(db, err, NULL);
	sqlite3_finalize(st);
	return rc;
}

int np_db_kv_rename(struct np_db *db, const char *from, const char *to, struct np_err *err)
{
	return exec2(db, "UPDATE kv SET key=?2 WHERE key=?1", from, to, err);
}

int np_db_kv_delete(struct np_db *db, const char *key, struct np_err *err)
{
	return exec2(db, "DELETE FROM kv WHERE key=?1", key, NULL, err);
}

int np_db_kv_take(struct np_db *db, const char *key, char **value)
{
	*value = NULL;
	sqlite3_stmt *st = np__db_prep(db, "DELETE FROM kv WHERE key = ? RETURNING value", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found && sqlite3_column_text(st, 0))
		*value = strdup(np__db_col(st, 0));
	sqlite3_finalize(st);
	return found;
}

int np_db_kv_has(struct np_db *db, const char *key)
{
	sqlite3_stmt *st = np__db_prep(db, "SELECT 1 FROM kv WHERE key = ?", NULL);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

void np_db_kv_expire(struct np_db *db, const char *prefix, double now)
{
	sqlite3_stmt *st =
	    np__db_prep(db, "DELETE FROM kv WHERE substr(key, 1, length(?1)) = ?1 AND CAST(value AS REAL) < ?2", NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, now);
	sqlite3_step(st);
	sqlite3_finalize(st);
}
