// SPDX-License-Identifier: Apache-2.0
// A bounds pre-scan of DICOM files before GDCM sees them. Debian's GDCM
// asserts (aborts) on a Part 10 meta header cut short, and allocates and
// zero-fills whatever length an element declares: a 400-byte file can claim
// a 4 GiB value. Both are found by tests/fuzz/fuzz_dcm.c. This walk checks
// that every element, item and sequence stays inside its container; it does
// not interpret values.
#include "np_dcm_walk.h"
#include "np_dicom_int.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNDEF NP_DCM_UNDEF

struct scan {
	const unsigned char *b;
	int explicit_vr; /* 1 explicit, 0 implicit VR */
	int be;		 /* retired explicit VR big endian */
};

static unsigned u16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}
static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned rd16(const struct scan *s, const unsigned char *p)
{
	return s->be ? (unsigned)p[0] << 8 | p[1] : u16(p);
}

static int known_vr(const unsigned char *vr)
{
	return np_vr_flags(vr[0], vr[1]) & NP_VR_KNOWN;
}

/* A UID: digits and single dots, optionally NUL/space padded. */
static int uid_ok(const unsigned char *v, size_t len)
{
	while (len && (v[len - 1] == 0 || v[len - 1] == ' '))
		len--;
	if (!len || len > 64 || v[0] == '.' || v[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(v[i] >= '0' && v[i] <= '9') && !(v[i] == '.' && v[i + 1] != '.'))
			return 0;
	return 1;
}

static int vr_is(const unsigned char *vr, const char *name)
{
	return vr[0] == name[0] && vr[1] == name[1];
}

/* GDCM's reader has repairs for known broken writers. They change lengths
 * or re-read the file with looser rules whose lengths this walk never
 * checked, and some of them assert. Refuse what would trigger one: none of
 * it is valid DICOM. p is the element, value the offset of its value. */
static int gdcm_reads_alike(const struct scan *s, const unsigned char *p, uint32_t len, size_t value, size_t end)
{
	unsigned g = rd16(s, p), e = rd16(s, p + 2);
	int pixels = g == 0x7fe0 && e == 0x0010;
	if (s->explicit_vr) {
		const unsigned char *vr = p + 4;
		if (pixels && vr_is(vr, "SQ"))
			return 0; /* asserted */
		if (len == UNDEF && !vr_is(vr, "SQ") && !(vr_is(vr, "UN") && !pixels) &&
		    !(pixels && (vr_is(vr, "OB") || vr_is(vr, "OW"))) &&
		    !(g == 0x7fe1 && e == 0x1060 && vr_is(vr, "OB")))
			return 0; /* asserted */
		if (g == 0x0009 && vr_is(vr, "UL") && len == 6)
			return 0; /* read as 4 (a Siemens repair) */
		return 1;
	}
	if (len == 13 && !(g == 0x0008 && (e == 0x0070 || e == 0x0080)))
		return 0; /* read as 10 (a GE repair) */
	/* An item tag byte-swapped (Philips) starts an explicit big
	 * endian sequence inside an implicit dataset. */
	if (len != UNDEF && len >= 4 && end - value >= 4 && rd16(s, s->b + value) == 0xfeff &&
	    rd16(s, s->b + value + 2) == 0x00e0)
		return 0;
	return 1;
}

/* Nesting GDCM reads without trouble (items within items). */
#define MAX_DEPTH 32

/* The data set s->b[pos..end): every element, item and sequence inside its
 * container, as np_dcm_walk checks, and nothing GDCM reads otherwise. */
static int walk_ok(struct scan *s, size_t pos, size_t end)
{
	struct np_dcm_walk w;
	np_dcm_walk_init(&w, s->b, pos, end, (s->explicit_vr ? NP_DCM_EXPLICIT : 0) | (s->be ? NP_DCM_BE : 0),
			 MAX_DEPTH + 1);
	int raw = 0; /* in encapsulated pixel data: items are fragments, not data sets */
	for (;;) {
		struct np_dcm_el el;
		int ev = np_dcm_walk_next(&w, &el);
		if (ev == NP_DCM_DONE)
			return 1;
		if (ev == NP_DCM_ERROR)
			return 0;
		if (ev == NP_DCM_ITEM && !raw && np_dcm_walk_depth(&w) > MAX_DEPTH)
			return 0;
		if (ev == NP_DCM_SEQ_END)
			raw = 0;
		if (ev != NP_DCM_ELEMENT)
			continue;
		int enc = np_dcm_walk_enc(&w);
		s->explicit_vr = enc & NP_DCM_EXPLICIT;
		s->be = !!(enc & NP_DCM_BE);
		const unsigned char *p = s->b + el.pos;
		uint32_t len = el.len;
		int sq = 0;
		if (s->explicit_vr) {
			if (!(el.vrf & NP_VR_KNOWN))
				return 0;
			sq = vr_is(p + 4, "SQ");
		} else {
			/* Implicit VR: a defined-length value that starts with an
			 * item tag is a sequence. */
			sq = len != UNDEF && len >= 8 && el.end - el.value >= 8 && rd16(s, s->b + el.value) == 0xfffe &&
			     rd16(s, s->b + el.value + 2) == 0xe000;
		}
		int pixels = (el.g == 0x7fe0 && el.e == 0x0010) || (el.g == 0x7fe1 && el.e == 0x1060);
		if (!gdcm_reads_alike(s, p, len, el.value, el.end))
			return 0;
		if (len == UNDEF) {
			/* An undefined-length UN holds an implicit VR sequence
			 * (in the byte order of the data set, as GDCM reads it). */
			if (s->explicit_vr && vr_is(p + 4, "UN"))
				enc &= ~NP_DCM_EXPLICIT;
			if (np_dcm_walk_enter(&w, enc, pixels) < 0)
				return 0;
			raw = pixels;
		} else if (sq && np_dcm_walk_enter(&w, enc, 0) < 0) {
			return 0;
		}
	}
}

/* How GDCM picks the encoding of a data set with no meta header
 * (FileMetaInformation::ReadCompat): from the first element's tag and
 * whether VR letters follow it. 0 where GDCM gives up or would guess an
 * encoding (implicit big endian, group 0002 without a header) that its
 * reader handles only through repairs. */
static int raw_encoding(struct scan *s, const unsigned char *p)
{
	unsigned g = u16(p), e = u16(p + 2);
	/* "??" counts as VR letters for the guess; the walk then refuses it. */
	int vr = known_vr(p + 4) || (p[4] == '?' && p[5] == '?');
	s->be = 0;
	if (g == 0x0002)
		return 0;
	if (g == 0x0008) {
		s->explicit_vr = vr;
	} else if (g == 0x0800) {
		s->explicit_vr = 1, s->be = 1;
		return vr;
	} else if (e == 0x0010) {
		s->explicit_vr = vr;
	} else {
		s->explicit_vr = 1;
		s->be = g > 0xff || e > 0xff;
		return vr;
	}
	return 1;
}

/* The data set encoding GDCM takes from a transfer syntax UID
 * (TransferSyntax::GetTSType: up to the first NUL, trailing spaces
 * trimmed). Syntaxes it does not know are refused by GDCM or, in np_dcm.cc,
 * read as Explicit VR Little Endian, which every newer syntax is. Data
 * that does not match the syntax sends GDCM down its repair paths, so the
 * walk must follow the syntax, not the data. */
static int ts_encoding(struct scan *s, const unsigned char *v, uint32_t len, int *deflated, struct np__dcm_ts *ts,
		       size_t off)
{
	if (!uid_ok(v, len))
		return 0;
	size_t n = 0;
	while (n < len && v[n])
		n++;
	while (n && v[n - 1] == ' ')
		n--;
	memcpy(ts->uid, v, n);
	ts->uid[n] = 0;
	ts->off = off, ts->len = len;
	static const char *const implicit_le[] = {"1.2.840.10008.1.2", "1.2.840.10008.1.20", "1.2.840.113619.5.2"};
	for (size_t i = 0; i < sizeof implicit_le / sizeof *implicit_le; i++)
		if (!strcmp(ts->uid, implicit_le[i]))
			s->explicit_vr = 0;
	if (!strcmp(ts->uid, "1.2.840.10008.1.2.2"))
		s->be = 1;
	*deflated = !strcmp(ts->uid, "1.2.840.10008.1.2.1.99");
	return 1;
}

/* A deflated data set, walked once inflated (at most max bytes): GDCM
 * reads it through an inflating stream and trusts its lengths all the
 * same. */
static int deflated_ok(const unsigned char *p, size_t n, size_t max)
{
	struct np__inflate z;
	if (np__inflate_begin(&z, p, n) < 0)
		return 0;
	unsigned char *out = NULL;
	size_t cap = 0, have = 0;
	int zr = Z_OK;
	while (zr == Z_OK) {
		size_t ncap = cap ? cap * 2 : 1 << 16;
		unsigned char *nb = ncap <= max ? realloc(out, ncap) : NULL;
		if (!nb)
			break;
		out = nb, cap = ncap;
		zr = np__inflate_more(&z, out, cap, &have);
	}
	np__inflate_end(&z);
	int ok = 0;
	if (zr == Z_STREAM_END) {
		struct scan s = {out, 1, 0};
		ok = walk_ok(&s, 0, have);
	}
	free(out);
	return ok;
}

/* The largest deflated data set we inflate to check it. */
#define DEFLATED_MAX ((size_t)1 << 30)

int np__dcm_lengths_ok(const char *path, struct np__dcm_ts *ts)
{
	memset(ts, 0, sizeof *ts);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* the reader reports the I/O error */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return 1;
	}
	size_t n = (size_t)st.st_size;
	const unsigned char *b = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (b == MAP_FAILED)
		return 1;
	struct scan s = {b, 1, 0};
	size_t pos = 0;
	int ok = 1, meta = 0, deflated = 0;
	if (n >= 132 && !memcmp(b + 128, "DICM", 4)) {
		pos = 132;
		/* Group 0002 is always explicit VR little endian. */
		long last = -1;
		while (n - pos >= 8 && u16(b + pos) == 0x0002) {
			const unsigned char *p = b + pos;
			/* Ascending, as the standard asks: GDCM keeps the first
			 * of two transfer syntaxes, so a repeat is ambiguous.
			 * GDCM asserts on a sequence here. */
			if (!known_vr(p + 4) || vr_is(p + 4, "SQ") || (long)u16(p + 2) <= last) {
				ok = 0;
				break;
			}
			struct np_dcm_el el;
			if (np_dcm_head(b, pos, n, NP_DCM_EXPLICIT_LE, &el) < 0 || el.len == UNDEF ||
			    el.len > n - el.value) {
				ok = 0;
				break;
			}
			/* GDCM trusts the group length and asserts when it runs
			 * past the end of the file. */
			size_t hdr = el.value - pos;
			uint32_t len = el.len;
			if (u16(p + 2) == 0x0000 && len == 4 && u32(p + hdr) > n - pos - hdr - len) {
				ok = 0;
				break;
			}
			if (u16(p + 2) == 0x0010 && !ts_encoding(&s, p + hdr, len, &deflated, ts, pos + hdr)) {
				ok = 0;
				break;
			}
			meta = 1;
			last = u16(p + 2);
			pos += hdr + len;
		}
		/* GDCM also asserts on a meta header with no dataset after it. */
		if (ok && n - pos < 8)
			ok = 0;
	}
	if (ok && !meta)
		ok = n - pos >= 8 && raw_encoding(&s, b + pos);
	if (ok && deflated)
		ok = deflated_ok(b + pos, n - pos, DEFLATED_MAX);
	else if (ok && pos < n)
		ok = walk_ok(&s, pos, n);
	munmap((void *)b, n);
	return ok;
}
