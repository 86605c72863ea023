// SPDX-License-Identifier: Apache-2.0
#include "np_crypto.h"
#include "np_err.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const unsigned char key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				      0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
static const char pt[] = "{\"orderId\": \"TEST\"}";
static const char wire[] = "8PHy8/T19vf4+fr7/P3+/5eusAH8BQ75lvAsVcjK5LdiCQE=";
static const char wire_pkcs7[] = "8PHy8/T19vf4+fr7/P3+/5eusAH8BQ75lvAsVcjK5LdiCQExan5cbhWtetrxXX6j";

static void iv_ff(unsigned char iv[16])
{
	for (int i = 0; i < 16; i++)
		iv[i] = (unsigned char)(0xf0 + i);
}

/* cloud-api.md 3.2 worked example: key, IV f0..ff, 19-byte plaintext. */
static void test_worked_example(void **s)
{
	(void)s;
	struct np_err err = {0};
	unsigned char iv[16];
	iv_ff(iv);
	char *k64 = np_b64_encode(key, 16, &err);
	assert_string_equal(k64, "K34VFiiu0qar9xWICc9PPA==");
	free(k64);
	char *b = np_blob_encrypt(key, iv, pt, strlen(pt), &err);
	assert_string_equal(b, wire);
	free(b);
	size_t n;
	unsigned char *d = np_blob_decrypt(key, wire, strlen(wire), 1, &n, &err);
	assert_int_equal(n, strlen(pt));
	assert_string_equal((char *)d, pt);
	free(d);
}

static void test_fresh_iv(void **s)
{
	(void)s;
	char *a = np_blob_encrypt(key, NULL, pt, strlen(pt), NULL);
	char *b = np_blob_encrypt(key, NULL, pt, strlen(pt), NULL);
	assert_non_null(a);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), strlen(wire)); /* no padding: 16 + 19 bytes */
	free(a);
	free(b);
}

/* A PKCS#7-padded reply decrypts to the plaintext plus padding; the
 * tolerant reader strips the padding bytes (0x01-0x10) only with strip. */
static void test_padding(void **s)
{
	(void)s;
	size_t n;
	unsigned char *d = np_blob_decrypt(key, wire_pkcs7, strlen(wire_pkcs7), 0, &n, NULL);
	assert_int_equal(n, 32);
	free(d);
	struct np_err err = {0};
	assert_null(np_blob_decrypt(key, "AAAA", 4, 1, &n, &err));
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_null(np_b64_decode("a*b=", 4, &n, &err));
}

static void test_b64(void **s)
{
	(void)s;
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		char *e = np_b64_encode(in[i], strlen(in[i]), NULL);
		assert_string_equal(e, out[i]);
		size_t n;
		unsigned char *d = np_b64_decode(e, strlen(e), &n, NULL);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(d);
		free(e);
	}
}

/* RSA-OAEP with SHA-256 and MGF1-SHA-256: decrypt with OpenSSL directly. */
static void test_oaep(void **s)
{
	(void)s;
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	assert_non_null(pk);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, pk);
	char *pem;
	long pl = BIO_get_mem_data(b, &pem);
	char *p = strndup(pem, (size_t)pl);
	struct np_err err = {0};
	const char msg[] = "{\"aes_key\":\"K34VFiiu0qar9xWICc9PPA==\"}";
	char *ct = np_rsa_oaep_b64(p, msg, strlen(msg), &err);
	assert_non_null(ct);
	size_t n;
	unsigned char *raw = np_b64_decode(ct, strlen(ct), &n, &err);
	assert_int_equal(n, 256);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_decrypt_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256());
	unsigned char out[512];
	size_t ol = sizeof out;
	assert_int_equal(EVP_PKEY_decrypt(c, out, &ol, raw, n), 1);
	assert_int_equal(ol, strlen(msg));
	assert_memory_equal(out, msg, ol);
	assert_null(np_rsa_oaep_b64("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "x", 1, &err));
	EVP_PKEY_CTX_free(c);
	free(raw);
	free(ct);
	free(p);
	BIO_free(b);
	EVP_PKEY_free(pk);
}

static void test_digest(void **s)
{
	(void)s;
	struct np_digest *d = np_digest_new("sha256", NULL);
	np_digest_update(d, "abc", 3);
	char hex[65];
	np_digest_final_hex(d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	d = np_digest_new("md5", NULL);
	np_digest_update(d, "abc", 3);
	np_digest_final_hex(d, hex);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_worked_example), cmocka_unit_test(test_fresh_iv),
					   cmocka_unit_test(test_padding),	  cmocka_unit_test(test_b64),
					   cmocka_unit_test(test_oaep),		  cmocka_unit_test(test_digest)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
