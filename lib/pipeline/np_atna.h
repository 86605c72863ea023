/* SPDX-License-Identifier: Apache-2.0 */
/* np_atna: the audit trail as IHE ATNA records. Each row of the index's
 * audit table (acts of people: logins, PHI reveals, QC bypasses, settings,
 * deletions, ...) and each security-relevant row of its events table (a
 * study received, exported to the cloud, its results delivered, purged; an
 * association refused) becomes one DICOM Audit Message (PS3.15 A.5, the
 * RELAX NG schema shipped as share/schema/atna/audit-message.rng), sent as
 * one syslog message (RFC 5424) over TLS (RFC 5425) or UDP (RFC 5426).
 *
 * The index is the queue: np_atna_follow keeps one cursor per table (the
 * last rowid sent) in the index's kv table, advanced after each message is
 * written, so a collector that is down delays the records and loses none
 * until retention deletes them (a gap is itself reported, see np-atna(8)).
 *
 * Privacy: by default no patient identifier leaves the agent. The patient
 * is named by a pseudonym (a keyed hash of the Patient ID, stable per
 * agent) and the study by a UID made from the agent's own study id (2.25.
 * form of the npuid) with the npuid as its name, so the privacy officer
 * can find both through the agent. With atna.include_patient_ids the real
 * Patient ID, Study Instance UID and Accession Number are sent. The
 * patient's name is never sent. */
#ifndef NP_ATNA_H
#define NP_ATNA_H

#include <stddef.h>

struct np_buf;
struct np_err;
struct np_db;
struct np_config;

/* What a message is made from: one row of the audit or events table (or a
 * record of np-atna itself, table "agent"), joined with its study. Every
 * field may be NULL. */
struct np_atna_rec {
	const char *table; /* "audit", "events", or "agent" */
	long long id;
	const char *ts;	    /* ISO 8601 UTC, the time of the event */
	const char *actor;  /* audit: the user (or the local admin) */
	const char *role;   /* audit: the user's role */
	const char *client; /* audit: the client's IP address, or "local" */
	const char *action; /* audit: action; events: type; agent: see np_atna_render */
	const char *npuid;
	const char *detail;  /* no PHI (np_db.h) */
	const char *outcome; /* audit: success, failure, refused, pending, partial */
	const char *level;   /* events: info, warning, error */
	/* From the study row, when the study is still known: */
	const char *patient_id, *study_uid, *accession, *calling_ae, *source;
};

/* Who sends, and how identifiers are written. */
struct np_atna_ctx {
	const char *source_id;		 /* AuditSourceID (atna.source_id, else the host name) */
	const char *site_id;		 /* AuditEnterpriseSiteID, "" or NULL for none */
	const char *host;		 /* this machine's name (NetworkAccessPointID of the agent) */
	const char *ae_title;		 /* the agent's AE title */
	const char *cloud;		 /* host of the Neuropacs cloud (uploads go there) */
	const char *const *destinations; /* report destinations as "AE@host:port", "https://host", ... NULL-ended */
	int include_patient_ids;
	const unsigned char *key; /* pseudonym key */
	size_t key_len;
};

/* Render r as one AuditMessage (UTF-8, no XML declaration) appended to out.
 * Table "agent" actions: application_start, application_stop (np-atna
 * itself, ApplicationActivity), atna_test (the Settings page's test),
 * records_lost (retention deleted rows never sent; detail says which).
 * Returns 1 when appended, 0 when the row is not audited (a pipeline event
 * of no security relevance, e.g. qc_passed), -1 on out of memory. */
int np_atna_render(const struct np_atna_ctx *c, const struct np_atna_rec *r, struct np_buf *out);

/* The pseudonym of a Patient ID under key: "NP-" and 20 hex digits of
 * HMAC-SHA256. out holds at least 24 bytes. */
void np_atna_pseudonym(const unsigned char *key, size_t key_len, const char *patient_id, char out[24]);
/* A DICOM UID for an npuid (a UUID): "2.25." and its 128 bits in decimal
 * (PS3.5 B.2). out holds at least 48 bytes. Returns 0, or -1 when npuid is
 * not a UUID. */
int np_atna_uuid_uid(const char *npuid, char out[48]);

/* One syslog message (RFC 5424): PRI 85 (facility authpriv, severity
 * notice), VERSION 1, TIMESTAMP ts, HOSTNAME host, APP-NAME app, PROCID
 * procid, MSGID "IHE+RFC-3881", no structured data, then the UTF-8 BOM and
 * msg. Header fields are cut to RFC 5424's lengths and unprintable bytes
 * replaced; "-" stands for an empty one. octet_counting prefixes the
 * message length and a space (RFC 5425 framing for TLS). Returns 0, -1 on
 * out of memory. */
int np_atna_syslog_frame(struct np_buf *out, const char *ts, const char *host, const char *app, long procid,
			 const char *msg, size_t len, int octet_counting);

/* A connection to the collector (atna.transport, host, port, ca_file,
 * cert_file, key_file). */
struct np_atna_conn;
/* Connect (TLS: handshake with the one TLS policy, the server's name
 * checked against atna.host) within timeout_ms. Returns NULL with err:
 * temporary for network errors, permanent for bad settings or a refused
 * certificate. */
struct np_atna_conn *np_atna_connect(const struct np_config *cfg, int timeout_ms, struct np_err *err);
/* Send one syslog message (already framed for the transport). Returns 0, or
 * -1 with a temporary err (the connection is then unusable). Before writing
 * over TLS it checks that the collector has not closed the connection, so
 * that a message is not written into a socket the peer already left. */
int np_atna_send(struct np_atna_conn *c, const void *msg, size_t len, struct np_err *err);
/* Whether the transport frames with octet counting (TLS). */
int np_atna_conn_tls(const struct np_atna_conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "UDP", for messages. */
const char *np_atna_conn_describe(const struct np_atna_conn *c, char *buf, size_t sz);
/* UDP: whether the collector answered with ICMP port unreachable within
 * wait_ms (1 refused, 0 no sign). Always 0 over TLS. */
int np_atna_conn_refused(struct np_atna_conn *c, int wait_ms);
void np_atna_close(struct np_atna_conn *c);

/* The sender's identity and settings for render (np_atna_ctx_load): fills
 * c from cfg and the index (the pseudonym key, made on first use and kept
 * in the kv table). Strings live in the struct np_atna_env until freed. */
struct np_atna_env {
	struct np_atna_ctx ctx;
	char host[256], source_id[256], site_id[256], ae[32], cloud[256];
	char *dest[9];
	unsigned char key[32];
};
int np_atna_env_load(struct np_atna_env *e, const struct np_config *cfg, struct np_db *db, struct np_err *err);
void np_atna_env_free(struct np_atna_env *e);

/* Render r and frame it for conn (c NULL: octet counting off). Returns 1 with
 * the message in out, 0 when r is not audited, -1 with err. */
int np_atna_message(const struct np_atna_env *e, const struct np_atna_rec *r, int tls, struct np_buf *out,
		    struct np_err *err);

/* Follow the index: send every audit and events row after the cursors,
 * oldest first (audit table, then events), at most max rows of each. send
 * is called for each rendered message; a nonzero return stops (the cursor
 * stays before that row). dry: from the first row, cursors neither read
 * nor moved (np-atna --print). Returns the number of rows passed (sent or
 * not audited), or -1 with err. */
typedef int (*np_atna_send_fn)(void *arg, const struct np_atna_rec *r, const char *msg, size_t len);
long np_atna_follow(struct np_db *db, const struct np_atna_env *e, int tls, int max, int dry, np_atna_send_fn send,
		    void *arg, struct np_err *err);
/* Send one test message (ApplicationActivity, action atna_test, launched
 * by actor from client) with the saved settings, enabled or not. Returns 0
 * with what happened in msg, or -1 with err (what failed, for the admin). */
int np_atna_test(const struct np_config *cfg, struct np_db *db, const char *actor, const char *client, char *msg,
		 size_t msgsz, struct np_err *err);
/* Set both cursors to the newest rows (np-atna --skip-backlog). */
int np_atna_skip_backlog(struct np_db *db, struct np_err *err);

#endif
