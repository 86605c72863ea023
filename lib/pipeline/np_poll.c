// SPDX-License-Identifier: Apache-2.0
/* np_poll: np-poll's work, one study's cloud order checked: its status
 * recorded, the results (or the failure report) downloaded into results/,
 * a local PDF rendered when the cloud sends none, and the study held or
 * noted for np-queue while the cloud is still analysing or unreachable.
 * See np_poll.h. */
#include "np_poll.h"

#include "np_cloud.h"
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_queue.h"
#include "np_pdfreport.h"
#include "np_spool.h"
#include "np_util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Result formats and the file each lands in under results/. */
static const struct {
	const char *format, *file;
} formats[] = {{"json", "result.json"}, {"txt", "result.txt"},	      {"xml", "result.xml"},
	       {"png", "result.png"},	{"features", "features.csv"}, {"pdf", "report.pdf"}};

struct ctx {
	const char *home, *dir, *npuid;
	const struct np_config *cfg;
	struct np_db *db;
	json_t *order;
	char results[PATH_MAX];
};

static int fetch_results(struct ctx *c, struct np_cloud *cl, const char *oid, struct np_err *err)
{
	json_t *files = json_array();
	int have_pdf = 0, rc = -1;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", c->results, formats[i].file);
		int r = np_cloud_result(cl, oid, formats[i].format, p, err);
		if (r < 0)
			goto done;
		if (r == 0) {
			json_array_append_new(files, json_string(formats[i].file));
			have_pdf |= !strcmp(formats[i].format, "pdf");
		}
	}
	const char *pdf_source = "cloud";
	if (!have_pdf) {
		char jp[PATH_MAX], pp[PATH_MAX], pdf[PATH_MAX];
		snprintf(jp, sizeof jp, "%s/result.json", c->results);
		snprintf(pp, sizeof pp, "%s/result.png", c->results);
		snprintf(pdf, sizeof pdf, "%s/report.pdf", c->results);
		json_t *res = np_json_load(jp, 64 << 20, err);
		if (!res)
			goto done;
		int r = np_pdfreport_pdf(res, c->order, pp, pdf, err);
		json_decref(res);
		if (r < 0)
			goto done;
		json_array_append_new(files, json_string("report.pdf"));
		pdf_source = "local";
	}
	char now[32], ip[PATH_MAX];
	np_time_iso(now);
	json_t *idx = json_pack("{s:s, s:s, s:O, s:s, s:O, s:s}", "order_id", oid, "protocol", np_cloud_protocol(cl),
				"files", files, "pdf_source", pdf_source, "products",
				json_object_get(c->order, "jobs_started") ? json_object_get(c->order, "jobs_started")
									  : json_null(),
				"downloaded_at", now);
	snprintf(ip, sizeof ip, "%s/index.json", c->results);
	rc = np_json_save(ip, idx, 0640, err);
	json_decref(idx);
	json_object_set(c->order, "results", files);
done:
	json_decref(files);
	return rc;
}

/* The order failed or expired: keep what the cloud says in results/failure.*. */
static int failure(struct ctx *c, struct np_cloud *cl, const char *oid, const char *state, const char *info)
{
	struct np_err err = {0};
	json_t *files = json_array();
	static const char *const ff[] = {"txt", "png"};
	for (int i = 0; cl && !strcmp(state, NP_ORDER_FAILED) && i < 2; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/failure.%s", c->results, ff[i]);
		int r = np_cloud_failure_report(cl, oid, ff[i], p, &err);
		if (r == 0)
			json_array_append_new(files, json_sprintf("failure.%s", ff[i]));
		else if (r < 0)
			np_log_err(c->npuid, &err);
	}
	char text[600], p[PATH_MAX];
	if (!json_array_size(files)) {
		snprintf(text, sizeof text,
			 "neuropacs order %s %s.\n%s%s\nNo failure report is available from the cloud protocol in use; "
			 "this text was written by neuropacs-agent.\n",
			 oid, !strcmp(state, NP_ORDER_EXPIRED) ? "expired at the cloud" : "failed",
			 info[0] ? "Cloud message: " : "", info);
		snprintf(p, sizeof p, "%s/failure.txt", c->results);
		if (np_write_atomic(p, text, strlen(text), 0640, &err) < 0)
			return np_log_err(c->npuid, &err), NP_EXIT_TEMP;
		json_array_append_new(files, json_string("failure.txt"));
	}
	char now[32];
	np_time_iso(now);
	json_t *fj = json_pack("{s:s, s:s, s:s, s:s, s:O}", "order_id", oid, "status", state, "info", info, "at", now,
			       "files", files);
	snprintf(p, sizeof p, "%s/failure.json", c->results);
	int r = np_json_save(p, fj, 0640, &err);
	json_decref(fj);
	json_decref(files);
	if (r < 0)
		return np_log_err(c->npuid, &err), NP_EXIT_TEMP;
	if (np_order_save(c->dir, c->order, &err) < 0)
		return np_log_err(c->npuid, &err), NP_EXIT_TEMP;
	char detail[400];
	snprintf(detail, sizeof detail, "order %s %s%s%s", oid, !strcmp(state, NP_ORDER_EXPIRED) ? "expired" : "failed",
		 info[0] ? ": " : "", info);
	if (c->db && np_db_event(c->db, c->npuid, "processing_failed", "error", detail, &err) < 0)
		np_log_err(c->npuid, &err);
	np_error(c->npuid, "processing failed %s", detail);
	return NP_EXIT_NO;
}

/* A temporary failure to reach the cloud (or fetch the results): np-queue
 * retries on the retry.* schedule; the error is noted so that the UI, the
 * API and np-queue --waiting show the study as waiting for the cloud. */
static int cloud_waiting(struct ctx *c, const struct np_err *why)
{
	struct np_err e = {0};
	np_log_err(c->npuid, why);
	if (why->cls == NP_ERR_PERM)
		return NP_EXIT_PERM;
	if (np_queue_note(c->dir, why->msg, 0, &e) < 0)
		np_log_err(c->npuid, &e);
	return NP_EXIT_TEMP;
}

static int run(struct ctx *c)
{
	struct np_err err = {0};
	if (!(c->order = np_order_load(c->dir, &err)))
		return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	const char *oid = np_json_str(c->order, "order_id", NULL);
	if (!oid) {
		np_error(c->npuid, "no cloud order in order.json; upload first");
		return NP_EXIT_PERM;
	}
	if (!strcmp(np_json_str(c->order, "status", ""), NP_ORDER_CANCELLED)) {
		np_info(c->npuid, "order %s was cancelled", oid);
		return NP_EXIT_NO;
	}
	if (!np_cloud_configured(c->cfg)) {
		np_warn(c->npuid, "cloud not configured (cloud.api_url is empty)");
		if (np_queue_hold(c->dir, "cloud not configured (cloud.api_url is empty)", 0, &err) < 0)
			np_log_err(c->npuid, &err);
		return NP_EXIT_TEMP;
	}
	if (np_path_join(c->results, sizeof c->results, c->dir, "results", &err) < 0 ||
	    np_mkdirs(c->results, 0750, &err) < 0)
		return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	struct np_cloud *cl = np_cloud_open(c->cfg, &err);
	if (!cl)
		return np_log_err(c->npuid, &err), np_err_exit_code(&err);
	int rc;
	struct np_cloud_status st;
	if (np_cloud_status(cl, oid, &st, &err) < 0) {
		rc = cloud_waiting(c, &err);
		goto out;
	}
	np_order_set_status(c->order, c->db, c->npuid, st.state, st.progress, st.info);
	np_info(c->npuid, "order status order=%s status=%s progress=%d", oid, st.state, st.progress);
	if (!strcmp(st.state, NP_ORDER_COMPLETED)) {
		if (fetch_results(c, cl, oid, &err) < 0) {
			err.cls = NP_ERR_TEMP; /* results of a completed order: fetched again later */
			rc = cloud_waiting(c, &err);
		} else if (np_order_save(c->dir, c->order, &err) < 0) {
			np_log_err(c->npuid, &err);
			rc = NP_EXIT_TEMP;
		} else {
			np_info(c->npuid, "results downloaded order=%s", oid);
			rc = NP_EXIT_OK;
		}
	} else if (!strcmp(st.state, NP_ORDER_FAILED) || !strcmp(st.state, NP_ORDER_EXPIRED)) {
		rc = failure(c, cl, oid, st.state, st.info);
	} else if (!strcmp(st.state, NP_ORDER_CANCELLED)) {
		rc = np_order_save(c->dir, c->order, &err) < 0 ? NP_EXIT_TEMP : NP_EXIT_NO;
	} else {
		/* Still being analysed: the normal wait, never a failure of ours;
		 * the cloud itself ends an order that takes too long (Expired).
		 * Due again a second later (not at once: np-queue --once would poll
		 * it again in the same run); np-sched's poll_cron paces the runs. */
		if (np_order_save(c->dir, c->order, &err) < 0)
			np_log_err(c->npuid, &err);
		else if (np_queue_hold(c->dir, "analysis in progress at the cloud", np_now() + 1, &err) < 0)
			np_log_err(c->npuid, &err);
		rc = NP_EXIT_TEMP;
	}
out:
	np_cloud_close(cl);
	return rc;
}

int np_poll_run(struct np_prog *p)
{
	struct ctx c = {.home = p->home, .dir = p->dir, .npuid = p->npuid, .cfg = &p->cfg, .db = p->db};
	int rc = run(&c);
	json_decref(c.order);
	return rc;
}
