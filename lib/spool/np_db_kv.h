/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_kv: the kv table beyond np_db_kv_get/np_db_kv_set (np_db.h). */
#ifndef NP_DB_KV_H
#define NP_DB_KV_H

struct np_db;
struct np_err;

/* Rename key from to to (nothing when from is absent). Returns 0 or -1. */
int np_db_kv_rename(struct np_db *db, const char *from, const char *to, struct np_err *err);
int np_db_kv_delete(struct np_db *db, const char *key, struct np_err *err);

#endif
