// SPDX-License-Identifier: Apache-2.0
#include "np_buf.h"
#include "np_groupreport.h"

#include "np_config.h"
#include "np_csv.h"
#include "np_db.h"
#include "np_deliver.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_group.h"
#include "np_json.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_template.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One CSV field (np_csv_cell: RFC 4180 quoting, formulas defused), after a
 * comma unless it is the first of its row. */
static void csv_field(FILE *f, const char *s, int first)
{
	if (!first)
		fputc(',', f);
	np_csv_cell(f, s);
}

/* ---- results ---- */

/* Indexes in the order of the IFU output specification come first. */
static const char *const known_indexes[] = {"Atypical", "PSPvsMSAp", "FWpSN", "FWPutamen", "FWSCP", "FWMCP", NULL};

/* The text of one index value: {"value": x} or x, number or string. */
static char *index_text(json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "value");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_number(v))
		return json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

/* Read STUDYDIR/results/ *.json (not failure.*) into {product: {index: text}}
 * with the group's products (sorted) as the keys when they can be told.
 * Returns a new object, the results date in date[11] when present. */
static json_t *study_results(const char *dir, json_t *gprods, char date[11], char notice[128])
{
	json_t *out = json_object();
	char rdir[PATH_MAX];
	date[0] = 0;
	notice[0] = 0;
	if (snprintf(rdir, sizeof rdir, "%s/results", dir) >= (int)sizeof rdir)
		return out;
	DIR *d = opendir(rdir);
	if (!d)
		return out;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") ||
		    !strncmp(e->d_name, "failure", 7))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", rdir, e->d_name) >= (int)sizeof path)
			continue;
		json_t *j = np_json_load(path, 8 << 20, NULL);
		json_t *res = json_object_get(j, "results");
		if (!json_is_object(res))
			res = json_object_get(j, "result");
		if (!json_is_object(res)) {
			json_decref(j);
			continue;
		}
		const char *prod = np_json_str(j, "product", NULL);
		if (!prod)
			prod = np_json_str(j, "productName", NULL);
		if (!prod)
			prod = np_json_str(j, "processing_type", NULL);
		int known = 0;
		size_t i;
		json_t *gp;
		json_array_foreach (gprods, i, gp) {
			known |= prod && !strcmp(prod, json_string_value(gp));
		}
		char stem[256];
		if (!known && json_array_size(gprods) == 1) {
			prod = json_string_value(json_array_get(gprods, 0));
		} else if (!prod) {
			snprintf(stem, sizeof stem, "%.*s", (int)(n - 5), e->d_name);
			prod = stem;
		}
		const char *dt = np_json_str(j, "date", NULL);
		if (dt && strlen(dt) >= 10 && !date[0])
			snprintf(date, 11, "%.10s", dt);
		/* The demo stand-in marks its synthetic results. */
		if (!notice[0])
			snprintf(notice, 128, "%s", np_json_str(j, "notice", ""));
		json_t *po = json_object_get(out, prod);
		if (!po) {
			po = json_object();
			json_object_set_new(out, prod, po);
		}
		const char *k;
		json_t *v;
		json_object_foreach (res, k, v) {
			char *t = index_text(v);
			if (t)
				json_object_set_new(po, k, json_string(t));
			free(t);
		}
		json_decref(j);
	}
	closedir(d);
	return out;
}

/* Add index name k to the product's column list once. */
static void column_add(json_t *cols, const char *k)
{
	size_t i;
	json_t *c;
	json_array_foreach (cols, i, c) {
		if (!strcmp(json_string_value(c), k))
			return;
	}
	json_array_append_new(cols, json_string(k));
}

static int study_locate(const char *home, const char *npuid, char *dir, size_t dirsz)
{
	char state[32];
	int claimed = 0;
	if (np_spool_find(home, npuid, state, sizeof state, &claimed, NULL) != 0)
		return -1;
	if (claimed)
		return snprintf(dir, dirsz, "%s/spool/%s/.work/%s", home, state, npuid) < (int)dirsz ? 0 : -1;
	return np_spool_study_dir(home, state, npuid, dir, dirsz, NULL);
}

int np_groupreport_csv(const char *home, struct np_db *db, const struct np_config *cfg, const char *name, char **csv,
		       size_t *len, int *rows, struct np_err *err)
{
	json_t *g = np_group_get(db, name, err);
	if (!g)
		return -1;
	int with_name = np_config_bool(cfg, "groups.include_study_name");
	json_t *gprods = json_object_get(g, "products"), *mem = json_object_get(g, "members");
	size_t nm = json_array_size(mem);
	json_t *per = json_array(); /* per study: {dir-found, results, date, name, order, notice} */
	int any_notice = 0;
	json_t *cols = json_object();
	size_t i;
	json_t *p;
	json_array_foreach (gprods, i, p) {
		json_object_set_new(cols, json_string_value(p), json_object());
	}
	for (i = 0; i < nm; i++) {
		json_t *m = json_array_get(mem, i);
		const char *npuid = np_json_str(m, "npuid", "");
		char dir[PATH_MAX], date[11] = "", notice[128] = "";
		json_t *res = NULL, *man = NULL, *order = NULL;
		if (study_locate(home, npuid, dir, sizeof dir) == 0) {
			res = study_results(dir, gprods, date, notice);
			man = np_study_load(dir, NULL);
			char op[PATH_MAX];
			if (snprintf(op, sizeof op, "%s/order.json", dir) < (int)sizeof op)
				order = np_json_load(op, 1 << 20, NULL);
		}
		if (!res)
			res = json_object();
		const char *oid = np_json_str(m, "order_id", NULL);
		if (!oid)
			oid = np_json_str(order, "orderId", NULL);
		if (!oid)
			oid = np_json_str(order, "order_id", NULL);
		if (!date[0])
			snprintf(date, sizeof date, "%.10s", np_json_str(m, "created_at", ""));
		json_array_append_new(per,
				      json_pack("{s:o, s:s, s:s?, s:s?, s:s}", "results", res, "date", date, "name",
						np_json_str(man, "study_name", NULL), "order", oid, "notice", notice));
		any_notice |= notice[0] != 0;
		json_decref(man);
		json_decref(order);
		const char *prod;
		json_t *po;
		json_object_foreach (res, prod, po) {
			json_t *seen = json_object_get(cols, prod);
			if (!seen)
				continue; /* not a product of this group */
			const char *k;
			json_t *v;
			json_object_foreach (po, k, v) {
				json_object_set(seen, k, json_true());
			}
		}
	}
	/* Columns: the IFU's indexes in its order, then any others by name. */
	json_array_foreach (gprods, i, p) {
		json_t *seen = json_object_get(cols, json_string_value(p)), *c = json_array();
		for (int k = 0; known_indexes[k]; k++)
			if (json_object_get(seen, known_indexes[k]))
				column_add(c, known_indexes[k]);
		size_t first_other = json_array_size(c);
		const char *k;
		json_t *v;
		json_object_foreach (seen, k, v) {
			size_t at = json_array_size(c);
			column_add(c, k);
			if (json_array_size(c) == at)
				continue;
			/* insertion sort among the others */
			while (at > first_other && strcmp(json_string_value(json_array_get(c, at - 1)), k) > 0)
				at--;
			if (at != json_array_size(c) - 1) {
				json_array_remove(c, json_array_size(c) - 1);
				json_array_insert_new(c, at, json_string(k));
			}
		}
		json_object_set_new(cols, json_string_value(p), c);
	}
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f) {
		json_decref(per);
		json_decref(cols);
		json_decref(g);
		return np_err_sys(err, ENOMEM, "unable to build the report");
	}
	csv_field(f, "npuid", 1);
	if (with_name)
		csv_field(f, "study_name", 0);
	csv_field(f, "order_id", 0);
	csv_field(f, "state", 0);
	csv_field(f, "date", 0);
	json_array_foreach (gprods, i, p) {
		json_t *c = json_object_get(cols, json_string_value(p)), *k;
		size_t j;
		json_array_foreach (c, j, k) {
			char h[512];
			snprintf(h, sizeof h, "%s:%s", json_string_value(p), json_string_value(k));
			csv_field(f, h, 0);
		}
	}
	if (any_notice)
		csv_field(f, "notice", 0);
	fputs("\r\n", f);
	for (i = 0; i < nm; i++) {
		json_t *m = json_array_get(mem, i), *s = json_array_get(per, i);
		csv_field(f, np_json_str(m, "npuid", ""), 1);
		if (with_name)
			csv_field(f, np_json_str(s, "name", ""), 0);
		csv_field(f, np_json_str(s, "order", ""), 0);
		csv_field(f, np_json_str(m, "state", ""), 0);
		csv_field(f, np_json_str(s, "date", ""), 0);
		json_t *res = json_object_get(s, "results");
		size_t pi;
		json_array_foreach (gprods, pi, p) {
			json_t *c = json_object_get(cols, json_string_value(p)), *k;
			json_t *po = json_object_get(res, json_string_value(p));
			size_t j;
			json_array_foreach (c, j, k) {
				csv_field(f, np_json_str(po, json_string_value(k), ""), 0);
			}
		}
		if (any_notice)
			csv_field(f, np_json_str(s, "notice", ""), 0);
		fputs("\r\n", f);
	}
	json_decref(per);
	json_decref(cols);
	json_decref(g);
	if (ferror(f) | fclose(f)) {
		free(buf);
		return np_err_sys(err, ENOMEM, "unable to build the report");
	}
	*csv = buf;
	*len = blen;
	if (rows)
		*rows = (int)nm;
	return 0;
}

/* ---- file names and templates ---- */

static void safe_copy(struct np_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char c = (char)*p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			c = '_';
		np_buf_add(b, &c, 1);
	}
}

static void date_of(time_t t, char out[11])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int np_groupreport_filename(const struct np_config *cfg, const char *name, time_t t, char *out, size_t outsz,
			    struct np_err *err)
{
	const char *tmpl = np_config_str(cfg, "groups.filename_template");
	char date[11];
	date_of(t, date);
	const struct np_tpl_var vars[] = {
	    {"group_name", name},
	    {"report_type", np_config_str(cfg, "groups.report_type")},
	    {"date", date},
	};
	char *r = np_template_render(*tmpl ? tmpl : "{group_name}_{report_type}_{date}.csv", NP_TPL_FILENAME, vars,
				     sizeof vars / sizeof vars[0], err);
	if (!r)
		return -1;
	/* Stricter than the template's file-name context: portable characters only. */
	struct np_buf b = {0};
	safe_copy(&b, r);
	free(r);
	if (b.oom || !b.p || !strcmp(b.p, "_") || outsz < 2) {
		free(b.p);
		return np_err_set(err, NP_ERR_PERM, "empty report file name");
	}
	if (b.p[0] == '.')
		b.p[0] = '_';
	if (b.len > 200)
		b.p[200] = 0;
	snprintf(out, outsz, "%s", b.p);
	free(b.p);
	return 0;
}

/* ---- delivery (np_deliver's senders) ---- */

/* Send the CSV to groups.delivery: it is written to spool/tmp for the
 * sender (which base64-encodes it for {report_base64} and attaches it to
 * e-mails) and removed afterwards. */
static int deliver_report(const char *home, const struct np_config *cfg, const char *name, const char *filename,
			  const char *csv, size_t len, int rows, const char *products, struct np_err *err)
{
	char date[11], count[16], id[37], tmp[PATH_MAX];
	date_of((time_t)np_now(), date);
	snprintf(count, sizeof count, "%d", rows);
	if (np_uuid4(id, err) < 0)
		return -1;
	if (snprintf(tmp, sizeof tmp, "%s/spool/tmp", home) >= (int)sizeof tmp || np_mkdirs(tmp, 0750, err) < 0)
		return np_err_set(err, NP_ERR_PERM, "unable to prepare the group report");
	snprintf(tmp, sizeof tmp, "%s/spool/tmp/group-report-%s.csv", home, id);
	if (np_write_atomic(tmp, csv, len, 0640, err) < 0)
		return -1;
	const struct np_tpl_var vars[] = {
	    {"group_name", name},
	    {"report_type", np_config_str(cfg, "groups.report_type")},
	    {"date", date},
	    {"filename", filename},
	    {"count", count},
	    {"format", "csv"},
	    {"product", products},
	    {"status", "sent"},
	    {"agent", np_config_str(cfg, "dicom.ae_title")},
	};
	struct np_deliver_item item = {tmp, filename, "text/csv", NULL, vars, sizeof vars / sizeof vars[0], NULL};
	json_t *dest = np_config_get(cfg, "groups.delivery");
	int rc;
	if (!strncmp(np_json_str(dest, "type", "none"), "dicom", 5))
		rc = np_err_set(err, NP_ERR_PERM,
				"group reports cannot be delivered by DICOM (use email, rest or none)");
	else
		rc = np_deliver_send(cfg, dest, "groups.delivery.password", &item, err);
	unlink(tmp);
	return rc;
}

static char *products_joined(json_t *g)
{
	struct np_buf b = {0};
	np_buf_add(&b, "", 0);
	size_t i;
	json_t *p;
	json_array_foreach (json_object_get(g, "products"), i, p) {
		if (i)
			np_buf_add(&b, ";", 1);
		np_buf_str(&b, json_string_value(p));
	}
	return b.p;
}

int np_groupreport_send(const char *home, struct np_db *db, const struct np_config *cfg, const char *name,
			const char *why, struct np_err *err)
{
	char *csv = NULL, filename[256], detail[512];
	size_t len = 0;
	int rows = 0;
	json_t *g = np_group_get(db, name, err);
	if (!g)
		return -1;
	char *products = products_joined(g);
	json_decref(g);
	if (np_groupreport_csv(home, db, cfg, name, &csv, &len, &rows, err) < 0 ||
	    np_groupreport_filename(cfg, name, (time_t)np_now(), filename, sizeof filename, err) < 0) {
		free(csv);
		free(products);
		return -1;
	}
	const char *type = np_config_str(cfg, "groups.delivery.type");
	if (!strcmp(type, "none")) {
		np_info(NULL, "group \"%s\" report not sent: delivery method is none reason=%s", name, why);
		free(csv);
		free(products);
		return 1;
	}
	int rc = deliver_report(home, cfg, name, filename, csv, len, rows, products ? products : "", err);
	free(csv);
	free(products);
	struct np_err e2 = {0};
	if (rc == 0) {
		snprintf(detail, sizeof detail, "group=%s studies=%d method=%s reason=%s file=%s", name, rows, type,
			 why, filename);
		np_info(NULL, "group report sent %s", detail);
		if (np_group_mark_sent(db, name, &e2) < 0 ||
		    np_db_event(db, NULL, "group_report_sent", "info", detail, &e2) < 0)
			np_log_err(NULL, &e2);
	} else {
		snprintf(detail, sizeof detail, "group=%s method=%s reason=%s error=%s", name, type, why, err->msg);
		np_error(NULL, "group report send failed %s", detail);
		if (np_db_event(db, NULL, "group_report_send_failed", "error", detail, &e2) < 0)
			np_log_err(NULL, &e2);
	}
	return rc;
}

int np_groupreport_test(const char *home, const struct np_config *cfg, struct np_err *err)
{
	char date[11], filename[256], csv[512];
	date_of((time_t)np_now(), date);
	if (np_groupreport_filename(cfg, "test", (time_t)np_now(), filename, sizeof filename, err) < 0)
		return -1;
	int n = snprintf(csv, sizeof csv,
			 "npuid,order_id,state,date,Atypical/MSAp/PSP-v1.0:Atypical\r\n"
			 "00000000-0000-4000-8000-000000000000,test,done,%s,0.5\r\n",
			 date);
	if (!strcmp(np_config_str(cfg, "groups.delivery.type"), "none"))
		return np_err_set(err, NP_ERR_PERM, "the group report delivery method is none: nothing to test");
	if (deliver_report(home, cfg, "test", filename, csv, (size_t)n, 1, "Atypical/MSAp/PSP-v1.0", err) < 0)
		return -1;
	np_info(NULL, "group report test delivery sent method=%s", np_config_str(cfg, "groups.delivery.type"));
	return 0;
}

int np_groupreport_auto(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err)
{
	json_t *list = np_group_list(db, err);
	if (!list)
		return -1;
	int failed = 0, autosend = np_config_bool(cfg, "groups.auto_send_on_complete");
	size_t i;
	json_t *g;
	json_array_foreach (list, i, g) {
		const char *name = np_json_str(g, "name", "");
		struct np_err e = {0};
		int complete = np_group_check(db, name, NULL, &e);
		if (complete < 0) {
			np_log_err(NULL, &e);
			failed++;
			continue;
		}
		if (!complete || !autosend || !strcmp(np_config_str(cfg, "groups.delivery.type"), "none"))
			continue;
		json_t *now = np_group_get(db, name, &e);
		const char *completed = np_json_str(now, "completed_at", "");
		char key[256], val[64];
		snprintf(key, sizeof key, "group_autosent:%s", name);
		char *prev = np_db_kv_get(db, key);
		/* "<completed_at> <attempts>": 3 attempts per completion, as for result deliveries */
		int tries = 0;
		size_t cl = strlen(completed);
		if (prev && !strncmp(prev, completed, cl) && prev[cl] == ' ')
			tries = atoi(prev + cl + 1);
		free(prev);
		if (*completed && tries >= 0 && tries < 3) {
			int rc = np_groupreport_send(home, db, cfg, name, "complete", &e);
			snprintf(val, sizeof val, "%s %d", completed, rc >= 0 ? -1 : tries + 1);
			if (rc < 0)
				failed++;
			struct np_err e2 = {0};
			if (np_db_kv_set(db, key, val, &e2) < 0)
				np_log_err(NULL, &e2);
		}
		json_decref(now);
	}
	json_decref(list);
	return failed;
}

int np_groupreport_scheduled(const char *home, struct np_db *db, const struct np_config *cfg, struct np_err *err)
{
	json_t *list = np_group_list(db, err);
	if (!list)
		return -1;
	int failed = 0;
	size_t i;
	json_t *g;
	json_array_foreach (list, i, g) {
		if (json_integer_value(json_object_get(g, "studies")) == 0)
			continue;
		struct np_err e = {0};
		if (np_groupreport_send(home, db, cfg, np_json_str(g, "name", ""), "schedule", &e) < 0)
			failed++;
	}
	json_decref(list);
	return failed;
}
