// SPDX-License-Identifier: Apache-2.0
// The checks behind the settings schema's "format": what an admin may save.
#include "np_validate.h"

#include "np_err.h"
#include "unit.h"

#include <stdio.h>

#include <string.h>

static char why[256];

/* The reason for refusing s with fn, or NULL when s passes. */
static const char *refuse(int (*fn)(const char *, char *, size_t), const char *s)
{
	why[0] = 0;
	return fn(s, why, sizeof why) < 0 ? why : NULL;
}

static void ae_titles(void **state)
{
	(void)state;
	assert_null(refuse(np_valid_ae_title, "NEUROPACS_SCP"));
	assert_null(refuse(np_valid_ae_title, "ABCDEFGHIJKLMNOP"));
	assert_null(refuse(np_valid_ae_title, "STORE SCP"));
	assert_null(refuse(np_valid_ae_title, ""));
	assert_string_equal(refuse(np_valid_ae_title, "ABCDEFGHIJKLMNOPQ"), "at most 16 characters (got 17)");
	assert_string_equal(refuse(np_valid_ae_title, "A\\B"), "an AE title cannot contain a backslash");
	assert_non_null(strstr(refuse(np_valid_ae_title, "A\nB"), "control characters"));
	assert_non_null(strstr(refuse(np_valid_ae_title, "A\x7f"), "control characters"));
	assert_string_equal(refuse(np_valid_ae_title, "   "), "an AE title cannot be only spaces");
	assert_non_null(strstr(refuse(np_valid_ae_title, "K\xc3\xb6ln"), "ASCII"));
}

static void email_addresses(void **state)
{
	(void)state;
	assert_null(refuse(np_valid_email, "ops@example.test"));
	assert_null(refuse(np_valid_email, "neuropacs-agent@localhost"));
	assert_null(refuse(np_valid_email, "first.last+tag@sub.example.org"));
	assert_null(refuse(np_valid_email, "a@[192.0.2.1]"));
	assert_null(refuse(np_valid_email, ""));
	assert_non_null(strstr(refuse(np_valid_email, "ops.example.test"), "no @"));
	assert_non_null(strstr(refuse(np_valid_email, "ops @example.test"), "spaces"));
	assert_non_null(strstr(refuse(np_valid_email, "a@x.test,b@x.test"), "one address"));
	assert_non_null(strstr(refuse(np_valid_email, "Ops <ops@x.test>"), "spaces"));
	assert_non_null(strstr(refuse(np_valid_email, "<ops@x.test>"), "bare address"));
	assert_non_null(strstr(refuse(np_valid_email, "@x.test"), "name before"));
	assert_non_null(strstr(refuse(np_valid_email, "a@b@x.test"), "only one @"));
	assert_non_null(strstr(refuse(np_valid_email, "a..b@x.test"), "two dots"));
	assert_non_null(strstr(refuse(np_valid_email, ".a@x.test"), "dot"));
	assert_non_null(strstr(refuse(np_valid_email, "a@"), "domain"));
	assert_non_null(strstr(refuse(np_valid_email, "a@x..test"), "domain"));
	assert_non_null(strstr(refuse(np_valid_email, "a@-x.test"), "domain"));
	assert_non_null(strstr(refuse(np_valid_email, "a@x_y.test"), "domain"));
	assert_non_null(strstr(refuse(np_valid_email, "a(b)@x.test"), "'('"));
}

/* Split on "," and ";" with blanks trimmed, as e-mail delivery splits. */
static void email_lists(void **state)
{
	(void)state;
	assert_null(refuse(np_valid_email_list, "a@x.test"));
	assert_null(refuse(np_valid_email_list, " a@x.test , b@y.test;c@z.test ,"));
	assert_null(refuse(np_valid_email_list, ""));
	assert_null(refuse(np_valid_email_list, " , ;"));
	const char *m = refuse(np_valid_email_list, "a@x.test, bob at x");
	assert_non_null(m);
	assert_string_equal(m, "address 2 \"bob at x\": an e-mail address cannot contain spaces");
	assert_non_null(strstr(refuse(np_valid_email_list, "a@x.test b@y.test"), "spaces"));
}

static void http_urls(void **state)
{
	(void)state;
	assert_null(refuse(np_valid_http_url, "http://127.0.0.1:8080/r"));
	assert_null(refuse(np_valid_http_url, "https://ris.example.org/api/reports?x=1#f"));
	assert_null(refuse(np_valid_http_url, "HTTPS://host"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://user:pw@host:1/p"), "user name or password"));
	assert_non_null(strstr(refuse(np_valid_http_url, "https://token@host/p"), "secret"));
	assert_null(refuse(np_valid_http_url, "https://host/p?mail=a@b.test")); /* an @ after the host is data */
	assert_null(refuse(np_valid_http_url, "http://[::1]:65535/"));
	assert_null(refuse(np_valid_http_url, ""));
	assert_string_equal(refuse(np_valid_http_url, "ftp://host/r"), "only http:// and https:// URLs are allowed");
	assert_string_equal(refuse(np_valid_http_url, "host/r"), "only http:// and https:// URLs are allowed");
	assert_string_equal(refuse(np_valid_http_url, "http:/host"), "only http:// and https:// URLs are allowed");
	assert_string_equal(refuse(np_valid_http_url, "http://"), "the URL has no host");
	assert_string_equal(refuse(np_valid_http_url, "http://:80/"), "the URL has no host");
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h st/"), "spaces"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h:0/"), "1 to 65535"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h:70000/"), "1 to 65535"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h:99999999999999999999/"), "1 to 65535"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h:8o/"), "not a number"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://h$t/"), "'$'"));
	assert_non_null(strstr(refuse(np_valid_http_url, "http://[::1/"), "host"));
	assert_null(refuse(np_valid_http_base_url, "https://api.example.org/v2"));
	assert_non_null(strstr(refuse(np_valid_http_base_url, "https://api.example.org/"), "slash"));
}

static void cron_and_passwords(void **state)
{
	(void)state;
	assert_null(refuse(np_valid_cron, "*/5 * * * *"));
	assert_null(refuse(np_valid_cron, "0 3 * * sun"));
	assert_non_null(strstr(refuse(np_valid_cron, "61 * * * *"), "minute"));
	assert_non_null(refuse(np_valid_cron, "* * * *"));
	assert_non_null(refuse(np_valid_cron, ""));
	assert_null(refuse(np_valid_cron, "@hourly"));
	assert_null(refuse(np_valid_cron, "0 0 29 2 *"));   /* leap years */
	assert_null(refuse(np_valid_cron, "0 0 31 2 mon")); /* either day field */
	assert_non_null(strstr(refuse(np_valid_cron, "0 0 31 2 *"), "never fires"));
	assert_non_null(strstr(refuse(np_valid_cron, "0 0 30 2 *"), "never fires"));
	assert_non_null(strstr(refuse(np_valid_cron, "0 0 31 4,6,9,11 *"), "never fires"));
	assert_non_null(strstr(refuse(np_valid_cron, "@reboot"), "use @hourly"));
	assert_null(refuse(np_valid_service_password, "Good-Password-12345!"));
	const char *m = refuse(np_valid_service_password, "short");
	assert_non_null(strstr(m, "15 characters"));
	m = refuse(np_valid_service_password, "alllowercase#1234567");
	assert_non_null(strstr(m, "upper-case"));
	assert_null(strstr(m, "alllowercase"));
}

static void formats_by_name(void **state)
{
	(void)state;
	assert_int_equal(np_valid_format("ae-title", "ABCDEFGHIJKLMNOPQ", why, sizeof why), -1);
	assert_int_equal(np_valid_format("email", "x", why, sizeof why), -1);
	assert_int_equal(np_valid_format("email-list", "a@b.c,x", why, sizeof why), -1);
	assert_int_equal(np_valid_format("http-url", "ftp://x", why, sizeof why), -1);
	assert_int_equal(np_valid_format("http-base-url", "http://x/", why, sizeof why), -1);
	assert_int_equal(np_valid_format("cron", "61 * * * *", why, sizeof why), -1);
	assert_int_equal(np_valid_format("service-password", "short", why, sizeof why), -1);
	assert_int_equal(np_valid_format("uri", "anything at all", why, sizeof why), 0);
}

/* The settings (merged over the defaults, as np_config_check passes them)
 * refused with "key: reason", or NULL when they pass. */
static const char *settings(const char *json)
{
	static char msg[512];
	json_error_t je;
	json_t *s = json_loads(json, 0, &je);
	assert_non_null(s);
	struct np_err err = {0};
	int rc = np_valid_settings(s, &err);
	json_decref(s);
	if (rc == 0)
		return NULL;
	assert_int_equal(err.cls, NP_ERR_PERM);
	snprintf(msg, sizeof msg, "%s", err.msg);
	return msg;
}

static int starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static void rules_between_settings(void **state)
{
	(void)state;
	const char *smtp = "\"smtp\":{\"host\":\"mail\",\"from\":\"a@x.test\"}";
	char buf[512];
	assert_null(settings("{}"));
	assert_null(
	    settings("{\"delivery\":{\"destinations\":[{\"type\":\"none\"},{\"type\":\"rest\","
		     "\"url\":\"https://ris/in\"},{\"type\":\"dicom_pdf\",\"host\":\"pacs\",\"ae_title\":\"P\"}]}}"));
	/* each destination type without what it needs */
	assert_true(starts(settings("{\"delivery\":{\"destinations\":[{\"type\":\"rest\",\"name\":\"r\"}]}}"),
			   "delivery.destinations.0.url: required for a REST destination"));
	assert_true(starts(settings("{\"delivery\":{\"destinations\":[{\"type\":\"none\"},{\"type\":\"email\","
				    "\"recipients\":\" , \"}]}}"),
			   "delivery.destinations.1.recipients: required for an e-mail destination"));
	assert_true(starts(settings("{\"failure_delivery\":{\"type\":\"dicom_sr\",\"ae_title\":\"P\"}}"),
			   "failure_delivery.host: required for a DICOM destination"));
	assert_true(starts(settings("{\"groups\":{\"delivery\":{\"type\":\"dicom_pdf\",\"host\":\"pacs\"}}}"),
			   "groups.delivery.ae_title: required for a DICOM destination"));
	assert_true(starts(settings("{\"groups\":{\"delivery\":{\"type\":\"dicom_pdf\",\"host\":\"pacs\","
				    "\"ae_title\":\"P\",\"port\":null}}}"),
			   "groups.delivery.port: required"));
	/* credentials in a destination URL: the auth fields instead */
	const char *m =
	    settings("{\"delivery\":{\"destinations\":[{\"type\":\"rest\",\"url\":\"https://u:pw@ris/in\"}]}}");
	assert_true(starts(m, "delivery.destinations.0.url: no user name or password in the URL"));
	assert_non_null(strstr(m, "auth to \"basic\""));
	assert_null(strstr(m, "pw@"));
	/* notifications */
	assert_true(starts(settings("{\"notifications\":{\"method\":\"email\",\"recipients\":\"\"}}"),
			   "notifications.recipients: required when notifications.method is \"email\""));
	assert_true(starts(settings("{\"notifications\":{\"method\":\"webhook\",\"webhook_url\":\"\"}}"),
			   "notifications.webhook_url: required when notifications.method is \"webhook\""));
	assert_non_null(
	    strstr(settings("{\"notifications\":{\"method\":\"webhook\",\"webhook_url\":\"http://a:b@h/\"}}"),
		   "webhook_auth"));
	assert_null(settings("{\"notifications\":{\"method\":\"none\",\"recipients\":\"\"}}"));
	/* smtp.from when mail is sent */
	assert_true(starts(settings("{\"smtp\":{\"from\":\"\"},\"notifications\":{\"method\":\"email\","
				    "\"recipients\":\"a@x.test\"}}"),
			   "smtp.from: required when e-mail is sent"));
	assert_true(starts(settings("{\"smtp\":{\"from\":\"\"},\"delivery\":{\"destinations\":[{\"type\":\"email\","
				    "\"recipients\":\"a@x.test\"}]}}"),
			   "smtp.from: required"));
	assert_true(starts(settings("{\"smtp\":{\"host\":\"mail\",\"from\":\"\"}}"), "smtp.from: required"));
	assert_null(settings("{\"smtp\":{\"from\":\"\"}}")); /* no mail at all */
	snprintf(buf, sizeof buf, "{%s,\"notifications\":{\"method\":\"email\",\"recipients\":\"a@x.test\"}}", smtp);
	assert_null(settings(buf));
	/* retry */
	assert_string_equal(
	    settings("{\"retry\":{\"initial_seconds\":7200,\"max_seconds\":3600}}"),
	    "retry.initial_seconds: at most retry.max_seconds (got 7200, longest delay 3600): the first "
	    "delay doubles up to the longest");
	assert_null(settings("{\"retry\":{\"initial_seconds\":3600,\"max_seconds\":3600}}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ae_titles),
	    cmocka_unit_test(email_addresses),
	    cmocka_unit_test(email_lists),
	    cmocka_unit_test(http_urls),
	    cmocka_unit_test(cron_and_passwords),
	    cmocka_unit_test(formats_by_name),
	    cmocka_unit_test(rules_between_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
