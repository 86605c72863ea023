/* SPDX-License-Identifier: Apache-2.0 */
/* np_fs: durable file-system primitives. The only way to write a file is
 * np_write_atomic (temp name in the same folder, fsync, rename, fsync folder). */
#ifndef NP_FS_H
#define NP_FS_H

#include <stddef.h>
#include <sys/types.h>

struct np_err;

/* Write len bytes to path atomically and durably with the given mode.
 * Returns 0, or -1 with err filled (errno class: ENOSPC is temporary). */
int np_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct np_err *err);
/* The process's umask, read without changing it (umask(2) would, for every
 * thread): set before a service starts, it never changes after. */
mode_t np_umask(void);
/* np_write_atomic, the file owned by uid:gid before it takes path's name
 * (uid -1: the writer's), for root writing into a service's folder. */
int np_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
			  struct np_err *err);
/* Append one line (a '\n' is added) with O_APPEND and fsync. */
int np_append_line(const char *path, const char *line, struct np_err *err);
/* Read a whole file into a NUL-terminated malloc'd buffer (caller frees).
 * Refuses files larger than max bytes. len may be NULL. Returns NULL on error. */
char *np_read_file(const char *path, size_t max, size_t *len, struct np_err *err);
/* np_read_file of a regular file only, never through a symbolic link (a
 * file in a folder another user may write: root reading a service's file). */
char *np_read_file_regular(const char *path, size_t max, size_t *len, struct np_err *err);
/* fsync the directory at path. */
int np_fsync_dir(const char *path, struct np_err *err);
/* fsync the directory containing path. */
int np_fsync_parent(const char *path, struct np_err *err);
/* rename(2) then fsync both parent folders. */
int np_rename_durable(const char *from, const char *to, struct np_err *err);
/* mkdir -p with mode for new folders; existing folders are fine. */
int np_mkdirs(const char *path, mode_t mode, struct np_err *err);
/* rm -rf; a missing path is success. Does not follow symlinks. */
int np_rmtree(const char *path, struct np_err *err);
/* 1 if path exists (lstat), 0 if not. */
int np_exists(const char *path);
/* 1 if path is a directory. */
int np_is_dir(const char *path);
/* Sum of the sizes of regular files under path (recursive); -1 on error. */
long long np_tree_bytes(const char *path);
/* Join a and b with one '/' into out; -1 (ENAMETOOLONG, permanent) if it does not fit. */
int np_path_join(char *out, size_t outsz, const char *a, const char *b, struct np_err *err);

/* write(2) all len bytes, again after EINTR and short writes. Returns 0, or
 * -1 with errno (EIO when write returns 0). */
int np_write_all(int fd, const void *data, size_t len);

/* Test builds (NP_TEST_HOOKS): when $NP_CRASH_AT equals point, _exit(77) so a
 * test can re-run and check that every step converges. No-op otherwise. */
#ifdef NP_TEST_HOOKS
void np_crash_point(const char *point);
#else
static inline void np_crash_point(const char *point)
{
	(void)point;
}
#endif

#endif
