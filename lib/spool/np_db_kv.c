// SPDX-License-Identifier: Apache-2.0
#include "np_db_kv.h"

#include "np_db_int.h"

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
