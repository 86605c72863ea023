// SPDX-License-Identifier: Apache-2.0
#include "np_db_maint.h"

#include "np_db_int.h"

void np_db_checkpoint(struct np_db *db)
{
	sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}
