/* SPDX-License-Identifier: Apache-2.0 */
/* np_zip: a stored (uncompressed) ZIP of a run of files under a root folder,
 * produced on demand as a byte stream (np-upload pulls it straight into the
 * body of an HTTP PUT): no ZIP file lands on disk and nothing larger than the
 * caller's read buffer is held. A stored ZIP's size follows from the entry
 * names and sizes alone, so np_zip_size is known before the first byte, as
 * the Content-Length of the PUT (and the v2 initiate "size") need it; CRC-32
 * and the SHA-256 of the whole ZIP run over the bytes as they go out.
 *
 * The layout is libarchive's ZIP writer's with compression=store (what
 * np-upload sent before it streamed; test_zip compares the two byte for
 * byte): per entry a local header with the sizes, "UT" (mtime) and "ux"
 * (uid/gid 0) extras, general purpose bit 3 and a data descriptor after the
 * data (the CRC is only known then), ZIP64 extras past 4 GiB, then the
 * central directory. Entries get a fixed time (2000-01-01 00:00 UTC; the DOS
 * time field in local time as libarchive writes it) so no file's clock leaks
 * into the archive. */
#ifndef NP_ZIP_H
#define NP_ZIP_H

#include "np_err.h"

#include <stddef.h>

struct np_zip_file {
	char *rel;  /* path under the root */
	char *name; /* its entry name in the ZIP */
	long long size;
};

struct np_zip;

/* A ZIP of files[0..count) (read from root/rel; files is borrowed and must
 * outlive the ZIP), after an entry mem_name holding the string mem when mem
 * is not NULL (copied). Reads no file yet. NULL with err on bad input. */
struct np_zip *np_zip_new(const char *root, const struct np_zip_file *files, size_t count, const char *mem_name,
			  const char *mem, struct np_err *err);
void np_zip_free(struct np_zip *z);
/* The ZIP's exact size in bytes. */
long long np_zip_size(const struct np_zip *z);
/* Start the stream (again) at byte 0, as a retried PUT needs. Checks that
 * every file still has its planned size, so a changed file fails here,
 * before a byte is sent. 0, or -1 with a permanent err. */
int np_zip_rewind(struct np_zip *z, struct np_err *err);
/* The next bytes of the ZIP into buf (up to n; n >= 1). Returns how many
 * (> 0), 0 after the last byte, or -1 with err: a read error, or a file
 * whose size differs from the plan (permanent: the stream stops short, so a
 * ZIP with wrong sizes or CRCs is never completed). */
long np_zip_read(struct np_zip *z, void *buf, size_t n, struct np_err *err);
/* SHA-256 (hex) of the ZIP once np_zip_read has produced its last byte
 * since the last rewind, else NULL. */
const char *np_zip_sha(const struct np_zip *z);

#endif
