// SPDX-License-Identifier: Apache-2.0
#include "np_deid.h"
#include "np_err.h"
#include "np_fs.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void opts(struct np_deid_opts *o, const char *key)
{
	np_deid_opts_init(o);
	snprintf((char *)o->key, sizeof o->key, "%s", key);
	o->keylen = strlen(key);
}

static void test_shift_da(void **state)
{
	(void)state;
	char out[9];
	assert_int_equal(np_deid_shift_da("20240229", 1, out), 0);
	assert_string_equal(out, "20240301");
	assert_int_equal(np_deid_shift_da("20240301", -1, out), 0);
	assert_string_equal(out, "20240229");
	assert_int_equal(np_deid_shift_da("20231231", 366, out), 0);
	assert_string_equal(out, "20241231");
	assert_int_equal(np_deid_shift_da("19000101", -365, out), 0);
	assert_string_equal(out, "18990101");
	assert_int_equal(np_deid_shift_da("20230229", 1, out), -1);
	assert_int_equal(np_deid_shift_da("2024-05-", 1, out), -1);
	assert_int_equal(np_deid_shift_da("20241301", 1, out), -1);
}

static void test_uid(void **state)
{
	(void)state;
	struct np_deid_opts a, b;
	opts(&a, "0123456789abcdef-key-a");
	opts(&b, "0123456789abcdef-key-b");
	char u1[65], u2[65], u3[65];
	np_deid_uid(&a, "1.2.3.4.5", u1);
	np_deid_uid(&a, "1.2.3.4.5", u2);
	np_deid_uid(&b, "1.2.3.4.5", u3);
	assert_string_equal(u1, u2);
	assert_string_not_equal(u1, u3);
	assert_memory_equal(u1, "2.25.", 5);
	assert_true(u1[5] != '0');
	/* a long root still fits 64 characters */
	snprintf(a.uid_root, sizeof a.uid_root, "1.2.826.0.1.3680043.10.99");
	np_deid_uid(&a, "1.2.3.4.5", u1);
	assert_true(strlen(u1) <= 64);
	assert_memory_equal(u1, "1.2.826.0.1.3680043.10.99.", 26);
}

static void test_offset(void **state)
{
	(void)state;
	struct np_deid_opts o;
	opts(&o, "0123456789abcdef-key");
	o.shift_range = 3;
	int seen[7] = {0};
	for (int i = 0; i < 200; i++) {
		char u[32];
		snprintf(u, sizeof u, "1.2.3.%d", i);
		int off = np_deid_offset(&o, u);
		assert_true(off >= -3 && off <= 3 && off != 0);
		assert_int_equal(off, np_deid_offset(&o, u));
		seen[off + 3]++;
	}
	assert_int_equal(seen[3], 0);
	assert_true(seen[0] > 0 && seen[6] > 0);
}

static void scrub(const char *in, const char *want)
{
	int hits = 0;
	char *s = np_deid_scrub_text(in, strlen(in), &hits);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_scrub(void **state)
{
	(void)state;
	scrub("see https://example.org/x?y=1 now", "see [URL_REMOVED] now");
	scrub("www.example.org", "[URL_REMOVED]");
	scrub("host 192.168.1.20.", "host [IP_ADDRESS_REMOVED].");
	scrub("uid 1.2.840.10008.5.1", "uid 1.2.840.10008.5.1");
	scrub("ssn 123-45-6789", "ssn [SSN_REMOVED]");
	scrub("call (555) 123-4567 or 555.123.4567", "call [PHONE_REMOVED] or [PHONE_REMOVED]");
	scrub("+1-555-0100", "[PHONE_REMOVED]");
	scrub("mail a.b@example.org", "mail [EMAIL_REMOVED]");
	scrub("MRN: 1234567 and mr 445566", "[MRN_REMOVED] and [MRN_REMOVED]");
	scrub("ACCT#889900 ACC20240001", "[ACCOUNT_REMOVED] [ACCOUNT_REMOVED]");
	scrub("ep2d_diff_DTI_60dir_b1000", "ep2d_diff_DTI_60dir_b1000");
	scrub("MRI Brain with DTI Non-Contrast", "MRI Brain with DTI Non-Contrast");
	scrub("20240517093000", "20240517093000");
	scrub("PRIMARY 12345", "PRIMARY 12345");
}

static unsigned char *seed(const char *name, size_t *len)
{
	char p[512];
	const char *top = getenv("NP_TOP");
	snprintf(p, sizeof p, "%s/tests/fuzz/deid/%s", top ? top : ".", name);
	struct np_err err;
	unsigned char *b = (unsigned char *)np_read_file(p, 1 << 20, len, &err);
	assert_non_null(b);
	return b;
}

static void check_file(const char *name)
{
	struct np_deid_opts o;
	opts(&o, "0123456789abcdef-key");
	size_t len, outlen, out2len;
	unsigned char *in = seed(name, &len), *out, *out2;
	struct np_deid_file f, f2;
	struct np_err err = {0};
	assert_int_equal(np_deid_buffer(in, len, &o, NULL, &out, &outlen, &f, &err), 1);
	assert_null(memmem(out, outlen, "Doe", 3));
	assert_null(memmem(out, outlen, "Deep^Name", 9));
	assert_null(memmem(out, outlen, "MRN-1", 5));
	assert_null(memmem(out, outlen, "overlay", 7));
	assert_non_null(memmem(out, outlen, "090Y", 4));
	assert_non_null(memmem(out, outlen, "[URL_REMOVED]", 13));
	assert_int_equal(f.counts[NP_DC_PRIV_KEPT], 1);
	assert_int_equal(f.counts[NP_DC_PRIV_REMOVED], 2); /* private text and blob alike */
	assert_string_equal(f.orig_sop, "1.2.3.4.5.6");
	/* the output is valid input again; the UIDs it holds are pseudonyms now */
	assert_int_equal(np_deid_buffer(out, outlen, &o, NULL, &out2, &out2len, &f2, &err), 1);
	assert_string_equal(f2.orig_sop, f.sop_uid);
	free(out2);
	free(out);
	free(in);
}

static void test_explicit(void **state)
{
	(void)state;
	check_file("explicit.dcm");
}
static void test_implicit(void **state)
{
	(void)state;
	check_file("implicit.dcm");
}
static void test_bigendian(void **state)
{
	(void)state;
	check_file("bigendian.dcm");
}
static void test_nometa(void **state)
{
	(void)state;
	check_file("nometa_implicit.dcm");
}

static void test_malformed(void **state)
{
	(void)state;
	struct np_deid_opts o;
	opts(&o, "0123456789abcdef-key");
	size_t len, outlen;
	unsigned char *in = seed("explicit.dcm", &len), *out;
	struct np_deid_file f;
	struct np_err err = {0};
	/* every prefix: no crash, and a refusal is permanent (a cut on an
	 * element boundary is a valid, shorter dataset) */
	for (size_t cut = 0; cut < len; cut += 3) {
		int rc = np_deid_buffer(in, cut, &o, NULL, &out, &outlen, &f, &err);
		if (rc < 0)
			assert_int_equal(err.cls, NP_ERR_PERM);
		free(out);
	}
	assert_int_equal(np_deid_buffer(in, 200, &o, NULL, &out, &outlen, &f, &err), -1);
	free(in);
}

/* The self-check finds an original value of a removed attribute where it
 * could have gone: as the value of a kept element, and inside a binary
 * value after the pixel data when it is long enough to mean something. It
 * does not match parts of words or values of one to seven bytes in
 * binary data (a UID "0" or "9.87" is in any file). */
static void test_selfcheck(void **state)
{
	(void)state;
	struct np_deid_opts o;
	opts(&o, "0123456789abcdef-key");
	size_t len, outlen;
	unsigned char *in = seed("explicit.dcm", &len), *out = NULL;
	struct np_deid_file f;
	struct np_err err = {0};
	unsigned char *pi = memmem(in, len, "MONOCHROME2 ", 12);
	assert_non_null(pi);
	memcpy(pi, "Doe^Jane    ", 12);
	assert_int_equal(np_deid_buffer(in, len, &o, NULL, &out, &outlen, &f, &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_non_null(strstr(err.msg, "self-check"));
	assert_non_null(strstr(err.msg, "(0010,0010)"));
	assert_non_null(strstr(err.msg, "(0028,0004)"));
	assert_null(out);
	/* part of a longer code is no leak */
	memcpy(pi, "Doe^Jane_MEC", 12);
	assert_int_equal(np_deid_buffer(in, len, &o, NULL, &out, &outlen, &f, &err), 1);
	free(out);
	memcpy(pi, "MONOCHROME2 ", 12);
	/* (7FE0,0020) OW "Doe^Jane", kept as it is, after the pixel data */
	unsigned char *tail = malloc(len + 20);
	assert_non_null(tail);
	memcpy(tail, in, len);
	memcpy(tail + len, "\xe0\x7f\x20\x00OW\0\0\x08\0\0\0Doe^Jane", 20);
	assert_int_equal(np_deid_buffer(tail, len + 20, &o, NULL, &out, &outlen, &f, &err), -1);
	assert_non_null(strstr(err.msg, "self-check"));
	assert_non_null(strstr(err.msg, "(7FE0,0020)"));
	memcpy(tail + len + 12, "xxxMRN-2", 8);
	assert_int_equal(np_deid_buffer(tail, len + 20, &o, NULL, &out, &outlen, &f, &err), 1);
	free(out);
	/* a four-byte original (Frame of Reference UID "9.87") in binary data */
	unsigned char *fr = memmem(tail, len, "1.2.3.9\0", 8);
	assert_non_null(fr);
	memcpy(fr, "9.87\0\0\0\0", 8);
	memcpy(tail + len + 12, "xxxx9.87", 8);
	assert_int_equal(np_deid_buffer(tail, len + 20, &o, NULL, &out, &outlen, &f, &err), 1);
	free(out);
	free(tail);
	free(in);
}

/* explicit.dcm with the tail of its SOP Class UID replaced by cls and the
 * last digit of its SOP Instance UID by last, written to dir/name. */
static void variant(const char *dir, const char *name, const char *cls, char last)
{
	size_t len;
	unsigned char *b = seed("explicit.dcm", &len);
	unsigned char *c = memmem(b, len, "\x08\x00\x16\x00UI\x1a\x00", 8),
		      *u = memmem(b, len, "\x08\x00\x18\x00UI\x0c\x00", 8);
	assert_non_null(c);
	assert_non_null(u);
	memcpy(c + 8 + 25 - strlen(cls), cls, strlen(cls));
	u[8 + 10] = (unsigned char)last;
	char p[512];
	struct np_err err;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(np_write_atomic(p, b, len, 0644, &err), 0);
	free(b);
}

/* The manifest is written without jansson: it must hold the bytes
 * np_json_save writes for the same document, whatever the SOP Class UIDs
 * of the files hold. */
static void test_manifest(void **state)
{
	(void)state;
	struct np_deid_opts o;
	struct np_err err = {0};
	opts(&o, "0123456789abcdef-key");
	char dir[] = "/tmp/test_deid.XXXXXX", in[600], out[600], mp[700];
	assert_non_null(mkdtemp(dir));
	snprintf(in, sizeof in, "%s/in", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(mp, sizeof mp, "%s/manifest.json", out);
	assert_int_equal(np_mkdirs(in, 0755, &err), 0);
	variant(in, "a.dcm", "", '6');
	variant(in, "b.dcm", "\"\\\t\x01\xc3\xa9", '7');
	assert_int_equal(np_deid_run(in, out, &o, NULL, NULL, NULL, &err), 0);
	size_t n;
	char *text = np_read_file(mp, 1 << 20, &n, &err);
	assert_non_null(text);
	json_t *m = json_loads(text, 0, NULL);
	assert_non_null(m);
	assert_int_equal(json_array_size(json_object_get(m, "files")), 2);
	char *again = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_int_equal(strlen(again) + 1, n);
	assert_memory_equal(again, text, n - 1);
	assert_int_equal(text[n - 1], '\n');
	free(again);
	free(text);
	json_decref(m);
	/* not UTF-8: listed all the same, as Latin-1 */
	assert_int_equal(np_rmtree(out, &err), 0);
	variant(in, "b.dcm", "\xe9", '7');
	assert_int_equal(np_deid_run(in, out, &o, NULL, NULL, NULL, &err), 0);
	assert_non_null(text = np_read_file(mp, 1 << 20, &n, &err));
	assert_non_null(strstr(text, "\\u00E9\""));
	assert_non_null(m = json_loads(text, 0, NULL));
	assert_int_equal(json_array_size(json_object_get(m, "files")), 2);
	json_decref(m);
	free(text);
	assert_int_equal(np_rmtree(dir, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shift_da),  cmocka_unit_test(test_uid),	cmocka_unit_test(test_offset),
	    cmocka_unit_test(test_scrub),     cmocka_unit_test(test_explicit),	cmocka_unit_test(test_implicit),
	    cmocka_unit_test(test_bigendian), cmocka_unit_test(test_nometa),	cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_manifest),  cmocka_unit_test(test_selfcheck),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
