/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_events: the events table (np_db_event appends; np-notify sends
 * the pending ones). */
#ifndef NP_DB_EVENTS_H
#define NP_DB_EVENTS_H

#include <stddef.h>

struct np_db;
struct np_err;

/* 1 when the study has an event of this type, else 0 (also on errors). */
int np_db_events_has(struct np_db *db, const char *npuid, const char *type);
/* The detail of the study's newest event of type whose detail begins with
 * prefix, into out (size n; "" when none). Returns 1 when found, else 0. */
int np_db_events_last_detail(struct np_db *db, const char *npuid, const char *type, const char *prefix, char *out,
			     size_t n);

/* An event not yet notified (notified <= 0). */
struct np_db_event_row {
	long long id;
	int notified;
	char ts[40], npuid[64], type[64], level[16];
	char *detail; /* malloc'd or NULL */
};
/* Up to max pending events, oldest first, into a calloc'd array (*out; free
 * each detail and the array). Returns the count or -1 with err. */
int np_db_events_pending(struct np_db *db, size_t max, struct np_db_event_row **out, struct np_err *err);
/* Set an event's notified flag (1 sent, 2 not to be sent, < 0 failed
 * attempts). Failures are logged. */
void np_db_events_mark(struct np_db *db, long long id, int notified);

/* Call fn with each event type and how many events of it were ever
 * recorded (a counter a trigger keeps, migration 7: retention's purge of
 * old events leaves it). */
void np_db_events_count_by_type(struct np_db *db, void (*fn)(void *arg, const char *type, long long n), void *arg);

#endif
