// SPDX-License-Identifier: Apache-2.0
/* np_queue_run: np-queue's one job, the process loop of the generic runner:
 * claim each due study of spool/FROM, run CMD ARGS... STUDYDIR on it with a
 * concurrency limit and move it by the command's exit status (retry later,
 * give up at the end of the window). The bookkeeping (journal, claims,
 * backoff) is lib/spool/np_queue.c. See np_queue_run.h, np-queue(1) and
 * np-spool(7). */
#include "np_queue_run.h"

#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_index.h"
#include "np_log.h"
#include "np_queue.h"
#include "np_spool.h"
#include "np_study_ops.h"
#include "np_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct job {
	pid_t pid;
	char id[256];
	double start;
	double start_wall; /* epoch the run began (np_now) */
	int attempt;
	int last; /* the last try of the retry window */
};

struct runner {
	char home[PATH_MAX];
	const char *from, *to, *fail;
	char **cmd;
	const char *cmdname;
	int jobs, once, max_attempts, failures;
	double base, cap, give_up, poll; /* < 0: from the settings retry.* */
	struct job job[NP_QUEUE_MAX_JOBS];
	int nrun;
	double next_due; /* earliest next_try of a deferred study, 0 if none */
	int started;	 /* studies started in the current scan */
};

static volatile sig_atomic_t terms, hups;
static int wake[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGTERM || sig == SIGINT)
		terms++;
	if (sig == SIGHUP)
		hups = 1;
	if (write(wake[1], "x", 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
	errno = saved;
}

static double rnd01(void)
{
	uint32_t r = 0;
	if (np_random(&r, sizeof r, NULL) < 0)
		return 0.5;
	return r / 4294967296.0;
}

static void spawn(struct runner *r, const char *id, int attempt, int last)
{
	char dir[PATH_MAX], att[16];
	snprintf(dir, sizeof dir, "%s/spool/%s/.work/%s", r->home, r->from, id);
	snprintf(att, sizeof att, "%d", attempt);
	int argc = 0;
	while (r->cmd[argc])
		argc++;
	char **argv = calloc((size_t)argc + 2, sizeof *argv);
	if (!argv) {
		np_error(id, "unable to run %s: out of memory", r->cmdname);
		np_spool_unclaim(r->home, r->from, id, NULL);
		return;
	}
	memcpy(argv, r->cmd, (size_t)argc * sizeof *argv);
	argv[argc] = dir;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* The command dies with us: a killed np-queue (s6-svc -k) is
		 * restarted and recovers the claimed study; an orphaned command
		 * must not go on working on it beside the new one (two uploads
		 * of one study at once, a delivery made twice). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(NP_EXIT_TEMP);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0 && null != 0) {
			dup2(null, 0);
			close(null);
		}
		setenv("NP_HOME", r->home, 1);
		setenv("NP_QUEUE_ATTEMPT", att, 1);
		/* The command may give up itself on its last try, with its own
		 * words and events (np-upload: upload_failed). */
		if (last)
			setenv("NP_QUEUE_LAST_TRY", "1", 1);
		else
			unsetenv("NP_QUEUE_LAST_TRY");
		execvp(argv[0], argv);
		np_error(id, "unable to run %s: %s", r->cmdname, strerror(errno));
		_exit(127);
	}
	free(argv);
	if (pid < 0) {
		np_warn(id, "unable to fork: %s", strerror(errno));
		np_spool_unclaim(r->home, r->from, id, NULL);
		return;
	}
	struct job *j = &r->job[r->nrun++];
	j->pid = pid;
	snprintf(j->id, sizeof j->id, "%s", id);
	j->start = np_mono();
	j->start_wall = np_now();
	j->attempt = attempt;
	j->last = last;
}

static void route(struct runner *r, const char *id, const char *to, const char *reason, int event)
{
	struct np_err err = {0};
	struct np_db *db = np_index_open(r->home, &err);
	if (!db)
		np_log_err(id, &err);
	if (np_queue_route(r->home, db, r->from, id, to, reason, &err) < 0) {
		/* Keep the intent; return the study so the next scan retries the move. */
		np_log_err(id, &err);
		r->failures++;
		struct np_queue_entry e;
		if (np_queue_load(r->home, r->from, id, &e, NULL) == 0) {
			e.next_try = np_now() + (r->poll > 1 ? r->poll : 1);
			np_queue_save(r->home, r->from, id, &e, NULL);
		}
		np_spool_unclaim(r->home, r->from, id, NULL);
	} else if (event && db) {
		char detail[300];
		snprintf(detail, sizeof detail, "stage=%s cmd=%s %s", r->from, r->cmdname, reason);
		if (np_db_event(db, id, "queue_failed", "error", detail, &err) < 0)
			np_log_err(id, &err);
	}
	np_db_close(db);
}

/* The retry policy: flags given by hand win; the rest comes from the
 * settings, read at every retry so a change applies to the next one. */
static void policy(struct runner *r, struct np_retry *rt)
{
	struct np_config cfg;
	struct np_err err = {0};
	rt->initial = 60, rt->max = 3600, rt->give_up = 86400;
	if ((r->base < 0 || r->cap < 0 || r->give_up < 0)) {
		if (np_config_load(&cfg, r->home, &err) == 0) {
			np_retry_settings(&cfg, rt);
			np_config_free(&cfg);
		} else {
			np_warn(NULL, "retrying on the default schedule: %s", err.msg);
		}
	}
	if (r->base >= 0)
		rt->initial = r->base;
	if (r->cap >= 0)
		rt->max = r->cap;
	if (r->give_up >= 0)
		rt->give_up = r->give_up;
}

static void span(double s, char *out, size_t sz)
{
	if (s >= 7200)
		snprintf(out, sz, "%.1f h", s / 3600);
	else if (s >= 120)
		snprintf(out, sz, "%.0f min", s / 60);
	else
		snprintf(out, sz, "%.0f s", s);
}

/* A temporary failure: count it, then retry later or give up. A study is
 * failed only by a failure of its last try, a run that began once the
 * give-up window (from the first temporary failure) had passed, or by
 * --max-attempts when given. */
static void defer(struct runner *r, const struct job *j, int code, const char **to)
{
	struct np_err err = {0};
	struct np_queue_entry e;
	const char *id = j->id;
	if (np_queue_load(r->home, r->from, id, &e, &err) < 0)
		np_log_err(id, &err);
	struct np_retry rt;
	policy(r, &rt);
	double now = np_now();
	e.attempts++;
	e.last_exit = code;
	if (e.noted < j->start_wall - 1) {
		/* This run said nothing: an earlier run's words are stale. */
		e.error[0] = 0;
		e.hint = 0;
		e.held = 0;
	}
	if (e.held) {
		/* A wait, not a failure (np_queue_hold): no attempt counted, no
		 * give-up window, whatever the run before said. */
		e.attempts = 0;
		e.since = 0;
		e.next_try = e.hint > 0 ? e.hint : now + rt.initial;
		e.hint = 0;
		if (np_queue_save(r->home, r->from, id, &e, &err) < 0)
			np_log_err(id, &err);
		if (np_spool_unclaim(r->home, r->from, id, &err) < 0) {
			np_log_err(id, &err);
			r->failures++;
		}
		*to = r->from;
		return;
	}
	if (e.since <= 0)
		e.since = j->start_wall;
	if (j->last || (r->max_attempts > 0 && e.attempts >= r->max_attempts)) {
		char reason[512], len[32];
		span(now - e.since, len, sizeof len);
		if (j->last)
			snprintf(reason, sizeof reason,
				 "gave up: %s still failing temporarily after %s (retry.give_up_seconds=%.0f), %d "
				 "attempts: %s",
				 r->cmdname, len, rt.give_up, e.attempts, e.error[0] ? e.error : "see the log");
		else
			snprintf(reason, sizeof reason, "%s failed temporarily %d times (last exit %d)", r->cmdname,
				 e.attempts, code);
		np_queue_save(r->home, r->from, id, &e, NULL);
		*to = "failed";
		route(r, id, "failed", reason, 1);
		return;
	}
	double next = now + np_queue_backoff(rt.initial, rt.max, e.attempts, rnd01());
	if (e.hint > now)
		next = e.hint; /* the command knows best (np-deliver: the first destination due) */
	if (next > e.since + rt.give_up)
		next = e.since + rt.give_up; /* the last try, at the end of the window */
	e.next_try = next > now ? next : now;
	e.hint = 0;
	if (np_queue_save(r->home, r->from, id, &e, &err) < 0)
		np_log_err(id, &err);
	char at[32];
	np_time_iso_at((time_t)e.next_try, at);
	np_warn(id, "waiting to retry cmd=%s attempt=%d next_try=%s: %s", r->cmdname, e.attempts, at,
		e.error[0] ? e.error : "temporary failure");
	np_crash_point("queue.deferred");
	if (np_spool_unclaim(r->home, r->from, id, &err) < 0) {
		np_log_err(id, &err);
		r->failures++;
	}
	*to = r->from;
}

static void finished(struct runner *r, struct job *j, int status)
{
	double secs = np_mono() - j->start;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	np_crash_point("queue.ran");
	const char *to = r->from;
	char reason[256];
	snprintf(reason, sizeof reason, "%s exit %d", r->cmdname, code);
	struct np_err serr = {0};
	int settled = np_study_ops_settle(r->home, NULL, r->from, j->id, &serr);
	if (settled < 0)
		np_log_err(j->id, &serr);
	if (settled > 0) {
		/* Cancelled or deleted while the command ran (np-study(1)). */
		to = "(cancel or delete asked)";
	} else if (code < 0 && terms) {
		/* We are stopping and the command was interrupted: not its fault. */
		struct np_err err = {0};
		if (np_spool_unclaim(r->home, r->from, j->id, &err) < 0)
			np_log_err(j->id, &err);
	} else if (code == NP_EXIT_OK) {
		to = r->to;
		route(r, j->id, to, reason, 0);
	} else if (code == NP_EXIT_NO) {
		to = r->fail;
		route(r, j->id, to, reason, 0);
	} else if (code == NP_EXIT_PERM) {
		to = "failed";
		route(r, j->id, to, reason, 1);
	} else {
		defer(r, j, code, &to);
	}
	np_info(j->id, "ran cmd=%s exit=%d seconds=%.2f attempt=%d to=%s", r->cmdname, code, secs, j->attempt, to);
}

static void reap(struct runner *r)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (int i = 0; i < r->nrun; i++) {
			if (r->job[i].pid != pid)
				continue;
			struct job j = r->job[i];
			r->job[i] = r->job[--r->nrun];
			finished(r, &j, status);
			break;
		}
	}
}

static int consider(const char *home, const char *state, const char *id, const char *dir, void *vr)
{
	(void)home, (void)state, (void)dir;
	struct runner *r = vr;
	if (r->nrun >= r->jobs || terms || hups)
		return 1;
	struct np_queue_entry e;
	struct np_err err = {0};
	int settled = np_study_ops_settle(r->home, NULL, r->from, id, &err);
	if (settled < 0)
		np_log_err(id, &err);
	if (settled)
		return 0;
	if (np_queue_load(r->home, r->from, id, &e, &err) < 0) {
		np_log_err(id, &err);
		np_queue_drop(r->home, r->from, id, NULL);
	}
	double now = np_now();
	if (e.next_try > now) {
		if (!r->next_due || e.next_try < r->next_due)
			r->next_due = e.next_try;
		return 0;
	}
	if (e.to[0]) {
		route(r, id, e.to, e.reason, 0);
		return 0;
	}
	int c = np_spool_claim(r->home, r->from, id, &err);
	if (c < 0)
		np_log_err(id, &err);
	if (c != 0)
		return 0;
	np_crash_point("queue.claimed");
	/* The last try: the give-up window has passed (by the settings now). */
	int last = 0;
	if (e.since > 0 && e.attempts > 0) {
		struct np_retry rt;
		policy(r, &rt);
		last = now >= e.since + rt.give_up;
	}
	spawn(r, id, e.attempts + 1, last);
	r->started++;
	return 0;
}

static void wait_event(struct runner *r, int ino)
{
	double timeout = r->poll;
	if (r->next_due) {
		double d = r->next_due - np_now();
		if (d < timeout)
			timeout = d < 0 ? 0 : d;
	}
	struct pollfd p[2] = {{wake[0], POLLIN, 0}, {ino, POLLIN, 0}};
	int n = poll(p, ino >= 0 ? 2 : 1, r->once && r->nrun ? -1 : (int)(timeout * 1000) + 1);
	char buf[4096];
	for (int i = 0; n > 0 && i < 2; i++)
		if (p[i].revents & POLLIN)
			while (read(p[i].fd, buf, sizeof buf) > 0)
				;
}

static int run(struct runner *r)
{
	struct np_err err = {0};
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/spool/%s", r->home, r->from);
	int ino = -1;
	if (!r->once) {
		ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ino >= 0 && inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0) {
			np_warn(NULL, "unable to watch %s, polling every %gs: %s", dir, r->poll, strerror(errno));
			close(ino);
			ino = -1;
		}
	}
	int forwarded = 0;
	for (;;) {
		reap(r);
		if (terms > 1 && !forwarded) {
			/* A second stop request: interrupt the commands; their
			 * studies go back to FROM without counting an attempt. */
			for (int i = 0; i < r->nrun; i++)
				kill(r->job[i].pid, SIGTERM);
			forwarded = 1;
		}
		if ((terms || hups) && r->nrun == 0)
			break;
		r->next_due = 0;
		r->started = 0;
		if (!terms && !hups && np_spool_each(r->home, r->from, consider, r, &err) < 0) {
			np_log_err(NULL, &err);
			r->failures++;
		}
		if (r->once && r->nrun == 0 && r->started == 0)
			break;
		if (r->nrun < r->jobs && r->started)
			continue;
		wait_event(r, ino);
	}
	if (ino >= 0)
		close(ino);
	return r->failures ? NP_EXIT_TEMP : NP_EXIT_OK;
}

int np_queue_run(const char *home, const struct np_queue_opts *o)
{
	struct runner run_ = {0}, *r = &run_;
	struct np_err err = {0};
	snprintf(r->home, sizeof r->home, "%s", home);
	r->from = o->from, r->to = o->to, r->fail = o->fail, r->cmd = o->cmd;
	const char *slash = strrchr(r->cmd[0], '/');
	r->cmdname = slash ? slash + 1 : r->cmd[0];
	r->jobs = o->jobs, r->once = o->once, r->max_attempts = o->max_attempts;
	r->base = o->base, r->cap = o->cap, r->give_up = o->give_up, r->poll = o->poll;
	if (np_queue_lock(r->home, r->from, &err) < 0 || pipe2(wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		if (err.cls == NP_ERR_NONE)
			np_err_sys(&err, errno, "unable to create a pipe");
		return np_log_err(NULL, &err), np_err_exit_code(&err);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	/* SIGHUP (new settings): the commands read the settings at each run and
	 * are never interrupted; np-queue's own options come from the s6 run
	 * script (prepare reads agent.mode there), so it claims nothing more,
	 * lets the running commands finish and exits 0 for s6-supervise to run
	 * the script again. Unlike SIGTERM (s6-svc -r), a second HUP is harmless
	 * and no timeout-kill applies. */
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int n = np_queue_recover(r->home, NULL, r->from, &err);
	if (n < 0)
		return np_log_err(NULL, &err), np_err_exit_code(&err);
	np_info(NULL, "started from=%s to=%s fail=%s cmd=%s jobs=%d recovered=%d", r->from, r->to, r->fail, r->cmdname,
		r->jobs, n);
	int rc = run(r);
	np_info(NULL, "stopped from=%s failures=%d%s", r->from, r->failures,
		hups && !terms ? " (new settings: s6 starts it again)" : "");
	return rc;
}
