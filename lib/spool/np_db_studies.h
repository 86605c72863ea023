/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_studies: queries of the studies table (the row is written by
 * np_db_study_put and friends in np_db.h). */
#ifndef NP_DB_STUDIES_H
#define NP_DB_STUDIES_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct np_db;
struct np_err;

/* The /api/studies listing query, as np-httpd parses it (np_studies_q_parse). */
struct np_studies_q {
	char state[16];
	char group[128];
	char qc[16];
	char from[32], to[32]; /* ISO dates or date-times, inclusive */
	char q[128];	       /* search text */
	char sort[16];	       /* a column name from the allowed list */
	int desc;
	long page, size;
	char cursor[160]; /* opaque: "<sortvalue>|<npuid>" base64url-free */
	int reveal;
};
/* The SQL GET /api/studies runs, with ?N placeholders and the values to
 * bind (pointers into q and into s itself). The page asks for size + 1 rows:
 * the extra one only tells there are more. The count of the filtered set
 * stops after count_limit + 1 rows (the page's end plus
 * NP_STUDIES_COUNT_AHEAD): an exact total of a large set would cost a walk
 * over all of it on every page. The search (q->q) looks at npuid, order id
 * and group, and at the PHI columns only when search_phi; 3 characters or
 * more through the trigram index studies_fts. Returns 0 or -1 (too long). */
#define NP_STUDIES_COUNT_AHEAD 1000L
/* A search through the index counts its matches first (probe, up to
 * broad_limit). Fewer: page and count above, each match looked up and the
 * matches sorted. As many: too many to look up and sort on every page;
 * page_broad takes the set of matches once and walks the sort order testing
 * each row against it (a per-row MATCH, rowid = ?, costs FTS5 a whole query
 * each time). It runs no count: the total is a lower bound, broad_limit
 * when the search is the only filter. */
#define NP_STUDIES_BROAD 5000L
/* A filter on another column than the sort's (state=done&sort=study_date):
 * SQLite, without statistics of each value, looks the matches up through
 * the filter's index and sorts them all, 900,000 done studies for a page
 * of 50 (0.4 to 0.8 s at a million), or, with statistics, walks the sort's
 * index for a rare value too. Neither fits both, so the page chooses from
 * how many match: walk_probe counts them through the filter's index, up to
 * T = sqrt(rows the page reaches (offset + size + 1) x studies), which
 * costs at most T index entries. Fewer: page looks them up and sorts them
 * (fewer than T). As many: page_walk walks the sort's index testing each
 * row, about reach x studies / matches <= T rows if the matches are spread
 * over the order. When they are not (a QC result by state: the failed
 * ones are the qc-failed state), the walk stops after NP_STUDIES_WALK_BUDGET
 * x T rows' work and page goes on from the rows the walk found. */
#define NP_STUDIES_WALK_BUDGET 4L
struct np_studies_sql {
	char page[4096], count[3072];
	const char *binds[8];
	int nbind;
	long offset, count_limit;
	char match[400];       /* the FTS5 query for the search */
	int match_param;       /* its ?N, 0 without a search through the index */
	char probe[160];       /* count of the matches, up to broad_limit */
	long broad_limit;      /* max(NP_STUDIES_BROAD, count_limit + 1) */
	int search_only;       /* no other filter, no cursor */
	char page_broad[4096]; /* the page for a broad search */
	int walk_param;	       /* ?N of walk_probe's limit (T); 0: no walk_probe, page only */
	char walk_probe[3072]; /* count of the matches through the filter's index, up to T */
	char page_walk[4096];  /* the page along the sort's index, filters tested on each row */
};
int np_studies_sql(const struct np_studies_q *q, int search_phi, const char *cols, struct np_studies_sql *s);
/* The columns a list may be sorted by (NULL-terminated). */
extern const char *const np_studies_sort_cols[];
/* The ORDER BY column for q->sort (always one of np_studies_sort_cols). */
const char *np_studies_q_order(const struct np_studies_q *q);

/* 1 when the study has a row, else 0 (also on errors). */
int np_db_studies_has(struct np_db *db, const char *npuid);
/* The newest earlier study (not incoming) with the same StudyInstanceUID,
 * into out ("" when none). */
void np_db_studies_linked(struct np_db *db, const char *study_uid, const char *npuid, char out[64]);

/* What a notification says about a study. */
struct np_db_study_brief {
	char order_id[128], state[32], name[256];
};
/* Fill b ("" for each field when the study has no row). */
void np_db_studies_brief(struct np_db *db, const char *npuid, struct np_db_study_brief *b);

/* A result row of a study listing, read in place (valid during the
 * callback only). Column i as in the cols the statement selected. */
struct np_db_row;
enum np_db_type { NP_DB_NULL, NP_DB_INTEGER, NP_DB_FLOAT, NP_DB_TEXT };
enum np_db_type np_db_row_type(const struct np_db_row *r, int i);
long long np_db_row_int(const struct np_db_row *r, int i);
double np_db_row_real(const struct np_db_row *r, int i);
/* The text (NULL for NULL) and its length in bytes (*n, may be NULL). */
const unsigned char *np_db_row_text(const struct np_db_row *r, int i, size_t *n);

/* One page of GET /api/studies: the statements of s (np_studies_sql), each
 * prepared once per np-httpd thread. A search through the index is probed
 * first (broad or not, see NP_STUDIES_BROAD). fn gets up to size rows.
 * When the total is not known from the page itself (it is a last page) and
 * there is no cursor and the search is not broad, the count runs too. */
struct np_db_studies_page {
	long n;		 /* rows handed to fn */
	int more;	 /* there is a next page */
	int broad;	 /* the search was broad (page_broad ran, no count) */
	int counted;	 /* count holds the count statement's answer */
	int walked;	 /* page_walk ran: 1, 2 when it ran out of its budget and page went on */
	long long count; /* up to s->count_limit + 1 */
};
/* Returns 0, or -1 with err (class NP_ERR_PERM: a statement did not
 * prepare; NP_ERR_TEMP: a step failed). */
int np_db_studies_page(struct np_db *db, const struct np_studies_q *q, const struct np_studies_sql *s,
		       void (*fn)(void *arg, const struct np_db_row *r), void *arg, struct np_db_studies_page *out,
		       struct np_err *err);
/* Whether the probe finds s->broad_limit matches or more (0 without a
 * search through the index), as np_db_studies_page decides. */
int np_db_studies_broad(struct np_db *db, const struct np_studies_sql *s);
/* T of NP_STUDIES_WALK_BUDGET for the page of q (0 when s has no walk), and
 * whether walk_probe finds T matches or more (page_walk runs first). */
long np_db_studies_walk_min(struct np_db *db, const struct np_studies_q *q, const struct np_studies_sql *s);
int np_db_studies_walk(struct np_db *db, const struct np_studies_sql *s, long walk_min);

/* GET /api/results: studies with results (results, done, failed), newest
 * update first, size rows from offset; q ("" for none) a substring of
 * npuid, order id or group, and with search_phi of the PHI columns. fn
 * gets up to size rows; returns 1 when there are more, 0, or -1 with err. */
int np_db_studies_results(struct np_db *db, const char *cols, const char *q, int search_phi, long size, long offset,
			  void (*fn)(void *arg, const struct np_db_row *r), void *arg, struct np_err *err);

/* Call fn with each QC result (NULL: none yet) and how many studies have it
 * (from the counts the index keeps by triggers, migration 6). */
void np_db_studies_qc_counts(struct np_db *db, void (*fn)(void *arg, const char *qc, long long n), void *arg);

/* The index rebuild's bulk load, inside np_db_begin: drop the studies
 * table's indexes (not its primary key) and return the SQL that makes them
 * again (NULL with err), for np_db_studies_bulk_end after the rows are in
 * (it frees it; NULL: nothing to do). Each row inserted into 10 indexes at
 * once touched pages all over them: with SQLite's 2 MB page cache, pages
 * written out and read back for every study (250 us of CPU a study at
 * 100,000, 47 GB written for a million); CREATE INDEX sorts instead. */
char *np_db_studies_bulk_begin(struct np_db *db, struct np_err *err);
int np_db_studies_bulk_end(struct np_db *db, char *saved, struct np_err *err);
/* Delete every study row (the index rebuild, inside np_db_begin). */
int np_db_studies_delete_all(struct np_db *db, struct np_err *err);
/* Merge the search index's segments (after a delete of PHI, so its old
 * terms do not stay in them). */
int np_db_studies_search_optimize(struct np_db *db, struct np_err *err);

#endif
