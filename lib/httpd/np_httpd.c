// SPDX-License-Identifier: Apache-2.0
/* np_httpd: CivetWeb setup, request dispatch through the route table, reply
 * helpers, static files and Swagger UI. Everything goes through
 * begin_request so CivetWeb never serves or lists a file by itself. */
#include "np_httpd.h"

#include "np_auth.h"
#include "np_buf.h"
#include "np_db.h"
#include "np_db_audit.h"
#include "np_db_maint.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd_guard.h"
#include "np_httpd_int.h"
#include "np_httpd_tls.h"
#include "np_json.h"
#include "np_log.h"
#include "np_util.h"

#include <civetweb.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* CivetWeb's threads get 100 KiB stacks (Debian builds it with
 * USE_STACK_SIZE=102400): too little for what a request does here (glibc's
 * regexec validating settings allocates on the stack, xmlsec checks SAML,
 * GDCM reads a study), the more so under AddressSanitizer, where a settings
 * save and a status check overflowed. CivetWeb asks through the PLT, so
 * this definition answers first and raises a small size to 4 MiB (only the
 * pages a thread touches cost memory); the real call does the rest. */
int pthread_attr_setstacksize(pthread_attr_t *a, size_t size)
{
	static int (*real)(pthread_attr_t *, size_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
	if (!real)
		return ENOSYS;
	return real(a, size < (4u << 20) ? 4u << 20 : size);
}

const char *np_role_name(enum np_role r)
{
	return r == NP_ROLE_ADMIN ? "admin" : r == NP_ROLE_USER ? "user" : "public";
}

void np_httpd_routes_print(FILE *f)
{
	for (size_t i = 0; i < np_httpd_nroutes; i++)
		fprintf(f, "%s %s %s\n", np_httpd_routes[i].method, np_httpd_routes[i].pattern,
			np_role_name(np_httpd_routes[i].role));
}

/* frame-ancestors 'self': the UI previews PDF reports in an iframe of its own. */
static const char sec_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: SAMEORIGIN\r\n"
    "Referrer-Policy: no-referrer\r\n";

const char *np__sec_headers(void)
{
	return sec_headers;
}

/* CivetWeb worker threads; see np_httpd_start. */
#define NP_HTTPD_THREADS 64

/* Bodies up to this size leave in the same write as the headers. */
enum { ONE_WRITE_MAX = 256 << 10 };

/* The status line, headers and (most) bodies go out in one write.
 * CivetWeb 1.15's mg_response_header_send sends each header line with a
 * send of its own: 12 sends for a small answer, each a packet that wakes
 * the client, a third of the time np-httpd spent on a studies page. */
int np__reply_bytes(struct np_req *r, int status, const char *ctype, const void *buf, size_t len,
		    const char *extra_headers)
{
	char line[160], date[40];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
	struct np_buf b = {0};
	snprintf(line, sizeof line, "HTTP/%s %d %s\r\n", r->ri->http_version ? r->ri->http_version : "1.1", status,
		 mg_get_response_code_text(r->c, status));
	np_buf_str(&b, line);
	if (ctype) {
		np_buf_str(&b, "Content-Type: ");
		np_buf_str(&b, ctype);
		np_buf_str(&b, "\r\n");
	}
	np_buf_str(&b, sec_headers);
	np_buf_str(&b, "Cache-Control: no-store\r\n");
	if (r->ri->is_ssl)
		np_buf_str(&b, "Strict-Transport-Security: max-age=31536000\r\n");
	snprintf(line, sizeof line, "Content-Length: %zu\r\nDate: %s\r\n", len, date);
	np_buf_str(&b, line);
	if (extra_headers)
		np_buf_str(&b, extra_headers);
	np_buf_str(&b, "\r\n");
	int body = len && strcmp(r->ri->request_method, "HEAD");
	if (body && len <= ONE_WRITE_MAX) {
		np_buf_add(&b, buf, len);
		body = 0;
	}
	if (b.oom) {
		static const char oom[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n";
		free(b.p);
		mg_write(r->c, oom, sizeof oom - 1);
		return 503;
	}
	mg_write(r->c, b.p, b.len);
	if (body)
		mg_write(r->c, buf, len);
	free(b.p);
	return status;
}

int np__reply_json(struct np_req *r, int status, json_t *json)
{
	char *s = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(json);
	if (!s)
		return np__reply_bytes(r, 500, "application/json",
				       "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 56, NULL);
	size_t n = strlen(s);
	s[n] = 0;
	int rc = np__reply_bytes(r, status, "application/json", s, n, NULL);
	free(s);
	return rc;
}

int np__reply_error(struct np_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *m = json_string(msg);
	if (!m)
		m = json_string("invalid message");
	return np__reply_json(r, status, json_pack("{s:{s:s,s:o}}", "error", "code", code, "message", m));
}

int np__reply_err(struct np_req *r, const struct np_err *err)
{
	if (err->sys == ENOENT)
		return np__reply_error(r, 404, "not_found", "%s", err->msg);
	if (err->cls == NP_ERR_TEMP)
		return np__reply_error(r, 503, "unavailable", "%s", err->msg);
	return np__reply_error(r, 400, "bad_request", "%s", err->msg);
}

int np__reply_not_impl(struct np_req *r, const char *what)
{
	return np__reply_error(r, 501, "not_implemented", "%s is not available in this build", what);
}

int np__reply_file(struct np_req *r, const char *path, const char *ctype, const char *attachment)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return np__reply_error(r, 404, "not_found", "no such file");
	char extra[1200];
	int n = snprintf(extra, sizeof extra, "%sCache-Control: no-store\r\n", sec_headers);
	if (attachment && n > 0 && (size_t)n < sizeof extra)
		snprintf(extra + n, sizeof extra - (size_t)n, "Content-Disposition: attachment; filename=\"%s\"\r\n",
			 attachment);
	mg_send_mime_file2(r->c, path, ctype ? ctype : mg_get_builtin_mime_type(path), extra);
	return 200;
}

json_t *np__body_json(struct np_req *r)
{
	const char *ct = mg_get_header(r->c, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16)) {
		np__reply_error(r, 415, "unsupported_media_type", "the body must be application/json");
		return NULL;
	}
	long long cl = r->ri->content_length;
	if (cl > NP_HTTPD_JSON_MAX) {
		mg_disable_connection_keep_alive(r->c);
		np__reply_error(r, 413, "too_large", "the body is larger than %d bytes", NP_HTTPD_JSON_MAX);
		return NULL;
	}
	size_t cap = cl >= 0 ? (size_t)cl + 1 : 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		np__reply_error(r, 500, "internal", "out of memory");
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > NP_HTTPD_JSON_MAX) {
				free(buf);
				mg_disable_connection_keep_alive(r->c);
				np__reply_error(r, 413, "too_large", "the body is larger than %d bytes",
						NP_HTTPD_JSON_MAX);
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				np__reply_error(r, 500, "internal", "out of memory");
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		int n = mg_read(r->c, buf + len, cap - len - 1);
		if (n < 0) {
			free(buf);
			mg_disable_connection_keep_alive(r->c);
			np__reply_error(r, 400, "bad_request", "unable to read the request body");
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	struct np_err err = {0};
	if (!np_json_depth_ok(buf, len, 32)) {
		free(buf);
		np__reply_error(r, 400, "bad_json", "the body nests deeper than 32 levels");
		return NULL;
	}
	json_t *v = np_json_parse(buf, len, "request body", &err);
	free(buf);
	if (!v) {
		np__reply_error(r, 400, "bad_json", "%s", err.msg);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		np__reply_error(r, 400, "bad_json", "the body must be a JSON object");
		return NULL;
	}
	return v;
}

/* A worker thread's connection, opened private (no SQLite mutex) and kept
 * with its cache of prepared statements (np_db_int.h, np__db_use). */
static void db_destroy(void *p)
{
	np_db_close(p);
}

struct np_db *np__db(struct np_httpd *h, struct np_err *err)
{
	struct np_db *db = pthread_getspecific(h->dbkey);
	if (db)
		return db;
	if (!(db = np_index_open_private(h->home, err)))
		return NULL;
	/* Readers map the file instead of copying pages into each thread's
	 * own cache; the mapping is shared by the kernel's page cache. */
	np_db_mmap(db, 268435456);
	pthread_setspecific(h->dbkey, db);
	return db;
}

void np__audit(struct np_req *r, const char *action, const char *npuid, const char *detail, const char *outcome)
{
	char ts[32];
	struct np_err err = {0};
	np_time_iso_at((time_t)np_now(), ts);
	struct np_db *db = np__db(r->srv, &err);
	struct np_db_audit_rec rec = {ts, r->actor, np_role_name(r->role), r->client, action, npuid, detail, outcome};
	if (!db)
		np_error(npuid, "unable to write the audit record action=%s", action);
	else if (np_db_audit_append(db, &rec, &err) < 0)
		np_error(npuid, "unable to write the audit record action=%s: %s", action, err.msg);
	/* The actor of a SAML login is the IdP's NameID, usually an e-mail: an
	 * operator identity, not patient data. */
	np_info(npuid, "audit action=%s outcome=%s role=%s client=%s%s%s", action, outcome, np_role_name(r->role),
		r->client, detail ? " " : "", detail ? detail : "");
}

/* ---- static files ---- */

static int send_static(struct np_req *r, const char *root, const char *rel)
{
	/* Refuse hidden names and any dot segment; CivetWeb already cleaned the
	 * path, this is the second fence. */
	if (strstr(rel, "/.") || strchr(rel, '\\') || strlen(rel) > 1024)
		return np__reply_error(r, 404, "not_found", "no such file");
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s%s", root, rel) >= (int)sizeof path)
		return np__reply_error(r, 404, "not_found", "no such file");
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t n = strlen(path);
		if (snprintf(path + n, sizeof path - n, "%sindex.html", path[n - 1] == '/' ? "" : "/") >=
		    (int)(sizeof path - n))
			return np__reply_error(r, 404, "not_found", "no such file");
	}
	char real[PATH_MAX], rroot[PATH_MAX];
	if (!realpath(path, real) || !realpath(root, rroot) || strncmp(real, rroot, strlen(rroot)) ||
	    (real[strlen(rroot)] != '/' && real[strlen(rroot)] != 0) || stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return np__reply_error(r, 404, "not_found", "no such file");
	char extra[1024];
	snprintf(extra, sizeof extra, "%sCache-Control: no-cache\r\n", sec_headers);
	mg_send_mime_file2(r->c, real, NULL, extra);
	return 200;
}

int np__h_api_docs(struct np_req *r)
{
	const char *rel = r->path + strlen("/api-docs");
	if (!*rel || !strcmp(rel, "/") || !strcmp(rel, "/index.html"))
		return send_static(r, r->srv->web, "/api-docs.html");
	if (!strcmp(rel, "/init.js"))
		return send_static(r, r->srv->web, "/api-docs.js");
	if (!r->srv->vendor[0])
		return np__reply_error(r, 404, "not_found", "Swagger UI is not installed (make deps installs it)");
	return send_static(r, r->srv->vendor, rel);
}

/* ---- dispatch ---- */

static int is_api(const char *p)
{
	return !strncmp(p, "/api/", 5) || !strcmp(p, "/api") || !strcmp(p, "/health") || !strcmp(p, "/metrics") ||
	       !strncmp(p, "/api-docs", 9);
}

static int is_write(const char *m)
{
	return strcmp(m, "GET") && strcmp(m, "HEAD");
}

static int load_settings(struct np_httpd *h, struct np_err *err);

/* Settings changed on the host (np-config merge, set-secret) are seen by the
 * next request: a save from the page starts from them instead of writing an
 * older copy back over them. */
static void cfg_snapshot(struct np_httpd *h, struct np_config *cfg)
{
	char now[NP_CONFIG_STAMP_LEN];
	np_config_stamp(h->home, now);
	pthread_mutex_lock(&h->lock);
	int changed = strcmp(now, h->cfg_stamp) != 0;
	pthread_mutex_unlock(&h->lock);
	struct np_err err = {0};
	if (changed && load_settings(h, &err) < 0)
		np_log_err(NULL, &err);
	pthread_mutex_lock(&h->lock);
	cfg->root = json_incref(h->cfg);
	pthread_mutex_unlock(&h->lock);
	snprintf(cfg->home, sizeof cfg->home, "%s", h->home);
}

static int dispatch(struct np_req *r)
{
	const struct np_route *hit = NULL;
	char allow[128] = "";
	const char *m = r->ri->request_method;
	for (size_t i = 0; i < np_httpd_nroutes; i++) {
		const struct np_route *rt = &np_httpd_routes[i];
		char param[2][NP_HTTPD_PARAM_MAX];
		if (!np_route_match(rt->pattern, r->path, param))
			continue;
		if (!strcmp(rt->method, m) || (!strcmp(m, "HEAD") && !strcmp(rt->method, "GET"))) {
			hit = rt;
			memcpy(r->param, param, sizeof param);
			break;
		}
		if (strlen(allow) + strlen(rt->method) + 3 < sizeof allow) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, rt->method);
		}
	}
	if (!hit && !strncmp(r->path, "/api-docs", 9) && !strcmp(m, "GET")) {
		static const struct np_route docs = {"GET", "/api-docs", NP_ROLE_PUBLIC, np__h_api_docs};
		hit = &docs;
	}
	if (!hit && allow[0]) {
		char hdr[160];
		snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
		static const char body[] =
		    "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method not allowed\"}}";
		return np__reply_bytes(r, 405, "application/json", body, sizeof body - 1, hdr);
	}
	if (!hit)
		return np__reply_error(r, 404, "not_found", "no such endpoint");
	r->route = hit;
	if (np__auth_resolve(r) < 0)
		return 500;
	if (r->role < hit->role) {
		if (r->role == NP_ROLE_PUBLIC)
			return np__reply_error(r, 401, "unauthenticated", "log in first");
		return np__reply_error(r, 403, "forbidden", "this action needs the %s role", np_role_name(hit->role));
	}
	if (is_write(m) && hit->role > NP_ROLE_PUBLIC && !np__auth_csrf_ok(r))
		return np__reply_error(r, 403, "csrf", "missing or wrong X-CSRF-Token header");
	return hit->fn(r);
}

/* Plain HTTP when HTTPS is on: send the client to the same host on the
 * HTTPS port. (CivetWeb's own "r" ports redirect to its
 * authentication_domain, not to the host the client asked for.) */
static int redirect_https(struct np_req *r, int port)
{
	const char *host = mg_get_header(r->c, "Host");
	char h[256] = "localhost", loc[2400];
	if (host) {
		size_t n = strcspn(host, ":");
		if (n && n < sizeof h && host[0] != '[' &&
		    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") >= n)
			snprintf(h, sizeof h, "%.*s", (int)n, host);
	}
	const char *uri = r->ri->request_uri && r->ri->request_uri[0] == '/' ? r->ri->request_uri : "/";
	snprintf(loc, sizeof loc, "Location: https://%s:%d%s%s%s\r\n", h, port, uri, r->query[0] ? "?" : "", r->query);
	if (strpbrk(loc + 10, "\r\n") != loc + strlen(loc) - 2)
		snprintf(loc, sizeof loc, "Location: https://%s:%d/\r\n", h, port);
	return np__reply_bytes(r, 301, "text/plain", "", 0, loc);
}

/* RFC 9112 6.3: a request whose body length is ambiguous is refused, not
 * guessed at; CivetWeb takes the first Content-Length, lets chunked win over
 * Content-Length and reads "2abc" or "+2" as 2, and a proxy in front of us
 * may have framed the same bytes otherwise (request smuggling). NULL when
 * the framing is sound, or what is wrong. */
static const char *framing_error(const struct mg_request_info *ri, long long *body_len)
{
	const char *cl = NULL, *te = NULL;
	int ncl = 0, nte = 0;
	*body_len = 0;
	for (int i = 0; i < ri->num_headers; i++) {
		const char *n = ri->http_headers[i].name, *v = ri->http_headers[i].value;
		if (n && !strcasecmp(n, "Content-Length"))
			ncl++, cl = v ? v : "";
		else if (n && !strcasecmp(n, "Transfer-Encoding"))
			nte++, te = v ? v : "";
	}
	if (ncl > 1)
		return "more than one Content-Length header";
	if (nte > 1)
		return "more than one Transfer-Encoding header";
	if (cl && te)
		return "both Content-Length and Transfer-Encoding headers";
	if (te) {
		*body_len = strcasecmp(te, "identity") ? -1 : 0; /* CivetWeb refused any other coding */
		return NULL;
	}
	if (!cl)
		return NULL;
	size_t digits = strspn(cl, "0123456789");
	if (!digits || digits > 18 || cl[digits + strspn(cl + digits, " \t")])
		return "the Content-Length header must be a decimal number of bytes";
	*body_len = strtoll(cl, NULL, 10);
	return NULL;
}

static int begin_request(struct mg_connection *c)
{
	struct np_httpd *h = mg_get_user_data(mg_get_context(c));
	struct np_req r;
	memset(&r, 0, sizeof r);
	r.c = c;
	r.ri = mg_get_request_info(c);
	r.srv = h;
	long long body_len;
	const char *bad_framing = framing_error(r.ri, &body_len);
	/* Headers are in: the body, if any, has its own deadline. */
	np_httpd_guard_request(r.ri->remote_addr, r.ri->remote_port, bad_framing ? 0 : body_len);
	r.path = r.ri->local_uri ? r.ri->local_uri : "";
	r.query = r.ri->query_string ? r.ri->query_string : "";
	snprintf(r.client, sizeof r.client, "%s", r.ri->remote_addr);
	snprintf(r.actor, sizeof r.actor, "-");
	cfg_snapshot(h, &r.cfg);
	int status;
	if (bad_framing) {
		mg_disable_connection_keep_alive(c);
		char msg[200];
		snprintf(msg, sizeof msg, "{\"error\":{\"code\":\"bad_request\",\"message\":\"%s\"}}", bad_framing);
		status = np__reply_bytes(&r, 400, "application/json", msg, strlen(msg), "Connection: close\r\n");
	} else if (!r.ri->is_ssl && h->https_port)
		status = redirect_https(&r, h->https_port);
	else if (r.path[0] != '/')
		status = np__reply_error(&r, 400, "bad_request", "bad request target");
	else if (is_api(r.path))
		status = dispatch(&r);
	else if (strcmp(r.ri->request_method, "GET") && strcmp(r.ri->request_method, "HEAD"))
		status = np__reply_error(&r, 405, "method_not_allowed", "static files are read-only");
	else
		status = send_static(&r, h->web, r.path);
	json_decref(r.cfg.root);
	return status > 0 && status < 1000 ? status : 500;
}

static void end_request(const struct mg_connection *c, int status)
{
	(void)status;
	const struct mg_request_info *ri = mg_get_request_info(c);
	if (ri)
		np_httpd_guard_request_done(ri->remote_addr, ri->remote_port);
}

static void connection_close(const struct mg_connection *c)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	if (ri)
		np_httpd_guard_close(ri->remote_addr, ri->remote_port);
}

static const char *error_code(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 408:
		return "timeout";
	case 411:
		return "length_required";
	case 413:
		return "too_large";
	case 414:
		return "uri_too_long";
	case 416:
		return "range_not_satisfiable";
	case 417:
		return "expectation_failed";
	case 431:
		return "headers_too_large";
	case 501:
		return "not_implemented";
	case 503:
		return "unavailable";
	case 505:
		return "http_version_not_supported";
	default:
		return status < 500 ? "bad_request" : "internal";
	}
}

/* CivetWeb's own error answers (a malformed request line, headers too large,
 * a body without a length, HTTP/2...) in our shape: the JSON error object
 * and the security headers, like every answer of ours. The request may be
 * only half parsed: nothing of it is used but the method. The connection
 * closes after it, as CivetWeb does for a request it could not read. */
static int http_error(struct mg_connection *c, int status, const char *errmsg)
{
	if (status < 400)
		return 1; /* 304 and friends carry no body: CivetWeb's own answer is right */
	const struct mg_request_info *ri = mg_get_request_info(c);
	/* CivetWeb answers 411 only for a Content-Length it cannot read ("-1",
	 * "abc"), with the message "Bad request": that is a malformed request
	 * (RFC 9112 6.3), and the client is told what is wrong. */
	if (status == 411)
		errmsg = "the Content-Length header must be a decimal number of bytes", status = 400;
	const char *text = mg_get_response_code_text(c, status);
	const char *msg = errmsg && *errmsg ? errmsg : text;
	if (!strncmp(msg, "Error: ", 7))
		msg += 7;
	char m[200];
	snprintf(m, sizeof m, "%s", msg); /* CivetWeb's message, capped; json_string refuses bad UTF-8 */
	json_t *jm = json_string(m);
	json_t *e =
	    json_pack("{s:{s:s,s:o}}", "error", "code", error_code(status), "message", jm ? jm : json_string(text));
	char *body = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (!body)
		return 1;
	char date[40], head[200];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
	size_t blen = strlen(body);
	int is_head = ri && ri->request_method && !strcmp(ri->request_method, "HEAD");
	struct np_buf b = {0};
	snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n", status, text);
	np_buf_str(&b, head);
	np_buf_str(&b, sec_headers);
	np_buf_str(&b, "Cache-Control: no-store\r\n");
	if (ri && ri->is_ssl)
		np_buf_str(&b, "Strict-Transport-Security: max-age=31536000\r\n");
	snprintf(head, sizeof head, "Content-Length: %zu\r\nDate: %s\r\nConnection: close\r\n\r\n", blen, date);
	np_buf_str(&b, head);
	if (!is_head)
		np_buf_add(&b, body, blen);
	free(body);
	if (b.oom) {
		free(b.p);
		return 1;
	}
	mg_disable_connection_keep_alive(c);
	mg_write(c, b.p, b.len);
	free(b.p);
	return 0;
}

static int log_message(const struct mg_connection *c, const char *msg)
{
	(void)c;
	/* CivetWeb's own messages (socket errors, TLS handshakes) carry no PHI. */
	np_warn(NULL, "civetweb: %s", msg);
	return 1;
}

static int load_settings(struct np_httpd *h, struct np_err *err)
{
	struct np_config cfg;
	char stamp[NP_CONFIG_STAMP_LEN];
	np_config_stamp(h->home, stamp);
	if (np_config_load(&cfg, h->home, err) < 0)
		return -1;
	pthread_mutex_lock(&h->lock);
	snprintf(h->cfg_stamp, sizeof h->cfg_stamp, "%s", stamp);
	json_decref(h->cfg);
	h->cfg = cfg.root;
	struct np_httpd_guard_limits gl = {
	    .header_timeout_s = (int)np_config_int(&cfg, "http.header_timeout_seconds"),
	    .per_address = (int)np_config_int(&cfg, "http.max_connections_per_address"),
	    .body_timeout_s = (int)np_config_int(&cfg, "http.body_timeout_seconds"),
	    .body_min_rate = (int)np_config_int(&cfg, "http.body_min_rate_bytes_per_second"),
	    .workers = NP_HTTPD_THREADS,
	};
	np_httpd_guard_limits(&gl);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* The pair the settings now name, when HTTPS is on. */
static int tls_reload(struct np_httpd *h, struct np_err *err)
{
	struct np_config cfg;
	cfg_snapshot(h, &cfg);
	int rc = np_httpd_tls_reload(h->tls, h->home, &cfg, err);
	json_decref(cfg.root);
	return rc;
}

int np_httpd_reload(struct np_httpd *h, struct np_err *err)
{
	if (load_settings(h, err) < 0)
		return -1;
	return tls_reload(h, err);
}

static int init_ssl(void *ssl_ctx, void *user_data)
{
	struct np_httpd *h = user_data;
	return np_httpd_tls_init_ctx(h->tls, ssl_ctx);
}

struct np_httpd *np_httpd_start(const struct np_httpd_opts *o, struct np_err *err)
{
	struct np_httpd *h = calloc(1, sizeof *h);
	if (!h) {
		np_err_sys(err, ENOMEM, "unable to start the web server");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_key_create(&h->dbkey, db_destroy);
	h->uploads = json_object();
	h->tls = np_httpd_tls_new();
	h->started = np_now();
	h->insecure_no_auth = o->insecure_no_auth;
	snprintf(h->home, sizeof h->home, "%s", o->home);
	snprintf(h->share, sizeof h->share, "%s", o->share);
	snprintf(h->web, sizeof h->web, "%s/web", o->share);
	if (o->vendor && *o->vendor)
		snprintf(h->vendor, sizeof h->vendor, "%s/node_modules/swagger-ui-dist", o->vendor);
	if (h->vendor[0] && !np_is_dir(h->vendor))
		h->vendor[0] = 0;
	struct np_config tmp;
	if (!h->tls) {
		np_err_sys(err, ENOMEM, "unable to start the web server");
		goto fail;
	}
	if (load_settings(h, err) < 0 || !(h->auth = np_auth_open(h->home, err)))
		goto fail;
	static atomic_uint auth_gens;
	h->auth_gen = atomic_fetch_add(&auth_gens, 1) + 1;
	tmp.root = h->cfg;
	int tls = np_config_bool(&tmp, "tls.enabled");
	if (tls && tls_reload(h, err) < 0)
		goto fail;
	char threads[16];
	h->port_opt = o->port;
	np__listen_spec(&tmp, o->port, &h->listen);
	const char *ports = h->listen.ports;
	if (tls && h->listen.redirect_port > 0)
		h->https_port = h->listen.port;
	/* Workers: a connection holds one from accept to close. The guard
	 * (np_httpd_guard.h) keeps one address to http.max_connections_per_address
	 * of them, a slow client to the header and body deadlines, and those
	 * waiting for headers or a body to half the workers; log streams are
	 * capped (np_httpd_logs.c). */
	snprintf(threads, sizeof threads, "%d", NP_HTTPD_THREADS);
	const char *opts[] = {"listening_ports",
			      ports,
			      "num_threads",
			      threads,
			      "request_timeout_ms",
			      "60000",
			      "keep_alive_timeout_ms",
			      "5000",
			      "enable_keep_alive",
			      "yes",
			      "max_request_size",
			      "16384",
			      "enable_directory_listing",
			      "no",
			      "ssl_protocol_version",
			      "4",
			      "linger_timeout_ms",
			      "1000",
			      "tcp_nodelay",
			      "1", /* header and body are separate writes: no Nagle delay */
			      NULL};
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.begin_request = begin_request;
	cb.log_message = log_message;
	cb.end_request = end_request;
	cb.connection_close = connection_close;
	cb.http_error = http_error;
	cb.init_ssl = init_ssl;
	mg_init_library(tls ? MG_FEATURES_TLS : 0);
	struct mg_init_data init = {.callbacks = &cb, .user_data = h, .configuration_options = opts};
	char ebuf[256] = "";
	unsigned ecode = 0;
	struct mg_error_data ed = {.code = &ecode, .text = ebuf, .text_buffer_size = sizeof ebuf};
	if (np_httpd_guard_start() < 0) {
		np_err_set(err, NP_ERR_TEMP, "unable to start the connection guard");
		goto fail;
	}
	h->ctx = mg_start2(&init, &ed);
	if (!h->ctx) {
		np_err_set(err, NP_ERR_TEMP, "unable to listen on %s: %s", ports, ebuf[0] ? ebuf : "unknown error");
		goto fail;
	}
	np_info(NULL, "listening ports=%s tls=%d auth=%s", ports, tls, h->insecure_no_auth ? "off(insecure)" : "on");
	return h;
fail:
	np_httpd_stop(h);
	return NULL;
}

void np__listen_spec(const struct np_config *cfg, int port_opt, struct np_listen *l)
{
	memset(l, 0, sizeof *l);
	snprintf(l->bind, sizeof l->bind, "%s", np_config_str(cfg, "http.bind"));
	l->port = port_opt ? port_opt : (int)np_config_int(cfg, "http.port");
	l->tls = np_config_bool(cfg, "tls.enabled");
	l->redirect_port = l->tls ? (int)np_config_int(cfg, "http.redirect_port") : 0;
	if (l->redirect_port > 0)
		snprintf(l->ports, sizeof l->ports, "%s:%ds,%s:%d", l->bind, l->port, l->bind, l->redirect_port);
	else
		snprintf(l->ports, sizeof l->ports, "%s:%d%s", l->bind, l->port, l->tls ? "s" : "");
}

/* CivetWeb cannot re-bind a running server: np-httpd stops (main() sees
 * SIGTERM and exits 0) and s6-supervise runs it again on the new address.
 * The delay lets the PUT /api/settings answer reach the browser first. */
static void *restart_thread(void *arg)
{
	(void)arg;
	nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
	np_info(NULL, "restarting to listen on the new address");
	kill(getpid(), SIGTERM);
	return NULL;
}

void np__restart_soon(struct np_httpd *h)
{
	(void)h;
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, restart_thread, NULL) != 0)
		kill(getpid(), SIGTERM);
	pthread_attr_destroy(&a);
}

void np_httpd_stop(struct np_httpd *h)
{
	if (!h)
		return;
	if (h->ctx)
		mg_stop(h->ctx);
	np_httpd_guard_stop();
	np_httpd_tls_free(h->tls);
	json_decref(h->cfg);
	json_decref(h->uploads);
	np_auth_close(h->auth);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

struct fetch {
	struct np_buf *b;
	size_t cap;
};

static size_t fetch_write(char *p, size_t sz, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = sz * n;
	if (f->b->len + len > f->cap)
		return 0;
	np_buf_add(f->b, p, len);
	return f->b->oom ? 0 : len;
}

int np__fetch_small(const char *url, size_t cap, struct np_buf *out, long *status)
{
	struct fetch f = {out, cap};
	*status = 0;
	CURL *c = curl_easy_init();
	if (!c)
		return CURLE_FAILED_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "neuropacs-agent/" NP_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return (int)cc;
}
