// SPDX-License-Identifier: Apache-2.0
// np_meta (age, sex, names, sidecars) and np_qc's report against its schema.
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_meta.h"
#include "np_qc.h"
#include "np_schema.h"
#include "np_spool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void ages(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {{"045Y", "045Y"},  {"45", "045Y"},   {" 48 ", "048Y"}, {"6m", "006M"},
		  {"003W", "003W"},  {"010D", "010D"}, {"90+", "090Y"},	 {"90+Y", "090Y"},
		  {"090+Y", "090Y"}, {">89", "090Y"},  {"0", "000Y"}};
	char out[8];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(np_meta_age_norm(ok[i].in, out, sizeof out), 0);
		assert_string_equal(out, ok[i].out);
	}
	static const char *const bad[] = {"",	"Y",   "45 years", "4x",  "1000Y", "045Y5",
					  "-3", "91+", "89+",	   ">50", "45.5",  "200"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(np_meta_age_norm(bad[i], out, sizeof out), -1);
	assert_int_equal(np_meta_age_years("054Y"), 54);
	assert_int_equal(np_meta_age_years("030M"), 2);
	assert_int_equal(np_meta_age_years("54"), -1);
}

static void sexes_and_names(void **state)
{
	(void)state;
	char s[2];
	assert_int_equal(np_meta_sex_norm("female", s), 0);
	assert_string_equal(s, "F");
	assert_int_equal(np_meta_sex_norm(" M ", s), 0);
	assert_string_equal(s, "M");
	assert_int_equal(np_meta_sex_norm("O", s), -1);
	assert_int_equal(np_meta_sex_norm("", s), -1);
	assert_true(np_meta_name_valid("Trial 4: visit/2-b"));
	assert_false(np_meta_name_valid("abcd"));
	assert_false(np_meta_name_valid("name_with_underscore"));
	assert_false(np_meta_name_valid("123456789012345678901234567890123456789012345678901"));
	assert_true(np_meta_accession_valid("ACC-1"));
	assert_false(np_meta_accession_valid("A\\B"));
}

static void sidecars(void **state)
{
	(void)state;
	struct np_meta m;
	struct np_err err = {0};
	const char *a = "{\"patient_age\":48,\"patientSex\":\"Male\",\"AccessionNumber\":\"X1\",\"EchoTime\":0.08}";
	assert_int_equal(np_meta_sidecar_parse(a, strlen(a), &m, &err), 0);
	assert_string_equal(m.age, "048Y");
	assert_string_equal(m.sex, "M");
	assert_string_equal(m.accession, "X1");
	const char *b = "{\"PatientAge\":\"045Y\",\"patient_age\":\"050Y\"}";
	assert_int_equal(np_meta_sidecar_parse(b, strlen(b), &m, &err), -1);
	assert_non_null(strstr(err.msg, "disagree"));
	const char *c = "{\"PatientSex\":\"unknown\"}";
	assert_int_equal(np_meta_sidecar_parse(c, strlen(c), &m, &err), -1);
	assert_non_null(strstr(err.msg, "sidecar PatientSex"));
	assert_null(strstr(err.msg, "unknown")); /* values are never echoed */
	assert_int_equal(np_meta_sidecar_parse("[1]", 3, &m, &err), -1);
	assert_int_equal(np_meta_sidecar_parse("{\"a\":", 5, &m, &err), -1);
	assert_int_equal(err.cls, NP_ERR_PERM);
}

/* A hand-made manifest through np_qc_run: the report matches its schema. */
static void qc_report_schema(void **state)
{
	(void)state;
	const char *top = getenv("NP_TOP") ? getenv("NP_TOP") : ".";
	char etc[4096], schema_path[4096], home[] = "/tmp/np-unit-qc.XXXXXX";
	snprintf(etc, sizeof etc, "%s/etc", top);
	setenv("NP_ETC_DIR", etc, 1);
	snprintf(schema_path, sizeof schema_path, "%s/share/schema/qc.schema.json", top);
	assert_non_null(mkdtemp(home));
	struct np_err err = {0};
	assert_int_equal(np_spool_init(home, &err), 0);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/spool/stable/0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f", home);
	assert_int_equal(np_mkdirs(dir, 0750, &err), 0);
	json_t *m =
	    json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:n}, s:{s:i}, s:[s], s:[{s:i, s:s, s:s, s:[s], s:i, s:i, "
		      "s:[s], s:{s:[s], s:[i,i], s:i, s:i}}]}",
		      "npuid", "0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f", "format", "dicom", "source", "dicom", "study",
		      "description", "MRI Brain with DTI Non-Contrast", "patient", "age", "065Y", "sex", "counts",
		      "instances", 10, "modalities", "MR", "series", "number", 5, "description", "neuropacs DTI",
		      "modality", "MR", "transfer_syntaxes", "1.2.840.10008.1.2.4.50", "lossy_flagged", 0, "burned_in",
		      0, "sop_classes", "1.2.840.10008.5.1.4.1.1.4", "diffusion", "indicators", "standard", "b_values",
		      0, 1000, "directions", 32, "b0_volumes", 2);
	assert_non_null(m);
	char mp[4300];
	snprintf(mp, sizeof mp, "%s/manifest.json", dir);
	assert_int_equal(np_json_save(mp, m, 0640, &err), 0);
	json_decref(m);
	struct np_config cfg;
	assert_int_equal(np_config_load(&cfg, home, &err), 0);
	json_t *report = NULL;
	assert_int_equal(np_qc_run(home, &cfg, dir, &report, &err), 1); /* sex missing, lossy TS */
	json_t *schema = np_json_load(schema_path, 1 << 20, &err);
	assert_non_null(schema);
	assert_int_equal(np_schema_validate(schema, report, &err), 0);
	assert_string_equal(np_json_str(report, "result", ""), "failed");
	assert_string_equal(np_json_str(report, "checks.2.status", ""), "fail"); /* demographics */
	assert_string_equal(np_json_str(report, "checks.4.status", ""), "fail"); /* lossless */
	assert_string_equal(np_json_str(report, "checks.5.status", ""), "pass"); /* acquisition */
	assert_int_equal(np_qc_bypass_dir(home, dir, "alice", &err), 0);
	json_decref(report);
	char qp[4300];
	snprintf(qp, sizeof qp, "%s/qc.json", dir);
	report = np_json_load(qp, 1 << 20, &err);
	assert_int_equal(np_schema_validate(schema, report, &err), 0);
	assert_string_equal(np_json_str(report, "checks.2.status", ""), "bypassed");
	json_decref(report);
	json_decref(schema);
	np_config_free(&cfg);
	np_rmtree(home, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ages),
	    cmocka_unit_test(sexes_and_names),
	    cmocka_unit_test(sidecars),
	    cmocka_unit_test(qc_report_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
