/* SPDX-License-Identifier: Apache-2.0 */
/* np_zip: writes a stored (uncompressed) ZIP of a run of files under a root
 * folder while SHA-256 runs over the same bytes, optionally on a thread of
 * its own so the next ZIP is packed while the previous one is on the wire
 * (np-upload). Nothing larger than one read buffer is held; entries get a
 * fixed time so no local clock leaks into the archive. */
#ifndef NP_ZIP_H
#define NP_ZIP_H

#include "np_err.h"

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

struct np_zip_file {
	char *rel;  /* path under the root */
	char *name; /* its entry name in the ZIP */
	long long size;
};

/* Write files[0..count) (read from root/rel) to zpath, after an entry
 * mem_name holding the string mem when mem is not NULL. On success fills
 * sha_hex and *zbytes (the ZIP's size) and returns 0; else sets err, removes
 * zpath and returns -1. The ZIP is not synced: it is scratch. */
int np_zip_write(const char *zpath, const char *root, const struct np_zip_file *files, size_t count,
		 const char *mem_name, const char *mem, char sha_hex[65], long long *zbytes, struct np_err *err);

/* One ZIP packed on a thread: fill the inputs, np_zip_start, and later
 * np_zip_wait for np_zip_write's answer (rc, sha, bytes, err). Without a
 * thread np_zip_start packs inline. */
struct np_zip_job {
	const char *root;
	const struct np_zip_file *files;
	size_t count;
	const char *mem_name, *mem;
	char zpath[PATH_MAX];
	/* out */
	char sha[65];
	long long bytes;
	int rc;
	struct np_err err;
	/* private */
	pthread_t th;
	int running;
};

void np_zip_start(struct np_zip_job *j);
int np_zip_wait(struct np_zip_job *j);

#endif
