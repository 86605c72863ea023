// SPDX-License-Identifier: Apache-2.0
// np-svscan: start the s6 supervision tree for one agent home.
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_paths.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_svtree.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

enum { O_PREPARE = NP_PROG_LONG, O_STOP, O_GRACE };

static const struct np_prog_opt opts[] = {
    {"prepare-only", O_PREPARE, NULL, "install the service directories, run nothing"},
    {"stop", O_STOP, NULL, "end every process of the home's tree (exit 1 when none runs)"},
    {"grace", O_GRACE, "SECONDS", "with --stop: how long services get before SIGKILL (0-3600)"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-svscan",
    .synopsis = "[--home DIR] [--prepare-only | --stop [--grace SECONDS]]",
    .about = "Installs the service directories of the agent into DIR/service and runs\n"
	     "s6-svscan on it in the foreground. --stop ends every process of DIR's tree\n"
	     "(exit 1 when none runs).",
    .opts = opts,
    .needs = NP_PROG_HOME,
};

struct svscan_args {
	int prepare_only, stop, grace;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct svscan_args *a = p->ctx;
	if (key == O_PREPARE) {
		a->prepare_only = 1;
	} else if (key == O_STOP) {
		a->stop = 1;
	} else if (key == O_GRACE) {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*end || end == arg || v < 0 || v > 3600) {
			fprintf(stderr, "np-svscan: --grace: seconds from 0 to 3600, not \"%s\"\n", arg);
			return NP_EXIT_PERM;
		}
		a->grace = (int)v;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct svscan_args a = {.grace = STOP_GRACE_SECONDS};
	struct np_err err = {0};
	char tmpls[PATH_MAX], svdir[PATH_MAX], bindir[PATH_MAX];
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	const char *home = p.home;
	if (a.stop)
		return stop_tree(home, a.grace);
	/* the settings are checked before any service starts */
	if ((rc = np_prog_open(&p, NP_PROG_SPOOL | NP_PROG_CONFIG)) != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
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
	if (a.prepare_only)
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
	return np_prog_fail(NULL, &err);
}
