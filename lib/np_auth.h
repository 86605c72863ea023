/* SPDX-License-Identifier: Apache-2.0 */
/* np_auth: who is calling np-httpd. The local service password (bcrypt,
 * $2b$, cost 12, in etc/secrets/http.password_hash), server-side sessions
 * named by HMAC-SHA256-signed tokens in an HttpOnly SameSite=Strict cookie
 * (Secure under HTTPS), 8 hours of inactivity, a CSRF token per session, a
 * per-client slowdown of failed logins. SAML logins create sessions through
 * np_auth_session_new too (np_saml.c). */
#ifndef NP_AUTH_H
#define NP_AUTH_H

#include <stddef.h>

struct np_err;
struct np_httpd;
struct np_req;

#define NP_AUTH_IDLE_SECONDS (8 * 3600)
#define NP_AUTH_BCRYPT_COST 12

/* Load (or create) the session HMAC key; hash the service password on first
 * start when only the cloud secret exists. Returns 0 or -1 with err. */
int np_auth_init(struct np_httpd *h, struct np_err *err);
/* bcrypt hash of pw ($2b$, cost NP_AUTH_BCRYPT_COST) into out (>= 128 bytes).
 * Returns 0 or -1 with err. */
int np_auth_hash(const char *pw, char *out, size_t outsz, struct np_err *err);
/* 1 if pw matches the bcrypt hash (constant-time compare), else 0. */
int np_auth_verify(const char *pw, const char *hash);
/* Fill r->role/actor/sid from the session cookie (or admin under
 * --insecure-no-auth). An invalid or expired cookie is anonymous. Returns 0,
 * or -1 after replying 500. */
int np_auth_resolve(struct np_req *r);
/* 1 if a state-changing request carries the session's CSRF token (always 1
 * under --insecure-no-auth). */
int np_auth_csrf_ok(const struct np_req *r);
/* Create a session and set its two cookie header lines into cookie (>= 600
 * bytes); the CSRF token is written to csrf (65 bytes). Returns 0 or -1. */
int np_auth_session_new(struct np_req *r, const char *actor, int role, const char *method, char *cookie,
			size_t cookiesz, char csrf[65], struct np_err *err);
/* Fingerprint of the SAML settings; SAML sessions of another epoch end. */
void np_auth_saml_epoch(struct np_req *r, char out[17]);

#endif
