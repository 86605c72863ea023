// SPDX-License-Identifier: Apache-2.0
/* np_httpd_dirs: which names a spool folder holds, for the studies list.
 * Each row of a page asked the file system whether the study waits for a
 * retry (spool/<state>/.queue/<id>.json) and whether np-deliver has it in
 * spool/<state>/.work/: two stats of long paths per row, 100 a page, a
 * third of the page's time, nearly all for files that are not there. These
 * folders are few, mostly empty, and change seldom: their listing is kept
 * across requests and read again when the folder's inode, mtime or ctime
 * moves (any entry created, removed or renamed in it moves them). A folder
 * changed in the last NP_STAMP_FLUX_S seconds may change again within the same
 * timestamp tick without its mtime moving: it is not answered from a
 * listing (-1, the caller looks at the file itself, as before). */
#include "np_httpd_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
	CACHED = 32,	 /* folders remembered (10 states x .queue and .work) */
	NAMES_MAX = 512, /* a larger folder is not listed: -1 */
};

struct listing {
	char path[PATH_MAX];
	struct np_dirs_stamp st;
	int big;      /* more than NAMES_MAX names: not kept */
	char **names; /* sorted */
	size_t n;
};

static struct {
	pthread_mutex_t lock;
	struct listing l[CACHED];
	unsigned next;
} dc = {.lock = PTHREAD_MUTEX_INITIALIZER};

void np__stamp_of(const struct stat *s, struct np_dirs_stamp *st)
{
	memset(st, 0, sizeof *st);
	st->dev = s->st_dev;
	st->ino = s->st_ino;
	st->size = s->st_size;
	st->mtim = s->st_mtim;
	st->ctim = s->st_ctim;
}

int np__stamp_same(const struct np_dirs_stamp *a, const struct np_dirs_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	       a->mtim.tv_nsec == b->mtim.tv_nsec && a->ctim.tv_sec == b->ctim.tv_sec &&
	       a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The names in dir (not "." and ".."), sorted; *big when there are more
 * than NAMES_MAX. -1 when it cannot be read. */
static int list_dir(const char *dir, char ***out, size_t *n, int *big)
{
	DIR *d = opendir(dir);
	*out = NULL;
	*n = 0;
	*big = 0;
	if (!d)
		return -1;
	char **names = calloc(NAMES_MAX, sizeof *names);
	size_t k = 0;
	struct dirent *e;
	int rc = names ? 0 : -1;
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (k == NAMES_MAX) {
			*big = 1;
			break;
		}
		if (!(names[k] = strdup(e->d_name)))
			rc = -1;
		else
			k++;
	}
	closedir(d);
	if (rc < 0 || *big) {
		free_names(names, k);
		return rc;
	}
	qsort(names, k, sizeof *names, cmp_name);
	*out = names;
	*n = k;
	return 0;
}

/* Under dc.lock: the answer of listing l. */
static int answer(const struct listing *l, const char *name)
{
	if (l->big)
		return -1;
	return bsearch(&name, l->names, l->n, sizeof *l->names, cmp_name) != NULL;
}

/* Under dc.lock: the listing of dir, or NULL. */
static struct listing *find(const char *dir)
{
	for (int i = 0; i < CACHED; i++)
		if (!strcmp(dc.l[i].path, dir))
			return &dc.l[i];
	return NULL;
}

/* What the request already knows of dir: its state, or NULL. */
static struct np_dirs_dir *seen_of(struct np_dirs *seen, const char *dir)
{
	for (int i = 0; i < seen->n; i++)
		if (!strcmp(seen->d[i].path, dir))
			return &seen->d[i];
	return NULL;
}

static struct np_dirs_dir *remember(struct np_dirs *seen, const char *dir, struct np_dirs_dir *d)
{
	if (seen->n < NP_DIRS_SEEN && strlen(dir) < sizeof d->path) {
		snprintf(d->path, sizeof d->path, "%s", dir);
		seen->d[seen->n++] = *d;
	}
	return d;
}

/* The answer of dir for the rest of the request: -1 unknown, 0 missing
 * (holds nothing), 1 its listing (in dc) with the stamp *st is current. */
static int check_dir(const char *dir, struct np_dirs_stamp *st)
{
	struct stat s;
	if (stat(dir, &s) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(s.st_mode))
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* An entry changed in the listing's tick would leave mtime and ctime
	 * as they were, and mtime is that tick's only then (ctime alone moves
	 * when mtime is set back, and the stamp then differs by mtime). */
	if (now.tv_sec - s.st_mtim.tv_sec < NP_STAMP_FLUX_S)
		return -1;
	np__stamp_of(&s, st);
	pthread_mutex_lock(&dc.lock);
	struct listing *l = find(dir);
	int current = l && np__stamp_same(&l->st, st);
	pthread_mutex_unlock(&dc.lock);
	if (current)
		return 1;
	char **names;
	size_t n;
	int big;
	if (list_dir(dir, &names, &n, &big) < 0)
		return -1;
	/* Changed while it was read: the listing may be older than its stamp. */
	struct np_dirs_stamp after;
	int gone = stat(dir, &s) < 0;
	if (!gone)
		np__stamp_of(&s, &after);
	if (gone || !np__stamp_same(st, &after)) {
		free_names(names, n);
		return -1;
	}
	pthread_mutex_lock(&dc.lock);
	if (!(l = find(dir)))
		l = &dc.l[dc.next++ % CACHED];
	free_names(l->names, l->n);
	snprintf(l->path, sizeof l->path, "%s", dir);
	l->st = *st;
	l->big = big;
	l->names = names;
	l->n = n;
	pthread_mutex_unlock(&dc.lock);
	return big ? -1 : 1;
}

int np__dir_has(struct np_dirs *seen, const char *dir, const char *name)
{
	if (strlen(dir) >= PATH_MAX)
		return -1;
	struct np_dirs_dir *d = seen_of(seen, dir), fresh;
	if (!d) {
		memset(&fresh, 0, sizeof fresh);
		fresh.state = check_dir(dir, &fresh.stamp);
		d = remember(seen, dir, &fresh);
	}
	if (d->state <= 0)
		return d->state;
	pthread_mutex_lock(&dc.lock);
	/* the listing this request found current, not one another request
	 * put in its place since */
	struct listing *l = find(dir);
	int rc = l && np__stamp_same(&l->st, &d->stamp) ? answer(l, name) : -1;
	pthread_mutex_unlock(&dc.lock);
	return rc;
}
