// SPDX-License-Identifier: Apache-2.0
/* np_httpd_upload: manual uploads. The multipart body is streamed to
 * spool/tmp/upload-<id>/files/ (never held in memory), the size limit
 * (http.max_body_mb) is enforced while streaming, progress is visible at
 * GET /api/uploads/{id}, and the finished folder is handed to the import
 * stage. */
#include "np_err.h"
#include "np_fs.h"
#include "np_import.h"
#include "np_httpd_int.h"
#include "np_log.h"
#include "np_util.h"

#include <civetweb.h>
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct upload {
	struct np_req *r;
	char id[40];
	char dir[PATH_MAX];
	json_t *form; /* text fields */
	char key[64]; /* current field */
	int fd;	      /* current file or -1 */
	char *val;    /* current text value */
	size_t vlen;
	long long received, limit;
	int files;
	int too_large, failed;
};

static void progress(struct upload *u, const char *state)
{
	pthread_mutex_lock(&u->r->srv->lock);
	json_object_set_new(u->r->srv->uploads, u->id,
			    json_pack("{s:s,s:I,s:I,s:i,s:s}", "id", u->id, "received", (json_int_t)u->received,
				      "total", (json_int_t)u->r->ri->content_length, "files", u->files, "state",
				      state));
	pthread_mutex_unlock(&u->r->srv->lock);
}

static void end_field(struct upload *u)
{
	if (u->fd >= 0) {
		if (fsync(u->fd) < 0)
			u->failed = 1;
		close(u->fd);
		u->fd = -1;
	}
	if (u->val) {
		json_t *s = json_stringn(u->val, u->vlen);
		if (s)
			json_object_set_new(u->form, u->key, s);
		free(u->val);
		u->val = NULL;
		u->vlen = 0;
	}
}

/* A safe base name for a client-supplied file name. */
static void safe_name(const char *in, char *out, size_t sz)
{
	const char *b = strrchr(in, '/');
	b = b ? b + 1 : in;
	const char *bs = strrchr(b, '\\');
	b = bs ? bs + 1 : b;
	size_t o = 0;
	for (; *b && o + 1 < sz && o < 200; b++)
		out[o++] = (*b == '/' || (unsigned char)*b < 32) ? '_' : *b;
	out[o] = 0;
	if (!o || out[0] == '.')
		out[0] = '_';
}

static int field_found(const char *key, const char *filename, char *path, size_t pathlen, void *ud)
{
	struct upload *u = ud;
	(void)path;
	(void)pathlen;
	end_field(u);
	if (u->too_large || u->failed)
		return MG_FORM_FIELD_STORAGE_ABORT;
	snprintf(u->key, sizeof u->key, "%s", key);
	if (filename && *filename) {
		char name[256], p[PATH_MAX];
		safe_name(filename, name, sizeof name);
		snprintf(p, sizeof p, "%s/files/%s", u->dir, name);
		for (int i = 1; np_exists(p) && i < 100000; i++) {
			char sub[PATH_MAX];
			snprintf(sub, sizeof sub, "%s/files/dup-%d", u->dir, i);
			snprintf(p, sizeof p, "%s/%s", sub, name);
			if (!np_exists(p))
				mkdir(sub, 0750);
		}
		u->fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (u->fd < 0) {
			u->failed = 1;
			return MG_FORM_FIELD_STORAGE_ABORT;
		}
		u->files++;
	}
	return MG_FORM_FIELD_STORAGE_GET;
}

static int field_get(const char *key, const char *value, size_t len, void *ud)
{
	struct upload *u = ud;
	(void)key;
	u->received += (long long)len;
	if (u->received > u->limit) {
		u->too_large = 1;
		return MG_FORM_FIELD_HANDLE_ABORT;
	}
	if (u->fd >= 0) {
		while (len) {
			ssize_t n = write(u->fd, value, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				u->failed = 1;
				return MG_FORM_FIELD_HANDLE_ABORT;
			}
			value += n;
			len -= (size_t)n;
		}
	} else {
		if (u->vlen + len > 4096) {
			u->failed = 1;
			return MG_FORM_FIELD_HANDLE_ABORT;
		}
		char *nv = realloc(u->val, u->vlen + len + 1);
		if (!nv)
			return MG_FORM_FIELD_HANDLE_ABORT;
		memcpy(nv + u->vlen, value, len);
		u->val = nv;
		u->vlen += len;
	}
	if ((u->received & 0xFFFFF) < (long long)len)
		progress(u, "receiving");
	return MG_FORM_FIELD_HANDLE_GET;
}

static int field_store(const char *path, long long size, void *ud)
{
	(void)path;
	(void)size;
	(void)ud;
	return MG_FORM_FIELD_HANDLE_NEXT;
}

/* The guide's upload form rules. Returns NULL or a message. */
static const char *check_form(json_t *form)
{
	const char *name = json_string_value(json_object_get(form, "study_name"));
	if (name && *name) {
		regex_t re;
		regcomp(&re, "^[A-Za-z0-9 /:-]{5,50}$", REG_EXTENDED | REG_NOSUB);
		int bad = regexec(&re, name, 0, NULL, 0) != 0;
		regfree(&re);
		if (bad)
			return "study_name: 5 to 50 letters, numbers, spaces, '/', ':' or '-'";
	}
	const char *sex = json_string_value(json_object_get(form, "patient_sex"));
	if (sex && *sex && strcmp(sex, "F") && strcmp(sex, "M") && strcmp(sex, "O"))
		return "patient_sex: F, M or O";
	const char *age = json_string_value(json_object_get(form, "patient_age"));
	if (age && *age) {
		char *e;
		long a = strtol(age, &e, 10);
		if (*e || a < 0 || a > 150)
			return "patient_age: a number of years from 0 to 150";
	}
	const char *type = json_string_value(json_object_get(form, "type"));
	if (type && *type && strcmp(type, "folder") && strcmp(type, "zip") && strcmp(type, "group"))
		return "type: folder, zip or group";
	return NULL;
}

static int id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 8 || n > 36)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static const char *form_str(json_t *form, const char *k)
{
	const char *v = json_string_value(json_object_get(form, k));
	return v && *v ? v : NULL;
}

/* np-import semantics: one study from the folder (or the single ZIP), or
 * for type "group" one study per uploaded ZIP. */
static int import(struct np_req *r, struct upload *u, const char *files)
{
	char prodbuf[512] = "", *prods[16];
	size_t np = 0;
	const char *pv = form_str(u->form, "products");
	if (pv) {
		snprintf(prodbuf, sizeof prodbuf, "%s", pv);
		for (char *save = NULL, *t = strtok_r(prodbuf, ", ", &save); t && np < 16;
		     t = strtok_r(NULL, ", ", &save))
			prods[np++] = t;
	}
	struct np_import_opts o = {.name = form_str(u->form, "study_name"),
				   .accession = form_str(u->form, "accession"),
				   .age = form_str(u->form, "patient_age"),
				   .sex = form_str(u->form, "patient_sex"),
				   .group = form_str(u->form, "group"),
				   .products = (const char *const *)prods,
				   .nproducts = np,
				   .max_bytes = u->limit};
	struct np_err err = {0};
	if (np_import_check_opts(&o, &err) < 0)
		return np__reply_error(r, 400, "bad_request", "%s", err.msg);
	const char *type = form_str(u->form, "type");
	json_t *ids = json_array();
	char npuid[37];
	struct dirent **ents = NULL;
	int n = scandir(files, &ents, NULL, alphasort), rc = 0;
	int group = type && !strcmp(type, "group");
	if (!group && (!type || strcmp(type, "zip") || n != 3)) {
		rc = np_import_path(r->srv->home, files, &o, npuid, &err);
		if (rc == 0)
			json_array_append_new(ids, json_string(npuid));
	} else {
		for (int i = 0; i < n && rc == 0; i++) {
			char p[PATH_MAX];
			if (ents[i]->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "%s/%s", files, ents[i]->d_name);
			if (!np_is_dir(p) && (rc = np_import_path(r->srv->home, p, &o, npuid, &err)) == 0)
				json_array_append_new(ids, json_string(npuid));
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (rc < 0) {
		json_decref(ids);
		return err.cls == NP_ERR_TEMP ? np__reply_err(r, &err)
					      : np__reply_error(r, 400, "import_refused", "%s", err.msg);
	}
	np_info(NULL, "upload imported id=%s studies=%zu", u->id, json_array_size(ids));
	return np__reply_json(r, 201, json_pack("{s:s,s:o}", "upload_id", u->id, "npuids", ids));
}

struct import_job {
	struct np_req *r;
	struct upload *u;
	const char *files;
	int status;
};

static void *import_thread(void *p)
{
	struct import_job *j = p;
	j->status = import(j->r, j->u, j->files);
	return NULL;
}

/* The import (DICOM parsing, settings, regexes) needs more stack than
 * CivetWeb gives its workers: run it on a thread of its own and wait. */
static int import_big_stack(struct np_req *r, struct upload *u, const char *files)
{
	struct import_job j = {r, u, files, 500};
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 8 << 20);
	int rc = pthread_create(&t, &a, import_thread, &j);
	pthread_attr_destroy(&a);
	if (rc != 0)
		return np__reply_error(r, 503, "unavailable", "unable to start the import");
	pthread_join(t, NULL);
	return j.status;
}

/* A refused body is read and dropped up to this size; a larger one is cut. */
enum { DRAIN_MAX = 64 << 20 };

/* Read and drop what is left of a refused request body (up to max bytes):
 * closing a socket with unread data makes the kernel send a reset, and the
 * client may then lose the 413 we just sent. */
static void drain_body(struct np_req *r, long long max)
{
	char buf[4096]; /* the web server's threads have small stacks */
	long long n = 0;
	int k;
	while (n < max && (k = mg_read(r->c, buf, sizeof buf)) > 0)
		n += k;
}

int np__h_upload(struct np_req *r)
{
	const char *ct = mg_get_header(r->c, "Content-Type");
	if (!ct || strncasecmp(ct, "multipart/form-data", 19))
		return np__reply_error(r, 415, "unsupported_media_type", "the body must be multipart/form-data");
	struct upload u;
	memset(&u, 0, sizeof u);
	u.r = r;
	u.fd = -1;
	u.limit = np_config_int(&r->cfg, "http.max_body_mb") * 1024 * 1024;
	if (r->ri->content_length > u.limit) {
		mg_disable_connection_keep_alive(r->c);
		int st = np__reply_error(r, 413, "too_large", "the upload is larger than %lld MiB", u.limit >> 20);
		drain_body(r, DRAIN_MAX);
		return st;
	}
	struct np_err err = {0};
	if (np_query_get(r->query, "upload_id", u.id, sizeof u.id) != 1 || !id_ok(u.id)) {
		if (np_uuid4(u.id, &err) < 0)
			return np__reply_err(r, &err);
	}
	char files[PATH_MAX];
	snprintf(u.dir, sizeof u.dir, "%s/spool/tmp/upload-%s", r->srv->home, u.id);
	snprintf(files, sizeof files, "%s/files", u.dir);
	if (np_exists(u.dir))
		return np__reply_error(r, 409, "conflict", "upload %s exists", u.id);
	if (np_mkdirs(files, 0750, &err) < 0)
		return np__reply_err(r, &err);
	u.form = json_object();
	progress(&u, "receiving");
	struct mg_form_data_handler fdh = {field_found, field_get, field_store, &u};
	int n = mg_handle_form_request(r->c, &fdh);
	end_field(&u);
	int status;
	const char *msg = NULL;
	if (u.too_large) {
		mg_disable_connection_keep_alive(r->c);
		status = np__reply_error(r, 413, "too_large", "the upload is larger than %lld MiB", u.limit >> 20);
		drain_body(r, DRAIN_MAX);
	} else if (u.failed || n < 0) {
		mg_disable_connection_keep_alive(r->c);
		status = np__reply_error(r, u.failed ? 503 : 400, u.failed ? "unavailable" : "bad_request", "%s",
					 u.failed ? "unable to store the upload" : "malformed multipart body");
	} else if (!u.files) {
		status = np__reply_error(r, 400, "bad_request", "no files in the upload");
	} else if ((msg = check_form(u.form))) {
		status = np__reply_error(r, 400, "bad_request", "%s", msg);
	} else {
		np_info(NULL, "upload received id=%s files=%d bytes=%lld", u.id, u.files, u.received);
		progress(&u, "importing");
		status = import_big_stack(r, &u, files);
	}
	progress(&u, status < 300 ? "imported" : "failed");
	np_rmtree(u.dir, NULL);
	json_decref(u.form);
	return status;
}

int np__h_upload_status(struct np_req *r)
{
	pthread_mutex_lock(&r->srv->lock);
	json_t *u = json_deep_copy(json_object_get(r->srv->uploads, r->param[0]));
	pthread_mutex_unlock(&r->srv->lock);
	if (!u)
		return np__reply_error(r, 404, "not_found", "no such upload");
	return np__reply_json(r, 200, u);
}
