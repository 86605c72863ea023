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
	double not_on_or_after;	  /* end of the assertion's validity */
	json_t *groups;		  /* array of strings (new reference) */
	char name_id_format[256]; /* NameID Format attribute, "" when absent */
	char session_index[128];  /* AuthnStatement SessionIndex, "" when absent */
};

/* Check a decoded SAMLResponse document. Returns 0 with res filled (caller
 * json_decref(res->groups)), or -1 with a permanent err saying which rule
 * refused it (no attacker-chosen text beyond 64 bytes, never the NameID).
 * The caller still checks InResponseTo against its outstanding requests and
 * the IDs against its replay cache. */
int np_saml_validate(const char *xml, size_t len, const struct np_saml_expect *exp, struct np_saml_result *res,
		     struct np_err *err);

/* A new AuthnRequest ID ("_" + 32 hex) and the HTTP-Redirect URL for it:
 * idp_sso_url?SAMLRequest=<deflate+base64+urlencode>&RelayState=<relay>,
 * and &SigAlg=...&Signature=... (RSA-SHA256) when sign_key_pem is not NULL.
 * Returns a malloc'd URL or NULL with err. */
char *np_saml_authn_url(const char *idp_sso_url, const char *sp_entity_id, const char *acs_url,
			const char *nameid_format, const char *relay, const char *sign_key_pem, char id_out[40],
			struct np_err *err);

/* SP metadata XML (malloc'd). slo_url (Single Logout service, HTTP-Redirect)
 * and cert_pem (the SP signing certificate) are left out when NULL or "";
 * authn_signed: AuthnRequestsSigned. */
char *np_saml_sp_metadata(const char *sp_entity_id, const char *acs_url, const char *nameid_format, int want_signed,
			  int authn_signed, const char *slo_url, const char *cert_pem, struct np_err *err);

/* Parse IdP metadata: {"idp_entity_id","idp_sso_url","idp_slo_url",
 * "idp_cert_pem", "sign_authn_requests" (its WantAuthnRequestsSigned)}
 * (new reference) or NULL with err. */
json_t *np_saml_idp_metadata(const char *xml, size_t len, struct np_err *err);

/* 1 when s is a place of our own UI to return to after a login or a logout
 * (RelayState): "/" or "/#/PAGE" of a known page, optionally followed by
 * '/' or '?' and letters, digits and "/_?=&.-" (no "//"); 0 for anything
 * else, which the caller replaces with "/". */
int np_saml_relay_ok(const char *s);

/* The NameID format URN for a settings value (email, persistent, ...). */
const char *np_saml_nameid_urn(const char *setting);

/* ---- Single Logout (SP-initiated, HTTP-Redirect binding) ---- */

/* A new SP signing key (RSA 2048, PEM) and its self-signed certificate
 * (10 years, CN = cn), both malloc'd. Returns 0, or -1 with err. */
int np_saml_sp_keypair_new(const char *cn, char **key_pem, char **cert_pem, struct np_err *err);

struct np_saml_logout {
	const char *idp_slo_url, *sp_entity_id;
	const char *name_id, *name_id_format, *session_index; /* from the login; format and index may be "" */
	const char *relay;				      /* local path to return to */
	const char *sp_key_pem;				      /* signs the request */
};
/* A LogoutRequest for lo, signed for the HTTP-Redirect binding (SigAlg
 * RSA-SHA256 over SAMLRequest, RelayState and SigAlg as encoded): the URL
 * to send the browser to (malloc'd), its ID in id_out; NULL with err. */
char *np_saml_logout_url(const struct np_saml_logout *lo, char id_out[40], struct np_err *err);

struct np_saml_logout_result {
	char in_response_to[128]; /* the LogoutRequest ID it answers */
	char relay[600];	  /* decoded RelayState ("/" when absent); the caller checks it */
	int success;		  /* StatusCode Success */
};
/* Check a LogoutResponse received by HTTP-Redirect: query is the raw query
 * string. The signature (SigAlg RSA-SHA256, required) is verified with
 * exp->idp_cert_pem before the message is decoded; then Issuer
 * (exp->idp_entity_id), Destination (slo_endpoint, when present) and
 * InResponseTo are checked. Returns 0 with res, or -1 with a permanent err
 * naming the rule. The caller matches InResponseTo with its requests. */
int np_saml_logout_response(const char *query, const struct np_saml_expect *exp, const char *slo_endpoint,
			    struct np_saml_logout_result *res, struct np_err *err);

/* A LogoutRequest the IdP sends by HTTP-Redirect (IdP-initiated logout). */
#define NP_SAML_MAX_INDEX 8
#define NP_SAML_LOGOUT_MAX_AGE 600 /* seconds a LogoutRequest is good for after its IssueInstant */
struct np_saml_logout_in {
	char id[128];				    /* its ID: InResponseTo of the answer */
	char name_id[512];			    /* whose sessions end */
	char session_index[NP_SAML_MAX_INDEX][128]; /* only these sessions, when any */
	int n_index;
	char relay[600]; /* RelayState as sent, returned with the answer */
	int has_relay;
};
/* Check a LogoutRequest received by HTTP-Redirect (query: the raw query
 * string): the signature (RSA-SHA256, required) with exp->idp_cert_pem
 * before the message is read, then Issuer, Destination (slo_endpoint, when
 * present), IssueInstant (within NP_SAML_LOGOUT_MAX_AGE and exp->skew of
 * exp->now), NotOnOrAfter, one plain NameID. 0 with req, or -1 with a
 * permanent err naming the rule. The caller keeps IDs against replay. */
int np_saml_logout_request_in(const char *query, const struct np_saml_expect *exp, const char *slo_endpoint,
			      struct np_saml_logout_in *req, struct np_err *err);
/* The answer to LogoutRequest in_response_to: a LogoutResponse (Success, or
 * Responder when !success) to lo->idp_slo_url, signed for the HTTP-Redirect
 * binding with lo->sp_key_pem, with lo->relay as RelayState when not NULL.
 * The URL (malloc'd), its ID in id_out; NULL with err. */
char *np_saml_logout_response_url(const struct np_saml_logout *lo, const char *in_response_to, int success,
				  char id_out[40], struct np_err *err);

#endif
