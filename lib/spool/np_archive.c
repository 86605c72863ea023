// SPDX-License-Identifier: Apache-2.0
#include "np_archive.h"

#include "np_err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (5LL << 30)
#define DEFAULT_MAX_ENTRIES 100000LL

int np_archive_is_zip(const char *path)
{
	unsigned char b[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, 4);
	close(fd);
	return n == 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

/* Split a name into safe components; '\' counts as a separator. Returns 0
 * and fills comp[] (pointers into buf), or -1 with what is wrong in why[]:
 * never the name itself, which may hold a patient's name. */
static int split_name(const char *name, char *buf, size_t bufsz, char **comp, int maxcomp, int *ncomp, char *why,
		      size_t whysz)
{
	size_t n = strlen(name);
	if (n == 0)
		return snprintf(why, whysz, "is empty"), -1;
	if (n >= bufsz)
		return snprintf(why, whysz, "is too long (%zu bytes; at most %zu)", n, bufsz - 1), -1;
	memcpy(buf, name, n + 1);
	for (char *p = buf; *p; p++) {
		if (*p == '\\')
			*p = '/';
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return snprintf(why, whysz, "has a control character (byte 0x%02x at position %zu)",
					(unsigned char)*p, (size_t)(p - buf) + 1),
			       -1;
	}
	if (buf[0] == '/')
		return snprintf(why, whysz, "is an absolute path (it starts with '/')"), -1;
	if (n >= 2 && buf[1] == ':')
		return snprintf(why, whysz, "is an absolute path (it starts with a drive letter)"), -1;
	*ncomp = 0;
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".."))
			return snprintf(why, whysz, "has a '..' component (it would leave the upload folder)"), -1;
		if (!strcmp(c, "."))
			continue;
		if (*ncomp == maxcomp)
			return snprintf(why, whysz, "is too deep (more than %d levels)", maxcomp), -1;
		if (strlen(c) > NAME_MAX)
			return snprintf(why, whysz, "has a component of %zu bytes (at most %d)", strlen(c), NAME_MAX),
			       -1;
		comp[(*ncomp)++] = c;
	}
	if (!*ncomp)
		return snprintf(why, whysz, "names no file (only '/' and '.')"), -1;
	return 0;
}

static int skipped(char **comp, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(comp[i], "__MACOSX"))
			return 1;
	return !strncmp(comp[n - 1], "._", 2) || !strcmp(comp[n - 1], ".DS_Store");
}

/* Open (creating) the folder for components [0, n) under root, never
 * following symlinks. Returns a directory fd or -1 with errno. */
static int open_dirs(int root, char **comp, int n)
{
	int fd = dup(root);
	for (int i = 0; fd >= 0 && i < n; i++) {
		if (mkdirat(fd, comp[i], 0750) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		int next = openat(fd, comp[i], O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		errno = e;
		fd = next;
	}
	return fd;
}

int np_archive_extract(const char *path, const char *destdir, const struct np_archive_limits *lim, long long *files_out,
		       long long *bytes_out, struct np_err *err)
{
	long long max_bytes = lim && lim->max_bytes > 0 ? lim->max_bytes : DEFAULT_MAX_BYTES;
	long long max_entries = lim && lim->max_entries > 0 ? lim->max_entries : DEFAULT_MAX_ENTRIES;
	int root = open(destdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (root < 0)
		return np_err_sys(err, errno, "unable to open the extraction folder");
	struct archive *a = archive_read_new();
	if (!a) {
		close(root);
		return np_err_sys(err, ENOMEM, "unable to read the archive");
	}
	archive_read_support_format_zip(a);
	archive_read_support_filter_none(a);
	int rc = -1;
	long long entries = 0, files = 0, total = 0;
	char *buf = malloc(1 << 16);
	if (!buf) {
		np_err_sys(err, ENOMEM, "unable to read the archive");
		goto out;
	}
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		np_err_set(err, NP_ERR_PERM, "not a readable ZIP archive (%s)", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			np_err_set(err, NP_ERR_PERM, "corrupt or truncated ZIP archive at entry %lld (%s)", entries + 1,
				   archive_error_string(a));
			goto out;
		}
		if (++entries > max_entries) {
			np_err_set(err, NP_ERR_PERM, "the archive has more than %lld entries; refused (ZIP bomb?)",
				   max_entries);
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		char nb[PATH_MAX], *comp[64], why[96] = "cannot be read (not valid in the archive's encoding)";
		int nc;
		if (!name || split_name(name, nb, sizeof nb, comp, 64, &nc, why, sizeof why) < 0) {
			np_err_set(err, NP_ERR_PERM, "entry %lld has an unsafe name: it %s; refused", entries, why);
			goto out;
		}
		mode_t type = archive_entry_filetype(e);
		if (archive_entry_hardlink(e) || type == AE_IFLNK) {
			np_err_set(err, NP_ERR_PERM, "entry %lld is a link; links are not allowed in uploads", entries);
			goto out;
		}
		if (type != AE_IFREG && type != AE_IFDIR) {
			np_err_set(err, NP_ERR_PERM, "entry %lld is a device, FIFO or socket; refused", entries);
			goto out;
		}
		if (archive_entry_is_encrypted(e)) {
			np_err_set(err, NP_ERR_PERM, "entry %lld is encrypted; upload an unencrypted ZIP", entries);
			goto out;
		}
		if (skipped(comp, nc))
			continue;
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > max_bytes - total) {
			np_err_set(err, NP_ERR_PERM, "the archive expands beyond %lld bytes; refused (ZIP bomb?)",
				   max_bytes);
			goto out;
		}
		if (type == AE_IFDIR) {
			int d = open_dirs(root, comp, nc);
			if (d < 0) {
				np_err_sys(err, errno, "unable to create a folder of entry %lld", entries);
				goto out;
			}
			close(d);
			continue;
		}
		int d = open_dirs(root, comp, nc - 1);
		int fd =
		    d < 0 ? -1 : openat(d, comp[nc - 1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		int oe = errno;
		if (d >= 0)
			close(d);
		if (fd < 0) {
			if (oe == EEXIST)
				np_err_set(err, NP_ERR_PERM, "entry %lld repeats an earlier name; refused", entries);
			else
				np_err_sys(err, oe, "unable to create the file of entry %lld", entries);
			goto out;
		}
		files++;
		for (;;) {
			la_ssize_t n = archive_read_data(a, buf, 1 << 16);
			if (n == 0)
				break;
			if (n < 0) {
				close(fd);
				np_err_set(err, NP_ERR_PERM, "corrupt or truncated ZIP archive in entry %lld (%s)",
					   entries, archive_error_string(a));
				goto out;
			}
			total += n;
			if (total > max_bytes) {
				close(fd);
				np_err_set(err, NP_ERR_PERM,
					   "the archive expands beyond %lld bytes; refused (ZIP bomb?)", max_bytes);
				goto out;
			}
			for (la_ssize_t off = 0; off < n;) {
				ssize_t w = write(fd, buf + off, (size_t)(n - off));
				if (w < 0) {
					int we = errno;
					close(fd);
					np_err_sys(err, we, "unable to write the file of entry %lld", entries);
					goto out;
				}
				off += w;
			}
		}
		int se = fsync(fd) < 0 ? errno : 0;
		if (close(fd) < 0 && !se)
			se = errno;
		if (se) {
			np_err_sys(err, se, "unable to write the file of entry %lld", entries);
			goto out;
		}
	}
	rc = 0;
	if (files_out)
		*files_out = files;
	if (bytes_out)
		*bytes_out = total;
out:
	free(buf);
	archive_read_free(a);
	close(root);
	return rc;
}
