// SPDX-License-Identifier: Apache-2.0
#include "np_auth.h"

#include "np_cloud.h"
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd_guard.h"
#include "np_httpd_int.h"
#include "np_json.h"
#include "np_log.h"
#include "np_password.h"
#include "np_svcpw.h"
#include "np_util.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SECRET "http.session_key"
#define HASH_SECRET NP_SVCPW_HASH_SECRET

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int np_auth_init(struct np_httpd *h, struct np_err *err)
{
	char *k = np_config_secret(h->home, KEY_SECRET, err);
	if (!k && err->cls)
		return -1;
	if (!k || unhex(k, h->hkey, sizeof h->hkey) < 0) {
		char hx[65];
		free(k);
		if (np_random(h->hkey, sizeof h->hkey, err) < 0)
			return -1;
		hex(h->hkey, sizeof h->hkey, hx);
		if (np_config_secret_set(h->home, KEY_SECRET, hx, err) < 0)
			return -1;
		OPENSSL_cleanse(hx, sizeof hx);
		np_info(NULL, "created the session key");
	} else {
		OPENSSL_cleanse(k, strlen(k));
		free(k);
	}
	char *hash = np_config_secret(h->home, HASH_SECRET, err);
	if (hash) {
		free(hash);
		return 0;
	}
	if (err->cls)
		return -1;
	char *pw = np_config_secret(h->home, NP_SVCPW_SECRET, err);
	if (!pw)
		return err->cls ? -1 : 0;
	int rc = np_svcpw_store_hash(h->home, pw, err);
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	if (rc == 0)
		np_info(NULL, "hashed the service password for local login");
	return rc;
}

static void sign(const struct np_httpd *h, const char *sid, char out[65])
{
	unsigned char mac[32];
	unsigned int len = sizeof mac;
	HMAC(EVP_sha256(), h->hkey, sizeof h->hkey, (const unsigned char *)sid, strlen(sid), mac, &len);
	hex(mac, sizeof mac, out);
}

void np_auth_saml_epoch(struct np_req *r, char out[17])
{
	json_t *s = np_config_get(&r->cfg, "saml");
	char *d = s ? json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	unsigned char md[32];
	SHA256((const unsigned char *)(d ? d : ""), d ? strlen(d) : 0, md);
	free(d);
	hex(md, 8, out);
}

/* The session id from the cookie when its signature is right. */
static int cookie_sid(struct np_req *r, char sid[65])
{
	const char *ch = mg_get_header(r->c, "Cookie");
	char tok[200];
	if (!ch || mg_get_cookie(ch, "np_session", tok, sizeof tok) <= 0)
		return -1;
	char *dot = strchr(tok, '.');
	if (!dot || dot - tok != 64 || strlen(dot + 1) != 64)
		return -1;
	*dot = 0;
	char want[65];
	sign(r->srv, tok, want);
	if (CRYPTO_memcmp(want, dot + 1, 64) != 0)
		return -1;
	memcpy(sid, tok, 65);
	return 0;
}

int np_auth_resolve(struct np_req *r)
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
	sqlite3_stmt *st =
	    np__db_stmt(r->srv, "SELECT actor, role, method, last_seen, saml_epoch FROM sessions WHERE id = ?");
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	double now = np_now(), last = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *actor = (const char *)sqlite3_column_text(st, 0);
		const char *role = (const char *)sqlite3_column_text(st, 1);
		const char *method = (const char *)sqlite3_column_text(st, 2);
		last = sqlite3_column_double(st, 3);
		const char *epoch = (const char *)sqlite3_column_text(st, 4);
		int saml_ok = 1;
		if (method && !strcmp(method, "saml")) {
			/* hashes the SAML settings: only for SAML sessions */
			char cur[17];
			np_auth_saml_epoch(r, cur);
			saml_ok = epoch && !strcmp(epoch, cur);
		}
		if (now - last < NP_AUTH_IDLE_SECONDS && now >= last - 300 && saml_ok) {
			r->role = role && !strcmp(role, "admin") ? NP_ROLE_ADMIN : NP_ROLE_USER;
			snprintf(r->actor, sizeof r->actor, "%s", actor ? actor : "?");
			snprintf(r->sid, sizeof r->sid, "%s", sid);
		}
	}
	sqlite3_reset(st); /* ends the read transaction */
	/* Even an UPDATE that changes nothing takes the database's write lock:
	 * every request of every worker would queue on it. */
	if (r->sid[0] && last >= now - 30)
		return 0;
	const char *sql = r->sid[0] ? "UPDATE sessions SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2 - 30"
				    : "DELETE FROM sessions WHERE id = ?1";
	if ((st = np__db_stmt(r->srv, sql))) {
		sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 2, now);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	return 0;
}

int np_auth_csrf_ok(const struct np_req *r)
{
	if (r->srv->insecure_no_auth)
		return 1;
	const char *tok = mg_get_header(r->c, "X-CSRF-Token");
	if (!tok || strlen(tok) != 64 || !r->sid[0])
		return 0;
	sqlite3_stmt *st = np__db_stmt(r->srv, "SELECT csrf FROM sessions WHERE id = ?");
	int ok = 0;
	if (st) {
		sqlite3_bind_text(st, 1, r->sid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(st, 0);
			ok = c && strlen(c) == 64 && CRYPTO_memcmp(c, tok, 64) == 0;
		}
		sqlite3_reset(st);
	}
	return ok;
}

int np_auth_session_new(struct np_req *r, const char *actor, int role, const char *method, char *cookie,
			size_t cookiesz, char csrf[65], struct np_err *err)
{
	unsigned char rb[64];
	char sid[65], mac[65], epoch[17];
	if (np_random(rb, sizeof rb, err) < 0)
		return -1;
	hex(rb, 32, sid);
	hex(rb + 32, 32, csrf);
	sign(r->srv, sid, mac);
	np_auth_saml_epoch(r, epoch);
	struct np_db *db = np__db(r->srv, err);
	sqlite3_stmt *st;
	if (!db)
		return -1;
	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO sessions (id, actor, role, method, created_at, last_seen, csrf, saml_epoch)"
			       " VALUES (?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	double now = np_now();
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, role == NP_ROLE_ADMIN ? "admin" : "user", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, method, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 5, now);
	sqlite3_bind_double(st, 6, now);
	sqlite3_bind_text(st, 7, csrf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, epoch, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	/* np_csrf is readable by the page's own scripts (double submit); the
	 * server still compares it with the session's copy. */
	snprintf(cookie, cookiesz,
		 "Set-Cookie: np_session=%s.%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s\r\n"
		 "Set-Cookie: np_csrf=%s; Path=/; SameSite=Strict; Max-Age=%d%s\r\n",
		 sid, mac, NP_AUTH_IDLE_SECONDS, r->ri->is_ssl ? "; Secure" : "", csrf, NP_AUTH_IDLE_SECONDS,
		 r->ri->is_ssl ? "; Secure" : "");
	snprintf(r->sid, sizeof r->sid, "%s", sid);
	snprintf(r->actor, sizeof r->actor, "%s", actor);
	r->role = role;
	return 0;
}

/* ---- failed-login slowdown: after 3 failures from one client address,
 * each further attempt waits 2^(n-3) s (at most 5 minutes). An attempt is
 * counted as a failure when it starts, under the lock, before its password is
 * checked: parallel attempts cannot all pass the check while the first ones
 * are still hashing (bcrypt takes a quarter of a second). A success clears
 * the count. ---- */

static double throttle_wait(long long n)
{
	double wait = n >= 3 ? (double)(1LL << (n - 3 < 9 ? n - 3 : 9)) : 0;
	return wait > 300 ? 300 : wait;
}

/* Reserve an attempt for client: 0 with *n its failure count (this attempt
 * included), or the seconds to wait when the client must not try now. */
static int throttle_reserve(struct np_httpd *h, const char *client, long long *n)
{
	pthread_mutex_lock(&h->lock);
	double now = np_now();
	json_t *e = json_object_get(h->throttle, client);
	double until = json_real_value(json_object_get(e, "until"));
	if (until > now) {
		pthread_mutex_unlock(&h->lock);
		return (int)(until - now) + 1;
	}
	if (!e && json_object_size(h->throttle) > 10000)
		json_object_clear(h->throttle);
	*n = json_integer_value(json_object_get(e, "fails")) + 1;
	json_object_set_new(h->throttle, client, json_pack("{s:I,s:f}", "fails", *n, "until", now + throttle_wait(*n)));
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* The attempt failed: its wait counts from now, when the client learns it. */
static void throttle_fail(struct np_httpd *h, const char *client, long long n)
{
	pthread_mutex_lock(&h->lock);
	json_t *e = json_object_get(h->throttle, client);
	double until = np_now() + throttle_wait(n);
	if (e && json_real_value(json_object_get(e, "until")) < until)
		json_object_set_new(e, "until", json_real(until));
	pthread_mutex_unlock(&h->lock);
}

static void throttle_ok(struct np_httpd *h, const char *client)
{
	pthread_mutex_lock(&h->lock);
	json_object_del(h->throttle, client);
	pthread_mutex_unlock(&h->lock);
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
	/* a copy: np_auth_session_new writes r->actor from its actor argument,
	 * and a copy onto itself (overlapping snprintf) left it empty */
	snprintf(actor, sizeof actor, "%s", r->actor);
	if (np_auth_session_new(r, actor, r->role, method, cookie, sizeof cookie, csrf, &err) < 0)
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

void np_auth_password_saved(struct np_req *r, const char stamp_before[65], const char *source)
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

/* Re-sync after a password change, first case: the service password file
 * was replaced without its hash (by hand, or by a version before np_svcpw);
 * every other path keeps the two in step. pw is the stored password: it
 * becomes the hash and, as after any change, older sessions end. Returns 1
 * when pw is that password and is now the hash. */
static int resync_settings(struct np_req *r, const char *pw)
{
	struct np_err err = {0};
	char *cur = np_config_secret(r->srv->home, NP_SVCPW_SECRET, &err);
	int ok = cur && strlen(cur) == strlen(pw) && CRYPTO_memcmp(cur, pw, strlen(pw)) == 0;
	if (cur) {
		OPENSSL_cleanse(cur, strlen(cur));
		free(cur);
	}
	if (ok && np_svcpw_store_hash(r->srv->home, pw, &err) < 0) {
		np_error(NULL, "unable to store the new password hash: %s", err.msg);
		ok = 0;
	}
	if (ok) {
		np_info(NULL, "local password hash re-synchronised with the service password in Settings client=%s",
			r->client);
		revoke_all(r, "settings_file");
	}
	return ok;
}

/* Re-sync, second case: the password was changed at the cloud (web portal)
 * and nowhere here yet; v2 asks the cloud with a token request. So that the
 * login form is no better a way to guess the cloud password than the cloud
 * itself, only passwords that follow the cloud's rules are sent, one check
 * runs at a time for the whole server (a parallel attempt is just a failed
 * login), and after each refusal no check runs for 5 s, doubling up to 5
 * minutes, whichever client asks; the per-client slowdown applies as well.
 * *what says what happened: skipped, busy, waiting, refused, error or
 * accepted. Returns 1 when the cloud accepted pw and it is now the local
 * hash and the service password. */
static int resync_cloud(struct np_req *r, const char *pw, const char **what)
{
	const char *proto = np_config_str(&r->cfg, "cloud.protocol");
	const char *user = np_config_str(&r->cfg, "cloud.service_user");
	struct np_err err = {0};
	if (!np_cloud_configured(&r->cfg) || !proto || strcmp(proto, "v2") || !user || !*user ||
	    np_password_check(pw, &err) < 0)
		return *what = "skipped", 0;
	struct np_httpd *h = r->srv;
	if (pthread_mutex_trylock(&h->resync_lock) != 0)
		return *what = "busy", 0;
	if (np_now() < h->resync_until) {
		pthread_mutex_unlock(&h->resync_lock);
		return *what = "waiting", 0;
	}
	int rc = np_cloud_verify_password(&r->cfg, pw, &err);
	if (rc == 0) {
		h->resync_fails = 0;
		h->resync_until = 0;
	} else {
		h->resync_fails++;
		double wait = 5.0 * (double)(1 << (h->resync_fails < 7 ? h->resync_fails - 1 : 6));
		h->resync_until = np_now() + (wait > 300 ? 300 : wait);
	}
	pthread_mutex_unlock(&h->resync_lock);
	if (rc < 0) {
		np_warn(NULL, "unable to check the password with the cloud: %s", err.msg);
		return *what = "error", 0;
	}
	if (rc == 1)
		return *what = "refused", 0;
	*what = "accepted";
	/* the secret and its hash in one step (np_config_secret_set) */
	if (np_config_secret_set(h->home, NP_SVCPW_SECRET, pw, &err) < 0) {
		np_error(NULL, "unable to store the new service password: %s", err.msg);
		return 0;
	}
	np_info(NULL, "local password hash and service password re-synchronised with the cloud protocol=v2 client=%s",
		r->client);
	revoke_all(r, "cloud");
	return 1;
}

int np_h_login(struct np_req *r)
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
	int wait = throttle_reserve(r->srv, ck, &fails);
	if (wait) {
		OPENSSL_cleanse((void *)pw, strlen(pw));
		json_decref(b);
		return too_many(r, wait);
	}
	struct np_err err = {0};
	char *hash = np_config_secret(r->srv->home, HASH_SECRET, &err);
	/* no cache: the hash is read at every attempt, and a hash older than
	 * the stored password (replaced by hand) lets the old one in no more */
	int ok = hash && np_password_verify(pw, hash) && np_svcpw_is_current(r->srv->home, pw);
	free(hash);
	const char *cloud = "-";
	if (!ok && (ok = resync_settings(r, pw)))
		cloud = "settings";
	if (!ok)
		ok = resync_cloud(r, pw, &cloud);
	OPENSSL_cleanse((void *)pw, strlen(pw));
	json_decref(b);
	snprintf(r->actor, sizeof r->actor, "service");
	if (!ok) {
		throttle_fail(r->srv, ck, fails);
		np_warn(NULL, "login failed method=password client=%s failures=%lld cloud_check=%s", r->client, fails,
			cloud);
		r->role = NP_ROLE_PUBLIC;
		np__audit(r, "login", NULL, "method=password", "failure");
		return np__reply_error(r, 401, "bad_credentials", "wrong password");
	}
	if (strcmp(cloud, "-"))
		np__audit(r, "password_resync", NULL, !strcmp(cloud, "accepted") ? "source=cloud" : "source=settings",
			  "success");
	throttle_ok(r->srv, ck);
	r->role = NP_ROLE_ADMIN;
	np__audit(r, "login", NULL, "method=password", "success");
	return login_reply(r, "password");
}

int np_h_logout(struct np_req *r)
{
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	sqlite3_stmt *st;
	/* The local session always ends first; SAML logout at the IdP follows
	 * in the browser when it is configured. */
	if (r->sid[0] && db &&
	    sqlite3_prepare_v2(db->h, "DELETE FROM sessions WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, r->sid, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
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

int np_h_session(struct np_req *r)
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
		sqlite3_stmt *st;
		if (db &&
		    sqlite3_prepare_v2(db->h, "SELECT csrf FROM sessions WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, r->sid, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				json_object_set_new(o, "csrf_token",
						    json_string((const char *)sqlite3_column_text(st, 0)));
			sqlite3_finalize(st);
		}
	}
	return np__reply_json(r, 200, o);
}
