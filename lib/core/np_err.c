// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(struct np_err *err, enum np_err_class cls, int e, const char *fmt, va_list ap)
{
	if (!err)
		return;
	err->cls = cls;
	err->sys = e;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (e) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(e));
	}
}

int np_err_set(struct np_err *err, enum np_err_class cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, cls, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int np_err_sys(struct np_err *err, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, np_err_class_of(e), e, fmt, ap);
	va_end(ap);
	return -1;
}

enum np_err_class np_err_class_of(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EBUSY:
	case ETIMEDOUT:
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case EPIPE:
	case EACCES: /* an admin fixes permissions, then the retry succeeds */
	case EPERM:
	case EROFS:
	case ESTALE:
		return NP_ERR_TEMP;
	default:
		return NP_ERR_PERM;
	}
}

int np_err_exit_code(const struct np_err *err)
{
	if (!err || err->cls == NP_ERR_NONE)
		return NP_EXIT_OK;
	return err->cls == NP_ERR_TEMP ? NP_EXIT_TEMP : NP_EXIT_PERM;
}

void np_err_clear(struct np_err *err)
{
	if (err) {
		err->cls = NP_ERR_NONE;
		err->sys = 0;
		err->msg[0] = 0;
	}
}
