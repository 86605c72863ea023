// SPDX-License-Identifier: Apache-2.0
// np_saml Single Logout: the LogoutRequest URL (deflated, escaped, signed
// over the exact octets of the HTTP-Redirect binding) and the checks on a
// LogoutResponse (signature first, then Issuer, Destination, InResponseTo);
// the places a login or a logout may send the browser back to (RelayState).
#include "np_crypto.h"
#include "np_err.h"
#include "np_saml.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#define SIGALG "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"
#define SLO "https://agent.example.test/api/saml/slo"
#define ISSUER "https://idp.test/metadata"

static char *key, *cert, *key2, *cert2;

static int keys(void **state)
{
	(void)state;
	struct np_err err = {0};
	assert_int_equal(np_saml_sp_keypair_new("unit", &key, &cert, &err), 0);
	assert_int_equal(np_saml_sp_keypair_new("other", &key2, &cert2, &err), 0);
	return 0;
}

static int keys_free(void **state)
{
	(void)state;
	free(key), free(cert), free(key2), free(cert2);
	return 0;
}

static char *enc(const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	char *o = malloc(3 * strlen(s) + 1), *p = o;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hx[c >> 4];
			*p++ = hx[c & 15];
		}
	}
	*p = 0;
	return o;
}

static char *sign(const char *pem, const char *data)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char sig[512];
	size_t sl = sizeof sig;
	assert_int_equal(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &sl, (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	char *s = np_b64_encode(sig, sl, NULL), *e = enc(s);
	free(s);
	return e;
}

static int verify(const char *cert_pem, const char *data, const char *sig_b64)
{
	size_t sl;
	unsigned char *sig = np_b64_decode(sig_b64, strlen(sig_b64), &sl, NULL);
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	EVP_PKEY *k = X509_get_pubkey(x);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = sig && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
		 EVP_DigestVerify(c, sig, sl, (const unsigned char *)data, strlen(data)) == 1;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	X509_free(x);
	free(sig);
	return ok;
}

static char *deflate_b64(const char *xml)
{
	unsigned char out[8192];
	z_stream z;
	memset(&z, 0, sizeof z);
	deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)xml;
	z.avail_in = (unsigned)strlen(xml);
	z.next_out = out;
	z.avail_out = sizeof out;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = sizeof out - z.avail_out;
	deflateEnd(&z);
	char *b = np_b64_encode(out, n, NULL), *e = enc(b);
	free(b);
	return e;
}

/* Percent-decode, base64-decode and inflate one parameter value. */
static char *inflate_param(const char *v, size_t n)
{
	char *d = malloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned x;
		if (v[i] == '%' && sscanf(v + i + 1, "%2x", &x) == 1) {
			d[o++] = (char)x;
			i += 2;
		} else {
			d[o++] = v[i];
		}
	}
	size_t rl;
	unsigned char *raw = np_b64_decode(d, o, &rl, NULL);
	free(d);
	char *xml = calloc(1, 16384);
	z_stream z;
	memset(&z, 0, sizeof z);
	inflateInit2(&z, -15);
	z.next_in = raw;
	z.avail_in = (unsigned)rl;
	z.next_out = (unsigned char *)xml;
	z.avail_out = 16383;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	free(raw);
	return xml;
}

static void logout_request_url(void **state)
{
	(void)state;
	struct np_err err = {0};
	char id[40];
	struct np_saml_logout lo = {
	    .idp_slo_url = "https://idp.test/slo?tenant=1",
	    .sp_entity_id = "neuropacs-agent",
	    .name_id = "a&b@example.test",
	    .name_id_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	    .session_index = "_s<1>",
	    .relay = "/#/studies",
	    .sp_key_pem = key,
	};
	char *url = np_saml_logout_url(&lo, id, &err);
	assert_non_null(url);
	assert_int_equal(strncmp(url, "https://idp.test/slo?tenant=1&SAMLRequest=", 42), 0);
	char *q = url + 30, *sig = strstr(q, "&Signature=");
	assert_non_null(sig);
	assert_non_null(strstr(q, "&RelayState=%2F%23%2Fstudies&SigAlg=" SIGALG "&Signature="));
	*sig = 0;
	char *sd = strdup(sig + 11), *p = sd, *w = sd;
	for (; *p; p++) { /* the signature is percent-encoded base64 */
		unsigned x;
		if (*p == '%' && sscanf(p + 1, "%2x", &x) == 1) {
			*w++ = (char)x;
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	assert_true(verify(cert, q, sd));
	assert_false(verify(cert2, q, sd));
	const char *req = q + strlen("SAMLRequest=");
	char *xml = inflate_param(req, (size_t)(strchr(req, '&') - req));
	assert_non_null(strstr(xml, "<samlp:LogoutRequest "));
	assert_non_null(strstr(xml, id));
	assert_non_null(strstr(xml, "Destination=\"https://idp.test/slo?tenant=1\""));
	assert_non_null(strstr(xml, "<saml:Issuer>neuropacs-agent</saml:Issuer>"));
	assert_non_null(strstr(xml, "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">"
				    "a&amp;b@example.test</saml:NameID>"));
	assert_non_null(strstr(xml, "<samlp:SessionIndex>_s&lt;1&gt;</samlp:SessionIndex>"));
	free(xml);
	free(sd);
	free(url);
}

/* A LogoutResponse query as an IdP sends it: relay may be NULL. */
static char *response(const char *signer, const char *issuer, const char *dest, const char *irt, const char *status,
		      const char *relay, const char *sigalg, const char *extra)
{
	char xml[4096], *q = NULL, *out = NULL;
	snprintf(xml, sizeof xml,
		 "%s<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\""
		 " xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_lr1\" Version=\"2.0\""
		 " IssueInstant=\"2027-01-15T08:00:00Z\" Destination=\"%s\" InResponseTo=\"%s\">"
		 "<saml:Issuer>%s</saml:Issuer><samlp:Status><samlp:StatusCode"
		 " Value=\"urn:oasis:names:tc:SAML:2.0:status:%s\"/></samlp:Status></samlp:LogoutResponse>",
		 extra, dest, irt, issuer, status);
	char *b = deflate_b64(xml), *r = relay ? enc(relay) : NULL;
	assert_true(asprintf(&q, "SAMLResponse=%s%s%s&SigAlg=%s", b, r ? "&RelayState=" : "", r ? r : "", sigalg) > 0);
	char *s = sign(signer, q);
	assert_true(asprintf(&out, "%s&Signature=%s", q, s) > 0);
	free(b), free(r), free(q), free(s);
	return out;
}

static int check(const char *query, struct np_saml_logout_result *res, struct np_err *err)
{
	struct np_saml_expect exp = {.idp_cert_pem = cert, .idp_entity_id = ISSUER};
	memset(err, 0, sizeof *err);
	return np_saml_logout_response(query, &exp, SLO, res, err);
}

static void refused(const char *query, const char *why)
{
	struct np_saml_logout_result res;
	struct np_err err;
	assert_int_equal(check(query, &res, &err), -1);
	if (!strstr(err.msg, why))
		fail_msg("%s: got '%s'", why, err.msg);
}

static void logout_response_checks(void **state)
{
	(void)state;
	struct np_saml_logout_result res;
	struct np_err err;
	char *q = response(key, ISSUER, SLO, "_q1", "Success", "/studies", SIGALG, "");
	assert_int_equal(check(q, &res, &err), 0);
	assert_string_equal(res.in_response_to, "_q1");
	assert_string_equal(res.relay, "/studies");
	assert_int_equal(res.success, 1);
	/* The signature covers the parameters as sent. */
	char *t = strdup(q), *rs = strstr(t, "RelayState=%2Fstudies");
	memcpy(rs + 14, "ST", 2);
	refused(t, "does not verify");
	free(t);
	char *unsigned_q = strdup(q);
	*strstr(unsigned_q, "&Signature=") = 0;
	refused(unsigned_q, "not signed");
	free(unsigned_q);
	char *twice = NULL;
	assert_true(asprintf(&twice, "%s&RelayState=%%2Fother", q) > 0);
	refused(twice, "twice");
	free(twice);
	free(q);

	q = response(key2, ISSUER, SLO, "_q1", "Success", "/", SIGALG, "");
	refused(q, "does not verify");
	free(q);
	q = response(key, ISSUER, SLO, "_q1", "Success", "/",
		     "http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23rsa-sha1", "");
	refused(q, "RSA-SHA256");
	free(q);
	q = response(key, "https://evil.test", SLO, "_q1", "Success", "/", SIGALG, "");
	refused(q, "Issuer");
	free(q);
	q = response(key, ISSUER, "https://elsewhere.test/slo", "_q1", "Success", "/", SIGALG, "");
	refused(q, "Destination");
	free(q);
	q = response(key, ISSUER, SLO, "", "Success", "/", SIGALG, "");
	refused(q, "InResponseTo");
	free(q);
	q = response(key, ISSUER, SLO, "_q1", "Success", "/", SIGALG, "<!DOCTYPE r [<!ENTITY e \"x\">]>");
	refused(q, "DOCTYPE");
	free(q);
	q = response(key, ISSUER, SLO, "_q1", "Responder", NULL, SIGALG, "");
	assert_int_equal(check(q, &res, &err), 0);
	assert_int_equal(res.success, 0);
	assert_string_equal(res.relay, "/");
	free(q);
	refused("RelayState=%2F", "no SAMLResponse");
}

/* Where a login or a logout may send the browser back to: "/" and the hash
 * routes of the UI's pages, nothing that a browser could read as another
 * host (it drops TAB, CR and LF from a URL and treats a backslash as '/'). */
static void relay_targets(void **state)
{
	(void)state;
	static const char *const good[] = {"/",
					   "/#/studies",
					   "/#/results",
					   "/#/groups",
					   "/#/logs",
					   "/#/settings",
					   "/#/results?study=NP-1_2.3",
					   "/#/studies/abc-1"};
	static const char *const bad[] = {"",
					  "/\t/evil.test/x",
					  "//evil.test",
					  "/\\evil.test",
					  "\\/evil.test",
					  "https://evil.test",
					  "%2F%2Fevil.test",
					  "/%2F%2Fevil.test",
					  "/#//evil.test",
					  "/#/studies//evil.test",
					  "/#/studies/\tx",
					  "/#/studies\r\nSet-Cookie: x=1",
					  "/#/nosuchpage",
					  "/#/studiesx",
					  "/#/",
					  "/#",
					  "/studies",
					  "/api/auth/session",
					  "/#/studies/javascript:alert(1)",
					  " /",
					  "/ "};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!np_saml_relay_ok(good[i]))
			fail_msg("refused: %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (np_saml_relay_ok(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(np_saml_relay_ok(NULL), 0);
	char longer[300] = "/#/studies/";
	memset(longer + 11, 'a', 260);
	longer[271] = 0;
	assert_int_equal(np_saml_relay_ok(longer), 0);
}

/* IdP metadata: what Fetch fills in, WantAuthnRequestsSigned included. */
static void idp_metadata(void **state)
{
	(void)state;
	const char *tmpl =
	    "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://idp.test\">"
	    "<md:IDPSSODescriptor %s protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
	    "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
	    "Location=\"https://idp.test/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>";
	const char *attrs[] = {"WantAuthnRequestsSigned=\"true\"", "WantAuthnRequestsSigned=\"false\"", ""};
	const int want[] = {1, 0, 0};
	for (int i = 0; i < 3; i++) {
		char xml[1024];
		snprintf(xml, sizeof xml, tmpl, attrs[i]);
		struct np_err err = {0};
		json_t *md = np_saml_idp_metadata(xml, strlen(xml), &err);
		assert_non_null(md);
		assert_string_equal(json_string_value(json_object_get(md, "idp_sso_url")), "https://idp.test/sso");
		assert_int_equal(json_is_true(json_object_get(md, "sign_authn_requests")), want[i]);
		json_decref(md);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(relay_targets),
	    cmocka_unit_test(idp_metadata),
	    cmocka_unit_test(logout_request_url),
	    cmocka_unit_test(logout_response_checks),
	};
	return cmocka_run_group_tests(tests, keys, keys_free);
}
