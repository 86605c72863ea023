/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_audit: the audit table, append-only (triggers refuse updates and
 * deletes newer than retention's cutoff). */
#ifndef NP_DB_AUDIT_H
#define NP_DB_AUDIT_H

struct np_db;
struct np_err;

/* One audit record; NULL fields are stored as NULL. */
struct np_db_audit_rec {
	const char *ts, *actor, *role, *client, *action, *npuid, *detail, *outcome;
};
/* Append rec. Returns 0 or -1 with err. */
int np_db_audit_append(struct np_db *db, const struct np_db_audit_rec *rec, struct np_err *err);

#endif
