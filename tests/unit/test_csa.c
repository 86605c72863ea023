// SPDX-License-Identifier: Apache-2.0
// np_csa: CSA headers built here, in both formats, and the real ones nibabel
// ships (left out, and said so, when nibabel's test data is absent).
#include "np_csa.h"

#include <zlib.h>

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NIBABEL "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"

/* ---- building headers ---- */

struct blob {
	unsigned char p[65536];
	size_t len;
	int v2;
	int32_t n0;   /* CSA1: n_items of the first element */
	size_t count; /* offset of n_tags */
};

static void put(struct blob *b, const void *s, size_t n)
{
	assert_true(b->len + n <= sizeof b->p);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void put32(struct blob *b, int32_t v)
{
	uint32_t u = (uint32_t)v;
	unsigned char q[4] = {u & 0xff, u >> 8 & 0xff, u >> 16 & 0xff, u >> 24};
	put(b, q, 4);
}

static void begin(struct blob *b, int v2)
{
	memset(b, 0, sizeof *b);
	b->v2 = v2;
	if (v2)
		put(b, "SV10\4\3\2\1", 8);
	b->count = b->len;
	put32(b, 0);
	put32(b, 77);
}

/* One element; name and vr are full fields (they may hold bytes after their
 * NUL, as Siemens' do), values[i] of vlen[i] bytes, NULL for empty items. */
static void tag(struct blob *b, const char name[64], int vm, const char vr[4], int n, const char *const *values,
		const size_t *vlen)
{
	uint32_t k = b->p[b->count] | b->p[b->count + 1] << 8;
	if (!b->v2 && k == 0)
		b->n0 = n;
	k++;
	b->p[b->count] = k & 0xff, b->p[b->count + 1] = k >> 8;
	put(b, name, 64);
	put32(b, vm);
	put(b, vr, 4);
	put32(b, 3);
	put32(b, n);
	put32(b, n ? 77 : 205);
	for (int i = 0; i < n; i++) {
		int32_t l = values[i] ? (int32_t)vlen[i] : 0;
		put32(b, b->v2 ? l : l + b->n0);
		put32(b, l);
		put32(b, l ? 77 : 205);
		put32(b, l);
		if (l)
			put(b, values[i], (size_t)l);
		while (b->len % 4)
			put(b, "", 1);
	}
}

/* An element of NUL-terminated text values and empty slots up to n. */
static void tag_text(struct blob *b, const char *name, int vm, const char *vr, int n, const char *const *values, int nv)
{
	char nm[64] = {0}, r[4] = {0};
	size_t vl[16];
	const char *v[16] = {0};
	snprintf(nm, sizeof nm, "%s", name);
	memcpy(r, vr, strlen(vr));
	assert_true(n <= 16 && nv <= n);
	for (int i = 0; i < nv; i++)
		v[i] = values[i], vl[i] = strlen(values[i]) + 1;
	tag(b, nm, vm, r, n, v, vl);
}

/* ---- checks ---- */

static const char *const allowed_names[] = {"B_value",
					    "B_matrix",
					    "DiffusionGradientDirection",
					    "DiffusionDirectionality",
					    "NumberOfImagesInMosaic",
					    "AcquisitionMatrixText",
					    "ICE_Dims",
					    "SliceNormalVector",
					    "MosaicRefAcqTimes",
					    "SliceMeasurementDuration",
					    "ProtocolSliceNumber",
					    "BandwidthPerPixelPhaseEncode",
					    "RealDwellTime",
					    "PhaseEncodingDirectionPositive",
					    "DIRECTIONAL",
					    "NONE",
					    "ISOTROPIC",
					    "BMATRIX"};

/* Every run of three or more letters (or '_') in an image header output is
 * an allowed name or word: nothing else, in a name, value or padding, can
 * have come through. */
static void only_allowed_words(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && (isalpha(p[j]) || p[j] == '_'))
			j++;
		if (j - i >= 3) {
			int ok = 0;
			for (size_t k = 0; k < sizeof allowed_names / sizeof allowed_names[0]; k++)
				ok |= strlen(allowed_names[k]) == j - i && memcmp(allowed_names[k], p + i, j - i) == 0;
			if (!ok)
				fail_msg("word not allowed: %.*s at %zu", (int)(j - i), (const char *)p + i, i);
		}
		i = j > i ? j : i + 1;
	}
}

static int has(const unsigned char *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* in and out agree on element name, all of its values. */
static void same(const unsigned char *in, size_t inlen, const unsigned char *out, size_t outlen, const char *name)
{
	double a[256], b[256];
	int na = np_csa_get(in, inlen, name, a, 256), nb = np_csa_get(out, outlen, name, b, 256);
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++)
		assert_true(a[i] == b[i]);
}

static int filter(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen)
{
	char why[128] = "";
	int r = np_csa_filter(in, len, out, outlen, why, sizeof why);
	if (r < 0)
		assert_true(why[0] != 0);
	else
		assert_true(why[0] == 0);
	if (r == 1) {
		assert_true(*outlen % 4 == 0);
		/* a rebuilt header goes through again unchanged */
		unsigned char *again;
		size_t againlen;
		assert_int_equal(np_csa_filter(*out, *outlen, &again, &againlen, why, sizeof why), 1);
		assert_int_equal(againlen, *outlen);
		assert_memory_equal(again, *out, *outlen);
		free(again);
	} else {
		assert_null(*out);
	}
	return r;
}

/* ---- headers built here ---- */

static void dwi(struct blob *b, int v2)
{
	begin(b, v2);
	/* Siemens' stale memory after the NUL of a name and of a value */
	char nm[64] = "EchoLinePosition\0MRC35119", bv[64] = "B_value\0RGenPat$$10a";
	const char *v[6] = {"64      \0MRC35119"};
	size_t vl[6] = {18}; /* both values below, with their NUL */
	tag(b, nm, 1, "IS\0\0", 6, v, vl);
	v[0] = "1000    \0MRC35119";
	tag(b, bv, 1, "IS\0X", 6, v, vl);
	tag_text(b, "DiffusionGradientDirection", 3, "FD", 6,
		 (const char *const[]){"0.99997449", "0.00505012", "-0.00505012"}, 3);
	tag_text(b, "DiffusionDirectionality", 1, "CS", 6, (const char *const[]){"DIRECTIONAL"}, 1);
	tag_text(b, "ImaCoilString", 1, "LO", 6, (const char *const[]){"T:HEA;HEP"}, 1);
	tag_text(b, "UsedPatientWeight", 1, "IS", 6, (const char *const[]){"88"}, 1);
	tag_text(b, "MosaicRefAcqTimes", 0, "FD", 4, (const char *const[]){"650.0", "0", "325.00000001", "975"}, 4);
	tag_text(b, "SliceNormalVector", 3, "FD", 6, (const char *const[]){"0", "0.00523632", "0.99998629"}, 3);
	tag_text(b, "FlipAngle", 1, "DS", 6, NULL, 0);
}

static void test_image(void **state)
{
	(void)state;
	for (int v2 = 0; v2 <= 1; v2++) {
		struct blob b;
		dwi(&b, v2);
		unsigned char *out;
		size_t outlen;
		assert_int_equal(filter(b.p, b.len, &out, &outlen), 1);
		assert_int_equal(memcmp(out, "SV10", 4) == 0, v2);
		double v[4];
		assert_int_equal(np_csa_get(out, outlen, "B_value", v, 4), 1);
		assert_true(v[0] == 1000);
		assert_int_equal(np_csa_get(out, outlen, "DiffusionGradientDirection", v, 4), 3);
		assert_true(v[2] == -0.00505012);
		same(b.p, b.len, out, outlen, "DiffusionGradientDirection");
		same(b.p, b.len, out, outlen, "MosaicRefAcqTimes");
		same(b.p, b.len, out, outlen, "SliceNormalVector");
		assert_int_equal(np_csa_get(out, outlen, "UsedPatientWeight", v, 4), 0);
		assert_false(has(out, outlen, "MRC35119"));
		assert_false(has(out, outlen, "RGen"));
		assert_false(has(out, outlen, "EchoLinePosition"));
		assert_true(has(out, outlen, "DIRECTIONAL"));
		only_allowed_words(out, outlen);
		free(out);
	}
}

/* A value that is not a number drops its element, and only that one. */
static void test_values(void **state)
{
	(void)state;
	struct blob b;
	begin(&b, 1);
	tag_text(&b, "B_value", 1, "IS", 6, (const char *const[]){"1000 Smith"}, 1);
	tag_text(&b, "DiffusionDirectionality", 1, "CS", 6, (const char *const[]){"DIRECTIONALLY"}, 1);
	tag_text(&b, "ICE_Dims", 1, "LO", 6, (const char *const[]){"X_1_1_Doe"}, 1);
	tag_text(&b, "AcquisitionMatrixText", 1, "SH", 6, (const char *const[]){"128p*128"}, 1);
	/* a value after an empty slot, or past the VM, is not what readers expect */
	tag_text(&b, "SliceNormalVector", 1, "FD", 6, (const char *const[]){"0", "1", "0"}, 3);
	tag_text(&b, "RealDwellTime", 1, "I*", 6, (const char *const[]){"2800"}, 1);
	unsigned char *out;
	size_t outlen;
	assert_int_equal(filter(b.p, b.len, &out, &outlen), 1);
	double v[4];
	assert_int_equal(np_csa_get(b.p, b.len, "B_value", v, 4), -1);
	assert_int_equal(np_csa_get(out, outlen, "B_value", v, 4), 0);
	assert_false(has(out, outlen, "Smith"));
	assert_false(has(out, outlen, "DIRECTIONAL"));
	assert_false(has(out, outlen, "Doe"));
	assert_false(has(out, outlen, "SliceNormalVector"));
	assert_false(has(out, outlen, "RealDwellTime"));
	assert_true(has(out, outlen, "128p*128"));
	free(out);

	/* nothing left: 0, and no output */
	begin(&b, 1);
	tag_text(&b, "ImaCoilString", 1, "LO", 6, (const char *const[]){"T:HEA;HEP"}, 1);
	tag_text(&b, "B_value", 1, "IS", 6, NULL, 0);
	assert_int_equal(filter(b.p, b.len, &out, &outlen), 0);
}

static const char protocol[] = "<XProtocol> \n{\n  <Name> \"PhoenixMetaProtocol\" \n}\n"
			       "### ASCCONV BEGIN @Checksum=mpf:12345 ###\n"
			       "ulVersion                                = 0x14b44b6\n"
			       "tProtocolName                            = \"\"CBU+AF8-DTI\"\"\n"
			       "tReferenceImage0                         = \"\"1.3.12.2.1107.5.2.32.35119.1\"\"\n"
			       "sDiffusion.lDiffDirections               = 64\n"
			       "sDiffusion.alBValue[1]                   = 1000\n"
			       "sKSpace.ucPhasePartialFourier            = 0x4\n"
			       "sSliceArray.asSlice[0].sPosition.dTra    = -79.31259361\n"
			       "sSliceArray.asSlice[0].tName             = \"\"Smith\"\"\n"
			       "sSliceArray.lSize = 48 # a comment\n"
			       "sPat.lAccelFactPE\t=\t2\r\n"
			       "sWipMemBlock.alFree[0]                   = 5\n"
			       "sKSpace.lBaseResolution                  = 128 Doe\n"
			       "alTR[0]                                  = 6600000\n"
			       "sRXSPEC.alDwellTime[0]                   = 0xZZ\n"
			       "### ASCCONV END ###\" \n";

static void test_series(void **state)
{
	(void)state;
	for (int v2 = 0; v2 <= 1; v2++) {
		struct blob b;
		begin(&b, v2);
		tag_text(&b, "UsedPatientWeight", 1, "IS", 6, (const char *const[]){"88"}, 1);
		tag_text(&b, "PatReinPattern", 1, "ST", 6, (const char *const[]){"1;HFS;88.00;32.90;2;0;0;1331869268"},
			 1);
		tag_text(&b, "MrPhoenixProtocol", 1, "UN", 6, (const char *const[]){protocol}, 1);
		unsigned char *out;
		size_t outlen;
		assert_int_equal(filter(b.p, b.len, &out, &outlen), 1);
		const char *text = memmem(out, outlen, "### ASCCONV BEGIN", 17);
		assert_non_null(text);
		assert_string_equal(text, "### ASCCONV BEGIN ###\n"
					  "sDiffusion.lDiffDirections = 64\n"
					  "sDiffusion.alBValue[1] = 1000\n"
					  "sKSpace.ucPhasePartialFourier = 0x4\n"
					  "sSliceArray.asSlice[0].sPosition.dTra = -79.31259361\n"
					  "sSliceArray.lSize = 48\n"
					  "sPat.lAccelFactPE = 2\n"
					  "alTR[0] = 6600000\n"
					  "### ASCCONV END ###\n");
		assert_false(has(out, outlen, "\""));
		assert_false(has(out, outlen, "88"));
		assert_false(has(out, outlen, "PatReinPattern"));
		free(out);

		/* a protocol with nothing to keep drops the element */
		begin(&b, v2);
		tag_text(&b, "MrPhoenixProtocol", 1, "UN", 6,
			 (const char *const[]){"### ASCCONV BEGIN ###\ntProtocolName = \"x\"\n### ASCCONV END ###\n"},
			 1);
		tag_text(&b, "MrProtocol", 1, "UN", 6, (const char *const[]){"<XProtocol> { alTR[0] = 1 }"}, 1);
		assert_int_equal(filter(b.p, b.len, &out, &outlen), 0);
	}
}

static void test_get(void **state)
{
	(void)state;
	struct blob b;
	dwi(&b, 1);
	double v[2];
	assert_int_equal(np_csa_get(b.p, b.len, "DiffusionGradientDirection", v, 2), 2);
	assert_int_equal(np_csa_get(b.p, b.len, "NoSuchElement", v, 2), 0);
	assert_int_equal(np_csa_get(b.p, b.len, "FlipAngle", v, 2), 0);
	assert_int_equal(np_csa_get(b.p, b.len, "ImaCoilString", v, 2), -1);
	assert_int_equal(np_csa_get(b.p, 20, "B_value", v, 2), -1);
}

/* Every cut of a header fails cleanly, as do lying counts and lengths. */
static void test_bad(void **state)
{
	(void)state;
	struct blob b;
	unsigned char *out;
	size_t outlen;
	char why[64];
	for (int v2 = 0; v2 <= 1; v2++) {
		dwi(&b, v2);
		/* the last item's padding may be missing, nothing else may */
		for (size_t n = 0; n + 3 < b.len; n++) {
			int r = np_csa_filter(b.p, n, &out, &outlen, why, sizeof why);
			if (v2)
				assert_int_equal(r, -1);
			else
				assert_true(r <= 1);
			free(out);
			double d[4];
			assert_true(np_csa_get(b.p, n, "MosaicRefAcqTimes", d, 4) <= 4);
		}
	}
	dwi(&b, 1);
	unsigned char c[sizeof b.p];
	memcpy(c, b.p, b.len);
	c[8] = 0xe9, c[9] = 0x03; /* 1001 elements */
	assert_int_equal(np_csa_filter(c, b.len, &out, &outlen, why, sizeof why), -1);
	assert_string_equal(why, "CSA element count out of range");
	memcpy(c, b.p, b.len);
	c[16 + 76 + 3] = 0x80; /* negative item count */
	assert_int_equal(np_csa_filter(c, b.len, &out, &outlen, why, sizeof why), -1);
	memcpy(c, b.p, b.len);
	c[16 + 84 + 4 + 3] = 0x7f; /* huge item length */
	assert_int_equal(np_csa_filter(c, b.len, &out, &outlen, why, sizeof why), -1);
	assert_string_equal(why, "CSA item runs past the end");
	memcpy(c, b.p, b.len);
	c[16 + 84 + 4 + 3] = 0xff; /* negative item length */
	assert_int_equal(np_csa_filter(c, b.len, &out, &outlen, why, sizeof why), -1);
	/* noise, with and without the SV10 prefix */
	uint32_t x = 12345;
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 700);
		for (size_t i = 0; i < n; i++)
			c[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
		if (round & 1)
			memcpy(c, "SV10\4\3\2\1\1\0\0\0", n < 12 ? n : 12);
		int r = np_csa_filter(c, n, &out, &outlen, why, sizeof why);
		assert_true(r >= -1 && r <= 1);
		free(out);
	}
}

/* ---- nibabel's real headers ---- */

static const char *datadir(void)
{
	const char *dir = getenv("NP_NIBABEL_DATA");
	return dir ? dir : NIBABEL;
}

static unsigned char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", datadir(), name);
	gzFile f = gzopen(path, "rb"); /* reads plain files as they are */
	if (!f)
		return NULL;
	size_t cap = 4 << 20;
	unsigned char *p = malloc(cap);
	assert_non_null(p);
	int n = gzread(f, p, (unsigned)cap);
	gzclose(f);
	assert_true(n > 0 && (size_t)n < cap);
	*len = (size_t)n;
	return p;
}

static int have_nibabel(void)
{
	size_t n;
	unsigned char *p = slurp("csa2_b1000.bin", &n);
	free(p);
	return p != NULL;
}

static void nibabel_image(const unsigned char *in, size_t len, double b, int ndir)
{
	unsigned char *out;
	size_t outlen;
	assert_int_equal(filter(in, len, &out, &outlen), 1);
	double v[4];
	assert_int_equal(np_csa_get(out, outlen, "B_value", v, 4), 1);
	assert_true(v[0] == b);
	assert_int_equal(np_csa_get(out, outlen, "DiffusionGradientDirection", v, 4), ndir);
	for (size_t i = 0; i < sizeof allowed_names / sizeof allowed_names[0]; i++)
		same(in, len, out, outlen, allowed_names[i]);
	assert_true(has(in, len, "MRC35119"));
	assert_false(has(out, outlen, "MRC35119"));
	assert_false(has(out, outlen, "ImaCoilString"));
	only_allowed_words(out, outlen);
	free(out);
}

static void test_nibabel_blobs(void **state)
{
	(void)state;
	size_t n;
	unsigned char *p = slurp("csa2_b0.bin", &n), *out;
	nibabel_image(p, n, 0, 0);
	free(p);
	p = slurp("csa2_b1000.bin", &n);
	nibabel_image(p, n, 1000, 3);
	free(p);
	size_t outlen;
	/* one element of text: nothing to keep */
	p = slurp("csa_str_valid.bin", &n);
	assert_int_equal(filter(p, n, &out, &outlen), 0);
	free(p);
	/* 1001 items: nibabel refuses it, so do we */
	p = slurp("csa_str_1001n_items.bin", &n);
	assert_int_equal(filter(p, n, &out, &outlen), -1);
	free(p);
	/* a series header of older software: MrProtocol is kept, rebuilt */
	p = slurp("csa2_zero_len.bin.gz", &n);
	assert_int_equal(filter(p, n, &out, &outlen), 1);
	assert_true(has(out, outlen, "sRXSPEC.alDwellTime[0] = "));
	assert_false(has(out, outlen, "\""));
	assert_false(has(out, outlen, "UsedPatientWeight"));
	free(out);
	free(p);
}

/* The value of (0029,xx10|20) in an implicit or explicit little-endian file. */
static const unsigned char *element(const unsigned char *p, size_t n, int elem, size_t *len)
{
	const unsigned char tag[4] = {0x29, 0x00, (unsigned char)elem, 0x10};
	for (const unsigned char *q = p; (q = memmem(q, n - (size_t)(q - p), tag, 4)); q++) {
		size_t off = (size_t)(q - p) + 4, l;
		if (n - off >= 8 && memcmp(p + off, "OB\0\0", 4) == 0)
			off += 4;
		if (n - off < 4)
			return NULL;
		l = p[off] | p[off + 1] << 8 | (size_t)p[off + 2] << 16 | (size_t)p[off + 3] << 24;
		off += 4;
		if (l <= n - off && l >= 4 && memcmp(p + off, "SV10", 4) == 0) {
			*len = l;
			return p + off;
		}
	}
	return NULL;
}

static void test_nibabel_dicom(void **state)
{
	(void)state;
	size_t n, len, outlen;
	unsigned char *p = slurp("siemens_dwi_1000.dcm.gz", &n), *out;
	const unsigned char *csa = element(p, n, 0x10, &len);
	assert_non_null(csa);
	nibabel_image(csa, len, 1000, 3);

	csa = element(p, n, 0x20, &len);
	assert_non_null(csa);
	assert_true(has(csa, len, "CBU+AF8-DTI"));
	assert_int_equal(filter(csa, len, &out, &outlen), 1);
	assert_true(has(out, outlen, "MrPhoenixProtocol"));
	assert_true(has(out, outlen, "\nsDiffusion.alBValue[1] = 1000\n"));
	assert_true(has(out, outlen, "\nsPat.lAccelFactPE = 2\n"));
	assert_false(has(out, outlen, "\""));
	assert_false(has(out, outlen, "CBU"));
	assert_false(has(out, outlen, "ep2d_diff"));
	assert_false(has(out, outlen, "1.3.12.2.1107"));
	assert_false(has(out, outlen, "XProtocol"));
	assert_false(has(out, outlen, "PatReinPattern"));
	assert_false(has(out, outlen, "UsedPatientWeight"));
	free(out);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_image),	  cmocka_unit_test(test_values), cmocka_unit_test(test_series),
	    cmocka_unit_test(test_get),		  cmocka_unit_test(test_bad),	 cmocka_unit_test(test_nibabel_blobs),
	    cmocka_unit_test(test_nibabel_dicom),
	};
	/* cmocka 1.1.5's skip() reads as a failure to prove: without nibabel's
	 * data, leave its tests out and say so */
	size_t count = sizeof tests / sizeof tests[0];
	if (!have_nibabel()) {
		printf("# nibabel test data not found in %s: 2 tests left out\n", datadir());
		count -= 2;
	}
	return _cmocka_run_group_tests("csa", tests, count, NULL, NULL);
}
