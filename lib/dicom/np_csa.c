// SPDX-License-Identifier: Apache-2.0
// Reading and rebuilding Siemens CSA headers (lib/dicom/np_csa.h says why).
//
// Layout (all little-endian). CSA2: "SV10", 04 03 02 01, uint32 n_tags,
// uint32 77; CSA1: n_tags, 77 with no prefix. Then per element: name[64]
// NUL-terminated, int32 vm, vr[4], int32 syngodt, int32 n_items, int32 77
// (205 when n_items is 0); then per item four int32 and the value, padded to a
// multiple of 4. The value length is the second int32 in CSA2; in CSA1 it is
// the first minus n_items of the first element (SPM's reader), and a length
// that does not fit ends that element's items.
#include "np_csa.h"
#include "np_buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* nibabel's limits; real headers hold about 100 elements of at most 128 items */
#define MAX_TAGS 1000
#define MAX_ITEMS 1000

enum kind { NUM, WORD, ICE, MATRIX, PHOENIX };

/* What dcm2niix (readCSAImageHeader, the ASCCONV reader) and nibabel
 * (csareader, dicomwrappers, used by dipy) read to build a diffusion volume,
 * and nothing else: the Station Name, coil and sequence strings, table and
 * patient positions, times of day are all left behind. */
static const struct allow {
	const char *name;
	enum kind kind;
} allow[] = {
    /* diffusion encoding: b-value, direction, b-matrix */
    {"B_value", NUM},
    {"B_matrix", NUM},
    {"DiffusionGradientDirection", NUM},
    {"DiffusionDirectionality", WORD},
    /* mosaic unpacking and slice geometry (nibabel's is_mosaic wants the
     * matrix text, its series signature ICE_Dims) */
    {"NumberOfImagesInMosaic", NUM},
    {"AcquisitionMatrixText", MATRIX},
    {"ICE_Dims", ICE},
    {"SliceNormalVector", NUM},
    /* slice timing */
    {"MosaicRefAcqTimes", NUM},
    {"SliceMeasurementDuration", NUM},
    {"ProtocolSliceNumber", NUM},
    /* distortion correction: readout time and phase-encoding polarity */
    {"BandwidthPerPixelPhaseEncode", NUM},
    {"RealDwellTime", NUM},
    {"PhaseEncodingDirectionPositive", NUM},
    /* series header: the protocol, rebuilt (see phoenix); older software
     * versions write the same ASCCONV block as MrProtocol */
    {"MrPhoenixProtocol", PHOENIX},
    {"MrProtocol", PHOENIX},
};

/* Roots of the ASCCONV keys kept in MrPhoenixProtocol: diffusion scheme,
 * k-space and partial Fourier, slice geometry and order, parallel imaging,
 * dwell time, EPI factor and echo train, TR/TE/TI/flip and scan time, what
 * dcm2niix reads for slice timing and total readout time. */
static const char *const asc_roots[] = {
    "sDiffusion", "sKSpace",	       "sSliceArray",	    "sPat", "sRXSPEC", "sFastImaging", "alTR", "alTE",
    "alTI",	  "adFlipAngleDegree", "lTotalScanTimeSec",
};

static const char *const words[] = {"DIRECTIONAL", "NONE", "ISOTROPIC", "BMATRIX"};

struct csa {
	const unsigned char *p;
	size_t len, pos;
	int v2;
	uint32_t ntags, done;
	int32_t n0; /* CSA1: n_items of the first element, the bias of lengths */
};

struct tag {
	char name[65];
	char vr[5];
	int32_t vm, syngodt;
	int nitems;
	size_t off[MAX_ITEMS], len[MAX_ITEMS];
};

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(struct np_buf *b, int64_t v)
{
	uint32_t u = (uint32_t)v;
	unsigned char q[4] = {u & 0xff, u >> 8 & 0xff, u >> 16 & 0xff, u >> 24};
	np_buf_add(b, q, 4);
}

static int fail(char *why, size_t whysz, const char *msg)
{
	if (why && whysz)
		snprintf(why, whysz, "%s", msg);
	return -1;
}

static int csa_open(struct csa *c, const unsigned char *in, size_t len, char *why, size_t whysz)
{
	memset(c, 0, sizeof *c);
	c->p = in, c->len = len;
	c->v2 = len >= 4 && memcmp(in, "SV10", 4) == 0;
	c->pos = c->v2 ? 8 : 0;
	if (len < c->pos + 8)
		return fail(why, whysz, "CSA header shorter than its preamble");
	c->ntags = u32(in + c->pos);
	c->pos += 8;
	if (c->ntags == 0 || c->ntags > MAX_TAGS)
		return fail(why, whysz, "CSA element count out of range");
	return 0;
}

/* The next element into t, its items checked against the end of the input:
 * 1, 0 at the end, -1 when it does not fit. */
static int csa_next(struct csa *c, struct tag *t, char *why, size_t whysz)
{
	if (c->done == c->ntags)
		return 0;
	if (c->len - c->pos < 84)
		return fail(why, whysz, "CSA element header truncated");
	const unsigned char *h = c->p + c->pos;
	memcpy(t->name, h, 64);
	t->name[64] = 0;
	t->vm = (int32_t)u32(h + 64);
	memcpy(t->vr, h + 68, 4);
	t->vr[4] = 0;
	t->syngodt = (int32_t)u32(h + 72);
	int32_t n = (int32_t)u32(h + 76);
	if (n < 0 || n > MAX_ITEMS)
		return fail(why, whysz, "CSA item count out of range");
	if (!c->v2 && c->done == 0)
		c->n0 = n;
	c->pos += 84;
	t->nitems = n;
	for (int i = 0; i < n; i++) {
		if (c->len - c->pos < 16)
			return fail(why, whysz, "CSA item header truncated");
		int64_t l = c->v2 ? (int32_t)u32(c->p + c->pos + 4) : (int64_t)(int32_t)u32(c->p + c->pos) - c->n0;
		c->pos += 16;
		t->off[i] = c->pos;
		if (l < 0 || (uint64_t)l > c->len - c->pos) {
			if (c->v2)
				return fail(why, whysz, "CSA item runs past the end");
			t->len[i] = 0;
			t->nitems = i + 1;
			break;
		}
		t->len[i] = (size_t)l;
		size_t padded = (size_t)l + (4 - (size_t)l % 4) % 4;
		/* the padding of the last item may be missing */
		c->pos = padded > c->len - c->pos ? c->len : c->pos + padded;
	}
	c->done++;
	return 1;
}

static const struct allow *allowed(const char *name)
{
	for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++)
		if (strcmp(name, allow[i].name) == 0)
			return &allow[i];
	return NULL;
}

/* Every byte of s[0,n) in set, with at least one digit when digit is 0. */
static int only(const char *s, size_t n, const char *set, int digit)
{
	for (size_t i = 0; i < n; i++) {
		if (!s[i] || !strchr(set, s[i]))
			return 0;
		digit |= s[i] >= '0' && s[i] <= '9';
	}
	return digit;
}

/* One number, blanks around it: what nibabel's int() and float() and
 * dcm2niix's atof agree on. */
static int number(const char *s, size_t n, double *d)
{
	char tmp[64], *end;
	while (n && s[n - 1] == ' ')
		n--;
	while (n && *s == ' ')
		s++, n--;
	if (n == 0 || n >= sizeof tmp || !only(s, n, "0123456789+-.eE", 0))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	*d = strtod(tmp, &end);
	return *end ? -1 : 0;
}

static int value_ok(enum kind k, const char *s, size_t n)
{
	double d;
	switch (k) {
	case NUM:
		return number(s, n, &d) == 0;
	case ICE:
		return only(s, n, "0123456789X_ ", 0);
	case MATRIX: /* e.g. 128p*128, 104*104s */
		return only(s, n, "0123456789*psi ", 0);
	case WORD:
		while (n && s[n - 1] == ' ')
			n--;
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strlen(words[i]) == n && memcmp(s, words[i], n) == 0)
				return 1;
		return 0;
	case PHOENIX:
		return 1;
	}
	return 0;
}

/* The value of an item: its bytes up to the first NUL. */
static size_t vlen(const struct csa *c, const struct tag *t, int i)
{
	const void *z = memchr(c->p + t->off[i], 0, t->len[i]);
	return z ? (size_t)((const unsigned char *)z - (c->p + t->off[i])) : t->len[i];
}

/* An element worth keeping: a short upper-case VR, small counts, and values
 * that pass their check, non-empty ones first (readers stop at the first
 * empty item, and nibabel insists that items past the VM are empty). */
static int tag_ok(const struct csa *c, const struct tag *t, const struct allow *a)
{
	size_t vr = strlen(t->vr);
	if (vr > 3 || strspn(t->vr, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != vr)
		return 0;
	if (t->vm < 0 || t->vm > MAX_ITEMS || t->syngodt < 0 || t->syngodt > 255)
		return 0;
	int nvalues = t->vm ? t->vm : t->nitems, empty = 0, values = 0;
	for (int i = 0; i < t->nitems; i++) {
		if (t->len[i] == 0) {
			empty = 1;
			continue;
		}
		if (empty || i >= nvalues || (a->kind == PHOENIX && i > 0))
			return 0;
		if (!value_ok(a->kind, (const char *)c->p + t->off[i], vlen(c, t, i)))
			return 0;
		values++;
	}
	return values > 0;
}

static int asc_root_ok(const char *k, size_t n)
{
	size_t r = 0;
	while (r < n && k[r] != '.' && k[r] != '[')
		r++;
	for (size_t i = 0; i < sizeof asc_roots / sizeof asc_roots[0]; i++)
		if (strlen(asc_roots[i]) == r && memcmp(k, asc_roots[i], r) == 0)
			return 1;
	return 0;
}

/* ASCCONV value: a decimal number or 0x and hex digits, nothing quoted. */
static int asc_value_ok(const char *v, size_t n)
{
	if (n > 2 && v[0] == '0' && v[1] == 'x')
		return only(v + 2, n - 2, "0123456789abcdefABCDEF", 1);
	double d;
	return number(v, n, &d) == 0;
}

#define KEYCH "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.[]"

static const char *find(const char *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* The ASCCONV lines of the protocol text s[0,n) whose key has an allowed
 * root and whose value is a number, as a new ASCCONV block in o; the
 * XProtocol part and every other line are left behind. Returns the number of
 * lines kept. */
static int phoenix(const char *s, size_t n, struct np_buf *o)
{
	const char *b = find(s, n, "### ASCCONV BEGIN");
	if (!b)
		return 0;
	const char *e = find(b, n - (size_t)(b - s), "### ASCCONV END");
	const char *line = memchr(b, '\n', n - (size_t)(b - s));
	if (!e || !line || line > e)
		return 0;
	int kept = 0;
	np_buf_str(o, "### ASCCONV BEGIN ###\n");
	for (line++; line < e;) {
		const char *eol = memchr(line, '\n', (size_t)(e - line));
		if (!eol)
			eol = e;
		const char *k = line, *q;
		line = eol + 1;
		while (k < eol && (*k == ' ' || *k == '\t'))
			k++;
		size_t kl = 0;
		while (k + kl < eol && k[kl] && strchr(KEYCH, k[kl]))
			kl++;
		for (q = k + kl; q < eol && (*q == ' ' || *q == '\t');)
			q++;
		if (!kl || q == eol || *q != '=' || !asc_root_ok(k, kl))
			continue;
		for (q++; q < eol && (*q == ' ' || *q == '\t');)
			q++;
		size_t vl = 0;
		while (q + vl < eol && q[vl] != '#' && q[vl] != ' ' && q[vl] != '\t' && q[vl] != '\r')
			vl++;
		/* only blanks or a comment may follow the value */
		const char *t = q + vl;
		while (t < eol && (*t == ' ' || *t == '\t' || *t == '\r'))
			t++;
		if (!vl || (t < eol && *t != '#') || !asc_value_ok(q, vl))
			continue;
		np_buf_add(o, k, kl);
		np_buf_str(o, " = ");
		np_buf_add(o, q, vl);
		np_buf_str(o, "\n");
		kept++;
	}
	np_buf_str(o, "### ASCCONV END ###\n");
	return kept;
}

static void put_item(struct np_buf *b, const struct csa *c, int32_t n0, const void *v, size_t vl, size_t l)
{
	put32(b, (int64_t)l + (c->v2 ? 0 : n0));
	put32(b, (int64_t)l);
	put32(b, l ? 77 : 205);
	put32(b, (int64_t)l);
	np_buf_add(b, v, vl);
	for (size_t z = vl; z < l + (4 - l % 4) % 4; z++)
		np_buf_add(b, "", 1);
}

/* Element t as allowed: zero padding everywhere, each value up to its first
 * NUL and zeros to its old length, the protocol rebuilt. 1 written, 0 not. */
static int put_tag(struct np_buf *b, const struct csa *c, const struct tag *t, const struct allow *a, int32_t *n0,
		   int first)
{
	struct np_buf pt = {0};
	if (a->kind == PHOENIX) {
		if (phoenix((const char *)c->p + t->off[0], vlen(c, t, 0), &pt) == 0 || pt.oom) {
			b->oom |= pt.oom;
			free(pt.p);
			return 0;
		}
		if (pt.len > INT32_MAX - 8) {
			free(pt.p);
			return 0;
		}
	}
	if (first)
		*n0 = t->nitems;
	char name[64] = {0}, vr[4] = {0};
	memcpy(name, t->name, strlen(t->name));
	memcpy(vr, t->vr, strlen(t->vr));
	np_buf_add(b, name, 64);
	put32(b, t->vm);
	np_buf_add(b, vr, 4);
	put32(b, t->syngodt);
	put32(b, t->nitems);
	put32(b, t->nitems ? 77 : 205);
	for (int i = 0; i < t->nitems; i++) {
		if (a->kind == PHOENIX && i == 0)
			put_item(b, c, *n0, pt.p, pt.len, pt.len + 1);
		else
			put_item(b, c, *n0, c->p + t->off[i], vlen(c, t, i), t->len[i]);
	}
	free(pt.p);
	return 1;
}

int np_csa_filter(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen, char *why, size_t whysz)
{
	*out = NULL;
	*outlen = 0;
	struct csa c;
	if (csa_open(&c, in, len, why, whysz) < 0)
		return -1;
	struct tag *t = malloc(sizeof *t);
	if (!t) {
		errno = ENOMEM;
		return fail(why, whysz, "out of memory");
	}
	struct np_buf b = {0};
	if (c.v2)
		np_buf_add(&b, "SV10\4\3\2\1", 8);
	size_t count_at = b.len;
	put32(&b, 0);
	put32(&b, 77);
	uint32_t kept = 0;
	int32_t n0 = 0;
	int r;
	while ((r = csa_next(&c, t, why, whysz)) == 1) {
		const struct allow *a = allowed(t->name);
		if (a && tag_ok(&c, t, a))
			kept += (uint32_t)put_tag(&b, &c, t, a, &n0, kept == 0);
	}
	free(t);
	if (r == 0 && b.oom) {
		errno = ENOMEM;
		r = fail(why, whysz, "out of memory");
	}
	if (r < 0 || kept == 0) {
		free(b.p);
		return r;
	}
	put32(&b, 0); /* Siemens ends with one zero word */
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return fail(why, whysz, "out of memory");
	}
	unsigned char *p = (unsigned char *)b.p + count_at;
	p[0] = kept & 0xff, p[1] = kept >> 8 & 0xff, p[2] = 0, p[3] = 0;
	*out = (unsigned char *)b.p;
	*outlen = b.len;
	return 1;
}

int np_csa_get(const unsigned char *in, size_t len, const char *name, double *v, int max)
{
	struct csa c;
	if (csa_open(&c, in, len, NULL, 0) < 0)
		return -1;
	struct tag *t = malloc(sizeof *t);
	if (!t)
		return -1;
	int r, got = 0;
	while ((r = csa_next(&c, t, NULL, 0)) == 1) {
		if (strcmp(t->name, name) != 0)
			continue;
		int nvalues = t->vm > 0 ? t->vm : t->nitems;
		for (int i = 0; i < t->nitems && i < nvalues && t->len[i]; i++) {
			double d;
			if (number((const char *)c.p + t->off[i], vlen(&c, t, i), &d) < 0) {
				got = -1;
				break;
			}
			if (got < max)
				v[got++] = d;
		}
		break;
	}
	free(t);
	return r < 0 ? -1 : got;
}
