// SPDX-License-Identifier: Apache-2.0
#include "np_http.h"

#include "np_err.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct np_http {
	CURL *curl;
	char ca_file[4096];
	long connect_timeout, stall_timeout;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct np_http *np_http_new(const struct np_http_opts *opts, struct np_err *err)
{
	pthread_once(&curl_once, curl_init);
	struct np_http *h = calloc(1, sizeof *h);
	if (!h || !(h->curl = curl_easy_init())) {
		free(h);
		np_err_set(err, NP_ERR_TEMP, "unable to start the HTTP client");
		return NULL;
	}
	if (opts->ca_file)
		snprintf(h->ca_file, sizeof h->ca_file, "%s", opts->ca_file);
	h->connect_timeout = opts->connect_timeout > 0 ? opts->connect_timeout : 20;
	h->stall_timeout = opts->stall_timeout > 0 ? opts->stall_timeout : 60;
	return h;
}

void np_http_free(struct np_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void np_http_resp_free(struct np_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Add the extra CA to the store OpenSSL already filled from the system
 * defaults: CURLOPT_CAINFO would replace the system store instead. */
static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
	(void)curl;
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
	return X509_STORE_load_file(st, parm) == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

struct sink {
	struct np_http_resp *resp;
	size_t cap, max;
	int fd;
	int overflow, ioerr;
};

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = sz * n;
	if (s->fd >= 0) {
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(s->fd, p + off, len - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				s->ioerr = errno;
				return 0;
			}
			off += (size_t)w;
		}
		s->resp->len += len;
		return len;
	}
	if (s->resp->len + len > s->max) {
		s->overflow = 1;
		return 0;
	}
	if (s->resp->len + len + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 4096;
		while (nc < s->resp->len + len + 1)
			nc *= 2;
		char *nb = realloc(s->resp->body, nc);
		if (!nb) {
			s->ioerr = ENOMEM;
			return 0;
		}
		s->resp->body = nb;
		s->cap = nc;
	}
	memcpy(s->resp->body + s->resp->len, p, len);
	s->resp->len += len;
	s->resp->body[s->resp->len] = 0;
	return len;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud)
{
	struct np_http_resp *r = ud;
	size_t len = sz * n;
	struct {
		const char *name;
		char *dst;
		size_t dstsz;
	} want[] = {{"etag:", r->etag, sizeof r->etag}, {"content-type:", r->content_type, sizeof r->content_type}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		size_t nl = strlen(want[i].name);
		if (len > nl && !strncasecmp(p, want[i].name, nl)) {
			const char *v = p + nl, *e = p + len;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
				e--;
			size_t vl = (size_t)(e - v) < want[i].dstsz - 1 ? (size_t)(e - v) : want[i].dstsz - 1;
			memcpy(want[i].dst, v, vl);
			want[i].dst[vl] = 0;
		}
	}
	return len;
}

struct src {
	off_t left;
	long (*rd)(void *ud, char *buf, size_t n);
	void *ud;
	int aborted;
};

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud)
{
	struct src *s = ud;
	size_t want = sz * n;
	if ((off_t)want > s->left)
		want = (size_t)s->left;
	if (!want)
		return 0;
	long got = s->rd(s->ud, buf, want);
	if (got <= 0 || (size_t)got > want)
		return s->aborted = 1, CURL_READFUNC_ABORT;
	s->left -= got;
	return (size_t)got;
}

int np_http_do(struct np_http *h, const struct np_http_req *req, struct np_http_resp *resp, struct np_err *err)
{
	CURL *c = h->curl;
	memset(resp, 0, sizeof *resp);
	curl_easy_reset(c);
	struct sink sink = {
	    .resp = resp, .max = req->max_response ? req->max_response : 64u << 20, .fd = req->response_fd};
	struct src src = {.left = req->upload_len, .rd = req->upload_read, .ud = req->upload_ud};
	int upload = req->upload_read != NULL;
	struct curl_slist *hl = NULL;
	for (const char *const *p = req->headers; p && *p; p++)
		hl = curl_slist_append(hl, *p);
	/* No Expect: 100-continue round trip, no default Content-Type on PUT. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->stall_timeout);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "neuropacs-agent/" NP_VERSION);
	if (h->ca_file[0]) {
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h->ca_file);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	if (upload) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &src);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_len);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (strcmp(req->method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (upload && strcmp(req->method, "PUT"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && req->response_fd < 0) {
		resp->body = calloc(1, 1);
		if (!resp->body)
			return np_err_sys(err, ENOMEM, "unable to receive a response");
	}
	if (rc == CURLE_OK)
		return 0;
	/* Strip the query (presigned URLs carry signatures) from messages. */
	char where[512];
	snprintf(where, sizeof where, "%s", req->url);
	where[strcspn(where, "?")] = 0;
	if (sink.overflow)
		return np_err_set(err, NP_ERR_PERM, "response from %s larger than %zu bytes", where, sink.max);
	if (sink.ioerr)
		return np_err_sys(err, sink.ioerr, "unable to store the response from %s", where);
	if (src.aborted)
		return np_err_set(err, NP_ERR_TEMP, "%s %s: its body could not be produced", req->method, where);
	enum np_err_class cls = NP_ERR_TEMP;
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_URL_MALFORMAT ||
	    rc == CURLE_UNSUPPORTED_PROTOCOL)
		cls = NP_ERR_PERM;
	resp->status = 0;
	return np_err_set(err, cls, "%s %s: %s", req->method, where, curl_easy_strerror(rc));
}
