// SPDX-License-Identifier: Apache-2.0
#include "np_db_studies.h"

#include "np_db_int.h"

#include <string.h>

int np_db_studies_has(struct np_db *db, const char *npuid)
{
	sqlite3_stmt *st = np__db_prep(db, "SELECT 1 FROM studies WHERE npuid=?1", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, npuid, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

void np_db_studies_linked(struct np_db *db, const char *study_uid, const char *npuid, char out[64])
{
	out[0] = 0;
	sqlite3_stmt *st =
	    np__db_prep(db,
			"SELECT npuid FROM studies WHERE study_uid=?1 AND npuid!=?2 AND state!='incoming'"
			" ORDER BY created_at DESC LIMIT 1",
			NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, study_uid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, npuid, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		np__db_col_cpy(st, 0, out, 64);
	sqlite3_finalize(st);
}

void np_db_studies_brief(struct np_db *db, const char *npuid, struct np_db_study_brief *b)
{
	memset(b, 0, sizeof *b);
	sqlite3_stmt *st = np__db_prep(db, "SELECT order_id, state, study_name FROM studies WHERE npuid=?1", NULL);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, npuid, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		np__db_col_cpy(st, 0, b->order_id, sizeof b->order_id);
		np__db_col_cpy(st, 1, b->state, sizeof b->state);
		np__db_col_cpy(st, 2, b->name, sizeof b->name);
	}
	sqlite3_finalize(st);
}
