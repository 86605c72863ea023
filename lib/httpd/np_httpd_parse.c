// SPDX-License-Identifier: Apache-2.0
/* Parsers of request input that we write ourselves (no CivetWeb here, so
 * tests/fuzz/fuzz_http.c can drive them directly). Every length is checked
 * before use; nothing allocates except np_log_line_parse. */
#include "np_httpd_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of s (form encoding: '+' is a space) into out. NUL bytes
 * are refused so a decoded value is always a C string. */
static int url_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

int np_query_get(const char *qs, const char *key, char *out, size_t outsz)
{
	if (!qs || !key || !outsz)
		return 0;
	size_t klen = strlen(key);
	const char *p = qs;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		char name[64];
		if (nlen < sizeof name && url_decode(p, nlen, name, sizeof name) == 0 && strlen(name) == klen &&
		    memcmp(name, key, klen) == 0) {
			if (!eq) {
				out[0] = 0;
				return 1;
			}
			return url_decode(eq + 1, len - nlen - 1, out, outsz) < 0 ? -1 : 1;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return 0;
}

int np_route_match(const char *pattern, const char *path, char param[2][NP_HTTPD_PARAM_MAX])
{
	int np = 0;
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (p[0] == '{' && p[1] == '}') {
			const char *e = strchr(s, '/');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			if (n == 0 || n >= NP_HTTPD_PARAM_MAX || np >= 2)
				return 0;
			memcpy(param[np], s, n);
			param[np][n] = 0;
			if (!strcmp(param[np], ".") || !strcmp(param[np], ".."))
				return 0;
			np++;
			s += n;
			p += 2;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *p == 0 && *s == 0;
}

static int copy_param(const char *qs, const char *key, char *out, size_t outsz, char *msg, size_t msgsz)
{
	int rc = np_query_get(qs, key, out, outsz);
	if (rc < 0) {
		snprintf(msg, msgsz, "%s: malformed or too long", key);
		return -1;
	}
	if (rc == 0)
		out[0] = 0;
	return 0;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static const char *const states[] = {"incoming", "stable", "qc-passed", "qc-failed", "ready", "uploaded",
				     "results",	 "done",   "failed",	"cancelled", NULL};
static const char *const qc_values[] = {"passed", "failed", "bypassed", "pending", NULL};

/* YYYY-MM-DD with an optional THH:MM:SS[.fff]Z tail. */
static int iso_ok(const char *s)
{
	size_t n = strlen(s);
	if (n != 10 && !(n >= 20 && n <= 24))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (i == 4 || i == 7) {
			if (c != '-')
				return 0;
		} else if (i == 10) {
			if (c != 'T')
				return 0;
		} else if (i == 13 || i == 16) {
			if (c != ':')
				return 0;
		} else if (i == n - 1 && n > 10) {
			if (c != 'Z')
				return 0;
		} else if (i == 19) {
			if (c != '.')
				return 0;
		} else if (!isdigit((unsigned char)c)) {
			return 0;
		}
	}
	return 1;
}

/* A decimal integer and nothing else: an optional '-', then 1 to 18 digits
 * (no '+', blanks, exponent or trailing text, so "5abc", "1e3" and
 * "99999999999999999999" are refused instead of read as 5, 1 and LONG_MAX). */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	const char *d = s + (*s == '-');
	size_t n = strspn(d, "0123456789");
	if (!n || n > 18 || d[n])
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (d[i] - '0');
	if (*s == '-')
		v = -v;
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int np_query_long(const char *qs, const char *key, long lo, long hi, long *out, char *msg, size_t msgsz)
{
	char buf[32];
	int rc = np_query_get(qs, key, buf, sizeof buf);
	if (rc == 0)
		return 0;
	if (rc < 0 || parse_long(buf, lo, hi, out) < 0) {
		snprintf(msg, msgsz, "%s: an integer from %ld to %ld", key, lo, hi);
		return -1;
	}
	return 1;
}

int np_studies_q_parse(const char *qs, struct np_studies_q *q, char *msg, size_t msgsz)
{
	char buf[32];
	memset(q, 0, sizeof *q);
	q->page = 1;
	q->size = 50;
	q->desc = 1;
	snprintf(q->sort, sizeof q->sort, "created_at");
	if (copy_param(qs, "state", q->state, sizeof q->state, msg, msgsz) < 0 ||
	    copy_param(qs, "group", q->group, sizeof q->group, msg, msgsz) < 0 ||
	    copy_param(qs, "qc", q->qc, sizeof q->qc, msg, msgsz) < 0 ||
	    copy_param(qs, "from", q->from, sizeof q->from, msg, msgsz) < 0 ||
	    copy_param(qs, "to", q->to, sizeof q->to, msg, msgsz) < 0 ||
	    copy_param(qs, "q", q->q, sizeof q->q, msg, msgsz) < 0 ||
	    copy_param(qs, "cursor", q->cursor, sizeof q->cursor, msg, msgsz) < 0)
		return -1;
	if (q->state[0] && !in_list(q->state, states)) {
		snprintf(msg, msgsz, "state: unknown state");
		return -1;
	}
	if (q->qc[0] && !in_list(q->qc, qc_values)) {
		snprintf(msg, msgsz, "qc: one of passed, failed, bypassed, pending");
		return -1;
	}
	if ((q->from[0] && !iso_ok(q->from)) || (q->to[0] && !iso_ok(q->to))) {
		snprintf(msg, msgsz, "%s: expected YYYY-MM-DD or an ISO 8601 UTC time",
			 q->from[0] && !iso_ok(q->from) ? "from" : "to");
		return -1;
	}
	if (copy_param(qs, "sort", buf, sizeof buf, msg, msgsz) < 0)
		return -1;
	if (buf[0]) {
		const char *col = buf[0] == '-' ? buf + 1 : buf;
		if (!in_list(col, np_studies_sort_cols)) {
			snprintf(
			    msg, msgsz,
			    "sort: one of created_at, updated_at, state, npuid, study_date, group_name, qc_result");
			return -1;
		}
		snprintf(q->sort, sizeof q->sort, "%s", col);
		q->desc = buf[0] == '-';
	}
	if (copy_param(qs, "order", buf, sizeof buf, msg, msgsz) < 0)
		return -1;
	if (buf[0]) {
		if (strcmp(buf, "asc") && strcmp(buf, "desc")) {
			snprintf(msg, msgsz, "order: asc or desc");
			return -1;
		}
		q->desc = !strcmp(buf, "desc");
	}
	if (np_query_long(qs, "page", 1, 100000000, &q->page, msg, msgsz) < 0 ||
	    np_query_long(qs, "size", 1, 500, &q->size, msg, msgsz) < 0)
		return -1;
	if (copy_param(qs, "reveal", buf, sizeof buf, msg, msgsz) < 0)
		return -1;
	q->reveal = !strcmp(buf, "1") || !strcmp(buf, "true");
	if (q->cursor[0]) {
		const char *bar = strchr(q->cursor, '|');
		if (strcmp(q->sort, "created_at") || !bar || strchr(bar + 1, '|') || !bar[1]) {
			snprintf(msg, msgsz, "cursor: only with sort=created_at, as returned in next_cursor");
			return -1;
		}
	}
	return 0;
}

/* TAI64N label "@4000000069282b4e1d2c3b00" -> ISO time. */
static int tai64n_iso(const char *s, size_t n, char out[32])
{
	if (n < 25 || s[0] != '@')
		return -1;
	unsigned long long sec = 0;
	for (int i = 1; i <= 16; i++) {
		int v = hexval((unsigned char)s[i]);
		if (v < 0)
			return -1;
		sec = sec * 16 + (unsigned)v;
	}
	unsigned long nano = 0;
	for (int i = 17; i <= 24; i++) {
		int v = hexval((unsigned char)s[i]);
		if (v < 0)
			return -1;
		nano = nano * 16 + (unsigned)v;
	}
	if (sec < 4611686018427387914ULL || sec > 4611686018427387914ULL + 253402300799ULL)
		return -1;
	time_t t = (time_t)(sec - 4611686018427387914ULL); /* 2^62 + 10 leap seconds (TAI - UTC) */
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -1;
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03luZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (nano / 1000000UL) % 1000);
	return 0;
}

json_t *np_log_line_parse(const char *service, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len)
		return NULL;
	char ts[32] = "";
	size_t i = 0;
	if (line[0] == '@') {
		if (tai64n_iso(line, len, ts) == 0)
			i = 25;
	} else if (len >= 20 && isdigit((unsigned char)line[0]) && line[4] == '-' &&
		   (line[10] == 'T' || (line[10] == ' ' && line[13] == ':' && line[16] == ':'))) {
		/* s6-log's T directive writes "YYYY-MM-DD HH:MM:SS.nnnnnnnnn": shown
		 * and compared (since/until) as ISO 8601 with a 'T'. */
		size_t e = 11;
		while (e < len && e < 40 && line[e] != ' ')
			e++;
		size_t c = e < 31 ? e : 31;
		memcpy(ts, line, c);
		ts[c] = 0;
		ts[10] = 'T';
		i = e;
	}
	while (i < len && line[i] == ' ')
		i++;
	const char *rest = line + i;
	size_t rlen = len - i;
	/* prog: level: id message */
	char level[16] = "info", id[64] = "-";
	const char *msg = rest;
	size_t mlen = rlen;
	const char *c1 = memchr(rest, ':', rlen);
	if (c1 && (size_t)(c1 - rest) < 64 && (size_t)(c1 - rest) + 2 < rlen && c1[1] == ' ') {
		const char *lv = c1 + 2;
		size_t left = rlen - (size_t)(lv - rest);
		const char *c2 = memchr(lv, ':', left);
		if (c2 && (size_t)(c2 - lv) < sizeof level) {
			size_t ll = (size_t)(c2 - lv);
			memcpy(level, lv, ll);
			level[ll] = 0;
			const char *idp = c2 + 1;
			size_t l2 = left - ll - 1;
			while (l2 && *idp == ' ')
				idp++, l2--;
			const char *sp = memchr(idp, ' ', l2);
			size_t il = sp ? (size_t)(sp - idp) : l2;
			if (il && il < sizeof id) {
				memcpy(id, idp, il);
				id[il] = 0;
				msg = sp ? sp + 1 : idp + il;
				mlen = sp ? l2 - il - 1 : 0;
			} else {
				msg = idp;
				mlen = l2;
			}
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "ts", ts[0] ? json_string(ts) : json_null());
	json_object_set_new(o, "service", json_string(service));
	json_t *lv = json_string(level), *iv = json_string(id), *m = json_stringn(msg, mlen);
	json_object_set_new(o, "level", lv ? lv : json_string("info"));
	json_object_set_new(o, "id", iv ? iv : json_string("-"));
	json_object_set_new(o, "message", m ? m : json_string("(invalid UTF-8)"));
	return o;
}

int np_json_depth_ok(const char *buf, size_t len, int max)
{
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 1;
}
