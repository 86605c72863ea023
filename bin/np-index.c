// SPDX-License-Identifier: Apache-2.0
// np-index: rebuild or check the SQLite index of studies against the spool,
// which is the source of truth (np-spool(7)).
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_log.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-index [--home DIR] --rebuild | --check\n");
}

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

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"rebuild", no_argument, 0, 'r'},
					     {"check", no_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL;
	int c, mode = 0;
	while ((c = getopt_long(argc, argv, "H:rch", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'r' || c == 'c')
			mode = mode && mode != c ? -1 : c;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	if (mode <= 0 || optind != argc)
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_db *db = NULL;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_spool_init(home, &err) < 0 ||
	    !(db = mode == 'r' ? np_db_open(home, &err) : np_index_open(home, &err)) ||
	    (mode == 'r' && np_index_rebuild(db, &err) < 0)) {
		np_log_err(NULL, &err);
		np_db_close(db);
		return np_err_exit_code(&err);
	}
	struct check ck = {db, NULL, NULL, 0, 0};
	int rc = NP_EXIT_OK;
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
	return rc;
}
