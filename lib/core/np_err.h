/* SPDX-License-Identifier: Apache-2.0 */
/* np_err: error reports that library calls fill and mains turn into exit codes. */
#ifndef NP_ERR_H
#define NP_ERR_H

enum np_err_class {
	NP_ERR_NONE = 0,
	NP_ERR_TEMP, /* retry later: I/O, ENOSPC, network, remote 5xx, lock busy */
	NP_ERR_PERM, /* will not succeed as is: bad input, bad config, policy */
};

/* Exit statuses shared by every program (see STYLE.md). */
enum { NP_EXIT_OK = 0, NP_EXIT_NO = 1, NP_EXIT_PERM = 100, NP_EXIT_TEMP = 111 };

struct np_err {
	enum np_err_class cls;
	int sys; /* errno when the cause was a system call, else 0 */
	char msg[512];
};

/* Fill err (may be NULL) with class and a printf-style message. Returns -1 so
 * callers can write `return np_err_set(...)`. */
int np_err_set(struct np_err *err, enum np_err_class cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like np_err_set for a failed system call: appends ": strerror(e)" and picks
 * the class from errno (np_err_class_of). Returns -1. */
int np_err_sys(struct np_err *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Class for an errno value: ENOSPC, EIO, EAGAIN, network errors... are
 * temporary; ENOENT, EINVAL, ENOTDIR... are permanent. */
enum np_err_class np_err_class_of(int e);
/* 0 for no error, else 100 or 111 by class. */
int np_err_exit_code(const struct np_err *err);
void np_err_clear(struct np_err *err);

#endif
