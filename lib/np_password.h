/* SPDX-License-Identifier: Apache-2.0 */
/* np_password: the service password rules of the user guide: at least 15
 * characters with a lower-case letter, an upper-case letter, a digit and a
 * special character. */
#ifndef NP_PASSWORD_H
#define NP_PASSWORD_H

#include <stddef.h>

struct np_err;

/* 0 when pw follows the rules, else -1 with a permanent err naming the first
 * rule it breaks (never quoting the password). */
int np_password_check(const char *pw, struct np_err *err);
/* A random password of len (>= 16) characters that follows the rules, from
 * an alphabet without look-alike characters. out must hold len + 1 bytes. */
int np_password_generate(char *out, size_t len, struct np_err *err);

#endif
