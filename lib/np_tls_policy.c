// SPDX-License-Identifier: Apache-2.0
/* np_tls_policy: see np_tls_policy.h. */
#include "np_tls_policy.h"

#include <openssl/ssl.h>

/* Mozilla intermediate v5.7 minus its three DHE suites: forward secrecy
 * through ECDHE and an AEAD cipher for every TLS 1.2 connection. No CBC
 * (AES128-SHA, AES256-SHA256: no forward secrecy, Lucky13-style padding
 * oracles), no static RSA key exchange. */
const char np_tls_ciphers_tls12[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
				    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/* All three TLS 1.3 suites are AEAD with ephemeral key exchange. */
const char np_tls_ciphersuites_tls13[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

int np_tls_policy_apply(struct ssl_ctx_st *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, np_tls_ciphers_tls12) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, np_tls_ciphersuites_tls13) != 1)
		return -1;
	return 0;
}
