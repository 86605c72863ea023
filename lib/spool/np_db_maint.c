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
