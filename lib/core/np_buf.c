// SPDX-License-Identifier: Apache-2.0
#include "np_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void np_buf_add(struct np_buf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void np_buf_str(struct np_buf *b, const char *s)
{
	np_buf_add(b, s, strlen(s));
}

void np_buf_json_str(struct np_buf *b, const void *str, size_t n, int escape_high)
{
	static const char *const short_esc[0x20] = {
	    ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t"};
	const unsigned char *s = str;
	size_t run = 0;
	np_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || !escape_high))
			continue;
		np_buf_add(b, s + run, i - run);
		run = i + 1;
		char e[8];
		if (c == '"' || c == '\\')
			snprintf(e, sizeof e, "\\%c", c);
		else if (c < 0x20 && short_esc[c])
			snprintf(e, sizeof e, "%s", short_esc[c]);
		else
			snprintf(e, sizeof e, "\\u%04X", c);
		np_buf_str(b, e);
	}
	np_buf_add(b, s + run, n - run);
	np_buf_add(b, "\"", 1);
}
