// SPDX-License-Identifier: Apache-2.0
/* np_httpd_api: route handlers over the index, the spool and the settings.
 * Actions that belong to a pipeline stage call that stage's library
 * function; until one exists in this build the action answers 501. */
#include "np_auth.h"
#include "np_buf.h"
#include "np_cloud.h"
#include "np_csv.h"
#include "np_db.h"
#include "np_db_events.h"
#include "np_db_maint.h"
#include "np_db_metrics.h"
#include "np_index.h"
#include "np_deliver.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_group.h"
#include "np_groupreport.h"
#include "np_httpd_int.h"
#include "np_httpd_tls.h"
#include "np_json.h"
#include "np_log.h"
#include "np_recv_tls_check.h"
#include "np_notify.h"
#include "np_qc.h"
#include "np_queue.h"
#include "np_settings_effect.h"
#include "np_spool.h"
#include "np_stable.h"
#include "np_study.h"
#include "np_svcpw.h"
#include "np_study_ops.h"
#include "np_study_status.h"
#include "np_uidname.h"
#include "np_ul.h"
#include "np_util.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char REDACTED[] = "[Redacted]";

static int bad_param(struct np_req *r, const char *msg)
{
	return np__reply_error(r, 400, "bad_request", "%s", msg);
}

/* The npuid path parameter, checked. */
static int npuid_param(struct np_req *r, const char **id)
{
	*id = r->param[0];
	if (!np_uuid_valid(*id)) {
		np__reply_error(r, 400, "bad_request", "neuropacsId: expected a UUID");
		return -1;
	}
	return 0;
}

/* spool folder of a study; replies 404 when it is nowhere. */
static int study_dir(struct np_req *r, const char *npuid, char *dir, size_t dsz, char *state, size_t ssz)
{
	struct np_err err = {0};
	int claimed = 0;
	int rc = np_spool_find(r->srv->home, npuid, state, ssz, &claimed, &err);
	if (rc < 0) {
		np__reply_err(r, &err);
		return -1;
	}
	if (rc == 1) {
		np__reply_error(r, 404, "not_found", "no study %s", npuid);
		return -1;
	}
	char base[PATH_MAX];
	if (claimed)
		snprintf(base, sizeof base, "%s/spool/%s/.work/%s", r->srv->home, state, npuid);
	else if (np_spool_study_dir(r->srv->home, state, npuid, base, sizeof base, &err) < 0) {
		np__reply_err(r, &err);
		return -1;
	}
	snprintf(dir, dsz, "%s", base);
	return 0;
}

static struct np_db *req_db(struct np_req *r)
{
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	if (!db)
		np__reply_err(r, &err);
	return db;
}

static json_t *col_json(const struct np_db_row *st, int i)
{
	switch (np_db_row_type(st, i)) {
	case NP_DB_INTEGER:
		return json_integer(np_db_row_int(st, i));
	case NP_DB_FLOAT:
		return json_real(np_db_row_real(st, i));
	case NP_DB_NULL:
		return json_null();
	default: {
		size_t n;
		const unsigned char *t = np_db_row_text(st, i, &n);
		json_t *s = json_stringn((const char *)t, n);
		return s ? s : json_string("");
	}
	}
}

/* ---- health, status, metrics ---- */

/* "ok" when a C-ECHO succeeds or the listener answers at the DICOM level
 * (an A-ASSOCIATE-RJ for our AE title still proves it is alive); with DICOM
 * TLS on, a TCP connect is the check. */
/* np-recv listens on one port: dicom.tls.port with TLS, else dicom.port. */
static const char *dicom_port_key(const struct np_config *c)
{
	return np_config_bool(c, "dicom.tls.enabled") ? "dicom.tls.port" : "dicom.port";
}

static const char *dicom_check(struct np_req *r)
{
	int port = (int)np_config_int(&r->cfg, dicom_port_key(&r->cfg));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || port <= 0)
		return "error";
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (!ok && errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int e = 0;
		socklen_t el = sizeof e;
		ok = poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0;
	}
	close(fd);
	if (!ok)
		return "not_listening";
	if (np_config_bool(&r->cfg, "dicom.tls.enabled"))
		return "ok";
	static const char *const ts[] = {"1.2.840.10008.1.2"};
	struct np_ul_propose pc = {"1.2.840.10008.1.1", ts, 1};
	struct np_ul_scu_opts o = {.host = "127.0.0.1",
				   .port = port,
				   .calling_ae = "NP_HEALTH",
				   .called_ae = np_config_str(&r->cfg, "dicom.ae_title"),
				   .timeout_s = 3};
	struct np_err err = {0};
	struct np_ul *ul = np_ul_scu_connect(&o, &pc, 1, &err);
	if (!ul)
		return err.cls == NP_ERR_PERM ? "ok" : "no_dicom_answer";
	unsigned status = 0xFFFF;
	int rc = np_ul_scu_echo(ul, &status, &err);
	if (rc == 0)
		np_ul_release(ul, &err);
	else
		np_ul_close(ul);
	return rc == 0 && status == 0 ? "ok" : "echo_failed";
}

int np__h_health(struct np_req *r)
{
	struct np_err err = {0};
	struct np_db *db = np__db(r->srv, &err);
	int db_ok = db && np_db_ping(db, &err) == 0;
	const char *dicom = dicom_check(r);
	int good = db_ok && !strcmp(dicom, "ok");
	json_t *o = json_pack("{s:s,s:{s:s},s:{s:s,s:I}}", "status", good ? "ok" : "unhealthy", "database", "status",
			      db_ok ? "ok" : "error", "dicom", "status", dicom, "port",
			      (json_int_t)np_config_int(&r->cfg, dicom_port_key(&r->cfg)));
	/* why np-recv does not listen, when its TLS files are the cause (it
	 * exits at start when it cannot load them) */
	struct np_err te = {0};
	if (strcmp(dicom, "ok") && np_recv_tls_check(&r->cfg, getenv("NP_AS_RECV"), &te) < 0)
		json_object_set_new(json_object_get(o, "dicom"), "reason", json_string(te.msg));
	return np__reply_json(r, good ? 200 : 503, o);
}

int np__h_api_health(struct np_req *r)
{
	return np__reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	long n = 0;
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static json_t *queue_depths(struct np_httpd *h)
{
	json_t *q = json_object();
	for (const char *const *s = np_spool_states; *s; s++) {
		char p[PATH_MAX], w[PATH_MAX];
		snprintf(p, sizeof p, "%s/spool/%s", h->home, *s);
		snprintf(w, sizeof w, "%s/spool/%s/.work", h->home, *s);
		long n = count_dir(p), c = count_dir(w);
		json_object_set_new(q, *s, json_integer((n < 0 ? 0 : n) + (c < 0 ? 0 : c)));
	}
	return q;
}

/* s6-svstat of each service of the agent's scan directory. */
static json_t *services(struct np_httpd *h)
{
	json_t *o = json_object();
	char sd[PATH_MAX];
	snprintf(sd, sizeof sd, "%s/service", h->home);
	DIR *d = opendir(sd);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char st[PATH_MAX];
		snprintf(st, sizeof st, "%s/%s/supervise/status", sd, e->d_name);
		/* s6 status file (35 bytes in s6 2.11, 43 from 2.12): two
		 * 12-byte TAI stamps, then the pid as 8 bytes big-endian at
		 * offset 24, 0 when the service is down. */
		size_t len = 0;
		struct np_err err = {0};
		char *buf = np_read_file(st, 4096, &len, &err);
		const char *state = "unknown";
		if (buf && len >= 35) {
			unsigned long long pid = 0;
			for (int i = 0; i < 8; i++)
				pid = pid << 8 | (unsigned char)buf[24 + i];
			state = pid ? "up" : "down";
		}
		free(buf);
		json_object_set_new(o, e->d_name, json_string(state));
	}
	if (d)
		closedir(d);
	return o;
}

int np__h_status(struct np_req *r)
{
	char started[32];
	np_time_iso_at((time_t)r->srv->started, started);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:s,s:s}", "version", NP_VERSION, "civetweb", mg_version(),
			      "sqlite", np_db_sqlite_version(), "started_at", started, "uptime_seconds",
			      (json_int_t)(np_now() - r->srv->started), "queues", queue_depths(r->srv), "services",
			      services(r->srv), "mode", np_config_str(&r->cfg, "agent.mode") ?: "cloud", "now", "");
	char now[32];
	np_time_iso(now);
	json_object_set_new(o, "now", json_string(now));
	/* The UI shows a DEMO banner: results come from the synthetic stand-in. */
	json_object_set_new(o, "demo", json_boolean(np_config_bool(&r->cfg, "cloud.demo")));
	return np__reply_json(r, 200, o);
}

static void prom_name(const char *in, char *out, size_t sz)
{
	size_t o = 0;
	for (; *in && o + 1 < sz; in++)
		out[o++] =
		    (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ? *in : '_';
	out[o] = 0;
}

static void prom_qc(void *f, const char *qc, long long count)
{
	char n[64];
	prom_name(qc, n, sizeof n);
	fprintf(f, "np_index_studies{qc=\"%s\"} %lld\n", n, count);
}

static void prom_events(void *f, const char *type, long long count)
{
	char n[64];
	prom_name(type, n, sizeof n);
	fprintf(f, "np_events_total{type=\"%s\"} %lld\n", n, count);
}

/* A label value in the text format: backslash, double quote and newline
 * escaped (https://prometheus.io/docs/instrumenting/exposition_formats/). */
static void prom_label_value(FILE *f, const char *v)
{
	for (; *v; v++)
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
}

/* {k="v",...} of the stored JSON object of labels; nothing for none. */
static void prom_labels(FILE *f, const char *labels)
{
	json_t *o = labels ? json_loads(labels, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach (o, k, v) {
		if (!json_is_string(v))
			continue;
		char n[64];
		prom_name(k, n, sizeof n);
		fprintf(f, "%s%s=\"", first ? "{" : ",", n);
		prom_label_value(f, json_string_value(v));
		fputc('"', f);
		first = 0;
	}
	if (!first)
		fputc('}', f);
	json_decref(o);
}

static const struct {
	const char *name, *help;
} prom_help[] = {
    {"service_up", "Whether each supervised service is up (1) or down (0), at np-metrics' latest snapshot."},
    {"service_uptime_seconds", "Seconds each supervised service has been up, or down, at np-metrics' latest snapshot."},
    {"queue_depth", "Studies in each spool state, being worked on included, at np-metrics' latest snapshot."},
};

struct prom_out {
	FILE *f;
	char last[96]; /* the metric whose HELP and TYPE are written */
};

/* One series of np-metrics' latest snapshot; the rows come by name, so a
 * metric's HELP and TYPE are written once, before its first series. */
static void prom_metric(void *arg, const char *name, const char *labels, double value)
{
	struct prom_out *o = arg;
	char n[96];
	prom_name(name, n, sizeof n);
	if (strcmp(n, o->last)) {
		const char *help = NULL;
		for (size_t i = 0; i < sizeof prom_help / sizeof prom_help[0]; i++)
			if (!strcmp(prom_help[i].name, n))
				help = prom_help[i].help;
		if (help)
			fprintf(o->f, "# HELP np_%s %s\n", n, help);
		else
			fprintf(o->f, "# HELP np_%s np-metrics' latest sample of %s.\n", n, n);
		fprintf(o->f, "# TYPE np_%s gauge\n", n);
		snprintf(o->last, sizeof o->last, "%s", n);
	}
	fprintf(o->f, "np_%s", n);
	prom_labels(o->f, labels);
	fprintf(o->f, " %.15g\n", value);
}

int np__h_metrics(struct np_req *r)
{
	struct np_db *db = req_db(r);
	if (!db)
		return 503;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "# HELP np_up The agent web server is up.\n# TYPE np_up gauge\nnp_up 1\n");
	fprintf(f,
		"# HELP np_httpd_uptime_seconds Seconds since np-httpd started.\n# TYPE np_httpd_uptime_seconds gauge\n"
		"np_httpd_uptime_seconds %.0f\n",
		np_now() - r->srv->started);
	fprintf(f, "# HELP np_spool_studies Studies in each spool state.\n# TYPE np_spool_studies gauge\n");
	json_t *q = queue_depths(r->srv);
	const char *k;
	json_t *v;
	json_object_foreach (q, k, v)
		fprintf(f, "np_spool_studies{state=\"%s\"} %lld\n", k, (long long)json_integer_value(v));
	json_decref(q);
	fprintf(f, "# HELP np_index_studies Studies in the index by QC result.\n# TYPE np_index_studies gauge\n");
	np_db_studies_qc_counts(db, prom_qc, f);
	fprintf(f, "# HELP np_events_total Events recorded by type.\n# TYPE np_events_total counter\n");
	np_db_events_count_by_type(db, prom_events, f);
	/* The latest snapshot np-metrics recorded, a series per service and
	 * queue state. */
	struct prom_out po = {.f = f};
	np_db_metrics_latest(db, prom_metric, &po);
	fclose(f);
	int rc = np__reply_bytes(r, 200, "text/plain; version=0.0.4", buf, len, NULL);
	free(buf);
	return rc;
}

/* ---- studies ---- */

static const char STUDY_COLS[] =
    "npuid, state, stable, source, format, study_name, accession, patient_name, patient_id, patient_age,"
    " patient_sex, study_date, study_description, modalities, calling_ae, group_name, products, qc_result,"
    " order_id, order_status, order_progress, instances, series, bytes, linked_npuid, flags, created_at,"
    " updated_at, stable_at";
static const char *const study_keys[] = {
    "npuid",	    "state",	  "stable",	 "source",	 "format",     "study_name",	    "accession",
    "patient_name", "patient_id", "patient_age", "patient_sex",	 "study_date", "study_description", "modalities",
    "calling_ae",   "group",	  "products",	 "qc_result",	 "order_id",   "order_status",	    "order_progress",
    "instances",    "series",	  "bytes",	 "linked_npuid", "flags",      "created_at",	    "updated_at",
    "stable_at",    NULL};
static int phi_col(const char *k)
{
	return !strcmp(k, "study_name") || !strcmp(k, "accession") || !strcmp(k, "patient_name") ||
	       !strcmp(k, "patient_id");
}

static json_t *study_row(const struct np_db_row *st, int reveal)
{
	json_t *o = json_object();
	for (int i = 0; study_keys[i]; i++) {
		json_t *v = col_json(st, i);
		if (!reveal && phi_col(study_keys[i]) && !json_is_null(v)) {
			json_decref(v);
			v = json_string(REDACTED);
		} else if ((!strcmp(study_keys[i], "products") || !strcmp(study_keys[i], "flags") ||
			    !strcmp(study_keys[i], "modalities")) &&
			   json_is_string(v)) {
			json_t *p = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
			if (p) {
				json_decref(v);
				v = p;
			}
		} else if (!strcmp(study_keys[i], "stable")) {
			json_t *b = json_boolean(json_integer_value(v));
			json_decref(v);
			v = b;
		}
		json_object_set_new(o, study_keys[i], v);
	}
	return o;
}

/* The listing writes its JSON text straight from the rows: a jansson tree
 * of 50 rows x 29 fields cost more than the query. Same text as
 * study_row + json_dumps(JSON_COMPACT). */

/* 1 when s[0..n) is UTF-8 as jansson takes it (no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp;
		size_t len;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* A JSON string; text that is not UTF-8 becomes "" (as col_json does). */
static void put_json_str(struct np_buf *b, const unsigned char *s, size_t n)
{
	np_buf_json_str(b, s, utf8_ok(s, n) ? n : 0, 0);
}

/* Any JSON value through jansson (the rare cases: reals, JSON columns). */
static void put_json(struct np_buf *b, json_t *v)
{
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!t)
		b->oom = 1;
	else
		np_buf_str(b, t);
	free(t);
	json_decref(v);
}

#define NCOLS (sizeof study_keys / sizeof study_keys[0] - 1)
enum col_kind { COL_PLAIN, COL_PHI, COL_JSON, COL_BOOL };
static enum col_kind col_kind[NCOLS];
static char col_key[NCOLS][24]; /* "\"key\":" */
static size_t col_key_len[NCOLS];
static pthread_once_t cols_once = PTHREAD_ONCE_INIT;

static void cols_init(void)
{
	for (size_t i = 0; i < NCOLS; i++) {
		const char *k = study_keys[i];
		if (phi_col(k))
			col_kind[i] = COL_PHI;
		else if (!strcmp(k, "products") || !strcmp(k, "flags") || !strcmp(k, "modalities"))
			col_kind[i] = COL_JSON;
		else if (!strcmp(k, "stable"))
			col_kind[i] = COL_BOOL;
		else
			col_kind[i] = COL_PLAIN;
		col_key_len[i] = (size_t)snprintf(col_key[i], sizeof col_key[i], "\"%s\":", k);
	}
}

/* The JSON columns (modalities, products, flags) hold what np_db wrote with
 * json_dumps, and a page repeats a few values: re-encoding each one through
 * jansson was a tenth of a page's CPU. Values jansson has re-encoded to
 * the very same bytes are remembered per thread and then copied as they
 * are; anything else still goes through jansson. */
enum { JSON_SEEN = 16, JSON_SEEN_LEN = 120 };
static _Thread_local struct {
	size_t n;
	char s[JSON_SEEN_LEN];
} json_seen[JSON_SEEN];
static _Thread_local unsigned json_seen_next;

static void put_json_column(struct np_buf *b, const unsigned char *txt, size_t n)
{
	for (int i = 0; i < JSON_SEEN; i++)
		if (json_seen[i].n == n && !memcmp(json_seen[i].s, txt, n)) {
			np_buf_add(b, txt, n);
			return;
		}
	json_t *v = json_loadb((const char *)txt, n, JSON_DECODE_ANY, NULL);
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	if (!t) { /* not JSON after all: a string */
		put_json_str(b, txt, n);
		return;
	}
	if (n && n < JSON_SEEN_LEN && strlen(t) == n && !memcmp(t, txt, n)) {
		unsigned k = json_seen_next++ % JSON_SEEN;
		memcpy(json_seen[k].s, txt, n);
		json_seen[k].n = n;
	}
	np_buf_str(b, t);
	free(t);
}

/* An integer in decimal: snprintf's format parsing was a twentieth of a
 * page's CPU (a page has 200 integers). */
static void put_int(struct np_buf *b, long long v)
{
	char num[24], *p = num + sizeof num;
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	np_buf_add(b, p, (size_t)(num + sizeof num - p));
}

static void study_row_text(struct np_buf *b, const struct np_db_row *st, int reveal)
{
	pthread_once(&cols_once, cols_init);
	np_buf_add(b, "{", 1);
	for (size_t i = 0; i < NCOLS; i++) {
		if (i)
			np_buf_add(b, ",", 1);
		np_buf_add(b, col_key[i], col_key_len[i]);
		enum np_db_type t = np_db_row_type(st, (int)i);
		if (col_kind[i] == COL_BOOL) {
			np_buf_str(b, t == NP_DB_INTEGER && np_db_row_int(st, (int)i) ? "true" : "false");
		} else if (t == NP_DB_NULL) {
			np_buf_str(b, "null");
		} else if (col_kind[i] == COL_PHI && !reveal) {
			np_buf_str(b, "\"[Redacted]\"");
		} else if (t == NP_DB_INTEGER) {
			put_int(b, np_db_row_int(st, (int)i));
		} else if (t == NP_DB_FLOAT) {
			put_json(b, json_real(np_db_row_real(st, (int)i)));
		} else {
			size_t n;
			const unsigned char *txt = np_db_row_text(st, (int)i, &n);
			if (txt && col_kind[i] == COL_JSON)
				put_json_column(b, txt, n);
			else
				put_json_str(b, txt ? txt : (const unsigned char *)"", n);
		}
	}
	np_buf_add(b, "}", 1);
}

/* The listing's rows as they come: JSON text into b, with the study's
 * waiting and delivery state from the spool. */
struct studies_out {
	struct np_req *r;
	struct np_buf *b;
	int reveal;
	long n;
	char last[160];	     /* "<created_at>|<npuid>" of the last row: the next cursor */
	struct np_dirs dirs; /* the spool folders the rows asked about */
};

/* Whether the page's spool folder <state>/<sub> may hold name (np__dir_has:
 * 0 only when it surely does not). */
static int spool_may_hold(struct studies_out *o, const char *state, const char *sub, const char *name)
{
	char dir[PATH_MAX];
	if (!state || !np_spool_state_valid(state) ||
	    snprintf(dir, sizeof dir, "%s/spool/%s/%s", o->r->srv->home, state, sub) >= (int)sizeof dir)
		return 1;
	return np__dir_has(&o->dirs, dir, name) != 0;
}

static void studies_row(void *arg, const struct np_db_row *st)
{
	struct studies_out *o = arg;
	struct np_buf *b = o->b;
	if (o->n++)
		np_buf_add(b, ",", 1);
	study_row_text(b, st, o->reveal);
	const char *npuid = (const char *)np_db_row_text(st, 0, NULL),
		   *state = (const char *)np_db_row_text(st, 1, NULL);
	/* Waiting to retry after temporary failures (np_queue_waiting): only
	 * a study with a file in the stage's journal (np_queue.h). */
	char entry[80];
	snprintf(entry, sizeof entry, "%s.json", npuid ? npuid : "");
	json_t *w = spool_may_hold(o, state, ".queue", entry) ? np_queue_waiting(o->r->srv->home, state, npuid) : NULL;
	if (w) {
		b->len--;
		np_buf_str(b, ",\"waiting\":");
		put_json(b, w);
		np_buf_add(b, "}", 1);
	}
	np_study_delivery_row_in(b, o->r->srv->home, state, npuid,
				 !state || !npuid || !np_study_order_over(state) ||
				     spool_may_hold(o, state, ".work", npuid));
	const unsigned char *created = np_db_row_text(st, 26, NULL);
	snprintf(o->last, sizeof o->last, "%s|%s", created ? (const char *)created : "", npuid);
}

int np__h_studies(struct np_req *r)
{
	struct np_studies_q q;
	struct np_studies_sql s;
	char msg[200];
	if (np_studies_q_parse(r->query, &q, msg, sizeof msg) < 0)
		return bad_param(r, msg);
	if (q.reveal && r->role < NP_ROLE_ADMIN)
		return np__reply_error(r, 403, "forbidden", "revealing PHI in a list needs the admin role");
	struct np_db *db = req_db(r);
	if (!db)
		return 503;
	if (np_studies_sql(&q, q.reveal, STUDY_COLS, &s) < 0)
		return bad_param(r, "query too complex");
	struct np_buf b = {0};
	struct studies_out out = {.r = r, .b = &b, .reveal = q.reveal};
	struct np_db_studies_page pg;
	struct np_err err = {0};
	np_buf_str(&b, "{\"items\":[");
	if (np_db_studies_page(db, &q, &s, studies_row, &out, &pg, &err) < 0) {
		free(b.p);
		if (err.cls == NP_ERR_PERM)
			return np__reply_error(r, 500, "internal", "%s", err.msg);
		return np__reply_error(r, 503, "unavailable", "%s", err.msg);
	}
	long n = pg.n;
	int more = pg.more;
	json_t *o =
	    json_pack("{s:I,s:I,s:b}", "page", (json_int_t)q.page, "size", (json_int_t)q.size, "has_more", more);
	/* The total of the filtered set (not with a cursor: the keyset
	 * condition is in the WHERE). A last page tells it for free; else it is
	 * counted up to count_limit and, past that, only a lower bound. */
	if (!q.cursor[0] && !more && (n || !s.offset)) {
		json_object_set_new(o, "total", json_integer(s.offset + n));
		json_object_set_new(o, "total_exact", json_true());
	} else if (!q.cursor[0] && pg.broad) {
		long low = s.offset + n + more;
		json_object_set_new(o, "total",
				    json_integer(s.search_only && s.broad_limit > low ? s.broad_limit : low));
		json_object_set_new(o, "total_exact", json_false());
	} else if (pg.counted) {
		long c = (long)pg.count;
		json_object_set_new(o, "total", json_integer(c > s.count_limit ? s.count_limit : c));
		json_object_set_new(o, "total_exact", json_boolean(c <= s.count_limit));
	}
	json_object_set_new(o, "next_cursor",
			    more && !strcmp(np_studies_q_order(&q), "created_at") ? json_string(out.last)
										  : json_null());
	if (q.reveal)
		np__audit(r, "reveal", NULL, "scope=list", "success");
	/* The rest of the object after the items: {"page":...} without its "{". */
	char *tail = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	np_buf_str(&b, "],");
	np_buf_str(&b, tail ? tail + 1 : "");
	free(tail);
	if (b.oom || !tail) {
		free(b.p);
		return np__reply_error(r, 500, "internal", "out of memory");
	}
	int status = np__reply_bytes(r, 200, "application/json", b.p, b.len, NULL);
	free(b.p);
	return status;
}

int np_httpd_studies_sql_print(FILE *f, const char *home, const char *query, struct np_err *err)
{
	struct np_studies_q q;
	struct np_studies_sql s;
	char msg[200];
	if (np_studies_q_parse(query, &q, msg, sizeof msg) < 0)
		return np_err_set(err, NP_ERR_PERM, "%s", msg);
	if (np_studies_sql(&q, q.reveal, STUDY_COLS, &s) < 0)
		return np_err_set(err, NP_ERR_PERM, "query too complex");
	int broad = 0, walk = 0;
	long walk_min = 0;
	if (s.match_param || s.walk_param) {
		/* The probes decide which page statement runs, as in np__h_studies. */
		struct np_db *db = np_index_open(home, err);
		if (!db)
			return -1;
		broad = np_db_studies_broad(db, &s);
		walk_min = broad ? 0 : np_db_studies_walk_min(db, &q, &s);
		walk = walk_min > 0 && np_db_studies_walk(db, &s, walk_min);
		np_db_close(db);
	}
	if (walk_min > 0)
		fprintf(f, ".parameter set ?%d \"'%ld'\"\n", s.walk_param, walk_min);
	for (int i = 0; i < s.nbind; i++) {
		/* A double-quoted shell argument holding an SQL text literal. */
		fprintf(f, ".parameter set ?%d \"'", i + 1);
		for (const char *p = s.binds[i]; *p; p++) {
			if ((unsigned char)*p < 0x20)
				return np_err_set(err, NP_ERR_PERM, "a control character in a parameter");
			fprintf(f, "%s%c", *p == '\'' ? "'" : *p == '"' || *p == '\\' ? "\\" : "", *p);
		}
		fprintf(f, "'\"\n");
	}
	if (s.match_param)
		fprintf(f, "%s;\n", s.probe);
	if (walk_min > 0)
		fprintf(f, "%s;\n", s.walk_probe);
	fprintf(f, "%s;\n", broad ? s.page_broad : walk ? s.page_walk : s.page);
	if (!q.cursor[0] && !broad)
		fprintf(f, "%s;\n", s.count);
	return 0;
}

static json_t *load_opt(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct np_err err = {0};
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (!np_exists(p))
		return json_null();
	json_t *v = np_json_load(p, 16 << 20, &err);
	return v ? v : json_null();
}

static json_t *load_history(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/history.jsonl", dir);
	json_t *a = json_array();
	FILE *f = fopen(p, "re");
	char line[4096];
	while (f && fgets(line, sizeof line, f)) {
		json_t *v = json_loads(line, 0, NULL);
		if (v)
			json_array_append_new(a, v);
	}
	if (f)
		fclose(f);
	return a;
}

/* Remove identifying demographics from a manifest copy. */
static void redact_manifest(json_t *m)
{
	json_t *p = json_object_get(m, "patient");
	const char *k;
	json_t *v;
	json_object_foreach (p, k, v)
		if (strcmp(k, "age") && strcmp(k, "sex") && !json_is_null(v))
			json_object_set_new(p, k, json_string(REDACTED));
	json_t *s = json_object_get(m, "study");
	if (json_is_string(json_object_get(s, "accession_number")))
		json_object_set_new(s, "accession_number", json_string(REDACTED));
	if (json_is_string(json_object_get(m, "study_name")))
		json_object_set_new(m, "study_name", json_string(REDACTED));
}

/* The manifest's two texts in a study's info: the manifest (redacted
 * unless *(int *)reveal) and the names of its transfer syntaxes and SOP
 * classes, so the UI needs no table of its own. */
static void manifest_texts(json_t *m, void *reveal, char *out[], int n)
{
	(void)n;
	if (m && !*(int *)reveal)
		redact_manifest(m);
	json_t *names = np_uid_names(m);
	out[0] = json_dumps(m ? m : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	out[1] = names ? json_dumps(names, JSON_COMPACT) : NULL;
	json_decref(names);
}

/* The manifest is the bulk of the answer and seldom changes: its texts are
 * kept (np_httpd_jcache.c); the rest is read for every request. The text is
 * the one json_dumps made of the whole object, key for key. */
int np__h_study_info(struct np_req *r)
{
	const char *id;
	char dir[PATH_MAX], state[32], rv[8] = "", p[PATH_MAX];
	if (npuid_param(r, &id) < 0 || study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 400;
	np_query_get(r->query, "reveal", rv, sizeof rv);
	int reveal = !strcmp(rv, "1") || !strcmp(rv, "true");
	char *mt[2] = {NULL, NULL};
	snprintf(p, sizeof p, "%s/manifest.json", dir);
	if (np__json_file_texts(p, reveal ? "manifest" : "manifest-redacted", manifest_texts, &reveal, mt, 2) < 0)
		return np__reply_error(r, 500, "internal", "out of memory");
	json_t *head = json_pack("{s:s,s:s}", "npuid", id, "state", state);
	json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "qc", load_opt(dir, "qc.json"), "order", load_opt(dir, "order.json"),
			      "deliveries", load_opt(dir, "deliveries.json"), "history", load_history(dir));
	json_t *dl = np_study_delivery(dir, state);
	json_object_set_new(o, "delivery", dl ? dl : json_null());
	json_t *w = np_queue_waiting(r->srv->home, state, id);
	json_object_set_new(o, "waiting", w ? w : json_null());
	char *h = head ? json_dumps(head, JSON_COMPACT) : NULL, *rest = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(head);
	json_decref(o);
	struct np_buf b = {0};
	if (h && rest) {
		/* {"npuid":..,"state":.. + ,"manifest":M + ,"qc":..,"waiting":.. + ,"uid_names":U} */
		np_buf_add(&b, h, strlen(h) - 1);
		np_buf_str(&b, ",\"manifest\":");
		np_buf_str(&b, mt[0]);
		np_buf_add(&b, ",", 1);
		np_buf_add(&b, rest + 1, strlen(rest) - 2);
		np_buf_str(&b, ",\"uid_names\":");
		np_buf_str(&b, mt[1]);
		np_buf_add(&b, "}", 1);
	}
	free(h);
	free(rest);
	free(mt[0]);
	free(mt[1]);
	if (!b.p || b.oom) {
		free(b.p);
		return np__reply_error(r, 500, "internal", "out of memory");
	}
	if (reveal)
		np__audit(r, "reveal", id, "scope=study", "success");
	int status = np__reply_bytes(r, 200, "application/json", b.p, b.len, NULL);
	free(b.p);
	return status;
}

int np__h_study_qc(struct np_req *r)
{
	const char *id;
	char dir[PATH_MAX], state[32], p[PATH_MAX];
	if (npuid_param(r, &id) < 0 || study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 400;
	snprintf(p, sizeof p, "%s/qc.json", dir);
	if (!np_exists(p))
		return np__reply_error(r, 404, "not_found", "no QC report yet for %s (state %s)", id, state);
	return np__reply_file(r, p, "application/json", NULL);
}

/* Body {"neuropacsId": UUID} of the guide's PUT actions. */
static int body_npuid(struct np_req *r, char out[37])
{
	json_t *b = np__body_json(r);
	if (!b)
		return -1;
	const char *id = json_string_value(json_object_get(b, "neuropacsId"));
	if (!id || !np_uuid_valid(id)) {
		json_decref(b);
		np__reply_error(r, 400, "bad_request", "neuropacsId: expected a UUID");
		return -1;
	}
	snprintf(out, 37, "%s", id);
	json_decref(b);
	return 0;
}

int np__h_bypass_qc(struct np_req *r)
{
	char id[37], dir[PATH_MAX], state[32];
	if (body_npuid(r, id) < 0 || study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 400;
	if (strcmp(state, "qc-failed"))
		return np__reply_error(r, 409, "conflict", "study %s is %s, not qc-failed", id, state);
	struct np_err err = {0};
	/* who is the role and method, never a person's name: it lands in qc.json */
	if (np_qc_bypass(r->srv->home, id, r->sid[0] || r->srv->insecure_no_auth ? "admin" : "-", &err) < 0) {
		np__audit(r, "bypass_qc", id, NULL, "failure");
		return np__reply_err(r, &err);
	}
	np__audit(r, "bypass_qc", id, NULL, "success");
	char now[32] = "";
	int claimed = 0;
	np_spool_find(r->srv->home, id, now, sizeof now, &claimed, NULL);
	return np__reply_json(r, 200, json_pack("{s:s,s:s,s:s}", "npuid", id, "state", now, "qc_result", "bypassed"));
}

/* Body {"neuropacsId"} (or {"studyInstanceUid"}) of an incoming study. */
int np__h_force_stable(struct np_req *r)
{
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	const char *id = json_string_value(json_object_get(b, "neuropacsId"));
	const char *uid = json_string_value(json_object_get(b, "studyInstanceUid"));
	char key[80];
	if (id && np_uuid_valid(id))
		snprintf(key, sizeof key, "%s", id);
	else if (!id && uid && np_dicom_uid_valid(uid))
		snprintf(key, sizeof key, "%s", uid);
	else {
		json_decref(b);
		return bad_param(r, "neuropacsId: expected a UUID (or studyInstanceUid: a DICOM UID)");
	}
	json_decref(b);
	struct np_err err = {0};
	char npuid[37] = "";
	if (np_stable_force(r->srv->home, key, npuid, &err) < 0) {
		np__audit(r, "force_stable", np_uuid_valid(key) ? key : NULL, NULL, "failure");
		if (err.sys == ENOENT)
			return np__reply_error(r, 404, "not_found", "no incoming study %s", key);
		return np__reply_err(r, &err);
	}
	np__audit(r, "force_stable", npuid, NULL, "success");
	return np__reply_json(r, 200, json_pack("{s:s,s:s}", "npuid", npuid, "state", "stable"));
}

/* np__h_study_cancel: lib/httpd/np_httpd_studyops.c (np_study_ops). */

int np__h_study_check_status(struct np_req *r)
{
	const char *id;
	char dir[PATH_MAX], state[32];
	if (npuid_param(r, &id) < 0 || study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 400;
	/* An order that is over is not asked about: the cloud may have
	 * forgotten it long ago ("Expired"); what was stored is the answer. */
	if (np_study_order_over(state))
		return np__reply_json(r, 200,
				      json_pack("{s:s,s:s,s:b,s:o}", "npuid", id, "state", state, "live", 0, "order",
						np_study_final(dir)));
	/* Under the privilege split np-httpd may not read the cloud
	 * credentials: the answer is what the back-end last recorded. */
	char as_of[32];
	json_t *rec = np_cloud_credentials_here(&r->cfg) ? NULL : np_study_recorded(dir, as_of, sizeof as_of);
	if (rec && np_json_str(rec, "order_id", NULL))
		return np__reply_json(r, 200,
				      json_pack("{s:s,s:s,s:b,s:s,s:o}", "npuid", id, "state", state, "live", 0,
						"as_of", as_of, "order", rec));
	json_decref(rec);
	struct np_err err = {0};
	json_t *order = NULL;
	int rc = np_cloud_check_status(r->srv->home, id, &order, &err);
	if (rc < 0)
		return np__reply_err(r, &err);
	if (rc == 1) {
		json_decref(order);
		return np__reply_error(r, 409, "no_order", "study %s has no cloud order yet (state %s)", id, state);
	}
	return np__reply_json(r, 200,
			      json_pack("{s:s,s:s,s:b,s:o}", "npuid", id, "state", state, "live", 1, "order",
					order ? order : json_object()));
}

int np__h_study_group(struct np_req *r)
{
	const char *id;
	if (npuid_param(r, &id) < 0)
		return 400;
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	json_t *gv = json_object_get(b, "group");
	char g[NP_GROUP_NAME_MAX + 1] = "";
	int ok = json_is_null(gv) || (json_is_string(gv) && np_group_name_valid(json_string_value(gv)));
	if (json_is_string(gv))
		snprintf(g, sizeof g, "%s", json_string_value(gv));
	json_decref(b);
	if (!ok)
		return bad_param(r, "group: a valid group name, or null to take the study out of its group");
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db)
		return 503;
	int rc = g[0] ? np_group_assign(r->srv->home, db, g, id, &err) : np_group_unassign(r->srv->home, db, id, &err);
	if (rc < 0)
		return np__reply_err(r, &err);
	return np__reply_json(r, 200,
			      json_pack("{s:s,s:o}", "npuid", id, "group", g[0] ? json_string(g) : json_null()));
}

/* ---- results ---- */

static const char *const result_fmts[] = {"json", "png", "pdf", "txt", "xml", NULL};

/* results/report.FMT or result.FMT (as np-poll names them), else the first
 * *.FMT; never np-poll's own index.json. */
static int result_file(const char *dir, const char *fmt, char *out, size_t outsz)
{
	char rd[PATH_MAX];
	snprintf(rd, sizeof rd, "%s/results", dir);
	static const char *const stems[] = {"report", "result", "results"};
	for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
		snprintf(out, outsz, "%s/%s.%s", rd, stems[i], fmt);
		if (np_exists(out))
			return 0;
	}
	struct dirent **ents;
	int n = scandir(rd, &ents, NULL, alphasort), found = -1;
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name, *dot = strrchr(nm, '.');
		if (found < 0 && nm[0] != '.' && strcmp(nm, "index.json") && dot && !strcasecmp(dot + 1, fmt)) {
			snprintf(out, outsz, "%s/%s", rd, nm);
			found = 0;
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	return found;
}

/* A row of GET /api/results with its result formats and deliveries. */
struct results_out {
	struct np_req *r;
	json_t *items;
	int reveal;
};

static void results_row(void *arg, const struct np_db_row *st)
{
	struct results_out *o = arg;
	json_t *row = study_row(st, o->reveal);
	const char *npuid = (const char *)np_db_row_text(st, 0, NULL),
		   *state = (const char *)np_db_row_text(st, 1, NULL);
	char dir[PATH_MAX], f[PATH_MAX];
	json_t *fm = json_array();
	np_spool_study_dir(o->r->srv->home, state, npuid, dir, sizeof dir, NULL);
	for (int i = 0; result_fmts[i]; i++)
		if (result_file(dir, result_fmts[i], f, sizeof f) == 0)
			json_array_append_new(fm, json_string(result_fmts[i]));
	json_object_set_new(row, "formats", fm);
	json_object_set_new(row, "deliveries", load_opt(dir, "deliveries.json"));
	json_t *dl = np_study_delivery(dir, state);
	json_object_set_new(row, "delivery", dl ? dl : json_null());
	json_array_append_new(o->items, row);
}

int np__h_results(struct np_req *r)
{
	char msg[80], q[128] = "", rv[8] = "";
	long page = 1, size = 50;
	if (np_query_long(r->query, "page", 1, 1000000, &page, msg, sizeof msg) < 0 ||
	    np_query_long(r->query, "size", 1, 200, &size, msg, sizeof msg) < 0)
		return bad_param(r, msg);
	if (np_query_get(r->query, "q", q, sizeof q) < 0)
		return bad_param(r, "q: at most 127 bytes of text");
	if (np_query_get(r->query, "reveal", rv, sizeof rv) < 0)
		return bad_param(r, "reveal: 1 or true");
	int reveal = !strcmp(rv, "1") || !strcmp(rv, "true");
	if (reveal && r->role < NP_ROLE_ADMIN)
		return np__reply_error(r, 403, "forbidden", "revealing PHI in a list needs the admin role");
	struct np_db *db = req_db(r);
	if (!db)
		return 503;
	struct results_out out = {r, json_array(), reveal};
	struct np_err err = {0};
	int more = np_db_studies_results(db, STUDY_COLS, q, reveal, size, (page - 1) * size, results_row, &out, &err);
	if (more < 0) {
		json_decref(out.items);
		return np__reply_error(r, 500, "internal", "database error");
	}
	json_t *items = out.items;
	if (reveal)
		np__audit(r, "reveal", NULL, "scope=results", "success");
	return np__reply_json(r, 200,
			      json_pack("{s:o,s:I,s:I,s:b}", "items", items, "page", (json_int_t)page, "size",
					(json_int_t)size, "has_more", more));
}

static int send_result(struct np_req *r, const char *id, const char *fmt, int inline_pdf)
{
	char dir[PATH_MAX], state[32], f[PATH_MAX];
	if (study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 404;
	if (result_file(dir, fmt, f, sizeof f) < 0)
		return np__reply_error(r, 404, "not_found", "no %s result for %s", fmt, id);
	char name[80];
	snprintf(name, sizeof name, "%s.%s", id, fmt);
	const char *ct = !strcmp(fmt, "json")  ? "application/json"
			 : !strcmp(fmt, "xml") ? "application/xml"
			 : !strcmp(fmt, "txt") ? "text/plain; charset=utf-8"
			 : !strcmp(fmt, "png") ? "image/png"
					       : "application/pdf";
	return np__reply_file(r, f, ct, inline_pdf ? NULL : name);
}

int np__h_result_get(struct np_req *r)
{
	const char *id;
	char fmt[8] = "json";
	if (npuid_param(r, &id) < 0)
		return 400;
	if (np_query_get(r->query, "format", fmt, sizeof fmt) < 0)
		return bad_param(r, "format: one of json, png, pdf, txt, xml");
	int ok = 0;
	for (int i = 0; result_fmts[i]; i++)
		ok |= !strcmp(fmt, result_fmts[i]);
	if (!ok)
		return bad_param(r, "format: one of json, png, pdf, txt, xml");
	return send_result(r, id, fmt, 0);
}

int np__h_reports(struct np_req *r)
{
	char id[64];
	if (np_query_get(r->query, "neuropacsId", id, sizeof id) != 1 || !np_uuid_valid(id))
		return bad_param(r, "neuropacsId: expected a UUID");
	return send_result(r, id, "pdf", 1);
}

/* A delivery builds DICOM objects and calls curl with large frames
 * (np_deliver_study alone takes about 50 KB, 80 KB with ASan): more than
 * CivetWeb gives its workers. Run it on a thread with a full-size stack,
 * as uploads are. */
struct deliver_job {
	const char *home, *dir, *which;
	int dest, failed, rc;
	char *msg;
	size_t msgsz;
	struct np_err err;
};

static void *deliver_study_thread(void *p)
{
	struct deliver_job *j = p;
	j->rc = np_deliver_study(j->home, j->dir, j->dest, NP_DELIVER_RESEND, &j->failed, &j->err);
	return NULL;
}

static void *deliver_test_thread(void *p)
{
	struct deliver_job *j = p;
	j->rc = np_deliver_test(j->home, j->which, j->msg, j->msgsz, &j->err);
	return NULL;
}

static int on_big_stack(void *(*fn)(void *), struct deliver_job *j)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 8 << 20);
	int rc = pthread_create(&t, &a, fn, j);
	pthread_attr_destroy(&a);
	if (rc != 0) {
		j->rc = -1;
		np_err_set(&j->err, NP_ERR_TEMP, "unable to start the delivery: %s", strerror(rc));
		return -1;
	}
	pthread_join(t, NULL);
	return j->rc;
}

int np__h_result_resend(struct np_req *r)
{
	const char *id;
	char dir[PATH_MAX], state[32], msg[80];
	long dest = -1;
	if (npuid_param(r, &id) < 0)
		return 400;
	if (np_query_long(r->query, "destination", 0, 4, &dest, msg, sizeof msg) < 0)
		return bad_param(r, "destination: an integer from 0 to 4 (default every destination)");
	if (study_dir(r, id, dir, sizeof dir, state, sizeof state) < 0)
		return 404;
	struct deliver_job j = {.home = r->srv->home, .dir = dir, .dest = (int)dest};
	int rc = on_big_stack(deliver_study_thread, &j), failed = j.failed;
	if (rc < 0) {
		np__audit(r, "manual_delivery", id, "scope=study", "failure");
		return np__reply_err(r, &j.err);
	}
	np__audit(r, "manual_delivery", id, dest < 0 ? "scope=study" : "scope=destination",
		  rc == 0 && !failed ? "success" : "partial");
	/* One attempt each was made now (delivered destinations are not sent
	 * again unless named); the ones still waiting are retried on the
	 * retry.* schedule by np-queue or np-deliver --failures (np-sched). */
	json_t *dl = load_opt(dir, "deliveries.json");
	int sent = 0, waiting = 0, nfailed = 0;
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(dl, "destinations"), i, e) {
		const char *st = json_string_value(json_object_get(e, "state"));
		st = st ? st : "pending";
		sent += !strcmp(st, "sent");
		nfailed += !strcmp(st, "failed");
		waiting += !strcmp(st, "pending") || !strcmp(st, "sending");
	}
	char m[200];
	snprintf(m, sizeof m, "Delivered %d/%zu%s%.0d%s%s%.0d%s", sent,
		 json_array_size(json_object_get(dl, "destinations")), waiting ? "; " : "", waiting,
		 waiting ? " waiting to retry automatically" : "", nfailed ? "; " : "", nfailed,
		 nfailed ? " failed" : "");
	return np__reply_json(r, 200,
			      json_pack("{s:s,s:b,s:i,s:i,s:s,s:o}", "npuid", id, "finished", rc == 0, "failed", failed,
					"waiting", waiting, "message", m, "deliveries", dl));
}

/* ---- groups ---- */

/* The group named by the path: its name, or "id:N" for a group whose name
 * cannot be a path segment (made before names were checked: "a/b", ".."). */
static int group_param(struct np_req *r, struct np_db *db, char *name, size_t namesz)
{
	struct np_err err = {0};
	if (np_group_resolve(db, r->param[0], name, namesz, &err) == 0)
		return 0;
	return err.cls == NP_ERR_PERM ? np__reply_error(r, 404, "not_found", "%s", err.msg),
	       -1		      : np__reply_err(r, &err), -1;
}

int np__h_groups(struct np_req *r)
{
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db)
		return 503;
	json_t *l = np_group_list(db, &err);
	if (!l)
		return np__reply_err(r, &err);
	return np__reply_json(r, 200, json_pack("{s:o}", "items", l));
}

int np__h_group_get(struct np_req *r)
{
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db)
		return 503;
	char name[NP_HTTPD_PARAM_MAX];
	if (group_param(r, db, name, sizeof name) < 0)
		return 404;
	json_t *g = np_group_get(db, name, &err);
	if (!g)
		return err.cls == NP_ERR_PERM ? np__reply_error(r, 404, "not_found", "no such group")
					      : np__reply_err(r, &err);
	return np__reply_json(r, 200, g);
}

int np__h_group_create(struct np_req *r)
{
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	const char *n = json_string_value(json_object_get(b, "name"));
	json_t *p = json_object_get(b, "products");
	const char *d = json_string_value(json_object_get(b, "description"));
	const char *why = n ? np_group_name_problem(n) : "it is missing (a string)";
	/* The UI's form asks for them, and an upload to the group takes them;
	 * np-group create may leave them to the first study assigned. */
	if (why || !json_is_array(p) || !json_array_size(p)) {
		json_decref(b);
		return why ? np__reply_error(r, 400, "bad_request",
					     "name: %s (a group name is 1-128 bytes of UTF-8 without control or "
					     "invisible characters, "
					     "'/' or '\\', not '.' or '..', no blank at either end)",
					     why)
			   : bad_param(r, "products: an array of at least one product id (all studies of a group use "
					  "its products)");
	}
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db) {
		json_decref(b);
		return 503;
	}
	int rc = np_group_create(db, n, p, d, &err);
	json_t *g = rc == 0 ? np_group_get(db, n, &err) : NULL;
	json_decref(b);
	if (rc < 0)
		return strstr(err.msg, "exist") ? np__reply_error(r, 409, "conflict", "%s", err.msg)
						: np__reply_err(r, &err);
	return np__reply_json(r, 201, g ? g : json_object());
}

int np__h_group_delete(struct np_req *r)
{
	char f[8] = "";
	np_query_get(r->query, "force", f, sizeof f);
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db)
		return 503;
	char name[NP_HTTPD_PARAM_MAX];
	if (group_param(r, db, name, sizeof name) < 0)
		return 404;
	json_t *g = np_group_get(db, name, &err);
	if (!g)
		return np__reply_error(r, 404, "not_found", "no such group");
	json_t *shown = json_incref(json_object_get(g, "name"));
	json_decref(g);
	if (np_group_delete(r->srv->home, db, name, !strcmp(f, "1") || !strcmp(f, "true"), &err) < 0) {
		json_decref(shown);
		return np__reply_error(r, 409, "conflict", "%s", err.msg);
	}
	return np__reply_json(r, 200, json_pack("{s:o,s:b}", "name", shown, "deleted", 1));
}

int np__h_group_report(struct np_req *r)
{
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	char *csv = NULL, name[256], hdr[400];
	size_t len = 0;
	if (!db)
		return 503;
	char gname[NP_HTTPD_PARAM_MAX];
	if (group_param(r, db, gname, sizeof gname) < 0)
		return 404;
	if (np_groupreport_csv(r->srv->home, db, &r->cfg, gname, &csv, &len, NULL, &err) < 0)
		return err.cls == NP_ERR_PERM ? np__reply_error(r, 404, "not_found", "%s", err.msg)
					      : np__reply_err(r, &err);
	if (np_groupreport_filename(&r->cfg, gname, (time_t)np_now(), name, sizeof name, &err) < 0)
		snprintf(name, sizeof name, "group-report.csv");
	snprintf(hdr, sizeof hdr, "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
	int rc = np__reply_bytes(r, 200, "text/csv; charset=utf-8", csv, len, hdr);
	free(csv);
	return rc;
}

int np__h_group_report_send(struct np_req *r)
{
	struct np_db *db = req_db(r);
	struct np_err err = {0};
	if (!db)
		return 503;
	char name[NP_HTTPD_PARAM_MAX];
	if (group_param(r, db, name, sizeof name) < 0)
		return 404;
	json_t *g = np_group_get(db, name, &err);
	if (!g)
		return np__reply_error(r, 404, "not_found", "no such group");
	json_t *shown = json_incref(json_object_get(g, "name"));
	json_decref(g);
	int rc = np_groupreport_send(r->srv->home, db, &r->cfg, name, "manual", &err);
	if (rc < 0) {
		json_decref(shown);
		np__audit(r, "manual_delivery", NULL, "scope=group_report", "failure");
		return np__reply_error(r, err.cls == NP_ERR_TEMP ? 502 : 400, "delivery_failed", "%s", err.msg);
	}
	if (rc == 1)
		return np__reply_json(r, 200,
				      json_pack("{s:o,s:b,s:s}", "name", shown, "sent", 0, "message",
						"Not sent: the group report delivery method is None (Settings, Study "
						"Groups). Download the CSV instead."));
	np__audit(r, "manual_delivery", NULL, "scope=group_report", "success");
	return np__reply_json(r, 200, json_pack("{s:o,s:b}", "name", shown, "sent", 1));
}

int np__h_sidecar_template(struct np_req *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:[s],s:s}", "study_name", "", "accession_number", "", "patient_age", "",
			      "products", "", "patient_sex", "");
	json_object_set_new(o, "patient_age", json_integer(0));
	json_object_set_new(o, "patient_sex", json_string("F|M|O"));
	const char *hdr = "Content-Disposition: attachment; filename=\"sidecar-template.json\"\r\n";
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	int rc = np__reply_bytes(r, 200, "application/json", s, strlen(s), hdr);
	free(s);
	return rc;
}

/* ---- settings ---- */

int np__h_settings_get(struct np_req *r)
{
	return np__reply_json(r, 200, np_config_masked(&r->cfg));
}

int np__h_settings_schema(struct np_req *r)
{
	/* The schema itself, plus which settings restart a service (the page's badges). */
	json_t *s = json_copy(np_config_schema());
	json_object_set_new(s, "x-restarts", np_effect_restarts(np_config_schema()));
	return np__reply_json(r, 200, s);
}

/* Put key into the sorted array of keys out, once. */
static void add_key_sorted(json_t *out, const char *key)
{
	size_t i = 0;
	while (i < json_array_size(out) && strcmp(json_string_value(json_array_get(out, i)), key) < 0)
		i++;
	if (i == json_array_size(out) || strcmp(json_string_value(json_array_get(out, i)), key))
		json_array_insert_new(out, i, json_string(key));
}

/* Dotted leaf paths whose values differ between a and b (values never logged). */
static void diff_keys(json_t *a, json_t *b, const char *prefix, json_t *out)
{
	const char *k;
	json_t *v;
	json_t *keys = json_object();
	json_object_foreach (a, k, v)
		json_object_set_new(keys, k, json_true());
	json_object_foreach (b, k, v)
		json_object_set_new(keys, k, json_true());
	json_object_foreach (keys, k, v) {
		char p[256];
		snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", k);
		json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
		if (json_is_object(x) && json_is_object(y))
			diff_keys(x, y, p, out);
		else if (!json_equal(x, y))
			add_key_sorted(out, p);
	}
	json_decref(keys);
}

int np__h_settings_put(struct np_req *r)
{
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	json_t *next = json_deep_copy(r->cfg.root);
	json_t *before = np_config_masked(&r->cfg);
	struct np_err err = {0};
	char pw_stamp[65]; /* a new service password ends the other sessions */
	np_svcpw_stamp(r->srv->home, pw_stamp);
	/* A secret shows masked before and after: one given counts as changed. */
	json_t *secrets = np_config_secrets_given(r->srv->home, b);
	np_json_merge(next, b);
	json_decref(b);
	/* Settings that would keep a service from starting are refused before
	 * they are saved (np_httpd_apply.c). */
	struct np_config nc = {.root = next};
	snprintf(nc.home, sizeof nc.home, "%s", r->srv->home);
	if (np_config_check(next, &err) < 0 || np__settings_precheck(r->srv, &nc, &err) < 0 ||
	    np_config_save(r->srv->home, next, &err) < 0) {
		json_decref(next);
		json_decref(before);
		json_decref(secrets);
		char key[128] = "";
		const char *c = strchr(err.msg, ':');
		/* key: the dotted path of the setting the message starts with */
		if (c && (size_t)(c - err.msg) < sizeof key &&
		    strspn(err.msg, "abcdefghijklmnopqrstuvwxyz0123456789_.") == (size_t)(c - err.msg))
			snprintf(key, sizeof key, "%.*s", (int)(c - err.msg), err.msg);
		return np__reply_json(r, err.cls == NP_ERR_TEMP ? 503 : 400,
				      json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
						err.cls == NP_ERR_TEMP ? "unavailable" : "invalid_settings", "message",
						err.msg, "key", key));
	}
	json_decref(next);
	np__password_saved(r, pw_stamp, "settings");
	if (np_httpd_reload(r->srv, &err) < 0)
		np_log_err(NULL, &err);
	struct np_config now;
	snprintf(now.home, sizeof now.home, "%s", r->srv->home);
	pthread_mutex_lock(&r->srv->lock);
	now.root = json_incref(r->srv->cfg);
	pthread_mutex_unlock(&r->srv->lock);
	json_t *after = np_config_masked(&now);
	json_t *changed = json_array();
	diff_keys(before, after, "", changed);
	size_t si;
	json_t *sk;
	json_array_foreach (secrets, si, sk)
		add_key_sorted(changed, json_string_value(sk));
	json_decref(secrets);
	char *keys = json_dumps(changed, JSON_COMPACT);
	char detail[1024];
	snprintf(detail, sizeof detail, "keys=%s", keys ? keys : "[]");
	free(keys);
	np__audit(r, "settings_change", NULL, detail, "success");
	json_decref(before);
	/* Only the services whose settings changed are told (np_httpd_apply.c). */
	json_t *applied = np__settings_apply(r, changed);
	json_t *o = json_pack("{s:o,s:o,s:o}", "settings", after, "changed", changed, "applied", applied);
	json_decref(now.root);
	return np__reply_json(r, 200, o);
}

/* Body {"destination": "0".."4" | "failure" | "group"} (default "0"). */
int np__h_test_delivery(struct np_req *r)
{
	char which[16] = "0", msg[512] = "";
	const char *ct = mg_get_header(r->c, "Content-Type");
	if (r->ri->content_length > 0 || (ct && *ct)) {
		json_t *b = np__body_json(r);
		if (!b)
			return 400;
		json_t *d = json_object_get(b, "destination");
		if (json_is_integer(d))
			snprintf(which, sizeof which, "%lld", (long long)json_integer_value(d));
		else if (json_is_string(d))
			snprintf(which, sizeof which, "%s", json_string_value(d));
		json_decref(b);
	}
	if (strcmp(which, "failure") && strcmp(which, "group") &&
	    !(strlen(which) == 1 && which[0] >= '0' && which[0] <= '4'))
		return bad_param(r, "destination: 0 to 4, failure or group");
	struct deliver_job j = {.home = r->srv->home, .which = which, .msg = msg, .msgsz = sizeof msg};
	if (on_big_stack(deliver_test_thread, &j) < 0) {
		np__audit(r, "manual_delivery", NULL, "scope=test", "failure");
		return np__reply_error(r, j.err.cls == NP_ERR_TEMP ? 502 : 400, "delivery_failed", "%s", j.err.msg);
	}
	np__audit(r, "manual_delivery", NULL, "scope=test", "success");
	return np__reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", msg));
}

int np__h_test_notification(struct np_req *r)
{
	char msg[512] = "";
	struct np_err err = {0};
	if (np_notify_test(r->srv->home, msg, sizeof msg, &err) < 0)
		return np__reply_error(r, err.cls == NP_ERR_TEMP ? 502 : 400, "notification_failed", "%s", err.msg);
	return np__reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", msg));
}

int np__h_refresh_token(struct np_req *r)
{
	char msg[256] = "";
	struct np_err err = {0};
	/* Under the privilege split np-httpd may not read the cloud credentials:
	 * the back-end asks for a new token at its next call once the cached
	 * one is gone (np-httpd may remove what the back-end wrote in etc/sealed). */
	if (!np_cloud_credentials_here(&r->cfg)) {
		if (np_config_secret_set(r->srv->home, "cloud.token", NULL, &err) < 0)
			return np__reply_err(r, &err);
		return np__reply_json(
		    r, 200,
		    json_pack("{s:b,s:s}", "ok", 1, "message",
			      "The cloud credentials are readable by the back-end only: the cached token "
			      "was dropped, and the next upload or status poll asks for a new one. To "
			      "test them now, run np-cloud refresh-token on the host as the service "
			      "user."));
	}
	if (np_cloud_refresh_token(r->srv->home, msg, sizeof msg, &err) < 0)
		return np__reply_error(r, err.cls == NP_ERR_TEMP ? 502 : 400, "cloud_error", "%s", err.msg);
	return np__reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "message", msg));
}

/* ---- TLS ---- */

int np__h_tls_get(struct np_req *r)
{
	return np__reply_json(r, 200,
			      json_pack("{s:b,s:o}", "enabled", np_config_bool(&r->cfg, "tls.enabled"), "active",
					np_httpd_tls_info(r->srv->tls)));
}

static int save_pem(const char *home, const char *rel, const char *pem, mode_t mode, struct np_err *err)
{
	char p[PATH_MAX], d[PATH_MAX];
	snprintf(d, sizeof d, "%s/etc/tls", home);
	if (np_mkdirs(d, 0750, err) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/%s", home, rel);
	return np_write_atomic(p, pem, strlen(pem), mode, err);
}

int np__h_tls_upload(struct np_req *r)
{
	json_t *b = np__body_json(r);
	if (!b)
		return 400;
	const char *cert = json_string_value(json_object_get(b, "certificate"));
	const char *key = json_string_value(json_object_get(b, "private_key"));
	const char *ca = json_string_value(json_object_get(b, "ca_certificate"));
	if (!cert || !key || strlen(cert) > 262144 || strlen(key) > 65536 || (ca && strlen(ca) > 262144)) {
		json_decref(b);
		return bad_param(r,
				 "certificate and private_key (PEM strings) are required; ca_certificate is optional");
	}
	struct np_err err = {0};
	json_t *info = NULL;
	if (np_httpd_tls_check(cert, key, ca, &info, &err) < 0) {
		json_decref(b);
		np__audit(r, "certificate_upload", NULL, NULL, "refused");
		return np__reply_error(r, 400, "invalid_certificate", "%s; the current certificate stays active",
				       err.msg);
	}
	if (save_pem(r->srv->home, "etc/tls/server.crt", cert, 0644, &err) < 0 ||
	    save_pem(r->srv->home, "etc/tls/server.key", key, 0600, &err) < 0 ||
	    (ca && *ca && save_pem(r->srv->home, "etc/tls/ca.crt", ca, 0644, &err) < 0)) {
		json_decref(b);
		json_decref(info);
		return np__reply_err(r, &err);
	}
	json_t *next = json_deep_copy(r->cfg.root);
	json_t *t = json_object_get(next, "tls");
	json_object_set_new(t, "cert_file", json_string("etc/tls/server.crt"));
	json_object_set_new(t, "key_file", json_string("etc/tls/server.key"));
	json_object_set_new(t, "ca_file", json_string(ca && *ca ? "etc/tls/ca.crt" : ""));
	int rc = np_config_save(r->srv->home, next, &err);
	json_decref(next);
	if (rc == 0 && np_config_bool(&r->cfg, "tls.enabled"))
		rc = np_httpd_tls_set(r->srv->tls, cert, key, ca, &err);
	json_decref(b);
	if (rc < 0) {
		json_decref(info);
		return np__reply_err(r, &err);
	}
	struct np_err e2 = {0};
	if (np_httpd_reload(r->srv, &e2) < 0)
		np_log_err(NULL, &e2);
	char detail[300];
	snprintf(detail, sizeof detail, "not_after=%s", json_string_value(json_object_get(info, "not_after")));
	np__audit(r, "certificate_upload", NULL, detail, "success");
	return np__reply_json(
	    r, 200, json_pack("{s:o,s:b}", "certificate", info, "active", np_config_bool(&r->cfg, "tls.enabled")));
}
