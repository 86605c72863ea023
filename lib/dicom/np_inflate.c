// SPDX-License-Identifier: Apache-2.0
// Inflating a deflated DICOM data set (raw deflate, RFC 1951) held in
// memory, in steps, for the walkers that check or search it.
#include "np_dicom_int.h"

#include <stdint.h>
#include <string.h>

int np__inflate_begin(struct np__inflate *s, const unsigned char *p, size_t n)
{
	memset(s, 0, sizeof *s);
	s->p = p, s->n = n;
	return inflateInit2(&s->z, -15) == Z_OK ? 0 : -1;
}

int np__inflate_more(struct np__inflate *s, unsigned char *out, size_t cap, size_t *have)
{
	int zr = Z_OK;
	while (*have < cap && zr == Z_OK) {
		/* zlib counts in uInt: feed and drain at most 1 GiB at a time */
		if (s->z.avail_in == 0 && s->fed < s->n) {
			size_t chunk = s->n - s->fed > (1u << 30) ? (1u << 30) : s->n - s->fed;
			s->z.next_in = (unsigned char *)(uintptr_t)(s->p + s->fed);
			s->z.avail_in = (uInt)chunk;
			s->fed += chunk;
		}
		s->z.next_out = out + *have;
		s->z.avail_out = (uInt)(cap - *have > (1u << 30) ? (1u << 30) : cap - *have);
		zr = inflate(&s->z, Z_NO_FLUSH);
		*have = (size_t)(s->z.next_out - out);
		if (zr == Z_BUF_ERROR && s->z.avail_in == 0 && s->fed < s->n)
			zr = Z_OK; /* the next chunk of input is due */
	}
	return zr;
}

void np__inflate_end(struct np__inflate *s)
{
	inflateEnd(&s->z);
}
