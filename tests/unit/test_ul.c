// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the PDU, command-set and meta-header parsers of np_ul. */
#include "np_err.h"
#include "np_sopclass.h"
#include "np_ul.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static size_t item(unsigned char *p, unsigned type, const char *v)
{
	size_t n = strlen(v);
	p[0] = (unsigned char)type;
	p[1] = 0;
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	memcpy(p + 4, v, n);
	return 4 + n;
}

/* An A-ASSOCIATE-RQ body (after the 6-byte PDU header) with one MR context. */
static size_t make_rq(unsigned char *p, const char *called, const char *calling)
{
	memset(p, 0, 68);
	p[1] = 1;
	memset(p + 4, ' ', 32);
	memcpy(p + 4, called, strlen(called));
	memcpy(p + 20, calling, strlen(calling));
	size_t o = 68;
	o += item(p + o, 0x10, NP_UL_APP_CONTEXT);
	size_t pc = o;
	p[o] = 0x20;
	p[o + 4] = 1;
	o += 8;
	o += item(p + o, 0x30, "1.2.840.10008.5.1.4.1.1.4");
	o += item(p + o, 0x40, NP_TS_EXPLICIT_LE);
	o += item(p + o, 0x40, NP_TS_IMPLICIT_LE);
	p[pc + 2] = (unsigned char)((o - pc - 4) >> 8);
	p[pc + 3] = (unsigned char)(o - pc - 4);
	size_t ui = o;
	p[o] = 0x50;
	o += 4;
	p[o] = 0x51;
	p[o + 3] = 4;
	p[o + 4] = 0;
	p[o + 5] = 0;
	p[o + 6] = 0x40;
	p[o + 7] = 0;
	o += 8;
	o += item(p + o, 0x52, "1.2.3.4");
	o += item(p + o, 0x55, "TESTVER");
	p[ui + 2] = (unsigned char)((o - ui - 4) >> 8);
	p[ui + 3] = (unsigned char)(o - ui - 4);
	return o;
}

static void parses_a_request(void **state)
{
	(void)state;
	unsigned char b[1024];
	size_t n = make_rq(b, "NEUROPACS_SCP", "MODALITY");
	struct np_ul_assoc_rq rq;
	struct np_err err = {0};
	assert_int_equal(np_ul_parse_assoc(b, n, 0, &rq, &err), 0);
	assert_true(rq.version_ok);
	assert_string_equal(rq.called_ae, "NEUROPACS_SCP");
	assert_string_equal(rq.calling_ae, "MODALITY");
	assert_string_equal(rq.app_context, NP_UL_APP_CONTEXT);
	assert_int_equal(rq.npc, 1);
	assert_int_equal(rq.pc[0].id, 1);
	assert_int_equal(rq.pc[0].nts, 2);
	assert_string_equal(rq.pc[0].ts[1], NP_TS_IMPLICIT_LE);
	assert_int_equal(rq.max_pdu, 16384);
	assert_string_equal(rq.impl_uid, "1.2.3.4");
	assert_string_equal(rq.impl_version, "TESTVER");
}

static void rejects_every_truncation(void **state)
{
	(void)state;
	unsigned char b[1024];
	size_t n = make_rq(b, "NEUROPACS_SCP", "MODALITY");
	struct np_ul_assoc_rq rq;
	/* Every prefix that cuts an item must fail cleanly, never read past n. */
	int fails = 0;
	for (size_t k = 0; k < n; k++) {
		unsigned char *c = malloc(k ? k : 1);
		memcpy(c, b, k);
		if (np_ul_parse_assoc(c, k, 0, &rq, NULL) < 0)
			fails++;
		free(c);
	}
	assert_true(fails > (int)(n - 68) / 2);
}

static void rejects_lengths_beyond_the_pdu(void **state)
{
	(void)state;
	unsigned char b[1024];
	size_t n = make_rq(b, "A", "B");
	b[68 + 2] = 0xff; /* application context item length */
	struct np_ul_assoc_rq rq;
	struct np_err err = {0};
	assert_int_equal(np_ul_parse_assoc(b, n, 0, &rq, &err), -1);
	assert_non_null(strstr(err.msg, "exceeds"));
}

static void parses_commands(void **state)
{
	(void)state;
	/* C-ECHO-RQ: group length, SOP class, command, message id, data set type. */
	static const unsigned char echo[] = {
	    0,	  0,   0,   0,	 4,    0,   0,	 0,   56,  0,	0,   0,	  0,   0,   2, 0, 18, 0, 0, 0, '1', '.', '2',
	    '.',  '8', '4', '0', '.',  '1', '0', '0', '0', '8', '.', '1', '.', '1', 0, 0, 0,  0, 1, 2, 0,   0,	 0,
	    0x30, 0,   0,   0,	 0x10, 1,   2,	 0,   0,   0,	7,   0,	  0,   0,   0, 8, 2,  0, 0, 0, 1,   1};
	struct np_ul_cmd c;
	struct np_err err = {0};
	assert_int_equal(np_ul_parse_command(echo, sizeof echo, &c, &err), 0);
	assert_int_equal(c.command, 0x30);
	assert_int_equal(c.msg_id, 7);
	assert_int_equal(c.dataset_type, 0x0101);
	assert_string_equal(c.sop_class, NP_UL_VERIFICATION);
	for (size_t k = 0; k < sizeof echo - 1; k++)
		if (np_ul_parse_command(echo, k, &c, NULL) == 0)
			assert_true(k >= 48); /* a prefix ending after the command field is a valid set */
	unsigned char bad[sizeof echo];
	memcpy(bad, echo, sizeof echo);
	bad[16] = 0xff; /* SOP class length beyond the set */
	assert_int_equal(np_ul_parse_command(bad, sizeof bad, &c, &err), -1);
}

static void meta_round_trip(void **state)
{
	(void)state;
	unsigned char b[1024];
	size_t n =
	    np_ul_meta_build(b, sizeof b, "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5", NP_TS_EXPLICIT_LE, "MODALITY");
	assert_true(n > 132);
	struct np_ul_meta m;
	struct np_err err = {0};
	assert_int_equal(np_ul_meta_parse(b, n, &m, &err), 0);
	assert_string_equal(m.sop_class, "1.2.840.10008.5.1.4.1.1.4");
	assert_string_equal(m.sop_inst, "1.2.3.4.5");
	assert_string_equal(m.ts, NP_TS_EXPLICIT_LE);
	assert_int_equal(m.dataset_offset, n);
	assert_int_equal(np_ul_meta_parse(b, 100, &m, NULL), -1);
}

/* Every VR with a 4-byte length in the meta group takes the long header,
 * OD/OF/OL/OV/SV/UV too (PS3.5 7.1.2), not only OB/OW/UN/SQ/UT/UC/UR: read
 * with the short header, such an element ended the meta group early. */
static void meta_long_vrs(void **state)
{
	(void)state;
	static const char *const vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SV", "UC", "UN", "UR", "UT", "UV", "SQ"};
	for (size_t i = 0; i < sizeof vrs / sizeof vrs[0]; i++) {
		unsigned char b[1024];
		size_t n =
		    np_ul_meta_build(b, sizeof b, "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5", NP_TS_EXPLICIT_LE, NULL);
		assert_true(n > 132);
		/* (0002,0102) with 8 bytes of value, then a data set element */
		static const unsigned char tail[] = {2, 0, 2, 1, 0, 0, 0, 0,	8, 0,	0,   0, 1, 2,	3,
						     4, 5, 6, 7, 8, 8, 0, 0x18, 0, 'U', 'I', 2, 0, '1', 0};
		memcpy(b + n, tail, sizeof tail);
		b[n + 4] = (unsigned char)vrs[i][0];
		b[n + 5] = (unsigned char)vrs[i][1];
		struct np_ul_meta m;
		struct np_err err = {0};
		assert_int_equal(np_ul_meta_parse(b, n + sizeof tail, &m, &err), 0);
		assert_int_equal(m.dataset_offset, n + 20);
		/* cut inside the 4-byte length: truncated, not a short header */
		assert_int_equal(np_ul_meta_parse(b, n + 10, &m, NULL), -1);
	}
}

static void storage_table(void **state)
{
	(void)state;
	assert_true(np_sopclass_storage_count > 100);
	assert_non_null(np_sopclass_find("1.2.840.10008.5.1.4.1.1.4"));	    /* MR */
	assert_non_null(np_sopclass_find("1.2.840.10008.5.1.4.1.1.4.1"));   /* Enhanced MR */
	assert_non_null(np_sopclass_find("1.2.840.10008.5.1.4.1.1.104.1")); /* Encapsulated PDF */
	assert_null(np_sopclass_find("1.2.840.10008.1.20.1"));		    /* Storage Commitment */
	assert_null(np_sopclass_find("1.2.840.10008.5.1.4.1.2.2.1"));	    /* Study Root FIND */
	/* Non-patient objects (PS3.4 Annex GG) have no study: refused. */
	static const char *const np[] = {"1.2.840.10008.5.1.4.39.1", "1.2.840.10008.5.1.4.38.1",
					 "1.2.840.10008.5.1.4.43.1", "1.2.840.10008.5.1.4.44.1",
					 "1.2.840.10008.5.1.4.45.1", "1.2.840.10008.5.1.4.1.1.200.1"};
	for (size_t i = 0; i < sizeof np / sizeof *np; i++) {
		assert_null(np_sopclass_find(np[i]));
		assert_non_null(np_sopclass_nonpatient(np[i]));
	}
	assert_string_equal(np_sopclass_nonpatient("1.2.840.10008.5.1.4.39.1")->name, "Color Palette Storage");
	assert_null(np_sopclass_nonpatient("1.2.840.10008.5.1.4.1.1.4"));
	assert_non_null(np_sopclass_find("1.2.840.10008.5.1.4.1.1.200.2")); /* a performed protocol has a study */
	for (unsigned i = 1; i < np_sopclass_storage_count; i++)
		assert_true(strcmp(np_sopclass_storage[i - 1].uid, np_sopclass_storage[i].uid) < 0);
	assert_true(np_ul_ts_supported("1.2.840.10008.1.2.4.201"));
	assert_false(np_ul_ts_supported("1.2.840.10008.1.2.4.52"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_a_request),
	    cmocka_unit_test(rejects_every_truncation),
	    cmocka_unit_test(rejects_lengths_beyond_the_pdu),
	    cmocka_unit_test(parses_commands),
	    cmocka_unit_test(meta_round_trip),
	    cmocka_unit_test(meta_long_vrs),
	    cmocka_unit_test(storage_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
