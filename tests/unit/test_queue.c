// SPDX-License-Identifier: Apache-2.0
#include "np_err.h"
#include "np_fs.h"
#include "np_queue.h"
#include "np_spool.h"

#include "unit.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void backoff_is_exponential_capped_and_jittered(void **state)
{
	(void)state;
	assert_true(np_queue_backoff(30, 3600, 1, 0) == 15);
	assert_true(np_queue_backoff(30, 3600, 1, 0.999999) > 29.9);
	assert_true(np_queue_backoff(30, 3600, 1, 0.5) == 22.5);
	assert_true(np_queue_backoff(30, 3600, 3, 0) == 60);
	assert_true(np_queue_backoff(30, 3600, 20, 0) == 1800);
	assert_true(np_queue_backoff(30, 3600, 20, 0.9999999) <= 3600);
	assert_true(np_queue_backoff(30, 3600, 1000, 0.5) <= 3600);
	assert_true(np_queue_backoff(0, 3600, 3, 0.5) == 0);
	assert_true(np_queue_backoff(30, 3600, 0, 0.5) == 0);
	assert_true(np_queue_backoff(30, 3600, 1, 7) <= 30);
}

static void journal_round_trip(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_queue_entry e, back;
	assert_int_equal(np_queue_load(tmp, "ready", "s1", &back, &err), 1);
	assert_int_equal(back.attempts, 0);
	assert_int_equal(back.last_exit, -1);
	memset(&e, 0, sizeof e);
	e.attempts = 3;
	e.next_try = 1795900000.5;
	e.last_exit = 111;
	assert_int_equal(np_queue_save(tmp, "ready", "s1", &e, &err), 0);
	assert_int_equal(np_queue_load(tmp, "ready", "s1", &back, &err), 0);
	assert_int_equal(back.attempts, 3);
	assert_true(back.next_try == 1795900000.5);
	assert_int_equal(back.last_exit, 111);
	assert_string_equal(back.to, "");
	assert_int_equal(np_queue_drop(tmp, "ready", "s1", &err), 0);
	assert_int_equal(np_queue_drop(tmp, "ready", "s1", &err), 0);
	assert_int_equal(np_queue_load(tmp, "ready", "s1", &back, &err), 1);
	assert_int_equal(np_queue_save(tmp, "nowhere", "s1", &e, &err), -1);
	assert_int_equal(np_queue_save(tmp, "ready", "../x", &e, &err), -1);
	/* A corrupt entry is a permanent error, and names an unknown state. */
	assert_int_equal(np_write_atomic(at("spool/ready/.queue/s2.json"), "{\"to\":\"mars\"}", 13, 0640, NULL), 0);
	assert_int_equal(np_queue_load(tmp, "ready", "s2", &back, &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
}

static void recover_finishes_routes_and_returns_claims(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	const char *ids[] = {"routed", "claimed", "waiting"};
	for (int i = 0; i < 3; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/spool/stable/%s", tmp, ids[i]);
		assert_int_equal(np_mkdirs(p, 0750, &err), 0);
	}
	assert_int_equal(np_spool_claim(tmp, "stable", "routed", &err), 0);
	assert_int_equal(np_spool_claim(tmp, "stable", "claimed", &err), 0);
	struct np_queue_entry e = {0};
	snprintf(e.to, sizeof e.to, "qc-failed");
	snprintf(e.reason, sizeof e.reason, "np-qc exit 1");
	assert_int_equal(np_queue_save(tmp, "stable", "routed", &e, &err), 0);
	memset(&e, 0, sizeof e);
	e.attempts = 1;
	assert_int_equal(np_queue_save(tmp, "stable", "waiting", &e, &err), 0);
	assert_int_equal(np_queue_save(tmp, "stable", "gone", &e, &err), 0);
	assert_int_equal(np_write_atomic(at("spool/stable/.queue/.x.json.tmp.1"), "{", 1, 0640, NULL), 0);
	assert_int_equal(np_queue_recover(tmp, NULL, "stable", &err), 2);
	assert_true(np_is_dir(at("spool/qc-failed/routed")));
	assert_true(np_is_dir(at("spool/stable/claimed")));
	assert_false(np_exists(at("spool/stable/.queue/routed.json")));
	assert_false(np_exists(at("spool/stable/.queue/gone.json")));
	assert_false(np_exists(at("spool/stable/.queue/.x.json.tmp.1")));
	assert_true(np_exists(at("spool/stable/.queue/waiting.json")));
	char *h = np_read_file(at("spool/qc-failed/routed/history.jsonl"), 4096, NULL, NULL);
	assert_non_null(strstr(h, "\"reason\":\"np-qc exit 1\""));
	free(h);
}

static void route_moves_and_clears(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	assert_int_equal(np_mkdirs(at("spool/ready/s1"), 0750, &err), 0);
	assert_int_equal(np_spool_claim(tmp, "ready", "s1", &err), 0);
	assert_int_equal(np_queue_route(tmp, NULL, "ready", "s1", "uploaded", "np-upload exit 0", &err), 0);
	assert_true(np_is_dir(at("spool/uploaded/s1")));
	assert_false(np_exists(at("spool/ready/.queue/s1.json")));
	assert_int_equal(np_queue_route(tmp, NULL, "ready", "s1", "bogus", "", &err), -1);
}

static void one_runner_per_stage(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_spool_init(tmp, &err), 0);
	int fd = np_queue_lock(tmp, "ready", &err);
	assert_true(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct np_err e2 = {0};
		_exit(np_queue_lock(tmp, "ready", &e2) < 0 && e2.cls == NP_ERR_TEMP ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(np_queue_lock(tmp, "stable", &err) >= 0);
	close(fd);
}

/* A command's note lands in its claimed study's entry; the waiting view
 * shows it; np-poll's plain "not yet" in uploaded/ is not a wait. */
static void note_and_waiting(void **state)
{
	(void)state;
	struct np_err err = {0};
	struct np_queue_entry e = {0}, back;
	char dir[600];
	assert_int_equal(np_spool_init(tmp, &err), 0);
	snprintf(dir, sizeof dir, "%s/spool/ready/.work/w1", tmp);
	e.attempts = 2;
	e.next_try = 1795900000;
	e.since = 1795899000;
	e.last_exit = 111;
	assert_int_equal(np_queue_save(tmp, "ready", "w1", &e, &err), 0);
	assert_int_equal(np_queue_note(dir, "POST https://cloud/api: Connection refused", 1795900100, &err), 0);
	assert_int_equal(np_queue_load(tmp, "ready", "w1", &back, &err), 0);
	assert_string_equal(back.error, "POST https://cloud/api: Connection refused");
	assert_true(back.hint == 1795900100);
	assert_true(back.since == 1795899000);
	assert_true(back.noted > 0);
	json_t *w = np_queue_waiting(tmp, "ready", "w1");
	assert_non_null(w);
	assert_string_equal(json_string_value(json_object_get(w, "stage")), "ready");
	assert_string_equal(json_string_value(json_object_get(w, "reason")), back.error);
	assert_string_equal(json_string_value(json_object_get(w, "next_try")), "2026-11-28T21:06:40Z");
	assert_string_equal(json_string_value(json_object_get(w, "since")), "2026-11-28T20:50:00Z");
	assert_int_equal(json_integer_value(json_object_get(w, "attempts")), 2);
	json_decref(w);
	/* Not claimed by np-queue (run by hand): nothing is written. */
	snprintf(dir, sizeof dir, "%s/spool/ready/w2", tmp);
	assert_int_equal(np_queue_note(dir, "x", 0, &err), 0);
	assert_int_equal(np_queue_load(tmp, "ready", "w2", &back, &err), 1);
	assert_null(np_queue_waiting(tmp, "ready", "w2"));
	/* uploaded/: only a noted error makes a wait. */
	assert_int_equal(np_queue_save(tmp, "uploaded", "w3", &e, &err), 0);
	assert_null(np_queue_waiting(tmp, "uploaded", "w3"));
	snprintf(dir, sizeof dir, "%s/spool/uploaded/.work/w3", tmp);
	assert_int_equal(np_queue_note(dir, "HTTP 503", 0, &err), 0);
	w = np_queue_waiting(tmp, "uploaded", "w3");
	assert_non_null(w);
	json_decref(w);
	/* A hold is a wait, not a failure: recorded as such, never shown as an outage. */
	e.attempts = 0;
	assert_int_equal(np_queue_save(tmp, "uploaded", "w5", &e, &err), 0);
	snprintf(dir, sizeof dir, "%s/spool/uploaded/.work/w5", tmp);
	assert_int_equal(np_queue_hold(dir, "analysis in progress at the cloud", 0, &err), 0);
	assert_int_equal(np_queue_load(tmp, "uploaded", "w5", &back, &err), 0);
	assert_int_equal(back.held, 1);
	assert_null(np_queue_waiting(tmp, "uploaded", "w5"));
	assert_int_equal(np_queue_note(dir, "HTTP 503", 0, &err), 0);
	assert_int_equal(np_queue_load(tmp, "uploaded", "w5", &back, &err), 0);
	assert_int_equal(back.held, 0);
	/* A routed entry is not waiting. */
	strcpy(e.to, "failed");
	assert_int_equal(np_queue_save(tmp, "ready", "w4", &e, &err), 0);
	assert_null(np_queue_waiting(tmp, "ready", "w4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_is_exponential_capped_and_jittered),
	    cmocka_unit_test_setup_teardown(journal_round_trip, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(recover_finishes_routes_and_returns_claims, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(route_moves_and_clears, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(one_runner_per_stage, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(note_and_waiting, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
