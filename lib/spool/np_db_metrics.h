/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_metrics: the metrics table (np-metrics' snapshots). */
#ifndef NP_DB_METRICS_H
#define NP_DB_METRICS_H

#include <stddef.h>

struct np_db;
struct np_err;

struct np_db_metric {
	char name[96];
	char labels[192]; /* JSON object, "" for none */
	double value;
};

/* Store n samples taken at ts in one transaction. Returns 0 or -1 with err. */
int np_db_metrics_put(struct np_db *db, const char *ts, const struct np_db_metric *m, size_t n, struct np_err *err);

/* Call fn with each series of the latest snapshot of each metric: one call
 * per (name, labels), labels the stored JSON object or NULL, ordered by name
 * then labels so that a writer sees a metric's series together. */
void np_db_metrics_latest(struct np_db *db, void (*fn)(void *arg, const char *name, const char *labels, double value),
			  void *arg);

#endif
