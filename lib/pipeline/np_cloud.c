// SPDX-License-Identifier: Apache-2.0
#include "np_cloud.h"

#include "np_config.h"
#include "np_crypto.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_http.h"
#include "np_json.h"
#include "np_log.h"
#include "np_password.h"
#include "np_spool.h"
#include "np_util.h"
#include "np_zip.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct np_cloud {
	char proto[4];
	char base[2048];
	char origin[128];
	char home[PATH_MAX];
	char *api_key;	/* v1 */
	char *user;	/* v2 */
	char *password; /* v2 */
	struct np_http *http;
	int connected;
	char conn_id[128];     /* v1 session */
	unsigned char aes[16]; /* v1 session key */
	char token[4096];      /* v2 bearer */
	long token_status;     /* HTTP status of the last v2 token request */
};

static void free_secret(char *s)
{
	if (s) {
		np_crypto_wipe(s, strlen(s));
		free(s);
	}
}

int np_cloud_configured(const struct np_config *cfg)
{
	const char *u = np_config_str(cfg, "cloud.api_url");
	return u && *u;
}

int np_cloud_credentials_here(const struct np_config *cfg)
{
	const char *proto = np_config_str(cfg, "cloud.protocol");
	return np_config_secret_readable(cfg->home,
					 proto && !strcmp(proto, "v2") ? NP_SVCPW_SECRET : "cloud.api_key") >= 0;
}

const char *np_cloud_protocol(const struct np_cloud *cl)
{
	return cl->proto;
}

/* A client; password (v2) replaces the secret cloud.service_password when
 * not NULL (np_cloud_verify_password). */
static struct np_cloud *cloud_new(const struct np_config *cfg, const char *password, struct np_err *err)
{
	if (!np_cloud_configured(cfg)) {
		np_err_set(err, NP_ERR_PERM, "cloud not configured (cloud.api_url is empty)");
		return NULL;
	}
	struct np_cloud *cl = calloc(1, sizeof *cl);
	if (!cl) {
		np_err_sys(err, ENOMEM, "unable to start the cloud client");
		return NULL;
	}
	snprintf(cl->proto, sizeof cl->proto, "%s", np_config_str(cfg, "cloud.protocol"));
	snprintf(cl->base, sizeof cl->base, "%s", np_config_str(cfg, "cloud.api_url"));
	size_t bl = strlen(cl->base);
	while (bl && cl->base[bl - 1] == '/')
		cl->base[--bl] = 0;
	snprintf(cl->origin, sizeof cl->origin, "%s", np_config_str(cfg, "cloud.origin_type"));
	snprintf(cl->home, sizeof cl->home, "%s", cfg->home);
	struct np_err e2 = {0};
	if (!strcmp(cl->proto, "v2")) {
		cl->user = strdup(np_config_str(cfg, "cloud.service_user"));
		cl->password = password ? strdup(password) : np_config_secret(cfg->home, "cloud.service_password", &e2);
		if (!cl->password || !cl->user || !*cl->user) {
			np_err_set(err, NP_ERR_PERM,
				   "cloud protocol v2 needs cloud.service_user and cloud.service_password%s%s",
				   e2.msg[0] ? ": " : "", e2.msg);
			np_cloud_close(cl);
			return NULL;
		}
	} else {
		cl->api_key = np_config_secret(cfg->home, "cloud.api_key", &e2);
		if (!cl->api_key || !*cl->api_key) {
			np_err_set(err, NP_ERR_PERM, "cloud protocol v1 needs the secret cloud.api_key%s%s",
				   e2.msg[0] ? ": " : "", e2.msg);
			np_cloud_close(cl);
			return NULL;
		}
	}
	const char *ca = np_config_str(cfg, "cloud.ca_file");
	struct np_http_opts o = {.ca_file = ca,
				 .connect_timeout = np_config_int(cfg, "cloud.connect_timeout_seconds"),
				 .stall_timeout = np_config_int(cfg, "cloud.stall_timeout_seconds")};
	if (!(cl->http = np_http_new(&o, err))) {
		np_cloud_close(cl);
		return NULL;
	}
	return cl;
}

struct np_cloud *np_cloud_open(const struct np_config *cfg, struct np_err *err)
{
	return cloud_new(cfg, NULL, err);
}

void np_cloud_close(struct np_cloud *cl)
{
	if (!cl)
		return;
	np_http_free(cl->http);
	free_secret(cl->api_key);
	free_secret(cl->password);
	free(cl->user);
	np_crypto_wipe(cl, sizeof *cl);
	free(cl);
}

/* The server's {"error": "..."} text (plain JSON on every failure), made
 * printable and bounded; "" when the body has none. */
static void server_error(const struct np_http_resp *r, char *out, size_t outsz)
{
	out[0] = 0;
	json_t *j = r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *m = j ? np_json_str(j, "error", NULL) : NULL;
	if (!m && j)
		m = np_json_str(j, "message", NULL);
	if (m) {
		size_t i = 0;
		for (; m[i] && i + 1 < outsz; i++)
			out[i] = isprint((unsigned char)m[i]) ? m[i] : '?';
		out[i] = 0;
	}
	json_decref(j);
}

static int fail_status(const char *call, const struct np_http_resp *r, struct np_err *err)
{
	char msg[300];
	server_error(r, msg, sizeof msg);
	enum np_err_class cls = r->status >= 500 || r->status == 429 || r->status == 408 ? NP_ERR_TEMP : NP_ERR_PERM;
	return np_err_set(err, cls, "%s: HTTP %ld%s%s", call, r->status, msg[0] ? ": " : "", msg);
}

/* A 4xx that says the session is gone (unknown status codes and texts: the
 * v1 error statuses are not public, so match both). */
static int session_expired(const struct np_http_resp *r)
{
	if (r->status == 401 || r->status == 419 || r->status == 440)
		return 1;
	if (r->status < 400 || r->status >= 500)
		return 0;
	char msg[300];
	server_error(r, msg, sizeof msg);
	for (char *p = msg; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return strstr(msg, "connection") || strstr(msg, "session") || strstr(msg, "expired") || strstr(msg, "token");
}

static int bucket_not_found(const struct np_http_resp *r)
{
	char msg[300];
	server_error(r, msg, sizeof msg);
	return r->status >= 400 && strstr(msg, "Bucket not found") != NULL;
}

/* ---------------- v1: encrypted session ---------------- */

static int v1_connect(struct np_cloud *cl, struct np_err *err)
{
	char url[2200], hdr_origin[200], hdr_key[1200];
	snprintf(hdr_origin, sizeof hdr_origin, "Origin-Type: %s", cl->origin);
	const char *h1[] = {hdr_origin, NULL};
	snprintf(url, sizeof url, "%s/api/getPubKey/", cl->base);
	struct np_http_req req = {
	    .method = "GET", .url = url, .headers = h1, .response_fd = -1, .max_response = 1 << 20};
	struct np_http_resp r;
	if (np_http_do(cl->http, &req, &r, err) < 0)
		return np_http_resp_free(&r), -1;
	if (r.status != 200) {
		fail_status("getPubKey", &r, err);
		return np_http_resp_free(&r), -1;
	}
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	np_http_resp_free(&r);
	const char *pem = j ? np_json_str(j, "pub_key", NULL) : NULL;
	if (!pem) {
		json_decref(j);
		return np_err_set(err, NP_ERR_TEMP, "getPubKey: reply has no pub_key");
	}
	unsigned char key[16];
	char *kb64 = NULL, *ct = NULL;
	int rc = -1;
	if (np_random(key, sizeof key, err) < 0 || !(kb64 = np_b64_encode(key, sizeof key, err)))
		goto done;
	char pt[64];
	int ptl = snprintf(pt, sizeof pt, "{\"aes_key\":\"%s\"}", kb64);
	ct = np_rsa_oaep_b64(pem, pt, (size_t)ptl, err);
	np_crypto_wipe(pt, sizeof pt);
	if (!ct)
		goto done;
	snprintf(url, sizeof url, "%s/api/connect/", cl->base);
	snprintf(hdr_key, sizeof hdr_key, "X-Api-Key: %s", cl->api_key);
	const char *h2[] = {"Content-Type: text/plain", hdr_origin, hdr_key, NULL};
	struct np_http_req req2 = {.method = "POST",
				   .url = url,
				   .headers = h2,
				   .body = ct,
				   .body_len = strlen(ct),
				   .response_fd = -1,
				   .max_response = 1 << 20};
	int hr = np_http_do(cl->http, &req2, &r, err);
	np_crypto_wipe(hdr_key, sizeof hdr_key);
	if (hr < 0) {
		np_http_resp_free(&r);
		goto done;
	}
	if (r.status < 200 || r.status > 299) {
		fail_status("connect", &r, err);
		np_http_resp_free(&r);
		goto done;
	}
	json_t *cj = json_loadb(r.body, r.len, 0, NULL);
	np_http_resp_free(&r);
	const char *cid = cj ? np_json_str(cj, "connectionId", NULL) : NULL;
	if (!cid || !*cid || strlen(cid) >= sizeof cl->conn_id) {
		json_decref(cj);
		np_err_set(err, NP_ERR_TEMP, "connect: reply has no connectionId");
		goto done;
	}
	snprintf(cl->conn_id, sizeof cl->conn_id, "%s", cid);
	json_decref(cj);
	memcpy(cl->aes, key, sizeof key);
	cl->connected = 1;
	rc = 0;
done:
	np_crypto_wipe(key, sizeof key);
	if (kb64) {
		np_crypto_wipe(kb64, strlen(kb64));
		free(kb64);
	}
	free(ct);
	json_decref(j);
	return rc;
}

/* One v1 API call with the session headers. body (borrowed, may be NULL)
 * is JSON-encoded and encrypted; want is the expected status (0: any 2xx).
 * With out, the reply is decrypted into *out (malloc'd) and *outlen. */
static int v1_call(struct np_cloud *cl, const char *method, const char *name, json_t *body, long want, int binary,
		   unsigned char **out, size_t *outlen, long *status, struct np_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!cl->connected && v1_connect(cl, err) < 0)
			return -1;
		char url[2200], ho[200], hc[200];
		snprintf(url, sizeof url, "%s/api/%s/", cl->base, name);
		snprintf(ho, sizeof ho, "Origin-Type: %s", cl->origin);
		snprintf(hc, sizeof hc, "Connection-Id: %s", cl->conn_id);
		const char *hs[] = {"Content-Type: text/plain", ho, hc, NULL};
		char *blob = NULL;
		if (body) {
			char *js = json_dumps(body, JSON_COMPACT);
			if (!js)
				return np_err_sys(err, ENOMEM, "%s: unable to encode the request", name);
			blob = np_blob_encrypt(cl->aes, NULL, js, strlen(js), err);
			free(js);
			if (!blob)
				return -1;
		}
		struct np_http_req req = {.method = method,
					  .url = url,
					  .headers = hs,
					  .body = blob,
					  .body_len = blob ? strlen(blob) : 0,
					  .response_fd = -1,
					  .max_response = 256u << 20};
		struct np_http_resp r;
		int hr = np_http_do(cl->http, &req, &r, err);
		free(blob);
		if (hr < 0) {
			np_http_resp_free(&r);
			return -1;
		}
		if (status)
			*status = r.status;
		int okst = want ? r.status == want : (r.status >= 200 && r.status <= 299);
		if (!okst) {
			if (attempt == 0 && session_expired(&r)) {
				np_http_resp_free(&r);
				np_info(NULL, "cloud session expired; reconnecting once call=%s", name);
				cl->connected = 0;
				continue;
			}
			if (bucket_not_found(&r) && status)
				*status = -404;
			fail_status(name, &r, err);
			np_http_resp_free(&r);
			return -1;
		}
		if (out) {
			*out = np_blob_decrypt(cl->aes, r.body, r.len, !binary, outlen, err);
			np_http_resp_free(&r);
			if (!*out) {
				np_err_set(err, NP_ERR_TEMP, "%s: reply is not an encrypted blob", name);
				return -1;
			}
			return 0;
		}
		np_http_resp_free(&r);
		return 0;
	}
	return np_err_set(err, NP_ERR_TEMP, "%s: session expired again after reconnecting", name);
}

/* v1 call whose reply is a JSON object; *reply new ref. */
static int v1_json(struct np_cloud *cl, const char *method, const char *name, json_t *body, long want, json_t **reply,
		   long *status, struct np_err *err)
{
	unsigned char *pt = NULL;
	size_t n = 0;
	if (v1_call(cl, method, name, body, want, 0, reply ? &pt : NULL, &n, status, err) < 0)
		return -1;
	if (!reply)
		return 0;
	*reply = json_loadb((const char *)pt, n, 0, NULL);
	free(pt);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return np_err_set(err, NP_ERR_TEMP, "%s: reply is not a JSON object", name);
	}
	return 0;
}

/* ---------------- v2: bearer REST ---------------- */

static int v2_token(struct np_cloud *cl, int force, struct np_err *err)
{
	if (!force) {
		char *cached = np_config_secret(cl->home, "cloud.token", NULL);
		json_t *c = cached ? json_loads(cached, 0, NULL) : NULL;
		if (cached)
			np_crypto_wipe(cached, strlen(cached));
		free(cached);
		const char *t = c ? np_json_str(c, "access_token", NULL) : NULL;
		double exp = c ? (double)np_json_int(c, "expires_at", 0) : 0;
		if (t && exp > np_now() + 60 && strlen(t) < sizeof cl->token) {
			snprintf(cl->token, sizeof cl->token, "%s", t);
			json_decref(c);
			cl->connected = 1;
			return 0;
		}
		json_decref(c);
	}
	char cred[1024];
	int cl_len = snprintf(cred, sizeof cred, "%s:%s", cl->user, cl->password);
	char *b = np_b64_encode(cred, (size_t)cl_len, err);
	np_crypto_wipe(cred, sizeof cred);
	if (!b)
		return -1;
	char url[2200], ha[1500], ho[200];
	snprintf(url, sizeof url, "%s/auth/token", cl->base);
	snprintf(ha, sizeof ha, "Authorization: Basic %s", b);
	np_crypto_wipe(b, strlen(b));
	free(b);
	snprintf(ho, sizeof ho, "Origin-Type: %s", cl->origin);
	const char *hs[] = {ha, ho, "Accept: application/json", NULL};
	struct np_http_req req = {
	    .method = "GET", .url = url, .headers = hs, .response_fd = -1, .max_response = 1 << 16};
	struct np_http_resp r;
	int hr = np_http_do(cl->http, &req, &r, err);
	np_crypto_wipe(ha, sizeof ha);
	cl->token_status = hr < 0 ? 0 : r.status;
	if (hr < 0)
		return np_http_resp_free(&r), -1;
	if (r.status != 200) {
		fail_status("auth/token", &r, err);
		return np_http_resp_free(&r), -1;
	}
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	np_crypto_wipe(r.body, r.len);
	np_http_resp_free(&r);
	const char *t = j ? np_json_str(j, "access_token", NULL) : NULL;
	if (!t || !*t || strlen(t) >= sizeof cl->token) {
		json_decref(j);
		return np_err_set(err, NP_ERR_TEMP, "auth/token: reply has no access_token");
	}
	snprintf(cl->token, sizeof cl->token, "%s", t);
	long long ttl = np_json_int(j, "expires_in", 3600);
	json_t *c = json_pack("{s:s, s:I}", "access_token", t, "expires_at", (json_int_t)(np_now() + (double)ttl));
	json_decref(j);
	/* a secret like the others: sealed under the privilege split */
	struct np_err e2 = {0};
	char *cs = json_dumps(c, JSON_COMPACT);
	if (!cs || np_config_secret_set(cl->home, "cloud.token", cs, &e2) < 0)
		np_warn(NULL, "unable to cache the cloud token: %s", cs ? e2.msg : "no memory");
	if (cs)
		np_crypto_wipe(cs, strlen(cs));
	free(cs);
	json_decref(c);
	cl->connected = 1;
	return 0;
}

/* One v2 call. body (borrowed) is sent as JSON. Reply: *reply (JSON) or the
 * raw bytes to fd. */
static int v2_call(struct np_cloud *cl, const char *method, const char *path, json_t *body, json_t **reply, int fd,
		   long *status, struct np_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!cl->connected && v2_token(cl, attempt > 0, err) < 0)
			return -1;
		char url[4200], ha[4200], ho[200];
		snprintf(url, sizeof url, "%s%s", cl->base, path);
		snprintf(ha, sizeof ha, "Authorization: Bearer %s", cl->token);
		snprintf(ho, sizeof ho, "Origin-Type: %s", cl->origin);
		const char *hs[] = {ha, ho, "Content-Type: application/json", "Accept: application/json", NULL};
		char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
		struct np_http_req req = {.method = method,
					  .url = url,
					  .headers = hs,
					  .body = js,
					  .body_len = js ? strlen(js) : 0,
					  .response_fd = -1,
					  .max_response = 256u << 20};
		struct np_http_resp r;
		int hr = np_http_do(cl->http, &req, &r, err);
		free(js);
		np_crypto_wipe(ha, sizeof ha);
		if (hr < 0)
			return np_http_resp_free(&r), -1;
		if (status)
			*status = r.status;
		if (r.status < 200 || r.status > 299) {
			if (attempt == 0 && r.status == 401) {
				np_http_resp_free(&r);
				np_info(NULL, "cloud token rejected; requesting a new one once");
				cl->connected = 0;
				continue;
			}
			if (bucket_not_found(&r) && status)
				*status = -404;
			fail_status(path, &r, err);
			return np_http_resp_free(&r), -1;
		}
		int rc = 0;
		if (fd >= 0) {
			size_t off = 0;
			while (off < r.len) {
				ssize_t w = write(fd, r.body + off, r.len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = np_err_sys(err, errno, "unable to write the %s reply", path);
					break;
				}
				off += (size_t)w;
			}
		} else if (reply) {
			*reply = r.len ? json_loadb(r.body, r.len, 0, NULL) : json_object();
			if (!json_is_object(*reply)) {
				json_decref(*reply);
				*reply = NULL;
				rc = np_err_set(err, NP_ERR_TEMP, "%s: reply is not a JSON object", path);
			}
		}
		np_http_resp_free(&r);
		return rc;
	}
	return np_err_set(err, NP_ERR_TEMP, "%s: token rejected again after refreshing it", path);
}

static int is_v2(const struct np_cloud *cl)
{
	return !strcmp(cl->proto, "v2");
}

int np_cloud_reconnect(struct np_cloud *cl, struct np_err *err)
{
	cl->connected = 0;
	return is_v2(cl) ? v2_token(cl, 1, err) : v1_connect(cl, err);
}

static void url_escape(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *in && o + 4 < outsz; in++) {
		unsigned char c = (unsigned char)*in;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = 0;
}

int np_cloud_new_order(struct np_cloud *cl, json_t *metadata, char order_id[64], struct np_err *err)
{
	json_t *rep = NULL;
	int rc;
	const char *id;
	if (is_v2(cl)) {
		json_t *empty = json_object();
		rc = v2_call(cl, "POST", "/new-order", metadata ? metadata : empty, &rep, -1, NULL, err);
		json_decref(empty);
		id = rep ? np_json_str(rep, "order_id", NULL) : NULL;
	} else {
		rc = v1_json(cl, "GET", "newJob", NULL, 201, &rep, NULL, err);
		id = rep ? np_json_str(rep, "orderId", NULL) : NULL;
	}
	if (rc < 0)
		return -1;
	if (!id || !*id || strlen(id) >= 64 || strpbrk(id, "/\\ \"?&#%")) {
		json_decref(rep);
		return np_err_set(err, NP_ERR_TEMP, "new order: reply has no usable order id");
	}
	snprintf(order_id, 64, "%s", id);
	json_decref(rep);
	return 0;
}

/* The PUT body, pulled by np_http from the ZIP stream. */
struct body {
	struct np_zip *zip;
	struct np_err err;
	int failed;
};

static long body_read(void *ud, char *buf, size_t n)
{
	struct body *b = ud;
	long r = np_zip_read(b->zip, buf, n, &b->err);
	if (r <= 0)
		b->failed = 1; /* 0: more bytes asked than the Content-Length said */
	return r;
}

static int put_zip(struct np_cloud *cl, const char *url, struct np_zip *zip, char etag[256], struct np_err *err)
{
	if (np_zip_rewind(zip, err) < 0)
		return -1;
	struct body b = {.zip = zip};
	struct np_http_req req = {.method = "PUT",
				  .url = url,
				  .upload_read = body_read,
				  .upload_ud = &b,
				  .upload_len = np_zip_size(zip),
				  .response_fd = -1,
				  .max_response = 1 << 20};
	struct np_http_resp r;
	int rc = np_http_do(cl->http, &req, &r, err);
	if (b.failed) { /* the ZIP's own error says more than the aborted transfer */
		if (b.err.cls)
			*err = b.err;
		else
			np_err_set(err, NP_ERR_PERM, "the ZIP stream ended before its planned size");
		rc = -1;
	}
	if (rc == 0 && (r.status < 200 || r.status > 299))
		rc = fail_status("PUT presigned URL", &r, err);
	if (rc == 0 && !np_zip_sha(zip)) /* the server answered before the whole body went out */
		rc = np_err_set(err, NP_ERR_TEMP, "PUT presigned URL: answered before the whole ZIP was sent");
	if (rc == 0 && !r.etag[0])
		rc = np_err_set(err, NP_ERR_TEMP, "Etag header not present in AWS response.");
	if (rc == 0)
		snprintf(etag, 256, "%s", r.etag);
	np_http_resp_free(&r);
	return rc;
}

int np_cloud_upload_zip(struct np_cloud *cl, const char *order_id, int zip_index, int final, struct np_zip *zip,
			char etag[256], struct np_err *err)
{
	char zi[16];
	snprintf(zi, sizeof zi, "%d", zip_index);
	json_t *rep = NULL;
	if (is_v2(cl)) {
		json_t *b = json_pack("{s:s, s:i, s:I}", "order_id", order_id, "zip_index", zip_index, "size",
				      (json_int_t)np_zip_size(zip));
		int rc = v2_call(cl, "POST", "/upload/multipart/initiate", b, &rep, -1, NULL, err);
		json_decref(b);
		if (rc < 0)
			return -1;
		char upload_id[512];
		snprintf(upload_id, sizeof upload_id, "%s", np_json_str(rep, "upload_id", ""));
		json_decref(rep);
		if (!upload_id[0])
			return np_err_set(err, NP_ERR_TEMP, "multipart initiate: reply has no upload_id");
		b = json_pack("{s:s, s:s, s:i, s:i}", "order_id", order_id, "upload_id", upload_id, "zip_index",
			      zip_index, "parts", 1);
		rc = v2_call(cl, "POST", "/upload/multipart/presigned-urls", b, &rep, -1, NULL, err);
		json_decref(b);
		if (rc < 0)
			return -1;
		const char *u = np_json_str(rep, "urls.0.url", NULL);
		if (!u) {
			json_decref(rep);
			return np_err_set(err, NP_ERR_TEMP, "presigned-urls: reply has no URL");
		}
		rc = put_zip(cl, u, zip, etag, err);
		json_decref(rep);
		if (rc < 0)
			return -1;
		b = json_pack("{s:s, s:s, s:i, s:[{s:i, s:s}], s:b}", "order_id", order_id, "upload_id", upload_id,
			      "zip_index", zip_index, "parts", "part_number", 1, "etag", etag, "final_part", final);
		rc = v2_call(cl, "POST", "/upload/multipart/complete", b, &rep, -1, NULL, err);
		json_decref(b);
		json_decref(rep);
		return rc;
	}
	json_t *b = json_pack("{s:s, s:s, s:s}", "datasetId", order_id, "zipIndex", zi, "orderId", order_id);
	int rc = v1_json(cl, "POST", "multipartUploadRequest", b, 0, &rep, NULL, err);
	json_decref(b);
	if (rc < 0)
		return -1;
	char upload_id[1024];
	snprintf(upload_id, sizeof upload_id, "%s", np_json_str(rep, "uploadId", ""));
	json_decref(rep);
	if (!upload_id[0])
		return np_err_set(err, NP_ERR_TEMP, "multipartUploadRequest: reply has no uploadId");
	/* PY/JV numbering: zipIndex i, PartNumber i+1, the whole ZIP as one part. */
	char pn[16];
	snprintf(pn, sizeof pn, "%d", zip_index + 1);
	b = json_pack("{s:s, s:s, s:s, s:s, s:s}", "datasetId", order_id, "uploadId", upload_id, "partNumber", pn,
		      "zipIndex", zi, "orderId", order_id);
	rc = v1_json(cl, "POST", "multipartPresignedUrl", b, 0, &rep, NULL, err);
	json_decref(b);
	if (rc < 0)
		return -1;
	const char *u = np_json_str(rep, "presignedUrl", NULL);
	if (!u) {
		json_decref(rep);
		return np_err_set(err, NP_ERR_TEMP, "Presigned URL not present in AWS response.");
	}
	rc = put_zip(cl, u, zip, etag, err);
	json_decref(rep);
	if (rc < 0)
		return -1;
	b = json_pack("{s:s, s:s, s:s, s:[{s:i, s:s}], s:s, s:i}", "datasetId", order_id, "zipIndex", zi, "uploadId",
		      upload_id, "uploadParts", "PartNumber", zip_index + 1, "ETag", etag, "orderId", order_id,
		      "finalPart", final ? 1 : 0);
	rc = v1_call(cl, "POST", "completeMultipartUpload", b, 0, 0, NULL, NULL, NULL, err);
	json_decref(b);
	return rc;
}

int np_cloud_run_job(struct np_cloud *cl, const char *order_id, const char *product, struct np_err *err)
{
	if (is_v2(cl))
		return 0;
	json_t *b = json_pack("{s:s, s:s}", "orderId", order_id, "productName", product);
	int rc = v1_call(cl, "POST", "runJob", b, 202, 0, NULL, NULL, NULL, err);
	json_decref(b);
	return rc;
}

static void copy_info(char *dst, size_t dstsz, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < dstsz; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[i] = 0;
}

int np_cloud_status(struct np_cloud *cl, const char *order_id, struct np_cloud_status *st, struct np_err *err)
{
	memset(st, 0, sizeof *st);
	json_t *rep = NULL;
	long status = 0;
	int rc;
	if (is_v2(cl)) {
		char q[300], path[400];
		url_escape(order_id, q, sizeof q);
		snprintf(path, sizeof path, "/status?order_id=%s", q);
		rc = v2_call(cl, "GET", path, NULL, &rep, -1, &status, err);
	} else {
		json_t *b = json_pack("{s:s}", "orderId", order_id);
		rc = v1_json(cl, "POST", "checkStatus", b, 0, &rep, &status, err);
		json_decref(b);
	}
	if (rc < 0) {
		if (status == -404) {
			snprintf(st->state, sizeof st->state, "%s", NP_ORDER_EXPIRED);
			copy_info(st->info, sizeof st->info, "Bucket not found.");
			np_err_clear(err);
			return 0;
		}
		return -1;
	}
	st->progress = (int)np_json_int(rep, "progress", 0);
	if (st->progress < 0)
		st->progress = 0;
	if (st->progress > 100)
		st->progress = 100;
	copy_info(st->info, sizeof st->info, np_json_str(rep, "info", ""));
	const char *s = NP_ORDER_QUEUED;
	if (is_v2(cl)) {
		const char *v = np_json_str(rep, "status", "");
		static const struct {
			const char *wire, *ui;
		} map[] = {{"QUEUED", NP_ORDER_QUEUED},		{"PENDING", NP_ORDER_QUEUED},
			   {"UPLOADING", NP_ORDER_UPLOADING},	{"DX_STARTED", NP_ORDER_PROCESSING},
			   {"PROCESSING", NP_ORDER_PROCESSING}, {"COMPLETED", NP_ORDER_COMPLETED},
			   {"DELIVERED", NP_ORDER_COMPLETED},	{"FAILED", NP_ORDER_FAILED},
			   {"EXPIRED", NP_ORDER_EXPIRED},	{"CANCELLED", NP_ORDER_CANCELLED}};
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (!strcasecmp(v, map[i].wire))
				s = map[i].ui;
	} else {
		if (np_json_bool(rep, "failed", 0))
			s = NP_ORDER_FAILED;
		else if (np_json_bool(rep, "finished", 0))
			s = NP_ORDER_COMPLETED;
		else if (np_json_bool(rep, "started", 0))
			s = NP_ORDER_PROCESSING;
	}
	if (!strcmp(s, NP_ORDER_COMPLETED))
		st->progress = 100;
	snprintf(st->state, sizeof st->state, "%s", s);
	json_decref(rep);
	return 0;
}

static int open_tmp_for(const char *path, char *tmp, size_t tmpsz, struct np_err *err)
{
	snprintf(tmp, tmpsz, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to create %s", tmp);
	return fd;
}

static int finish_tmp(int fd, const char *tmp, const char *path, int ok, struct np_err *err)
{
	if (ok && fsync(fd) < 0)
		ok = np_err_sys(err, errno, "unable to fsync %s", tmp) + 1;
	close(fd);
	if (!ok) {
		unlink(tmp);
		return -1;
	}
	return np_rename_durable(tmp, path, err);
}

static int v2_download(struct np_cloud *cl, const char *what, const char *order_id, const char *format,
		       const char *path, struct np_err *err)
{
	char q[300], f[64], p[600], tmp[PATH_MAX + 32];
	url_escape(order_id, q, sizeof q);
	url_escape(format, f, sizeof f);
	snprintf(p, sizeof p, "/%s?order_id=%s&report_type=%s", what, q, f);
	int fd = open_tmp_for(path, tmp, sizeof tmp, err);
	if (fd < 0)
		return -1;
	int rc = v2_call(cl, "GET", p, NULL, NULL, fd, NULL, err);
	return finish_tmp(fd, tmp, path, rc == 0, err);
}

int np_cloud_result(struct np_cloud *cl, const char *order_id, const char *format, const char *path, struct np_err *err)
{
	static const char *const v1fmt[] = {"txt", "xml", "json", "png", "features", NULL};
	if (is_v2(cl))
		return v2_download(cl, "results", order_id, format, path, err);
	int known = 0;
	for (int i = 0; v1fmt[i]; i++)
		known |= !strcmp(v1fmt[i], format);
	if (!known)
		return 1;
	json_t *b = json_pack("{s:s, s:s}", "orderId", order_id, "format", format);
	unsigned char *data = NULL;
	size_t n = 0;
	int rc = v1_call(cl, "POST", "getResults", b, 0, !strcmp(format, "png"), &data, &n, NULL, err);
	json_decref(b);
	if (rc < 0)
		return -1;
	rc = np_write_atomic(path, data, n, 0640, err);
	free(data);
	return rc;
}

int np_cloud_failure_report(struct np_cloud *cl, const char *order_id, const char *format, const char *path,
			    struct np_err *err)
{
	if (!is_v2(cl))
		return 1;
	return v2_download(cl, "failure-report", order_id, format, path, err);
}

int np_cloud_qc_check(struct np_cloud *cl, const char *order_id, const char *format, char **out, struct np_err *err)
{
	*out = NULL;
	if (is_v2(cl))
		return 1;
	json_t *b = json_pack("{s:s, s:s}", "orderId", order_id, "format", format);
	unsigned char *data = NULL;
	size_t n = 0;
	int rc = v1_call(cl, "POST", "qcCheck", b, 0, 0, &data, &n, NULL, err);
	json_decref(b);
	*out = (char *)data;
	return rc;
}

int np_cloud_cancel(struct np_cloud *cl, const char *order_id, struct np_err *err)
{
	if (!is_v2(cl))
		return 1;
	json_t *b = json_pack("{s:s}", "order_id", order_id), *rep = NULL;
	int rc = v2_call(cl, "PATCH", "/cancel-order", b, &rep, -1, NULL, err);
	json_decref(b);
	json_decref(rep);
	return rc;
}

int np_cloud_list_orders(struct np_cloud *cl, json_t **out, struct np_err *err)
{
	*out = NULL;
	if (!is_v2(cl))
		return 1;
	return v2_call(cl, "GET", "/list-orders", NULL, out, -1, NULL, err);
}

int np_cloud_heartbeat(struct np_cloud *cl, json_t *body, struct np_err *err)
{
	if (!is_v2(cl))
		return 1;
	json_t *rep = NULL;
	int rc = v2_call(cl, "POST", "/heartbeat", body, &rep, -1, NULL, err);
	json_decref(rep);
	return rc;
}

/* ---------------- study-level operations ---------------- */

json_t *np_order_load(const char *dir, struct np_err *err)
{
	char p[PATH_MAX];
	if (np_path_join(p, sizeof p, dir, "order.json", err) < 0)
		return NULL;
	if (!np_exists(p))
		return json_object();
	json_t *o = np_json_load(p, 16 << 20, err);
	if (o && !json_is_object(o)) {
		json_decref(o);
		np_err_set(err, NP_ERR_PERM, "%s: not a JSON object", p);
		return NULL;
	}
	return o;
}

int np_order_save(const char *dir, json_t *order, struct np_err *err)
{
	char p[PATH_MAX];
	if (np_path_join(p, sizeof p, dir, "order.json", err) < 0)
		return -1;
	char now[32];
	np_time_iso(now);
	json_object_set_new(order, "updated_at", json_string(now));
	return np_json_save(p, order, 0640, err);
}

void np_order_set_status(json_t *order, struct np_db *db, const char *npuid, const char *state, int progress,
			 const char *info)
{
	json_object_set_new(order, "status", json_string(state));
	json_object_set_new(order, "progress", json_integer(progress));
	json_object_set_new(order, "info", json_string(info ? info : ""));
	if (!db)
		return;
	char pr[16];
	snprintf(pr, sizeof pr, "%d", progress);
	struct np_err e = {0};
	if (np_db_study_set(db, npuid, "order_status", state, &e) < 0 ||
	    np_db_study_set(db, npuid, "order_progress", pr, &e) < 0)
		np_warn(npuid, "unable to update the index: %s", e.msg);
	const char *oid = np_json_str(order, "order_id", NULL);
	if (oid && np_db_study_set(db, npuid, "order_id", oid, &e) < 0)
		np_warn(npuid, "unable to update the index: %s", e.msg);
}

int np_cloud_refresh_token(const char *home, char *msg, size_t msgsz, struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	struct np_cloud *cl = np_cloud_open(&cfg, err);
	np_config_free(&cfg);
	if (!cl)
		return -1;
	int rc = np_cloud_reconnect(cl, err);
	if (rc == 0)
		snprintf(msg, msgsz, "%s",
			 is_v2(cl) ? "new access token cached"
				   : "protocol v1 has no token; a new encrypted session was opened");
	np_cloud_close(cl);
	return rc;
}

static int study_dir_of(const char *home, const char *npuid, char *state, size_t statesz, int *claimed, char *dir,
			size_t dirsz, struct np_err *err)
{
	if (!np_uuid_valid(npuid))
		return np_err_set(err, NP_ERR_PERM, "not a study id");
	int f = np_spool_find(home, npuid, state, statesz, claimed, err);
	if (f < 0)
		return -1;
	if (f == 1)
		return np_err_set(err, NP_ERR_PERM, "study %s not found", npuid);
	char base[PATH_MAX];
	if (*claimed)
		snprintf(base, sizeof base, "%s/spool/%s/.work/%s", home, state, npuid);
	else
		snprintf(base, sizeof base, "%s/spool/%s/%s", home, state, npuid);
	snprintf(dir, dirsz, "%s", base);
	return 0;
}

int np_cloud_check_status(const char *home, const char *npuid, json_t **order_out, struct np_err *err)
{
	if (order_out)
		*order_out = NULL;
	char state[32], dir[PATH_MAX];
	int claimed = 0;
	if (study_dir_of(home, npuid, state, sizeof state, &claimed, dir, sizeof dir, err) < 0)
		return -1;
	json_t *order = np_order_load(dir, err);
	if (!order)
		return -1;
	const char *oid = np_json_str(order, "order_id", NULL);
	if (!oid) {
		if (order_out)
			*order_out = order;
		else
			json_decref(order);
		return 1;
	}
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return json_decref(order), -1;
	struct np_cloud *cl = np_cloud_open(&cfg, err);
	np_config_free(&cfg);
	if (!cl)
		return json_decref(order), -1;
	struct np_cloud_status st;
	int rc = np_cloud_status(cl, oid, &st, err);
	np_cloud_close(cl);
	if (rc == 0 && strcmp(np_json_str(order, "status", ""), NP_ORDER_CANCELLED)) {
		struct np_db *db = np_index_open(home, NULL);
		np_order_set_status(order, db, npuid, st.state, st.progress, st.info);
		np_db_close(db);
		rc = np_order_save(dir, order, err);
	}
	if (rc == 0 && order_out)
		*order_out = order;
	else
		json_decref(order);
	return rc;
}

int np_cloud_verify_password(const struct np_config *cfg, const char *password, struct np_err *err)
{
	const char *proto = np_config_str(cfg, "cloud.protocol");
	const char *user = np_config_str(cfg, "cloud.service_user");
	if (!np_cloud_configured(cfg) || !proto || strcmp(proto, "v2") || !user || !*user)
		return np_err_set(err, NP_ERR_PERM,
				  "no cloud password check: needs cloud protocol v2 and a service user");
	struct np_cloud *cl = cloud_new(cfg, password, err);
	if (!cl)
		return -1;
	int rc = v2_token(cl, 1, err);
	if (rc < 0 && (cl->token_status == 401 || cl->token_status == 403)) {
		np_err_clear(err);
		rc = 1;
	}
	np_cloud_close(cl);
	return rc;
}
