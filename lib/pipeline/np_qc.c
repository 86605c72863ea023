// SPDX-License-Identifier: Apache-2.0
#include "np_qc.h"

#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_meta.h"
#include "np_paths.h"
#include "np_scan.h"
#include "np_spool.h"
#include "np_study.h"
#include "np_util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *np_qc_rules(const char *home, struct np_err *err)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/etc/qc-ifu.json", home ? home : ".");
	if (!home || !np_exists(p)) {
		if (np_paths_etc(p, sizeof p, "qc-ifu.json", err) < 0)
			return NULL;
	}
	json_t *r = np_json_load(p, 1 << 20, err);
	if (r && !json_is_object(r)) {
		json_decref(r);
		np_err_set(err, NP_ERR_PERM, "%s: the QC rules must be a JSON object", p);
		return NULL;
	}
	return r;
}

/* ---- report building ---- */

struct text {
	char buf[4096];
	size_t n;
};

static void say(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct text *t, const char *fmt, ...)
{
	if (t->n >= sizeof t->buf - 1)
		return;
	if (t->n) {
		int k = snprintf(t->buf + t->n, sizeof t->buf - t->n, "; ");
		t->n += (size_t)k < sizeof t->buf - t->n ? (size_t)k : sizeof t->buf - t->n - 1;
	}
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		t->n += (size_t)k < sizeof t->buf - t->n ? (size_t)k : sizeof t->buf - t->n - 1;
}

static void check(json_t *checks, const char *id, const char *title, const char *status, const char *details)
{
	json_array_append_new(
	    checks, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "title", title, "status", status, "details", details));
}

static const char *s_or(json_t *o, const char *k, const char *d)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v && *v ? v : d;
}

static void series_label(json_t *s, char *out, size_t outsz)
{
	json_t *num = json_object_get(s, "number");
	if (json_is_integer(num))
		snprintf(out, outsz, "series %lld \"%s\"", (long long)json_integer_value(num),
			 s_or(s, "description", ""));
	else
		snprintf(out, outsz, "series \"%s\"", s_or(s, "description", ""));
}

/* A diffusion series has at least one diffusion-weighted (b > 0) volume.
 * np_scan reads b-values from the standard attributes and from vendor
 * private elements under their creators; a b0-only series, or one that is
 * only described or typed as diffusion, is not one. */
static int is_diffusion(json_t *s)
{
	size_t i;
	json_t *b;
	json_array_foreach (np_json_path(s, "diffusion.b_values"), i, b)
		if (json_number_value(b) > 0)
			return 1;
	return 0;
}

static void join_strings(json_t *a, char *out, size_t outsz, const char *sep)
{
	size_t i;
	json_t *v;
	out[0] = 0;
	json_array_foreach (a, i, v) {
		size_t l = strlen(out);
		if (json_is_string(v))
			snprintf(out + l, outsz - l, "%s%s", l ? sep : "", json_string_value(v));
		else if (json_is_number(v))
			snprintf(out + l, outsz - l, "%s%.0f", l ? sep : "", json_number_value(v));
	}
}

static int matches(json_t *rule, const char *value)
{
	const char *mode = np_json_str(rule, "match", "exact");
	json_t *vals = json_object_get(rule, "values");
	size_t i;
	json_t *v;
	json_array_foreach (vals, i, v) {
		const char *want = json_string_value(v);
		if (!want)
			continue;
		if (!strcmp(mode, "iexact") ? !strcasecmp(want, value) : !strcmp(want, value))
			return 1;
	}
	return 0;
}

static const char *first_value(json_t *rule)
{
	return np_json_str(rule, "values.0", "");
}

/* ---- DICOM checks ---- */

static void check_mri(json_t *checks, json_t *m)
{
	struct text t = {0};
	int mr = 0;
	size_t i;
	json_t *s;
	json_array_foreach (json_object_get(m, "series"), i, s)
		mr += !strcmp(s_or(s, "modality", ""), "MR");
	if (np_json_int(m, "counts.instances", 0) == 0) {
		say(&t, "no readable DICOM instance in the study%s; resend it from the PACS",
		    np_json_int(m, "counts.dicomdir", 0) ? " (only a DICOMDIR, which indexes images but holds none)"
							 : "");
		check(checks, "mri_series", "MRI series present", "fail", t.buf);
		return;
	}
	if (mr) {
		say(&t, "%d MR series found", mr);
		long long dups = np_json_int(m, "counts.duplicates", 0);
		if (dups)
			say(&t, "%lld file(s) repeated the SOP Instance UID of another and were counted once", dups);
		check(checks, "mri_series", "MRI series present", "pass", t.buf);
		return;
	}
	char mods[256];
	join_strings(json_object_get(m, "modalities"), mods, sizeof mods, ", ");
	say(&t, "no MR series; modalities in the study: %s", *mods ? mods : "none given");
	say(&t, "send the brain MRI study with its DTI series");
	check(checks, "mri_series", "MRI series present", "fail", t.buf);
}

static void check_dwi(json_t *checks, json_t *m)
{
	struct text t = {0}, hints = {0};
	size_t i;
	json_t *s;
	char label[256], how[128], bv[128];
	json_array_foreach (json_object_get(m, "series"), i, s) {
		series_label(s, label, sizeof label);
		join_strings(np_json_path(s, "diffusion.indicators"), how, sizeof how, ", ");
		join_strings(np_json_path(s, "diffusion.b_values"), bv, sizeof bv, ",");
		if (is_diffusion(s))
			say(&t, "%s is diffusion-weighted (b=%s; %s)", label, bv, how);
		else if (*bv)
			say(&hints, "%s has b=0 volumes only", label);
		else if (*how)
			say(&hints, "%s looks like diffusion (%s) but has no b-value", label, how);
	}
	if (t.n) {
		check(checks, "dwi_present", "DTI/DWI series present", "pass", t.buf);
		return;
	}
	say(&hints, "no series has diffusion-weighted volumes (b > 0) in (0018,9087) or the MR Diffusion Sequence, "
		    "nor in the vendors' private elements (Siemens SIEMENS MR HEADER (0019,xx0C), GE GEMS_PARM_01 "
		    "(0043,xx39), Philips Imaging DD 001 (2001,xx03)); include the DTI series when sending");
	check(checks, "dwi_present", "DTI/DWI series present", "fail", hints.buf);
}

static void check_demographics(json_t *checks, json_t *m, const char *id, const char *title, int nifti)
{
	struct text t = {0};
	const char *age = np_json_str(m, "patient.age", NULL);
	const char *sex = np_json_str(m, "patient.sex", NULL);
	const char *where = nifti ? "give it in the upload form or the JSON sidecar (PatientAge)"
				  : "give it in the upload form, a JSON sidecar (PatientAge) or DICOM (0010,1010)";
	int bad = 0;
	if (!age) {
		bad = 1;
		say(&t, "patient age is %s; %s as NNNY (e.g. 045Y) or a number of years",
		    np_json_path(m, "patient.age_raw") ? "not valid" : "missing", where);
	}
	if (!sex) {
		bad = 1;
		say(&t, "patient sex is %s; give M or F (%s)",
		    np_json_path(m, "patient.sex_raw") ? "not valid" : "missing",
		    nifti ? "upload form or sidecar PatientSex"
			  : "upload form, sidecar PatientSex or DICOM (0010,0040)");
	}
	if (!bad)
		say(&t, "age %s and sex %s (age from %s, sex from %s)", age, sex,
		    np_json_str(m, "metadata_sources.age", "dicom"), np_json_str(m, "metadata_sources.sex", "dicom"));
	check(checks, id, title, bad ? "fail" : "pass", t.buf);
}

static void check_ifu(json_t *checks, json_t *m, json_t *rules)
{
	struct text t = {0};
	int bad = 0;
	json_t *sr = json_object_get(rules, "study_description");
	const char *sd = np_json_str(m, "study.description", "");
	if (sr && !matches(sr, sd)) {
		bad = 1;
		say(&t, "study description is \"%s\", expected exactly \"%s\"", sd, first_value(sr));
	}
	json_t *ser = json_object_get(rules, "series_description");
	if (ser) {
		int found = 0;
		size_t i;
		json_t *s;
		json_array_foreach (json_object_get(m, "series"), i, s)
			found |= matches(ser, s_or(s, "description", ""));
		if (!found) {
			bad = 1;
			char have[512] = "";
			json_array_foreach (json_object_get(m, "series"), i, s)
				if (is_diffusion(s)) {
					size_t l = strlen(have);
					snprintf(have + l, sizeof have - l, "%s\"%s\"", l ? ", " : "",
						 s_or(s, "description", ""));
				}
			say(&t, "no series described exactly \"%s\" (diffusion series found: %s)", first_value(ser),
			    *have ? have : "none");
		}
	}
	long long min_age = np_json_int(rules, "min_age_years", 0);
	int years = np_meta_age_years(np_json_str(m, "patient.age", ""));
	if (min_age > 0 && years >= 0 && years < min_age) {
		bad = 1;
		say(&t, "patient age %d years is below the IFU minimum of %lld", years, min_age);
	}
	if (!bad)
		say(&t, "study and series descriptions follow the IFU");
	check(checks, "ifu", "Instructions for Use (IFU) compliance", bad ? "fail" : "pass", t.buf);
}

static void check_lossless(json_t *checks, json_t *m, json_t *rules)
{
	struct text t = {0};
	json_t *ok = json_object_get(rules, "lossless_transfer_syntaxes");
	size_t i, j;
	json_t *s, *ts;
	char label[256];
	json_array_foreach (json_object_get(m, "series"), i, s) {
		series_label(s, label, sizeof label);
		json_array_foreach (json_object_get(s, "transfer_syntaxes"), j, ts) {
			int good = 0;
			size_t k;
			json_t *v;
			json_array_foreach (ok, k, v)
				good |= json_equal(v, ts);
			if (!good)
				say(&t, "%s uses transfer syntax %s, which is not lossless", label,
				    json_string_value(ts));
		}
		long long lossy = np_json_int(s, "lossy_flagged", 0);
		if (lossy)
			say(&t, "%s: %lld instance(s) have Lossy Image Compression (0028,2110) = 01", label, lossy);
	}
	if (t.n) {
		say(&t, "send the original, uncompressed or losslessly compressed images");
		check(checks, "lossless", "Lossless compression", "fail", t.buf);
	} else {
		check(checks, "lossless", "Lossless compression", "pass",
		      "every instance uses a lossless transfer syntax");
	}
}

/* Acquisition parameters of the technical specification: warnings only. */
static void acq_judge(struct text *t, const char *label, json_t *bvals, long long dirs, long long b0, json_t *rules)
{
	json_t *a = json_object_get(rules, "acquisition");
	double tol = (double)np_json_int(a, "b_value_tolerance", 50);
	size_t i, j;
	json_t *v, *w;
	json_array_foreach (bvals, i, v) {
		int ok = 0;
		json_array_foreach (json_object_get(a, "b_values"), j, w)
			ok |= fabs(json_number_value(v) - json_number_value(w)) <= tol;
		if (!ok)
			say(t, "%s has b-value %lld (expected one of the specification's b-values)", label,
			    (long long)json_number_value(v));
	}
	json_array_foreach (json_object_get(a, "b_values"), j, w) {
		int seen = 0;
		json_array_foreach (bvals, i, v)
			seen |= fabs(json_number_value(v) - json_number_value(w)) <= tol;
		if (!seen)
			say(t, "%s has no b=%lld volumes", label, (long long)json_number_value(w));
	}
	long long md = np_json_int(a, "min_directions", 0), mb = np_json_int(a, "min_b0_volumes", 0);
	if (dirs < md)
		say(t, "%s has %lld diffusion directions, the specification asks for at least %lld", label, dirs, md);
	if (b0 < mb)
		say(t, "%s has %lld b0 volume(s), the specification asks for at least %lld", label, b0, mb);
}

static void check_acq_dicom(json_t *checks, json_t *m, json_t *rules, int enabled)
{
	const char *id = "acquisition", *title = "Acquisition parameters (b-values, directions, b0 volumes)";
	if (!enabled) {
		check(checks, id, title, "skipped",
		      "acquisition warnings are off in the settings (qc.acquisition_warnings)");
		return;
	}
	struct text t = {0};
	size_t i;
	json_t *s;
	char label[256];
	int n = 0;
	json_array_foreach (json_object_get(m, "series"), i, s) {
		json_t *d = json_object_get(s, "diffusion");
		if (!json_array_size(json_object_get(d, "b_values")))
			continue;
		n++;
		series_label(s, label, sizeof label);
		acq_judge(&t, label, json_object_get(d, "b_values"), np_json_int(d, "directions", 0),
			  np_json_int(d, "b0_volumes", 0), rules);
	}
	if (!n)
		check(checks, id, title, "skipped", "no series with readable b-values");
	else
		check(checks, id, title, t.n ? "warning" : "pass",
		      t.n ? t.buf : "b-values, directions and b0 volumes follow the technical specification");
}

static void check_burned_in(json_t *checks, json_t *m)
{
	struct text t = {0};
	size_t i, j;
	json_t *s, *c;
	char label[256];
	json_array_foreach (json_object_get(m, "series"), i, s) {
		series_label(s, label, sizeof label);
		if (np_json_int(s, "burned_in", 0))
			say(&t, "%s has Burned In Annotation (0028,0301) = YES", label);
		json_array_foreach (json_object_get(s, "sop_classes"), j, c)
			if (!strncmp(json_string_value(c), "1.2.840.10008.5.1.4.1.1.7", 25)) {
				say(&t, "%s is a secondary capture (screenshots often show patient data)", label);
				break;
			}
	}
	if (t.n)
		say(&t, "check these images for patient data before processing; de-identification does not remove text "
			"in pixels");
	check(checks, "burned_in_phi", "Burned-in patient data", t.n ? "warning" : "pass",
	      t.n ? t.buf : "no series is flagged as carrying burned-in annotations");
}

/* ---- NIfTI checks ---- */

static void check_nifti(json_t *checks, json_t *m, const char *studydir, json_t *rules, int acq)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/nifti", studydir);
	struct np_err e = {0};
	json_t *n = np_scan_nifti(dir, &e);
	if (!n) {
		check(checks, "nifti_present", "NIfTI file present and readable", "fail",
		      "the study has no nifti/ folder");
		check(checks, "dti_files", "DTI files present and consistent (.nii, .bvec, .bval, .json)", "fail",
		      "the study has no nifti/ folder");
		check_demographics(checks, m, "sidecar_demographics", "Sidecar demographics (age and sex)", 1);
		return;
	}
	if (!np_json_str(n, "files.nifti", NULL))
		check(checks, "nifti_present", "NIfTI file present and readable", "fail",
		      "no .nii or .nii.gz file was uploaded");
	else if (!json_is_true(json_object_get(n, "header_ok")))
		check(checks, "nifti_present", "NIfTI file present and readable", "fail",
		      "the .nii file has no readable NIfTI-1/NIfTI-2 header; upload the file as written by the "
		      "converter");
	else {
		char buf[256];
		snprintf(buf, sizeof buf, "NIfTI header readable, %lld volume(s)", np_json_int(n, "volumes", 0));
		check(checks, "nifti_present", "NIfTI file present and readable", "pass", buf);
	}
	struct text t = {0};
	static const char *const need[] = {"files.nifti", "files.bval", "files.bvec", "files.json"};
	static const char *const ext[] = {".nii/.nii.gz", ".bval", ".bvec", ".json sidecar"};
	for (int k = 0; k < 4; k++)
		if (!np_json_str(n, need[k], NULL))
			say(&t, "the %s file is missing", ext[k]);
	size_t i;
	json_t *p;
	json_array_foreach (json_object_get(n, "problems"), i, p)
		say(&t, "%s", json_string_value(p));
	struct text w = {0};
	if (json_is_true(json_object_get(n, "prefix_mismatch")))
		say(&w, "the file names of the bundle do not share one prefix; check that they belong together");
	if (t.n)
		check(checks, "dti_files", "DTI files present and consistent (.nii, .bvec, .bval, .json)", "fail",
		      t.buf);
	else
		check(checks, "dti_files", "DTI files present and consistent (.nii, .bvec, .bval, .json)",
		      w.n ? "warning" : "pass",
		      w.n ? w.buf
			  : "NIfTI, .bval, .bvec and sidecar present; volume, b-value and direction counts agree");
	check_demographics(checks, m, "sidecar_demographics", "Sidecar demographics (age and sex)", 1);
	const char *id = "acquisition", *title = "Acquisition parameters (b-values, directions, b0 volumes)";
	if (!acq) {
		check(checks, id, title, "skipped",
		      "acquisition warnings are off in the settings (qc.acquisition_warnings)");
	} else if (!json_object_get(n, "b_values")) {
		check(checks, id, title, "skipped", "no readable b-values");
	} else {
		struct text a = {0};
		acq_judge(&a, "the DWI volume series", json_object_get(n, "b_values"), np_json_int(n, "directions", 0),
			  np_json_int(n, "b0_volumes", 0), rules);
		check(checks, id, title, a.n ? "warning" : "pass",
		      a.n ? a.buf : "b-values, directions and b0 volumes follow the technical specification");
	}
	json_decref(n);
}

/* ---- run, bypass ---- */

static void mark_bypassed(json_t *report, const char *reason)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(report, "checks"), i, c) {
		if (strcmp(np_json_str(c, "status", ""), "fail"))
			continue;
		char buf[4096];
		snprintf(buf, sizeof buf, "%s (bypassed: %s)", np_json_str(c, "details", ""), reason);
		json_object_set_new(c, "status", json_string("bypassed"));
		json_object_set_new(c, "details", json_string(buf));
	}
}

static const char *result_of(json_t *report)
{
	int fail = 0, byp = 0;
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(report, "checks"), i, c) {
		fail |= !strcmp(np_json_str(c, "status", ""), "fail");
		byp |= !strcmp(np_json_str(c, "status", ""), "bypassed");
	}
	return fail ? "failed" : byp ? "bypassed" : "passed";
}

static void index_result(const char *home, const char *npuid, const char *result, const char *event, const char *detail)
{
	struct np_err e = {0};
	struct np_db *db = np_index_open(home, &e);
	if (!db) {
		np_log_err(npuid, &e);
		return;
	}
	if (np_db_study_set(db, npuid, "qc_result", result, &e) < 0 ||
	    np_db_event(db, npuid, event, !strcmp(event, "qc_failed") ? "warning" : "info", detail, &e) < 0)
		np_log_err(npuid, &e);
	np_db_close(db);
}

static const char *study_npuid(json_t *m, const char *studydir)
{
	const char *id = np_json_str(m, "npuid", NULL);
	if (id)
		return id;
	const char *slash = strrchr(studydir, '/');
	return slash ? slash + 1 : studydir;
}

int np_qc_run(const char *home, const struct np_config *cfg, const char *studydir, json_t **out, struct np_err *err)
{
	if (out)
		*out = NULL;
	json_t *m = np_study_load(studydir, err);
	if (!m)
		return -1;
	json_t *rules = np_qc_rules(home, err);
	if (!rules) {
		json_decref(m);
		return -1;
	}
	const char *npuid = study_npuid(m, studydir);
	const char *format = np_json_str(m, "format", "dicom");
	int nifti = !strcmp(format, "nifti");
	int enabled = np_config_bool(cfg, nifti ? "qc.nifti_enabled" : "qc.dicom_enabled");
	int acq = np_config_bool(cfg, "qc.acquisition_warnings");
	char now[32];
	np_time_iso(now);
	json_t *checks = json_array();
	if (nifti) {
		check_nifti(checks, m, studydir, rules, acq);
	} else {
		check_mri(checks, m);
		check_dwi(checks, m);
		check_demographics(checks, m, "demographics", "Patient demographics (age and sex)", 0);
		check_ifu(checks, m, rules);
		check_lossless(checks, m, rules);
		check_acq_dicom(checks, m, rules, acq);
		check_burned_in(checks, m);
	}
	if (!enabled) {
		/* Disabled checks are recorded as bypassed and count as passing. */
		size_t i;
		json_t *c;
		char why[160];
		snprintf(why, sizeof why, "%s QC checks are disabled in the settings (qc.%s_enabled)",
			 nifti ? "NIfTI" : "DICOM", nifti ? "nifti" : "dicom");
		json_array_foreach (checks, i, c) {
			json_object_set_new(c, "status", json_string("bypassed"));
			json_object_set_new(c, "details", json_string(why));
		}
	}
	json_t *report = json_pack("{s:i, s:s, s:s, s:s, s:o, s:b}", "qc_version", 1, "npuid", npuid, "format", format,
				   "checked_at", now, "checks", checks, "settings_bypass", !enabled);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/qc.json", studydir);
	json_t *old = np_exists(path) ? np_json_load(path, 1 << 20, NULL) : NULL;
	json_t *bypass = json_object_get(old, "bypass");
	if (json_is_object(bypass)) {
		char why[200];
		snprintf(why, sizeof why, "by %s at %s", np_json_str(bypass, "by", "admin"),
			 np_json_str(bypass, "at", ""));
		mark_bypassed(report, why);
		json_object_set(report, "bypass", bypass);
	}
	json_decref(old);
	const char *result = result_of(report);
	json_object_set_new(report, "result", json_string(result));
	int rc = np_json_save(path, report, 0640, err);
	if (rc == 0) {
		int fails = 0;
		size_t i;
		json_t *c;
		struct text t = {0};
		json_array_foreach (checks, i, c)
			if (!strcmp(np_json_str(c, "status", ""), "fail")) {
				fails++;
				say(&t, "%s", np_json_str(c, "id", ""));
			}
		char detail[600];
		snprintf(detail, sizeof detail, "result=%s failed=%d%s%s", result, fails, fails ? " checks=" : "",
			 t.buf);
		np_info(npuid, "qc %s", detail);
		index_result(home, npuid, result, fails ? "qc_failed" : "qc_passed", detail);
		rc = fails ? 1 : 0;
	}
	if (out && rc >= 0)
		*out = json_incref(report);
	json_decref(report);
	json_decref(rules);
	json_decref(m);
	return rc;
}

int np_qc_bypass_dir(const char *home, const char *studydir, const char *who, struct np_err *err)
{
	char path[PATH_MAX], now[32];
	snprintf(path, sizeof path, "%s/qc.json", studydir);
	json_t *report = np_exists(path) ? np_json_load(path, 1 << 20, err)
					 : json_pack("{s:i, s:[], s:s}", "qc_version", 1, "checks", "result", "");
	if (!report)
		return -1;
	json_t *m = np_study_load(studydir, NULL);
	const char *npuid = study_npuid(m, studydir);
	np_time_iso(now);
	if (!json_object_get(report, "npuid"))
		json_object_set_new(report, "npuid", json_string(npuid));
	json_object_set_new(report, "bypass", json_pack("{s:s, s:s}", "by", who && *who ? who : "admin", "at", now));
	char why[200];
	snprintf(why, sizeof why, "by %s at %s", who && *who ? who : "admin", now);
	mark_bypassed(report, why);
	json_object_set_new(report, "result", json_string("bypassed"));
	int rc = np_json_save(path, report, 0640, err);
	if (rc == 0) {
		np_info(npuid, "qc bypassed by an administrator");
		index_result(home, npuid, "bypassed", "qc_bypassed", "result=bypassed");
	}
	json_decref(report);
	json_decref(m);
	return rc;
}

int np_qc_bypass(const char *home, const char *npuid, const char *who, struct np_err *err)
{
	char state[32], dir[PATH_MAX];
	int claimed = 0;
	if (!np_uuid_valid(npuid))
		return np_err_set(err, NP_ERR_PERM, "not an npuid");
	int rc = np_spool_find(home, npuid, state, sizeof state, &claimed, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return np_err_sys(err, ENOENT, "no study %s", npuid);
	if (claimed)
		return np_err_set(err, NP_ERR_TEMP, "study is being processed; try again shortly");
	if (!strcmp(state, "incoming"))
		return np_err_set(err, NP_ERR_PERM, "study is not stable yet");
	if (np_spool_study_dir(home, state, npuid, dir, sizeof dir, err) < 0 ||
	    np_qc_bypass_dir(home, dir, who, err) < 0)
		return -1;
	if (!strcmp(state, "qc-failed"))
		return np_spool_move(home, NULL, npuid, "qc-failed", "qc-passed", "qc bypassed", err);
	return 0;
}
