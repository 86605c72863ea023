/* SPDX-License-Identifier: Apache-2.0 */
/* np_deliver: result delivery to the configured destinations (DICOM
 * Encapsulated PDF, DICOM SR, REST, e-mail, none) with per-destination state
 * in the study's deliveries.json, plus the senders themselves, shared with
 * np-report (group reports), np-notify and np-httpd (resend, test buttons).
 *
 * A destination is a JSON object of the schema's definitions/destination
 * (borrowed); its secret (REST password or token) is read from
 * $home/etc/secrets/<secret_key>. No function here logs or returns PHI:
 * errors name the destination by index, type and host, never the study. */
#ifndef NP_DELIVER_H
#define NP_DELIVER_H

#include <jansson.h>
#include <stddef.h>

#include "np_template.h"

struct np_err;
struct np_config;

/* ---- senders ---- */

/* One thing to send to one destination. */
struct np_deliver_item {
	const char *file;	       /* REST/e-mail: the report to send (NULL = none) */
	const char *filename;	       /* attachment name shown to the recipient */
	const char *content_type;      /* MIME type of file */
	const char *dicom_file;	       /* dicom_pdf/dicom_sr: the Part 10 object to C-STORE */
	const struct np_tpl_var *vars; /* template values ({report_base64} is added here) */
	size_t nvars;
	/* Demo mode: the result's "notice" (NULL or "" = none); e-mails put it
	 * first in the body. */
	const char *notice;
};

/* Send item to dest. secret_key names the destination's password secret
 * ("delivery.destinations.0.password"), NULL when it has none. Type "none"
 * succeeds without sending. Returns 0 sent, or -1 with err: temporary for
 * network errors, timeouts, 5xx/429 and SMTP 4xx; permanent for other
 * answers and bad settings. */
int np_deliver_send(const struct np_config *cfg, json_t *dest, const char *secret_key,
		    const struct np_deliver_item *item, struct np_err *err);

/* HTTP POST/PUT of body (Content-Type from the headers, else JSON when the
 * body starts with '{' or '[', else text/plain) with dest's url, method,
 * auth (basic: username + secret; bearer: secret) and headers. 2xx = 0. */
int np_deliver_http(const struct np_config *cfg, json_t *dest, const char *secret_key, const char *body,
		    struct np_err *err);

/* E-mail through the smtp.* settings (plain, STARTTLS or SMTPS; AUTH when
 * smtp.username is set). recipients is comma-separated; subject is one
 * line (non-ASCII is RFC 2047 encoded); body is UTF-8 text. attach (may be
 * NULL) is added as a base64 MIME part named filename of content_type. */
int np_deliver_email(const struct np_config *cfg, const char *recipients, const char *subject, const char *body,
		     const char *attach, const char *filename, const char *content_type, struct np_err *err);

/* C-STORE of a Part 10 file to dest (host, port, ae_title,
 * calling_ae_title or dicom.ae_title, tls with optional client
 * certificate). Success = DIMSE status 0x0000 or a warning 0xB000-0xBFFF. */
int np_deliver_dicom(const struct np_config *cfg, json_t *dest, const char *path, struct np_err *err);
/* C-ECHO to a DICOM destination (the Test Delivery button). */
int np_deliver_echo(const struct np_config *cfg, json_t *dest, struct np_err *err);

/* ---- studies ---- */

enum {
	/* A manual resend: forget the state of the destinations not delivered
	 * yet (dest < 0) or of the one chosen (dest >= 0, even if it was
	 * delivered: the admin asked) and make one attempt each now. One that
	 * fails temporarily waits on the retry.* schedule like any other
	 * (np-queue, or np_deliver_failures once the study is in done/). */
	NP_DELIVER_RESEND = 1,
	/* Deliver results/failure.* to failure_delivery even if result files
	 * exist too (a study that ended in failed/). */
	NP_DELIVER_FAILURE = 2,
	/* The retry pass of a finished study: only the destinations still
	 * pending are attempted; none is added or reset because the settings
	 * changed (np_deliver_failures). */
	NP_DELIVER_RETRY = 4,
};

/* Deliver a study folder's results: results/report.pdf and the results
 * JSON to delivery.destinations (or, when only results/failure.* exists,
 * the failure report to failure_delivery). dest < 0 = every destination,
 * else only that index. Each run makes at most one attempt per pending
 * destination whose backoff has passed and records it in deliveries.json
 * before and after sending, so a crash never sends a destination twice in
 * one attempt and a retry sends only what is missing. A temporary failure
 * (network, timeout, 5xx/429, SMTP 4xx, transient association reject)
 * leaves the destination pending with next_attempt on the retry.* schedule
 * (retry.initial_seconds doubling to retry.max_seconds) until
 * retry.give_up_seconds after its first failure ("failing_since"), or
 * np-queue's last try (NP_QUEUE_LAST_TRY=1); a permanent one (4xx, bad
 * settings, permanent reject, SMTP 5xx) fails it at once. Run by np-queue,
 * it notes the first waiting destination and when it is due
 * (np_queue_note). Records report_delivered (every destination sent) and
 * report_delivery_failed (a destination failed) events.
 * Returns 0 finished (every destination sent or failed for good; *failed
 * counts the failed ones), 1 attempts remain (exit 111: retry later), -1
 * with err (the study cannot be delivered: no results, bad settings; or,
 * permanent, a DICOM destination with no readable original instance to
 * file the result into: that destination is failed at once, the others
 * are still attempted). */
int np_deliver_study(const char *home, const char *dir, int dest, int flags, int *failed, struct np_err *err);

/* Where no queue runs (np-sched calls this every minute): the failure
 * reports of studies that np-poll moved to failed/ (np_deliver_study on each
 * study in failed/ that has a results/failure.* report and whose
 * deliveries.json is absent or still has a pending destination; a study
 * once finished is never revisited, so turning failure_delivery on later
 * does not resend old reports), and the destinations of studies in done/
 * that a resend left pending (NP_DELIVER_RETRY, when due). *count (may be
 * NULL) gets the number of studies attempted. Returns 0 all finished, 1
 * attempts remain, -1 with err. */
int np_deliver_failures(const char *home, int *count, struct np_err *err);

/* The "Test Delivery" button: which is "N" (delivery.destinations.N),
 * "failure" (failure_delivery) or "group" (groups.delivery). Sends a small
 * generated test report (a one-page PDF; for DICOM types a C-ECHO
 * then nothing is stored) to that destination. msg gets a one-line outcome
 * for the UI. Returns 0 or -1 with err. */
int np_deliver_test(const char *home, const char *which, char *msg, size_t msgsz, struct np_err *err);

#endif
