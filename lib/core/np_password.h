/* SPDX-License-Identifier: Apache-2.0 */
/* np_password: the service password rules of the user guide (at least 15
 * characters with a lower-case letter, an upper-case letter, a digit and a
 * special character), and its bcrypt login hash. Pure functions: where the
 * password is stored is np_config's (secrets) and np_svcpw's (sessions). */
#ifndef NP_PASSWORD_H
#define NP_PASSWORD_H

#include <stddef.h>

struct np_err;

#define NP_PASSWORD_BCRYPT_COST 12
/* The secret the service password is stored as, and its login hash. */
#define NP_SVCPW_SECRET "cloud.service_password"
#define NP_SVCPW_HASH_SECRET "http.password_hash"

/* 0 when pw follows the rules, else -1 with a permanent err naming the first
 * rule it breaks (never quoting the password). */
int np_password_check(const char *pw, struct np_err *err);
/* A random password of len (>= 16) characters that follows the rules, from
 * an alphabet without look-alike characters. out must hold len + 1 bytes. */
int np_password_generate(char *out, size_t len, struct np_err *err);
/* bcrypt ($2b$, cost NP_PASSWORD_BCRYPT_COST) hash of pw into out (>= 128
 * bytes). Returns 0 or -1 with err. */
int np_password_hash(const char *pw, char *out, size_t outsz, struct np_err *err);
/* 1 if pw matches the bcrypt hash (constant-time compare), else 0. */
int np_password_verify(const char *pw, const char *hash);

#endif
