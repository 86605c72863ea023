// SPDX-License-Identifier: Apache-2.0
#include "np_db_audit.h"

#include "np_db_int.h"

#include <stdio.h>
#include <string.h>

int np_db_audit_append(struct np_db *db, const struct np_db_audit_rec *rec, struct np_err *err)
{
	sqlite3_stmt *st = np__db_prep(db,
				       "INSERT INTO audit (ts, actor, role, client, action, npuid, detail, outcome)"
				       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
				       err);
	if (!st)
		return -1;
	np__db_text(st, 1, rec->ts);
	np__db_text(st, 2, rec->actor);
	np__db_text(st, 3, rec->role);
	np__db_text(st, 4, rec->client);
	np__db_text(st, 5, rec->action);
	np__db_text(st, 6, rec->npuid);
	np__db_text(st, 7, rec->detail);
	np__db_text(st, 8, rec->outcome);
	return np__db_done(db, st, err);
}

/* An audit column as JSON: the id is a number, the rest text or null. */
static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_NULL:
		return json_null();
	default: {
		json_t *s = json_stringn((const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
		return s ? s : json_string("");
	}
	}
}

json_t *np_db_audit_distinct(struct np_db *db, const char *col)
{
	json_t *a = json_array();
	if (strcmp(col, "action") && strcmp(col, "actor"))
		return a;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT DISTINCT %s FROM audit WHERE %s IS NOT NULL ORDER BY 1 LIMIT 500", col, col);
	sqlite3_stmt *st = np__db_prep(db, sql, NULL);
	if (!st)
		return a;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, col_json(st, 0));
	sqlite3_finalize(st);
	return a;
}

#define AUDIT_WHERE                                                                                                    \
	" WHERE (?1 = '' OR action = ?1) AND (?2 = '' OR ts >= ?2) AND (?3 = '' OR ts < ?3) AND (?4 = '' OR actor = "  \
	"?4)"                                                                                                          \
	" AND (?5 = '' OR substr(npuid, 1, length(?5)) = ?5)"

static void bind_filter(sqlite3_stmt *st, const struct np_db_audit_filter *f)
{
	const char *const bind[] = {f->action, f->since, f->until, f->actor, f->npuid};
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, i + 1, bind[i] ? bind[i] : "", -1, SQLITE_STATIC);
}

int np_db_audit_list(struct np_db *db, const struct np_db_audit_filter *f, json_t **items, long long *total,
		     struct np_err *err)
{
	*items = NULL;
	*total = 0;
	sqlite3_stmt *st = np__db_prep(db, "SELECT count(*) FROM audit" AUDIT_WHERE, err);
	if (!st)
		return -1;
	bind_filter(st, f);
	if (sqlite3_step(st) == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!(st = np__db_prep(
		  db,
		  "SELECT id, ts, actor, role, client, action, npuid, detail, outcome FROM audit" AUDIT_WHERE
		  " ORDER BY id DESC LIMIT ?6 OFFSET ?7",
		  err)))
		return -1;
	bind_filter(st, f);
	sqlite3_bind_int64(st, 6, f->limit);
	sqlite3_bind_int64(st, 7, f->offset);
	static const char *const cols[] = {"id",     "ts",    "actor",	"role",	  "client",
					   "action", "npuid", "detail", "outcome"};
	*items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < 9; i++)
			json_object_set_new(o, cols[i], col_json(st, i));
		json_array_append_new(*items, o);
	}
	sqlite3_finalize(st);
	return 0;
}
