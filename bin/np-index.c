// SPDX-License-Identifier: Apache-2.0
// np-index: rebuild or check the SQLite index of studies against the spool,
// which is the source of truth (np-spool(7)).
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

struct check {
	struct np_db *db;
	sqlite3_stmt *get, *mark;
	int seen, bad;
};

/* Every study folder must have a row with its state. The walk marks the
 * folders it saw in a temporary table, which check_rows then compares with
 * the rows in one pass. */
static int check_one(const char *home, const char *state, const char *id, const char *dir, void *vc)
{
	(void)home, (void)dir;
	struct check *c = vc;
	c->seen++;
	sqlite3_bind_text(c->get, 1, id, -1, SQLITE_STATIC);
	const char *got = sqlite3_step(c->get) == SQLITE_ROW ? (const char *)sqlite3_column_text(c->get, 0) : NULL;
	if (!got || strcmp(got, state)) {
		printf("%s: spool state %s, index state %s\n", id, state, got ? got : "(missing)");
		c->bad++;
	}
	sqlite3_reset(c->get);
	sqlite3_bind_text(c->mark, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->mark);
	sqlite3_reset(c->mark);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Rows whose study is in no state folder are stale. Only the rows the walk
 * did not see are looked for in the spool (np_spool_find stats up to 20
 * paths: once per row it was most of the check over a large index); one
 * found there moved while the walk ran and is not stale. Returns the
 * number of rows. */
static int check_rows(struct check *c)
{
	sqlite3_stmt *st;
	int rows = -1;
	if (sqlite3_prepare_v2(c->db->h, "SELECT npuid FROM studies WHERE npuid NOT IN (SELECT npuid FROM temp.seen)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		char state[64];
		if (id && np_spool_find(c->db->home, id, state, sizeof state, NULL, NULL) != 0) {
			printf("%s: in the index but not in the spool\n", id);
			c->bad++;
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(c->db->h, "SELECT count(*) FROM studies", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		rows = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rows;
}

/* The walk and the rows in one read transaction (one snapshot of the
 * index); the temporary table takes no lock on it. */
static int check_all(struct check *c, struct np_err *err)
{
	if (np_db_exec(c->db, "CREATE TEMP TABLE seen (npuid TEXT PRIMARY KEY) WITHOUT ROWID; BEGIN", err) < 0)
		return -1;
	int rows = -1;
	if (sqlite3_prepare_v2(c->db->h, "SELECT state FROM studies WHERE npuid=?1", -1, &c->get, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(c->db->h, "INSERT OR IGNORE INTO temp.seen VALUES (?1)", -1, &c->mark, NULL) ==
		SQLITE_OK &&
	    np_spool_each_study(c->db->home, check_one, c, err) == 0)
		rows = check_rows(c);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->mark);
	np_db_exec(c->db, "COMMIT", NULL);
	return rows;
}

static const struct np_prog_opt opts[] = {
    {"rebuild", 'r', NULL, "drop the index's studies and read them again from the spool"},
    {"check", 'c', NULL, "compare the index with the spool (exit 1 on a mismatch)"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-index",
    .synopsis = "[--home DIR] --rebuild | --check",
    .opts = opts,
    .needs = NP_PROG_SPOOL,
};

/* One of --rebuild and --check. */
static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	int *mode = p->ctx;
	if (key == NP_PROG_ARGS)
		return *mode ? NP_PROG_GO : NP_PROG_USAGE;
	if (*mode && *mode != key)
		return NP_PROG_USAGE;
	*mode = key;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct np_err err = {0};
	struct np_db *db = NULL;
	int mode = 0, rc = np_prog_start(argc, argv, &spec, &p, on_opt, &mode);
	if (rc != NP_PROG_GO)
		return rc;
	/* a rebuild opens the file as it is: np_index_open would fill a new one first */
	if (!(db = mode == 'r' ? np_db_open(p.home, &err) : np_index_open(p.home, &err)) ||
	    (mode == 'r' && np_index_rebuild(db, &err) < 0)) {
		np_db_close(db);
		np_prog_end(&p);
		return np_prog_fail(NULL, &err);
	}
	struct check ck = {db, NULL, NULL, 0, 0};
	rc = NP_EXIT_OK;
	int rows = check_all(&ck, &err);
	if (rows < 0) {
		np_error(NULL, "unable to read the index: %s", err.msg[0] ? err.msg : sqlite3_errmsg(db->h));
		rc = NP_EXIT_TEMP;
	} else if (mode == 'r') {
		np_info(NULL, "index rebuilt studies=%d", rows);
	} else {
		np_info(NULL, "index checked studies=%d rows=%d mismatches=%d", ck.seen, rows, ck.bad);
		rc = ck.bad ? NP_EXIT_NO : NP_EXIT_OK;
	}
	np_db_close(db);
	np_prog_end(&p);
	return rc;
}
