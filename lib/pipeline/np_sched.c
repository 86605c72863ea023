// SPDX-License-Identifier: Apache-2.0
/* np_sched: np-sched's one job, the agent's periodic jobs run on the cron
 * expressions of the settings: one table of jobs, no overlapping runs of a
 * job, a run missed while the daemon was down run once at start, SIGHUP
 * re-reads the settings. See np_sched.h and np-sched(8). */
#include "np_sched.h"

#include "np_config.h"
#include "np_cron.h"
#include "np_db.h"
#include "np_err.h"
#include "np_log.h"
#include "np_paths.h"
#include "np_spool.h"
#include "np_util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The jobs. cron_key names the setting holding the expression (else
 * fixed_cron); enabled_key a boolean setting that turns the job on. The
 * program is looked up next to np-sched, in ../bin, then in $PATH; jobs whose
 * program is not installed are logged once and skipped. */
struct job {
	const char *name;
	const char *cron_key, *fixed_cron, *enabled_key;
	const char *argv[10];
};

static const struct job jobs[] = {
    {"poll",
     "scheduler.poll_cron",
     NULL,
     NULL,
     {"np-queue", "--once", "uploaded", "results", "failed", "--", "np-poll"}},
    {"group-check", NULL, "* * * * *", NULL, {"np-report", "--auto"}},
    {"group-reports", "groups.schedule_cron", NULL, "groups.schedule_enabled", {"np-report", "--scheduled"}},
    {"metrics", "scheduler.metrics_cron", NULL, NULL, {"np-metrics"}},
    {"retention", "scheduler.retention_cron", NULL, NULL, {"np-retain"}},
    {"heartbeat", "telemetry.heartbeat_cron", NULL, "telemetry.heartbeat_enabled", {"np-heartbeat"}},
    /* Recorded events go out within a minute; the pipeline never waits on mail. */
    {"notify", NULL, "* * * * *", NULL, {"np-notify", "--pending"}},
    /* Failure reports of studies np-poll moved to failed/, where no queue runs. */
    {"failure-delivery", NULL, "* * * * *", NULL, {"np-deliver", "--failures"}},
};
enum { NJOBS = sizeof jobs / sizeof jobs[0] };

struct run {
	struct np_cron cron;
	char expr[128];
	int enabled, missing_logged;
	time_t next;
	pid_t pid;
	double started;
};

static struct run runs[NJOBS];
static char home[PATH_MAX], bindir[PATH_MAX];
static double fake_base = -1, mono_base, fake_rate = 1;

/* Wall-clock seconds. With $NP_FAKE_NOW (test builds) the fake time starts
 * there and moves on with the monotonic clock, $NP_FAKE_RATE times as fast,
 * so schedules can be tested in seconds. */
static double now_s(void)
{
	if (fake_base < 0)
		return np_now();
	return fake_base + (np_mono() - mono_base) * fake_rate;
}

static void kv_key(char *out, size_t sz, int i)
{
	snprintf(out, sz, "sched_last:%s", jobs[i].name);
}

static int find_program(const char *name, char *out, size_t outsz)
{
	static const char *const rel[] = {"", "/../bin", "/../sbin", NULL};
	for (int i = 0; rel[i]; i++) {
		snprintf(out, outsz, "%s%s/%s", bindir, rel[i], name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	int rc = -1;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && rc; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, outsz, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			rc = 0;
	}
	free(copy);
	return rc;
}

/* (Re)load the settings; keep running children. Returns 0 or -1. */
static int load(struct np_db *db, int first)
{
	struct np_config cfg;
	struct np_err err = {0};
	if (np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return -1;
	}
	time_t now = (time_t)now_s();
	for (int i = 0; i < NJOBS; i++) {
		struct run *r = &runs[i];
		const char *expr = jobs[i].cron_key ? np_config_str(&cfg, jobs[i].cron_key) : jobs[i].fixed_cron;
		r->enabled = !jobs[i].enabled_key || np_config_bool(&cfg, jobs[i].enabled_key);
		if (np_cron_parse(&r->cron, expr, &err) < 0) {
			np_error(NULL, "job %s disabled: %s: %s", jobs[i].name,
				 jobs[i].cron_key ? jobs[i].cron_key : "", err.msg);
			r->enabled = 0;
			continue;
		}
		snprintf(r->expr, sizeof r->expr, "%s", expr);
		r->missing_logged = 0;
		r->next = np_cron_next(&r->cron, now);
		if (first && r->enabled) {
			/* A run missed while we were down (or mid-restart) runs once now. */
			char key[64];
			kv_key(key, sizeof key, i);
			char *last = np_db_kv_get(db, key);
			if (last) {
				time_t due = np_cron_next(&r->cron, (time_t)strtoll(last, NULL, 10));
				if (due != (time_t)-1 && due <= now) {
					np_info(NULL, "job %s missed a run while stopped: running it now",
						jobs[i].name);
					r->next = now;
				}
				free(last);
			}
		}
	}
	np_config_free(&cfg);
	return 0;
}

static void start(struct np_db *db, int i, time_t now)
{
	struct run *r = &runs[i];
	char key[64], val[32];
	kv_key(key, sizeof key, i);
	snprintf(val, sizeof val, "%lld", (long long)now);
	struct np_err err = {0};
	if (np_db_kv_set(db, key, val, &err) < 0)
		np_log_err(NULL, &err);
	if (r->pid > 0) {
		np_warn(NULL, "job %s still running (pid %d): this run is skipped", jobs[i].name, (int)r->pid);
		return;
	}
	char prog[PATH_MAX];
	if (find_program(jobs[i].argv[0], prog, sizeof prog) < 0) {
		if (!r->missing_logged)
			np_warn(NULL, "job %s skipped: %s is not installed", jobs[i].name, jobs[i].argv[0]);
		r->missing_logged = 1;
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		np_error(NULL, "unable to start job %s: %s", jobs[i].name, strerror(errno));
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(prog, (char *const *)jobs[i].argv);
		np_error(NULL, "unable to run %s: %s", prog, strerror(errno));
		_exit(NP_EXIT_TEMP);
	}
	r->pid = pid;
	r->started = np_mono();
	np_info(NULL, "job %s started pid=%d", jobs[i].name, (int)pid);
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < NJOBS; i++) {
			if (runs[i].pid != pid)
				continue;
			runs[i].pid = 0;
			if (WIFEXITED(status))
				np_info(NULL, "job %s finished status=%d secs=%.1f", jobs[i].name, WEXITSTATUS(status),
					np_mono() - runs[i].started);
			else
				np_warn(NULL, "job %s killed by signal %d", jobs[i].name, WTERMSIG(status));
		}
	}
}

static void list(void)
{
	for (int i = 0; i < NJOBS; i++) {
		char when[64] = "-", prog[PATH_MAX];
		if (runs[i].next != (time_t)-1 && runs[i].enabled) {
			struct tm tm;
			localtime_r(&runs[i].next, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M %Z", &tm);
		}
		printf("%-14s %-16s %-9s next=%s %s%s\n", jobs[i].name, runs[i].expr,
		       runs[i].enabled ? "enabled" : "disabled", when, jobs[i].argv[0],
		       find_program(jobs[i].argv[0], prog, sizeof prog) ? " (not installed)" : "");
	}
}

int np_sched_run(const char *home_dir, struct np_db *db, enum np_sched_mode mode)
{
	struct np_err err = {0};
#ifdef NP_TEST_HOOKS
	if (getenv("NP_FAKE_NOW") && *getenv("NP_FAKE_NOW")) {
		fake_base = np_now();
		mono_base = np_mono();
		const char *rate = getenv("NP_FAKE_RATE");
		if (rate && atof(rate) >= 1)
			fake_rate = atof(rate);
	}
#endif
	int once = mode == NP_SCHED_ONCE, listing = mode == NP_SCHED_LIST;
	snprintf(home, sizeof home, "%s", home_dir);
	if (np_paths_bindir(bindir, sizeof bindir, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	/* Children find the agent home and their sibling tools (np-queue runs np-poll). */
	setenv("NP_HOME", home, 1);
	char path[2 * PATH_MAX + 4096];
	const char *old = getenv("PATH");
	snprintf(path, sizeof path, "%s/../bin:%s:%s", bindir, bindir, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (load(db, !listing) < 0)
		return NP_EXIT_PERM;
	if (listing) {
		list();
		return 0;
	}
	if (!once)
		np_info(NULL, "started jobs=%d", NJOBS);
	int stop = 0;
	while (!stop) {
		time_t now = (time_t)now_s();
		double wait = 60;
		int running = 0;
		for (int i = 0; i < NJOBS; i++) {
			struct run *r = &runs[i];
			if (r->enabled && r->next != (time_t)-1 && r->next <= now) {
				start(db, i, now);
				r->next = np_cron_next(&r->cron, now);
			}
			if (r->enabled && r->next != (time_t)-1 && r->next - now_s() < wait)
				wait = r->next - now_s();
			running += r->pid > 0;
		}
		if (once && !running)
			break;
		wait /= fake_rate;
		if (wait < 0.05)
			wait = 0.05;
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGCHLD) {
			reap();
		} else if (sig == SIGHUP) {
			np_info(NULL, "reloading settings");
			load(db, 0);
		} else if (sig == SIGTERM || sig == SIGINT) {
			stop = 1;
		}
		if (once) {
			reap();
			int left = 0;
			for (int i = 0; i < NJOBS; i++)
				left += runs[i].pid > 0;
			if (!left)
				break;
		}
	}
	/* On the way down, let running jobs know and wait for them: each one is
	 * written to converge when re-run. */
	for (int i = 0; i < NJOBS; i++)
		if (runs[i].pid > 0)
			kill(runs[i].pid, SIGTERM);
	for (int i = 0; i < NJOBS; i++)
		if (runs[i].pid > 0)
			waitpid(runs[i].pid, NULL, 0);
	if (!once)
		np_info(NULL, "stopped");
	return 0;
}
