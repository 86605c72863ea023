/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_audit: the audit table, append-only (triggers refuse updates and
 * deletes newer than retention's cutoff). */
#ifndef NP_DB_AUDIT_H
#define NP_DB_AUDIT_H

#include <jansson.h>

struct np_db;
struct np_err;

/* One audit record; NULL fields are stored as NULL. */
struct np_db_audit_rec {
	const char *ts, *actor, *role, *client, *action, *npuid, *detail, *outcome;
};
/* Append rec. Returns 0 or -1 with err. */
int np_db_audit_append(struct np_db *db, const struct np_db_audit_rec *rec, struct np_err *err);

/* Filters of the audit listing, "" for none: action and actor exact, npuid a
 * prefix (a UID read off a screen is often cut), since inclusive and until
 * exclusive on the ISO time. */
struct np_db_audit_filter {
	const char *action, *since, *until, *actor, *npuid;
	long limit, offset;
};
/* The matching records, newest first, as objects {id, ts, actor, role,
 * client, action, npuid, detail, outcome} (*items, a new array), and how
 * many match in all (*total). Returns 0 or -1 with err. */
int np_db_audit_list(struct np_db *db, const struct np_db_audit_filter *f, json_t **items, long long *total,
		     struct np_err *err);
/* The distinct values (up to 500, sorted) of col, "action" or "actor", for
 * the page's filter choices: a new array. */
json_t *np_db_audit_distinct(struct np_db *db, const char *col);

#endif
