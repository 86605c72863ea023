// SPDX-License-Identifier: Apache-2.0
// np-svscan: start the s6 supervision tree for one agent home.
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_paths.h"
#include "np_spool.h"
#include "np_svtree.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-svscan [--home DIR] [--prepare-only | --stop [--grace SECONDS]]\n"
		   "Installs the service directories of the agent into DIR/service and runs\n"
		   "s6-svscan on it in the foreground. --stop ends every process of DIR's tree\n"
		   "(exit 1 when none runs).\n");
}

/* How long services get to stop on their own before SIGKILL: longer than
 * any timeout-kill of etc/s6 (s6 kills first, then loggers drain). */
#define STOP_GRACE_SECONDS 15

static volatile sig_atomic_t hurry;
static void on_hurry(int sig)
{
	(void)sig;
	hurry = 1;
}

/* --stop: a second Ctrl-C (or a TERM) skips the grace period. */
static int stop_tree(const char *home, int grace_s)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_hurry;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	struct np_err err = {0};
	int n = np_svtree_stop(home, grace_s * 1000, &hurry, &err);
	if (n < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (n == 0)
		return NP_EXIT_NO;
	np_info(NULL, "stopped %d processes of %s", n, home);
	return 0;
}

/* Before a start: a live tree of this home is left alone (two supervisors
 * would fight over ports and locks); what an earlier run left behind
 * without its s6-svscan (kill -9, a crash) holds ports and s6-log locks, and
 * is stopped so that the new tree can take over. */
static int clear_leftovers(const char *home, struct np_err *err)
{
	pid_t svscan = np_svtree_svscan(home);
	if (svscan > 0)
		return np_err_set(
		    err, NP_ERR_PERM,
		    "%s is already supervised (s6-svscan pid %d): stop it first (make stop, or np-svscan --stop)", home,
		    (int)svscan);
	pid_t *pids;
	int n = np_svtree_list(home, &pids, err);
	free(pids);
	if (n <= 0)
		return n;
	np_warn(NULL, "stopping %d processes left from an earlier run of %s", n, home);
	return np_svtree_stop(home, 5000, NULL, err) < 0 ? -1 : 0;
}

/* Copy one file if its content differs, keeping the mode (atomic). */
static int sync_file(const char *from, const char *to, struct np_err *err)
{
	struct stat st;
	if (stat(from, &st) < 0)
		return np_err_sys(err, errno, "unable to read %s", from);
	size_t n, m;
	char *want = np_read_file(from, 1 << 20, &n, err);
	if (!want)
		return -1;
	char *have = np_exists(to) ? np_read_file(to, 1 << 20, &m, NULL) : NULL;
	int rc = 0;
	if (!have || m != n || memcmp(have, want, n))
		rc = np_write_atomic(to, want, n, st.st_mode & 0777, err);
	free(want);
	free(have);
	return rc;
}

/* Mirror the template service folder (files and the log/ subfolder), never
 * touching s6's own supervise/ and event/ state. */
static int sync_service(const char *tmpl, const char *dst, struct np_err *err)
{
	if (np_mkdirs(dst, 0755, err) < 0)
		return -1;
	DIR *d = opendir(tmpl);
	if (!d)
		return np_err_sys(err, errno, "unable to read %s", tmpl);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "supervise") || !strcmp(e->d_name, "event"))
			continue;
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof a, "%s/%s", tmpl, e->d_name);
		snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
		rc = np_is_dir(a) ? sync_service(a, b, err) : sync_file(a, b, err);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'}, {"prepare-only", no_argument, 0, 'p'},
					     {"stop", no_argument, 0, 's'},	  {"grace", required_argument, 0, 'g'},
					     {"help", no_argument, 0, 'h'},	  {0}};
	const char *home_opt = NULL;
	int prepare_only = 0, stop = 0, grace = STOP_GRACE_SECONDS, c;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		if (c == 'H')
			home_opt = optarg;
		else if (c == 'p')
			prepare_only = 1;
		else if (c == 's')
			stop = 1;
		else if (c == 'g') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 3600) {
				fprintf(stderr, "np-svscan: --grace: seconds from 0 to 3600, not \"%s\"\n", optarg);
				return NP_EXIT_PERM;
			}
			grace = (int)v;
		} else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	struct np_err err = {0};
	char home[PATH_MAX], tmpls[PATH_MAX], svdir[PATH_MAX], bindir[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0)
		goto fail;
	if (stop)
		return stop_tree(home, grace);
	if (np_spool_init(home, &err) < 0 || np_config_load(&cfg, home, &err) < 0)
		goto fail;
	np_config_free(&cfg);
	if (np_paths_etc(tmpls, sizeof tmpls, "s6", &err) < 0 || np_paths_bindir(bindir, sizeof bindir, &err) < 0)
		goto fail;
	snprintf(svdir, sizeof svdir, "%s/service", home);
	if (np_mkdirs(svdir, 0755, &err) < 0)
		goto fail;
	DIR *d = opendir(tmpls);
	if (!d) {
		np_err_sys(&err, errno, "unable to read the service templates %s", tmpls);
		goto fail;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof a, "%s/%s", tmpls, e->d_name);
		snprintf(b, sizeof b, "%s/%s", svdir, e->d_name);
		if (e->d_name[0] == '.' || !np_is_dir(a))
			continue;
		if (sync_service(a, b, &err) < 0) {
			closedir(d);
			goto fail;
		}
	}
	closedir(d);
	if (prepare_only)
		return 0;
	if (clear_leftovers(home, &err) < 0)
		goto fail;
	/* Services find the agent home and our tools (bin/ beside sbin/) here. */
	char path[PATH_MAX * 3];
	const char *old = getenv("PATH");
	snprintf(path, sizeof path, "%s:%s/../bin:%s", bindir, bindir, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	setenv("NP_HOME", home, 1);
	setenv(NP_SVTREE_ENV, home, 1);
	np_info(NULL, "supervising services in %s", svdir);
	execlp("s6-svscan", "s6-svscan", svdir, (char *)NULL);
	np_err_sys(&err, errno, "unable to run s6-svscan");
fail:
	np_log_err(NULL, &err);
	return np_err_exit_code(&err);
}
