// SPDX-License-Identifier: Apache-2.0
/* np_httpd_logs: the Logs page (s6-log files under $NP_HOME/log/<service>/)
 * and Check for Updates. */
#include "np_buf.h"
#include "np_csv.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd_guard.h"
#include "np_httpd_int.h"
#include "np_httpd_streams.h"
#include "np_log.h"
#include "np_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <civetweb.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_MAX (4 << 20) /* read at most the last 4 MiB of a log file */

static int service_ok(const char *s)
{
	if (!*s || strlen(s) > 64 || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static json_t *service_names(struct np_httpd *h)
{
	char d[PATH_MAX];
	snprintf(d, sizeof d, "%s/log", h->home);
	json_t *a = json_array();
	struct dirent **e;
	int n = scandir(d, &e, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s/current", d, e[i]->d_name);
		if (service_ok(e[i]->d_name) && np_exists(p))
			json_array_append_new(a, json_string(e[i]->d_name));
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	return a;
}

int np__h_log_services(struct np_req *r)
{
	return np__reply_json(r, 200, json_pack("{s:o}", "items", service_names(r->srv)));
}

static const char *const levels[] = {"fatal", "error", "warning", "info", "debug", NULL};
static int level_rank(const char *l)
{
	for (int i = 0; levels[i]; i++)
		if (!strcmp(l, levels[i]))
			return i;
	return 3;
}

struct log_filter {
	char service[72], level[16], since[32], until[32], q[128];
	long limit;
};

static int parse_filter(struct np_req *r, struct log_filter *f)
{
	char msg[80];
	memset(f, 0, sizeof *f);
	f->limit = 500;
	if (np_query_get(r->query, "service", f->service, sizeof f->service) < 0 ||
	    (f->service[0] && !service_ok(f->service)))
		return np__reply_error(r, 400, "bad_request", "service: a service name"), -1;
	if (np_query_get(r->query, "level", f->level, sizeof f->level) < 0 ||
	    (f->level[0] && level_rank(f->level) == 3 && strcmp(f->level, "info")))
		return np__reply_error(r, 400, "bad_request", "level: fatal, error, warning, info or debug"), -1;
	if (np_query_get(r->query, "since", f->since, sizeof f->since) < 0 ||
	    np_query_get(r->query, "until", f->until, sizeof f->until) < 0 ||
	    np_query_get(r->query, "q", f->q, sizeof f->q) < 0)
		return np__reply_error(r, 400, "bad_request", "since/until/q: malformed or too long"), -1;
	if (np_query_long(r->query, "limit", 1, 10000, &f->limit, msg, sizeof msg) < 0)
		return np__reply_error(r, 400, "bad_request", "%s", msg), -1;
	return 0;
}

static int keep(const struct log_filter *f, json_t *e)
{
	const char *ts = json_string_value(json_object_get(e, "ts"));
	if (f->level[0] && level_rank(json_string_value(json_object_get(e, "level"))) > level_rank(f->level))
		return 0;
	if (f->since[0] && (!ts || strcmp(ts, f->since) < 0))
		return 0;
	if (f->until[0] && (!ts || strcmp(ts, f->until) > 0))
		return 0;
	if (f->q[0] && !strcasestr(json_string_value(json_object_get(e, "message")), f->q) &&
	    !strstr(json_string_value(json_object_get(e, "id")), f->q))
		return 0;
	return 1;
}

/* Entries of one service's current file matching f, appended to out. */
static void read_service(struct np_httpd *h, const char *svc, const struct log_filter *f, json_t *out)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/log/%s/current", h->home, svc);
	FILE *fp = fopen(p, "re");
	if (!fp)
		return;
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && st.st_size > TAIL_MAX) {
		fseeko(fp, st.st_size - TAIL_MAX, SEEK_SET);
		int c;
		while ((c = fgetc(fp)) != EOF && c != '\n')
			;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *e = np_log_line_parse(svc, line, (size_t)n);
		if (e && keep(f, e))
			json_array_append_new(out, e);
		else
			json_decref(e);
	}
	free(line);
	fclose(fp);
}

static int by_ts(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "ts"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "ts"));
	return strcmp(x ? x : "", y ? y : "");
}

static json_t *collect(struct np_req *r, const struct log_filter *f)
{
	json_t *all = json_array();
	json_t *svcs = service_names(r->srv);
	size_t i;
	json_t *s;
	json_array_foreach (svcs, i, s)
		if (!f->service[0] || !strcmp(f->service, json_string_value(s)))
			read_service(r->srv, json_string_value(s), f, all);
	json_decref(svcs);
	size_t n = json_array_size(all);
	json_t **v = malloc((n ? n : 1) * sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	qsort(v, n, sizeof *v, by_ts);
	json_decref(all);
	json_t *out = json_array();
	size_t from = n > (size_t)f->limit ? n - (size_t)f->limit : 0;
	for (i = 0; i < n; i++) {
		if (i >= from)
			json_array_append(out, v[i]);
		json_decref(v[i]);
	}
	free(v);
	return out;
}

int np__h_logs(struct np_req *r)
{
	struct log_filter f;
	if (parse_filter(r, &f) < 0)
		return 400;
	return np__reply_json(r, 200, json_pack("{s:o}", "items", collect(r, &f)));
}

static int send_zip(struct np_req *r)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/spool/tmp/logs-XXXXXX", r->srv->home);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return np__reply_error(r, 503, "unavailable", "unable to create a temporary file");
	/* CivetWeb's worker threads have small stacks: big buffers on the heap. */
	char *buf = malloc(65536);
	if (!buf) {
		close(fd);
		unlink(tmp);
		return np__reply_error(r, 503, "unavailable", "out of memory");
	}
	struct archive *a = archive_write_new();
	archive_write_set_format_zip(a);
	archive_write_open_fd(a, fd);
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s/log", r->srv->home);
	DIR *d = opendir(base);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!service_ok(e->d_name))
			continue;
		char sd[PATH_MAX];
		snprintf(sd, sizeof sd, "%s/%s", base, e->d_name);
		DIR *d2 = opendir(sd);
		struct dirent *f;
		while (d2 && (f = readdir(d2))) {
			if (f->d_name[0] == '.' || (strcmp(f->d_name, "current") && f->d_name[0] != '@'))
				continue;
			char p[PATH_MAX], name[PATH_MAX];
			snprintf(p, sizeof p, "%s/%s", sd, f->d_name);
			snprintf(name, sizeof name, "log/%s/%s", e->d_name, f->d_name);
			int in = open(p, O_RDONLY | O_CLOEXEC);
			struct stat st;
			if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
				if (in >= 0)
					close(in);
				continue;
			}
			struct archive_entry *ae = archive_entry_new();
			archive_entry_set_pathname(ae, name);
			archive_entry_set_size(ae, st.st_size);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_mtime(ae, st.st_mtime, 0);
			archive_write_header(a, ae);
			ssize_t n;
			off_t left = st.st_size;
			while (left > 0 && (n = read(in, buf, 65536)) > 0) {
				if (n > left)
					n = (ssize_t)left;
				archive_write_data(a, buf, (size_t)n);
				left -= n;
			}
			archive_entry_free(ae);
			close(in);
		}
		if (d2)
			closedir(d2);
	}
	if (d)
		closedir(d);
	archive_write_close(a);
	archive_write_free(a);
	free(buf);
	close(fd);
	int rc = np__reply_file(r, tmp, "application/zip", "neuropacs-logs.zip");
	unlink(tmp);
	return rc;
}

/* One line of a service's current file, for the merge of all services. */
struct raw_line {
	char ts[32];
	size_t svc, seq; /* order among equal times: the service's, then the file's */
	char *text;	 /* with its newline */
};

static int by_time(const void *a, const void *b)
{
	const struct raw_line *x = a, *y = b;
	int c = strcmp(x->ts, y->ts);
	if (c)
		return c;
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lines of log/<svc>/current appended to *v (the last TAIL_MAX bytes, as the
 * page reads them). A line without a time of its own takes the one before
 * it, so continuation lines stay under their first line. -1 out of memory. */
static int read_raw(struct np_httpd *h, const char *svc, size_t si, struct raw_line **v, size_t *n, size_t *cap)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/log/%s/current", h->home, svc);
	FILE *fp = fopen(p, "re");
	if (!fp)
		return 0;
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && st.st_size > TAIL_MAX) {
		fseeko(fp, st.st_size - TAIL_MAX, SEEK_SET);
		int c;
		while ((c = fgetc(fp)) != EOF && c != '\n')
			;
	}
	char *line = NULL, last[32] = "";
	size_t lcap = 0, seq = 0;
	ssize_t len;
	int rc = 0;
	while ((len = getline(&line, &lcap, fp)) > 0) {
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 1024;
			struct raw_line *w = realloc(*v, nc * sizeof *w);
			if (!w) {
				rc = -1;
				break;
			}
			*v = w;
			*cap = nc;
		}
		struct raw_line *l = &(*v)[*n];
		json_t *e = np_log_line_parse(svc, line, (size_t)len);
		const char *ts = json_string_value(json_object_get(e, "ts"));
		if (ts)
			snprintf(last, sizeof last, "%s", ts);
		snprintf(l->ts, sizeof l->ts, "%s", last);
		json_decref(e);
		l->svc = si;
		l->seq = seq++;
		size_t tl = (size_t)len + (line[len - 1] != '\n');
		if (!(l->text = malloc(tl + 1))) {
			rc = -1;
			break;
		}
		memcpy(l->text, line, (size_t)len);
		l->text[tl - 1] = '\n';
		l->text[tl] = 0;
		(*n)++;
	}
	free(line);
	fclose(fp);
	return rc;
}

/* format=file without a service: every service's current file in one text
 * file, the lines merged by time, each line as its service wrote it (it
 * names its program) - the same bytes the single-service files give. */
static int send_all_files(struct np_req *r)
{
	json_t *svcs = service_names(r->srv);
	struct raw_line *v = NULL;
	size_t n = 0, cap = 0, i;
	json_t *s;
	int oom = 0;
	json_array_foreach (svcs, i, s)
		if (!oom && read_raw(r->srv, json_string_value(s), i, &v, &n, &cap) < 0)
			oom = 1;
	json_decref(svcs);
	struct np_buf b = {0};
	if (!oom && v) {
		qsort(v, n, sizeof *v, by_time);
		for (i = 0; i < n; i++)
			np_buf_str(&b, v[i].text);
	}
	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
	int rc;
	if (oom || b.oom)
		rc = np__reply_error(r, 503, "unavailable", "out of memory");
	else
		rc = np__reply_bytes(r, 200, "text/plain; charset=utf-8", b.p ? b.p : "", b.len,
				     "Content-Disposition: attachment; filename=\"neuropacs-logs.log\"\r\n");
	free(b.p);
	return rc;
}

int np__h_logs_download(struct np_req *r)
{
	struct log_filter f;
	char fmt[8] = "file";
	if (np_query_get(r->query, "format", fmt, sizeof fmt) < 0 ||
	    (strcmp(fmt, "file") && strcmp(fmt, "csv") && strcmp(fmt, "json") && strcmp(fmt, "zip")))
		return np__reply_error(r, 400, "bad_request", "format: file, csv, json or zip");
	if (parse_filter(r, &f) < 0)
		return 400;
	if (!strcmp(fmt, "zip"))
		return send_zip(r);
	if (!strcmp(fmt, "file")) {
		if (!f.service[0])
			return send_all_files(r);
		char p[PATH_MAX], name[96];
		snprintf(p, sizeof p, "%s/log/%s/current", r->srv->home, f.service);
		snprintf(name, sizeof name, "%s.log", f.service);
		return np__reply_file(r, p, "text/plain; charset=utf-8", name);
	}
	f.limit = 100000;
	json_t *items = collect(r, &f);
	char *buf = NULL;
	size_t len = 0;
	int rc;
	if (!strcmp(fmt, "json")) {
		buf = json_dumps(items, JSON_COMPACT);
		rc = np__reply_bytes(r, 200, "application/json", buf, strlen(buf),
				     "Content-Disposition: attachment; filename=\"neuropacs-logs.json\"\r\n");
	} else {
		FILE *fp = open_memstream(&buf, &len);
		fputs("ts,service,level,id,message\r\n", fp);
		size_t i;
		json_t *e;
		json_array_foreach (items, i, e) {
			static const char *const k[] = {"ts", "service", "level", "id", "message"};
			for (int c = 0; c < 5; c++) {
				const char *v = json_string_value(json_object_get(e, k[c]));
				/* np_csv_cell defuses "=..."; the logger's "-" (no study)
				 * is an empty cell rather than a defused "'-" */
				np_csv_cell(fp, c == 3 && v && !strcmp(v, "-") ? "" : v);
				fputs(c < 4 ? "," : "\r\n", fp);
			}
		}
		fclose(fp);
		rc = np__reply_bytes(r, 200, "text/csv; charset=utf-8", buf, len,
				     "Content-Disposition: attachment; filename=\"neuropacs-logs.csv\"\r\n");
	}
	free(buf);
	json_decref(items);
	return rc;
}

/* Server-Sent Events: new lines of the log files as they are written. Ends
 * after max_seconds (the browser's EventSource reconnects) or when the
 * client goes away. */
int np__h_logs_stream(struct np_req *r)
{
	struct log_filter f;
	char buf[80];
	long max_seconds = 600;
	if (parse_filter(r, &f) < 0)
		return 400;
	if (np_query_long(r->query, "max_seconds", 1, 3600, &max_seconds, buf, sizeof buf) < 0)
		return np__reply_error(r, 400, "bad_request", "%s", buf);
	/* Each stream holds a worker thread: a few per session, a few in all. */
	char key[200];
	snprintf(key, sizeof key, "%s", r->sid[0] ? r->sid : r->actor);
	int per = (int)np_config_int(&r->cfg, "http.max_log_streams_per_session"),
	    all = (int)np_config_int(&r->cfg, "http.max_log_streams");
	switch (np_httpd_stream_enter(key, all > 0 ? all : 8, per > 0 ? per : 2)) {
	case 429:
		return np__reply_error(r, 429, "too_many_streams",
				       "this session already has %d live log views open; close one first",
				       per > 0 ? per : 2);
	case 503: {
		/* Full for everyone: say when to try again (a view lasts up to max_seconds). */
		static const char body[] =
		    "{\"error\":{\"code\":\"busy\",\"message\":\"too many live log views are open; try again later\"}}";
		return np__reply_bytes(r, 503, "application/json", body, sizeof body - 1, "Retry-After: 30\r\n");
	}
	}
	mg_response_header_start(r->c, 200);
	mg_response_header_add(r->c, "Content-Type", "text/event-stream", -1);
	mg_response_header_add(r->c, "Cache-Control", "no-store", -1);
	mg_response_header_add_lines(r->c, np__sec_headers());
	mg_response_header_send(r->c);
	json_t *offsets = json_object();
	json_t *svcs = service_names(r->srv);
	size_t i;
	json_t *s;
	json_array_foreach (svcs, i, s) {
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof p, "%s/log/%s/current", r->srv->home, json_string_value(s));
		json_object_set_new(offsets, json_string_value(s), json_integer(stat(p, &st) == 0 ? st.st_size : 0));
	}
	json_decref(svcs);
	if (mg_printf(r->c, ": stream start\nretry: 2000\n\n") <= 0)
		goto out;
	double end = np_mono() + (double)max_seconds, beat = np_mono();
	while (np_mono() < end) {
		const char *svc;
		json_t *off;
		int sent = 0;
		json_object_foreach (offsets, svc, off) {
			if (f.service[0] && strcmp(f.service, svc))
				continue;
			char p[PATH_MAX];
			snprintf(p, sizeof p, "%s/log/%s/current", r->srv->home, svc);
			FILE *fp = fopen(p, "re");
			struct stat st;
			if (!fp)
				continue;
			off_t o = (off_t)json_integer_value(off);
			if (fstat(fileno(fp), &st) == 0 && st.st_size < o)
				o = 0; /* rotated */
			fseeko(fp, o, SEEK_SET);
			char *line = NULL;
			size_t cap = 0;
			ssize_t n;
			while ((n = getline(&line, &cap, fp)) > 0 && line[n - 1] == '\n') {
				o += n;
				json_t *e = np_log_line_parse(svc, line, (size_t)n);
				if (e && keep(&f, e)) {
					char *js = json_dumps(e, JSON_COMPACT);
					if (mg_printf(r->c, "data: %s\n\n", js) <= 0) {
						free(js);
						json_decref(e);
						free(line);
						fclose(fp);
						goto out;
					}
					free(js);
					sent = 1;
				}
				json_decref(e);
			}
			free(line);
			fclose(fp);
			json_object_set_new(offsets, svc, json_integer(o));
		}
		if (!sent && np_mono() - beat > 15) {
			if (mg_printf(r->c, ": keep-alive\n\n") <= 0)
				break;
			beat = np_mono();
		}
		if (np_httpd_guard_peer_gone(r->ri->remote_addr, r->ri->remote_port))
			break; /* frees the stream slot now, not at the next write */
		usleep(250000);
	}
out:
	json_decref(offsets);
	np_httpd_stream_leave(key);
	return 200;
}

/* ---- Check for Updates ---- */

/* -1, 0, 1 comparing dotted version numbers (a leading "v" ignored). */
static int vercmp(const char *a, const char *b)
{
	if (*a == 'v')
		a++;
	if (*b == 'v')
		b++;
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
			break;
	}
	return 0;
}

int np__h_updates(struct np_req *r)
{
	const char *url = np_config_str(&r->cfg, "http.release_feed_url");
	static const char howto[] =
	    "container: docker compose pull && docker compose up -d (data in the /data volume is "
	    "kept); package: install the new .deb and run s6-svscanctl -t on the agent's scan "
	    "directory. See np-httpd(8).";
	if (!url || !*url)
		return np__reply_json(r, 200,
				      json_pack("{s:s,s:n,s:b,s:b,s:s,s:s}", "current", NP_VERSION, "latest",
						"update_available", 0, "checked", 0, "message",
						"no release feed configured (http.release_feed_url)", "how_to_update",
						howto));
	struct np_buf acc = {0};
	long code;
	int cc = np__fetch_small(url, 1 << 20, &acc, &code);
	json_t *feed = NULL;
	if (cc == 0 && code == 200)
		feed = acc.p ? json_loadb(acc.p, acc.len, 0, NULL) : NULL;
	free(acc.p);
	if (!feed) {
		np_warn(NULL, "release feed unavailable curl=%d http=%ld", cc, code);
		return np__reply_error(r, 502, "feed_unavailable",
				       "the release feed did not answer with JSON (curl %d, HTTP %ld)", cc, code);
	}
	/* {"version": ...} or a GitHub-style array of releases. */
	json_t *rel = json_is_array(feed) ? json_array_get(feed, 0) : feed;
	const char *latest = json_string_value(json_object_get(rel, "version"));
	if (!latest)
		latest = json_string_value(json_object_get(rel, "tag_name"));
	if (!latest) {
		json_decref(feed);
		return np__reply_error(r, 502, "feed_invalid", "the release feed names no version");
	}
	const char *notes = json_string_value(json_object_get(rel, "notes"));
	if (!notes)
		notes = json_string_value(json_object_get(rel, "body"));
	json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:s}", "current", NP_VERSION, "latest", latest, "update_available",
			      vercmp(NP_VERSION, latest) < 0, "checked", 1, "how_to_update", howto);
	if (notes)
		json_object_set_new(o, "notes", json_string(notes));
	json_decref(feed);
	return np__reply_json(r, 200, o);
}
