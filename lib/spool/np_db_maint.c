// SPDX-License-Identifier: Apache-2.0
#include "np_db_maint.h"

#include "np_db_int.h"

#include <stdio.h>

void np_db_checkpoint(struct np_db *db)
{
	sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

void np_db_mmap(struct np_db *db, long long bytes)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA mmap_size = %lld", bytes);
	sqlite3_exec(db->h, sql, NULL, NULL, NULL);
}

const char *np_db_sqlite_version(void)
{
	return sqlite3_libversion();
}

int np_db_secure_delete(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "PRAGMA secure_delete = ON", err);
}

int np_db_begin(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "BEGIN IMMEDIATE", err);
}

int np_db_commit(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "COMMIT", err);
}

void np_db_rollback(struct np_db *db)
{
	np_db_exec(db, "ROLLBACK", NULL);
}

int np_db_ping(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db, "SELECT 1 FROM studies LIMIT 1", err);
}
