// SPDX-License-Identifier: Apache-2.0
#include "np_db_sessions.h"

#include "np_db_int.h"
#include "np_err.h"

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
