// SPDX-License-Identifier: Apache-2.0
// np_svtree: the processes of one home's supervision tree, found in /proc.
#include "np_svtree.h"

#include "np_err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What /proc/PID/stat says about a process. */
struct pinfo {
	char comm[32];
	char state;
	pid_t ppid;
};

static int read_stat(pid_t pid, struct pinfo *pi)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "pid (comm) S ppid ...": comm may hold spaces and ')' */
	char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return -1;
	size_t len = (size_t)(close_p - open_p - 1);
	if (len >= sizeof pi->comm)
		len = sizeof pi->comm - 1;
	memcpy(pi->comm, open_p + 1, len);
	pi->comm[len] = 0;
	int ppid = 0;
	if (sscanf(close_p + 2, "%c %d", &pi->state, &ppid) != 2)
		return -1;
	pi->ppid = ppid;
	return 0;
}

/* Does /proc/PID/environ hold exactly the entry KEY=VALUE? */
static int has_env(pid_t pid, const char *key, const char *value)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap && cap < (1 << 22)) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf)
		return 0;
	buf[len] = 0;
	size_t kl = strlen(key);
	int found = 0;
	for (size_t i = 0; i < len && !found; i += strlen(buf + i) + 1)
		found = !strncmp(buf + i, key, kl) && buf[i + kl] == '=' && !strcmp(buf + i + kl + 1, value);
	free(buf);
	return found;
}

/* Is the working folder of PID DIR or below it? */
static int cwd_in(pid_t pid, const char *dir)
{
	char path[64], cwd[PATH_MAX];
	snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(path, cwd, sizeof cwd - 1);
	if (n <= 0)
		return 0;
	cwd[n] = 0;
	size_t dl = strlen(dir);
	return !strncmp(cwd, dir, dl) && (cwd[dl] == 0 || cwd[dl] == '/');
}

/* The caller and its ancestors: a stop run from a shell of the home (make
 * stop, the test that started the tree) must not end that shell. */
static int is_self_or_ancestor(pid_t pid)
{
	pid_t p = getpid();
	for (int depth = 0; p > 1 && depth < 256; depth++) {
		if (p == pid)
			return 1;
		struct pinfo pi;
		if (read_stat(p, &pi) < 0)
			break;
		p = pi.ppid;
	}
	return 0;
}

/* HOME/service with symlinks resolved (what /proc/PID/cwd shows). */
static void service_dir(const char *home, char *out, size_t outsz)
{
	char raw[PATH_MAX];
	snprintf(raw, sizeof raw, "%s/service", home);
	if (!realpath(raw, out))
		snprintf(out, outsz, "%s", raw);
}

static int is_pid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

pid_t np_svtree_svscan(const char *home)
{
	char svdir[PATH_MAX];
	service_dir(home, svdir, sizeof svdir);
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		struct pinfo pi;
		if (read_stat(pid, &pi) < 0 || pi.state == 'Z' || pi.state == 'X' || strcmp(pi.comm, "s6-svscan"))
			continue;
		char path[64], cwd[PATH_MAX];
		snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
		ssize_t n = readlink(path, cwd, sizeof cwd - 1);
		if (n > 0 && (cwd[n] = 0, !strcmp(cwd, svdir)))
			found = pid;
	}
	closedir(d);
	return found;
}

int np_svtree_list(const char *home, pid_t **pids, struct np_err *err)
{
	char svdir[PATH_MAX];
	service_dir(home, svdir, sizeof svdir);
	*pids = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return np_err_sys(err, errno, "unable to read /proc");
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		struct pinfo pi;
		if (read_stat(pid, &pi) < 0 || pi.state == 'Z' || pi.state == 'X')
			continue;
		int mine = has_env(pid, NP_SVTREE_ENV, home) ||
			   (cwd_in(pid, svdir) && (!strncmp(pi.comm, "s6-", 3) || has_env(pid, "NP_HOME", home)));
		if (!mine || is_self_or_ancestor(pid))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			pid_t *np = realloc(*pids, cap * sizeof *np);
			if (!np) {
				closedir(d);
				free(*pids);
				*pids = NULL;
				return np_err_sys(err, ENOMEM, "unable to list processes");
			}
			*pids = np;
		}
		(*pids)[n++] = pid;
	}
	closedir(d);
	return (int)n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		break;
}

/* Signal every live process of the tree; returns how many there were. */
static int signal_all(const char *home, int sig, struct np_err *err)
{
	pid_t *pids;
	int n = np_svtree_list(home, &pids, err);
	for (int i = 0; i < n; i++)
		kill(pids[i], sig);
	free(pids);
	return n;
}

/* Wait until the tree is gone, up to ms (or until *hurry); 0 when gone. */
static int wait_gone(const char *home, int ms, volatile sig_atomic_t *hurry, struct np_err *err)
{
	for (int waited = 0;; waited += 50) {
		pid_t *pids;
		int n = np_svtree_list(home, &pids, err);
		free(pids);
		if (n <= 0)
			return n;
		if (waited >= ms || (hurry && *hurry))
			return 1;
		sleep_ms(50);
	}
}

int np_svtree_stop(const char *home, int grace_ms, volatile sig_atomic_t *hurry, struct np_err *err)
{
	pid_t *pids;
	int found = np_svtree_list(home, &pids, err);
	free(pids);
	if (found <= 0)
		return found;
	/* The orderly way first: s6-svscan brings every service down (SIGKILL
	 * after its timeout-kill) and waits for the loggers to drain. Without
	 * it (killed, or never there), each process is told itself. */
	pid_t svscan = np_svtree_svscan(home);
	if (svscan > 0)
		kill(svscan, SIGTERM);
	else if (signal_all(home, SIGTERM, err) < 0)
		return -1;
	int r = wait_gone(home, grace_ms, hurry, err);
	if (r < 0)
		return -1;
	if (r > 0 && !(hurry && *hurry)) {
		/* s6-svscan waits for loggers that still have a writer (a child
		 * that outlived its service): tell every process, briefly. */
		if (signal_all(home, SIGTERM, err) < 0)
			return -1;
		r = wait_gone(home, 2000, hurry, err);
	}
	for (int round = 0; r > 0 && round < 3; round++) {
		if (signal_all(home, SIGKILL, err) < 0)
			return -1;
		r = wait_gone(home, 2000, NULL, err);
	}
	if (r < 0)
		return -1;
	if (r > 0)
		return np_err_set(err, NP_ERR_TEMP, "some processes of %s would not stop", home);
	return found;
}

int np_svtree_children(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t self = getpid();
	int n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d))) {
		char p[64], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = 0;
		/* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
		char *rp = strrchr(buf, ')');
		char state;
		int ppid;
		if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self)
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}
