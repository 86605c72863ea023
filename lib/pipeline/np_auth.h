/* SPDX-License-Identifier: Apache-2.0 */
/* np_auth: who may log in, without HTTP. The session key that signs
 * session tokens (etc/secrets/http.session_key, HMAC-SHA256), the check of
 * the service password against its bcrypt hash (np_svcpw.h), the two ways
 * a changed password is taken back in step (the Settings file, the cloud),
 * and the per-client slowdown of failed logins. The web server
 * (np_httpd_auth.c) calls it and owns cookies, sessions and replies. */
#ifndef NP_AUTH_H
#define NP_AUTH_H

#include <stddef.h>

struct np_auth;
struct np_config;
struct np_err;

#define NP_AUTH_IDLE_SECONDS (8 * 3600)
/* A session token: 64 hex of session id, ".", 64 hex of its signature. */
#define NP_AUTH_TOKEN_LEN 130

/* Load (or create) the session key; hash the service password on first
 * start when only the password exists. NULL with err. */
struct np_auth *np_auth_open(const char *home, struct np_err *err);
void np_auth_close(struct np_auth *a);

/* A new session: its id and CSRF token (64 hex each) and its signed token.
 * Returns 0 or -1 with err. */
int np_auth_session_ids(const struct np_auth *a, char sid[65], char csrf[65], char token[NP_AUTH_TOKEN_LEN],
			struct np_err *err);
/* The session id of a token whose signature is right: 0, else -1. */
int np_auth_token_sid(const struct np_auth *a, const char *token, char sid[65]);
/* Fingerprint of the SAML settings; SAML sessions of another epoch end. */
void np_auth_saml_epoch(const struct np_config *cfg, char out[17]);

/* 1 if pw is the service password, by its hash read now (no cache) and
 * no older than the stored password (np_svcpw_is_current). */
int np_auth_password_ok(const char *home, const char *pw);
/* First re-sync: the stored password was replaced without its hash (by
 * hand). 1 when pw is the stored password and is now the hash too. */
int np_auth_resync_settings(const char *home, const char *pw);
/* Second re-sync: the password was changed at the cloud (protocol v2
 * only). So that the login form is no better a way to guess the cloud
 * password than the cloud itself, only passwords that follow the rules are
 * sent, one check runs at a time for the whole server (a parallel attempt
 * is just a failure), and after each refusal none runs for 5 s, doubling up
 * to 5 minutes, whoever asks. *what: skipped, busy, waiting, refused, error
 * or accepted. 1 when the cloud accepted pw and it is stored (with its
 * hash). */
int np_auth_resync_cloud(struct np_auth *a, const struct np_config *cfg, const char *home, const char *pw,
			 const char **what);

/* Failed-login slowdown per client key: after 3 failures each further
 * attempt waits 2^(n-3) s (at most 5 minutes). An attempt counts as a
 * failure when it starts, before its password is checked, so parallel
 * attempts cannot all pass while the first ones are still hashing.
 * reserve: 0 with *n the failures (this one included), or the seconds the
 * client must wait. fail: the wait counts from now. ok: forget the client. */
int np_auth_throttle_reserve(struct np_auth *a, const char *client, long long *n);
void np_auth_throttle_fail(struct np_auth *a, const char *client, long long n);
void np_auth_throttle_ok(struct np_auth *a, const char *client);

#endif
