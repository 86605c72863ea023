// SPDX-License-Identifier: Apache-2.0
#include "np_log.h"

#include "np_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "np";
static enum np_log_level max_level = NP_LOG_INFO;
static const char *const names[] = {"fatal", "error", "warning", "info", "debug"};

void np_log_init(const char *p)
{
	const char *slash = strrchr(p, '/');
	prog = slash ? slash + 1 : p;
	const char *env = getenv("NP_LOG_LEVEL");
	if (env)
		for (int i = 0; i <= NP_LOG_DEBUG; i++)
			if (!strcmp(env, names[i]))
				max_level = (enum np_log_level)i;
}

void np_log_set_level(enum np_log_level lvl)
{
	max_level = lvl;
}

const char *np_log_prog(void)
{
	return prog;
}

void np_log(enum np_log_level lvl, const char *id, const char *fmt, ...)
{
	if (lvl > max_level)
		return;
	char line[2048];
	int saved = errno;
	int n = snprintf(line, sizeof line, "%s: %s: %s ", prog, names[lvl], id && *id ? id : "-");
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t w;
	do
		w = write(2, line, len);
	while (w < 0 && errno == EINTR);
	errno = saved;
}

void np_log_err(const char *id, const struct np_err *err)
{
	if (!err || err->cls == NP_ERR_NONE)
		return;
	np_log(err->cls == NP_ERR_TEMP ? NP_LOG_WARNING : NP_LOG_ERROR, id, "%s", err->msg);
}
