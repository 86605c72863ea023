// SPDX-License-Identifier: Apache-2.0
// A bounds pre-scan of DICOM files before GDCM sees them. Debian's GDCM
// asserts (aborts) on a Part 10 meta header cut short, and allocates and
// zero-fills whatever length an element declares: a 400-byte file can claim
// a 4 GiB value. Both are found by tests/fuzz/fuzz_dcm.c. This walk checks
// that every element, item and sequence stays inside its container; it does
// not interpret values.
#include "np_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNDEF 0xffffffffu

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
static uint32_t rd32(const struct scan *s, const unsigned char *p)
{
	return s->be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : u32(p);
}

static int long_vr(const unsigned char *vr)
{
	static const char *const v[] = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ",
					"UC", "UR", "UT", "UN", "SV", "UV", NULL};
	for (int i = 0; v[i]; i++)
		if (vr[0] == v[i][0] && vr[1] == v[i][1])
			return 1;
	return 0;
}

static int known_vr(const unsigned char *vr)
{
	static const char all[] = "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
	for (size_t i = 0; i + 1 < sizeof all; i += 2)
		if (vr[0] == all[i] && vr[1] == all[i + 1])
			return 1;
	return 0;
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

static int elements(struct scan *s, size_t *pos, size_t end, int depth, int in_item);

/* Items of a sequence starting at *pos; defined sequences end at `end`,
 * undefined ones at the sequence delimiter. raw: items hold bytes
 * (encapsulated pixel data fragments), not datasets. */
static int items(struct scan *s, size_t *pos, size_t end, int undefined, int depth, int raw)
{
	while (*pos < end) {
		if (end - *pos < 8)
			return 0;
		const unsigned char *p = s->b + *pos;
		unsigned g = rd16(s, p), e = rd16(s, p + 2);
		uint32_t len = rd32(s, p + 4);
		*pos += 8;
		if (g != 0xfffe)
			return 0;
		if (e == 0xe0dd)
			return undefined;
		if (e != 0xe000)
			return 0;
		if (len == UNDEF) {
			if (raw || !elements(s, pos, end, depth + 1, 1))
				return 0;
		} else {
			if (len > end - *pos)
				return 0;
			size_t item_end = *pos + len;
			if (!raw && !elements(s, pos, item_end, depth + 1, 0))
				return 0;
			*pos = item_end;
		}
	}
	return !undefined;
}

/* Elements from *pos to end (or to an item delimiter when in_item). */
static int elements(struct scan *s, size_t *pos, size_t end, int depth, int in_item)
{
	if (depth > 32)
		return 0;
	while (*pos < end) {
		if (end - *pos < 8)
			return 0;
		const unsigned char *p = s->b + *pos;
		unsigned g = rd16(s, p), e = rd16(s, p + 2);
		if (g == 0xfffe) {
			/* Among elements only an item delimiter, closing an
			 * item, may use the item group. GDCM takes any other
			 * as a broken file and re-reads it with looser rules
			 * (16-bit VRs, explicit/implicit mixes) that assert and
			 * trust lengths this walk never checked. */
			if (e != 0xe00d || !in_item)
				return 0;
			*pos += 8;
			return 1;
		}
		uint32_t len;
		int sq = 0;
		if (s->explicit_vr) {
			if (!known_vr(p + 4))
				return 0;
			sq = p[4] == 'S' && p[5] == 'Q';
			if (long_vr(p + 4)) {
				if (end - *pos < 12)
					return 0;
				len = rd32(s, p + 8);
				*pos += 12;
			} else {
				len = rd16(s, p + 6);
				*pos += 8;
			}
		} else {
			len = rd32(s, p + 4);
			*pos += 8;
			/* Implicit VR: a defined-length value that starts with an
			 * item tag is a sequence. */
			sq = len != UNDEF && len >= 8 && end - *pos >= 8 && rd16(s, s->b + *pos) == 0xfffe &&
			     rd16(s, s->b + *pos + 2) == 0xe000;
		}
		int pixels = (g == 0x7fe0 && e == 0x0010) || (g == 0x7fe1 && e == 0x1060);
		if (!gdcm_reads_alike(s, p, len, *pos, end))
			return 0;
		if (len == UNDEF) {
			/* An undefined-length UN holds an implicit VR sequence. */
			int saved = s->explicit_vr;
			if (saved && p[4] == 'U' && p[5] == 'N')
				s->explicit_vr = 0;
			int ok = items(s, pos, end, 1, depth, pixels);
			s->explicit_vr = saved;
			if (!ok)
				return 0;
		} else {
			if (len > end - *pos)
				return 0;
			size_t vend = *pos + len;
			if (sq && !items(s, pos, vend, 0, depth, 0))
				return 0;
			*pos = vend;
		}
	}
	return !in_item;
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
		size_t pos = 0;
		ok = elements(&s, &pos, have, 0, 0);
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
			int lv = long_vr(p + 4);
			size_t hdr = lv ? 12 : 8;
			uint32_t len = lv ? (n - pos < 12 ? UNDEF : u32(p + 8)) : u16(p + 6);
			if (len == UNDEF || len > n - pos - hdr) {
				ok = 0;
				break;
			}
			/* GDCM trusts the group length and asserts when it runs
			 * past the end of the file. */
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
		ok = elements(&s, &pos, n, 0, 0);
	munmap((void *)b, n);
	return ok;
}
