// SPDX-License-Identifier: Apache-2.0
/* np-httpd: the agent's web UI, REST API and API documentation. */
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd.h"
#include "np_svtree.h"
#include "np_log.h"
#include "np_paths.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void usage(FILE *f)
{
	fprintf(f, "usage: np-httpd [--home DIR] [--port N] [--webroot SHARE] [--vendor DIR] [--insecure-no-auth]\n"
		   "       np-httpd --routes\n"
		   "       np-httpd --studies-sql QUERY\n");
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"home", 1, 0, 'H'},
					   {"port", 1, 0, 'p'},
					   {"webroot", 1, 0, 'w'},
					   {"vendor", 1, 0, 'v'},
					   {"insecure-no-auth", 0, 0, 'I'},
					   {"routes", 0, 0, 'R'},
					   {"studies-sql", 1, 0, 'S'},
					   {"help", 0, 0, 'h'},
					   {0, 0, 0, 0}};
	const char *home_opt = NULL, *share_opt = NULL, *vendor_opt = NULL, *studies_sql = NULL;
	struct np_httpd_opts o = {0};
	struct np_err err = {0};
	int c;
	np_log_init("np-httpd");
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'w':
			share_opt = optarg;
			break;
		case 'v':
			vendor_opt = optarg;
			break;
		case 'I':
			o.insecure_no_auth = 1;
			break;
		case 'R':
			np_httpd_routes_print(stdout);
			return 0;
		case 'S':
			studies_sql = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return NP_EXIT_PERM;
		}
	}
	if (optind != argc || o.port < 0 || o.port > 65535) {
		usage(stderr);
		return NP_EXIT_PERM;
	}
	char home[PATH_MAX], share[PATH_MAX], vendor[PATH_MAX];
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_spool_init(home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (studies_sql) {
		if (np_httpd_studies_sql_print(stdout, home, studies_sql, &err) < 0) {
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		return 0;
	}
	if (share_opt ? !realpath(share_opt, share) : np_paths_share(share, sizeof share, "", &err) < 0) {
		np_fatal(NULL, "unable to find the share directory (use --webroot or $NP_SHARE_DIR)");
		return NP_EXIT_PERM;
	}
	if (vendor_opt)
		snprintf(vendor, sizeof vendor, "%s", vendor_opt);
	else
		find_vendor(share, vendor, sizeof vendor);
	if (o.insecure_no_auth)
		np_warn(NULL, "authentication is off (--insecure-no-auth): every request runs as admin");
	o.home = home;
	o.share = share;
	o.vendor = vendor;
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
	struct np_httpd *h = np_httpd_start(&o, &err);
	if (!h) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
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
