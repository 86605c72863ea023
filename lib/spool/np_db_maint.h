/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_maint: upkeep of the index file itself. */
#ifndef NP_DB_MAINT_H
#define NP_DB_MAINT_H

struct np_db;

/* Checkpoint the WAL into the file and truncate it (after deletes of PHI:
 * the old pages live on in the WAL until then). Best effort. */
void np_db_checkpoint(struct np_db *db);
/* Let the connection map up to bytes of the file instead of copying pages
 * into its own cache (readers of np-httpd share the kernel's page cache). */
void np_db_mmap(struct np_db *db, long long bytes);

/* The SQLite library's version, for GET /api/status. */
const char *np_db_sqlite_version(void);

struct np_err;
/* Deleted rows are overwritten with zeros (PHI must not linger in free
 * pages). Returns 0 or -1 with err. */
int np_db_secure_delete(struct np_db *db, struct np_err *err);
/* A write transaction (BEGIN IMMEDIATE), its commit and rollback. */
int np_db_begin(struct np_db *db, struct np_err *err);
int np_db_commit(struct np_db *db, struct np_err *err);
void np_db_rollback(struct np_db *db);
/* Whether the index answers a read of the studies table. */
int np_db_ping(struct np_db *db, struct np_err *err);

#endif
