// SPDX-License-Identifier: Apache-2.0
#include "np_auth.h"
#include "np_config.h"
#include "np_db.h"
#include "np_db_sessions.h"
#include "np_err.h"
#include "np_httpd_guard.h"
#include "np_httpd_int.h"
#include "np_json.h"
#include "np_log.h"
#include "np_svcpw.h"
#include "np_util.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last token whose signature this worker checked: a keep-alive
 * connection (a worker serves one from accept to close) sends the same
 * cookie with every request, and OpenSSL's one-shot HMAC cost a sixth of
 * a session request's CPU. The key never changes while np-httpd runs
 * (np_auth_open), so a token that was signed right still is; a server
 * started again in the same process (tests) has another auth_gen. */
static _Thread_local struct {
	unsigned gen; /* np_httpd's auth_gen: 0 never matches */
	char tok[200];
	char sid[65];
} tok_seen;

/* The session id from the cookie when its signature is right. */
static int cookie_sid(struct np_req *r, char sid[65])
{
	const char *ch = mg_get_header(r->c, "Cookie");
	char tok[200];
	if (!ch || mg_get_cookie(ch, "np_session", tok, sizeof tok) <= 0)
		return -1;
	if (tok_seen.gen == r->srv->auth_gen && !strcmp(tok_seen.tok, tok)) {
		memcpy(sid, tok_seen.sid, 65);
		return 0;
	}
	if (np_auth_token_sid(r->srv->auth, tok, sid) < 0)
		return -1;
	tok_seen.gen = r->srv->auth_gen;
	memcpy(tok_seen.tok, tok, sizeof tok);
	memcpy(tok_seen.sid, sid, 65);
	return 0;
}

int np__auth_resolve(struct np_req *r)
{
	if (r->srv->insecure_no_auth) {
		r->role = NP_ROLE_ADMIN;
		snprintf(r->actor, sizeof r->actor, "insecure-no-auth");
		return 0;
	}
	char sid[65];
	if (cookie_sid(r, sid) < 0)
		return 0;
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db) {
		np__reply_err(r, &err);
		return -1;
	}
	/* Every request comes here: the statements stay prepared per thread. */
	struct np_db_session ses;
	double now = np_now(), last = 0;
	if (np_db_sessions_get(db, sid, &ses)) {
		last = ses.last_seen;
		int saml_ok = 1;
		if (!strcmp(ses.method, "saml")) {
			/* hashes the SAML settings: only for SAML sessions */
			char cur[17];
			np_auth_saml_epoch(&r->cfg, cur);
			saml_ok = !strcmp(ses.saml_epoch, cur);
		}
		if (now - last < NP_AUTH_IDLE_SECONDS && now >= last - 300 && saml_ok) {
			r->role = !strcmp(ses.role, "admin") ? NP_ROLE_ADMIN : NP_ROLE_USER;
			snprintf(r->actor, sizeof r->actor, "%s", ses.actor[0] ? ses.actor : "?");
			snprintf(r->sid, sizeof r->sid, "%s", sid);
		}
	}
	/* Even an UPDATE that changes nothing takes the database's write lock:
	 * every request of every worker would queue on it. */
	if (r->sid[0] && last >= now - 30)
		return 0;
	if (r->sid[0])
		np_db_sessions_touch(db, sid, now);
	else
		np_db_sessions_end(db, sid);
	return 0;
}

int np__auth_csrf_ok(const struct np_req *r)
{
	if (r->srv->insecure_no_auth)
		return 1;
	const char *tok = mg_get_header(r->c, "X-CSRF-Token");
	if (!tok || strlen(tok) != 64 || !r->sid[0])
		return 0;
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	char c[80];
	int ok =
	    db && np_db_sessions_csrf(db, r->sid, c, sizeof c) && strlen(c) == 64 && CRYPTO_memcmp(c, tok, 64) == 0;
	return ok;
}

int np__session_new(struct np_req *r, const char *actor, int role, const char *method, char *cookie, size_t cookiesz,
		    char csrf[65], struct np_err *err)
{
	char sid[65], token[NP_AUTH_TOKEN_LEN], epoch[17];
	if (np_auth_session_ids(r->srv->auth, sid, csrf, token, err) < 0)
		return -1;
	np_auth_saml_epoch(&r->cfg, epoch);
	struct np_db *db = np__db(r->srv, err);
	if (!db || np_db_sessions_insert(db, sid, actor, role == NP_ROLE_ADMIN ? "admin" : "user", method, np_now(),
					 csrf, epoch, err) < 0)
		return -1;
	/* np_csrf is readable by the page's own scripts (double submit); the
	 * server still compares it with the session's copy. */
	snprintf(cookie, cookiesz,
		 "Set-Cookie: np_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s\r\n"
		 "Set-Cookie: np_csrf=%s; Path=/; SameSite=Strict; Max-Age=%d%s\r\n",
		 token, NP_AUTH_IDLE_SECONDS, r->ri->is_ssl ? "; Secure" : "", csrf, NP_AUTH_IDLE_SECONDS,
		 r->ri->is_ssl ? "; Secure" : "");
	snprintf(r->sid, sizeof r->sid, "%s", sid);
	snprintf(r->actor, sizeof r->actor, "%s", actor);
	r->role = role;
	return 0;
}

static int too_many(struct np_req *r, int wait)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", wait);
	np_warn(NULL, "login refused: too many failures client=%s", r->client);
	static const char body[] = "{\"error\":{\"code\":\"too_many_attempts\",\"message\":\"too many failed "
				   "logins; wait and retry\"}}";
	return np__reply_bytes(r, 429, "application/json", body, sizeof body - 1, hdr);
}

static int login_reply(struct np_req *r, const char *method)
{
	char cookie[600], csrf[65], actor[sizeof r->actor];
	struct np_err err = {0};
	/* a copy: np__session_new writes r->actor from its actor argument,
	 * and a copy onto itself (overlapping snprintf) left it empty */
	snprintf(actor, sizeof actor, "%s", r->actor);
	if (np__session_new(r, actor, r->role, method, cookie, sizeof cookie, csrf, &err) < 0)
		return np__reply_err(r, &err);
	char *body = NULL;
	json_t *j = json_pack("{s:b,s:s,s:s,s:s,s:i}", "authenticated", 1, "actor", r->actor, "role",
			      np_role_name(r->role), "csrf_token", csrf, "idle_timeout_seconds", NP_AUTH_IDLE_SECONDS);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	int rc = np__reply_bytes(r, 200, "application/json", body, strlen(body), cookie);
	free(body);
	return rc;
}

/* End every session (a login follows), audited, after a change of the
 * password that this login is the first to use. */
static void revoke_all(struct np_req *r, const char *source)
{
	/* the caller proved it knows the new password: the audit row is the
	 * service admin's, as the login that follows */
	snprintf(r->actor, sizeof r->actor, "service");
	r->role = NP_ROLE_ADMIN;
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	int n = db ? np_svcpw_revoke(r->srv->home, db, NULL, &err) : -1;
	if (n < 0) {
		np_error(NULL, "unable to end the sessions after a password change: %s", err.msg);
		return;
	}
	char detail[128];
	snprintf(detail, sizeof detail, "count=%d reason=password_change source=%s", n, source);
	np__audit(r, "sessions_revoked", NULL, detail, "success");
}

void np__password_saved(struct np_req *r, const char stamp_before[65], const char *source)
{
	char now[65];
	np_svcpw_stamp(r->srv->home, now);
	if (!strcmp(now, stamp_before))
		return;
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	int n = db ? np_svcpw_revoke(r->srv->home, db, r->sid, &err) : -1;
	if (n < 0) {
		np_error(NULL, "unable to end the sessions after a password change: %s", err.msg);
		np__audit(r, "sessions_revoked", NULL, "reason=password_change", "failure");
		return;
	}
	char detail[128];
	snprintf(detail, sizeof detail, "count=%d reason=password_change source=%s", n, source);
	np__audit(r, "sessions_revoked", NULL, detail, "success");
}

int np__h_login(struct np_req *r)
{
	const char *mode = np_config_str(&r->cfg, "saml.auth_mode");
	if (np_config_bool(&r->cfg, "saml.enabled") && mode && !strcmp(mode, "saml"))
		return np__reply_error(r, 403, "password_login_disabled", "password login is disabled (SAML SSO only)");
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	const char *pw = json_string_value(json_object_get(b, "password"));
	if (!pw || !*pw || strlen(pw) > 256) {
		json_decref(b);
		return np__reply_error(r, 400, "bad_request", "password: a string of 1 to 256 characters");
	}
	long long fails = 0;
	char ck[INET6_ADDRSTRLEN + 4]; /* an IPv6 client counts by its /64, which it holds whole */
	np_httpd_client_key(r->client, ck);
	int wait = np_auth_throttle_reserve(r->srv->auth, ck, &fails);
	if (wait) {
		OPENSSL_cleanse((void *)pw, strlen(pw));
		json_decref(b);
		return too_many(r, wait);
	}
	int ok = np_auth_password_ok(r->srv->home, pw);
	const char *cloud = "-";
	/* the password changed where we did not see it: in the Settings file
	 * (by hand) or at the cloud; either way older sessions end */
	if (!ok && (ok = np_auth_resync_settings(r->srv->home, pw))) {
		cloud = "settings";
		np_info(NULL, "local password hash re-synchronised with the service password in Settings client=%s",
			r->client);
		revoke_all(r, "settings_file");
	}
	if (!ok && (ok = np_auth_resync_cloud(r->srv->auth, &r->cfg, r->srv->home, pw, &cloud))) {
		np_info(NULL,
			"local password hash and service password re-synchronised with the cloud protocol=v2 client=%s",
			r->client);
		revoke_all(r, "cloud");
	}
	OPENSSL_cleanse((void *)pw, strlen(pw));
	json_decref(b);
	snprintf(r->actor, sizeof r->actor, "service");
	if (!ok) {
		np_auth_throttle_fail(r->srv->auth, ck, fails);
		np_warn(NULL, "login failed method=password client=%s failures=%lld cloud_check=%s", r->client, fails,
			cloud);
		r->role = NP_ROLE_PUBLIC;
		np__audit(r, "login", NULL, "method=password", "failure");
		return np__reply_error(r, 401, "bad_credentials", "wrong password");
	}
	if (strcmp(cloud, "-"))
		np__audit(r, "password_resync", NULL, !strcmp(cloud, "accepted") ? "source=cloud" : "source=settings",
			  "success");
	np_auth_throttle_ok(r->srv->auth, ck);
	r->role = NP_ROLE_ADMIN;
	np__audit(r, "login", NULL, "method=password", "success");
	return login_reply(r, "password");
}

int np__h_logout(struct np_req *r)
{
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	/* The local session always ends first; SAML logout at the IdP follows
	 * in the browser when it is configured. */
	if (r->sid[0] && db)
		np_db_sessions_end(db, r->sid);
	char *slo = np__saml_logout(r, r->sid, "/");
	np__audit(r, "logout", NULL, slo ? "method=saml_slo_request" : NULL, "success");
	json_t *j = json_pack("{s:b}", "authenticated", 0);
	if (slo)
		json_object_set_new(j, "redirect", json_string(slo));
	free(slo);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	int rc = np__reply_bytes(r, 200, "application/json", body, strlen(body),
				 "Set-Cookie: np_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n"
				 "Set-Cookie: np_csrf=; Path=/; SameSite=Strict; Max-Age=0\r\n");
	free(body);
	return rc;
}

int np__h_session(struct np_req *r)
{
	int saml = np_config_bool(&r->cfg, "saml.enabled");
	const char *mode = np_config_str(&r->cfg, "saml.auth_mode");
	json_t *methods = json_array();
	if (!saml || !mode || strcmp(mode, "saml"))
		json_array_append_new(methods, json_string("password"));
	if (saml && mode && strcmp(mode, "local"))
		json_array_append_new(methods, json_string("saml"));
	json_t *o = json_pack("{s:b,s:s,s:s,s:o}", "authenticated", r->role > NP_ROLE_PUBLIC, "role",
			      np_role_name(r->role), "actor", r->actor, "methods", methods);
	if (r->sid[0]) {
		struct np_err err = {0};
		struct np_db *db = np__db(r->srv, &err);
		char csrf[80];
		if (db && np_db_sessions_csrf(db, r->sid, csrf, sizeof csrf))
			json_object_set_new(o, "csrf_token", json_string(csrf));
	}
	return np__reply_json(r, 200, o);
}
