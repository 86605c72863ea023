// SPDX-License-Identifier: Apache-2.0
#include "np_httpd_tls.h"

#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_tls_policy.h"
#include "np_util.h"

#include <dlfcn.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct np_tls_pair {
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* intermediates (and the CA) sent to clients */
	json_t *info;
};

/* The active pair; the lock is held only to swap or use it. */
struct np_httpd_tls {
	pthread_mutex_t lock;
	struct np_tls_pair *pair;
};

static void pair_free(struct np_tls_pair *p)
{
	if (!p)
		return;
	X509_free(p->cert);
	EVP_PKEY_free(p->key);
	sk_X509_pop_free(p->chain, X509_free);
	json_decref(p->info);
	free(p);
}

static STACK_OF(X509) * read_certs(const char *pem)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	while (sk && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		sk_X509_push(sk, x);
	ERR_clear_error();
	BIO_free(b);
	return sk;
}

static void name_str(X509_NAME *n, char *out, size_t sz)
{
	BIO *b = BIO_new(BIO_s_mem());
	out[0] = 0;
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	int len = BIO_read(b, out, (int)sz - 1);
	out[len > 0 ? len : 0] = 0;
	BIO_free(b);
}

static void asn1_iso(const ASN1_TIME *t, char out[32])
{
	struct tm tm;
	out[0] = 0;
	if (ASN1_TIME_to_tm(t, &tm) == 1)
		snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static struct np_tls_pair *pair_build(const char *cert_pem, const char *key_pem, const char *ca_pem, struct np_err *err)
{
	struct np_tls_pair *p = calloc(1, sizeof *p);
	STACK_OF(X509) *certs = read_certs(cert_pem);
	STACK_OF(X509) *cas = ca_pem && *ca_pem ? read_certs(ca_pem) : sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	BIO *kb = BIO_new_mem_buf(key_pem, -1);
	if (!p || !certs || !cas || !store || !vctx || !kb) {
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		goto fail;
	}
	if (sk_X509_num(certs) < 1) {
		np_err_set(err, NP_ERR_PERM, "the certificate is not a PEM X.509 certificate");
		goto fail;
	}
	if (ca_pem && *ca_pem && sk_X509_num(cas) < 1) {
		np_err_set(err, NP_ERR_PERM, "the CA certificate is not a PEM X.509 certificate");
		goto fail;
	}
	p->key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (!p->key) {
		np_err_set(err, NP_ERR_PERM, "the private key is not an unencrypted PEM private key");
		goto fail;
	}
	p->cert = sk_X509_shift(certs);
	if (X509_check_private_key(p->cert, p->key) != 1) {
		np_err_set(err, NP_ERR_PERM, "the private key does not match the certificate");
		goto fail;
	}
	time_t now = (time_t)np_now();
	if (X509_cmp_time(X509_get0_notBefore(p->cert), &now) > 0) {
		np_err_set(err, NP_ERR_PERM, "the certificate is not valid yet");
		goto fail;
	}
	if (X509_cmp_time(X509_get0_notAfter(p->cert), &now) < 0) {
		np_err_set(err, NP_ERR_PERM, "the certificate has expired");
		goto fail;
	}
	int self = X509_check_issued(p->cert, p->cert) == X509_V_OK;
	if (sk_X509_num(cas) > 0) {
		for (int i = 0; i < sk_X509_num(cas); i++)
			X509_STORE_add_cert(store, sk_X509_value(cas, i));
	} else if (self) {
		X509_STORE_add_cert(store, p->cert);
	} else {
		X509_STORE_set_default_paths(store);
	}
	X509_STORE_CTX_init(vctx, store, p->cert, certs);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(vctx), now);
	if (X509_verify_cert(vctx) != 1) {
		np_err_set(err, NP_ERR_PERM, "the certificate chain does not build: %s",
			   X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
		goto fail;
	}
	p->chain = certs;
	certs = NULL;
	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *c = sk_X509_value(cas, i);
		X509_up_ref(c);
		sk_X509_push(p->chain, c);
	}
	char subj[512], iss[512], nb[32], na[32];
	name_str(X509_get_subject_name(p->cert), subj, sizeof subj);
	name_str(X509_get_issuer_name(p->cert), iss, sizeof iss);
	asn1_iso(X509_get0_notBefore(p->cert), nb);
	asn1_iso(X509_get0_notAfter(p->cert), na);
	p->info = json_pack("{s:s,s:s,s:s,s:s,s:b}", "subject", subj, "issuer", iss, "not_before", nb, "not_after", na,
			    "self_signed", self);
	goto done;
fail:
	pair_free(p);
	p = NULL;
done:
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	BIO_free(kb);
	return p;
}

int np_httpd_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem, json_t **info, struct np_err *err)
{
	struct np_tls_pair *p = pair_build(cert_pem, key_pem, ca_pem, err);
	if (!p)
		return -1;
	if (info)
		*info = json_incref(p->info);
	pair_free(p);
	return 0;
}

struct np_httpd_tls *np_httpd_tls_new(void)
{
	struct np_httpd_tls *t = calloc(1, sizeof *t);
	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

int np_httpd_tls_set(struct np_httpd_tls *t, const char *cert_pem, const char *key_pem, const char *ca_pem,
		     struct np_err *err)
{
	struct np_tls_pair *p = pair_build(cert_pem, key_pem, ca_pem, err);
	if (!p)
		return -1;
	pthread_mutex_lock(&t->lock);
	struct np_tls_pair *old = t->pair;
	t->pair = p;
	pthread_mutex_unlock(&t->lock);
	pair_free(old);
	return 0;
}

/* A settings path is relative to the agent home unless absolute. */
static char *read_setting_file(const char *home, const char *path, struct np_err *err)
{
	char full[PATH_MAX];
	if (path[0] == '/')
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s/%s", home, path);
	return np_read_file(full, 1 << 20, NULL, err);
}

/* The PEM files tls.cert_file/key_file/ca_file name; 0, or -1 with err. */
static int read_pair(const char *home, const struct np_config *cfg, char **cert, char **key, char **ca,
		     struct np_err *err)
{
	*cert = *key = *ca = NULL;
	const char *cf = np_config_str(cfg, "tls.cert_file"), *kf = np_config_str(cfg, "tls.key_file"),
		   *af = np_config_str(cfg, "tls.ca_file");
	if (!cf || !*cf || !kf || !*kf)
		return np_err_set(err, NP_ERR_PERM, "no certificate is installed (tls.cert_file and tls.key_file)");
	if (!(*cert = read_setting_file(home, cf, err)) || !(*key = read_setting_file(home, kf, err)))
		return -1;
	if (af && *af && !(*ca = read_setting_file(home, af, err)))
		return -1;
	return 0;
}

static void free_pair(char *cert, char *key, char *ca)
{
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(cert);
	free(key);
	free(ca);
}

int np_httpd_tls_check_files(const char *home, const struct np_config *cfg, struct np_err *err)
{
	char *cert, *key, *ca;
	int rc = read_pair(home, cfg, &cert, &key, &ca, err);
	if (rc == 0)
		rc = np_httpd_tls_check(cert, key, ca, NULL, err);
	free_pair(cert, key, ca);
	return rc;
}

int np_httpd_tls_reload(struct np_httpd_tls *t, const char *home, const struct np_config *cfg, struct np_err *err)
{
	int rc = 0;
	char *cert = NULL, *key = NULL, *ca = NULL;
	if (np_config_bool(cfg, "tls.enabled")) {
		rc = read_pair(home, cfg, &cert, &key, &ca, err);
		if (rc == 0)
			rc = np_httpd_tls_set(t, cert, key, ca, err);
	}
	free_pair(cert, key, ca);
	return rc;
}

json_t *np_httpd_tls_info(struct np_httpd_tls *t)
{
	pthread_mutex_lock(&t->lock);
	json_t *i = t->pair ? json_deep_copy(t->pair->info) : json_null();
	pthread_mutex_unlock(&t->lock);
	return i;
}

static int cert_cb(SSL *ssl, void *arg)
{
	struct np_httpd_tls *t = arg;
	int ok = 0;
	pthread_mutex_lock(&t->lock);
	if (t->pair) {
		ok = SSL_use_certificate(ssl, t->pair->cert) == 1 && SSL_use_PrivateKey(ssl, t->pair->key) == 1 &&
		     SSL_set1_chain(ssl, t->pair->chain) == 1;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

int np_httpd_tls_init_ctx(struct np_httpd_tls *t, void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;
	/* CivetWeb's defaults allow CBC suites without forward secrecy
	 * (AES128-SHA); the agent has one policy for HTTPS and DICOM TLS. */
	if (np_tls_policy_apply(ctx) < 0)
		return -1;
	SSL_CTX_set_cert_cb(ctx, cert_cb, t);
	return 1;
}

void np_httpd_tls_free(struct np_httpd_tls *t)
{
	if (!t)
		return;
	pair_free(t->pair);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Work-around for Debian 12's CivetWeb 1.15 (libcivetweb1 1.15+dfsg-4): it
 * loads OpenSSL with dlopen("libssl.so") and looks up
 * SSL_get_peer_certificate, which OpenSSL 3 has only as a macro, so it gets a
 * NULL pointer and every HTTPS connection crashes right after the handshake.
 * np-httpd interposes dlopen for that one library name and answers with the
 * program's global scope, where libssl is linked and the function below is
 * exported (--export-dynamic-symbol in the Makefile). */
#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);
X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}

void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "dlopen");
	if (!real)
		return NULL;
	if (file && !strcmp(file, "libssl.so"))
		return real(NULL, mode);
	return real(file, mode);
}
