// SPDX-License-Identifier: Apache-2.0
/* np_tls_policy: see np_tls_policy.h. */
#include "np_tls_policy.h"

#include <openssl/ssl.h>
#include <string.h>

/* Mozilla intermediate v5.7 minus its three DHE suites: forward secrecy
 * through ECDHE and an AEAD cipher for every TLS 1.2 connection. No CBC
 * (AES128-SHA, AES256-SHA256: no forward secrecy, Lucky13-style padding
 * oracles), no static RSA key exchange. */
#define BCP195_TLS12                                                                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                                   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                                   \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* All three TLS 1.3 suites are AEAD with ephemeral key exchange. */
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

const char np_tls_ciphers_tls12[] = BCP195_TLS12;
const char np_tls_ciphersuites_tls13[] = TLS13_SUITES;

/* TLS 1.0 and 1.1 are refused by every profile, legacy-aes included: the
 * retired AES profile's one suite works over TLS 1.2, which every peer still
 * in service speaks (OpenSSL 3 needs security level 0 for TLS 1.0/1.1). */
const struct np_tls_profile_def np_tls_profiles[NP_TLS_PROFILE_COUNT] = {
    [NP_TLS_BCP195] = {"bcp195", "BCP 195 TLS Secure Transport Connection Profile (PS3.15 B.9)", BCP195_TLS12,
		       TLS13_SUITES, "TLSv1.2",
		       "The default. BCP 195 as RFC 9325 now recommends it: ECDHE key exchange and AEAD ciphers only; "
		       "no fall-back below TLS 1.2.",
		       0},
    /* PS3.15 B.10 requires all four of its suites, the two DHE-RSA ones
     * too (for peers whose TLS stack has no ECDHE); DH parameters are
     * OpenSSL's automatic ones, as large as the certificate's key (2048
     * bits or more). */
    [NP_TLS_BCP195_ND] = {"bcp195-non-downgrading",
			  "Non-Downgrading BCP 195 TLS Secure Transport Connection Profile (PS3.15 B.10)",
			  BCP195_TLS12 ":DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", TLS13_SUITES, "TLSv1.2",
			  "Adds the two DHE-RSA suites PS3.15 B.10 requires beside the ECDHE ones; still TLS 1.2 or "
			  "later only.",
			  0},
    /* The AES suite last: the server's order keeps every modern peer on an
     * ECDHE AEAD suite; only a peer offering nothing else gets it. */
    [NP_TLS_LEGACY_AES] = {"legacy-aes",
			   "AES TLS Secure Transport Connection Profile (PS3.15 B.3, retired) beside BCP 195",
			   BCP195_TLS12 ":AES128-SHA", TLS13_SUITES, "TLSv1.2",
			   "For old PACS only: also accepts TLS_RSA_WITH_AES_128_CBC_SHA, which has no forward secrecy "
			   "(a stolen server key decrypts recorded traffic) and uses CBC; modern peers still get the "
			   "bcp195 suites.",
			   1},
};

int np_tls_profile_find(const char *name)
{
	if (!name || !*name)
		return NP_TLS_BCP195;
	for (int i = 0; i < NP_TLS_PROFILE_COUNT; i++)
		if (!strcmp(name, np_tls_profiles[i].name))
			return i;
	return -1;
}

int np_tls_policy_apply_profile(struct ssl_ctx_st *ctx, int p)
{
	if (p < 0 || p >= NP_TLS_PROFILE_COUNT)
		return -1;
	const struct np_tls_profile_def *d = &np_tls_profiles[p];
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (p == NP_TLS_BCP195_ND)
		SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, d->ciphers) != 1 || SSL_CTX_set_ciphersuites(ctx, d->tls13) != 1)
		return -1;
	return 0;
}

int np_tls_policy_apply(struct ssl_ctx_st *ctx)
{
	return np_tls_policy_apply_profile(ctx, NP_TLS_BCP195);
}
