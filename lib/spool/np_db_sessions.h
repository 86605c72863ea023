/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_sessions: the sessions table (np-httpd's logins). */
#ifndef NP_DB_SESSIONS_H
#define NP_DB_SESSIONS_H

#include <stddef.h>

struct np_db;
struct np_err;

/* End every session but keep_sid (NULL: all). Returns how many ended, or
 * -1 with err. */
int np_db_sessions_end_others(struct np_db *db, const char *keep_sid, struct np_err *err);

/* A session's row; "" for NULL. */
struct np_db_session {
	char actor[128], role[16], method[16], saml_epoch[40];
	double last_seen;
};
/* Read session sid into s. Returns 1, 0 when there is none. On np-httpd's
 * private connections every request asks: the statements stay prepared. */
int np_db_sessions_get(struct np_db *db, const char *sid, struct np_db_session *s);
/* Move last_seen to now, but only when it is more than 30 s older: even an
 * UPDATE that changes nothing takes the database's write lock. */
void np_db_sessions_touch(struct np_db *db, const char *sid, double now);
/* End session sid (nothing when there is none). */
void np_db_sessions_end(struct np_db *db, const char *sid);
/* The session's CSRF token into out (size n). Returns 1 when it has one. */
int np_db_sessions_csrf(struct np_db *db, const char *sid, char *out, size_t n);
/* Start a session. Returns 0 or -1 with err. */
int np_db_sessions_insert(struct np_db *db, const char *sid, const char *actor, const char *role, const char *method,
			  double now, const char *csrf, const char *saml_epoch, struct np_err *err);

/* What a later SAML LogoutRequest must name, per session (kv "slo:<sid>",
 * a JSON text). Put drops the rows of sessions that no longer exist. */
void np_db_sessions_slo_put(struct np_db *db, const char *sid, const char *value);
/* Delete the session's row and hand back its value (malloc'd) or NULL. */
char *np_db_sessions_slo_take(struct np_db *db, const char *sid);
/* Call fn for each session's row. Returns 0 or -1 on a database error. */
int np_db_sessions_slo_each(struct np_db *db, void (*fn)(void *arg, const char *sid, const char *value), void *arg);
/* End session sid when it is a SAML session. Returns 1 when it ended. */
int np_db_sessions_end_saml(struct np_db *db, const char *sid);

#endif
