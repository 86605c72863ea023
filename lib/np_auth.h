/* SPDX-License-Identifier: Apache-2.0 */
/* np_auth: who is calling np-httpd. The local service password (bcrypt,
 * $2b$, cost 12, in etc/secrets/http.password_hash, np_svcpw.h), server-side sessions
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

/* Load (or create) the session HMAC key; hash the service password on first
 * start when only the cloud secret exists (bcrypt: np_svcpw.h). Returns 0 or
 * -1 with err. */
int np_auth_init(struct np_httpd *h, struct np_err *err);
/* After a request that may have changed the service password (stamp_before
 * from np_svcpw_stamp): when it did, every other session ends at once, with
 * the audit row "sessions_revoked" ("count=N reason=password_change
 * source=SOURCE"); the caller's own session stays. */
void np_auth_password_saved(struct np_req *r, const char stamp_before[65], const char *source);
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
