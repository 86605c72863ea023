// SPDX-License-Identifier: Apache-2.0
#include "np_crypto.h"

#include "np_err.h"
#include "np_util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *np_b64_encode(const void *data, size_t len, struct np_err *err)
{
	const unsigned char *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out) {
		np_err_sys(err, ENOMEM, "unable to encode base64");
		return NULL;
	}
	char *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = b64chars[v >> 6 & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return out;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *np_b64_decode(const char *s, size_t len, size_t *outlen, struct np_err *err)
{
	unsigned char *out = malloc(len / 4 * 3 + 4);
	if (!out) {
		np_err_sys(err, ENOMEM, "unable to decode base64");
		return NULL;
	}
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			free(out);
			np_err_set(err, NP_ERR_PERM, "malformed base64 at offset %zu", i);
			return NULL;
		}
		acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits >= 6 || pad > 2) {
		free(out);
		np_err_set(err, NP_ERR_PERM, "truncated base64");
		return NULL;
	}
	out[n] = 0;
	if (outlen)
		*outlen = n;
	return out;
}

int np_aes128_ctr(const unsigned char key[16], const unsigned char iv[16], const void *in, size_t n, void *out,
		  struct np_err *err)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1;
	const unsigned char *ip = in;
	unsigned char *op = out;
	while (ok && n) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n, got = 0;
		ok = EVP_EncryptUpdate(c, op, &got, ip, chunk) == 1;
		ip += chunk;
		op += got;
		n -= (size_t)chunk;
	}
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return np_err_set(err, NP_ERR_PERM, "AES-CTR failed");
	return 0;
}

char *np_blob_encrypt(const unsigned char key[16], const unsigned char *iv, const void *pt, size_t n,
		      struct np_err *err)
{
	unsigned char *buf = malloc(16 + n + 1);
	if (!buf) {
		np_err_sys(err, ENOMEM, "unable to encrypt");
		return NULL;
	}
	char *out = NULL;
	if (iv)
		memcpy(buf, iv, 16);
	else if (np_random(buf, 16, err) < 0)
		goto done;
	if (np_aes128_ctr(key, buf, pt, n, buf + 16, err) < 0)
		goto done;
	out = np_b64_encode(buf, 16 + n, err);
done:
	free(buf);
	return out;
}

unsigned char *np_blob_decrypt(const unsigned char key[16], const char *b64, size_t len, int strip, size_t *outlen,
			       struct np_err *err)
{
	size_t n;
	unsigned char *raw = np_b64_decode(b64, len, &n, err);
	if (!raw)
		return NULL;
	if (n < 16) {
		free(raw);
		np_err_set(err, NP_ERR_PERM, "encrypted body too short (%zu bytes)", n);
		return NULL;
	}
	unsigned char *pt = malloc(n - 16 + 1);
	if (!pt || np_aes128_ctr(key, raw, raw + 16, n - 16, pt, err) < 0) {
		if (!pt)
			np_err_sys(err, ENOMEM, "unable to decrypt");
		free(raw);
		free(pt);
		return NULL;
	}
	free(raw);
	n -= 16;
	while (strip && n && (pt[n - 1] == 0 || isspace(pt[n - 1])))
		n--;
	pt[n] = 0;
	if (outlen)
		*outlen = n;
	return pt;
}

char *np_rsa_oaep_b64(const char *pem, const void *pt, size_t n, struct np_err *err)
{
	/* Undo a doubly-escaped PEM ("\\n" two characters) as the Python client does. */
	size_t plen = strlen(pem);
	char *clean = malloc(plen + 1);
	if (!clean) {
		np_err_sys(err, ENOMEM, "unable to read the public key");
		return NULL;
	}
	size_t j = 0;
	for (size_t i = 0; i < plen; i++) {
		if (pem[i] == '\\' && pem[i + 1] == 'n') {
			clean[j++] = '\n';
			i++;
		} else {
			clean[j++] = pem[i];
		}
	}
	clean[j] = 0;
	char *out = NULL;
	unsigned char *ct = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIO *bio = BIO_new_mem_buf(clean, (int)j);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	if (!key) {
		np_err_set(err, NP_ERR_PERM, "the server's public key is not a PEM SubjectPublicKeyInfo");
		goto done;
	}
	ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t ctlen = 0;
	if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1 || EVP_PKEY_encrypt(ctx, NULL, &ctlen, pt, n) != 1) {
		np_err_set(err, NP_ERR_PERM, "RSA-OAEP set-up failed (key type or size)");
		goto done;
	}
	ct = malloc(ctlen);
	if (!ct || EVP_PKEY_encrypt(ctx, ct, &ctlen, pt, n) != 1) {
		np_err_set(err, NP_ERR_PERM, "RSA-OAEP encryption failed");
		goto done;
	}
	out = np_b64_encode(ct, ctlen, err);
done:
	free(ct);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	BIO_free(bio);
	free(clean);
	return out;
}

struct np_digest {
	EVP_MD_CTX *ctx;
};

struct np_digest *np_digest_new(const char *alg, struct np_err *err)
{
	const EVP_MD *md = !strcmp(alg, "md5") ? EVP_md5() : EVP_sha256();
	struct np_digest *d = calloc(1, sizeof *d);
	if (!d || !(d->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(d->ctx, md, NULL) != 1) {
		np_digest_free(d);
		np_err_set(err, NP_ERR_TEMP, "unable to start a %s digest", alg);
		return NULL;
	}
	return d;
}

void np_digest_update(struct np_digest *d, const void *p, size_t n)
{
	EVP_DigestUpdate(d->ctx, p, n);
}

void np_digest_final_hex(struct np_digest *d, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_DigestFinal_ex(d->ctx, md, &n);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[2 * n] = 0;
	np_digest_free(d);
}

void np_digest_free(struct np_digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void np_crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
