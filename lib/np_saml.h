/* SPDX-License-Identifier: Apache-2.0 */
/* np_saml: SAML 2.0 Web Browser SSO, service provider side (libxml2 +
 * xmlsec1/OpenSSL). SP-initiated only: AuthnRequest by HTTP-Redirect, the
 * Response by HTTP-POST to the ACS. The Response is checked against the
 * configured IdP certificate only, and only the element a verified
 * signature references is read (no signature wrapping). */
#ifndef NP_SAML_H
#define NP_SAML_H

#include <jansson.h>
#include <stddef.h>

struct np_err;

struct np_saml_expect {
	const char *idp_cert_pem;    /* the only key signatures may use */
	const char *idp_entity_id;   /* Issuer */
	const char *sp_entity_id;    /* Audience */
	const char *acs_url;	     /* Destination and Recipient */
	int require_signed;	     /* the assertion must be covered by a signature */
	double now;		     /* seconds since the epoch (np_now) */
	int skew;		     /* allowed clock skew, seconds */
	const char *group_attribute; /* attribute whose values are the groups */
};

struct np_saml_result {
	char response_id[128], assertion_id[128];
	char in_response_to[128]; /* "" when unsolicited */
	char name_id[256];
	double not_on_or_after; /* end of the assertion's validity */
	json_t *groups;		/* array of strings (new reference) */
};

/* Check a decoded SAMLResponse document. Returns 0 with res filled (caller
 * json_decref(res->groups)), or -1 with a permanent err saying which rule
 * refused it (no attacker-chosen text beyond 64 bytes, never the NameID).
 * The caller still checks InResponseTo against its outstanding requests and
 * the IDs against its replay cache. */
int np_saml_validate(const char *xml, size_t len, const struct np_saml_expect *exp, struct np_saml_result *res,
		     struct np_err *err);

/* A new AuthnRequest ID ("_" + 32 hex) and the HTTP-Redirect URL for it:
 * idp_sso_url?SAMLRequest=<deflate+base64+urlencode>&RelayState=<relay>.
 * Returns a malloc'd URL or NULL with err. */
char *np_saml_authn_url(const char *idp_sso_url, const char *sp_entity_id, const char *acs_url,
			const char *nameid_format, const char *relay, char id_out[40], struct np_err *err);

/* SP metadata XML (malloc'd). */
char *np_saml_sp_metadata(const char *sp_entity_id, const char *acs_url, const char *nameid_format, int want_signed,
			  struct np_err *err);

/* Parse IdP metadata: {"idp_entity_id","idp_sso_url","idp_slo_url",
 * "idp_cert_pem"} (new reference) or NULL with err. */
json_t *np_saml_idp_metadata(const char *xml, size_t len, struct np_err *err);

/* The NameID format URN for a settings value (email, persistent, ...). */
const char *np_saml_nameid_urn(const char *setting);

#endif
