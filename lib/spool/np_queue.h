/* SPDX-License-Identifier: Apache-2.0 */
/* np_queue: the bookkeeping of np-queue(1), kept apart from its process loop
 * so the UI and tests can read it. Each stage (spool state a runner takes
 * studies from) has a journal folder spool/<stage>/.queue/ with one small
 * JSON file per study that is waiting for a retry or being routed:
 *   {"attempts": N, "next_try": epoch, "last_exit": S, "since": epoch,
 *    "error": E, "hint": epoch, "noted": epoch, "to": STATE, "reason": R}
 * "to" is written before the study is moved (the intent) and the file is
 * removed after the move, so a runner restarted after a crash at any point
 * finishes the move instead of running the command again. See np-spool(7). */
#ifndef NP_QUEUE_H
#define NP_QUEUE_H

#include <jansson.h>
#include <stddef.h>

struct np_err;
struct np_db;
struct np_config;

struct np_queue_entry {
	int attempts;	 /* runs that ended with a temporary failure */
	double next_try; /* epoch seconds before which the study is not run */
	int last_exit;	 /* exit status of the last run, -1 if none */
	double since;	 /* epoch of the first temporary failure of this run of them, 0 if none */
	double hint;	 /* when the command asked to be run again (np_queue_note), 0 if not */
	double noted;	 /* when the command last called np_queue_note, 0 if never */
	int held;	 /* the last note was np_queue_hold: a wait, not a failure */
	char to[32];	 /* routing decided but not yet done ("" if none) */
	char reason[256];
	char error[256]; /* the command's last temporary failure in words (no PHI), "" if not told */
};

/* How temporary failures (exit 111) are retried: after initial seconds,
 * doubling up to max, until give_up seconds after the first one; then one
 * last try, and the study fails if that one fails too. Settings retry.*,
 * read at each retry so a change applies to the next one. */
struct np_retry {
	double initial, max, give_up;
};
void np_retry_settings(const struct np_config *cfg, struct np_retry *rt);

/* Load the journal entry of id in stage. Returns 0 loaded, 1 none (e is
 * zeroed with last_exit -1), -1 error (unreadable or corrupt: permanent). */
int np_queue_load(const char *home, const char *stage, const char *id, struct np_queue_entry *e, struct np_err *err);
/* Atomically write the journal entry. Returns 0 or -1 with err. */
int np_queue_save(const char *home, const char *stage, const char *id, const struct np_queue_entry *e,
		  struct np_err *err);
/* Remove the journal entry (missing is fine) and sync the folder. */
int np_queue_drop(const char *home, const char *stage, const char *id, struct np_err *err);

/* Delay in seconds before retry number `attempts` (1 = first retry):
 * min(cap, base * 2^(attempts-1)), then "equal jitter": a uniformly random
 * value in [d/2, d] so runners restarted together do not retry in step.
 * rnd is in [0, 1). */
double np_queue_backoff(double base, double cap, int attempts, double rnd);

/* From inside a command np-queue runs on dir (spool/<stage>/.work/<id>):
 * record the last temporary error in words (no PHI) for the UI, and, when
 * next_try > 0, when the command wants to run again (np-deliver: the first
 * destination due). A study not claimed by np-queue is left alone (0).
 * Returns 0 or -1 with err. */
int np_queue_note(const char *dir, const char *error, double next_try, struct np_err *err);

/* A study of state that is waiting to retry after temporary failures, for
 * the UI, API and CLI: {"stage", "reason", "next_try", "since" (ISO 8601
 * UTC), "attempts"}; NULL when it is not waiting. In uploaded/ only a run
 * that noted an error counts: np-poll's exit 111 "not finished yet" is the
 * normal wait for the cloud's analysis, not an outage. New reference. */
/* From inside a command: this exit 111 is a wait, not a failure (np-poll:
 * the analysis is still running; np-upload: the cloud is not configured).
 * It neither counts an attempt nor starts the give-up window; the study is
 * run again at next_try, or after retry.initial_seconds when 0. */
int np_queue_hold(const char *dir, const char *why, double next_try, struct np_err *err);

json_t *np_queue_waiting(const char *home, const char *state, const char *id);

/* Route a claimed study of stage to state `to`: record the intent in the
 * journal, np_spool_move it (history + index), then drop the journal entry.
 * Every step converges when re-run (np_queue_recover does so after a crash).
 * db may be NULL. Returns 0 or -1 with err. */
int np_queue_route(const char *home, struct np_db *db, const char *stage, const char *id, const char *to,
		   const char *reason, struct np_err *err);

/* Crash recovery at runner start: finish every routed move of the journal,
 * return every other claimed study from <stage>/.work/ to <stage>/, and drop
 * journal entries of studies that are no longer in the stage. Returns the
 * number of studies recovered, or -1 with err. */
int np_queue_recover(const char *home, struct np_db *db, const char *stage, struct np_err *err);

/* Take the runner lock of a stage (flock on spool/<stage>/.queue/.lock) so
 * two runners never recover each other's claimed studies. Returns the lock
 * fd (keep it open), or -1 with a temporary err when another runner holds it. */
int np_queue_lock(const char *home, const char *stage, struct np_err *err);

#endif
