/* SPDX-License-Identifier: Apache-2.0 */
/* np_sched: np-sched's one job, running the agent's periodic jobs (np-queue
 * --once over np-poll, np-report, np-metrics, np-retain, np-heartbeat,
 * np-notify, np-deliver --failures) on the cron expressions of the
 * settings. A job never overlaps itself; a run missed while the scheduler
 * was down runs once at start (the last start of each job is kept in the
 * index); SIGHUP re-reads the settings; SIGTERM lets running jobs know and
 * waits for them. */
#ifndef NP_SCHED_H
#define NP_SCHED_H

struct np_db;

enum np_sched_mode {
	NP_SCHED_DAEMON, /* run until SIGTERM or SIGINT */
	NP_SCHED_ONCE,	 /* run the jobs that are due (or were missed), wait for them, return */
	NP_SCHED_LIST,	 /* print the jobs, their schedules and next runs */
};

/* Schedule the jobs of the agent home with the index db (which keeps their
 * last starts). The jobs' programs are found beside this program, in ../bin,
 * then in $PATH; they get NP_HOME and a PATH with those folders first.
 * Returns the exit code: 0, or 100 when the settings do not load. */
int np_sched_run(const char *home, struct np_db *db, enum np_sched_mode mode);

#endif
