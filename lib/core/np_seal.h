/* SPDX-License-Identifier: Apache-2.0 */
/* np_seal: a secret written by a service that must not read it back.
 * Under the privilege split (sbin/np-privileges.sh) every service runs as
 * one uid, so a file a service writes stays readable by the others. A
 * secret written while the agent runs (the Settings page's cloud API key, a
 * new service password, the session key, the cloud token) is therefore
 * sealed: encrypted to a public key whose private key only the services of
 * its group may read (root's file, mode 0440). The text is
 *   "np-sealed-v1:" base64(u16 BE length of the wrapped key | the random
 *                          AES-256 key wrapped by RSA-OAEP (SHA-256, MGF1
 *                          SHA-256) | 12-byte IV | 16-byte GCM tag |
 *                          AES-256-GCM text). */
#ifndef NP_SEAL_H
#define NP_SEAL_H

#include <stddef.h>

struct np_err;

#define NP_SEAL_PREFIX "np-sealed-v1:"

/* 1 when s is sealed text. */
int np_seal_is(const char *s);
/* Seal n bytes of plain to the PEM public key in pub_path: malloc'd,
 * NUL-terminated text, or NULL with err. */
char *np_seal(const char *pub_path, const void *plain, size_t n, struct np_err *err);
/* Open sealed text with the PEM private key in key_path: malloc'd,
 * NUL-terminated plain text (*n its length when n is not NULL), or NULL with
 * err (no key, not ours, altered). */
char *np_unseal(const char *key_path, const char *text, size_t *n, struct np_err *err);

#endif
