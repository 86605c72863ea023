// SPDX-License-Identifier: Apache-2.0
#include "np_buf.h"
#include "np_template.h"

#include "np_err.h"
#include "np_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S NP_TPL_F_STUDY
#define R NP_TPL_F_REPORT
#define E NP_TPL_F_EVENT
#define G NP_TPL_F_GROUP

static const struct {
	const char *name;
	unsigned where;
} known[] = {
    {"npuid", S | E},	  {"order_id", S | E},	 {"product", S | E}, {"status", S},	   {"state", S | E},
    {"date", S | E | G},  {"format", S | G},	 {"accession", S},   {"filename", S | G},  {"study_name", S | E},
    {"report_base64", R}, {"event", E},		 {"event_title", E}, {"level", E},	   {"detail", E},
    {"count", E | G},	  {"group_name", E | G}, {"report_type", G}, {"agent", S | E | G},
};

const char *const np_template_names[] = {
    "npuid",	 "order_id", "product",	   "status",	    "state", "date",	    "format",
    "accession", "filename", "study_name", "report_base64", "event", "event_title", "level",
    "detail",	 "count",    "group_name", "report_type",   "agent", NULL,
};

#undef S
#undef R
#undef E
#undef G

static int ident_start(char c)
{
	return c >= 'a' && c <= 'z';
}
static int ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* At p == '{': length of "{name}" when p starts a placeholder, else 0. */
static size_t placeholder_at(const char *p)
{
	if (p[0] != '{' || !ident_start(p[1]))
		return 0;
	size_t n = 2;
	while (ident_char(p[n]) && n < 64)
		n++;
	return p[n] == '}' ? n + 1 : 0;
}

static int known_index(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].name) == len && !memcmp(known[i].name, name, len))
			return (int)i;
	return -1;
}

static void put_value(struct np_buf *b, const char *v, enum np_tpl_ctx ctx)
{
	for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
		unsigned char c = *s;
		char esc[8];
		switch (ctx) {
		case NP_TPL_JSON:
			if (c == '"' || c == '\\') {
				esc[0] = '\\';
				esc[1] = (char)c;
				np_buf_add(b, esc, 2);
			} else if (c == '\n') {
				np_buf_add(b, "\\n", 2);
			} else if (c == '\r') {
				np_buf_add(b, "\\r", 2);
			} else if (c == '\t') {
				np_buf_add(b, "\\t", 2);
			} else if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof esc, "\\u%04x", c);
				np_buf_add(b, esc, 6);
			} else {
				np_buf_add(b, (const char *)s, 1);
			}
			break;
		case NP_TPL_LINE:
			np_buf_add(b, c < 0x20 || c == 0x7f ? " " : (const char *)s, 1);
			break;
		case NP_TPL_FILENAME:
			if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || (c == '.' && b->len == 0))
				np_buf_add(b, "_", 1);
			else
				np_buf_add(b, (const char *)s, 1);
			break;
		case NP_TPL_TEXT:
		default:
			np_buf_add(b, (const char *)s, 1);
			break;
		}
	}
}

char *np_template_render(const char *tpl, enum np_tpl_ctx ctx, const struct np_tpl_var *vars, size_t nvars,
			 struct np_err *err)
{
	struct np_buf b = {0};
	np_buf_add(&b, "", 0);
	for (const char *p = tpl; *p;) {
		if (p[0] == '{' && p[1] == '{') {
			np_buf_add(&b, "{", 1);
			p += 2;
			continue;
		}
		size_t n = placeholder_at(p);
		if (!n) {
			const char *q = p + 1;
			while (*q && *q != '{')
				q++;
			np_buf_add(&b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		const char *name = p + 1;
		size_t len = n - 2;
		if (known_index(name, len) < 0) {
			free(b.p);
			np_err_set(err, NP_ERR_PERM, "unknown placeholder {%.*s}", (int)len, name);
			return NULL;
		}
		const char *val = NULL;
		for (size_t i = 0; i < nvars; i++)
			if (strlen(vars[i].name) == len && !memcmp(vars[i].name, name, len))
				val = vars[i].value;
		if (val)
			put_value(&b, val, ctx);
		p += n;
	}
	if (b.oom) {
		free(b.p);
		np_err_sys(err, ENOMEM, "unable to render a template");
		return NULL;
	}
	return b.p;
}

int np_template_check(const char *tpl, unsigned allowed, const char *what, struct np_err *err)
{
	for (const char *p = tpl; *p; p++) {
		if (p[0] == '{' && p[1] == '{') {
			p++;
			continue;
		}
		size_t n = placeholder_at(p);
		if (!n)
			continue;
		int k = known_index(p + 1, n - 2);
		if (k < 0)
			return np_err_set(err, NP_ERR_PERM, "%s: unknown placeholder {%.*s}", what, (int)(n - 2),
					  p + 1);
		if (!(known[k].where & allowed))
			return np_err_set(err, NP_ERR_PERM, "%s: placeholder {%.*s} is not available here", what,
					  (int)(n - 2), p + 1);
		p += n - 1;
	}
	return 0;
}

static int check_key(json_t *obj, const char *key, unsigned allowed, const char *prefix, struct np_err *err)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s)
		return 0;
	char what[256];
	snprintf(what, sizeof what, "%s.%s", prefix, key);
	return np_template_check(s, allowed, what, err);
}

static int check_dest(json_t *d, unsigned base, const char *prefix, struct np_err *err)
{
	if (!json_is_object(d))
		return 0;
	if (check_key(d, "body_template", base | NP_TPL_F_REPORT, prefix, err) < 0 ||
	    check_key(d, "subject_template", base, prefix, err) < 0 ||
	    check_key(d, "email_body_template", base, prefix, err) < 0)
		return -1;
	return 0;
}

int np_template_check_settings(json_t *settings, struct np_err *err)
{
	json_t *dests = np_json_path(settings, "delivery.destinations");
	size_t i;
	json_t *d;
	json_array_foreach (dests, i, d) {
		char prefix[64];
		snprintf(prefix, sizeof prefix, "delivery.destinations.%zu", i);
		if (check_dest(d, NP_TPL_F_STUDY, prefix, err) < 0)
			return -1;
	}
	if (check_dest(np_json_path(settings, "failure_delivery"), NP_TPL_F_STUDY, "failure_delivery", err) < 0 ||
	    /* The group destination shares the destination defaults, whose study
	     * placeholders render empty for a group report. */
	    check_dest(np_json_path(settings, "groups.delivery"), NP_TPL_F_GROUP | NP_TPL_F_STUDY, "groups.delivery",
		       err) < 0)
		return -1;
	json_t *groups = np_json_path(settings, "groups");
	if (json_is_object(groups) && check_key(groups, "filename_template", NP_TPL_F_GROUP, "groups", err) < 0)
		return -1;
	json_t *n = np_json_path(settings, "notifications");
	if (json_is_object(n) && (check_key(n, "subject_template", NP_TPL_F_EVENT, "notifications", err) < 0 ||
				  check_key(n, "body_template", NP_TPL_F_EVENT, "notifications", err) < 0))
		return -1;
	return 0;
}
