/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to np_httpd*.c: the server state, the request
 * context handed to every route handler, reply helpers and the parsers of
 * request input we write ourselves (query strings, listing filters; fuzzed by
 * tests/fuzz/fuzz_http.c). Never included by programs. */
#ifndef NP_HTTPD_INT_H
#define NP_HTTPD_INT_H

#include "np_config.h"
#include "np_db_studies.h"
#include "np_httpd.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct mg_connection;
struct mg_context;
struct mg_request_info;
struct np_db;
struct np_httpd_tls;

#define NP_HTTPD_JSON_MAX (1 << 20) /* largest JSON request body */
#define NP_HTTPD_PARAM_MAX 256

/* Where np-httpd listens, from the settings (np__listen_spec). */
struct np_listen {
	char bind[64];
	int port, redirect_port, tls;
	char ports[200]; /* CivetWeb's listening_ports */
};

struct np_httpd {
	struct mg_context *ctx;
	struct np_listen listen; /* what it listens on since its start */
	int port_opt;		 /* --port: http.port does not apply */
	char home[PATH_MAX];
	char share[PATH_MAX];
	char web[PATH_MAX];
	char vendor[PATH_MAX];
	int insecure_no_auth;
	double started;
	pthread_mutex_t lock;		     /* guards cfg, uploads */
	json_t *cfg;			     /* current settings snapshot */
	char cfg_stamp[NP_CONFIG_STAMP_LEN]; /* np_config_stamp of the settings when read */
	struct np_httpd_tls *tls;	     /* the HTTPS pair (np_httpd_tls.h) */
	json_t *uploads;		     /* upload id -> {"received","limit","state"} */
	pthread_key_t dbkey;
	int https_port;	      /* when set, plain HTTP requests are redirected here */
	struct np_auth *auth; /* session key, password checks, login slowdown */
	unsigned auth_gen;    /* tells this server's auth from an earlier one's (np_httpd_auth.c) */
};

struct np_route;

struct np_req {
	struct mg_connection *c;
	const struct mg_request_info *ri;
	struct np_httpd *srv;
	const struct np_route *route;
	const char *path;
	const char *query;
	char param[2][NP_HTTPD_PARAM_MAX];
	enum np_role role; /* of the caller; NP_ROLE_PUBLIC when anonymous */
	char actor[128];   /* "service" or the SAML NameID; "-" anonymous */
	char sid[80];	   /* session id or "" */
	char client[64];
	struct np_config cfg; /* settings snapshot for this request */
	struct np_db *db;     /* this thread's connection */
};

typedef int (*np_route_fn)(struct np_req *r);

struct np_route {
	const char *method;
	const char *pattern; /* "{}" matches one path segment */
	enum np_role role;
	np_route_fn fn;
};

extern const struct np_route np_httpd_routes[];
extern const size_t np_httpd_nroutes;

/* Replies. Each returns the HTTP status it sent. json is stolen. */
int np__reply_json(struct np_req *r, int status, json_t *json);
int np__reply_error(struct np_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int np__reply_bytes(struct np_req *r, int status, const char *ctype, const void *buf, size_t len,
		    const char *extra_headers);
/* Send a file with its MIME type; attachment names a download. 404 when
 * missing. */
int np__reply_file(struct np_req *r, const char *path, const char *ctype, const char *attachment);
/* Status for a library error: 400/404/409/503 by class and errno. */
int np__reply_err(struct np_req *r, const struct np_err *err);
/* The 501 answer for an action whose library function has not landed. */
int np__reply_not_impl(struct np_req *r, const char *what);
/* Security headers every response carries ("\r\n"-terminated lines). */
const char *np__sec_headers(void);

/* Read and parse a JSON object body (Content-Type application/json, at most
 * NP_HTTPD_JSON_MAX bytes). NULL after replying 400/413/415. */
json_t *np__body_json(struct np_req *r);
/* Append an audit record (and a log line). detail must hold no PHI and no
 * secret value. */
void np__audit(struct np_req *r, const char *action, const char *npuid, const char *detail, const char *outcome);
/* This thread's database connection (opened on first use, private: the
 * np_db_* queries keep their statements prepared on it); NULL on error. */
struct np_db *np__db(struct np_httpd *h, struct np_err *err);

/* ---- sessions (np_httpd_auth.c, over np_auth.h): server-side sessions
 * named by signed tokens in an HttpOnly SameSite=Strict cookie (Secure under
 * HTTPS), 8 hours of inactivity, a CSRF token per session. ---- */
/* Fill r->role/actor/sid from the session cookie (or admin under
 * --insecure-no-auth). An invalid or expired cookie is anonymous. Returns 0,
 * or -1 after replying 500. */
int np__auth_resolve(struct np_req *r);
/* 1 if a state-changing request carries the session's CSRF token (always 1
 * under --insecure-no-auth). */
int np__auth_csrf_ok(const struct np_req *r);
/* Create a session (password or SAML login) and set its two cookie header
 * lines into cookie (>= 600 bytes); the CSRF token is written to csrf (65
 * bytes). Returns 0 or -1. */
int np__session_new(struct np_req *r, const char *actor, int role, const char *method, char *cookie, size_t cookiesz,
		    char csrf[65], struct np_err *err);
/* After a request that may have changed the service password (stamp_before
 * from np_svcpw_stamp): when it did, every other session ends at once, with
 * the audit row "sessions_revoked" ("count=N reason=password_change
 * source=SOURCE"); the caller's own session stays. */
void np__password_saved(struct np_req *r, const char stamp_before[65], const char *source);

/* ---- names in spool folders (np_httpd_dirs.c) ---- */
#define NP_DIRS_SEEN 24
/* A folder or file as stat(2) saw it: any entry created, removed or
 * renamed in a folder moves its mtime and ctime; a file rewritten in place
 * moves them too, and a file renamed over it brings a new inode. A stamp
 * younger than NP_STAMP_FLUX_S seconds may not see a second change within
 * the same timestamp tick, so neither cache answers from one. */
struct np_dirs_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};
#define NP_STAMP_FLUX_S 2 /* seconds: past every file system's timestamp granularity */
void np__stamp_of(const struct stat *s, struct np_dirs_stamp *st);
int np__stamp_same(const struct np_dirs_stamp *a, const struct np_dirs_stamp *b);
/* What one request learned of the folders it asked about (zeroed at
 * first): each is looked at once per request. */
struct np_dirs {
	int n;
	struct np_dirs_dir {
		char path[256];
		int state;
		struct np_dirs_stamp stamp; /* of the listing found current */
	} d[NP_DIRS_SEEN];
};
/* Whether folder dir holds an entry called name: 1 yes, 0 no (a missing
 * folder holds nothing), -1 unknown (a folder changed in the last seconds,
 * too large or unreadable): the caller looks at the file itself. The
 * listing is kept across requests and read again when the folder changes. */
int np__dir_has(struct np_dirs *seen, const char *dir, const char *name);

/* ---- texts derived from a JSON file, kept while it stays the same
 * (np_httpd_jcache.c) ---- */
#define NP_JTEXTS 4
/* Make n malloc'd texts (JSON) from v, the file's value (NULL when it is
 * missing or not JSON); a text left NULL is out of memory. v is the
 * caller's to change, not to keep. */
typedef void (*np_jtext_fn)(json_t *v, void *ud, char *out[], int n);
/* The n texts make derives from the JSON file path (kind names make and
 * ud's effect): copies into out (free each), made again only when the
 * file changed. Returns 0, or -1 when out of memory. */
int np__json_file_texts(const char *path, const char *kind, np_jtext_fn make, void *ud, char *out[], int n);

/* ---- parsers (np_httpd_parse.c; no CivetWeb, fuzzed) ---- */

/* Find key in a query string (a=1&b=2), URL-decode its value into out.
 * Returns 1 found, 0 absent, -1 malformed or too long. */
int np_query_get(const char *qs, const char *key, char *out, size_t outsz);
/* The integer query parameter key, strictly decimal (see parse_long in
 * np_httpd_parse.c) and within lo..hi. Returns 0 when absent (*out is left
 * as is), 1 when set, -1 with msg "KEY: an integer from LO to HI". */
int np_query_long(const char *qs, const char *key, long lo, long hi, long *out, char *msg, size_t msgsz);
/* Match path against a route pattern, filling up to 2 "{}" params (decoded
 * segments, never "." or ".." or containing '/'). Returns 1 on match. */
int np_route_match(const char *pattern, const char *path, char param[2][NP_HTTPD_PARAM_MAX]);

/* /api/studies listing query: struct np_studies_q and its SQL in np_db_studies.h. */
/* Parse the query string into q (defaults: sort=created_at desc, page 1,
 * size 50, max 500). Returns 0, or -1 with a message naming the parameter. */
int np_studies_q_parse(const char *qs, struct np_studies_q *q, char *msg, size_t msgsz);

/* 1 if the JSON text nests arrays/objects at most max deep (checked before
 * jansson parses it recursively on a small worker stack). */
int np_json_depth_ok(const char *buf, size_t len, int max);

/* One s6-log line "@tai64n prog: level: id msg" or "ISO prog: ..." parsed
 * into a new JSON object {"ts","service","level","id","message"}; NULL if
 * the line is empty. */
json_t *np_log_line_parse(const char *service, const char *line, size_t len);

/* ---- SAML Single Logout (np_httpd_saml.c) ---- */

/* After the local session sid has ended: when it was a SAML login and
 * saml.idp_slo_url is set, a signed LogoutRequest URL for the browser
 * (malloc'd; the request is recorded as outstanding), else NULL. */
char *np__saml_logout(struct np_req *r, const char *sid, const char *relay);

/* ---- small outgoing fetches (SAML metadata, release feed) ---- */
struct np_buf;
/* GET url (http or https, up to 3 redirects, 15 s in all) into out, failing
 * when the body exceeds cap bytes. Returns the curl code (0 = a response
 * arrived) and sets *status to its HTTP status. Free out->p. */
/* Settings that take effect (np_httpd_apply.c): the address np-httpd
 * listens on for settings cfg (port_opt: --port, or 0); refusal of settings
 * that would keep a service from starting (HTTPS without a usable
 * certificate, a port in use); and, after a save, telling the services whose
 * settings changed: returns the "applied" list of PUT /api/settings. */
void np__listen_spec(const struct np_config *cfg, int port_opt, struct np_listen *l);
int np__settings_precheck(struct np_httpd *h, const struct np_config *next, struct np_err *err);
json_t *np__settings_apply(struct np_req *r, json_t *changed);
/* Stop in a moment (after the reply is out); s6-supervise starts np-httpd again. */
void np__restart_soon(struct np_httpd *h);

int np__fetch_small(const char *url, size_t cap, struct np_buf *out, long *status);

#endif
