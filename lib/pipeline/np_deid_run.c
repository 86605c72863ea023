/* SPDX-License-Identifier: Apache-2.0 */
/* np_deid_run: a folder of DICOM files -> a de-identified folder that appears
 * whole (temp sibling, syncfs, rename) or not at all; the processing record
 * (manifest.json) and the per-tag report; study mode over a spool study. */
#include "np_buf.h"
#include "np_config.h"
#include "np_deid.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_deid_int.h"
#include "np_json.h"
#include "np_log.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void np_deid_opts_init(struct np_deid_opts *o)
{
	memset(o, 0, sizeof *o);
	o->shift_dates = 1;
	o->shift_range = 365;
	o->mask_zip = 1;
	o->cap_age = 1;
	strcpy(o->uid_root, "2.25");
}

void np_deid_opts_config(struct np_deid_opts *o, const struct np_config *cfg)
{
	o->shift_dates = strcmp(np_config_str(cfg, "deid.date_handling"), "remove") != 0;
	o->shift_range = (int)np_config_int(cfg, "deid.shift_range_days");
	o->mask_zip = np_config_bool(cfg, "deid.mask_zip");
	o->keep_accession = np_config_bool(cfg, "deid.send_accession");
	o->remove_swv = np_config_bool(cfg, "deid.remove_software_versions");
	o->cap_age = np_config_bool(cfg, "deid.cap_age_over_89");
	o->jobs = (int)np_config_int(cfg, "deid.jobs");
	snprintf(o->uid_root, sizeof o->uid_root, "%s", np_config_str(cfg, "deid.uid_root"));
}

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

int np_deid_key_load(struct np_deid_opts *o, const char *path, int create, struct np_err *err)
{
	if (create && !np_exists(path)) {
		unsigned char k[32];
		char hex[66];
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", path);
		char *sl = strrchr(dir, '/');
		if (sl) {
			*sl = 0;
			if (np_mkdirs(dir, 0700, err) < 0)
				return -1;
		}
		if (np_random(k, sizeof k, err) < 0)
			return -1;
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", k[i]);
		hex[64] = '\n';
		hex[65] = 0;
		if (np_write_atomic(path, hex, 65, 0600, err) < 0)
			return -1;
		/* said once: pseudonyms and offsets follow the key, so a run with
		 * another home would not join a late series to its study */
		np_info(o->id,
			"created a new de-identification key %s: keep it, the same key gives the same pseudonyms",
			path);
	}
	size_t n;
	char *s = np_read_file(path, 4096, &n, err);
	if (!s)
		return -1;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	int hex = n >= 32 && n % 2 == 0;
	for (size_t i = 0; hex && i < n; i++)
		hex = hexval((unsigned char)s[i]) >= 0;
	if (hex) {
		o->keylen = n / 2 > sizeof o->key ? sizeof o->key : n / 2;
		for (size_t i = 0; i < o->keylen; i++)
			o->key[i] = (unsigned char)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	} else {
		o->keylen = n > sizeof o->key ? sizeof o->key : n;
		memcpy(o->key, s, o->keylen);
	}
	free(s);
	if (o->keylen < 16)
		return np_err_set(err, NP_ERR_PERM, "de-identification key %s is shorter than 16 bytes", path);
	return 0;
}

/* ---------- the file list ---------- */
struct flist {
	char **p;
	size_t n, cap;
};

static int fl_add(struct flist *l, const char *rel)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **n = realloc(l->p, sizeof *n * cap);
		if (!n)
			return -1;
		l->p = n;
		l->cap = cap;
	}
	if (!(l->p[l->n] = strdup(rel)))
		return -1;
	l->n++;
	return 0;
}

static void fl_free(struct flist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->p[i]);
	free(l->p);
}

/* Regular files under root/rel, recursively; symlinks are not followed. */
static int walk(const char *root, const char *rel, struct flist *l, struct np_err *err)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel) >= (int)sizeof dir)
		return np_err_set(err, NP_ERR_PERM, "path too long");
	DIR *d = opendir(dir);
	if (!d)
		return np_err_sys(err, errno, "unable to open folder %s", dir);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char r[PATH_MAX], full[PATH_MAX * 2];
		if (snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= (int)sizeof r) {
			rc = np_err_set(err, NP_ERR_PERM, "path too long");
			break;
		}
		snprintf(full, sizeof full, "%s/%s", root, r);
		/* d_type saves a stat per file; lstat only when the fs does not say */
		int isdir = e->d_type == DT_DIR, isreg = e->d_type == DT_REG;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			if (lstat(full, &st) < 0) {
				rc = np_err_sys(err, errno, "unable to stat a file in %s", root);
				break;
			}
			isdir = S_ISDIR(st.st_mode);
			isreg = S_ISREG(st.st_mode);
		}
		if (isdir)
			rc = walk(root, r, l, err);
		else if (isreg && fl_add(l, r) < 0)
			rc = np_err_set(err, NP_ERR_TEMP, "out of memory");
	}
	closedir(d);
	return rc;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------- workers ---------- */
struct result {
	/* 0 not done, 1 written, 2 skipped (not DICOM), 3 duplicate, 4 duplicate
	 * set aside (settle_dups), 5 excluded (why), 6 failed (err) */
	int state;
	char rel[160];
	char why[160];	    /* state 5: the reason, without values of the file */
	struct np_err *err; /* state 6 */
	long long size;
	char sha[65];
	struct np_deid_file f;
};

struct run {
	const char *in, *tmp;
	const struct np_deid_opts *o;
	struct flist files;
	struct result *res;
	/* worker k starts on files [k*n/jobs, (k+1)*n/jobs): neighbours in the
	 * sorted list are mostly one series, and two threads creating files in
	 * one folder queue on its lock. A worker that is done helps the others
	 * from the front of their share. */
	struct share {
		atomic_size_t next;
		size_t end;
	} share[64];
	int nshare;
	atomic_size_t first_failed; /* lowest index of a failed file, or SIZE_MAX */
	pthread_mutex_t mu;
	struct np_deid_tagstat **ts;
	EVP_MD *sha256;		    /* fetched once: EVP_sha256() looks it up on every digest */
	atomic_int running;	    /* workers not yet finished */
	atomic_llong bytes_written; /* by the workers so far (flush_while_running) */
};

/* File i failed: its error is kept, and the files after it in path order
 * need no work any more. The run reports the first failed file, so that the
 * answer does not depend on which worker got there first. */
static void fail(struct run *r, size_t i, const struct np_err *e)
{
	struct result *res = &r->res[i];
	res->state = 6;
	res->err = malloc(sizeof *res->err);
	if (res->err)
		*res->err = *e;
	size_t cur = atomic_load(&r->first_failed);
	while (i < cur && !atomic_compare_exchange_weak(&r->first_failed, &cur, i))
		;
}

/* 1 if a path has a name that looks like a UID (digits and 3+ dots), as
 * np-recv names study files after their original UIDs. */
static int uid_in_path(const char *p)
{
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/"), dots = 0, digits = 0;
		for (size_t k = 0; k < n; k++)
			dots += s[k] == '.', digits += s[k] >= '0' && s[k] <= '9';
		if (dots >= 3 && digits >= 8)
			return 1;
		s += n + (s[n] == '/');
	}
	return 0;
}

/* What a message may say of input file i: its path, unless paths hold
 * original UIDs (study mode, files named by np-recv); then its number and
 * SOP class. */
static void file_name(const struct run *r, size_t i, char *out, size_t sz)
{
	if (!r->o->private_paths || !uid_in_path(r->files.p[i]))
		snprintf(out, sz, "input file %s", r->files.p[i]);
	else if (r->res[i].f.sop_class[0])
		snprintf(out, sz, "input file %zu of %zu (SOP class %s)", i + 1, r->files.n, r->res[i].f.sop_class);
	else
		snprintf(out, sz, "input file %zu of %zu", i + 1, r->files.n);
}

static int read_all(const char *path, unsigned char **buf, size_t *cap, size_t *len, struct np_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open an input file");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return np_err_sys(err, errno, "unable to stat an input file");
	}
	size_t want = (size_t)st.st_size;
	if (want + 1 > *cap) {
		unsigned char *n = realloc(*buf, want + 1);
		if (!n) {
			close(fd);
			return np_err_set(err, NP_ERR_TEMP, "out of memory");
		}
		*buf = n;
		*cap = want + 1;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t k = read(fd, *buf + got, want - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			close(fd);
			return np_err_sys(err, e, "unable to read an input file");
		}
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	return 0;
}

/* The output's pieces in order: the large values straight from the input
 * buffer, never gathered into one (np_deid_rewrite). */
static int write_out(const char *path, const struct np_deid_out *out, struct np_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 1 : np_err_sys(err, errno, "unable to create an output file");
	for (size_t i = 0; i < 2 * out->next + 1; i++) {
		const unsigned char *b;
		size_t n = np_deid_out_piece(out, i, &b), off = 0;
		while (off < n) {
			ssize_t k = write(fd, b + off, n - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				int e = errno;
				close(fd);
				return np_err_sys(err, e, "unable to write an output file");
			}
			off += (size_t)k;
		}
	}
	if (close(fd) < 0)
		return np_err_sys(err, errno, "unable to write an output file");
	return 0;
}

/* ctx: the worker's reusable digest context (EVP_Digest would allocate and
 * free one per file), or NULL. */
static int sha256_hex(EVP_MD_CTX *ctx, EVP_MD *md, const struct np_deid_out *o, char out[65])
{
	unsigned char h[32];
	unsigned int hl = 32;
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL);
	for (size_t i = 0; ok && i < 2 * o->next + 1; i++) {
		const unsigned char *b;
		size_t n = np_deid_out_piece(o, i, &b);
		ok = EVP_DigestUpdate(ctx, b, n);
	}
	if (!ok || !EVP_DigestFinal_ex(ctx, h, &hl))
		return -1;
	for (int i = 0; i < 32; i++) {
		out[2 * i] = "0123456789abcdef"[h[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
	}
	out[64] = 0;
	return 0;
}

struct worker {
	struct run *r;
	int idx;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	unsigned char *buf = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t cap = 0;
	char made[65] = ""; /* the series folder this worker created last */
	int sh = w->idx;
	for (;;) {
		size_t i = atomic_fetch_add(&r->share[sh].next, 1);
		if (i >= r->share[sh].end) {
			sh = (sh + 1) % r->nshare;
			if (sh == w->idx)
				break;
			continue;
		}
		if (i > atomic_load(&r->first_failed))
			continue;
		struct result *res = &r->res[i];
		struct np_err err = {0};
		char path[PATH_MAX * 2];
		size_t len = 0;
		snprintf(path, sizeof path, "%s/%s", r->in, r->files.p[i]);
		if (read_all(path, &buf, &cap, &len, &err) < 0) {
			fail(r, i, &err);
			continue;
		}
		if (!np_deid_sniff(buf, len)) {
			res->state = 2;
			continue;
		}
		struct np_deid_out out;
		int rc = np_deid_rewrite(buf, len, r->o, r->ts[w->idx], &out, &res->f, &err);
		if (rc < 0 && err.cls == NP_ERR_PERM && res->f.image == 0) {
			/* not an image: not what a product needs, so it is left out, not the study */
			snprintf(res->why, sizeof res->why, "%s", err.msg);
			res->state = 5;
			continue;
		}
		if (rc < 0) {
			fail(r, i, &err);
			continue;
		}
		if (rc == 0) {
			snprintf(res->why, sizeof res->why, "%s", res->f.why);
			res->state = 5;
			continue;
		}
		char dir[PATH_MAX];
		snprintf(res->rel, sizeof res->rel, "%s/%s.dcm", res->f.series_uid, res->f.sop_uid);
		snprintf(dir, sizeof dir, "%s/%s", r->tmp, res->f.series_uid);
		if (strcmp(made, res->f.series_uid) && mkdir(dir, 0755) < 0 && errno != EEXIST) {
			np_err_sys(&err, errno, "unable to create an output folder");
			np_deid_out_free(&out);
			fail(r, i, &err);
			continue;
		}
		snprintf(made, sizeof made, "%s", res->f.series_uid);
		snprintf(path, sizeof path, "%s/%s", r->tmp, res->rel);
		int wr = write_out(path, &out, &err);
		res->state = 1;
		if (wr == 1) {
			/* the same instance twice: set aside, settled after the workers */
			snprintf(path, sizeof path, "%s/%s/.dup.%zu", r->tmp, res->f.series_uid, i);
			wr = write_out(path, &out, &err);
			if (wr == 1)
				wr = np_err_set(&err, NP_ERR_TEMP, "unable to create an output file: %s",
						strerror(EEXIST));
			res->state = 4;
		}
		if (wr < 0) {
			np_deid_out_free(&out);
			fail(r, i, &err);
			continue;
		}
		res->size = (long long)out.size;
		atomic_fetch_add(&r->bytes_written, (long long)out.size);
		int hs = sha256_hex(md, r->sha256, &out, res->sha);
		np_deid_out_free(&out);
		if (hs < 0) {
			np_err_set(&err, NP_ERR_TEMP, "out of memory");
			fail(r, i, &err);
		}
	}
	free(buf);
	EVP_MD_CTX_free(md);
	atomic_fetch_sub(&r->running, 1);
	return NULL;
}

/* The output is made durable by one syncfs before the rename; left to
 * itself, the kernel writes nothing back until then, and the device idles
 * while the workers run and then the run waits for all of it. So while the
 * workers run, the main thread (which would only wait for them) syncs the
 * file system whenever another FLUSH_STEP bytes have been written: the last
 * syncfs waits for the last few MiB only. Returns 0, or the errno of a
 * failed syncfs: a writeback error is reported once, to the first syncfs
 * after it, so the run must fail on it here. */
#define FLUSH_STEP (4ll << 20)
static int flush_while_running(struct run *r)
{
	int fd = open(r->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
	long long synced = 0;
	while (fd >= 0 && atomic_load(&r->running) > 0) {
		long long w = atomic_load(&r->bytes_written);
		if (!e && w - synced >= FLUSH_STEP) {
			if (syncfs(fd) < 0)
				e = errno;
			synced = w;
			continue;
		}
		nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
	}
	if (fd >= 0)
		close(fd);
	return e;
}

static int by_rel_then_index(const void *a, const void *b, void *arg)
{
	const struct result *res = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(res[i].rel, res[j].rel);
	return c ? c : i < j ? -1 : i > j;
}

/* Instances that occur more than once in the input: the copy listed first
 * (sorted path) is the one kept, whichever worker wrote first, so that the
 * same input always gives the same output. Later copies become duplicates
 * (state 3) and their set-aside files are removed. */
static int settle_dups(struct run *r, struct np_err *err)
{
	size_t n = 0, *ix;
	for (size_t i = 0; i < r->files.n; i++)
		n += r->res[i].state == 4;
	if (!n)
		return 0;
	if (!(ix = malloc(sizeof *ix * r->files.n)))
		return np_err_set(err, NP_ERR_TEMP, "out of memory");
	n = 0;
	for (size_t i = 0; i < r->files.n; i++)
		if (r->res[i].state == 1 || r->res[i].state == 4)
			ix[n++] = i;
	qsort_r(ix, n, sizeof *ix, by_rel_then_index, r->res);
	int rc = 0;
	for (size_t a = 0, b; rc == 0 && a < n; a = b) {
		for (b = a + 1; b < n && !strcmp(r->res[ix[a]].rel, r->res[ix[b]].rel); b++)
			;
		for (size_t k = a; k < b; k++) {
			struct result *x = &r->res[ix[k]];
			char dup[PATH_MAX * 2], dst[PATH_MAX * 2];
			snprintf(dup, sizeof dup, "%s/%s/.dup.%zu", r->tmp, x->f.series_uid, ix[k]);
			snprintf(dst, sizeof dst, "%s/%s", r->tmp, x->rel);
			if (k == a && x->state == 4 && rename(dup, dst) < 0) {
				rc = np_err_sys(err, errno, "unable to rename an output file");
				break;
			}
			if (k > a && x->state == 4 && unlink(dup) < 0) {
				rc = np_err_sys(err, errno, "unable to remove an output file");
				break;
			}
			x->state = k == a ? 1 : 3;
		}
	}
	free(ix);
	return rc;
}

static int count_tree(const char *dir, long *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (e->d_type != DT_UNKNOWN)
			st.st_mode = e->d_type == DT_DIR ? S_IFDIR : S_IFREG;
		else if (lstat(p, &st) < 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (count_tree(p, n) < 0) {
				rc = -1;
				break;
			}
		} else {
			(*n)++;
		}
	}
	closedir(d);
	return rc;
}

static char action_name(uint64_t key)
{
	return (char)(key >> 32 & 0xFF);
}

static json_t *report_json(struct np_deid_tagstat *ts)
{
	json_t *tags = json_object(), *kept = json_array(), *priv = json_object();
	size_t i = 0;
	uint64_t key;
	long cnt;
	while ((i = np__deid_tagstat_each(ts, i, &key, &cnt))) {
		unsigned g = (unsigned)(key >> 16 & 0xFFFF), e = (unsigned)(key & 0xFFFF);
		int keep = (int)(key >> 40 & 0xFFFF) - 1;
		char a = action_name(key);
		static const char *names[128];
		names['X'] = "removed";
		names['Z'] = "emptied";
		names['U'] = "uid_replaced";
		names['S'] = "date_shifted";
		names['C'] = "text_scrubbed";
		names['M'] = "zip_masked";
		names['K'] = "kept";
		names['D'] = "replaced_dummy";
		names['T'] = "text_scrubbed";
		const char *an = names[(unsigned char)a & 0x7F] ? names[(unsigned char)a & 0x7F] : "other";
		char t[32];
		if (keep >= 0) {
			unsigned kg, ke;
			const char *cr = np__deid_keep_creator(keep, &kg, &ke);
			json_array_append_new(
			    kept, json_pack("{s:s,s:s,s:s,s:I}", "group", (snprintf(t, sizeof t, "%04X", kg), t),
					    "creator", cr ? cr : "", "element",
					    (snprintf(t + 8, 8, "xx%02X", ke), t + 8), "count", (json_int_t)cnt));
			continue;
		}
		if (e == 0xFFFF) {
			snprintf(t, sizeof t, "%04X", g);
			json_t *o = json_object_get(priv, t);
			if (!o) {
				o = json_object();
				json_object_set_new(priv, t, o);
			}
			json_object_set_new(o, an, json_integer(json_integer_value(json_object_get(o, an)) + cnt));
			continue;
		}
		snprintf(t, sizeof t, "(%04X,%04X)", g, e);
		json_t *o = json_object_get(tags, t);
		if (!o) {
			o = json_object();
			json_object_set_new(tags, t, o);
		}
		json_object_set_new(o, an, json_integer(json_integer_value(json_object_get(o, an)) + cnt));
	}
	return json_pack("{s:o,s:o,s:o}", "tags", tags, "private_blocks_kept", kept, "private_groups", priv);
}

static json_t *opts_json(const struct np_deid_opts *o)
{
	return json_pack("{s:s,s:i,s:b,s:b,s:b,s:b,s:s}", "date_handling", o->shift_dates ? "shift" : "remove",
			 "shift_range_days", o->shift_range, "mask_zip", o->mask_zip, "send_accession",
			 o->keep_accession, "remove_software_versions", o->remove_swv, "cap_age_over_89", o->cap_age,
			 "uid_root", o->uid_root);
}

/* ---------- the processing record ---------- */
/* manifest.json grows with the study (path, size, SHA-256 and class of every
 * file), and a jansson tree of it, dumped with sorted keys, cost as much CPU
 * as de-identifying a tenth of the files, on one core after the workers are
 * done. So the file list is written directly, in the bytes np_json_save
 * gives (two-space indent, keys in strcmp order); the small members still go
 * through jansson. tests/unit/test_deid.c checks that both agree. */

/* s as a JSON string, escaped as jansson escapes it. jansson refuses a
 * string that is not UTF-8 (a file with such a SOP Class UID used to go
 * missing from the record): its bytes above 0x7F are written as the Latin-1
 * characters they would be. */
static void js_str(struct np_buf *b, const char *s)
{
	int latin1 = 0;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (*u >= 0x80) {
			json_t *j = json_string(s);
			latin1 = !j;
			json_decref(j);
			break;
		}
	np_buf_json_str(b, s, strlen(s), latin1);
}

/* One member of the top-level object, "key": v, with v's jansson dump at
 * depth 1: every line after the first indented two more spaces (a string
 * never holds a raw newline). */
static void js_member(struct np_buf *b, const char *key, json_t *v, int last)
{
	char *d = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!d)
		b->oom = 1;
	np_buf_add(b, "  ", 2);
	js_str(b, key);
	np_buf_add(b, ": ", 2);
	for (const char *t = d, *nl; t && *t; t = nl + 1) {
		if (!(nl = strchr(t, '\n'))) {
			np_buf_str(b, t);
			break;
		}
		np_buf_add(b, t, (size_t)(nl + 1 - t));
		np_buf_add(b, "  ", 2);
	}
	free(d);
	np_buf_str(b, last ? "\n" : ",\n");
}

/* The files array at depth 1, in list order. */
static void js_files(struct np_buf *b, const struct run *r)
{
	int first = 1;
	np_buf_str(b, "  \"files\": [");
	for (size_t i = 0; i < r->files.n; i++) {
		const struct result *x = &r->res[i];
		if (x->state != 1)
			continue;
		char size[32];
		snprintf(size, sizeof size, "%lld", x->size);
		np_buf_str(b, first ? "\n    {\n      \"path\": " : ",\n    {\n      \"path\": ");
		js_str(b, x->rel);
		np_buf_str(b, ",\n      \"sha256\": ");
		js_str(b, x->sha);
		np_buf_str(b, ",\n      \"size\": ");
		np_buf_str(b, size);
		np_buf_str(b, ",\n      \"sop_class_uid\": ");
		js_str(b, x->f.sop_class);
		np_buf_str(b, "\n    }");
		first = 0;
	}
	np_buf_str(b, first ? "],\n" : "\n  ],\n");
}

/* The excluded files at depth 1: their reason, SOP class and, unless paths
 * hold original UIDs, their input path (np-manifest(5)). */
static void js_excluded(struct np_buf *b, const struct run *r)
{
	int first = 1;
	np_buf_str(b, "  \"excluded\": [");
	for (size_t i = 0; i < r->files.n; i++) {
		const struct result *x = &r->res[i];
		if (x->state != 5)
			continue;
		np_buf_str(b, first ? "\n    {" : ",\n    {");
		if (!r->o->private_paths) {
			np_buf_str(b, "\n      \"input\": ");
			js_str(b, r->files.p[i]);
			np_buf_str(b, ",");
		}
		np_buf_str(b, "\n      \"reason\": ");
		js_str(b, x->why);
		np_buf_str(b, ",\n      \"sop_class_uid\": ");
		js_str(b, x->f.sop_class);
		np_buf_str(b, "\n    }");
		first = 0;
	}
	np_buf_str(b, first ? "],\n" : "\n  ],\n");
}

/* path (0600): input path TAB reason, one line per excluded file, for the
 * site; study mode keeps it in the study's private/ folder. */
static int save_excluded(const char *path, const struct run *r, struct np_err *err)
{
	struct np_buf b = {0};
	for (size_t i = 0; i < r->files.n; i++)
		if (r->res[i].state == 5) {
			np_buf_str(&b, r->files.p[i]);
			np_buf_str(&b, "\t");
			np_buf_str(&b, r->res[i].why);
			np_buf_str(&b, "\n");
		}
	int rc = b.oom ? np_err_set(err, NP_ERR_TEMP, "out of memory")
		       : np_write_atomic(path, b.p ? b.p : "", b.len, 0600, err);
	free(b.p);
	return rc;
}

/* {study: {"files", "date_offset_applied" (of its first file), "series":
 * {series: files}}}. Neighbours in the list are mostly one series: jansson
 * is touched once per run of them, not once per file. */
static json_t *studies_json(const struct run *r)
{
	json_t *studies = json_object();
	for (size_t i = 0, j; studies && i < r->files.n; i = j) {
		const struct result *x = &r->res[i];
		long n = 1;
		for (j = i + 1; x->state == 1 && j < r->files.n; j++) {
			const struct result *y = &r->res[j];
			if (y->state != 1)
				continue;
			if (strcmp(y->f.series_uid, x->f.series_uid) || strcmp(y->f.study_uid, x->f.study_uid))
				break;
			n++;
		}
		if (x->state != 1)
			continue;
		json_t *st = json_object_get(studies, x->f.study_uid);
		if (!st) {
			st = json_pack("{s:i,s:i,s:o}", "files", 0, "date_offset_applied", x->f.offset != 0, "series",
				       json_object());
			if (json_object_set_new(studies, x->f.study_uid, st) < 0)
				return json_decref(studies), NULL;
		}
		json_t *se = json_object_get(st, "series");
		json_object_set_new(st, "files", json_integer(json_integer_value(json_object_get(st, "files")) + n));
		json_object_set_new(se, x->f.series_uid,
				    json_integer(json_integer_value(json_object_get(se, x->f.series_uid)) + n));
	}
	return studies;
}

/* OUT/manifest.json (np-manifest(5)); cj: the counts. */
static int save_manifest(const char *path, const struct run *r, json_t *cj, struct np_err *err)
{
	struct np_buf b = {0};
	char now[32];
	np_time_iso(now);
	json_t *opts = opts_json(r->o), *studies = studies_json(r);
	np_buf_str(&b, "{\n");
	js_member(&b, "counts", cj, 0);
	np_buf_str(&b, "  \"created\": ");
	js_str(&b, now);
	np_buf_str(&b, ",\n  \"deidentified\": true,\n");
	js_excluded(&b, r);
	js_files(&b, r);
	np_buf_str(&b, "  \"format\": \"dicom\",\n");
	js_member(&b, "options", opts, 0);
	np_buf_str(&b, "  \"profile\": ");
	js_str(&b, NP_DEID_PROFILE);
	np_buf_str(&b, ",\n");
	js_member(&b, "studies", studies, 1);
	np_buf_str(&b, "}\n");
	json_decref(opts);
	json_decref(studies);
	int rc = b.oom ? np_err_set(err, NP_ERR_TEMP, "out of memory") : np_write_atomic(path, b.p, b.len, 0644, err);
	free(b.p);
	return rc;
}

static int ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int tmp_sibling(const char *out, char *tmp, size_t sz, struct np_err *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", out);
	char *sl = strrchr(dir, '/');
	const char *base = sl ? sl + 1 : dir;
	if (!*base)
		return np_err_set(err, NP_ERR_PERM, "bad output path");
	if (sl)
		*sl = 0;
	if (snprintf(tmp, sz, "%s/.%s.tmp.%ld", sl ? (*dir ? dir : "/") : ".", base, (long)getpid()) >= (int)sz)
		return np_err_set(err, NP_ERR_PERM, "path too long");
	return 0;
}

int np_deid_run(const char *in, const char *out, const struct np_deid_opts *o, const char *report, const char *uidmap,
		const char *excluded, struct np_err *err)
{
	struct run r = {.in = in, .o = o};
	char tmp[PATH_MAX];
	int rc = -1, nj = o->jobs > 0 ? o->jobs : ncores();
	pthread_t th[64];
	struct worker wk[64];
	json_t *cj = NULL, *rep = NULL;
	if (nj > 64)
		nj = 64;
	if (o->keylen < 16)
		return np_err_set(err, NP_ERR_PERM, "no de-identification key");
	if (!np_is_dir(in))
		return np_err_set(err, NP_ERR_PERM, "input %s is not a folder", in);
	if (np_exists(out))
		return np_err_set(err, NP_ERR_PERM, "output %s already exists", out);
	if (tmp_sibling(out, tmp, sizeof tmp, err) < 0)
		return -1;
	pthread_mutex_init(&r.mu, NULL);
	atomic_init(&r.first_failed, SIZE_MAX);
	if (walk(in, "", &r.files, err) < 0)
		goto done;
	qsort(r.files.p, r.files.n, sizeof *r.files.p, cmpstr);
	r.res = calloc(r.files.n ? r.files.n : 1, sizeof *r.res);
	r.ts = calloc((size_t)nj, sizeof *r.ts);
	r.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!r.res || !r.ts || !r.sha256) {
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		goto done;
	}
	if (np_rmtree(tmp, err) < 0 || np_mkdirs(tmp, 0755, err) < 0)
		goto done;
	r.tmp = tmp;
	r.nshare = nj;
	for (int i = 0; i < nj; i++) {
		atomic_init(&r.share[i].next, r.files.n * (size_t)i / (size_t)nj);
		r.share[i].end = r.files.n * (size_t)(i + 1) / (size_t)nj;
	}
	int started = 0;
	for (int i = 0; i < nj; i++) {
		r.ts[i] = np_deid_tagstat_new();
		wk[i].r = &r;
		wk[i].idx = i;
		atomic_fetch_add(&r.running, 1);
		if (pthread_create(&th[i], NULL, work, &wk[i]) != 0) {
			atomic_fetch_sub(&r.running, 1);
			break;
		}
		started++;
	}
	if (!started) {
		np_err_set(err, NP_ERR_TEMP, "unable to start worker threads");
		goto fail;
	}
	int flush_err = flush_while_running(&r);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	size_t ff = atomic_load(&r.first_failed);
	if (ff != SIZE_MAX) {
		char name[PATH_MAX + 64];
		file_name(&r, ff, name, sizeof name);
		const struct np_err *e = r.res[ff].err;
		np_err_set(err, e ? e->cls : NP_ERR_TEMP, "%s: %s", name, e ? e->msg : "out of memory");
		err->sys = e ? e->sys : 0;
		goto fail;
	}
	if (flush_err) {
		np_err_sys(err, flush_err, "unable to sync the output");
		goto fail;
	}
	if (settle_dups(&r, err) < 0)
		goto fail;
	/* step 6: the expected files, nothing else, one offset per study */
	long counts[NP_DC_N] = {0}, written = 0, ontree = 0;
	for (size_t i = 0; i < r.files.n; i++) {
		struct result *x = &r.res[i];
		if (x->state == 2) {
			counts[NP_DC_SKIPPED]++;
			continue;
		}
		if (x->state == 3) {
			counts[NP_DC_DUPLICATES]++;
			continue;
		}
		if (x->state == 5) {
			counts[NP_DC_EXCLUDED]++;
			continue;
		}
		if (x->state != 1) {
			np_err_set(err, NP_ERR_PERM, "post-validation: file %zu was not processed", i + 1);
			goto fail;
		}
		written++;
		for (int k = 0; k < NP_DC_N; k++)
			if (k != NP_DC_SKIPPED && k != NP_DC_DUPLICATES)
				counts[k] += x->f.counts[k];
	}
	if (count_tree(tmp, &ontree) < 0 || ontree != written) {
		np_err_set(err, NP_ERR_PERM, "post-validation: %ld files expected in the output, %ld found", written,
			   ontree);
		goto fail;
	}
	if (!written) {
		size_t k = 0;
		while (k < r.files.n && r.res[k].state != 5)
			k++;
		if (k < r.files.n) {
			char name[PATH_MAX + 64];
			file_name(&r, k, name, sizeof name);
			np_err_set(err, NP_ERR_PERM,
				   "no instance to de-identify: %ld file(s) excluded, the first, %s: %s",
				   counts[NP_DC_EXCLUDED], name, r.res[k].why);
		} else {
			np_err_set(err, NP_ERR_PERM, "no DICOM instances in the input");
		}
		goto fail;
	}
	cj = json_object();
	for (int k = 0; k < NP_DC_N; k++)
		json_object_set_new(cj, np_deid_count_names[k], json_integer(counts[k]));
	char mp[PATH_MAX];
	snprintf(mp, sizeof mp, "%s/manifest.json", tmp);
	if (save_manifest(mp, &r, cj, err) < 0 || (excluded && save_excluded(excluded, &r, err) < 0))
		goto fail;
	/* one syncfs instead of an fsync per file, then the rename commits */
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || syncfs(dfd) < 0) {
		np_err_sys(err, errno, "unable to sync the output");
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	close(dfd);
	if (uidmap) {
		size_t cap = 4096, n = 0;
		char *m = malloc(cap);
		for (size_t i = 0; m && i < r.files.n; i++) {
			struct result *x = &r.res[i];
			if (x->state != 1)
				continue;
			if (cap - n < 1024) {
				char *nm = realloc(m, cap *= 2);
				if (!nm) {
					free(m);
					m = NULL;
					break;
				}
				m = nm;
			}
			n += (size_t)snprintf(m + n, cap - n, "study\t%s\t%s\nseries\t%s\t%s\nsop\t%s\t%s\n",
					      x->f.orig_study, x->f.study_uid, x->f.orig_series, x->f.series_uid,
					      x->f.orig_sop, x->f.sop_uid);
		}
		if (!m) {
			np_err_set(err, NP_ERR_TEMP, "out of memory");
			goto fail;
		}
		int wr = np_write_atomic(uidmap, m, n, 0600, err);
		free(m);
		if (wr < 0)
			goto fail;
	}
	np_crash_point("deid-before-rename");
	if (np_rename_durable(tmp, out, err) < 0)
		goto fail;
	if (report) {
		for (int i = 1; i < nj; i++) {
			size_t k = 0;
			uint64_t key;
			long cnt;
			while ((k = np__deid_tagstat_each(r.ts[i], k, &key, &cnt)))
				np__deid_tagstat_add(r.ts[0], key, cnt);
		}
		rep = report_json(r.ts[0]);
		json_object_set_new(rep, "profile", json_string(NP_DEID_PROFILE));
		json_object_set_new(rep, "options", opts_json(o));
		json_object_set(rep, "counts", cj);
		if (np_json_save(report, rep, 0600, err) < 0)
			goto done; /* the output is complete; only the report failed */
	}
	np_info(o->id, "de-identified files=%ld skipped=%ld excluded=%ld duplicates=%ld uids=%ld private_kept=%ld",
		written, counts[NP_DC_SKIPPED], counts[NP_DC_EXCLUDED], counts[NP_DC_DUPLICATES], counts[NP_DC_UID],
		counts[NP_DC_PRIV_KEPT]);
	if (counts[NP_DC_CSA_DROPPED])
		np_warn(o->id,
			"%ld Siemens CSA header(s) did not parse and were removed: diffusion values in them are lost",
			counts[NP_DC_CSA_DROPPED]);
	/* the first few by name; the manifest lists them all */
	for (size_t i = 0, shown = 0; i < r.files.n && shown < 10; i++)
		if (r.res[i].state == 5) {
			char name[PATH_MAX + 64];
			file_name(&r, i, name, sizeof name);
			np_warn(o->id, "%s excluded: %s", name, r.res[i].why);
			if (++shown == 10 && counts[NP_DC_EXCLUDED] > 10)
				np_warn(o->id, "%ld more files excluded (see the manifest)",
					counts[NP_DC_EXCLUDED] - 10);
		}
	rc = 0;
	goto done;
fail:
	np_rmtree(tmp, NULL);
done:
	json_decref(cj);
	json_decref(rep);
	if (r.ts)
		for (int i = 0; i < nj; i++)
			np_deid_tagstat_free(r.ts[i]);
	free(r.ts);
	for (size_t i = 0; r.res && i < r.files.n; i++)
		free(r.res[i].err);
	free(r.res);
	EVP_MD_free(r.sha256);
	fl_free(&r.files);
	pthread_mutex_destroy(&r.mu);
	return rc;
}

/* NIfTI studies are not de-identified (user guide): hard links (or copies)
 * of nifti/ into deid/, with a manifest saying so. */
static int link_tree(const char *src, const char *dst, json_t *files, const char *rel, struct np_err *err)
{
	char sd[PATH_MAX], dd[PATH_MAX];
	snprintf(sd, sizeof sd, "%s%s%s", src, *rel ? "/" : "", rel);
	snprintf(dd, sizeof dd, "%s%s%s", dst, *rel ? "/" : "", rel);
	if (np_mkdirs(dd, 0755, err) < 0)
		return -1;
	struct flist l = {0};
	DIR *d = opendir(sd);
	if (!d)
		return np_err_sys(err, errno, "unable to open folder %s", sd);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fl_add(&l, e->d_name);
	closedir(d);
	qsort(l.p, l.n, sizeof *l.p, cmpstr);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		char r[PATH_MAX], sp[PATH_MAX * 2], dp[PATH_MAX * 2];
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", l.p[i]);
		snprintf(sp, sizeof sp, "%s/%s", src, r);
		snprintf(dp, sizeof dp, "%s/%s", dst, r);
		struct stat st;
		if (lstat(sp, &st) < 0) {
			rc = np_err_sys(err, errno, "unable to stat %s", sp);
		} else if (S_ISDIR(st.st_mode)) {
			rc = link_tree(src, dst, files, r, err);
		} else if (S_ISREG(st.st_mode)) {
			if (link(sp, dp) < 0) {
				size_t n;
				char *b = np_read_file(sp, (size_t)1 << 34, &n, err);
				if (!b || np_write_atomic(dp, b, n, 0644, err) < 0)
					rc = -1;
				free(b);
			}
			if (rc == 0)
				json_array_append_new(
				    files, json_pack("{s:s,s:I}", "path", r, "size", (json_int_t)st.st_size));
		}
	}
	fl_free(&l);
	return rc;
}

static int nifti_copy(const char *src, const char *out, const struct np_deid_opts *o, struct np_err *err)
{
	char tmp[PATH_MAX], mp[PATH_MAX];
	if (tmp_sibling(out, tmp, sizeof tmp, err) < 0 || np_rmtree(tmp, err) < 0)
		return -1;
	json_t *files = json_array();
	char now[32];
	np_time_iso(now);
	json_t *man =
	    json_pack("{s:s,s:b,s:s,s:s,s:o}", "format", "nifti", "deidentified", 0, "note",
		      "NIfTI studies are not de-identified; files linked as received", "created", now, "files", files);
	snprintf(mp, sizeof mp, "%s/manifest.json", tmp);
	if (link_tree(src, tmp, files, "", err) < 0 || np_json_save(mp, man, 0644, err) < 0 ||
	    np_rename_durable(tmp, out, err) < 0) {
		json_decref(man);
		np_rmtree(tmp, NULL);
		return -1;
	}
	np_info(o->id, "nifti study linked as is files=%zu", json_array_size(files));
	json_decref(man);
	return 0;
}

int np_deid_study(const char *studydir, struct np_deid_opts *o, const char *report, struct np_err *err)
{
	char in[PATH_MAX], out[PATH_MAX], priv[PATH_MAX], state[PATH_MAX], map[PATH_MAX], rep[PATH_MAX], exc[PATH_MAX];
	snprintf(in, sizeof in, "%s/dicom", studydir);
	snprintf(out, sizeof out, "%s/deid", studydir);
	snprintf(priv, sizeof priv, "%s/private", studydir);
	if (np_mkdirs(priv, 0700, err) < 0)
		return -1;
	chmod(priv, 0700);
	/* a deid/ or temp folder from an interrupted earlier run is rebuilt */
	if (np_rmtree(out, err) < 0)
		return -1;
	DIR *d = opendir(studydir);
	if (!d)
		return np_err_sys(err, errno, "unable to open folder %s", studydir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".deid.tmp.", 10))
			continue;
		char p[PATH_MAX * 2];
		snprintf(p, sizeof p, "%s/%s", studydir, e->d_name);
		np_rmtree(p, NULL);
	}
	closedir(d);
	if (!np_is_dir(in)) {
		char nif[PATH_MAX];
		snprintf(nif, sizeof nif, "%s/nifti", studydir);
		if (np_is_dir(nif))
			return nifti_copy(nif, out, o, err);
		return np_err_set(err, NP_ERR_PERM, "study has neither dicom/ nor nifti/");
	}
	snprintf(state, sizeof state, "%s/deid.json", priv);
	snprintf(map, sizeof map, "%s/uidmap.tsv", priv);
	snprintf(exc, sizeof exc, "%s/excluded.tsv", priv);
	o->private_paths = 1; /* np-recv names files after their original UIDs */
	if (np_exists(state)) {
		json_t *s = np_json_load(state, 65536, err);
		if (!s)
			return -1;
		json_t *v = json_object_get(s, "date_offset_days");
		if (json_is_integer(v) && json_integer_value(v) != 0) {
			o->fixed_offset = 1;
			o->date_offset = (int)json_integer_value(v);
		}
		json_decref(s);
	}
	if (!report) {
		snprintf(rep, sizeof rep, "%s/deid-report.json", priv);
		report = rep;
	}
	if (np_deid_run(in, out, o, report, map, exc, err) < 0)
		return -1;
	if (!o->fixed_offset) {
		/* remember the offset so re-runs keep it even if the key changes;
		 * the uploaded manifest never holds it */
		int off = 0;
		size_t n;
		char *t = np_read_file(map, (size_t)1 << 30, &n, err);
		if (!t)
			return -1;
		char uid[65] = "";
		if (sscanf(t, "study\t%64[0-9.]", uid) == 1)
			off = np_deid_offset(o, uid);
		free(t);
		json_t *s = json_pack("{s:i,s:s}", "date_offset_days", off, "profile", NP_DEID_PROFILE);
		int rc = np_json_save(state, s, 0600, err);
		json_decref(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}
