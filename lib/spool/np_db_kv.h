/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_kv: the kv table beyond np_db_kv_get/np_db_kv_set (np_db.h). */
#ifndef NP_DB_KV_H
#define NP_DB_KV_H

struct np_db;
struct np_err;

/* Rename key from to to (nothing when from is absent). Returns 0 or -1. */
int np_db_kv_rename(struct np_db *db, const char *from, const char *to, struct np_err *err);
int np_db_kv_delete(struct np_db *db, const char *key, struct np_err *err);
/* Delete key and hand back its value (*value, malloc'd; NULL for NULL).
 * Returns 1 when it existed, else 0 (also on errors). */
int np_db_kv_take(struct np_db *db, const char *key, char **value);
/* 1 when key exists, 0 when not, -1 on a database error. */
int np_db_kv_has(struct np_db *db, const char *key);
/* Delete the keys beginning with prefix whose value, a time in seconds,
 * is before now. */
void np_db_kv_expire(struct np_db *db, const char *prefix, double now);

#endif
