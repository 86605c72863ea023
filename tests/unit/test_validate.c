// SPDX-License-Identifier: Apache-2.0
// The checks behind the settings schema's "format": what an admin may save.
#include "np_validate.h"

#include "unit.h"

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
	assert_null(refuse(np_valid_http_url, "http://user:pw@host:1/p"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ae_titles), cmocka_unit_test(email_addresses),    cmocka_unit_test(email_lists),
	    cmocka_unit_test(http_urls), cmocka_unit_test(cron_and_passwords), cmocka_unit_test(formats_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
