/* SPDX-License-Identifier: Apache-2.0 */
/* np_tls_policy: the one TLS policy of every TLS endpoint of the agent
 * (np-httpd's HTTPS, np-recv's DICOM TLS and its TLS clients): Mozilla's
 * "intermediate" profile (BCP 195, RFC 9325) without DHE: TLS 1.2 with
 * ECDHE key exchange and AEAD ciphers only, and TLS 1.3. No compression, no
 * renegotiation, the server's cipher order. */
#ifndef NP_TLS_POLICY_H
#define NP_TLS_POLICY_H

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

/* The TLS 1.2 cipher list and the TLS 1.3 suites, OpenSSL's syntax. */
extern const char np_tls_ciphers_tls12[];
extern const char np_tls_ciphersuites_tls13[];

/* Apply the policy to an SSL_CTX. Returns 0, or -1 when OpenSSL refused the
 * cipher lists (see ERR_get_error). */
int np_tls_policy_apply(struct ssl_ctx_st *ctx);

#endif
