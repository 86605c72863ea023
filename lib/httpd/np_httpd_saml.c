// SPDX-License-Identifier: Apache-2.0
/* np_httpd_saml: the SAML endpoints. Outstanding AuthnRequest IDs and the
 * replay cache of Response/Assertion IDs live in the index's kv table
 * ("saml_req:<ID>", "saml_seen:<ID>" -> expiry, seconds since the epoch). */
#include "np_buf.h"
#include "np_auth.h"
#include "np_db.h"
#include "np_db_kv.h"
#include "np_db_sessions.h"
#include "np_err.h"
#include "np_httpd_int.h"
#include "np_log.h"
#include "np_saml.h"
#include "np_util.h"
#include "np_crypto.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_TTL 600 /* seconds an AuthnRequest may stay outstanding */
#define SKEW 120

static int saml_on(struct np_req *r)
{
	const char *mode = np_config_str(&r->cfg, "saml.auth_mode");
	return np_config_bool(&r->cfg, "saml.enabled") && mode && strcmp(mode, "local");
}

static void acs_url(struct np_req *r, char *out, size_t sz)
{
	const char *base = np_config_str(&r->cfg, "saml.sp_base_url");
	size_t n = base ? strlen(base) : 0;
	while (n && base[n - 1] == '/')
		n--;
	snprintf(out, sz, "%.*s/api/saml/acs", (int)n, base ? base : "");
}

static void slo_url(struct np_req *r, char *out, size_t sz)
{
	acs_url(r, out, sz);
	size_t n = strlen(out);
	if (n >= 3)
		memcpy(out + n - 3, "slo", 3);
}

/* The SP signing key and certificate (etc/secrets/saml.sp_key and
 * saml.sp_cert), made on first use. Both malloc'd. Returns 0 or -1. */
static int sp_keys(struct np_req *r, char **key, char **cert, struct np_err *err)
{
	struct np_httpd *h = r->srv;
	pthread_mutex_lock(&h->lock);
	*key = np_config_secret(h->home, "saml.sp_key", err);
	*cert = np_config_secret(h->home, "saml.sp_cert", err);
	int rc = 0;
	if ((!*key || !*cert) && !err->cls) {
		free(*key);
		free(*cert);
		rc = np_saml_sp_keypair_new(np_config_str(&r->cfg, "saml.sp_entity_id"), key, cert, err);
		if (rc == 0 && (np_config_secret_set(h->home, "saml.sp_cert", *cert, err) < 0 ||
				np_config_secret_set(h->home, "saml.sp_key", *key, err) < 0))
			rc = -1;
		if (rc == 0)
			np_info(NULL, "created the SAML SP signing key");
	} else if (err->cls) {
		rc = -1;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc < 0) {
		if (*key)
			np_crypto_wipe(*key, strlen(*key));
		free(*key);
		free(*cert);
		*key = *cert = NULL;
	}
	return rc;
}

static void free_keys(char *key, char *cert)
{
	if (key)
		np_crypto_wipe(key, strlen(key));
	free(key);
	free(cert);
}

int np__h_saml_metadata(struct np_req *r)
{
	char acs[1024], slo[1024], *key, *cert;
	struct np_err err = {0};
	acs_url(r, acs, sizeof acs);
	slo_url(r, slo, sizeof slo);
	if (sp_keys(r, &key, &cert, &err) < 0)
		return np__reply_err(r, &err);
	char *md = np_saml_sp_metadata(np_config_str(&r->cfg, "saml.sp_entity_id"), acs,
				       np_config_str(&r->cfg, "saml.nameid_format"),
				       np_config_bool(&r->cfg, "saml.require_signed_assertions"),
				       np_config_bool(&r->cfg, "saml.sign_authn_requests"), slo, cert, &err);
	free_keys(key, cert);
	if (!md)
		return np__reply_err(r, &err);
	int rc = np__reply_bytes(r, 200, "application/samlmetadata+xml", md, strlen(md), NULL);
	free(md);
	return rc;
}

static int kv_put(struct np_db *db, const char *k, double exp)
{
	char v[32];
	snprintf(v, sizeof v, "%.0f", exp);
	return np_db_kv_set(db, k, v, NULL);
}

/* Delete key k; 1 if it existed and had not expired, else 0. */
static int kv_take(struct np_db *db, const char *k, double now)
{
	char *v = NULL;
	int found = np_db_kv_take(db, k, &v) && v && strtod(v, NULL) > now;
	free(v);
	return found;
}

/* Whether key k exists (also when the index does not answer: a replay
 * check then refuses). */
static int kv_has(struct np_db *db, const char *k)
{
	return np_db_kv_has(db, k) != 0;
}

static void kv_expire(struct np_db *db, double now)
{
	np_db_kv_expire(db, "saml_", now);
}

int np__h_saml_login(struct np_req *r)
{
	if (!saml_on(r))
		return np__reply_error(r, 409, "saml_disabled", "SAML SSO is not enabled");
	const char *sso = np_config_str(&r->cfg, "saml.idp_sso_url");
	if (!sso || strncmp(sso, "http", 4))
		return np__reply_error(r, 409, "saml_not_configured", "saml.idp_sso_url is not set");
	char relay[600] = "/", acs[1024], id[40], rk[64];
	/* Where the browser goes after the login (RelayState, back at the ACS
	 * as a 303): only a place of our own UI (np_saml_relay_ok). */
	if (np_query_get(r->query, "relay", relay, sizeof relay) < 0 || !np_saml_relay_ok(relay))
		snprintf(relay, sizeof relay, "/");
	acs_url(r, acs, sizeof acs);
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db)
		return np__reply_err(r, &err);
	char *key = NULL, *cert = NULL;
	if (np_config_bool(&r->cfg, "saml.sign_authn_requests") && sp_keys(r, &key, &cert, &err) < 0)
		return np__reply_err(r, &err);
	char *url = np_saml_authn_url(sso, np_config_str(&r->cfg, "saml.sp_entity_id"), acs,
				      np_config_str(&r->cfg, "saml.nameid_format"), relay, key, id, &err);
	free_keys(key, cert);
	if (!url)
		return np__reply_err(r, &err);
	double now = np_now();
	kv_expire(db, now);
	snprintf(rk, sizeof rk, "saml_req:%s", id);
	if (kv_put(db, rk, now + REQ_TTL) < 0) {
		free(url);
		return np__reply_error(r, 503, "unavailable", "unable to record the request");
	}
	size_t hl = strlen(url) + 16;
	char *hdr = malloc(hl);
	snprintf(hdr, hl, "Location: %s\r\n", url);
	free(url);
	int rc = np__reply_bytes(r, 302, "text/plain", "", 0, hdr);
	free(hdr);
	return rc;
}

static int refuse(struct np_req *r, const char *why)
{
	np_warn(NULL, "SAML login refused client=%s reason=%s", r->client, why);
	np__audit(r, "login", NULL, "method=saml", "failure");
	return np__reply_error(r, 403, "saml_rejected", "%s", why);
}

/* What a later LogoutRequest must name: kv "slo:<session id>" ->
 * {"n": NameID, "f": its Format, "i": SessionIndex}. Rows of sessions that
 * no longer exist are dropped on the way. */
static void remember_login(struct np_db *db, const char *sid, const struct np_saml_result *res)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "n", res->name_id, "f", res->name_id_format, "i", res->session_index);
	char *v = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (v)
		np_db_sessions_slo_put(db, sid, v);
	free(v);
}

int np__h_saml_acs(struct np_req *r)
{
	snprintf(r->actor, sizeof r->actor, "-");
	if (!saml_on(r))
		return np__reply_error(r, 409, "saml_disabled", "SAML SSO is not enabled");
	const char *ct = mg_get_header(r->c, "Content-Type");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return np__reply_error(r, 415, "unsupported_media_type", "the ACS takes an HTML form POST");
	if (r->ri->content_length > (2 << 20)) {
		mg_disable_connection_keep_alive(r->c);
		return np__reply_error(r, 413, "too_large", "the SAML response is too large");
	}
	size_t cap = 4 << 20, len = 0;
	char *body = malloc(cap);
	int n;
	while (body && len + 1 < cap && (n = mg_read(r->c, body + len, cap - len - 1)) > 0)
		len += (size_t)n;
	if (!body)
		return np__reply_error(r, 503, "unavailable", "out of memory");
	body[len] = 0;
	char *b64 = malloc(len + 1), relay[600] = "/";
	int got = b64 ? np_query_get(body, "SAMLResponse", b64, len + 1) : -1;
	/* RelayState comes back from the browser unsigned: checked again */
	if (np_query_get(body, "RelayState", relay, sizeof relay) < 0 || !np_saml_relay_ok(relay))
		snprintf(relay, sizeof relay, "/");
	free(body);
	if (got != 1) {
		free(b64);
		return refuse(r, "SAML: no SAMLResponse in the form");
	}
	struct np_err err = {0};
	size_t xl = 0;
	unsigned char *xml = np_b64_decode(b64, strlen(b64), &xl, &err);
	free(b64);
	if (!xml)
		return refuse(r, "SAML: SAMLResponse is not base64");
	char acs[1024];
	acs_url(r, acs, sizeof acs);
	const char *cert = np_config_str(&r->cfg, "saml.idp_cert_pem");
	struct np_saml_expect exp = {
	    .idp_cert_pem = cert ? cert : "",
	    .idp_entity_id = np_config_str(&r->cfg, "saml.idp_entity_id"),
	    .sp_entity_id = np_config_str(&r->cfg, "saml.sp_entity_id"),
	    .acs_url = acs,
	    .require_signed = np_config_bool(&r->cfg, "saml.require_signed_assertions"),
	    .now = np_now(),
	    .skew = SKEW,
	    .group_attribute = np_config_str(&r->cfg, "saml.group_attribute"),
	};
	struct np_saml_result res;
	int rc = np_saml_validate((const char *)xml, xl, &exp, &res, &err);
	free(xml);
	if (rc < 0)
		return refuse(r, err.msg);
	struct np_db *db = np__db(r->srv, &err);
	char k1[160], k2[160], k3[160];
	if (!db) {
		json_decref(res.groups);
		return np__reply_err(r, &err);
	}
	snprintf(k1, sizeof k1, "saml_seen:%s", res.response_id);
	snprintf(k2, sizeof k2, "saml_seen:%s", res.assertion_id);
	snprintf(k3, sizeof k3, "saml_req:%s", res.in_response_to);
	const char *why = NULL;
	if (kv_has(db, k1) || kv_has(db, k2))
		why = "SAML: this response was already used (replay)";
	else if (!res.in_response_to[0])
		why = "SAML: unsolicited responses are not accepted (start at /api/saml/login)";
	else if (!kv_take(db, k3, exp.now))
		why = "SAML: InResponseTo names no outstanding request of this agent";
	if (!why) {
		double keep = res.not_on_or_after + SKEW;
		kv_put(db, k1, keep);
		kv_put(db, k2, keep);
	}
	/* Roles from group claims. */
	const char *ag = np_config_str(&r->cfg, "saml.admin_group"), *ug = np_config_str(&r->cfg, "saml.user_group");
	int admin = 0, user = 0;
	size_t i;
	json_t *g;
	json_array_foreach (res.groups, i, g) {
		if (ag && *ag && !strcmp(json_string_value(g), ag))
			admin = 1;
		if (ug && *ug && !strcmp(json_string_value(g), ug))
			user = 1;
	}
	json_decref(res.groups);
	if (!why && !admin && ug && *ug && !user)
		why = "SAML: the user is in neither the Admin Group nor the User Group";
	snprintf(r->actor, sizeof r->actor, "%s", res.name_id);
	if (why)
		return refuse(r, why);
	char cookie[600], csrf[65];
	if (np__session_new(r, res.name_id, admin ? NP_ROLE_ADMIN : NP_ROLE_USER, "saml", cookie, sizeof cookie, csrf,
			    &err) < 0)
		return np__reply_err(r, &err);
	remember_login(db, r->sid, &res);
	np__audit(r, "login", NULL, "method=saml", "success");
	char hdr[1400];
	snprintf(hdr, sizeof hdr, "%sLocation: %s\r\n", cookie, relay);
	return np__reply_bytes(r, 303, "text/plain", "", 0, hdr);
}

int np__h_saml_fetch(struct np_req *r)
{
	char url[2048] = "";
	const char *ct = mg_get_header(r->c, "Content-Type");
	if (r->ri->content_length > 0 && ct && *ct) {
		json_t *b = np__body_json(r);
		if (!b)
			return 400;
		const char *u = json_string_value(json_object_get(b, "url"));
		if (u)
			snprintf(url, sizeof url, "%s", u);
		json_decref(b);
	}
	if (!url[0]) {
		const char *u = np_config_str(&r->cfg, "saml.idp_metadata_url");
		snprintf(url, sizeof url, "%s", u ? u : "");
	}
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return np__reply_error(r, 400, "bad_request", "url (or saml.idp_metadata_url): an http(s) URL");
	struct np_buf b = {0};
	long code;
	int cc = np__fetch_small(url, 2 << 20, &b, &code);
	if (cc != 0 || code != 200 || !b.p) {
		free(b.p);
		return np__reply_error(r, 502, "metadata_unavailable",
				       "the IdP metadata could not be fetched (curl %d, HTTP %ld)", cc, code);
	}
	struct np_err err = {0};
	json_t *md = np_saml_idp_metadata(b.p, b.len, &err);
	free(b.p);
	if (!md)
		return np__reply_error(r, 502, "metadata_invalid", "%s", err.msg);
	return np__reply_json(r, 200, md);
}

char *np__saml_logout(struct np_req *r, const char *sid, const char *relay)
{
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db || !sid || !sid[0])
		return NULL;
	char *v = np_db_sessions_slo_take(db, sid);
	json_t *j = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	const char *slo = np_config_str(&r->cfg, "saml.idp_slo_url");
	if (!j || !saml_on(r) || !slo || strncmp(slo, "http", 4)) {
		json_decref(j);
		return NULL;
	}
	char *key, *cert, id[40], rk[64];
	char *url = NULL;
	if (sp_keys(r, &key, &cert, &err) == 0) {
		struct np_saml_logout lo = {
		    .idp_slo_url = slo,
		    .sp_entity_id = np_config_str(&r->cfg, "saml.sp_entity_id"),
		    .name_id = json_string_value(json_object_get(j, "n")),
		    .name_id_format = json_string_value(json_object_get(j, "f")),
		    .session_index = json_string_value(json_object_get(j, "i")),
		    .relay = np_saml_relay_ok(relay) ? relay : "/",
		    .sp_key_pem = key,
		};
		if (lo.name_id)
			url = np_saml_logout_url(&lo, id, &err);
		free_keys(key, cert);
	}
	json_decref(j);
	if (url) {
		double now = np_now();
		kv_expire(db, now);
		snprintf(rk, sizeof rk, "saml_lreq:%s", id);
		if (kv_put(db, rk, now + REQ_TTL) < 0) {
			free(url);
			url = NULL;
		}
	}
	if (!url)
		np_warn(NULL, "SAML logout request not sent (local session ended): %s", err.msg[0] ? err.msg : "-");
	return url;
}

static int slo_refuse(struct np_req *r, const char *what, const char *why)
{
	np_warn(NULL, "SAML logout %s refused client=%s reason=%s", what, r->client, why);
	np__audit(r, "logout", NULL, "method=saml_slo", "failure");
	return np__reply_error(r, 403, "saml_rejected", "%s", why);
}

/* End the SAML sessions of name_id (only those of the SessionIndexes when
 * the request names some), found through the kv rows remember_login wrote.
 * Returns how many sessions ended, or -1. */
struct slo_match {
	const struct np_saml_logout_in *req;
	json_t *sids;
};

static void slo_match(void *arg, const char *sid, const char *value)
{
	struct slo_match *m = arg;
	json_t *j = json_loads(value, 0, NULL);
	const char *n = json_string_value(json_object_get(j, "n")), *i = json_string_value(json_object_get(j, "i"));
	int hit = n && !strcmp(n, m->req->name_id) && m->req->n_index == 0;
	for (int k = 0; n && !strcmp(n, m->req->name_id) && k < m->req->n_index; k++)
		hit |= i && !strcmp(i, m->req->session_index[k]);
	if (hit)
		json_array_append_new(m->sids, json_string(sid));
	json_decref(j);
}

static int end_sessions(struct np_db *db, const struct np_saml_logout_in *req)
{
	struct slo_match m = {req, json_array()};
	if (np_db_sessions_slo_each(db, slo_match, &m) < 0) {
		json_decref(m.sids);
		return -1;
	}
	int ended = 0;
	size_t k;
	json_t *v;
	json_array_foreach (m.sids, k, v) {
		ended += np_db_sessions_end_saml(db, json_string_value(v));
		free(np_db_sessions_slo_take(db, json_string_value(v)));
	}
	json_decref(m.sids);
	return ended;
}

/* What a logout message from the IdP must match: its certificate and
 * entity id, now, and our SLO address (filled into slo). */
static struct np_saml_expect slo_expect(struct np_req *r, char *slo, size_t slosz)
{
	slo_url(r, slo, slosz);
	const char *cert = np_config_str(&r->cfg, "saml.idp_cert_pem");
	return (struct np_saml_expect){
	    .idp_cert_pem = cert ? cert : "",
	    .idp_entity_id = np_config_str(&r->cfg, "saml.idp_entity_id"),
	    .now = np_now(),
	    .skew = SKEW,
	};
}

/* IdP-initiated logout (HTTP-Redirect LogoutRequest): verified like a
 * LogoutResponse (signature with the IdP certificate first), used once; the
 * NameID's sessions end and the browser goes back to the IdP with a
 * LogoutResponse signed with the SP key. */
static int idp_logout(struct np_req *r)
{
	const char *idp_slo = np_config_str(&r->cfg, "saml.idp_slo_url");
	if (!idp_slo || strncmp(idp_slo, "http", 4))
		return np__reply_error(r, 409, "saml_not_configured",
				       "saml.idp_slo_url is not set: no way to answer the IdP's logout request");
	char slo[1024];
	struct np_saml_expect exp = slo_expect(r, slo, sizeof slo);
	struct np_saml_logout_in *req = malloc(sizeof *req);
	struct np_err err = {0};
	if (!req)
		return np__reply_error(r, 503, "busy", "out of memory");
	if (np_saml_logout_request_in(r->query, &exp, slo, req, &err) < 0) {
		free(req);
		return slo_refuse(r, "request", err.msg);
	}
	struct np_db *db = np__db(r->srv, &err);
	if (!db) {
		free(req);
		return np__reply_err(r, &err);
	}
	char k[160];
	snprintf(k, sizeof k, "saml_seen:%s", req->id);
	kv_expire(db, exp.now);
	if (kv_has(db, k)) {
		free(req);
		return slo_refuse(r, "request", "SAML: this logout request was already used (replay)");
	}
	kv_put(db, k, exp.now + NP_SAML_LOGOUT_MAX_AGE + 2 * SKEW);
	int ended = end_sessions(db, req);
	snprintf(r->actor, sizeof r->actor, "%s", req->name_id);
	char *key, *spcert, id[40], *url = NULL;
	if (sp_keys(r, &key, &spcert, &err) == 0) {
		struct np_saml_logout lo = {
		    .idp_slo_url = idp_slo,
		    .sp_entity_id = np_config_str(&r->cfg, "saml.sp_entity_id"),
		    .relay = req->has_relay ? req->relay : NULL,
		    .sp_key_pem = key,
		};
		url = np_saml_logout_response_url(&lo, req->id, ended >= 0, id, &err);
		free_keys(key, spcert);
	}
	free(req);
	char detail[64];
	snprintf(detail, sizeof detail, "method=saml_idp_slo sessions=%d", ended < 0 ? 0 : ended);
	np_info(NULL, "SAML logout requested by the IdP client=%s sessions_ended=%d", r->client, ended < 0 ? 0 : ended);
	np__audit(r, "logout", NULL, detail, ended >= 0 ? "success" : "failure");
	if (!url)
		return np__reply_err(r, &err);
	/* This browser is the user's: its cookies go as well. */
	size_t hl = strlen(url) + 200;
	char *hdr = malloc(hl);
	int rc = 500;
	if (hdr) {
		snprintf(hdr, hl,
			 "Set-Cookie: np_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n"
			 "Set-Cookie: np_csrf=; Path=/; SameSite=Strict; Max-Age=0\r\nLocation: %s\r\n",
			 url);
		rc = np__reply_bytes(r, 302, "text/plain", "", 0, hdr);
	}
	free(hdr);
	free(url);
	return rc;
}

int np__h_saml_slo(struct np_req *r)
{
	snprintf(r->actor, sizeof r->actor, "-");
	if (!saml_on(r))
		return np__reply_error(r, 409, "saml_disabled", "SAML SSO is not enabled");
	char probe[8];
	if (np_query_get(r->query, "SAMLRequest", probe, sizeof probe) != 0)
		return idp_logout(r);
	if (np_query_get(r->query, "SAMLResponse", probe, sizeof probe) == 0)
		return np__reply_error(
		    r, 400, "bad_request",
		    "SAMLResponse or SAMLRequest: a LogoutResponse or LogoutRequest by HTTP-Redirect");
	char slo[1024];
	struct np_saml_expect exp = slo_expect(r, slo, sizeof slo);
	struct np_saml_logout_result res;
	struct np_err err = {0};
	if (np_saml_logout_response(r->query, &exp, slo, &res, &err) < 0)
		return slo_refuse(r, "response", err.msg);
	struct np_db *db = np__db(r->srv, &err);
	if (!db)
		return np__reply_err(r, &err);
	char k[160];
	snprintf(k, sizeof k, "saml_lreq:%s", res.in_response_to);
	if (!kv_take(db, k, exp.now))
		return slo_refuse(r, "response",
				  "SAML: InResponseTo names no outstanding logout request of this agent");
	if (!np_saml_relay_ok(res.relay))
		snprintf(res.relay, sizeof res.relay, "/");
	np_info(NULL, "SAML single logout completed client=%s idp_status=%s", r->client,
		res.success ? "success" : "partial");
	np__audit(r, "logout", NULL, "method=saml_slo", res.success ? "success" : "partial");
	char hdr[700];
	snprintf(hdr, sizeof hdr, "Location: %s\r\n", res.relay);
	return np__reply_bytes(r, 303, "text/plain", "", 0, hdr);
}
