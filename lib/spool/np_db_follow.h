/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_follow: the audit and events tables read in rowid order, for
 * np-atna's cursor (np_atna_follow). table is "audit" or "events"; any
 * other name reads as an empty table. */
#ifndef NP_DB_FOLLOW_H
#define NP_DB_FOLLOW_H

struct np_db;
struct np_err;

/* The ts of row id into ts (size 40). Returns 1 when the row exists. */
int np_db_follow_ts(struct np_db *db, const char *table, long long id, char ts[40]);
/* 1 when a row with a lower id than id exists. */
int np_db_follow_any_before(struct np_db *db, const char *table, long long id);
/* The lowest id above id (*out), or the highest id when after < 0. Returns
 * 1 when there is one. */
int np_db_follow_first_after(struct np_db *db, const char *table, long long after, long long *out);
int np_db_follow_last(struct np_db *db, const char *table, long long *out);

/* A row with what is known of its study; columns a table lacks are NULL
 * (events: actor, role, client, outcome; audit: level; action is the
 * event's type). */
struct np_db_follow_row {
	long long id;
	const char *ts, *actor, *role, *client, *action, *npuid, *detail, *outcome, *level;
	const char *patient_id, *study_uid, *accession, *calling_ae, *source;
};
/* Call fn for up to max rows after id, in order, until it returns nonzero:
 * a value < 0 is returned as is (fn set err), > 0 stops. Returns 0 when
 * the rows ran out or fn stopped, the value < 0, or -1 with err. */
int np_db_follow_rows(struct np_db *db, const char *table, long long after, int max,
		      int (*fn)(void *arg, const struct np_db_follow_row *r), void *arg, struct np_err *err);

#endif
