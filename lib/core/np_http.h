/* SPDX-License-Identifier: Apache-2.0 */
/* np_http: HTTP(S) client over libcurl for the cloud protocol. TLS peer and
 * host verification are always on, with the system CA store plus an optional
 * extra CA file. A connect timeout and a stall timeout (no byte moved for N
 * seconds) apply, never a total-time limit, so a large upload may take as
 * long as it needs. Proxies come from the standard environment variables
 * (http_proxy, https_proxy, no_proxy), as libcurl reads them. */
#ifndef NP_HTTP_H
#define NP_HTTP_H

#include <stddef.h>
#include <sys/types.h>

struct np_err;
struct np_http;

struct np_http_opts {
	const char *ca_file;  /* extra trusted CA (PEM), or NULL/"" */
	long connect_timeout; /* seconds */
	long stall_timeout;   /* seconds without progress */
};

struct np_http_req {
	const char *method; /* "GET", "POST", "PUT", "PATCH" */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" list, may be NULL */
	const void *body;	    /* request body in memory (may be NULL) */
	size_t body_len;
	/* When set: PUT upload_len bytes pulled from upload_read, which puts up
	 * to n in buf and returns how many (> 0), or -1 to abort the request */
	off_t upload_len;
	long (*upload_read)(void *ud, char *buf, size_t n);
	void *upload_ud;
	size_t max_response; /* larger bodies are an error; 0 = 64 MiB */
	int response_fd;     /* >= 0: write the body there instead of memory */
};

struct np_http_resp {
	long status;
	char *body; /* malloc'd, NUL-terminated (empty when sent to response_fd) */
	size_t len;
	char etag[256]; /* ETag response header, verbatim (quotes kept) */
	char content_type[128];
};

/* A handle keeps connections alive between requests. NULL with err. */
struct np_http *np_http_new(const struct np_http_opts *opts, struct np_err *err);
void np_http_free(struct np_http *h);
/* Perform one request. Returns 0 when a response arrived (any status: check
 * resp->status), -1 with a temporary err for transport failures (connect,
 * TLS, stall, dropped connection) or a permanent one for a TLS verification
 * failure or a bad URL. resp is filled; free it with np_http_resp_free. The
 * error message never contains header values or bodies. */
int np_http_do(struct np_http *h, const struct np_http_req *req, struct np_http_resp *resp, struct np_err *err);
void np_http_resp_free(struct np_http_resp *resp);

#endif
