// SPDX-License-Identifier: Apache-2.0
#include "np_validate.h"

#include "np_cron.h"
#include "np_err.h"
#include "np_password.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t whysz, const char *fmt, ...)
{
	if (why && whysz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int np_valid_ae_title(const char *s, char *why, size_t whysz)
{
	size_t n = strlen(s);
	int printable = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			return bad(why, whysz, "an AE title cannot contain a backslash");
		if (*p < 0x20 || *p == 0x7f)
			return bad(why, whysz, "an AE title cannot contain control characters (tab, new line, ...)");
		if (*p >= 0x80)
			return bad(why, whysz, "an AE title has only ASCII letters, digits, spaces and punctuation");
		printable |= *p != ' ';
	}
	/* The schema's maxLength usually says this first; items of lists may
	 * have none, and a title is never cut to fit. */
	if (n > 16)
		return bad(why, whysz, "at most 16 characters (got %zu)", n);
	if (n && !printable)
		return bad(why, whysz, "an AE title cannot be only spaces");
	return 0;
}

/* RFC 5322 atext, plus bytes of UTF-8 sequences (RFC 6531). */
static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int domain_ok(const char *d, size_t n)
{
	if (!n || n > 253)
		return 0;
	if (d[0] == '[') /* address literal: [192.0.2.1] or [IPv6:...] */
		return n > 2 && d[n - 1] == ']' && strspn(d + 1, "0123456789abcdefABCDEFIPv6:.") == n - 2;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)d[i] : '.';
		if (c == '.') {
			if (!label || label > 63 || d[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
			   (c == '-' && label)) {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

static int email_n(const char *s, size_t n, char *why, size_t whysz)
{
	const char *at = memchr(s, '@', n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t')
			return bad(why, whysz, "an e-mail address cannot contain spaces");
		if (c < 0x20 || c == 0x7f)
			return bad(why, whysz, "an e-mail address cannot contain control characters");
		if (c == ',' || c == ';')
			return bad(why, whysz, "one address only (no comma or semicolon)");
		if (c == '<' || c == '>' || c == '"')
			return bad(why, whysz,
				   "the bare address only (name@domain, without a display name, <> or quotes)");
	}
	if (!at)
		return bad(why, whysz, "an e-mail address has the form name@domain (no @)");
	size_t ln = (size_t)(at - s);
	const char *dom = at + 1;
	size_t dn = n - ln - 1;
	if (!ln)
		return bad(why, whysz, "an e-mail address has a name before the @");
	if (ln > 64)
		return bad(why, whysz, "the part before the @ has at most 64 characters");
	if (memchr(dom, '@', dn))
		return bad(why, whysz, "an e-mail address has only one @");
	if (s[0] == '.' || s[ln - 1] == '.')
		return bad(why, whysz, "the part before the @ cannot start or end with a dot");
	for (size_t i = 0; i < ln; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return bad(why, whysz, "the part before the @ cannot have two dots in a row");
		if (s[i] != '.' && !atext((unsigned char)s[i]))
			return bad(why, whysz, "the part before the @ cannot contain '%c'", s[i]);
	}
	if (!domain_ok(dom, dn))
		return bad(why, whysz, "the part after the @ is not a domain name");
	return 0;
}

int np_valid_email(const char *s, char *why, size_t whysz)
{
	return *s ? email_n(s, strlen(s), why, whysz) : 0;
}

int np_valid_email_list(const char *s, char *why, size_t whysz)
{
	int item = 0;
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",;");
		const char *b = p, *e = p + len;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			item++;
			char r[160];
			if (email_n(b, (size_t)(e - b), r, sizeof r) < 0)
				return bad(why, whysz, "address %d \"%.*s%s\": %s", item,
					   (int)(e - b > 64 ? 64 : e - b), b, e - b > 64 ? "..." : "", r);
		}
		p += len + (p[len] != 0);
	}
	return 0;
}

int np_valid_http_url(const char *s, char *why, size_t whysz)
{
	if (!*s)
		return 0;
	size_t sl;
	if (!strncasecmp(s, "http://", 7))
		sl = 7;
	else if (!strncasecmp(s, "https://", 8))
		sl = 8;
	else
		return bad(why, whysz, "only http:// and https:// URLs are allowed");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return bad(why, whysz, "a URL cannot contain spaces or control characters");
	const char *auth = s + sl;
	size_t an = strcspn(auth, "/?#");
	/* user:password@ would be stored in the settings file in clear and
	 * end up in logs and errors: credentials belong in a secret. */
	if (memchr(auth, '@', an))
		return bad(why, whysz,
			   "a URL cannot hold a user name or password (user:password@): use the setting's "
			   "authentication fields, whose password is kept as a secret");
	const char *host = auth;
	size_t hn = (size_t)(auth + an - host);
	const char *port = NULL;
	if (hn && host[0] == '[') {
		const char *close = memchr(host, ']', hn);
		if (!close || close == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(close - host - 1))
			return bad(why, whysz, "the URL has no valid host");
		if (close + 1 < host + hn) {
			if (close[1] != ':')
				return bad(why, whysz, "the URL has no valid host");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(host, ':', hn);
		size_t name = colon ? (size_t)(colon - host) : hn;
		if (!name)
			return bad(why, whysz, "the URL has no host");
		for (size_t i = 0; i < name; i++) {
			unsigned char c = (unsigned char)host[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
			      c == '.' || c == '-' || c == '_' || c == '~' || c == '%'))
				return bad(why, whysz, "the URL's host name cannot contain '%c'", c);
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		size_t pn = (size_t)(auth + an - port);
		long v = 0;
		for (size_t i = 0; i < pn && v <= 65535; i++) {
			if (port[i] < '0' || port[i] > '9')
				return bad(why, whysz, "the URL's port is not a number");
			v = v * 10 + (port[i] - '0');
		}
		if (pn && (v < 1 || v > 65535))
			return bad(why, whysz, "the URL's port must be from 1 to 65535");
	}
	return 0;
}

int np_valid_http_base_url(const char *s, char *why, size_t whysz)
{
	if (np_valid_http_url(s, why, whysz) < 0)
		return -1;
	if (*s && s[strlen(s) - 1] == '/')
		return bad(why, whysz, "no slash at the end (paths are added to it)");
	return 0;
}

int np_valid_service_password(const char *s, char *why, size_t whysz)
{
	struct np_err err = {0};
	if (np_password_check(s, &err) < 0)
		return bad(why, whysz, "%s", err.msg);
	return 0;
}

int np_valid_cron(const char *s, char *why, size_t whysz)
{
	struct np_cron c;
	struct np_err err = {0};
	if (np_cron_parse(&c, s, &err) < 0)
		return bad(why, whysz, "%s", err.msg);
	if (!np_cron_fires(&c))
		return bad(why, whysz, "it never fires: the days it names do not occur in the months it names");
	return 0;
}

int np_valid_format(const char *format, const char *s, char *why, size_t whysz)
{
	static const struct {
		const char *name;
		int (*fn)(const char *, char *, size_t);
	} formats[] = {{"ae-title", np_valid_ae_title},
		       {"email", np_valid_email},
		       {"email-list", np_valid_email_list},
		       {"http-url", np_valid_http_url},
		       {"http-base-url", np_valid_http_base_url},
		       {"service-password", np_valid_service_password},
		       {"cron", np_valid_cron}};
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(format, formats[i].name))
			return formats[i].fn(s, why, whysz);
	return 0;
}

/* ---- rules between settings ---- */

static const char *str_at(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* Only blanks, commas and semicolons: no address at all. */
static int blank_list(const char *s)
{
	return !s[strspn(s, " \t,;")];
}

static int has_userinfo(const char *url)
{
	const char *a = strstr(url, "://");
	if (!a)
		return 0;
	a += 3;
	return memchr(a, '@', strcspn(a, "/?#")) != NULL;
}

/* One destination object at key (delivery.destinations.N, failure_delivery,
 * groups.delivery): what its type cannot work without. */
static int check_destination(json_t *d, const char *key, int *uses_email, struct np_err *err)
{
	if (!json_is_object(d))
		return 0;
	const char *type = str_at(d, "type");
	if (!strcmp(type, "rest")) {
		if (!*str_at(d, "url"))
			return np_err_set(err, NP_ERR_PERM,
					  "%s.url: required for a REST destination (the http:// or https:// address "
					  "that receives the report)",
					  key);
		if (has_userinfo(str_at(d, "url")))
			return np_err_set(
			    err, NP_ERR_PERM,
			    "%s.url: no user name or password in the URL (it would be stored and logged "
			    "in clear): set auth to \"basic\" with username and password (kept as a secret), "
			    "or \"bearer\" with the token as password",
			    key);
	} else if (!strcmp(type, "email")) {
		*uses_email = 1;
		if (blank_list(str_at(d, "recipients")))
			return np_err_set(err, NP_ERR_PERM,
					  "%s.recipients: required for an e-mail destination (name@domain, several "
					  "separated by commas)",
					  key);
	} else if (!strcmp(type, "dicom_pdf") || !strcmp(type, "dicom_sr")) {
		const char *host = str_at(d, "host");
		if (!host[strspn(host, " \t")])
			return np_err_set(
			    err, NP_ERR_PERM,
			    "%s.host: required for a DICOM destination (host name or address of the PACS)", key);
		if (!*str_at(d, "ae_title"))
			return np_err_set(err, NP_ERR_PERM,
					  "%s.ae_title: required for a DICOM destination (the called AE title of the "
					  "PACS)",
					  key);
		json_t *port = json_object_get(d, "port");
		if (port && !json_is_integer(port))
			return np_err_set(err, NP_ERR_PERM, "%s.port: required for a DICOM destination (1-65535)", key);
	}
	return 0;
}

int np_valid_settings(json_t *s, struct np_err *err)
{
	if (!json_is_object(s))
		return 0;
	int email = 0;
	char key[64];
	size_t i;
	json_t *d;
	json_t *delivery = json_object_get(s, "delivery");
	json_array_foreach (json_object_get(delivery, "destinations"), i, d) {
		snprintf(key, sizeof key, "delivery.destinations.%zu", i);
		if (check_destination(d, key, &email, err) < 0)
			return -1;
	}
	if (check_destination(json_object_get(s, "failure_delivery"), "failure_delivery", &email, err) < 0 ||
	    check_destination(json_object_get(json_object_get(s, "groups"), "delivery"), "groups.delivery", &email,
			      err) < 0)
		return -1;

	json_t *n = json_object_get(s, "notifications");
	const char *method = str_at(n, "method");
	if (!strcmp(method, "email")) {
		email = 1;
		if (blank_list(str_at(n, "recipients")))
			return np_err_set(err, NP_ERR_PERM,
					  "notifications.recipients: required when notifications.method is \"email\" "
					  "(name@domain, several separated by commas)");
	} else if (!strcmp(method, "webhook") && !*str_at(n, "webhook_url")) {
		return np_err_set(err, NP_ERR_PERM,
				  "notifications.webhook_url: required when notifications.method is \"webhook\"");
	}
	if (has_userinfo(str_at(n, "webhook_url")))
		return np_err_set(err, NP_ERR_PERM,
				  "notifications.webhook_url: no user name or password in the URL (it would be stored "
				  "and logged in clear): set webhook_auth to \"basic\" with webhook_username and "
				  "webhook_password (kept as a secret)");

	json_t *smtp = json_object_get(s, "smtp");
	if ((email || *str_at(smtp, "host")) && !*str_at(smtp, "from"))
		return np_err_set(err, NP_ERR_PERM,
				  "smtp.from: required when e-mail is sent (an e-mail destination, e-mail "
				  "notifications or an SMTP host): the sender address, name@domain");

	json_t *retry = json_object_get(s, "retry");
	json_t *ini = json_object_get(retry, "initial_seconds"), *max = json_object_get(retry, "max_seconds");
	if (json_is_integer(ini) && json_is_integer(max) && json_integer_value(ini) > json_integer_value(max))
		return np_err_set(err, NP_ERR_PERM,
				  "retry.initial_seconds: at most retry.max_seconds (got %lld, longest delay %lld): "
				  "the first delay doubles up to the longest",
				  (long long)json_integer_value(ini), (long long)json_integer_value(max));
	return 0;
}
