/* SPDX-License-Identifier: Apache-2.0 */
/* np_crypto: the few primitives the cloud protocol needs, over OpenSSL:
 * base64, AES-128-CTR "blobs" (base64(IV[16] || CTR(key, IV, plaintext)),
 * the IV being the whole initial counter block, no padding), RSA-OAEP with
 * SHA-256 for OAEP and MGF1 and an empty label, and streaming SHA-256/MD5.
 * Keys are caller-owned memory; callers wipe them (np_crypto_wipe). */
#ifndef NP_CRYPTO_H
#define NP_CRYPTO_H

#include <stddef.h>

struct np_err;

/* Standard base64 with '=' padding, no newlines. malloc'd, NUL-terminated;
 * NULL on ENOMEM (err filled). */
char *np_b64_encode(const void *data, size_t len, struct np_err *err);
/* Decode standard base64 (whitespace ignored, padding optional). malloc'd
 * with a NUL after the data, *outlen the data length; NULL with a permanent
 * err on malformed input. */
unsigned char *np_b64_decode(const char *s, size_t len, size_t *outlen, struct np_err *err);

/* AES-128-CTR of n bytes (encrypt and decrypt are the same). Returns 0/-1. */
int np_aes128_ctr(const unsigned char key[16], const unsigned char iv[16], const void *in, size_t n, void *out,
		  struct np_err *err);
/* Encrypt plaintext to a wire blob with a fresh random IV (or iv when not
 * NULL, for test vectors). malloc'd base64 string or NULL. */
char *np_blob_encrypt(const unsigned char key[16], const unsigned char *iv, const void *pt, size_t n,
		      struct np_err *err);
/* Decrypt a wire blob. With strip, trailing NUL bytes and whitespace are
 * removed (text replies are unpadded, but a tolerant reader costs nothing);
 * binary replies (PNG) need strip 0. malloc'd, NUL-terminated; *outlen the
 * plaintext length. NULL with a permanent err when the blob is malformed. */
unsigned char *np_blob_decrypt(const unsigned char key[16], const char *b64, size_t len, int strip, size_t *outlen,
			       struct np_err *err);

/* RSA-OAEP(SHA-256, MGF1-SHA-256, empty label) of pt with the PEM
 * SubjectPublicKeyInfo key pem; literal "\n" two-character sequences in the
 * PEM are accepted. Returns malloc'd base64 of the ciphertext or NULL with a
 * permanent err for a bad key. */
char *np_rsa_oaep_b64(const char *pem, const void *pt, size_t n, struct np_err *err);

/* Streaming digests. */
struct np_digest;
/* alg is "sha256" or "md5". NULL on error. */
struct np_digest *np_digest_new(const char *alg, struct np_err *err);
void np_digest_update(struct np_digest *d, const void *p, size_t n);
/* Lower-case hex into out (65 bytes is enough for both); frees d. */
void np_digest_final_hex(struct np_digest *d, char *out);
void np_digest_free(struct np_digest *d);

/* Overwrite memory that held a key (not optimised away). */
void np_crypto_wipe(void *p, size_t n);

#endif
