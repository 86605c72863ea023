// SPDX-License-Identifier: Apache-2.0
/* The helpers of np_db_int.h. */
#include "np_db_int.h"

#include "np_err.h"

#include <stdio.h>

sqlite3_stmt *np__db_prep(struct np_db *db, const char *sql, struct np_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
		return NULL;
	}
	return st;
}

int np__db_done(struct np_db *db, sqlite3_stmt *st, struct np_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return np_err_set(
		    err, rc == SQLITE_BUSY || rc == SQLITE_FULL || rc == SQLITE_IOERR ? NP_ERR_TEMP : NP_ERR_PERM,
		    "database error: %s", sqlite3_errmsg(db->h));
	return 0;
}

void np__db_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

const char *np__db_col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

void np__db_col_cpy(sqlite3_stmt *st, int i, char *out, size_t n)
{
	snprintf(out, n, "%s", np__db_col(st, i));
}

int np__db_fail(struct np_db *db, struct np_err *err, const char *what)
{
	if (what)
		return np_err_set(err, NP_ERR_TEMP, "unable to %s: %s", what, sqlite3_errmsg(db->h));
	return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
}
