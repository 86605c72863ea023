/* SPDX-License-Identifier: Apache-2.0 */
/* np_db: the SQLite index ($NP_HOME/db/agent.sqlite, WAL). The spool is the
 * source of truth for studies; np_index.h, above this module and the spool,
 * fills a new index from it. Schema version in PRAGMA user_version;
 * migrations are applied in order by np_db_open. */
#ifndef NP_DB_H
#define NP_DB_H

#include <jansson.h>

struct np_err;
/* The index, opaque: its queries are the np_db_* modules, by table
 * (np_db_studies.h, np_db_events.h, ...); nothing else calls SQLite. */
struct np_db;

/* kv key present once the spool's studies are in the index. */
#define NP_DB_SPOOL_INDEXED "spool_indexed"

/* Open (creating and migrating as needed). Busy timeout 5 s. A file made
 * here has no study row yet: programs open the index with np_index_open,
 * which fills it from the spool. Returns NULL with err. */
struct np_db *np_db_open(const char *home, struct np_err *err);
/* Same, for a connection that only the calling thread ever uses. */
struct np_db *np_db_open_private(const char *home, struct np_err *err);
void np_db_close(struct np_db *db);
/* The agent home the index belongs to. */
const char *np_db_home(const struct np_db *db);

/* Insert or replace the study row from its manifest (may be NULL for a bare
 * row) and state. */
int np_db_study_put(struct np_db *db, const char *npuid, const char *state, json_t *manifest, struct np_err *err);
/* The same with a statement kept by the caller for many rows (the index
 * rebuild): *put NULL at first, prepared here; np_db_study_put_end after. */
struct np_db_put;
int np_db_study_put_with(struct np_db *db, struct np_db_put **put, const char *npuid, const char *state,
			 json_t *manifest, struct np_err *err);
void np_db_study_put_end(struct np_db_put *put);
/* Update only the state (and updated_at). Returns 0, 1 when the study has
 * no row (not indexed yet), or -1 with err. */
int np_db_study_state(struct np_db *db, const char *npuid, const char *state, struct np_err *err);
/* Set one column of the study row; column must be one of the known text
 * columns (qc_result, order_id, order_status, group_name, ...). */
int np_db_study_set(struct np_db *db, const char *npuid, const char *column, const char *value, struct np_err *err);
int np_db_study_delete(struct np_db *db, const char *npuid, struct np_err *err);

/* Append an event (type is the snake_case name of the guide's events, e.g.
 * "qc_failed"; detail must not contain PHI). */
/* An audit record of an admin's act at the machine itself (a command run
 * by root or the service user: role admin, client local), as np-httpd's
 * own records are for acts over the network. Returns 0 or -1 with err. */
int np_db_audit_local(struct np_db *db, const char *actor, const char *action, const char *detail, const char *outcome,
		      struct np_err *err);
int np_db_event(struct np_db *db, const char *npuid, const char *type, const char *level, const char *detail,
		struct np_err *err);

/* Small key/value store (agent id, last runs, ...). Get returns malloc'd or NULL. */
char *np_db_kv_get(struct np_db *db, const char *key);
int np_db_kv_set(struct np_db *db, const char *key, const char *value, struct np_err *err);

#endif
