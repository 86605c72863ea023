/* SPDX-License-Identifier: Apache-2.0 */
/* np_queue_run: np-queue's one job, the generic runner's process loop:
 * each due study of spool/FROM is claimed, CMD ARG... STUDYDIR runs on it
 * (at most `jobs` at once, $NP_QUEUE_ATTEMPT and $NP_QUEUE_LAST_TRY set) and
 * the exit status moves it: 0 to TO, 1 to FAIL, 100 to failed, 111 back to
 * FROM for a retry on the retry.* schedule. inotify wakes it; SIGTERM stops
 * it (a second one interrupts the commands), SIGHUP lets the commands finish
 * and returns for s6 to start it again with new settings. */
#ifndef NP_QUEUE_RUN_H
#define NP_QUEUE_RUN_H

#define NP_QUEUE_MAX_JOBS 64

struct np_queue_opts {
	const char *from, *to, *fail; /* study states, checked by the caller */
	char **cmd;		      /* CMD ARG..., NULL-terminated */
	int jobs;		      /* 1..NP_QUEUE_MAX_JOBS */
	int once;		      /* run what is due, wait for it, return */
	int max_attempts;	      /* also fail after this many attempts; 0: no limit */
	double base, cap, give_up;    /* retry schedule in seconds; < 0: from the settings retry.* */
	double poll;		      /* rescan interval without inotify events */
};

/* Lock spool/FROM of home against a second runner, recover what a crash
 * left claimed, then run until done (once) or stopped. Returns the exit
 * code: 0; 111 when a study could not be moved (the next scan retries it)
 * or another runner holds the lock; else that of the error that stopped it. */
int np_queue_run(const char *home, const struct np_queue_opts *o);

#endif
