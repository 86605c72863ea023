// SPDX-License-Identifier: Apache-2.0
#include "np_db_retain.h"

#include "np_db_int.h"
#include "np_err.h"

#include <stdio.h>
#include <string.h>

long long np_db_retain_purge(struct np_db *db, const char *table, const char *cutoff_iso, int dry_run,
			     struct np_err *err)
{
	/* the table name goes into the SQL: only the three with a ts column */
	if (strcmp(table, "events") && strcmp(table, "metrics") && strcmp(table, "audit"))
		return np_err_set(err, NP_ERR_PERM, "unknown table %s", table);
	char sql[160];
	snprintf(sql, sizeof sql, dry_run ? "SELECT count(*) FROM %s WHERE ts < ?1" : "DELETE FROM %s WHERE ts < ?1",
		 table);
	sqlite3_stmt *st = np__db_prep(db, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, cutoff_iso, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	long long n = dry_run && rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : sqlite3_changes(db->h);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return np_err_set(err, NP_ERR_TEMP, "unable to purge %s: %s", table, sqlite3_errmsg(db->h));
	return n;
}
