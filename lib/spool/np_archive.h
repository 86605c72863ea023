/* SPDX-License-Identifier: Apache-2.0 */
/* np_archive: safe extraction of an uploaded ZIP archive (libarchive,
 * streaming). Entry names are never trusted: absolute paths, ".."
 * components, symbolic and hard links, devices, FIFOs and encrypted entries
 * are refused; the expanded size and the number of entries are capped so a
 * ZIP bomb fails cleanly. Messages name entries by number, never by name
 * (file names may carry PHI). */
#ifndef NP_ARCHIVE_H
#define NP_ARCHIVE_H

struct np_err;

struct np_archive_limits {
	long long max_bytes;   /* expanded size; <= 0: 5 GiB */
	long long max_entries; /* entries; <= 0: 100000 */
};

/* Extract the ZIP at path into destdir (an existing, empty folder the
 * caller owns; on failure it may hold a partial tree the caller removes).
 * Skips macOS resource forks (__MACOSX/, ._*) and .DS_Store. Stores the
 * number of regular files in *files and their bytes in *bytes (either may be
 * NULL). Returns 0, or -1 with err: permanent for a refused, corrupt or
 * truncated archive, temporary for I/O errors such as ENOSPC. */
int np_archive_extract(const char *path, const char *destdir, const struct np_archive_limits *lim, long long *files,
		       long long *bytes, struct np_err *err);

/* 1 if the file at path starts like a ZIP archive ("PK\3\4" or an empty
 * archive's "PK\5\6"), 0 if not, -1 if unreadable. */
int np_archive_is_zip(const char *path);

#endif
