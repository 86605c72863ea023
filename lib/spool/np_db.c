// SPDX-License-Identifier: Apache-2.0
#include "np_db.h"
#include "np_db_int.h"

#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_study.h"
#include "np_util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each entry moves the schema from version i to i+1. Append only. */
static const char *const migrations[] = {
    /* 1: studies, events, groups, audit, sessions, metrics, kv */
    "CREATE TABLE studies ("
    " npuid TEXT PRIMARY KEY, state TEXT NOT NULL, source TEXT, format TEXT,"
    " study_uid TEXT, study_name TEXT, accession TEXT, patient_name TEXT, patient_id TEXT,"
    " patient_age TEXT, patient_sex TEXT, study_date TEXT, study_description TEXT, modalities TEXT,"
    " calling_ae TEXT, group_name TEXT, products TEXT, qc_result TEXT, order_id TEXT, order_status TEXT,"
    " order_progress INTEGER, instances INTEGER, series INTEGER, bytes INTEGER, stable INTEGER DEFAULT 0,"
    " linked_npuid TEXT, flags TEXT, created_at TEXT, updated_at TEXT, stable_at TEXT);"
    "CREATE INDEX studies_state ON studies(state, created_at);"
    "CREATE INDEX studies_created ON studies(created_at);"
    "CREATE INDEX studies_group ON studies(group_name, created_at);"
    "CREATE INDEX studies_qc ON studies(qc_result, created_at);"
    "CREATE INDEX studies_study_uid ON studies(study_uid);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, npuid TEXT, type TEXT NOT NULL,"
    " level TEXT NOT NULL DEFAULT 'info', detail TEXT, notified INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX events_ts ON events(ts);"
    "CREATE INDEX events_npuid ON events(npuid);"
    "CREATE INDEX events_pending ON events(notified) WHERE notified = 0;"
    "CREATE TABLE groups (name TEXT PRIMARY KEY, products TEXT NOT NULL DEFAULT '[]', description TEXT,"
    " created_at TEXT, completed_at TEXT, report_sent_at TEXT);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT, role TEXT, client TEXT,"
    " action TEXT NOT NULL, npuid TEXT, detail TEXT, outcome TEXT);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, actor TEXT, role TEXT, method TEXT, created_at REAL,"
    " last_seen REAL, csrf TEXT, saml_epoch TEXT);"
    "CREATE TABLE metrics (ts TEXT NOT NULL, name TEXT NOT NULL, value REAL, labels TEXT);"
    "CREATE INDEX metrics_name_ts ON metrics(name, ts);"
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT);",
    /* 2 (httpd): indexes for /api/results, the audit listing and session
     * expiry; audit rows can only be deleted by retention, which first sets
     * kv audit_purge_before to its cutoff and then deletes older rows. */
    "CREATE INDEX studies_updated ON studies(updated_at);"
    "CREATE INDEX studies_state_updated ON studies(state, updated_at);"
    "CREATE INDEX audit_ts ON audit(ts);"
    "CREATE INDEX audit_action ON audit(action, ts);"
    "CREATE INDEX sessions_last_seen ON sessions(last_seen);"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " WHEN old.ts >= ifnull((SELECT value FROM kv WHERE key = 'audit_purge_before'), '')"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",
    /* 3 (httpd, /api/studies over 100k studies): the list indexes end in
     * npuid, the sort's tie-break, so a page (and an OFFSET) walks one index
     * with no sort; state and QC together have their own. The search box
     * uses a trigram full-text index (substring match, case-insensitive)
     * kept by triggers. The insert trigger replaces: a REPLACE into studies
     * without recursive triggers leaves the old row's entry behind, and its
     * rowid may come back. A stale entry names a rowid that is gone, so the
     * join drops it. */
    "DROP INDEX studies_state; DROP INDEX studies_created; DROP INDEX studies_group; DROP INDEX studies_qc;"
    "CREATE INDEX studies_state ON studies(state, created_at, npuid);"
    "CREATE INDEX studies_created ON studies(created_at, npuid);"
    "CREATE INDEX studies_group ON studies(group_name, created_at, npuid);"
    "CREATE INDEX studies_qc ON studies(qc_result, created_at, npuid);"
    "CREATE INDEX studies_state_qc ON studies(state, qc_result, created_at, npuid);"
    "CREATE VIRTUAL TABLE studies_fts USING fts5(npuid, order_id, group_name, study_name, accession,"
    " patient_name, patient_id, tokenize = 'trigram');"
    "INSERT INTO studies_fts (rowid, npuid, order_id, group_name, study_name, accession, patient_name, patient_id)"
    " SELECT rowid, npuid, order_id, group_name, study_name, accession, patient_name, patient_id FROM studies;"
    "CREATE TRIGGER studies_fts_insert AFTER INSERT ON studies BEGIN"
    " INSERT OR REPLACE INTO studies_fts (rowid, npuid, order_id, group_name, study_name, accession, patient_name,"
    " patient_id) VALUES (new.rowid, new.npuid, new.order_id, new.group_name, new.study_name, new.accession,"
    " new.patient_name, new.patient_id); END;"
    "CREATE TRIGGER studies_fts_delete AFTER DELETE ON studies BEGIN"
    " DELETE FROM studies_fts WHERE rowid = old.rowid; END;"
    "CREATE TRIGGER studies_fts_update AFTER UPDATE OF npuid, order_id, group_name, study_name, accession,"
    " patient_name, patient_id ON studies BEGIN"
    " DELETE FROM studies_fts WHERE rowid = old.rowid;"
    " INSERT OR REPLACE INTO studies_fts (rowid, npuid, order_id, group_name, study_name, accession, patient_name,"
    " patient_id) VALUES (new.rowid, new.npuid, new.order_id, new.group_name, new.study_name, new.accession,"
    " new.patient_name, new.patient_id); END;",
    /* 4: the spool was indexed (np_index_open). An index made before this
     * step was rebuilt when its file was made; a fresh file loses the mark
     * again in open_db, so its first np_index_open rebuilds it. */
    "INSERT OR REPLACE INTO kv (key, value) VALUES ('" NP_DB_SPOOL_INDEXED "', '1');",
    /* 5 (issue 21, a million studies): every sort of /api/studies walks one
     * index: equal values are ordered by (created_at, npuid), which ends
     * the state, group and QC indexes already; study_date had none (a sort
     * of the whole table) and updated_at's ended at the column. */
    "CREATE INDEX studies_study_date ON studies(study_date, created_at, npuid);"
    "DROP INDEX studies_updated; CREATE INDEX studies_updated ON studies(updated_at, created_at, npuid);",
    /* 6 (issue 21): the studies by QC result, kept by triggers, for
     * /metrics: counting them on every scrape walked the whole index (1 s
     * at a million studies). The row of a result no study has stays, at 0. */
    "CREATE TABLE studies_qc_count (qc TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO studies_qc_count SELECT ifnull(qc_result, 'pending'), count(*) FROM studies GROUP BY 1;"
    "CREATE TRIGGER studies_qc_count_insert AFTER INSERT ON studies BEGIN"
    " INSERT INTO studies_qc_count VALUES (ifnull(new.qc_result, 'pending'), 1)"
    " ON CONFLICT (qc) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER studies_qc_count_delete AFTER DELETE ON studies BEGIN"
    " UPDATE studies_qc_count SET n = n - 1 WHERE qc = ifnull(old.qc_result, 'pending'); END;"
    "CREATE TRIGGER studies_qc_count_update AFTER UPDATE OF qc_result ON studies"
    " WHEN old.qc_result IS NOT new.qc_result BEGIN"
    " UPDATE studies_qc_count SET n = n - 1 WHERE qc = ifnull(old.qc_result, 'pending');"
    " INSERT INTO studies_qc_count VALUES (ifnull(new.qc_result, 'pending'), 1)"
    " ON CONFLICT (qc) DO UPDATE SET n = n + 1; END;",
    /* 7 (issue 21): the events recorded by type, for /metrics'
     * np_events_total, kept by a trigger: counting the events table on
     * every scrape walked all of it. A Prometheus counter, so only
     * inserts move it: retention's purge of old events (np-retain) leaves
     * it, where the count of the table went down (read as a reset). The
     * rows already there count once, here. */
    "CREATE TABLE events_count (type TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO events_count SELECT type, count(*) FROM events GROUP BY type;"
    "CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN"
    " INSERT INTO events_count VALUES (new.type, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1; END;",
};

int np_db_exec(struct np_db *db, const char *sql, struct np_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(db->h);
		np_err_set(err,
			   code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL || code == SQLITE_IOERR
			       ? NP_ERR_TEMP
			       : NP_ERR_PERM,
			   "database error: %s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(struct np_db *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

static int migrate(struct np_db *db, struct np_err *err)
{
	int n = (int)(sizeof migrations / sizeof migrations[0]);
	int v = user_version(db);
	if (v < 0)
		return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	if (v > n)
		return np_err_set(err, NP_ERR_PERM, "database schema %d is newer than this program (%d)", v, n);
	while (v < n) {
		char pragma[64];
		if (np_db_exec(db, "BEGIN IMMEDIATE", err) < 0)
			return -1;
		/* again under the write lock: services starting together open a
		 * fresh index at once, and the one that waited must not run the
		 * step the other just ran ("table studies already exists") */
		v = user_version(db);
		if (v < 0 || v >= n) {
			np_db_exec(db, "ROLLBACK", NULL);
			if (v < 0)
				return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
			break;
		}
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
		if (np_db_exec(db, migrations[v], err) < 0 || np_db_exec(db, pragma, err) < 0) {
			np_db_exec(db, "ROLLBACK", NULL);
			return -1;
		}
		if (np_db_exec(db, "COMMIT", err) < 0)
			return -1;
		v++;
	}
	return 0;
}

static struct np_db *open_db(const char *home, int mutex_flag, struct np_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s/db", home) >= (int)sizeof dir ||
	    snprintf(path, sizeof path, "%s/agent.sqlite", dir) >= (int)sizeof path) {
		np_err_set(err, NP_ERR_PERM, "agent home path too long");
		return NULL;
	}
	if (np_mkdirs(dir, 0770, err) < 0)
		return NULL;
	int fresh = !np_exists(path);
	struct np_db *db = calloc(1, sizeof *db);
	if (!db) {
		np_err_sys(err, ENOMEM, "unable to open the database");
		return NULL;
	}
	snprintf(db->home, sizeof db->home, "%s", home);
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | mutex_flag, NULL) != SQLITE_OK) {
		np_err_set(err, NP_ERR_TEMP, "unable to open database %s: %s", path,
			   db->h ? sqlite3_errmsg(db->h) : "out of memory");
		np_db_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->h, 5000);
	/* SQLite makes the file 0644 less the umask; the group may write it
	 * (under the privilege split the back-end's and np-httpd's group,
	 * umask 007 there; 022 elsewhere keeps it 0640). Its -wal and -shm
	 * files copy this mode. */
	if (fresh)
		chmod(path, 0660 & ~np_umask());
	/* Services that start together on a fresh index all switch it to WAL:
	 * SQLite answers "locked" at once to all but one, without its busy
	 * handler, so the switch is tried again for a while. */
	int tries = 0, jrc;
	struct np_err jerr;
	do {
		jerr = (struct np_err){0};
		jrc = np_db_exec(db, "PRAGMA journal_mode=WAL;", &jerr);
		if (jrc < 0 && sqlite3_errcode(db->h) == SQLITE_BUSY)
			usleep(20000);
	} while (jrc < 0 && sqlite3_errcode(db->h) == SQLITE_BUSY && ++tries < 250);
	if (jrc < 0)
		*err = jerr;
	if (jrc < 0 || np_db_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err) < 0 ||
	    migrate(db, err) < 0 ||
	    (fresh && np_db_exec(db, "DELETE FROM kv WHERE key = '" NP_DB_SPOOL_INDEXED "'", err) < 0)) {
		np_db_close(db);
		return NULL;
	}
	return db;
}

struct np_db *np_db_open(const char *home, struct np_err *err)
{
	return open_db(home, SQLITE_OPEN_FULLMUTEX, err);
}

struct np_db *np_db_open_private(const char *home, struct np_err *err)
{
	/* SQLite's serialized mode takes the connection's mutex around every
	 * call, sqlite3_column_* included: 13% of np-httpd's CPU on a list
	 * page. A connection only its own thread uses needs none of it. */
	return open_db(home, SQLITE_OPEN_NOMUTEX, err);
}

const char *np_db_home(const struct np_db *db)
{
	return db->home;
}

void np_db_close(struct np_db *db)
{
	if (!db)
		return;
	np__db_cache_free(db);
	sqlite3_close(db->h);
	free(db);
}

static int step_done(struct np_db *db, sqlite3_stmt *st, struct np_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		return np_err_set(
		    err, rc == SQLITE_BUSY || rc == SQLITE_FULL || rc == SQLITE_IOERR ? NP_ERR_TEMP : NP_ERR_PERM,
		    "database error: %s", sqlite3_errmsg(db->h));
	}
	return 0;
}

static sqlite3_stmt *prep(struct np_db *db, const char *sql, struct np_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
		return NULL;
	}
	return st;
}

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_json(sqlite3_stmt *st, int i, json_t *v)
{
	if (!v || json_is_null(v)) {
		sqlite3_bind_null(st, i);
	} else if (json_is_string(v)) {
		bind_str(st, i, json_string_value(v));
	} else if (json_is_integer(v)) {
		sqlite3_bind_int64(st, i, json_integer_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		bind_str(st, i, s);
		free(s);
	}
}

int np_db_study_put(struct np_db *db, const char *npuid, const char *state, json_t *m, struct np_err *err)
{
	struct np_db_put *put = NULL;
	int rc = np_db_study_put_with(db, &put, npuid, state, m, err);
	np_db_study_put_end(put);
	return rc;
}

/* A struct np_db_put is the prepared statement itself. */
void np_db_study_put_end(struct np_db_put *put)
{
	sqlite3_finalize((sqlite3_stmt *)put);
}

int np_db_study_put_with(struct np_db *db, struct np_db_put **put, const char *npuid, const char *state, json_t *m,
			 struct np_err *err)
{
	sqlite3_stmt **stp = (sqlite3_stmt **)put;
	/* Prepared once for many rows: the statement (the upsert and the
	 * search index's triggers) took as long to prepare as to run. */
	if (!*stp &&
	    sqlite3_prepare_v3(
		db->h,
		"INSERT INTO studies (npuid, state, source, format, study_uid, study_name,"
		" accession, patient_name, patient_id, patient_age, patient_sex, study_date,"
		" study_description, modalities, calling_ae, group_name, products, instances, series, bytes,"
		" stable, linked_npuid, flags, created_at, updated_at, stable_at)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,"
		"?24,?25,?26)"
		/* An upsert, not a REPLACE: the row keeps its rowid (the update
		 * trigger keeps the search index right) and the columns the
		 * pipeline sets later (qc_result, order_*) keep their values. */
		" ON CONFLICT (npuid) DO UPDATE SET state=excluded.state, source=excluded.source,"
		" format=excluded.format, study_uid=excluded.study_uid, study_name=excluded.study_name,"
		" accession=excluded.accession, patient_name=excluded.patient_name, patient_id=excluded.patient_id,"
		" patient_age=excluded.patient_age, patient_sex=excluded.patient_sex, study_date=excluded.study_date,"
		" study_description=excluded.study_description, modalities=excluded.modalities,"
		" calling_ae=excluded.calling_ae, group_name=excluded.group_name, products=excluded.products,"
		" instances=excluded.instances, series=excluded.series, bytes=excluded.bytes, stable=excluded.stable,"
		" linked_npuid=excluded.linked_npuid, flags=excluded.flags, created_at=excluded.created_at,"
		" updated_at=excluded.updated_at, stable_at=excluded.stable_at",
		-1, SQLITE_PREPARE_PERSISTENT, stp, NULL) != SQLITE_OK) {
		sqlite3_finalize(*stp);
		*stp = NULL;
		return np_err_set(err, NP_ERR_TEMP, "database error: %s", sqlite3_errmsg(db->h));
	}
	sqlite3_stmt *st = *stp;
	char now[32];
	np_time_iso(now);
	bind_str(st, 1, npuid);
	bind_str(st, 2, state);
	bind_json(st, 3, np_json_path(m, "source"));
	bind_json(st, 4, np_json_path(m, "format"));
	bind_json(st, 5, np_json_path(m, "study.study_instance_uid"));
	bind_json(st, 6, np_json_path(m, "study_name"));
	bind_json(st, 7, np_json_path(m, "study.accession_number"));
	bind_json(st, 8, np_json_path(m, "patient.name"));
	bind_json(st, 9, np_json_path(m, "patient.id"));
	bind_json(st, 10, np_json_path(m, "patient.age"));
	bind_json(st, 11, np_json_path(m, "patient.sex"));
	bind_json(st, 12, np_json_path(m, "study.study_date"));
	bind_json(st, 13, np_json_path(m, "study.description"));
	bind_json(st, 14, np_json_path(m, "modalities"));
	bind_json(st, 15, np_json_path(m, "source_ae"));
	bind_json(st, 16, np_json_path(m, "group"));
	bind_json(st, 17, np_json_path(m, "products"));
	bind_json(st, 18, np_json_path(m, "counts.instances"));
	bind_json(st, 19, np_json_path(m, "counts.series"));
	bind_json(st, 20, np_json_path(m, "counts.bytes"));
	sqlite3_bind_int(st, 21, strcmp(state, "incoming") != 0);
	bind_json(st, 22, np_json_path(m, "linked_npuid"));
	bind_json(st, 23, np_json_path(m, "flags"));
	json_t *created = np_json_path(m, "created_at");
	if (created)
		bind_json(st, 24, created);
	else
		bind_str(st, 24, now);
	bind_str(st, 25, now);
	bind_json(st, 26, np_json_path(m, "stable_at"));
	int rc = sqlite3_step(st);
	int bad = rc != SQLITE_DONE && rc != SQLITE_ROW;
	if (bad)
		np_err_set(err,
			   rc == SQLITE_BUSY || rc == SQLITE_FULL || rc == SQLITE_IOERR ? NP_ERR_TEMP : NP_ERR_PERM,
			   "database error: %s", sqlite3_errmsg(db->h));
	sqlite3_reset(st);
	return bad ? -1 : 0;
}

int np_db_study_state(struct np_db *db, const char *npuid, const char *state, struct np_err *err)
{
	sqlite3_stmt *st =
	    prep(db, "UPDATE studies SET state=?2, updated_at=?3, stable=(?2 != 'incoming') WHERE npuid=?1", err);
	if (!st)
		return -1;
	char now[32];
	np_time_iso(now);
	bind_str(st, 1, npuid);
	bind_str(st, 2, state);
	bind_str(st, 3, now);
	if (step_done(db, st, err) < 0)
		return -1;
	/* 1: no row (the study is not indexed yet): the caller, who knows the
	 * spool, adds it (np_spool_move) */
	return sqlite3_changes(db->h) == 0;
}

int np_db_study_set(struct np_db *db, const char *npuid, const char *column, const char *value, struct np_err *err)
{
	static const char *const allowed[] = {"qc_result",  "order_id", "order_status", "order_progress", "group_name",
					      "study_name", "products", "flags",	"linked_npuid",	  NULL};
	int ok = 0;
	for (int i = 0; allowed[i]; i++)
		ok |= !strcmp(allowed[i], column);
	if (!ok)
		return np_err_set(err, NP_ERR_PERM, "unknown study column %s", column);
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE studies SET %s=?2, updated_at=?3 WHERE npuid=?1", column);
	sqlite3_stmt *st = prep(db, sql, err);
	if (!st)
		return -1;
	char now[32];
	np_time_iso(now);
	bind_str(st, 1, npuid);
	bind_str(st, 2, value);
	bind_str(st, 3, now);
	return step_done(db, st, err);
}

int np_db_study_delete(struct np_db *db, const char *npuid, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "DELETE FROM studies WHERE npuid=?1", err);
	if (!st)
		return -1;
	bind_str(st, 1, npuid);
	return step_done(db, st, err);
}

int np_db_audit_local(struct np_db *db, const char *actor, const char *action, const char *detail, const char *outcome,
		      struct np_err *err)
{
	sqlite3_stmt *st = prep(db,
				"INSERT INTO audit (ts, actor, role, client, action, detail, outcome)"
				" VALUES (?1,?2,'admin','local',?3,?4,?5)",
				err);
	if (!st)
		return -1;
	char now[32];
	np_time_iso_at((time_t)np_now(), now);
	bind_str(st, 1, now);
	bind_str(st, 2, actor);
	bind_str(st, 3, action);
	bind_str(st, 4, detail);
	bind_str(st, 5, outcome);
	return step_done(db, st, err);
}

int np_db_event(struct np_db *db, const char *npuid, const char *type, const char *level, const char *detail,
		struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO events (ts, npuid, type, level, detail) VALUES (?1,?2,?3,?4,?5)", err);
	if (!st)
		return -1;
	char now[32];
	np_time_iso(now);
	bind_str(st, 1, now);
	bind_str(st, 2, npuid);
	bind_str(st, 3, type);
	bind_str(st, 4, level ? level : "info");
	bind_str(st, 5, detail);
	return step_done(db, st, err);
}

char *np_db_kv_get(struct np_db *db, const char *key)
{
	sqlite3_stmt *st = prep(db, "SELECT value FROM kv WHERE key=?1", NULL);
	if (!st)
		return NULL;
	bind_str(st, 1, key);
	char *out = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

int np_db_kv_set(struct np_db *db, const char *key, const char *value, struct np_err *err)
{
	sqlite3_stmt *st = prep(db, "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)", err);
	if (!st)
		return -1;
	bind_str(st, 1, key);
	bind_str(st, 2, value);
	return step_done(db, st, err);
}
