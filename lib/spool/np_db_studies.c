// SPDX-License-Identifier: Apache-2.0
#include "np_db_studies.h"

#include "np_db_int.h"
#include "np_err.h"

#include <math.h>
#include <stdio.h>

#include <stdint.h>
#include <stdlib.h>
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

/* A row is its statement, read in place. */
static sqlite3_stmt *row_st(const struct np_db_row *r)
{
	return (sqlite3_stmt *)(uintptr_t)r;
}

enum np_db_type np_db_row_type(const struct np_db_row *r, int i)
{
	switch (sqlite3_column_type(row_st(r), i)) {
	case SQLITE_INTEGER:
		return NP_DB_INTEGER;
	case SQLITE_FLOAT:
		return NP_DB_FLOAT;
	case SQLITE_NULL:
		return NP_DB_NULL;
	default:
		return NP_DB_TEXT;
	}
}

long long np_db_row_int(const struct np_db_row *r, int i)
{
	return sqlite3_column_int64(row_st(r), i);
}

double np_db_row_real(const struct np_db_row *r, int i)
{
	return sqlite3_column_double(row_st(r), i);
}

const unsigned char *np_db_row_text(const struct np_db_row *r, int i, size_t *n)
{
	const unsigned char *t = sqlite3_column_text(row_st(r), i);
	if (n)
		*n = t ? (size_t)sqlite3_column_bytes(row_st(r), i) : 0;
	return t;
}

static void bind_all(sqlite3_stmt *st, const char *const binds[8], int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_STATIC);
}

int np_db_studies_broad(struct np_db *db, const struct np_studies_sql *s)
{
	sqlite3_stmt *st = s->match_param ? np__db_use(db, s->probe, NULL) : NULL;
	long m = 0;
	if (!st)
		return 0;
	bind_all(st, s->binds, s->nbind);
	if (sqlite3_step(st) == SQLITE_ROW)
		m = (long)sqlite3_column_int64(st, 0);
	np__db_done_with(db, st);
	return m >= s->broad_limit;
}

long np_db_studies_walk_min(struct np_db *db, const struct np_studies_q *q, const struct np_studies_sql *s)
{
	if (!s->walk_param)
		return 0;
	/* the number of studies from the counts migration 6 keeps (O(1)) */
	long long n = 0;
	sqlite3_stmt *st = np__db_use(db, "SELECT ifnull(sum(n), 0) FROM studies_qc_count", NULL);
	if (st) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		np__db_done_with(db, st);
	}
	double reach = (double)(s->offset + q->size + 1);
	return (long)ceil(sqrt(reach * (double)(n > 1 ? n : 1)));
}

int np_db_studies_walk(struct np_db *db, const struct np_studies_sql *s, long walk_min)
{
	sqlite3_stmt *st = walk_min > 0 ? np__db_use(db, s->walk_probe, NULL) : NULL;
	long m = 0;
	if (!st)
		return 0;
	bind_all(st, s->binds, s->nbind);
	sqlite3_bind_int64(st, s->walk_param, walk_min);
	if (sqlite3_step(st) == SQLITE_ROW)
		m = (long)sqlite3_column_int64(st, 0);
	np__db_done_with(db, st);
	return m >= walk_min;
}

/* The walk's budget in SQLite's virtual machine steps, counted down by
 * the progress handler every PROGRESS_OPS: a row the walk passes costs
 * about 4 of them, a row it keeps some 30. */
#define PROGRESS_OPS 1000
static int walk_budget(void *arg)
{
	long long *left = arg;
	return (*left -= PROGRESS_OPS) < 0;
}

/* Step st and hand its rows after the first skip to fn, up to q->size
 * (out->n, out->more). Returns SQLite's last answer. */
static int page_rows(sqlite3_stmt *st, const struct np_studies_q *q, long skip,
		     void (*fn)(void *arg, const struct np_db_row *r), void *arg, struct np_db_studies_page *out)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (skip > 0) {
			skip--;
			continue;
		}
		if (out->n == q->size) {
			out->more = 1;
			break;
		}
		out->n++;
		fn(arg, (const struct np_db_row *)st);
	}
	return rc;
}

int np_db_studies_page(struct np_db *db, const struct np_studies_q *q, const struct np_studies_sql *s,
		       void (*fn)(void *arg, const struct np_db_row *r), void *arg, struct np_db_studies_page *out,
		       struct np_err *err)
{
	memset(out, 0, sizeof *out);
	out->broad = np_db_studies_broad(db, s);
	long walk_min = out->broad ? 0 : np_db_studies_walk_min(db, q, s);
	int rc = SQLITE_DONE;
	sqlite3_stmt *st;
	if (walk_min > 0 && np_db_studies_walk(db, s, walk_min)) {
		if (!(st = np__db_use(db, s->page_walk, NULL)))
			return np_err_set(err, NP_ERR_PERM, "database error: %s", sqlite3_errmsg(db->h));
		bind_all(st, s->binds, s->nbind);
		long long left = 8LL * NP_STUDIES_WALK_BUDGET * (walk_min + s->offset + q->size + 1);
		sqlite3_progress_handler(db->h, PROGRESS_OPS, walk_budget, &left);
		rc = page_rows(st, q, 0, fn, arg, out);
		sqlite3_progress_handler(db->h, 0, NULL, NULL);
		np__db_done_with(db, st);
		out->walked = 1;
		if (rc == SQLITE_INTERRUPT)
			out->walked = 2;
		else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	}
	if (out->walked != 1) {
		/* the lookup and sort; after a walk that ran out of its budget,
		 * from the row after those it found (the same order) */
		if (!(st = np__db_use(db, out->broad ? s->page_broad : s->page, NULL)))
			return np_err_set(err, NP_ERR_PERM, "database error: %s", sqlite3_errmsg(db->h));
		bind_all(st, s->binds, s->nbind);
		rc = page_rows(st, q, out->n, fn, arg, out);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
			np__db_done_with(db, st);
			return -1;
		}
		np__db_done_with(db, st);
	}
	/* A last page tells the total for free; a broad search runs no count
	 * (see NP_STUDIES_BROAD); with a cursor the keyset condition is in the
	 * WHERE, so a count would not be the filtered set's. */
	if (q->cursor[0] || (!out->more && (out->n || !s->offset)) || out->broad)
		return 0;
	if ((st = np__db_use(db, s->count, NULL))) {
		bind_all(st, s->binds, s->nbind);
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->count = sqlite3_column_int64(st, 0);
			out->counted = 1;
		}
		np__db_done_with(db, st);
	}
	return 0;
}

int np_db_studies_results(struct np_db *db, const char *cols, const char *q, int search_phi, long size, long offset,
			  void (*fn)(void *arg, const struct np_db_row *r), void *arg, struct np_err *err)
{
	/* The search of the Results page: the text in the npuid, order id or
	 * group name, and in the study name, accession, patient name and id
	 * only when the PHI is revealed (as GET /api/studies: a redacted list
	 * is no oracle for it). */
	static const char RESULTS_Q[] =
	    " AND (instr(npuid, lower(?1)) OR instr(lower(ifnull(order_id,'')), lower(?1)) OR"
	    " instr(lower(ifnull(group_name,'')), lower(?1))";
	static const char RESULTS_Q_PHI[] =
	    " OR instr(lower(ifnull(study_name,'')), lower(?1)) OR instr(lower(ifnull(accession,'')), lower(?1)) OR"
	    " instr(lower(ifnull(patient_name,'')), lower(?1)) OR instr(lower(ifnull(patient_id,'')), lower(?1))";
	char sql[2048];
	/* One row more than the page tells whether there is a next one. */
	snprintf(sql, sizeof sql,
		 "SELECT %s FROM studies WHERE state IN ('results','done','failed')%s%s%s"
		 " ORDER BY updated_at DESC, npuid DESC LIMIT %ld OFFSET %ld",
		 cols, q[0] ? RESULTS_Q : "", q[0] && search_phi ? RESULTS_Q_PHI : "", q[0] ? ")" : "", size + 1,
		 offset);
	sqlite3_stmt *st = np__db_prep(db, sql, err);
	if (!st)
		return -1;
	if (q[0])
		sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	long n = 0;
	int more = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == size) {
			more = 1;
			break;
		}
		fn(arg, (const struct np_db_row *)st);
	}
	sqlite3_finalize(st);
	return more;
}

void np_db_studies_qc_counts(struct np_db *db, void (*fn)(void *arg, const char *qc, long long n), void *arg)
{
	sqlite3_stmt *st = np__db_prep(db, "SELECT qc, n FROM studies_qc_count WHERE n > 0", NULL);
	if (!st)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
}

char *np_db_studies_bulk_begin(struct np_db *db, struct np_err *err)
{
	sqlite3_stmt *st =
	    np__db_prep(db,
			"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'studies'"
			" AND sql IS NOT NULL ORDER BY name",
			err);
	if (!st)
		return NULL;
	size_t len = 0, cap = 1024;
	char *saved = malloc(cap), drops[2048] = "";
	size_t dlen = 0;
	if (saved)
		saved[0] = 0;
	while (saved && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0),
			   *sql = (const char *)sqlite3_column_text(st, 1);
		size_t n = strlen(sql) + 2;
		if (len + n + 1 > cap) {
			char *p = realloc(saved, (cap = (len + n + 1) * 2));
			if (!p) {
				free(saved);
				saved = NULL;
				break;
			}
			saved = p;
		}
		len += (size_t)snprintf(saved + len, cap - len, "%s;", sql);
		dlen += (size_t)snprintf(drops + dlen, dlen < sizeof drops ? sizeof drops - dlen : 0,
					 "DROP INDEX \"%s\";", name);
	}
	sqlite3_finalize(st);
	if (!saved || dlen >= sizeof drops) {
		free(saved);
		np_err_set(err, NP_ERR_TEMP, "unable to drop the study indexes: %s",
			   saved ? "too many" : "out of memory");
		return NULL;
	}
	if (np_db_exec(db, drops, err) < 0) {
		free(saved);
		return NULL;
	}
	return saved;
}

int np_db_studies_bulk_end(struct np_db *db, char *saved, struct np_err *err)
{
	int rc = saved ? np_db_exec(db, saved, err) : 0;
	free(saved);
	return rc;
}

int np_db_studies_delete_all(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "DELETE FROM studies", err);
}

int np_db_studies_search_optimize(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "INSERT INTO studies_fts(studies_fts) VALUES('optimize')", err);
}
