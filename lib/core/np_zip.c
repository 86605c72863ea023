// SPDX-License-Identifier: Apache-2.0
/* np_zip: stored ZIPs with their SHA-256, packed on a thread (see np_zip.h). */
#include "np_zip.h"

#include "np_crypto.h"
#include "np_err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libarchive streams entries into a file while SHA-256 runs over the same
 * bytes. */
struct zsink {
	int fd;
	struct np_digest *sha;
	long long bytes;
};

static la_ssize_t zwrite(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct zsink *z = ud;
	const char *p = buf;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(z->fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			archive_set_error(a, errno, "write");
			return -1;
		}
		off += (size_t)w;
	}
	np_digest_update(z->sha, buf, n);
	z->bytes += (long long)n;
	return (la_ssize_t)n;
}

static int add_entry(struct archive *a, const char *name, const char *path, const void *mem, long long size, char *buf,
		     size_t bufsz, struct np_err *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, 946684800, 0); /* fixed: no local clock leaks */
	int rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	if (rc < 0)
		return np_err_set(err, NP_ERR_TEMP, "unable to add %s to the ZIP: %s", name, archive_error_string(a));
	if (mem)
		return archive_write_data(a, mem, (size_t)size) == (la_ssize_t)size
			   ? 0
			   : np_err_set(err, NP_ERR_TEMP, "unable to write the ZIP: %s", archive_error_string(a));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	long long left = size;
	while (left > 0) {
		ssize_t r = read(fd, buf, bufsz);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e2 = r < 0 ? errno : EIO;
			close(fd);
			return np_err_sys(err, e2, "unable to read %s", path);
		}
		if ((long long)r > left)
			r = (ssize_t)left;
		if (archive_write_data(a, buf, (size_t)r) != r) {
			close(fd);
			return np_err_set(err, NP_ERR_TEMP, "unable to write the ZIP: %s", archive_error_string(a));
		}
		left -= r;
	}
	close(fd);
	return 0;
}

int np_zip_write(const char *zpath, const char *root, const struct np_zip_file *files, size_t count,
		 const char *mem_name, const char *mem, char sha_hex[65], long long *zbytes, struct np_err *err)
{
	struct zsink z = {.fd = open(zpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
	if (z.fd < 0)
		return np_err_sys(err, errno, "unable to create %s", zpath);
	if (!(z.sha = np_digest_new("sha256", err))) {
		close(z.fd);
		return -1;
	}
	size_t bufsz = 1 << 20;
	char *buf = malloc(bufsz);
	struct archive *a = archive_write_new();
	int rc = -1;
	if (!buf || !a || archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=store") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open(a, &z, NULL, zwrite, NULL) != ARCHIVE_OK) {
		np_err_set(err, NP_ERR_TEMP, "unable to start a ZIP: %s", a ? archive_error_string(a) : "no memory");
		goto done;
	}
	if (mem && add_entry(a, mem_name, NULL, mem, (long long)strlen(mem), buf, bufsz, err) < 0)
		goto done;
	for (size_t i = 0; i < count; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", root, files[i].rel);
		if (add_entry(a, files[i].name, p, NULL, files[i].size, buf, bufsz, err) < 0)
			goto done;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		np_err_set(err, NP_ERR_TEMP, "unable to finish the ZIP: %s", archive_error_string(a));
		goto done;
	}
	/* No fsync: the ZIP is scratch, rebuilt from its files after a crash. */
	rc = 0;
done:
	if (a)
		archive_write_free(a);
	free(buf);
	close(z.fd);
	if (rc == 0) {
		np_digest_final_hex(z.sha, sha_hex);
		*zbytes = z.bytes;
	} else {
		np_digest_free(z.sha);
		unlink(zpath);
	}
	return rc;
}

static void *job_main(void *arg)
{
	struct np_zip_job *j = arg;
	j->rc = np_zip_write(j->zpath, j->root, j->files, j->count, j->mem_name, j->mem, j->sha, &j->bytes, &j->err);
	return NULL;
}

void np_zip_start(struct np_zip_job *j)
{
	memset(&j->err, 0, sizeof j->err);
	j->rc = -1;
	if (pthread_create(&j->th, NULL, job_main, j) != 0) {
		job_main(j); /* no thread: pack inline */
		j->running = 0;
		return;
	}
	j->running = 1;
}

int np_zip_wait(struct np_zip_job *j)
{
	if (j->running)
		pthread_join(j->th, NULL);
	j->running = 0;
	return j->rc;
}
