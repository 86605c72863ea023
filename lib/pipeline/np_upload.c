// SPDX-License-Identifier: Apache-2.0
/* np_upload: np-upload's work, one study to the cloud: create the order,
 * split deid/ into ZIPs the way the public clients do, upload them (each
 * ZIP streamed by np_zip from deid/ straight into its PUT), start the
 * jobs, record every step in order.json so a crashed or failed run resumes
 * where it stopped. See np_upload.h. */
#include "np_upload.h"

#include "np_cloud.h"
#include "np_config.h"
#include "np_crypto.h"
#include "np_db.h"
#include "np_dcm.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_queue.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_util.h"
#include "np_zip.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The files of deid/, in the order of their paths. */
struct files {
	struct np_zip_file *v;
	size_t n, cap;
	long long bytes;
};

static int add_file(struct files *fs, const char *rel, long long size)
{
	if (fs->n == fs->cap) {
		size_t nc = fs->cap ? fs->cap * 2 : 256;
		struct np_zip_file *nv = realloc(fs->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		fs->v = nv;
		fs->cap = nc;
	}
	fs->v[fs->n].rel = strdup(rel);
	fs->v[fs->n].name = NULL;
	fs->v[fs->n].size = size;
	fs->bytes += size;
	return fs->v[fs->n++].rel ? 0 : -1;
}

/* Regular files under root/rel, dot-files and the de-identification record
 * (deid/manifest.json: it stays local) left out. */
static int walk(const char *root, const char *rel, struct files *fs, struct np_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	if (!d)
		return np_err_sys(err, errno, "unable to open %s", path);
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char r[PATH_MAX], full[PATH_MAX];
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		if (!*rel && !strcmp(e->d_name, "manifest.json"))
			continue;
		snprintf(full, sizeof full, "%s/%s", root, r);
		struct stat st;
		if (lstat(full, &st) < 0)
			rc = np_err_sys(err, errno, "unable to stat %s", full);
		else if (S_ISDIR(st.st_mode))
			rc = walk(root, r, fs, err);
		else if (S_ISREG(st.st_mode) && add_file(fs, r, st.st_size) < 0)
			rc = np_err_sys(err, ENOMEM, "unable to list %s", root);
	}
	closedir(d);
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct np_zip_file *)a)->rel, ((const struct np_zip_file *)b)->rel);
}

/* Flat entry names as the public clients make them: the basename, with
 * _1, _2 ... before the extension on duplicates. */
static int flat_names(struct files *fs)
{
	json_t *seen = json_object();
	for (size_t i = 0; i < fs->n; i++) {
		const char *b = strrchr(fs->v[i].rel, '/');
		b = b ? b + 1 : fs->v[i].rel;
		char name[NAME_MAX + 16];
		snprintf(name, sizeof name, "%s", b);
		for (int k = 1; json_object_get(seen, name); k++) {
			const char *dot = strrchr(b, '.');
			int stem = dot && dot != b ? (int)(dot - b) : (int)strlen(b);
			snprintf(name, sizeof name, "%.*s_%d%s", stem, b, k, dot && dot != b ? dot : "");
		}
		json_object_set_new(seen, name, json_true());
		if (!(fs->v[i].name = strdup(name)))
			return json_decref(seen), -1;
	}
	json_decref(seen);
	return 0;
}

/* PatientAge/PatientSex (and AccessionNumber when allowed) for the cloud:
 * from the de-identified DICOM (which keeps them), else the manifest. */
static json_t *demographics(const char *deid, struct files *fs, json_t *manifest, int send_accession)
{
	json_t *m = json_object();
	char v[128];
	for (size_t i = 0; i < fs->n && i < 8; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", deid, fs->v[i].rel);
		struct np_dcm *d = np_dcm_open(p, NP_DCM_HEADER_ONLY, NULL);
		if (!d)
			continue;
		if (np_dcm_get(d, "0010,1010", v, sizeof v) == 1 && v[0])
			json_object_set_new(m, "PatientAge", json_string(v));
		if (np_dcm_get(d, "0010,0040", v, sizeof v) == 1 && v[0])
			json_object_set_new(m, "PatientSex", json_string(v));
		if (send_accession && np_dcm_get(d, "0008,0050", v, sizeof v) == 1 && v[0])
			json_object_set_new(m, "AccessionNumber", json_string(v));
		np_dcm_close(d);
		break;
	}
	static const char *const age[] = {"patient.age", "patient.PatientAge", "patient.patient_age", NULL};
	static const char *const sex[] = {"patient.sex", "patient.PatientSex", "patient.patient_sex", NULL};
	static const char *const acc[] = {"study.accession_number", "study.AccessionNumber", "study.accession", NULL};
	struct {
		const char *key;
		const char *const *paths;
		int on;
	} f[] = {{"PatientAge", age, 1}, {"PatientSex", sex, 1}, {"AccessionNumber", acc, send_accession}};
	for (size_t k = 0; k < 3; k++) {
		if (!f[k].on || json_object_get(m, f[k].key))
			continue;
		for (int i = 0; f[k].paths[i]; i++) {
			json_t *x = np_json_path(manifest, f[k].paths[i]);
			if (json_is_string(x) && *json_string_value(x)) {
				json_object_set(m, f[k].key, x);
				break;
			}
			if (json_is_integer(x)) {
				snprintf(v, sizeof v, "%03lldY", (long long)json_integer_value(x));
				json_object_set_new(m, f[k].key, json_string(v));
				break;
			}
		}
	}
	return m;
}

static double backoff_base(void)
{
#ifdef NP_TEST_HOOKS
	const char *s = getenv("NP_BACKOFF_MS");
	if (s && *s)
		return atof(s) / 1000.0;
#endif
	return 1.0;
}

static void backoff(int attempt)
{
	double base = backoff_base(), d = base * (double)(1 << (attempt < 6 ? attempt : 6));
	if (d > 60)
		d = 60;
	unsigned r = 0;
	np_random(&r, sizeof r, NULL);
	d += d * 0.5 * ((double)(r % 1000) / 1000.0); /* jitter: +0-50% */
	struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct ctx {
	const char *home, *dir, *npuid;
	const struct np_config *cfg;
	struct np_db *db;
	json_t *order, *manifest;
	struct files fs;
	char deid[PATH_MAX];
};

static int save(struct ctx *c, struct np_err *err)
{
	return np_order_save(c->dir, c->order, err);
}

/* Upload failed for good: record, raise the event, exit 1 (to failed/). */
static int give_up(struct ctx *c, const char *why)
{
	struct np_err e = {0};
	np_error(c->npuid, "upload failed: %s", why);
	json_object_set_new(c->order, "error", json_string(why));
	np_order_set_status(c->order, c->db, c->npuid, NP_ORDER_FAILED, (int)np_json_int(c->order, "progress", 0), why);
	if (save(c, &e) < 0)
		np_log_err(c->npuid, &e);
	if (c->db && np_db_event(c->db, c->npuid, "upload_failed", "error", why, &e) < 0)
		np_log_err(c->npuid, &e);
	return NP_EXIT_NO;
}

/* A temporary failure (cloud down, 5xx, timeout, DNS, disk full) after the
 * in-run retries: np-queue tries again on the retry.* schedule; only the
 * last try of its window gives up. The order keeps its progress. */
static int wait_for_cloud(struct ctx *c, struct np_err *err)
{
	const char *last = getenv("NP_QUEUE_LAST_TRY");
	if (last && !strcmp(last, "1")) {
		char why[640];
		snprintf(why, sizeof why, "gave up: the cloud still failed at the end of the retry window: %s",
			 err->msg);
		return give_up(c, why);
	}
	struct np_err e = {0};
	np_warn(c->npuid, "upload waiting for the cloud: %s", err->msg);
	char info[600], status[32];
	snprintf(info, sizeof info, "waiting for cloud: %s", err->msg);
	snprintf(status, sizeof status, "%s", np_json_str(c->order, "status", NP_ORDER_UPLOADING));
	np_order_set_status(c->order, c->db, c->npuid, status, (int)np_json_int(c->order, "progress", 0), info);
	if (save(c, &e) < 0)
		np_log_err(c->npuid, &e);
	if (np_queue_note(c->dir, err->msg, 0, &e) < 0)
		np_log_err(c->npuid, &e);
	return NP_EXIT_TEMP;
}

static json_t *products(struct ctx *c)
{
	json_t *p = json_object_get(c->manifest, "products");
	if (!json_is_array(p) || !json_array_size(p))
		p = np_config_get(c->cfg, "dicom.default_products");
	return p;
}

/* Split into ZIPs as the JS client does: start a new ZIP when the running
 * uncompressed total plus the next file passes the limit (a larger single
 * file gets a ZIP of its own). Stored in order.json so a resumed run uses
 * exactly the same parts. */
static json_t *make_plan(struct files *fs, long long limit)
{
	json_t *parts = json_array();
	size_t first = 0;
	long long acc = 0;
	for (size_t i = 0; i < fs->n; i++) {
		if (i > first && acc + fs->v[i].size > limit) {
			json_array_append_new(parts, json_pack("{s:I, s:I}", "first", (json_int_t)first, "count",
							       (json_int_t)(i - first)));
			first = i;
			acc = 0;
		}
		acc += fs->v[i].size;
	}
	if (fs->n > first || !fs->n)
		json_array_append_new(
		    parts, json_pack("{s:I, s:I}", "first", (json_int_t)first, "count", (json_int_t)(fs->n - first)));
	return parts;
}

static int upload(struct ctx *c, struct np_err *err)
{
	json_t *o = c->order;
	struct np_cloud *cl = np_cloud_open(c->cfg, err);
	if (!cl)
		return -1;
	int rc = -1;
	int max_retries = (int)np_config_int(c->cfg, "upload.max_retries");
	const char *proto = np_cloud_protocol(cl);
	json_t *meta = demographics(c->deid, &c->fs, c->manifest, np_config_bool(c->cfg, "deid.send_accession"));
	if (!json_object_get(meta, "PatientAge") || !json_object_get(meta, "PatientSex"))
		np_warn(c->npuid, "patient age or sex unknown; the cloud's QC may reject the order");
	char *sidecar = NULL;
	if (!np_json_str(o, "order_id", NULL)) {
		char oid[64];
		json_t *v2meta = json_pack("{s:O, s:O, s:s}", "products", products(c), "metadata", meta, "origin",
					   np_config_str(c->cfg, "cloud.origin_type"));
		int r = -1;
		for (int attempt = 0;; attempt++) {
			r = np_cloud_new_order(cl, v2meta, oid, err);
			if (r == 0 || err->cls == NP_ERR_PERM || attempt >= max_retries)
				break;
			np_warn(c->npuid, "upload attempt failed step=order attempt=%d: %s", attempt + 1, err->msg);
			backoff(attempt);
		}
		json_decref(v2meta);
		if (r < 0)
			goto done;
		json_object_set_new(o, "order_id", json_string(oid));
		json_object_set_new(o, "protocol", json_string(proto));
		char now[32];
		np_time_iso(now);
		json_object_set_new(o, "created_at", json_string(now));
		np_order_set_status(o, c->db, c->npuid, NP_ORDER_UPLOADING, 0, "");
		if (save(c, err) < 0)
			goto done;
		np_info(c->npuid, "order created order=%s protocol=%s", oid, proto);
		np_crash_point("upload_order_created");
	}
	const char *oid = np_json_str(o, "order_id", "");
	if (!strcmp(proto, "v1") && json_object_size(meta))
		sidecar = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *parts = json_object_get(o, "parts");
	size_t np = json_array_size(parts);
	for (size_t i = 0; i < np; i++) {
		json_t *p = json_array_get(parts, i);
		/* Earlier versions packed each part into spool/tmp first, and a
		 * crash there left that file behind. */
		char old[PATH_MAX];
		if (snprintf(old, sizeof old, "%s/spool/tmp/%s.z%zu.zip", c->home, c->npuid, i) < (int)sizeof old)
			unlink(old);
		if (np_json_str(p, "etag", NULL))
			continue; /* sent before a crash or an outage */
		/* Streamed from deid/ into the PUT: no ZIP file, no packing thread. */
		size_t first = (size_t)np_json_int(p, "first", 0), count = (size_t)np_json_int(p, "count", 0);
		if (first > c->fs.n || count > c->fs.n - first) {
			np_err_set(err, NP_ERR_PERM, "order.json: part %zu lists files the study does not have", i);
			goto done;
		}
		struct np_zip *z =
		    np_zip_new(c->deid, c->fs.v + first, count, "sidecar.json", i == 0 ? sidecar : NULL, err);
		if (!z)
			goto done;
		char etag[256];
		int r = -1;
		for (int attempt = 0;; attempt++) {
			r = np_cloud_upload_zip(cl, oid, (int)i, i + 1 == np, z, etag, err);
			if (r == 0 || err->cls == NP_ERR_PERM || attempt >= max_retries)
				break;
			np_warn(c->npuid, "upload attempt failed zip=%zu attempt=%d: %s", i, attempt + 1, err->msg);
			backoff(attempt);
		}
		char sha[65] = "";
		long long bytes = np_zip_size(z);
		if (r == 0)
			snprintf(sha, sizeof sha, "%s", np_zip_sha(z));
		np_zip_free(z);
		if (r < 0)
			goto done;
		char now[32];
		np_time_iso(now);
		json_object_set_new(p, "sha256", json_string(sha));
		json_object_set_new(p, "bytes", json_integer(bytes));
		json_object_set_new(p, "etag", json_string(etag));
		json_object_set_new(p, "uploaded_at", json_string(now));
		np_order_set_status(o, c->db, c->npuid, NP_ORDER_UPLOADING, (int)((i + 1) * 100 / np), "");
		if (save(c, err) < 0)
			goto done;
		np_info(c->npuid, "zip uploaded order=%s zip=%zu/%zu bytes=%lld sha256=%s", oid, i + 1, np, bytes, sha);
		np_crash_point("upload_zip_acked");
	}
	json_t *started = json_object_get(o, "jobs_started");
	if (!json_is_array(started)) {
		started = json_array();
		json_object_set_new(o, "jobs_started", started);
	}
	size_t k;
	json_t *prod;
	json_array_foreach (products(c), k, prod) {
		const char *pn = json_string_value(prod);
		int done_already = 0;
		size_t j;
		json_t *s;
		json_array_foreach (started, j, s)
			done_already |= pn && json_is_string(s) && !strcmp(json_string_value(s), pn);
		if (!pn || done_already)
			continue;
		if (np_cloud_run_job(cl, oid, pn, err) < 0)
			goto done;
		json_array_append_new(started, json_string(pn));
		if (save(c, err) < 0)
			goto done;
		np_info(c->npuid, "job started order=%s product=%s", oid, pn);
	}
	rc = 0;
done:
	free(sidecar);
	json_decref(meta);
	np_cloud_close(cl);
	return rc;
}

static int run(struct ctx *c)
{
	struct np_err err = {0};
	if (!(c->order = np_order_load(c->dir, &err)) || !(c->manifest = np_study_load(c->dir, &err))) {
		np_log_err(c->npuid, &err);
		return np_err_exit_code(&err);
	}
	const char *st = np_json_str(c->order, "status", "");
	if (!strcmp(st, NP_ORDER_CANCELLED)) {
		np_info(c->npuid, "order was cancelled; not uploading");
		return NP_EXIT_NO;
	}
	if (json_object_get(c->order, "jobs_started") && !strcmp(st, NP_ORDER_QUEUED)) {
		np_info(c->npuid, "already uploaded order=%s", np_json_str(c->order, "order_id", ""));
		return NP_EXIT_OK;
	}
	if (!np_cloud_configured(c->cfg)) {
		np_warn(c->npuid, "cloud not configured (cloud.api_url is empty); study held before upload");
		np_order_set_status(c->order, c->db, c->npuid, NP_ORDER_HELD, 0, "cloud not configured");
		if (save(c, &err) < 0)
			np_log_err(c->npuid, &err);
		if (np_queue_hold(c->dir, "cloud not configured (cloud.api_url is empty)", 0, &err) < 0)
			np_log_err(c->npuid, &err);
		return NP_EXIT_TEMP;
	}
	if (np_path_join(c->deid, sizeof c->deid, c->dir, "deid", &err) < 0)
		return np_log_err(c->npuid, &err), NP_EXIT_PERM;
	if (!np_is_dir(c->deid)) {
		np_error(c->npuid, "no de-identified set (deid/) in the study");
		return NP_EXIT_PERM;
	}
	if (walk(c->deid, "", &c->fs, &err) < 0)
		return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	qsort(c->fs.v, c->fs.n, sizeof *c->fs.v, cmp_file);
	if (flat_names(&c->fs) < 0)
		return np_error(c->npuid, "out of memory"), NP_EXIT_TEMP;
	long long gb = np_config_int(c->cfg, "upload.max_upload_gb");
	if (c->fs.bytes > gb * 1024 * 1024 * 1024) {
		char why[200];
		snprintf(why, sizeof why, "study too large to upload: %.2f GB, the maximum upload size is %lld GB",
			 (double)c->fs.bytes / (1024.0 * 1024 * 1024), gb);
		return give_up(c, why);
	}
	if (!c->fs.n)
		return give_up(c, "the de-identified set is empty");
	json_t *plan = json_object_get(c->order, "parts");
	if (!json_is_array(plan)) {
		json_object_set_new(c->order, "parts",
				    make_plan(&c->fs, np_config_int(c->cfg, "upload.zip_part_mb") << 20));
		json_object_set_new(c->order, "files", json_integer((json_int_t)c->fs.n));
		json_object_set_new(c->order, "bytes", json_integer(c->fs.bytes));
		np_order_set_status(c->order, c->db, c->npuid, NP_ORDER_UPLOADING, 0, "");
		if (save(c, &err) < 0)
			return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	} else if (np_json_int(c->order, "files", -1) != (long long)c->fs.n ||
		   np_json_int(c->order, "bytes", -1) != c->fs.bytes) {
		return give_up(c, "the de-identified set changed after the upload started");
	}
	np_info(c->npuid, "uploading files=%zu bytes=%lld zips=%zu", c->fs.n, c->fs.bytes,
		json_array_size(json_object_get(c->order, "parts")));
	if (upload(c, &err) < 0) {
		if (err.cls != NP_ERR_TEMP)
			return give_up(c, err.msg);
		return wait_for_cloud(c, &err);
	}
	np_order_set_status(c->order, c->db, c->npuid, NP_ORDER_QUEUED, 0, "");
	if (save(c, &err) < 0)
		return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	char detail[160];
	snprintf(detail, sizeof detail, "order %s: %zu files in %zu ZIPs", np_json_str(c->order, "order_id", ""),
		 c->fs.n, json_array_size(json_object_get(c->order, "parts")));
	if (c->db && np_db_event(c->db, c->npuid, "upload_succeeded", "info", detail, &err) < 0)
		np_log_err(c->npuid, &err);
	np_info(c->npuid, "upload succeeded %s", detail);
	return NP_EXIT_OK;
}

int np_upload_run(struct np_prog *p)
{
	struct ctx c = {.home = p->home, .dir = p->dir, .npuid = p->npuid, .cfg = &p->cfg, .db = p->db};
	int rc = run(&c);
	for (size_t i = 0; i < c.fs.n; i++) {
		free(c.fs.v[i].rel);
		free(c.fs.v[i].name);
	}
	free(c.fs.v);
	json_decref(c.order);
	json_decref(c.manifest);
	return rc;
}
