// SPDX-License-Identifier: Apache-2.0
/* np_atna_syslog: audit messages as syslog (RFC 5424) to the audit record
 * repository, over TLS (RFC 5425, octet-counting framing, the agent's one
 * TLS policy through np_tls) or UDP (RFC 5426, one message per datagram). */
#include "np_atna.h"

#include "np_buf.h"
#include "np_config.h"
#include "np_err.h"
#include "np_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Header fields: printable US-ASCII without space, at most max bytes. */
static void field(struct np_buf *b, const char *s, size_t max)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && n < max; p++, n++) {
		char c = *p > 32 && *p < 127 ? (char)*p : '_';
		np_buf_add(b, &c, 1);
	}
	if (!n)
		np_buf_str(b, "-");
}

int np_atna_syslog_frame(struct np_buf *out, const char *ts, const char *host, const char *app, long procid,
			 const char *msg, size_t len, int octet_counting)
{
	struct np_buf m = {0};
	char pid[24];
	snprintf(pid, sizeof pid, "%ld", procid);
	/* <85>: facility 10 (security/authorization), severity 5 (notice), as
	 * IHE ITI-20 asks of audit messages. */
	np_buf_str(&m, "<85>1 ");
	field(&m, ts, 32);
	np_buf_str(&m, " ");
	field(&m, host, 255);
	np_buf_str(&m, " ");
	field(&m, app, 48);
	np_buf_str(&m, " ");
	field(&m, pid, 128);
	np_buf_str(&m, " IHE+RFC-3881 - \xEF\xBB\xBF");
	np_buf_add(&m, msg, len);
	if (m.oom) {
		free(m.p);
		return -1;
	}
	if (octet_counting) {
		char n[24];
		snprintf(n, sizeof n, "%zu ", m.len);
		np_buf_str(out, n);
	}
	np_buf_add(out, m.p, m.len);
	free(m.p);
	return out->oom ? -1 : 0;
}

struct np_atna_conn {
	int fd, udp;
	struct np_tls_ctx *ctx;
	struct np_tls *tls;
};

/* Connect to host:port (TCP or UDP) within timeout_ms; the first address
 * that answers. */
static int dial(const char *host, long port, int udp, int timeout_ms, struct np_err *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM}, *res = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%ld", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc)
		return np_err_set(err, NP_ERR_TEMP, "unable to resolve the audit repository %s: %s", host,
				  gai_strerror(rc));
	int fd = -1, last = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | (udp ? 0 : SOCK_NONBLOCK), 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (!udp && errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			last = soerr ? soerr : ETIMEDOUT;
		} else {
			last = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return np_err_set(err, NP_ERR_TEMP, "unable to connect to the audit repository %s:%ld: %s", host, port,
				  strerror(last ? last : ECONNREFUSED));
	if (!udp)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

struct np_atna_conn *np_atna_connect(const struct np_config *cfg, int timeout_ms, struct np_err *err)
{
	const char *host = np_config_str(cfg, "atna.host");
	const char *transport = np_config_str(cfg, "atna.transport");
	long port = (long)np_config_int(cfg, "atna.port");
	if (!host || !*host) {
		np_err_set(err, NP_ERR_PERM, "atna.host: no audit record repository is set");
		return NULL;
	}
	struct np_atna_conn *c = calloc(1, sizeof *c);
	if (!c) {
		np_err_sys(err, ENOMEM, "unable to allocate the audit connection");
		return NULL;
	}
	c->udp = transport && !strcmp(transport, "udp");
	if (!c->udp) {
		const char *ca = np_config_str(cfg, "atna.ca_file"), *cert = np_config_str(cfg, "atna.cert_file"),
			   *key = np_config_str(cfg, "atna.key_file");
		c->ctx = np_tls_client_ctx(ca, cert, key, err);
		if (!c->ctx)
			goto fail;
	}
	c->fd = dial(host, port, c->udp, timeout_ms, err);
	if (c->fd < 0)
		goto fail;
	if (!c->udp) {
		c->tls = np_tls_connect(c->ctx, c->fd, host, timeout_ms, err);
		if (!c->tls)
			goto fail;
	}
	return c;
fail:
	np_atna_close(c);
	return NULL;
}

/* The collector never speaks (RFC 5425): anything readable on the socket
 * is its close_notify, its FIN or a reset. */
static int peer_gone(struct np_atna_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (np_tls_pending(c->tls) <= 0 && poll(&p, 1, 0) != 1)
		return 0;
	char buf[512];
	int fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	ssize_t n = np_tls_read(c->tls, buf, sizeof buf);
	int again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	fcntl(c->fd, F_SETFL, fl);
	return n == 0 || (n < 0 && !again);
}

int np_atna_send(struct np_atna_conn *c, const void *msg, size_t len, struct np_err *err)
{
	if (c->udp) {
		/* RFC 5426: one message per datagram; an IPv4 datagram holds 65507. */
		if (len > 65507)
			return np_err_set(err, NP_ERR_PERM, "audit message of %zu bytes is too long for UDP", len);
		if (send(c->fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
			return np_err_sys(err, errno, "unable to send to the audit repository");
		return 0;
	}
	if (peer_gone(c))
		return np_err_set(err, NP_ERR_TEMP, "the audit repository closed the connection");
	if (np_tls_write(c->tls, msg, len) != (ssize_t)len)
		return np_err_sys(err, errno ? errno : EPIPE, "unable to send to the audit repository");
	return 0;
}

int np_atna_conn_tls(const struct np_atna_conn *c)
{
	return c && !c->udp;
}

const char *np_atna_conn_describe(const struct np_atna_conn *c, char *buf, size_t sz)
{
	if (c->udp)
		snprintf(buf, sz, "UDP");
	else
		snprintf(buf, sz, "%s %s", np_tls_version(c->tls), np_tls_cipher(c->tls));
	return buf;
}

int np_atna_conn_refused(struct np_atna_conn *c, int wait_ms)
{
	if (!c->udp)
		return 0;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, wait_ms) != 1)
		return 0;
	char b;
	return recv(c->fd, &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
}

void np_atna_close(struct np_atna_conn *c)
{
	if (!c)
		return;
	if (c->tls)
		np_tls_close(c->tls);
	if (c->fd > 0)
		close(c->fd);
	np_tls_ctx_free(c->ctx);
	free(c);
}
