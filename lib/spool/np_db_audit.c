// SPDX-License-Identifier: Apache-2.0
#include "np_db_audit.h"

#include "np_db_int.h"

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
