// SPDX-License-Identifier: Apache-2.0
// Fuzz the opening of a sealed secret (np_seal.h): the file a service wrote
// is read back by the back-end; a truncated or altered file must be refused
// without reading past the decoded bytes. Half the inputs are sealed text
// turned into a valid seal of the data first, so the cipher path is reached.
#include "np_err.h"
#include "np_seal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char key_path[64], pub_path[64];

static void drop_keys(void)
{
	unlink(key_path);
	unlink(pub_path);
}

static void make_keys(void)
{
	snprintf(key_path, sizeof key_path, "/tmp/np-fuzz-seal-%d.key", (int)getpid());
	snprintf(pub_path, sizeof pub_path, "/tmp/np-fuzz-seal-%d.pub", (int)getpid());
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	FILE *f = fopen(key_path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	f = fopen(pub_path, "w");
	PEM_write_PUBKEY(f, k);
	fclose(f);
	EVP_PKEY_free(k);
	atexit(drop_keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!*key_path)
		make_keys();
	struct np_err err = {0};
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	char *p = np_unseal(key_path, s, NULL, &err);
	free(p);
	if (size && data[0] & 1) {
		/* a real seal of the input, one byte of it then flipped */
		char *sealed = np_seal(pub_path, data, size, &err);
		if (sealed) {
			size_t n = 0;
			p = np_unseal(key_path, sealed, &n, &err);
			if (!p || n != size || memcmp(p, data, size))
				abort();
			free(p);
			size_t at = strlen(NP_SEAL_PREFIX) + data[size - 1] % (strlen(sealed) - strlen(NP_SEAL_PREFIX));
			sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
			free(np_unseal(key_path, sealed, NULL, &err));
			free(sealed);
		}
	}
	free(s);
	return 0;
}
