/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_check: the index's side of np-index --check. The caller walks the
 * spool and names each study it finds (np_db_check_study); the rows it did
 * not name are then listed in one pass. All in one read transaction (one
 * snapshot of the index) with prepared statements: a walk over 100k studies
 * costs one lookup each. */
#ifndef NP_DB_CHECK_H
#define NP_DB_CHECK_H

#include <stddef.h>

struct np_db;
struct np_err;
struct np_db_check;

/* Start a check (a temporary table of the studies seen, then BEGIN).
 * Returns NULL with err. */
struct np_db_check *np_db_check_begin(struct np_db *db, struct np_err *err);
/* Mark npuid as seen and copy its row's state into state (size n).
 * Returns 1 with a row, 0 without, -1 with err. */
int np_db_check_study(struct np_db_check *c, const char *npuid, char *state, size_t n, struct np_err *err);
/* Call fn for each row not marked seen; then return the count of rows, or
 * -1 with err. */
int np_db_check_rest(struct np_db_check *c, void (*fn)(void *arg, const char *npuid), void *arg, struct np_err *err);
/* End the transaction and free c. */
void np_db_check_end(struct np_db_check *c);

#endif
