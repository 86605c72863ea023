/* SPDX-License-Identifier: Apache-2.0 */
/* np_index: the index as programs use it, the SQLite file (np_db.h) filled
 * from the spool (np_spool.h), which stays the source of truth. It sits
 * above both so that neither knows the other: np_db only stores rows,
 * np_spool only moves folders (and keeps a row's state in step). */
#ifndef NP_INDEX_H
#define NP_INDEX_H

struct np_db;
struct np_err;

/* np_db_open, and when this index file has never been filled from the
 * spool (it was missing, or deleted to be rebuilt), fill it now. Returns
 * NULL with err. */
struct np_db *np_index_open(const char *home, struct np_err *err);
/* Same over np_db_open_private (a connection for one thread). */
struct np_db *np_index_open_private(const char *home, struct np_err *err);
/* Drop and rebuild the studies table from every study folder in the spool,
 * in one transaction, and mark the index filled. Returns 0 or -1 with err. */
int np_index_rebuild(struct np_db *db, struct np_err *err);

#endif
