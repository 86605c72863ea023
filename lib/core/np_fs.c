// SPDX-License-Identifier: Apache-2.0
#include "np_fs.h"

#include "np_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef NP_TEST_HOOKS
void np_crash_point(const char *point)
{
	const char *at = getenv("NP_CRASH_AT");
	if (at && !strcmp(at, point))
		_exit(77);
}
#endif

int np_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int np_fsync_dir(const char *path, struct np_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open directory %s", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return np_err_sys(err, e, "unable to sync directory %s", path);
	}
	close(fd);
	return 0;
}

int np_fsync_parent(const char *path, struct np_err *err)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return np_err_sys(err, ENAMETOOLONG, "unable to sync parent of %s", path);
	strcpy(buf, path);
	return np_fsync_dir(dirname(buf), err);
}

/* The process's umask, read without changing it (umask(2) would, for an
 * instant, for every thread): Linux shows it in /proc/self/status. It is set
 * before a service starts (the run scripts) and never changes after. */
mode_t np_umask(void)
{
	static int known;
	static mode_t m;
	if (known)
		return m;
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned v = 022;
	int found = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Umask: %o", &v) == 1) {
			found = 1;
			break;
		}
	if (f)
		fclose(f);
	if (!found) {
		mode_t old = umask(022);
		umask(old);
		v = old;
	}
	m = (mode_t)v;
	known = 1;
	return m;
}

int np_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
			  struct np_err *err)
{
	char tmp[PATH_MAX];
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return np_err_sys(err, ENAMETOOLONG, "unable to write %s", path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dlen = slash ? (int)(slash - path) : 0;
	/* A name nobody can guess, made with O_EXCL (mkostemp): root writing
	 * into a folder a service owns must not open a link the service left
	 * under a predictable name. */
	if (snprintf(tmp, sizeof tmp, "%.*s%s.%s.tmp.XXXXXX", dlen, path, slash ? "/" : "", base) >= (int)sizeof tmp)
		return np_err_sys(err, ENAMETOOLONG, "unable to write %s", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to create a file beside %s", path);
	/* the owner is set on the open file, before the name exists for anyone */
	/* the mode asked, less the umask, as open(2) would make it (the
	 * privilege split's umask 007 opens study files to the group) */
	if (fchmod(fd, mode & ~np_umask()) < 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) ||
	    np_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return np_err_sys(err, e, "unable to write %s", path);
	}
	if (close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return np_err_sys(err, e, "unable to write %s", path);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return np_err_sys(err, e, "unable to rename %s", tmp);
	}
	return np_fsync_dir(slash ? dirname(dir) : ".", err);
}

int np_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct np_err *err)
{
	return np_write_atomic_owned(path, data, len, mode, (uid_t)-1, (gid_t)-1, err);
}

int np_append_line(const char *path, const char *line, struct np_err *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	size_t n = strlen(line);
	char *buf = malloc(n + 1);
	if (!buf) {
		close(fd);
		return np_err_sys(err, ENOMEM, "unable to append to %s", path);
	}
	memcpy(buf, line, n);
	buf[n] = '\n';
	int rc = np_write_all(fd, buf, n + 1) < 0 || fsync(fd) < 0 ? -1 : 0;
	int e = errno;
	free(buf);
	close(fd);
	if (rc < 0)
		return np_err_sys(err, e, "unable to append to %s", path);
	return 0;
}

static char *read_file(const char *path, int regular, size_t max, size_t *len, struct np_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (regular ? O_NOFOLLOW | O_NONBLOCK : 0));
	if (fd < 0) {
		np_err_sys(err, errno, "unable to open %s", path);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		np_err_sys(err, errno, "unable to stat %s", path);
		close(fd);
		return NULL;
	}
	if (regular && !S_ISREG(st.st_mode)) {
		np_err_set(err, NP_ERR_PERM, "%s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		np_err_set(err, NP_ERR_PERM, "%s is larger than %zu bytes", path, max);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		np_err_sys(err, ENOMEM, "unable to read %s", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max + 1)
				break;
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				np_err_sys(err, ENOMEM, "unable to read %s", path);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			np_err_sys(err, e, "unable to read %s", path);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(buf);
		np_err_set(err, NP_ERR_PERM, "%s is larger than %zu bytes", path, max);
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

char *np_read_file(const char *path, size_t max, size_t *len, struct np_err *err)
{
	return read_file(path, 0, max, len, err);
}

char *np_read_file_regular(const char *path, size_t max, size_t *len, struct np_err *err)
{
	return read_file(path, 1, max, len, err);
}

int np_rename_durable(const char *from, const char *to, struct np_err *err)
{
	if (rename(from, to) < 0)
		return np_err_sys(err, errno, "unable to rename %s to %s", from, to);
	if (np_fsync_parent(to, err) < 0)
		return -1;
	return np_fsync_parent(from, err);
}

int np_mkdirs(const char *path, mode_t mode, struct np_err *err)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		return np_err_sys(err, ENAMETOOLONG, "unable to create %s", path);
	strcpy(buf, path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return np_err_sys(err, errno, "unable to create directory %s", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	if (!np_is_dir(path))
		return np_err_sys(err, ENOTDIR, "unable to create directory %s", path);
	return 0;
}

static int rmtree_at(int dfd, const char *name, struct np_err *err)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return np_err_sys(err, errno, "unable to remove %s", name);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return np_err_sys(err, errno, "unable to read %s", name);
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = rmtree_at(dirfd(d), e->d_name, err);
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return np_err_sys(err, errno, "unable to remove %s", name);
	return rc;
}

int np_rmtree(const char *path, struct np_err *err)
{
	return rmtree_at(AT_FDCWD, path, err);
}

int np_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int np_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

long long np_tree_bytes(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -1;
	if (S_ISREG(st.st_mode))
		return st.st_size;
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long long sum = 0;
	struct dirent *e;
	char sub[PATH_MAX];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub)
			continue;
		long long b = np_tree_bytes(sub);
		if (b > 0)
			sum += b;
	}
	closedir(d);
	return sum;
}

int np_path_join(char *out, size_t outsz, const char *a, const char *b, struct np_err *err)
{
	size_t la = strlen(a);
	int n = snprintf(out, outsz, "%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
	if (n < 0 || (size_t)n >= outsz)
		return np_err_sys(err, ENAMETOOLONG, "unable to build path under %s", a);
	return 0;
}
