// SPDX-License-Identifier: Apache-2.0
#include "np_db_check.h"

#include "np_db_int.h"
#include "np_err.h"

#include <errno.h>
#include <stdlib.h>

struct np_db_check {
	struct np_db *db;
	sqlite3_stmt *get, *mark;
};

struct np_db_check *np_db_check_begin(struct np_db *db, struct np_err *err)
{
	struct np_db_check *c = calloc(1, sizeof *c);
	if (!c) {
		np_err_sys(err, ENOMEM, "unable to check the index");
		return NULL;
	}
	c->db = db;
	/* the temporary table takes no lock on the index */
	if (np_db_exec(db, "CREATE TEMP TABLE seen (npuid TEXT PRIMARY KEY) WITHOUT ROWID; BEGIN", err) < 0) {
		free(c);
		return NULL;
	}
	if (!(c->get = np__db_prep(db, "SELECT state FROM studies WHERE npuid=?1", err)) ||
	    !(c->mark = np__db_prep(db, "INSERT OR IGNORE INTO temp.seen VALUES (?1)", err))) {
		np_db_check_end(c);
		return NULL;
	}
	return c;
}

int np_db_check_study(struct np_db_check *c, const char *npuid, char *state, size_t n, struct np_err *err)
{
	sqlite3_bind_text(c->get, 1, npuid, -1, SQLITE_STATIC);
	int found = sqlite3_step(c->get) == SQLITE_ROW && sqlite3_column_text(c->get, 0);
	state[0] = 0;
	if (found)
		np__db_col_cpy(c->get, 0, state, n);
	sqlite3_reset(c->get);
	sqlite3_bind_text(c->mark, 1, npuid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->mark);
	sqlite3_reset(c->mark);
	if (rc != SQLITE_DONE)
		return np__db_fail(c->db, err, NULL);
	return found;
}

int np_db_check_rest(struct np_db_check *c, void (*fn)(void *arg, const char *npuid), void *arg, struct np_err *err)
{
	sqlite3_stmt *st =
	    np__db_prep(c->db, "SELECT npuid FROM studies WHERE npuid NOT IN (SELECT npuid FROM temp.seen)", err);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		if (sqlite3_column_text(st, 0))
			fn(arg, np__db_col(st, 0));
	sqlite3_finalize(st);
	if (!(st = np__db_prep(c->db, "SELECT count(*) FROM studies", err)))
		return -1;
	int rows = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		rows = sqlite3_column_int(st, 0);
	else
		np__db_fail(c->db, err, NULL);
	sqlite3_finalize(st);
	return rows;
}

void np_db_check_end(struct np_db_check *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->mark);
	np_db_exec(c->db, "COMMIT", NULL);
	free(c);
}
