// SPDX-License-Identifier: Apache-2.0
// np_dcm over files built byte by byte here: explicit and implicit VR little
// endian, a sequence, a private block, binary VRs, and damaged variants.
#include "np_dcm.h"
#include "np_err.h"

#include "unit.h"

#include <string.h>
#include <zlib.h>

struct buf {
	unsigned char b[4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static void u16(struct buf *b, unsigned v)
{
	put(b, (unsigned char[]){v & 0xff, v >> 8}, 2);
}
static void u32(struct buf *b, unsigned long v)
{
	put(b, (unsigned char[]){v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 & 0xff}, 4);
}

/* One element; explicit VR unless implicit. Values are padded to even length. */
static void el(struct buf *b, int implicit, unsigned g, unsigned e, const char *vr, const void *v, size_t n)
{
	size_t len = n + (n & 1);
	u16(b, g), u16(b, e);
	int lv = !strcmp(vr, "OB") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") || !strcmp(vr, "UT");
	if (implicit) {
		u32(b, len);
	} else if (lv) {
		put(b, vr, 2), u16(b, 0), u32(b, len);
	} else {
		put(b, vr, 2), u16(b, len);
	}
	put(b, v, n);
	if (n & 1)
		put(b, strcmp(vr, "UI") ? " " : "", 1);
}
static void str(struct buf *b, int implicit, unsigned g, unsigned e, const char *vr, const char *s)
{
	el(b, implicit, g, e, vr, s, strlen(s));
}

/* Preamble, DICM and a file meta header naming transfer syntax ts. */
static void meta_header(struct buf *b, const char *ts)
{
	memset(b->b, 0, 128);
	b->n = 128;
	put(b, "DICM", 4);
	struct buf m = {.n = 0};
	el(&m, 0, 2, 1, "OB", "\0\1", 2);
	str(&m, 0, 2, 2, "UI", "1.2.840.10008.5.1.4.1.1.4");
	str(&m, 0, 2, 3, "UI", "1.2.3.4.5.6");
	str(&m, 0, 2, 0x10, "UI", ts);
	unsigned char gl[4] = {m.n & 0xff, m.n >> 8 & 0xff, 0, 0};
	el(b, 0, 2, 0, "UL", gl, 4);
	put(b, m.b, m.n);
}

static const char *write_study(const char *name, int implicit, int meta, size_t cut)
{
	struct buf b = {.n = 0};
	if (meta)
		meta_header(&b, implicit ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1");
	str(&b, implicit, 8, 0x60, "CS", "MR");
	str(&b, implicit, 0x10, 0x10, "PN", "CANARY^UNIT");
	str(&b, implicit, 0x19, 0x10, "LO", "SIEMENS MR HEADER");
	str(&b, implicit, 0x19, 0x100c, "IS", "1000");
	str(&b, implicit, 0x20, 0x0d, "UI", "1.2.3.4");
	el(&b, implicit, 0x28, 0x10, "US", (unsigned char[]){0x00, 0x01}, 2);
	el(&b, implicit, 0x28, 0x30, "DS", "0.5\\0.75", 8);
	/* (0040,0275) Request Attributes Sequence, undefined length, 2 items. */
	u16(&b, 0x40), u16(&b, 0x275);
	if (!implicit)
		put(&b, "SQ", 2), u16(&b, 0);
	u32(&b, 0xffffffff);
	for (int i = 0; i < 2; i++) {
		u16(&b, 0xfffe), u16(&b, 0xe000), u32(&b, 0xffffffff);
		str(&b, implicit, 0x32, 0x1032, "PN", i ? "SECOND^REQ" : "DOC^REQ");
		u16(&b, 0xfffe), u16(&b, 0xe00d), u32(&b, 0);
	}
	u16(&b, 0xfffe), u16(&b, 0xe0dd), u32(&b, 0);
	el(&b, implicit, 0x7fe0, 0x10, "OB", "\1\2\3\4", 4);
	const char *path = at(name);
	assert_int_equal(np_write_atomic(path, b.b, cut && cut < b.n ? cut : b.n, 0640, NULL), 0);
	return path;
}

static void reads_strings_sequences_private_binary(void **state)
{
	(void)state;
	for (int implicit = 0; implicit < 2; implicit++) {
		struct np_err err = {0};
		const char *p = write_study("a.dcm", implicit, 1, 0);
		struct np_dcm *d = np_dcm_open(p, NP_DCM_HEADER_ONLY, &err);
		assert_non_null(d);
		char v[64];
		assert_int_equal(np_dcm_get(d, "0008,0060", v, sizeof v), 1);
		assert_string_equal(v, "MR");
		assert_int_equal(np_dcm_get(d, "0010,0010", v, sizeof v), 1);
		assert_string_equal(v, "CANARY^UNIT");
		assert_int_equal(np_dcm_get(d, "0020,000D", v, sizeof v), 1);
		assert_string_equal(v, "1.2.3.4");
		assert_int_equal(np_dcm_items(d, "0040,0275"), 2);
		assert_int_equal(np_dcm_get(d, "0040,0275/0/0032,1032", v, sizeof v), 1);
		assert_string_equal(v, "DOC^REQ");
		assert_int_equal(np_dcm_get(d, "0040,0275/1/0032,1032", v, sizeof v), 1);
		assert_string_equal(v, "SECOND^REQ");
		assert_int_equal(np_dcm_get(d, "0040,0275/2/0032,1032", v, sizeof v), 0);
		assert_int_equal(np_dcm_get(d, "0008,0070", v, sizeof v), 0);
		assert_int_equal(np_dcm_get_private(d, 0x19, "SIEMENS MR HEADER", 0x0c, v, sizeof v), 1);
		assert_string_equal(v, "1000");
		assert_int_equal(np_dcm_get_private(d, 0x19, "OTHER CREATOR", 0x0c, v, sizeof v), 0);
		double x = 0;
		assert_int_equal(np_dcm_get_double(d, "0028,0030", &x), 1);
		assert_true(x == 0.5);
		if (!implicit) {
			/* Binary VRs render as text (implicit VR reads them as bytes). */
			assert_int_equal(np_dcm_get(d, "0028,0010", v, sizeof v), 1);
			assert_string_equal(v, "256");
		}
		assert_int_equal(np_dcm_get(d, "0010,0010", v, 4), 1);
		assert_string_equal(v, "CAN");
		assert_string_equal(np_dcm_transfer_syntax(d), implicit ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1");
		assert_int_equal(np_dcm_has_meta(d), 1);
		np_dcm_close(d);
	}
}

static void bad_paths_are_refused(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_dcm *d = np_dcm_open(write_study("a.dcm", 0, 1, 0), 0, &err);
	assert_non_null(d);
	char v[16];
	assert_int_equal(np_dcm_get(d, "0040,0275/x/0032,1032", v, sizeof v), 0);
	assert_int_equal(np_dcm_get(d, "40,275", v, sizeof v), 0);
	assert_int_equal(np_dcm_get(d, "0010,0010/0/0010,0010", v, sizeof v), 0);
	assert_int_equal(np_dcm_items(d, "0010,0010"), 0);
	np_dcm_close(d);
}

static void raw_dataset_without_meta(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_dcm *d = np_dcm_open(write_study("raw.dcm", 1, 0, 0), NP_DCM_HEADER_ONLY, &err);
	assert_non_null(d);
	assert_int_equal(np_dcm_has_meta(d), 0);
	char v[32];
	assert_int_equal(np_dcm_get(d, "0040,0275/1/0032,1032", v, sizeof v), 1);
	assert_string_equal(v, "SECOND^REQ");
	np_dcm_close(d);
}

static void damaged_files_fail_cleanly(void **state)
{
	(void)state;
	struct np_err err = {0};
	/* Cut inside the meta header, inside an element, inside the sequence. */
	static const size_t cuts[] = {100, 140, 200, 300, 380};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		np_err_clear(&err);
		struct np_dcm *d = np_dcm_open(write_study("cut.dcm", 0, 1, cuts[i]), NP_DCM_HEADER_ONLY, &err);
		if (d) {
			/* GDCM accepts a file cut between elements: then what is there reads. */
			char v[8];
			assert_true(np_dcm_get(d, "0008,0060", v, sizeof v) >= 0);
			np_dcm_close(d);
		} else {
			assert_int_equal(err.cls, NP_ERR_PERM);
		}
	}
	/* A length that runs past the end of the file. */
	struct buf b = {.n = 0};
	memset(b.b, 0, 132);
	memcpy(b.b + 128, "DICM", 4);
	b.n = 132;
	str(&b, 0, 2, 0x10, "UI", "1.2.840.10008.1.2.1");
	u16(&b, 0x10), u16(&b, 0x10), put(&b, "UT", 2), u16(&b, 0), u32(&b, 0xfffffff0);
	put(&b, "CANARY", 6);
	assert_int_equal(np_write_atomic(at("huge.dcm"), b.b, b.n, 0640, NULL), 0);
	assert_null(np_dcm_open(at("huge.dcm"), 0, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	/* Not DICOM at all, empty, and missing. */
	assert_int_equal(np_write_atomic(at("text.dcm"), "hello, world\n", 13, 0640, NULL), 0);
	assert_null(np_dcm_open(at("text.dcm"), 0, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_int_equal(np_write_atomic(at("empty.dcm"), "", 0, 0640, NULL), 0);
	assert_null(np_dcm_open(at("empty.dcm"), 0, &err));
	assert_null(np_dcm_open(at("missing.dcm"), 0, &err));
	assert_non_null(strstr(err.msg, "No such file"));
	/* Errors name the file, never its content. */
	assert_null(strstr(err.msg, "CANARY"));
}

/* Inputs that send GDCM down its repair paths for broken writers, which
 * assert or allocate the lengths they find: refused before GDCM reads. */
static void repair_paths_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int implicit;
		const unsigned char *bytes;
		size_t n;
	} cases[] = {
	    /* An item tag among top-level elements: GDCM re-reads the file
	     * with 16-bit VR lengths and asserts or allocates gigabytes. */
	    {"item-tag.dcm", 0, (const unsigned char *)"\xfe\xff\x00\xe3\x10\x00\x00\x00", 8},
	    /* An undefined length on a VR that cannot have one (asserts). */
	    {"undef-lo.dcm", 0,
	     (const unsigned char *)"\x09\x00\x10\x00LO\x00\x00\xff\xff\xff\xff\xfe\xff\xdd\xe0\x00\x00\x00\x00", 20},
	    /* Pixel data as a sequence (asserts). */
	    {"pixel-sq.dcm", 0, (const unsigned char *)"\xe0\x7f\x10\x00SQ\x00\x00\x00\x00\x00\x00", 12},
	    /* Length 13 in implicit VR: GDCM reads 10 and loses its place. */
	    {"len13.dcm", 1,
	     (const unsigned char *)"\x10\x00\x20\x00\x0d\x00\x00\x00"
				    "ABCDEFGHIJKLM ",
	     22},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = {.n = 0};
		str(&b, cases[i].implicit, 8, 0x60, "CS", "MR");
		put(&b, cases[i].bytes, cases[i].n);
		str(&b, cases[i].implicit, 0x20, 0x0d, "UI", "1.2.3.4");
		assert_int_equal(np_write_atomic(at(cases[i].name), b.b, b.n, 0640, NULL), 0);
		struct np_err err = {0};
		struct np_dcm *d = np_dcm_open(at(cases[i].name), NP_DCM_HEADER_ONLY, &err);
		if (d)
			fail_msg("%s was read", cases[i].name);
		assert_int_equal(err.cls, NP_ERR_PERM);
	}
}

/* Deflated Explicit VR Little Endian: the data set is checked inflated. */
static const char *write_deflated(const char *name, const struct buf *ds)
{
	struct buf b = {.n = 0};
	meta_header(&b, "1.2.840.10008.1.2.1.99");
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)ds->b;
	z.avail_in = (uInt)ds->n;
	z.next_out = b.b + b.n;
	z.avail_out = (uInt)(sizeof b.b - b.n);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	b.n = sizeof b.b - z.avail_out;
	deflateEnd(&z);
	assert_int_equal(np_write_atomic(at(name), b.b, b.n, 0640, NULL), 0);
	return at(name);
}

static void deflated_data_sets(void **state)
{
	(void)state;
	struct buf ds = {.n = 0};
	str(&ds, 0, 8, 0x60, "CS", "MR");
	str(&ds, 0, 0x20, 0x0d, "UI", "1.2.3.4");
	struct np_err err = {0};
	struct np_dcm *d = np_dcm_open(write_deflated("deflated.dcm", &ds), NP_DCM_HEADER_ONLY, &err);
	assert_non_null(d);
	char v[32];
	assert_int_equal(np_dcm_get(d, "0020,000D", v, sizeof v), 1);
	assert_string_equal(v, "1.2.3.4");
	np_dcm_close(d);
	/* A value claiming 4 GiB inside the compressed stream. */
	u16(&ds, 0x10), u16(&ds, 0x4000), put(&ds, "UT", 2), u16(&ds, 0), u32(&ds, 0xfffffff0);
	put(&ds, "CANARY", 6);
	assert_null(np_dcm_open(write_deflated("deflated-huge.dcm", &ds), NP_DCM_HEADER_ONLY, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(reads_strings_sequences_private_binary, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(bad_paths_are_refused, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(raw_dataset_without_meta, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(damaged_files_fail_cleanly, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(repair_paths_are_refused, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(deflated_data_sets, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
