/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_int: what the np_db*.c modules share and nobody else sees: SQLite
 * and the small helpers every query writes the same way. A module of
 * queries (np_db_studies, np_db_events, ...) includes this; a caller
 * includes only the module's own header. */
#ifndef NP_DB_INT_H
#define NP_DB_INT_H

#include "np_db.h"

#include <sqlite3.h>

struct np_err;

struct np_db {
	sqlite3 *h;
	char home[4096];
	struct np__db_cache *cache; /* np__db_cached's statements, NULL until the first */
};

/* Prepare sql on db's connection, or set err ("database error: ...",
 * temporary) and return NULL. The caller finalizes. */
sqlite3_stmt *np__db_prep(struct np_db *db, const char *sql, struct np_err *err);
/* Step st once, finalize it, and set err when the step failed (busy, full
 * and I/O errors are temporary). Returns 0 or -1. */
int np__db_done(struct np_db *db, sqlite3_stmt *st, struct np_err *err);
/* Bind s, or NULL when s is NULL (copied: s may be freed after). */
void np__db_text(sqlite3_stmt *st, int i, const char *s);
/* A column's text, or "" for NULL. */
const char *np__db_col(sqlite3_stmt *st, int i);
/* The column's text copied into out (size n), "" for NULL. */
void np__db_col_cpy(sqlite3_stmt *st, int i, char *out, size_t n);
/* Set err from the connection's last error: with what, "unable to <what>:
 * ..." (temporary); without, "database error: ..." (busy, locked, full and
 * I/O errors temporary, the rest permanent). Returns -1. */
int np__db_fail(struct np_db *db, struct np_err *err, const char *what);

/* A prepared statement of sql from the connection's cache (the last 16
 * texts asked for, least recently used out), reset and unbound: np-httpd's
 * listings are a handful of SQL texts asked again and again. Only for a
 * connection of np_db_open_private (one thread); never finalize it, and a
 * statement stays valid only until the next np__db_cached call. NULL when
 * sql does not prepare (sqlite3_errmsg tells why). */
sqlite3_stmt *np__db_cached(struct np_db *db, const char *sql);
/* A statement for sql that np__db_done_with then releases: from the cache on
 * a private connection (no SQLite mutex: np_db_open_private), else freshly
 * prepared and finalized after. NULL with err when sql does not prepare. */
sqlite3_stmt *np__db_use(struct np_db *db, const char *sql, struct np_err *err);
void np__db_done_with(struct np_db *db, sqlite3_stmt *st);
/* Finalize the cached statements (np_db_close). */
void np__db_cache_free(struct np_db *db);

/* Run SQL text without results: for the np_db_* modules (and the white-box
 * unit tests); everyone else calls a named function. */
int np_db_exec(struct np_db *db, const char *sql, struct np_err *err);

#endif
