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

void np_db_metrics_latest(struct np_db *db, void (*fn)(void *arg, const char *name, const char *labels, double value),
			  void *arg)
{
	/* Every series of a metric's newest ts: a snapshot stores one row per
	 * label set (service, queue state), and grouping by name alone kept one
	 * of them. Grouping by labels too keeps a series once should two
	 * snapshots share a second. The names are found by hopping along the
	 * (name, ts) index, one search each, and each one's newest ts likewise:
	 * a GROUP BY name walked the whole table, which keeps a row per series
	 * per minute (2 million rows in 5 weeks: 1.2 s a scrape, now 4 ms). */
	sqlite3_stmt *st = np__db_prep(
	    db,
	    "WITH RECURSIVE names(name) AS (SELECT min(name) FROM metrics"
	    " UNION ALL SELECT (SELECT min(name) FROM metrics WHERE name > names.name) FROM names"
	    " WHERE name IS NOT NULL),"
	    " latest AS (SELECT name, (SELECT max(ts) FROM metrics WHERE metrics.name = names.name) AS ts"
	    " FROM names WHERE name IS NOT NULL)"
	    " SELECT m.name, m.labels, m.value FROM latest JOIN metrics m ON m.name = latest.name AND m.ts = latest.ts"
	    " GROUP BY m.name, ifnull(m.labels, '') ORDER BY m.name, ifnull(m.labels, '')",
	    NULL);
	if (!st)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_double(st, 2));
	sqlite3_finalize(st);
}
