/* SPDX-License-Identifier: Apache-2.0 */
/* np_httpd_tls: the web server's certificate pair. CivetWeb's SSL_CTX gets a
 * certificate callback that hands out the current pair, so an uploaded pair
 * takes effect on the next handshake without a restart. */
#ifndef NP_HTTPD_TLS_H
#define NP_HTTPD_TLS_H

#include <jansson.h>
#include <stddef.h>

struct np_config;
struct np_err;
/* The active certificate pair of one server. */
struct np_httpd_tls;

/* Check a PEM certificate (with optional intermediates), its PEM private key
 * and an optional PEM CA: the key matches, the chain builds to the CA (or the
 * system trust store, or the certificate itself when self-signed), and the
 * certificate is valid now (np_now). Returns 0, or -1 with a permanent err
 * saying what is wrong. On success *info (if not NULL) gets {"subject",
 * "issuer","not_before","not_after","self_signed"} (new reference). */
int np_httpd_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem, json_t **info,
		       struct np_err *err);
/* An empty store (no pair: handshakes fail until one is set); NULL when
 * out of memory. */
struct np_httpd_tls *np_httpd_tls_new(void);
/* When cfg has tls.enabled: load tls.cert_file/key_file/ca_file (relative
 * to home), check them, and make them the active pair. On failure the
 * previous pair stays. */
int np_httpd_tls_reload(struct np_httpd_tls *t, const char *home, const struct np_config *cfg, struct np_err *err);
/* Check the pair the settings cfg name (tls.cert_file/key_file/ca_file,
 * relative to home) as np_httpd_tls_check does, without installing it: the
 * settings are refused before HTTPS would start without a usable pair. */
int np_httpd_tls_check_files(const char *home, const struct np_config *cfg, struct np_err *err);
/* Install an already checked PEM pair (the upload endpoint). */
int np_httpd_tls_set(struct np_httpd_tls *t, const char *cert_pem, const char *key_pem, const char *ca_pem,
		     struct np_err *err);
/* Description of the active certificate (new reference) or JSON null. */
json_t *np_httpd_tls_info(struct np_httpd_tls *t);
/* CivetWeb init_ssl hook: TLS 1.2+, certificate callback. Returns 1. */
int np_httpd_tls_init_ctx(struct np_httpd_tls *t, void *ssl_ctx);
void np_httpd_tls_free(struct np_httpd_tls *t);

#endif
