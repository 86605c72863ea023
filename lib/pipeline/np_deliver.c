// SPDX-License-Identifier: Apache-2.0
// Study-level delivery: which file goes to which destination, the
// per-destination state in deliveries.json, retries, events, the DICOM
// result objects, and the Test Delivery button.
#include "np_deliver.h"

#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_dcm.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_queue.h"
#include "np_schema.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_study_ops.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define PDF_SERIES 901
#define SR_SERIES 902

struct study {
	const char *dir;
	char npuid[64], state[32];
	char order_id[128], product[128], status[64], date[32];
	char accession[80], study_name[256];
	char results_json[PATH_MAX]; /* "" when absent */
	char failure[PATH_MAX];	     /* first results/failure.*, "" when absent */
	int failure_kind;
	json_t *results; /* parsed results JSON or NULL */
};

static const struct {
	const char *format, *ext, *type;
} formats[] = {
    {"pdf", "pdf", "application/pdf"}, {"json", "json", "application/json"}, {"txt", "txt", "text/plain"},
    {"xml", "xml", "application/xml"}, {"png", "png", "image/png"},	     {"csv", "csv", "text/csv"},
};

static const char *content_type_of(const char *ext)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(formats[i].ext, ext))
			return formats[i].type;
	return "application/octet-stream";
}

static const char *ext_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	return dot ? dot + 1 : "";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a folder (not "." / ".."), NULL-terminated; NULL when it
 * cannot be read. */
static char **list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof *v);
	struct dirent *e;
	while (v && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			char **w = realloc(v, (cap *= 2) * sizeof *v);
			if (!w)
				break;
			v = w;
		}
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!v)
		return NULL;
	v[n] = NULL;
	qsort(v, n, sizeof *v, cmp_str);
	return v;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* First results file for a format: report.EXT, results.EXT, result.EXT,
 * features.csv, then any *.EXT that is not a failure report. */
static int find_result(const struct study *s, const char *ext, char *out, size_t outsz)
{
	static const char *const stems[] = {"report", "results", "result", "features"};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
		snprintf(p, sizeof p, "%s/results/%s.%s", s->dir, stems[i], ext);
		if (np_exists(p) && !np_is_dir(p)) {
			snprintf(out, outsz, "%s", p);
			return 1;
		}
	}
	snprintf(p, sizeof p, "%s/results", s->dir);
	char **names = list_dir(p);
	int found = 0;
	for (size_t i = 0; names && names[i] && !found; i++)
		if (strncmp(names[i], "failure", 7) && names[i][0] != '.' && !strcmp(ext_of(names[i]), ext)) {
			snprintf(out, outsz, "%s/results/%s", s->dir, names[i]);
			found = 1;
		}
	free_list(names);
	return found;
}

/* The failure report: results/failure.EXT for the wanted format, else the
 * cloud's TXT or PNG; failure.json (np-poll's own record) only when asked. */
static int find_failure(const struct study *s, const char *ext, char *out, size_t outsz)
{
	const char *const pref[] = {ext, "txt", "png", "pdf"};
	for (size_t i = 0; i < sizeof pref / sizeof pref[0]; i++) {
		if (!pref[i])
			continue;
		snprintf(out, outsz, "%s/results/failure.%s", s->dir, pref[i]);
		if (np_exists(out) && !np_is_dir(out))
			return 1;
	}
	return 0;
}

/* First readable instance of the original study under dir/dicom. */
static int find_original(const char *path, char *out, size_t outsz, int depth)
{
	if (depth > 6)
		return 0;
	char **names = list_dir(path);
	int found = 0;
	for (size_t i = 0; names && names[i] && !found; i++) {
		char p[PATH_MAX];
		if (names[i][0] == '.' || snprintf(p, sizeof p, "%s/%s", path, names[i]) >= (int)sizeof p)
			continue;
		if (np_is_dir(p)) {
			found = find_original(p, out, outsz, depth + 1);
			continue;
		}
		struct np_dcm *d = np_dcm_open(p, NP_DCM_HEADER_ONLY, NULL);
		char uid[80];
		if (d && np_dcm_get(d, "0020,000D", uid, sizeof uid) == 1 && *uid) {
			snprintf(out, outsz, "%s", p);
			found = 1;
		}
		np_dcm_close(d);
	}
	free_list(names);
	return found;
}

static void copy_str(char *out, size_t outsz, const char *s)
{
	snprintf(out, outsz, "%s", s ? s : "");
}

static int study_load(struct study *s, const char *dir, struct np_err *err)
{
	memset(s, 0, sizeof *s);
	s->dir = dir;
	const char *base = strrchr(dir, '/');
	copy_str(s->npuid, sizeof s->npuid, base ? base + 1 : dir);
	/* The state is the folder the study sits in (or <state>/.work). */
	char parent[PATH_MAX];
	copy_str(parent, sizeof parent, dir);
	char *sl = strrchr(parent, '/');
	if (sl) {
		*sl = 0;
		if ((sl = strrchr(parent, '/')) && !strcmp(sl + 1, ".work")) {
			*sl = 0;
			sl = strrchr(parent, '/');
		}
		copy_str(s->state, sizeof s->state, sl ? sl + 1 : parent);
	}
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/order.json", dir);
	json_t *order = np_exists(p) ? np_json_load(p, 1 << 20, NULL) : NULL;
	const char *oid = np_json_str(order, "order_id", NULL);
	if (!oid)
		oid = np_json_str(order, "orderId", "");
	copy_str(s->order_id, sizeof s->order_id, oid);
	copy_str(s->status, sizeof s->status, np_json_str(order, "status", ""));
	const char *prod = np_json_str(order, "product", NULL);
	if (!prod)
		prod = np_json_str(order, "products.0", NULL);
	json_t *manifest = np_study_load(dir, NULL);
	if (!prod)
		prod = np_json_str(manifest, "products.0", "");
	copy_str(s->product, sizeof s->product, prod);
	copy_str(s->study_name, sizeof s->study_name, np_json_str(manifest, "study_name", ""));
	const char *acc = np_json_str(manifest, "study.accession_number", NULL);
	copy_str(s->accession, sizeof s->accession, acc ? acc : np_json_str(manifest, "study.accession", ""));
	json_decref(order);
	json_decref(manifest);
	if (!*s->accession) {
		/* Not in the manifest (e.g. an older np-stable): the original header. */
		char src[PATH_MAX], dcmdir[PATH_MAX];
		snprintf(dcmdir, sizeof dcmdir, "%s/dicom", dir);
		struct np_dcm *d =
		    find_original(dcmdir, src, sizeof src, 0) ? np_dcm_open(src, NP_DCM_HEADER_ONLY, NULL) : NULL;
		if (d)
			np_dcm_get(d, "0008,0050", s->accession, sizeof s->accession);
		np_dcm_close(d);
	}

	if (find_result(s, "json", s->results_json, sizeof s->results_json))
		s->results = np_json_load(s->results_json, 16 << 20, NULL);
	char pdf[PATH_MAX];
	int have_report = find_result(s, "pdf", pdf, sizeof pdf) || *s->results_json;
	if (!have_report) {
		if (!find_failure(s, NULL, s->failure, sizeof s->failure))
			return np_err_set(err, NP_ERR_PERM, "no results to deliver");
		s->failure_kind = 1;
	}
	if (!*s->product)
		copy_str(s->product, sizeof s->product, np_json_str(s->results, "product", ""));
	const char *date = np_json_str(s->results, "date", NULL);
	if (date && strlen(date) >= 8) {
		copy_str(s->date, sizeof s->date, date);
	} else {
		time_t now = (time_t)np_now();
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof s->date, "%Y-%m-%d", &tm);
	}
	return 0;
}

static void study_free(struct study *s)
{
	json_decref(s->results);
}

/* ---- DICOM result objects ---- */

static const struct {
	const char *key, *code, *meaning;
} scores[] = {
    {"Atypical", "NPX-ATYP", "Atypical Parkinsonism score"},
    {"PSPvsMSAp", "NPX-PSPMSA", "MSAp versus PSP score"},
    {"FWpSN", "NPX-FWPSN", "Free water, posterior substantia nigra"},
    {"FWPutamen", "NPX-FWPUT", "Free water, putamen"},
    {"FWSCP", "NPX-FWSCP", "Free water, superior cerebellar peduncle"},
    {"FWMCP", "NPX-FWMCP", "Free water, middle cerebellar peduncle"},
};

/* A result value: {"value": x} or a number or a numeric string. */
static int result_value(json_t *results, const char *key, double *out)
{
	json_t *v = json_object_get(results, key);
	if (json_is_object(v))
		v = json_object_get(v, "value");
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (json_is_string(v)) {
		char *end;
		*out = strtod(json_string_value(v), &end);
		return end != json_string_value(v) && *end == 0;
	}
	return 0;
}

#define MAX_SR_ITEMS 48

static size_t sr_items(const struct study *s, struct np_dcm_sr_item *it, char texts[][160])
{
	size_t n = 0, nt = 0;
	json_t *res = json_object_get(s->results, "results");
	if (!res)
		res = json_object_get(s->results, "result");
#define TEXT(cv, cm, str)                                                                                              \
	do {                                                                                                           \
		copy_str(texts[nt], 160, str);                                                                         \
		it[n++] =                                                                                              \
		    (struct np_dcm_sr_item){NP_DCM_SR_TEXT, cv, "99NPACS", cm, texts[nt++], 0, NULL, NULL, NULL};      \
	} while (0)
	const char *notice = np_json_str(s->results, "notice", "");
	if (*notice)
		TEXT("NPX-NOTICE", "Notice", notice);
	if (*s->order_id)
		TEXT("NPX-REQ", "Request ID", s->order_id);
	TEXT("NPX-DATE", "Submission date", s->date);
	if (*s->product)
		TEXT("NPX-PROD", "Processing type", s->product);
	const char *model = np_json_str(s->results, "model_version", NULL);
	if (model)
		TEXT("NPX-MODEL", "Model version", model);
	double atyp = NAN, v;
	for (size_t i = 0; i < sizeof scores / sizeof scores[0] && n < MAX_SR_ITEMS - 6; i++) {
		if (!result_value(res, scores[i].key, &v))
			continue;
		it[n++] = (struct np_dcm_sr_item){NP_DCM_SR_NUM, scores[i].code, "99NPACS", scores[i].meaning, NULL, v,
						  NULL,		 NULL,		 NULL};
		if (i == 0) {
			atyp = v;
			it[n] = (struct np_dcm_sr_item){NP_DCM_SR_TEXT,
							"121071",
							"DCM",
							"Finding",
							v >= 0.5 ? "The result indicates that there is evidence of "
								   "Atypical Parkinsonism."
								 : "The result indicates that there is no evidence of "
								   "Atypical Parkinsonism.",
							0,
							NULL,
							NULL,
							NULL};
			n++;
		}
		if (i == 1 && atyp >= 0.5) {
			it[n] = (struct np_dcm_sr_item){NP_DCM_SR_TEXT,
							"121071",
							"DCM",
							"Finding",
							v >= 0.5 ? "The result indicates PSP rather than MSAp."
								 : "The result indicates MSAp rather than PSP.",
							0,
							NULL,
							NULL,
							NULL};
			n++;
		}
	}
	if (!*notice) /* else the notice (first item) says where it came from */
		it[n++] = (struct np_dcm_sr_item){
		    NP_DCM_SR_TEXT, "121106", "DCM", "Comment", "Result produced by neuropacs\xe2\x84\xa2.", 0,
		    NULL,	    NULL,     NULL};
	it[n++] = (struct np_dcm_sr_item){NP_DCM_SR_TEXT,
					  "121106",
					  "DCM",
					  "Comment",
					  "Patient management decisions should not be made solely on the basis of "
					  "analysis by neuropacs\xe2\x84\xa2.",
					  0,
					  NULL,
					  NULL,
					  NULL};
	it[n++] = (struct np_dcm_sr_item){NP_DCM_SR_TEXT, "121106", "DCM", "Comment", "Not for clinical use.", 0,
					  NULL,		  NULL,	    NULL};
#undef TEXT
	return n;
}

/* dir/delivery/report_{pdf,sr}.dcm, built once so that every resend carries
 * the same SOP Instance UID (a PACS sees a duplicate, not a conflict). */
static int dicom_object(const struct study *s, int sr, json_t *state, char *out, size_t outsz, struct np_err *err)
{
	char ddir[PATH_MAX];
	snprintf(ddir, sizeof ddir, "%s/delivery", s->dir);
	snprintf(out, outsz, "%s/%s", ddir, sr ? "report_sr.dcm" : "report_pdf.dcm");
	if (np_exists(out))
		return 0;
	char src[PATH_MAX], dcmdir[PATH_MAX];
	snprintf(dcmdir, sizeof dcmdir, "%s/dicom", s->dir);
	if (!find_original(dcmdir, src, sizeof src, 0))
		return np_err_set(err, NP_ERR_PERM, "no original DICOM instance to file the result into");
	if (np_mkdirs(ddir, 0750, err) < 0)
		return -1;
	char sop[65], series[65];
	if (np_dcm_uid_new(sop, err) < 0 || np_dcm_uid_new(series, err) < 0)
		return -1;
	struct np_dcm_result_info info = {sop,
					  series,
					  sr ? SR_SERIES : PDF_SERIES,
					  sr ? "neuropacs results" : "neuropacs report",
					  "neuropacs report",
					  "neuropacs",
					  "neuropacs-agent " NP_VERSION};
	int rc;
	if (sr) {
		if (!s->results)
			return np_err_set(err, NP_ERR_PERM, "no results JSON to build the SR from");
		struct np_dcm_sr_item items[MAX_SR_ITEMS];
		char texts[8][160];
		size_t n = sr_items(s, items, texts);
		rc = np_dcm_build_sr(src, &info, items, n, out, err);
	} else {
		char pdf[PATH_MAX];
		if (!find_result(s, "pdf", pdf, sizeof pdf))
			return np_err_set(err, NP_ERR_PERM, "no report.pdf to encapsulate");
		size_t len;
		char *data = np_read_file(pdf, 256u << 20, &len, err);
		if (!data)
			return -1;
		rc = np_dcm_build_pdf(src, &info, data, len, out, err);
		free(data);
	}
	if (rc == 0) {
		json_t *objs = json_object_get(state, "objects");
		if (!json_is_object(objs))
			json_object_set_new(state, "objects", objs = json_object());
		json_object_set_new(objs, sr ? "sr" : "pdf",
				    json_pack("{s:s, s:s, s:s}", "file",
					      sr ? "delivery/report_sr.dcm" : "delivery/report_pdf.dcm",
					      "sop_instance_uid", sop, "series_instance_uid", series));
	}
	return rc;
}

/* ---- deliveries.json ---- */

static void dest_key(json_t *dest, char *out, size_t outsz)
{
	const char *type = np_json_str(dest, "type", "none");
	if (!strncmp(type, "dicom", 5))
		snprintf(out, outsz, "%s|%s|%lld|%s|%d", type, np_json_str(dest, "host", ""),
			 np_json_int(dest, "port", 0), np_json_str(dest, "ae_title", ""), np_json_bool(dest, "tls", 0));
	else if (!strcmp(type, "rest"))
		snprintf(out, outsz, "%s|%s|%s", type, np_json_str(dest, "method", ""), np_json_str(dest, "url", ""));
	else if (!strcmp(type, "email"))
		snprintf(out, outsz, "%s|%s|%s", type, np_json_str(dest, "recipients", ""),
			 np_json_str(dest, "format", ""));
	else
		snprintf(out, outsz, "%s", type);
}

static json_t *entry_new(size_t index, json_t *dest, const char *key)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:f, s:n, s:n, s:n}", "index", (json_int_t)index, "type",
			 np_json_str(dest, "type", "none"), "name", np_json_str(dest, "name", ""), "key", key, "state",
			 "pending", "attempts", 0, "next_attempt", 0.0, "last_attempt_at", "sent_at", "error");
}

static double jitter(void)
{
	uint32_t r = 0;
	if (np_random(&r, sizeof r, NULL) < 0)
		return 0.5;
	return r / 4294967296.0;
}

static void iso_now(char out[32])
{
	np_time_iso_at((time_t)np_now(), out);
}

static void record_event(struct np_db **db, const char *home, const char *npuid, const char *type, const char *level,
			 const char *detail)
{
	struct np_err err = {0};
	if (!*db)
		*db = np_index_open(home, &err);
	if (!*db || np_db_event(*db, npuid, type, level, detail, &err) < 0)
		np_log_err(npuid, &err);
}

static const char *dest_secret_key(const struct study *s, size_t i, char *buf, size_t sz)
{
	if (s->failure_kind)
		return "failure_delivery.password";
	snprintf(buf, sz, "delivery.destinations.%zu.password", i);
	return buf;
}

/* Prepare and send one destination once. Returns 0 sent, -1 with err, -2
 * with a permanent err of the study itself (no original DICOM instance to
 * build the object from): no attempt can succeed. */
static int attempt(const struct np_config *cfg, struct study *s, size_t i, json_t *dest, json_t *state,
		   struct np_err *err)
{
	const char *type = np_json_str(dest, "type", "none");
	const char *fmt = np_json_str(dest, "format", "pdf");
	const char *ext = fmt;
	char file[PATH_MAX] = "", dcm[PATH_MAX] = "", fname[160], secret_buf[96];
	struct np_deliver_item item = {0};
	if (!strcmp(type, "dicom_pdf") || !strcmp(type, "dicom_sr")) {
		if (s->failure_kind)
			return np_err_set(err, NP_ERR_PERM, "failure reports cannot be sent as DICOM");
		if (dicom_object(s, !strcmp(type, "dicom_sr"), state, dcm, sizeof dcm, err) < 0)
			return err->cls == NP_ERR_PERM ? -2 : -1;
		item.dicom_file = dcm;
	} else if (strcmp(type, "none")) {
		int found =
		    s->failure_kind ? find_failure(s, fmt, file, sizeof file) : find_result(s, ext, file, sizeof file);
		if (!found)
			return np_err_set(err, NP_ERR_PERM, "no %s %s in results/",
					  s->failure_kind ? "failure report" : "report", fmt);
		ext = ext_of(file);
		item.file = file;
		item.content_type = content_type_of(ext);
	}
	snprintf(fname, sizeof fname, "neuropacs-%s%s.%s", *s->order_id ? s->order_id : s->npuid,
		 s->failure_kind ? "-failure" : "", ext);
	item.filename = fname;
	int ids = np_json_bool(dest, "include_identifiers", 0);
	const struct np_tpl_var vars[] = {
	    {"npuid", s->npuid},
	    {"order_id", s->order_id},
	    {"product", s->product},
	    {"status", *s->status	 ? s->status
		       : s->failure_kind ? "Failed"
					 : "Completed"},
	    {"state", s->state},
	    {"date", s->date},
	    {"format", ext},
	    {"filename", fname},
	    {"agent", np_config_str(cfg, "dicom.ae_title")},
	    {"accession", ids ? s->accession : ""},
	    {"study_name", ids ? s->study_name : ""},
	};
	item.vars = vars;
	item.nvars = sizeof vars / sizeof vars[0];
	item.notice = s->failure_kind ? NULL : np_json_str(s->results, "notice", NULL);
	return np_deliver_send(cfg, dest, dest_secret_key(s, i, secret_buf, sizeof secret_buf), &item, err);
}

/* Destinations in an array get no defaults from the settings merge: fill
 * them from the schema's definitions/destination. New reference. */
static json_t *with_defaults(json_t *dest)
{
	json_t *d = np_schema_defaults(np_json_path(np_config_schema(), "definitions.destination"));
	if (d && json_is_object(dest))
		np_json_merge(d, dest);
	return d;
}

static int save_state(const char *path, json_t *state, struct np_err *err)
{
	return np_json_save(path, state, 0640, err);
}

int np_deliver_study(const char *home, const char *dir, int only, int flags, int *failed, struct np_err *err)
{
	if (failed)
		*failed = 0;
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	struct study s;
	int rc = -1, lockfd = -1;
	struct np_db *db = NULL;
	json_t *state = NULL, *dests = NULL;
	if (study_load(&s, dir, err) < 0)
		goto out;
	if ((flags & NP_DELIVER_FAILURE) && !s.failure_kind) {
		if (!find_failure(&s, NULL, s.failure, sizeof s.failure)) {
			np_err_set(err, NP_ERR_PERM, "no failure report to deliver");
			goto out;
		}
		s.failure_kind = 1;
	}
	char lockp[PATH_MAX], path[PATH_MAX];
	snprintf(lockp, sizeof lockp, "%s/.deliver.lock", dir);
	snprintf(path, sizeof path, "%s/deliveries.json", dir);
	lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lockfd < 0) {
		np_err_sys(err, errno, "unable to open %s", lockp);
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		np_err_set(err, NP_ERR_TEMP, "another delivery of this study is running");
		goto out;
	}
	if (s.failure_kind) {
		dests = json_array();
		json_array_append(dests, np_config_get(&cfg, "failure_delivery"));
	} else {
		dests = json_array();
		size_t i;
		json_t *d;
		json_array_foreach (np_config_get(&cfg, "delivery.destinations"), i, d)
			json_array_append_new(dests, with_defaults(d));
	}
	if (!dests) {
		np_err_sys(err, ENOMEM, "unable to read the destinations");
		goto out;
	}
	size_t ndest = json_array_size(dests);
	if (only >= 0 && (size_t)only >= ndest) {
		np_err_set(err, NP_ERR_PERM, "there is no destination %d", only);
		goto out;
	}
	const char *kind = s.failure_kind ? "failure" : "results";
	state = np_exists(path) ? np_json_load(path, 4 << 20, err) : json_object();
	if (!state)
		goto out;
	if (!json_is_object(state) || strcmp(np_json_str(state, "kind", kind), kind)) {
		json_decref(state);
		state = json_object();
	}
	json_object_set_new(state, "kind", json_string(kind));
	json_t *old = json_object_get(state, "destinations");
	json_t *entries = json_array();
	int nreset = 0;
	for (size_t i = 0; i < ndest; i++) {
		json_t *dest = json_array_get(dests, i);
		char key[1024];
		dest_key(dest, key, sizeof key);
		json_t *e = json_array_get(old, i);
		const char *est = np_json_str(e, "state", "pending");
		int done = e && (!strcmp(est, "sent") || !strcmp(est, "skipped") || !strcmp(est, "failed"));
		if ((flags & NP_DELIVER_RETRY) && (!e || done)) {
			/* The retry pass of a finished study only goes on with the
			 * destinations a resend left waiting: one added or changed
			 * since is not sent an old study on its own. */
			if (!e)
				break;
			json_array_append(entries, e);
			continue;
		}
		/* A resend forgets what did not go out; one that was delivered is
		 * sent again only when asked for by its index (no duplicates). */
		int chosen = (flags & NP_DELIVER_RESEND) && (only < 0 || (size_t)only == i) &&
			     (only >= 0 || !e || (strcmp(est, "sent") && strcmp(est, "skipped")));
		int reset = !e || strcmp(np_json_str(e, "key", ""), key) || chosen;
		nreset += reset;
		json_array_append_new(entries, reset ? entry_new(i, dest, key) : json_incref(e));
	}
	if (flags & NP_DELIVER_RETRY)
		ndest = json_array_size(entries);
	json_object_set_new(state, "destinations", entries);
	if ((flags & NP_DELIVER_RESEND) && nreset)
		json_object_set_new(state, "delivered_event", json_false());
	struct np_retry rt;
	np_retry_settings(&cfg, &rt);
	/* np-queue's last try of its window: decide every destination now. */
	const char *lt = getenv("NP_QUEUE_LAST_TRY");
	const int last_try = lt && !strcmp(lt, "1") && !(flags & NP_DELIVER_RESEND);
	double due = 0; /* earliest next attempt of a waiting destination */
	char waiting[400] = "";
	int remaining = 0, nfailed = 0, nsent = 0;
	struct np_err study_err = {0};
	for (size_t i = 0; i < ndest; i++) {
		json_t *e = json_array_get(entries, i), *dest = json_array_get(dests, i);
		if (np_study_ops_stopping(home, s.npuid)) {
			/* Cancelled or deleted meanwhile (np_study_ops): send nothing more. */
			np_err_set(err, NP_ERR_PERM, "the study was cancelled; nothing more is delivered");
			goto out;
		}
		const char *st = np_json_str(e, "state", "pending");
		const char *type = np_json_str(dest, "type", "none");
		if (!strcmp(st, "sent") || !strcmp(st, "skipped")) {
			nsent++;
			continue;
		}
		if (!strcmp(st, "failed")) {
			nfailed++;
			continue;
		}
		if (only >= 0 && (size_t)only != i) {
			remaining++;
			continue;
		}
		if (!strcmp(type, "none")) {
			json_object_set_new(e, "state", json_string("skipped"));
			nsent++;
			continue;
		}
		double na = json_number_value(json_object_get(e, "next_attempt"));
		if (na > np_now() && !last_try) {
			remaining++;
			if (!due || na < due)
				due = na;
			if (!waiting[0])
				snprintf(waiting, sizeof waiting, "destination %zu (%s): %s", i + 1, type,
					 np_json_str(e, "error", "not sent yet"));
			continue;
		}
		/* One attempt now; a temporary failure waits for its turn on the
		 * retry.* schedule (np-queue, or np-deliver --failures for a
		 * finished study), a resend included. */
		{
			int pending = 0;
			char now[32];
			iso_now(now);
			int attempts = (int)np_json_int(e, "attempts", 0) + 1;
			json_object_set_new(e, "attempts", json_integer(attempts));
			json_object_set_new(e, "state", json_string("sending"));
			json_object_set_new(e, "last_attempt_at", json_string(now));
			if (save_state(path, state, err) < 0)
				goto out;
			np_crash_point("deliver_before_send");
			struct np_err se = {0};
			double t0 = np_mono(), began = np_now();
			int ar = attempt(&cfg, &s, i, dest, state, &se);
			if (ar == -2) {
				/* A permanent condition of the study: failed now,
				 * without retries, and the exit says so. */
				json_object_set_new(e, "error", json_string(se.msg));
				json_object_set_new(e, "state", json_string("failed"));
				char detail[640];
				snprintf(detail, sizeof detail, "report dest=%zu type=%s: %s", i, type, se.msg);
				record_event(&db, home, s.npuid, "report_delivery_failed", "error", detail);
				if (!study_err.msg[0])
					study_err = se;
				nfailed++;
			} else if (ar == 0) {
				iso_now(now);
				json_object_set_new(e, "state", json_string("sent"));
				json_object_set_new(e, "sent_at", json_string(now));
				json_object_set_new(e, "error", json_null());
				json_object_del(e, "failing_since");
				json_object_del(e, "error_class");
				np_info(s.npuid, "delivered dest=%zu type=%s attempt=%d ms=%.0f", i, type, attempts,
					(np_mono() - t0) * 1000);
				nsent++;
			} else {
				json_object_set_new(e, "error", json_string(se.msg));
				json_object_set_new(e, "error_class",
						    json_string(se.cls == NP_ERR_PERM ? "permanent" : "temporary"));
				/* A temporary failure waits on the retry.* schedule from
				 * the first one (a resend starts a new window); a
				 * permanent answer fails the destination at once. */
				double since = json_number_value(json_object_get(e, "failing_since"));
				if (since <= 0 || se.cls == NP_ERR_PERM) {
					since = began;
					json_object_set_new(e, "failing_since", json_real(since));
				}
				double now_w = np_now();
				char why[160] = "";
				if (se.cls == NP_ERR_PERM)
					snprintf(why, sizeof why, "permanent error");
				else if (last_try || now_w - since >= rt.give_up)
					snprintf(
					    why, sizeof why,
					    "gave up after %.0f s of temporary failures (retry.give_up_seconds=%.0f)",
					    now_w - since, rt.give_up);
				char detail[800];
				if (why[0]) {
					json_object_set_new(e, "state", json_string("failed"));
					np_error(s.npuid, "delivery failed dest=%zu type=%s attempts=%d %s: %s", i,
						 type, attempts, why, se.msg);
					snprintf(detail, sizeof detail, "%s dest=%zu type=%s attempts=%d: %s: %s",
						 s.failure_kind ? "failure report" : "report", i, type, attempts, why,
						 se.msg);
					record_event(&db, home, s.npuid, "report_delivery_failed", "error", detail);
					nfailed++;
				} else {
					double next = now_w + np_queue_backoff(rt.initial, rt.max, attempts, jitter());
					if (next > since + rt.give_up)
						next = since + rt.give_up; /* the last try at the end of the window */
					json_object_set_new(e, "state", json_string("pending"));
					json_object_set_new(e, "next_attempt", json_real(next));
					np_warn(s.npuid,
						"delivery attempt failed dest=%zu type=%s attempt=%d, waiting: %s", i,
						type, attempts, se.msg);
					if (!due || next < due)
						due = next;
					if (!waiting[0])
						snprintf(waiting, sizeof waiting, "destination %zu (%s): %s", i + 1,
							 type, se.msg);
					pending = 1;
				}
			}
			if (save_state(path, state, err) < 0)
				goto out;
			remaining += pending;
		}
	}
	if (!remaining && !nfailed && !s.failure_kind && !np_json_bool(state, "delivered_event", 0)) {
		char detail[64];
		snprintf(detail, sizeof detail, "destinations=%d", nsent);
		record_event(&db, home, s.npuid, "report_delivered", "info", detail);
		json_object_set_new(state, "delivered_event", json_true());
	}
	if (save_state(path, state, err) < 0)
		goto out;
	if (failed)
		*failed = nfailed;
	rc = remaining ? 1 : 0;
	if (remaining) {
		/* np-queue runs the study again when the first destination is due
		 * and shows why it waits (nothing when not run by np-queue). */
		struct np_err ne = {0};
		if (np_queue_note(dir, waiting[0] ? waiting : "a destination is waiting", due, &ne) < 0)
			np_log_err(s.npuid, &ne);
	}
	if (study_err.msg[0]) {
		if (err)
			*err = study_err;
		rc = -1;
	}
out:
	if (lockfd >= 0)
		close(lockfd);
	np_db_close(db);
	json_decref(state);
	json_decref(dests);
	study_free(&s);
	np_config_free(&cfg);
	return rc;
}

/* ---- failure reports of failed/ studies, waiting destinations of done/ ones ---- */

struct failures_ctx {
	int count, remaining;
};

static int unfinished(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/deliveries.json", dir);
	if (!np_exists(p))
		return 1;
	json_t *st = np_json_load(p, 4 << 20, NULL);
	size_t i;
	json_t *e;
	int pending = 0;
	json_array_foreach (json_object_get(st, "destinations"), i, e) {
		const char *state = np_json_str(e, "state", "");
		pending |= !strcmp(state, "pending") || !strcmp(state, "sending");
	}
	json_decref(st);
	return pending;
}

/* One study of the retry pass: deliver what waits (flags), and note whether
 * something is left for a later pass (a permanent refusal is not). */
static int retry_one(const char *home, const char *id, const char *dir, int flags, struct failures_ctx *ctx)
{
	struct np_err err = {0};
	int failed = 0;
	ctx->count++;
	int rc = np_deliver_study(home, dir, -1, flags, &failed, &err);
	if (rc < 0)
		np_log_err(id, &err);
	if (rc != 0 && !(rc < 0 && err.cls == NP_ERR_PERM))
		ctx->remaining = 1;
	return 0;
}

static int failure_one(const char *home, const char *state, const char *id, const char *dir, void *vctx)
{
	(void)state;
	struct failures_ctx *ctx = vctx;
	struct study s;
	memset(&s, 0, sizeof s);
	s.dir = dir;
	char f[PATH_MAX];
	if (!find_failure(&s, NULL, f, sizeof f) || !unfinished(dir))
		return 0;
	return retry_one(home, id, dir, NP_DELIVER_FAILURE, ctx);
}

/* A finished study (done/) whose results have a destination waiting: one a
 * resend could not deliver at once. No queue runs done/, so this pass goes
 * on with them on the retry.* schedule. Studies without deliveries.json or
 * with nothing pending are left alone (a stat and a small read each). */
static int waiting_one(const char *home, const char *state, const char *id, const char *dir, void *vctx)
{
	(void)state;
	struct failures_ctx *ctx = vctx;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/deliveries.json", dir);
	if (!np_exists(p) || !unfinished(dir))
		return 0;
	return retry_one(home, id, dir, NP_DELIVER_RETRY, ctx);
}

int np_deliver_failures(const char *home, int *count, struct np_err *err)
{
	struct failures_ctx ctx = {0, 0};
	int rc = np_spool_each(home, "failed", failure_one, &ctx, err);
	if (rc == 0)
		rc = np_spool_each(home, "done", waiting_one, &ctx, err);
	if (count)
		*count = ctx.count;
	if (rc < 0)
		return -1;
	return ctx.remaining;
}

/* ---- Test Delivery ---- */

/* A one-page PDF saying "neuropacs-agent test delivery" (valid xref). */
static size_t test_pdf(char *out, size_t outsz)
{
	static const char *const obj[] = {
	    "<< /Type /Catalog /Pages 2 0 R >>",
	    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
	    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
	    "/Contents 5 0 R >>",
	    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	    "<< /Length 60 >>\nstream\nBT /F1 18 Tf 72 720 Td (neuropacs-agent test delivery) Tj ET\nendstream",
	};
	size_t n = (size_t)snprintf(out, outsz, "%%PDF-1.4\n");
	size_t off[5];
	for (int i = 0; i < 5; i++) {
		off[i] = n;
		n += (size_t)snprintf(out + n, outsz - n, "%d 0 obj\n%s\nendobj\n", i + 1, obj[i]);
	}
	size_t xref = n;
	n += (size_t)snprintf(out + n, outsz - n, "xref\n0 6\n0000000000 65535 f \n");
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%010zu 00000 n \n", off[i]);
	n +=
	    (size_t)snprintf(out + n, outsz - n, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
	return n;
}

int np_deliver_test(const char *home, const char *which, char *msg, size_t msgsz, struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	char path[64], secret[96];
	const char *skey;
	if (!strcmp(which, "failure")) {
		snprintf(path, sizeof path, "failure_delivery");
		skey = "failure_delivery.password";
	} else if (!strcmp(which, "group")) {
		snprintf(path, sizeof path, "groups.delivery");
		skey = "groups.delivery.password";
	} else {
		char *end;
		long i = strtol(which, &end, 10);
		if (end == which || *end || i < 0 || i > 4) {
			np_config_free(&cfg);
			return np_err_set(err, NP_ERR_PERM, "unknown destination %s (0-4, failure or group)", which);
		}
		snprintf(path, sizeof path, "delivery.destinations.%ld", i);
		snprintf(secret, sizeof secret, "%s.password", path);
		skey = secret;
	}
	json_t *dest = json_deep_copy(np_config_get(&cfg, path));
	if (json_is_object(dest) && skey == secret) {
		json_t *full = with_defaults(dest);
		json_decref(dest);
		dest = full;
	}
	int rc = -1;
	const char *type = np_json_str(dest, "type", "none");
	/* named as the Settings page shows it: destinations count from 1 */
	char label[200];
	const char *name = np_json_str(dest, "name", "");
	if (skey == secret)
		snprintf(label, sizeof label, "destination %d%s%s%s", atoi(which) + 1, *name ? " \"" : "", name,
			 *name ? "\"" : "");
	else
		snprintf(label, sizeof label, "the %s report delivery", which);
	if (!json_is_object(dest)) {
		np_err_set(err, NP_ERR_PERM, "%s is not configured", label);
	} else if (!strcmp(type, "none")) {
		snprintf(msg, msgsz, "%s is None: reports stay for manual download", label);
		rc = 0;
	} else if (!strncmp(type, "dicom", 5)) {
		rc = np_deliver_echo(&cfg, dest, err);
		if (rc == 0)
			snprintf(msg, msgsz,
				 "%s: C-ECHO to %s:%lld (%s) succeeded (a DICOM destination is tested by a "
				 "connection, no report is sent)",
				 label, np_json_str(dest, "host", ""), np_json_int(dest, "port", 0),
				 np_json_str(dest, "ae_title", ""));
	} else {
		char tmp[PATH_MAX], pdf[2048], fname[64];
		size_t len = test_pdf(pdf, sizeof pdf);
		char id[37];
		snprintf(tmp, sizeof tmp, "%s/spool/tmp", home);
		if (np_mkdirs(tmp, 0750, err) == 0 && np_uuid4(id, err) == 0) {
			snprintf(tmp, sizeof tmp, "%s/spool/tmp/test-delivery-%s.pdf", home, id);
			snprintf(fname, sizeof fname, "neuropacs-test.pdf");
			if (np_write_atomic(tmp, pdf, len, 0640, err) == 0) {
				char date[32];
				iso_now(date);
				date[10] = 0;
				const struct np_tpl_var vars[] = {
				    {"npuid", "00000000-0000-4000-8000-000000000000"},
				    {"order_id", "test"},
				    {"product", "test"},
				    {"status", "Test"},
				    {"state", "test"},
				    {"date", date},
				    {"format", "pdf"},
				    {"filename", fname},
				    {"agent", np_config_str(&cfg, "dicom.ae_title")},
				};
				struct np_deliver_item item = {
				    tmp, fname, "application/pdf", NULL, vars, sizeof vars / sizeof vars[0], NULL};
				rc = np_deliver_send(&cfg, dest, skey, &item, err);
				unlink(tmp);
				if (rc == 0)
					snprintf(msg, msgsz, "test report sent to %s (%s)", label, type);
			}
		}
	}
	json_decref(dest);
	np_config_free(&cfg);
	return rc;
}
