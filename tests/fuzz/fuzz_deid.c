// SPDX-License-Identifier: Apache-2.0
// Fuzz the de-identification path: parse, every action at every depth,
// serialize, re-parse and self-check, on arbitrary bytes; with dates shifted
// and removed.
#include "np_deid.h"
#include "np_err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct np_deid_opts o;
	np_deid_opts_init(&o);
	memcpy(o.key, "fuzz-key-fuzz-key-fuzz-key-fuzz!", 32);
	o.keylen = 32;
	o.shift_dates = size & 1;
	o.keep_accession = (size >> 1) & 1;
	struct np_deid_tagstat *ts = np_deid_tagstat_new();
	struct np_deid_file f;
	struct np_err err = {0};
	unsigned char *out = NULL;
	size_t outlen = 0;
	if (np_deid_buffer(data, size, &o, ts, &out, &outlen, &f, &err) == 1) {
		/* what we wrote must go through again */
		unsigned char *out2 = NULL;
		size_t outlen2 = 0;
		if (np_deid_buffer(out, outlen, &o, ts, &out2, &outlen2, &f, &err) < 0 && err.cls == NP_ERR_PERM &&
		    strstr(err.msg, "malformed"))
			abort();
		free(out2);
	}
	free(out);
	np_deid_tagstat_free(ts);
	int hits = 0;
	free(np_deid_scrub_text((const char *)data, size < 512 ? size : 512, &hits));
	return 0;
}
