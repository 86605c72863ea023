/* SPDX-License-Identifier: Apache-2.0 */
/* np_stable: turn idle spool/incoming/<StudyInstanceUID>/ folders into
 * spool/stable/<npuid>/ studies with a manifest (np-stable(8)).
 *
 * A study is stable when no association holds its .lock (flock LOCK_EX|
 * LOCK_NB succeeds) and its folder's mtime (the last arrival) is at least
 * dicom.stabilization_seconds old; or, lock free, when its first arrival is
 * dicom.max_wait_minutes old (flag "max_wait_exceeded"). Every time lives in
 * the spool, so a restart loses nothing. The build happens in
 * spool/tmp/st-<npuid>/ and ends with one rename into stable/; every step
 * converges when re-run after a crash (np_stable_recover, and each scan for
 * builds no process holds).
 *
 * A study an admin cancelled or deleted while it was incoming (a mark in
 * spool/.marks, np_study_ops) is taken in at once when no association holds
 * it (flag "forced"), and its build ends in cancelled/ or is purged instead
 * of going to stable/ (np_study_ops_settle_build). */
#ifndef NP_STABLE_H
#define NP_STABLE_H

#include <jansson.h>

struct np_err;
struct np_db;
struct np_config;

/* One pass over incoming/: finish builds no process holds (idle 2 s),
 * index every incoming study (state "incoming"), stabilize those that are
 * due. db may be NULL (opened for the call).
 * Stores the number stabilized in *done (may be NULL). Returns 0, or -1 with
 * err for errors that stop the pass (a bad study is logged and skipped). */
int np_stable_scan(const char *home, struct np_db *db, const struct np_config *cfg, int *done, struct np_err *err);

/* Stabilize one incoming study now, ignoring the quiet period (flag
 * "forced"). id is its StudyInstanceUID or its npuid. Never cuts an open
 * association: returns -1 with a temporary err when one holds the study.
 * On success fills npuid_out (may be NULL). Returns 0, or -1 with err
 * (ENOENT permanent when the study is not in incoming/, or was cancelled or
 * deleted on the way). Used by
 * np-stable --force and the API's force-stable endpoint. */
int np_stable_force(const char *home, const char *id, char npuid_out[37], struct np_err *err);

/* Finish builds interrupted by a crash (spool/tmp/st-*), drop empty
 * leftovers and crashed imports (spool/tmp/imp-*), and record missing index rows and events for studies already
 * in stable/. Safe to run while another np-stable works (builds in progress
 * are locked). Returns the number of studies finished or -1. */
int np_stable_recover(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err);

/* Record the index row and, once per study, the study_stabilized and
 * new_dataset_received events for a study in stable/ (also used by
 * np-import with source "upload"). Errors are logged, not returned: the
 * index is rebuilt from the spool. */
void np_stable_index(struct np_db *db, const char *npuid, const char *state, json_t *manifest, const char *reason);

#endif
