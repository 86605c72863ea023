/* SPDX-License-Identifier: Apache-2.0 */
/* np_study_status: what a study's own files say about how it ended, for the
 * UI and the API. The delivery summary counts the destinations of
 * deliveries.json (np_deliver.c) by state and labels the study "Delivered
 * 2/4 (2 failed)" or "Results ready (no delivery configured)"; the final
 * state is the stored order (order.json, results/index.json,
 * results/failure.json) of a study whose order is over, so nobody asks the
 * cloud about an order it has long forgotten. Nothing here holds PHI: errors
 * lose the user, path and query of any URL in them. */
#ifndef NP_STUDY_STATUS_H
#define NP_STUDY_STATUS_H

#include <jansson.h>

struct np_buf;

/* The delivery summary of the study folder dir in spool state `state`:
 * {"kind","total","sent","failed","pending","label","items":[{"destination"
 * (1-based),"index","type","name","state","attempts","error","sent_at",
 * "last_attempt_at"}]}. Destinations of type none are not counted. NULL
 * when the study has no deliveries.json (nothing attempted yet). New
 * reference. */
json_t *np_study_delivery(const char *dir, const char *state);

/* ,"delivery":{...} (or null) inserted before the closing brace of the JSON
 * object b ends with: a row of GET /api/studies for study npuid in state
 * `state` under home (its folder found in <state>/ or <state>/.work/). */
void np_study_delivery_row(struct np_buf *b, const char *home, const char *state, const char *npuid);
/* The same, with in_work 0 when the caller knows the study is not in
 * <state>/.work/ (np-httpd's listing of that folder): one stat less. */
void np_study_delivery_row_in(struct np_buf *b, const char *home, const char *state, const char *npuid, int in_work);

/* 1 when a study in this spool state has an order the cloud no longer works
 * on (results, done, failed, cancelled): its status is what was stored. */
int np_study_order_over(const char *state);

/* The stored final state of the study folder dir: the order (order.json)
 * with "results_at" (when the results were received, results/index.json)
 * and "failure" ({status, info, at} of results/failure.json) when present.
 * New reference (an empty order when there is none). */
json_t *np_study_final(const char *dir);

/* The order of the study folder dir as the back-end last recorded it
 * (order.json, written by np-upload and at each poll of np-poll), for
 * np-httpd when it may not read the cloud credentials (the privilege
 * split). Stores when that was (ISO 8601 UTC, order.json's modification
 * time) in as_of. NULL when dir has no order.json. New reference. */
json_t *np_study_recorded(const char *dir, char *as_of, size_t asz);

/* The text of an error as the API shows it: URLs cut to scheme://host:port,
 * control characters replaced, at most outsz - 1 bytes. */
void np_study_safe_error(const char *in, char *out, size_t outsz);

#endif
