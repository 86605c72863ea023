/* SPDX-License-Identifier: Apache-2.0 */
#include "np_recv_events.h"

#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DETAIL 1024

static void events_dir(const char *home, char *out, size_t sz)
{
	snprintf(out, sz, "%s/spool/events", home);
}

int np_recv_event_drop(const char *home, const char *type, const char *detail, struct np_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	events_dir(home, dir, sizeof dir);
	if (np_mkdirs(dir, 0770, err) < 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	static unsigned seq;
	/* a name of its own per process and event; np_write_atomic makes it
	 * whole or not at all */
	snprintf(path, sizeof path, "%s/%lld%09ld-%ld-%u.json", dir, (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(),
		 seq++);
	json_t *j = json_pack("{s:s,s:s}", "type", type, "detail", detail ? detail : "");
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return np_err_sys(err, ENOMEM, "unable to record an event");
	int rc = np_write_atomic(path, s, strlen(s), 0660, err);
	free(s);
	return rc;
}

/* The kinds np-recv records: nothing else is taken from the folder. */
static int known_type(const char *t)
{
	return t && !strcmp(t, "association_rejected");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int json_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

int np_recv_events_ingest(const char *home, struct np_db *db, int max, struct np_err *err)
{
	char dir[PATH_MAX];
	events_dir(home, dir, sizeof dir);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, json_name, by_name);
	if (n < 0)
		return errno == ENOENT ? 0 : np_err_sys(err, errno, "unable to read %s", dir);
	int moved = 0;
	for (int i = 0; i < n; i++) {
		if (moved < max) {
			char p[PATH_MAX];
			snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name);
			struct np_err e = {0};
			char *s = np_read_file_regular(p, 4096, NULL, &e);
			json_t *j = s ? json_loads(s, 0, NULL) : NULL;
			const char *type = json_string_value(json_object_get(j, "type"));
			const char *detail = json_string_value(json_object_get(j, "detail"));
			if (!known_type(type) || !detail || strlen(detail) > MAX_DETAIL) {
				np_warn(NULL, "dropped an event file np-recv could not have written: spool/events/%s",
					list[i]->d_name);
			} else if (np_db_event(db, NULL, type, "warning", detail, &e) < 0) {
				/* the index is busy or broken: the file waits for the next scan */
				np_log_err(NULL, &e);
				json_decref(j);
				free(s);
				free(list[i]);
				continue;
			}
			json_decref(j);
			free(s);
			if (unlink(p) == 0)
				moved++;
		}
		free(list[i]);
	}
	free(list);
	return moved;
}
