/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_groups: the groups table and the studies' group_name (np_group
 * keeps the rules: names, products, completion). Products are stored as
 * the JSON text np_group makes. Errors: "database error: ..." in err. */
#ifndef NP_DB_GROUPS_H
#define NP_DB_GROUPS_H

#include <jansson.h>
#include <stddef.h>

struct np_db;
struct np_err;

/* 1 when group name exists (then *products, when not NULL, is its products
 * text, malloc'd, or NULL), 0 when not, -1 with err. */
int np_db_groups_products(struct np_db *db, const char *name, char **products, struct np_err *err);
/* The name of the group with rowid id into name (size n). Returns 1, 0
 * when there is none or its name does not fit, -1 with err. */
int np_db_groups_name_of(struct np_db *db, long long id, char *name, size_t n, struct np_err *err);
int np_db_groups_insert(struct np_db *db, const char *name, const char *products, const char *description,
			const char *created_at, struct np_err *err);
/* Set the products; with only_if_empty, only while they are '[]'. */
int np_db_groups_set_products(struct np_db *db, const char *name, const char *products, int only_if_empty,
			      struct np_err *err);
/* Set completed_at (NULL: the group is open again) or report_sent_at. */
int np_db_groups_set_completed(struct np_db *db, const char *name, const char *ts, struct np_err *err);
int np_db_groups_set_report_sent(struct np_db *db, const char *name, const char *ts, struct np_err *err);
/* A copy of row from under the name to (the first step of a rename). */
int np_db_groups_copy(struct np_db *db, const char *from, const char *to, struct np_err *err);
int np_db_groups_delete(struct np_db *db, const char *name, struct np_err *err);
/* Re-create the groups named by studies but missing from the table (after
 * an index rebuild from the spool), with the products of their first study. */
int np_db_groups_reconcile(struct np_db *db, struct np_err *err);

/* How many studies other than npuid are in the group; -1 with err. */
long long np_db_groups_count_others(struct np_db *db, const char *name, const char *npuid, struct np_err *err);
/* The npuids of the group's studies, oldest first (new array), or NULL with
 * err. */
json_t *np_db_groups_member_ids(struct np_db *db, const char *name, struct np_err *err);

/* A group's row with its study counts. Text fields may be NULL. */
struct np_db_group_row {
	long long id, studies, terminal; /* terminal: done, failed or cancelled */
	const char *name, *products, *description, *created_at, *completed_at, *report_sent_at;
};
/* Call fn for each group ordered by name, or for group name only. Returns
 * the number of rows or -1 with err. */
int np_db_groups_each(struct np_db *db, const char *name, void (*fn)(void *arg, const struct np_db_group_row *g),
		      void *arg, struct np_err *err);
/* Call fn for each study of the group, oldest first (order_id and
 * created_at may be NULL). Returns 0 or -1 with err. */
int np_db_groups_each_member(struct np_db *db, const char *name,
			     void (*fn)(void *arg, const char *npuid, const char *state, const char *order_id,
					const char *created_at),
			     void *arg, struct np_err *err);

#endif
