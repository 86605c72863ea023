// SPDX-License-Identifier: Apache-2.0
// Fuzz what np-poll and np_cloud take from the cloud: encrypted reply blobs
// (base64 + AES-CTR, tolerant stripping) and result JSON rendered into the
// report text (untrusted keys, types and lengths).
#include "np_crypto.h"
#include "np_err.h"
#include "np_pdfreport.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct np_err err = {0};
	size_t n;
	unsigned char *pt = np_blob_decrypt(key, (const char *)data, size, (size & 1) != 0, &n, &err);
	free(pt);
	unsigned char *raw = np_b64_decode((const char *)data, size, &n, &err);
	free(raw);
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (j) {
		json_t *order = json_pack("{s:s, s:i}", "order_id", "x", "files", 3);
		char *t = np_pdfreport_text(j, order);
		free(t);
		double v;
		np_pdfreport_value(j, "Atypical", NULL, &v);
		np_pdfreport_value(j, "FWpSN", "control_sd", &v);
		json_decref(order);
		json_decref(j);
	}
	return 0;
}
