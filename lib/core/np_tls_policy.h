/* SPDX-License-Identifier: Apache-2.0 */
/* np_tls_policy: the one TLS policy of every TLS endpoint of the agent
 * (np-httpd's HTTPS, np-recv's DICOM TLS, np-deliver's DICOM TLS and the
 * other TLS clients), as a short table of profiles. The default, "bcp195",
 * is Mozilla's "intermediate" profile (BCP 195, RFC 9325) without DHE: TLS
 * 1.2 with ECDHE key exchange and AEAD ciphers only, and TLS 1.3. No
 * compression, no renegotiation, the server's cipher order. The DICOM
 * endpoints may choose another profile of the table (dicom.tls.profile, a
 * destination's tls_profile); HTTPS always uses the default. The DICOM
 * Conformance Statement (np-conformance(7)) lists the profiles from this
 * table and the suites OpenSSL actually enables for each. */
#ifndef NP_TLS_POLICY_H
#define NP_TLS_POLICY_H

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

enum np_tls_profile {
	NP_TLS_BCP195 = 0,   /* default: PS3.15 B.9 as RFC 9325 recommends it */
	NP_TLS_BCP195_ND,    /* PS3.15 B.10 with its four required suites (adds DHE-RSA) */
	NP_TLS_LEGACY_AES,   /* bcp195 plus TLS_RSA_WITH_AES_128_CBC_SHA of the retired AES profile */
	NP_TLS_PROFILE_COUNT /* number of profiles */
};

struct np_tls_profile_def {
	const char *name;      /* setting value: "bcp195", "bcp195-non-downgrading", "legacy-aes" */
	const char *dicom;     /* the PS3.15 Annex B profile it implements */
	const char *ciphers;   /* TLS 1.2 cipher list, OpenSSL syntax, in our order of preference */
	const char *tls13;     /* TLS 1.3 suites, OpenSSL syntax */
	const char *min_proto; /* lowest protocol version negotiated */
	const char *why;       /* one sentence for the Conformance Statement and the settings page */
	int weak;	       /* 1: offers a suite without forward secrecy (log a warning when used) */
};

extern const struct np_tls_profile_def np_tls_profiles[NP_TLS_PROFILE_COUNT];

/* The profile named name (NULL or "" = the default), or -1. */
int np_tls_profile_find(const char *name);

/* The TLS 1.2 cipher list and the TLS 1.3 suites of the default profile. */
extern const char np_tls_ciphers_tls12[];
extern const char np_tls_ciphersuites_tls13[];

/* Apply the default profile to an SSL_CTX. Returns 0, or -1 when OpenSSL
 * refused the cipher lists (see ERR_get_error). */
int np_tls_policy_apply(struct ssl_ctx_st *ctx);
/* Apply profile p (an enum np_tls_profile). Returns 0 or -1 (as above, and
 * for an unknown p). */
int np_tls_policy_apply_profile(struct ssl_ctx_st *ctx, int p);

#endif
