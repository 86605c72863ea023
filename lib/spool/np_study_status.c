// SPDX-License-Identifier: Apache-2.0
// The delivery summary and the stored final state of a study (np_study_status.h).
#include "np_study_status.h"

#include "np_buf.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_spool.h"
#include "np_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files written by np-deliver and np-poll stay small; anything larger is not
 * theirs and is not read on a listing. */
#define RECORD_MAX (1 << 20)

static json_t *load_opt(const char *dir, const char *name)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p || !np_exists(p))
		return NULL;
	return np_json_load(p, RECORD_MAX, NULL);
}

void np_study_safe_error(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	if (!outsz)
		return;
	for (const char *s = in ? in : ""; *s && o + 1 < outsz;) {
		const char *sep = strstr(s, "://");
		/* Copy up to the scheme's end, then keep only host[:port]: user
		 * and password, path and query may hold secrets or PHI. */
		const char *stop = sep ? sep + 3 : s + strlen(s);
		for (; s < stop && o + 1 < outsz; s++)
			out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
		if (!sep || s < stop)
			break;
		const char *end = s + strcspn(s, " \t\r\n\"'<>()[],;");
		const char *at = memchr(s, '@', (size_t)(end - s));
		const char *host = at ? at + 1 : s;
		size_t hl = strcspn(host, "/?#");
		if (host + hl > end)
			hl = (size_t)(end - host);
		for (size_t i = 0; i < hl && o + 1 < outsz; i++)
			out[o++] = host[i];
		if (host + hl < end) {
			const char *more = "/...";
			for (; *more && o + 1 < outsz; more++)
				out[o++] = *more;
		}
		s = end;
	}
	out[o] = 0;
}

static int counted_as(const char *st, const char *what)
{
	if (!strcmp(what, "sent"))
		return !strcmp(st, "sent");
	if (!strcmp(what, "failed"))
		return !strcmp(st, "failed");
	return strcmp(st, "sent") && strcmp(st, "failed") && strcmp(st, "skipped");
}

static json_t *str_or_null(json_t *v)
{
	return json_is_string(v) ? json_incref(v) : json_null();
}

static json_t *label(const char *kind, const char *state, long total, long sent, long failed, long pending)
{
	char l[128], more[64] = "";
	/* A failed study's record is that of its failure report (or of the
	 * delivery that failed it): the state label ("Failed") says what
	 * matters. */
	if (strcmp(kind, "results") || !strcmp(state, "failed"))
		return json_null();
	if (!strcmp(state, "cancelled")) {
		/* The state says Cancelled; what had gone out before stays said. */
		if (!total)
			return json_null();
		snprintf(l, sizeof l, "Delivery cancelled (%ld/%ld delivered)", sent, total);
		return json_string(l);
	}
	if (!total)
		return json_string("Results ready (no delivery configured)");
	if (failed && pending)
		snprintf(more, sizeof more, " (%ld failed, %ld pending)", failed, pending);
	else if (failed)
		snprintf(more, sizeof more, " (%ld failed)", failed);
	if (pending || !strcmp(state, "results"))
		snprintf(l, sizeof l, "Delivering %ld/%ld%s", sent, total, failed ? more : "");
	else if (!sent)
		snprintf(l, sizeof l, "Delivery failed 0/%ld%s", total, more);
	else
		snprintf(l, sizeof l, "Delivered %ld/%ld%s", sent, total, more);
	return json_string(l);
}

json_t *np_study_delivery(const char *dir, const char *state)
{
	json_t *rec = load_opt(dir, "deliveries.json");
	if (!json_is_object(rec)) {
		json_decref(rec);
		return NULL;
	}
	const char *kind = np_json_str(rec, "kind", "results");
	json_t *items = json_array();
	long total = 0, sent = 0, failed = 0, pending = 0;
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(rec, "destinations"), i, e) {
		const char *type = np_json_str(e, "type", "none");
		const char *st = np_json_str(e, "state", "pending");
		if (!strcmp(type, "none") || !strcmp(st, "skipped"))
			continue;
		total++;
		sent += counted_as(st, "sent");
		failed += counted_as(st, "failed");
		pending += counted_as(st, "pending");
		long index = (long)np_json_int(e, "index", (long long)i);
		char safe[400];
		const char *err = np_json_str(e, "error", NULL);
		np_study_safe_error(err, safe, sizeof safe);
		json_array_append_new(items, json_pack("{s:I,s:I,s:s,s:o,s:s,s:I,s:o,s:o,s:o}", "destination",
						       (json_int_t)index + 1, "index", (json_int_t)index, "type", type,
						       "name", str_or_null(json_object_get(e, "name")), "state", st,
						       "attempts", (json_int_t)np_json_int(e, "attempts", 0), "error",
						       err ? json_string(safe) : json_null(), "sent_at",
						       str_or_null(json_object_get(e, "sent_at")), "last_attempt_at",
						       str_or_null(json_object_get(e, "last_attempt_at"))));
	}
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:o}", "kind", kind, "total", (json_int_t)total, "sent",
			      (json_int_t)sent, "failed", (json_int_t)failed, "pending", (json_int_t)pending, "label",
			      label(kind, state, total, sent, failed, pending), "items", items);
	json_decref(rec);
	return o;
}

static int has_record(const char *state)
{
	return !strcmp(state, "results") || !strcmp(state, "done") || !strcmp(state, "failed") ||
	       !strcmp(state, "cancelled");
}

void np_study_delivery_row(struct np_buf *b, const char *home, const char *state, const char *npuid)
{
	np_study_delivery_row_in(b, home, state, npuid, 1);
}

void np_study_delivery_row_in(struct np_buf *b, const char *home, const char *state, const char *npuid, int in_work)
{
	if (b->oom || !b->len || b->p[b->len - 1] != '}')
		return;
	json_t *d = NULL;
	char dir[PATH_MAX];
	if (state && npuid && has_record(state) && np_spool_study_dir(home, state, npuid, dir, sizeof dir, NULL) == 0) {
		d = np_study_delivery(dir, state);
		/* A study np-deliver is working on sits in <state>/.work/. */
		if (!d && in_work &&
		    snprintf(dir, sizeof dir, "%s/spool/%s/.work/%s", home, state, npuid) < (int)sizeof dir)
			d = np_study_delivery(dir, state);
	}
	char *t = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	b->len--; /* the row's closing brace */
	np_buf_str(b, ",\"delivery\":");
	np_buf_str(b, t ? t : "null");
	np_buf_add(b, "}", 1);
	free(t);
}

int np_study_order_over(const char *state)
{
	return has_record(state) || !strcmp(state, "cancelled");
}

json_t *np_study_final(const char *dir)
{
	json_t *order = load_opt(dir, "order.json");
	if (!json_is_object(order)) {
		json_decref(order);
		order = json_object();
	}
	json_t *idx = load_opt(dir, "results/index.json");
	const char *at = np_json_str(idx, "downloaded_at", NULL);
	if (at)
		json_object_set_new(order, "results_at", json_string(at));
	json_decref(idx);
	json_t *f = load_opt(dir, "results/failure.json");
	if (json_is_object(f)) {
		char safe[600];
		np_study_safe_error(np_json_str(f, "info", ""), safe, sizeof safe);
		json_object_set_new(order, "failure",
				    json_pack("{s:s,s:s,s:o}", "status", np_json_str(f, "status", "Failed"), "info",
					      safe, "at", str_or_null(json_object_get(f, "at"))));
	}
	json_decref(f);
	return order;
}

json_t *np_study_recorded(const char *dir, char *as_of, size_t asz)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof p, "%s/order.json", dir) >= (int)sizeof p || stat(p, &st) < 0)
		return NULL;
	json_t *order = np_study_final(dir);
	char at[32];
	np_time_iso_at(st.st_mtime, at);
	snprintf(as_of, asz, "%s", at);
	return order;
}
