// SPDX-License-Identifier: Apache-2.0
#include "np_buf.h"

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
