// SPDX-License-Identifier: Apache-2.0
#include "np_local.h"

#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_study.h"
#include "np_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUTPUT_BYTES (64LL << 20)

/* Hold one of max_containers slot locks; returns the fd or -1 when all busy. */
static int take_slot(const char *home, long long slots)
{
	for (long long i = 0; i < slots; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/spool/tmp/.local-slot-%lld", home, i);
		int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

static int add(char **argv, size_t max, int *argc, char **cur, char *end, const char *fmt, const char *a, long long n)
{
	if ((size_t)*argc + 1 >= max)
		return -1;
	int w = snprintf(*cur, (size_t)(end - *cur), fmt, a ? a : "", n);
	if (w < 0 || *cur + w + 1 > end)
		return -1;
	argv[(*argc)++] = *cur;
	*cur += w + 1;
	argv[*argc] = NULL;
	return 0;
}

int np_local_argv(const struct np_config *cfg, const char *input, const char *output, char **argv, size_t max,
		  char *buf, size_t bufsz, struct np_err *err)
{
	const char *runner = np_config_str(cfg, "local_processing.runner");
	int limits = np_config_bool(cfg, "local_processing.enforce_limits");
	long long cores = np_config_int(cfg, "local_processing.cpu_cores");
	long long mem = np_config_int(cfg, "local_processing.memory_gb");
	int argc = 0, bad = 0;
	char *cur = buf, *end = buf + bufsz;
	if (!strcmp(runner, "command")) {
		const char *cmd = np_config_str(cfg, "local_processing.command");
		if (!*cmd)
			return np_err_set(err, NP_ERR_PERM, "local_processing.command is not set");
		bad |= add(argv, max, &argc, &cur, end, "/bin/sh%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "-c%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "%s", cmd, 0);
	} else {
		const char *image = np_config_str(cfg, "local_processing.image");
		if (!*image)
			return np_err_set(err, NP_ERR_PERM, "local_processing.image is not set");
		bad |= add(argv, max, &argc, &cur, end, "%s", runner, 0);
		bad |= add(argv, max, &argc, &cur, end, "run%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "--rm%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "--network=none%s", NULL, 0);
		if (limits) {
			bad |= add(argv, max, &argc, &cur, end, "--cpus=%s%lld", NULL, cores);
			bad |= add(argv, max, &argc, &cur, end, "--memory=%s%lldg", NULL, mem);
		}
		bad |= add(argv, max, &argc, &cur, end, "--volume=%s:/input:ro", input, 0);
		bad |= add(argv, max, &argc, &cur, end, "--volume=%s:/output", output, 0);
		bad |= add(argv, max, &argc, &cur, end, "--env=NP_INPUT=/input%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "--env=NP_OUTPUT=/output%s", NULL, 0);
		bad |= add(argv, max, &argc, &cur, end, "%s", image, 0);
	}
	if (bad)
		return np_err_set(err, NP_ERR_PERM, "local pipeline command line too long");
	return argc;
}

/* In the child, for the command runner: memory as an address-space limit,
 * CPU cores as an affinity mask (the container runtimes use cgroups). */
static void apply_limits(const struct np_config *cfg)
{
	long long mem = np_config_int(cfg, "local_processing.memory_gb") << 30;
	struct rlimit rl = {(rlim_t)mem, (rlim_t)mem};
	setrlimit(RLIMIT_AS, &rl);
	long long cores = np_config_int(cfg, "local_processing.cpu_cores");
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && cores < CPU_COUNT(&set)) {
		cpu_set_t want;
		CPU_ZERO(&want);
		long long n = 0;
		for (int c = 0; c < CPU_SETSIZE && n < cores; c++)
			if (CPU_ISSET(c, &set)) {
				CPU_SET(c, &want);
				n++;
			}
		sched_setaffinity(0, sizeof want, &want);
	}
}

/* Run argv with a timeout; returns the wait status, or -2 on timeout, -1 on error. */
static int run_pipeline(const struct np_config *cfg, char **argv, const char *input, const char *output,
			const char *logpath, struct np_err *err)
{
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (logfd < 0)
		return np_err_sys(err, errno, "unable to create %s", logpath);
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		return np_err_sys(err, errno, "unable to start the local pipeline");
	}
	if (pid == 0) {
		setsid();
		dup2(logfd, 1);
		dup2(logfd, 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		setenv("NP_INPUT", input, 1);
		setenv("NP_OUTPUT", output, 1);
		if (!strcmp(np_config_str(cfg, "local_processing.runner"), "command") &&
		    np_config_bool(cfg, "local_processing.enforce_limits"))
			apply_limits(cfg);
		execvp(argv[0], argv);
		dprintf(2, "np-local: unable to run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	double deadline = np_mono() + 60.0 * (double)np_config_int(cfg, "local_processing.timeout_minutes");
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return np_err_sys(err, errno, "unable to wait for the local pipeline");
		if (np_mono() > deadline) {
			kill(-pid, SIGTERM);
			for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
				usleep(100000);
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -2;
		}
		usleep(50000);
	}
}

static int allowed_output(const char *name)
{
	const char *dot = strrchr(name, '.');
	return name[0] != '.' && dot &&
	       (!strcmp(dot, ".csv") || !strcmp(dot, ".json") || !strcmp(dot, ".tsv") || !strcmp(dot, ".txt"));
}

/* Identifying values of the study (from its manifest), to be searched for
 * in the pipeline's output. Names are also split at '^'. */
static size_t phi_values(json_t *m, char vals[][128], size_t max)
{
	static const char *const keys[] = {
	    "patient.name", "patient.id", "patient.birth_date", "study.accession_number", "study.study_instance_uid",
	    "study_name",   NULL};
	size_t n = 0;
	for (int i = 0; keys[i] && n < max; i++) {
		const char *v = np_json_str(m, keys[i], "");
		if (strlen(v) >= 3)
			snprintf(vals[n++], 128, "%s", v);
		if (!strcmp(keys[i], "patient.name")) {
			char tmp[256];
			snprintf(tmp, sizeof tmp, "%s", v);
			for (char *save, *t = strtok_r(tmp, "^ ", &save); t && n < max; t = strtok_r(NULL, "^ ", &save))
				if (strlen(t) >= 3)
					snprintf(vals[n++], 128, "%s", t);
		}
	}
	size_t i;
	json_t *s;
	json_array_foreach (json_object_get(m, "series"), i, s) {
		const char *uid = np_json_str(s, "series_instance_uid", "");
		if (n < max && strlen(uid) >= 3)
			snprintf(vals[n++], 128, "%s", uid);
	}
	return n;
}

static int contains_ci(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	for (size_t i = 0; nl && i + nl <= len; i++)
		if (!strncasecmp(hay + i, needle, nl))
			return 1;
	return 0;
}

static int sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Keep the allowed outputs, check them for PHI, describe them. Returns the
 * manifest (new ref), or NULL with err (PERM = the output is unusable). */
static json_t *collect_outputs(const char *out, json_t *study, struct np_err *err)
{
	DIR *d = opendir(out);
	if (!d) {
		np_err_sys(err, errno, "unable to read the pipeline output");
		return NULL;
	}
	char phi[64][128];
	size_t nphi = phi_values(study, phi, 64);
	json_t *files = json_array();
	int dropped = 0, failed = 0;
	struct dirent *e;
	while (!failed && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", out, e->d_name);
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || !allowed_output(e->d_name) ||
		    st.st_size > MAX_OUTPUT_BYTES) {
			np_rmtree(p, NULL);
			dropped++;
			continue;
		}
		size_t len;
		char *buf = np_read_file(p, MAX_OUTPUT_BYTES, &len, err);
		if (!buf) {
			failed = 1;
			break;
		}
		for (size_t i = 0; i < nphi; i++)
			if (contains_ci(buf, len, phi[i])) {
				np_err_set(err, NP_ERR_PERM,
					   "pipeline output %s contains an identifying value of the study", e->d_name);
				failed = 1;
				break;
			}
		char hex[65];
		if (!failed && sha256_hex(buf, len, hex) == 0)
			json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", e->d_name, "bytes",
							       (json_int_t)len, "sha256", hex));
		free(buf);
	}
	closedir(d);
	if (!failed && json_array_size(files) == 0) {
		np_err_set(err, NP_ERR_PERM, "the pipeline produced no feature file (.csv, .json, .tsv, .txt)");
		failed = 1;
	}
	if (failed) {
		json_decref(files);
		return NULL;
	}
	char ts[32];
	np_time_iso(ts);
	return json_pack("{s:s, s:s, s:o, s:i}", "kind", "features", "created_at", ts, "files", files, "dropped",
			 dropped);
}

int np_local_run(const char *home, const struct np_config *cfg, const char *dir, struct np_err *err)
{
	char input[PATH_MAX], out[PATH_MAX], deid[PATH_MAX], logp[PATH_MAX];
	snprintf(input, sizeof input, "%s/dicom", dir);
	if (!np_is_dir(input))
		snprintf(input, sizeof input, "%s/nifti", dir);
	if (!np_is_dir(input))
		return np_err_set(err, NP_ERR_PERM, "the study has no dicom/ or nifti/ folder");
	snprintf(out, sizeof out, "%s/.local-out.tmp", dir);
	snprintf(deid, sizeof deid, "%s/deid", dir);
	snprintf(logp, sizeof logp, "%s/local.log", dir);
	json_t *study = np_study_load(dir, err);
	if (!study)
		return -1;
	int slot = take_slot(home, np_config_int(cfg, "local_processing.max_containers"));
	if (slot < 0) {
		json_decref(study);
		return np_err_set(err, NP_ERR_TEMP, "all %lld local pipeline slots are busy",
				  np_config_int(cfg, "local_processing.max_containers"));
	}
	int rc = -1;
	char *argv[32], buf[8192];
	json_t *manifest = NULL;
	if (np_rmtree(out, err) < 0 || np_mkdirs(out, 0750, err) < 0 ||
	    np_local_argv(cfg, input, out, argv, 32, buf, sizeof buf, err) < 0)
		goto done;
	double t0 = np_mono();
	int status = run_pipeline(cfg, argv, input, out, logp, err);
	if (status == -1)
		goto done;
	if (status == -2) {
		np_err_set(err, NP_ERR_PERM, "the local pipeline ran longer than %lld minutes and was stopped",
			   np_config_int(cfg, "local_processing.timeout_minutes"));
		rc = NP_LOCAL_FAILED;
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			np_err_set(err, NP_ERR_PERM, "the local pipeline was killed by signal %d", WTERMSIG(status));
		else
			np_err_set(err, NP_ERR_PERM, "the local pipeline exited with status %d", WEXITSTATUS(status));
		rc = NP_LOCAL_FAILED;
		goto done;
	}
	if (!(manifest = collect_outputs(out, study, err))) {
		rc = err && err->cls == NP_ERR_TEMP ? -1 : NP_LOCAL_FAILED;
		goto done;
	}
	char mpath[PATH_MAX];
	snprintf(mpath, sizeof mpath, "%s/manifest.json", out);
	json_object_set_new(manifest, "seconds", json_real(np_mono() - t0));
	if (np_json_save(mpath, manifest, 0640, err) < 0 || np_rmtree(deid, err) < 0 ||
	    np_rename_durable(out, deid, err) < 0)
		goto done;
	rc = NP_LOCAL_OK;
done:
	if (rc != NP_LOCAL_OK)
		np_rmtree(out, NULL);
	close(slot);
	json_decref(manifest);
	json_decref(study);
	return rc;
}
