// SPDX-License-Identifier: Apache-2.0
#include "np_csv.h"

#include <string.h>

/* -?digits[.digits][e[+-]digits]: a number a spreadsheet shows as a number. */
static int plain_number(const char *s)
{
	const char *p = s + (*s == '-');
	size_t n = strspn(p, "0123456789");
	if (!n)
		return 0;
	p += n;
	if (*p == '.') {
		n = strspn(++p, "0123456789");
		if (!n)
			return 0;
		p += n;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '+' || *p == '-';
		n = strspn(p, "0123456789");
		if (!n)
			return 0;
		p += n;
	}
	return *p == 0;
}

int np_csv_formula(const char *s)
{
	return s && *s && strchr("=+-@\t\r\n", *s) && !plain_number(s);
}

int np_csv_cell(FILE *f, const char *s)
{
	if (!s || !*s)
		return 0;
	int defuse = np_csv_formula(s);
	if (!defuse && !strpbrk(s, "\",\r\n"))
		return fputs(s, f) < 0 ? EOF : 0;
	if (fputs(defuse ? "\"'" : "\"", f) < 0)
		return EOF;
	for (; *s; s++) {
		if (*s == '"' && fputc('"', f) == EOF)
			return EOF;
		if (fputc(*s, f) == EOF)
			return EOF;
	}
	return fputc('"', f) == EOF ? EOF : 0;
}
