// SPDX-License-Identifier: Apache-2.0
// np-index: rebuild or check the SQLite index of studies against the spool,
// which is the source of truth (np-spool(7)).
#include "np_db.h"
#include "np_db_check.h"
#include "np_err.h"
#include "np_index.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

struct check {
	const char *home;
	struct np_db_check *db;
	int seen, bad;
	struct np_err *err;
};

/* Every study folder must have a row with its state. */
static int check_one(const char *home, const char *state, const char *id, const char *dir, void *vc)
{
	(void)home, (void)dir;
	struct check *c = vc;
	c->seen++;
	char got[64];
	int rc = np_db_check_study(c->db, id, got, sizeof got, c->err);
	if (rc < 0)
		return -1;
	if (!rc || strcmp(got, state)) {
		printf("%s: spool state %s, index state %s\n", id, state, rc ? got : "(missing)");
		c->bad++;
	}
	return 0;
}

/* Rows whose study is in no state folder are stale. Only the rows the walk
 * did not see are looked for in the spool (np_spool_find stats up to 20
 * paths: once per row it was most of the check over a large index); one
 * found there moved while the walk ran and is not stale. */
static void check_row(void *vc, const char *id)
{
	struct check *c = vc;
	char state[64];
	if (np_spool_find(c->home, id, state, sizeof state, NULL, NULL) != 0) {
		printf("%s: in the index but not in the spool\n", id);
		c->bad++;
	}
}

/* The walk and the rows in one snapshot of the index. Returns the number
 * of rows or -1 with err. */
static int check_all(struct np_db *db, struct check *c, struct np_err *err)
{
	if (!(c->db = np_db_check_begin(db, err)))
		return -1;
	int rows = -1;
	if (np_spool_each_study(c->home, check_one, c, err) == 0)
		rows = np_db_check_rest(c->db, check_row, c, err);
	np_db_check_end(c->db);
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
	struct check ck = {p.home, NULL, 0, 0, &err};
	rc = NP_EXIT_OK;
	int rows = check_all(db, &ck, &err);
	if (rows < 0) {
		np_error(NULL, "unable to read the index: %s", err.msg[0] ? err.msg : "database error");
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
