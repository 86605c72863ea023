// SPDX-License-Identifier: Apache-2.0
/* np_atna_follow: the index as the queue of audit messages. One cursor per
 * table in the kv table ("atna_cursor:audit", "atna_cursor:events": the
 * rowid and time of the last row passed), moved after each row, so every
 * row is sent once, in order, whatever stops np-atna or the collector.
 *
 * Rowids of these tables only grow (INTEGER PRIMARY KEY: max + 1) while
 * rows are only deleted by retention, oldest first. So:
 *  - rows between the cursor and the oldest row left were deleted unsent:
 *    a records_lost Security Alert says how many, then following goes on;
 *  - a table emptied by retention starts its rowids again at 1: the row at
 *    the cursor is then missing (or has another time) while lower rowids
 *    exist, and the cursor starts over from 0. */
#include "np_atna.h"

#include "np_buf.h"
#include "np_config.h"
#include "np_db.h"
#include "np_db_follow.h"
#include "np_err.h"
#include "np_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const tables[] = {"audit", "events"};

int np_atna_env_load(struct np_atna_env *e, const struct np_config *cfg, struct np_db *db, struct np_err *err)
{
	memset(e, 0, sizeof *e);
	if (gethostname(e->host, sizeof e->host - 1) < 0 || !e->host[0])
		snprintf(e->host, sizeof e->host, "localhost");
	const char *sid = np_config_str(cfg, "atna.source_id");
	snprintf(e->source_id, sizeof e->source_id, "%s", sid && *sid ? sid : e->host);
	const char *site = np_config_str(cfg, "atna.site_id");
	snprintf(e->site_id, sizeof e->site_id, "%s", site ? site : "");
	const char *ae = np_config_str(cfg, "dicom.ae_title");
	snprintf(e->ae, sizeof e->ae, "%s", ae ? ae : "");
	/* The cloud's host only: a URL may carry a path or a query. */
	const char *url = np_config_str(cfg, "cloud.api_url");
	const char *h = url && strstr(url, "://") ? strstr(url, "://") + 3 : url ? url : "";
	snprintf(e->cloud, sizeof e->cloud, "%.*s", (int)strcspn(h, "/?#"), h);
	json_t *dests = np_config_get(cfg, "delivery.destinations");
	size_t i, n = 0;
	json_t *d;
	json_array_foreach (dests, i, d) {
		if (n >= 8)
			break;
		const char *type = json_string_value(json_object_get(d, "type"));
		char buf[400] = "";
		if (!type || !strcmp(type, "none"))
			continue;
		if (!strncmp(type, "dicom", 5)) {
			snprintf(buf, sizeof buf, "%s@%s:%lld", json_string_value(json_object_get(d, "ae_title")) ?: "",
				 json_string_value(json_object_get(d, "host")) ?: "",
				 (long long)json_integer_value(json_object_get(d, "port")));
		} else if (!strcmp(type, "rest")) {
			const char *u = json_string_value(json_object_get(d, "url")) ?: "";
			const char *uh = strstr(u, "://") ? strstr(u, "://") + 3 : u;
			snprintf(buf, sizeof buf, "%.*s%.*s", (int)(uh - u), u, (int)strcspn(uh, "/?#"), uh);
		} else if (!strcmp(type, "email")) {
			snprintf(buf, sizeof buf, "smtp:%s", np_config_str(cfg, "smtp.host") ?: "");
		} else {
			continue;
		}
		if (!(e->dest[n++] = strdup(buf)))
			return np_err_sys(err, ENOMEM, "unable to allocate");
	}
	/* The pseudonym key: random, made once per index, so the same patient
	 * has the same pseudonym in every message of this agent. */
	char *hex = db ? np_db_kv_get(db, "atna_pseudonym_key") : NULL;
	if (db && !hex) {
		unsigned char k[32];
		char out[65];
		if (np_random(k, sizeof k, err) < 0)
			return -1;
		for (int j = 0; j < 32; j++)
			snprintf(out + 2 * j, 3, "%02x", k[j]);
		if (np_db_kv_set(db, "atna_pseudonym_key", out, err) < 0)
			return -1;
		hex = np_db_kv_get(db, "atna_pseudonym_key");
	}
	for (int j = 0; hex && j < 32 && hex[2 * j] && hex[2 * j + 1]; j++) {
		unsigned v = 0;
		sscanf(hex + 2 * j, "%2x", &v);
		e->key[j] = (unsigned char)v;
	}
	free(hex);
	e->ctx = (struct np_atna_ctx){.source_id = e->source_id,
				      .site_id = e->site_id,
				      .host = e->host,
				      .ae_title = e->ae,
				      .cloud = e->cloud,
				      .destinations = (const char *const *)e->dest,
				      .include_patient_ids = np_config_bool(cfg, "atna.include_patient_ids"),
				      .key = e->key,
				      .key_len = sizeof e->key};
	return 0;
}

void np_atna_env_free(struct np_atna_env *e)
{
	for (int i = 0; i < 9; i++)
		free(e->dest[i]);
	memset(e, 0, sizeof *e);
}

int np_atna_message(const struct np_atna_env *e, const struct np_atna_rec *r, int tls, struct np_buf *out,
		    struct np_err *err)
{
	struct np_buf x = {0};
	int rc = np_atna_render(&e->ctx, r, &x);
	if (rc <= 0) {
		free(x.p);
		return rc < 0 ? np_err_sys(err, ENOMEM, "unable to render the audit message") : 0;
	}
	char now[32];
	np_time_iso(now);
	rc = np_atna_syslog_frame(out, now, e->host, "neuropacs-agent", (long)getpid(), x.p, x.len, tls);
	free(x.p);
	return rc < 0 ? np_err_sys(err, ENOMEM, "unable to frame the audit message") : 1;
}

struct cursor {
	long long id;
	char ts[40];
	int set;
};

static void cursor_get(struct np_db *db, const char *table, struct cursor *c)
{
	char key[64];
	snprintf(key, sizeof key, "atna_cursor:%s", table);
	char *v = np_db_kv_get(db, key);
	memset(c, 0, sizeof *c);
	if (v && sscanf(v, "%lld %39s", &c->id, c->ts) >= 1)
		c->set = 1;
	free(v);
}

static int cursor_put(struct np_db *db, const char *table, const struct cursor *c, struct np_err *err)
{
	char key[64], v[80];
	snprintf(key, sizeof key, "atna_cursor:%s", table);
	snprintf(v, sizeof v, "%lld %s", c->id, c->ts[0] ? c->ts : "-");
	return np_db_kv_set(db, key, v, err);
}

/* Whether the table's rowids started over since the cursor was written. */
static int restarted(struct np_db *db, const char *table, const struct cursor *c)
{
	if (!c->set || c->id <= 0)
		return 0;
	char ts[40];
	if (np_db_follow_ts(db, table, c->id, ts))
		return c->ts[0] && strcmp(c->ts, "-") && strcmp(ts, c->ts);
	return np_db_follow_any_before(db, table, c->id);
}

/* follow_table's state across np_db_follow_rows' calls of one_row. */
struct follow {
	struct np_db *db;
	const struct np_atna_env *e;
	const char *table;
	int tls, dry, *stop;
	np_atna_send_fn send;
	void *arg;
	struct cursor *c;
	long passed, skipped;
	struct np_err *err;
};

static int one_row(void *arg, const struct np_db_follow_row *row)
{
	struct follow *f = arg;
	struct np_atna_rec r = {.table = f->table,
				.id = row->id,
				.ts = row->ts,
				.actor = row->actor,
				.role = row->role,
				.client = row->client,
				.action = row->action,
				.npuid = row->npuid,
				.detail = row->detail,
				.outcome = row->outcome,
				.level = row->level,
				.patient_id = row->patient_id,
				.study_uid = row->study_uid,
				.accession = row->accession,
				.calling_ae = row->calling_ae,
				.source = row->source};
	struct np_buf m = {0};
	int mr = np_atna_message(f->e, &r, f->tls, &m, f->err);
	if (mr < 0) {
		free(m.p);
		return -1;
	}
	if (mr > 0 && f->send(f->arg, &r, m.p, m.len)) {
		free(m.p);
		*f->stop = 1;
		return 1;
	}
	free(m.p);
	f->c->id = r.id;
	snprintf(f->c->ts, sizeof f->c->ts, "%s", r.ts ? r.ts : "-");
	f->c->set = 1;
	f->passed++;
	/* A sent row moves the cursor at once (a crash then repeats
	 * nothing); rows not audited move it with the next write. */
	if (f->dry) {
		return 0;
	} else if (mr > 0) {
		if (cursor_put(f->db, f->table, f->c, f->err) < 0)
			return -1;
		f->skipped = 0;
	} else {
		f->skipped++;
	}
	return 0;
}

/* One table: returns rows passed, or -1 with err; *stop when send said so. */
static long follow_table(struct np_db *db, const struct np_atna_env *e, const char *table, int tls, int max, int dry,
			 np_atna_send_fn send, void *arg, int *stop, struct np_err *err)
{
	struct cursor c = {0};
	if (!dry)
		cursor_get(db, table, &c);
	if (dry) {
		c.set = 1;
	} else if (restarted(db, table, &c)) {
		c.id = 0;
		c.ts[0] = 0;
	}
	long passed = 0;
	/* Rows between the cursor and the oldest one left: deleted unsent. */
	long long first;
	int found = np_db_follow_first_after(db, table, c.id, &first);
	if (!c.set) {
		/* First run: from the oldest row retention has kept. */
		c.id = found ? first - 1 : 0;
		c.set = 1;
		if (cursor_put(db, table, &c, err) < 0)
			return -1;
	} else if (!dry && found && first > c.id + 1) {
		char detail[200], now[32];
		snprintf(detail, sizeof detail, "table=%s first_id=%lld last_id=%lld count=%lld reason=retention",
			 table, c.id + 1, first - 1, first - 1 - c.id);
		np_time_iso(now);
		struct np_atna_rec lost = {.table = "agent", .action = "records_lost", .ts = now, .detail = detail};
		struct np_buf m = {0};
		int rc = np_atna_message(e, &lost, tls, &m, err);
		if (rc < 0 || send(arg, &lost, m.p, m.len)) {
			free(m.p);
			*stop = rc >= 0;
			return rc < 0 ? -1 : 0;
		}
		free(m.p);
		c.id = first - 1;
		c.ts[0] = 0;
		if (cursor_put(db, table, &c, err) < 0)
			return -1;
	}
	struct follow f = {db, e, table, tls, dry, stop, send, arg, &c, passed, 0, err};
	if (np_db_follow_rows(db, table, c.id, max, one_row, &f, err) < 0)
		return -1;
	if (!dry && f.skipped && cursor_put(db, table, &c, err) < 0)
		return -1;
	return f.passed;
}

long np_atna_follow(struct np_db *db, const struct np_atna_env *e, int tls, int max, int dry, np_atna_send_fn send,
		    void *arg, struct np_err *err)
{
	long total = 0;
	for (int i = 0; i < 2; i++) {
		int stop = 0;
		long n = follow_table(db, e, tables[i], tls, max, dry, send, arg, &stop, err);
		if (n < 0)
			return -1;
		total += n;
		if (stop)
			break;
	}
	return total;
}

int np_atna_skip_backlog(struct np_db *db, struct np_err *err)
{
	for (int i = 0; i < 2; i++) {
		struct cursor c = {.set = 1};
		np_db_follow_last(db, tables[i], &c.id);
		char ts[40];
		if (np_db_follow_ts(db, tables[i], c.id, ts) && ts[0])
			snprintf(c.ts, sizeof c.ts, "%s", ts);
		if (cursor_put(db, tables[i], &c, err) < 0)
			return -1;
	}
	return 0;
}
