// SPDX-License-Identifier: Apache-2.0
#include "np_import.h"

#include "np_archive.h"
#include "np_config.h"
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_group.h"
#include "np_json.h"
#include "np_log.h"
#include "np_meta.h"
#include "np_scan.h"
#include "np_spool.h"
#include "np_stable.h"
#include "np_study.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define AGE_RULE "NNNY, NNNM, NNNW or NNND (e.g. 045Y), a whole number of years, or 90+"

int np_import_check_opts(const struct np_import_opts *o, struct np_err *err)
{
	char buf[8];
	if (o->name && *o->name && !np_meta_name_valid(o->name))
		return np_err_set(err, NP_ERR_PERM,
				  "study name: must be 5-50 characters of letters, digits, spaces, '/', ':' and '-'");
	if (o->age && *o->age && np_meta_age_norm(o->age, buf, sizeof buf) < 0)
		return np_err_set(err, NP_ERR_PERM, "patient age: expected " AGE_RULE);
	if (o->sex && *o->sex && np_meta_sex_norm(o->sex, buf) < 0)
		return np_err_set(err, NP_ERR_PERM, "patient sex: expected M, F, MALE or FEMALE");
	if (o->accession && *o->accession && !np_meta_accession_valid(o->accession))
		return np_err_set(err, NP_ERR_PERM,
				  "accession number: expected 1-64 printable characters without '\\'");
	if (o->group && !np_group_name_valid(o->group))
		return np_err_set(err, NP_ERR_PERM, "group: invalid group name: %s", np_group_name_problem(o->group));
	for (size_t i = 0; i < o->nproducts; i++) {
		const char *p = o->products[i];
		if (!p || !*p || strlen(p) > 64)
			return np_err_set(err, NP_ERR_PERM, "product: expected 1-64 characters");
	}
	return 0;
}

/* ---- finding the files of an upload ---- */

struct list {
	char **v;
	size_t n, cap;
};

static int push(struct list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof *nv);
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

struct found {
	struct list dicom, nii, bval, bvec, json;
	long long files, bytes, ignored, links;
};

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcasecmp(s + n - m, suf);
}

static int looks_dicom(const char *path, const char *name)
{
	unsigned char b[132];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b);
	close(fd);
	if (n == 132 && !memcmp(b + 128, "DICM", 4))
		return 1;
	return has_suffix(name, ".dcm") && strcasecmp(name, "DICOMDIR");
}

static int walk(const char *dir, int depth, struct found *f, long long max_files, long long max_bytes,
		struct np_err *err)
{
	if (depth > 32)
		return np_err_set(err, NP_ERR_PERM, "the upload nests folders more than 32 deep");
	DIR *d = opendir(dir);
	if (!d)
		return np_err_sys(err, errno, "unable to read a folder of the upload");
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		const char *nm = e->d_name;
		if (nm[0] == '.' || !strcmp(nm, "__MACOSX"))
			continue;
		char p[PATH_MAX];
		struct stat st;
		if (snprintf(p, sizeof p, "%s/%s", dir, nm) >= (int)sizeof p) {
			rc = np_err_set(err, NP_ERR_PERM, "a path in the upload is too long");
			break;
		}
		if (lstat(p, &st) < 0) {
			rc = np_err_sys(err, errno, "unable to read a file of the upload");
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			f->links++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = walk(p, depth + 1, f, max_files, max_bytes, err);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			f->ignored++;
			continue;
		}
		if (++f->files > max_files) {
			rc = np_err_set(err, NP_ERR_PERM, "the upload has more than %lld files", max_files);
			break;
		}
		f->bytes += st.st_size;
		if (f->bytes > max_bytes) {
			rc = np_err_set(err, NP_ERR_PERM, "the upload is larger than %lld bytes", max_bytes);
			break;
		}
		struct list *l = NULL;
		if (has_suffix(nm, ".nii") || has_suffix(nm, ".nii.gz"))
			l = &f->nii;
		else if (has_suffix(nm, ".bval"))
			l = &f->bval;
		else if (has_suffix(nm, ".bvec"))
			l = &f->bvec;
		else if (has_suffix(nm, ".json"))
			l = &f->json;
		else if (looks_dicom(p, nm))
			l = &f->dicom;
		if (!l)
			f->ignored++;
		else if (push(l, p) < 0)
			rc = np_err_sys(err, ENOMEM, "unable to list the upload");
	}
	closedir(d);
	return rc;
}

/* Remove from the study the files np_scan_dicom listed under key (names in
 * dicomdir) and the list; the manifest keeps their count. Returns the
 * number removed, or -1 with err. */
static long long drop_listed(const char *dicomdir, json_t *m, const char *key, struct np_err *err)
{
	json_t *list = json_object_get(m, key);
	size_t i, n = json_array_size(list);
	json_t *v;
	if (!n)
		return 0;
	json_array_foreach (list, i, v) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dicomdir, json_string_value(v));
		if (unlink(p) < 0 && errno != ENOENT)
			return np_err_sys(err, errno, "unable to remove a file of the study");
	}
	json_object_del(m, key);
	return np_fsync_dir(dicomdir, err) < 0 ? -1 : (long long)n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void stem(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", base(name));
	static const char *const sufs[] = {".nii.gz", ".nii", ".bval", ".bvec", ".json", NULL};
	for (int i = 0; sufs[i]; i++)
		if (has_suffix(out, sufs[i])) {
			out[strlen(out) - strlen(sufs[i])] = 0;
			break;
		}
}

/* A file name safe in the spool: letters, digits, '.', '_' and '-'. */
static void safe_name(const char *in, char *out, size_t outsz)
{
	size_t i = 0;
	for (; in[i] && i + 1 < outsz; i++) {
		char c = in[i];
		out[i] =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'
			? c
			: '_';
	}
	out[i] = 0;
	if (out[0] == '.')
		out[0] = '_';
}

/* Move (same file system, from our own extraction) or copy (the user's
 * folder) src to dst durably. */
static int place(const char *src, const char *dst, int move, struct np_err *err)
{
	if (move) {
		if (rename(src, dst) < 0)
			return np_err_sys(err, errno, "unable to move a file of the upload");
		return 0;
	}
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return np_err_sys(err, errno, "unable to read a file of the upload");
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		int e = errno;
		close(in);
		return np_err_sys(err, e, "unable to write a file of the study");
	}
	char buf[1 << 16];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			rc = np_err_sys(err, errno, "unable to read a file of the upload");
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				rc = np_err_sys(err, errno, "unable to write a file of the study");
				break;
			}
			off += w;
		}
		if (rc)
			break;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = np_err_sys(err, errno, "unable to write a file of the study");
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = np_err_sys(err, errno, "unable to write a file of the study");
	return rc;
}

/* Products of an existing group, or NULL when the group is new. */
static json_t *group_products(struct np_db *db, const char *group)
{
	struct np_err e = {0};
	json_t *g = db ? np_group_get(db, group, &e) : NULL;
	json_t *p = json_incref(json_object_get(g, "products"));
	json_decref(g);
	if (p && !json_array_size(p)) {
		json_decref(p);
		p = NULL;
	}
	return p;
}

/* Same products as sets. */
static int same_products(json_t *a, json_t *b)
{
	size_t i, j;
	json_t *x, *y;
	json_array_foreach (a, i, x) {
		int found = 0;
		json_array_foreach (b, j, y)
			found |= json_equal(x, y);
		if (!found)
			return 0;
	}
	json_array_foreach (b, j, y) {
		int found = 0;
		json_array_foreach (a, i, x)
			found |= json_equal(x, y);
		if (!found)
			return 0;
	}
	return 1;
}

static void set_meta(json_t *m, const char *section, const char *key, const char *srckey, const char *form,
		     const char *sidecar)
{
	json_t *sec = json_object_get(m, section);
	if (!json_is_object(sec)) {
		sec = json_object();
		json_object_set_new(m, section, sec);
	}
	json_t *srcs = json_object_get(m, "metadata_sources");
	if (!json_is_object(srcs)) {
		srcs = json_object();
		json_object_set_new(m, "metadata_sources", srcs);
	}
	if (form && *form) {
		json_object_set_new(sec, key, json_string(form));
		json_object_set_new(srcs, srckey, json_string("form"));
	} else if (sidecar && *sidecar) {
		json_object_set_new(sec, key, json_string(sidecar));
		json_object_set_new(srcs, srckey, json_string("sidecar"));
	} else if (!json_is_string(json_object_get(sec, key)) || !*json_string_value(json_object_get(sec, key))) {
		json_object_set_new(sec, key, json_null());
		json_object_set_new(srcs, srckey, json_string("none"));
	} else if (!json_object_get(srcs, srckey)) {
		json_object_set_new(srcs, srckey, json_string("dicom"));
	}
}

struct job {
	const char *home;
	const struct np_import_opts *o;
	struct np_config cfg;
	int have_cfg;
	char npuid[37], work[PATH_MAX], raw[PATH_MAX], study[PATH_MAX];
	struct found f;
	json_t *m;
	int lockfd;
};

static int build(struct job *j, const char *path, struct np_err *err)
{
	const struct np_import_opts *o = j->o;
	long long max_bytes = o->max_bytes > 0 ? o->max_bytes : np_config_int(&j->cfg, "upload.max_upload_gb") << 30;
	long long max_entries = o->max_entries > 0 ? o->max_entries : 100000;
#ifdef NP_TEST_HOOKS
	/* Lets tests hit the caps with small archives. */
	if (getenv("NP_IMPORT_MAX_BYTES"))
		max_bytes = atoll(getenv("NP_IMPORT_MAX_BYTES"));
	if (getenv("NP_IMPORT_MAX_ENTRIES"))
		max_entries = atoll(getenv("NP_IMPORT_MAX_ENTRIES"));
#endif
	struct stat st;
	if (stat(path, &st) < 0)
		return np_err_sys(err, errno, "unable to read the upload");
	const char *src = path;
	int move = 0;
	if (S_ISREG(st.st_mode)) {
		if (np_archive_is_zip(path) != 1)
			return np_err_set(err, NP_ERR_PERM, "the upload is neither a folder nor a ZIP archive");
		snprintf(j->raw, sizeof j->raw, "%s/raw", j->work);
		if (np_mkdirs(j->raw, 0750, err) < 0)
			return -1;
		struct np_archive_limits lim = {max_bytes, max_entries};
		if (np_archive_extract(path, j->raw, &lim, NULL, NULL, err) < 0)
			return -1;
		src = j->raw;
		move = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		return np_err_set(err, NP_ERR_PERM, "the upload is neither a folder nor a ZIP archive");
	}
	if (walk(src, 0, &j->f, max_entries, max_bytes, err) < 0)
		return -1;
	struct found *f = &j->f;
	size_t nn = f->nii.n + f->bval.n + f->bvec.n;
	if (f->dicom.n && f->nii.n)
		return np_err_set(err, NP_ERR_PERM,
				  "the upload mixes DICOM and NIfTI files; upload one study of one kind at a time");
	if (!f->dicom.n && !f->nii.n)
		return np_err_set(err, NP_ERR_PERM,
				  nn ? "the upload has .bval/.bvec files but no .nii or .nii.gz file"
				     : "the upload holds no DICOM files and no NIfTI (.nii/.nii.gz) file");
	int nifti = f->nii.n > 0;
	if (!nifti && nn)
		np_warn(j->npuid, "upload: .bval/.bvec files beside DICOM files ignored");
	if (nifti && f->nii.n > 1)
		return np_err_set(err, NP_ERR_PERM, "the upload has %zu NIfTI files; upload one DWI series per study",
				  f->nii.n);
	if (f->links)
		np_warn(j->npuid, "upload: %lld symbolic link(s) ignored", f->links);
	/* The sidecar: required for NIfTI, optional for DICOM, at most one. */
	const char *sidecar = NULL;
	char s1[256], s2[256];
	if (f->json.n == 1) {
		sidecar = f->json.v[0];
	} else if (f->json.n > 1) {
		if (nifti) {
			stem(f->nii.v[0], s1, sizeof s1);
			for (size_t i = 0; i < f->json.n; i++) {
				stem(f->json.v[i], s2, sizeof s2);
				if (!strcmp(s1, s2))
					sidecar = f->json.v[i];
			}
		}
		if (!sidecar)
			return np_err_set(err, NP_ERR_PERM, "the upload has %zu JSON files; keep one sidecar",
					  f->json.n);
	} else if (nifti) {
		return np_err_set(err, NP_ERR_PERM, "NIfTI uploads need a JSON sidecar with PatientAge and PatientSex");
	}
	struct np_meta side = {0};
	if (sidecar) {
		size_t len;
		char *buf = np_read_file(sidecar, 1 << 20, &len, err);
		if (!buf)
			return -1;
		int rc = np_meta_sidecar_parse(buf, len, &side, err);
		free(buf);
		if (rc < 0)
			return -1;
	}
	if (nifti && (f->bval.n > 1 || f->bvec.n > 1))
		return np_err_set(err, NP_ERR_PERM,
				  "the upload has several .bval or .bvec files; upload one bundle per study");

	/* Lay the study out. */
	snprintf(j->study, sizeof j->study, "%s/study", j->work);
	char sub[PATH_MAX], dst[PATH_MAX], nm[256];
	snprintf(sub, sizeof sub, "%s/%s", j->study, nifti ? "nifti" : "dicom");
	if (np_mkdirs(sub, 0750, err) < 0)
		return -1;
	if (nifti) {
		const char *parts[4] = {f->nii.v[0], f->bval.n ? f->bval.v[0] : NULL, f->bvec.n ? f->bvec.v[0] : NULL,
					sidecar};
		for (int i = 0; i < 4; i++) {
			if (!parts[i])
				continue;
			safe_name(base(parts[i]), nm, sizeof nm);
			snprintf(dst, sizeof dst, "%s/%s", sub, nm);
			if (place(parts[i], dst, move, err) < 0)
				return -1;
		}
	} else {
		qsort(f->dicom.v, f->dicom.n, sizeof *f->dicom.v, cmp_str);
		for (size_t i = 0; i < f->dicom.n; i++) {
			snprintf(dst, sizeof dst, "%s/%06zu.dcm", sub, i + 1);
			if (place(f->dicom.v[i], dst, move, err) < 0)
				return -1;
		}
		if (sidecar) {
			snprintf(dst, sizeof dst, "%s/sidecar.json", j->study);
			if (place(sidecar, dst, move, err) < 0)
				return -1;
		}
	}
	if (np_fsync_dir(sub, err) < 0)
		return -1;

	/* The manifest. */
	j->m = np_study_new(j->npuid, "upload", nifti ? "nifti" : "dicom");
	json_t *m = j->m;
	char now[32];
	np_time_iso(now);
	json_object_set_new(m, "stable_at", json_string(now));
	json_object_set_new(m, "received_at", json_string(now));
	json_object_set_new(m, "source_ae", json_null());
	if (nifti) {
		json_t *n = np_scan_nifti(sub, err);
		if (!n)
			return -1;
		if (json_is_true(json_object_get(n, "prefix_mismatch"))) {
			np_warn(j->npuid, "upload: the NIfTI bundle's file names do not share a prefix");
			np_study_flag(m, "nifti_prefix_mismatch");
		}
		json_object_set_new(m, "nifti", n);
		json_object_set_new(
		    m, "counts",
		    json_pack("{s:i, s:i, s:I}", "series", 1, "instances", 0, "bytes", (json_int_t)np_tree_bytes(sub)));
		json_object_set_new(m, "study", json_object());
		json_object_set_new(m, "patient", json_object());
	} else {
		int n = np_scan_dicom(sub, &j->cfg, m, err);
		if (n < 0)
			return -1;
		/* Files that repeat a SOP Instance UID: the first by sorted
		 * upload path (the order of their numbers) stays. DICOMDIRs
		 * index a file-set and hold no image. */
		long long dups = drop_listed(sub, m, "duplicate_files", err);
		long long dirs = dups < 0 ? -1 : drop_listed(sub, m, "dicomdir_files", err);
		if (dirs < 0)
			return -1;
		if (n == 0)
			return np_err_set(err, NP_ERR_PERM, "no readable DICOM instance in the upload%s",
					  dirs ? " (only a DICOMDIR: upload the image files it lists too)" : "");
		if (dups)
			np_warn(j->npuid,
				"upload: %lld duplicate file(s) (same SOP Instance UID) left out, the first kept",
				dups);
		if (dirs)
			np_info(j->npuid, "upload: %lld DICOMDIR file(s) (a media index, no image) left out", dirs);
		size_t nst = json_array_size(json_object_get(m, "study_uids"));
		if (nst > 1)
			return np_err_set(
			    err, NP_ERR_PERM,
			    "the upload holds %zu studies (StudyInstanceUIDs); upload one study per folder or ZIP",
			    nst);
		if (np_json_int(m, "counts.unreadable", 0))
			np_warn(j->npuid, "upload: %lld file(s) are not readable DICOM",
				np_json_int(m, "counts.unreadable", 0));
	}
	/* Precedence: form > sidecar > DICOM. */
	char age[8] = "", sex[2] = "";
	if (o->age && *o->age)
		np_meta_age_norm(o->age, age, sizeof age);
	if (o->sex && *o->sex)
		np_meta_sex_norm(o->sex, sex);
	set_meta(m, "patient", "age", "age", age, side.age);
	set_meta(m, "patient", "sex", "sex", sex, side.sex);
	set_meta(m, "study", "accession_number", "accession", o->accession, side.accession);
	json_t *pt = json_object_get(m, "patient");
	if (json_is_string(json_object_get(pt, "age")))
		json_object_del(pt, "age_raw");
	if (json_is_string(json_object_get(pt, "sex")))
		json_object_del(pt, "sex_raw");
	if (o->name && *o->name)
		json_object_set_new(m, "study_name", json_string(o->name));
	if (o->group && *o->group)
		json_object_set_new(m, "group", json_string(o->group));
	/* Products: the form, else the group's, else the DICOM tag's, else
	 * the defaults. Every study of a group uses the group's products. */
	json_t *gp = NULL;
	struct np_db *db = NULL;
	if (o->group && *o->group) {
		if (!(db = np_index_open(j->home, err)))
			return -1;
		gp = group_products(db, o->group);
	}
	if (o->nproducts) {
		json_t *p = json_array();
		for (size_t i = 0; i < o->nproducts; i++)
			json_array_append_new(p, json_string(o->products[i]));
		json_object_set_new(m, "products", p);
		json_object_set_new(m, "products_source", json_string("form"));
	} else if (gp) {
		json_object_set_new(m, "products", json_incref(gp));
		json_object_set_new(m, "products_source", json_string("group"));
	} else if (!json_array_size(json_object_get(m, "products"))) {
		json_object_set_new(m, "products", json_deep_copy(np_config_get(&j->cfg, "dicom.default_products")));
		json_object_set_new(m, "products_source", json_string("default"));
	}
	int grc = 0;
	if (gp && !same_products(gp, json_object_get(m, "products")))
		grc = np_err_set(err, NP_ERR_PERM, "products: every study of group %s must use the group's products",
				 o->group);
	else if (db && !gp)
		grc = np_group_create(db, o->group, json_object_get(m, "products"), NULL, err);
	json_decref(gp);
	np_db_close(db);
	if (grc < 0)
		return -1;
	if (np_study_save(j->study, m, err) < 0 || np_spool_history(j->study, "", "stable", "upload", err) < 0)
		return -1;
	np_crash_point("import.built");
	if (np_spool_study_dir(j->home, "stable", j->npuid, dst, sizeof dst, err) < 0 ||
	    np_rename_durable(j->study, dst, err) < 0)
		return -1;
	return 0;
}

int np_import_path(const char *home, const char *path, const struct np_import_opts *o, char npuid_out[37],
		   struct np_err *err)
{
	if (np_import_check_opts(o, err) < 0)
		return -1;
	struct job j = {.home = home, .o = o, .lockfd = -1};
	if (np_spool_init(home, err) < 0 || np_config_load(&j.cfg, home, err) < 0)
		return -1;
	j.have_cfg = 1;
	int rc = -1;
	if (np_uuid4(j.npuid, err) < 0)
		goto out;
	snprintf(j.work, sizeof j.work, "%s/spool/tmp/imp-%s", home, j.npuid);
	if (np_mkdirs(j.work, 0750, err) < 0)
		goto out;
	/* Held while we build: np-stable's recovery removes only unlocked
	 * leftovers of crashed imports. */
	char lp[PATH_MAX];
	snprintf(lp, sizeof lp, "%s/.build.lock", j.work);
	j.lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (j.lockfd < 0 || flock(j.lockfd, LOCK_EX) < 0) {
		np_err_sys(err, errno, "unable to lock the import folder");
		goto out;
	}
	if (build(&j, path, err) < 0)
		goto out;
	rc = 0;
	snprintf(npuid_out, 37, "%s", j.npuid);
	struct np_err e = {0};
	struct np_db *db = np_index_open(home, &e);
	if (!db)
		np_log_err(j.npuid, &e);
	np_stable_index(db, j.npuid, "stable", j.m, "upload");
	np_db_close(db);
	np_info(j.npuid, "study imported format=%s series=%lld instances=%lld", np_json_str(j.m, "format", ""),
		np_json_int(j.m, "counts.series", 0), np_json_int(j.m, "counts.instances", 0));
out:;
	struct np_err e2 = {0};
	if (*j.work && np_rmtree(j.work, &e2) < 0)
		np_log_err(j.npuid, &e2);
	if (j.lockfd >= 0)
		close(j.lockfd);
	list_free(&j.f.dicom);
	list_free(&j.f.nii);
	list_free(&j.f.bval);
	list_free(&j.f.bvec);
	list_free(&j.f.json);
	json_decref(j.m);
	if (j.have_cfg)
		np_config_free(&j.cfg);
	return rc;
}
