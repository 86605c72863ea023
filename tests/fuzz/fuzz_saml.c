// SPDX-License-Identifier: Apache-2.0
// Fuzz what np-httpd takes from a browser on behalf of an IdP: SAML
// Responses posted to the ACS (np_saml_validate), LogoutResponse query
// strings (np_saml_logout_response: parameter parsing, percent and base64
// decoding, signature check), and, signed with the IdP key here so that the
// check passes, arbitrary LogoutResponse documents (inflate and XML rules).
// The first input byte picks the mode; the rest is the message.
#include "np_crypto.h"
#include "np_err.h"
#include "np_saml.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char *key_pem, *cert_pem;

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

/* "SAMLResponse=...&RelayState=%2F&SigAlg=...&Signature=..." for xml. */
static char *signed_query(const uint8_t *xml, size_t n)
{
	uLongf dl = compressBound(n) + 64;
	unsigned char *def = malloc(dl);
	z_stream z;
	memset(&z, 0, sizeof z);
	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)xml;
	z.avail_in = (unsigned)n;
	z.next_out = def;
	z.avail_out = (unsigned)dl;
	deflate(&z, Z_FINISH);
	size_t len = dl - z.avail_out;
	deflateEnd(&z);
	char *b64 = np_b64_encode(def, len, NULL), *eb = enc(b64);
	free(def);
	free(b64);
	char *q = NULL, *out = NULL;
	if (asprintf(&q, "SAMLResponse=%s&RelayState=%%2F&SigAlg=%s", eb,
		     "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256") < 0)
		q = NULL;
	free(eb);
	BIO *b = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char sig[512];
	size_t sl = sizeof sig;
	if (q && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(c, sig, &sl, (const unsigned char *)q, strlen(q)) == 1) {
		char *s64 = np_b64_encode(sig, sl, NULL), *es = enc(s64);
		if (asprintf(&out, "%s&Signature=%s", q, es) < 0)
			out = NULL;
		free(s64);
		free(es);
	}
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	free(q);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!key_pem && np_saml_sp_keypair_new("fuzz idp", &key_pem, &cert_pem, NULL) < 0)
		abort();
	if (size < 1 || size > (256 << 10))
		return 0;
	struct np_saml_expect exp = {
	    .idp_cert_pem = cert_pem,
	    .idp_entity_id = "https://idp.test/metadata",
	    .sp_entity_id = "neuropacs-agent",
	    .acs_url = "http://127.0.0.1/api/saml/acs",
	    .require_signed = data[0] & 8,
	    .now = 1800000000,
	    .skew = 120,
	    .group_attribute = "groups",
	};
	struct np_err err = {0};
	const uint8_t *m = data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: {
		struct np_saml_result res;
		if (np_saml_validate((const char *)m, n, &exp, &res, &err) == 0)
			json_decref(res.groups);
		break;
	}
	case 1: {
		char *q = strndup((const char *)m, n);
		struct np_saml_logout_result res;
		np_saml_logout_response(q, &exp, "http://127.0.0.1/api/saml/slo", &res, &err);
		free(q);
		break;
	}
	default: {
		char *q = signed_query(m, n);
		struct np_saml_logout_result res;
		if (q && np_saml_logout_response(q, &exp, "http://127.0.0.1/api/saml/slo", &res, &err) < 0 &&
		    strstr(err.msg, "signature does not verify"))
			abort(); /* our own signature must verify */
		free(q);
		break;
	}
	}
	return 0;
}
