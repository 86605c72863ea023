// SPDX-License-Identifier: Apache-2.0
/* np_atna_run: np-atna's work. The service follows the index and sends the
 * audit trail while atna.enabled, reconnecting with a backoff when the
 * repository is down and reloading when the settings change (SIGHUP or a new
 * settings stamp); --once sends what waits; --print, --test and
 * --skip-backlog are one-shot. See np_atna_run.h and np-atna(8). */
#include "np_atna_run.h"

#include "np_atna.h"
#include "np_buf.h"
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_util.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 200 };

static char home[PATH_MAX];
static sigset_t sigs;

struct out {
	struct np_atna_conn *conn; /* NULL: print to stdout */
	struct np_err err;
	long sent;
};

static int send_one(void *arg, const struct np_atna_rec *r, const char *msg, size_t len)
{
	(void)r;
	struct out *o = arg;
	if (!o->conn) {
		/* --print: the XML alone, one message per line. */
		const char *x = memchr(msg, '<', len);
		x = x ? strstr(x + 1, "<AuditMessage") : NULL;
		if (x)
			printf("%.*s\n", (int)(len - (size_t)(x - msg)), x);
		return 0;
	}
	if (np_atna_send(o->conn, msg, len, &o->err) < 0)
		return 1;
	o->sent++;
	return 0;
}

/* Is the settings file another version than the one stamp names? */
static int settings_changed(const char *stamp)
{
	char now[NP_CONFIG_STAMP_LEN];
	np_config_stamp(home, now);
	return strcmp(now, stamp) != 0;
}

/* Wait up to secs for a signal. Returns the signal, or 0. */
static int wait_signal(double secs)
{
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	int s = sigtimedwait(&sigs, NULL, &ts);
	return s < 0 ? 0 : s;
}

static int send_agent(struct np_atna_env *e, struct np_atna_conn *c, const char *action, const char *ts,
		      struct np_err *err)
{
	struct np_atna_rec r = {.table = "agent", .action = action, .ts = ts};
	struct np_buf m = {0};
	int rc = np_atna_message(e, &r, np_atna_conn_tls(c), &m, err);
	if (rc > 0)
		rc = np_atna_send(c, m.p, m.len, err);
	free(m.p);
	return rc < 0 ? -1 : 0;
}

/* The daemon: returns on SIGTERM/SIGINT. */
static int run(struct np_db *db, int once)
{
	char started[32];
	np_time_iso(started);
	int start_due = !once, logged_down = 0, stop = 0, rc = 0;
	double backoff = 1;
	while (!stop) {
		struct np_config cfg;
		struct np_err err = {0};
		/* a change of the settings (np-config, the Settings page) reloads
		 * them, as SIGHUP does */
		char stamp[NP_CONFIG_STAMP_LEN];
		np_config_stamp(home, stamp);
		if (np_config_load(&cfg, home, &err) < 0) {
			np_log_err(NULL, &err);
			return NP_EXIT_PERM;
		}
		if (!np_config_bool(&cfg, "atna.enabled")) {
			np_config_free(&cfg);
			if (once) {
				np_info(NULL, "atna.enabled is false: nothing sent");
				return 0;
			}
			np_info(NULL, "disabled (atna.enabled is false): waiting for the settings to change");
			while (!stop && !settings_changed(stamp)) {
				int s = wait_signal(2);
				stop = s == SIGTERM || s == SIGINT;
				if (s == SIGHUP)
					break;
			}
			continue;
		}
		struct np_atna_env env;
		if (np_atna_env_load(&env, &cfg, db, &err) < 0) {
			np_log_err(NULL, &err);
			np_atna_env_free(&env);
			np_config_free(&cfg);
			return np_err_exit_code(&err);
		}
		char where[400];
		snprintf(where, sizeof where, "%s:%lld (%s)", np_config_str(&cfg, "atna.host"),
			 np_config_int(&cfg, "atna.port"), np_config_str(&cfg, "atna.transport"));
		struct out o = {0};
		int reload = 0;
		while (!stop && !reload) {
			if (!o.conn) {
				o.conn = np_atna_connect(&cfg, 10000, &err);
				if (!o.conn) {
					if (!logged_down || once)
						np_warn(
						    NULL,
						    "audit repository %s unavailable, records wait in the index: %s",
						    where, err.msg);
					logged_down = 1;
					if (once || err.cls == NP_ERR_PERM) {
						rc = once ? np_err_exit_code(&err) : 0;
						if (once)
							break;
					}
					int s = wait_signal(backoff);
					backoff = backoff * 2 > 30 ? 30 : backoff * 2;
					stop = s == SIGTERM || s == SIGINT;
					reload = s == SIGHUP || settings_changed(stamp);
					continue;
				}
				char how[128];
				np_info(NULL, "connected to the audit repository %s %s", where,
					np_atna_conn_describe(o.conn, how, sizeof how));
				logged_down = 0;
				backoff = 1;
			}
			if (start_due) {
				if (send_agent(&env, o.conn, "application_start", started, &o.err) < 0)
					goto down;
				start_due = 0;
			}
			o.sent = 0;
			long n = np_atna_follow(db, &env, np_atna_conn_tls(o.conn), BATCH, 0, send_one, &o, &err);
			if (o.sent)
				np_info(NULL, "sent %ld audit messages to %s", o.sent, where);
			if (n < 0) {
				np_log_err(NULL, &err);
				rc = NP_EXIT_TEMP;
				if (once)
					break;
			}
			if (o.err.msg[0])
				goto down;
			if (n >= BATCH)
				continue;
			if (once)
				break;
			int s = wait_signal(1);
			stop = s == SIGTERM || s == SIGINT;
			reload = s == SIGHUP || settings_changed(stamp);
			continue;
		down:
			np_warn(NULL, "audit repository %s: %s; records wait in the index", where, o.err.msg);
			memset(&o.err, 0, sizeof o.err);
			np_atna_close(o.conn);
			o.conn = NULL;
			logged_down = 1;
			if (once) {
				rc = NP_EXIT_TEMP;
				break;
			}
		}
		if (stop && o.conn) {
			char now[32];
			np_time_iso(now);
			struct np_err e2 = {0};
			if (send_agent(&env, o.conn, "application_stop", now, &e2) < 0)
				np_log_err(NULL, &e2);
		}
		np_atna_close(o.conn);
		np_atna_env_free(&env);
		np_config_free(&cfg);
		if (once)
			return rc;
		if (reload)
			np_info(NULL, "settings changed: reconnecting");
	}
	return rc;
}

int np_atna_run(struct np_prog *p, enum np_atna_mode mode)
{
	struct np_err err = {0};
	struct np_db *db = p->db;
	snprintf(home, sizeof home, "%s", p->home);
	int rc = 0;
	if (mode == NP_ATNA_SKIP_BACKLOG) {
		if (np_atna_skip_backlog(db, &err) < 0)
			rc = np_err_exit_code(&err);
	} else if (mode == NP_ATNA_PRINT || mode == NP_ATNA_TEST) {
		struct np_config cfg;
		struct np_atna_env env;
		if (np_config_load(&cfg, home, &err) < 0) {
			rc = np_err_exit_code(&err);
		} else if (mode == NP_ATNA_TEST) {
			char msg[1024];
			const char *user = getenv("USER");
			if (np_atna_test(&cfg, db, user ? user : "root", "local", msg, sizeof msg, &err) < 0)
				rc = np_err_exit_code(&err);
			else
				printf("%s\n", msg);
			np_config_free(&cfg);
		} else {
			if (np_atna_env_load(&env, &cfg, db, &err) < 0 ||
			    np_atna_follow(db, &env, 0, INT_MAX, 1, send_one, &(struct out){0}, &err) < 0)
				rc = np_err_exit_code(&err);
			np_atna_env_free(&env);
			np_config_free(&cfg);
		}
	} else {
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGHUP);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGINT);
		sigprocmask(SIG_BLOCK, &sigs, NULL);
		signal(SIGPIPE, SIG_IGN);
		if (mode != NP_ATNA_ONCE)
			np_info(NULL, "started");
		rc = run(db, mode == NP_ATNA_ONCE);
		if (mode != NP_ATNA_ONCE)
			np_info(NULL, "stopped");
	}
	if (rc && err.msg[0])
		np_log_err(NULL, &err);
	return rc;
}
