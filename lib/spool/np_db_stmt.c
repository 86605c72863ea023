// SPDX-License-Identifier: Apache-2.0
/* The helpers of np_db_int.h. */
#include "np_db_int.h"

#include "np_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int code = sqlite3_errcode(db->h);
	return np_err_set(err,
			  code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL || code == SQLITE_IOERR
			      ? NP_ERR_TEMP
			      : NP_ERR_PERM,
			  "database error: %s", sqlite3_errmsg(db->h));
}

#define STMT_CACHE 16
struct np__db_cache {
	sqlite3_stmt *st[STMT_CACHE];
	unsigned long used[STMT_CACHE], tick;
};

sqlite3_stmt *np__db_cached(struct np_db *db, const char *sql)
{
	struct np__db_cache *t = db->cache;
	if (!t && !(t = db->cache = calloc(1, sizeof *t)))
		return NULL;
	int lru = 0;
	for (int i = 0; i < STMT_CACHE; i++) {
		if (t->st[i] && !strcmp(sqlite3_sql(t->st[i]), sql)) {
			t->used[i] = ++t->tick;
			sqlite3_reset(t->st[i]);
			sqlite3_clear_bindings(t->st[i]);
			return t->st[i];
		}
		if (t->used[i] < t->used[lru])
			lru = i;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_finalize(t->st[lru]);
	t->st[lru] = st;
	t->used[lru] = ++t->tick;
	return st;
}

void np__db_cache_free(struct np_db *db)
{
	struct np__db_cache *t = db->cache;
	if (!t)
		return;
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(t->st[i]);
	free(t);
	db->cache = NULL;
}

/* sqlite3_db_mutex is NULL for a connection opened without a mutex, which
 * only its own thread uses: only there may a statement outlive its use. */
sqlite3_stmt *np__db_use(struct np_db *db, const char *sql, struct np_err *err)
{
	if (!sqlite3_db_mutex(db->h)) {
		sqlite3_stmt *st = np__db_cached(db, sql);
		if (!st)
			np__db_fail(db, err, NULL);
		return st;
	}
	return np__db_prep(db, sql, err);
}

void np__db_done_with(struct np_db *db, sqlite3_stmt *st)
{
	if (!st)
		return;
	if (!sqlite3_db_mutex(db->h))
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
}
