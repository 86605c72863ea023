/* SPDX-License-Identifier: Apache-2.0 */
/* np_recv_events: what np-recv has to record in the index (a refused
 * association), handed over as a file. Under the privilege split np-recv
 * runs as a user that may not open the index (it could rewrite the audit
 * trail and the sessions), so it drops one small JSON file per event in
 * spool/events/, and np-stable, which scans every second, puts each into
 * the events table and removes it. Only the kinds of event np-recv records
 * are taken; anything else is dropped with a warning. */
#ifndef NP_RECV_EVENTS_H
#define NP_RECV_EVENTS_H

struct np_db;
struct np_err;

/* np-recv: record an event of type (association_rejected) with detail. */
int np_recv_event_drop(const char *home, const char *type, const char *detail, struct np_err *err);
/* np-stable: move at most max dropped events into db; the count moved, or
 * -1 with err when the folder cannot be read. */
int np_recv_events_ingest(const char *home, struct np_db *db, int max, struct np_err *err);

#endif
