// SPDX-License-Identifier: Apache-2.0
// The senders of np_deliver: HTTP (REST/webhook) and e-mail over libcurl,
// and the dispatcher np_deliver_send. DICOM is in np_deliver_dicom.c.
#include "np_deliver.h"

#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_template.h"
#include "np_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reports above this are refused rather than base64'd into memory. */
#define MAX_REPORT (64u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static enum np_err_class curl_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_READ_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return NP_ERR_TEMP;
	default:
		return NP_ERR_PERM;
	}
}

static CURL *easy_new(char *errbuf, struct np_err *err)
{
	pthread_once(&curl_once, curl_init);
	CURL *c = curl_easy_init();
	if (!c) {
		np_err_sys(err, ENOMEM, "unable to start a transfer");
		return NULL;
	}
	errbuf[0] = 0;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "neuropacs-agent/" NP_VERSION);
	return c;
}

/* Base64 of a file, NUL-terminated, malloc'd. */
static char *base64_file(const char *path, struct np_err *err)
{
	size_t n;
	char *data = np_read_file(path, MAX_REPORT, &n, err);
	if (!data)
		return NULL;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out) {
		free(data);
		np_err_sys(err, ENOMEM, "unable to encode the report");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
	free(data);
	return out;
}

static size_t discard(char *p, size_t sz, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return sz * n;
}

int np_deliver_http(const struct np_config *cfg, json_t *dest, const char *secret_key, const char *body,
		    struct np_err *err)
{
	const char *url = np_json_str(dest, "url", "");
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return np_err_set(err, NP_ERR_PERM, "REST destination needs an http(s) URL");
	const char *auth = np_json_str(dest, "auth", "none");
	char *secret = NULL;
	if (strcmp(auth, "none")) {
		struct np_err e2 = {0};
		secret = secret_key ? np_config_secret(cfg->home, secret_key, &e2) : NULL;
		if (!secret)
			return np_err_set(err, NP_ERR_PERM, "REST destination uses %s auth but has no password/token",
					  auth);
	}
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = easy_new(errbuf, err);
	if (!c) {
		free(secret);
		return -1;
	}
	struct curl_slist *h = NULL;
	int have_ct = 0;
	const char *k;
	json_t *v;
	json_object_foreach (np_json_path(dest, "headers"), k, v) {
		const char *s = json_string_value(v);
		if (!s || strpbrk(k, "\r\n:") || strpbrk(s, "\r\n"))
			continue; /* never let a setting inject another header */
		char line[4096];
		snprintf(line, sizeof line, "%s: %s", k, s);
		h = curl_slist_append(h, line);
		have_ct |= !strcasecmp(k, "content-type");
	}
	if (!have_ct) {
		const char *p = body;
		while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			p++;
		h = curl_slist_append(h, *p == '{' || *p == '[' ? "Content-Type: application/json"
								: "Content-Type: text/plain; charset=utf-8");
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	if (!strcmp(np_json_str(dest, "method", "POST"), "PUT"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	if (!strcmp(auth, "basic")) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, np_json_str(dest, "username", ""));
		curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
	} else if (!strcmp(auth, "bearer")) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, secret);
	}
	const char *ca = np_json_str(dest, "tls_ca_file", "");
	if (*ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (rc != CURLE_OK)
		return np_err_set(err, curl_class(rc), "REST request failed: %s",
				  *errbuf ? errbuf : curl_easy_strerror(rc));
	if (code < 200 || code > 299)
		return np_err_set(err, code >= 500 || code == 429 || code == 408 ? NP_ERR_TEMP : NP_ERR_PERM,
				  "REST endpoint answered HTTP %ld", code);
	return 0;
}

/* RFC 2047 encoded-word for a header value with non-ASCII bytes. */
static char *header_word(const char *s)
{
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		ascii &= *p < 0x80;
	size_t n = strlen(s);
	if (ascii)
		return strdup(s);
	char *out = malloc(4 * ((n + 2) / 3) + 16);
	if (!out)
		return NULL;
	memcpy(out, "=?UTF-8?B?", 10);
	int k = EVP_EncodeBlock((unsigned char *)out + 10, (const unsigned char *)s, (int)n);
	memcpy(out + 10 + k, "?=", 3);
	return out;
}

/* Split "a@x, b@y" into an slist of "<a@x>". Returns the count. */
static int add_recipients(struct curl_slist **l, const char *list, char *to_hdr, size_t tosz)
{
	int n = 0;
	size_t used = 0;
	char *copy = strdup(list);
	if (!copy)
		return 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",;", &save); t; t = strtok_r(NULL, ",;", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		char *e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*t || strpbrk(t, "<>\r\n \""))
			continue;
		char addr[512];
		snprintf(addr, sizeof addr, "<%s>", t);
		*l = curl_slist_append(*l, addr);
		if (used < tosz)
			used += (size_t)snprintf(to_hdr + used, tosz - used, "%s%s", n ? ", " : "", t);
		n++;
	}
	free(copy);
	return n;
}

/* head + sep + s in a new string; s is freed. NULL when out of memory. */
static char *prepend(char *s, const char *head, const char *sep)
{
	char *d = NULL;
	if (asprintf(&d, "%s%s%s", head, sep, s) < 0)
		d = NULL;
	free(s);
	return d;
}

static int send_email(const struct np_config *cfg, const char *recipients, const char *subject, const char *body,
		      const char *attach, const char *filename, const char *content_type, struct np_err *err)
{
	const char *host = np_config_str(cfg, "smtp.host");
	if (!*host)
		return np_err_set(err, NP_ERR_PERM, "e-mail needs smtp.host in the settings");
	const char *sec = np_config_str(cfg, "smtp.security");
	const char *from = np_config_str(cfg, "smtp.from");
	char url[600];
	snprintf(url, sizeof url, "%s://%s:%lld", !strcmp(sec, "smtps") ? "smtps" : "smtp", host,
		 np_config_int(cfg, "smtp.port"));
	struct curl_slist *rcpt = NULL, *h = NULL;
	char to[4096] = "";
	if (add_recipients(&rcpt, recipients ? recipients : "", to, sizeof to) == 0)
		return np_err_set(err, NP_ERR_PERM, "e-mail destination has no valid recipient");
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = easy_new(errbuf, err);
	if (!c) {
		curl_slist_free_all(rcpt);
		return -1;
	}
	char *secret = NULL;
	const char *user = np_config_str(cfg, "smtp.username");
	if (*user) {
		struct np_err e2 = {0};
		secret = np_config_secret(cfg->home, "smtp.password", &e2);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, secret ? secret : "");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!strcmp(sec, "starttls"))
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	const char *ca = np_config_str(cfg, "smtp.ca_file");
	if (*ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	char mfrom[512], line[8192];
	snprintf(mfrom, sizeof mfrom, "<%s>", from);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, mfrom);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);

	char *subj = header_word(subject ? subject : "");
	snprintf(line, sizeof line, "Subject: %s", subj ? subj : "");
	free(subj);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "From: %s", from);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "To: %s", to);
	h = curl_slist_append(h, line);
	char date[64], id[37] = "";
	time_t now = (time_t)np_now();
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(line, sizeof line, "Date: %s", date);
	h = curl_slist_append(h, line);
	if (np_uuid4(id, NULL) == 0) {
		snprintf(line, sizeof line, "Message-ID: <%s@neuropacs-agent>", id);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);

	curl_mime *mime = curl_mime_init(c);
	curl_mimepart *part = curl_mime_addpart(mime);
	curl_mime_data(part, body ? body : "", CURL_ZERO_TERMINATED);
	curl_mime_type(part, "text/plain; charset=utf-8");
	curl_mime_encoder(part, "quoted-printable");
	if (attach) {
		part = curl_mime_addpart(mime);
		if (curl_mime_filedata(part, attach) != CURLE_OK) {
			curl_mime_free(mime);
			curl_easy_cleanup(c);
			curl_slist_free_all(rcpt);
			curl_slist_free_all(h);
			free(secret);
			return np_err_set(err, NP_ERR_PERM, "unable to read the report to attach");
		}
		curl_mime_filename(part, filename ? filename : "report");
		curl_mime_type(part, content_type ? content_type : "application/octet-stream");
		curl_mime_encoder(part, "base64");
	}
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_mime_free(mime);
	curl_slist_free_all(rcpt);
	curl_slist_free_all(h);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (rc != CURLE_OK) {
		enum np_err_class cls = curl_class(rc);
		if (code >= 400 && code < 500)
			cls = NP_ERR_TEMP; /* SMTP 4xx: transient by definition */
		else if (code >= 500)
			cls = NP_ERR_PERM;
		return np_err_set(err, cls, "e-mail via %s failed: %s", host,
				  *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	return 0;
}

int np_deliver_email(const struct np_config *cfg, const char *recipients, const char *subject, const char *body,
		     const char *attach, const char *filename, const char *content_type, struct np_err *err)
{
	/* Every e-mail of a demo home (results, group reports, notifications)
	 * says it comes from the synthetic stand-in. */
	char *marked = NULL;
	if (np_config_bool(cfg, "cloud.demo") && strncmp(subject, "[DEMO]", 6)) {
		if (asprintf(&marked, "[DEMO] %s", subject) < 0)
			return np_err_sys(err, ENOMEM, "unable to compose the e-mail");
		subject = marked;
	}
	int rc = send_email(cfg, recipients, subject, body, attach, filename, content_type, err);
	free(marked);
	return rc;
}

int np_deliver_send(const struct np_config *cfg, json_t *dest, const char *secret_key,
		    const struct np_deliver_item *item, struct np_err *err)
{
	const char *type = np_json_str(dest, "type", "none");
	if (!strcmp(type, "none"))
		return 0;
	if (!strcmp(type, "dicom_pdf") || !strcmp(type, "dicom_sr")) {
		if (!item->dicom_file)
			return np_err_set(err, NP_ERR_PERM, "nothing to send as %s", type);
		return np_deliver_dicom(cfg, dest, item->dicom_file, err);
	}
	if (!strcmp(type, "rest")) {
		char *b64 = NULL;
		if (item->file && !(b64 = base64_file(item->file, err)))
			return -1;
		struct np_tpl_var *vars = calloc(item->nvars + 1, sizeof *vars);
		if (!vars) {
			free(b64);
			return np_err_sys(err, ENOMEM, "unable to build the request");
		}
		memcpy(vars, item->vars, item->nvars * sizeof *vars);
		vars[item->nvars] = (struct np_tpl_var){"report_base64", b64};
		const char *tpl = np_json_str(dest, "body_template", "");
		const char *p = tpl;
		while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			p++;
		char *body = np_template_render(tpl, *p == '{' || *p == '[' ? NP_TPL_JSON : NP_TPL_TEXT, vars,
						item->nvars + 1, err);
		free(vars);
		free(b64);
		if (!body)
			return -1;
		int rc = np_deliver_http(cfg, dest, secret_key, body, err);
		free(body);
		return rc;
	}
	if (!strcmp(type, "email")) {
		char *subj = np_template_render(np_json_str(dest, "subject_template", ""), NP_TPL_LINE, item->vars,
						item->nvars, err);
		char *body = subj ? np_template_render(np_json_str(dest, "email_body_template", ""), NP_TPL_TEXT,
						       item->vars, item->nvars, err)
				  : NULL;
		int rc = -1;
		/* Demo mode: results of the synthetic stand-in say so before
		 * anything else (np_deliver_email marks the subject). */
		int rendered = subj && body;
		if (rendered && item->notice && *item->notice)
			body = prepend(body, item->notice, "\n\n");
		if (subj && body)
			rc = np_deliver_email(cfg, np_json_str(dest, "recipients", ""), subj, body, item->file,
					      item->filename, item->content_type, err);
		else if (rendered)
			np_err_sys(err, ENOMEM, "unable to compose the e-mail");
		free(subj);
		free(body);
		return rc;
	}
	return np_err_set(err, NP_ERR_PERM, "unknown destination type %s", type);
}
