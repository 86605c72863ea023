/* SPDX-License-Identifier: Apache-2.0 */
/* np_ul: the DICOM Upper Layer (PS3.8: A-ASSOCIATE, P-DATA, A-RELEASE,
 * A-ABORT over TCP or TLS) and the DIMSE services C-ECHO and C-STORE
 * (PS3.7), for both roles: the Storage SCP of np-recv and the C-STORE SCU
 * of np-deliver. Every length read from the network is checked before use;
 * a PDU larger than what we announced is refused with an A-ABORT.
 * Memory per association is one PDU buffer (max PDU + header), whatever the
 * size of the instances: data PDVs are handed to the caller as they arrive.
 * An np_ul is used by one thread at a time. */
#ifndef NP_UL_H
#define NP_UL_H

#include <stddef.h>
#include <stdint.h>

struct np_err;
struct np_tls;
struct np_tls_ctx;

/* Our implementation class UID: a UUID-derived UID (PS3.5 B.2), root 2.25,
 * from UUID 48497863-d194-43aa-9d24-c04b22846b94; no registration needed. */
#define NP_UL_IMPL_CLASS_UID "2.25.96085895164789119998365446073462582164"
#define NP_UL_IMPL_VERSION "NEUROPACS_" NP_UL_VERSION_SHORT
#define NP_UL_VERSION_SHORT "1"
#define NP_UL_APP_CONTEXT "1.2.840.10008.3.1.1.1"
#define NP_UL_VERIFICATION "1.2.840.10008.1.1"

/* Transfer syntaxes we know by name. */
#define NP_TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define NP_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define NP_TS_DEFLATED_LE "1.2.840.10008.1.2.1.99"
#define NP_TS_EXPLICIT_BE "1.2.840.10008.1.2.2"

/* DIMSE statuses used here (PS3.4 B.2.3, PS3.7 C). */
enum {
	NP_DIMSE_SUCCESS = 0x0000,
	NP_DIMSE_OUT_OF_RESOURCES = 0xA700,
	NP_DIMSE_DATASET_MISMATCH = 0xA900, /* data set does not match SOP class / command */
	NP_DIMSE_CANNOT_UNDERSTAND = 0xC000,
	NP_DIMSE_UNRECOGNIZED_OP = 0x0211,
};

/* A-ASSOCIATE-RJ fields (PS3.8 9.3.4). */
enum { NP_RJ_PERMANENT = 1, NP_RJ_TRANSIENT = 2 };
enum { NP_RJ_SRC_USER = 1, NP_RJ_SRC_ACSE = 2, NP_RJ_SRC_PRESENTATION = 3 };
enum {
	NP_RJ_USER_NO_REASON = 1,
	NP_RJ_USER_APP_CONTEXT = 2,
	NP_RJ_USER_CALLING_AE = 3,
	NP_RJ_USER_CALLED_AE = 7,
	NP_RJ_ACSE_PROTOCOL_VERSION = 2,
	NP_RJ_PRES_CONGESTION = 1,
	NP_RJ_PRES_LIMIT = 2,
};

/* Presentation context results (PS3.8 9.3.3.2). */
enum {
	NP_PC_ACCEPT = 0,
	NP_PC_USER_REJECT = 1,
	NP_PC_NO_REASON = 2,
	NP_PC_AS_NOT_SUPPORTED = 3,
	NP_PC_TS_NOT_SUPPORTED = 4,
};

/* The slowest a PDU may arrive once begun (8 KiB/s: a 256 KiB PDU in 32
 * s; a 64 kbit/s line still makes it), and the time any PDU gets at least
 * (a header and a small PDU over a congested link). */
#define NP_UL_MIN_RATE 8192u
#define NP_UL_PDU_FLOOR_S 10

#define NP_UL_MAX_PC 128
#define NP_UL_MAX_TS 32 /* transfer syntaxes kept per proposed context */

struct np_ul_pc {
	uint8_t id;
	uint8_t result; /* NP_PC_* */
	char as[65];	/* abstract syntax (SOP class) */
	char ts[65];	/* accepted transfer syntax */
};

/* One association (either role). Fields are read-only for callers. */
#define NP_UL_RBUF 65536

struct np_ul {
	int fd;
	struct np_tls *tls; /* NULL on plain TCP */
	int scu;	    /* 1 when we are the requestor */
	unsigned char *buf; /* PDU buffer, bufcap bytes */
	size_t bufcap;
	uint32_t max_recv; /* largest P-DATA PDU we accept (announced) */
	uint32_t max_send; /* largest P-DATA PDU the peer accepts (0 = no limit) */
	int timeout_ms;	   /* per read/write wait; ARTIM while associating, then idle */
	/* CLOCK_MONOTONIC seconds (np_mono) by which the current wait must be
	 * over; 0 = none. The SCP sets it to the ARTIM deadline while the
	 * A-ASSOCIATE-RQ arrives, and per PDU while serving (see min_rate). */
	double deadline;
	/* When non-zero (the SCP once associated): a PDU whose first byte came
	 * must be whole within max(NP_UL_PDU_FLOOR_S, its length / min_rate)
	 * seconds of that byte, so a sender cannot hold an association (or the
	 * process behind it) by trickling bytes; timeout_ms bounds only the wait
	 * for the first byte of the next PDU. */
	uint32_t min_rate;
	char calling_ae[17], called_ae[17];
	char peer_impl_uid[65], peer_impl_version[17];
	int npc;
	struct np_ul_pc pc[NP_UL_MAX_PC];
	unsigned msg_id;
	int released; /* A-RELEASE done */
	int aborted;  /* A-ABORT sent or received */
	unsigned long long instances, bytes;
	unsigned char rbuf[NP_UL_RBUF]; /* read-ahead: bytes rpos..rlen not yet consumed */
	size_t rpos, rlen;
};

/* ---- common ---- */

/* Wrap a connected socket (TCP_NODELAY is set here). tls may be NULL.
 * max_recv is the largest P-DATA PDU we announce (>= 4096).
 * Returns NULL with err when out of memory. The fd and tls stay owned by
 * the caller until np_ul_free, which closes neither. */
struct np_ul *np_ul_new(int fd, struct np_tls *tls, uint32_t max_recv, int timeout_ms, struct np_err *err);
void np_ul_free(struct np_ul *ul);
/* Send an A-ABORT (source 0 service user, 2 service provider; reason per
 * PS3.8 9.3.8). Best effort, no error. */
void np_ul_abort(struct np_ul *ul, int source, int reason);
/* Set TCP_NODELAY (and close-on-exec) on a socket. */
void np_ul_sock_tune(int fd);
/* 1 if uid is one of the transfer syntaxes we accept as-is. */
int np_ul_ts_supported(const char *uid);
/* 0 implicit LE, 1 explicit LE, 2 explicit BE, 3 deflated explicit LE for
 * dataset encoding of ts; every encapsulated (compressed) syntax is explicit
 * LE in its header. -1 unknown. */
int np_ul_ts_kind(const char *ts);
/* Readable name of an A-ASSOCIATE-RJ (result, source, reason) triple. */
const char *np_ul_reject_text(int source, int reason);

/* ---- SCU (association requestor) ---- */

/* One presentation context to propose: an abstract syntax and the transfer
 * syntaxes in our order of preference. */
struct np_ul_propose {
	const char *as;
	const char *const *ts;
	int nts;
};

struct np_ul_scu_opts {
	const char *host; /* name or address */
	int port;
	const char *calling_ae, *called_ae;
	int timeout_s;		/* connect, ARTIM and DIMSE response wait; 0 = 30 */
	uint32_t max_pdu;	/* 0 = 262144 */
	struct np_tls_ctx *tls; /* NULL = plain TCP */
};

/* Connect, (TLS handshake), send A-ASSOCIATE-RQ with the proposed contexts
 * (ids 1, 3, 5, ...) and wait for the answer. Returns the association, or
 * NULL with err: temporary for network errors, timeouts and transient
 * rejections; permanent for permanent A-ASSOCIATE-RJ (err->msg names the
 * reason) and when no context was accepted. The caller frees with
 * np_ul_release or np_ul_close. */
struct np_ul *np_ul_scu_connect(const struct np_ul_scu_opts *o, const struct np_ul_propose *pcs, int npcs,
				struct np_err *err);
/* The accepted context id for (as, ts) (ts NULL = any), or -1. */
int np_ul_scu_context(const struct np_ul *ul, const char *as, const char *ts);
/* C-ECHO. Returns 0 with *status filled, or -1 with err (the association
 * is then unusable: abort or close it). */
int np_ul_scu_echo(struct np_ul *ul, unsigned *status, struct np_err *err);
/* C-STORE of a dataset held in memory, in transfer syntax ts (the bytes
 * after the Part 10 meta header). Returns 0 with *status, or -1 with err
 * (permanent when no accepted context fits). */
int np_ul_scu_store_mem(struct np_ul *ul, const char *sop_class, const char *sop_inst, const char *ts,
			const void *dataset, size_t len, unsigned *status, struct np_err *err);
/* C-STORE of a Part 10 file, streamed in PDVs (the file is never held in
 * memory). The SOP class, instance and transfer syntax come from its meta
 * header; no transcoding: a context accepted for exactly that transfer
 * syntax is needed. Returns as np_ul_scu_store_mem. */
int np_ul_scu_store_file(struct np_ul *ul, const char *path, unsigned *status, struct np_err *err);
/* A-RELEASE-RQ, wait for the RP, then close the socket (and TLS) and free.
 * Returns 0, or -1 with err (the association is freed either way). */
int np_ul_release(struct np_ul *ul, struct np_err *err);
/* Close socket and TLS and free, without any PDU (after np_ul_abort). */
void np_ul_close(struct np_ul *ul);

/* ---- Part 10 file meta information ---- */

struct np_ul_meta {
	char sop_class[65], sop_inst[65], ts[65];
	size_t dataset_offset; /* first byte after the meta header */
};
/* Read the meta header of a Part 10 file (preamble, "DICM", group 0002).
 * Returns 0, or -1 with a permanent err when it is not Part 10 or the
 * meta header is malformed. */
int np_ul_meta_read(const char *path, struct np_ul_meta *m, struct np_err *err);
/* Parse a meta header from memory (same checks). */
int np_ul_meta_parse(const unsigned char *p, size_t n, struct np_ul_meta *m, struct np_err *err);
/* Build a Part 10 preamble + meta header (explicit VR LE group 0002 with our
 * implementation class UID and version name; source_ae may be NULL) into
 * out. Returns its length, or 0 when it does not fit or a UID is too long. */
size_t np_ul_meta_build(unsigned char *out, size_t outsz, const char *sop_class, const char *sop_inst, const char *ts,
			const char *source_ae);

/* ---- SCP (association acceptor) ---- */

struct np_ul_scp_cfg {
	const char *ae_title;		 /* our (called) AE title */
	const char *const *allowed_aets; /* calling AE titles allowed; NULL or n=0: any */
	size_t nallowed;
	int artim_s, idle_s;
	/* ARTIM as a deadline (np_mono seconds), e.g. accept time + artim_s: the
	 * whole A-ASSOCIATE-RQ must have arrived by then, however it trickles
	 * in. 0 = artim_s from the call. */
	double artim_deadline;
	/* Called once the A-ASSOCIATE-RQ has been read, before it is answered;
	 * nonzero means the connection was given up meanwhile (np-recv evicts a
	 * connection still sending its request for a new one): -1, nothing sent.
	 * NULL: none. */
	int (*rq_read)(void *ctx);
	void *rq_ctx;
};

struct np_ul_reject {
	int result, source, reason;
};

/* Read the A-ASSOCIATE-RQ (whole by the ARTIM deadline), negotiate
 * presentation contexts (Verification and every Storage SOP Class; the
 * first proposed transfer syntax we support), and answer with
 * A-ASSOCIATE-AC or -RJ. Once accepted, timeout_ms is idle_s and PDUs must
 * arrive at NP_UL_MIN_RATE (see min_rate). Returns 0 accepted, 1 rejected
 * (rj filled, RJ sent), -1 protocol or network error (err; an A-ABORT was
 * sent when the peer sent garbage). */
int np_ul_scp_associate(struct np_ul *ul, const struct np_ul_scp_cfg *cfg, struct np_ul_reject *rj, struct np_err *err);
/* Send an A-ASSOCIATE-RJ without reading anything (e.g. too many
 * associations). Best effort. */
void np_ul_send_reject(int fd, int result, int source, int reason);

struct np_ul_store_req {
	const char *sop_class, *sop_inst, *ts;
	const char *context_class; /* the abstract syntax of the presentation context */
	uint8_t pc_id;
	unsigned msg_id;
};

/* Callbacks for the C-STORE service. Each returns a DIMSE status: 0 to go
 * on, else the failure status to answer with (the rest of the instance is
 * then read and discarded). end is called exactly once per begun instance:
 * complete=1 when the last PDV arrived (its return is the response status,
 * sent only after end returns: the instance must be durable by then),
 * complete=0 when the association ended mid-instance (clean up). */
struct np_ul_store_ops {
	unsigned (*begin)(void *ctx, const struct np_ul_store_req *req);
	unsigned (*data)(void *ctx, const void *p, size_t n);
	unsigned (*end)(void *ctx, int complete);
	/* Non-zero: stop after the current message (e.g. SIGTERM); may be NULL. */
	int (*stop)(void *ctx);
	/* A C-STORE refused before begin (its SOP Class UID is not the one of
	 * its presentation context, or it has no SOP Instance UID), with the
	 * status it is answered; for the log. May be NULL. */
	void (*refused)(void *ctx, const struct np_ul_store_req *req, unsigned status);
};

/* Serve DIMSE (C-ECHO, C-STORE) until the peer releases. Returns 0 on
 * A-RELEASE, 1 when the association ended otherwise (peer abort, stop
 * requested: we sent an A-ABORT), -1 on protocol/network errors and
 * timeouts (err filled; an A-ABORT was sent when it made sense). */
int np_ul_scp_serve(struct np_ul *ul, const struct np_ul_store_ops *ops, void *ctx, struct np_err *err);

/* ---- parsers exposed for unit tests and the fuzz target ---- */

struct np_ul_assoc_rq {
	int version_ok;
	char called_ae[17], calling_ae[17];
	char app_context[65];
	uint32_t max_pdu; /* 0 = not given / unlimited */
	char impl_uid[65], impl_version[17];
	int async_proposed;
	int npc;
	struct {
		uint8_t id;
		uint8_t result; /* A-ASSOCIATE-AC only */
		char as[65];
		int nts;
		char ts[NP_UL_MAX_TS][65];
	} pc[NP_UL_MAX_PC];
};
/* Parse the body of an A-ASSOCIATE-RQ (ac=0) or -AC (ac=1) after the
 * 6-byte PDU header. Returns 0, or -1 with a permanent err for malformed
 * input. */
int np_ul_parse_assoc(const unsigned char *p, size_t n, int ac, struct np_ul_assoc_rq *rq, struct np_err *err);

struct np_ul_cmd {
	unsigned command, msg_id, msg_id_resp, dataset_type, status, priority;
	char sop_class[65], sop_inst[65];
};
/* Parse a DIMSE command set (implicit VR LE group 0000). Returns 0, or -1
 * with a permanent err. */
int np_ul_parse_command(const unsigned char *p, size_t n, struct np_ul_cmd *c, struct np_err *err);

#endif
