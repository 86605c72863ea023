// SPDX-License-Identifier: Apache-2.0
/* np_db_studies_sql: the SQL of GET /api/studies from the parsed query
 * (np_db_studies.h says which statements and why). */
#include "np_db_studies.h"

#include <stdio.h>
#include <string.h>

const char *const np_studies_sort_cols[] = {"created_at", "updated_at", "state",     "npuid",
					    "study_date", "group_name", "qc_result", NULL};

const char *np_studies_q_order(const struct np_studies_q *q)
{
	for (const char *const *c = np_studies_sort_cols; *c; c++)
		if (!strcmp(q->sort, *c))
			return *c;
	return "created_at";
}

static int add(char *w, size_t wsz, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > wsz)
		return -1;
	memcpy(w + *len, s, n + 1);
	*len += n;
	return 0;
}

/* Append " WHERE "/" AND " and the condition; fmt holds %d for each use of
 * the next placeholder number (at most 7). */
static int cond(char *w, size_t wsz, size_t *len, int *nconds, int nb, const char *fmt)
{
	char clause[600];
	char tmp[560];
	snprintf(tmp, sizeof tmp, fmt, nb, nb, nb, nb, nb, nb, nb);
	snprintf(clause, sizeof clause, "%s%s", *nconds ? " AND " : " WHERE ", tmp);
	(*nconds)++;
	return add(w, wsz, len, clause);
}

/* The search through the trigram index: q->q as one FTS5 string (a
 * substring, any case) in the non-PHI columns, or in all of them. */
static int fts_match(const char *text, int search_phi, char *out, size_t outsz)
{
	size_t o = (size_t)snprintf(out, outsz, "%s\"", search_phi ? "" : "{npuid order_id group_name} : ");
	for (const char *p = text; *p; p++) {
		if (o + 4 > outsz)
			return -1;
		if (*p == '"')
			out[o++] = '"';
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = 0;
	return 0;
}

/* Characters (not bytes) of UTF-8 text, up to 3. */
static int chars3(const char *s)
{
	int n = 0;
	for (; *s && n < 3; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The sort keys that follow the time a study came in (a study is sent the
 * day it is made, and updated after): a walk of their index meets the rows
 * of a date range together, after all those before it, so a walk for a date
 * range is only taken for the other keys. */
static int time_like(const char *col)
{
	return !strcmp(col, "created_at") || !strcmp(col, "study_date") || !strcmp(col, "updated_at");
}

/* broad: the search as a test of each row (see np_studies_sql). walk: the
 * sort column; each filter on another column is written with a unary +,
 * which keeps SQLite from looking it up in an index, so the plan walks the
 * sort's index and tests each row (see NP_STUDIES_WALK_BUDGET). */
static int studies_where(const struct np_studies_q *q, int search_phi, int broad, const char *walk,
			 struct np_studies_sql *s, char *where, size_t wsz)
{
#define PLUS(col) (walk && strcmp(walk, col) ? "+" : "")
	char f[96];
	size_t len = 0;
	int n = 0, nc = 0;
	where[0] = 0;
#define COND(fmt, v)                                                                                                   \
	do {                                                                                                           \
		if (cond(where, wsz, &len, &nc, n + 1, fmt) < 0)                                                       \
			return -1;                                                                                     \
		s->binds[n++] = (v);                                                                                   \
	} while (0)
	if (q->state[0]) {
		snprintf(f, sizeof f, "%sstate = ?%%d", PLUS("state"));
		COND(f, q->state);
	}
	if (q->group[0]) {
		snprintf(f, sizeof f, "%sgroup_name = ?%%d", PLUS("group_name"));
		COND(f, q->group);
	}
	if (!strcmp(q->qc, "pending")) {
		snprintf(f, sizeof f, "%sqc_result IS NULL", PLUS("qc_result"));
		if (cond(where, wsz, &len, &nc, 0, f) < 0)
			return -1;
	} else if (q->qc[0]) {
		snprintf(f, sizeof f, "%sqc_result = ?%%d", PLUS("qc_result"));
		COND(f, q->qc);
	}
	const char *tplus = walk && !time_like(walk) ? "+" : "";
	if (q->from[0]) {
		snprintf(f, sizeof f, "%screated_at >= ?%%d", tplus);
		COND(f, q->from);
	}
	if (q->to[0] && strlen(q->to) == 10) {
		snprintf(f, sizeof f, "%screated_at < date(?%%d, '+1 day')", tplus);
		COND(f, q->to); /* a bare date includes the whole day */
	} else if (q->to[0]) {
		snprintf(f, sizeof f, "%screated_at <= ?%%d", tplus);
		COND(f, q->to);
	}
	/* Three characters or more go through the trigram index (it finds
	 * nothing shorter); one or two scan the same columns. */
	if (q->q[0] && chars3(q->q) == 3) {
		if (fts_match(q->q, search_phi, s->match, sizeof s->match) < 0)
			return -1;
		s->match_param = n + 1;
		if (broad) /* "+": a test of each row, not a lookup of each match */
			COND("+rowid IN (SELECT rowid FROM studies_fts WHERE studies_fts MATCH ?%d)", s->match);
		else
			COND("rowid IN (SELECT rowid FROM studies_fts WHERE studies_fts MATCH ?%d)", s->match);
	} else if (q->q[0] && search_phi) {
		COND("(instr(npuid, lower(?%d)) OR instr(lower(ifnull(order_id,'')), lower(?%d)) OR"
		     " instr(lower(ifnull(group_name,'')), lower(?%d)) OR instr(lower(ifnull(study_name,'')), "
		     "lower(?%d)) OR"
		     " instr(lower(ifnull(accession,'')), lower(?%d)) OR instr(lower(ifnull(patient_name,'')), "
		     "lower(?%d)) OR"
		     " instr(lower(ifnull(patient_id,'')), lower(?%d)))",
		     q->q);
	} else if (q->q[0]) {
		COND("(instr(npuid, lower(?%d)) OR instr(lower(ifnull(order_id,'')), lower(?%d)) OR"
		     " instr(lower(ifnull(group_name,'')), lower(?%d)))",
		     q->q);
	}
	if (q->cursor[0] && q->desc)
		COND("(created_at, npuid) < (substr(?%d, 1, instr(?%d, '|') - 1), substr(?%d, instr(?%d, '|') + 1))",
		     q->cursor);
	else if (q->cursor[0])
		COND("(created_at, npuid) > (substr(?%d, 1, instr(?%d, '|') - 1), substr(?%d, instr(?%d, '|') + 1))",
		     q->cursor);
#undef COND
#undef PLUS
	s->nbind = n;
	return 0;
}

/* Equal values of the sort column come newest (or oldest) first, then by
 * npuid: each sort column has an index (col, created_at, npuid), so a page
 * walks one index with no sort step. A tie broken by npuid alone sorted the
 * whole run of equal values first (every study in one state, or without a
 * group: most of a million). plus "+": the first term as an expression,
 * which no index gives in order (the page that looks its rows up through a
 * filter's index and sorts them; with statistics from an ANALYZE, SQLite
 * took the walk of the sort's index for a rare QC result too). */
static void studies_order(const char *col, const char *dir, const char *plus, char *order, size_t osz)
{
	if (!strcmp(col, "npuid"))
		snprintf(order, osz, "%snpuid %s", plus, dir);
	else if (!strcmp(col, "created_at"))
		snprintf(order, osz, "created_at %s, npuid %s", dir, dir);
	else
		snprintf(order, osz, "%s%s %s, created_at %s, npuid %s", plus, col, dir, dir, dir);
}

int np_studies_sql(const struct np_studies_q *q, int search_phi, const char *cols, struct np_studies_sql *s)
{
	char where[2400], order[96];
	memset(s, 0, sizeof *s);
	const char *col = np_studies_q_order(q), *dir = q->desc ? "DESC" : "ASC";
	int range = q->from[0] || q->to[0];
	/* A filter the sort's index does not lead with: either look the
	 * matches up through the filter's index and sort them, or walk the
	 * sort's index testing each row (see NP_STUDIES_WALK_BUDGET). Not with a
	 * search (its own probe), nor a cursor (only by created_at, which
	 * every filter index ends with), nor a date range under a sort by a
	 * time (see time_like). */
	int walk = !q->q[0] && !q->cursor[0] && strcmp(col, "created_at") && !(range && time_like(col)) &&
		   ((q->state[0] && strcmp(col, "state")) || (q->group[0] && strcmp(col, "group_name")) ||
		    (q->qc[0] && strcmp(col, "qc_result")) || range);
	studies_order(col, dir, walk ? "+" : "", order, sizeof order);
	s->offset = q->cursor[0] ? 0 : (q->page - 1) * q->size;
	s->count_limit = s->offset + q->size + NP_STUDIES_COUNT_AHEAD;
	if (studies_where(q, search_phi, 0, NULL, s, where, sizeof where) < 0)
		return -1;
	if (snprintf(s->page, sizeof s->page, "SELECT %s FROM studies%s ORDER BY %s LIMIT %ld OFFSET %ld", cols, where,
		     order, q->size + 1, s->offset) >= (int)sizeof s->page)
		return -1;
	if (snprintf(s->count, sizeof s->count, "SELECT count(*) FROM (SELECT 1 FROM studies%s LIMIT %ld)", where,
		     s->count_limit + 1) >= (int)sizeof s->count)
		return -1;
	if (walk) {
		s->walk_param = s->nbind + 1;
		if (snprintf(s->walk_probe, sizeof s->walk_probe,
			     "SELECT count(*) FROM (SELECT 1 FROM studies%s LIMIT ?%d)", where,
			     s->walk_param) >= (int)sizeof s->walk_probe)
			return -1;
		studies_order(col, dir, "", order, sizeof order);
		if (studies_where(q, search_phi, 0, col, s, where, sizeof where) < 0 ||
		    snprintf(s->page_walk, sizeof s->page_walk,
			     "SELECT %s FROM studies%s ORDER BY %s LIMIT %ld OFFSET %ld", cols, where, order,
			     q->size + 1, s->offset) >= (int)sizeof s->page_walk)
			return -1;
	}
	if (!s->match_param)
		return 0;
	s->broad_limit = NP_STUDIES_BROAD > s->count_limit ? NP_STUDIES_BROAD : s->count_limit + 1;
	s->search_only = !q->state[0] && !q->group[0] && !q->qc[0] && !q->from[0] && !q->to[0] && !q->cursor[0];
	if (snprintf(s->probe, sizeof s->probe,
		     "SELECT count(*) FROM (SELECT 1 FROM studies_fts WHERE studies_fts MATCH ?%d LIMIT %ld)",
		     s->match_param, s->broad_limit) >= (int)sizeof s->probe ||
	    studies_where(q, search_phi, 1, NULL, s, where, sizeof where) < 0 ||
	    snprintf(s->page_broad, sizeof s->page_broad, "SELECT %s FROM studies%s ORDER BY %s LIMIT %ld OFFSET %ld",
		     cols, where, order, q->size + 1, s->offset) >= (int)sizeof s->page_broad)
		return -1;
	return 0;
}
