// SPDX-License-Identifier: Apache-2.0
#include "np_db_follow.h"

#include "np_db_int.h"
#include "np_err.h"

#include <stdio.h>
#include <string.h>

/* The table name goes into the SQL: only the two this module reads. */
static int known(const char *table)
{
	return !strcmp(table, "audit") || !strcmp(table, "events");
}

static int query_ll(struct np_db *db, const char *sql, long long arg, long long *out)
{
	sqlite3_stmt *st = np__db_prep(db, sql, NULL);
	int found = 0;
	*out = 0;
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int np_db_follow_ts(struct np_db *db, const char *table, long long id, char ts[40])
{
	ts[0] = 0;
	if (!known(table))
		return 0;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT ts FROM %s WHERE id = ?1", table);
	sqlite3_stmt *st = np__db_prep(db, sql, NULL);
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		np__db_col_cpy(st, 0, ts, 40);
	sqlite3_finalize(st);
	return found;
}

int np_db_follow_any_before(struct np_db *db, const char *table, long long id)
{
	if (!known(table))
		return 0;
	char sql[128];
	long long v;
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id < ?1 LIMIT 1", table);
	return query_ll(db, sql, id, &v);
}

int np_db_follow_first_after(struct np_db *db, const char *table, long long after, long long *out)
{
	*out = 0;
	if (!known(table))
		return 0;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT min(id) FROM %s WHERE id > ?1", table);
	return query_ll(db, sql, after, out);
}

int np_db_follow_last(struct np_db *db, const char *table, long long *out)
{
	*out = 0;
	if (!known(table))
		return 0;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT max(id) FROM %s WHERE ?1 = ?1", table);
	return query_ll(db, sql, 0, out);
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int np_db_follow_rows(struct np_db *db, const char *table, long long after, int max,
		      int (*fn)(void *arg, const struct np_db_follow_row *r), void *arg, struct np_err *err)
{
	if (!known(table))
		return 0;
	const char *sql =
	    !strcmp(table, "audit")
		? "SELECT a.id, a.ts, a.actor, a.role, a.client, a.action, a.npuid, a.detail, a.outcome, NULL,"
		  " s.patient_id, s.study_uid, s.accession, s.calling_ae, s.source"
		  " FROM audit a LEFT JOIN studies s ON s.npuid = a.npuid WHERE a.id > ?1 ORDER BY a.id LIMIT ?2"
		: "SELECT e.id, e.ts, NULL, NULL, NULL, e.type, e.npuid, e.detail, NULL, e.level,"
		  " s.patient_id, s.study_uid, s.accession, s.calling_ae, s.source"
		  " FROM events e LEFT JOIN studies s ON s.npuid = e.npuid WHERE e.id > ?1 ORDER BY e.id LIMIT ?2";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return np_err_set(err, NP_ERR_TEMP, "unable to read the %s table: %s", table, sqlite3_errmsg(db->h));
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, max);
	int rc = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct np_db_follow_row r = {.id = sqlite3_column_int64(st, 0),
					     .ts = col(st, 1),
					     .actor = col(st, 2),
					     .role = col(st, 3),
					     .client = col(st, 4),
					     .action = col(st, 5),
					     .npuid = col(st, 6),
					     .detail = col(st, 7),
					     .outcome = col(st, 8),
					     .level = col(st, 9),
					     .patient_id = col(st, 10),
					     .study_uid = col(st, 11),
					     .accession = col(st, 12),
					     .calling_ae = col(st, 13),
					     .source = col(st, 14)};
		if ((rc = fn(arg, &r)) != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}
