// SPDX-License-Identifier: Apache-2.0
#include "np_group.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_groups.h"
#include "np_db_kv.h"
#include "np_err.h"
#include "np_json.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at p (1-4), or 0 when it is not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *p)
{
	if (*p < 0x80)
		return 1;
	int n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
	if (!n || *p > 0xf4)
		return 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* The code point of the valid UTF-8 sequence of l bytes at p. */
static unsigned long utf8_cp(const unsigned char *p, int l)
{
	unsigned long c = l == 1 ? p[0] : p[0] & (0x7f >> l);
	for (int i = 1; i < l; i++)
		c = c << 6 | (p[i] & 0x3f);
	return c;
}

/* Format characters a reader does not see, or that reorder what is shown
 * (Trojan Source, CVE-2021-42574): with them two names look alike, or a
 * name shows another text than it holds, in the UI, logs and reports. */
static int invisible_cp(unsigned long c)
{
	return c == 0x00ad ||			 /* soft hyphen */
	       c == 0x034f ||			 /* combining grapheme joiner */
	       c == 0x061c ||			 /* Arabic letter mark */
	       c == 0x115f || c == 0x1160 ||	 /* Hangul fillers */
	       c == 0x180e ||			 /* Mongolian vowel separator */
	       (c >= 0x200b && c <= 0x200f) ||	 /* zero width space..right-to-left mark */
	       (c >= 0x2028 && c <= 0x202e) ||	 /* line/paragraph separator, bidi embeddings */
	       (c >= 0x2060 && c <= 0x206f) ||	 /* word joiner, invisible operators, bidi isolates */
	       c == 0x3164 || c == 0xffa0 ||	 /* Hangul fillers */
	       c == 0xfeff ||			 /* zero width no-break space (BOM) */
	       (c >= 0xfff9 && c <= 0xfffb) ||	 /* interlinear annotation */
	       (c >= 0x1d173 && c <= 0x1d17a) || /* musical formatting */
	       (c >= 0xe0000 && c <= 0xe007f);	 /* tag characters */
}

const char *np_group_name_problem(const char *name)
{
	/* The answer names the code point; one per thread (np-httpd). */
	static _Thread_local char why[80];
	if (!name || !*name)
		return "it is empty";
	size_t n = strlen(name);
	if (n > NP_GROUP_NAME_MAX)
		return "it is longer than 128 bytes";
	for (const unsigned char *p = (const unsigned char *)name; *p;) {
		if (*p < 0x20 || *p == 0x7f)
			return "it has a control character (tab, newline, escape...)";
		/* A group is addressed as /api/groups/NAME: a path separator or a
		 * dot segment could never be read, renamed or deleted there. */
		if (*p == '/' || *p == '\\')
			return "it has a '/' or '\\'";
		int l = utf8_len(p);
		if (!l)
			return "it is not valid UTF-8";
		unsigned long c = utf8_cp(p, l);
		if (c >= 0x80 && c <= 0x9f) { /* C1, e.g. U+0085 NEL, U+009B CSI */
			snprintf(why, sizeof why, "it has a control character U+%04lX", c);
			return why;
		}
		if (invisible_cp(c)) {
			snprintf(why, sizeof why, "it has an invisible or direction-changing character U+%04lX", c);
			return why;
		}
		p += l;
	}
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "it is '.' or '..'";
	/* Leading or trailing blanks make two names look alike in the UI. */
	if (name[0] == ' ' || name[n - 1] == ' ')
		return "it starts or ends with a blank";
	if (!strncmp(name, "id:", 3) && name[3] && strspn(name + 3, "0123456789") == n - 3)
		return "'id:N' is how a group is named by its id";
	return NULL;
}

int np_group_name_valid(const char *name)
{
	return np_group_name_problem(name) == NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Products as a sorted JSON array of strings (new reference); NULL when v is
 * not an array of strings. A missing value is the empty list. */
static json_t *products_norm(json_t *v)
{
	json_t *out = json_array();
	if (!v || json_is_null(v))
		return out;
	if (!json_is_array(v))
		return json_decref(out), NULL;
	size_t i;
	json_t *p;
	json_array_foreach (v, i, p) {
		if (!json_is_string(p) || !*json_string_value(p))
			return json_decref(out), NULL;
		size_t j = 0;
		while (j < json_array_size(out) &&
		       strcmp(json_string_value(json_array_get(out, j)), json_string_value(p)) < 0)
			j++;
		if (j < json_array_size(out) &&
		    !strcmp(json_string_value(json_array_get(out, j)), json_string_value(p)))
			continue;
		json_array_insert(out, j, p);
	}
	return out;
}

static json_t *products_parse(const char *s)
{
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	json_t *n = products_norm(v);
	json_decref(v);
	return n ? n : json_array();
}

static char *products_text(json_t *norm)
{
	char *s = json_dumps(norm, JSON_COMPACT);
	return s ? s : strdup("[]");
}

/* 1 if the group exists, 0 if not, -1 on error; *products (may be NULL)
 * receives its sorted product list. */
static int group_load(struct np_db *db, const char *name, json_t **products, struct np_err *err)
{
	char *text = NULL;
	int rc = np_db_groups_products(db, name, products ? &text : NULL, err);
	if (rc == 1 && products)
		*products = products_parse(text);
	free(text);
	return rc;
}

int np_group_resolve(struct np_db *db, const char *ref, char *name, size_t namesz, struct np_err *err)
{
	int have = group_load(db, ref, NULL, err);
	if (have < 0)
		return -1;
	size_t n = strlen(ref);
	if (!have && !strncmp(ref, "id:", 3) && n > 3 && n < 22 && strspn(ref + 3, "0123456789") == n - 3) {
		int rc = np_db_groups_name_of(db, strtoll(ref + 3, NULL, 10), name, namesz, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		return np_err_set(err, NP_ERR_PERM, "no group has the id %s", ref + 3);
	}
	if ((size_t)snprintf(name, namesz, "%s", ref) >= namesz)
		return np_err_set(err, NP_ERR_PERM, "no such group (the name is too long)");
	return 0;
}

int np_group_create(struct np_db *db, const char *name, json_t *products, const char *description, struct np_err *err)
{
	const char *why = np_group_name_problem(name);
	if (why)
		return np_err_set(err, NP_ERR_PERM, "invalid group name: %s", why);
	json_t *norm = products_norm(products);
	if (!norm)
		return np_err_set(err, NP_ERR_PERM, "products must be a list of product names");
	int have = group_load(db, name, NULL, err);
	if (have != 0) {
		json_decref(norm);
		return have < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "group \"%s\" already exists", name);
	}
	char now[32], *ptext = products_text(norm);
	np_time_iso(now);
	int rc = np_db_groups_insert(db, name, ptext, description, now, err);
	free(ptext);
	json_decref(norm);
	return rc;
}

/* The folder of study npuid, wherever it is (claimed or not), and its state. */
static int study_dir(const char *home, const char *npuid, char *out, size_t outsz, char state[32], struct np_err *err)
{
	int claimed = 0;
	if (!np_uuid_valid(npuid))
		return np_err_set(err, NP_ERR_PERM, "invalid study id");
	int rc = np_spool_find(home, npuid, state, 32, &claimed, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return np_err_set(err, NP_ERR_PERM, "study %s not found", npuid);
	if (claimed) {
		if (snprintf(out, outsz, "%s/spool/%s/.work/%s", home, state, npuid) >= (int)outsz)
			return np_err_set(err, NP_ERR_PERM, "path too long");
		return 0;
	}
	return np_spool_study_dir(home, state, npuid, out, outsz, err);
}

/* Set (name) or clear (NULL) the study's group in its manifest, then in the
 * index. */
static int study_set_group(const char *home, struct np_db *db, const char *npuid, const char *name, struct np_err *err)
{
	char dir[PATH_MAX], state[32];
	if (study_dir(home, npuid, dir, sizeof dir, state, err) < 0)
		return -1;
	json_t *m = np_study_load(dir, err);
	if (!m)
		return -1;
	json_object_set_new(m, "group", str_or_null(name));
	int rc = np_study_save(dir, m, err);
	if (rc == 0)
		rc = np_db_study_put(db, npuid, state, m, err);
	json_decref(m);
	return rc;
}

static int reopen(struct np_db *db, const char *name, struct np_err *err)
{
	return np_db_groups_set_completed(db, name, NULL, err);
}

int np_group_assign(const char *home, struct np_db *db, const char *name, const char *npuid, struct np_err *err)
{
	json_t *gp = NULL;
	int have = group_load(db, name, &gp, err);
	if (have <= 0)
		return have < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "group \"%s\" does not exist", name ? name : "");
	char dir[PATH_MAX], state[32];
	json_t *m = NULL, *sp = NULL;
	int rc = -1;
	if (study_dir(home, npuid, dir, sizeof dir, state, err) < 0 || !(m = np_study_load(dir, err)))
		goto out;
	sp = products_norm(json_object_get(m, "products"));
	if (!sp) {
		np_err_set(err, NP_ERR_PERM, "study %s has an invalid product list", npuid);
		goto out;
	}
	long long members = np_db_groups_count_others(db, name, npuid, err);
	if (members < 0)
		goto out;
	if (json_array_size(gp) == 0 && members == 0) {
		/* An empty group without products takes them from its first study. */
		char *t = products_text(sp);
		rc = np_db_groups_set_products(db, name, t, 0, err);
		free(t);
		if (rc < 0)
			goto out;
	} else if (!json_equal(gp, sp)) {
		char *a = products_text(sp), *b = products_text(gp);
		np_err_set(
		    err, NP_ERR_PERM,
		    "all studies of a group must use the same products: study %s uses %s but group \"%s\" uses %s",
		    npuid, a, name, b);
		free(a);
		free(b);
		rc = -1;
		goto out;
	}
	const char *old = np_json_str(m, "group", NULL);
	int same = old && !strcmp(old, name);
	if (!same) {
		json_object_set_new(m, "group", json_string(name));
		if (np_study_save(dir, m, err) < 0)
			goto out;
	}
	rc = np_db_study_put(db, npuid, state, m, err);
	if (rc == 0 && !same)
		rc = reopen(db, name, err);
	if (rc == 0 && !same)
		np_info(npuid, "study assigned to group \"%s\"", name);
out:
	json_decref(gp);
	json_decref(sp);
	json_decref(m);
	return rc;
}

int np_group_unassign(const char *home, struct np_db *db, const char *npuid, struct np_err *err)
{
	if (study_set_group(home, db, npuid, NULL, err) < 0)
		return -1;
	np_info(npuid, "study removed from its group");
	return 0;
}

int np_group_rename(const char *home, struct np_db *db, const char *from, const char *to, struct np_err *err)
{
	const char *why = np_group_name_problem(to);
	if (why)
		return np_err_set(err, NP_ERR_PERM, "invalid new group name: %s", why);
	int have = group_load(db, from, NULL, err);
	if (have <= 0)
		return have < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "group \"%s\" does not exist", from);
	if (!strcmp(from, to))
		return 0;
	if ((have = group_load(db, to, NULL, err)) != 0)
		return have < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "group \"%s\" already exists", to);
	/* New row first, studies next, old row last: a crash leaves both names and
	 * re-running the rename finishes the job. */
	if (np_db_groups_copy(db, from, to, err) < 0)
		return -1;
	json_t *ids = np_db_groups_member_ids(db, from, err);
	if (!ids)
		return -1;
	size_t i;
	json_t *id;
	json_array_foreach (ids, i, id) {
		if (study_set_group(home, db, json_string_value(id), to, err) < 0) {
			json_decref(ids);
			return -1;
		}
	}
	json_decref(ids);
	char kf[256], kt[256];
	snprintf(kf, sizeof kf, "group_autosent:%s", from);
	snprintf(kt, sizeof kt, "group_autosent:%s", to);
	if (np_db_kv_rename(db, kf, kt, err) < 0 || np_db_groups_delete(db, from, err) < 0)
		return -1;
	np_info(NULL, "group renamed from \"%s\" to \"%s\"", from, to);
	return 0;
}

int np_group_delete(const char *home, struct np_db *db, const char *name, int force, struct np_err *err)
{
	int have = group_load(db, name, NULL, err);
	if (have <= 0)
		return have < 0 ? -1 : np_err_set(err, NP_ERR_PERM, "group \"%s\" does not exist", name);
	json_t *ids = np_db_groups_member_ids(db, name, err);
	if (!ids)
		return -1;
	if (json_array_size(ids) && !force) {
		size_t n = json_array_size(ids);
		json_decref(ids);
		return np_err_set(err, NP_ERR_PERM, "group \"%s\" has %zu studies; unassign them first or force", name,
				  n);
	}
	size_t i;
	json_t *id;
	json_array_foreach (ids, i, id) {
		if (study_set_group(home, db, json_string_value(id), NULL, err) < 0) {
			json_decref(ids);
			return -1;
		}
	}
	json_decref(ids);
	char key[256];
	snprintf(key, sizeof key, "group_autosent:%s", name);
	if (np_db_kv_delete(db, key, err) < 0 || np_db_groups_delete(db, name, err) < 0)
		return -1;
	np_info(NULL, "group \"%s\" deleted", name);
	return 0;
}

static json_t *group_row(const struct np_db_group_row *r)
{
	long long n = r->studies, term = r->terminal;
	/* A name from before names were checked may not be UTF-8, which jansson
	 * refuses: show it with U+FFFD; the group is still reachable as "id:N". */
	const char *name = r->name;
	json_t *jn = json_string(name);
	if (!jn) {
		size_t n = strlen(name), k = 0;
		char *t = malloc(3 * n + 1);
		for (const unsigned char *p = (const unsigned char *)name; t && *p;) {
			int l = utf8_len(p);
			memcpy(t + k, l ? (const char *)p : "\xef\xbf\xbd", l ? (size_t)l : 3);
			k += l ? (size_t)l : 3;
			p += l ? l : 1;
		}
		if (t)
			t[k] = 0;
		jn = json_string(t ? t : "?");
		free(t);
	}
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:b}", "name", jn, "id", (json_int_t)r->id,
			 "products", products_parse(r->products), "description", str_or_null(r->description),
			 "created_at", str_or_null(r->created_at), "completed_at", str_or_null(r->completed_at),
			 "report_sent_at", str_or_null(r->report_sent_at), "studies", n, "terminal", term, "complete",
			 n > 0 && n == term);
}

static void add_group(void *arg, const struct np_db_group_row *r)
{
	json_array_append_new(arg, group_row(r));
}

json_t *np_group_list(struct np_db *db, struct np_err *err)
{
	/* groups named by studies but missing from the table (index rebuilt
	 * from the spool) come back first */
	if (np_db_groups_reconcile(db, err) < 0)
		return NULL;
	json_t *a = json_array();
	if (np_db_groups_each(db, NULL, add_group, a, err) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static void one_group(void *arg, const struct np_db_group_row *r)
{
	json_t **g = arg;
	if (!*g)
		*g = group_row(r);
}

struct members {
	json_t *mem, *states;
};

static void add_member(void *arg, const char *npuid, const char *state, const char *order_id, const char *created_at)
{
	struct members *m = arg;
	json_array_append_new(m->mem, json_pack("{s:s, s:s, s:o, s:o}", "npuid", npuid, "state", state, "order_id",
						str_or_null(order_id), "created_at", str_or_null(created_at)));
	json_object_set_new(m->states, state, json_integer(json_integer_value(json_object_get(m->states, state)) + 1));
}

json_t *np_group_get(struct np_db *db, const char *name, struct np_err *err)
{
	if (np_db_groups_reconcile(db, err) < 0)
		return NULL;
	json_t *g = NULL;
	if (np_db_groups_each(db, name, one_group, &g, err) < 0)
		return NULL;
	if (!g) {
		np_err_set(err, NP_ERR_PERM, "group \"%s\" does not exist", name);
		return NULL;
	}
	struct members m = {json_array(), json_object()};
	int rc = np_db_groups_each_member(db, name, add_member, &m, err);
	json_object_set_new(g, "members", m.mem);
	json_object_set_new(g, "states", m.states);
	if (rc < 0) {
		json_decref(g);
		return NULL;
	}
	return g;
}

int np_group_auto_assign(const char *home, struct np_db *db, const struct np_config *cfg, json_t *manifest,
			 struct np_err *err)
{
	(void)home;
	const char *name = np_config_str(cfg, "groups.auto_assign_group");
	const char *npuid = np_json_str(manifest, "npuid", NULL);
	if (!np_config_bool(cfg, "groups.auto_assign") || !*name)
		return 0;
	if (strcmp(np_json_str(manifest, "format", ""), "dicom") != 0 || np_json_str(manifest, "group", NULL))
		return 0;
	json_t *sp = products_norm(json_object_get(manifest, "products"));
	json_t *gp = NULL;
	int rc = sp ? group_load(db, name, &gp, err) : 0;
	if (rc < 0)
		goto out;
	if (!sp) {
		np_warn(npuid, "not auto-assigned: invalid product list");
		goto out;
	}
	if (rc == 0) {
		if (np_group_create(db, name, sp, NULL, err) < 0) {
			rc = -1;
			goto out;
		}
	} else if (json_array_size(gp) && !json_equal(gp, sp)) {
		np_warn(npuid, "not auto-assigned to group \"%s\": products differ", name);
		rc = 0;
		goto out;
	} else if (!json_array_size(gp)) {
		char *t = products_text(sp);
		rc = np_db_groups_set_products(db, name, t, 1, err);
		free(t);
		if (rc < 0)
			goto out;
	}
	json_object_set_new(manifest, "group", json_string(name));
	if (reopen(db, name, err) < 0) {
		rc = -1;
		goto out;
	}
	np_info(npuid, "study auto-assigned to group \"%s\"", name);
	rc = 1;
out:
	json_decref(sp);
	json_decref(gp);
	return rc;
}

int np_group_check(struct np_db *db, const char *name, int *became, struct np_err *err)
{
	if (became)
		*became = 0;
	json_t *g = np_group_get(db, name, err);
	if (!g)
		return -1;
	int complete = json_is_true(json_object_get(g, "complete"));
	int was = json_is_string(json_object_get(g, "completed_at"));
	long long n = json_integer_value(json_object_get(g, "studies"));
	json_decref(g);
	if (complete && !was) {
		char now[32], detail[300];
		np_time_iso(now);
		if (np_db_groups_set_completed(db, name, now, err) < 0)
			return -1;
		snprintf(detail, sizeof detail, "group=%s studies=%lld", name, n);
		if (np_db_event(db, NULL, "group_processing_completed", "info", detail, err) < 0)
			return -1;
		np_info(NULL, "group \"%s\" completed studies=%lld", name, n);
		if (became)
			*became = 1;
	} else if (!complete && was) {
		/* A study added behind our back (index rebuilt, manual edit). */
		if (reopen(db, name, err) < 0)
			return -1;
	}
	return complete;
}

int np_group_mark_sent(struct np_db *db, const char *name, struct np_err *err)
{
	char now[32];
	np_time_iso(now);
	return np_db_groups_set_report_sent(db, name, now, err);
}
