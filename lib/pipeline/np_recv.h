/* SPDX-License-Identifier: Apache-2.0 */
/* np_recv: the Storage SCP daemon behind sbin/np-recv. Listens on the plain
 * DICOM port (or, when DICOM TLS is enabled, on the TLS port only), forks
 * one process per association (measured against serving associations
 * in-process: see bench/recv.sh and np-recv(8)), and stores each instance
 * durably under spool/incoming/<StudyInstanceUID>/<SOPInstanceUID>.dcm
 * (through the instance log of np_wal.h) before answering success,
 * following the np-recv -> np-stable contract of np-spool(7) (npuid,
 * source.json, .lock held shared while an association can write to the
 * study). */
#ifndef NP_RECV_H
#define NP_RECV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct np_err;
struct np_config;

#define NP_RECV_MAX_ALLOWED 256

struct np_recv_cfg {
	char home[PATH_MAX];
	char ae_title[17];
	char bind[64];
	int port;
	char allowed[NP_RECV_MAX_ALLOWED][17];
	size_t nallowed;
	int max_assoc;
	int max_per_addr; /* associations from one IP address (one /64 for IPv6) */
	uint32_t max_pdu;
	int artim_s, idle_s;
	int tls_enabled, tls_port, verify_client;
	int tls_profile; /* enum np_tls_profile (dicom.tls.profile) */
	char cert_file[PATH_MAX], key_file[PATH_MAX], ca_file[PATH_MAX];
};

/* Command-line overrides that survive SIGHUP reloads (0/NULL = none). */
struct np_recv_overrides {
	int port;
	const char *ae_title;
};

/* Fill c from loaded settings (dicom.*) and apply the overrides. Returns 0,
 * or -1 with a permanent err (e.g. an AE title longer than 16). */
int np_recv_cfg_from(struct np_recv_cfg *c, const struct np_config *cfg, const struct np_recv_overrides *ov,
		     struct np_err *err);

/* Run the daemon until SIGTERM/SIGINT: then stop accepting, let every
 * association finish the instance in flight (it is then aborted), and return
 * 0. SIGHUP reloads settings from home (keeping the old ones when the new
 * file is invalid) and re-opens listeners whose address changed. Returns -1
 * with err when a listener cannot be opened at start. */
int np_recv_run(const char *home, const struct np_recv_overrides *ov, struct np_err *err);

/* The C-STORE response statuses np-recv sends and when (the DICOM
 * Conformance Statement prints this table; e2e 19-conformance provokes each). */
struct np_recv_status {
	unsigned code;
	const char *meaning; /* PS3.4 B.2.3 / PS3.7 C name */
	const char *when;
};
extern const struct np_recv_status np_recv_statuses[];
extern const unsigned np_recv_nstatuses;

/* ---- the store (exposed for tests) ---- */
struct np_recv_store;
/* A store for one association: spool/tmp for partial files, incoming/ for
 * studies. Returns NULL with err. */
struct np_recv_store *np_recv_store_new(const char *home, const char *calling_ae, struct np_err *err);
/* Release every study lock and free. */
void np_recv_store_free(struct np_recv_store *s);
/* The np_ul_store_ops for np_ul_scp_serve; ctx is the store. */
extern const struct np_ul_store_ops np_recv_store_ops;
/* Number of distinct studies written by this store. */
int np_recv_store_studies(const struct np_recv_store *s);

#endif
