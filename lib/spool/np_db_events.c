// SPDX-License-Identifier: Apache-2.0
#include "np_db_events.h"

#include "np_db_int.h"
#include "np_err.h"
#include "np_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int np_db_events_has(struct np_db *db, const char *npuid, const char *type)
{
	sqlite3_stmt *st = np__db_prep(db, "SELECT 1 FROM events WHERE npuid=?1 AND type=?2 LIMIT 1", NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, npuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int np_db_events_last_detail(struct np_db *db, const char *npuid, const char *type, const char *prefix, char *out,
			     size_t n)
{
	out[0] = 0;
	sqlite3_stmt *st = np__db_prep(db,
				       "SELECT detail FROM events WHERE npuid=?1 AND type=?2"
				       " AND substr(detail, 1, length(?3)) = ?3 ORDER BY id DESC LIMIT 1",
				       NULL);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, npuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0);
	if (found)
		np__db_col_cpy(st, 0, out, n);
	sqlite3_finalize(st);
	return found;
}

int np_db_events_pending(struct np_db *db, size_t max, struct np_db_event_row **out, struct np_err *err)
{
	*out = NULL;
	sqlite3_stmt *st =
	    np__db_prep(db,
			"SELECT id, notified, ts, npuid, type, level, detail FROM events WHERE notified <= 0 "
			"ORDER BY id LIMIT ?1",
			err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	struct np_db_event_row *v = calloc(max ? max : 1, sizeof *v);
	size_t n = 0;
	while (v && n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct np_db_event_row *p = &v[n++];
		p->id = sqlite3_column_int64(st, 0);
		p->notified = sqlite3_column_int(st, 1);
		np__db_col_cpy(st, 2, p->ts, sizeof p->ts);
		np__db_col_cpy(st, 3, p->npuid, sizeof p->npuid);
		np__db_col_cpy(st, 4, p->type, sizeof p->type);
		snprintf(p->level, sizeof p->level, "%s", sqlite3_column_text(st, 5) ? np__db_col(st, 5) : "info");
		p->detail = sqlite3_column_text(st, 6) ? strdup(np__db_col(st, 6)) : NULL;
	}
	sqlite3_finalize(st);
	*out = v;
	return (int)n;
}

void np_db_events_mark(struct np_db *db, long long id, int notified)
{
	sqlite3_stmt *st = np__db_prep(db, "UPDATE events SET notified=?2 WHERE id=?1", NULL);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, notified);
	if (sqlite3_step(st) != SQLITE_DONE)
		np_warn(NULL, "unable to mark event %lld: %s", id, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
}

void np_db_events_count_by_type(struct np_db *db, void (*fn)(void *arg, const char *type, long long n), void *arg)
{
	/* the counts migration 7 keeps by a trigger, not a walk of the events */
	sqlite3_stmt *st = np__db_prep(db, "SELECT type, n FROM events_count", NULL);
	if (!st)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
}
