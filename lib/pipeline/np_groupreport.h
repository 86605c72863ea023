/* SPDX-License-Identifier: Apache-2.0 */
/* np_groupreport: group reports (the guide's "Group Report Format" and "Group
 * Report Delivery"). The one report type, "prediction_indexes", is a CSV
 * (RFC 4180, CRLF line ends, UTF-8) with one row per study of the group and
 * the columns documented in np-report(1):
 *   npuid, [study_name,] order_id, state, date, then "<product>:<index>" for
 *   every prediction index of every product of the group.
 * study_name is present only when groups.include_study_name is on (it may be
 * PHI). Values come from the study's results/ JSON files (np-poll). */
#ifndef NP_GROUPREPORT_H
#define NP_GROUPREPORT_H

#include <stddef.h>
#include <time.h>

struct np_err;
struct np_db;
struct np_config;

/* Build the CSV of group `name`. *csv is malloc'd (caller frees), *len its
 * length; *rows (may be NULL) the number of study rows. Returns 0, or -1
 * with err (permanent when the group is unknown). */
int np_groupreport_csv(const char *home, struct np_db *db, const struct np_config *cfg, const char *name, char **csv,
		       size_t *len, int *rows, struct np_err *err);

/* The report's file name from groups.filename_template with {group_name},
 * {report_type} and {date} (YYYY-MM-DD, UTC, of t). Every character outside
 * [A-Za-z0-9._-] becomes '_', a leading '.' too, and the result is at most
 * 200 bytes: never a path, never hidden. Returns 0 or -1 (permanent). */
int np_groupreport_filename(const struct np_config *cfg, const char *name, time_t t, char *out, size_t outsz,
			    struct np_err *err);

/* Build the report of `name` and deliver it to groups.delivery with
 * np_deliver_send (email, rest; "none" delivers nothing). Records group_report_sent or
 * group_report_send_failed and, on success, report_sent_at. `why` ("manual",
 * "complete", "schedule") goes to the log and the event detail. Returns 0
 * when sent, 1 when nothing was sent because the method is "none", or -1
 * with err (temporary for network errors). */
int np_groupreport_send(const char *home, struct np_db *db, const struct np_config *cfg, const char *name,
			const char *why, struct np_err *err);

/* "Test Delivery": send a small sample report (no study data) to
 * groups.delivery. Returns 0 or -1 with err. */
int np_groupreport_test(const char *home, const struct np_config *cfg, struct np_err *err);

/* Completion sweep: check every group (np_group_check) and, when
 * groups.auto_send_on_complete is on, send the report of each group that
 * completed since its last automatic report (once per completion: a group
 * re-opened by a new study is sent again when that study finishes).
 * Returns the number of groups that failed to send, or -1 with err. */
int np_groupreport_auto(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err);

/* Scheduled send (groups.schedule_cron): send the report of every group that
 * has studies, whether or not anything completed. Returns the number of
 * failures, or -1 with err. */
int np_groupreport_scheduled(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err);

#endif
