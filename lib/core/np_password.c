// SPDX-License-Identifier: Apache-2.0
#include "np_password.h"

#include "np_err.h"
#include "np_util.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int np_password_check(const char *pw, struct np_err *err)
{
	int lower = 0, upper = 0, digit = 0, special = 0;
	size_t n = strlen(pw);
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		lower |= islower(*p) != 0;
		upper |= isupper(*p) != 0;
		digit |= isdigit(*p) != 0;
		special |= (ispunct(*p) || *p == ' ' || *p >= 0x80) != 0;
	}
	if (n < 15)
		return np_err_set(err, NP_ERR_PERM, "the password must have at least 15 characters");
	if (!lower)
		return np_err_set(err, NP_ERR_PERM, "the password needs a lower-case letter");
	if (!upper)
		return np_err_set(err, NP_ERR_PERM, "the password needs an upper-case letter");
	if (!digit)
		return np_err_set(err, NP_ERR_PERM, "the password needs a number");
	if (!special)
		return np_err_set(err, NP_ERR_PERM, "the password needs a special character");
	return 0;
}

int np_password_generate(char *out, size_t len, struct np_err *err)
{
	static const char *const classes[] = {"abcdefghijkmnopqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789",
					      "-_.:!@#%+="};
	static const char all[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.:!@#%+=";
	if (len < 16)
		return np_err_set(err, NP_ERR_PERM, "generated passwords have at least 16 characters");
	do {
		unsigned char r[128];
		if (len > sizeof r)
			len = sizeof r;
		if (np_random(r, len, err) < 0)
			return -1;
		for (size_t i = 0; i < len; i++) {
			/* the first four draw from each class once; rejection-free modulo
			 * bias is negligible against alphabets this small */
			const char *set = i < 4 ? classes[i] : all;
			out[i] = set[r[i] % strlen(set)];
		}
		out[len] = 0;
		/* move the class-forced characters to random places */
		for (size_t i = 0; i < 4; i++) {
			size_t j = r[len - 1 - i] % len;
			char t = out[i];
			out[i] = out[j];
			out[j] = t;
		}
	} while (np_password_check(out, NULL) < 0);
	return 0;
}

int np_password_hash(const char *pw, char *out, size_t outsz, struct np_err *err)
{
	unsigned char rnd[16];
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (np_random(rnd, sizeof rnd, err) < 0)
		return -1;
	if (!crypt_gensalt_rn("$2b$", NP_PASSWORD_BCRYPT_COST, (const char *)rnd, sizeof rnd, salt, sizeof salt))
		return np_err_set(err, NP_ERR_PERM, "bcrypt is not available in libcrypt");
	/* 32 KiB: on the heap, the stacks of np-httpd's workers are small */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return np_err_sys(err, ENOMEM, "unable to hash the password");
	const char *h = crypt_r(pw, salt, cd);
	int ok = h && h[0] != '*' && strlen(h) < outsz;
	if (ok)
		snprintf(out, outsz, "%s", h);
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return ok ? 0 : np_err_set(err, NP_ERR_PERM, "unable to hash the password");
}

int np_password_verify(const char *pw, const char *hash)
{
	if (!pw || !hash || strncmp(hash, "$2b$", 4))
		return 0;
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return 0;
	const char *h = crypt_r(pw, hash, cd);
	int ok = h && h[0] != '*' && strlen(h) == strlen(hash) && CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return ok;
}
