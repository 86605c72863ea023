// SPDX-License-Identifier: Apache-2.0
/* np-httpd: the agent's web UI, REST API and API documentation. */
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd.h"
#include "np_log.h"
#include "np_paths.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_svtree.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, got_hup;
static void on_term(int s)
{
	(void)s;
	got_term = 1;
}
static void on_hup(int s)
{
	(void)s;
	got_hup = 1;
}

/* Swagger UI from npm: <share>/vendor when installed, build/vendor in a
 * checkout (next to build/sbin or build/san/sbin). */
static void find_vendor(const char *share, char *out, size_t sz)
{
	char p[PATH_MAX + 32], bin[PATH_MAX];
	struct np_err err = {0};
	out[0] = 0;
	snprintf(p, sizeof p, "%s/vendor", share);
	if (np_is_dir(p) && sz >= PATH_MAX && realpath(p, out))
		return;
	if (np_paths_bindir(bin, sizeof bin, &err) < 0)
		return;
	snprintf(p, sizeof p, "%s/../vendor", bin);
	if (!np_is_dir(p))
		snprintf(p, sizeof p, "%s/../../vendor", bin);
	if (sz < PATH_MAX || !realpath(p, out))
		out[0] = 0;
}

enum { O_PORT = NP_PROG_LONG, O_WEBROOT, O_VENDOR, O_INSECURE, O_ROUTES, O_SQL };

static const struct np_prog_opt opts[] = {
    {"port", O_PORT, "N", "listen on port N instead of http.port"},
    {"webroot", O_WEBROOT, "SHARE", "the share directory (web UI, schema) instead of the installed one"},
    {"vendor", O_VENDOR, "DIR", "Swagger UI's files for /api-docs"},
    {"insecure-no-auth", O_INSECURE, NULL, "no login: every request runs as admin (tests only)"},
    {"routes", O_ROUTES, NULL, "print the route table and exit"},
    {"studies-sql", O_SQL, "QUERY", "print the SQL a studies query string makes, and exit"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-httpd",
    .synopsis = "[--home DIR] [--port N] [--webroot SHARE] [--vendor DIR] [--insecure-no-auth]\n"
		"--routes\n"
		"--studies-sql QUERY",
    .about = "The agent's web UI, REST API and API documentation.",
    .opts = opts,
    .needs = NP_PROG_SPOOL,
};

struct httpd_args {
	struct np_httpd_opts o;
	const char *share, *vendor, *studies_sql;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct httpd_args *a = p->ctx;
	switch (key) {
	case NP_PROG_ARGS:
		return a->o.port < 0 || a->o.port > 65535 ? NP_PROG_USAGE : NP_PROG_GO;
	case O_PORT:
		a->o.port = atoi(arg);
		break;
	case O_WEBROOT:
		a->share = arg;
		break;
	case O_VENDOR:
		a->vendor = arg;
		break;
	case O_INSECURE:
		a->o.insecure_no_auth = 1;
		break;
	case O_ROUTES:
		np_httpd_routes_print(stdout);
		return 0;
	case O_SQL:
		a->studies_sql = arg;
		break;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct httpd_args a = {0};
	struct np_err err = {0};
	char share[PATH_MAX], vendor[PATH_MAX];
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	const char *home = p.home;
	if (a.studies_sql)
		return np_httpd_studies_sql_print(stdout, home, a.studies_sql, &err) < 0 ? np_prog_fail(NULL, &err) : 0;
	if (a.share ? !realpath(a.share, share) : np_paths_share(share, sizeof share, "", &err) < 0) {
		np_fatal(NULL, "unable to find the share directory (use --webroot or $NP_SHARE_DIR)");
		return NP_EXIT_PERM;
	}
	if (a.vendor)
		snprintf(vendor, sizeof vendor, "%s", a.vendor);
	else
		find_vendor(share, vendor, sizeof vendor);
	if (a.o.insecure_no_auth)
		np_warn(NULL, "authentication is off (--insecure-no-auth): every request runs as admin");
	a.o.home = home;
	a.o.share = share;
	a.o.vendor = vendor;
	struct sigaction sa = {0};
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* s6-notifyoncheck's poller becomes our child: reaped once it ends. */
	pid_t inherited[8];
	int ninherited = np_svtree_children(inherited, 8);
	struct np_httpd *h = np_httpd_start(&a.o, &err);
	if (!h)
		return np_prog_fail(NULL, &err);
	while (!got_term) {
		if (ninherited) {
			nanosleep(&(struct timespec){1, 0}, NULL);
			for (int i = 0; i < ninherited; i++)
				if (waitpid(inherited[i], NULL, WNOHANG) != 0)
					inherited[i--] = inherited[--ninherited];
		} else {
			pause();
		}
		if (got_hup) {
			got_hup = 0;
			if (np_httpd_reload(h, &err) < 0)
				np_log_err(NULL, &err);
			else
				np_info(NULL, "settings reloaded");
		}
	}
	np_httpd_stop(h);
	np_info(NULL, "stopped");
	return 0;
}
