// SPDX-License-Identifier: Apache-2.0
// np_dcm_walk: the VR table, element headers in each encoding, the events of
// nested sequences and items, each structural error, the depth limit, and
// every prefix of a data set walked from an exactly sized buffer (ASan
// catches a read past its end).
#include "np_dcm_walk.h"

#include "unit.h"

#include <string.h>

struct buf {
	unsigned char b[1024];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static void u16(struct buf *b, unsigned v, int be)
{
	put(b, be ? (unsigned char[]){v >> 8, v & 0xff} : (unsigned char[]){v & 0xff, v >> 8}, 2);
}
static void u32(struct buf *b, unsigned long v, int be)
{
	if (be)
		put(b, (unsigned char[]){v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff}, 4);
	else
		put(b, (unsigned char[]){v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24}, 4);
}
/* A header in encoding enc (vr NULL: an item or delimiter). */
static void hdr(struct buf *b, int enc, unsigned g, unsigned e, const char *vr, unsigned long len)
{
	int be = enc & NP_DCM_BE;
	u16(b, g, be), u16(b, e, be);
	if (!vr || !(enc & NP_DCM_EXPLICIT)) {
		u32(b, len, be);
	} else if (np_vr_flags((unsigned char)vr[0], (unsigned char)vr[1]) & NP_VR_LONG) {
		put(b, vr, 2), u16(b, 0, be), u32(b, len, be);
	} else {
		put(b, vr, 2), u16(b, (unsigned)len, be);
	}
}
/* Items and delimiters are in the byte order of the data set. */
static int order = NP_DCM_IMPLICIT_LE;
static void item(struct buf *b, unsigned long len)
{
	hdr(b, order, 0xFFFE, 0xE000, NULL, len);
}
static void delim(struct buf *b, unsigned e)
{
	hdr(b, order, 0xFFFE, e, NULL, 0);
}

static void vr_table(void **state)
{
	(void)state;
	static const char *const long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
					       "SV", "UC", "UN", "UR", "UT", "UV"};
	static const char all[] = "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
	int known = 0, lng = 0;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			unsigned f = np_vr_flags((unsigned char)a, (unsigned char)b);
			known += !!(f & NP_VR_KNOWN);
			lng += !!(f & NP_VR_LONG);
			assert_true(!f || (f & NP_VR_KNOWN));
		}
	assert_int_equal(known, (int)(sizeof all - 1) / 2);
	assert_int_equal(lng, 13);
	for (size_t i = 0; i < sizeof long_vrs / sizeof *long_vrs; i++)
		assert_true(np_vr_flags((unsigned char)long_vrs[i][0], (unsigned char)long_vrs[i][1]) & NP_VR_LONG);
	for (size_t i = 0; i + 1 < sizeof all; i += 2)
		assert_true(np_vr_flags((unsigned char)all[i], (unsigned char)all[i + 1]) & NP_VR_KNOWN);
	assert_int_equal(np_vr_flags('X', 'X'), 0);
	assert_int_equal(np_vr_flags('s', 'q'), 0);
	assert_true(np_vr_flags('P', 'N') & NP_VR_TEXT);
	assert_false(np_vr_flags('U', 'S') & NP_VR_TEXT);
	assert_int_equal(np_vr_max('L', 'O'), 64);
	assert_int_equal(np_vr_max('L', 'T'), 10240);
	assert_int_equal(np_vr_max('U', 'T'), 0);
}

static void headers(void **state)
{
	(void)state;
	struct buf b = {.n = 0};
	struct np_dcm_el el;
	hdr(&b, NP_DCM_EXPLICIT_LE, 0x0010, 0x0010, "PN", 0x1234);
	assert_int_equal(np_dcm_head(b.b, 0, b.n, NP_DCM_EXPLICIT_LE, &el), 0);
	assert_int_equal(el.g, 0x0010);
	assert_int_equal(el.len, 0x1234);
	assert_int_equal(el.value, 8);
	assert_memory_equal(el.vr, "PN", 2);
	b.n = 0;
	hdr(&b, NP_DCM_EXPLICIT_BE, 0x7FE0, 0x0010, "OW", 0x01020304);
	assert_int_equal(np_dcm_head(b.b, 0, b.n, NP_DCM_EXPLICIT_BE, &el), 0);
	assert_int_equal(el.g, 0x7FE0);
	assert_int_equal(el.len, 0x01020304);
	assert_int_equal(el.value, 12);
	assert_int_equal(np_dcm_head(b.b, 0, 11, NP_DCM_EXPLICIT_BE, &el), -1); /* long VR: 12 bytes */
	b.n = 0;
	hdr(&b, NP_DCM_IMPLICIT_LE, 0x0008, 0x0018, NULL, 7);
	assert_int_equal(np_dcm_head(b.b, 0, b.n, NP_DCM_IMPLICIT_LE, &el), 0);
	assert_int_equal(el.len, 7);
	assert_int_equal(el.vrf, 0);
	assert_int_equal(np_dcm_head(b.b, 0, 7, NP_DCM_IMPLICIT_LE, &el), -1);
	b.n = 0;
	item(&b, NP_DCM_UNDEF); /* items carry no VR, whatever the encoding */
	assert_int_equal(np_dcm_head(b.b, 0, b.n, NP_DCM_EXPLICIT_LE, &el), 0);
	assert_int_equal(el.len, NP_DCM_UNDEF);
	assert_int_equal(el.value, 8);
}

/* Events of a walk that enters every element of undefined length and
 * every SQ, and UN of undefined length as implicit VR LE, as a string:
 * E(g,e) I (item) i (item end) S (seq end) D (done) !why. */
static void trace(const unsigned char *p, size_t n, int enc, int max_depth, char *out, size_t outsz)
{
	struct np_dcm_walk w;
	np_dcm_walk_init(&w, p, 0, n, enc, max_depth);
	size_t o = 0;
	out[0] = 0;
	for (int steps = 0; steps < 1000; steps++) {
		struct np_dcm_el el;
		int ev = np_dcm_walk_next(&w, &el);
		assert_true(w.pos <= n);
		switch (ev) {
		case NP_DCM_ERROR:
			o += (size_t)snprintf(out + o, outsz - o, "!%d", w.why);
			return;
		case NP_DCM_DONE:
			snprintf(out + o, outsz - o, "D");
			return;
		case NP_DCM_ELEMENT:
			o += (size_t)snprintf(out + o, outsz - o, "E%04x ", el.e);
			if (el.len == NP_DCM_UNDEF || (el.vr[0] == 'S' && el.vr[1] == 'Q')) {
				int un = el.vr[0] == 'U' && el.vr[1] == 'N';
				if (np_dcm_walk_enter(&w, un ? NP_DCM_IMPLICIT_LE : np_dcm_walk_enc(&w),
						      el.g == 0x7FE0) < 0) {
					o += (size_t)snprintf(out + o, outsz - o, "!%d", w.why);
					return;
				}
			}
			break;
		case NP_DCM_ITEM:
			o += (size_t)snprintf(out + o, outsz - o, "I%d ", np_dcm_walk_depth(&w));
			break;
		case NP_DCM_ITEM_END:
			o += (size_t)snprintf(out + o, outsz - o, "i ");
			break;
		case NP_DCM_SEQ_END:
			o += (size_t)snprintf(out + o, outsz - o, "S ");
			break;
		}
		assert_true(o < outsz);
	}
	fail_msg("no end after 1000 events");
}

/* A data set with every kind of nesting, in encoding enc. */
static void sample(struct buf *b, int enc)
{
	b->n = 0;
	order = enc & NP_DCM_BE;
	hdr(b, enc, 0x0008, 0x0001, "CS", 2), put(b, "MR", 2);
	/* defined SQ: a defined item (one element), an undefined item */
	hdr(b, enc, 0x0008, 0x0002, "SQ", 8 + 10 + 8 + 10 + 8);
	item(b, 10), hdr(b, enc, 0x0008, 0x0100, "SH", 2), put(b, "AB", 2);
	item(b, NP_DCM_UNDEF), hdr(b, enc, 0x0008, 0x0100, "SH", 2), put(b, "CD", 2), delim(b, 0xE00D);
	/* undefined SQ holding an undefined SQ */
	hdr(b, enc, 0x0008, 0x0003, "SQ", NP_DCM_UNDEF);
	item(b, NP_DCM_UNDEF);
	hdr(b, enc, 0x0008, 0x0004, "SQ", NP_DCM_UNDEF), item(b, 0), delim(b, 0xE0DD);
	delim(b, 0xE00D), delim(b, 0xE0DD);
	if (enc & NP_DCM_EXPLICIT) {
		/* UN of undefined length: implicit VR LE inside */
		hdr(b, enc, 0x0009, 0x1000, "UN", NP_DCM_UNDEF);
		order = NP_DCM_IMPLICIT_LE;
		item(b, NP_DCM_UNDEF), hdr(b, NP_DCM_IMPLICIT_LE, 0x0009, 0x0005, NULL, 2), put(b, "XY", 2);
		delim(b, 0xE00D), delim(b, 0xE0DD);
		order = enc & NP_DCM_BE;
	}
	/* encapsulated pixel data: raw fragments */
	hdr(b, enc, 0x7FE0, 0x0010, "OB", NP_DCM_UNDEF);
	item(b, 0), item(b, 4), put(b, "\xff\xd8\xff\xd9", 4), delim(b, 0xE0DD);
}

static void nesting_events(void **state)
{
	(void)state;
	struct buf b;
	char t[512];
	sample(&b, NP_DCM_EXPLICIT_LE);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0001 E0002 I1 E0100 i I1 E0100 i S E0003 I1 E0004 I2 i S i S E1000 I1 E0005 i S "
			       "E0010 I1 I1 S D");
	sample(&b, NP_DCM_EXPLICIT_BE);
	trace(b.b, b.n, NP_DCM_EXPLICIT_BE, 8, t, sizeof t);
	assert_string_equal(t, "E0001 E0002 I1 E0100 i I1 E0100 i S E0003 I1 E0004 I2 i S i S E1000 I1 E0005 i S "
			       "E0010 I1 I1 S D");
	/* implicit: a defined-length sequence is only a value unless entered */
	sample(&b, NP_DCM_IMPLICIT_LE);
	trace(b.b, b.n, NP_DCM_IMPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0001 E0002 E0003 I1 E0004 I2 i S i S E0010 I1 I1 S D");
	/* the depth limit counts open sequences */
	sample(&b, NP_DCM_EXPLICIT_LE);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 1, t, sizeof t);
	assert_string_equal(t, "E0001 E0002 I1 E0100 i I1 E0100 i S E0003 I1 E0004 !10");
}

static void skip_and_copy(void **state)
{
	(void)state;
	struct buf b;
	sample(&b, NP_DCM_EXPLICIT_LE);
	struct np_dcm_walk w;
	struct np_dcm_el el;
	np_dcm_walk_init(&w, b.b, 0, b.n, NP_DCM_EXPLICIT_LE, 8);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ELEMENT);
	assert_int_equal(np_dcm_walk_skip(&w), -1); /* not after an element */
	np_dcm_walk_init(&w, b.b, 0, b.n, NP_DCM_EXPLICIT_LE, 8);
	np_dcm_walk_next(&w, &el);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ELEMENT);
	struct np_dcm_walk saved = w; /* a copy is a position to come back to */
	assert_int_equal(np_dcm_walk_enter(&w, NP_DCM_EXPLICIT_LE, 0), 0);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ITEM);
	assert_int_equal(np_dcm_walk_skip(&w), 0);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ITEM);
	assert_int_equal(el.len, NP_DCM_UNDEF);
	assert_int_equal(np_dcm_walk_skip(&w), -1); /* undefined length: no end to skip to */
	w = saved;
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ELEMENT); /* the SQ skipped as a value */
	assert_int_equal(el.e, 0x0003);
}

static void errors(void **state)
{
	(void)state;
	struct buf b;
	char t[2048];
	order = NP_DCM_IMPLICIT_LE;
	/* a value past the end */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0001, "CS", 4), put(&b, "MR", 2);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0001 !3");
	/* a header cut short (a long VR needs 12 bytes) */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0001, "OB", 0);
	trace(b.b, 10, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "!1");
	/* a delimiter among top-level elements */
	b.n = 0, delim(&b, 0xE00D);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "!5");
	/* an element where an item belongs */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", 8);
	hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0001, "CS", 0);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0002 !6");
	/* a sequence delimiter in a defined-length sequence */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", 8), delim(&b, 0xE0DD);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0002 !7");
	/* an item longer than its sequence */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", 8), item(&b, 2);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0002 !4");
	/* an undefined item without its delimiter */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", 8), item(&b, NP_DCM_UNDEF);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0002 I1 !8");
	/* an undefined sequence without its delimiter */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", NP_DCM_UNDEF), item(&b, 0);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0002 I1 i !2");
	/* a fragment of undefined length */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x7FE0, 0x0010, "OB", NP_DCM_UNDEF), item(&b, NP_DCM_UNDEF);
	trace(b.b, b.n, NP_DCM_EXPLICIT_LE, 8, t, sizeof t);
	assert_string_equal(t, "E0010 !9");
	/* undefined length, not entered */
	b.n = 0, hdr(&b, NP_DCM_IMPLICIT_LE, 0x0008, 0x0001, NULL, NP_DCM_UNDEF);
	struct np_dcm_walk w;
	struct np_dcm_el el;
	np_dcm_walk_init(&w, b.b, 0, b.n, NP_DCM_IMPLICIT_LE, 8);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ELEMENT);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ERROR);
	assert_int_equal(w.why, NP_DCM_LONG_EL);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ERROR); /* and stays so */
	/* entering a value that does not fit */
	b.n = 0, hdr(&b, NP_DCM_EXPLICIT_LE, 0x0008, 0x0002, "SQ", 100);
	np_dcm_walk_init(&w, b.b, 0, b.n, NP_DCM_EXPLICIT_LE, 8);
	assert_int_equal(np_dcm_walk_next(&w, &el), NP_DCM_ELEMENT);
	assert_int_equal(np_dcm_walk_enter(&w, NP_DCM_EXPLICIT_LE, 0), -1);
	assert_int_equal(w.why, NP_DCM_LONG_EL);
	/* deeper than the hard limit, whatever the caller asks */
	b.n = 0;
	for (int i = 0; i < NP_DCM_MAX_DEPTH + 2; i++)
		hdr(&b, NP_DCM_IMPLICIT_LE, 0x0008, 0x0002, NULL, NP_DCM_UNDEF), item(&b, NP_DCM_UNDEF);
	trace(b.b, b.n, NP_DCM_IMPLICIT_LE, 1000, t, sizeof t);
	assert_non_null(strstr(t, "!10"));
	int els = 0;
	for (const char *c = t; *c; c++)
		els += *c == 'E';
	assert_int_equal(els, NP_DCM_MAX_DEPTH + 1); /* the one past the limit is seen, not entered */
}

/* Every prefix of the sample, from a buffer of exactly that size: the walk
 * ends in an error or done, never reads past the end, and is done only at
 * the end of a top-level element. */
static void every_prefix(void **state)
{
	(void)state;
	static const int encs[] = {NP_DCM_IMPLICIT_LE, NP_DCM_EXPLICIT_LE, NP_DCM_EXPLICIT_BE};
	for (size_t k = 0; k < 3; k++) {
		struct buf b;
		sample(&b, encs[k]);
		int done = 0;
		for (size_t n = 0; n <= b.n; n++) {
			unsigned char *p = malloc(n ? n : 1);
			assert_non_null(p);
			memcpy(p, b.b, n);
			char t[512];
			trace(p, n, encs[k], 8, t, sizeof t);
			done += t[strlen(t) - 1] == 'D';
			free(p);
		}
		/* empty, after 0001, the SQs, UN (explicit), pixel data */
		assert_int_equal(done, encs[k] == NP_DCM_IMPLICIT_LE ? 5 : 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vr_table),	     cmocka_unit_test(headers), cmocka_unit_test(nesting_events),
	    cmocka_unit_test(skip_and_copy), cmocka_unit_test(errors),	cmocka_unit_test(every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
