// SPDX-License-Identifier: Apache-2.0
/* np_atna: audit rows as DICOM Audit Messages (validated against the shipped
 * RELAX NG schema with libxml2, as xmllint does), pseudonyms, and RFC 5424
 * framing. */
#include "np_atna.h"
#include "np_buf.h"

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const unsigned char key[32] = {1, 2, 3};
static const char *const dests[] = {"PACS@pacs.example:104", NULL};
static const struct np_atna_ctx ctx = {.source_id = "agent-1",
				       .site_id = "North",
				       .host = "agent.example",
				       .ae_title = "NEUROPACS_SCP",
				       .cloud = "cloud.example",
				       .destinations = dests,
				       .key = key,
				       .key_len = sizeof key};
#define NPUID "0b1e2c3d-1111-4222-8333-944455556666"

static char *render(const struct np_atna_ctx *c, const struct np_atna_rec *r)
{
	struct np_buf b = {0};
	int rc = np_atna_render(c, r, &b);
	if (rc <= 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* 1 when xml validates against share/schema/atna/audit-message.rng. */
static int valid(const char *xml)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/share/schema/atna/audit-message.rng",
		 getenv("NP_TOP") ? getenv("NP_TOP") : ".");
	xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(path);
	xmlRelaxNGPtr schema = xmlRelaxNGParse(pc);
	assert_non_null(schema);
	xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "msg.xml", NULL, XML_PARSE_NONET);
	int ok = doc && xmlRelaxNGValidateDoc(vc, doc) == 0;
	xmlFreeDoc(doc);
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pc);
	return ok;
}

/* The string value of an XPath expression over xml. */
static char *xpath(const char *xml, const char *expr)
{
	static char out[512];
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "msg.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlXPathContextPtr xc = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, xc);
	xmlChar *s = xmlXPathCastToString(o);
	snprintf(out, sizeof out, "%s", (const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(xc);
	xmlFreeDoc(doc);
	return out;
}

static struct np_atna_rec audit_row(const char *action, const char *npuid, const char *outcome)
{
	return (struct np_atna_rec){.table = "audit",
				    .id = 1,
				    .ts = "2026-11-27T10:00:00.000Z",
				    .actor = "alice",
				    .role = "admin",
				    .client = "10.0.0.7",
				    .action = action,
				    .npuid = npuid,
				    .detail = "scope=study",
				    .outcome = outcome,
				    .patient_id = "CANARY-PID",
				    .study_uid = "1.2.3.4",
				    .accession = "CANARY-ACC"};
}

static void every_kind_validates(void **state)
{
	(void)state;
	/* The schema does refuse: no participant, a bad outcome. */
	assert_false(valid("<AuditMessage><EventIdentification EventDateTime=\"2026-11-27T10:00:00Z\" "
			   "EventOutcomeIndicator=\"0\"><EventID csd-code=\"110114\" codeSystemName=\"DCM\" "
			   "originalText=\"x\"/></EventIdentification><AuditSourceIdentification AuditSourceID=\"a\"/>"
			   "</AuditMessage>"));
	static const char *const audit[] = {"login",
					    "logout",
					    "reveal",
					    "bypass_qc",
					    "force_stable",
					    "retry",
					    "cancel",
					    "delete",
					    "manual_delivery",
					    "settings_change",
					    "certificate_upload",
					    "sessions_revoked",
					    "password_resync",
					    "saml_sp_key_rotated",
					    "atna_test",
					    "audit_export",
					    "future_thing",
					    NULL};
	for (int i = 0; audit[i]; i++) {
		for (int k = 0; k < 2; k++) {
			struct np_atna_rec r = audit_row(audit[i], k ? NPUID : NULL, k ? "success" : "failure");
			char *x = render(&ctx, &r);
			assert_non_null(x);
			if (!valid(x))
				fail_msg("%s does not validate: %s", audit[i], x);
			free(x);
		}
	}
	/* A Test delivery moves no study: a Security Alert (Network
	 * Configuration), not Begin Transferring DICOM Instances. */
	struct np_atna_rec t = audit_row("manual_delivery", NULL, "success");
	t.detail = "scope=test";
	char *tx = render(&ctx, &t);
	assert_non_null(tx);
	assert_true(valid(tx));
	assert_non_null(strstr(tx, "110113"));
	assert_non_null(strstr(tx, "110128"));
	assert_null(strstr(tx, "110102"));
	free(tx);
	static const char *const events[] = {
	    "new_dataset_received",   "upload_succeeded", "upload_failed",	  "report_delivered",
	    "report_delivery_failed", "study_purged",	  "association_rejected", NULL};
	for (int i = 0; events[i]; i++) {
		struct np_atna_rec r = {.table = "events",
					.ts = "2026-11-27T10:00:00.123Z",
					.action = events[i],
					.npuid = NPUID,
					.level = "info",
					.detail = "peer=10.9.8.7:4000 calling_ae=MOD1",
					.patient_id = "P1",
					.calling_ae = "MOD1"};
		char *x = render(&ctx, &r);
		assert_non_null(x);
		if (!valid(x))
			fail_msg("%s does not validate: %s", events[i], x);
		free(x);
	}
	static const char *const agent[] = {"application_start", "application_stop", "atna_test", "records_lost", NULL};
	for (int i = 0; agent[i]; i++) {
		struct np_atna_rec r = {.table = "agent", .ts = "2026-11-27T10:00:00Z", .action = agent[i]};
		char *x = render(&ctx, &r);
		assert_non_null(x);
		assert_true(valid(x));
		free(x);
	}
}

static void codes_and_participants(void **state)
{
	(void)state;
	struct np_atna_rec r = audit_row("login", NULL, "failure");
	char *x = render(&ctx, &r);
	assert_string_equal(xpath(x, "string(//EventID/@csd-code)"), "110114");
	assert_string_equal(xpath(x, "string(//EventTypeCode[@codeSystemName='DCM']/@csd-code)"), "110122");
	assert_string_equal(xpath(x, "string(//EventIdentification/@EventOutcomeIndicator)"), "4");
	assert_string_equal(xpath(x, "string(//ActiveParticipant[@UserIsRequestor='true']/@UserID)"), "alice");
	assert_string_equal(xpath(x, "string(//ActiveParticipant[@UserID='alice']/@NetworkAccessPointTypeCode)"), "2");
	assert_string_equal(xpath(x, "string(//AuditSourceIdentification/@AuditSourceID)"), "agent-1");
	assert_string_equal(xpath(x, "string(//AuditSourceIdentification/@AuditEnterpriseSiteID)"), "North");
	assert_string_equal(xpath(x, "count(//ParticipantObjectIdentification)"), "0");
	free(x);

	r = audit_row("delete", NPUID, "success");
	x = render(&ctx, &r);
	assert_string_equal(xpath(x, "string(//EventID/@csd-code)"), "110105");
	assert_string_equal(xpath(x, "string(//EventIdentification/@EventActionCode)"), "D");
	free(x);

	struct np_atna_rec e = {.table = "events",
				.ts = "2026-11-27T10:00:00Z",
				.action = "new_dataset_received",
				.npuid = NPUID,
				.patient_id = "P1",
				.calling_ae = "MOD1"};
	x = render(&ctx, &e);
	assert_string_equal(xpath(x, "string(//EventID/@csd-code)"), "110104");
	assert_string_equal(xpath(x, "string(//ActiveParticipant[RoleIDCode/@csd-code='110153']/@UserID)"), "MOD1");
	assert_string_equal(xpath(x, "string(//ActiveParticipant[RoleIDCode/@csd-code='110152']/@UserID)"), "np-recv");
	free(x);

	e.action = "upload_succeeded";
	x = render(&ctx, &e);
	assert_string_equal(xpath(x, "string(//EventID/@csd-code)"), "110106");
	assert_string_equal(xpath(x, "string(//ActiveParticipant[RoleIDCode/@csd-code='110154']/@UserID)"),
			    "https://cloud.example");
	free(x);

	e.action = "qc_passed";
	assert_null(render(&ctx, &e));
}

static void no_phi_by_default(void **state)
{
	(void)state;
	struct np_atna_rec r = audit_row("reveal", NPUID, "success");
	char *x = render(&ctx, &r);
	assert_null(strstr(x, "CANARY"));
	assert_null(strstr(x, "1.2.3.4"));
	assert_string_equal(xpath(x, "string(//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='3']/"
				     "@ParticipantObjectID)"),
			    "2.25.14778174123612702693148585269189240422");
	char pseudo[24];
	np_atna_pseudonym(key, sizeof key, "CANARY-PID", pseudo);
	assert_string_equal(xpath(x, "string(//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/"
				     "@ParticipantObjectID)"),
			    pseudo);
	free(x);

	struct np_atna_ctx with = ctx;
	with.include_patient_ids = 1;
	x = render(&with, &r);
	assert_non_null(strstr(x, "ParticipantObjectID=\"CANARY-PID\""));
	assert_non_null(strstr(x, "ParticipantObjectID=\"1.2.3.4\""));
	free(x);
}

static void pseudonyms_and_uids(void **state)
{
	(void)state;
	char a[24], b[24], c[24];
	np_atna_pseudonym(key, sizeof key, "P1", a);
	np_atna_pseudonym(key, sizeof key, "P1", b);
	np_atna_pseudonym(key, sizeof key, "P2", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 23);
	assert_memory_equal(a, "NP-", 3);
	char uid[48];
	assert_int_equal(np_atna_uuid_uid("00000000-0000-0000-0000-000000000000", uid), 0);
	assert_string_equal(uid, "2.25.0");
	assert_int_equal(np_atna_uuid_uid("ffffffff-ffff-ffff-ffff-ffffffffffff", uid), 0);
	assert_string_equal(uid, "2.25.340282366920938463463374607431768211455");
	assert_true(strlen(uid) <= 64);
	assert_int_equal(np_atna_uuid_uid("not-a-uuid", uid), -1);
	assert_int_equal(np_atna_uuid_uid(NULL, uid), -1);
}

static void hostile_text_stays_xml(void **state)
{
	(void)state;
	struct np_atna_rec r = audit_row("login", NULL, "failure");
	r.actor = "<x>&\"'\x01\xff\xc3\xa9";
	r.detail = "]]><!--";
	char *x = render(&ctx, &r);
	assert_true(valid(x));
	assert_string_equal(xpath(x, "string(//ActiveParticipant[@UserIsRequestor='true']/@UserID)"),
			    "<x>&\"'??\xc3\xa9");
	free(x);
}

static void syslog_framing(void **state)
{
	(void)state;
	struct np_buf b = {0};
	assert_int_equal(
	    np_atna_syslog_frame(&b, "2026-11-27T10:00:00.000Z", "host one", "neuropacs-agent", 42, "<A/>", 4, 1), 0);
	const char *want = "<85>1 2026-11-27T10:00:00.000Z host_one neuropacs-agent 42 IHE+RFC-3881 - \xEF\xBB\xBF<A/>";
	char head[16];
	snprintf(head, sizeof head, "%zu ", strlen(want));
	assert_int_equal(b.len, strlen(head) + strlen(want));
	assert_memory_equal(b.p, head, strlen(head));
	assert_string_equal(b.p + strlen(head), want);
	free(b.p);

	/* UDP: no length; empty fields are "-"; long ones cut (APP-NAME 48). */
	struct np_buf u = {0};
	char app[80];
	memset(app, 'a', 79);
	app[79] = 0;
	assert_int_equal(np_atna_syslog_frame(&u, "", "", app, 1, "x", 1, 0), 0);
	char want2[200];
	snprintf(want2, sizeof want2, "<85>1 - - %.48s 1 IHE+RFC-3881 - \xEF\xBB\xBFx", app);
	assert_string_equal(u.p, want2);
	free(u.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_kind_validates),   cmocka_unit_test(codes_and_participants),
	    cmocka_unit_test(no_phi_by_default),      cmocka_unit_test(pseudonyms_and_uids),
	    cmocka_unit_test(hostile_text_stays_xml), cmocka_unit_test(syslog_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
