/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_retain: retention's deletes of old rows (np_retain). */
#ifndef NP_DB_RETAIN_H
#define NP_DB_RETAIN_H

struct np_db;
struct np_err;

/* Delete the rows of table ("events", "metrics" or "audit") older than
 * cutoff_iso (their ts), or with dry_run count them. Returns the count or
 * -1 with err. The audit table refuses deletes at or after kv
 * audit_purge_before: set it first. */
long long np_db_retain_purge(struct np_db *db, const char *table, const char *cutoff_iso, int dry_run,
			     struct np_err *err);

#endif
