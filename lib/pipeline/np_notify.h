/* SPDX-License-Identifier: Apache-2.0 */
/* np_notify: event notifications by e-mail or webhook (notifications.*).
 * A notification carries the event, its level and detail, the npuid, order
 * id and state of the study, and the study name only when
 * notifications.include_study_name is set: never other PHI. The pipeline
 * only records events (np_db_event); sending happens here, later, so a mail
 * server that is down never blocks a study. */
#ifndef NP_NOTIFY_H
#define NP_NOTIFY_H

#include <stddef.h>

struct np_err;
struct np_config;
struct np_db;

/* events.notified values: 0 new; -1, -2 that many failed attempts; 1 sent;
 * 2 not sent because notifications are off or the event is disabled; 3
 * given up after NP_NOTIFY_ATTEMPTS failed attempts. */
#define NP_NOTIFY_ATTEMPTS 3

/* 1 if type is one of the notifying events (keys of notifications.events). */
int np_notify_event_known(const char *type);

struct np_notify_event {
	const char *type;   /* e.g. "report_delivery_failed" */
	const char *npuid;  /* may be NULL */
	const char *level;  /* NULL = "info" */
	const char *detail; /* no PHI; may be NULL */
	const char *ts;	    /* ISO 8601; NULL = now */
};

/* Send one event now if notifications are on and the event is enabled (or
 * force, for the Test Notification button). db (may be NULL) is used to
 * look up the study's order id, state and name. tries > 1 retries temporary
 * failures after 1 s, 2 s, ... Returns 0 sent, 1 not sent (disabled), or -1
 * with err (temporary for network trouble). */
int np_notify_send(const struct np_config *cfg, struct np_db *db, const struct np_notify_event *ev, int force,
		   int tries, struct np_err *err);

/* Send every recorded event with notified <= 0 (oldest first, at most 500
 * per call), one attempt each, and mark them (see above). *sent and
 * *failed (may be NULL) count this run. Returns 0, or -1 with err when the
 * index or settings cannot be read. */
int np_notify_pending(const char *home, int *sent, int *failed, struct np_err *err);

/* The Test Notification button: a "test" notification to the configured
 * method regardless of the event toggles. msg gets one line for the UI. */
int np_notify_test(const char *home, char *msg, size_t msgsz, struct np_err *err);

#endif
