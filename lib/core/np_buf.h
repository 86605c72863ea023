/* SPDX-License-Identifier: Apache-2.0 */
/* np_buf: a growing, always NUL-terminated buffer for building text (JSON,
 * CSV, templates). Running out of memory is sticky: oom is set and later
 * appends do nothing, so a builder checks once at the end. Start with
 * struct np_buf b = {0}; free(b.p) when done. */
#ifndef NP_BUF_H
#define NP_BUF_H

#include <stddef.h>

struct np_buf {
	char *p;
	size_t len, cap;
	int oom;
};

void np_buf_add(struct np_buf *b, const void *s, size_t n);
void np_buf_str(struct np_buf *b, const char *s);
/* The n bytes at s as a JSON string, escaped as jansson escapes: '"', '\\',
 * \b \f \n \r \t, other controls as \u00XX; with escape_high, bytes from
 * 0x80 too (Latin-1 text that is not UTF-8). */
void np_buf_json_str(struct np_buf *b, const void *s, size_t n, int escape_high);

#endif
