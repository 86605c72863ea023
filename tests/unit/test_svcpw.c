// SPDX-License-Identifier: Apache-2.0
// The service password as stored: the rules on every set, the login hash
// rewritten with it, the stamp that tells a change, and the sessions a
// change ends.
#include "np_config.h"
#include "np_db.h"
#include "np_db_int.h" /* white-box: np_db_exec */
#include "np_db_audit.h"
#include "np_db_sessions.h"
#include "np_err.h"
#include "np_svcpw.h"

#include "unit.h"

#include <string.h>

static const char *PW1 = "First-Password-123!", *PW2 = "Second-Password-456?";

static void rules_and_hash_on_every_set(void **state)
{
	(void)state;
	struct np_err err = {0};
	char s0[65], s1[65], s2[65];
	np_svcpw_stamp(tmp, s0);
	assert_string_equal(s0, "");
	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, "alllowercase#1234567", &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
	assert_string_equal(err.msg, "cloud.service_password: the password needs an upper-case letter");
	assert_null(np_config_secret(tmp, NP_SVCPW_SECRET, NULL));

	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, PW1, &err), 0);
	char *h = np_config_secret(tmp, NP_SVCPW_HASH_SECRET, NULL);
	assert_non_null(h);
	assert_int_equal(strncmp(h, "$2b$12$", 7), 0);
	assert_true(np_password_verify(PW1, h));
	assert_false(np_password_verify(PW2, h));
	free(h);
	np_svcpw_stamp(tmp, s1);
	assert_int_equal(strlen(s1), 64);

	/* the same password again: nothing changes */
	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, PW1, &err), 0);
	np_svcpw_stamp(tmp, s2);
	assert_string_equal(s1, s2);

	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, PW2, &err), 0);
	np_svcpw_stamp(tmp, s2);
	assert_string_not_equal(s1, s2);
	h = np_config_secret(tmp, NP_SVCPW_HASH_SECRET, NULL);
	assert_false(np_password_verify(PW1, h));
	assert_true(np_password_verify(PW2, h));
	free(h);
	assert_true(np_svcpw_is_current(tmp, PW2));
	assert_false(np_svcpw_is_current(tmp, PW1));
}

static void a_change_ends_the_sessions(void **state)
{
	(void)state;
	struct np_err err = {0};
	char s0[65];
	/* no index yet: nothing to end, and none is created */
	np_svcpw_stamp(tmp, s0);
	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, PW1, &err), 0);
	assert_int_equal(np_svcpw_changed(tmp, s0, "unit", "test", &err), 0);
	assert_int_equal(np_exists(at("db/agent.sqlite")), 0);

	struct np_db *db = np_db_open(tmp, &err);
	assert_non_null(db);
	assert_int_equal(np_db_exec(db,
				    "INSERT INTO sessions (id, actor, role, method) VALUES"
				    " ('a','service','admin','password'), ('b','service','admin','password'),"
				    " ('c','x@example.test','user','saml')",
				    &err),
			 0);
	assert_int_equal(np_svcpw_revoke(tmp, NULL, "a", &err), 2);
	np_svcpw_stamp(tmp, s0);
	assert_int_equal(np_svcpw_changed(tmp, s0, "unit", "test", &err), 0); /* unchanged: nothing ends */
	assert_int_equal(np_config_secret_set(tmp, NP_SVCPW_SECRET, PW2, &err), 0);
	assert_int_equal(np_svcpw_changed(tmp, s0, "unit", "test", &err), 1);
	struct np_db_session ses;
	assert_int_equal(np_db_sessions_get(db, "a", &ses) + np_db_sessions_get(db, "b", &ses) +
			     np_db_sessions_get(db, "c", &ses),
			 0);
	struct np_db_audit_filter f = {"sessions_revoked", "", "", "", "", 10, 0};
	json_t *items;
	long long total;
	assert_int_equal(np_db_audit_list(db, &f, &items, &total, &err), 0);
	assert_int_equal(total, 1);
	json_t *rec = json_array_get(items, 0);
	char got[200];
	snprintf(got, sizeof got, "%s %s", json_string_value(json_object_get(rec, "actor")),
		 json_string_value(json_object_get(rec, "detail")));
	assert_string_equal(got, "unit count=1 reason=password_change source=test");
	json_decref(items);
	np_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(rules_and_hash_on_every_set, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(a_change_ends_the_sessions, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
