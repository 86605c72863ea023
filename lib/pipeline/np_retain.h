/* SPDX-License-Identifier: Apache-2.0 */
/* np_retain: the guide's Data Retention Policy. Orders (study folders with
 * all their PHI, and their index rows) older than retention.order_days, index
 * records (events, metrics, audit) older than retention.db_record_days, and
 * rotated log files older than retention.log_days are purged. */
#ifndef NP_RETAIN_H
#define NP_RETAIN_H

struct np_err;
struct np_db;
struct np_config;

struct np_retain_counts {
	int studies;	/* study folders purged */
	long long rows; /* index rows purged (events, metrics, audit) */
	int logs;	/* log files removed */
};

/* States whose studies are purged once their last state change is older
 * than the order retention: the terminal ones and qc-failed (held studies
 * must not keep PHI forever). */
extern const char *const np_retain_states[];

/* Run every purge with cutoffs computed from now (np_now) and the settings.
 * A study folder is first renamed out of the spool (so it disappears at
 * once), then removed; its index row is deleted with secure_delete on so the
 * PHI is not left in free database pages. With dry_run nothing is removed
 * but counts are reported. Returns 0 or -1 with err (the purge goes on past
 * single failures and reports the first). */
int np_retain_run(const char *home, const struct np_config *cfg, struct np_db *db, int dry_run,
		  struct np_retain_counts *counts, struct np_err *err);

#endif
