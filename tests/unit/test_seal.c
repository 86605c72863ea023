// SPDX-License-Identifier: Apache-2.0
// Sealed secrets: what np-httpd writes and may not read back opens with the
// private key only, and any change of the text is refused.
#include "np_crypto.h"
#include "np_err.h"
#include "np_seal.h"

#include "unit.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

/* A fresh RSA key pair as PEM files tmp/name.key and tmp/name.pub. */
static void keypair(const char *name)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	char p[600];
	snprintf(p, sizeof p, "%s/%s.key", tmp, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	snprintf(p, sizeof p, "%s/%s.pub", tmp, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
}

static void seals_and_opens(void **state)
{
	(void)state;
	keypair("a");
	keypair("b");
	struct np_err err = {0};
	const char *key = "api-key-of-the-cloud-0123456789";
	char *s = np_seal(at("a.pub"), key, strlen(key), &err);
	assert_non_null(s);
	assert_true(np_seal_is(s));
	assert_null(strstr(s, key));
	char *t = np_seal(at("a.pub"), key, strlen(key), &err);
	assert_string_not_equal(s, t); /* a fresh AES key and IV each time */
	size_t n = 0;
	char *p = np_unseal(at("a.key"), s, &n, &err);
	assert_non_null(p);
	assert_string_equal(p, key);
	assert_int_equal(n, strlen(key));
	free(p);

	/* another key pair's private key does not open it */
	assert_null(np_unseal(at("b.key"), s, NULL, &err));
	assert_non_null(strstr(err.msg, "unable to open a sealed secret"));
	/* one character changed in the text: refused (GCM tag) */
	size_t len = strlen(s);
	s[len - 6] = s[len - 6] == 'A' ? 'B' : 'A';
	assert_null(np_unseal(at("a.key"), s, NULL, &err));
	/* cut short, or not sealed at all */
	t[strlen(NP_SEAL_PREFIX) + 4] = 0;
	assert_null(np_unseal(at("a.key"), t, NULL, &err));
	assert_null(np_unseal(at("a.key"), key, NULL, &err));
	assert_string_equal(err.msg, "not a sealed secret");
	/* a public key where a private one is wanted */
	assert_null(np_unseal(at("a.pub"), s, NULL, &err));
	free(s);
	free(t);
}

/* The AES key is wrapped with RSA-OAEP (SHA-256), as np_seal.h says, and
 * opens with OpenSSL alone: PKCS #1 v1.5 padding does not open it. */
static int unwrap(const char *sealed, int padding, size_t *keylen)
{
	size_t len = 0;
	const char *b = sealed + strlen(NP_SEAL_PREFIX);
	unsigned char *raw = np_b64_decode(b, strlen(b), &len, NULL);
	assert_non_null(raw);
	size_t ekl = (size_t)raw[0] << 8 | raw[1];
	FILE *f = fopen(at("a.key"), "r");
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	unsigned char out[512];
	*keylen = sizeof out;
	int ok = EVP_PKEY_decrypt_init(c) > 0 && EVP_PKEY_CTX_set_rsa_padding(c, padding) > 0;
	if (ok && padding == RSA_PKCS1_OAEP_PADDING)
		ok = EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0;
	ok = ok && EVP_PKEY_decrypt(c, out, keylen, raw + 2, ekl) > 0;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	free(raw);
	return ok;
}

static void wrapped_with_oaep(void **state)
{
	(void)state;
	keypair("a");
	char *s = np_seal(at("a.pub"), "x", 1, NULL);
	assert_non_null(s);
	size_t kl = 0;
	assert_true(unwrap(s, RSA_PKCS1_OAEP_PADDING, &kl));
	assert_int_equal(kl, 32);
	assert_false(unwrap(s, RSA_PKCS1_PADDING, &kl) && kl == 32);
	free(s);
}

static void empty_and_binary(void **state)
{
	(void)state;
	keypair("a");
	struct np_err err = {0};
	char *s = np_seal(at("a.pub"), "", 0, &err);
	assert_non_null(s);
	size_t n = 9;
	char *p = np_unseal(at("a.key"), s, &n, &err);
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
	free(s);
	assert_null(np_seal(at("missing.pub"), "x", 1, &err));
	assert_non_null(strstr(err.msg, "unable to read the sealing key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(seals_and_opens, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(empty_and_binary, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(wrapped_with_oaep, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
