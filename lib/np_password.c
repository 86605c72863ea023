// SPDX-License-Identifier: Apache-2.0
#include "np_password.h"

#include "np_err.h"
#include "np_util.h"

#include <ctype.h>
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
