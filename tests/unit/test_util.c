// SPDX-License-Identifier: Apache-2.0
#include "np_util.h"

#include "unit.h"

#include <string.h>

static void uuid4_form_and_uniqueness(void **state)
{
	(void)state;
	char a[37], b[37];
	assert_int_equal(np_uuid4(a, NULL), 0);
	assert_int_equal(np_uuid4(b, NULL), 0);
	assert_true(np_uuid_valid(a));
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_string_not_equal(a, b);
	for (int i = 0; a[i]; i++)
		assert_true(a[i] == '-' || (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
}

static void uuid_validation(void **state)
{
	(void)state;
	assert_true(np_uuid_valid("0B9F0F4E-1111-4222-8333-944444444444"));
	assert_false(np_uuid_valid("0b9f0f4e-1111-4222-8333-94444444444"));
	assert_false(np_uuid_valid("0b9f0f4e_1111-4222-8333-944444444444"));
	assert_false(np_uuid_valid("0b9f0f4e-1111-4222-8333-94444444444g"));
	assert_false(np_uuid_valid("../../../../etc/passwd-000000000000"));
	assert_false(np_uuid_valid(NULL));
}

static void dicom_uids(void **state)
{
	(void)state;
	assert_true(np_dicom_uid_valid("1.2.840.10008.1.2.1"));
	assert_true(np_dicom_uid_valid("1.2.0.3"));
	assert_false(np_dicom_uid_valid("1.2.03"));
	assert_false(np_dicom_uid_valid("1..2"));
	assert_false(np_dicom_uid_valid(".1.2"));
	assert_false(np_dicom_uid_valid("1.2."));
	assert_false(np_dicom_uid_valid("1.2.a"));
	assert_false(np_dicom_uid_valid("../1.2"));
	assert_false(np_dicom_uid_valid(""));
	char long_uid[70];
	memset(long_uid, '1', 65);
	long_uid[65] = 0;
	assert_false(np_dicom_uid_valid(long_uid));
	long_uid[64] = 0;
	assert_true(np_dicom_uid_valid(long_uid));
}

static void times(void **state)
{
	(void)state;
	char out[32];
	np_time_iso_at(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	setenv("NP_FAKE_NOW", "1795900000.25", 1);
	assert_true(np_now() == 1795900000.25);
	np_time_iso(out);
	assert_string_equal(out, "2026-11-28T21:06:40.250Z");
	unsetenv("NP_FAKE_NOW");
	assert_true(np_now() > 1700000000);
	double m1 = np_mono(), m2 = np_mono();
	assert_true(m2 >= m1);
}

static void random_bytes(void **state)
{
	(void)state;
	unsigned char a[32] = {0}, b[32] = {0};
	assert_int_equal(np_random(a, sizeof a, NULL), 0);
	assert_int_equal(np_random(b, sizeof b, NULL), 0);
	assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uuid4_form_and_uniqueness),
	    cmocka_unit_test(uuid_validation),
	    cmocka_unit_test(dicom_uids),
	    cmocka_unit_test(times),
	    cmocka_unit_test(random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
