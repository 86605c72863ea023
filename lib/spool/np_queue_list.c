// SPDX-License-Identifier: Apache-2.0
/* np_queue_list: np-queue --waiting, the studies waiting to retry after
 * temporary failures, one line each (see np_queue_list.h). */
#include "np_queue_list.h"

#include "np_err.h"
#include "np_queue.h"
#include "np_spool.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* --waiting: every study waiting to retry, one line each, local times. */
int np_queue_print_waiting(const char *home)
{
	int n = 0;
	for (int i = 0; np_spool_states[i]; i++) {
		const char *st = np_spool_states[i];
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/spool/%s/.queue", home, st);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			size_t len = strlen(de->d_name);
			if (de->d_name[0] == '.' || len <= 5 || len - 5 >= 256 || strcmp(de->d_name + len - 5, ".json"))
				continue;
			char id[256];
			snprintf(id, sizeof id, "%.*s", (int)(len - 5), de->d_name);
			struct np_queue_entry e;
			json_t *w = np_queue_waiting(home, st, id);
			json_decref(w);
			if (!w || np_queue_load(home, st, id, &e, NULL) != 0)
				continue;
			char next[32], since[32];
			time_t t = (time_t)e.next_try, s0 = (time_t)(e.since > 0 ? e.since : e.next_try);
			struct tm tm;
			strftime(next, sizeof next, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
			strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", localtime_r(&s0, &tm));
			printf("%s %s: waiting for %s, next try at %s (failing since %s, %d attempt%s): %s\n", id, st,
			       !strcmp(st, "ready") || !strcmp(st, "uploaded") ? "the cloud"
			       : !strcmp(st, "results")			       ? "a result destination"
									       : "a retry",
			       next, since, e.attempts, e.attempts == 1 ? "" : "s",
			       e.error[0] ? e.error : "temporary failure");
			n++;
		}
		if (d)
			closedir(d);
	}
	if (!n)
		printf("no study is waiting to retry\n");
	return NP_EXIT_OK;
}
