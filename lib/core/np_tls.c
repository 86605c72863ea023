// SPDX-License-Identifier: Apache-2.0
/* np_tls: see np_tls.h. */
#include "np_tls.h"

#include "np_err.h"
#include "np_tls_policy.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

struct np_tls_ctx {
	SSL_CTX *ctx;
	int profile; /* enum np_tls_profile */
};

struct np_tls {
	SSL *ssl;
	int fd;
};

static const char *ossl_reason(void)
{
	static __thread char buf[256];
	unsigned long e = ERR_get_error();
	if (!e)
		return "no details";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static struct np_tls_ctx *ctx_new(const SSL_METHOD *m, struct np_err *err)
{
	SSL_CTX *c = SSL_CTX_new(m);
	if (!c) {
		np_err_set(err, NP_ERR_TEMP, "unable to create TLS context: %s", ossl_reason());
		return NULL;
	}
	/* The same policy as np-httpd's HTTPS (np_tls_policy.h). */
	if (np_tls_policy_apply(c) < 0) {
		np_err_set(err, NP_ERR_PERM, "unable to set TLS ciphers: %s", ossl_reason());
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_mode(c, SSL_MODE_AUTO_RETRY);
	struct np_tls_ctx *t = calloc(1, sizeof *t);
	if (!t) {
		SSL_CTX_free(c);
		np_err_sys(err, ENOMEM, "unable to allocate TLS context");
		return NULL;
	}
	t->ctx = c;
	return t;
}

static int load_pair(SSL_CTX *c, const char *cert, const char *key, struct np_err *err)
{
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
		return np_err_set(err, NP_ERR_PERM, "unable to load TLS certificate %s: %s", cert, ossl_reason());
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
		return np_err_set(err, NP_ERR_PERM, "unable to load TLS private key %s: %s", key, ossl_reason());
	if (SSL_CTX_check_private_key(c) != 1)
		return np_err_set(err, NP_ERR_PERM, "TLS private key %s does not match certificate %s", key, cert);
	return 0;
}

struct np_tls_ctx *np_tls_server_ctx(const char *cert_file, const char *key_file, const char *ca_file,
				     int verify_client, struct np_err *err)
{
	if (!cert_file || !*cert_file || !key_file || !*key_file) {
		np_err_set(err, NP_ERR_PERM, "TLS needs a certificate and a private key file");
		return NULL;
	}
	if (verify_client && (!ca_file || !*ca_file)) {
		np_err_set(err, NP_ERR_PERM, "client certificate verification needs a CA file");
		return NULL;
	}
	struct np_tls_ctx *t = ctx_new(TLS_server_method(), err);
	if (!t)
		return NULL;
	if (load_pair(t->ctx, cert_file, key_file, err) < 0)
		goto fail;
	if (ca_file && *ca_file) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			np_err_set(err, NP_ERR_PERM, "unable to load TLS CA file %s: %s", ca_file, ossl_reason());
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(t->ctx, names);
	}
	if (verify_client)
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	return t;
fail:
	np_tls_ctx_free(t);
	return NULL;
}

struct np_tls_ctx *np_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
				     struct np_err *err)
{
	struct np_tls_ctx *t = ctx_new(TLS_client_method(), err);
	if (!t)
		return NULL;
	int ok = (ca_file && *ca_file) ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
				       : SSL_CTX_set_default_verify_paths(t->ctx);
	if (ok != 1) {
		np_err_set(err, NP_ERR_PERM, "unable to load TLS CA file %s: %s", ca_file ? ca_file : "(system)",
			   ossl_reason());
		goto fail;
	}
	if (cert_file && *cert_file && load_pair(t->ctx, cert_file, key_file ? key_file : cert_file, err) < 0)
		goto fail;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	return t;
fail:
	np_tls_ctx_free(t);
	return NULL;
}

int np_tls_ctx_set_profile(struct np_tls_ctx *ctx, int p, struct np_err *err)
{
	if (np_tls_policy_apply_profile(ctx->ctx, p) < 0)
		return np_err_set(err, NP_ERR_PERM, "unable to set TLS profile %d: %s", p, ossl_reason());
	ctx->profile = p;
	return 0;
}

void np_tls_ctx_free(struct np_tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ctx);
	free(ctx);
}

static void set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* The handshake failed for want of a common cipher suite: we are the
 * server and the client offered none of ours (no shared cipher), or we are
 * the client and the server answered with a handshake_failure alert (what
 * a server with no suite of our ClientHello sends). */
static int no_shared_cipher(void)
{
	unsigned long e = ERR_peek_error();
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return 0;
	int r = ERR_GET_REASON(e);
	return r == SSL_R_NO_SHARED_CIPHER ? 1 : r == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ? 2 : 0;
}

static struct np_tls *handshake(struct np_tls_ctx *ctx, int fd, int server, const char *servername, int timeout_ms,
				struct np_err *err)
{
	SSL *s = SSL_new(ctx->ctx);
	struct np_tls *t = calloc(1, sizeof *t);
	if (!s || !t) {
		np_err_set(err, NP_ERR_TEMP, "unable to start TLS: %s", ossl_reason());
		goto fail;
	}
	SSL_set_fd(s, fd);
	if (!server && servername) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(s);
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(servername);
		if (ip) {
			ASN1_OCTET_STRING_free(ip);
			X509_VERIFY_PARAM_set1_ip_asc(vp, servername);
		} else {
			SSL_set_tlsext_host_name(s, servername);
			X509_VERIFY_PARAM_set1_host(vp, servername, 0);
		}
	}
	/* The socket is blocking; socket timeouts bound the handshake. */
	set_timeouts(fd, timeout_ms);
	ERR_clear_error();
	errno = 0;
	int r = server ? SSL_accept(s) : SSL_connect(s);
	int saved = errno;
	set_timeouts(fd, 0);
	if (r != 1) {
		int e = SSL_get_error(s, r), nsc;
		long v = SSL_get_verify_result(s);
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			if (saved == EAGAIN || saved == EWOULDBLOCK)
				np_err_set(err, NP_ERR_TEMP, "TLS handshake timed out");
			else
				np_err_set(err, NP_ERR_TEMP, "TLS handshake failed: peer closed the connection");
		} else if ((nsc = no_shared_cipher()) != 0) {
			/* The usual cause: a peer on the retired AES profile
			 * (TLS_RSA_WITH_AES_128_CBC_SHA only); say which
			 * profile refused it, so the setting can be found. */
			np_err_set(err, NP_ERR_PERM,
				   "TLS handshake failed: %s under TLS profile %s (a peer on the retired DICOM AES "
				   "profile needs legacy-aes)",
				   nsc == 1
				       ? "no shared cipher: the peer offers no cipher suite"
				       : "handshake failure alert from the peer: probably no cipher suite in common",
				   np_tls_profiles[ctx->profile].name);
			ERR_clear_error();
		} else if (v != X509_V_OK) {
			np_err_set(err, NP_ERR_PERM, "TLS handshake failed: certificate verify failed: %s",
				   X509_verify_cert_error_string(v));
		} else {
			np_err_set(err, NP_ERR_PERM, "TLS handshake failed: %s", ossl_reason());
		}
		goto fail;
	}
	t->ssl = s;
	t->fd = fd;
	return t;
fail:
	SSL_free(s);
	free(t);
	return NULL;
}

struct np_tls *np_tls_accept(struct np_tls_ctx *ctx, int fd, int timeout_ms, struct np_err *err)
{
	return handshake(ctx, fd, 1, NULL, timeout_ms, err);
}

struct np_tls *np_tls_connect(struct np_tls_ctx *ctx, int fd, const char *servername, int timeout_ms,
			      struct np_err *err)
{
	return handshake(ctx, fd, 0, servername, timeout_ms, err);
}

ssize_t np_tls_read(struct np_tls *t, void *buf, size_t n)
{
	ERR_clear_error();
	int r = SSL_read(t->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_SYSCALL && errno == 0)
		return 0; /* peer closed without close_notify */
	if (e != SSL_ERROR_SYSCALL)
		errno = EPROTO;
	return -1;
}

ssize_t np_tls_write(struct np_tls *t, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		size_t chunk = n - done > 1 << 30 ? 1 << 30 : n - done;
		ERR_clear_error();
		int r = SSL_write(t->ssl, (const char *)buf + done, (int)chunk);
		if (r <= 0) {
			int e = SSL_get_error(t->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				continue;
			if (e != SSL_ERROR_SYSCALL || errno == 0)
				errno = EPIPE;
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)n;
}

int np_tls_pending(struct np_tls *t)
{
	return SSL_pending(t->ssl);
}

const char *np_tls_version(struct np_tls *t)
{
	return SSL_get_version(t->ssl);
}

const char *np_tls_cipher(struct np_tls *t)
{
	return SSL_get_cipher_name(t->ssl);
}

void np_tls_close(struct np_tls *t)
{
	if (!t)
		return;
	SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	free(t);
}
