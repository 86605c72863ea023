// SPDX-License-Identifier: Apache-2.0
#include "np_db_metrics.h"

#include "np_db_int.h"
#include "np_err.h"

int np_db_metrics_put(struct np_db *db, const char *ts, const struct np_db_metric *m, size_t n, struct np_err *err)
{
	sqlite3_stmt *st =
	    np__db_prep(db, "INSERT INTO metrics (ts, name, value, labels) VALUES (?1, ?2, ?3, ?4)", err);
	if (!st)
		return -1;
	if (np_db_exec(db, "BEGIN IMMEDIATE", err) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 3, m[i].value);
		np__db_text(st, 4, m[i].labels[0] ? m[i].labels : NULL);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return np_db_exec(db, "COMMIT", err);
}

void np_db_metrics_latest(struct np_db *db, void (*fn)(void *arg, const char *name, double value), void *arg)
{
	sqlite3_stmt *st =
	    np__db_prep(db,
			"SELECT name, value FROM metrics m WHERE ts = (SELECT max(ts) FROM metrics WHERE name = m.name)"
			" GROUP BY name",
			NULL);
	if (!st)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_double(st, 1));
	sqlite3_finalize(st);
}
