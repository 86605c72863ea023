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
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNDEF 0xffffffffu

struct scan {
	const unsigned char *b;
	int explicit_vr; /* 1 explicit, 0 implicit, -1 do not walk (deflated) */
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
		if (g == 0xfffe && e == 0xe00d && in_item) {
			*pos += 8;
			return 1;
		}
		uint32_t len;
		int sq = 0;
		if (s->explicit_vr && g != 0xfffe) {
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
		int pixels = g == 0x7fe0 && e == 0x0010;
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

int np__dcm_lengths_ok(const char *path)
{
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
	int ok = 1;
	if (n >= 132 && !memcmp(b + 128, "DICM", 4)) {
		pos = 132;
		/* Group 0002 is always explicit VR little endian. */
		while (n - pos >= 8 && u16(b + pos) == 0x0002) {
			const unsigned char *p = b + pos;
			if (!known_vr(p + 4)) {
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
			if (u16(p + 2) == 0x0010) {
				/* Transfer syntax: implicit VR, or one we cannot walk
				 * (big endian, deflated). */
				const char *ts = (const char *)p + hdr;
				if (!uid_ok(p + hdr, len)) {
					ok = 0;
					break;
				}
				if (len >= 17 && !memcmp(ts, "1.2.840.10008.1.2", 17) && (len == 17 || ts[17] == 0))
					s.explicit_vr = 0;
				else if (len >= 19 && !memcmp(ts, "1.2.840.10008.1.2.2", 19) &&
					 (len == 19 || ts[19] == 0))
					s.be = 1;
				else if (len >= 22 && !memcmp(ts, "1.2.840.10008.1.2.1.99", 22))
					s.explicit_vr = -1;
			}
			pos += hdr + len;
		}
		/* GDCM also asserts on a meta header with no dataset after it. */
		if (ok && n - pos < 8)
			ok = 0;
	}
	/* Like GDCM and pydicom, trust the data over the declared transfer
	 * syntax: explicit VR when the first element has VR letters; a raw
	 * dataset starting with a big-endian group is big endian. */
	/* A raw file starting with group 0002 sends GDCM down a compatibility
	 * path that asserts on the slightest damage; such files are not
	 * conformant anyway. */
	if (pos == 0 && n >= 2 && u16(b) == 0x0002)
		ok = 0;
	if (ok && s.explicit_vr >= 0 && n - pos >= 8) {
		const unsigned char *p = b + pos;
		if (pos == 0 && p[0] == 0 && p[1] != 0)
			s.be = 1;
		s.explicit_vr = known_vr(p + 4);
	}
	if (ok && s.explicit_vr >= 0 && pos < n)
		ok = elements(&s, &pos, n, 0, 0);
	munmap((void *)b, n);
	return ok;
}
