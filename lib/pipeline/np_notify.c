// SPDX-License-Identifier: Apache-2.0
#include "np_notify.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_events.h"
#include "np_db_studies.h"
#include "np_index.h"
#include "np_deliver.h"
#include "np_err.h"
#include "np_json.h"
#include "np_log.h"
#include "np_schema.h"
#include "np_template.h"
#include "np_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *event_schema(const char *type)
{
	char path[128];
	if (snprintf(path, sizeof path, "notifications.events.%s", type) >= (int)sizeof path || strchr(type, '.'))
		return NULL;
	return np_schema_at(np_config_schema(), path);
}

int np_notify_event_known(const char *type)
{
	return type && *type && event_schema(type) != NULL;
}

static int send_once(const struct np_config *cfg, const char *method, const struct np_tpl_var *vars, size_t nvars,
		     json_t *doc, struct np_err *err)
{
	char *subj =
	    np_template_render(np_config_str(cfg, "notifications.subject_template"), NP_TPL_LINE, vars, nvars, err);
	char *body =
	    subj ? np_template_render(np_config_str(cfg, "notifications.body_template"), NP_TPL_TEXT, vars, nvars, err)
		 : NULL;
	int rc = -1;
	if (body && !strcmp(method, "email")) {
		rc = np_deliver_email(cfg, np_config_str(cfg, "notifications.recipients"), subj, body, NULL, NULL, NULL,
				      err);
	} else if (body) {
		/* The webhook gets a JSON document (always well-formed, whatever
		 * the values) with the rendered text as "message". */
		json_object_set_new(doc, "message", json_string(body));
		json_object_set_new(doc, "subject", json_string(subj));
		if (np_config_bool(cfg, "cloud.demo"))
			json_object_set_new(doc, "demo", json_true());
		char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *dest = json_pack("{s:s, s:s, s:s, s:s}", "url", np_config_str(cfg, "notifications.webhook_url"),
					 "method", np_config_str(cfg, "notifications.webhook_method"), "auth",
					 np_config_str(cfg, "notifications.webhook_auth"), "username",
					 np_config_str(cfg, "notifications.webhook_username"));
		rc = text && dest ? np_deliver_http(cfg, dest, "notifications.webhook_password", text, err)
				  : np_err_set(err, NP_ERR_TEMP, "out of memory");
		free(text);
		json_decref(dest);
	}
	free(subj);
	free(body);
	return rc;
}

int np_notify_send(const struct np_config *cfg, struct np_db *db, const struct np_notify_event *ev, int force,
		   int tries, struct np_err *err)
{
	const char *method = np_config_str(cfg, "notifications.method");
	if (strcmp(method, "email") && strcmp(method, "webhook")) {
		if (!force)
			return 1;
		return np_err_set(err, NP_ERR_PERM, "notifications are off (notifications.method is none)");
	}
	char key[128];
	snprintf(key, sizeof key, "notifications.events.%s", ev->type);
	if (!force && !np_config_bool(cfg, key))
		return 1;
	json_t *sch = event_schema(ev->type);
	/* the guide's name of the event ("Quality Control Failed"), kept apart
	 * from the Settings page's label and help */
	const char *title = np_json_str(sch, "x-event-title", ev->type);
	struct np_db_study_brief row = {0};
	if (db && ev->npuid)
		np_db_studies_brief(db, ev->npuid, &row);
	int with_name = np_config_bool(cfg, "notifications.include_study_name");
	char now[32];
	np_time_iso(now);
	const char *ts = ev->ts ? ev->ts : now;
	const char *level = ev->level ? ev->level : "info";
	const struct np_tpl_var vars[] = {
	    {"event", ev->type},
	    {"event_title", title},
	    {"level", level},
	    {"detail", ev->detail ? ev->detail : ""},
	    {"npuid", ev->npuid ? ev->npuid : ""},
	    {"order_id", row.order_id},
	    {"state", row.state},
	    {"date", ts},
	    {"count", "1"},
	    {"agent", np_config_str(cfg, "dicom.ae_title")},
	    {"study_name", with_name ? row.name : ""},
	};
	const size_t nvars = sizeof vars / sizeof vars[0];
	int rc = -1;
	for (int i = 0; i < (tries < 1 ? 1 : tries); i++) {
		if (i)
			sleep((unsigned)i);
		json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event", ev->type, "title",
					title, "level", level, "detail", ev->detail ? ev->detail : "", "npuid",
					ev->npuid ? ev->npuid : "", "order_id", row.order_id, "state", row.state,
					"date", ts, "agent", np_config_str(cfg, "dicom.ae_title"));
		if (doc && with_name && *row.name)
			json_object_set_new(doc, "study_name", json_string(row.name));
		np_err_clear(err);
		rc =
		    doc ? send_once(cfg, method, vars, nvars, doc, err) : np_err_set(err, NP_ERR_TEMP, "out of memory");
		json_decref(doc);
		if (rc == 0 || (err && err->cls == NP_ERR_PERM))
			break;
	}
	return rc;
}

int np_notify_pending(const char *home, int *sent, int *failed, struct np_err *err)
{
	int nsent = 0, nfailed = 0;
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	struct np_db *db = np_index_open(home, err);
	if (!db) {
		np_config_free(&cfg);
		return -1;
	}
	/* Read first, send after: no statement stays open across network I/O. */
	struct np_db_event_row *v = NULL;
	int got = np_db_events_pending(db, 500, &v, err);
	if (got < 0) {
		np_db_close(db);
		np_config_free(&cfg);
		return -1;
	}
	size_t n = (size_t)got;
	for (size_t i = 0; i < n; i++) {
		struct np_db_event_row *p = &v[i];
		if (!np_notify_event_known(p->type)) {
			np_db_events_mark(db, p->id, 2);
			continue;
		}
		struct np_notify_event ev = {p->type, *p->npuid ? p->npuid : NULL, p->level, p->detail, p->ts};
		struct np_err e = {0};
		int rc = np_notify_send(&cfg, db, &ev, 0, 1, &e);
		if (rc == 1) {
			np_db_events_mark(db, p->id, 2);
		} else if (rc == 0) {
			np_db_events_mark(db, p->id, 1);
			np_info(ev.npuid, "notified event=%s id=%lld", p->type, p->id);
			nsent++;
		} else {
			int left = p->notified - 1;
			if (-left >= NP_NOTIFY_ATTEMPTS || e.cls == NP_ERR_PERM) {
				np_db_events_mark(db, p->id, 3);
				np_error(ev.npuid, "notification given up event=%s id=%lld: %s", p->type, p->id, e.msg);
			} else {
				np_db_events_mark(db, p->id, left);
				np_warn(ev.npuid, "notification failed event=%s id=%lld attempt=%d: %s", p->type, p->id,
					-left, e.msg);
			}
			nfailed++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].detail);
	free(v);
	np_db_close(db);
	np_config_free(&cfg);
	if (sent)
		*sent = nsent;
	if (failed)
		*failed = nfailed;
	return 0;
}

int np_notify_test(const char *home, char *msg, size_t msgsz, struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	struct np_notify_event ev = {"test", NULL, "info", "Test notification from the neuropacs agent", NULL};
	int rc = np_notify_send(&cfg, NULL, &ev, 1, 1, err);
	if (rc == 0)
		snprintf(msg, msgsz, "test notification sent by %s", np_config_str(&cfg, "notifications.method"));
	np_config_free(&cfg);
	return rc;
}
