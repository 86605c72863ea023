// SPDX-License-Identifier: Apache-2.0
/* np_saml: see np_saml.h. Defences, in the order applied to a Response:
 * no DTD (no entities), no comments or processing instructions anywhere
 * (a comment splits NameID text without breaking the signature), exactly one
 * Response root and exactly one Assertion, its child; IDs registered for
 * those two elements only and never twice; every ds:Signature must be a
 * child of one of them and reference that element's own ID by "#ID", with
 * only the enveloped-signature and exclusive c14n transforms; verified with
 * the configured certificate (KeyInfo in the message is ignored); then the
 * values are read from that same Assertion node. */
#include "np_saml.h"

#include "np_crypto.h"
#include "np_err.h"
#include "np_util.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <zlib.h>

#define NS_P "urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_A "urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_ok;

/* xmlsec reports through a callback; its default prints attacker-influenced
 * text to stderr. The caller reports one reason per rejection instead. */
static void quiet(const char *file, int line, const char *func, const char *obj, const char *subj, int reason,
		  const char *msg)
{
	(void)file, (void)line, (void)func, (void)obj, (void)subj, (void)reason, (void)msg;
}

static void init(void)
{
	xmlInitParser();
	xmlSecErrorsSetCallback(quiet);
	init_ok = xmlSecInit() == 0 && xmlSecCryptoAppInit(NULL) == 0 && xmlSecCryptoInit() == 0;
}

const char *np_saml_nameid_urn(const char *s)
{
	if (s && !strcmp(s, "persistent"))
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
	if (s && !strcmp(s, "transient"))
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
	if (s && !strcmp(s, "unspecified"))
		return "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
	return "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
}

/* The UI is one document at "/" whose views are hash routes: the pages table
 * of share/web/js/app.js, and its "Sign in with SSO" button sends
 * relay="/" + location.hash ("/#/studies"). No other path of the site is a
 * page to return to. */
static const char *const ui_pages[] = {"studies", "results", "groups", "logs", "settings", "audit"};

int np_saml_relay_ok(const char *s)
{
	if (!s || strcmp(s, "/") == 0)
		return s != NULL;
	if (strncmp(s, "/#/", 3) || strlen(s) > 256)
		return 0;
	const char *p = s + 3;
	size_t n = strcspn(p, "/?");
	int known = 0;
	for (size_t i = 0; i < sizeof ui_pages / sizeof *ui_pages; i++)
		known |= strlen(ui_pages[i]) == n && !strncmp(p, ui_pages[i], n);
	if (!known)
		return 0;
	/* What follows the page (an id, a query of the view): a fixed set of
	 * characters; no control characters (browsers drop TAB and newlines, so
	 * "/\t/x" becomes "//x"), no '\\', '%', ':' or "//". */
	for (p += n; *p; p++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_?=&.-", *p) ||
		    (p[0] == '/' && p[1] == '/'))
			return 0;
	return 1;
}

static int is(const xmlNode *n, const char *ns, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && !xmlStrcmp(n->ns->href, BAD_CAST ns) &&
	       !xmlStrcmp(n->name, BAD_CAST name);
}

static xmlNode *child(const xmlNode *p, const char *ns, const char *name)
{
	for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
		if (is(c, ns, name))
			return c;
	return NULL;
}

static int count_children(const xmlNode *p, const char *ns, const char *name)
{
	int n = 0;
	for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
		n += is(c, ns, name);
	return n;
}

/* Element text that is exactly its text children (no element children). */
static int text_of(const xmlNode *n, char *out, size_t sz)
{
	size_t o = 0;
	out[0] = 0;
	if (!n)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return -1;
		size_t l = strlen((const char *)c->content);
		if (o + l >= sz)
			return -1;
		memcpy(out + o, c->content, l);
		o += l;
	}
	out[o] = 0;
	while (o && (out[o - 1] == ' ' || out[o - 1] == '\n' || out[o - 1] == '\r' || out[o - 1] == '\t'))
		out[--o] = 0;
	size_t s = strspn(out, " \n\r\t");
	memmove(out, out + s, o - s + 1);
	return 0;
}

static int attr(const xmlNode *n, const char *name, char *out, size_t sz)
{
	xmlChar *v = xmlGetNoNsProp((xmlNode *)n, BAD_CAST name);
	out[0] = 0;
	if (!v)
		return 0;
	int ok = strlen((const char *)v) < sz;
	if (ok)
		snprintf(out, sz, "%s", (const char *)v);
	xmlFree(v);
	return ok ? 1 : -1;
}

static double iso_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -1;
	if (*e == '.')
		for (e++; *e >= '0' && *e <= '9'; e++)
			;
	if (strcmp(e, "Z"))
		return -1;
	return (double)timegm(&tm);
}

/* Refuse comments, processing instructions, entity references, DTDs. */
static int plain_tree(const xmlNode *n)
{
	for (; n; n = n->next) {
		if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE || n->type == XML_ENTITY_REF_NODE ||
		    n->type == XML_DTD_NODE)
			return 0;
		if (n->type == XML_ELEMENT_NODE && !plain_tree(n->children))
			return 0;
	}
	return 1;
}

static int count_desc(const xmlNode *n, const char *ns, const char *name)
{
	int c = 0;
	for (; n; n = n->next) {
		if (is(n, ns, name))
			c++;
		if (n->type == XML_ELEMENT_NODE)
			c += count_desc(n->children, ns, name);
	}
	return c;
}

#define FAIL(...)                                                                                                      \
	do {                                                                                                           \
		np_err_set(err, NP_ERR_PERM, __VA_ARGS__);                                                             \
		goto out;                                                                                              \
	} while (0)

/* Verify the Signature child of el (if any). Returns 1 verified, 0 none,
 * -1 refused (err filled). */
static int verify_sig(xmlDoc *doc, xmlNode *el, const char *id, const struct np_saml_expect *exp, struct np_err *err)
{
	int n = count_children(el, NS_DS, "Signature");
	if (n == 0)
		return 0;
	if (n > 1)
		return np_err_set(err, NP_ERR_PERM, "SAML: more than one signature on %s", (const char *)el->name);
	xmlNode *sig = child(el, NS_DS, "Signature");
	xmlNode *si = child(sig, NS_DS, "SignedInfo");
	if (count_children(si, NS_DS, "Reference") != 1)
		return np_err_set(err, NP_ERR_PERM, "SAML: the signature must have exactly one reference");
	char uri[160];
	if (attr(child(si, NS_DS, "Reference"), "URI", uri, sizeof uri) != 1 || uri[0] != '#' || strcmp(uri + 1, id))
		return np_err_set(err, NP_ERR_PERM,
				  "SAML: the signature does not reference the signed element's own ID");
	xmlSecKeyPtr key =
	    xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *)exp->idp_cert_pem, (xmlSecSize)strlen(exp->idp_cert_pem),
					 xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
	if (!key)
		return np_err_set(err, NP_ERR_PERM, "SAML: the configured IdP certificate cannot be loaded");
	xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
	int rc = -1;
	if (!ctx) {
		xmlSecKeyDestroy(key);
		return np_err_set(err, NP_ERR_TEMP, "SAML: out of memory");
	}
	ctx->signKey = key;
	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_DONT_STOP_ON_KEY_FOUND;
	xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
	xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId);
	xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId);
	xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id);
	xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id);
	xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id);
	xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id);
	xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id);
	xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id);
	xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id);
	(void)doc;
	if (xmlSecDSigCtxVerify(ctx, sig) < 0)
		np_err_set(err, NP_ERR_PERM, "SAML: the signature could not be processed");
	else if (ctx->status != xmlSecDSigStatusSucceeded)
		np_err_set(err, NP_ERR_PERM, "SAML: the signature does not verify with the configured IdP certificate");
	else
		rc = 1;
	xmlSecDSigCtxDestroy(ctx); /* destroys signKey too */
	return rc;
}

int np_saml_validate(const char *xml, size_t len, const struct np_saml_expect *exp, struct np_saml_result *res,
		     struct np_err *err)
{
	pthread_once(&once, init);
	memset(res, 0, sizeof *res);
	if (!init_ok)
		return np_err_set(err, NP_ERR_TEMP, "SAML: xmlsec could not be initialised");
	if (len > (1 << 20))
		return np_err_set(err, NP_ERR_PERM, "SAML: the response is too large");
	int rc = -1;
	char buf[512], idbuf[128];
	xmlDoc *doc =
	    xmlReadMemory(xml, (int)len, "saml.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return np_err_set(err, NP_ERR_PERM, "SAML: the response is not well-formed XML");
	if (doc->intSubset || doc->extSubset)
		FAIL("SAML: a DOCTYPE is not allowed");
	xmlNode *resp = xmlDocGetRootElement(doc);
	if (!is(resp, NS_P, "Response"))
		FAIL("SAML: the document is not a samlp:Response");
	if (!plain_tree(doc->children))
		FAIL("SAML: comments, processing instructions and entities are not allowed");
	if (count_desc(doc->children, NS_A, "Assertion") != 1 || count_children(resp, NS_A, "Assertion") != 1)
		FAIL("SAML: the response must hold exactly one Assertion, as a child of the Response");
	if (count_desc(doc->children, NS_A, "EncryptedAssertion"))
		FAIL("SAML: encrypted assertions are not supported");
	xmlNode *as = child(resp, NS_A, "Assertion");
	if (attr(resp, "ID", res->response_id, sizeof res->response_id) != 1 || !res->response_id[0] ||
	    attr(as, "ID", res->assertion_id, sizeof res->assertion_id) != 1 || !res->assertion_id[0] ||
	    !strcmp(res->response_id, res->assertion_id))
		FAIL("SAML: the Response and the Assertion need distinct IDs");
	/* Register exactly these two IDs so "#ID" can only resolve to them. */
	xmlAttr *ra = xmlHasProp(resp, BAD_CAST "ID"), *aa = xmlHasProp(as, BAD_CAST "ID");
	if (!xmlAddID(NULL, doc, BAD_CAST res->response_id, ra) || !xmlAddID(NULL, doc, BAD_CAST res->assertion_id, aa))
		FAIL("SAML: duplicate ID");
	int nsig = count_desc(doc->children, NS_DS, "Signature");
	int rs = verify_sig(doc, resp, res->response_id, exp, err);
	if (rs < 0)
		goto out;
	int asig = verify_sig(doc, as, res->assertion_id, exp, err);
	if (asig < 0)
		goto out;
	if (nsig != rs + asig)
		FAIL("SAML: a signature in an unexpected place");
	if (exp->require_signed && rs != 1 && asig != 1)
		FAIL("SAML: the assertion is not signed");
	/* Values from here on come from resp/as, the nodes just verified. */
	if (attr(resp, "Destination", buf, sizeof buf) != 0 && strcmp(buf, exp->acs_url))
		FAIL("SAML: wrong Destination");
	if (attr(resp, "InResponseTo", res->in_response_to, sizeof res->in_response_to) < 0)
		FAIL("SAML: InResponseTo too long");
	xmlNode *st = child(child(resp, NS_P, "Status"), NS_P, "StatusCode");
	if (attr(st, "Value", buf, sizeof buf) != 1 || strcmp(buf, "urn:oasis:names:tc:SAML:2.0:status:Success"))
		FAIL("SAML: the IdP did not answer Success");
	xmlNode *ri = child(resp, NS_A, "Issuer");
	if (ri && (text_of(ri, buf, sizeof buf) < 0 || strcmp(buf, exp->idp_entity_id)))
		FAIL("SAML: wrong Issuer on the Response");
	if (text_of(child(as, NS_A, "Issuer"), buf, sizeof buf) < 0 || strcmp(buf, exp->idp_entity_id))
		FAIL("SAML: wrong Issuer on the Assertion");
	xmlNode *cond = child(as, NS_A, "Conditions");
	double nb = -1, na = -1;
	if (!cond)
		FAIL("SAML: the assertion has no Conditions");
	if (attr(cond, "NotBefore", buf, sizeof buf) == 1 && (nb = iso_time(buf)) < 0)
		FAIL("SAML: bad NotBefore");
	if (attr(cond, "NotOnOrAfter", buf, sizeof buf) != 1 || (na = iso_time(buf)) < 0)
		FAIL("SAML: Conditions need NotOnOrAfter");
	if (nb >= 0 && exp->now + exp->skew < nb)
		FAIL("SAML: the assertion is not valid yet");
	if (exp->now - exp->skew >= na)
		FAIL("SAML: the assertion has expired");
	/* SAML core 2.5.1.4: every AudienceRestriction must be met, each on
	 * its own (one naming us beside one naming another SP is for that SP
	 * as well, not for us alone). At least one is required. */
	int restrictions = 0, met = 0;
	for (xmlNode *ar = cond->children; ar; ar = ar->next) {
		if (!is(ar, NS_A, "AudienceRestriction"))
			continue;
		restrictions++;
		for (xmlNode *au = ar->children; au; au = au->next)
			if (is(au, NS_A, "Audience") && text_of(au, buf, sizeof buf) == 0 &&
			    !strcmp(buf, exp->sp_entity_id)) {
				met++;
				break;
			}
	}
	if (!restrictions || met != restrictions)
		FAIL("SAML: the assertion is not for this SP (Audience)%s",
		     restrictions > 1 && met ? ": an AudienceRestriction names only other SPs" : "");
	xmlNode *subj = child(as, NS_A, "Subject");
	if (count_children(subj, NS_A, "NameID") != 1 ||
	    text_of(child(subj, NS_A, "NameID"), res->name_id, sizeof res->name_id) < 0 || !res->name_id[0])
		FAIL("SAML: the subject needs exactly one plain-text NameID");
	/* Kept for a later LogoutRequest; too long is the same as absent. */
	if (attr(child(subj, NS_A, "NameID"), "Format", res->name_id_format, sizeof res->name_id_format) < 0)
		res->name_id_format[0] = 0;
	if (attr(child(as, NS_A, "AuthnStatement"), "SessionIndex", res->session_index, sizeof res->session_index) < 0)
		res->session_index[0] = 0;
	int conf_ok = 0;
	for (xmlNode *sc = subj->children; sc; sc = sc->next) {
		if (!is(sc, NS_A, "SubjectConfirmation") || attr(sc, "Method", buf, sizeof buf) != 1 ||
		    strcmp(buf, "urn:oasis:names:tc:SAML:2.0:cm:bearer"))
			continue;
		xmlNode *d = child(sc, NS_A, "SubjectConfirmationData");
		double dn;
		if (attr(d, "Recipient", buf, sizeof buf) != 1 || strcmp(buf, exp->acs_url))
			FAIL("SAML: wrong Recipient");
		if (attr(d, "NotOnOrAfter", buf, sizeof buf) != 1 || (dn = iso_time(buf)) < 0 ||
		    exp->now - exp->skew >= dn)
			FAIL("SAML: the subject confirmation has expired");
		if (attr(d, "InResponseTo", idbuf, sizeof idbuf) != 0 && strcmp(idbuf, res->in_response_to))
			FAIL("SAML: InResponseTo differs between Response and Assertion");
		if (dn < na)
			na = dn;
		conf_ok = 1;
	}
	if (!conf_ok)
		FAIL("SAML: no bearer subject confirmation");
	res->not_on_or_after = na;
	res->groups = json_array();
	for (xmlNode *stm = as->children; stm; stm = stm->next) {
		if (!is(stm, NS_A, "AttributeStatement"))
			continue;
		for (xmlNode *a = stm->children; a; a = a->next) {
			if (!is(a, NS_A, "Attribute") || attr(a, "Name", buf, sizeof buf) != 1 ||
			    !exp->group_attribute || strcmp(buf, exp->group_attribute))
				continue;
			for (xmlNode *v = a->children; v; v = v->next)
				if (is(v, NS_A, "AttributeValue") && text_of(v, buf, sizeof buf) == 0 &&
				    json_array_size(res->groups) < 1000) {
					json_t *s = json_string(buf);
					if (s)
						json_array_append_new(res->groups, s);
				}
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		json_decref(res->groups);
		res->groups = NULL;
	}
	xmlFreeDoc(doc);
	return rc;
}

static void xml_escape(const char *in, char *out, size_t sz)
{
	size_t o = 0;
	for (; *in && o + 7 < sz; in++) {
		const char *r = *in == '<'   ? "&lt;"
				: *in == '>' ? "&gt;"
				: *in == '&' ? "&amp;"
				: *in == '"' ? "&quot;"
					     : NULL;
		if (r) {
			memcpy(out + o, r, strlen(r));
			o += strlen(r);
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static void url_enc(const char *in, size_t n, char *out, size_t sz)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 3 < sz; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = 0;
}

/* A message ID ("_" + 32 hex) and the IssueInstant. */
static int new_id(char id_out[40], char now[32], struct np_err *err)
{
	unsigned char rnd[16];
	if (np_random(rnd, sizeof rnd, err) < 0)
		return -1;
	id_out[0] = '_';
	for (int i = 0; i < 16; i++)
		snprintf(id_out + 1 + 2 * i, 3, "%02x", rnd[i]);
	np_time_iso_at((time_t)np_now(), now);
	now[19] = 'Z';
	now[20] = 0;
	return 0;
}

/* HTTP-Redirect encoding of a message: raw DEFLATE, then base64 (malloc'd). */
static char *deflate_b64(const char *xml, size_t n, struct np_err *err)
{
	unsigned char def[8192];
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		np_err_set(err, NP_ERR_TEMP, "zlib error");
		return NULL;
	}
	z.next_in = (unsigned char *)xml;
	z.avail_in = (unsigned)n;
	z.next_out = def;
	z.avail_out = sizeof def;
	int zr = deflate(&z, Z_FINISH);
	size_t dl = sizeof def - z.avail_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		np_err_set(err, NP_ERR_TEMP, "zlib error");
		return NULL;
	}
	return np_b64_encode(def, dl, err);
}

static char *redirect_out(const char *dest, const char *kind, const char *xml, size_t n, const char *relay,
			  const char *key_pem, struct np_err *err);

char *np_saml_authn_url(const char *idp_sso_url, const char *sp_entity_id, const char *acs_url,
			const char *nameid_format, const char *relay, const char *sign_key_pem, char id_out[40],
			struct np_err *err)
{
	char now[32], e_sp[600], e_acs[1200], e_dst[1200], xml[4096];
	if (new_id(id_out, now, err) < 0)
		return NULL;
	xml_escape(sp_entity_id, e_sp, sizeof e_sp);
	xml_escape(acs_url, e_acs, sizeof e_acs);
	xml_escape(idp_sso_url, e_dst, sizeof e_dst);
	int n =
	    snprintf(xml, sizeof xml,
		     "<samlp:AuthnRequest xmlns:samlp=\"" NS_P "\" xmlns:saml=\"" NS_A "\" ID=\"%s\" Version=\"2.0\""
		     " IssueInstant=\"%s\" Destination=\"%s\" AssertionConsumerServiceURL=\"%s\""
		     " ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\">"
		     "<saml:Issuer>%s</saml:Issuer><samlp:NameIDPolicy Format=\"%s\" AllowCreate=\"true\"/>"
		     "</samlp:AuthnRequest>",
		     id_out, now, e_dst, e_acs, e_sp, np_saml_nameid_urn(nameid_format));
	if (n < 0 || (size_t)n >= sizeof xml) {
		np_err_set(err, NP_ERR_PERM, "SAML settings too long");
		return NULL;
	}
	/* The IdP asks for signed requests (WantAuthnRequestsSigned): signed
	 * for the HTTP-Redirect binding like the LogoutRequest. */
	if (sign_key_pem)
		return redirect_out(idp_sso_url, "SAMLRequest", xml, (size_t)n, relay, sign_key_pem, err);
	char *b64 = deflate_b64(xml, (size_t)n, err);
	if (!b64)
		return NULL;
	size_t ul = strlen(idp_sso_url) + strlen(b64) * 3 + strlen(relay) * 3 + 64;
	char *url = malloc(ul), *eb = malloc(strlen(b64) * 3 + 1), *er = malloc(strlen(relay) * 3 + 1);
	if (url && eb && er) {
		url_enc(b64, strlen(b64), eb, strlen(b64) * 3 + 1);
		url_enc(relay, strlen(relay), er, strlen(relay) * 3 + 1);
		snprintf(url, ul, "%s%sSAMLRequest=%s&RelayState=%s", idp_sso_url, strchr(idp_sso_url, '?') ? "&" : "?",
			 eb, er);
	} else {
		free(url);
		url = NULL;
		np_err_set(err, NP_ERR_TEMP, "out of memory");
	}
	free(b64);
	free(eb);
	free(er);
	return url;
}

/* The base64 body of a PEM certificate, without header, footer or line
 * breaks, into out; "" when pem holds no certificate. */
static void pem_body(const char *pem, char *out, size_t sz)
{
	const char *b = pem ? strstr(pem, "-----BEGIN CERTIFICATE-----") : NULL;
	const char *e = b ? strstr(b, "-----END CERTIFICATE-----") : NULL;
	size_t o = 0;
	out[0] = 0;
	if (!b || !e)
		return;
	for (b += 27; b < e && o + 1 < sz; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ')
			out[o++] = *b;
	out[o] = 0;
}

char *np_saml_sp_metadata(const char *sp_entity_id, const char *acs_url, const char *nameid_format, int want_signed,
			  int authn_signed, const char *slo_url, const char *cert_pem, struct np_err *err)
{
	char e_sp[600], e_acs[1200], e_slo[1200], cert[8192], kd[8400] = "", slo[1400] = "";
	xml_escape(sp_entity_id, e_sp, sizeof e_sp);
	xml_escape(acs_url, e_acs, sizeof e_acs);
	pem_body(cert_pem, cert, sizeof cert);
	if (cert[0])
		snprintf(kd, sizeof kd,
			 "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"" NS_DS "\"><ds:X509Data>"
			 "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
			 cert);
	if (slo_url && *slo_url) {
		xml_escape(slo_url, e_slo, sizeof e_slo);
		snprintf(slo, sizeof slo,
			 "    <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\""
			 " Location=\"%s\"/>\n",
			 e_slo);
	}
	char *out = NULL;
	if (asprintf(&out,
		     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<md:EntityDescriptor xmlns:md=\"" NS_MD "\" entityID=\"%s\">\n"
		     "  <md:SPSSODescriptor AuthnRequestsSigned=\"%s\" WantAssertionsSigned=\"%s\""
		     " protocolSupportEnumeration=\"" NS_P "\">\n"
		     "%s%s"
		     "    <md:NameIDFormat>%s</md:NameIDFormat>\n"
		     "    <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\""
		     " Location=\"%s\" index=\"0\" isDefault=\"true\"/>\n"
		     "  </md:SPSSODescriptor>\n"
		     "</md:EntityDescriptor>\n",
		     e_sp, authn_signed ? "true" : "false", want_signed ? "true" : "false", kd, slo,
		     np_saml_nameid_urn(nameid_format), e_acs) < 0) {
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		return NULL;
	}
	return out;
}

static xmlNode *find_desc(xmlNode *n, const char *ns, const char *name)
{
	for (; n; n = n->next) {
		if (is(n, ns, name))
			return n;
		xmlNode *f = n->type == XML_ELEMENT_NODE ? find_desc(n->children, ns, name) : NULL;
		if (f)
			return f;
	}
	return NULL;
}

json_t *np_saml_idp_metadata(const char *xml, size_t len, struct np_err *err)
{
	pthread_once(&once, init);
	xmlDoc *doc =
	    xmlReadMemory(xml, (int)len, "md.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		np_err_set(err, NP_ERR_PERM, "the IdP metadata is not well-formed XML");
		return NULL;
	}
	json_t *o = NULL;
	char ent[512], sso[1024] = "", slo[1024] = "", b[256];
	xmlNode *ed = find_desc(doc->children, NS_MD, "EntityDescriptor");
	xmlNode *idp = ed ? child(ed, NS_MD, "IDPSSODescriptor") : NULL;
	if (doc->intSubset || !idp || attr(ed, "entityID", ent, sizeof ent) != 1) {
		np_err_set(err, NP_ERR_PERM, "the metadata has no IdP EntityDescriptor");
		goto out;
	}
	for (xmlNode *c = idp->children; c; c = c->next) {
		if (attr(c, "Binding", b, sizeof b) != 1 ||
		    strcmp(b, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"))
			continue;
		if (is(c, NS_MD, "SingleSignOnService") && !sso[0])
			attr(c, "Location", sso, sizeof sso);
		if (is(c, NS_MD, "SingleLogoutService") && !slo[0])
			attr(c, "Location", slo, sizeof slo);
	}
	char *pem = NULL;
	for (xmlNode *k = idp->children; k && !pem; k = k->next) {
		if (!is(k, NS_MD, "KeyDescriptor") || (attr(k, "use", b, sizeof b) == 1 && strcmp(b, "signing")))
			continue;
		xmlNode *x = find_desc(k->children, NS_DS, "X509Certificate");
		xmlChar *t = x ? xmlNodeGetContent(x) : NULL;
		if (!t)
			continue;
		size_t tl = strlen((const char *)t), o = 0;
		char *clean = malloc(tl + 1);
		for (size_t i = 0; i < tl; i++)
			if (!strchr(" \r\n\t", t[i]))
				clean[o++] = (char)t[i];
		clean[o] = 0;
		xmlFree(t);
		size_t pl = o + o / 64 + 80;
		pem = malloc(pl);
		size_t p = (size_t)snprintf(pem, pl, "-----BEGIN CERTIFICATE-----\n");
		for (size_t i = 0; i < o; i += 64)
			p += (size_t)snprintf(pem + p, pl - p, "%.*s\n", (int)(o - i < 64 ? o - i : 64), clean + i);
		snprintf(pem + p, pl - p, "-----END CERTIFICATE-----\n");
		free(clean);
	}
	int want = attr(idp, "WantAuthnRequestsSigned", b, sizeof b) == 1 && (!strcmp(b, "true") || !strcmp(b, "1"));
	o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "idp_entity_id", ent, "idp_sso_url", sso, "idp_slo_url", slo,
		      "idp_cert_pem", pem ? pem : "", "sign_authn_requests", want);
	free(pem);
	if (!o)
		np_err_set(err, NP_ERR_PERM, "the metadata holds invalid text");
out:
	xmlFreeDoc(doc);
	return o;
}

/* ---- Single Logout, SP-initiated, HTTP-Redirect binding ---- */

#define SIGALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

static char *url_enc_dup(const char *s, struct np_err *err)
{
	size_t l = strlen(s);
	char *o = malloc(3 * l + 1);
	if (!o)
		np_err_set(err, NP_ERR_TEMP, "out of memory");
	else
		url_enc(s, l, o, 3 * l + 1);
	return o;
}

int np_saml_sp_keypair_new(const char *cn, char **key_pem, char **cert_pem, struct np_err *err)
{
	*key_pem = *cert_pem = NULL;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	unsigned char serial[16];
	int rc = -1;
	if (!k || !x || !kb || !cb || np_random(serial, sizeof serial, err) < 0)
		goto out;
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
	X509_NAME *name = X509_get_subject_name(x);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) || !X509_set_pubkey(x, k) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, (int)strnlen(cn, 64), -1,
					0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, k, EVP_sha256()) ||
	    !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, x)) {
		BN_free(bn);
		goto out;
	}
	BN_free(bn);
	char *p;
	long n = BIO_get_mem_data(kb, &p);
	*key_pem = strndup(p, (size_t)n);
	n = BIO_get_mem_data(cb, &p);
	*cert_pem = strndup(p, (size_t)n);
	rc = *key_pem && *cert_pem ? 0 : -1;
out:
	if (rc < 0) {
		if (!err || !err->cls)
			np_err_set(err, NP_ERR_TEMP, "unable to create the SP signing key");
		free(*key_pem);
		free(*cert_pem);
		*key_pem = *cert_pem = NULL;
	}
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* RSA-SHA256 signature of data with the PEM private key, base64 (malloc'd). */
static char *sign_b64(const char *key_pem, const char *data, size_t n, struct np_err *err)
{
	BIO *b = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t sl = 0;
	char *out = NULL;
	if (k && c && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(c, NULL, &sl, (const unsigned char *)data, n) == 1 && (sig = malloc(sl)) &&
	    EVP_DigestSign(c, sig, &sl, (const unsigned char *)data, n) == 1)
		out = np_b64_encode(sig, sl, err);
	else
		np_err_set(err, NP_ERR_PERM, "SAML: unable to sign with the SP key");
	free(sig);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return out;
}

/* A message sent by the HTTP-Redirect binding, signed with the SP key: the
 * URL dest?KIND=...&RelayState=...&SigAlg=...&Signature=... (malloc'd; no
 * RelayState when relay is NULL) or NULL with err. */
static char *redirect_out(const char *dest, const char *kind, const char *xml, size_t n, const char *relay,
			  const char *key_pem, struct np_err *err)
{
	char *b64 = deflate_b64(xml, n, err), *eb = NULL, *er = NULL, *es = NULL, *sig = NULL, *q = NULL, *url = NULL;
	if (!b64 || !(eb = url_enc_dup(b64, err)) || (relay && !(er = url_enc_dup(relay, err))) ||
	    !(es = url_enc_dup(SIGALG_RSA_SHA256, err)))
		goto out;
	/* The signed octets: the message, RelayState, SigAlg as they appear
	 * in the URL (SAML bindings 3.4.4.1). */
	if (asprintf(&q, "%s=%s%s%s&SigAlg=%s", kind, eb, er ? "&RelayState=" : "", er ? er : "", es) < 0) {
		q = NULL;
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		goto out;
	}
	char *esig = NULL;
	if (!(sig = sign_b64(key_pem, q, strlen(q), err)) || !(esig = url_enc_dup(sig, err)))
		goto out;
	if (asprintf(&url, "%s%s%s&Signature=%s", dest, strchr(dest, '?') ? "&" : "?", q, esig) < 0) {
		url = NULL;
		np_err_set(err, NP_ERR_TEMP, "out of memory");
	}
	free(esig);
out:
	free(b64);
	free(eb);
	free(er);
	free(es);
	free(sig);
	free(q);
	return url;
}

char *np_saml_logout_url(const struct np_saml_logout *lo, char id_out[40], struct np_err *err)
{
	char now[32], e_sp[600], e_dst[1200], e_name[800], e_fmt[300], e_idx[300], fmt[340] = "", idx[360] = "",
										   xml[4096];
	if (new_id(id_out, now, err) < 0)
		return NULL;
	xml_escape(lo->sp_entity_id, e_sp, sizeof e_sp);
	xml_escape(lo->idp_slo_url, e_dst, sizeof e_dst);
	xml_escape(lo->name_id, e_name, sizeof e_name);
	if (lo->name_id_format && *lo->name_id_format) {
		xml_escape(lo->name_id_format, e_fmt, sizeof e_fmt);
		snprintf(fmt, sizeof fmt, " Format=\"%s\"", e_fmt);
	}
	if (lo->session_index && *lo->session_index) {
		xml_escape(lo->session_index, e_idx, sizeof e_idx);
		snprintf(idx, sizeof idx, "<samlp:SessionIndex>%s</samlp:SessionIndex>", e_idx);
	}
	int n =
	    snprintf(xml, sizeof xml,
		     "<samlp:LogoutRequest xmlns:samlp=\"" NS_P "\" xmlns:saml=\"" NS_A "\" ID=\"%s\" Version=\"2.0\""
		     " IssueInstant=\"%s\" Destination=\"%s\"><saml:Issuer>%s</saml:Issuer>"
		     "<saml:NameID%s>%s</saml:NameID>%s</samlp:LogoutRequest>",
		     id_out, now, e_dst, e_sp, fmt, e_name, idx);
	if (n < 0 || (size_t)n >= sizeof xml) {
		np_err_set(err, NP_ERR_PERM, "SAML settings too long");
		return NULL;
	}
	return redirect_out(lo->idp_slo_url, "SAMLRequest", xml, (size_t)n, lo->relay ? lo->relay : "/", lo->sp_key_pem,
			    err);
}

/* Percent-decoding of n bytes ('+' is a space); -1 when malformed or too long. */
static int url_dec(const char *in, size_t n, char *out, size_t sz)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			unsigned v;
			if (i + 2 >= n || !isxdigit((unsigned char)in[i + 1]) || !isxdigit((unsigned char)in[i + 2]) ||
			    sscanf(in + i + 1, "%2x", &v) != 1)
				return -1;
			c = (int)v;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= sz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* Check the HTTP-Redirect signature of a query over the certificate. */
static int verify_redirect(const char *cert_pem, const char *octets, size_t n, const char *sig_b64, const char *what,
			   struct np_err *err)
{
	size_t sl = 0;
	unsigned char *sig = np_b64_decode(sig_b64, strlen(sig_b64), &sl, NULL);
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = sig && k && c && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
		 EVP_DigestVerify(c, sig, sl, (const unsigned char *)octets, n) == 1;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	X509_free(x);
	free(sig);
	if (!ok)
		return np_err_set(err, NP_ERR_PERM,
				  "SAML: the %s signature does not verify with the configured IdP certificate", what);
	return 0;
}

/* A message received by the HTTP-Redirect binding (query: the raw query
 * string; kind: "SAMLRequest" or "SAMLResponse"; what: its name in errors).
 * The signature (SigAlg RSA-SHA256, required) is verified with cert_pem over
 * the parameters as sent before anything else is decoded; then the message
 * is inflated (at most 64 KiB) and parsed without DTD, comments, PIs or
 * entities. Returns the document, with the decoded RelayState in relay ("/"
 * when absent or malformed; *has_relay says whether it was sent), or NULL
 * with a permanent err naming the rule. */
static xmlDoc *redirect_in(const char *query, const char *kind, const char *what, const char *cert_pem, char *relay,
			   size_t relay_sz, int *has_relay, struct np_err *err)
{
	pthread_once(&once, init);
	snprintf(relay, relay_sz, "/");
	*has_relay = 0;
	if (!init_ok) {
		np_err_set(err, NP_ERR_TEMP, "SAML: xmlsec could not be initialised");
		return NULL;
	}
	if (!query || strlen(query) > (256 << 10)) {
		np_err_set(err, NP_ERR_PERM, "SAML: the %s is missing or too large", what);
		return NULL;
	}
	/* Raw (still encoded) values: the signature covers them as sent. */
	const char *const names[] = {kind, "RelayState", "SigAlg", "Signature"};
	const char *val[4] = {NULL};
	size_t vlen[4] = {0};
	for (const char *p = query; *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		for (int i = 0; eq && i < 4; i++)
			if ((size_t)(eq - p) == strlen(names[i]) && !memcmp(p, names[i], strlen(names[i]))) {
				if (val[i]) {
					np_err_set(err, NP_ERR_PERM, "SAML: %s given twice", names[i]);
					return NULL;
				}
				val[i] = eq + 1;
				vlen[i] = len - (size_t)(eq + 1 - p);
			}
		if (!amp)
			break;
		p = amp + 1;
	}
	if (!val[0]) {
		np_err_set(err, NP_ERR_PERM, "SAML: no %s in the query", kind);
		return NULL;
	}
	if (!val[2] || !val[3]) {
		np_err_set(err, NP_ERR_PERM, "SAML: the %s is not signed", what);
		return NULL;
	}
	char sigalg[128], *sigb = malloc(vlen[3] + 1), *octets = NULL, *b64 = malloc(vlen[0] + 1);
	xmlDoc *doc = NULL, *ret = NULL;
	unsigned char *raw = NULL, *xml = NULL;
	if (!sigb || !b64)
		FAIL("SAML: out of memory");
	if (url_dec(val[2], vlen[2], sigalg, sizeof sigalg) < 0 || strcmp(sigalg, SIGALG_RSA_SHA256))
		FAIL("SAML: the %s must be signed with RSA-SHA256", what);
	if (url_dec(val[3], vlen[3], sigb, vlen[3] + 1) < 0)
		FAIL("SAML: bad Signature encoding");
	if (asprintf(&octets, "%s=%.*s%s%.*s&SigAlg=%.*s", kind, (int)vlen[0], val[0], val[1] ? "&RelayState=" : "",
		     val[1] ? (int)vlen[1] : 0, val[1] ? val[1] : "", (int)vlen[2], val[2]) < 0) {
		octets = NULL;
		FAIL("SAML: out of memory");
	}
	if (verify_redirect(cert_pem, octets, strlen(octets), sigb, what, err) < 0)
		goto out;
	/* Only now, with the sender authenticated, is the message itself read. */
	if (val[1]) {
		*has_relay = 1;
		if (url_dec(val[1], vlen[1], relay, relay_sz) < 0)
			snprintf(relay, relay_sz, "/");
	}
	size_t rl = 0, xl = 0;
	if (url_dec(val[0], vlen[0], b64, vlen[0] + 1) < 0 || !(raw = np_b64_decode(b64, strlen(b64), &rl, NULL)))
		FAIL("SAML: %s is not base64", kind);
	size_t cap = 64 << 10;
	if (!(xml = malloc(cap)))
		FAIL("SAML: out of memory");
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -15) != Z_OK)
		FAIL("SAML: zlib error");
	z.next_in = raw;
	z.avail_in = (unsigned)rl;
	z.next_out = xml;
	z.avail_out = (unsigned)cap;
	int zr = inflate(&z, Z_FINISH);
	xl = cap - z.avail_out;
	inflateEnd(&z);
	if (zr != Z_STREAM_END)
		FAIL("SAML: %s does not inflate (or is larger than 64 KiB)", kind);
	doc = xmlReadMemory((const char *)xml, (int)xl, "slo.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		FAIL("SAML: the %s is not well-formed XML", what);
	if (doc->intSubset || doc->extSubset)
		FAIL("SAML: a DOCTYPE is not allowed");
	if (!plain_tree(doc->children))
		FAIL("SAML: comments, processing instructions and entities are not allowed");
	ret = doc;
	doc = NULL;
out:
	if (doc)
		xmlFreeDoc(doc);
	free(xml);
	free(raw);
	free(octets);
	free(sigb);
	free(b64);
	return ret;
}

int np_saml_logout_response(const char *query, const struct np_saml_expect *exp, const char *slo_endpoint,
			    struct np_saml_logout_result *res, struct np_err *err)
{
	memset(res, 0, sizeof *res);
	int has_relay;
	xmlDoc *doc = redirect_in(query, "SAMLResponse", "logout response", exp->idp_cert_pem, res->relay,
				  sizeof res->relay, &has_relay, err);
	if (!doc)
		return -1;
	int rc = -1;
	xmlNode *lr = xmlDocGetRootElement(doc);
	char buf[512];
	if (!is(lr, NS_P, "LogoutResponse"))
		FAIL("SAML: the document is not a samlp:LogoutResponse");
	if (attr(lr, "Destination", buf, sizeof buf) != 0 && strcmp(buf, slo_endpoint))
		FAIL("SAML: wrong Destination");
	if (text_of(child(lr, NS_A, "Issuer"), buf, sizeof buf) < 0 || strcmp(buf, exp->idp_entity_id))
		FAIL("SAML: wrong Issuer on the logout response");
	if (attr(lr, "InResponseTo", res->in_response_to, sizeof res->in_response_to) != 1 || !res->in_response_to[0])
		FAIL("SAML: the logout response names no request (InResponseTo)");
	xmlNode *st = child(child(lr, NS_P, "Status"), NS_P, "StatusCode");
	res->success =
	    attr(st, "Value", buf, sizeof buf) == 1 && !strcmp(buf, "urn:oasis:names:tc:SAML:2.0:status:Success");
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

int np_saml_logout_request_in(const char *query, const struct np_saml_expect *exp, const char *slo_endpoint,
			      struct np_saml_logout_in *req, struct np_err *err)
{
	memset(req, 0, sizeof *req);
	xmlDoc *doc = redirect_in(query, "SAMLRequest", "logout request", exp->idp_cert_pem, req->relay,
				  sizeof req->relay, &req->has_relay, err);
	if (!doc)
		return -1;
	int rc = -1;
	xmlNode *lr = xmlDocGetRootElement(doc);
	char buf[512];
	if (!is(lr, NS_P, "LogoutRequest"))
		FAIL("SAML: the document is not a samlp:LogoutRequest");
	if (attr(lr, "Destination", buf, sizeof buf) != 0 && strcmp(buf, slo_endpoint))
		FAIL("SAML: wrong Destination");
	if (text_of(child(lr, NS_A, "Issuer"), buf, sizeof buf) < 0 || strcmp(buf, exp->idp_entity_id))
		FAIL("SAML: wrong Issuer on the logout request");
	if (attr(lr, "ID", req->id, sizeof req->id) != 1 || !req->id[0])
		FAIL("SAML: the logout request has no ID");
	/* A signed request is still a bearer message: it is good for a short
	 * time only (IssueInstant), and its ID once (the caller's replay cache
	 * keeps IDs for NP_SAML_LOGOUT_MAX_AGE). */
	double t = attr(lr, "IssueInstant", buf, sizeof buf) == 1 ? iso_time(buf) : -1;
	if (t < 0)
		FAIL("SAML: the logout request has no valid IssueInstant");
	if (t > exp->now + exp->skew || t < exp->now - exp->skew - NP_SAML_LOGOUT_MAX_AGE)
		FAIL("SAML: the logout request is too old or from the future (IssueInstant)");
	if (attr(lr, "NotOnOrAfter", buf, sizeof buf) != 0 &&
	    (iso_time(buf) < 0 || exp->now - exp->skew >= iso_time(buf)))
		FAIL("SAML: the logout request has expired (NotOnOrAfter)");
	if (child(lr, NS_A, "EncryptedID") || child(lr, NS_A, "BaseID"))
		FAIL("SAML: only a plain NameID is supported in a logout request");
	if (count_children(lr, NS_A, "NameID") != 1 ||
	    text_of(child(lr, NS_A, "NameID"), req->name_id, sizeof req->name_id) < 0 || !req->name_id[0])
		FAIL("SAML: the logout request must name exactly one NameID");
	for (xmlNode *c = lr->children; c; c = c->next) {
		if (!is(c, NS_P, "SessionIndex"))
			continue;
		if (req->n_index == NP_SAML_MAX_INDEX ||
		    text_of(c, req->session_index[req->n_index], sizeof req->session_index[0]) < 0)
			FAIL("SAML: too many or too long SessionIndex elements");
		req->n_index++;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

char *np_saml_logout_response_url(const struct np_saml_logout *lo, const char *in_response_to, int success,
				  char id_out[40], struct np_err *err)
{
	char now[32], e_sp[600], e_dst[1200], e_irt[400], xml[4096];
	if (new_id(id_out, now, err) < 0)
		return NULL;
	xml_escape(lo->sp_entity_id, e_sp, sizeof e_sp);
	xml_escape(lo->idp_slo_url, e_dst, sizeof e_dst);
	xml_escape(in_response_to, e_irt, sizeof e_irt);
	int n =
	    snprintf(xml, sizeof xml,
		     "<samlp:LogoutResponse xmlns:samlp=\"" NS_P "\" xmlns:saml=\"" NS_A "\" ID=\"%s\" Version=\"2.0\""
		     " IssueInstant=\"%s\" Destination=\"%s\" InResponseTo=\"%s\"><saml:Issuer>%s</saml:Issuer>"
		     "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:%s\"/>"
		     "</samlp:Status></samlp:LogoutResponse>",
		     id_out, now, e_dst, e_irt, e_sp, success ? "Success" : "Responder");
	if (n < 0 || (size_t)n >= sizeof xml) {
		np_err_set(err, NP_ERR_PERM, "SAML settings too long");
		return NULL;
	}
	return redirect_out(lo->idp_slo_url, "SAMLResponse", xml, (size_t)n, lo->relay, lo->sp_key_pem, err);
}
