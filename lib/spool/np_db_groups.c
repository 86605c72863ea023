// SPDX-License-Identifier: Apache-2.0
#include "np_db_groups.h"

#include "np_db_int.h"
#include "np_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3_stmt *prep(struct np_db *db, const char *sql, struct np_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		np__db_fail(db, err, NULL);
		return NULL;
	}
	return st;
}

/* Run a statement with up to three text parameters (NULL binds NULL). */
static int exec3(struct np_db *db, const char *sql, const char *a, const char *b, const char *c, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, sql, err);
	if (!st)
		return -1;
	const char *v[3] = {a, b, c};
	for (int i = 0; i < 3 && i < sqlite3_bind_parameter_count(st); i++)
		np__db_text(st, i + 1, v[i]);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		np__db_fail(db, err, NULL);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int np_db_groups_products(struct np_db *db, const char *name, char **products, struct np_err *err)
{
	if (products)
		*products = NULL;
	sqlite3_stmt *st = prep(db, "SELECT products FROM groups WHERE name=?1", err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && products && col(st, 0))
		*products = strdup(col(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return np__db_fail(db, err, NULL);
	return rc == SQLITE_ROW;
}

int np_db_groups_name_of(struct np_db *db, long long id, char *name, size_t n, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "SELECT name FROM groups WHERE rowid=?1", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	int fits = rc == SQLITE_ROW && (size_t)snprintf(name, n, "%s", col(st, 0)) < n;
	sqlite3_finalize(st);
	if (fits)
		return 1;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return np__db_fail(db, err, NULL);
	return 0;
}

int np_db_groups_insert(struct np_db *db, const char *name, const char *products, const char *description,
			const char *created_at, struct np_err *err)
{
	sqlite3_stmt *st =
	    prep(db, "INSERT INTO groups (name, products, description, created_at) VALUES (?1, ?2, ?3, ?4)", err);
	if (!st)
		return -1;
	np__db_text(st, 1, name);
	np__db_text(st, 2, products);
	np__db_text(st, 3, description);
	np__db_text(st, 4, created_at);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : np__db_fail(db, err, NULL);
	sqlite3_finalize(st);
	return rc;
}

int np_db_groups_set_products(struct np_db *db, const char *name, const char *products, int only_if_empty,
			      struct np_err *err)
{
	return exec3(db,
		     only_if_empty ? "UPDATE groups SET products=?2 WHERE name=?1 AND products='[]'"
				   : "UPDATE groups SET products=?2 WHERE name=?1",
		     name, products, NULL, err);
}

int np_db_groups_set_completed(struct np_db *db, const char *name, const char *ts, struct np_err *err)
{
	if (!ts)
		return exec3(db, "UPDATE groups SET completed_at=NULL WHERE name=?1", name, NULL, NULL, err);
	return exec3(db, "UPDATE groups SET completed_at=?2 WHERE name=?1", name, ts, NULL, err);
}

int np_db_groups_set_report_sent(struct np_db *db, const char *name, const char *ts, struct np_err *err)
{
	return exec3(db, "UPDATE groups SET report_sent_at=?2 WHERE name=?1", name, ts, NULL, err);
}

int np_db_groups_copy(struct np_db *db, const char *from, const char *to, struct np_err *err)
{
	return exec3(
	    db,
	    "INSERT INTO groups (name, products, description, created_at, completed_at, report_sent_at)"
	    " SELECT ?2, products, description, created_at, completed_at, report_sent_at FROM groups WHERE name=?1",
	    from, to, NULL, err);
}

int np_db_groups_delete(struct np_db *db, const char *name, struct np_err *err)
{
	return exec3(db, "DELETE FROM groups WHERE name=?1", name, NULL, NULL, err);
}

int np_db_groups_reconcile(struct np_db *db, struct np_err *err)
{
	return np_db_exec(db,
			  "INSERT OR IGNORE INTO groups (name, products, created_at)"
			  " SELECT group_name, coalesce(products, '[]'), min(created_at) FROM studies"
			  " WHERE group_name IS NOT NULL AND group_name != '' GROUP BY group_name",
			  err);
}

long long np_db_groups_count_others(struct np_db *db, const char *name, const char *npuid, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "SELECT count(*) FROM studies WHERE group_name=?1 AND npuid != ?2", err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, npuid, -1, SQLITE_TRANSIENT);
	long long n = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

json_t *np_db_groups_member_ids(struct np_db *db, const char *name, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "SELECT npuid FROM studies WHERE group_name=?1 ORDER BY created_at, npuid", err);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	json_t *a = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a, json_string(col(st, 0)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(a);
		np__db_fail(db, err, NULL);
		return NULL;
	}
	return a;
}

static const char group_sql[] =
    "SELECT g.name, g.products, g.description, g.created_at, g.completed_at, g.report_sent_at,"
    " (SELECT count(*) FROM studies s WHERE s.group_name=g.name),"
    " (SELECT count(*) FROM studies s WHERE s.group_name=g.name AND s.state IN ('done','failed','cancelled')),"
    " g.rowid FROM groups g";

int np_db_groups_each(struct np_db *db, const char *name, void (*fn)(void *arg, const struct np_db_group_row *g),
		      void *arg, struct np_err *err)
{
	char sql[sizeof group_sql + 32];
	snprintf(sql, sizeof sql, "%s %s", group_sql, name ? "WHERE g.name=?1" : "ORDER BY g.name");
	sqlite3_stmt *st = prep(db, sql, err);
	if (!st)
		return -1;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct np_db_group_row g = {.id = sqlite3_column_int64(st, 8),
					    .studies = sqlite3_column_int64(st, 6),
					    .terminal = sqlite3_column_int64(st, 7),
					    .name = col(st, 0),
					    .products = col(st, 1),
					    .description = col(st, 2),
					    .created_at = col(st, 3),
					    .completed_at = col(st, 4),
					    .report_sent_at = col(st, 5)};
		fn(arg, &g);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return np__db_fail(db, err, NULL);
	return n;
}

int np_db_groups_each_member(struct np_db *db, const char *name,
			     void (*fn)(void *arg, const char *npuid, const char *state, const char *order_id,
					const char *created_at),
			     void *arg, struct np_err *err)
{
	sqlite3_stmt *st = prep(
	    db, "SELECT npuid, state, order_id, created_at FROM studies WHERE group_name=?1 ORDER BY created_at, npuid",
	    err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, col(st, 0), col(st, 1), col(st, 2), col(st, 3));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return np__db_fail(db, err, NULL);
	return 0;
}
