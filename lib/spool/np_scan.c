// SPDX-License-Identifier: Apache-2.0
#include "np_scan.h"

#include "np_config.h"
#include "np_csa.h"
#include "np_dcm.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_meta.h"
#include "np_study.h"

#include <archive.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- small JSON helpers ---- */

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

/* Append s to the array at o[k] once (a string set). */
static void add_unique(json_t *o, const char *k, const char *s)
{
	if (!s || !*s)
		return;
	json_t *a = json_object_get(o, k);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(o, k, a);
	}
	size_t i;
	json_t *v;
	json_array_foreach (a, i, v)
		if (!strcmp(json_string_value(v), s))
			return;
	json_array_append_new(a, json_string(s));
}

static void add_int(json_t *o, const char *k, long long n)
{
	json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + n));
}

/* Invalid UTF-8 from a header would make jansson refuse the string. */
static void sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static int get(struct np_dcm *d, const char *tag, char *out, size_t outsz)
{
	int rc = np_dcm_get(d, tag, out, outsz);
	if (rc != 1)
		out[0] = 0;
	sanitize(out);
	return rc == 1;
}

json_t *np_scan_split_products(const char *value)
{
	json_t *a = json_array();
	const char *p = value ? value : "";
	while (*p) {
		size_t n = strcspn(p, "\\,;");
		char tok[128];
		if (n < sizeof tok) {
			memcpy(tok, p, n);
			tok[n] = 0;
			char *s = tok;
			while (*s == ' ')
				s++;
			size_t l = strlen(s);
			while (l && s[l - 1] == ' ')
				s[--l] = 0;
			sanitize(s);
			if (*s)
				json_array_append_new(a, json_string(s));
		}
		p += n;
		if (*p)
			p++;
	}
	return a;
}

/* ---- diffusion bookkeeping ---- */

/* One diffusion-weighted image (or frame): b-value and, when known, the
 * gradient direction. Volumes are counted by (b, direction) keys. */
static void dwi_note(json_t *keys, double b, const double *g)
{
	char k[96];
	if (b < 50 || !g)
		snprintf(k, sizeof k, "%.0f", b < 50 ? 0.0 : b);
	else
		snprintf(k, sizeof k, "%.0f|%.3f,%.3f,%.3f", b, g[0] + 0.0, g[1] + 0.0, g[2] + 0.0);
	add_int(keys, k, 1);
}

static int parse_vec3(const char *s, double g[3])
{
	char *end;
	for (int i = 0; i < 3; i++) {
		g[i] = strtod(s, &end);
		if (end == s)
			return 0;
		s = end;
		if (i < 2) {
			if (*s != '\\')
				return 0;
			s++;
		}
	}
	return isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) && fabs(g[0]) + fabs(g[1]) + fabs(g[2]) > 1e-6;
}

/* Summarise the (b, direction) counts of a series into its diffusion object. */
static void dwi_summary(json_t *series)
{
	json_t *diff = json_object_get(series, "diffusion");
	json_t *keys = json_object_get(diff, "_keys");
	if (!keys)
		return;
	long long slices = 0, b0_images = 0, directions = 0;
	const char *k;
	json_t *v;
	json_t *bvals = json_array();
	json_object_foreach (keys, k, v) {
		long long n = json_integer_value(v);
		long b = strtol(k, NULL, 10);
		int have = 0;
		size_t i;
		json_t *x;
		json_array_foreach (bvals, i, x)
			have |= json_integer_value(x) == b;
		if (!have)
			json_array_append_new(bvals, json_integer(b));
		if (strchr(k, '|')) {
			directions++;
			if (!slices || n < slices)
				slices = n;
		} else if (b == 0) {
			b0_images += n;
		}
	}
	if (!slices)
		slices = 1;
	json_object_set_new(diff, "b_values", bvals);
	json_object_set_new(diff, "directions", json_integer(directions));
	json_object_set_new(diff, "b0_volumes", json_integer((b0_images + slices / 2) / slices));
	json_object_set_new(diff, "slices_per_volume", json_integer(slices));
	json_object_del(diff, "_keys");
}

/* Description heuristics for diffusion series. */
static int diffusion_words(const char *s)
{
	static const char *const words[] = {"DTI", "DWI", "DIFF", "TENSOR", "TRACEW", "HARDI", "DSI", NULL};
	for (int i = 0; words[i]; i++)
		if (strcasestr(s, words[i]))
			return 1;
	return 0;
}

/* A private value as a number: text (IS, DS; the first of several values)
 * or, when it does not read as text, a little endian FL (4 bytes) or FD
 * (8 bytes) as Philips and Siemens write them. The element is looked up
 * under its private creator, whatever block (gggg,00yy) the creator was
 * given. Returns 1 with *v, else 0. */
static int private_number(struct np_dcm *d, unsigned group, const char *creator, unsigned elem, double *v)
{
	unsigned char raw[64];
	size_t len;
	if (np_dcm_get_private_raw(d, group, creator, elem, raw, sizeof raw - 1, &len) != 1 || !len ||
	    len >= sizeof raw)
		return 0;
	int text = 1;
	for (size_t i = 0; i < len; i++)
		text &= (raw[i] >= '0' && raw[i] <= '9') || (raw[i] && strchr("+-.eE \\", raw[i])) ||
			(!raw[i] && i == len - 1);
	if (text) {
		raw[len] = 0;
		char *end;
		*v = strtod((char *)raw, &end);
		return end != (char *)raw && isfinite(*v);
	}
	if (len == 4) {
		float f;
		memcpy(&f, raw, 4);
		*v = f;
	} else if (len % 8 == 0) {
		memcpy(v, raw, 8);
	} else {
		return 0;
	}
	return isfinite(*v);
}

/* A gradient direction from three private numbers (GE, Philips). */
static int private_vec3(struct np_dcm *d, unsigned group, const char *creator, const unsigned elem[3], double g[3])
{
	for (int i = 0; i < 3; i++)
		if (!private_number(d, group, creator, elem[i], &g[i]))
			return 0;
	return fabs(g[0]) + fabs(g[1]) + fabs(g[2]) > 1e-6;
}

/* b-value and direction from the standard attributes: top level, the MR
 * Diffusion Sequence, or the shared functional groups of an enhanced MR
 * image. */
static int standard_bvalue(struct np_dcm *d, double *b, double g[3], int *have_g)
{
	char buf[256];
	static const char *const std_b[] = {"0018,9087", "0018,9117/0/0018,9087", "5200,9229/0/0018,9117/0/0018,9087"};
	static const char *const std_g[] = {"0018,9089", "0018,9117/0/0018,9076/0/0018,9089",
					    "5200,9229/0/0018,9117/0/0018,9076/0/0018,9089"};
	*have_g = 0;
	for (int i = 0; i < 3; i++) {
		if (!np_dcm_get_double(d, std_b[i], b))
			continue;
		for (int k = 0; k < 3 && !*have_g; k++)
			*have_g = get(d, std_g[k], buf, sizeof buf) && parse_vec3(buf, g);
		return 1;
	}
	return 0;
}

/* Siemens software that writes no (0019,xx0C) keeps the b-value in the CSA
 * image header (0029,xx10) only. A header is some kilobytes: the first call
 * asks its length, so that files without one allocate nothing. */
static int csa_bvalue(struct np_dcm *d, double *b, double g[3], int *have_g)
{
	unsigned char probe;
	size_t len = 0, got = 0;
	int found = 0;
	if (np_dcm_get_private_raw(d, 0x0029, "SIEMENS CSA HEADER", 0x10, &probe, 0, &len) != 1 || !len)
		return 0;
	unsigned char *raw = malloc(len);
	if (raw && np_dcm_get_private_raw(d, 0x0029, "SIEMENS CSA HEADER", 0x10, raw, len, &got) == 1 && got == len &&
	    np_csa_get(raw, len, "B_value", b, 1) == 1) {
		found = 1;
		*have_g = np_csa_get(raw, len, "DiffusionGradientDirection", g, 3) == 3 &&
			  fabs(g[0]) + fabs(g[1]) + fabs(g[2]) > 1e-6;
	}
	free(raw);
	return found;
}

/* b-value and direction from the vendors' private elements, each only under
 * its own private creator: the same element numbers mean other things to
 * other creators (GE CT's GEMS_ACQU_01 (0019,1027) is a rotation speed;
 * Philips keeps counters in (2005,1415)). */
static int vendor_bvalue(struct np_dcm *d, double *b, double g[3], int *have_g)
{
	*have_g = 0;
	if (private_number(d, 0x0019, "SIEMENS MR HEADER", 0x0c, b)) {
		unsigned char raw[24];
		size_t len;
		if (np_dcm_get_private_raw(d, 0x0019, "SIEMENS MR HEADER", 0x0e, raw, sizeof raw, &len) == 1 &&
		    len == 24) {
			memcpy(g, raw, 24);
			*have_g = isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]) &&
				  fabs(g[0]) + fabs(g[1]) + fabs(g[2]) > 1e-6;
		}
		return 1;
	}
	if (csa_bvalue(d, b, g, have_g))
		return 1;
	if (private_number(d, 0x0043, "GEMS_PARM_01", 0x39, b)) {
		/* The first of four values; some software versions add 10^9. */
		*b = fmod(*b, 1e9);
		static const unsigned ge[3] = {0xbb, 0xbc, 0xbd};
		*have_g = private_vec3(d, 0x0019, "GEMS_ACQU_01", ge, g);
		return 1;
	}
	if (private_number(d, 0x2001, "Philips Imaging DD 001", 0x03, b)) {
		static const unsigned ph[3] = {0xb0, 0xb1, 0xb2};
		*have_g = private_vec3(d, 0x2005, "Philips MR Imaging DD 001", ph, g);
		return 1;
	}
	return 0;
}

struct scan_ctx {
	const struct np_config *cfg;
	json_t *m;
	json_t *series; /* uid -> series object */
	json_t *study_uids;
	json_t *sops;	   /* SOP Instance UID -> 1, to keep the first of duplicates */
	json_t *dup_files; /* names of files whose SOP Instance UID came before */
	json_t *dir_files; /* names of DICOMDIRs */
	long long instances, bytes, unreadable;
	int have_study;
	char product_tag[3][80];
	int have_products;
};

static void study_fields(struct scan_ctx *c, struct np_dcm *d)
{
	char buf[512];
	json_t *st = json_object_get(c->m, "study");
	json_t *pt = json_object_get(c->m, "patient");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(c->m, "study", st);
	}
	if (!json_is_object(pt)) {
		pt = json_object();
		json_object_set_new(c->m, "patient", pt);
	}
	static const struct {
		const char *tag, *key;
		int patient;
	} f[] = {
	    {"0020,000D", "study_instance_uid", 0},
	    {"0008,1030", "description", 0},
	    {"0008,0020", "study_date", 0},
	    {"0008,0030", "study_time", 0},
	    {"0020,0010", "study_id", 0},
	    {"0008,0050", "accession_number", 0},
	    {"0010,0010", "name", 1},
	    {"0010,0020", "id", 1},
	    {"0010,0030", "birth_date", 1},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		get(d, f[i].tag, buf, sizeof buf);
		set_str(f[i].patient ? pt : st, f[i].key, buf);
	}
	char norm[8] = "";
	get(d, "0010,1010", buf, sizeof buf);
	if (*buf && np_meta_age_norm(buf, norm, sizeof norm) == 0) {
		set_str(pt, "age", norm);
	} else {
		json_object_set_new(pt, "age", json_null());
		if (*buf)
			set_str(pt, "age_raw", buf);
	}
	get(d, "0010,0040", buf, sizeof buf);
	char sx[2] = "";
	if (*buf && np_meta_sex_norm(buf, sx) == 0) {
		set_str(pt, "sex", sx);
	} else {
		json_object_set_new(pt, "sex", json_null());
		if (*buf)
			set_str(pt, "sex_raw", buf);
	}
	get(d, "0008,0050", buf, sizeof buf);
	json_object_set_new(c->m, "metadata_sources",
			    json_pack("{s:s, s:s, s:s}", "age", *norm ? "dicom" : "none", "sex", *sx ? "dicom" : "none",
				      "accession", *buf ? "dicom" : "none"));
	c->have_study = 1;
}

static void products_from_tag(struct scan_ctx *c, struct np_dcm *d)
{
	if (c->have_products || !c->product_tag[0][0] || !c->product_tag[1][0])
		return;
	char buf[1024];
	int rc;
	unsigned g = (unsigned)strtoul(c->product_tag[0], NULL, 16), e = (unsigned)strtoul(c->product_tag[1], NULL, 16);
	if (c->product_tag[2][0]) {
		rc = np_dcm_get_private(d, g, c->product_tag[2], e & 0xff, buf, sizeof buf);
	} else {
		char tag[16];
		snprintf(tag, sizeof tag, "%04X,%04X", g & 0xffff, e & 0xffff);
		rc = np_dcm_get(d, tag, buf, sizeof buf);
	}
	if (rc != 1 || !*buf)
		return;
	json_t *p = np_scan_split_products(buf);
	if (json_array_size(p)) {
		json_object_set_new(c->m, "products", p);
		json_object_set_new(c->m, "products_source", json_string("dicom_tag"));
		c->have_products = 1;
	} else {
		json_decref(p);
	}
}

static json_t *series_for(struct scan_ctx *c, struct np_dcm *d, const char *uid)
{
	json_t *s = json_object_get(c->series, uid);
	if (s)
		return s;
	char buf[512];
	s = json_object();
	set_str(s, "series_instance_uid", uid);
	get(d, "0020,0011", buf, sizeof buf);
	json_object_set_new(s, "number", *buf ? json_integer(strtol(buf, NULL, 10)) : json_null());
	get(d, "0008,103E", buf, sizeof buf);
	set_str(s, "description", buf);
	get(d, "0018,1030", buf, sizeof buf);
	set_str(s, "protocol", buf);
	get(d, "0008,0060", buf, sizeof buf);
	set_str(s, "modality", buf);
	get(d, "0008,0070", buf, sizeof buf);
	set_str(s, "manufacturer", buf);
	json_object_set_new(s, "instances", json_integer(0));
	json_object_set_new(s, "frames", json_integer(0));
	json_object_set_new(s, "bytes", json_integer(0));
	json_object_set_new(s, "lossy_flagged", json_integer(0));
	json_object_set_new(s, "burned_in", json_integer(0));
	json_object_set_new(s, "transfer_syntaxes", json_array());
	json_object_set_new(s, "sop_classes", json_array());
	json_object_set_new(s, "image_types", json_array());
	json_object_set_new(s, "diffusion", json_pack("{s:[], s:{}}", "indicators", "_keys"));
	json_object_set_new(c->series, uid, s);
	return s;
}

/* A DICOMDIR (Media Storage Directory, 1.2.840.10008.1.3.10): an index of
 * a file-set, no image. Its data set has the Directory Record Sequence;
 * a file called DICOMDIR is one even when it cannot be read. */
static int is_dicomdir(struct np_dcm *d, const char *name)
{
	char buf[80];
	if (!strcasecmp(name, "DICOMDIR"))
		return 1;
	if (!d)
		return 0;
	return np_dcm_get(d, "0004,1220", buf, sizeof buf) != 0 ||
	       (get(d, "0008,0016", buf, sizeof buf) && !strcmp(buf, "1.2.840.10008.1.3.10"));
}

static void scan_one(struct scan_ctx *c, const char *path, const char *name, long long size)
{
	struct np_err e = {0};
	struct np_dcm *d = np_dcm_open(path, NP_DCM_HEADER_ONLY, &e);
	char suid[128], buf[512];
	if (is_dicomdir(d, name)) {
		json_array_append_new(c->dir_files, json_string(name));
		np_dcm_close(d);
		return;
	}
	if (!d || !get(d, "0020,000E", suid, sizeof suid) || !*suid) {
		c->unreadable++;
		np_dcm_close(d);
		return;
	}
	/* One instance per SOP Instance UID: a PACS export or a copied
	 * folder may hold the same instance twice; the first by name counts. */
	if (get(d, "0008,0018", buf, sizeof buf) && *buf) {
		if (json_object_get(c->sops, buf)) {
			json_array_append_new(c->dup_files, json_string(name));
			np_dcm_close(d);
			return;
		}
		json_object_set_new(c->sops, buf, json_true());
	}
	c->instances++;
	c->bytes += size;
	if (!c->have_study)
		study_fields(c, d);
	if (get(d, "0020,000D", buf, sizeof buf) && *buf) {
		int seen = 0;
		size_t i;
		json_t *v;
		json_array_foreach (c->study_uids, i, v)
			seen |= !strcmp(json_string_value(v), buf);
		if (!seen)
			json_array_append_new(c->study_uids, json_string(buf));
	}
	products_from_tag(c, d);
	json_t *s = series_for(c, d, suid);
	add_int(s, "instances", 1);
	add_int(s, "bytes", size);
	const char *ts = np_dcm_transfer_syntax(d);
	add_unique(s, "transfer_syntaxes", ts);
	add_unique(c->m, "transfer_syntaxes", ts);
	get(d, "0008,0016", buf, sizeof buf);
	add_unique(s, "sop_classes", buf);
	get(d, "0008,0060", buf, sizeof buf);
	add_unique(c->m, "modalities", buf);
	if (get(d, "0028,2110", buf, sizeof buf) && !strcmp(buf, "01"))
		add_int(s, "lossy_flagged", 1);
	if (get(d, "0028,0301", buf, sizeof buf) && !strcasecmp(buf, "YES"))
		add_int(s, "burned_in", 1);
	char itype[256];
	get(d, "0008,0008", itype, sizeof itype);
	add_unique(s, "image_types", itype);

	json_t *diff = json_object_get(s, "diffusion");
	json_t *keys = json_object_get(diff, "_keys");
	int frames = np_dcm_items(d, "5200,9230"), per_frame = 0;
	if (frames > 0) {
		/* Enhanced MR: diffusion lives in the per-frame functional groups. */
		add_int(s, "frames", frames);
		for (int i = 0; i < frames; i++) {
			char p[96];
			double b, g[3];
			snprintf(p, sizeof p, "5200,9230/%d/0018,9117/0/0018,9087", i);
			if (!np_dcm_get_double(d, p, &b))
				continue;
			per_frame = 1;
			snprintf(p, sizeof p, "5200,9230/%d/0018,9117/0/0018,9076/0/0018,9089", i);
			int hg = get(d, p, buf, sizeof buf) && parse_vec3(buf, g);
			dwi_note(keys, b, hg ? g : NULL);
		}
		if (per_frame)
			add_unique(diff, "indicators", "standard");
	} else {
		double fr = 1;
		np_dcm_get_double(d, "0028,0008", &fr);
		add_int(s, "frames", fr >= 1 && fr < 1e6 ? (long long)fr : 1);
	}
	double b, g[3], vb, vg[3];
	int hg, vhg;
	int std = !per_frame && standard_bvalue(d, &b, g, &hg);
	int vendor = vendor_bvalue(d, &vb, vg, &vhg);
	if (std) {
		add_unique(diff, "indicators", "standard");
		dwi_note(keys, b, hg ? g : NULL);
	} else if (vendor && !per_frame) {
		dwi_note(keys, vb, vhg ? vg : NULL);
	}
	if (vendor)
		add_unique(diff, "indicators", "vendor_private");
	if (strstr(itype, "DIFFUSION"))
		add_unique(diff, "indicators", "image_type");
	np_dcm_close(d);
}

static int by_number(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	long long nx = json_is_integer(json_object_get(x, "number")) ? json_integer_value(json_object_get(x, "number"))
								     : 1LL << 40;
	long long ny = json_is_integer(json_object_get(y, "number")) ? json_integer_value(json_object_get(y, "number"))
								     : 1LL << 40;
	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "series_instance_uid")),
		      json_string_value(json_object_get(y, "series_instance_uid")));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int np_scan_dicom(const char *dicomdir, const struct np_config *cfg, json_t *m, struct np_err *err)
{
	struct scan_ctx c = {.cfg = cfg,
			     .m = m,
			     .series = json_object(),
			     .study_uids = json_array(),
			     .sops = json_object(),
			     .dup_files = json_array(),
			     .dir_files = json_array()};
	if (cfg) {
		snprintf(c.product_tag[0], sizeof c.product_tag[0], "%s",
			 np_config_str(cfg, "dicom.product_tag.group"));
		snprintf(c.product_tag[1], sizeof c.product_tag[1], "%s",
			 np_config_str(cfg, "dicom.product_tag.element"));
		snprintf(c.product_tag[2], sizeof c.product_tag[2], "%s",
			 np_config_str(cfg, "dicom.product_tag.creator"));
	}
	json_object_set_new(m, "transfer_syntaxes", json_array());
	json_object_set_new(m, "modalities", json_array());
	DIR *dir = opendir(dicomdir);
	if (!dir) {
		json_decref(c.series);
		json_decref(c.study_uids);
		json_decref(c.sops);
		json_decref(c.dup_files);
		json_decref(c.dir_files);
		return np_err_sys(err, errno, "unable to read the study folder");
	}
	size_t n = 0, cap = 256;
	char **names = malloc(cap * sizeof *names);
	struct dirent *e;
	while (names && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap *= 2) * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	if (!names) {
		json_decref(c.series);
		json_decref(c.study_uids);
		json_decref(c.sops);
		json_decref(c.dup_files);
		json_decref(c.dir_files);
		return np_err_sys(err, ENOMEM, "unable to read the study folder");
	}
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dicomdir, names[i]) < (int)sizeof p && lstat(p, &st) == 0 &&
		    S_ISREG(st.st_mode))
			scan_one(&c, p, names[i], (long long)st.st_size);
		free(names[i]);
	}
	free(names);

	size_t ns = json_object_size(c.series), i = 0;
	json_t **v = calloc(ns ? ns : 1, sizeof *v);
	const char *k;
	json_t *s;
	json_object_foreach (c.series, k, s) {
		v[i++] = s;
	}
	qsort(v, ns, sizeof *v, by_number);
	json_t *arr = json_array();
	for (i = 0; i < ns; i++) {
		dwi_summary(v[i]);
		json_t *diff = json_object_get(v[i], "diffusion");
		const char *desc = json_string_value(json_object_get(v[i], "description"));
		const char *prot = json_string_value(json_object_get(v[i], "protocol"));
		if (diffusion_words(desc ? desc : "") || diffusion_words(prot ? prot : ""))
			add_unique(diff, "indicators", "description");
		json_array_append(arr, v[i]);
	}
	free(v);
	json_object_set_new(m, "series", arr);
	json_object_set_new(m, "counts",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "series", (json_int_t)ns, "instances",
				      (json_int_t)c.instances, "bytes", (json_int_t)c.bytes, "unreadable",
				      (json_int_t)c.unreadable, "duplicates",
				      (json_int_t)json_array_size(c.dup_files)));
	if (json_array_size(c.dup_files))
		json_object_set(m, "duplicate_files", c.dup_files);
	else
		json_object_del(m, "duplicate_files");
	json_object_set_new(json_object_get(m, "counts"), "dicomdir",
			    json_integer((json_int_t)json_array_size(c.dir_files)));
	if (json_array_size(c.dir_files))
		json_object_set(m, "dicomdir_files", c.dir_files);
	else
		json_object_del(m, "dicomdir_files");
	json_object_set_new(m, "study_uids", c.study_uids);
	if (c.unreadable)
		np_study_flag(m, "unreadable_files");
	json_decref(c.series);
	json_decref(c.sops);
	json_decref(c.dup_files);
	json_decref(c.dir_files);
	return (int)c.instances;
}

/* ---- NIfTI bundles ---- */

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && !strcasecmp(s + n - m, suf);
}

/* Read up to n bytes of a .nii or (through libarchive's gzip filter) a
 * .nii.gz. Returns the number of bytes read, -1 on error. */
static ssize_t read_head(const char *path, void *buf, size_t n)
{
	if (!has_suffix(path, ".gz")) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return -1;
		ssize_t got = 0;
		while ((size_t)got < n) {
			ssize_t r = read(fd, (char *)buf + got, n - (size_t)got);
			if (r <= 0)
				break;
			got += r;
		}
		close(fd);
		return got;
	}
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	ssize_t got = -1;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 65536) == ARCHIVE_OK &&
	    archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		got = 0;
		while ((size_t)got < n) {
			la_ssize_t r = archive_read_data(a, (char *)buf + got, n - (size_t)got);
			if (r <= 0) {
				if (r < 0)
					got = -1;
				break;
			}
			got += r;
		}
	}
	archive_read_free(a);
	return got;
}

static uint32_t rd32(const unsigned char *p, int swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}
static uint16_t rd16(const unsigned char *p, int swap)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}
static uint64_t rd64(const unsigned char *p, int swap)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

/* Parse a NIfTI-1 or NIfTI-2 header; fills dims (dims[0] = rank). */
static int nifti_header(const unsigned char *h, size_t n, long long dims[8])
{
	if (n >= 348) {
		for (int swap = 0; swap < 2; swap++) {
			if (rd32(h, swap) == 348 && (!memcmp(h + 344, "n+1", 4) || !memcmp(h + 344, "ni1", 4))) {
				for (int i = 0; i < 8; i++)
					dims[i] = (int16_t)rd16(h + 40 + 2 * i, swap);
				return dims[0] >= 1 && dims[0] <= 7 ? 0 : -1;
			}
		}
	}
	if (n >= 540) {
		for (int swap = 0; swap < 2; swap++) {
			if (rd32(h, swap) == 540 && (!memcmp(h + 4, "n+2", 3) || !memcmp(h + 4, "ni2", 3))) {
				for (int i = 0; i < 8; i++)
					dims[i] = (long long)rd64(h + 16 + 8 * i, swap);
				return dims[0] >= 1 && dims[0] <= 7 ? 0 : -1;
			}
		}
	}
	return -1;
}

/* Numbers of a text file as rows of columns. Returns rows, -1 on error. */
static int read_table(const char *path, double **vals, int *cols, int maxrows, int *n_out)
{
	struct np_err e = {0};
	char *buf = np_read_file(path, 4 << 20, NULL, &e);
	if (!buf)
		return -1;
	int rows = 0, n = 0, cap = 1024;
	*vals = malloc(cap * sizeof **vals);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line && *vals; line = strtok_r(NULL, "\n", &save)) {
		int c = 0;
		char *p = line, *end;
		for (;;) {
			while (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',')
				p++;
			if (!*p)
				break;
			double v = strtod(p, &end);
			if (end == p || !isfinite(v)) {
				free(buf);
				free(*vals);
				*vals = NULL;
				return -2;
			}
			if (n == cap) {
				double *nv = realloc(*vals, (cap *= 2) * sizeof **vals);
				if (!nv) {
					free(*vals);
					*vals = NULL;
					break;
				}
				*vals = nv;
			}
			(*vals)[n++] = v;
			c++;
			p = end;
		}
		if (!*vals)
			break;
		if (c == 0)
			continue;
		if (rows < maxrows)
			cols[rows] = c;
		rows++;
	}
	free(buf);
	*n_out = n;
	return *vals ? rows : -1;
}

static void problem(json_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(json_t *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(o, "problems"), json_string(buf));
}

static void stem(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", name);
	static const char *const sufs[] = {".nii.gz", ".nii", ".bval", ".bvec", ".json", NULL};
	for (int i = 0; sufs[i]; i++)
		if (has_suffix(out, sufs[i])) {
			out[strlen(out) - strlen(sufs[i])] = 0;
			break;
		}
}

json_t *np_scan_nifti(const char *dir, struct np_err *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		np_err_sys(err, errno, "unable to read the NIfTI folder");
		return NULL;
	}
	char nii[256] = "", bval[256] = "", bvec[256] = "", js[256] = "";
	int n_nii = 0, n_json = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		if (nm[0] == '.' || strlen(nm) >= sizeof nii)
			continue;
		if (has_suffix(nm, ".nii") || has_suffix(nm, ".nii.gz")) {
			if (!n_nii++ || strcmp(nm, nii) < 0)
				snprintf(nii, sizeof nii, "%s", nm);
		} else if (has_suffix(nm, ".bval")) {
			snprintf(bval, sizeof bval, "%s", nm);
		} else if (has_suffix(nm, ".bvec")) {
			snprintf(bvec, sizeof bvec, "%s", nm);
		} else if (has_suffix(nm, ".json")) {
			n_json++;
			snprintf(js, sizeof js, "%s", nm);
		}
	}
	closedir(d);
	json_t *o = json_pack("{s:{s:s?, s:s?, s:s?, s:s?}, s:b, s:[], s:b}", "files", "nifti", *nii ? nii : NULL,
			      "bval", *bval ? bval : NULL, "bvec", *bvec ? bvec : NULL, "json", *js ? js : NULL,
			      "header_ok", 0, "problems", "prefix_mismatch", 0);
	if (n_nii > 1)
		problem(o, "%d NIfTI files found; one DWI volume series per study is expected", n_nii);
	long long volumes = -1;
	char p[PATH_MAX];
	if (*nii) {
		unsigned char h[544];
		long long dims[8];
		snprintf(p, sizeof p, "%s/%s", dir, nii);
		ssize_t got = read_head(p, h, sizeof h);
		if (got < 0 || nifti_header(h, (size_t)got, dims) < 0) {
			problem(o, "the NIfTI file has no readable NIfTI-1/NIfTI-2 header");
		} else {
			json_object_set_new(o, "header_ok", json_true());
			json_t *dj = json_array();
			for (int i = 1; i <= dims[0]; i++)
				json_array_append_new(dj, json_integer(dims[i]));
			json_object_set_new(o, "dims", dj);
			volumes = dims[0] >= 4 ? dims[4] : 1;
			json_object_set_new(o, "volumes", json_integer(volumes));
		}
	}
	double *bv = NULL, *gv = NULL;
	int nb = 0, ng = 0, cols[8] = {0};
	if (*bval) {
		snprintf(p, sizeof p, "%s/%s", dir, bval);
		int rows = read_table(p, &bv, cols, 8, &nb);
		if (rows < 0) {
			problem(o, "the .bval file is not a list of numbers");
			nb = -1;
		} else {
			json_object_set_new(o, "bvals", json_integer(nb));
		}
	}
	int gcols = -1;
	if (*bvec) {
		snprintf(p, sizeof p, "%s/%s", dir, bvec);
		int rows = read_table(p, &gv, cols, 8, &ng);
		if (rows < 0) {
			problem(o, "the .bvec file is not a table of numbers");
		} else if (rows == 3 && cols[0] == cols[1] && cols[1] == cols[2]) {
			gcols = cols[0];
		} else if (ng == rows * 3) {
			/* N rows of 3 (dipy's layout) instead of FSL's 3 rows of N. */
			gcols = rows;
			double *t = malloc((size_t)ng * sizeof *t);
			for (int i = 0; t && i < rows; i++)
				for (int k = 0; k < 3; k++)
					t[k * rows + i] = gv[i * 3 + k];
			free(gv);
			gv = t;
		} else {
			problem(o, "the .bvec file must have 3 rows of N values (FSL layout)");
		}
		if (gcols >= 0)
			json_object_set_new(o, "bvec_columns", json_integer(gcols));
	}
	if (volumes >= 0 && nb >= 0 && *bval && nb != volumes)
		problem(o, "the .bval file lists %d b-values but the NIfTI file has %lld volumes", nb, volumes);
	if (gcols >= 0 && nb >= 0 && *bval && gcols != nb)
		problem(o, "the .bvec file has %d directions but the .bval file lists %d b-values", gcols, nb);
	if (bv && nb > 0) {
		json_t *keys = json_object();
		for (int i = 0; i < nb; i++) {
			double g[3];
			int hg = 0;
			if (gv && gcols == nb) {
				g[0] = gv[i];
				g[1] = gv[nb + i];
				g[2] = gv[2 * nb + i];
				hg = fabs(g[0]) + fabs(g[1]) + fabs(g[2]) > 1e-6;
			}
			dwi_note(keys, bv[i], hg ? g : NULL);
		}
		json_t *tmp = json_pack("{s:{s:o}}", "diffusion", "_keys", keys);
		dwi_summary(tmp);
		json_t *diff = json_object_get(tmp, "diffusion");
		json_object_set(o, "b_values", json_object_get(diff, "b_values"));
		json_object_set(o, "directions", json_object_get(diff, "directions"));
		json_object_set(o, "b0_volumes", json_object_get(diff, "b0_volumes"));
		json_decref(tmp);
	}
	free(bv);
	free(gv);
	if (n_json > 1)
		problem(o, "%d JSON files found; give one sidecar", n_json);
	char s1[256], s2[256];
	stem(nii, s1, sizeof s1);
	const char *others[] = {bval, bvec, js};
	for (int i = 0; i < 3 && *nii; i++) {
		if (!*others[i])
			continue;
		stem(others[i], s2, sizeof s2);
		if (strcmp(s1, s2))
			json_object_set_new(o, "prefix_mismatch", json_true());
	}
	return o;
}
