// SPDX-License-Identifier: Apache-2.0
#include "np_db_sessions.h"

#include "np_db_int.h"
#include "np_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int np_db_sessions_end_others(struct np_db *db, const char *keep_sid, struct np_err *err)
{
	sqlite3_stmt *st = np__db_prep(db, "DELETE FROM sessions WHERE id <> ?", err);
	if (!st)
		return -1;
	int n = -1;
	sqlite3_bind_text(st, 1, keep_sid ? keep_sid : "", -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_DONE)
		n = sqlite3_changes(db->h);
	else
		np__db_fail(db, err, "end the sessions");
	sqlite3_finalize(st);
	return n;
}

int np_db_sessions_get(struct np_db *db, const char *sid, struct np_db_session *s)
{
	memset(s, 0, sizeof *s);
	sqlite3_stmt *st =
	    np__db_use(db, "SELECT actor, role, method, last_seen, saml_epoch FROM sessions WHERE id = ?", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		np__db_col_cpy(st, 0, s->actor, sizeof s->actor);
		np__db_col_cpy(st, 1, s->role, sizeof s->role);
		np__db_col_cpy(st, 2, s->method, sizeof s->method);
		s->last_seen = sqlite3_column_double(st, 3);
		np__db_col_cpy(st, 4, s->saml_epoch, sizeof s->saml_epoch);
	}
	np__db_done_with(db, st); /* ends the read transaction */
	return found;
}

void np_db_sessions_touch(struct np_db *db, const char *sid, double now)
{
	sqlite3_stmt *st =
	    np__db_use(db, "UPDATE sessions SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2 - 30", NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, now);
	sqlite3_step(st);
	np__db_done_with(db, st);
}

void np_db_sessions_end(struct np_db *db, const char *sid)
{
	sqlite3_stmt *st = np__db_use(db, "DELETE FROM sessions WHERE id = ?1", NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	np__db_done_with(db, st);
}

int np_db_sessions_csrf(struct np_db *db, const char *sid, char *out, size_t n)
{
	out[0] = 0;
	sqlite3_stmt *st = np__db_use(db, "SELECT csrf FROM sessions WHERE id = ?", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0);
	if (found)
		np__db_col_cpy(st, 0, out, n);
	np__db_done_with(db, st);
	return found;
}

int np_db_sessions_insert(struct np_db *db, const char *sid, const char *actor, const char *role, const char *method,
			  double now, const char *csrf, const char *saml_epoch, struct np_err *err)
{
	sqlite3_stmt *st = np__db_prep(db,
				       "INSERT INTO sessions (id, actor, role, method, created_at, last_seen, csrf, "
				       "saml_epoch) VALUES (?,?,?,?,?,?,?,?)",
				       err);
	if (!st)
		return -1;
	np__db_text(st, 1, sid);
	np__db_text(st, 2, actor);
	np__db_text(st, 3, role);
	np__db_text(st, 4, method);
	sqlite3_bind_double(st, 5, now);
	sqlite3_bind_double(st, 6, now);
	np__db_text(st, 7, csrf);
	np__db_text(st, 8, saml_epoch);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void np_db_sessions_slo_put(struct np_db *db, const char *sid, const char *value)
{
	sqlite3_exec(db->h, "DELETE FROM kv WHERE key LIKE 'slo:%' AND substr(key, 5) NOT IN (SELECT id FROM sessions)",
		     NULL, NULL, NULL);
	char k[100];
	snprintf(k, sizeof k, "slo:%s", sid);
	sqlite3_stmt *st = np__db_prep(db, "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

char *np_db_sessions_slo_take(struct np_db *db, const char *sid)
{
	char k[100];
	snprintf(k, sizeof k, "slo:%s", sid);
	sqlite3_stmt *st = np__db_prep(db, "DELETE FROM kv WHERE key = ? RETURNING value", NULL);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup(np__db_col(st, 0));
	sqlite3_finalize(st);
	return v;
}

int np_db_sessions_slo_each(struct np_db *db, void (*fn)(void *arg, const char *sid, const char *value), void *arg)
{
	sqlite3_stmt *st = np__db_prep(db, "SELECT key, value FROM kv WHERE key LIKE 'slo:%'", NULL);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, np__db_col(st, 0) + (strlen(np__db_col(st, 0)) >= 4 ? 4 : 0), np__db_col(st, 1));
	sqlite3_finalize(st);
	return 0;
}

int np_db_sessions_end_saml(struct np_db *db, const char *sid)
{
	sqlite3_stmt *st = np__db_prep(db, "DELETE FROM sessions WHERE id = ?1 AND method = 'saml' RETURNING id", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	int ended = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return ended;
}
