// SPDX-License-Identifier: Apache-2.0
/* np_httpd_jcache: texts np-httpd derives from a JSON file of the spool,
 * kept while the file stays the same. GET /api/study-info parsed the
 * study's manifest (a few KB to a few hundred for a study of many series),
 * redacted it and wrote it out again on every request: with jansson that
 * was three quarters of the request's CPU, five times the bare reading of
 * the same files. A manifest is written once (atomically, by rename) and
 * seldom rewritten; its texts are kept by path and the file's inode, size,
 * mtime and ctime, so any new version (a rename brings a new inode) is
 * parsed again (np__stamp_same). A file changed in the last
 * NP_STAMP_FLUX_S seconds is not kept: a rewrite in place within one
 * timestamp tick could keep all four (a later one moves mtime; mtime set
 * back by hand still moves ctime). */
#include "np_httpd_int.h"

#include "np_json.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
	SLOTS = 64,	      /* files kept (study pages open at once, each polled) */
	TEXT_MAX = 256 << 10, /* larger texts are made for each request */
	FILE_MAX = 16 << 20,  /* as load_opt: a larger file is null */
};

struct entry {
	char key[PATH_MAX + 32]; /* kind '\n' path */
	struct np_dirs_stamp st;
	char *text[NP_JTEXTS];
	int n;
};

static struct {
	pthread_mutex_t lock;
	struct entry e[SLOTS];
	unsigned next;
} jc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void drop(struct entry *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->text[i]);
	memset(e, 0, sizeof *e);
}

/* Copies of n texts into out; -1 (nothing to free) when out of memory. */
static int copy_out(char *const in[], int n, char *out[])
{
	for (int i = 0; i < n; i++)
		if (!(out[i] = strdup(in[i]))) {
			while (i--)
				free(out[i]);
			return -1;
		}
	return 0;
}

int np__json_file_texts(const char *path, const char *kind, np_jtext_fn make, void *ud, char *out[], int n)
{
	if (n < 1 || n > NP_JTEXTS)
		return -1;
	char key[sizeof jc.e[0].key];
	if (snprintf(key, sizeof key, "%s\n%s", kind, path) >= (int)sizeof key)
		key[0] = 0; /* not kept */
	struct stat s;
	struct np_dirs_stamp st;
	int present = stat(path, &s) == 0 && S_ISREG(s.st_mode);
	if (present)
		np__stamp_of(&s, &st);
	if (present && key[0]) {
		pthread_mutex_lock(&jc.lock);
		for (int i = 0; i < SLOTS; i++) {
			struct entry *e = &jc.e[i];
			if (e->n == n && !strcmp(e->key, key) && np__stamp_same(&e->st, &st)) {
				int rc = copy_out(e->text, n, out);
				pthread_mutex_unlock(&jc.lock);
				return rc;
			}
		}
		pthread_mutex_unlock(&jc.lock);
	}
	/* Read it: missing, unreadable or not JSON is NULL, as load_opt has it. */
	json_t *v = present ? np_json_load(path, FILE_MAX, NULL) : NULL;
	char *made[NP_JTEXTS] = {0};
	make(v, ud, made, n);
	json_decref(v);
	int ok = 1;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		ok &= made[i] != NULL;
		total += made[i] ? strlen(made[i]) : 0;
	}
	if (!ok) {
		for (int i = 0; i < n; i++)
			free(made[i]);
		return -1;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct stat after;
	struct np_dirs_stamp st_after;
	/* kept only when the file read is the one stat saw, and settled */
	if (present && key[0] && total <= TEXT_MAX && now.tv_sec - s.st_mtim.tv_sec >= NP_STAMP_FLUX_S &&
	    stat(path, &after) == 0 && (np__stamp_of(&after, &st_after), np__stamp_same(&st, &st_after)) &&
	    copy_out(made, n, out) == 0) {
		pthread_mutex_lock(&jc.lock);
		struct entry *e = NULL;
		for (int i = 0; i < SLOTS && !e; i++)
			if (!strcmp(jc.e[i].key, key))
				e = &jc.e[i];
		if (!e)
			e = &jc.e[jc.next++ % SLOTS];
		drop(e);
		snprintf(e->key, sizeof e->key, "%s", key);
		e->st = st;
		memcpy(e->text, made, sizeof made);
		e->n = n;
		pthread_mutex_unlock(&jc.lock);
		return 0;
	}
	memcpy(out, made, (size_t)n * sizeof *out);
	return 0;
}
