// SPDX-License-Identifier: Apache-2.0
/* np-httpd: the agent's web UI, REST API and API documentation. */
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd.h"
#include "np_log.h"
#include "np_spool.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, got_hup;
static void on_term(int s) { (void)s; got_term = 1; }
static void on_hup(int s) { (void)s; got_hup = 1; }

static void usage(FILE *f)
{
	fprintf(f, "usage: np-httpd [--home DIR] [--port N] [--webroot SHARE] [--vendor DIR] [--insecure-no-auth]\n"
		   "       np-httpd --routes\n");
}

/* share/ next to the checkout's or the installed binary: build/sbin/../../share
 * or PREFIX/sbin/../share/neuropacs. */
static void find_share(char *out, size_t sz, char *vendor, size_t vsz)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	out[0] = vendor[0] = 0;
	if (n <= 0)
		return;
	exe[n] = 0;
	char *s = strrchr(exe, '/');
	if (s)
		*s = 0;
	const char *cand[] = {"%s/../../share", "%s/../../../share", "%s/../share/neuropacs"};
	for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
		char p[PATH_MAX], q[PATH_MAX + 32];
		snprintf(p, sizeof p, cand[i], exe);
		snprintf(q, sizeof q, "%s/openapi.json", p);
		if (np_exists(q) && sz >= PATH_MAX && realpath(p, out)) {
			/* build/vendor holds npm's node_modules in a checkout */
			snprintf(q, sizeof q, "%s/vendor", out);
			if (np_is_dir(q)) {
				snprintf(vendor, vsz, "%s", q);
				return;
			}
			snprintf(p, sizeof p, "%s/../vendor", exe);
			if (!np_is_dir(p))
				snprintf(p, sizeof p, "%s/../../vendor", exe);
			if (!realpath(p, vendor))
				vendor[0] = 0;
			return;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"home", 1, 0, 'H'},	   {"port", 1, 0, 'p'},
					   {"webroot", 1, 0, 'w'}, {"vendor", 1, 0, 'v'},
					   {"insecure-no-auth", 0, 0, 'I'}, {"routes", 0, 0, 'R'},
					   {"help", 0, 0, 'h'},	   {0, 0, 0, 0}};
	const char *home_opt = NULL, *share_opt = getenv("NP_SHARE"), *vendor_opt = NULL;
	struct np_httpd_opts o = {0};
	int c;
	np_log_init("np-httpd");
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'H': home_opt = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'w': share_opt = optarg; break;
		case 'v': vendor_opt = optarg; break;
		case 'I': o.insecure_no_auth = 1; break;
		case 'R': np_httpd_routes_print(stdout); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return NP_EXIT_PERM;
		}
	}
	if (optind != argc || o.port < 0 || o.port > 65535) {
		usage(stderr);
		return NP_EXIT_PERM;
	}
	char home[PATH_MAX], share[PATH_MAX], vendor[PATH_MAX];
	struct np_err err = {0};
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_spool_init(home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	find_share(share, sizeof share, vendor, sizeof vendor);
	if (share_opt && !realpath(share_opt, share)) {
		np_fatal(NULL, "unable to find the share directory %s", share_opt);
		return NP_EXIT_PERM;
	}
	if (vendor_opt)
		snprintf(vendor, sizeof vendor, "%s", vendor_opt);
	if (!share[0]) {
		np_fatal(NULL, "unable to find the share directory (use --webroot or $NP_SHARE)");
		return NP_EXIT_PERM;
	}
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
	struct np_httpd *h = np_httpd_start(&o, &err);
	if (!h) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	while (!got_term) {
		pause();
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
