/* SPDX-License-Identifier: Apache-2.0 */
#include "np_seal.h"

#include "np_crypto.h"
#include "np_err.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IV_LEN 12
#define TAG_LEN 16
#define KEY_LEN 32

int np_seal_is(const char *s)
{
	return s && !strncmp(s, NP_SEAL_PREFIX, strlen(NP_SEAL_PREFIX));
}

static EVP_PKEY *load_key(const char *path, int private, struct np_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		np_err_sys(err, errno, "unable to read the sealing key %s", path);
		return NULL;
	}
	EVP_PKEY *k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		np_err_set(err, NP_ERR_PERM, "%s is not a PEM %s key", path, private ? "private" : "public");
	return k;
}

/* RSA-OAEP with SHA-256 (and MGF1 SHA-256) on ctx, set up for encrypt or
 * decrypt by the caller. */
static int oaep(EVP_PKEY_CTX *ctx)
{
	return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0;
}

char *np_seal(const char *pub_path, const void *plain, size_t n, struct np_err *err)
{
	if (n > 1 << 20) {
		np_err_set(err, NP_ERR_PERM, "unable to seal a secret: too long");
		return NULL;
	}
	EVP_PKEY *k = load_key(pub_path, 0, err);
	if (!k)
		return NULL;
	unsigned char key[KEY_LEN];
	size_t klen = (size_t)EVP_PKEY_get_size(k), ekl = klen;
	unsigned char *buf = malloc(2 + klen + IV_LEN + TAG_LEN + n + 16);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	char *out = NULL;
	size_t total = 0;
	int l1 = 0, l2 = 0;
	if (!buf || !pc || !c) {
		np_err_sys(err, ENOMEM, "unable to seal a secret");
		goto done;
	}
	unsigned char *ek = buf + 2, *iv = ek + klen, *tag = iv + IV_LEN, *ct = tag + TAG_LEN;
	if (RAND_bytes(key, KEY_LEN) != 1 || RAND_bytes(iv, IV_LEN) != 1 || EVP_PKEY_encrypt_init(pc) <= 0 ||
	    !oaep(pc) || EVP_PKEY_encrypt(pc, ek, &ekl, key, KEY_LEN) <= 0 || ekl != klen ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(c, ct, &l1, plain, (int)n) != 1 || EVP_EncryptFinal_ex(c, ct + l1, &l2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1) {
		np_err_set(err, NP_ERR_PERM, "unable to seal a secret with %s", pub_path);
		goto done;
	}
	buf[0] = (unsigned char)(ekl >> 8);
	buf[1] = (unsigned char)ekl;
	total = 2 + klen + IV_LEN + TAG_LEN + (size_t)(l1 + l2);
	char *b = np_b64_encode(buf, total, err);
	if (b) {
		size_t pl = strlen(NP_SEAL_PREFIX), bl = strlen(b);
		out = malloc(pl + bl + 1);
		if (out) {
			memcpy(out, NP_SEAL_PREFIX, pl);
			memcpy(out + pl, b, bl + 1);
		} else
			np_err_sys(err, ENOMEM, "unable to seal a secret");
		free(b);
	}
done:
	OPENSSL_cleanse(key, sizeof key);
	if (buf)
		OPENSSL_cleanse(buf, 2 + klen + IV_LEN + TAG_LEN + n + 16);
	free(buf);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	return out;
}

char *np_unseal(const char *key_path, const char *text, size_t *n, struct np_err *err)
{
	if (!np_seal_is(text)) {
		np_err_set(err, NP_ERR_PERM, "not a sealed secret");
		return NULL;
	}
	const char *b = text + strlen(NP_SEAL_PREFIX);
	size_t len = 0;
	unsigned char *raw = np_b64_decode(b, strlen(b), &len, err);
	if (!raw)
		return NULL;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_CIPHER_CTX *c = NULL;
	char *out = NULL;
	unsigned char key[512];
	size_t keyl = sizeof key;
	size_t ekl = len >= 2 ? (size_t)raw[0] << 8 | raw[1] : 0;
	if (len < 2 + ekl + IV_LEN + TAG_LEN || !ekl) {
		np_err_set(err, NP_ERR_PERM, "sealed secret is truncated");
		goto done;
	}
	if (!(k = load_key(key_path, 1, err)))
		goto done;
	unsigned char *ek = raw + 2, *iv = ek + ekl, *tag = iv + IV_LEN, *ct = tag + TAG_LEN;
	size_t ctl = len - (size_t)(ct - raw);
	int l1 = 0, l2 = 0;
	pc = EVP_PKEY_CTX_new(k, NULL);
	c = EVP_CIPHER_CTX_new();
	out = malloc(ctl + 16);
	if (!pc || !c || !out || EVP_PKEY_decrypt_init(pc) <= 0 || !oaep(pc) ||
	    EVP_PKEY_decrypt(pc, key, &keyl, ek, ekl) <= 0 || keyl != KEY_LEN ||
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
	    EVP_DecryptUpdate(c, (unsigned char *)out, &l1, ct, (int)ctl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, (unsigned char *)out + l1, &l2) != 1) {
		if (out)
			OPENSSL_cleanse(out, ctl + 16);
		free(out);
		out = NULL;
		np_err_set(err, NP_ERR_PERM, "unable to open a sealed secret with %s (another key, or altered)",
			   key_path);
		goto done;
	}
	out[l1 + l2] = 0;
	if (n)
		*n = (size_t)(l1 + l2);
done:
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(raw, len);
	free(raw);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	return out;
}
