/* SPDX-License-Identifier: Apache-2.0 */
/* np_cloud: the Neuropacs cloud client behind one interface, protocol v1
 * (encrypted session: RSA-OAEP key exchange, AES-128-CTR bodies, per-ZIP
 * multipart uploads) or v2 (OAuth2 bearer REST API with the bodies of
 * share/cloud-v2.json), chosen by cloud.protocol. See np-upload(1),
 * np-poll(1) and the order file format in np-order(5)
 * (order.json).
 *
 * Secrets (API key, service password, session AES key, bearer token) stay in
 * memory, are wiped on close, and never appear in logs or err messages. The
 * v2 bearer token is cached as the secret cloud.token (0600, sealed under the
 * privilege split). */
#ifndef NP_CLOUD_H
#define NP_CLOUD_H

#include <jansson.h>
#include <stddef.h>

struct np_err;
struct np_config;
struct np_cloud;

/* UI order states (order.json "status", the index's order_status). */
#define NP_ORDER_HELD "Held" /* cloud not configured: waiting before upload */
#define NP_ORDER_QUEUED "Queued"
#define NP_ORDER_UPLOADING "Uploading"
#define NP_ORDER_PROCESSING "Processing"
#define NP_ORDER_COMPLETED "Completed"
#define NP_ORDER_FAILED "Failed"
#define NP_ORDER_EXPIRED "Expired"
#define NP_ORDER_CANCELLED "Cancelled"

/* 1 when cloud.api_url is set. */
int np_cloud_configured(const struct np_config *cfg);
/* 1 unless the credential of the protocol in use (v1: cloud.api_key, v2:
 * the service password) is stored and this process may not read it: under
 * the privilege split np-httpd talks to the cloud only through the
 * back-end. */
int np_cloud_credentials_here(const struct np_config *cfg);
/* A client for the configured cloud. Reads the secrets it needs from
 * cfg->home. Does no network I/O yet. NULL with a permanent err when the
 * cloud is not configured or a needed secret is missing. */
struct np_cloud *np_cloud_open(const struct np_config *cfg, struct np_err *err);
void np_cloud_close(struct np_cloud *cl);
/* "v1" or "v2". */
const char *np_cloud_protocol(const struct np_cloud *cl);

/* Every call below connects (v1 key exchange, v2 token) on first use and
 * reconnects once when the server says the session or token expired.
 * Returns 0, or -1 with err: temporary for transport errors, 5xx and 429;
 * permanent for other 4xx, with the server's "error" text verbatim. */

/* Create an order. metadata (v2 only; borrowed, may be NULL) is the order
 * metadata object (products, PatientAge, PatientSex, ...). order_id gets
 * the server's id (a UUID). */
int np_cloud_new_order(struct np_cloud *cl, json_t *metadata, char order_id[64], struct np_err *err);
/* Upload one ZIP as part zip_index (0-based) of the order's dataset:
 * request/initiate (v2 with the ZIP's size), presigned URL, PUT with no
 * extra headers, complete with final = 1 for the last ZIP. The PUT body is
 * streamed from zip (rewound first, so a retry sends it again from its
 * files; no ZIP lands on disk) with its size as Content-Length; after a 0
 * return np_zip_sha(zip) is the SHA-256 of what was sent. etag gets the
 * server's ETag. A file that changed size fails with a permanent err before
 * or during the PUT, never with a wrong ZIP sent whole. */
struct np_zip;
int np_cloud_upload_zip(struct np_cloud *cl, const char *order_id, int zip_index, int final, struct np_zip *zip,
			char etag[256], struct np_err *err);
/* Start processing with one product (v1 runJob; v2 processing starts with
 * the final complete, so this is a no-op returning 0). */
int np_cloud_run_job(struct np_cloud *cl, const char *order_id, const char *product, struct np_err *err);

struct np_cloud_status {
	char state[16]; /* one of NP_ORDER_* */
	int progress;	/* 0-100 */
	char info[256]; /* server's text, may be "" */
};
/* Current status. An unknown or expired order ("Bucket not found.") is
 * state Expired with a 0 return, not an error. */
int np_cloud_status(struct np_cloud *cl, const char *order_id, struct np_cloud_status *st, struct np_err *err);
/* Download one result format (v1: txt xml json png features; v2 also pdf)
 * into path (atomically, 0640). Returns 0, 1 when the protocol has no such
 * format, -1 on error. */
int np_cloud_result(struct np_cloud *cl, const char *order_id, const char *format, const char *path,
		    struct np_err *err);
/* Failure report (v2: txt or png) into path. 1 when the protocol has none (v1). */
int np_cloud_failure_report(struct np_cloud *cl, const char *order_id, const char *format, const char *path,
			    struct np_err *err);
/* QC/compliance check (v1 qcCheck; format txt, csv or json). *out malloc'd. */
int np_cloud_qc_check(struct np_cloud *cl, const char *order_id, const char *format, char **out, struct np_err *err);
/* Cancel at the cloud (v2 cancel-order). 1 when the protocol cannot (v1). */
int np_cloud_cancel(struct np_cloud *cl, const char *order_id, struct np_err *err);
/* v2: orders visible to the service user (external orders). *out new ref. 1 on v1. */
int np_cloud_list_orders(struct np_cloud *cl, json_t **out, struct np_err *err);
/* v2: send a heartbeat body (borrowed). 1 on v1 (no heartbeat). */
int np_cloud_heartbeat(struct np_cloud *cl, json_t *body, struct np_err *err);
/* Force a new session: v1 key exchange, v2 token request (cached). */
int np_cloud_reconnect(struct np_cloud *cl, struct np_err *err);

/* ---- Study-level operations shared by np-upload, np-poll and np-httpd ---- */

/* Load dir/order.json (new ref), or an empty object when absent. */
json_t *np_order_load(const char *dir, struct np_err *err);
/* Atomically save dir/order.json (0640; it holds no secret). */
int np_order_save(const char *dir, json_t *order, struct np_err *err);
/* Set status/progress/info in order (and the index when db is not NULL). */
struct np_db;
void np_order_set_status(json_t *order, struct np_db *db, const char *npuid, const char *state, int progress,
			 const char *info);

/* Settings "Refresh Token": v2 re-requests the bearer token, v1 performs a
 * fresh key exchange to prove the API key works. Fills msg for the UI. */
int np_cloud_refresh_token(const char *home, char *msg, size_t msgsz, struct np_err *err);
/* Check one study's order status now (np-httpd "check status"): updates
 * order.json and the index. *order_out (may be NULL) gets the order (new
 * ref). 1 when the study has no cloud order yet. */
int np_cloud_check_status(const char *home, const char *npuid, json_t **order_out, struct np_err *err);
/* Cancelling a study (and its order at the cloud) is np_study_cancel's
 * (np_study_ops.h): it stops what follows, in every state. */

/* ---- Password re-sync after a cloud password change (issue 9) ---- */

/* Ask the cloud whether password is the service user's password now: a v2
 * token request with cloud.service_user and password (the secret is not
 * read). On success the new token is cached like any other. Returns 0 when
 * the cloud accepts it, 1 when it refuses it (HTTP 401/403), -1 with err
 * when it cannot tell: permanent without protocol v2 and a service user,
 * temporary for transport errors and 5xx. password is neither kept nor
 * logged. */
int np_cloud_verify_password(const struct np_config *cfg, const char *password, struct np_err *err);

#endif
