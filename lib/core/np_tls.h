/* SPDX-License-Identifier: Apache-2.0 */
/* np_tls: TLS over OpenSSL for DICOM (PS3.15 B.1/B.9 with the BCP 195
 * profile): the agent's one TLS policy (np_tls_policy.h: TLS 1.2 with ECDHE
 * and AEAD ciphers, TLS 1.3), optional
 * client-certificate verification against a CA file. A context is made once
 * (per listener or per destination) and is safe to share across fork(2) and
 * threads; a connection wraps one connected socket. */
#ifndef NP_TLS_H
#define NP_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct np_err;
struct np_tls_ctx;
struct np_tls;

/* Server context from PEM files. ca_file may be NULL/"" (no client
 * verification possible); verify_client=1 requires and verifies a client
 * certificate against ca_file. Returns NULL with a permanent err naming the
 * file that could not be used. */
struct np_tls_ctx *np_tls_server_ctx(const char *cert_file, const char *key_file, const char *ca_file,
				     int verify_client, struct np_err *err);
/* Client context: ca_file verifies the server (NULL/"" = system store);
 * cert_file/key_file (may be NULL) are the client certificate for mutual TLS. */
struct np_tls_ctx *np_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
				     struct np_err *err);
void np_tls_ctx_free(struct np_tls_ctx *ctx);
/* Switch a context to TLS profile p (enum np_tls_profile of np_tls_policy.h;
 * both constructors start with the default, bcp195). Returns 0, or -1 with a
 * permanent err. */
int np_tls_ctx_set_profile(struct np_tls_ctx *ctx, int p, struct np_err *err);

/* Handshake on a connected socket within timeout_ms. np_tls_connect checks
 * the server name (host name or IP address) when servername is not NULL.
 * Returns NULL with err (temporary for network errors and timeouts,
 * permanent for verification failures and for a peer with no cipher suite
 * of the context's profile: err->msg then names the profile). The socket
 * stays owned by the caller. */
struct np_tls *np_tls_accept(struct np_tls_ctx *ctx, int fd, int timeout_ms, struct np_err *err);
struct np_tls *np_tls_connect(struct np_tls_ctx *ctx, int fd, const char *servername, int timeout_ms,
			      struct np_err *err);
/* Read up to n bytes: >0 bytes, 0 orderly close, -1 error (errno set;
 * EAGAIN when the socket is non-blocking and nothing is ready). */
ssize_t np_tls_read(struct np_tls *t, void *buf, size_t n);
/* Write all n bytes (blocking socket). Returns n or -1 (errno set). */
ssize_t np_tls_write(struct np_tls *t, const void *buf, size_t n);
/* Bytes already decrypted and waiting (poll(2) would not see them). */
int np_tls_pending(struct np_tls *t);
/* Protocol and cipher names for the log ("TLSv1.3", "TLS_AES_256_GCM_SHA384"). */
const char *np_tls_version(struct np_tls *t);
const char *np_tls_cipher(struct np_tls *t);
/* Send close_notify (best effort) and free. Does not close the socket. */
void np_tls_close(struct np_tls *t);

#endif
