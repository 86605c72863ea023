/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_maint: upkeep of the index file itself. */
#ifndef NP_DB_MAINT_H
#define NP_DB_MAINT_H

struct np_db;

/* Checkpoint the WAL into the file and truncate it (after deletes of PHI:
 * the old pages live on in the WAL until then). Best effort. */
void np_db_checkpoint(struct np_db *db);

#endif
