/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_sessions: the sessions table (np-httpd's logins). */
#ifndef NP_DB_SESSIONS_H
#define NP_DB_SESSIONS_H

struct np_db;
struct np_err;

/* End every session but keep_sid (NULL: all). Returns how many ended, or
 * -1 with err. */
int np_db_sessions_end_others(struct np_db *db, const char *keep_sid, struct np_err *err);

#endif
