// SPDX-License-Identifier: Apache-2.0
/* np_ul: DICOM Upper Layer and DIMSE (see np_ul.h). PDU layouts are those of
 * PS3.8 section 9.3; command sets those of PS3.7 section 9.3 and annex E. */
#include "np_ul.h"

#include "np_dcm_walk.h"
#include "np_err.h"
#include "np_sopclass.h"
#include "np_tls.h"
#include "np_ts.h"
#include "np_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	PDU_ASSOC_RQ = 0x01,
	PDU_ASSOC_AC = 0x02,
	PDU_ASSOC_RJ = 0x03,
	PDU_PDATA = 0x04,
	PDU_RELEASE_RQ = 0x05,
	PDU_RELEASE_RP = 0x06,
	PDU_ABORT = 0x07,
};

enum { CMD_C_STORE_RQ = 0x0001, CMD_C_STORE_RSP = 0x8001, CMD_C_ECHO_RQ = 0x0030, CMD_C_ECHO_RSP = 0x8030 };
enum { DATASET_NONE = 0x0101 };

/* A-ABORT reasons (PS3.8 9.3.8). */
enum { AB_NOT_SPECIFIED = 0, AB_UNRECOGNIZED_PDU = 1, AB_UNEXPECTED_PDU = 2, AB_INVALID_PARAM = 6 };
enum { AB_SRC_USER = 0, AB_SRC_PROVIDER = 2 };

/* Association PDUs other than P-DATA are small; this bounds what we read. */
#define ASSOC_PDU_MAX 65536u
/* A DIMSE command set is a few hundred bytes; this bounds its reassembly. */
#define CMD_MAX 16384u

/* The transfer syntaxes accepted as they are: np_ts's table (QC decides
 * what it can use). */
int np_ul_ts_supported(const char *uid)
{
	const struct np_ts *t = np_ts_find(uid);
	return t && t->accepted;
}

int np_ul_ts_kind(const char *ts)
{
	if (!strcmp(ts, NP_TS_IMPLICIT_LE))
		return 0;
	if (!strcmp(ts, NP_TS_EXPLICIT_BE))
		return 2;
	if (!strcmp(ts, NP_TS_DEFLATED_LE))
		return 3;
	if (np_ul_ts_supported(ts))
		return 1;
	return -1;
}

const char *np_ul_reject_text(int source, int reason)
{
	if (source == NP_RJ_SRC_USER) {
		switch (reason) {
		case NP_RJ_USER_APP_CONTEXT:
			return "application-context-name-not-supported";
		case NP_RJ_USER_CALLING_AE:
			return "calling-AE-title-not-recognized";
		case NP_RJ_USER_CALLED_AE:
			return "called-AE-title-not-recognized";
		default:
			return "no-reason-given";
		}
	}
	if (source == NP_RJ_SRC_ACSE)
		return reason == NP_RJ_ACSE_PROTOCOL_VERSION ? "protocol-version-not-supported" : "no-reason-given";
	if (source == NP_RJ_SRC_PRESENTATION)
		return reason == NP_RJ_PRES_LIMIT ? "local-limit-exceeded" : "temporary-congestion";
	return "unknown";
}

/* ---- byte order helpers ---- */

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}
static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}
static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Copy a UID value (trailing NUL/space padding removed) into out[65].
 * Returns 0, or -1 when longer than 64 characters. */
static int copy_uid(char out[65], const unsigned char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == 0 || p[n - 1] == ' '))
		n--;
	if (n > 64)
		return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

/* AE title: 16 bytes, leading and trailing spaces are not significant. */
static void copy_ae(char out[17], const unsigned char *p)
{
	size_t a = 0, b = 16;
	while (a < b && (p[a] == ' ' || p[a] == 0))
		a++;
	while (b > a && (p[b - 1] == ' ' || p[b - 1] == 0))
		b--;
	memcpy(out, p + a, b - a);
	out[b - a] = 0;
}

static void put_ae(unsigned char *p, const char *ae)
{
	size_t n = strlen(ae);
	if (n > 16)
		n = 16;
	memset(p, ' ', 16);
	memcpy(p, ae, n);
}

/* ---- transport ---- */

void np_ul_sock_tune(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

struct np_ul *np_ul_new(int fd, struct np_tls *tls, uint32_t max_recv, int timeout_ms, struct np_err *err)
{
	if (max_recv < 4096)
		max_recv = 4096;
	struct np_ul *ul = calloc(1, sizeof *ul);
	size_t cap = (max_recv > ASSOC_PDU_MAX ? max_recv : ASSOC_PDU_MAX) + 16;
	unsigned char *buf = malloc(cap);
	if (!ul || !buf) {
		free(ul);
		free(buf);
		np_err_sys(err, ENOMEM, "unable to allocate association");
		return NULL;
	}
	ul->fd = fd;
	ul->tls = tls;
	ul->buf = buf;
	ul->bufcap = cap;
	ul->max_recv = max_recv;
	ul->timeout_ms = timeout_ms;
	ul->rpos = ul->rlen = 0;
	np_ul_sock_tune(fd);
	return ul;
}

void np_ul_free(struct np_ul *ul)
{
	if (!ul)
		return;
	free(ul->buf);
	free(ul);
}

/* Wait until fd is readable/writable within ul->timeout_ms and before
 * ul->deadline. Returns 0,
 * -1 with errno ETIMEDOUT, or -2 on EINTR (a signal: caller decides). */
static int io_wait(struct np_ul *ul, short ev)
{
	if (ev == POLLIN && ul->tls && np_tls_pending(ul->tls) > 0)
		return 0;
	int ms = ul->timeout_ms > 0 ? ul->timeout_ms : -1;
	if (ul->deadline > 0) {
		double left = ul->deadline - np_mono();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		int dl = (int)(left * 1000) + 1;
		if (ms < 0 || dl < ms)
			ms = dl;
	}
	struct pollfd p = {.fd = ul->fd, .events = ev};
	int r = poll(&p, 1, ms);
	if (r > 0)
		return 0;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return errno == EINTR ? -2 : -1;
}

/* One read of up to n bytes: from the TLS layer after waiting, or on plain
 * TCP a non-blocking recv first and poll only when nothing is there, so a
 * busy association costs one system call per read instead of two.
 * Returns bytes read, 0 on EOF, -1 error (errno), -2 on a signal. */
static ssize_t io_read_some(struct np_ul *ul, unsigned char *p, size_t n)
{
	for (;;) {
		ssize_t r;
		if (ul->tls) {
			int w = io_wait(ul, POLLIN);
			if (w < 0)
				return w;
			r = np_tls_read(ul->tls, p, n);
		} else {
			r = recv(ul->fd, p, n, MSG_DONTWAIT);
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			return -2;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (!ul->tls) {
			int w = io_wait(ul, POLLIN);
			if (w < 0)
				return w;
		}
	}
}

/* Read exactly n bytes, through the read-ahead buffer (a PDU header and
 * the PDUs behind it usually arrive in one read). Returns 0, 1 on EOF
 * before the first byte, -1 error (errno; ETIMEDOUT for a timeout;
 * ECONNRESET for EOF mid-way), -2 when a signal arrived before the first
 * byte and intr_ok is set. */
static int io_read(struct np_ul *ul, unsigned char *p, size_t n, int intr_ok)
{
	size_t got = 0;
	while (got < n) {
		if (ul->rpos < ul->rlen) {
			size_t k = ul->rlen - ul->rpos < n - got ? ul->rlen - ul->rpos : n - got;
			memcpy(p + got, ul->rbuf + ul->rpos, k);
			ul->rpos += k;
			got += k;
			continue;
		}
		/* A sender that always has a byte ready never makes us wait, so
		 * the deadline is checked here as well as in io_wait. */
		if (ul->deadline > 0 && np_mono() >= ul->deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* large remainders go straight to p; small ones fill the buffer */
		int direct = n - got >= NP_UL_RBUF / 2;
		ssize_t r = direct ? io_read_some(ul, p + got, n - got) : io_read_some(ul, ul->rbuf, NP_UL_RBUF);
		if (r == -2) {
			if (intr_ok && got == 0)
				return -2;
			continue;
		}
		if (r < 0)
			return -1;
		if (r == 0) {
			if (got == 0)
				return 1;
			errno = ECONNRESET;
			return -1;
		}
		if (direct) {
			got += (size_t)r;
		} else {
			ul->rpos = 0;
			ul->rlen = (size_t)r;
		}
	}
	return 0;
}

static int io_write(struct np_ul *ul, const unsigned char *p, size_t n)
{
	if (ul->tls)
		return np_tls_write(ul->tls, p, n) < 0 ? -1 : 0;
	size_t done = 0;
	while (done < n) {
		ssize_t r = send(ul->fd, p + done, n - done, MSG_NOSIGNAL);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (io_wait(ul, POLLOUT) == -1)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Read one PDU: header into type and len, body into ul->buf. A P-DATA PDU may
 * not exceed what we announced; other PDUs not ASSOC_PDU_MAX. paced: the
 * PDU is due by a deadline counted from its first byte (ul->min_rate).
 * Returns 0; 1 peer closed at a PDU boundary; -2 interrupted at a PDU
 * boundary (intr_ok); -1 error with err (errno-based or protocol). */
static int read_pdu_in(struct np_ul *ul, int *type, uint32_t *len, int intr_ok, int paced, struct np_err *err)
{
	unsigned char h[6];
	/* The first byte alone: until it comes the wait is the idle one. */
	int r = io_read(ul, h, 1, intr_ok);
	if (r == 1 || r == -2)
		return r;
	double first = np_mono();
	if (r == 0) {
		if (paced)
			ul->deadline = first + NP_UL_PDU_FLOOR_S;
		r = io_read(ul, h + 1, 5, 0);
		if (r == 1) {
			errno = ECONNRESET;
			r = -1;
		}
	}
	if (r < 0) {
		if (errno == ETIMEDOUT)
			return np_err_set(err, NP_ERR_TEMP, "timed out waiting for the peer");
		return np_err_sys(err, errno, "unable to read PDU header");
	}
	*type = h[0];
	*len = be32(h + 2);
	uint32_t cap = *type == PDU_PDATA ? ul->max_recv : ASSOC_PDU_MAX;
	if (*type < PDU_ASSOC_RQ || *type > PDU_ABORT) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_UNRECOGNIZED_PDU);
		return np_err_set(err, NP_ERR_PERM, "unrecognized PDU type 0x%02x", *type);
	}
	if (*len > cap) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_INVALID_PARAM);
		return np_err_set(err, NP_ERR_PERM, "PDU type 0x%02x length %u exceeds limit %u", *type, *len, cap);
	}
	if (paced) {
		double due = (6.0 + *len) / ul->min_rate;
		ul->deadline = first + (due > NP_UL_PDU_FLOOR_S ? due : NP_UL_PDU_FLOOR_S);
	}
	r = io_read(ul, ul->buf, *len, 0);
	if (r != 0) {
		if (r < 0 && errno == ETIMEDOUT && paced)
			return np_err_set(err, NP_ERR_TEMP,
					  "timed out reading a PDU of %u bytes (slower than %u bytes/s after its first "
					  "byte)",
					  *len, ul->min_rate);
		if (r < 0 && errno == ETIMEDOUT)
			return np_err_set(err, NP_ERR_TEMP, "timed out reading a PDU of %u bytes", *len);
		return np_err_set(err, NP_ERR_TEMP, "connection closed in a PDU (type 0x%02x, %u bytes)", *type, *len);
	}
	ul->bytes += 6 + (unsigned long long)*len;
	return 0;
}

static int read_pdu(struct np_ul *ul, int *type, uint32_t *len, int intr_ok, struct np_err *err)
{
	/* An outer deadline (ARTIM) is kept as it is. */
	int paced = ul->min_rate > 0 && ul->deadline <= 0;
	int r = read_pdu_in(ul, type, len, intr_ok, paced, err);
	if (paced)
		ul->deadline = 0;
	return r;
}

void np_ul_abort(struct np_ul *ul, int source, int reason)
{
	if (ul->aborted)
		return;
	unsigned char p[10] = {PDU_ABORT, 0, 0, 0, 0, 4, 0, 0, (unsigned char)source, (unsigned char)reason};
	int saved = ul->timeout_ms;
	if (ul->timeout_ms <= 0 || ul->timeout_ms > 2000)
		ul->timeout_ms = 2000;
	io_write(ul, p, sizeof p);
	ul->timeout_ms = saved;
	ul->aborted = 1;
}

void np_ul_send_reject(int fd, int result, int source, int reason)
{
	unsigned char p[10] = {PDU_ASSOC_RJ,	     0, 0, 0, 0, 4, 0, (unsigned char)result, (unsigned char)source,
			       (unsigned char)reason};
	ssize_t r = send(fd, p, sizeof p, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)r;
}

/* ---- A-ASSOCIATE parsing ---- */

int np_ul_parse_assoc(const unsigned char *p, size_t n, int ac, struct np_ul_assoc_rq *rq, struct np_err *err)
{
	memset(rq, 0, sizeof *rq);
	if (n < 68)
		return np_err_set(err, NP_ERR_PERM, "A-ASSOCIATE PDU too short (%zu bytes)", n);
	rq->version_ok = (be16(p) & 1) != 0;
	copy_ae(rq->called_ae, p + 4);
	copy_ae(rq->calling_ae, p + 20);
	size_t off = 68;
	while (off < n) {
		if (n - off < 4)
			return np_err_set(err, NP_ERR_PERM, "truncated item header at offset %zu", off);
		unsigned type = p[off];
		size_t len = be16(p + off + 2);
		const unsigned char *v = p + off + 4;
		if (len > n - off - 4)
			return np_err_set(err, NP_ERR_PERM, "item 0x%02x length %zu exceeds the PDU", type, len);
		off += 4 + len;
		if (type == 0x10) {
			if (copy_uid(rq->app_context, v, len) < 0)
				return np_err_set(err, NP_ERR_PERM, "application context name too long");
		} else if (type == (ac ? 0x21u : 0x20u)) {
			if (len < 4)
				return np_err_set(err, NP_ERR_PERM, "presentation context item too short");
			if (rq->npc >= NP_UL_MAX_PC)
				return np_err_set(err, NP_ERR_PERM, "more than %d presentation contexts", NP_UL_MAX_PC);
			int i = rq->npc++;
			rq->pc[i].id = v[0];
			rq->pc[i].result = v[2];
			size_t so = 4;
			while (so < len) {
				if (len - so < 4)
					return np_err_set(err, NP_ERR_PERM, "truncated presentation context sub-item");
				unsigned st = v[so];
				size_t sl = be16(v + so + 2);
				if (sl > len - so - 4)
					return np_err_set(err, NP_ERR_PERM,
							  "sub-item 0x%02x length %zu exceeds its item", st, sl);
				const unsigned char *sv = v + so + 4;
				so += 4 + sl;
				if (st == 0x30) {
					if (copy_uid(rq->pc[i].as, sv, sl) < 0)
						return np_err_set(err, NP_ERR_PERM, "abstract syntax UID too long");
				} else if (st == 0x40) {
					if (rq->pc[i].nts < NP_UL_MAX_TS) {
						if (copy_uid(rq->pc[i].ts[rq->pc[i].nts], sv, sl) < 0)
							return np_err_set(err, NP_ERR_PERM,
									  "transfer syntax UID too long");
						rq->pc[i].nts++;
					}
				} else {
					return np_err_set(err, NP_ERR_PERM,
							  "unknown presentation context sub-item 0x%02x", st);
				}
			}
		} else if (type == 0x50) {
			size_t so = 0;
			while (so < len) {
				if (len - so < 4)
					return np_err_set(err, NP_ERR_PERM, "truncated user information sub-item");
				unsigned st = v[so];
				size_t sl = be16(v + so + 2);
				if (sl > len - so - 4)
					return np_err_set(err, NP_ERR_PERM,
							  "user sub-item 0x%02x length %zu exceeds its item", st, sl);
				const unsigned char *sv = v + so + 4;
				so += 4 + sl;
				if (st == 0x51) {
					if (sl != 4)
						return np_err_set(err, NP_ERR_PERM,
								  "maximum length sub-item of %zu bytes", sl);
					rq->max_pdu = be32(sv);
				} else if (st == 0x52) {
					if (copy_uid(rq->impl_uid, sv, sl) < 0)
						return np_err_set(err, NP_ERR_PERM,
								  "implementation class UID too long");
				} else if (st == 0x53) {
					rq->async_proposed = 1;
				} else if (st == 0x55) {
					size_t k = sl > 16 ? 16 : sl;
					memcpy(rq->impl_version, sv, k);
					rq->impl_version[k] = 0;
					for (size_t j = 0; j < k; j++)
						if (rq->impl_version[j] < ' ' || rq->impl_version[j] > '~')
							rq->impl_version[j] = '?';
				}
				/* Role selection, extended negotiation and user identity
				 * are optional: not answering them keeps the defaults. */
			}
		} else if (ac && type == 0x20) {
			return np_err_set(err, NP_ERR_PERM, "request item in an A-ASSOCIATE-AC");
		}
		/* Other item types are ignored (PS3.8 9.3.2: unknown items). */
	}
	return 0;
}

/* ---- A-ASSOCIATE building ---- */

static size_t put_item(unsigned char *p, unsigned type, const void *v, size_t n)
{
	p[0] = (unsigned char)type;
	p[1] = 0;
	put_be16(p + 2, (uint16_t)n);
	memcpy(p + 4, v, n);
	return 4 + n;
}

/* Common fixed part: type, length (patched later), version, AE titles. */
static size_t assoc_head(unsigned char *p, int type, const char *called, const char *calling)
{
	memset(p, 0, 74);
	p[0] = (unsigned char)type;
	put_be16(p + 6, 1);
	put_ae(p + 10, called);
	put_ae(p + 26, calling);
	size_t o = 74;
	o += put_item(p + o, 0x10, NP_UL_APP_CONTEXT, strlen(NP_UL_APP_CONTEXT));
	return o;
}

static size_t user_info(unsigned char *p, uint32_t max_recv, int async)
{
	unsigned char *ui = p;
	size_t o = 4;
	unsigned char ml[4];
	put_be32(ml, max_recv);
	o += put_item(ui + o, 0x51, ml, 4);
	o += put_item(ui + o, 0x52, NP_UL_IMPL_CLASS_UID, strlen(NP_UL_IMPL_CLASS_UID));
	if (async) {
		unsigned char w[4] = {0, 1, 0, 1};
		o += put_item(ui + o, 0x53, w, 4);
	}
	o += put_item(ui + o, 0x55, NP_UL_IMPL_VERSION, strlen(NP_UL_IMPL_VERSION));
	ui[0] = 0x50;
	ui[1] = 0;
	put_be16(ui + 2, (uint16_t)(o - 4));
	return o;
}

/* ---- SCP: association ---- */

static int sop_acceptable(const char *as)
{
	return !strcmp(as, NP_UL_VERIFICATION) || np_sopclass_find(as) != NULL;
}

static int scp_associate(struct np_ul *ul, const struct np_ul_scp_cfg *cfg, struct np_ul_reject *rj,
			 struct np_err *err);

int np_ul_scp_associate(struct np_ul *ul, const struct np_ul_scp_cfg *cfg, struct np_ul_reject *rj, struct np_err *err)
{
	/* ARTIM bounds the whole request, not each read: a peer trickling its
	 * A-ASSOCIATE-RQ a byte at a time would otherwise hold the association
	 * (one of dicom.max_associations) for as long as it likes. */
	ul->timeout_ms = cfg->artim_s * 1000;
	ul->min_rate = 0;
	ul->deadline = cfg->artim_deadline > 0 ? cfg->artim_deadline : np_mono() + cfg->artim_s;
	int r = scp_associate(ul, cfg, rj, err);
	ul->deadline = 0;
	if (r == 0) {
		ul->timeout_ms = cfg->idle_s * 1000;
		ul->min_rate = NP_UL_MIN_RATE;
	}
	return r;
}

static int scp_associate(struct np_ul *ul, const struct np_ul_scp_cfg *cfg, struct np_ul_reject *rj, struct np_err *err)
{
	int type;
	uint32_t len;
	int r = read_pdu(ul, &type, &len, 0, err);
	if (r == 1)
		return np_err_set(err, NP_ERR_TEMP, "peer closed before A-ASSOCIATE-RQ");
	if (r != 0) {
		if (err && err->cls == NP_ERR_TEMP && strstr(err->msg, "timed out"))
			np_err_set(err, NP_ERR_TEMP, "ARTIM expired waiting for A-ASSOCIATE-RQ");
		return -1;
	}
	if (cfg->rq_read && cfg->rq_read(cfg->rq_ctx))
		return np_err_set(err, NP_ERR_TEMP,
				  "given up for a new connection before the A-ASSOCIATE-RQ was complete");
	if (type != PDU_ASSOC_RQ) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_UNEXPECTED_PDU);
		return np_err_set(err, NP_ERR_PERM, "expected A-ASSOCIATE-RQ, got PDU type 0x%02x", type);
	}
	struct np_ul_assoc_rq *rq = malloc(sizeof *rq);
	if (!rq)
		return np_err_sys(err, ENOMEM, "unable to allocate association request");
	if (np_ul_parse_assoc(ul->buf, len, 0, rq, err) < 0) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_INVALID_PARAM);
		free(rq);
		return -1;
	}
	snprintf(ul->calling_ae, sizeof ul->calling_ae, "%s", rq->calling_ae);
	snprintf(ul->called_ae, sizeof ul->called_ae, "%s", rq->called_ae);
	snprintf(ul->peer_impl_uid, sizeof ul->peer_impl_uid, "%s", rq->impl_uid);
	snprintf(ul->peer_impl_version, sizeof ul->peer_impl_version, "%s", rq->impl_version);
	ul->max_send = rq->max_pdu;

	int rs = 0, rr = 0;
	if (!rq->version_ok) {
		rs = NP_RJ_SRC_ACSE;
		rr = NP_RJ_ACSE_PROTOCOL_VERSION;
	} else if (strcmp(rq->app_context, NP_UL_APP_CONTEXT)) {
		rs = NP_RJ_SRC_USER;
		rr = NP_RJ_USER_APP_CONTEXT;
	} else if (strcmp(rq->called_ae, cfg->ae_title)) {
		rs = NP_RJ_SRC_USER;
		rr = NP_RJ_USER_CALLED_AE;
	} else if (cfg->nallowed > 0) {
		int ok = 0;
		for (size_t i = 0; i < cfg->nallowed && !ok; i++)
			ok = !strcmp(cfg->allowed_aets[i], rq->calling_ae);
		if (!ok) {
			rs = NP_RJ_SRC_USER;
			rr = NP_RJ_USER_CALLING_AE;
		}
	}
	if (rs) {
		rj->result = NP_RJ_PERMANENT;
		rj->source = rs;
		rj->reason = rr;
		unsigned char p[10] = {PDU_ASSOC_RJ,	 0, 0, 0, 0, 4, 0, NP_RJ_PERMANENT, (unsigned char)rs,
				       (unsigned char)rr};
		io_write(ul, p, sizeof p);
		free(rq);
		return 1;
	}

	/* Negotiate: every context of a class we store, first proposed TS we know. */
	unsigned char *o = ul->buf;
	size_t off = assoc_head(o, PDU_ASSOC_AC, rq->called_ae, rq->calling_ae);
	ul->npc = 0;
	for (int i = 0; i < rq->npc; i++) {
		struct np_ul_pc *pc = &ul->pc[ul->npc++];
		pc->id = rq->pc[i].id;
		snprintf(pc->as, sizeof pc->as, "%s", rq->pc[i].as);
		pc->ts[0] = 0;
		if (!sop_acceptable(rq->pc[i].as)) {
			pc->result = NP_PC_AS_NOT_SUPPORTED;
		} else {
			pc->result = NP_PC_TS_NOT_SUPPORTED;
			for (int t = 0; t < rq->pc[i].nts; t++) {
				const char *ts = rq->pc[i].ts[t];
				int ok =
				    !strcmp(pc->as, NP_UL_VERIFICATION)
					? np_ul_ts_kind(ts) == 0 || np_ul_ts_kind(ts) == 1 || np_ul_ts_kind(ts) == 2
					: np_ul_ts_supported(ts);
				if (ok) {
					snprintf(pc->ts, sizeof pc->ts, "%s", ts);
					pc->result = NP_PC_ACCEPT;
					break;
				}
			}
		}
		/* Item 0x21: id, reserved, result, reserved, one TS sub-item. */
		const char *ts = pc->ts[0] ? pc->ts : NP_TS_IMPLICIT_LE;
		size_t tl = strlen(ts);
		o[off] = 0x21;
		o[off + 1] = 0;
		put_be16(o + off + 2, (uint16_t)(4 + 4 + tl));
		o[off + 4] = pc->id;
		o[off + 5] = 0;
		o[off + 6] = pc->result;
		o[off + 7] = 0;
		off += 8;
		off += put_item(o + off, 0x40, ts, tl);
	}
	off += user_info(o + off, ul->max_recv, rq->async_proposed);
	put_be32(o + 2, (uint32_t)(off - 6));
	free(rq);
	if (io_write(ul, o, off) < 0)
		return np_err_sys(err, errno, "unable to send A-ASSOCIATE-AC");
	return 0;
}

/* ---- DIMSE command sets ---- */

int np_ul_parse_command(const unsigned char *p, size_t n, struct np_ul_cmd *c, struct np_err *err)
{
	memset(c, 0, sizeof *c);
	int have_cmd = 0;
	size_t off = 0;
	while (off < n) {
		if (n - off < 8)
			return np_err_set(err, NP_ERR_PERM, "truncated command element at offset %zu", off);
		unsigned g = le16(p + off), e = le16(p + off + 2);
		uint32_t len = le32(p + off + 4);
		const unsigned char *v = p + off + 8;
		if (g != 0)
			return np_err_set(err, NP_ERR_PERM, "element (%04x,%04x) in a command set", g, e);
		if (len > n - off - 8)
			return np_err_set(err, NP_ERR_PERM, "command element (0000,%04x) length %u exceeds the set", e,
					  len);
		off += 8 + len;
		switch (e) {
		case 0x0002:
			if (copy_uid(c->sop_class, v, len) < 0)
				return np_err_set(err, NP_ERR_PERM, "affected SOP class UID too long");
			break;
		case 0x1000:
			if (copy_uid(c->sop_inst, v, len) < 0)
				return np_err_set(err, NP_ERR_PERM, "affected SOP instance UID too long");
			break;
		case 0x0100:
		case 0x0110:
		case 0x0120:
		case 0x0700:
		case 0x0800:
		case 0x0900:
			if (len != 2)
				return np_err_set(err, NP_ERR_PERM, "command element (0000,%04x) of %u bytes", e, len);
			{
				unsigned v16 = le16(v);
				if (e == 0x0100) {
					c->command = v16;
					have_cmd = 1;
				} else if (e == 0x0110) {
					c->msg_id = v16;
				} else if (e == 0x0120) {
					c->msg_id_resp = v16;
				} else if (e == 0x0700) {
					c->priority = v16;
				} else if (e == 0x0800) {
					c->dataset_type = v16;
				} else {
					c->status = v16;
				}
			}
			break;
		default:
			break;
		}
	}
	if (!have_cmd)
		return np_err_set(err, NP_ERR_PERM, "command set without a command field");
	return 0;
}

static size_t cmd_us(unsigned char *p, unsigned e, unsigned v)
{
	put_le16(p, 0);
	put_le16(p + 2, (uint16_t)e);
	put_le32(p + 4, 2);
	put_le16(p + 8, (uint16_t)v);
	return 10;
}

static size_t cmd_ui(unsigned char *p, unsigned e, const char *uid)
{
	size_t n = strlen(uid), padded = n + (n & 1);
	put_le16(p, 0);
	put_le16(p + 2, (uint16_t)e);
	put_le32(p + 4, (uint32_t)padded);
	memcpy(p + 8, uid, n);
	if (n & 1)
		p[8 + n] = 0;
	return 8 + padded;
}

/* Build a command set into out (>= 256 bytes); returns its length. */
static size_t build_command(unsigned char *out, const struct np_ul_cmd *c, int rsp)
{
	size_t o = 12; /* (0000,0000) UL group length first */
	if (c->sop_class[0])
		o += cmd_ui(out + o, 0x0002, c->sop_class);
	o += cmd_us(out + o, 0x0100, c->command);
	if (rsp)
		o += cmd_us(out + o, 0x0120, c->msg_id_resp);
	else
		o += cmd_us(out + o, 0x0110, c->msg_id);
	if (!rsp && c->command == CMD_C_STORE_RQ)
		o += cmd_us(out + o, 0x0700, c->priority);
	o += cmd_us(out + o, 0x0800, c->dataset_type);
	if (rsp)
		o += cmd_us(out + o, 0x0900, c->status);
	if (c->sop_inst[0])
		o += cmd_ui(out + o, 0x1000, c->sop_inst);
	put_le16(out, 0);
	put_le16(out + 2, 0);
	put_le32(out + 4, 4);
	put_le32(out + 8, (uint32_t)(o - 12));
	return o;
}

/* Send a command set as one P-DATA PDU with one PDV (command, last). */
static int send_command(struct np_ul *ul, uint8_t pc_id, const struct np_ul_cmd *c, int rsp, struct np_err *err)
{
	unsigned char pdu[12 + 320];
	size_t n = build_command(pdu + 12, c, rsp);
	if (ul->max_send && ul->max_send < n + 6)
		return np_err_set(err, NP_ERR_PERM, "peer maximum PDU length %u is too small", ul->max_send);
	pdu[0] = PDU_PDATA;
	pdu[1] = 0;
	put_be32(pdu + 2, (uint32_t)(n + 6));
	put_be32(pdu + 6, (uint32_t)(n + 2));
	pdu[10] = pc_id;
	pdu[11] = 0x03;
	if (io_write(ul, pdu, 12 + n) < 0)
		return np_err_sys(err, errno, "unable to send DIMSE command");
	return 0;
}

/* ---- SCP: DIMSE service loop ---- */

static const struct np_ul_pc *accepted_pc(const struct np_ul *ul, unsigned id)
{
	for (int i = 0; i < ul->npc; i++)
		if (ul->pc[i].id == id && ul->pc[i].result == NP_PC_ACCEPT)
			return &ul->pc[i];
	return NULL;
}

struct serve_state {
	unsigned char cmd[CMD_MAX];
	size_t cmdlen;
	int cmd_pc;
	int in_data; /* a C-STORE command arrived; its data set is expected */
	int begun;   /* begin() accepted the instance: end() is owed */
	unsigned status;
	struct np_ul_cmd c;
	uint8_t data_pc;
};

static int protocol_error(struct np_ul *ul, struct np_err *err, const char *what)
{
	np_ul_abort(ul, AB_SRC_PROVIDER, AB_INVALID_PARAM);
	return np_err_set(err, NP_ERR_PERM, "protocol error: %s", what);
}

static int on_command(struct np_ul *ul, struct serve_state *s, const struct np_ul_store_ops *ops, void *ctx,
		      struct np_err *err)
{
	struct np_ul_cmd *c = &s->c;
	if (np_ul_parse_command(s->cmd, s->cmdlen, c, err) < 0) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_INVALID_PARAM);
		return -1;
	}
	const struct np_ul_pc *pc = accepted_pc(ul, (unsigned)s->cmd_pc);
	if (c->command == CMD_C_ECHO_RQ) {
		if (c->dataset_type != DATASET_NONE)
			return protocol_error(ul, err, "C-ECHO-RQ with a data set");
		struct np_ul_cmd r = {
		    .command = CMD_C_ECHO_RSP, .msg_id_resp = c->msg_id, .dataset_type = DATASET_NONE};
		snprintf(r.sop_class, sizeof r.sop_class, "%s", pc->as);
		return send_command(ul, pc->id, &r, 1, err);
	}
	if (c->command != CMD_C_STORE_RQ) {
		np_ul_abort(ul, AB_SRC_PROVIDER, AB_UNEXPECTED_PDU);
		return np_err_set(err, NP_ERR_PERM, "unsupported DIMSE command 0x%04x", c->command);
	}
	if (c->dataset_type == DATASET_NONE)
		return protocol_error(ul, err, "C-STORE-RQ without a data set");
	s->in_data = 1;
	s->data_pc = pc->id;
	s->begun = 0;
	struct np_ul_store_req req = {.sop_class = c->sop_class,
				      .sop_inst = c->sop_inst,
				      .ts = pc->ts,
				      .context_class = pc->as,
				      .pc_id = pc->id,
				      .msg_id = c->msg_id};
	if (strcmp(c->sop_class, pc->as) || !c->sop_inst[0]) {
		s->status = NP_DIMSE_DATASET_MISMATCH;
		if (ops->refused)
			ops->refused(ctx, &req, s->status);
		return 0;
	}
	s->status = ops->begin(ctx, &req);
	s->begun = s->status == 0;
	return 0;
}

static int finish_store(struct np_ul *ul, struct serve_state *s, const struct np_ul_store_ops *ops, void *ctx,
			struct np_err *err)
{
	unsigned st = s->status;
	if (s->begun) {
		unsigned e = ops->end(ctx, st == 0);
		if (st == 0)
			st = e;
	}
	s->begun = 0;
	s->in_data = 0;
	if (st == 0)
		ul->instances++;
	struct np_ul_cmd r = {
	    .command = CMD_C_STORE_RSP, .msg_id_resp = s->c.msg_id, .dataset_type = DATASET_NONE, .status = st};
	snprintf(r.sop_class, sizeof r.sop_class, "%s", s->c.sop_class);
	snprintf(r.sop_inst, sizeof r.sop_inst, "%s", s->c.sop_inst);
	return send_command(ul, s->data_pc, &r, 1, err);
}

static void drop_instance(struct serve_state *s, const struct np_ul_store_ops *ops, void *ctx)
{
	if (s->begun)
		ops->end(ctx, 0);
	s->begun = 0;
	s->in_data = 0;
}

static int on_pdata(struct np_ul *ul, struct serve_state *s, uint32_t len, const struct np_ul_store_ops *ops, void *ctx,
		    struct np_err *err)
{
	const unsigned char *p = ul->buf;
	size_t off = 0;
	if (len == 0)
		return protocol_error(ul, err, "empty P-DATA-TF");
	while (off < len) {
		if (len - off < 6)
			return protocol_error(ul, err, "truncated PDV header");
		uint32_t pl = be32(p + off);
		if (pl < 2 || pl > len - off - 4)
			return protocol_error(ul, err, "PDV length larger than its PDU");
		unsigned id = p[off + 4], mch = p[off + 5];
		const unsigned char *v = p + off + 6;
		size_t vn = pl - 2;
		off += 4 + pl;
		if (!accepted_pc(ul, id))
			return protocol_error(ul, err, "PDV for a presentation context that was not accepted");
		if (mch & 0x01) {
			if (s->in_data)
				return protocol_error(ul, err, "command PDV while a data set was expected");
			if (s->cmdlen && (unsigned)s->cmd_pc != id)
				return protocol_error(ul, err, "command fragments on different contexts");
			if (vn > CMD_MAX - s->cmdlen)
				return protocol_error(ul, err, "command set too large");
			memcpy(s->cmd + s->cmdlen, v, vn);
			s->cmdlen += vn;
			s->cmd_pc = (int)id;
			if (mch & 0x02) {
				int r = on_command(ul, s, ops, ctx, err);
				s->cmdlen = 0;
				if (r < 0)
					return -1;
			}
		} else {
			if (!s->in_data)
				return protocol_error(ul, err, "data PDV without a C-STORE command");
			if (id != s->data_pc)
				return protocol_error(ul, err, "data PDV on another presentation context");
			if (s->status == 0 && vn > 0) {
				s->status = ops->data(ctx, v, vn);
				if (s->status) {
					/* Clean up now; the rest of the data set is discarded. */
					if (s->begun)
						ops->end(ctx, 0);
					s->begun = 0;
				}
			}
			if (mch & 0x02) {
				if (finish_store(ul, s, ops, ctx, err) < 0)
					return -1;
			}
		}
	}
	return 0;
}

int np_ul_scp_serve(struct np_ul *ul, const struct np_ul_store_ops *ops, void *ctx, struct np_err *err)
{
	struct serve_state *s = calloc(1, sizeof *s);
	if (!s)
		return np_err_sys(err, ENOMEM, "unable to allocate DIMSE state");
	int ret;
	for (;;) {
		if (!s->in_data && s->cmdlen == 0 && ops->stop && ops->stop(ctx)) {
			np_ul_abort(ul, AB_SRC_USER, AB_NOT_SPECIFIED);
			ret = 1;
			break;
		}
		int type;
		uint32_t len;
		int r = read_pdu(ul, &type, &len, 1, err);
		if (r == -2)
			continue;
		if (r == 1) {
			np_err_set(err, NP_ERR_TEMP, "peer closed the connection without A-RELEASE");
			ret = -1;
			break;
		}
		if (r < 0) {
			if (err && err->cls == NP_ERR_TEMP && strstr(err->msg, "timed out"))
				np_ul_abort(ul, AB_SRC_PROVIDER, AB_NOT_SPECIFIED);
			ret = -1;
			break;
		}
		if (type == PDU_PDATA) {
			if (on_pdata(ul, s, len, ops, ctx, err) < 0) {
				ret = -1;
				break;
			}
		} else if (type == PDU_RELEASE_RQ) {
			if (s->in_data) {
				drop_instance(s, ops, ctx);
				np_ul_abort(ul, AB_SRC_PROVIDER, AB_UNEXPECTED_PDU);
				np_err_set(err, NP_ERR_PERM, "A-RELEASE-RQ in the middle of an instance");
				ret = -1;
				break;
			}
			unsigned char rp[10] = {PDU_RELEASE_RP, 0, 0, 0, 0, 4, 0, 0, 0, 0};
			io_write(ul, rp, sizeof rp);
			ul->released = 1;
			ret = 0;
			break;
		} else if (type == PDU_ABORT) {
			ul->aborted = 1;
			np_err_set(err, NP_ERR_TEMP, "peer aborted the association");
			ret = 1;
			break;
		} else {
			np_ul_abort(ul, AB_SRC_PROVIDER, AB_UNEXPECTED_PDU);
			np_err_set(err, NP_ERR_PERM, "unexpected PDU type 0x%02x", type);
			ret = -1;
			break;
		}
	}
	drop_instance(s, ops, ctx);
	free(s);
	return ret;
}

/* ---- SCU ---- */

static int connect_to(const char *host, int port, int timeout_ms, struct np_err *err)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int g = getaddrinfo(host, ps, &hints, &res);
	if (g)
		return np_err_set(err, NP_ERR_TEMP, "unable to resolve %s: %s", host, gai_strerror(g));
	int fd = -1, e = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int r;
			do
				r = poll(&p, 1, timeout_ms);
			while (r < 0 && errno == EINTR);
			socklen_t sl = sizeof e;
			if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0) {
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
				break;
			}
			if (r == 0)
				e = ETIMEDOUT;
		} else {
			e = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return np_err_sys(err, e ? e : ECONNREFUSED, "unable to connect to %s:%d", host, port);
	return fd;
}

struct np_ul *np_ul_scu_connect(const struct np_ul_scu_opts *o, const struct np_ul_propose *pcs, int npcs,
				struct np_err *err)
{
	int tmo = (o->timeout_s > 0 ? o->timeout_s : 30) * 1000;
	if (npcs < 1 || npcs > NP_UL_MAX_PC) {
		np_err_set(err, NP_ERR_PERM, "between 1 and %d presentation contexts can be proposed", NP_UL_MAX_PC);
		return NULL;
	}
	if (strlen(o->calling_ae) > 16 || strlen(o->called_ae) > 16 || !*o->calling_ae || !*o->called_ae) {
		np_err_set(err, NP_ERR_PERM, "AE titles must have 1 to 16 characters");
		return NULL;
	}
	int fd = connect_to(o->host, o->port, tmo, err);
	if (fd < 0)
		return NULL;
	struct np_tls *tls = NULL;
	if (o->tls) {
		tls = np_tls_connect(o->tls, fd, o->host, tmo, err);
		if (!tls) {
			close(fd);
			return NULL;
		}
	}
	struct np_ul *ul = np_ul_new(fd, tls, o->max_pdu ? o->max_pdu : 262144, tmo, err);
	struct np_ul_assoc_rq *ac = NULL;
	if (!ul)
		goto fail;
	ul->scu = 1;
	snprintf(ul->calling_ae, sizeof ul->calling_ae, "%s", o->calling_ae);
	snprintf(ul->called_ae, sizeof ul->called_ae, "%s", o->called_ae);

	unsigned char *b = ul->buf;
	size_t off = assoc_head(b, PDU_ASSOC_RQ, o->called_ae, o->calling_ae);
	for (int i = 0; i < npcs; i++) {
		size_t need = 8 + 4 + 64 + (size_t)pcs[i].nts * (4 + 64) + 128;
		if (off + need > ASSOC_PDU_MAX || pcs[i].nts < 1 || strlen(pcs[i].as) > 64) {
			np_err_set(err, NP_ERR_PERM, "presentation context %d cannot be proposed", i);
			goto fail;
		}
		size_t start = off;
		b[off] = 0x20;
		b[off + 1] = 0;
		b[off + 4] = (unsigned char)(2 * i + 1);
		b[off + 5] = b[off + 6] = b[off + 7] = 0;
		off += 8;
		off += put_item(b + off, 0x30, pcs[i].as, strlen(pcs[i].as));
		for (int t = 0; t < pcs[i].nts; t++) {
			if (strlen(pcs[i].ts[t]) > 64) {
				np_err_set(err, NP_ERR_PERM, "transfer syntax UID too long");
				goto fail;
			}
			off += put_item(b + off, 0x40, pcs[i].ts[t], strlen(pcs[i].ts[t]));
		}
		put_be16(b + start + 2, (uint16_t)(off - start - 4));
	}
	off += user_info(b + off, ul->max_recv, 0);
	put_be32(b + 2, (uint32_t)(off - 6));
	if (io_write(ul, b, off) < 0) {
		np_err_sys(err, errno, "unable to send A-ASSOCIATE-RQ");
		goto fail;
	}
	int type;
	uint32_t len;
	int r = read_pdu(ul, &type, &len, 0, err);
	if (r == 1)
		np_err_set(err, NP_ERR_TEMP, "peer closed the connection after A-ASSOCIATE-RQ");
	if (r != 0)
		goto fail;
	if (type == PDU_ASSOC_RJ) {
		if (len < 4) {
			np_err_set(err, NP_ERR_PERM, "malformed A-ASSOCIATE-RJ");
			goto fail;
		}
		int result = b[1], source = b[2], reason = b[3];
		np_err_set(err, result == NP_RJ_TRANSIENT ? NP_ERR_TEMP : NP_ERR_PERM,
			   "association rejected by %s (%s, source %d reason %d: %s)", o->called_ae,
			   result == NP_RJ_TRANSIENT ? "transient" : "permanent", source, reason,
			   np_ul_reject_text(source, reason));
		goto fail;
	}
	if (type == PDU_ABORT) {
		np_err_set(err, NP_ERR_TEMP, "association aborted by %s", o->called_ae);
		ul->aborted = 1;
		goto fail;
	}
	if (type != PDU_ASSOC_AC) {
		np_ul_abort(ul, AB_SRC_USER, AB_UNEXPECTED_PDU);
		np_err_set(err, NP_ERR_PERM, "expected A-ASSOCIATE-AC, got PDU type 0x%02x", type);
		goto fail;
	}
	ac = malloc(sizeof *ac);
	if (!ac || np_ul_parse_assoc(b, len, 1, ac, err) < 0) {
		if (!ac)
			np_err_sys(err, ENOMEM, "unable to allocate");
		np_ul_abort(ul, AB_SRC_USER, AB_INVALID_PARAM);
		goto fail;
	}
	ul->max_send = ac->max_pdu;
	snprintf(ul->peer_impl_uid, sizeof ul->peer_impl_uid, "%s", ac->impl_uid);
	snprintf(ul->peer_impl_version, sizeof ul->peer_impl_version, "%s", ac->impl_version);
	int accepted = 0;
	ul->npc = 0;
	for (int i = 0; i < ac->npc; i++) {
		int k = (ac->pc[i].id - 1) / 2;
		if (!(ac->pc[i].id & 1) || k >= npcs)
			continue;
		struct np_ul_pc *pc = &ul->pc[ul->npc++];
		pc->id = ac->pc[i].id;
		pc->result = ac->pc[i].result;
		snprintf(pc->as, sizeof pc->as, "%s", pcs[k].as);
		snprintf(pc->ts, sizeof pc->ts, "%s", ac->pc[i].nts ? ac->pc[i].ts[0] : "");
		if (pc->result == NP_PC_ACCEPT)
			accepted++;
	}
	free(ac);
	ac = NULL;
	if (!accepted) {
		np_err_set(err, NP_ERR_PERM, "%s accepted none of the proposed presentation contexts", o->called_ae);
		np_ul_abort(ul, AB_SRC_USER, AB_NOT_SPECIFIED);
		goto fail;
	}
	return ul;
fail:
	free(ac);
	if (ul)
		np_ul_close(ul);
	else {
		np_tls_close(tls);
		close(fd);
	}
	return NULL;
}

int np_ul_scu_context(const struct np_ul *ul, const char *as, const char *ts)
{
	for (int i = 0; i < ul->npc; i++)
		if (ul->pc[i].result == NP_PC_ACCEPT && !strcmp(ul->pc[i].as, as) && (!ts || !strcmp(ul->pc[i].ts, ts)))
			return ul->pc[i].id;
	return -1;
}

/* Wait for the response command to msg_id. Returns 0 with *status, -1. */
static int read_response(struct np_ul *ul, unsigned want_cmd, struct np_ul_cmd *out, struct np_err *err)
{
	unsigned char cmd[CMD_MAX];
	size_t cl = 0;
	for (;;) {
		int type;
		uint32_t len;
		int r = read_pdu(ul, &type, &len, 0, err);
		if (r == 1)
			return np_err_set(err, NP_ERR_TEMP, "peer closed the connection before the DIMSE response");
		if (r < 0)
			return -1;
		if (type == PDU_ABORT) {
			ul->aborted = 1;
			return np_err_set(err, NP_ERR_TEMP, "peer aborted the association");
		}
		if (type != PDU_PDATA) {
			np_ul_abort(ul, AB_SRC_USER, AB_UNEXPECTED_PDU);
			return np_err_set(err, NP_ERR_PERM, "unexpected PDU type 0x%02x while waiting for a response",
					  type);
		}
		size_t off = 0;
		while (off < len) {
			if (len - off < 6) {
				np_ul_abort(ul, AB_SRC_USER, AB_INVALID_PARAM);
				return np_err_set(err, NP_ERR_PERM, "truncated PDV header");
			}
			uint32_t pl = be32(ul->buf + off);
			if (pl < 2 || pl > len - off - 4) {
				np_ul_abort(ul, AB_SRC_USER, AB_INVALID_PARAM);
				return np_err_set(err, NP_ERR_PERM, "PDV length larger than its PDU");
			}
			unsigned mch = ul->buf[off + 5];
			size_t vn = pl - 2;
			if (!(mch & 1)) {
				np_ul_abort(ul, AB_SRC_USER, AB_UNEXPECTED_PDU);
				return np_err_set(err, NP_ERR_PERM, "unexpected data set in a DIMSE response");
			}
			if (vn > sizeof cmd - cl) {
				np_ul_abort(ul, AB_SRC_USER, AB_INVALID_PARAM);
				return np_err_set(err, NP_ERR_PERM, "response command set too large");
			}
			memcpy(cmd + cl, ul->buf + off + 6, vn);
			cl += vn;
			off += 4 + pl;
			if (mch & 2) {
				if (np_ul_parse_command(cmd, cl, out, err) < 0) {
					np_ul_abort(ul, AB_SRC_USER, AB_INVALID_PARAM);
					return -1;
				}
				if (out->command != want_cmd || out->msg_id_resp != ul->msg_id) {
					np_ul_abort(ul, AB_SRC_USER, AB_UNEXPECTED_PDU);
					return np_err_set(err, NP_ERR_PERM,
							  "unexpected DIMSE response 0x%04x to message %u",
							  out->command, out->msg_id_resp);
				}
				return 0;
			}
		}
	}
}

int np_ul_scu_echo(struct np_ul *ul, unsigned *status, struct np_err *err)
{
	int id = np_ul_scu_context(ul, NP_UL_VERIFICATION, NULL);
	if (id < 0)
		return np_err_set(err, NP_ERR_PERM, "Verification was not accepted by %s", ul->called_ae);
	struct np_ul_cmd c = {.command = CMD_C_ECHO_RQ, .msg_id = ++ul->msg_id, .dataset_type = DATASET_NONE};
	snprintf(c.sop_class, sizeof c.sop_class, "%s", NP_UL_VERIFICATION);
	if (send_command(ul, (uint8_t)id, &c, 0, err) < 0)
		return -1;
	struct np_ul_cmd r;
	if (read_response(ul, CMD_C_ECHO_RSP, &r, err) < 0)
		return -1;
	*status = r.status;
	return 0;
}

/* Send a data set from memory or a file descriptor in PDVs that fit the
 * peer's maximum PDU. */
static int send_dataset(struct np_ul *ul, uint8_t id, const unsigned char *mem, int fd, size_t len, struct np_err *err)
{
	size_t room = ul->bufcap - 12;
	if (ul->max_send && ul->max_send - 6 < room)
		room = ul->max_send - 6;
	size_t sent = 0;
	unsigned char *b = ul->buf;
	do {
		size_t n = len - sent < room ? len - sent : room;
		if (mem) {
			memcpy(b + 12, mem + sent, n);
		} else {
			size_t got = 0;
			while (got < n) {
				ssize_t r = read(fd, b + 12 + got, n - got);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					np_ul_abort(ul, AB_SRC_USER, AB_NOT_SPECIFIED);
					return r < 0 ? np_err_sys(err, errno, "unable to read the file to send")
						     : np_err_set(err, NP_ERR_PERM, "file shrank while being sent");
				}
				got += (size_t)r;
			}
		}
		sent += n;
		b[0] = PDU_PDATA;
		b[1] = 0;
		put_be32(b + 2, (uint32_t)(n + 6));
		put_be32(b + 6, (uint32_t)(n + 2));
		b[10] = id;
		b[11] = sent == len ? 0x02 : 0x00;
		if (io_write(ul, b, 12 + n) < 0)
			return np_err_sys(err, errno, "unable to send data set");
	} while (sent < len);
	return 0;
}

static int store(struct np_ul *ul, const char *sop_class, const char *sop_inst, const char *ts,
		 const unsigned char *mem, int fd, size_t len, unsigned *status, struct np_err *err)
{
	int id = np_ul_scu_context(ul, sop_class, ts);
	if (id < 0)
		return np_err_set(err, NP_ERR_PERM, "%s accepted no presentation context for %s in %s", ul->called_ae,
				  sop_class, ts);
	if (strlen(sop_inst) > 64 || !*sop_inst)
		return np_err_set(err, NP_ERR_PERM, "invalid SOP instance UID");
	struct np_ul_cmd c = {.command = CMD_C_STORE_RQ, .msg_id = ++ul->msg_id, .dataset_type = 0x0000};
	snprintf(c.sop_class, sizeof c.sop_class, "%s", sop_class);
	snprintf(c.sop_inst, sizeof c.sop_inst, "%s", sop_inst);
	if (send_command(ul, (uint8_t)id, &c, 0, err) < 0)
		return -1;
	if (send_dataset(ul, (uint8_t)id, mem, fd, len, err) < 0)
		return -1;
	struct np_ul_cmd r;
	if (read_response(ul, CMD_C_STORE_RSP, &r, err) < 0)
		return -1;
	*status = r.status;
	if (r.status == 0 || (r.status & 0xF000) == 0xB000)
		ul->instances++;
	return 0;
}

int np_ul_scu_store_mem(struct np_ul *ul, const char *sop_class, const char *sop_inst, const char *ts,
			const void *dataset, size_t len, unsigned *status, struct np_err *err)
{
	return store(ul, sop_class, sop_inst, ts, dataset, -1, len, status, err);
}

int np_ul_scu_store_file(struct np_ul *ul, const char *path, unsigned *status, struct np_err *err)
{
	struct np_ul_meta m;
	if (np_ul_meta_read(path, &m, err) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (size_t)end < m.dataset_offset || lseek(fd, (off_t)m.dataset_offset, SEEK_SET) < 0) {
		close(fd);
		return np_err_set(err, NP_ERR_PERM, "unable to seek in %s", path);
	}
	int r = store(ul, m.sop_class, m.sop_inst, m.ts, NULL, fd, (size_t)end - m.dataset_offset, status, err);
	close(fd);
	return r;
}

int np_ul_release(struct np_ul *ul, struct np_err *err)
{
	unsigned char rq[10] = {PDU_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0};
	int ret = 0;
	if (io_write(ul, rq, sizeof rq) < 0) {
		ret = np_err_sys(err, errno, "unable to send A-RELEASE-RQ");
	} else {
		for (;;) {
			int type;
			uint32_t len;
			int r = read_pdu(ul, &type, &len, 0, err);
			if (r != 0) {
				if (r == 1)
					np_err_set(err, NP_ERR_TEMP, "peer closed before A-RELEASE-RP");
				ret = -1;
				break;
			}
			if (type == PDU_RELEASE_RP) {
				ul->released = 1;
				break;
			}
			if (type == PDU_ABORT) {
				ret = np_err_set(err, NP_ERR_TEMP, "peer aborted instead of releasing");
				break;
			}
		}
	}
	np_ul_close(ul);
	return ret;
}

void np_ul_close(struct np_ul *ul)
{
	if (!ul)
		return;
	if (ul->tls)
		np_tls_close(ul->tls);
	if (ul->fd >= 0)
		close(ul->fd);
	np_ul_free(ul);
}

/* ---- Part 10 meta information ---- */

int np_ul_meta_parse(const unsigned char *p, size_t n, struct np_ul_meta *m, struct np_err *err)
{
	memset(m, 0, sizeof *m);
	if (n < 132 || memcmp(p + 128, "DICM", 4))
		return np_err_set(err, NP_ERR_PERM, "not a DICOM Part 10 file (no DICM prefix)");
	size_t off = 132, end = n;
	while (off < end) {
		if (end - off < 8)
			return np_err_set(err, NP_ERR_PERM, "truncated file meta information");
		unsigned g = le16(p + off), e = le16(p + off + 2);
		if (g != 2)
			break;
		/* the meta group is explicit VR little endian (PS3.10 7.1); the
		 * one VR table says which VRs carry a 4-byte length */
		struct np_dcm_el el;
		if (np_dcm_head(p, off, end, NP_DCM_EXPLICIT_LE, &el) < 0)
			return np_err_set(err, NP_ERR_PERM, "truncated file meta element");
		size_t len = el.len;
		if (len > end - el.value)
			return np_err_set(err, NP_ERR_PERM, "file meta element (0002,%04x) longer than the file", e);
		const unsigned char *v = p + el.value;
		off = el.value + len;
		int bad = 0;
		if (e == 0x0002)
			bad = copy_uid(m->sop_class, v, len);
		else if (e == 0x0003)
			bad = copy_uid(m->sop_inst, v, len);
		else if (e == 0x0010)
			bad = copy_uid(m->ts, v, len);
		if (bad)
			return np_err_set(err, NP_ERR_PERM, "file meta UID (0002,%04x) too long", e);
	}
	if (!m->sop_class[0] || !m->sop_inst[0] || !m->ts[0])
		return np_err_set(err, NP_ERR_PERM,
				  "file meta information lacks SOP class, instance or transfer syntax");
	m->dataset_offset = off;
	return 0;
}

int np_ul_meta_read(const char *path, struct np_ul_meta *m, struct np_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return np_err_sys(err, errno, "unable to open %s", path);
	unsigned char buf[16384];
	size_t got = 0;
	while (got < sizeof buf) {
		ssize_t r = read(fd, buf + got, sizeof buf - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return np_err_sys(err, e, "unable to read %s", path);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	int r = np_ul_meta_parse(buf, got, m, err);
	if (r == 0 && m->dataset_offset >= sizeof buf)
		return np_err_set(err, NP_ERR_PERM, "file meta information of %s is too large", path);
	return r;
}

static size_t meta_elem(unsigned char *p, unsigned e, const char *vr, const void *v, size_t n)
{
	put_le16(p, 2);
	put_le16(p + 2, (uint16_t)e);
	p[4] = (unsigned char)vr[0];
	p[5] = (unsigned char)vr[1];
	size_t padded = n + (n & 1), hl;
	if (!strcmp(vr, "OB")) {
		p[6] = p[7] = 0;
		put_le32(p + 8, (uint32_t)padded);
		hl = 12;
	} else {
		put_le16(p + 6, (uint16_t)padded);
		hl = 8;
	}
	memcpy(p + hl, v, n);
	if (n & 1)
		p[hl + n] = !strcmp(vr, "UI") ? 0 : ' ';
	return hl + padded;
}

size_t np_ul_meta_build(unsigned char *out, size_t outsz, const char *sop_class, const char *sop_inst, const char *ts,
			const char *source_ae)
{
	if (strlen(sop_class) > 64 || strlen(sop_inst) > 64 || strlen(ts) > 64 || (source_ae && strlen(source_ae) > 16))
		return 0;
	/* 128 + 4 + group length 12 + version 14 + 3 UIDs (8+64) + impl UID
	 * (8+64) + version (8+16) + AE (8+16) fits well under 600 bytes. */
	if (outsz < 600)
		return 0;
	memset(out, 0, 128);
	memcpy(out + 128, "DICM", 4);
	size_t o = 132 + 12;
	static const unsigned char version[2] = {0, 1};
	o += meta_elem(out + o, 0x0001, "OB", version, 2);
	o += meta_elem(out + o, 0x0002, "UI", sop_class, strlen(sop_class));
	o += meta_elem(out + o, 0x0003, "UI", sop_inst, strlen(sop_inst));
	o += meta_elem(out + o, 0x0010, "UI", ts, strlen(ts));
	o += meta_elem(out + o, 0x0012, "UI", NP_UL_IMPL_CLASS_UID, strlen(NP_UL_IMPL_CLASS_UID));
	o += meta_elem(out + o, 0x0013, "SH", NP_UL_IMPL_VERSION, strlen(NP_UL_IMPL_VERSION));
	if (source_ae && *source_ae)
		o += meta_elem(out + o, 0x0016, "AE", source_ae, strlen(source_ae));
	unsigned char gl[4];
	put_le32(gl, (uint32_t)(o - 132 - 12));
	meta_elem(out + 132, 0x0000, "UL", gl, 4);
	return o;
}
