// SPDX-License-Identifier: Apache-2.0
#include "np_metrics.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_metrics.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_runtime.h"
#include "np_spool.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NP_VERSION
#define NP_VERSION "0.0.0"
#endif

char *np_metrics_agent_id(struct np_db *db, struct np_err *err)
{
	char *id = np_db_kv_get(db, "agent_id");
	if (id)
		return id;
	char uuid[37];
	if (np_uuid4(uuid, err) < 0 || np_db_kv_set(db, "agent_id", uuid, err) < 0)
		return NULL;
	return strdup(uuid);
}

static int cpu_times(unsigned long long *busy, unsigned long long *total)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	unsigned long long v[8] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		       &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return -1;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4]; /* minus idle and iowait */
	return 0;
}

static double cpu_percent(void)
{
	unsigned long long b1, t1, b2, t2;
	if (cpu_times(&b1, &t1) < 0)
		return -1;
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (cpu_times(&b2, &t2) < 0 || t2 <= t1)
		return -1;
	return 100.0 * (double)(b2 - b1) / (double)(t2 - t1);
}

static long long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[256];
	long long kb = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Sum of sectors read and written over whole disks (not loop/ram devices). */
static void disk_io(long long *rd, long long *wr)
{
	*rd = *wr = 0;
	FILE *f = fopen("/proc/diskstats", "r");
	if (!f)
		return;
	char line[512], name[64];
	unsigned maj, min;
	unsigned long long r_ios, r_merged, r_sect, r_ms, w_ios, w_merged, w_sect;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%u %u %63s %llu %llu %llu %llu %llu %llu %llu", &maj, &min, name, &r_ios, &r_merged,
			   &r_sect, &r_ms, &w_ios, &w_merged, &w_sect) != 10)
			continue;
		if (maj == 1 || maj == 7 || !strncmp(name, "dm-", 3))
			continue;
		/* skip partitions: their whole disk is counted */
		char sys[PATH_MAX];
		snprintf(sys, sizeof sys, "/sys/class/block/%s/partition", name);
		if (np_exists(sys))
			continue;
		*rd += (long long)r_sect * 512;
		*wr += (long long)w_sect * 512;
	}
	fclose(f);
}

static double pct(long long part, long long whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0;
}

static json_t *system_metrics(const char *home)
{
	json_t *s = json_object();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double load[3] = {0, 0, 0};
	getloadavg(load, 3);
	long long mt = meminfo("MemTotal"), ma = meminfo("MemAvailable");
	long long st = meminfo("SwapTotal"), sf = meminfo("SwapFree");
	json_object_set_new(s, "cpu_count", json_integer(ncpu));
	json_object_set_new(s, "cpu_load_1m", json_real(load[0]));
	json_object_set_new(s, "cpu_percent", json_real(cpu_percent()));
	json_object_set_new(s, "memory_total", json_integer(mt));
	json_object_set_new(s, "memory_available", json_integer(ma));
	json_object_set_new(s, "memory_used_percent", json_real(pct(mt - ma, mt)));
	json_object_set_new(s, "swap_total", json_integer(st));
	json_object_set_new(s, "swap_free", json_integer(sf));
	json_object_set_new(s, "swap_used_percent", json_real(pct(st - sf, st)));
	char spool[PATH_MAX];
	snprintf(spool, sizeof spool, "%s/spool", home);
	struct statvfs vfs;
	if (statvfs(np_is_dir(spool) ? spool : home, &vfs) == 0) {
		long long total = (long long)vfs.f_blocks * (long long)vfs.f_frsize;
		long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
		json_object_set_new(s, "disk_total", json_integer(total));
		json_object_set_new(s, "disk_free", json_integer(avail));
		json_object_set_new(s, "disk_free_percent", json_real(pct(avail, total)));
	}
	long long rd, wr;
	disk_io(&rd, &wr);
	json_object_set_new(s, "disk_read_bytes", json_integer(rd));
	json_object_set_new(s, "disk_written_bytes", json_integer(wr));
	return s;
}

/* One line of `s6-svstat -o up,updownfor DIR`: "true 1234". */
static json_t *service_state(const char *dir)
{
	int fds[2];
	if (pipe(fds) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("s6-svstat", "s6-svstat", "-o", "up,updownfor", dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char buf[128] = "";
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return json_pack("{s:b, s:n}", "up", 0, "seconds");
	buf[n] = 0;
	char up[16] = "";
	long long secs = 0;
	sscanf(buf, "%15s %lld", up, &secs);
	return json_pack("{s:b, s:I}", "up", !strcmp(up, "true"), "seconds", (json_int_t)secs);
}

static json_t *services(const char *home)
{
	json_t *out = json_object();
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/service", home);
	DIR *d = opendir(dir);
	if (!d)
		return out;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sv[PATH_MAX];
		snprintf(sv, sizeof sv, "%s/%s", dir, e->d_name);
		if (!np_is_dir(sv))
			continue;
		json_t *st = service_state(sv);
		if (st)
			json_object_set_new(out, e->d_name, st);
	}
	closedir(d);
	return out;
}

static int count_one(const char *home, const char *state, const char *id, const char *dir, void *ctx)
{
	(void)home, (void)state, (void)id, (void)dir;
	(*(int *)ctx)++;
	return 0;
}

static json_t *queues(const char *home)
{
	json_t *q = json_object();
	for (int i = 0; np_spool_states[i]; i++) {
		int n = 0;
		np_spool_each(home, np_spool_states[i], count_one, &n, NULL);
		char work[PATH_MAX];
		snprintf(work, sizeof work, "%s/spool/%s/.work", home, np_spool_states[i]);
		DIR *d = opendir(work);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				n += e->d_name[0] != '.';
			closedir(d);
		}
		json_object_set_new(q, np_spool_states[i], json_integer(n));
	}
	return q;
}

/* What the kernel shows of a container, else what the admin set (np-init
 * --container sets docker). /.dockerenv alone said docker on VMs made from
 * a Docker image (issue 21). */
static const char *runtime(const struct np_config *cfg)
{
	const char *c = np_runtime_container("");
	return c ? c : np_config_str(cfg, "agent.runtime");
}

json_t *np_metrics_collect(const char *home, const struct np_config *cfg, struct np_db *db, struct np_err *err)
{
	char *id = np_metrics_agent_id(db, err);
	if (!id)
		return NULL;
	char ts[32];
	np_time_iso(ts);
	json_t *m =
	    json_pack("{s:s, s:s, s:s, s:s}", "agent_id", id, "runtime", runtime(cfg), "version", NP_VERSION, "ts", ts);
	free(id);
	json_object_set_new(m, "system", system_metrics(home));
	json_object_set_new(m, "services", services(home));
	json_object_set_new(m, "queues", queues(home));
	return m;
}

/* One sample into the array (grown as needed; on ENOMEM it is dropped). */
static void put_metric(struct np_db_metric **m, size_t *n, size_t *cap, const char *name, double val,
		       const char *labels)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct np_db_metric *p = realloc(*m, c * sizeof *p);
		if (!p)
			return;
		*m = p;
		*cap = c;
	}
	struct np_db_metric *x = &(*m)[(*n)++];
	snprintf(x->name, sizeof x->name, "%s", name);
	snprintf(x->labels, sizeof x->labels, "%s", labels ? labels : "");
	x->value = val;
}

/* {"key":"value"} as JSON (a service is named by its folder, which may hold
 * any byte but / and NUL). -1 when it is no UTF-8 or does not fit: the
 * sample is left out rather than stored as an unlabelled series. */
static int label_json(char *out, size_t sz, const char *key, const char *value)
{
	json_t *o = json_pack("{s:s}", key, value);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int ok = s && strlen(s) < sz;
	snprintf(out, sz, "%s", ok ? s : "");
	free(s);
	json_decref(o);
	return ok ? 0 : -1;
}

int np_metrics_store(struct np_db *db, json_t *snap, struct np_err *err)
{
	const char *ts = np_json_str(snap, "ts", "");
	struct np_db_metric *m = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	json_t *v;
	json_object_foreach (json_object_get(snap, "system"), key, v)
		if (json_is_number(v))
			put_metric(&m, &n, &cap, key, json_number_value(v), NULL);
	json_object_foreach (json_object_get(snap, "queues"), key, v) {
		char labels[192];
		if (label_json(labels, sizeof labels, "state", key) == 0)
			put_metric(&m, &n, &cap, "queue_depth", json_number_value(v), labels);
	}
	json_object_foreach (json_object_get(snap, "services"), key, v) {
		char labels[192];
		if (label_json(labels, sizeof labels, "service", key) < 0)
			continue;
		put_metric(&m, &n, &cap, "service_up", json_is_true(json_object_get(v, "up")) ? 1.0 : 0.0, labels);
		put_metric(&m, &n, &cap, "service_uptime_seconds", json_number_value(json_object_get(v, "seconds")),
			   labels);
	}
	int rc = np_db_metrics_put(db, ts, m, n, err);
	free(m);
	return rc;
}

struct alert {
	const char *event;
	const char *metric;    /* key in snapshot.system */
	const char *threshold; /* key in notifications.thresholds */
	int below;	       /* 1: alert when the value is below the threshold */
};

static const struct alert alerts[] = {
    {"high_cpu", "cpu_percent", "cpu_percent", 0},
    {"high_memory", "memory_used_percent", "memory_percent", 0},
    {"high_swap", "swap_used_percent", "swap_percent", 0},
    {"low_disk", "disk_free_percent", "disk_free_percent", 1},
};

#define HYSTERESIS 5.0

int np_metrics_alerts(struct np_db *db, const struct np_config *cfg, json_t *snap, struct np_err *err)
{
	int raised = 0;
	for (size_t i = 0; i < sizeof alerts / sizeof alerts[0]; i++) {
		const struct alert *a = &alerts[i];
		json_t *v = json_object_get(json_object_get(snap, "system"), a->metric);
		if (!json_is_number(v) || json_number_value(v) < 0)
			continue;
		if (!strcmp(a->metric, "swap_used_percent") &&
		    json_integer_value(json_object_get(json_object_get(snap, "system"), "swap_total")) <= 0)
			continue; /* no swap configured: nothing to alert on */
		double val = json_number_value(v);
		char path[96];
		snprintf(path, sizeof path, "notifications.thresholds.%s", a->threshold);
		double thr = (double)np_config_int(cfg, path);
		char kvkey[64];
		snprintf(kvkey, sizeof kvkey, "alert.%s", a->event);
		char *was = np_db_kv_get(db, kvkey);
		int active = was && !strcmp(was, "1");
		free(was);
		int over = a->below ? val < thr : val > thr;
		int clear = a->below ? val >= thr + HYSTERESIS : val <= thr - HYSTERESIS;
		char detail[160];
		if (!active && over) {
			snprintf(detail, sizeof detail, "metric=%s value=%.1f threshold=%.0f", a->metric, val, thr);
			if (np_db_event(db, NULL, a->event, "warning", detail, err) < 0 ||
			    np_db_kv_set(db, kvkey, "1", err) < 0)
				return -1;
			raised++;
		} else if (active && clear) {
			snprintf(detail, sizeof detail, "alert=%s metric=%s value=%.1f threshold=%.0f", a->event,
				 a->metric, val, thr);
			if (np_db_event(db, NULL, "metric_recovered", "info", detail, err) < 0 ||
			    np_db_kv_set(db, kvkey, "0", err) < 0)
				return -1;
			raised++;
		}
	}
	return raised;
}
