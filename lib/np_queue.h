/* SPDX-License-Identifier: Apache-2.0 */
/* np_queue: the bookkeeping of np-queue(1), kept apart from its process loop
 * so the UI and tests can read it. Each stage (spool state a runner takes
 * studies from) has a journal folder spool/<stage>/.queue/ with one small
 * JSON file per study that is waiting for a retry or being routed:
 *   {"attempts": N, "next_try": epoch, "last_exit": S, "to": STATE, "reason": R}
 * "to" is written before the study is moved (the intent) and the file is
 * removed after the move, so a runner restarted after a crash at any point
 * finishes the move instead of running the command again. See np-spool(7). */
#ifndef NP_QUEUE_H
#define NP_QUEUE_H

#include <stddef.h>

struct np_err;
struct np_db;

struct np_queue_entry {
	int attempts;	 /* runs that ended with a temporary failure */
	double next_try; /* epoch seconds before which the study is not run */
	int last_exit;	 /* exit status of the last run, -1 if none */
	char to[32];	 /* routing decided but not yet done ("" if none) */
	char reason[256];
};

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
